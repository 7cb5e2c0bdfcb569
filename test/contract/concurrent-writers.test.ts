// One writer per load balancer, against the local cloud through the real SDK: the lease itself (mutual
// exclusion, 409 naming the holder, expired claims taken over, a lost lease stops the writer), and the
// runs that once raced: two applies at once (with and without injected faults) made two VServer groups
// of one name and uploaded one certificate twice; a manual rotation while the timer fired uploaded
// twice and left the listener and its extension domain on different copies.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parse as parseYaml, stringify } from 'yaml';
import { MALL } from '../../scripts/local-cloud/scenarios/mall-fixture';
import { localCloudListenerAddress } from '../../shared/cloud/listener-address';
import { waitForServedCertificate } from '../../shared/cloud/tls-probe';
import { markerTags } from '../../shared/domain/ownership';
import { describeAction } from '../../shared/domain/plan';
import { parseSpec } from '../../shared/domain/spec';
import { type ApplyDeps, applySpec } from '../../shared/workflows/apply';
import { type RenewalDeps, runCertRenewal } from '../../shared/workflows/cert-renewal';
import {
  LEASE_TAG_PREFIX,
  type LeaseDeps,
  LeaseHeldError,
  LeaseLostError,
  withLoadBalancerLease,
} from '../../shared/workflows/lease';
import { DEFAULT_OWNERSHIP, TEST_LEASE } from '../support/deployment';
import { cloudLayerFor, startTestCloud, type TestCloud } from '../support/local-cloud';

const mallYaml = readFileSync(join(__dirname, '..', '..', 'examples', 'mall.yaml'), 'utf8');
const createdMall = (() => {
  const s = parseYaml(mallYaml);
  delete s.loadBalancers[0].id;
  s.loadBalancers[0].create = { addressType: 'internet', spec: 'slb.s2.small' };
  return stringify(s);
})();

let cloud: TestCloud | undefined;
afterEach(async () => {
  await cloud?.close();
  cloud = undefined;
});

const leaseDeps = (c: TestCloud, o: Partial<LeaseDeps> = {}): LeaseDeps => ({
  slb: cloudLayerFor(c).slb,
  regionId: MALL.regionId,
  now: () => new Date(),
  lease: TEST_LEASE,
  ...o,
});
const claims = (c: TestCloud) =>
  (c.state().loadBalancers.find((l) => l.loadBalancerId === MALL.loadBalancerId)?.tags ?? []).filter((t) =>
    t.key.startsWith(LEASE_TAG_PREFIX),
  );

