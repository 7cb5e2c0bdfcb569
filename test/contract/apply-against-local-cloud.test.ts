// Applying specs to the local cloud through the real SDK: from nothing to the mall, idempotent re-runs,
// drift repair, a run cut short by an injected failure that converges on re-apply, and bad certificate
// sources that stop the run before any write.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parse as parseYaml, stringify } from 'yaml';
import { MALL } from '../../scripts/local-cloud/scenarios/mall-fixture';
import type { CloudState } from '../../scripts/local-cloud/state';
import { markerTags, ownershipMarker } from '../../shared/domain/ownership';
import { parseSpec } from '../../shared/domain/spec';
import { type ApplyDeps, applySpec, observeAndPlan } from '../../shared/workflows/apply';
import { DEFAULT_OWNERSHIP, TEST_LEASE } from '../support/deployment';
import { cloudLayerFor, startTestCloud, type TestCloud } from '../support/local-cloud';

const mallYaml = readFileSync(join(__dirname, '..', '..', 'examples', 'mall.yaml'), 'utf8');
// biome-ignore lint/suspicious/noExplicitAny: edits of the raw YAML tree
const edit = (text: string, change: (s: any) => void): string => {
  const s = parseYaml(text);
  change(s);
  return stringify(s);
};
/** The mall, created rather than adopted. */
const createdMall = edit(mallYaml, (s) => {
  delete s.loadBalancers[0].id;
  s.loadBalancers[0].create = { addressType: 'internet', spec: 'slb.s2.small' };
});

let cloud: TestCloud | undefined;
afterEach(async () => {
  await cloud?.close();
  cloud = undefined;
});

const isRead = (action: string) => /^(Describe|List|Get)/.test(action);
const writeCalls = (c: TestCloud) =>
  Object.entries(c.calls().calls)
    .filter(([a]) => !isRead(a))
    .reduce((n, [, k]) => n + k, 0);

function depsFor(c: TestCloud, env: Record<string, string> = {}): ApplyDeps {
  const layer = cloudLayerFor(c);
  return {
    slb: layer.slb,
    cas: layer.cas,
    now: () => new Date(),
    env,
    readFile: (p) => readFileSync(p, 'utf8'),
    ownership: DEFAULT_OWNERSHIP,
    lease: TEST_LEASE,
  };
}

/** What the spec describes, read back from the emulator's state, ids stripped. */
function mallShape(state: CloudState) {
  const lb = state.loadBalancers.find((l) => l.loadBalancerName === 'slbap-mall');
  if (!lb) return undefined;
  const groups = state.vServerGroups.filter((g) => g.loadBalancerId === lb.loadBalancerId);
  const certs = new Map(state.serverCertificates.map((c) => [c.serverCertificateId, c]));
  return {
    tags: lb.tags,
    groups: groups.map((g) => ({
      name: g.vServerGroupName,
      backends: g.backendServers.map((b) => `${b.serverId}:${b.port}@${b.weight}`),
      tags: g.tags,
    })),
    listeners: state.listeners
      .filter((l) => l.loadBalancerId === lb.loadBalancerId)
      .map((l) => ({
        port: l.listenerPort,
        protocol: l.listenerProtocol,
        status: l.status,
        group: groups.find((g) => g.vServerGroupId === l.vServerGroupId)?.vServerGroupName,
        forwardPort: l.forwardPort,
        uri: l.healthCheck.healthCheckURI,
        interval: l.healthCheck.healthCheckInterval,
        certificateSans: l.serverCertificateId
          ? certs.get(l.serverCertificateId)?.subjectAlternativeNames
          : undefined,
      }))
      .sort((a, b) => a.port - b.port),
    extensionDomains: state.domainExtensions
      .filter((d) => d.loadBalancerId === lb.loadBalancerId)
      .map((d) => ({
        domain: d.domain,
        port: d.listenerPort,
        certificate: certs.get(d.serverCertificateId)?.serverCertificateName,
      })),
  };
}

