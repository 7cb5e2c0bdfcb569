// Server-side verification of the two Alibaba Cloud RPC signature schemes, recomputed from the request
// exactly as @alicloud/openapi-client 0.4 signs it (reference §1.3):
// - ACS3-HMAC-SHA256 ("V3", the client's default): headers x-acs-*, canonical request, HMAC-SHA256.
// - HMAC-SHA1 ("V1", signatureAlgorithm 'v2'): everything in the query, HMAC-SHA1 with secret + '&'.
// The client sends the query with Node's querystring (which leaves !'()* unescaped), so the server
// decodes every value and re-encodes it with the strict RFC 3986 encoder before hashing.

import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { ApiError } from './errors';

/** encodeURIComponent plus ! ' ( ) * -> %21 %27 %28 %29 %2A */
export function percentEncode(value: string): string {
  return encodeURIComponent(value).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

export interface KeyPair {
  secret: string;
  /** when set, requests with this key must carry the same STS token */
  securityToken?: string;
}

export interface SignedRequest {
  method: string;
  /** decoded query parameters (one value per key; the RPC APIs never repeat a key) */
  query: Record<string, string>;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export interface VerifiedCaller {
  scheme: 'v3' | 'v1';
  accessKeyId: string;
  nonce: string;
  timestamp: string;
}

export const SIGNATURE_QUERY_KEYS = [
  'Signature',
  'SignatureMethod',
  'SignatureVersion',
  'SignatureNonce',
  'SignatureType',
  'AccessKeyId',
  'Timestamp',
  'Format',
  'Version',
  'Action',
  'SecurityToken',
] as const;

const header = (headers: IncomingHttpHeaders, name: string): string | undefined => {
  const v = headers[name];
  return Array.isArray(v) ? v.join(',') : v;
};

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function lookupKey(keys: ReadonlyMap<string, KeyPair>, accessKeyId: string): KeyPair {
  const pair = keys.get(accessKeyId);
  if (!pair) throw new ApiError('InvalidAccessKeyId.NotFound', 'Specified access key is not found.', 404);
  return pair;
}

function checkToken(pair: KeyPair, token: string | undefined): void {
  if (pair.securityToken === undefined) return;
  // The real gateway answers a missing or wrong STS token with InvalidSecurityToken.* codes.
  if (token === undefined)
    throw new ApiError('InvalidSecurityToken.Missing', 'The security token is missing.');
  if (!safeEqual(token, pair.securityToken)) {
    throw new ApiError('InvalidSecurityToken.Mismatch', 'The security token you provided does not match.');
  }
}

export function verifySignature(req: SignedRequest, keys: ReadonlyMap<string, KeyPair>): VerifiedCaller {
  const authorization = header(req.headers, 'authorization');
  if (authorization?.startsWith('ACS3-HMAC-SHA256')) return verifyV3(req, authorization, keys);
  if (req.query.Signature !== undefined) return verifyV1(req, keys);
  throw new ApiError('IncompleteSignature', 'The request signature does not conform to Aliyun standards.');
}

function verifyV3(
  req: SignedRequest,
  authorization: string,
  keys: ReadonlyMap<string, KeyPair>,
): VerifiedCaller {
  const fields = new Map<string, string>();
  for (const part of authorization.slice('ACS3-HMAC-SHA256'.length).trim().split(',')) {
    const i = part.indexOf('=');
    if (i > 0) fields.set(part.slice(0, i).trim(), part.slice(i + 1).trim());
  }
  const accessKeyId = fields.get('Credential');
  const signedHeaders = fields.get('SignedHeaders');
  const signature = fields.get('Signature');
  if (!accessKeyId || !signedHeaders || !signature) {
    throw new ApiError('IncompleteSignature', 'The request signature does not conform to Aliyun standards.');
  }
  const nonce = header(req.headers, 'x-acs-signature-nonce');
  const timestamp = header(req.headers, 'x-acs-date');
  if (!nonce)
    throw new ApiError('MissingParameter', 'The input parameter "x-acs-signature-nonce" is not supplied.');
  if (!timestamp) throw new ApiError('MissingParameter', 'The input parameter "x-acs-date" is not supplied.');
  const pair = lookupKey(keys, accessKeyId);

  const payloadHash = createHash('sha256').update(req.body).digest('hex');
  const claimedHash = header(req.headers, 'x-acs-content-sha256');
  if (claimedHash !== undefined && claimedHash !== payloadHash) {
    throw new ApiError('SignatureDoesNotMatch', 'The request body does not match x-acs-content-sha256.');
  }
  const canonicalQuery = Object.keys(req.query)
    .sort()
    .map((k) => `${k}=${percentEncode(req.query[k] ?? '')}`)
    .join('&');
  const names = signedHeaders.split(';');
  const canonicalHeaders = names.map((n) => `${n}:${(header(req.headers, n) ?? '').trim()}\n`).join('');
  const canonicalRequest = [
    req.method,
    '/',
    canonicalQuery,
    canonicalHeaders,
    signedHeaders,
    claimedHash ?? payloadHash,
  ].join('\n');
  const stringToSign = `ACS3-HMAC-SHA256\n${createHash('sha256').update(canonicalRequest).digest('hex')}`;
  const expected = createHmac('sha256', pair.secret).update(stringToSign).digest('hex');
  if (!safeEqual(expected, signature)) {
    throw signatureMismatch(stringToSign);
  }
  checkToken(pair, header(req.headers, 'x-acs-security-token'));
  return { scheme: 'v3', accessKeyId, nonce, timestamp };
}

/**
 * The real service's wording, string to sign included: official SDKs split this message at the colon
 * to compare the server's string to sign with their own (the Python core SDK fails on anything else).
 */
function signatureMismatch(stringToSign: string): ApiError {
  return new ApiError(
    'SignatureDoesNotMatch',
    `Specified signature is not matched with our calculation. server string to sign is:${stringToSign}`,
  );
}

function verifyV1(req: SignedRequest, keys: ReadonlyMap<string, KeyPair>): VerifiedCaller {
  const {
    Signature: signature,
    AccessKeyId: accessKeyId,
    SignatureNonce: nonce,
    Timestamp: timestamp,
  } = req.query;
  for (const [name, v] of Object.entries({
    AccessKeyId: accessKeyId,
    SignatureNonce: nonce,
    Timestamp: timestamp,
  })) {
    if (!v)
      throw new ApiError(
        'MissingParameter',
        `The input parameter "${name}" that is mandatory for processing this request is not supplied.`,
      );
  }
  const pair = lookupKey(keys, accessKeyId!);
  const canonical = Object.keys(req.query)
    .filter((k) => k !== 'Signature')
    .sort()
    .map((k) => `${percentEncode(k)}=${percentEncode(req.query[k] ?? '')}`)
    .join('&');
  const stringToSign = `${req.method}&${percentEncode('/')}&${percentEncode(canonical)}`;
  const expected = createHmac('sha1', `${pair.secret}&`).update(stringToSign).digest('base64');
  if (!signature || !safeEqual(expected, signature)) {
    throw signatureMismatch(stringToSign);
  }
  checkToken(pair, req.query.SecurityToken);
  return { scheme: 'v1', accessKeyId: accessKeyId!, nonce: nonce!, timestamp: timestamp! };
}

/** Remembers nonces for the replay window; a nonce seen twice within it is a replay. */
export class NonceRegistry {
  private readonly seen = new Map<string, number>();

  constructor(private readonly windowMs = 15 * 60_000) {}

  /** throws SignatureNonceUsed for a nonce already used within the window */
  use(accessKeyId: string, nonce: string, nowMs: number): void {
    for (const [k, expires] of this.seen) if (expires <= nowMs) this.seen.delete(k);
    const key = `${accessKeyId}\n${nonce}`;
    if (this.seen.has(key))
      throw new ApiError('SignatureNonceUsed', 'Specified signature nonce was used already.');
    this.seen.set(key, nowMs + this.windowMs);
  }

  clear(): void {
    this.seen.clear();
  }
}

/** The request time must be within ±15 minutes of the server clock. */
export function checkTimestamp(timestamp: string, nowMs: number): void {
  const t = Date.parse(timestamp);
  if (Number.isNaN(t))
    throw new ApiError(
      'InvalidTimeStamp.Format',
      `Specified time stamp or date value is not well formatted.`,
    );
  if (Math.abs(nowMs - t) > 15 * 60_000) {
    throw new ApiError('InvalidTimeStamp.Expired', 'Specified time stamp or date value is expired.');
  }
}
