// FC timer-trigger expressions: six-field cron with seconds (UTC unless CRON_TZ=), `@every <duration>`
// anchored where the schedule starts, and clear errors for what FC does not accept.
import { describe, expect, it } from 'vitest';
import {
  CronExpressionError,
  nextRuns,
  parseEveryDuration,
  parseSchedule,
  triggerTimeOf,
} from '../../../scripts/fc-runtime/cron';

const FROM = new Date('2024-01-01T00:00:00Z'); // a Monday

const iso = (ds: Date[]) => ds.map((d) => d.toISOString());

describe('parseSchedule: cron', () => {
  it.each([
    [
      'every day at 03:30 UTC',
      '0 30 3 * * *',
      ['2024-01-01T03:30:00.000Z', '2024-01-02T03:30:00.000Z', '2024-01-03T03:30:00.000Z'],
    ],
    [
      'CRON_TZ: 03:30 in Shanghai is 19:30 UTC the day before',
      'CRON_TZ=Asia/Shanghai 0 30 3 * * *',
      ['2024-01-01T19:30:00.000Z', '2024-01-02T19:30:00.000Z', '2024-01-03T19:30:00.000Z'],
    ],
    [
      'the seconds field',
      '*/20 * * * * *',
      ['2024-01-01T00:00:20.000Z', '2024-01-01T00:00:40.000Z', '2024-01-01T00:01:00.000Z'],
    ],
    [
      '? in day-of-month, weekday names',
      '0 0 4 ? * MON,FRI',
      ['2024-01-01T04:00:00.000Z', '2024-01-05T04:00:00.000Z', '2024-01-08T04:00:00.000Z'],
    ],
    ['FC day-of-week 7 is Sunday', '0 0 0 ? * 7', ['2024-01-07T00:00:00.000Z', '2024-01-14T00:00:00.000Z']],
    ['FC day-of-week 1 is Monday', '0 0 12 ? * 1', ['2024-01-01T12:00:00.000Z', '2024-01-08T12:00:00.000Z']],
    [
      'CRON_TZ on the first of the month',
      'CRON_TZ=Asia/Shanghai 0 0 4 1 * *',
      ['2024-01-31T20:00:00.000Z', '2024-02-29T20:00:00.000Z'],
    ],
  ])('%s: %s', (_what, expression, expected) => {
    const s = parseSchedule(expression, FROM);
    expect(s.kind).toBe('cron');
    expect(iso(nextRuns(s, FROM, expected.length))).toEqual(expected);
  });

  it('is strictly after the given time', () => {
    const s = parseSchedule('0 30 3 * * *', FROM);
    expect(s.next(new Date('2024-01-01T03:30:00Z'))?.toISOString()).toBe('2024-01-02T03:30:00.000Z');
  });

  it('reads the zone of CRON_TZ and defaults to UTC', () => {
    expect(parseSchedule('CRON_TZ=Asia/Shanghai 0 0 * * * *').timezone).toBe('Asia/Shanghai');
    expect(parseSchedule('0 0 * * * *').timezone).toBe('UTC');
  });
});

describe('parseSchedule: @every', () => {
  it.each([
    [
      '@every 1m',
      60_000,
      ['2024-01-01T00:01:00.000Z', '2024-01-01T00:02:00.000Z', '2024-01-01T00:03:00.000Z'],
    ],
    [
      '@every 30s',
      30_000,
      ['2024-01-01T00:00:30.000Z', '2024-01-01T00:01:00.000Z', '2024-01-01T00:01:30.000Z'],
    ],
    ['@every 1h30m', 5_400_000, ['2024-01-01T01:30:00.000Z', '2024-01-01T03:00:00.000Z']],
  ])('%s runs every %d ms from the anchor', (expression, ms, expected) => {
    const s = parseSchedule(expression, FROM);
    expect(s.kind).toBe('every');
    expect(s.everyMs).toBe(ms);
    expect(iso(nextRuns(s, FROM, expected.length))).toEqual(expected);
  });

  it('stays on the anchor grid whatever time it is asked from', () => {
    const s = parseSchedule('@every 1m', new Date('2024-01-01T00:00:10Z'));
    expect(s.next(new Date('2024-01-01T00:05:00Z'))?.toISOString()).toBe('2024-01-01T00:05:10.000Z');
    expect(s.next(new Date('2024-01-01T00:05:10Z'))?.toISOString()).toBe('2024-01-01T00:06:10.000Z');
  });

  it.each([
    ['5m', 300_000],
    ['2h', 7_200_000],
    ['1m30s', 90_000],
    ['', undefined],
    ['0s', undefined],
    ['5', undefined],
    ['5d', undefined],
  ])('duration %j -> %s', (text, ms) => {
    expect(parseEveryDuration(text)).toBe(ms);
  });
});

describe('parseSchedule: what FC does not accept', () => {
  it.each([
    ['0 30 3 * *', /six fields .* got 5/],
    ['0 0 30 3 * * 2024', /six fields .* got 7/],
    ['@daily', /@every <duration> or a six-field cron/],
    ['@every', /expected @every <duration>/],
    ['@every 5x', /expected @every <duration>/],
    ['CRON_TZ=Mars/Olympus 0 0 * * * *', /unknown time zone Mars\/Olympus/],
    ['0 61 * * * *', /cronExpression "0 61 \* \* \* \*"/],
  ])('%s', (expression, message) => {
    expect(() => parseSchedule(expression)).toThrow(CronExpressionError);
    expect(() => parseSchedule(expression)).toThrow(message);
  });
});

describe('triggerTimeOf', () => {
  it('is ISO 8601 UTC without milliseconds, as in FC timer events', () => {
    expect(triggerTimeOf(new Date('2018-02-09T05:49:00.123Z'))).toBe('2018-02-09T05:49:00Z');
  });
});