describe('apply', () => {
  it('builds the mall from an empty region, then a second apply writes nothing', async () => {
    cloud = await startTestCloud({ scenario: 'mall-unprovisioned' });
    const spec = parseSpec(createdMall);
    const progress: string[] = [];
    const result = await applySpec(depsFor(cloud), spec, {
      onProgress: (e) => progress.push(`${e.index}/${e.total} ${e.status}`),
    });
    expect(result.failed).toBeUndefined();
    expect(result.done.map((a) => a.kind)).toEqual([
      'createLoadBalancer',
      'createVServerGroup',
      'createListener',
      'createListener',
      'createDomainExtension',
      'startListener',
      'startListener',
    ]);
    expect(progress.slice(0, 2)).toEqual(['1/7 started', '1/7 done']);
    // One certificate (CAS's renewed one covers all three domains) uploaded once for both references.
    expect(result.uploadedCertificates).toHaveLength(1);

    const shape = mallShape(cloud.state());
    expect(shape).toEqual({
      tags: markerTags(DEFAULT_OWNERSHIP),
      groups: [
        {
          name: 'mall-backends',
          backends: [`${MALL.k8s.serverId}:30250@100`, `${MALL.ecs.serverId}:8050@0`],
          tags: markerTags(DEFAULT_OWNERSHIP),
        },
      ],
      listeners: [
        {
          port: 80,
          protocol: 'http',
          status: 'running',
          group: undefined,
          forwardPort: 443,
          uri: undefined,
          interval: undefined,
          certificateSans: undefined,
        },
        {
          port: 443,
          protocol: 'https',
          status: 'running',
          group: 'mall-backends',
          forwardPort: undefined,
          uri: '/healthz',
          interval: 2,
          certificateSans: [...MALL.renewed.domains],
        },
      ],
      extensionDomains: [
        { domain: 'm.mall.example.com', port: 443, certificate: expect.stringMatching(/^slbap-/) },
      ],
    });

    const writesBefore = writeCalls(cloud);
    const again = await applySpec(depsFor(cloud), spec);
    expect(again.plan.actions).toEqual([]);
    expect(writeCalls(cloud)).toBe(writesBefore);
  });

  it('repairs a weight changed by hand, with one write', async () => {
    cloud = await startTestCloud({ scenario: 'mall' });
    const deps = depsFor(cloud);
    await deps.slb.setVServerGroupAttribute({
      regionId: MALL.regionId,
      vServerGroupId: MALL.vServerGroup.vServerGroupId,
      backendServers: [{ serverId: MALL.k8s.serverId, port: 30250, weight: 10 }],
    });
    const writes = writeCalls(cloud);
    const result = await applySpec(deps, parseSpec(mallYaml));
    expect(result.done.map((a) => a.kind)).toEqual(['setBackendWeights']);
    // The weight, and the writer lease taken and given back (a claim tag on the load balancer).
    expect(writeCalls(cloud)).toBe(writes + 3);
    expect(cloud.calls().calls).toMatchObject({ TagResources: 1, UntagResources: 1 });
    expect(cloud.state().loadBalancers[0]?.tags).toEqual([{ key: 'app', value: 'mall' }]);
    const group = cloud
      .state()
      .vServerGroups.find((g) => g.vServerGroupId === MALL.vServerGroup.vServerGroupId);
    expect(group?.backendServers.map((b) => [b.serverId, b.weight, b.description])).toEqual([
      [MALL.k8s.serverId, 100, 'k8s-nodeport'],
      [MALL.ecs.serverId, 0, 'ecs-standby'],
    ]);
    expect((await observeAndPlan(deps.slb, parseSpec(mallYaml), DEFAULT_OWNERSHIP)).plan.actions).toEqual([]);
  });

  it('turns the redirect into a plain listener by replacing it: no Set action changes a redirect', async () => {
    // Prepare: the mall's HTTP 80 redirects to 443; the spec now wants it to serve the group
    cloud = await startTestCloud({ scenario: 'mall' });
    const spec = parseSpec(
      edit(mallYaml, (s) => {
        const http = s.loadBalancers[0].listeners[1];
        delete http.redirectToHttps;
        http.vServerGroup = s.loadBalancers[0].vServerGroups[0].name;
      }),
    );
    // Act
    const result = await applySpec(depsFor(cloud), spec);
    // Assess
    expect(result.failed).toBeUndefined();
    expect(result.done.map((a) => a.kind)).toEqual(['deleteListener', 'createListener', 'startListener']);
    const http = cloud.state().listeners.find((l) => l.listenerPort === 80);
    expect([http?.listenerForward, http?.vServerGroupId, http?.status]).toEqual([
      undefined,
      MALL.vServerGroup.vServerGroupId,
      'running',
    ]);
    expect((await observeAndPlan(depsFor(cloud).slb, spec, DEFAULT_OWNERSHIP)).plan.actions).toEqual([]);
  });

  it('removes a backend dropped from the spec of a group it created, but not from an adopted group', async () => {
    cloud = await startTestCloud({ scenario: 'mall-unprovisioned' });
    await applySpec(depsFor(cloud), parseSpec(createdMall));
    const dropEcs = (text: string) =>
      edit(text, (s) => s.loadBalancers[0].vServerGroups[0].backends.splice(1, 1));
    const result = await applySpec(depsFor(cloud), parseSpec(dropEcs(createdMall)));
    expect(result.done.map((a) => a.kind)).toEqual(['removeBackends']);
    expect(cloud.state().vServerGroups[0]?.backendServers.map((b) => b.serverId)).toEqual([
      MALL.k8s.serverId,
    ]);

    await cloud.close();
    cloud = await startTestCloud({ scenario: 'mall' });
    const adopted = await applySpec(depsFor(cloud), parseSpec(dropEcs(mallYaml)));
    expect(adopted.plan.actions).toEqual([]);
    expect(adopted.plan.leftAlone).toEqual([
      expect.objectContaining({ what: `backend ${MALL.ecs.serverId}:8050 in group mall-backends` }),
    ]);
    const exclusive = await applySpec(
      depsFor(cloud),
      parseSpec(
        edit(dropEcs(mallYaml), (s) => {
          s.loadBalancers[0].vServerGroups[0].exclusive = true;
        }),
      ),
    );
    expect(exclusive.done.map((a) => a.kind)).toEqual(['removeBackends']);
  });

  it('deletes a listener and a group it created once the spec drops them, and nothing else', async () => {
    cloud = await startTestCloud({ scenario: 'mall-unprovisioned' });
    const withExtra = edit(createdMall, (s) => {
      s.loadBalancers[0].vServerGroups.push({ name: 'extra', backends: [] });
      s.loadBalancers[0].listeners.push({ protocol: 'http', port: 8080, vServerGroup: 'extra' });
    });
    await applySpec(depsFor(cloud), parseSpec(withExtra));
    expect(
      cloud
        .state()
        .listeners.map((l) => l.listenerPort)
        .sort(),
    ).toEqual([443, 80, 8080].sort());
    const dropped = await applySpec(depsFor(cloud), parseSpec(createdMall));
    expect(dropped.done.map((a) => a.kind)).toEqual(['deleteListener', 'deleteVServerGroup']);
    const state = cloud.state();
    expect(state.listeners.map((l) => l.listenerPort).sort()).toEqual([443, 80].sort());
    expect(state.vServerGroups.map((g) => g.vServerGroupName)).toEqual(['mall-backends']);
    expect(
      (await observeAndPlan(depsFor(cloud).slb, parseSpec(createdMall), DEFAULT_OWNERSHIP)).plan.actions,
    ).toEqual([]);
  });

  it('a second deployment (another id) neither finds nor deletes what the first created', async () => {
    cloud = await startTestCloud({ scenario: 'mall-unprovisioned' });
    const withExtra = edit(createdMall, (s) => {
      s.loadBalancers[0].vServerGroups.push({ name: 'extra', backends: [] });
      s.loadBalancers[0].listeners.push({ protocol: 'http', port: 8080, vServerGroup: 'extra' });
    });
    await applySpec(depsFor(cloud), parseSpec(withExtra));
    const lbId = cloud.state().loadBalancers[0]?.loadBalancerId ?? '';
    const second = { ...depsFor(cloud), ownership: ownershipMarker({ deploymentId: 'staging' }) };

    // By name it is not the second deployment's load balancer: it would make its own.
    const byName = await observeAndPlan(second.slb, parseSpec(createdMall), second.ownership);
    expect(byName.plan.actions[0]?.kind).toBe('createLoadBalancer');

    // Adopted by id, the first deployment's listener and group are not the second's to delete.
    const adopted = edit(createdMall, (s) => {
      delete s.loadBalancers[0].create;
      s.loadBalancers[0].id = lbId;
    });
    const before = cloud.state();
    const r = await applySpec(second, parseSpec(adopted));
    expect(r.done).toEqual([]);
    expect(r.plan.leftAlone.map((l) => l.what)).toEqual(
      expect.arrayContaining(['http listener on port 8080', 'VServer group extra']),
    );
    expect(cloud.state().listeners).toEqual(before.listeners);
    expect(cloud.state().vServerGroups).toEqual(before.vServerGroups);

    // The first deployment, with the same spec, removes what it created.
    const own = await applySpec(depsFor(cloud), parseSpec(adopted));
    expect(own.done.map((a) => a.kind)).toEqual(['deleteListener', 'deleteVServerGroup']);
  });

  it.each([1, 3, 5])(
    'converges after a run cut short after %i writes: nothing duplicated, nothing orphaned',
    async (n) => {
      cloud = await startTestCloud({ scenario: 'mall-unprovisioned' });
      const spec = parseSpec(createdMall);
      cloud.setFaults({ failWritesAfter: n });
      const first = await applySpec(depsFor(cloud), spec);
      expect(first.failed?.error.message).toContain('Forbidden.RAM');
      expect(first.remaining.length).toBeGreaterThan(0);

      cloud.setFaults({});
      // The cut-short run could not give its lease back either: the next apply after it expired.
      const later = { ...depsFor(cloud), now: () => new Date(Date.now() + TEST_LEASE.ttlMs) };
      const second = await applySpec(later, spec);
      expect(second.failed).toBeUndefined();
      // Exactly what was still missing was done the second time.
      expect(second.done.length).toBeLessThanOrEqual(first.remaining.length + 1);
      const state = cloud.state();
      expect(state.loadBalancers).toHaveLength(1);
      expect(state.vServerGroups).toHaveLength(1);
      expect(state.listeners).toHaveLength(2);
      expect(state.domainExtensions).toHaveLength(1);
      // The uploaded certificate is referenced (not an orphan), and only one was uploaded.
      expect(state.serverCertificates).toHaveLength(1);
      expect(state.listeners.find((l) => l.listenerPort === 443)?.serverCertificateId).toBe(
        state.serverCertificates[0]?.serverCertificateId,
      );
      expect(mallShape(state)?.listeners.every((l) => l.status === 'running')).toBe(true);
      expect((await observeAndPlan(depsFor(cloud).slb, spec, DEFAULT_OWNERSHIP)).plan.actions).toEqual([]);
    },
  );

  it.each([
    [
      'a PEM file that does not exist',
      { pem: { certFile: '/nonexistent/cert.pem', keyFile: '/nonexistent/key.pem' } },
      /listeners\[443\]\.certificate\.pem\.certFile: not a readable certificate file/,
    ],
    [
      'an unset environment variable',
      { pem: { certEnv: 'MALL_CERT', keyEnv: 'MALL_KEY' } },
      /listeners\[443\]\.certificate\.pem\.certEnv: not a readable certificate/,
    ],
    [
      'a CAS domain nothing covers',
      { cas: { domain: 'shop.example.org' } },
      /listeners\[443\]\.certificate\.cas: CAS holds no valid certificate covering/,
    ],
    [
      'a server certificate id that does not exist',
      { serverCertificateId: 'nope' },
      /listeners\[443\]\.certificate\.serverCertificateId: no server certificate nope/,
    ],
  ])('refuses %s before any write', async (_name, certificate, message) => {
    cloud = await startTestCloud({ scenario: 'mall-unprovisioned' });
    const before = cloud.state();
    const spec = parseSpec(
      edit(createdMall, (s) => (s.loadBalancers[0].listeners[0].certificate = certificate)),
    );
    await expect(applySpec(depsFor(cloud), spec)).rejects.toThrow(message);
    expect(writeCalls(cloud)).toBe(0);
    expect(cloud.state()).toEqual(before);
  });

  it('refuses a PEM pair whose key belongs to another certificate, naming the field and leaking no key', async () => {
    cloud = await startTestCloud({ scenario: 'mall-unprovisioned' });
    const before = cloud.state();
    const [a, b] = before.casCertificates;
    if (!a || !b) throw new Error('the mall has CAS certificates');
    const spec = parseSpec(
      edit(
        createdMall,
        (s) => (s.loadBalancers[0].listeners[0].certificate = { pem: { certEnv: 'C', keyEnv: 'K' } }),
      ),
    );
    const err = await applySpec(depsFor(cloud, { C: a.certPem, K: b.keyPem }), spec).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(err?.message).toMatch(/listeners\[443\]\.certificate: .*key/i);
    expect(err?.message).not.toContain('PRIVATE KEY');
    expect(err?.message).not.toContain(b.keyPem.split('\n')[1]);
    expect(cloud.state()).toEqual(before);
  });
});

