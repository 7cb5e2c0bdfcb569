// Our cloud layer under injected faults: throttling, server errors and busy answers are retried until
// they succeed; everything else fails at once; the rate budget holds a burst to its rate.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MALL } from '../../scripts/local-cloud/scenarios/mall-fixture';
import { VirtualClock } from '../../shared/cloud/clock';
import { CloudError } from '../../shared/cloud/errors';
import { RateBudget } from '../../shared/cloud/rate-budget';
import { cloudLayerFor, startTestCloud, type TestCloud } from '../support/local-cloud';

const regionId = 'cn-hangzhou';
let cloud: TestCloud;

beforeAll(async () => {
  cloud = await startTestCloud({ scenario: 'mall' });
});
afterAll(() => cloud.close());

describe('retries against the local cloud', () => {
  it('with 30% throttling, 200 calls all succeed and the retries match what the cloud throttled', async () => {
    cloud.reset();
    cloud.setFaults({ throttleRate: 0.3, seed: 7 });
    const layer = cloudLayerFor(cloud, {
      budget: new RateBudget({ read: { capacity: 10_000, refillPerSecond: 10_000 } }),
    });
    for (let i = 0; i < 200; i++) {
      const lbs = await layer.slb.describeLoadBalancers({ regionId });
      expect(lbs[0]?.loadBalancerId).toBe(MALL.loadBalancerId);
    }
    const ours = layer.accounting.snapshot();
    const theirs = cloud.calls();
    cloud.setFaults({});
    expect(ours.totalRetries).toBeGreaterThan(30);
    expect(ours.totalCalls).toBe(200 + ours.totalRetries);
    expect(theirs.errors['Throttling.User']).toBe(ours.totalRetries);
    expect(ours.failures).toEqual({ 'Throttling.User': ours.totalRetries });
  });

  it('retries 5xx and busy answers on writes, and converges to the requested weights', async () => {
    cloud.reset();
    cloud.setFaults({ errorRate: 0.3, busyRate: 0.3, seed: 11 });
    const layer = cloudLayerFor(cloud);
    for (const weight of [10, 20, 30, 40, 50]) {
      await layer.slb.setVServerGroupAttribute({
        regionId,
        vServerGroupId: MALL.vServerGroup.vServerGroupId,
        backendServers: [{ serverId: MALL.ecs.serverId, port: 8050, weight }],
      });
    }
    cloud.setFaults({});
    const failures = layer.accounting.snapshot().failures;
    expect(
      Object.keys(failures).every((c) =>
        ['InternalError', 'ServiceUnavailable', 'ServiceIsConfiguring'].includes(c),
      ),
    ).toBe(true);
    expect(layer.accounting.snapshot().totalRetries).toBeGreaterThan(0);
    expect(
      cloud.state().vServerGroups[0]?.backendServers.find((b) => b.serverId === MALL.ecs.serverId)?.weight,
    ).toBe(50);
  });

  it('never retries a business error', async () => {
    cloud.reset();
    const layer = cloudLayerFor(cloud);
    const err = await layer.slb
      .describeLoadBalancer({ regionId, loadBalancerId: 'lb-missing' })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CloudError);
    expect(layer.accounting.snapshot()).toMatchObject({ totalCalls: 1, totalRetries: 0 });
  });

  it('gives up at the attempt limit with the last retryable error', async () => {
    cloud.reset();
    cloud.setFaults({ throttleRate: 1 });
    const layer = cloudLayerFor(cloud, {
      retry: { maxAttempts: 4, baseDelayMs: 1, maxDelayMs: 2 },
      budget: new RateBudget({ read: { capacity: 10_000, refillPerSecond: 10_000 } }),
    });
    const err = (await layer.slb.describeLoadBalancers({ regionId }).catch((e: unknown) => e)) as CloudError;
    cloud.setFaults({});
    expect([err.code, err.retryable]).toEqual(['Throttling.User', true]);
    expect(layer.accounting.snapshot().totalCalls).toBe(4);
  });

  it('holds a burst of writes to the budget: 120 writes at capacity 90 and 1.5/s take 20 virtual seconds', async () => {
    cloud.reset();
    const clock = new VirtualClock(Date.now());
    const layer = cloudLayerFor(cloud, { budget: new RateBudget({ clock }), clock });
    const start = clock.now();
    for (let i = 0; i < 120; i++) {
      await layer.slb.setVServerGroupAttribute({
        regionId,
        vServerGroupId: MALL.vServerGroup.vServerGroupId,
        backendServers: [{ serverId: MALL.ecs.serverId, port: 8050, weight: i % 101 }],
      });
    }
    const elapsed = clock.now() - start;
    expect(cloud.calls().calls.SetVServerGroupAttribute).toBe(120);
    // 30 tokens beyond the burst at 1.5 per second: 20 s, give or take rounding of each wait.
    expect(elapsed).toBeGreaterThanOrEqual(19_900);
    expect(elapsed).toBeLessThan(20_100);
  });
});
