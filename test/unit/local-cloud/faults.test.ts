// Fault injector: seeded determinism, per-minute quotas on the emulator clock, busy answers only to writes.
import { describe, expect, it } from 'vitest';
import { ApiError } from '../../../scripts/local-cloud/errors';
import { FaultInjector, parseFaultConfig } from '../../../scripts/local-cloud/faults';

function outcome(f: FaultInjector, action: string, write: boolean, nowMs: number): string {
  try {
    f.check(action, write, nowMs);
    return 'ok';
  } catch (err) {
    return err instanceof ApiError ? err.code : 'other';
  }
}

const run = (seed: number) => {
  const f = new FaultInjector();
  f.configure({ throttleRate: 0.3, errorRate: 0.3, seed });
  return Array.from({ length: 40 }, () => outcome(f, 'DescribeLoadBalancers', false, 0));
};

describe('FaultInjector', () => {
  it('gives the same sequence of outcomes for the same seed', () => {
    // Prepare / Act
    const a = run(42);
    const b = run(42);
    const c = run(7);
    // Assess
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
    expect(new Set(a)).toEqual(new Set(['ok', 'Throttling.User', 'InternalError', 'ServiceUnavailable']));
  });

  it('refuses calls beyond the per-minute quota until the minute rolls over', () => {
    const f = new FaultInjector();
    f.configure({ quotas: { DescribeLoadBalancers: 2 } });
    const got = [0, 1_000, 2_000, 60_001, 61_000].map((t) => outcome(f, 'DescribeLoadBalancers', false, t));
    expect(got).toEqual(['ok', 'ok', 'Throttling.Api', 'ok', 'ok']);
    expect(outcome(f, 'DescribeListeners', false, 61_500)).toBe('ok');
  });

  it('answers ServiceIsConfiguring only to writes', () => {
    const f = new FaultInjector();
    f.configure({ busyRate: 1 });
    expect(outcome(f, 'DescribeLoadBalancers', false, 0)).toBe('ok');
    expect(outcome(f, 'SetVServerGroupAttribute', true, 0)).toBe('ServiceIsConfiguring');
  });

  it.each([
    [{ throttleRate: 2 }, 'faults.throttleRate'],
    [{ latencyMs: -1 }, 'faults.latencyMs'],
    [{ quotas: { X: 1.5 } }, 'faults.quotas.X'],
    [{ bogus: 1 }, 'faults.bogus'],
    [{ staleFrontEnds: 'yes' }, 'faults.staleFrontEnds'],
    [{ staleFrontEnds: ['lb-1:443', 'lb-1'] }, 'faults.staleFrontEnds[1]'],
  ])('rejects %j naming the field', (input, field) => {
    expect(() => parseFaultConfig(input)).toThrow(field);
  });

  it('holds the chosen TLS front ends stale: all with true, or by "<loadBalancerId>:<listenerPort>"', () => {
    const f = new FaultInjector();
    f.configure(parseFaultConfig({ staleFrontEnds: ['lb-1:443'] }));
    expect([f.frontEndIsStale('lb-1', 443), f.frontEndIsStale('lb-1', 8443)]).toEqual([true, false]);
    f.configure(parseFaultConfig({ staleFrontEnds: true }));
    expect(f.frontEndIsStale('lb-2', 8443)).toBe(true);
    f.configure({});
    expect(f.frontEndIsStale('lb-1', 443)).toBe(false);
  });
});
