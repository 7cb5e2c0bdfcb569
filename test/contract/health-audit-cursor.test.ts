// The audit at scale: a run that reaches its time budget stops starting health reads, says how many
// load balancers it covered, and the next run resumes where it stopped (fast-watched ones always first);
// without a budget every load balancer is read. Twelve copies of the mall on the local cloud; the clock
// is virtual and each health read takes 10 s of it, so the budget is reached deterministically.

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadScenario } from '../../scripts/local-cloud/scenarios';
import { MALL } from '../../scripts/local-cloud/scenarios/mall-fixture';
import type { CloudState } from '../../scripts/local-cloud/state';
import { DEFAULT_OWNERSHIP } from '../../shared/domain/ownership';
import { parseSpec, type Spec } from '../../shared/domain/spec';
import {
  type AuditDeps,
  type AuditMemory,
  auditOrder,
  emptyAuditMemory,
  runHealthAudit,
} from '../../shared/workflows/health-audit';
import { cloudLayerFor, startTestCloud, type TestCloud } from '../support/local-cloud';

const N = 12;
const idOf = (i: number) => `lb-bp1mallcopy${String(i).padStart(8, '0')}`;

async function fleet(): Promise<CloudState> {
  const state = await loadScenario('mall', new Date());
  const [lb] = state.loadBalancers;
  const [group] = state.vServerGroups;
  const http = state.listeners.find((l) => l.listenerPort === MALL.https.port);
  if (!lb || !group || !http) throw new Error('the mall scenario changed');
  state.loadBalancers = [];
  state.vServerGroups = [];
  state.listeners = [];
  state.domainExtensions = [];
  for (let i = 0; i < N; i++) {
    state.loadBalancers.push({
      ...structuredClone(lb),
      loadBalancerId: idOf(i),
      loadBalancerName: `mall-${i}`,
    });
    state.vServerGroups.push({
      ...structuredClone(group),
      loadBalancerId: idOf(i),
      vServerGroupId: `rsp-copy${i}`,
    });
    state.listeners.push({
      ...structuredClone(http),
      loadBalancerId: idOf(i),
      vServerGroupId: `rsp-copy${i}`,
    });
  }
  return state;
}

function fleetSpec(watch?: string[]): Spec {
  return parseSpec(
    JSON.stringify({
      version: 1,
      region: MALL.regionId,
      loadBalancers: Array.from({ length: N }, (_, i) => ({
        name: `mall-${i}`,
        id: idOf(i),
        vServerGroups: [
          {
            name: MALL.vServerGroup.name,
            backends: [
              { serverId: MALL.k8s.serverId, port: MALL.k8s.port, weight: 100, pool: 'primary' },
              { serverId: MALL.ecs.serverId, port: MALL.ecs.port, weight: 0, pool: 'standby' },
            ],
          },
        ],
        listeners: [{ protocol: 'http', port: 8080, vServerGroup: MALL.vServerGroup.name }],
      })),
      ...(watch ? { failover: { watch: '5s', watchLoadBalancers: watch } } : {}),
    }),
    { format: 'json' },
  );
}

let cloud: TestCloud;
let now: number;
let memory: AuditMemory;
let read: string[];

beforeEach(async () => {
  cloud = await startTestCloud({ scenario: await fleet() });
  now = Date.parse('2026-11-24T12:00:00Z');
  read = [];
  // What the drift reads leave behind, so every run here is a steady-state one.
  memory = emptyAuditMemory();
  memory.lastDriftAt = now;
  for (const g of cloud.state().vServerGroups)
    memory.groups[g.loadBalancerId] = [
      { vServerGroupId: g.vServerGroupId, name: g.vServerGroupName, tags: [], backends: g.backendServers },
    ];
});
afterEach(() => cloud.close());

function deps(): AuditDeps {
  const slb = cloudLayerFor(cloud).slb;
  return {
    ownership: DEFAULT_OWNERSHIP,
    slb: {
      ...slb,
      // Each read costs 10 s of the clock from its start, as a drained rate budget would make it wait.
      describeHealthStatus: (req) => {
        now += 10_000;
        read.push(req.loadBalancerId);
        return slb.describeHealthStatus(req);
      },
    },
    probeAll: async () => [],
    resolveBackend: async (b) => ({ host: '127.0.0.1', port: b.port }),
    now: () => new Date(now),
    handOff: async () => undefined,
  };
}

describe('audit time budget and resume cursor', () => {
  it('stops starting reads at the budget, and the next run resumes where it stopped', async () => {
    // Prepare
    const spec = fleetSpec();
    // Act
    const first = await runHealthAudit(deps(), spec, memory, { budgetMs: 15_000 });
    const firstRead = [...read];
    read = [];
    const second = await runHealthAudit(deps(), spec, memory, { budgetMs: 15_000 });
    // Assess: reads started at 0 s and 10 s; at 20 s the 15 s budget is spent; the next run resumes
    expect(firstRead).toEqual([idOf(0), idOf(1)]);
    expect(first.coverage).toEqual({ read: 2, total: N, resumeAt: idOf(2) });
    expect(first.loadBalancers.map((l) => l.loadBalancerId)).toEqual(firstRead);
    expect(first.warnings).toContain(
      'time budget reached: 10 of 12 load balancers not read this run; the next run starts with them',
    );
    expect(read).toEqual([idOf(2), idOf(3)]);
    expect(second.coverage).toEqual({ read: 2, total: N, resumeAt: idOf(4) });
  });

  it('without a budget reads every load balancer and leaves no cursor', async () => {
    const r = await runHealthAudit(deps(), fleetSpec(), memory);
    expect(r.coverage).toEqual({ read: N, total: N });
    expect(memory.cursor).toBeUndefined();
  });
});

describe('auditOrder', () => {
  const ids = Array.from({ length: 5 }, (_, i) => ({ id: idOf(i), spec: { name: `mall-${i}` } }));
  it('puts the fast-watched first, then the rest from the cursor, wrapping around', () => {
    const spec = fleetSpec(['mall-3']);
    expect(auditOrder(ids, spec, idOf(2)).map((x) => x.spec.name)).toEqual([
      'mall-3',
      'mall-2',
      'mall-4',
      'mall-0',
      'mall-1',
    ]);
  });

  it('an unknown cursor (the load balancer left the spec) starts from the first', () => {
    expect(auditOrder(ids, fleetSpec(), 'lb-gone').map((x) => x.id)).toEqual(ids.map((x) => x.id));
  });
});
