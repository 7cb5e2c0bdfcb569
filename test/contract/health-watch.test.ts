// Fast watch on the local cloud: after the minute's audit, the watched load balancers' health is read
// every `failover.watch` until 45 s into the run, and a dead primary is handed to failover at the first
// read that sees it, once; unwatched load balancers cost no reads; the read budget per region is stated.
// The clock is virtual: `sleep` advances it, so nothing here waits.

import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { MALL } from '../../scripts/local-cloud/scenarios/mall-fixture';
import { probeAll } from '../../shared/cloud/probe';
import { WATCH_UNTIL_MS, watchBudget, watchedLoadBalancerNames } from '../../shared/domain/failover';
import { DEFAULT_OWNERSHIP } from '../../shared/domain/ownership';
import { parseSpec, type Spec, type SpecError } from '../../shared/domain/spec';
import { runFailover } from '../../shared/workflows/failover';
import {
  type AuditDeps,
  type AuditMemory,
  emptyAuditMemory,
  runHealthAudit,
  watchHealth,
} from '../../shared/workflows/health-audit';
import { TEST_LEASE } from '../support/deployment';
import { cloudLayerFor, startTestCloud, type TestCloud } from '../support/local-cloud';

const mallYaml = readFileSync(join(__dirname, '..', '..', 'examples', 'mall.yaml'), 'utf8');
const specWith = (failover: Record<string, unknown>): Spec => {
  const s = parse(mallYaml);
  s.failover = { ...s.failover, ...failover };
  return parseSpec(stringify(s));
};
const K8S = `${MALL.k8s.serverId}:30250`;
const ECS = `${MALL.ecs.serverId}:8050`;

let cloud: TestCloud;
const servers: Record<string, { server: Server; port: number }> = {};
let now: number;
let memory: AuditMemory;
/** whether each stand-in answers its probe with 200 */
const up: Record<string, boolean> = {};
/** health to force when the virtual clock passes a time: [at, backend, status] */
let script: [number, string, 'normal' | 'abnormal'][];

