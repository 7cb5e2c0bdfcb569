// The health audit on the local cloud with real HTTP stand-ins for the backends: steady-state cost,
// hand-off to failover when K8S dies, failback after the delay, no hand-off when both pools are down,
// drift and expiring certificates reported.
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { MALL } from '../../scripts/local-cloud/scenarios/mall-fixture';
import { probeAll } from '../../shared/cloud/probe';
import { parseSpec } from '../../shared/domain/spec';
import { applySpec } from '../../shared/workflows/apply';
import { runFailover } from '../../shared/workflows/failover';
import {
  type AuditDeps,
  type AuditMemory,
  emptyAuditMemory,
  runHealthAudit,
} from '../../shared/workflows/health-audit';
import { DEFAULT_OWNERSHIP, TEST_LEASE } from '../support/deployment';
import { cloudLayerFor, startTestCloud, type TestCloud } from '../support/local-cloud';

const mallYaml = readFileSync(join(__dirname, '..', '..', 'examples', 'mall.yaml'), 'utf8');
const spec = parseSpec(mallYaml);
const K8S = `${MALL.k8s.serverId}:30250`;
const ECS = `${MALL.ecs.serverId}:8050`;

let cloud: TestCloud;
const up: Record<string, boolean> = {};
const servers: Record<string, { server: Server; port: number }> = {};
let now: Date;
let memory: AuditMemory;

beforeEach(async () => {
  cloud = await startTestCloud({ scenario: 'mall' });
  now = new Date('2026-11-24T12:00:00Z');
  memory = emptyAuditMemory();
  for (const k of [K8S, ECS]) {
    up[k] = true;
    const server = createServer((_req, res) => res.writeHead(up[k] ? 200 : 503).end(k));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    servers[k] = { server, port: (server.address() as AddressInfo).port };
  }
});
afterEach(async () => {
  await cloud.close();
  for (const s of Object.values(servers)) await new Promise<void>((r) => s.server.close(() => r()));
});

function setUp(k: string, isUp: boolean) {
  up[k] = isUp;
  cloud.setHealth({ [k]: isUp ? 'normal' : 'abnormal' });
}

function deps(handOffs: string[] = []): AuditDeps {
  const layer = cloudLayerFor(cloud);
  const base = {
    slb: layer.slb,
    probeAll: (t: Parameters<AuditDeps['probeAll']>[0]) => probeAll(t, 4),
    resolveBackend: async (b: { serverId: string; port: number }) => ({
      host: '127.0.0.1',
      port: servers[`${b.serverId}:${b.port}`]?.port ?? 1,
    }),
    now: () => now,
    ownership: DEFAULT_OWNERSHIP,
    lease: TEST_LEASE,
  };
  return {
    ...base,
    handOff: async (h) => {
      handOffs.push(h.expected);
      await runFailover(base, spec, {
        loadBalancerId: h.loadBalancerId,
        vServerGroupId: h.vServerGroupId,
        command: 'auto',
        origin: 'health-audit',
      });
    },
  };
}
const weights = () =>
  Object.fromEntries(
    (cloud.state().vServerGroups[0]?.backendServers ?? []).map((b) => [`${b.serverId}:${b.port}`, b.weight]),
  );
const minute = () => {
  now = new Date(now.getTime() + 60_000);
};

