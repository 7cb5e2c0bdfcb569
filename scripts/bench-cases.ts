// The benchmark cases that print one JSON line each (`npm run bench -- <case>`):
//   failover  sequential API calls from the event to applied weights, and ms with 30 ms injected per call
//   audit     1,000 load balancers with 4 listeners and 20 backends each: calls per load balancer per run,
//             and wall time (virtual clock) against the read-quota bound
//   rotation  200 listeners and 400 extension domains across 4 regions sharing 20 certificates: uploads
//             against distinct certificates per region, write calls, wall time against the write-quota
//             bound (quota scaled so the case stays short; the ratio is what counts)
// Counts are deterministic; times are measurements.

import { VirtualClock } from '../shared/cloud/clock';
import type { CloudOptions } from '../shared/cloud/index';
import { localCloudListenerAddress } from '../shared/cloud/listener-address';
import { probeAll } from '../shared/cloud/probe';
import { type BucketLimit, RateBudget } from '../shared/cloud/rate-budget';
import { waitForServedCertificate } from '../shared/cloud/tls-probe';
import { parseCertificate } from '../shared/domain/certificate';
import { DEFAULT_OWNERSHIP } from '../shared/domain/ownership';
import { parseSpec, type Spec } from '../shared/domain/spec';
import { runCertRenewal } from '../shared/workflows/cert-renewal';
import { runFailover } from '../shared/workflows/failover';
import { type AuditMemory, emptyAuditMemory, runHealthAudit } from '../shared/workflows/health-audit';
import { startStandIn } from './backends/http-backend';
import { connectLocalCloud } from './local-cloud/connect';
import { createTestCa } from './local-cloud/pki';
import { MALL } from './local-cloud/scenarios/mall-fixture';
import { type LocalCloud, startLocalCloud } from './local-cloud/server';
import { LISTENER_DEFAULTS } from './local-cloud/slb/listeners';
import { type CloudState, emptyState } from './local-cloud/state';

const ROOMY: BucketLimit = { capacity: 1_000_000, refillPerSecond: 1_000_000 };
const layer = (local: LocalCloud, options: Omit<CloudOptions, 'target'> = {}) =>
  connectLocalCloud(local, {
    budget: new RateBudget({ read: ROOMY, write: ROOMY }),
    retry: { baseDelayMs: 1, maxDelayMs: 5, maxAttempts: 10 },
    ...options,
  });

export async function failoverCase(latencyMs = 30): Promise<Record<string, unknown>> {
  const base = await failoverOnce(0);
  const slow = await failoverOnce(latencyMs);
  return {
    case: 'failover',
    sequentialCalls: Math.round((slow.ms - base.ms) / latencyMs),
    ms: Math.round(slow.ms),
    latencyMs,
    apiCalls: slow.apiCalls,
    changed: slow.changed,
    weights: slow.weights,
  };
}

async function failoverOnce(latencyMs: number) {
  const cloud = await startLocalCloud({ scenario: 'mall', tlsFrontEnds: false });
  const k8s = await startStandIn({ name: 'k8s' });
  const ecs = await startStandIn({ name: 'ecs' });
  try {
    await k8s.kill();
    cloud.setHealth({ [`${MALL.k8s.serverId}:30250`]: 'abnormal' });
    const specText = (await import('node:fs')).readFileSync(
      new URL('../examples/mall.yaml', import.meta.url),
      'utf8',
    );
    const spec = parseSpec(specText);
    const c = layer(cloud);
    cloud.setFaults({ latencyMs });
    const started = performance.now();
    const report = await runFailover(
      {
        slb: c.slb,
        probeAll: (t) => probeAll(t, 8),
        resolveBackend: async (b) => ({
          host: '127.0.0.1',
          port: b.serverId === MALL.ecs.serverId ? ecs.port : k8s.port,
        }),
        now: () => new Date(),
        ownership: DEFAULT_OWNERSHIP,
      },
      spec,
      // as the audit hands it over: the group named
      {
        loadBalancerId: MALL.loadBalancerId,
        vServerGroupId: MALL.vServerGroup.vServerGroupId,
        command: 'auto',
        origin: 'bench',
      },
    );
    const ms = performance.now() - started;
    return {
      ms,
      apiCalls: cloud.calls().total,
      changed: report.changed,
      weights: report.groups[0]?.after.map((a) => `${a.backend}=${a.weight}`).join(' '),
    };
  } finally {
    await cloud.close();
    await k8s.close();
    await ecs.close();
  }
}

