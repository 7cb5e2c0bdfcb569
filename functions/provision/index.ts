// FC 3.0 handler for the provisioning API (HTTP trigger): the event becomes a request, the request goes
// to the app (functions/provision/app.ts). Configuration, read once per instance:
//   SLB_AUTOPILOT_API_SECRET   shared HMAC secret (32+ random characters); without it, or with a weak
//                              one, every request is refused with 503, the API never runs unauthenticated
//   SLB_AUTOPILOT_API_WINDOW_SECONDS  how old a signed request may be (default 60)
//   SLB_AUTOPILOT_SPEC / _SPEC_FILE / spec.yaml beside the bundle: the spec /status reports on
//   SLB_AUTOPILOT_LOCAL_CLOUD  talk to a local cloud instead of the real one (local runs, tests)

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { cloudFromContext } from '../../shared/runtime/cloud-from-context';
import { ConfigError, loadConfig } from '../../shared/runtime/config';
import type { FcContext, FcHttpResult } from '../../shared/runtime/fc-events';
import { failoverDeps, functionEnv, renewalRun } from '../../shared/runtime/function-env';
import { createVerifier, type Verifier } from '../../shared/runtime/hmac-auth';
import { errorResponse, HttpError, parseHttpEvent } from '../../shared/runtime/http';
import { logJson } from '../../shared/runtime/log';
import { loadSpec } from '../../shared/runtime/spec-source';
import { runCertRenewal } from '../../shared/workflows/cert-renewal';
import { runFailover } from '../../shared/workflows/failover';
import { handleProvisionRequest, MAX_BODY_BYTES } from './app';

const readFile = (path: string) => readFileSync(path, 'utf8');
const here = typeof __dirname === 'string' ? __dirname : process.cwd();

let verifier: { key: string; verifier: Verifier } | undefined;

function verifierFor(env: Record<string, string | undefined>): Verifier {
  let secret: string;
  let windowSeconds: number;
  try {
    const config = loadConfig(env);
    secret = config.SLB_AUTOPILOT_API_SECRET ?? '';
    windowSeconds = config.SLB_AUTOPILOT_API_WINDOW_SECONDS;
  } catch (err) {
    // Names the variables at fault, never a secret's value (config.ts redacts those).
    if (err instanceof ConfigError) throw new HttpError(503, 'NotConfigured', err.message);
    throw err;
  }
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
      throw new HttpError(503, 'NotConfigured', `SLB_AUTOPILOT_API_SECRET: ${(err as Error).message}`);
    }
  }
  return verifier.verifier;
}

export async function handler(event: Buffer, context: FcContext): Promise<FcHttpResult> {
  const env = process.env;
  const started = Date.now();
  let requestId: string | undefined = context.requestId;
  let result: FcHttpResult;
  let path = '?';
  let method = '?';
  try {
    const req = parseHttpEvent(event, MAX_BODY_BYTES);
    requestId = req.requestId ?? context.requestId;
    path = req.path;
    method = req.method;
    result = await handleProvisionRequest(req, {
      verifier: verifierFor(env),
      cloud: () => cloudFromContext(context, env),
      configuredSpec: () => loadSpec({ env, readFile, bundledPath: join(here, 'spec.yaml') }),
      now: () => new Date(),
      env,
      readFile,
      settleClaim: () =>
        new Promise((resolve) => setTimeout(resolve, loadConfig(env).SLB_AUTOPILOT_APPLY_SETTLE_MS)),
      rotate: async (dryRun) => {
        const fx = functionEnv(context, env);
        const [deps, options] = renewalRun(fx, dryRun);
        return runCertRenewal(deps, fx.spec, options);
      },
      failover: async (request) => {
        const fx = functionEnv(context, env);
        return runFailover(failoverDeps(fx), fx.spec, request);
      },
      onUnexpectedError: (err) =>
        logJson(context.logger, 'error', 'provision: unexpected error', {
          error: err instanceof Error ? err : String(err),
          requestId,
        }),
    });
  } catch (err) {
    result = errorResponse(err, requestId);
  }
  // One line per request; no headers, no body (they may carry a spec's secrets' names, never values).
  logJson(context.logger, 'info', 'provision: request', {
    method,
    path,
    status: result.statusCode,
    ms: Date.now() - started,
    requestId,
  });
  return result;
}
