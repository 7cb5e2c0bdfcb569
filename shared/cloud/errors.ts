// One error type for every failed cloud call, classified once, by the API's `Code` (never by message
// text): whether it is worth retrying, whether it is throttling.

import { AutopilotError } from '../errors';

/** SLB codes that mean "busy, try again" (reference §3.3). */
const BUSY_CODES = new Set([
  'SystemBusy',
  'OperationBusy',
  'ServiceIsConfiguring',
  'ServiceIsStopping',
  'BackendServer.configuring',
  'VServerGroupProcessing',
  'DomainExtensionProcessing',
  'OperationFailed.ListenerStatusNotSupport',
  'Operation.Deny',
  'IncorrectStatus.DomainExtension',
  'OperationFailed.TokenIsProcessing',
]);
/**
 * Our code for a 200 answer that lacks the resource asked for: right after a create or a delete,
 * Describe*ListenerAttribute can answer 200 without `ListenerPort` (Terraform treats that as "not
 * found yet" and retries). Retryable, so the retry policy bounds how long we wait for it.
 */
export const NOT_YET_VISIBLE = 'ResourceNotYetVisible';

// MalformedResponse: the SDK could not parse the body as JSON and threw before keeping the HTTP status;
// in practice that is a gateway's HTML error page in front of the API, i.e. a 5xx we cannot see.
const TRANSIENT_CODES = new Set([
  'ServiceUnavailable',
  'InternalError',
  'InternalInvokeError',
  'MalformedResponse',
  NOT_YET_VISIBLE,
]);
/** Node/undici/httpx transport failures: the request may not have reached the API. */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'ESOCKETTIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ReadTimeout',
  'ConnectTimeout',
  'RequestTimeout',
]);

export const isThrottling = (code: string): boolean => code.includes('Throttling');

/** Answers that prove the call did not run: throttled, busy, or never connected. */
export function provesNotRun(code: string): boolean {
  return (
    isThrottling(code) ||
    BUSY_CODES.has(code) ||
    ['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ConnectTimeout'].includes(code)
  );
}

export function isRetryable(code: string, httpStatus: number | undefined): boolean {
  return (
    isThrottling(code) ||
    TRANSIENT_CODES.has(code) ||
    BUSY_CODES.has(code) ||
    NETWORK_CODES.has(code) ||
    (httpStatus !== undefined && httpStatus >= 500)
  );
}

export class CloudError extends AutopilotError {
  override name = 'CloudError';
  readonly kind = 'cloud' as const;
  declare readonly action: string;
  declare readonly code: string;
  readonly requestId: string | undefined;
  readonly httpStatus: number | undefined;
  readonly retryable: boolean;

  constructor(fields: {
    action: string;
    code: string;
    message: string;
    requestId?: string;
    httpStatus?: number;
    cause?: unknown;
  }) {
    super(`${fields.action}: ${fields.code}: ${fields.message}`, {
      cause: fields.cause,
      action: fields.action,
      code: fields.code,
      // The cause is what the SDK or the transport threw: its message may quote the signed request.
      privateCause: true,
    });
    this.requestId = fields.requestId;
    this.httpStatus = fields.httpStatus;
    this.retryable = isRetryable(fields.code, fields.httpStatus);
  }

  get throttled(): boolean {
    return isThrottling(this.code);
  }
}

/** A 200 answer without the resource: `field` is what it lacked. */
export function notYetVisible(action: string, field: string, requestId?: unknown): CloudError {
  return new CloudError({
    action,
    code: NOT_YET_VISIBLE,
    message: `the answer has no ${field}: the resource is not visible yet`,
    ...(typeof requestId === 'string' ? { requestId } : {}),
  });
}

/**
 * SignatureDoesNotMatch carries the server's string to sign after `server string to sign is:`; under
 * HMAC-SHA1 V1 that holds every request parameter (a PrivateKey included), so it never leaves here.
 */
function withoutStringToSign(message: string): string {
  const at = message.indexOf('server string to sign is:');
  return at < 0 ? message : `${message.slice(0, at).trimEnd()} (server string to sign withheld)`;
}

interface SdkErrorShape {
  code?: unknown;
  statusCode?: unknown;
  data?: { RequestId?: unknown; Message?: unknown; Code?: unknown } | null;
  name?: unknown;
  message?: unknown;
}

/** Timeout errors from httpx carry no code, only a name; map them to a code once, here. */
function transportCode(e: SdkErrorShape): string | undefined {
  if (typeof e.code === 'string' && NETWORK_CODES.has(e.code)) return e.code;
  if (e.name === 'RequestTimeoutError' || e.name === 'ReadTimeoutError') return 'ReadTimeout';
  if (e.name === 'ConnectionTimeoutError' || e.name === 'ConnectTimeoutError') return 'ConnectTimeout';
  return undefined;
}

/** Classifies whatever the SDK threw. The message is the API's (no request data, so no secrets). */
export function toCloudError(action: string, err: unknown): CloudError {
  if (err instanceof CloudError) return err;
  const e = (err ?? {}) as SdkErrorShape;
  const httpStatus = typeof e.statusCode === 'number' ? e.statusCode : undefined;
  const network = transportCode(e);
  if (err instanceof SyntaxError) {
    return new CloudError({
      action,
      code: 'MalformedResponse',
      message: 'the response body is not JSON',
      cause: err,
    });
  }
  const apiCode =
    typeof e.data?.Code === 'string' ? e.data.Code : typeof e.code === 'string' ? e.code : undefined;
  const code = network ?? apiCode ?? (httpStatus !== undefined ? `HTTP${httpStatus}` : 'UnknownError');
  // The API's message, or our own error's (e.g. no credentials found); SDK messages carry no request data.
  const own = typeof e.message === 'string' && e.message !== '' ? e.message : 'request failed';
  const message =
    typeof e.data?.Message === 'string'
      ? withoutStringToSign(e.data.Message)
      : network
        ? `network error (${String(e.name ?? e.code)})`
        : own;
  return new CloudError({
    action,
    code,
    message,
    requestId: typeof e.data?.RequestId === 'string' ? e.data.RequestId : undefined,
    httpStatus,
    cause: err,
  });
}

/**
 * A delete that counts "already gone" as done: `gone` is the code the API answers for a resource that does
 * not exist, so a retry after a lost answer, or a second run, succeeds instead of failing.
 */
export async function deleteIdempotently(write: () => Promise<unknown>, gone: string): Promise<void> {
  try {
    await write();
  } catch (err) {
    if (err instanceof CloudError && err.code === gone) return;
    throw err;
  }
}
