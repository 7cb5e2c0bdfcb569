// The HTTP edge for HTTP-triggered functions: the FC 3.0 HTTP event in, a plain request out; a result
// or an error back into FC's response shape. Bad events are answered here (400) and never reach the
// workflows. Errors know their status; anything else becomes a 500 that names no internals, carries no
// stack trace and no secret.

import { firstIssueText } from '../domain/issues';
import { InputError } from '../errors';
import { type FcHttpEvent, type FcHttpResult, fcHttpEventSchema } from './fc-events';

export interface HttpRequest {
  method: string;
  path: string;
  /** lower-case names */
  headers: Record<string, string>;
  query: Record<string, string>;
  body: Buffer;
  requestId: string | undefined;
}

export class HttpError extends InputError {
  override name = 'HttpError';
  constructor(
    status: number,
    /** a short machine-readable code, e.g. `Unauthorized`, `PayloadTooLarge` */
    code: string,
    message: string,
    /** extra fields for the JSON body (e.g. a list of spec issues); never secrets */
    readonly details?: Record<string, unknown>,
    cause?: unknown,
  ) {
    super(message, { status, code, cause });
  }

  declare readonly code: string;
}

export function parseHttpEvent(event: unknown, maxBodyBytes: number): HttpRequest {
  let raw: unknown;
  try {
    raw = JSON.parse(Buffer.isBuffer(event) ? event.toString('utf8') : String(event));
  } catch {
    throw new HttpError(400, 'BadEvent', 'event: not JSON (is this function behind an HTTP trigger?)');
  }
  const parsed = fcHttpEventSchema.safeParse(raw);
  if (!parsed.success) {
    throw new HttpError(
      400,
      'BadEvent',
      `${firstIssueText(parsed.error.issues, 'event')} (not an FC 3.0 HTTP trigger event)`,
    );
  }
  const e: FcHttpEvent = parsed.data;
  // Base64 inflates by 4/3: check before decoding so an oversize body costs nothing.
  if ((e.isBase64Encoded ? Math.floor((e.body.length * 3) / 4) : Buffer.byteLength(e.body)) > maxBodyBytes)
    throw new HttpError(413, 'PayloadTooLarge', `body: larger than ${maxBodyBytes} bytes`);
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(e.headers)) headers[k.toLowerCase()] = v;
  return {
    method: e.requestContext.http.method.toUpperCase(),
    path: e.rawPath || e.requestContext.http.path,
    headers,
    query: e.queryParameters,
    body: e.isBase64Encoded ? Buffer.from(e.body, 'base64') : Buffer.from(e.body, 'utf8'),
    requestId: e.requestContext.requestId,
  };
}

export function jsonResponse(
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): FcHttpResult {
  return {
    statusCode: status,
    headers: { 'content-type': 'application/json; charset=utf-8', ...headers },
    body: `${JSON.stringify(body, null, 2)}\n`,
    isBase64Encoded: false,
  };
}

/** An HttpError as its JSON answer; anything else as an opaque 500 (the cause goes to the log). */
export function errorResponse(err: unknown, requestId: string | undefined): FcHttpResult {
  if (err instanceof HttpError)
    return jsonResponse(err.status, { error: err.code, message: err.message, ...err.details, requestId });
  return jsonResponse(500, {
    error: 'InternalError',
    message: 'the request failed; see the function log for this request id',
    requestId,
  });
}

/** The media type of a request, without parameters, lower-case. */
export const mediaType = (req: HttpRequest): string =>
  (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
