// The runtime's HTTP faces on 127.0.0.1: the FC invoke API (fc2-signed, FC's status codes and headers),
// the local `/_runtime/*` routes, and one server per HTTP trigger speaking the FC 3.0 HTTP event.
// Everything FC-specific about a request is decided here; running functions is the core's business.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { adminRequestProblem } from '../admin-guard';
import { type AccessKey, verifyFcSignature } from './fc-signature';
import { fromHandlerOutput, type HandlerOutput, toFcHttpEvent } from './http-event';
import type { FunctionSpec, HttpTriggerSpec } from './s-yaml';
import {
  type AsyncInvocationRecord,
  type Clock,
  FcRuntimeError,
  type FunctionInfo,
  type InvocationResult,
  newRequestId,
} from './types';

export const HOST = '127.0.0.1';
/** FC's synchronous payload limit */
const MAX_BODY = 32 * 1024 * 1024;
/** x-fc-log-type: Tail returns the last 4 KB of the log */
const LOG_TAIL_BYTES = 4096;
const INVOKE_PATH = /^\/2023-03-30\/functions\/([^/]+)\/invocations$/;
/** fc2's invokeFunction() builds FC 2.0 paths; the service is ignored */
const INVOKE_PATH_V2 = /^\/(?:2016-08-15|2023-03-30)\/services\/[^/]+\/functions\/([^/]+)\/invocations$/;

/** What the servers need from the runtime. */
export interface RuntimeCore {
  clock: Clock;
  accountId: string;
  acceptedKeys: readonly AccessKey[];
  /** the function by name or resource key; throws FcRuntimeError (404) when unknown or not built */
  requireFunction(name: string): FunctionSpec;
  run(spec: FunctionSpec, event: Buffer, requestId: string): Promise<InvocationResult>;
  enqueueAsync(spec: FunctionSpec, event: Buffer, source: string, requestId?: string): AsyncInvocationRecord;
  deliverEvent(
    name: string,
    event: unknown,
    options?: { async?: boolean },
  ): Promise<InvocationResult | AsyncInvocationRecord>;
  fireTimer(name: string, triggerName: string): Promise<InvocationResult>;
  functions(): FunctionInfo[];
  asyncRecords(): AsyncInvocationRecord[];
}

export function readBody(req: IncomingMessage, limit = MAX_BODY): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        reject(new FcRuntimeError('PayloadTooLarge', 413, `request body over ${limit} bytes`));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function send(
  res: ServerResponse,
  status: number,
  headers: Record<string, string>,
  body: Buffer | string,
): void {
  const buf = typeof body === 'string' ? Buffer.from(body) : body;
  res.writeHead(status, { ...headers, 'content-length': String(buf.length) });
  res.end(buf);
}

function sendJson(
  res: ServerResponse,
  status: number,
  value: unknown,
  headers: Record<string, string> = {},
): void {
  send(res, status, { 'content-type': 'application/json', ...headers }, JSON.stringify(value));
}

/** FC API errors as fc2 reads them: {ErrorCode, ErrorMessage} */
function sendFcError(res: ServerResponse, e: FcRuntimeError, requestId: string): void {
  sendJson(res, e.status, { ErrorCode: e.code, ErrorMessage: e.message }, { 'x-fc-request-id': requestId });
}

function asRuntimeError(err: unknown): FcRuntimeError {
  return err instanceof FcRuntimeError
    ? err
    : new FcRuntimeError('InternalError', 500, err instanceof Error ? err.message : String(err));
}