describe('duplicate certificates', () => {
  it('a new reference never takes the copy the repair deletes: the apply converges in one run', async () => {
    // Prepare: two of our copies of one certificate (a lost answer made an upload run twice); B was
    // uploaded first and serves nothing, A serves the listener. The spec adds an extension domain whose
    // CAS source is that same certificate.
    cloud = await startTestCloud({ scenario: 'mall' });
    const layer = cloudLayerFor(cloud);
    const pair = await layer.cas.getCertificate(MALL.renewed.certId);
    const upload = (name: string) =>
      layer.slb.uploadServerCertificate({
        regionId: MALL.regionId,
        serverCertificateName: name,
        tags: markerTags(DEFAULT_OWNERSHIP),
        pem: { certificate: pair.certPem, privateKey: pair.privateKey.reveal() },
      });
    const b = await upload('slbap-copy-b');
    const a = await upload('slbap-copy-a');
    await layer.slb.setHttpsListenerAttribute({
      regionId: MALL.regionId,
      loadBalancerId: MALL.loadBalancerId,
      listenerPort: 443,
      serverCertificateId: a.serverCertificateId,
    });
    const spec = parseSpec(
      edit(mallYaml, (s) => {
        s.loadBalancers[0].listeners[0].extensionDomains.push({
          domain: 'mall.example.com',
          certificate: { cas: { certId: MALL.renewed.certId } },
        });
      }),
    );
    // Act
    const r = await applySpec(depsFor(cloud), spec);
    // Assess: no failure (before: deleting B failed, the new extension domain had just taken it)
    expect(r.failed).toBeUndefined();
    const state = cloud.state();
    const copies = state.serverCertificates.filter((c) => c.fingerprint === a.fingerprint);
    expect(copies.map((c) => c.serverCertificateId)).toEqual([a.serverCertificateId]);
    expect(state.domainExtensions.find((d) => d.domain === 'mall.example.com')?.serverCertificateId).toBe(
      a.serverCertificateId,
    );
    expect(b.serverCertificateId).not.toBe(a.serverCertificateId);
    // A second apply writes nothing.
    const before = writeCalls(cloud);
    expect((await applySpec(depsFor(cloud), spec)).done).toEqual([]);
    expect(writeCalls(cloud)).toBe(before);
  });
});