export function fleetState(loadBalancers: number, listeners: number, backends: number): CloudState {
  const state = emptyState();
  for (let i = 0; i < backends; i++)
    state.instances.push({
      serverId: `i-bench${String(i).padStart(6, '0')}`,
      regionId: MALL.regionId,
      privateIp: '127.0.0.1',
      status: 'Running',
    });
  for (let n = 0; n < loadBalancers; n++) {
    const id = `lb-bench${String(n).padStart(8, '0')}`;
    const groupId = `rsp-bench${String(n).padStart(8, '0')}`;
    state.loadBalancers.push({
      loadBalancerId: id,
      loadBalancerName: `bench-${n}`,
      regionId: MALL.regionId,
      loadBalancerStatus: 'active',
      address: '127.0.0.1',
      addressType: 'intranet',
      addressIPVersion: 'ipv4',
      networkType: 'vpc',
      vpcId: 'vpc-bench',
      vSwitchId: 'vsw-bench',
      loadBalancerSpec: 'slb.s1.small',
      internetChargeType: 'paybytraffic',
      bandwidth: 5120,
      payType: 'PayOnDemand',
      instanceChargeType: 'PayBySpec',
      masterZoneId: 'cn-hangzhou-k',
      slaveZoneId: 'cn-hangzhou-j',
      resourceGroupId: 'rg-bench',
      deleteProtection: 'off',
      createTime: '2026-01-01T00:00:00Z',
      tags: [],
    });
    state.vServerGroups.push({
      vServerGroupId: groupId,
      vServerGroupName: 'web',
      loadBalancerId: id,
      regionId: MALL.regionId,
      createTime: '2026-01-01T00:00:00Z',
      backendServers: state.instances.map((x) => ({
        serverId: x.serverId,
        port: 8080,
        weight: 10,
        type: 'ecs' as const,
        serverIp: '127.0.0.1',
      })),
      tags: [],
    });
    for (let l = 0; l < listeners; l++)
      state.listeners.push({
        loadBalancerId: id,
        listenerPort: 80 + l,
        listenerProtocol: 'http',
        status: 'running',
        bandwidth: -1,
        scheduler: 'wrr',
        vServerGroupId: groupId,
        healthCheck: {
          healthCheck: 'on',
          healthCheckURI: '/healthz',
          healthCheckInterval: 2,
          healthyThreshold: 3,
          unhealthyThreshold: 3,
          healthCheckTimeout: 5,
        },
        tags: [],
        extra: { ...LISTENER_DEFAULTS },
      });
  }
  return state;
}

/**
 * The spec of a fleet made by fleetState (one group of every instance, 4 HTTP listeners), and the audit
 * memory the drift reads would have left behind (reading it in a bench would only slow the case down).
 */
export function fleetAudit(
  state: CloudState,
  o: { healthCheck: boolean },
): { spec: Spec; memory: AuditMemory } {
  const spec = parseSpec(
    JSON.stringify({
      version: 1,
      region: MALL.regionId,
      loadBalancers: state.loadBalancers.map((lb) => ({
        name: lb.loadBalancerName,
        id: lb.loadBalancerId,
        vServerGroups: [
          {
            name: 'web',
            backends: state.instances.map((x) => ({ serverId: x.serverId, port: 8080, weight: 10 })),
          },
        ],
        listeners: [0, 1, 2, 3].map((l) => ({
          protocol: 'http',
          port: 80 + l,
          vServerGroup: 'web',
          ...(o.healthCheck ? { healthCheck: { path: '/healthz', method: 'get' } } : {}),
        })),
      })),
    }),
    { format: 'json' },
  );
  const memory = emptyAuditMemory();
  memory.lastDriftAt = 0;
  for (const g of state.vServerGroups)
    memory.groups[g.loadBalancerId] = [
      { vServerGroupId: g.vServerGroupId, name: g.vServerGroupName, tags: [], backends: g.backendServers },
    ];
  return { spec, memory };
}

/** Time the token buckets force on `counts` calls per key (the rest of the work taken as free). */
function quotaBoundMs(counts: number[], limit: BucketLimit): number {
  return Math.max(0, ...counts.map((n) => (Math.max(0, n - limit.capacity) / limit.refillPerSecond) * 1000));
}

