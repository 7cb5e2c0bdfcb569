import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../../shared/cloud/clock';
import { CloudError } from '../../../shared/cloud/errors';
import { RateBudget } from '../../../shared/cloud/rate-budget';
import { backoffDelay, DEFAULT_RETRY, withRetry } from '../../../shared/cloud/retry';

const retryable = () =>
  new CloudError({ action: 'A', code: 'Throttling.User', message: 'm', httpStatus: 400 });
const fatal = () => new CloudError({ action: 'A', code: 'InvalidParameter', message: 'm', httpStatus: 400 });

describe('backoff with full jitter', () => {
  it('draws uniformly below min(cap, base * 2^n)', () => {
    const policy = { ...DEFAULT_RETRY, baseDelayMs: 100, maxDelayMs: 1000 };
    expect([0, 1, 2, 3, 4, 5].map((n) => backoffDelay(policy, n, () => 0.999))).toEqual([
      99, 199, 399, 799, 999, 999,
    ]);
    expect(backoffDelay(policy, 3, () => 0)).toBe(0);
  });
});

describe('withRetry', () => {
  it('retries retryable errors until success, sleeping the jittered delays', async () => {
    const clock = new VirtualClock();
    let n = 0;
    const result = await withRetry(
      { ...DEFAULT_RETRY, baseDelayMs: 100 },
      { clock, random: () => 0.5 },
      async () => {
        if (n++ < 3) throw retryable();
        return 'ok';
      },
    );
    expect(result).toBe('ok');
    expect(clock.sleeps).toEqual([50, 100, 200]);
  });

  it('does not retry other errors', async () => {
    const clock = new VirtualClock();
    let n = 0;
    await expect(
      withRetry(DEFAULT_RETRY, { clock, random: Math.random }, async () => {
        n++;
        throw fatal();
      }),
    ).rejects.toMatchObject({ code: 'InvalidParameter' });
    expect(n).toBe(1);
  });

  it('stops at maxAttempts and at the deadline', async () => {
    const clock = new VirtualClock();
    let n = 0;
    const fail = async () => {
      n++;
      throw retryable();
    };
    await expect(
      withRetry({ ...DEFAULT_RETRY, maxAttempts: 3 }, { clock, random: () => 0.5 }, fail),
    ).rejects.toBeInstanceOf(CloudError);
    expect(n).toBe(3);
    n = 0;
    await expect(
      withRetry(
        { maxAttempts: 100, baseDelayMs: 1000, maxDelayMs: 1000, deadlineMs: 2500 },
        { clock, random: () => 0.999 },
        fail,
      ),
    ).rejects.toBeInstanceOf(CloudError);
    expect(n).toBe(3); // slept 999 twice; a third sleep would pass 2.5 s
  });
});

describe('RateBudget', () => {
  it('lets a burst through at capacity, then spreads the rest at the refill rate', async () => {
    const clock = new VirtualClock();
    const budget = new RateBudget({ clock, write: { capacity: 10, refillPerSecond: 2 } });
    for (let i = 0; i < 20; i++) await budget.acquire('k', 'SetX', true);
    expect(clock.now()).toBe(5000);
  });

  it('keeps buckets apart by key and by read/write limits', async () => {
    const clock = new VirtualClock();
    const budget = new RateBudget({
      clock,
      write: { capacity: 1, refillPerSecond: 1 },
      read: { capacity: 100, refillPerSecond: 100 },
    });
    await budget.acquire('slb:SetA:cn-hangzhou', 'SetA', true);
    await budget.acquire('slb:SetA:cn-shanghai', 'SetA', true);
    for (let i = 0; i < 50; i++) await budget.acquire('slb:DescribeA:cn-hangzhou', 'DescribeA', false);
    expect(clock.now()).toBe(0);
    await budget.acquire('slb:SetA:cn-hangzhou', 'SetA', true);
    expect(clock.now()).toBe(1000);
  });

  it('halves the rate on throttling (floor 5%) and recovers additively on success', () => {
    const budget = new RateBudget({
      clock: new VirtualClock(),
      write: { capacity: 90, refillPerSecond: 1.5 },
    });
    budget.throttled('k', 'SetX', true);
    expect(budget.rate('k')).toBeCloseTo(0.75);
    for (let i = 0; i < 10; i++) budget.throttled('k', 'SetX', true);
    expect(budget.rate('k')).toBeCloseTo(0.075);
    for (let i = 0; i < 5; i++) budget.succeeded('k', 'SetX', true);
    expect(budget.rate('k')).toBeCloseTo(0.075 + 5 * 0.075);
    for (let i = 0; i < 100; i++) budget.succeeded('k', 'SetX', true);
    expect(budget.rate('k')).toBe(1.5);
  });

  it('uses per-action limits when configured', async () => {
    const clock = new VirtualClock();
    const budget = new RateBudget({
      clock,
      perAction: { UploadServerCertificate: { capacity: 1, refillPerSecond: 0.1 } },
    });
    await budget.acquire('u', 'UploadServerCertificate', true);
    await budget.acquire('u', 'UploadServerCertificate', true);
    expect(clock.now()).toBe(10_000);
  });
});