beforeEach(async () => {
  cloud = await startTestCloud({ scenario: 'mall' });
  now = Date.parse('2026-11-24T12:00:00Z');
  memory = emptyAuditMemory();
  script = [];
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

function deps(spec: Spec, handOffs: { expected: string; at: number }[]): AuditDeps {
  const layer = cloudLayerFor(cloud);
  const base = {
    slb: layer.slb,
    probeAll: (t: Parameters<AuditDeps['probeAll']>[0]) => probeAll(t, 4),
    resolveBackend: async (b: { serverId: string; port: number }) => ({
      host: '127.0.0.1',
      port: servers[`${b.serverId}:${b.port}`]?.port ?? 1,
    }),
    now: () => new Date(now),
    ownership: DEFAULT_OWNERSHIP,
    lease: TEST_LEASE,
  };
  return {
    ...base,
    handOff: async (h) => {
      handOffs.push({ expected: h.expected, at: now });
      const before = reads('DescribeHealthStatus');
      await runFailover(base, spec, {
        loadBalancerId: h.loadBalancerId,
        vServerGroupId: h.vServerGroupId,
        command: 'auto',
        origin: 'health-audit',
      });
      failoverHealthReads += reads('DescribeHealthStatus') - before;
    },
  };
}
/** DescribeHealthStatus calls the failover runs made (not the watch's) */
let failoverHealthReads = 0;

/** Advances the virtual clock, applying the scripted health changes it passes. */
const sleep = async (ms: number) => {
  now += ms;
  for (const [at, backend, status] of script)
    if (at <= now) {
      cloud.setHealth({ [backend]: status });
      up[backend] = status === 'normal';
    }
};

const reads = (action: string) => cloud.calls().calls[action] ?? 0;

describe('fast watch', () => {
  it('reads health every 5 s until 45 s into the run and hands a dead primary off at the first read that sees it, once', async () => {
    // Prepare
    const spec = specWith({ watch: '5s' });
    const handOffs: { expected: string; at: number }[] = [];
    const d = deps(spec, handOffs);
    const start = now;
    await runHealthAudit(d, spec, memory);
    script = [[start + 12_000, K8S, 'abnormal']];
    const before = reads('DescribeHealthStatus');
    failoverHealthReads = 0;
    // Act
    const watch = await watchHealth(d, spec, memory, {
      untilMs: start + WATCH_UNTIL_MS,
      everyMs: 5000,
      sleep,
    });
    // Assess: ticks at 5, 10, ..., 45 s; K8S seen dead at 15 s, handed off then and only then
    expect(watch.ticks).toBe(9);
    expect(watch.healthReads).toBe(9);
    expect(reads('DescribeHealthStatus') - before - failoverHealthReads).toBe(9);
    expect(handOffs).toEqual([{ expected: 'shiftToStandby', at: start + 15_000 }]);
    expect(watch.handOffs.map((h) => h.expected)).toEqual(['shiftToStandby']);
    expect(watch.groupReads).toBe(1); // the group re-read once after the hand-off
    const weights = Object.fromEntries(
      (cloud.state().vServerGroups[0]?.backendServers ?? []).map((b) => [
        `${b.serverId}:${b.port}`,
        b.weight,
      ]),
    );
    expect(weights).toEqual({ [K8S]: 0, [ECS]: 100 });
  });

  it('watches nothing (no reads) when failover.watch is unset or names other load balancers', async () => {
    // Prepare
    const spec = specWith({});
    const d = deps(spec, []);
    await runHealthAudit(d, spec, memory);
    const before = reads('DescribeHealthStatus');
    // Act
    const watch = await watchHealth(d, spec, memory, { untilMs: now + WATCH_UNTIL_MS, everyMs: 5000, sleep });
    // Assess
    expect(watch).toMatchObject({ loadBalancers: [], ticks: 0, healthReads: 0 });
    expect(reads('DescribeHealthStatus')).toBe(before);
  });

  it('a failback waiting out its delay is handed off until the tags record it, not every tick', async () => {
    // Prepare: failed over, K8S back up
    const spec = specWith({ watch: '5s', failbackAfter: '30s' });
    const handOffs: { expected: string; at: number }[] = [];
    const d = deps(spec, handOffs);
    cloud.setHealth({ [K8S]: 'abnormal' });
    await runHealthAudit(d, spec, memory);
    expect(handOffs.map((h) => h.expected)).toEqual(['shiftToStandby']);
    cloud.setHealth({ [K8S]: 'normal' });
    handOffs.length = 0;
    const start = now;
    // Act
    const watch = await watchHealth(d, spec, memory, {
      untilMs: start + WATCH_UNTIL_MS,
      everyMs: 5000,
      sleep,
    });
    // Assess: the pending failback once (5 s: failover records "healthy since"), then the failback
    // itself once the 30 s have passed (35 s), then nothing
    expect(handOffs).toEqual([
      { expected: 'failBackPending', at: start + 5000 },
      { expected: 'failBack', at: start + 35_000 },
    ]);
    expect(watch.ticks).toBe(9);
  });
});

describe('watch budget', () => {
  it('states the region read budget: one audit read per load balancer plus 9 per watched one at 5 s', () => {
    expect(watchBudget(1, 1, 5)).toEqual({
      audited: 1,
      watched: 1,
      everyS: 5,
      watchReadsPerLoadBalancer: 9,
      readsPerMinute: 10,
      quota: 600,
      maxWatched: 66,
    });
    expect(watchBudget(600, 10, 5).maxWatched).toBe(0);
    expect(watchBudget(100, 0, undefined)).toMatchObject({ watched: 0, readsPerMinute: 100, maxWatched: 0 });
  });

  it('watches every load balancer by default, or those named', () => {
    expect(watchedLoadBalancerNames(specWith({ watch: '5s' }))).toEqual(['mall']);
    expect(watchedLoadBalancerNames(specWith({ watch: '5s', watchLoadBalancers: ['mall'] }))).toEqual([
      'mall',
    ]);
    expect(watchedLoadBalancerNames(specWith({}))).toEqual([]);
  });

  it('refuses a watch outside 2-30 s and names that are not in the spec, naming the field', () => {
    const issues = (f: Record<string, unknown>) => {
      try {
        specWith(f);
      } catch (err) {
        return (err as SpecError).issues.map((i) => i.path);
      }
      return [];
    };
    expect(issues({ watch: '1s' })).toEqual(['failover.watch']);
    expect(issues({ watch: '1m' })).toEqual(['failover.watch']);
    expect(issues({ watch: '5s', watchLoadBalancers: ['shop'] })).toEqual(['failover.watchLoadBalancers[0]']);
  });
});
