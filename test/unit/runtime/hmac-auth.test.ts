// The provisioning API's request signing: window boundaries on a fake clock, nonce rules, what the
// signature covers (query, content type), refused old versions, the secret floor.
import { createHash, createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  canonicalQuery,
  createVerifier,
  NONCE_HEADER,
  SIGNATURE_HEADER,
  secretWeakness,
  signedHeaders,
  stringToSign,
  TIMESTAMP_HEADER,
} from '../../../shared/runtime/hmac-auth';

const SECRET = 'unit-test-secret-0123456789abcdefgh';
const T0 = new Date('2026-11-24T12:00:00Z');
const JSON_TYPE = 'application/json';

function request(
  headers: Record<string, string>,
  body = '{"a":1}',
  query: Record<string, string> = {},
  contentType = JSON_TYPE,
) {
  return {
    method: 'POST',
    path: '/apply',
    query,
    headers: { 'content-type': contentType, ...headers },
    body: Buffer.from(body),
  };
}
const signed = (query: Record<string, string> = {}, contentType = JSON_TYPE, at = T0) =>
  signedHeaders(SECRET, { method: 'POST', path: '/apply', query, contentType, body: '{"a":1}' }, at);

describe('hmac auth', () => {
  it('signs version, method, path, canonical query, content type, timestamp, nonce and the body digest', () => {
    expect(
      stringToSign({
        method: 'post',
        path: '/plan',
        query: { b: '2', a: "x y!'()*" },
        contentType: ' Application/JSON ',
        timestamp: '1',
        nonce: 'abcdefgh',
        body: '',
      }),
    ).toBe(
      'v2\nPOST\n/plan\na=x%20y%21%27%28%29%2A&b=2\napplication/json\n1\nabcdefgh\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    );
  });

  it('sorts the query by encoded key (bytes), then value; repeated keys keep every value', () => {
    expect(
      canonicalQuery([
        ['b', '1'],
        ['a', 'z'],
        ['a', 'y'],
        ['é', '/'],
      ]),
    ).toBe('%C3%A9=%2F&a=y&a=z&b=1');
    expect(canonicalQuery(undefined)).toBe('');
  });

  it.each([
    [-60, true],
    [60, true],
    [61, false],
    [-61, false],
  ])('accepts a request signed %i s from the server clock: %s', (skew, ok) => {
    const v = createVerifier({ secret: SECRET, now: () => T0 });
    const headers = signed({}, JSON_TYPE, new Date(T0.getTime() + skew * 1000));
    const run = () => v.verify(request(headers));
    if (ok) expect(run).not.toThrow();
    else expect(run).toThrow(/outside the 60 s window/);
  });

  it('returns the signed timestamp of a verified request', () => {
    const v = createVerifier({ secret: SECRET, now: () => T0 });
    expect(v.verify(request(signed())).timestamp).toBe(T0.getTime() / 1000);
  });

  it('refuses a changed body, a reused nonce and a malformed nonce', () => {
    const v = createVerifier({ secret: SECRET, now: () => T0 });
    const headers = signed();
    expect(() => v.verify(request(headers, '{"a":2}'))).toThrow(/does not match/);
    v.verify(request(headers));
    expect(() => v.verify(request(headers))).toThrow(/replay/);
    expect(() => v.verify(request({ ...headers, [NONCE_HEADER]: 'a b' }))).toThrow(/8-64 letters/);
    expect(() => v.verify(request({ ...headers, [TIMESTAMP_HEADER]: '12.5' }))).toThrow(/unix seconds/);
    expect(() => v.verify(request({ ...headers, [SIGNATURE_HEADER]: 'v2=short' }))).toThrow(/does not match/);
  });

  it('refuses a request whose query or content type differs from what was signed', () => {
    const v = createVerifier({ secret: SECRET, now: () => T0 });
    expect(() => v.verify(request(signed({ dryRun: 'true' }), '{"a":1}', { dryRun: 'false' }))).toThrow(
      /does not match/,
    );
    expect(() => v.verify(request(signed(), '{"a":1}', { extra: '1' }))).toThrow(/does not match/);
    expect(() => v.verify(request(signed({}, JSON_TYPE), '{"a":1}', {}, 'application/yaml'))).toThrow(
      /does not match/,
    );
    expect(v.verify(request(signed({ x: '1' }), '{"a":1}', { x: '1' })).nonce).toMatch(/^[0-9a-f]{32}$/);
  });

  it('refuses a v1 signature (method, path, timestamp, nonce, body only), even a correct one', () => {
    const v = createVerifier({ secret: SECRET, now: () => T0 });
    const timestamp = String(T0.getTime() / 1000);
    const nonce = 'abcdefgh1234';
    const digest = createHash('sha256').update('{"a":1}').digest('hex');
    const v1 = createHmac('sha256', SECRET)
      .update(`POST\n/apply\n${timestamp}\n${nonce}\n${digest}`)
      .digest('hex');
    expect(() =>
      v.verify(
        request({ [TIMESTAMP_HEADER]: timestamp, [NONCE_HEADER]: nonce, [SIGNATURE_HEADER]: `v1=${v1}` }),
      ),
    ).toThrow(/must be v2=<hex>/);
  });

  it.each([
    ['short', /at least 32 characters/],
    ['a'.repeat(32), /fewer than 10 distinct/],
    ['abcdefghij'.repeat(4), /short pattern repeated/],
    ['0123456789abcdef'.repeat(2), /short pattern repeated/],
    [`${'a'.repeat(20)}bcdefghijklmnop`, /mostly one character/],
  ])('refuses a weak secret (%s), never echoing it', (secret, why) => {
    expect(secretWeakness(secret)).toMatch(why);
    expect(secretWeakness(secret)).not.toContain(secret);
    expect(secretWeakness(secret)).toContain('openssl rand -base64 48');
    expect(() => createVerifier({ secret, now: () => T0 })).toThrow(why);
  });

  it('accepts generated secrets', () => {
    expect(secretWeakness('Zq3u9VvH0sJX1b8dQ2lTnYk5rEwA7mCf+PiLg4oRxS6=')).toBeUndefined();
    expect(secretWeakness(SECRET)).toBeUndefined();
  });
});
