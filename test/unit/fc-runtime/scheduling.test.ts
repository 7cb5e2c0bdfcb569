// The runtime's time-driven parts on a fake clock, without workers: timer arming and re-arming, async
// retries with backoff, event age, cancellation on close, and the FIFO gate of reserved concurrency.
import { describe, expect, it } from 'vitest';
import { AsyncInvocations } from '../../../scripts/fc-runtime/async-invocations';
import { parseSchedule } from '../../../scripts/fc-runtime/cron';
import { ConcurrencyGate } from '../../../scripts/fc-runtime/instances';
import type { FunctionSpec, TimerTriggerSpec } from '../../../scripts/fc-runtime/s-yaml';
import { TimerScheduler } from '../../../scripts/fc-runtime/timers';
import type { Clock, InvocationResult } from '../../../scripts/fc-runtime/types';

interface FakeTimer {
  fn: () => void;
  ms: number;
  cleared: boolean;
}

function fakeClock(start: string) {
  let now = new Date(start);
  const timers: FakeTimer[] = [];
  const clock: Clock = {
    now: () => now,
    setTimeout: (fn, ms) => {
      const t = { fn, ms, cleared: false };
      timers.push(t);
      return t;
    },
    clearTimeout: (h) => {
      (h as FakeTimer).cleared = true;
    },
  };
  return {
    clock,
    timers,
    set: (iso: string) => {
      now = new Date(iso);
    },
    advance: (ms: number) => {
      now = new Date(now.getTime() + ms);
    },
    /** runs the newest pending timer after moving the clock to its due time */
    fireLast() {
      const t = timers.filter((x) => !x.cleared).at(-1) as FakeTimer;
      t.cleared = true;
      now = new Date(now.getTime() + t.ms);
      t.fn();
    },
  };
}

const SPEC: FunctionSpec = {
  resource: 'f',
  name: 'fn-f',
  codeDir: '/x',
  handler: 'index.handler',
  runtime: 'nodejs20',
  memorySize: 128,
  timeout: 3,
  environmentVariables: {},
  maxAsyncRetryAttempts: 2,
  maxAsyncEventAgeInSeconds: 60,
  triggers: [],
};

const TRIGGER: TimerTriggerSpec = { type: 'timer', name: 't', cronExpression: '0 30 3 * * *', enable: true };

describe('TimerScheduler', () => {
  it('arms the next run, fires with the scheduled time, and re-arms for the one after', () => {
    const c = fakeClock('2024-01-01T00:00:00Z');
    const fired: string[] = [];
    const s = new TimerScheduler(c.clock, (_spec, _t, at) => fired.push(at.toISOString()));
    s.arm(SPEC, TRIGGER, parseSchedule(TRIGGER.cronExpression));
    expect(c.timers.map((t) => t.ms)).toEqual([3.5 * 3_600_000]);
    expect(s.nextRun('fn-f', 't')?.toISOString()).toBe('2024-01-01T03:30:00.000Z');
    c.fireLast();
    expect(fired).toEqual(['2024-01-01T03:30:00.000Z']);
    expect(c.timers.at(-1)?.ms).toBe(24 * 3_600_000);
    expect(s.nextRun('fn-f', 't')?.toISOString()).toBe('2024-01-02T03:30:00.000Z');
  });

  it('fires @every schedules on their grid', () => {
    const c = fakeClock('2024-01-01T00:00:00Z');
    const fired: string[] = [];
    const s = new TimerScheduler(c.clock, (_spec, _t, at) => fired.push(at.toISOString()));
    s.arm(SPEC, { ...TRIGGER, cronExpression: '@every 30s' }, parseSchedule('@every 30s', c.clock.now()));
    c.fireLast();
    c.fireLast();
    c.fireLast();
    expect(fired).toEqual([
      '2024-01-01T00:00:30.000Z',
      '2024-01-01T00:01:00.000Z',
      '2024-01-01T00:01:30.000Z',
    ]);
  });

  it('arms a wait longer than setTimeout allows in steps, firing only when due', () => {
    const c = fakeClock('2024-01-01T00:00:00Z');
    const fired: string[] = [];
    const s = new TimerScheduler(c.clock, (_spec, _t, at) => fired.push(at.toISOString()));
    s.arm(SPEC, { ...TRIGGER, cronExpression: '0 0 0 1 6 *' }, parseSchedule('0 0 0 1 6 *'));
    expect(c.timers[0]?.ms).toBe(2 ** 31 - 1);
    c.fireLast();
    expect(fired).toEqual([]);
    expect(s.nextRun('fn-f', 't')?.toISOString()).toBe('2024-06-01T00:00:00.000Z');
  });

  it('clears its timers on close', () => {
    const c = fakeClock('2024-01-01T00:00:00Z');
    const s = new TimerScheduler(c.clock, () => {});
    s.arm(SPEC, TRIGGER, parseSchedule(TRIGGER.cronExpression));
    s.close();
    expect(c.timers.every((t) => t.cleared)).toBe(true);
    expect(s.nextRun('fn-f', 't')).toBeUndefined();
  });
});

