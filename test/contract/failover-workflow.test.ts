// The failover workflow on the local cloud's mall, with a real HTTP stand-in for the ECS standby:
// shift on a dead primary, nothing twice, no shift to a dead standby, failback only after the delay,
// the state kept in the group's tags, refused requests changing nothing.

import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { connectLocalCloud } from '../../scripts/local-cloud/connect';
import { MALL } from '../../scripts/local-cloud/scenarios/mall-fixture';
import { CloudError } from '../../shared/cloud/errors';
import { probeAll } from '../../shared/cloud/probe';
import { FAILOVER_TAGS } from '../../shared/domain/failover';
import { parseSpec } from '../../shared/domain/spec';
import { type FailoverDeps, FailoverRequestError, runFailover } from '../../shared/workflows/failover';
import { DEFAULT_OWNERSHIP, TEST_LEASE } from '../support/deployment';
import { cloudLayerFor, startTestCloud, type TestCloud } from '../support/local-cloud';

const spec = parseSpec(readFileSync(join(__dirname, '..', '..', 'examples', 'mall.yaml'), 'utf8'));
const K8S = `${MALL.k8s.serverId}:30250`;
const ECS = `${MALL.ecs.serverId}:8050`;

let cloud: TestCloud;
let standby: Server;
let standbyPort: number;
let standbyUp = true;
let primary: Server;
let primaryPort: number;
let primaryUp = true;
let now = new Date('2026-11-24T12:00:00Z');

beforeEach(async () => {
  cloud = await startTestCloud({ scenario: 'mall' });
  standbyUp = true;
  primaryUp = true;
  now = new Date('2026-11-24T12:00:00Z');
  standby = createServer((_req, res) => res.writeHead(standbyUp ? 200 : 503).end('ecs'));
  await new Promise<void>((r) => standby.listen(0, '127.0.0.1', r));
  standbyPort = (standby.address() as AddressInfo).port;
  primary = createServer((_req, res) => res.writeHead(primaryUp ? 200 : 503).end('k8s'));
  await new Promise<void>((r) => primary.listen(0, '127.0.0.1', r));
  primaryPort = (primary.address() as AddressInfo).port;
});
afterEach(async () => {
  await cloud.close();
  await new Promise<void>((r) => standby.close(() => r()));
  await new Promise<void>((r) => primary.close(() => r()));
});

/** The primary dies (or comes back) as both SLB's check and a probe see it. */
function primaryHealth(up: boolean) {
  primaryUp = up;
  cloud.setHealth({ [K8S]: up ? 'normal' : 'abnormal' });
}

function deps(): FailoverDeps {
  const layer = cloudLayerFor(cloud);
  return {
    slb: layer.slb,
    probeAll: (t) => probeAll(t, 4),
    // Each backend answers on its stand-in's loopback port.
    resolveBackend: async (b) => ({
      host: '127.0.0.1',
      port: `${b.serverId}:${b.port}` === ECS ? standbyPort : primaryPort,
    }),
    now: () => now,
    ownership: DEFAULT_OWNERSHIP,
    lease: TEST_LEASE,
  };
}
const weights = () =>
  Object.fromEntries(
    (cloud.state().vServerGroups[0]?.backendServers ?? []).map((b) => [`${b.serverId}:${b.port}`, b.weight]),
  );
const setCalls = () => cloud.calls().calls.SetVServerGroupAttribute ?? 0;
const groupTags = () =>
  Object.fromEntries((cloud.state().vServerGroups[0]?.tags ?? []).map((t) => [t.key, t.value]));
const auto = { loadBalancerId: MALL.loadBalancerId, command: 'auto' as const, origin: 'test' };

