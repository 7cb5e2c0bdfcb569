// The provisioning API behind the HTTP trigger. Every request is authenticated first (HMAC, see
// shared/runtime/hmac-auth.ts); then:
//   POST /plan      spec in (YAML or JSON), actions out; nothing is written
//   POST /apply     idempotent; stops at the first failure and says what was done (502); refused (409)
//                   when a load balancer already took an apply signed at or after this one
//   GET  /status    the managed load balancers as observed, with health, weights, certificate expiry
//   POST /rotate    certificate renewal now ({"dryRun": true} to see what it would do); 502 on failure
//   POST /failover  {command: toStandby|toPrimary|auto, loadBalancerId, vServerGroupId?}, guarded
// Answers are JSON; 4xx name the problem; nothing internal or secret is ever in a response.

import * as z from 'zod';
import { type Cloud, CloudError } from '../../shared/cloud/index';
import { firstIssueText } from '../../shared/domain/issues';
import { findDuplicateJsonKey } from '../../shared/domain/json-keys';
import { type DeploymentLimits, LimitError } from '../../shared/domain/limits';
import type { OwnershipMarker } from '../../shared/domain/ownership';
import { type Action, describeAction } from '../../shared/domain/plan';
import { type CertificateSource, parseSpec, type Spec, SpecError } from '../../shared/domain/spec';
import { manualFailoverCommandSchema } from '../../shared/runtime/failover-events';
import type { FcHttpResult } from '../../shared/runtime/fc-events';
import type { VerifiedRequest, Verifier } from '../../shared/runtime/hmac-auth';
import {
  errorResponse,
  HttpError,
  type HttpRequest,
  jsonResponse,
  mediaType,
} from '../../shared/runtime/http';
import { AppliedAtConflict, claimAppliedAt } from '../../shared/workflows/applied-at';
import { applySpec, checkWithinLimits, planWithinLimits } from '../../shared/workflows/apply';
import type { RenewalReport } from '../../shared/workflows/cert-renewal';
import { CertificateSourceError } from '../../shared/workflows/certificate-source';
import {
  type FailoverReport,
  type FailoverRequest,
  FailoverRequestError,
} from '../../shared/workflows/failover';
import { type LeaseOptions, LeaseUnavailableError } from '../../shared/workflows/lease';
import { collectStatus } from '../../shared/workflows/status';

/** 256 KiB: a spec for hundreds of load balancers fits; anything bigger is a mistake or an attack. */
export const MAX_BODY_BYTES = 256 * 1024;

export interface ProvisionDeps {
  verifier: Verifier;
  cloud: () => Cloud;
  /** the function's configured spec (for /status) */
  configuredSpec: () => Spec;
  now: () => Date;
  env: Record<string, string | undefined>;
  readFile: (path: string) => string;
  /** gets what became an opaque 500, for the function log */
  onUnexpectedError?: (err: unknown) => void;
  /** certificate renewal now (the cert-renewal workflow on the configured spec) */
  rotate: (dryRun: boolean) => Promise<RenewalReport>;
  /** a manual failover command, guarded like the automatic path */
  failover: (request: FailoverRequest) => Promise<FailoverReport>;
  /**
   * The pause between claiming load balancers for an apply and reading the claims back
   * (SLB_AUTOPILOT_APPLY_SETTLE_MS), so concurrent claims of other instances have landed.
   */
  settleClaim: () => Promise<void>;
  /** the deployment's marker on what it creates (its configuration; a spec cannot set it) */
  ownership: OwnershipMarker;
  /** the per-load-balancer writer lease */
  lease?: LeaseOptions;
  /** where a spec received here may act (regions, adopted load balancers, new ones) */
  limits: () => DeploymentLimits;
}

const rotateSchema = z.strictObject({ dryRun: z.boolean().default(false) });

