// Fires timer triggers on their schedules (cron.ts) through an injectable clock: each enabled trigger is
// armed for its next run; when it fires, the trigger time is the scheduled time (not the moment the timer
// callback ran) and the next run is armed at once, so a slow function does not shift the schedule.
// Waits longer than setTimeout allows (about 24.8 days) are armed in steps.
// For tests and chaos runs the schedule can be paused (runs that come due are skipped and counted, as FC
// skips the runs of a disabled trigger) and stepped: a function's next scheduled runs fire now, with
// their scheduled trigger time, and the schedule moves on past them.

import type { Schedule } from './cron';
import type { FunctionSpec, TimerTriggerSpec } from './s-yaml';
import type { Clock } from './types';

const MAX_DELAY_MS = 2 ** 31 - 1;

interface Entry {
  spec: FunctionSpec;
  trigger: TimerTriggerSpec;
  schedule: Schedule;
  handle?: unknown;
  skipped: number;
}

export interface TimerStatus {
  paused: boolean;
  timers: {
    function: string;
    trigger: string;
    nextRun?: string;
    /** runs that came due while paused and did not fire */
    skippedWhilePaused: number;
  }[];
}

export interface DueRun {
  spec: FunctionSpec;
  trigger: TimerTriggerSpec;
  at: Date;
}

export class TimerScheduler {
  private readonly entries = new Map<string, Entry>();
  private readonly next = new Map<string, Date>();
  private closed = false;
  private paused = false;

  constructor(
    private readonly clock: Clock,
    private readonly fire: (spec: FunctionSpec, trigger: TimerTriggerSpec, at: Date) => void,
  ) {}

  /** when the trigger fires next, if it is armed */
  nextRun(functionName: string, triggerName: string): Date | undefined {
    return this.next.get(`${functionName}/${triggerName}`);
  }

  /** Knows the trigger (so it can be stepped) without arming it: the runtime's 'manual' timers. */
  register(spec: FunctionSpec, trigger: TimerTriggerSpec, schedule: Schedule): void {
    const key = `${spec.name}/${trigger.name}`;
    if (!this.entries.has(key)) this.entries.set(key, { spec, trigger, schedule, skipped: 0 });
  }

  arm(spec: FunctionSpec, trigger: TimerTriggerSpec, schedule: Schedule, after?: Date): void {
    if (this.closed) return;
    this.register(spec, trigger, schedule);
    const key = `${spec.name}/${trigger.name}`;
    const entry = this.entries.get(key) as Entry;
    if (entry.handle !== undefined) this.clock.clearTimeout(entry.handle);
    entry.handle = undefined;
    const now = this.clock.now();
    const at = schedule.next(after && after.getTime() > now.getTime() ? after : now);
    if (!at) {
      this.next.delete(key);
      return;
    }
    this.next.set(key, at);
    const delay = Math.max(0, at.getTime() - now.getTime());
    const handle = this.clock.setTimeout(
      () => {
        if (entry.handle === handle) entry.handle = undefined;
        if (this.closed) return;
        if (this.clock.now().getTime() >= at.getTime()) {
          if (this.paused) entry.skipped++;
          else this.fire(spec, trigger, at);
        }
        this.arm(spec, trigger, schedule);
      },
      Math.min(delay, MAX_DELAY_MS),
    );
    entry.handle = handle;
  }

  /** While paused, runs that come due are skipped (counted in status()); the schedule keeps its grid. */
  setPaused(paused: boolean): void {
    this.paused = paused;
  }

  /**
   * The next run of each timer trigger of the function, due now: returned for the caller to fire (with
   * `at` as the trigger time), and armed triggers move on to the run after it. Works while paused.
   */
  step(functionName: string): DueRun[] {
    const due: DueRun[] = [];
    for (const [key, e] of this.entries) {
      if (e.spec.name !== functionName && e.spec.resource !== functionName) continue;
      const armed = e.handle !== undefined;
      const at = this.next.get(key) ?? e.schedule.next(this.clock.now());
      if (!at) continue;
      due.push({ spec: e.spec, trigger: e.trigger, at });
      if (armed) this.arm(e.spec, e.trigger, e.schedule, at);
    }
    return due;
  }

  status(): TimerStatus {
    return {
      paused: this.paused,
      timers: [...this.entries].map(([key, e]) => {
        const next = this.next.get(key);
        return {
          function: e.spec.name,
          trigger: e.trigger.name,
          ...(next ? { nextRun: next.toISOString() } : {}),
          skippedWhilePaused: e.skipped,
        };
      }),
    };
  }

  close(): void {
    this.closed = true;
    for (const e of this.entries.values()) if (e.handle !== undefined) this.clock.clearTimeout(e.handle);
    for (const e of this.entries.values()) e.handle = undefined;
    this.next.clear();
  }
}