describe('the load balancer lease', () => {
  it('lets one writer in at a time, whoever claims first; the claims are gone afterwards', async () => {
    cloud = await startTestCloud({ scenario: 'mall' });
    const c = cloud;
    const spans: { who: number; from: number; to: number }[] = [];
    await Promise.all(
      [0, 1, 2, 3].map((who) =>
        withLoadBalancerLease(leaseDeps(c), MALL.loadBalancerId, `test-${who}`, async (lease) => {
          const from = performance.now();
          await lease.checkpoint();
          await new Promise((r) => setTimeout(r, 30));
          spans.push({ who, from, to: performance.now() });
        }),
      ),
    );
    expect(spans).toHaveLength(4);
    const sorted = [...spans].sort((a, b) => a.from - b.from);
    for (let i = 1; i < sorted.length; i++)
      expect(sorted[i]?.from, 'a writer started before the previous one finished').toBeGreaterThanOrEqual(
        sorted[i - 1]?.to ?? 0,
      );
    expect(claims(c)).toEqual([]);
    expect(c.state().loadBalancers[0]?.tags).toEqual([{ key: 'app', value: 'mall' }]);
  });

  it('a second writer that will not wait gets LeaseHeldError naming the holder and its expiry, and runs nothing', async () => {
    cloud = await startTestCloud({ scenario: 'mall' });
    const c = cloud;
    let ran = false;
    const err = await withLoadBalancerLease(leaseDeps(c), MALL.loadBalancerId, 'apply@default', () =>
      withLoadBalancerLease(
        leaseDeps(c, { lease: { ...TEST_LEASE, waitMs: 0 } }),
        MALL.loadBalancerId,
        'failover@default',
        async () => {
          ran = true;
        },
      ).catch((e: unknown) => e),
    );
    expect(ran).toBe(false);
    expect(err).toBeInstanceOf(LeaseHeldError);
    expect((err as LeaseHeldError).holder).toBe('apply@default');
    expect((err as Error).message).toMatch(
      /lb-bp1mall7k8s0demo0001 is being changed by apply@default \(lease until \d{4}-\d\d-\d\dT[\d:.]+Z\)/,
    );
    expect(claims(c)).toEqual([]);
  });

  it('takes over a claim that expired (a crashed run), and removes it', async () => {
    cloud = await startTestCloud({ scenario: 'mall' });
    const c = cloud;
    await cloudLayerFor(c).slb.tagResources({
      regionId: MALL.regionId,
      resourceType: 'instance',
      resourceIds: [MALL.loadBalancerId],
      tags: [
        {
          key: `${LEASE_TAG_PREFIX}crashed`,
          value: `apply@default;${new Date(Date.now() - 1000).toISOString()}`,
        },
      ],
    });
    const seen = await withLoadBalancerLease(leaseDeps(c), MALL.loadBalancerId, 'renewal@default', async () =>
      claims(c).map((t) => t.value.split(';')[0]),
    );
    expect(seen).toEqual(['renewal@default']);
    expect(claims(c)).toEqual([]);
  });

  it('a holder whose claim was taken over stops at its next checkpoint', async () => {
    cloud = await startTestCloud({ scenario: 'mall' });
    const c = cloud;
    let now = Date.now();
    const deps = leaseDeps(c, { now: () => new Date(now) });
    const err = await withLoadBalancerLease(deps, MALL.loadBalancerId, 'apply@default', async (lease) => {
      // Past a third of the TTL, another run (that saw our claim expire) claimed the load balancer.
      now += TEST_LEASE.ttlMs / 2;
      await cloudLayerFor(c).slb.untagResources({
        regionId: MALL.regionId,
        resourceType: 'instance',
        resourceIds: [MALL.loadBalancerId],
        tagKeys: claims(c).map((t) => t.key),
      });
      return lease.checkpoint().catch((e: unknown) => e);
    });
    expect(err).toBeInstanceOf(LeaseLostError);
    expect((err as Error).message).toMatch(/taken over; stopped before the next write/);
  });

  it('renews its claim at checkpoints once a third of the TTL has passed', async () => {
    cloud = await startTestCloud({ scenario: 'mall' });
    const c = cloud;
    let now = Date.now();
    const deps = leaseDeps(c, { now: () => new Date(now) });
    const expiries = await withLoadBalancerLease(
      deps,
      MALL.loadBalancerId,
      'apply@default',
      async (lease) => {
        const before = claims(c)[0]?.value;
        now += TEST_LEASE.ttlMs / 2;
        await lease.checkpoint();
        return [before, claims(c)[0]?.value];
      },
    );
    const at = (v: string | undefined) => Date.parse(v?.split(';')[1] ?? '');
    expect(at(expiries[1]) - at(expiries[0])).toBe(TEST_LEASE.ttlMs / 2);
  });
});

/** What the mall is made of, counted: two applies at once once made two groups and two uploads. */
const oneOfEach = (c: TestCloud) => {
  const state = c.state();
  return {
    loadBalancers: state.loadBalancers.length,
    groups: state.vServerGroups.map((g) => g.vServerGroupName),
    certificates: state.serverCertificates.length,
    listeners: state.listeners.map((l) => l.listenerPort).sort(),
    extensionDomains: state.domainExtensions.length,
  };
};
const ONE_OF_EACH = {
  loadBalancers: 1,
  groups: ['mall-backends'],
  certificates: 1,
  listeners: [443, 80].sort(),
  extensionDomains: 1,
};

function applyDeps(c: TestCloud, lease = TEST_LEASE): ApplyDeps {
  const layer = cloudLayerFor(c, { retry: { baseDelayMs: 1, maxDelayMs: 5, maxAttempts: 8 } });
  return {
    slb: layer.slb,
    cas: layer.cas,
    now: () => new Date(),
    env: {},
    readFile: () => '',
    ownership: DEFAULT_OWNERSHIP,
    lease,
  };
}

