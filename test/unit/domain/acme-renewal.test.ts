// ARI identifiers and decisions, and the rate-limit wait: pure tables.
import { describe, expect, it } from 'vitest';
import {
  ariCertId,
  ariDecision,
  rateLimitWaiting,
  serialDerFromHex,
} from '../../../shared/domain/acme-renewal';

describe('ariCertId', () => {
  it('matches RFC 9773 §4.1’s example', () => {
    const aki = Buffer.from('69885B6B87464041E1B37B847BA0AE2CDE01C8D4', 'hex');
    expect(ariCertId(aki, serialDerFromHex('0087654321'))).toBe('aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE');
  });

  it.each([
    ['87654321', '0087654321'],
    ['0087654321', '0087654321'],
    ['7F', '7f'],
    ['00007F', '7f'],
    ['1', '01'],
    ['AB:CD', '00abcd'],
  ])('serial %s -> DER %s', (hex, der) => {
    expect(Buffer.from(serialDerFromHex(hex)).toString('hex')).toBe(der);
  });
});

describe('ariDecision', () => {
  const window = { start: new Date('2026-12-10T00:00:00Z'), end: new Date('2026-12-12T00:00:00Z') };
  it.each([
    ['before the window', '2026-12-01T00:00:00Z', false],
    ['at the start', '2026-12-10T00:00:00Z', true],
    ['inside', '2026-12-11T00:00:00Z', true],
    ['after the end', '2026-12-20T00:00:00Z', true],
  ])('%s', (_name, now, due) => {
    const d = ariDecision(window, new Date(now));
    expect(d.due).toBe(due);
    if (!d.due) expect(d.notBefore).toEqual(window.start);
    expect(d.reason).toMatch(/ARI/);
  });

  it('an inverted window renews now', () => {
    expect(ariDecision({ start: window.end, end: window.start }, new Date('2026-01-01')).due).toBe(true);
  });
});

describe('rateLimitWaiting', () => {
  const at = new Date('2026-12-01T12:00:00Z');
  it.each([
    [undefined, false],
    [new Date('2026-12-01T11:00:00Z'), false],
    [new Date('2026-12-01T13:00:00Z'), true],
  ])('retry after %s -> waiting %s', (retryAfter, waiting) => {
    expect(rateLimitWaiting(retryAfter, at)).toBe(waiting);
  });
});
