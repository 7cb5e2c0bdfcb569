// When a certificate is due: inside the renewal window, or past two thirds of its lifetime, whichever
// comes first (lifetimes are shrinking toward 47 days).
import { describe, expect, it } from 'vitest';
import { renewalDue } from '../../../shared/domain/renewal';

const DAY = 86_400_000;
const NOW = Date.parse('2026-11-24T00:00:00Z');
const days = (n: number) => NOW + n * DAY;

describe('renewalDue', () => {
  it.each([
    [
      'a 90-day certificate with 10 days left',
      days(10),
      days(-80),
      30,
      true,
      /expires in 10 days \(window 30\)/,
    ],
    ['a 398-day certificate with 31 days left', days(31), days(-367), 30, true, /92% of its lifetime used/],
    ['a 398-day certificate with 200 days left', days(200), days(-198), 30, false, /expires in 200 days/],
    [
      'a 47-day certificate on day 32 (two thirds passed)',
      days(15),
      days(-32),
      10,
      true,
      /68% of its lifetime used/,
    ],
    [
      'a 47-day certificate on day 30 (not yet two thirds)',
      days(17),
      days(-30),
      10,
      false,
      /expires in 17 days/,
    ],
    ['an expired certificate', days(-1), days(-91), 30, true, /^expired$/],
    ['no known start: only the window counts', days(60), undefined, 30, false, /expires in 60 days/],
    ['exactly at the window edge', days(30), days(-300), 30, true, /window 30/],
  ])('%s', (_name, expires, issued, window, due, why) => {
    const r = renewalDue(expires, issued, NOW, window);
    expect(r.due).toBe(due);
    expect(r.why).toMatch(why);
  });
});
