// The HTTP edge for HTTP-triggered functions: the FC 3.0 HTTP event in, a plain request out; a result
// or an error back into FC's response shape. Bad events are answered here (400) and never reach the
// workflows. Errors know their status; anything else becomes a 500 that names no internals, carries no
// stack trace and no secret.

import { firstIssueText } from '../domain/issues';
import { AutopilotError, type ErrorKind, InputError } from '../errors';
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

/**
 * The answer's `error` for a family error with no code of its own. A cloud error's `code` is the
 * provider's (`Throttling`, ...): it is answered inside `cloud`, and `error` says which family failed.
 */
const ANSWER_ERROR: Record<ErrorKind, string> = {
  cloud: 'CloudApiError',
  spec: 'InvalidSpec',
  certificateSource: 'InvalidCertificateSource',
  verification: 'VerificationFailed',
  guardRefused: 'Refused',
  input: 'BadRequest',
  step: 'InternalError',
};

/** Fields any error may carry that a client may see (what failed where), copied when present. */
const PUBLIC_FIELDS = ['field', 'issues', 'limit', 'loadBalancerId'] as const;

/** The family's JSON answer: `error` (a code), `message` (its first line), and the public fields. */
function familyAnswer(err: AutopilotError): Record<string, unknown> {
  const body: Record<string, unknown> = {
    error: err.kind === 'cloud' ? ANSWER_ERROR.cloud : (err.code ?? ANSWER_ERROR[err.kind]),
    message: err.message.split('\n')[0],
  };
  const fields = err as unknown as Record<string, unknown>;
  for (const name of PUBLIC_FIELDS) if (fields[name] !== undefined) body[name] = fields[name];
  if (err instanceof HttpError) Object.assign(body, err.details);
  if (err.kind === 'cloud')
    body.cloud = { action: err.action, code: err.code, requestId: (err as { requestId?: string }).requestId };
  return body;
}

/** Whether an error is answered with what it says: the family's, except a plain 500 (our own failure). */
const isAnswered = (err: unknown): err is AutopilotError =>
  err instanceof AutopilotError && err.status !== 500;

const MAX_CAUSE_DEPTH = 5;

/** The error the client is answered by: the first answered one down the cause chain (a failed step's cause). */
export function answeredBy(err: unknown): AutopilotError | undefined {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth <= MAX_CAUSE_DEPTH; depth++) {
    if (isAnswered(e)) return e;
    e = e.cause;
  }
  return undefined;
}

/** An error as the client sees it: a family error's answer, anything else opaque (the log has it). */
export function errorAnswer(err: unknown): Record<string, unknown> {
  const answered = answeredBy(err);
  if (answered) return familyAnswer(answered);
  return { error: 'InternalError', message: 'the request failed; see the function log for this request id' };
}

/**
 * Every error as its JSON answer: a family error with its status and code, the rest as an opaque 500
 * (the caller logs the cause). Messages hold no secrets (the family's rule); no stack or cause goes out.
 */
export function errorResponse(err: unknown, requestId: string | undefined): FcHttpResult {
  return jsonResponse(answeredBy(err)?.status ?? 500, { ...errorAnswer(err), requestId });
}

/** The media type of a request, without parameters, lower-case. */
export const mediaType = (req: HttpRequest): string =>
  (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