export async function auditCase(loadBalancers = 1000): Promise<Record<string, unknown>> {
  const state = fleetState(loadBalancers, 4, 20);
  const cloud = await startLocalCloud({ scenario: state, tlsFrontEnds: false });
  try {
    const { spec, memory } = fleetAudit(state, { healthCheck: true });
    const deps = (c: ReturnType<typeof layer>, clock?: VirtualClock) => ({
      slb: c.slb,
      probeAll: async () => [],
      resolveBackend: async (b: { port: number }) => ({ host: '127.0.0.1', port: b.port }),
      now: () => (clock ? new Date(clock.now()) : new Date()),
      handOff: async () => undefined,
      ownership: DEFAULT_OWNERSHIP,
    });
    // The steady-state run, through the default read budget on a virtual clock.
    const clock = new VirtualClock();
    const c = layer(cloud, { budget: new RateBudget({ clock }), clock });
    const before = cloud.calls();
    const started = performance.now();
    const steady = await runHealthAudit(deps(c, clock), spec, memory);
    if (steady.driftChecked) throw new Error('the steady-state run read drift');
    const realMs = performance.now() - started;
    const after = cloud.calls();
    const byAction = Object.entries(after.calls)
      .map(([a, n]) => n - (before.calls[a] ?? 0))
      .filter((n) => n > 0);
    const total = after.total - before.total;
    return {
      case: 'audit',
      loadBalancers,
      callsPerLoadBalancer: Number((total / loadBalancers).toFixed(3)),
      wallMs: Math.round(clock.now()),
      boundMs: Math.round(quotaBoundMs(byAction, { capacity: 600, refillPerSecond: 10 })),
      realMs: Math.round(realMs),
    };
  } finally {
    await cloud.close();
  }
}

const REGIONS = ['cn-hangzhou', 'cn-shanghai', 'cn-beijing', 'cn-shenzhen'] as const;

