// The whole local stack as `npm start` runs it: the four bundles in the local FC runtime, the local
// cloud with real health checks, HTTP stand-ins for the backends. The provisioning API through its HTTP
// trigger; the audit's timer handing a dead K8S to failover through @alicloud/fc2 (async, as on FC);
// the failback; a certificate rotation verified by handshake.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MALL } from '../../scripts/local-cloud/scenarios/mall-fixture';
import { callProvision } from '../../scripts/remote';
import { type Stack, startStack } from '../../scripts/stack';
import { trackCloud, untrackCloud } from '../support/fidelity';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({
    cloudPort: 0,
    backendPorts: { k8s: 0, ecs: 0 },
    timers: 'manual',
    healthChecks: 'manual',
    env: { SLB_AUTOPILOT_VERIFY_DELAY_MS: '50' },
  });
  // The functions' calls are checked against the official API like every other test's.
  trackCloud(stack.cloud);
}, 60_000);
afterAll(async () => {
  await stack?.close();
  if (stack) untrackCloud(stack.cloud);
});

const K8S = `${MALL.k8s.serverId}:30250`;
const ECS = `${MALL.ecs.serverId}:8050`;
const weights = () =>
  Object.fromEntries(
    (stack.cloud.state().vServerGroups[0]?.backendServers ?? []).map((b) => [
      `${b.serverId}:${b.port}`,
      b.weight,
    ]),
  );
const provision = (method: 'GET' | 'POST', path: string, body?: string, contentType?: string) =>
  callProvision({
    url: stack.provisionUrl ?? '',
    secret: stack.apiSecret,
    method,
    path,
    ...(body !== undefined ? { body } : {}),
    ...(contentType ? { contentType } : {}),
  });

describe('the local stack', () => {
  it('lists the four functions as built, with their triggers', () => {
    expect(
      stack.runtime.functions().map((f) => [f.resource, f.built, f.triggers.map((t) => t.type).join(',')]),
    ).toEqual([
      ['cert-renewal', true, 'timer'],
      ['health-audit', true, 'timer'],
      ['failover', true, 'eventbridge'],
      ['provision', true, 'http'],
    ]);
  });

  it('reaches provision through its HTTP trigger: signed status and plan, unsigned refused', async () => {
    const status = await provision('GET', 'status');
    expect(status.status).toBe(200);
    expect(
      (status.body as { loadBalancers: { loadBalancerId: string }[] }).loadBalancers[0]?.loadBalancerId,
    ).toBe(MALL.loadBalancerId);
    const plan = await provision('POST', 'plan', stack.specText, 'application/yaml');
    expect(plan).toEqual({ status: 200, body: { actions: [], leftAlone: [] } });
    const unsigned = await fetch(`${stack.provisionUrl}/status`);
    expect(unsigned.status).toBe(401);
  });

  it('kills K8S: the audit hands it to failover over fc2 and the weights shift; a manual toPrimary brings it back', async () => {
    await stack.cloud.tickHealth();
    expect((await stack.runtime.fireTimer('health-audit', 'every-minute')).ok).toBe(true);
    expect(weights()).toEqual({ [K8S]: 100, [ECS]: 0 });

    await stack.backends.k8s.kill();
    for (let i = 0; i < MALL.healthCheck.unhealthyThreshold; i++) await stack.cloud.tickHealth();
    const audit = await stack.runtime.fireTimer('health-audit', 'every-minute');
    expect((audit.result as { report: { handOffs: unknown[] } }).report.handOffs).toHaveLength(1);
    await stack.runtime.idle();
    const records = stack.runtime.asyncRecords().filter((r) => r.functionName === 'slb-autopilot-failover');
    expect(records.at(-1)?.status).toBe('succeeded');
    expect(weights()).toEqual({ [K8S]: 0, [ECS]: 100 });

    // Failback waits failbackAfter (5 min in the mall spec): a manual toPrimary through the API skips it.
    await stack.backends.k8s.revive();
    for (let i = 0; i < MALL.healthCheck.healthyThreshold; i++) await stack.cloud.tickHealth();
    const back = await provision(
      'POST',
      'failover',
      JSON.stringify({ command: 'toPrimary', loadBalancerId: MALL.loadBalancerId }),
      'application/json',
    );
    expect(back.status).toBe(200);
    expect(weights()).toEqual({ [K8S]: 100, [ECS]: 0 });
  });

  it('rotates the expiring certificate through POST /rotate, verified by handshake', async () => {
    const r = await provision('POST', 'rotate', '{}', 'application/json');
    expect(r.status).toBe(200);
    const refs = (r.body as { references: { action: string; verification?: { result: string }[] }[] })
      .references;
    expect(refs.map((x) => x.action)).toEqual(['rotated', 'rotated']);
    expect(refs.flatMap((x) => x.verification ?? []).every((v) => v.result.startsWith('served after'))).toBe(
      true,
    );
  });
});
