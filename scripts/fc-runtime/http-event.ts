// The FC 3.0 HTTP trigger edge for built-in runtimes: an HTTP request becomes the JSON event the handler
// receives (version "v1"), and the handler's result becomes the HTTP response. Pure functions over plain
// request data, so they unit-test without a socket.
// FC facts: multi-valued headers and query parameters are joined with ","; rawPath keeps the URL encoding
// while requestContext.http.path is decoded; a binary body arrives base64 with isBase64Encoded true; time
// is ISO without milliseconds and timeEpoch a string of ms. A result with a `statusCode` is a formatted
// response; anything else is the 200 body. Response headers FC manages itself are dropped.

import type { FcHttpEvent, FcHttpResult } from '../../shared/runtime/fc-events';
import { triggerTimeOf } from './cron';

export interface PlainHttpRequest {
  method: string;
  /** request target as received: path and query, e.g. /a%20b?x=1 */
  url: string;
  /** e.g. "1.1" */
  httpVersion: string;
  /** lower-case names, every value as received */
  headers: Record<string, string[] | undefined>;
  sourceIp?: string;
  body: Buffer;
}

export interface HttpEventContext {
  accountId: string;
  requestId: string;
  now: Date;
  /** the trigger's domain, e.g. <id>.<region>.fcapp.run; locally the Host header */
  domainName: string;
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });

/** The body as FC puts it in the event: text when it is valid UTF-8, base64 otherwise. */
export function encodeBody(body: Buffer): { body: string; isBase64Encoded: boolean } {
  if (body.length === 0) return { body: '', isBase64Encoded: false };
  try {
    return { body: UTF8.decode(body), isBase64Encoded: false };
  } catch {
    return { body: body.toString('base64'), isBase64Encoded: true };
  }
}

function decodePath(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}

export function toFcHttpEvent(req: PlainHttpRequest, ctx: HttpEventContext): FcHttpEvent {
  const q = req.url.indexOf('?');
  const rawPath = (q < 0 ? req.url : req.url.slice(0, q)) || '/';
  const queryParameters: Record<string, string> = {};
  const params = new URLSearchParams(q < 0 ? '' : req.url.slice(q + 1));
  for (const key of new Set(params.keys())) queryParameters[key] = params.getAll(key).join(',');
  const headers: Record<string, string> = {};
  for (const [name, values] of Object.entries(req.headers)) {
    if (values === undefined) continue;
    headers[name.toLowerCase()] = values.join(',');
  }
  return {
    version: 'v1',
    rawPath,
    headers,
    queryParameters,
    ...encodeBody(req.body),
    requestContext: {
      accountId: ctx.accountId,
      domainName: ctx.domainName,
      domainPrefix: ctx.domainName.split('.')[0] ?? ctx.domainName,
      http: {
        method: req.method.toUpperCase(),
        path: decodePath(rawPath),
        protocol: `HTTP/${req.httpVersion}`,
        ...(req.sourceIp ? { sourceIp: req.sourceIp } : {}),
        userAgent: headers['user-agent'] ?? '',
      },
      requestId: ctx.requestId,
      time: triggerTimeOf(ctx.now),
      timeEpoch: String(ctx.now.getTime()),
    },
  };
}

/** What an invocation produced, as the HTTP edge needs it. */
export type HandlerOutput =
  | { kind: 'json'; value: unknown }
  | { kind: 'text'; value: string }
  | { kind: 'buffer'; value: Buffer }
  | { kind: 'empty' };

export interface PlainHttpResponse {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

/** Response headers FC sets itself and ignores from the function. */
const MANAGED_HEADERS = new Set(['connection', 'content-length', 'date', 'keep-alive', 'server', 'upgrade']);

function isFormatted(v: unknown): v is FcHttpResult {
  return (
    typeof v === 'object' &&
    v !== null &&
    !Array.isArray(v) &&
    typeof (v as { statusCode?: unknown }).statusCode === 'number'
  );
}

export function fromHandlerOutput(out: HandlerOutput): PlainHttpResponse {
  if (out.kind === 'empty') return { status: 200, headers: {}, body: Buffer.alloc(0) };
  if (out.kind === 'buffer')
    return { status: 200, headers: { 'content-type': 'application/octet-stream' }, body: out.value };
  if (out.kind === 'text')
    return {
      status: 200,
      headers: { 'content-type': 'text/plain; charset=utf-8' },
      body: Buffer.from(out.value),
    };
  const v = out.value;
  if (!isFormatted(v))
    return {
      status: 200,
      headers: { 'content-type': 'application/json' },
      body: Buffer.from(JSON.stringify(v)),
    };
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(v.headers ?? {})) {
    const lower = name.toLowerCase();
    if (MANAGED_HEADERS.has(lower) || lower.startsWith('x-fc-') || value === undefined || value === null)
      continue;
    headers[lower] = Array.isArray(value) ? value.join(',') : String(value);
  }
  const raw: unknown = v.body;
  let body: Buffer;
  if (raw === undefined || raw === null) body = Buffer.alloc(0);
  else if (typeof raw === 'string') body = v.isBase64Encoded ? Buffer.from(raw, 'base64') : Buffer.from(raw);
  else body = Buffer.from(JSON.stringify(raw));
  const status =
    Number.isInteger(v.statusCode) && v.statusCode >= 100 && v.statusCode <= 599 ? v.statusCode : 502;
  return { status, headers, body };
}