export async function rotationCase(latencyMs = 2): Promise<Record<string, unknown>> {
  const now = new Date();
  const DAY = 86_400_000;
  const ca = await createTestCa({ now });
  const state = emptyState();
  const distinct = 20;
  // 20 certificate lineages: an old one (due in 5 days) uploaded to every region, a renewed one in CAS.
  const old = [];
  for (let i = 0; i < distinct; i++) {
    const sans = [`shop${i}.example.com`, `*.shop${i}.example.com`];
    old.push(
      await ca.issue({
        commonName: sans[0] ?? '',
        sans,
        notBefore: new Date(now.getTime() - 85 * DAY),
        notAfter: new Date(now.getTime() + 5 * DAY),
      }),
    );
    const renewed = await ca.issue({
      commonName: sans[0] ?? '',
      sans,
      notBefore: new Date(now.getTime() - DAY),
      notAfter: new Date(now.getTime() + 89 * DAY),
    });
    const p = parseCertificate(renewed.certPem);
    state.casCertificates.push({
      certId: 20_000_000 + i,
      name: `shop${i}-renewed`,
      commonName: p.commonName,
      sans: p.sans,
      certPem: renewed.chainPem,
      keyPem: renewed.keyPem,
      notBefore: p.notBefore.getTime(),
      notAfter: p.notAfter.getTime(),
      fingerprint: p.fingerprint.replace(/:/g, '').toUpperCase(),
      sha2: p.sha256.toUpperCase(),
      serialNo: p.serialNo,
      issuer: p.issuer,
      upload: true,
      resourceGroupId: 'rg-bench',
      regionId: 'cn-hangzhou',
    });
  }
  const specs = [];
  for (const region of REGIONS) {
    const lbs = [];
    for (let n = 0; n < 10; n++) {
      const id = `lb-${region.slice(3)}${String(n).padStart(6, '0')}`;
      state.loadBalancers.push({
        ...fleetState(1, 0, 0).loadBalancers[0],
        loadBalancerId: id,
        loadBalancerName: `${region}-${n}`,
        regionId: region,
      } as CloudState['loadBalancers'][number]);
      const listeners = [];
      for (let l = 0; l < 5; l++) {
        const lineage = (n * 5 + l) % distinct;
        const certId = `${region}-old-${lineage}`;
        listeners.push({
          protocol: 'https',
          port: 443 + l,
          vServerGroup: 'web',
          domains: [`shop${lineage}.example.com`],
          certificate: { cas: { domain: `shop${lineage}.example.com` } },
          extensionDomains: [
            {
              domain: `a.shop${lineage}.example.com`,
              certificate: { cas: { domain: `a.shop${lineage}.example.com` } },
            },
            {
              domain: `b.shop${lineage}.example.com`,
              certificate: { cas: { domain: `b.shop${lineage}.example.com` } },
            },
          ],
        });
        state.listeners.push({
          loadBalancerId: id,
          listenerPort: 443 + l,
          listenerProtocol: 'https',
          status: 'running',
          bandwidth: -1,
          scheduler: 'wrr',
          serverCertificateId: certId,
          healthCheck: { healthCheck: 'off' },
          tags: [],
          extra: { ...LISTENER_DEFAULTS },
        });
        for (const sub of ['a', 'b'])
          state.domainExtensions.push({
            domainExtensionId: `de-${id}-${l}-${sub}`,
            regionId: region,
            loadBalancerId: id,
            listenerPort: 443 + l,
            domain: `${sub}.shop${lineage}.example.com`,
            serverCertificateId: certId,
          });
      }
      lbs.push({ name: `${region}-${n}`, id, vServerGroups: [{ name: 'web', backends: [] }], listeners });
    }
    for (let i = 0; i < distinct; i++) {
      const p = parseCertificate(old[i]?.certPem ?? '');
      state.serverCertificates.push({
        serverCertificateId: `${region}-old-${i}`,
        serverCertificateName: `shop${i}-old`,
        regionId: region,
        resourceGroupId: 'rg-bench',
        fingerprint: p.fingerprint,
        commonName: p.commonName,
        subjectAlternativeNames: p.sans,
        expireTime: p.notAfter.toISOString(),
        expireTimeStamp: p.notAfter.getTime(),
        createTime: new Date(now.getTime() - 80 * DAY).toISOString(),
        createTimeStamp: now.getTime() - 80 * DAY,
        isAliCloudCertificate: 0,
        aliCloudCertificateId: '',
        aliCloudCertificateName: '',
        certificatePem: old[i]?.chainPem ?? '',
        privateKeyPem: old[i]?.keyPem ?? '',
        tags: [],
      });
    }
    specs.push(parseSpec(JSON.stringify({ version: 1, region, loadBalancers: lbs }), { format: 'json' }));
  }
  const cloud = await startLocalCloud({ scenario: state });
  try {
    cloud.setFaults({ latencyMs });
    // A scaled-down write quota (burst 5, 5 per second per action and region) so the case is short and
    // the quota, not the work, decides the wall time.
    const write: BucketLimit = { capacity: 5, refillPerSecond: 5 };
    const c = connectLocalCloud(cloud, {
      budget: new RateBudget({ write, read: ROOMY }),
      retry: { baseDelayMs: 1, maxDelayMs: 5, maxAttempts: 10 },
    });
    const started = performance.now();
    const reports = await Promise.all(
      specs.map((spec) =>
        runCertRenewal(
          {
            slb: c.slb,
            cas: c.cas,
            now: () => new Date(),
            env: {},
            readFile: () => '',
            listenerAddress: localCloudListenerAddress(cloud.url),
            verify: (req) => waitForServedCertificate({ ...req, attempts: 3, delayMs: 20 }),
            ownership: DEFAULT_OWNERSHIP,
          },
          spec,
          { verifyAttempts: 3, verifyDelayMs: 20 },
        ),
      ),
    );
    const wallMs = performance.now() - started;
    const calls = cloud.calls().calls;
    const writeActions = Object.entries(calls).filter(([a]) => !/^(Describe|List|Get)/.test(a));
    const writeCalls = writeActions.reduce((n, [, k]) => n + k, 0);
    // Per (action, region): the busiest key decides the bound; regions run in parallel.
    const perKey = writeActions.map(([, k]) => k / REGIONS.length);
    return {
      case: 'rotation',
      listeners: state.listeners.length,
      extensionDomains: state.domainExtensions.length,
      uploads: reports.reduce((n, r) => n + r.uploaded.length, 0),
      distinctCertsPerRegion: distinct,
      regions: REGIONS.length,
      rotated: reports.reduce((n, r) => n + r.references.filter((x) => x.action === 'rotated').length, 0),
      failed: reports.filter((r) => r.failed).length,
      writeCalls,
      wallMs: Math.round(wallMs),
      boundMs: Math.round(quotaBoundMs(perKey, write)),
      ratio: Number((wallMs / quotaBoundMs(perKey, write)).toFixed(2)),
      latencyMs,
    };
  } finally {
    await cloud.close();
  }
}
