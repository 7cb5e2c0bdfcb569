// The local cloud's real health checks against HTTP stand-ins for the mall's backends, read back through
// DescribeHealthStatus with the real SDK: thresholds, kill and revive, failing status, slowness beyond
// the timeout, checks turned off, forced health, and the backend address map.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type StandIn, startStandIn } from '../../scripts/backends/http-backend';
import { MALL } from '../../scripts/local-cloud/scenarios/mall-fixture';
import { cloudLayerFor, startTestCloud, type TestCloud } from '../support/local-cloud';

const K8S = `${MALL.k8s.serverId}:30250`;
const ECS = `${MALL.ecs.serverId}:8050`;
let cloud: TestCloud;
let k8s: StandIn;
let ecs: StandIn;

beforeEach(async () => {
  cloud = await startTestCloud({ scenario: 'mall', healthChecks: 'manual' });
  k8s = await startStandIn({ name: 'k8s-nodeport' });
  ecs = await startStandIn({ name: 'ecs-standby' });
  cloud.setBackendAddress(K8S, `127.0.0.1:${k8s.port}`);
  cloud.setBackendAddress(ECS, `127.0.0.1:${ecs.port}`);
});
afterEach(async () => {
  await cloud.close();
  await k8s.close();
  await ecs.close();
});

async function health(): Promise<Record<string, string>> {
  const rows = await cloudLayerFor(cloud).slb.describeHealthStatus({
    regionId: MALL.regionId,
    loadBalancerId: MALL.loadBalancerId,
  });
  return Object.fromEntries(rows.map((r) => [`${r.serverId}:${r.port}`, r.state]));
}
const ticks = async (n: number) => {
  for (let i = 0; i < n; i++) await cloud.tickHealth();
};

describe('local cloud health checks', () => {
  it('reports both backends normal after the first check, the weight-0 standby included', async () => {
    await ticks(1);
    expect(await health()).toEqual({ [K8S]: 'normal', [ECS]: 'normal' });
    expect(k8s.state().requests).toBeGreaterThan(0);
    expect(ecs.state().requests).toBeGreaterThan(0);
  });

  it('marks a killed backend abnormal only after unhealthyThreshold failures, and normal again after healthyThreshold', async () => {
    await ticks(1);
    await k8s.kill();
    await ticks(MALL.healthCheck.unhealthyThreshold - 1);
    expect((await health())[K8S]).toBe('normal');
    await ticks(1);
    expect(await health()).toEqual({ [K8S]: 'abnormal', [ECS]: 'normal' });
    await k8s.revive();
    await ticks(MALL.healthCheck.healthyThreshold - 1);
    expect((await health())[K8S]).toBe('abnormal');
    await ticks(1);
    expect((await health())[K8S]).toBe('normal');
  });

  it('counts a status outside the configured code classes as a failure', async () => {
    await ticks(1);
    ecs.fail(503);
    await ticks(3);
    expect((await health())[ECS]).toBe('abnormal');
    await ecs.heal();
    await ticks(3);
    expect((await health())[ECS]).toBe('normal');
  });

  it('counts an answer slower than the health-check timeout as a failure', async () => {
    await cloudLayerFor(cloud).slb.setHttpsListenerAttribute({
      regionId: MALL.regionId,
      loadBalancerId: MALL.loadBalancerId,
      listenerPort: 443,
      healthCheck: { timeout: 1, unhealthyThreshold: 2 },
    });
    await ticks(1);
    k8s.slow(1500);
    await ticks(2);
    expect((await health())[K8S]).toBe('abnormal');
  });

  it('reports unavailable when the listener does not check, and forced health wins over the checks', async () => {
    const layer = cloudLayerFor(cloud);
    await ticks(1);
    cloud.setHealth({ [ECS]: 'abnormal' });
    await ticks(1);
    expect((await health())[ECS]).toBe('abnormal');
    await layer.slb.setHttpsListenerAttribute({
      regionId: MALL.regionId,
      loadBalancerId: MALL.loadBalancerId,
      listenerPort: 443,
      healthCheck: { enabled: false },
    });
    expect(await health()).toEqual({ [K8S]: 'unavailable', [ECS]: 'unavailable' });
  });

  it('serves and checks the backend address map through the admin API', async () => {
    const got = await (await fetch(`${cloud.url}/_emulator/backend-addresses`)).json();
    expect(got).toEqual({ [K8S]: `127.0.0.1:${k8s.port}`, [ECS]: `127.0.0.1:${ecs.port}` });
    const bad = await fetch(`${cloud.url}/_emulator/backend-addresses`, {
      method: 'POST',
      body: JSON.stringify({ 'i-1': 'nowhere' }),
    });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: string }).error).toMatch(/backend-addresses\.i-1: keys are/);
    const tick = await fetch(`${cloud.url}/_emulator/health-checks`, { method: 'POST' });
    expect(await tick.json()).toEqual({ [K8S]: 'normal', [ECS]: 'normal' });
  });
});

describe('backend stand-ins', () => {
  it('refuses connections when killed, comes back on the same port, and flaps on request', async () => {
    const s = await startStandIn({ name: 'flappy' });
    const get = () =>
      fetch(`http://127.0.0.1:${s.port}/healthz`).then(
        (r) => r.status,
        () => 'refused',
      );
    expect(await get()).toBe(200);
    await s.kill();
    expect(await get()).toBe('refused');
    await s.revive();
    expect(await get()).toBe(200);
    s.flap(40);
    const seen = new Set<string>();
    for (let i = 0; i < 12; i++) {
      seen.add(s.state().listening ? 'up' : 'down');
      await new Promise((r) => setTimeout(r, 15));
    }
    expect(seen).toEqual(new Set(['up', 'down']));
    await s.heal();
    expect(s.state()).toMatchObject({ listening: true, flapping: false });
    await s.close();
  });

  it('takes a free port when the preferred one is taken, if asked', async () => {
    const a = await startStandIn({ name: 'a' });
    await expect(startStandIn({ name: 'b', port: a.port })).rejects.toThrow(/EADDRINUSE/);
    const b = await startStandIn({ name: 'b', port: a.port, fallbackToFreePort: true });
    expect(b.port).not.toBe(a.port);
    await a.close();
    await b.close();
  });
});
