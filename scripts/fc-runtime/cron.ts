// FC timer-trigger schedules: `@every <duration>` (Go-style `1h30m`, `5m`, `30s`) and six-field cron
// (`Seconds Minutes Hours Day-of-month Month Day-of-week`, `?` allowed in the day fields), in UTC unless
// prefixed with `CRON_TZ=<IANA zone> `. Cron expressions are computed by croner (never started as a job:
// the runtime arms its own timers from `next()`, so tests can drive a fake clock).
// Day-of-week: FC documents 1-7 / MON-SUN; croner reads 1-6 as MON-SAT and both 0 and 7 as Sunday, which
// agrees on every FC value.

import { Cron } from 'croner';

export interface Schedule {
  /** the expression as written in s.yaml */
  expression: string;
  kind: 'cron' | 'every';
  /** IANA zone the cron fields are read in */
  timezone: string;
  /** `@every` only: the period in ms */
  everyMs?: number;
  /** the first run strictly after `after`; null when there is none */
  next(after: Date): Date | null;
}

export class CronExpressionError extends Error {
  constructor(
    readonly expression: string,
    reason: string,
  ) {
    super(`cronExpression ${JSON.stringify(expression)}: ${reason}`);
    this.name = 'CronExpressionError';
  }
}

const UNIT_MS = { h: 3_600_000, m: 60_000, s: 1000 } as const;

/** `1h30m`, `5m`, `30s` -> ms; undefined when it is not such a duration */
export function parseEveryDuration(text: string): number | undefined {
  const m = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/.exec(text.trim());
  if (!m || text.trim() === '') return undefined;
  const ms = Number(m[1] ?? 0) * UNIT_MS.h + Number(m[2] ?? 0) * UNIT_MS.m + Number(m[3] ?? 0) * UNIT_MS.s;
  return ms > 0 ? ms : undefined;
}

/**
 * Parses an FC cron expression. `anchor` is when an `@every` schedule starts counting (FC counts from
 * when the trigger is created; locally, from when the runtime starts).
 */
export function parseSchedule(expression: string, anchor: Date = new Date()): Schedule {
  let rest = expression.trim();
  let timezone = 'UTC';
  const tz = /^CRON_TZ=(\S+)\s+/.exec(rest);
  if (tz) {
    timezone = tz[1] as string;
    rest = rest.slice(tz[0].length).trim();
    try {
      new Intl.DateTimeFormat('en-US', { timeZone: timezone });
    } catch {
      throw new CronExpressionError(expression, `unknown time zone ${timezone} in CRON_TZ`);
    }
  }
  if (rest.startsWith('@every')) {
    const everyMs = parseEveryDuration(rest.slice('@every'.length));
    if (everyMs === undefined || !/^@every\s/.test(rest))
      throw new CronExpressionError(expression, 'expected @every <duration>, e.g. @every 5m, @every 1h30m');
    const start = anchor.getTime();
    return {
      expression,
      kind: 'every',
      timezone,
      everyMs,
      next(after) {
        const k = Math.max(1, Math.floor((after.getTime() - start) / everyMs) + 1);
        return new Date(start + k * everyMs);
      },
    };
  }
  if (rest.startsWith('@'))
    throw new CronExpressionError(expression, 'FC accepts @every <duration> or a six-field cron expression');
  const fields = rest.split(/\s+/);
  if (fields.length !== 6)
    throw new CronExpressionError(
      expression,
      `FC cron has six fields (seconds minutes hours day-of-month month day-of-week); got ${fields.length}`,
    );
  let cron: Cron;
  try {
    cron = new Cron(fields.join(' '), { paused: true, timezone, mode: '6-part' });
  } catch (err) {
    throw new CronExpressionError(expression, (err as Error).message);
  }
  return {
    expression,
    kind: 'cron',
    timezone,
    next: (after) => cron.nextRun(after),
  };
}

/** The next `n` runs after `after` (for display and tests). */
export function nextRuns(schedule: Schedule, after: Date, n: number): Date[] {
  const out: Date[] = [];
  let cur: Date | null = after;
  while (out.length < n && cur) {
    cur = schedule.next(cur);
    if (cur) out.push(cur);
  }
  return out;
}

/** FC's timer event time: ISO 8601 in UTC without milliseconds, e.g. 2018-02-09T05:49:00Z */
export function triggerTimeOf(d: Date): string {
  return `${d.toISOString().slice(0, 19)}Z`;
}
