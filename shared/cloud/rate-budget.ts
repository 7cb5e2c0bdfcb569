// A rate budget shared by every call in the process: one token bucket per (product, action, region),
// since CLB throttles per API per region. Writes default to about 90 per 60 s (the documented order of
// magnitude), reads to 600 per 60 s. A throttling answer halves that bucket's rate (floor 5% of
// nominal); each success gives back 5% of nominal (AIMD), so we back off fast and recover steadily.

import { type Clock, SYSTEM_CLOCK } from './clock';

export interface BucketLimit {
  /** burst size */
  capacity: number;
  /** tokens per second at full rate */
  refillPerSecond: number;
}

export interface RateBudgetOptions {
  write?: BucketLimit;
  read?: BucketLimit;
  /** per action name, overriding read/write */
  perAction?: Record<string, BucketLimit>;
  clock?: Clock;
}

export const DEFAULT_WRITE_LIMIT: BucketLimit = { capacity: 90, refillPerSecond: 1.5 };
export const DEFAULT_READ_LIMIT: BucketLimit = { capacity: 600, refillPerSecond: 10 };

const MIN_RATE_SHARE = 0.05;
const INCREASE_SHARE = 0.05;

interface Bucket {
  limit: BucketLimit;
  tokens: number;
  /** current refill rate (shrinks on throttling) */
  rate: number;
  updatedAt: number;
}

export class RateBudget {
  private readonly buckets = new Map<string, Bucket>();
  private readonly clock: Clock;

  constructor(private readonly options: RateBudgetOptions = {}) {
    this.clock = options.clock ?? SYSTEM_CLOCK;
  }

  private bucket(key: string, action: string, write: boolean): Bucket {
    let b = this.buckets.get(key);
    if (!b) {
      const limit =
        this.options.perAction?.[action] ??
        (write ? (this.options.write ?? DEFAULT_WRITE_LIMIT) : (this.options.read ?? DEFAULT_READ_LIMIT));
      b = { limit, tokens: limit.capacity, rate: limit.refillPerSecond, updatedAt: this.clock.now() };
      this.buckets.set(key, b);
    }
    const now = this.clock.now();
    b.tokens = Math.min(b.limit.capacity, b.tokens + ((now - b.updatedAt) / 1000) * b.rate);
    b.updatedAt = now;
    return b;
  }

  /** Waits until the bucket has a token, then takes it. */
  async acquire(key: string, action: string, write: boolean): Promise<void> {
    for (;;) {
      const b = this.bucket(key, action, write);
      if (b.tokens >= 1) {
        b.tokens -= 1;
        return;
      }
      await this.clock.sleep(Math.ceil(((1 - b.tokens) / b.rate) * 1000));
    }
  }

  /** Multiplicative decrease after a throttling answer. */
  throttled(key: string, action: string, write: boolean): void {
    const b = this.bucket(key, action, write);
    b.rate = Math.max(b.limit.refillPerSecond * MIN_RATE_SHARE, b.rate / 2);
    b.tokens = Math.min(b.tokens, 0);
  }

  /** Additive increase after a success. */
  succeeded(key: string, action: string, write: boolean): void {
    const b = this.bucket(key, action, write);
    b.rate = Math.min(b.limit.refillPerSecond, b.rate + b.limit.refillPerSecond * INCREASE_SHARE);
  }

  /** The current refill rate of a bucket (tests, benchmarks). */
  rate(key: string): number | undefined {
    return this.buckets.get(key)?.rate;
  }
}

export const budgetKey = (product: string, action: string, regionId: string): string =>
  `${product}:${action}:${regionId}`;

/** The process-wide budget every client shares unless given its own. */
export const DEFAULT_RATE_BUDGET = new RateBudget();
