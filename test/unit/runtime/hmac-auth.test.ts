// The provisioning API's request signing: window boundaries on a fake clock, nonce rules, the secret floor.
import { describe, expect, it } from 'vitest';
import {
  createVerifier,
  NONCE_HEADER,
  SIGNATURE_HEADER,
  signedHeaders,
  stringToSign,
  TIMESTAMP_HEADER,
} from '../../../shared/runtime/hmac-auth';

const SECRET = 'unit-test-secret-0123456789abcdefgh';
const T0 = new Date('2026-11-24T12:00:00Z');

function request(headers: Record<string, string>, body = '{"a":1}') {
  return { method: 'POST', path: '/apply', headers, body: Buffer.from(body) };
}

describe('hmac auth', () => {
  it('signs method, path, timestamp, nonce and the body digest, one per line', () => {
    expect(stringToSign({ method: 'post', path: '/plan', timestamp: '1', nonce: 'abcdefgh', body: '' })).toBe(
      'POST\n/plan\n1\nabcdefgh\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    );
  });

  it.each([
    [-300, true],
    [300, true],
    [301, false],
    [-301, false],
  ])('accepts a request signed %i s from the server clock: %s', (skew, ok) => {
    const v = createVerifier({ secret: SECRET, now: () => T0 });
    const headers = signedHeaders(
      SECRET,
      { method: 'POST', path: '/apply', body: '{"a":1}' },
      new Date(T0.getTime() + skew * 1000),
    );
    const run = () => v.verify(request(headers));
    if (ok) expect(run).not.toThrow();
    else expect(run).toThrow(/outside the 300 s window/);
  });

  it('refuses a changed body, a reused nonce and a malformed nonce', () => {
    const v = createVerifier({ secret: SECRET, now: () => T0 });
    const headers = signedHeaders(SECRET, { method: 'POST', path: '/apply', body: '{"a":1}' }, T0);
    expect(() => v.verify(request(headers, '{"a":2}'))).toThrow(/does not match/);
    v.verify(request(headers));
    expect(() => v.verify(request(headers))).toThrow(/replay/);
    expect(() => v.verify(request({ ...headers, [NONCE_HEADER]: 'a b' }))).toThrow(/8-64 letters/);
    expect(() => v.verify(request({ ...headers, [TIMESTAMP_HEADER]: '12.5' }))).toThrow(/unix seconds/);
    expect(() => v.verify(request({ ...headers, [SIGNATURE_HEADER]: 'v1=short' }))).toThrow(/does not match/);
  });

  it('refuses to start with a short secret', () => {
    expect(() => createVerifier({ secret: 'short', now: () => T0 })).toThrow(/at least 32 characters/);
  });
});