function result(ok: boolean, requestId: string): InvocationResult {
  return {
    requestId,
    functionName: 'fn-f',
    ok,
    body: Buffer.alloc(0),
    ...(ok ? { result: { done: true } } : { error: { errorType: 'Error', errorMessage: 'no' } }),
    logs: [],
    durationMs: 1,
    coldStart: false,
  };
}

/** lets the async driver reach its next await */
const settle = () => new Promise((r) => setImmediate(r));

describe('AsyncInvocations', () => {
  function setup(outcomes: boolean[]) {
    const c = fakeClock('2024-01-01T00:00:00Z');
    const calls: string[] = [];
    const lines: string[] = [];
    const q = new AsyncInvocations({
      clock: c.clock,
      retryDelayMs: (n) => 1000 * n,
      run: async (_spec, _event, requestId) => {
        calls.push(requestId);
        return result(outcomes.shift() ?? true, requestId);
      },
      say: (l) => lines.push(l),
    });
    return { c, q, calls, lines };
  }

  it('retries after the backoff and succeeds, keeping the request id on every attempt', async () => {
    const { c, q, calls } = setup([false, false, true]);
    const rec = q.enqueue(SPEC, Buffer.from('{}'), 'api', 'rid-1');
    expect(rec).toMatchObject({ status: 'queued', attempts: 0, maxAttempts: 3 });
    await settle();
    expect(q.records()[0]).toMatchObject({ status: 'retrying', attempts: 1 });
    expect(c.timers.at(-1)?.ms).toBe(1000);
    c.fireLast();
    await settle();
    expect(c.timers.at(-1)?.ms).toBe(2000);
    c.fireLast();
    const done = await q.waitFor('rid-1');
    expect(done).toMatchObject({ status: 'succeeded', attempts: 3, result: { done: true } });
    expect(done?.error).toBeUndefined();
    expect(calls).toEqual(['rid-1', 'rid-1', 'rid-1']);
  });

  it('gives up after 1 + maxAsyncRetryAttempts attempts', async () => {
    const { c, q, lines } = setup([false, false, false, false]);
    q.enqueue(SPEC, Buffer.from('{}'), 'api', 'rid-2');
    await settle();
    c.fireLast();
    await settle();
    c.fireLast();
    expect(await q.waitFor('rid-2')).toMatchObject({
      status: 'failed',
      attempts: 3,
      error: { errorType: 'Error', errorMessage: 'no' },
    });
    expect(lines.at(-1)).toBe('async f rid-2: failed after 3 attempt(s): Error: no');
  });

  it('drops an event older than maxAsyncEventAgeInSeconds instead of retrying it', async () => {
    const { c, q } = setup([false, true]);
    q.enqueue({ ...SPEC, maxAsyncEventAgeInSeconds: 1 }, Buffer.from('{}'), 'api', 'rid-3');
    await settle();
    c.advance(5000);
    c.fireLast();
    expect(await q.waitFor('rid-3')).toMatchObject({ status: 'expired', attempts: 1 });
  });

  it('cancels invocations waiting for a retry on close', async () => {
    const { c, q } = setup([false, true]);
    q.enqueue(SPEC, Buffer.from('{}'), 'api', 'rid-4');
    await settle();
    await q.close();
    expect(c.timers.at(-1)?.cleared).toBe(true);
    expect(q.records()[0]).toMatchObject({ status: 'cancelled', attempts: 1 });
  });

  it('answers undefined for an unknown request id', async () => {
    expect(await setup([]).q.waitFor('nope')).toBeUndefined();
  });
});

describe('ConcurrencyGate', () => {
  it('lets `limit` through and queues the rest in arrival order', async () => {
    const gate = new ConcurrencyGate(1);
    const order: string[] = [];
    const releaseA = await gate.acquire();
    const b = gate.acquire().then((r) => {
      order.push('b');
      return r;
    });
    const c = gate.acquire().then((r) => {
      order.push('c');
      return r;
    });
    await settle();
    expect([gate.running, gate.queued, order]).toEqual([1, 2, []]);
    releaseA();
    releaseA(); // releasing twice frees one slot only
    (await b)();
    (await c)();
    expect(order).toEqual(['b', 'c']);
    expect([gate.running, gate.queued]).toEqual([0, 0]);
  });
});