describe('two applies at once', () => {
  it.each([
    ['no faults', {}],
    ['30 ms latency per call', { latencyMs: 30 }],
  ])('make one group, one certificate, one of each listener (%s)', async (_name, faults) => {
    cloud = await startTestCloud({ scenario: 'mall-unprovisioned' });
    const c = cloud;
    c.setFaults(faults);
    const spec = parseSpec(createdMall);
    // The settle time covers a read and a write with their retries under these faults.
    const lease = { ...TEST_LEASE, settleMs: 400, waitMs: 15_000 };
    const results = await Promise.all([
      applySpec(applyDeps(c, lease), spec),
      applySpec(applyDeps(c, lease), spec),
    ]);
    c.setFaults({});
    expect(oneOfEach(c)).toEqual(ONE_OF_EACH);
    // Each either applied its plan or waited and found nothing left to do; none failed half-way.
    expect(results.map((r) => r.failed)).toEqual([undefined, undefined]);
    // One applied the plan; the other at most took part in creating the load balancer (one client
    // token, one load balancer) and then, holding the lease after the first, found nothing to do.
    const [first, second] = results.map((r) => r.done.map((a) => a.kind)).sort((a, b) => b.length - a.length);
    expect(first).toHaveLength(7);
    expect(second?.filter((k) => k !== 'createLoadBalancer')).toEqual([]);
    expect(c.state().loadBalancers[0]?.tags.filter((t) => t.key.startsWith(LEASE_TAG_PREFIX))).toEqual([]);
  });

  it('under throttling and 5xx answers, one may stop at a failed write; converging leaves one of each', async () => {
    cloud = await startTestCloud({ scenario: 'mall-unprovisioned' });
    const c = cloud;
    c.setFaults({ throttleRate: 0.1, errorRate: 0.05, seed: 7 });
    const spec = parseSpec(createdMall);
    const lease = { ...TEST_LEASE, settleMs: 400, waitMs: 15_000 };
    await Promise.allSettled([applySpec(applyDeps(c, lease), spec), applySpec(applyDeps(c, lease), spec)]);
    c.setFaults({});
    // A write that failed may have left its claim behind: the converging apply comes after it expired.
    const later = { ...applyDeps(c), now: () => new Date(Date.now() + TEST_LEASE.ttlMs) };
    expect((await applySpec(later, spec)).failed).toBeUndefined();
    expect(oneOfEach(c)).toEqual(ONE_OF_EACH);
    expect((await applySpec(later, spec)).plan.actions).toEqual([]);
  });

  it('the second gets 409 naming the holder when it will not wait, having written nothing', async () => {
    cloud = await startTestCloud({ scenario: 'mall' });
    const c = cloud;
    const spec = parseSpec(mallYaml.replace('weight: 100', 'weight: 90'));
    const holder = withLoadBalancerLease(leaseDeps(c), MALL.loadBalancerId, 'apply@default', async () => {
      const before = c.calls().calls.SetVServerGroupAttribute ?? 0;
      const err = await applySpec(applyDeps(c, { ...TEST_LEASE, waitMs: 0 }), spec).catch((e: unknown) => e);
      return { err, writes: (c.calls().calls.SetVServerGroupAttribute ?? 0) - before };
    });
    const { err, writes } = await holder;
    expect(err).toBeInstanceOf(LeaseHeldError);
    expect((err as Error).message).toContain('being changed by apply@default');
    expect(writes).toBe(0);
  });
});

describe('two certificate renewals at once (a manual rotation while the timer fires)', () => {
  it('upload the new certificate once, and bind the listener and its extension domain to the same copy', async () => {
    cloud = await startTestCloud({ scenario: 'mall' });
    const c = cloud;
    const spec = parseSpec(mallYaml);
    const deps = (): RenewalDeps => {
      const layer = cloudLayerFor(c);
      return {
        slb: layer.slb,
        cas: layer.cas,
        now: () => new Date(),
        env: {},
        readFile: () => '',
        listenerAddress: localCloudListenerAddress(c.url),
        verify: (req) => waitForServedCertificate({ ...req, attempts: 3, delayMs: 20 }),
        ownership: DEFAULT_OWNERSHIP,
        lease: TEST_LEASE,
      };
    };
    const before = c.state().serverCertificates.length;
    const reports = await Promise.all([runCertRenewal(deps(), spec), runCertRenewal(deps(), spec)]);
    expect(reports.map((r) => r.failed)).toEqual([false, false]);
    const state = c.state();
    expect(state.serverCertificates.length - before).toBe(1);
    const listenerCert = state.listeners.find((l) => l.listenerPort === 443)?.serverCertificateId;
    expect(state.domainExtensions[0]?.serverCertificateId).toBe(listenerCert);
    expect(reports.flatMap((r) => r.uploaded)).toEqual([listenerCert]);
  });
});

