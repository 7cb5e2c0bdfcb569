// FC 3.0 handler for the provisioning API (HTTP trigger): the event becomes a request, the request goes
// to the app (functions/provision/app.ts). Configuration, read once per instance:
//   SLB_AUTOPILOT_API_SECRET   shared HMAC secret (32+ random characters); without it, or with a weak
//                              one, every request is refused with 503, the API never runs unauthenticated
//   SLB_AUTOPILOT_API_WINDOW_SECONDS  how old a signed request may be (default 60)
//   SLB_AUTOPILOT_SPEC / _SPEC_FILE / spec.yaml beside the bundle: the spec /status reports on
//   SLB_AUTOPILOT_LOCAL_CLOUD  talk to a local cloud instead of the real one (local runs, tests)

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AutopilotError, errorReport, errorText } from '../../shared/errors';
import { cloudFromContext } from '../../shared/runtime/cloud-from-context';
import { loadConfig } from '../../shared/runtime/config';
import { leaseFromConfig, limitsFromConfig, ownershipFromConfig } from '../../shared/runtime/deployment';
import type { FcContext, FcHttpResult } from '../../shared/runtime/fc-events';
import { failoverDeps, functionEnv, renewalRun } from '../../shared/runtime/function-env';
import { createVerifier, type Verifier } from '../../shared/runtime/hmac-auth';
import { errorResponse, HttpError, parseHttpEvent } from '../../shared/runtime/http';
import { logJson } from '../../shared/runtime/log';
import { loadSpec } from '../../shared/runtime/spec-source';
import { runCertRenewal } from '../../shared/workflows/cert-renewal';
import { runFailover } from '../../shared/workflows/failover';
import { handleProvisionRequest, MAX_BODY_BYTES, type ProvisionDeps } from './app';

const readFile = (path: string) => readFileSync(path, 'utf8');
const here = typeof __dirname === 'string' ? __dirname : process.cwd();

let verifier: { key: string; verifier: Verifier } | undefined;

function verifierFor(env: Record<string, string | undefined>): Verifier {
  // A ConfigError answers 503 NotConfigured naming the variables at fault, never a secret's value.
  const config = loadConfig(env);
  const secret = config.SLB_AUTOPILOT_API_SECRET ?? '';
  const windowSeconds = config.SLB_AUTOPILOT_API_WINDOW_SECONDS;
  const key = `${windowSeconds}\n${secret}`;
  if (verifier?.key !== key) {
    if (!secret)
      throw new HttpError(
        503,
        'NotConfigured',
        'the provisioning API has no secret (SLB_AUTOPILOT_API_SECRET)',
      );
    try {
      verifier = { key, verifier: createVerifier({ secret, windowSeconds, now: () => new Date() }) };
    } catch (err) {
      throw new HttpError(
        503,
        'NotConfigured',
        `SLB_AUTOPILOT_API_SECRET: ${errorText(err)}`,
        undefined,
        err,
      );
    }
  }
  return verifier.verifier;
}

/**
 * What comes from the deployment itself (its spec, its cloud target): a failure there is the
 * deployer's to fix, answered 503 NotConfigured, never as a fault of the request.
 */
function deployed<T>(what: string, read: () => T): () => T {
  return () => {
    try {
      return read();
    } catch (err) {
      if (!(err instanceof AutopilotError)) throw err;
      throw new HttpError(503, 'NotConfigured', `${what}: ${errorText(err).split('\n')[0]}`, undefined, err);
    }
  };
}

/** The app's dependencies for one request: the deployment's configuration, its cloud, its workflows. */
function provisionDeps(
  context: FcContext,
  env: Record<string, string | undefined>,
  verifier: Verifier,
  requestId: () => string | undefined,
): ProvisionDeps {
  const config = loadConfig(env);
  const configuredSpec = deployed('the deployed spec', () =>
    loadSpec({ env, readFile, bundledPath: join(here, 'spec.yaml') }),
  );
  return {
    verifier,
    cloud: deployed('the cloud target', () => cloudFromContext(context, env)),
    configuredSpec,
    ownership: ownershipFromConfig(config),
    lease: leaseFromConfig(config),
    limits: () => limitsFromConfig(config, configuredSpec()),
    now: () => new Date(),
    env,
    readFile,
    settleClaim: () =>
      new Promise((resolve) => setTimeout(resolve, loadConfig(env).SLB_AUTOPILOT_APPLY_SETTLE_MS)),
    rotate: async (dryRun) => {
      const fx = functionEnv(context, env);
      const [deps, options] = renewalRun(fx, dryRun);
      const report = await runCertRenewal(deps, fx.spec, options);
      // The same report line cert-renewal writes, so a manual rotation is seen like a timed one.
      context.logger.info(JSON.stringify({ certRenewal: report }));
      return report;
    },
    failover: async (request) => {
      const fx = functionEnv(context, env);
      const report = await runFailover(failoverDeps(fx), fx.spec, request);
      context.logger.info(JSON.stringify({ failover: report }));
      return report;
    },
    onUnexpectedError: (err) =>
      logJson(context.logger, 'error', 'provision: unexpected error', {
        error: errorReport(err),
        requestId: requestId(),
      }),
  };
}

export async function handler(event: Buffer, context: FcContext): Promise<FcHttpResult> {
  const env = process.env;
  const started = Date.now();
  const line = { method: '?', path: '?', requestId: context.requestId as string | undefined };
  let result: FcHttpResult;
  try {
    const req = parseHttpEvent(event, MAX_BODY_BYTES);
    Object.assign(line, {
      method: req.method,
      path: req.path,
      requestId: req.requestId ?? context.requestId,
    });
    const deps = provisionDeps(context, env, verifierFor(env), () => line.requestId);
    result = await handleProvisionRequest(req, deps);
  } catch (err) {
    result = errorResponse(err, line.requestId);
  }
  // One line per request; no headers, no body (they may carry a spec's secrets' names, never values).
  logJson(context.logger, 'info', 'provision: request', {
    method: line.method,
    path: line.path,
    status: result.statusCode,
    ms: Date.now() - started,
    requestId: line.requestId,
  });
  return result;
}
