// Signature helpers: strict RFC 3986 encoding, nonce replay window, ±15-minute timestamp window.
import { describe, expect, it } from 'vitest';
import { ApiError } from '../../../scripts/local-cloud/errors';
import { checkTimestamp, NonceRegistry, percentEncode } from '../../../scripts/local-cloud/signature';

const code = (fn: () => void): string | undefined => {
  try {
    fn();
    return undefined;
  } catch (err) {
    return err instanceof ApiError ? err.code : 'other';
  }
};

describe('percentEncode', () => {
  it.each([
    ["a!b'c(d)e*f", 'a%21b%27c%28d%29e%2Af'],
    ['a b+c/d~e', 'a%20b%2Bc%2Fd~e'],
    ['中', '%E4%B8%AD'],
  ])('encodes %s', (input, expected) => {
    expect(percentEncode(input)).toBe(expected);
  });
});

describe('NonceRegistry', () => {
  it('refuses a nonce reused within 15 minutes and accepts it after', () => {
    const r = new NonceRegistry();
    expect(code(() => r.use('ak', 'n1', 0))).toBeUndefined();
    expect(code(() => r.use('ak', 'n1', 14 * 60_000))).toBe('SignatureNonceUsed');
    expect(code(() => r.use('other', 'n1', 14 * 60_000))).toBeUndefined();
    expect(code(() => r.use('ak', 'n1', 15 * 60_000 + 1))).toBeUndefined();
  });
});

describe('checkTimestamp', () => {
  const now = Date.parse('2026-01-01T12:00:00Z');
  it.each([
    ['2026-01-01T12:14:00Z', undefined],
    ['2026-01-01T11:46:00Z', undefined],
    ['2026-01-01T12:20:00Z', 'InvalidTimeStamp.Expired'],
    ['2026-01-01T11:40:00Z', 'InvalidTimeStamp.Expired'],
    ['not a date', 'InvalidTimeStamp.Format'],
  ])('%s -> %s', (ts, expected) => {
    expect(code(() => checkTimestamp(ts, now))).toBe(expected);
  });
});
