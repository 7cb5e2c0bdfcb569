// Fires timer triggers on their schedules (cron.ts) through an injectable clock: each enabled trigger is
// armed for its next run; when it fires, the trigger time is the scheduled time (not the moment the timer
// callback ran) and the next run is armed at once, so a slow function does not shift the schedule.
// Waits longer than setTimeout allows (about 24.8 days) are armed in steps.

import type { Schedule } from './cron';
import type { FunctionSpec, TimerTriggerSpec } from './s-yaml';
import type { Clock } from './types';

const MAX_DELAY_MS = 2 ** 31 - 1;

export class TimerScheduler {
  private readonly handles = new Set<unknown>();
  private readonly next = new Map<string, Date>();
  private closed = false;

  constructor(
    private readonly clock: Clock,
    private readonly fire: (spec: FunctionSpec, trigger: TimerTriggerSpec, at: Date) => void,
  ) {}

  /** when the trigger fires next, if it is armed */
  nextRun(functionName: string, triggerName: string): Date | undefined {
    return this.next.get(`${functionName}/${triggerName}`);
  }

  arm(spec: FunctionSpec, trigger: TimerTriggerSpec, schedule: Schedule): void {
    if (this.closed) return;
    const key = `${spec.name}/${trigger.name}`;
    const at = schedule.next(this.clock.now());
    if (!at) {
      this.next.delete(key);
      return;
    }
    this.next.set(key, at);
    const delay = Math.max(0, at.getTime() - this.clock.now().getTime());
    const handle = this.clock.setTimeout(
      () => {
        this.handles.delete(handle);
        if (this.closed) return;
        if (this.clock.now().getTime() >= at.getTime()) this.fire(spec, trigger, at);
        this.arm(spec, trigger, schedule);
      },
      Math.min(delay, MAX_DELAY_MS),
    );
    this.handles.add(handle);
  }

  close(): void {
    this.closed = true;
    for (const h of this.handles) this.clock.clearTimeout(h);
    this.handles.clear();
    this.next.clear();
  }
}