/** A JSON body (or none, when every field has a default); 400 naming the field otherwise. */
function jsonBody<S extends z.ZodType>(req: HttpRequest, schema: S): z.infer<S> {
  let raw: unknown = {};
  if (req.body.length > 0) {
    if (mediaType(req) !== 'application/json')
      throw new HttpError(415, 'UnsupportedMediaType', 'content-type: must be application/json');
    const text = req.body.toString('utf8');
    try {
      raw = JSON.parse(text);
    } catch {
      throw new HttpError(400, 'BadRequest', 'body: not JSON');
    }
    const duplicate = findDuplicateJsonKey(text);
    if (duplicate !== undefined)
      throw new HttpError(
        400,
        'BadRequest',
        `body${duplicate.startsWith('[') ? '' : '.'}${duplicate}: is a duplicate key (each key once)`,
      );
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    throw new HttpError(400, 'BadRequest', firstIssueText(parsed.error.issues, 'body'));
  }
  return parsed.data;
}

const SPEC_TYPES: Record<string, 'yaml' | 'json'> = {
  'application/json': 'json',
  'application/yaml': 'yaml',
  'application/x-yaml': 'yaml',
  'text/yaml': 'yaml',
  'text/x-yaml': 'yaml',
};

/**
 * Over HTTP a certificate comes from CAS or is an existing SLB certificate: a caller must not make the
 * function open paths or read environment variables of its own, nor contact an ACME directory of its
 * choosing with the deployment's account key and DNS (the operator CLI and the deployed spec may).
 * Every offending field is listed.
 */
function refuseLocalCertificateSources(spec: Spec): void {
  const issues: { path: string; message: string }[] = [];
  const use = 'use {cas: ...} or {serverCertificateId}';
  const messages = {
    pem: `file and environment sources are not accepted over HTTP; ${use}`,
    acme: `ACME issuance is not accepted over HTTP (only the deployed spec issues); ${use}`,
  };
  const check = (source: CertificateSource, at: string) => {
    for (const kind of ['pem', 'acme'] as const)
      if (kind in source) issues.push({ path: `${at}.${kind}`, message: messages[kind] });
  };
  spec.loadBalancers.forEach((lb, i) => {
    lb.listeners.forEach((l, j) => {
      if (l.protocol !== 'https') return;
      const at = `loadBalancers[${i}].listeners[${j}]`;
      check(l.certificate, `${at}.certificate`);
      l.extensionDomains.forEach((d, k) => {
        check(d.certificate, `${at}.extensionDomains[${k}].certificate`);
      });
    });
  });
  const first = issues[0];
  if (first) throw new HttpError(400, 'InvalidSpec', `${first.path}: ${first.message}`, { issues });
}

function specFromBody(req: HttpRequest): Spec {
  const format = SPEC_TYPES[mediaType(req)];
  if (!format)
    throw new HttpError(
      415,
      'UnsupportedMediaType',
      `content-type: must be one of ${Object.keys(SPEC_TYPES).join(', ')}`,
    );
  if (req.body.length === 0) throw new HttpError(400, 'BadRequest', 'body: the spec is empty');
  let spec: Spec;
  try {
    spec = parseSpec(req.body.toString('utf8'), { format, source: 'body' });
  } catch (err) {
    if (err instanceof SpecError)
      throw new HttpError(400, 'InvalidSpec', err.message.split('\n')[0] ?? 'body is not valid', {
        issues: err.issues,
      });
    throw err;
  }
  refuseLocalCertificateSources(spec);
  return spec;
}

const jsonAction = (a: Action) => ({ ...a, description: describeAction(a) });

const ROUTES = ['POST /plan', 'POST /apply', 'GET /status', 'POST /rotate', 'POST /failover'];

