// The FC API signature as @alicloud/fc2 computes it: our string-to-sign against fc2's own static
// getSignature, and the verifier's answers (FC's error codes) for each way a request can be wrong.
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import {
  type AccessKey,
  composeStringToSign,
  fc2ContentMd5,
  sign,
  type VerifyInput,
  verifyFcSignature,
} from '../../../scripts/fc-runtime/fc-signature';

const require = createRequire(import.meta.url);
const FC = require('@alicloud/fc2') as {
  getSignature(
    id: string,
    secret: string,
    method: string,
    path: string,
    headers: Record<string, string>,
    queries: Record<string, string | string[]> | null,
  ): string;
};

const KEY: AccessKey = { accessKeyId: 'AKLOCAL', accessKeySecret: 'local-secret' };
const STS: AccessKey = { accessKeyId: 'STS.abc', accessKeySecret: 'sts-secret', securityToken: 'tok' };
const NOW = new Date('2024-01-01T00:00:00Z');
const PATH = '/2023-03-30/functions/f/invocations';
const BODY = Buffer.from('{"a":1}');

function signed(key: AccessKey, over: Partial<VerifyInput> = {}, extraHeaders: Record<string, string> = {}) {
  const headers: Record<string, string> = {
    accept: 'application/json',
    date: NOW.toUTCString(),
    host: '127.0.0.1',
    'x-fc-account-id': '1234567890123456',
    'content-type': 'application/octet-stream',
    'content-md5': fc2ContentMd5(BODY),
    'x-fc-invocation-type': 'Async',
    ...(key.securityToken ? { 'x-fc-security-token': key.securityToken } : {}),
    ...extraHeaders,
  };
  headers.authorization = FC.getSignature(key.accessKeyId, key.accessKeySecret, 'POST', PATH, headers, null);
  return { method: 'POST', path: PATH, query: new URLSearchParams(), headers, body: BODY, now: NOW, ...over };
}

describe('composeStringToSign', () => {
  it('matches fc2 for the invoke path (x-fc-* headers sorted, no query)', () => {
    const headers = {
      date: 'd',
      'content-md5': 'm',
      'content-type': 't',
      'x-fc-b': '2',
      'x-fc-a': '1',
      other: 'o',
    };
    expect(composeStringToSign('POST', PATH, headers)).toBe(`POST\nm\nt\nd\nx-fc-a:1\nx-fc-b:2\n${PATH}`);
    expect(`FC id:${sign(composeStringToSign('POST', PATH, headers), 's')}`).toBe(
      FC.getSignature('id', 's', 'POST', PATH, headers, null),
    );
  });

  it('matches fc2 for /proxy/ paths, which sign the sorted query', () => {
    const headers = { date: 'd' };
    const queries = { b: ['2', '1'], a: 'x' };
    expect(`FC id:${sign(composeStringToSign('GET', '/2016-08-15/proxy/s/f/', headers, queries), 's')}`).toBe(
      FC.getSignature('id', 's', 'GET', '/2016-08-15/proxy/s/f/', headers, queries),
    );
  });

  it('computes content-md5 the fc2 way (base64 of the hex digest)', () => {
    expect(fc2ContentMd5(Buffer.from('abc'))).toBe(
      Buffer.from('900150983cd24fb0d6963f7d28e17f72').toString('base64'),
    );
  });
});

describe('verifyFcSignature', () => {
  it('accepts what fc2 signs, with plain and STS keys', () => {
    expect(verifyFcSignature(signed(KEY), [KEY])).toEqual({ ok: true, accessKeyId: 'AKLOCAL' });
    expect(verifyFcSignature(signed(STS), [KEY, STS])).toEqual({ ok: true, accessKeyId: 'STS.abc' });
  });

  it.each([
    ['a wrong secret', () => signed({ ...KEY, accessKeySecret: 'nope' }), 403, 'SignatureNotMatch'],
    [
      'an unknown key',
      () => signed({ accessKeyId: 'AKOTHER', accessKeySecret: 'x' }),
      403,
      'InvalidAccessKeyId.NotFound',
    ],
    [
      'a tampered signed header',
      () => {
        const r = signed(KEY);
        return { ...r, headers: { ...r.headers, 'x-fc-invocation-type': 'Sync' } };
      },
      403,
      'SignatureNotMatch',
    ],
    ['a tampered body', () => ({ ...signed(KEY), body: Buffer.from('{"a":2}') }), 400, 'InvalidArgument'],
    [
      'another path',
      () => ({ ...signed(KEY), path: '/2023-03-30/functions/g/invocations' }),
      403,
      'SignatureNotMatch',
    ],
    [
      'no authorization',
      () => {
        const r = signed(KEY);
        return { ...r, headers: { ...r.headers, authorization: undefined } };
      },
      403,
      'MissingAuthorization',
    ],
    [
      'a stale date',
      () => ({ ...signed(KEY), now: new Date(NOW.getTime() + 16 * 60_000) }),
      403,
      'RequestTimeTooSkewed',
    ],
    [
      'an STS key without its token',
      () => {
        const r = signed(STS);
        return { ...r, headers: { ...r.headers, 'x-fc-security-token': 'other' } };
      },
      403,
      'InvalidSecurityToken',
    ],
  ])('rejects %s', (_what, input, status, code) => {
    expect(verifyFcSignature(input(), [KEY, STS])).toMatchObject({ ok: false, status, code });
  });
});
