// Invoking another function: through @alicloud/fc2 on the FC 3.0 path (as the fc3 component does, the
// client's version set to 2023-03-30 and its generic request() used: invokeFunction() builds FC 2.0
// service paths), or in-process where configured (local runs, tests). fc2 is loaded on first use so
// functions that never invoke do not pay for it at cold start; the build keeps this dynamic import's
// target in a file of its own beside index.js (scripts/build.ts, SEPARATE_PACKAGES).
// Facts from fc2: the event must be a string or Buffer; a function error comes back as HTTP 200 with an
// `x-fc-error-type` header (not thrown); STS keys need the security token; async calls answer 202.

import { AutopilotError } from '../errors';
import type { CredentialSource } from './credentials';

export interface InvokeResult {
  requestId?: string;
  /** 202 for an accepted async call, 200 for a sync one */
  status: number;
  /** sync only: the function's result, parsed when JSON */
  result?: unknown;
  /** set when the function failed (x-fc-error-type) */
  error?: { type: string; message: string };
}

export interface FcInvoker {
  invoke(functionName: string, payload: unknown, options?: { async?: boolean }): Promise<InvokeResult>;
}

export class InvokeError extends AutopilotError {
  override name = 'InvokeError';
  readonly kind = 'cloud' as const;
  constructor(
    readonly functionName: string,
    message: string,
    code?: string,
    options?: { cause?: unknown },
  ) {
    super(`invoke ${functionName}: ${message}`, {
      cause: options?.cause,
      code,
      action: 'InvokeFunction',
      // What the fc2 SDK threw may quote the signed request.
      privateCause: true,
    });
  }
}

interface Fc2Client {
  version: string;
  request(
    method: string,
    path: string,
    query: unknown,
    body: unknown,
    headers?: Record<string, string>,
  ): Promise<{ headers: Record<string, string | undefined>; data: unknown }>;
}

export interface Fc2InvokerOptions {
  accountId: string;
  region: string;
  credentials: CredentialSource;
  /** e.g. http://127.0.0.1:9000 for the local runtime; default the region's FC endpoint over HTTPS */
  endpoint?: string;
  /** the VPC endpoint (`<account>.<region>-internal.fc.aliyuncs.com`) when no endpoint is given */
  internal?: boolean;
  timeoutMs?: number;
}

export function createFc2Invoker(o: Fc2InvokerOptions): FcInvoker {
  return {
    async invoke(functionName, payload, options = {}) {
      const key = await o.credentials.get();
      const mod = (await import('@alicloud/fc2')) as unknown as { default?: unknown };
      const FC = (mod.default ?? mod) as new (
        accountId: string,
        config: Record<string, unknown>,
      ) => Fc2Client;
      const client = new FC(o.accountId, {
        accessKeyID: key.accessKeyId,
        accessKeySecret: key.accessKeySecret,
        ...(key.securityToken ? { securityToken: key.securityToken } : {}),
        region: o.region,
        secure: true,
        ...(o.internal ? { internal: true } : {}),
        ...(o.endpoint ? { endpoint: o.endpoint } : {}),
        timeout: o.timeoutMs ?? 30_000,
      });
      client.version = '2023-03-30';
      const body = Buffer.from(typeof payload === 'string' ? payload : JSON.stringify(payload));
      let res: Awaited<ReturnType<Fc2Client['request']>>;
      try {
        res = await client.request(
          'POST',
          `/functions/${encodeURIComponent(functionName)}/invocations`,
          null,
          body,
          options.async ? { 'x-fc-invocation-type': 'Async' } : {},
        );
      } catch (err) {
        const e = err as { code?: string; message?: string };
        throw new InvokeError(functionName, e.message ?? String(err), e.code, { cause: err });
      }
      const requestId = res.headers['x-fc-request-id'];
      const base = { ...(requestId ? { requestId } : {}) };
      if (options.async) return { ...base, status: 202 };
      let data = res.data;
      if (typeof data === 'string') {
        try {
          data = JSON.parse(data);
        } catch {
          // plain text result
        }
      }
      const errorType = res.headers['x-fc-error-type'];
      if (errorType) {
        const message = (data as { errorMessage?: string } | undefined)?.errorMessage ?? String(data);
        return { ...base, status: 200, error: { type: errorType, message } };
      }
      return { ...base, status: 200, result: data };
    },
  };
}

/** Calls handlers in this process (local runs, tests); async calls run in the background. */
export function createInProcessInvoker(
  handlers: Record<string, (event: Buffer) => Promise<unknown>>,
  onBackgroundError?: (functionName: string, err: unknown) => void,
): FcInvoker & { idle(): Promise<void> } {
  const pending = new Set<Promise<unknown>>();
  return {
    async invoke(functionName, payload, options = {}) {
      const handler = handlers[functionName];
      if (!handler) throw new InvokeError(functionName, 'no such function here', 'FunctionNotFound');
      const event = Buffer.from(typeof payload === 'string' ? payload : JSON.stringify(payload));
      if (options.async) {
        const p = handler(event).catch((err) => onBackgroundError?.(functionName, err));
        pending.add(p);
        void p.finally(() => pending.delete(p));
        return { status: 202 };
      }
      try {
        return { status: 200, result: await handler(event) };
      } catch (err) {
        return { status: 200, error: { type: 'UnhandledInvocationError', message: (err as Error).message } };
      }
    },
    async idle() {
      while (pending.size > 0) await Promise.all([...pending]);
    },
  };
}