export function listen(server: Server, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, HOST, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

function outputOf(result: InvocationResult): HandlerOutput {
  const r = result.result;
  if (r === undefined) return { kind: 'empty' };
  if (Buffer.isBuffer(r)) return { kind: 'buffer', value: r };
  if (typeof r === 'string') return { kind: 'text', value: r };
  return { kind: 'json', value: r };
}

// --- HTTP trigger ---------------------------------------------------------------------------------------

export function createHttpTriggerServer(
  core: RuntimeCore,
  spec: FunctionSpec,
  trigger: HttpTriggerSpec,
): Server {
  return createServer((req, res) => {
    const requestId = newRequestId(core.clock.now());
    const rid = { 'x-fc-request-id': requestId };
    const serve = async () => {
      const method = (req.method ?? 'GET').toUpperCase();
      if (trigger.methods.length > 0 && !trigger.methods.includes(method)) {
        sendJson(
          res,
          405,
          {
            errorMessage: `method ${method} is not allowed by trigger ${trigger.name}`,
            errorType: 'MethodNotAllowed',
          },
          { ...rid, allow: trigger.methods.join(', ') },
        );
        return;
      }
      const body = await readBody(req);
      let target: FunctionSpec;
      try {
        target = core.requireFunction(spec.name);
      } catch (err) {
        // declared but not built: the trigger exists, the code does not
        const e = asRuntimeError(err);
        sendJson(res, 503, { errorMessage: e.message, errorType: 'FunctionNotBuilt' }, rid);
        return;
      }
      const event = toFcHttpEvent(
        {
          method,
          url: req.url ?? '/',
          httpVersion: req.httpVersion,
          headers: req.headersDistinct,
          ...(req.socket.remoteAddress ? { sourceIp: req.socket.remoteAddress.replace(/^::ffff:/, '') } : {}),
          body,
        },
        {
          accountId: core.accountId,
          requestId,
          now: core.clock.now(),
          domainName: (req.headers.host ?? HOST).replace(/:\d+$/, ''),
        },
      );
      const result = await core.run(target, Buffer.from(JSON.stringify(event)), requestId);
      if (!result.ok) {
        // only the error's name and message ever leave the worker: no stack trace here
        sendJson(res, 502, result.error ?? {}, rid);
        return;
      }
      const out = fromHandlerOutput(outputOf(result));
      send(res, out.status, { ...out.headers, ...rid }, method === 'HEAD' ? Buffer.alloc(0) : out.body);
    };
    serve().catch((err: unknown) => {
      const e = asRuntimeError(err);
      if (!res.headersSent) sendJson(res, e.status, { errorMessage: e.message, errorType: e.code }, rid);
    });
  });
}

// --- the invoke API and the runtime routes --------------------------------------------------------------

async function serveInvoke(
  core: RuntimeCore,
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  name: string,
) {
  const requestId = newRequestId(core.clock.now());
  const headers: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(req.headers)) headers[k] = Array.isArray(v) ? v.join(',') : v;
  const body = await readBody(req);
  const check = verifyFcSignature(
    {
      method: req.method ?? 'POST',
      path,
      query: new URLSearchParams((req.url ?? '').split('?')[1] ?? ''),
      headers,
      body,
      now: core.clock.now(),
    },
    core.acceptedKeys,
  );
  if (!check.ok)
    return sendFcError(res, new FcRuntimeError(check.code, check.status, check.message), requestId);
  let spec: FunctionSpec;
  try {
    spec = core.requireFunction(name);
  } catch (err) {
    return sendFcError(res, asRuntimeError(err), requestId);
  }
  if ((headers['x-fc-invocation-type'] ?? '').toLowerCase() === 'async') {
    core.enqueueAsync(spec, body, 'api', requestId);
    // no content-type: fc2 JSON-parses application/json bodies, and this one is empty
    return send(res, 202, { 'x-fc-request-id': requestId }, Buffer.alloc(0));
  }
  const result = await core.run(spec, body, requestId);
  const out: Record<string, string> = { 'x-fc-request-id': requestId };
  if ((headers['x-fc-log-type'] ?? '').toLowerCase() === 'tail')
    out['x-fc-log-result'] = Buffer.from(result.logs.join('\n')).subarray(-LOG_TAIL_BYTES).toString('base64');
  if (!result.ok) {
    out['x-fc-error-type'] = 'UnhandledInvocationError';
    return send(res, 200, { ...out, 'content-type': 'application/json' }, result.body);
  }
  const kind = outputOf(result).kind;
  return send(
    res,
    200,
    { ...out, 'content-type': kind === 'json' ? 'application/json' : 'application/octet-stream' },
    result.body,
  );
}

/** An invocation as JSON: the body is left out, a binary result is base64. */
function summary(r: InvocationResult | AsyncInvocationRecord): unknown {
  if ('status' in r) return r;
  const { body: _body, result, ...rest } = r;
  return Buffer.isBuffer(result) ? { ...rest, resultBase64: result.toString('base64') } : { ...rest, result };
}

async function serveRuntimeRoute(core: RuntimeCore, req: IncomingMessage, res: ServerResponse, path: string) {
  const method = req.method ?? 'GET';
  if (method === 'GET' && path === '/_runtime/functions') return sendJson(res, 200, core.functions());
  if (method === 'GET' && path === '/_runtime/async-invocations')
    return sendJson(res, 200, core.asyncRecords());
  const events = /^\/_runtime\/functions\/([^/]+)\/events$/.exec(path);
  if (method === 'POST' && events) {
    const body = await readBody(req);
    let parsed: unknown;
    try {
      parsed = JSON.parse(body.toString('utf8'));
    } catch {
      throw new FcRuntimeError('InvalidArgument', 400, 'body: not JSON (a CloudEvents envelope)');
    }
    const mode = new URL(req.url ?? '/', 'http://local').searchParams.get('async');
    const r = await core.deliverEvent(
      decodeURIComponent(events[1] as string),
      parsed,
      mode === null ? {} : { async: mode !== 'false' },
    );
    return sendJson(res, 'status' in r ? 202 : 200, summary(r));
  }
  const timer = /^\/_runtime\/functions\/([^/]+)\/timers\/([^/]+)$/.exec(path);
  if (method === 'POST' && timer) {
    const r = await core.fireTimer(
      decodeURIComponent(timer[1] as string),
      decodeURIComponent(timer[2] as string),
    );
    return sendJson(res, 200, summary(r));
  }
  throw new FcRuntimeError('NotFound', 404, `no route ${method} ${path}`);
}

export function createApiServer(core: RuntimeCore): Server {
  return createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0] as string;
    const invoke = INVOKE_PATH.exec(path) ?? INVOKE_PATH_V2.exec(path);
    const local = path.startsWith('/_runtime/');
    const serve = async () => {
      if (invoke && req.method === 'POST')
        return serveInvoke(core, req, res, path, decodeURIComponent(invoke[1] as string));
      if (local) {
        const refused = adminRequestProblem(req);
        if (refused) throw new FcRuntimeError('Forbidden', refused.status, refused.message);
        return serveRuntimeRoute(core, req, res, path);
      }
      throw new FcRuntimeError(
        'PathNotFound',
        404,
        `${req.method} ${path} is not served by the local FC runtime`,
      );
    };
    serve().catch((err: unknown) => {
      const e = asRuntimeError(err);
      if (res.headersSent) return;
      if (local) sendJson(res, e.status, { errorMessage: e.message, errorType: e.code });
      else sendFcError(res, e, newRequestId(core.clock.now()));
    });
  });
}
