// Our own retries (openapi-client's built-in retry never fires): exponential backoff with full jitter,
// a cap on attempts and an overall deadline. Only retryable CloudErrors are retried; each attempt is a
// fresh call, so it is signed with a fresh nonce and timestamp.

import type { Clock } from './clock';
import { CloudError } from './errors';

export interface RetryPolicy {
  /** attempts in all, including the first (default 6) */
  maxAttempts: number;
  /** first backoff ceiling (default 200 ms) */
  baseDelayMs: number;
  /** backoff ceiling (default 10 s) */
  maxDelayMs: number;
  /** no retry may start after this much time since the first attempt (default 60 s) */
  deadlineMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = {
  maxAttempts: 6,
  baseDelayMs: 200,
  maxDelayMs: 10_000,
  deadlineMs: 60_000,
};

/** Full jitter: uniform in [0, min(cap, base * 2^attempt)). */
export function backoffDelay(policy: RetryPolicy, retryIndex: number, random: () => number): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** retryIndex);
  return Math.floor(random() * ceiling);
}

export interface RetryHooks {
  clock: Clock;
  random: () => number;
  /** told before each retry, with the error that caused it */
  onRetry?: (err: CloudError, attempt: number, delayMs: number) => void;
  /** narrows which retryable errors are retried (default: all of them) */
  shouldRetry?: (err: CloudError) => boolean;
}

export async function withRetry<T>(
  policy: RetryPolicy,
  hooks: RetryHooks,
  attempt: () => Promise<T>,
): Promise<T> {
  const start = hooks.clock.now();
  for (let i = 0; ; i++) {
    try {
      return await attempt();
    } catch (err) {
      if (!(err instanceof CloudError) || !err.retryable || i + 1 >= policy.maxAttempts) throw err;
      if (hooks.shouldRetry && !hooks.shouldRetry(err)) throw err;
      const delay = backoffDelay(policy, i, hooks.random);
      if (hooks.clock.now() + delay - start > policy.deadlineMs) throw err;
      hooks.onRetry?.(err, i + 1, delay);
      await hooks.clock.sleep(delay);
    }
  }
}
