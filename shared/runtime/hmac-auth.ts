// Verifies the x-slbap-* request signature (scheme in shared/cloud/request-signing.ts: v2 signs method,
// path, canonical query, content type, timestamp, nonce and the body digest). The server compares in
// constant time, accepts timestamps within a short window (default 60 s either way) and refuses a nonce
// it has already seen inside that window. The nonce memory is per function instance; across instances
// a replayed `/apply` is made harmless by the load balancer's record of the last applied signature time
// (functions/provision/applied-at.ts), and the other endpoints only read or are idempotent.

import { timingSafeEqual } from 'node:crypto';
import {
  NONCE_HEADER,
  SIGNATURE_HEADER,
  SIGNATURE_VERSION,
  sign,
  TIMESTAMP_HEADER,
} from '../cloud/request-signing';
import { InputError } from '../errors';
import { HttpError } from './http';

export {
  canonicalQuery,
  NONCE_HEADER,
  SIGNATURE_HEADER,
  type SignedParts,
  sign,
  signedHeaders,
  stringToSign,
  TIMESTAMP_HEADER,
} from '../cloud/request-signing';

/** Short: a captured request is only good this long, and the nonce memory covers it. */
export const DEFAULT_WINDOW_SECONDS = 60;
/** secrets shorter than this are refused at start-up: they can be guessed offline from one request */
export const MIN_SECRET_LENGTH = 32;
/** a random 32-character secret has about 25 distinct characters; a typed pattern has few */
export const MIN_SECRET_DISTINCT = 10;

/**
 * Why a secret is too weak to sign with, or undefined when it is fine. Length alone lets through
 * `aaaa…` or `abcabc…`: refuse low variety (few distinct characters, one character dominating, a short
 * pattern repeated). The message never contains the secret.
 */
export function secretWeakness(secret: string): string | undefined {
  const generate = 'generate one with `openssl rand -base64 48`';
  if (secret.length < MIN_SECRET_LENGTH)
    return `must be at least ${MIN_SECRET_LENGTH} characters; ${generate}`;
  const counts = new Map<string, number>();
  for (const c of secret) counts.set(c, (counts.get(c) ?? 0) + 1);
  if (counts.size < MIN_SECRET_DISTINCT)
    return `has fewer than ${MIN_SECRET_DISTINCT} distinct characters; ${generate}`;
  if (Math.max(...counts.values()) > secret.length / 4) return `is mostly one character; ${generate}`;
  // A short pattern repeated (with a partial tail): secret[i] === secret[i - p] for every i.
  for (let p = 1; p <= Math.min(64, secret.length / 2); p++) {
    let periodic = true;
    for (let i = p; i < secret.length && periodic; i++) periodic = secret[i] === secret[i - p];
    if (periodic) return `is a short pattern repeated; ${generate}`;
  }
  return undefined;
}

export interface VerifiedRequest {
  /** the signed unix seconds: when the caller made this request */
  timestamp: number;
  nonce: string;
}

export interface Verifier {
  /** Throws a 401 HttpError unless the request is signed, fresh and not a replay. */
  verify(request: {
    method: string;
    path: string;
    query?: Record<string, string>;
    headers: Record<string, string>;
    body: Buffer;
  }): VerifiedRequest;
}

type VerifyInput = Parameters<Verifier['verify']>[0];

const unauthorized = (message: string) => new HttpError(401, 'Unauthorized', message);

/** The signature headers, present and well-formed (their values are checked by the verifier). */
function signatureHeaders(headers: Record<string, string>): {
  timestamp: string;
  nonce: string;
  signature: string;
} {
  const timestamp = headers[TIMESTAMP_HEADER];
  const nonce = headers[NONCE_HEADER];
  const signature = headers[SIGNATURE_HEADER];
  if (!timestamp || !nonce || !signature)
    throw unauthorized(`${TIMESTAMP_HEADER}, ${NONCE_HEADER} and ${SIGNATURE_HEADER} headers are required`);
  if (!signature.startsWith(`${SIGNATURE_VERSION}=`))
    throw unauthorized(
      `${SIGNATURE_HEADER}: must be ${SIGNATURE_VERSION}=<hex> (earlier versions are refused; see the README)`,
    );
  if (!/^\d{1,12}$/.test(timestamp)) throw unauthorized(`${TIMESTAMP_HEADER}: must be unix seconds`);
  if (!/^[A-Za-z0-9_-]{8,64}$/.test(nonce))
    throw unauthorized(`${NONCE_HEADER}: must be 8-64 letters, digits, - or _`);
  return { timestamp, nonce, signature };
}

/** Whether `signature` is the request's, compared in constant time. */
function signatureMatches(
  secret: string,
  req: VerifyInput,
  h: { timestamp: string; nonce: string; signature: string },
) {
  const expected = Buffer.from(
    sign(secret, {
      method: req.method,
      path: req.path,
      query: req.query ?? {},
      contentType: req.headers['content-type'] ?? '',
      timestamp: h.timestamp,
      nonce: h.nonce,
      body: req.body,
    }),
  );
  const given = Buffer.from(h.signature);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** Verifies requests against one secret, remembering the nonces of its window (per instance). */
class HmacVerifier implements Verifier {
  /** nonce -> when it stops being acceptable anyway (epoch seconds) */
  private readonly seen = new Map<string, number>();

  constructor(
    private readonly secret: string,
    private readonly window: number,
    private readonly now: () => Date,
  ) {}

  verify = (req: VerifyInput): VerifiedRequest => {
    const h = signatureHeaders(req.headers);
    const now = Math.floor(this.now().getTime() / 1000);
    const ts = Number(h.timestamp);
    if (Math.abs(now - ts) > this.window)
      throw unauthorized(`${TIMESTAMP_HEADER}: outside the ${this.window} s window (check the client clock)`);
    if (!signatureMatches(this.secret, req, h))
      throw unauthorized(`${SIGNATURE_HEADER}: does not match the request`);
    for (const [n, until] of this.seen) if (until < now) this.seen.delete(n);
    if (this.seen.has(h.nonce)) throw unauthorized(`${NONCE_HEADER}: already used (replay)`);
    this.seen.set(h.nonce, ts + this.window);
    return { timestamp: ts, nonce: h.nonce };
  };
}

export function createVerifier(options: {
  secret: string;
  now: () => Date;
  windowSeconds?: number;
}): Verifier {
  const weak = secretWeakness(options.secret);
  if (weak) throw new InputError(`the API secret ${weak}`, { code: 'WeakSecret' });
  return new HmacVerifier(options.secret, options.windowSeconds ?? DEFAULT_WINDOW_SECONDS, options.now);
}
