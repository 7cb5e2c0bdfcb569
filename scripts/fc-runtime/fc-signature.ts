// Verifies the FC API signature exactly as @alicloud/fc2 2.6.6 computes it (lib/client.js `request`,
// lib/helper.js `composeStringToSign`), so an unmodified fc2 client can call the local runtime:
//   Authorization: FC <accessKeyID>:base64(HMAC-SHA256(secret, stringToSign))
//   stringToSign = METHOD \n content-md5 \n content-type \n date \n <x-fc-* headers, lower-case, sorted,
//                  "name:value\n" each> <path without the query>
// For `/proxy/` paths only, "\n" + the sorted `key=value` query pairs joined with "\n" is appended.
// fc2's content-md5 is base64 of the *hex* MD5 string; it is signed as sent, and checked against the body.

import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

export interface AccessKey {
  accessKeyId: string;
  accessKeySecret: string;
  /** required with STS keys (accessKeyId starting with "STS"), sent as x-fc-security-token */
  securityToken?: string;
}

export type SignatureCheck =
  | { ok: true; accessKeyId: string }
  | { ok: false; status: number; code: string; message: string };

export function composeStringToSign(
  method: string,
  path: string,
  headers: Record<string, string | undefined>,
  queries?: Record<string, string | string[]>,
): string {
  const fcHeaders = Object.keys(headers)
    .map((k) => k.toLowerCase().trim())
    .filter((k) => k.startsWith('x-fc-'))
    .sort()
    .map((k) => `${k}:${headers[k] ?? ''}\n`)
    .join('');
  let s = `${method}\n${headers['content-md5'] ?? ''}\n${headers['content-type'] ?? ''}\n${headers.date ?? ''}\n${fcHeaders}${path}`;
  if (queries) {
    const pairs: string[] = [];
    for (const [k, v] of Object.entries(queries))
      for (const one of Array.isArray(v) ? v : [v]) pairs.push(`${k}=${one}`);
    s += `\n${pairs.sort().join('\n')}`;
  }
  return s;
}

export function sign(stringToSign: string, secret: string): string {
  return createHmac('sha256', secret).update(stringToSign, 'utf8').digest('base64');
}

/** fc2's content-md5: base64 of the lower-case hex digest */
export function fc2ContentMd5(body: Buffer): string {
  return Buffer.from(createHash('md5').update(body).digest('hex'), 'utf8').toString('base64');
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** FC rejects requests whose date is this far from its clock */
const MAX_SKEW_MS = 15 * 60_000;

export interface VerifyInput {
  method: string;
  /** the path as requested, without the query: /2023-03-30/functions/x/invocations */
  path: string;
  query: URLSearchParams;
  /** lower-case names */
  headers: Record<string, string | undefined>;
  body: Buffer;
  now: Date;
}

export function verifyFcSignature(input: VerifyInput, keys: readonly AccessKey[]): SignatureCheck {
  const auth = input.headers.authorization ?? '';
  const m = /^FC ([^:\s]+):(\S+)$/.exec(auth);
  if (!m)
    return {
      ok: false,
      status: 403,
      code: 'MissingAuthorization',
      message: 'the Authorization header must be "FC <accessKeyID>:<signature>"',
    };
  const [, accessKeyId, signature] = m as unknown as [string, string, string];
  const date = input.headers.date;
  const when = date ? Date.parse(date) : Number.NaN;
  if (Number.isNaN(when))
    return {
      ok: false,
      status: 403,
      code: 'InvalidArgument',
      message: 'the Date header is missing or invalid',
    };
  if (Math.abs(input.now.getTime() - when) > MAX_SKEW_MS)
    return {
      ok: false,
      status: 403,
      code: 'RequestTimeTooSkewed',
      message: `the Date header ${date} is more than 15 minutes away from the server time`,
    };
  const key = keys.find((k) => k.accessKeyId === accessKeyId);
  if (!key)
    return {
      ok: false,
      status: 403,
      code: 'InvalidAccessKeyId.NotFound',
      message: `the AccessKey ID ${accessKeyId} does not exist`,
    };
  if (accessKeyId.startsWith('STS') && input.headers['x-fc-security-token'] !== key.securityToken)
    return {
      ok: false,
      status: 403,
      code: 'InvalidSecurityToken',
      message: 'the security token is missing or invalid',
    };
  const md5 = input.headers['content-md5'];
  if (md5 && input.body.length > 0 && md5 !== fc2ContentMd5(input.body))
    return {
      ok: false,
      status: 400,
      code: 'InvalidArgument',
      message: 'Content-MD5 does not match the body',
    };
  let queries: Record<string, string[]> | undefined;
  if (/^\/[^/]+\/proxy\//.test(input.path)) {
    queries = {};
    for (const k of new Set(input.query.keys())) queries[k] = input.query.getAll(k);
  }
  const expected = sign(
    composeStringToSign(input.method, input.path, input.headers, queries),
    key.accessKeySecret,
  );
  if (!safeEqual(expected, signature))
    return {
      ok: false,
      status: 403,
      code: 'SignatureNotMatch',
      message:
        'The request signature we calculated does not match the signature you provided. Check your access key and signing method.',
    };
  return { ok: true, accessKeyId };
}
