// The x-slbap-* request signature, shared by the provisioning API (which verifies it, see
// shared/runtime/hmac-auth.ts) and outgoing webhooks (which carry it): HMAC-SHA256 with a shared
// secret over  <METHOD>\n<path>\n<timestamp>\n<nonce>\n<hex sha256 of the body>.

import { createHash, createHmac, randomBytes } from 'node:crypto';

export const TIMESTAMP_HEADER = 'x-slbap-timestamp';
export const SIGNATURE_HEADER = 'x-slbap-signature';
export const NONCE_HEADER = 'x-slbap-nonce';
export interface SignedParts {
  method: string;
  path: string;
  timestamp: string;
  nonce: string;
  body: Buffer | string;
}

export function stringToSign(p: SignedParts): string {
  const digest = createHash('sha256').update(p.body).digest('hex');
  return `${p.method.toUpperCase()}\n${p.path}\n${p.timestamp}\n${p.nonce}\n${digest}`;
}

export function sign(secret: string, parts: SignedParts): string {
  return `v1=${createHmac('sha256', secret).update(stringToSign(parts)).digest('hex')}`;
}

/** The headers a client adds to a request. */
export function signedHeaders(
  secret: string,
  request: { method: string; path: string; body: Buffer | string },
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