describe('duplicates that concurrent runs left behind', () => {
  it('an apply keeps the group in use, deletes our copy, leaves one not ours, and then plans and writes the same group', async () => {
    cloud = await startTestCloud({ scenario: 'mall' });
    const c = cloud;
    const slb = cloudLayerFor(c).slb;
    const copy = (tags: { key: string; value: string }[]) =>
      slb.createVServerGroup({
        regionId: MALL.regionId,
        loadBalancerId: MALL.loadBalancerId,
        vServerGroupName: MALL.vServerGroup.name,
        backendServers: [{ serverId: MALL.k8s.serverId, port: 30250, weight: 7 }],
        tags,
      });
    const ours = await copy(markerTags(DEFAULT_OWNERSHIP));
    const theirs = await copy([{ key: 'team', value: 'web' }]);
    const deps = applyDeps(c);

    const repaired = await applySpec(deps, parseSpec(mallYaml));
    expect(repaired.failed).toBeUndefined();
    expect(repaired.done.map(describeAction)).toEqual([
      `${MALL.loadBalancerId}: delete VServer group ${MALL.vServerGroup.name} ${ours.vServerGroupId} (ours, a duplicate of ${MALL.vServerGroup.vServerGroupId})`,
    ]);
    expect(repaired.plan.leftAlone.map((l) => l.what)).toContain(
      `VServer group ${MALL.vServerGroup.name} ${theirs.vServerGroupId}`,
    );
    expect(
      c
        .state()
        .vServerGroups.map((g) => g.vServerGroupId)
        .sort(),
    ).toEqual([MALL.vServerGroup.vServerGroupId, theirs.vServerGroupId].sort());

    // A later spec change lands on the group the listener uses, and converges.
    const spec = parseSpec(mallYaml.replace('weight: 0', 'weight: 20'));
    const changed = await applySpec(deps, spec);
    expect(changed.done.map((a) => a.kind)).toEqual(['setBackendWeights']);
    const weight = (id: string) =>
      c
        .state()
        .vServerGroups.find((g) => g.vServerGroupId === id)
        ?.backendServers.find((b) => b.port === 8050)?.weight;
    expect(weight(MALL.vServerGroup.vServerGroupId)).toBe(20);
    expect((await applySpec(deps, spec)).plan.actions).toEqual([]);
    expect(
      c.state().vServerGroups.find((g) => g.vServerGroupId === theirs.vServerGroupId)?.backendServers,
    ).toEqual([expect.objectContaining({ serverId: MALL.k8s.serverId, port: 30250, weight: 7 })]);
  });

  it('an apply binds every reference to one copy of a certificate uploaded twice, and deletes our other copy', async () => {
    cloud = await startTestCloud({ scenario: 'mall' });
    const c = cloud;
    const slb = cloudLayerFor(c).slb;
    const upload = async (name: string, tags: { key: string; value: string }[]) =>
      (
        await slb.uploadServerCertificate({
          regionId: MALL.regionId,
          serverCertificateName: name,
          tags,
          cas: {
            certificateId: String(MALL.renewed.certId),
            certificateName: MALL.renewed.name,
            regionId: MALL.regionId,
          },
        })
      ).serverCertificateId;
    const a = await upload('slbap-renewed-a', markerTags(DEFAULT_OWNERSHIP));
    const b = await upload('slbap-renewed-b', markerTags(DEFAULT_OWNERSHIP));
    const theirs = await upload('renewed-by-hand', []);
    // What two rotations at once left: the listener on one copy, its extension domain on the other.
    await slb.setHttpsListenerAttribute({
      regionId: MALL.regionId,
      loadBalancerId: MALL.loadBalancerId,
      listenerPort: 443,
      serverCertificateId: a,
    });
    await slb.setDomainExtensionCertificate({
      regionId: MALL.regionId,
      domainExtensionId: MALL.extensionDomain.domainExtensionId,
      serverCertificateId: b,
    });

    const deps = applyDeps(c);
    const r = await applySpec(deps, parseSpec(mallYaml));
    expect(r.failed).toBeUndefined();
    expect(r.done.map((x) => x.kind)).toEqual(['setDomainExtensionCertificate', 'deleteCertificate']);
    const state = c.state();
    expect(state.domainExtensions[0]?.serverCertificateId).toBe(a);
    expect(state.listeners.find((l) => l.listenerPort === 443)?.serverCertificateId).toBe(a);
    const ids = state.serverCertificates.map((x) => x.serverCertificateId);
    expect(ids).not.toContain(b);
    expect(ids).toEqual(expect.arrayContaining([a, theirs]));
    expect((await applySpec(deps, parseSpec(mallYaml))).plan.actions).toEqual([]);
  });
});
