// The provisioning API behind the HTTP trigger. Every request is authenticated first (HMAC, see
// shared/runtime/hmac-auth.ts); then:
//   POST /plan      spec in (YAML or JSON), actions out; nothing is written
//   POST /apply     idempotent; stops at the first failure and says what was done (502)
//   GET  /status    the managed load balancers as observed, with health, weights, certificate expiry
//   POST /rotate    certificate renewal now (501 until that workflow lands)
//   POST /failover  weight failover (501 until that workflow lands)
// Answers are JSON; 4xx name the problem; nothing internal or secret is ever in a response.

import { type Cloud, CloudError } from '../../shared/cloud/index';
import { type Action, describeAction } from '../../shared/domain/plan';
import { parseSpec, type Spec, SpecError } from '../../shared/domain/spec';
import type { FcHttpResult } from '../../shared/runtime/fc-events';
import type { Verifier } from '../../shared/runtime/hmac-auth';
import {
  errorResponse,
  HttpError,
  type HttpRequest,
  jsonResponse,
  mediaType,
} from '../../shared/runtime/http';
import { applySpec, observeAndPlan } from '../../shared/workflows/apply';
import { CertificateSourceError } from '../../shared/workflows/certificate-source';
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
}

const SPEC_TYPES: Record<string, 'yaml' | 'json'> = {
  'application/json': 'json',
  'application/yaml': 'yaml',
  'application/x-yaml': 'yaml',
  'text/yaml': 'yaml',
  'text/x-yaml': 'yaml',
};

function specFromBody(req: HttpRequest): Spec {
  const format = SPEC_TYPES[mediaType(req)];
  if (!format)
    throw new HttpError(
      415,
      'UnsupportedMediaType',
      `content-type: must be one of ${Object.keys(SPEC_TYPES).join(', ')}`,
    );
  if (req.body.length === 0) throw new HttpError(400, 'BadRequest', 'body: the spec is empty');
  try {
    return parseSpec(req.body.toString('utf8'), { format, source: 'body' });
  } catch (err) {
    if (err instanceof SpecError)
      throw new HttpError(400, 'InvalidSpec', err.message.split('\n')[0] ?? 'body is not valid', {
        issues: err.issues,
      });
    throw err;
  }
}

const jsonAction = (a: Action) => ({ ...a, description: describeAction(a) });

const NOT_YET: Record<string, string> = {
  'POST /rotate': 'certificate renewal (the cert-renewal workflow) has not landed yet',
  'POST /failover': 'weight failover (the failover workflow) has not landed yet',
};
const ROUTES = ['POST /plan', 'POST /apply', 'GET /status', 'POST /rotate', 'POST /failover'];

async function route(req: HttpRequest, deps: ProvisionDeps): Promise<FcHttpResult> {
  const key = `${req.method} ${req.path}`;
  switch (key) {
    case 'POST /plan': {
      const spec = specFromBody(req);
      const { plan } = await observeAndPlan(deps.cloud().slb, spec);
      return jsonResponse(200, { actions: plan.actions.map(jsonAction), leftAlone: plan.leftAlone });
    }
    case 'POST /apply': {
      const spec = specFromBody(req);
      const cloud = deps.cloud();
      const started = deps.now().getTime();
      let result: Awaited<ReturnType<typeof applySpec>>;
      try {
        result = await applySpec(
          { slb: cloud.slb, cas: cloud.cas, now: deps.now, env: deps.env, readFile: deps.readFile },
          spec,
        );
      } catch (err) {
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
      return jsonResponse(200, await collectStatus(deps.cloud().slb, deps.configuredSpec(), deps.now()));
  }
  const reason = NOT_YET[key];
  if (reason) throw new HttpError(501, 'NotImplemented', `${key}: ${reason}`);
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
    deps.verifier.verify(req);
    return await route(req, deps);
  } catch (err) {
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
