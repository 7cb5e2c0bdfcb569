// Pausing and stepping the local FC runtime's timers (POST /_runtime/timers), on a fake clock: while
// paused a run that comes due is skipped and counted; a step fires the next scheduled run now with its
// scheduled trigger time and moves the schedule past it. Fixture app: test/fixtures/fc-runtime.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Clock, type FcRuntime, startFcRuntime } from '../../scripts/fc-runtime/index';

/** admin POSTs carry a JSON content type (the admin routes may refuse others) */
const JSON_BODY = { 'content-type': 'application/json' };

const SYAML = join(__dirname, '..', 'fixtures', 'fc-runtime', 's.yaml');
let now = new Date('2024-01-01T00:00:00Z');
const armed: Array<{ fn: () => void; ms: number; cleared: boolean }> = [];
const clock: Clock = {
  now: () => now,
  setTimeout: (fn, ms) => {
    const t = { fn, ms, cleared: false };
    armed.push(t);
    return t;
  },
  clearTimeout: (h) => {
    (h as { cleared: boolean }).cleared = true;
  },
};
const live = () => armed.filter((t) => !t.cleared);
/** what the real clock does: a timer that ran is gone */
const fire = (t: { fn: () => void; cleared: boolean } | undefined) => {
  if (!t) throw new Error('no timer armed');
  t.cleared = true;
  t.fn();
};
let runtime: FcRuntime;
const lines: string[] = [];

beforeAll(async () => {
  runtime = await startFcRuntime({
    sYamlPath: SYAML,
    interpolationEnv: {},
    timers: 'auto',
    clock,
    log: (l) => lines.push(l),
  });
});
afterAll(() => runtime?.close());

const post = async (body: unknown) => {
  const res = await fetch(`${runtime.url}/_runtime/timers`, {
    method: 'POST',
    headers: JSON_BODY,
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
};

describe('POST /_runtime/timers', () => {
  it('pauses: a run that comes due is skipped and counted, the schedule keeps its grid', async () => {
    // Prepare
    expect((await post({ paused: true })).body).toMatchObject({ paused: true });
    const [nightly] = live();
    // Act: the nightly run (19:30 UTC) comes due while paused
    now = new Date('2024-01-01T19:30:00Z');
    fire(nightly);
    // Assess
    const status = (await (await fetch(`${runtime.url}/_runtime/timers`)).json()) as {
      timers: Record<string, unknown>[];
    };
    expect(status.timers).toEqual([
      {
        function: 'fixture-ticker',
        trigger: 'nightly',
        nextRun: '2024-01-02T19:30:00.000Z',
        skippedWhilePaused: 1,
      },
    ]);
    expect(lines.some((l) => l.startsWith('[ticker]'))).toBe(false);
  });

  it('steps: fires the next scheduled run now, with its trigger time, and moves the schedule on', async () => {
    const r = await post({ step: 'ticker' });
    expect(r.status).toBe(200);
    const fired = r.body.fired as { ok: boolean; result: { event: { triggerTime: string } } }[];
    expect(fired).toHaveLength(1);
    expect(fired[0]?.ok).toBe(true);
    expect(fired[0]?.result.event.triggerTime).toBe('2024-01-02T19:30:00Z');
    expect(r.body.timers).toEqual([expect.objectContaining({ nextRun: '2024-01-03T19:30:00.000Z' })]);
    // one live timer, armed for the new next run
    expect(live()).toHaveLength(1);
    expect(live()[0]?.ms).toBe(48 * 3_600_000);
  });

  it('resumes: the next due run fires again', async () => {
    await post({ paused: false });
    now = new Date('2024-01-03T19:30:00Z');
    fire(live()[0]);
    await expect
      .poll(
        () => lines.filter((l) => l.startsWith('[ticker]') && l.includes('2024-01-03T19:30:00Z')).length,
        {
          timeout: 5000,
        },
      )
      .toBeGreaterThan(0);
  });

  it.each([
    [{ paused: 'yes' }, 400, 'paused: must be true or false'],
    [{ step: 'echo' }, 404, 'function fixture-echo has no enabled timer trigger'],
    [{ step: 'nope' }, 404, 'nope'],
    [{ pause: true }, 400, 'pause: unknown field'],
  ])('refuses %j', async (body, status, message) => {
    const r = await post(body);
    expect(r.status).toBe(status);
    expect(String(r.body.errorMessage)).toContain(message);
  });
});