describe('failover workflow', () => {
  it('shifts to a healthy standby when the primary dies, once, and records the state in tags', async () => {
    primaryHealth(false);
    const r = await runFailover(deps(), spec, auto);
    expect(r.groups[0]?.decision.kind).toBe('shiftToStandby');
    expect(weights()).toEqual({ [K8S]: 0, [ECS]: 100 });
    expect(setCalls()).toBe(1);
    expect(r.groups[0]).toMatchObject({ writes: 1, verified: true });
    expect(groupTags()[FAILOVER_TAGS.active]).toBe('standby');

    const again = await runFailover(deps(), spec, auto);
    expect(again.changed).toBe(false);
    expect(setCalls()).toBe(1);
  });

  it('does not shift to a standby that is down too, and says both are down', async () => {
    primaryHealth(false);
    standbyUp = false;
    const r = await runFailover(deps(), spec, auto);
    expect(r.changed).toBe(false);
    expect(weights()).toEqual({ [K8S]: 100, [ECS]: 0 });
    expect(r.groups[0]?.decision.reasons.join('\n')).toMatch(/down|unhealthy/i);
    expect(r.groups[0]?.decision.reasons.join('\n')).toContain(`probe ${ECS}: status 503`);
    expect(setCalls()).toBe(0);
  });

  it('fails back only after the primary has been healthy for failbackAfter', async () => {
    primaryHealth(false);
    await runFailover(deps(), spec, auto);
    primaryHealth(true);
    now = new Date(now.getTime() + 60_000);
    const early = await runFailover(deps(), spec, auto);
    expect(early.changed).toBe(false);
    expect(weights()).toEqual({ [K8S]: 0, [ECS]: 100 });
    now = new Date(now.getTime() + (spec.failover.failbackAfter - 1) * 1000);
    expect((await runFailover(deps(), spec, auto)).changed).toBe(false);
    now = new Date(now.getTime() + 2000);
    const back = await runFailover(deps(), spec, auto);
    expect(back.groups[0]?.decision.kind).toBe('failBack');
    expect(weights()).toEqual({ [K8S]: 100, [ECS]: 0 });
    expect(groupTags()[FAILOVER_TAGS.active]).toBe('primary');
  });

  it('a refused weight write is reported with its cause, and nothing after it runs', async () => {
    primaryHealth(false);
    // Prepare: the lease's claim is the one write allowed; SetVServerGroupAttribute is refused.
    cloud.setFaults({ failWritesAfter: 1 });
    const r = await runFailover(deps(), spec, auto).catch((e: unknown) => e);
    cloud.setFaults({});
    // Assess
    expect(r).toMatchObject({ failed: true, changed: false });
    const g = (r as Awaited<ReturnType<typeof runFailover>>).groups[0];
    expect(g?.error).toMatchObject({
      kind: 'cloud',
      name: 'CloudError',
      code: 'Forbidden.RAM',
      action: 'SetVServerGroupAttribute',
    });
    expect(g?.plan.map((p) => [p.kind, p.status])).toEqual([
      ['setBackendWeights', 'failed'],
      ['tagFailoverState', 'skipped'],
      ['verifyBackendWeights', 'skipped'],
    ]);
    expect(weights()).toEqual({ [K8S]: 100, [ECS]: 0 });
  });

  it('holds a rebalance on an automatic run: weights that differ from the policy are drift, not failover', async () => {
    await cloudLayerFor(cloud).slb.setVServerGroupAttribute({
      regionId: MALL.regionId,
      vServerGroupId: MALL.vServerGroup.vServerGroupId,
      backendServers: [{ serverId: MALL.ecs.serverId, port: 8050, weight: 30 }],
    });
    const r = await runFailover(deps(), spec, auto);
    expect(r.groups[0]?.decision.kind).toBe('rebalance');
    expect(r.groups[0]?.decision.reasons.join('\n')).toContain('rebalance held');
    expect(r.changed).toBe(false);
    expect(weights()).toEqual({ [K8S]: 100, [ECS]: 30 });
  });

  it('refuses a load balancer the spec does not manage, changing nothing', async () => {
    const before = cloud.state();
    await expect(runFailover(deps(), spec, { ...auto, loadBalancerId: 'lb-unknown0000' })).rejects.toThrow(
      FailoverRequestError,
    );
    await expect(runFailover(deps(), spec, { ...auto, vServerGroupId: 'rsp-nothere' })).rejects.toThrow(
      /vServerGroupId: rsp-nothere is not a group/,
    );
    expect(cloud.state()).toEqual(before);
  });

  it('reports a cloud failure as one, not as a load balancer it does not manage (InvalidAccessKeyId.NotFound)', async () => {
    const before = cloud.state();
    const stranger = connectLocalCloud(cloud, {
      accessKeyId: 'LTAI5tUnknownKey0000001',
      retry: { baseDelayMs: 1, maxDelayMs: 5 },
    });
    const err = await runFailover({ ...deps(), slb: stranger.slb }, spec, auto).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(CloudError);
    expect(err).toMatchObject({ code: 'InvalidAccessKeyId.NotFound' });
    expect(cloud.state()).toEqual(before);
  });
});