async function route(req: HttpRequest, signed: VerifiedRequest, deps: ProvisionDeps): Promise<FcHttpResult> {
  const key = `${req.method} ${req.path}`;
  switch (key) {
    case 'POST /plan': {
      const spec = specFromBody(req);
      const plan = await planWithinLimits(deps.cloud().slb, spec, deps.ownership, deps.limits());
      return jsonResponse(200, { actions: plan.actions.map(jsonAction), leftAlone: plan.leftAlone });
    }
    case 'POST /apply': {
      const spec = specFromBody(req);
      const cloud = deps.cloud();
      const started = deps.now().getTime();
      let result: Awaited<ReturnType<typeof applySpec>>;
      try {
        // Within the deployment's limits before anything is written, the replay record included.
        await checkWithinLimits(cloud.slb, spec, deps.ownership, deps.limits());
        // Replays across instances: the load balancers record the signed time of the last apply.
        const claim = await claimAppliedAt(cloud.slb, spec, signed, deps.settleClaim, deps.ownership);
        result = await applySpec(
          {
            slb: cloud.slb,
            cas: cloud.cas,
            now: deps.now,
            env: deps.env,
            readFile: deps.readFile,
            ownership: deps.ownership,
            ...(deps.lease ? { lease: deps.lease } : {}),
          },
          spec,
          { createTags: claim.createTags },
        );
      } catch (err) {
        if (err instanceof AppliedAtConflict)
          throw new HttpError(409, 'Conflict', err.message, { loadBalancerId: err.loadBalancerId });
        if (err instanceof CertificateSourceError)
          throw new HttpError(422, 'InvalidCertificateSource', err.message);
        throw err;
      }
      const body = {
        actions: result.plan.actions.map(jsonAction),
        done: result.done.length,
        uploadedCertificates: result.uploadedCertificates,
        elapsedMs: deps.now().getTime() - started,
      };
      if (!result.failed) return jsonResponse(200, { ...body, failed: null });
      return jsonResponse(502, {
        ...body,
        error: 'ApplyFailed',
        message:
          'apply stopped at a failed action; fix the cause and apply again (it continues from what exists)',
        failed: { action: jsonAction(result.failed.action), error: result.failed.error.message },
        notDone: result.remaining.map(jsonAction),
      });
    }
    case 'GET /status':
      return jsonResponse(
        200,
        await collectStatus(deps.cloud().slb, deps.configuredSpec(), deps.now(), deps.ownership),
      );
    case 'POST /rotate': {
      const { dryRun } = jsonBody(req, rotateSchema);
      const report = await deps.rotate(dryRun);
      return jsonResponse(report.failed ? 502 : 200, report);
    }
    case 'POST /failover': {
      const c = jsonBody(req, manualFailoverCommandSchema);
      try {
        const report = await deps.failover({
          loadBalancerId: c.loadBalancerId,
          ...(c.vServerGroupId ? { vServerGroupId: c.vServerGroupId } : {}),
          command: c.command,
          origin: 'manual (provision API)',
        });
        return jsonResponse(report.failed ? 502 : 200, report);
      } catch (err) {
        if (err instanceof FailoverRequestError)
          throw new HttpError(422, 'InvalidFailoverRequest', err.message);
        throw err;
      }
    }
  }
  if (ROUTES.some((r) => r.endsWith(` ${req.path}`)))
    throw new HttpError(
      405,
      'MethodNotAllowed',
      `${req.method} ${req.path}: use ${ROUTES.filter((r) => r.endsWith(` ${req.path}`)).join(' or ')}`,
    );
  throw new HttpError(404, 'NotFound', `${req.path}: no such endpoint (have ${ROUTES.join(', ')})`);
}

/** Authenticates, then routes; every failure becomes a JSON answer. */
export async function handleProvisionRequest(req: HttpRequest, deps: ProvisionDeps): Promise<FcHttpResult> {
  try {
    const signed = deps.verifier.verify(req);
    return await route(req, signed, deps);
  } catch (err) {
    // Outside the deployment's limits, or another writer holds the load balancer: nothing was written.
    if (err instanceof LimitError)
      return errorResponse(
        new HttpError(403, 'OutsideDeploymentLimits', err.message, { limit: err.limit, field: err.field }),
        req.requestId,
      );
    if (err instanceof LeaseUnavailableError)
      return errorResponse(new HttpError(409, 'LoadBalancerBusy', err.message), req.requestId);
    if (err instanceof CloudError)
      return errorResponse(
        new HttpError(502, 'CloudApiError', err.message, {
          cloud: { action: err.action, code: err.code, requestId: err.requestId },
        }),
        req.requestId,
      );
    if (!(err instanceof HttpError)) deps.onUnexpectedError?.(err);
    return errorResponse(err, req.requestId);
  }
}