describe('health audit', () => {
  it('costs one DescribeHealthStatus and one listener read per run in steady state, and reports all healthy', async () => {
    const first = await runHealthAudit(deps(), spec, memory);
    expect(first.driftChecked).toBe(true);
    const before = cloud.calls().calls;
    minute();
    const second = await runHealthAudit(deps(), spec, memory);
    const after = cloud.calls().calls;
    const delta = Object.fromEntries(
      Object.entries(after)
        .map(([k, v]) => [k, v - (before[k] ?? 0)])
        .filter(([, v]) => (v as number) > 0),
    );
    expect(delta).toEqual({ DescribeLoadBalancerListeners: 1, DescribeHealthStatus: 1 });
    expect(second.driftChecked).toBe(false);
    expect(second.summary).toBe('mall: all backends healthy | 2 certificate(s) expiring');
    expect(second.handOffs).toEqual([]);
    expect(second.expiringCertificates.join('\n')).toMatch(/mall:443: .* \(\d+ days\)/);
  });

  it('hands a dead primary to failover, then fails back only after failbackAfter', async () => {
    const handOffs: string[] = [];
    await runHealthAudit(deps(handOffs), spec, memory);
    setUp(K8S, false);
    minute();
    const down = await runHealthAudit(deps(handOffs), spec, memory);
    expect(down.summary).toContain(`down: ${K8S}`);
    expect(handOffs).toEqual(['shiftToStandby']);
    expect(weights()).toEqual({ [K8S]: 0, [ECS]: 100 });

    setUp(K8S, true);
    const minutes = Math.ceil(spec.failover.failbackAfter / 60) + 2;
    for (let i = 0; i < minutes && weights()[K8S] === 0; i++) {
      minute();
      await runHealthAudit(deps(handOffs), spec, memory);
    }
    expect(weights()).toEqual({ [K8S]: 100, [ECS]: 0 });
    // Each minute of the wait was sampled by failover; the last hand-off brought it back.
    expect(handOffs.filter((h) => h === 'failBackPending').length).toBeGreaterThanOrEqual(
      spec.failover.failbackAfter / 60 - 1,
    );
    minute();
    const calm = await runHealthAudit(deps(handOffs), spec, memory);
    expect(calm.handOffs).toEqual([]);
  });

  it('keeps weights from flapping while K8S flaps every few seconds (audits every minute for an hour)', async () => {
    const handOffs: string[] = [];
    const changes: number[] = [];
    let last = JSON.stringify(weights());
    for (let i = 0; i < 60; i++) {
      // Down for two audits, up for one: a backend that never stays up for failbackAfter.
      setUp(K8S, i % 3 === 2);
      minute();
      await runHealthAudit(deps(handOffs), spec, memory);
      const now = JSON.stringify(weights());
      if (now !== last) changes.push(i);
      last = now;
    }
    // It shifted to the standby once and never came back: the primary was never healthy for failbackAfter.
    expect(changes).toHaveLength(1);
    expect(weights()).toEqual({ [K8S]: 0, [ECS]: 100 });
  });

  it('does not hand off when the standby is down too, and says both are down', async () => {
    const handOffs: string[] = [];
    setUp(K8S, false);
    setUp(ECS, false);
    const r = await runHealthAudit(deps(handOffs), spec, memory);
    expect(handOffs).toEqual([]);
    expect(r.summary).toContain(`down: ${K8S}, ${ECS}`);
    expect(weights()).toEqual({ [K8S]: 100, [ECS]: 0 });
  });

  it('reports drift: a weight changed by hand and a health check turned off', async () => {
    const layer = cloudLayerFor(cloud);
    await layer.slb.setVServerGroupAttribute({
      regionId: MALL.regionId,
      vServerGroupId: MALL.vServerGroup.vServerGroupId,
      backendServers: [{ serverId: MALL.ecs.serverId, port: 8050, weight: 30 }],
    });
    await layer.slb.setHttpsListenerAttribute({
      regionId: MALL.regionId,
      loadBalancerId: MALL.loadBalancerId,
      listenerPort: 443,
      healthCheck: { enabled: false },
    });
    const r = await runHealthAudit(deps(), spec, memory);
    expect(r.drift.join('\n')).toContain(`${ECS} -> 0`);
    expect(r.drift.join('\n')).toMatch(/set HTTPS 443: .*healthCheck\.enabled true/);
    expect(r.loadBalancers[0]?.problems).toContain('listener 443: health check is off, the spec wants it on');
  });

  it('warns loudly about a group the Kubernetes cloud controller manages', async () => {
    const s = parse(mallYaml);
    delete s.loadBalancers[0].id;
    s.loadBalancers[0].create = { addressType: 'internet', spec: 'slb.s2.small' };
    s.loadBalancers[0].vServerGroups[0].name = 'k8s/30250/mall/default/clusterid';
    s.loadBalancers[0].listeners[0].vServerGroup = 'k8s/30250/mall/default/clusterid';
    const ccm = parseSpec(stringify(s));
    await cloud.close();
    cloud = await startTestCloud({ scenario: 'mall-unprovisioned' });
    const layer = cloudLayerFor(cloud);
    await applySpec(
      {
        slb: layer.slb,
        cas: layer.cas,
        now: () => new Date(),
        env: {},
        readFile: () => '',
        ownership: DEFAULT_OWNERSHIP,
        lease: TEST_LEASE,
      },
      ccm,
    );
    const r = await runHealthAudit(deps(), ccm, emptyAuditMemory());
    expect(r.warnings.join('\n')).toMatch(
      /^LOUD: mall: group k8s\/30250\/mall\/default\/clusterid is managed by the Kubernetes cloud controller/,
    );
  });
});
