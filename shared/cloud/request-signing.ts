// The x-slbap-* request signature, shared by the provisioning API (which verifies it, see
// shared/runtime/hmac-auth.ts) and outgoing webhooks (which carry it). Version 2 signs everything the
// server acts on: HMAC-SHA256 with a shared secret over the lines
//   v2
//   <METHOD>
//   <path>
//   <canonical query: pairs RFC 3986-encoded, sorted by key then value, joined with &; empty if none>
//   <content-type header, trimmed, lower-case; empty if none>
//   <timestamp>
//   <nonce>
//   <hex sha256 of the body>
// sent as `x-slbap-timestamp: <unix seconds>`, `x-slbap-nonce: <8-64 of A-Z a-z 0-9 - _>` and
// `x-slbap-signature: v2=<hex>`. (v1 signed neither the query nor the content type, so a relay could
// change how the body was read; v1 signatures are refused.)

import { createHash, createHmac, randomBytes } from 'node:crypto';

export const TIMESTAMP_HEADER = 'x-slbap-timestamp';
export const SIGNATURE_HEADER = 'x-slbap-signature';
export const NONCE_HEADER = 'x-slbap-nonce';
export const SIGNATURE_VERSION = 'v2';

export type QueryPairs = Record<string, string> | readonly (readonly [string, string])[];

export interface SignedParts {
  method: string;
  path: string;
  /** the query the server sees; a record or the pairs in any order */
  query?: QueryPairs;
  /** the content-type header as sent */
  contentType?: string;
  timestamp: string;
  nonce: string;
  body: Buffer | string;
}

/** RFC 3986: encodeURIComponent leaves !'()* unescaped; they are reserved there. */
const rfc3986 = (s: string): string =>
  encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

export function canonicalQuery(query: QueryPairs | undefined): string {
  const pairs = Array.isArray(query) ? query : Object.entries(query ?? {});
  return pairs
    .map(([k, v]) => [rfc3986(k), rfc3986(v)] as const)
    .sort(([ak, av], [bk, bv]) => (ak < bk ? -1 : ak > bk ? 1 : av < bv ? -1 : av > bv ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
}

export function stringToSign(p: SignedParts): string {
  const digest = createHash('sha256').update(p.body).digest('hex');
  return [
    SIGNATURE_VERSION,
    p.method.toUpperCase(),
    p.path,
    canonicalQuery(p.query),
    (p.contentType ?? '').trim().toLowerCase(),
    p.timestamp,
    p.nonce,
    digest,
  ].join('\n');
}

export function sign(secret: string, parts: SignedParts): string {
  return `${SIGNATURE_VERSION}=${createHmac('sha256', secret).update(stringToSign(parts)).digest('hex')}`;
}

/** The headers a client adds to a request (it must send `contentType` as its content-type header). */
export function signedHeaders(
  secret: string,
  request: Omit<SignedParts, 'timestamp' | 'nonce'>,
  now: Date,
): Record<string, string> {
  const timestamp = String(Math.floor(now.getTime() / 1000));
  const nonce = randomBytes(16).toString('hex');
  return {
    [TIMESTAMP_HEADER]: timestamp,
    [NONCE_HEADER]: nonce,
    [SIGNATURE_HEADER]: sign(secret, { ...request, timestamp, nonce }),
  };
}
