// Asynchronous invocations as FC runs them: the caller gets 202 at once; the function then runs in the
// background, and a function error (thrown, timed out, crashed) is retried up to maxAsyncRetryAttempts
// times (0-8, default 3) after a backoff; an event older than maxAsyncEventAgeInSeconds is dropped. Every
// attempt keeps the request id the caller was given. Records stay inspectable for tests and the demo.

import type { FunctionSpec } from './s-yaml';
import {
  type AsyncInvocationRecord,
  type AsyncStatus,
  type Clock,
  type InvocationResult,
  newRequestId,
} from './types';

export interface AsyncInvocationsOptions {
  clock: Clock;
  /** delay before retry n (1-based) */
  retryDelayMs: (retry: number) => number;
  run: (spec: FunctionSpec, event: Buffer, requestId: string) => Promise<InvocationResult>;
  /** runtime log line */
  say: (line: string) => void;
}

const UNFINISHED: readonly AsyncStatus[] = ['queued', 'running', 'retrying'];

export class AsyncInvocations {
  private readonly recordsById = new Map<string, AsyncInvocationRecord>();
  private readonly waiters = new Map<string, Array<(r: AsyncInvocationRecord) => void>>();
  private readonly pending = new Set<Promise<void>>();
  /** backoff timers, each with the way to end its wait early */
  private readonly sleeping = new Map<unknown, () => void>();
  private closed = false;

  constructor(private readonly o: AsyncInvocationsOptions) {}

  enqueue(spec: FunctionSpec, event: Buffer, source: string, requestId?: string): AsyncInvocationRecord {
    const now = this.o.clock.now();
    const rec: AsyncInvocationRecord = {
      requestId: requestId ?? newRequestId(now),
      functionName: spec.name,
      status: 'queued',
      attempts: 0,
      maxAttempts: 1 + spec.maxAsyncRetryAttempts,
      enqueuedAt: now.toISOString(),
      source,
    };
    this.recordsById.set(rec.requestId, rec);
    const accepted = { ...rec };
    const p = this.drive(spec, rec, event).catch((err: unknown) => {
      rec.error = {
        errorType: 'RuntimeError',
        errorMessage: err instanceof Error ? err.message : String(err),
      };
      this.finish(rec, 'failed');
    });
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p));
    return accepted;
  }

  records(): AsyncInvocationRecord[] {
    return [...this.recordsById.values()].map((r) => ({ ...r }));
  }

  /** resolves once the invocation has finished, however it ended */
  waitFor(requestId: string): Promise<AsyncInvocationRecord | undefined> {
    const rec = this.recordsById.get(requestId);
    if (!rec) return Promise.resolve(undefined);
    if (!UNFINISHED.includes(rec.status)) return Promise.resolve({ ...rec });
    return new Promise((resolve) => {
      const list = this.waiters.get(requestId) ?? [];
      list.push(resolve);
      this.waiters.set(requestId, list);
    });
  }

  async idle(): Promise<void> {
    while (this.pending.size > 0) await Promise.all([...this.pending]);
  }

  /** ends every backoff wait (those invocations end `cancelled`) and waits for running attempts */
  async close(): Promise<void> {
    this.closed = true;
    for (const [handle, wake] of this.sleeping) {
      this.o.clock.clearTimeout(handle);
      wake();
    }
    this.sleeping.clear();
    await Promise.allSettled([...this.pending]);
  }

  private finish(rec: AsyncInvocationRecord, status: AsyncStatus): void {
    rec.status = status;
    rec.finishedAt = this.o.clock.now().toISOString();
    for (const w of this.waiters.get(rec.requestId) ?? []) w({ ...rec });
    this.waiters.delete(rec.requestId);
  }

  /** true when the full delay passed, false when close() cut it short */
  private sleep(ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      const handle = this.o.clock.setTimeout(() => {
        this.sleeping.delete(handle);
        resolve(true);
      }, ms);
      this.sleeping.set(handle, () => resolve(false));
    });
  }

  private async drive(spec: FunctionSpec, rec: AsyncInvocationRecord, event: Buffer): Promise<void> {
    const enqueued = Date.parse(rec.enqueuedAt);
    const tag = `async ${spec.resource} ${rec.requestId}`;
    while (!this.closed) {
      if (this.o.clock.now().getTime() - enqueued > spec.maxAsyncEventAgeInSeconds * 1000) {
        this.o.say(
          `${tag}: older than maxAsyncEventAgeInSeconds (${spec.maxAsyncEventAgeInSeconds}), dropped`,
        );
        this.finish(rec, 'expired');
        return;
      }
      rec.status = 'running';
      rec.attempts++;
      const result = await this.o.run(spec, event, rec.requestId);
      if (result.ok) {
        delete rec.error;
        if (result.result !== undefined && !Buffer.isBuffer(result.result)) rec.result = result.result;
        this.finish(rec, 'succeeded');
        return;
      }
      rec.error = result.error;
      const why = `${result.error?.errorType}: ${result.error?.errorMessage}`;
      if (rec.attempts >= rec.maxAttempts) {
        this.o.say(`${tag}: failed after ${rec.attempts} attempt(s): ${why}`);
        this.finish(rec, 'failed');
        return;
      }
      rec.status = 'retrying';
      const delay = this.o.retryDelayMs(rec.attempts);
      this.o.say(
        `${tag}: attempt ${rec.attempts}/${rec.maxAttempts} failed (${why}), retrying in ${delay} ms`,
      );
      if (!(await this.sleep(delay))) break;
    }
    this.finish(rec, 'cancelled');
  }
}