describe('forwarding rules and extension domains follow the spec', () => {
  const withRules = edit(createdMall, (s) => {
    s.loadBalancers[0].listeners[0].rules = [
      { name: 'api', domain: 'api.mall.example.com', vServerGroup: 'mall-backends' },
      { name: 'img', url: '/img', vServerGroup: 'mall-backends' },
    ];
  });
  const rulesOf = (state: CloudState) =>
    state.rules.map((r) => `${r.listenerPort} ${r.ruleName} ${r.domain ?? ''}${r.url ?? ''}`).sort();

  it('on a listener apply created: a dropped rule and extension domain are deleted, a changed rule replaced', async () => {
    // Prepare
    cloud = await startTestCloud({ scenario: 'mall-unprovisioned' });
    await applySpec(depsFor(cloud), parseSpec(withRules));
    expect(rulesOf(cloud.state())).toEqual(['443 api api.mall.example.com', '443 img /img']);
    expect(cloud.state().domainExtensions.map((d) => d.domain)).toEqual(['m.mall.example.com']);
    const changed = edit(withRules, (s) => {
      const https = s.loadBalancers[0].listeners[0];
      https.rules = [
        { name: 'api', domain: 'api.mall.example.com', url: '/v2', vServerGroup: 'mall-backends' },
      ];
      https.extensionDomains = [];
    });
    // Act
    const r = await applySpec(depsFor(cloud), parseSpec(changed));
    // Assess
    expect(r.failed).toBeUndefined();
    expect(r.done.map((a) => a.kind)).toEqual([
      'renameRule',
      'createRule',
      'deleteRule',
      'deleteRule',
      'deleteDomainExtension',
    ]);
    expect(rulesOf(cloud.state())).toEqual(['443 api api.mall.example.com/v2']);
    expect(cloud.state().domainExtensions).toEqual([]);
    // Converged: a second apply plans nothing and writes nothing.
    const writes = writeCalls(cloud);
    const again = await applySpec(depsFor(cloud), parseSpec(changed));
    expect(again.plan.actions).toEqual([]);
    expect(writeCalls(cloud)).toBe(writes);
  });

  it.each([
    [1, 'renameRule'],
    [2, 'createRule'],
    [3, 'deleteRule'],
  ] as const)(
    'a rule replacement cut short after %i writes (at %s) converges on the next apply, leaving no stray rule',
    async (n, failedAt) => {
      // Prepare
      cloud = await startTestCloud({ scenario: 'mall-unprovisioned' });
      await applySpec(depsFor(cloud), parseSpec(withRules));
      const moved = parseSpec(
        edit(withRules, (s) => {
          s.loadBalancers[0].listeners[0].rules[0].url = '/v2';
        }),
      );
      cloud.setFaults({ failWritesAfter: n });
      // Act
      const cut = await applySpec(depsFor(cloud), moved);
      cloud.setFaults({});
      const later = { ...depsFor(cloud), now: () => new Date(Date.now() + TEST_LEASE.ttlMs) };
      const next = await applySpec(later, moved);
      // Assess
      expect(cut.failed?.action.kind).toBe(failedAt);
      expect(cut.failed?.report.code).toBe('Forbidden.RAM');
      expect(next.failed).toBeUndefined();
      expect(rulesOf(cloud.state())).toEqual(['443 api api.mall.example.com/v2', '443 img /img']);
      expect((await observeAndPlan(depsFor(cloud).slb, moved, DEFAULT_OWNERSHIP)).plan.actions).toEqual([]);
    },
  );

  it('on a listener it did not create: a rule and an extension domain made by hand are never touched', async () => {
    // Prepare: the mall is adopted; someone adds a rule and an extension domain in the console.
    cloud = await startTestCloud({ scenario: 'mall' });
    const layer = cloudLayerFor(cloud);
    const at = { regionId: MALL.regionId, loadBalancerId: MALL.loadBalancerId, listenerPort: 443 };
    await layer.slb.createRules({
      ...at,
      rules: [{ ruleName: 'by-hand', url: '/hand', vServerGroupId: MALL.vServerGroup.vServerGroupId }],
    });
    const certificate = cloud.state().domainExtensions[0]?.serverCertificateId ?? '';
    await layer.slb.createDomainExtension({
      ...at,
      domain: 'hand.mall.example.com',
      serverCertificateId: certificate,
    });
    const before = cloud.state();
    const writes = writeCalls(cloud);
    // Act
    const r = await applySpec(depsFor(cloud), parseSpec(mallYaml));
    // Assess
    expect(r.plan.actions).toEqual([]);
    expect(r.plan.leftAlone.map((l) => `${l.what}: ${l.why}`)).toEqual([
      'rule by-hand on port 443: not in the spec, and the HTTPS listener on 443 is not ours (it carries no marker of this deployment)',
      'extension domain hand.mall.example.com on port 443: not in the spec, and the HTTPS listener on 443 is not ours (it carries no marker of this deployment)',
    ]);
    expect(writeCalls(cloud)).toBe(writes);
    expect(cloud.state().rules).toEqual(before.rules);
    expect(cloud.state().domainExtensions).toEqual(before.domainExtensions);
  });
});
