// Certificate renewal on the local cloud's mall, with its TLS front ends: the due certificate replaced on
// the listener and the due extension domain, proven by real handshakes; a second run writes nothing;
// an unrelated extension domain untouched; a failed propagation rolled back; old certificates deleted
// only after verification and grace; dry run and a missing replacement change nothing.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { handler } from '../../functions/cert-renewal/index';
import { createTestCa } from '../../scripts/local-cloud/pki';
import { MALL } from '../../scripts/local-cloud/scenarios/mall-fixture';
import { localCloudListenerAddress } from '../../shared/cloud/listener-address';
import { fetchServedCertificate, waitForServedCertificate } from '../../shared/cloud/tls-probe';
import { markerTags } from '../../shared/domain/ownership';
import { parseSpec } from '../../shared/domain/spec';
import { describeRenewal, REPLACED_AT_TAG, runCertRenewal } from '../../shared/workflows/cert-renewal';
import { DEFAULT_OWNERSHIP, TEST_LEASE, TEST_LEASE_ENV } from '../support/deployment';
import { fcContext } from '../support/fc';
import { cloudLayerFor, startTestCloud, type TestCloud } from '../support/local-cloud';

const mallYaml = readFileSync(join(__dirname, '..', '..', 'examples', 'mall.yaml'), 'utf8');
const saved = { ...process.env };
afterAll(() => {
  process.env = saved;
});
const DAY = 86_400_000;

let cloud: TestCloud;
beforeEach(async () => {
  cloud = await startTestCloud({ scenario: 'mall' });
  process.env.SLB_AUTOPILOT_LOCAL_CLOUD = cloud.url;
  process.env.SLB_AUTOPILOT_SPEC = mallYaml;
  process.env.SLB_AUTOPILOT_VERIFY_ATTEMPTS = '2';
  process.env.SLB_AUTOPILOT_VERIFY_DELAY_MS = '0';
  Object.assign(process.env, TEST_LEASE_ENV);
});
afterEach(() => cloud.close());

const run = (event: unknown = { source: 'timer' }) =>
  handler(Buffer.from(JSON.stringify(event)), fcContext('cert-renewal'));
const writes = () =>
  Object.entries(cloud.calls().calls)
    .filter(([a]) => !/^(Describe|List|Get)/.test(a))
    .reduce((n, [, k]) => n + k, 0);
const listener = () => cloud.state().listeners.find((l) => l.listenerPort === 443);
const mobile = () => cloud.state().domainExtensions.find((d) => d.domain === MALL.extensionDomain.domain);
async function served(servername: string) {
  const fe = (await cloud.frontEnds()).find((f) => f.listenerPort === 443);
  if (!fe) throw new Error('no front end for 443');
  return fetchServedCertificate({ host: fe.host, port: fe.port, servername });
}

describe('cert-renewal', () => {
  it('replaces the due certificate on the listener and the extension domain, proven by handshakes; a second run writes nothing', async () => {
    const before = cloud.state();
    const renewed = before.casCertificates.find((c) => c.certId === MALL.renewed.certId);
    const r = await run();
    expect(r.ok).toBe(true);
    const refs = r.report?.references ?? [];
    expect(refs.map((x) => [x.reference, x.action])).toEqual([
      [`${MALL.loadBalancerId}:443`, 'rotated'],
      [`${MALL.loadBalancerId}:443/${MALL.extensionDomain.domain}`, 'rotated'],
    ]);
    // Uploaded once for both references.
    expect(r.report?.uploaded).toHaveLength(1);
    expect(cloud.state().serverCertificates).toHaveLength(before.serverCertificates.length + 1);
    expect(listener()?.serverCertificateId).toBe(r.report?.uploaded[0]);
    expect(mobile()?.serverCertificateId).toBe(r.report?.uploaded[0]);
    // What the front end serves now, for every domain.
    for (const domain of [...MALL.https.domains, MALL.extensionDomain.domain]) {
      const leaf = await served(domain);
      expect(leaf.fingerprintSha256).toBe(renewed?.sha2.toLowerCase());
    }
    expect(refs[0]?.verification?.every((v) => v.result.startsWith('served after'))).toBe(true);
    // The old certificates were uploaded by hand (not ours): kept.
    expect(r.report?.deleted).toEqual([]);

    const w = writes();
    const again = await run();
    expect(again.report?.references.every((x) => x.action === 'notDue')).toBe(true);
    expect(writes()).toBe(w);
  });

  it('leaves an unrelated extension domain and its certificate alone', async () => {
    const layer = cloudLayerFor(cloud);
    const ca = await createTestCa({ now: new Date() });
    const pair = await ca.issue({
      commonName: 'api.other.example.org',
      sans: ['api.other.example.org'],
      notBefore: new Date(Date.now() - DAY),
      notAfter: new Date(Date.now() + 200 * DAY),
    });
    const other = await layer.slb.uploadServerCertificate({
      regionId: MALL.regionId,
      serverCertificateName: 'other-2026',
      pem: { certificate: pair.chainPem, privateKey: pair.keyPem },
    });
    await layer.slb.createDomainExtension({
      regionId: MALL.regionId,
      loadBalancerId: MALL.loadBalancerId,
      listenerPort: 443,
      domain: 'api.other.example.org',
      serverCertificateId: other.serverCertificateId,
    });
    const r = await run();
    expect(r.report?.references.find((x) => x.reference.endsWith('/api.other.example.org'))?.action).toBe(
      'notDue',
    );
    expect(
      cloud.state().domainExtensions.find((d) => d.domain === 'api.other.example.org')?.serverCertificateId,
    ).toBe(other.serverCertificateId);
    expect((await served('api.other.example.org')).subjectCN).toBe('api.other.example.org');
  });

  it('rolls back a reference whose front end keeps serving the old certificate, and reports the failure', async () => {
    const old = listener()?.serverCertificateId;
    const oldMobile = mobile()?.serverCertificateId;
    cloud.setFaults({ staleFrontEnds: [`${MALL.loadBalancerId}:443`] });
    const r = await run();
    expect(r.ok).toBe(false);
    expect(r.report?.references.map((x) => x.action)).toEqual(['rolledBack', 'rolledBack']);
    expect(r.report?.references[0]?.error).toContain(`rolled back to ${old}`);
    expect(listener()?.serverCertificateId).toBe(old);
    expect(mobile()?.serverCertificateId).toBe(oldMobile);
    // The uploaded replacement was never verified: kept, not deleted, no replaced-at tag anywhere.
    expect(cloud.state().serverCertificates.some((c) => c.tags.some((t) => t.key === REPLACED_AT_TAG))).toBe(
      false,
    );
  });

  it('rotates a listener one of whose domains its own extension domain answers, after a rolled-back switch', async () => {
    // The sequence a chaos run found: the listener's spec domains include www.mall.example.com, which
    // an extension domain with its own certificate also serves. A switch under stale front ends must
    // roll back and settle (not leave its marker), and the next clean run must rotate the listener.
    const layer = cloudLayerFor(cloud);
    const ca = await createTestCa({ now: new Date() });
    const pair = await ca.issue({
      commonName: 'www.mall.example.com',
      sans: ['www.mall.example.com'],
      notBefore: new Date(Date.now() - DAY),
      notAfter: new Date(Date.now() + 200 * DAY),
    });
    const www = await layer.slb.uploadServerCertificate({
      regionId: MALL.regionId,
      serverCertificateName: 'www-2026',
      pem: { certificate: pair.chainPem, privateKey: pair.keyPem },
    });
    await layer.slb.createDomainExtension({
      regionId: MALL.regionId,
      loadBalancerId: MALL.loadBalancerId,
      listenerPort: 443,
      domain: 'www.mall.example.com',
      serverCertificateId: www.serverCertificateId,
    });
    const old = listener()?.serverCertificateId;
    const markers = () =>
      cloud
        .state()
        .loadBalancers.find((l) => l.loadBalancerId === MALL.loadBalancerId)
        ?.tags.filter((t) => t.key.startsWith('slb-autopilot:rotation:')) ?? [];

    cloud.setFaults({ staleFrontEnds: [`${MALL.loadBalancerId}:443`] });
    const stale = await run();
    const ref = (r: typeof stale, id: string) => r.report?.references.find((x) => x.reference === id);
    expect(ref(stale, `${MALL.loadBalancerId}:443`)?.action).toBe('rolledBack');
    expect(listener()?.serverCertificateId).toBe(old);
    expect(markers()).toEqual([]);

    cloud.setFaults({});
    const clean = await run();
    expect(clean.report?.markers).toEqual([]);
    expect(ref(clean, `${MALL.loadBalancerId}:443`)?.action).toBe('rotated');
    expect(ref(clean, `${MALL.loadBalancerId}:443/www.mall.example.com`)?.action).toBe('notDue');
    expect(clean.ok).toBe(true);
    const renewed = cloud.state().casCertificates.find((c) => c.certId === MALL.renewed.certId);
    expect((await served('mall.example.com')).fingerprintSha256).toBe(renewed?.sha2.toLowerCase());
    // The extension domain keeps its own certificate.
    expect((await served('www.mall.example.com')).subjectCN).toBe('www.mall.example.com');
    expect(
      cloud.state().domainExtensions.find((d) => d.domain === 'www.mall.example.com')?.serverCertificateId,
    ).toBe(www.serverCertificateId);
    expect(markers()).toEqual([]);
  });

  it('notifies a signed webhook when a rotation is rolled back', async () => {
    const received: { headers: Record<string, string | string[] | undefined>; body: string }[] = [];
    const hook = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => {
        body += c.toString();
      });
      req.on('end', () => {
        received.push({ headers: req.headers, body });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
    try {
      const port = (hook.address() as AddressInfo).port;
      process.env.SLB_AUTOPILOT_SPEC = `${mallYaml}\nnotify:\n  webhook:\n    url: http://127.0.0.1:${port}/hooks\n    secretEnv: HOOK_SECRET\n`;
      process.env.HOOK_SECRET = 'hook-secret-0123456789abcdef0123456789';
      cloud.setFaults({ staleFrontEnds: true });
      const r = await run();
      expect(r.ok).toBe(false);
      expect(received).toHaveLength(1);
      const note = JSON.parse(received[0]?.body ?? '{}') as { title: string; severity: string };
      expect(note).toMatchObject({ title: 'cert-renewal: FAILED', severity: 'error' });
      expect(received[0]?.headers['x-slbap-signature']).toMatch(/^v2=[0-9a-f]{64}$/);
      expect(received[0]?.body).not.toContain('PRIVATE KEY');
    } finally {
      delete process.env.HOOK_SECRET;
      await new Promise<void>((r) => hook.close(() => r()));
    }
  });

  it.each([
    [
      'expired',
      { notBefore: -100, notAfter: -1, sans: ['mall.example.com', 'www.mall.example.com'] },
      /expired/i,
    ],
    [
      'not yet valid',
      { notBefore: 2, notAfter: 100, sans: ['mall.example.com', 'www.mall.example.com'] },
      /not valid before/,
    ],
    [
      'SAN-mismatched',
      { notBefore: -1, notAfter: 100, sans: ['shop.example.org'] },
      /does not cover mall\.example\.com, www\.mall\.example\.com/,
    ],
    [
      'key-mismatched',
      { notBefore: -1, notAfter: 100, sans: ['mall.example.com', 'www.mall.example.com'], otherKey: true },
      /key/i,
    ],
    ['malformed', { malformed: true }, /pem\.certEnv: not a readable certificate/],
  ])('refuses %s material from the spec with a reason and zero writes', async (_name, m, reason) => {
    const ca = await createTestCa({ now: new Date() });
    const issue = (sans: string[], from: number, to: number) =>
      ca.issue({
        commonName: sans[0] ?? 'x',
        sans,
        notBefore: new Date(Date.now() + from * DAY),
        notAfter: new Date(Date.now() + to * DAY),
      });
    const material =
      'malformed' in m
        ? { cert: '-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n', key: 'nope' }
        : await (async () => {
            const pair = await issue(m.sans ?? [], m.notBefore ?? -1, m.notAfter ?? 100);
            const other = 'otherKey' in m ? await issue(m.sans ?? [], -1, 100) : pair;
            return { cert: pair.chainPem, key: other.keyPem };
          })();
    process.env.SLB_AUTOPILOT_SPEC = mallYaml.replace(
      'cas: { domain: www.mall.example.com }',
      'pem: { certEnv: NEW_CERT, keyEnv: NEW_KEY }',
    );
    process.env.NEW_CERT = material.cert;
    process.env.NEW_KEY = material.key;
    try {
      const before = cloud.state();
      const r = await run({ dryRun: false });
      const listenerRef = r.report?.references.find((x) => x.kind === 'listener');
      expect(listenerRef?.action).toBe('noReplacement');
      expect(listenerRef?.error).toMatch(reason);
      expect(JSON.stringify(r)).not.toContain('PRIVATE KEY');
      expect(cloud.state().listeners).toEqual(before.listeners);
      expect(cloud.state().serverCertificates.length).toBe(before.serverCertificates.length + 1);
    } finally {
      delete process.env.NEW_CERT;
      delete process.env.NEW_KEY;
    }
  });

  it('warns when the region holds 90 or more of its 100 server certificates', async () => {
    const spec = parseSpec(mallYaml);
    const state = cloud.state();
    const [first] = state.serverCertificates;
    if (!first) throw new Error('the mall has certificates');
    // 88 more records of an existing certificate (the quota counts records, not distinct certificates).
    const crowded = structuredClone(state);
    for (let i = 0; i < 88; i++)
      crowded.serverCertificates.push({
        ...first,
        serverCertificateId: `${first.serverCertificateId}-copy${i}`,
        tags: [],
      });
    await cloud.close();
    cloud = await startTestCloud({ scenario: crowded });
    const r = await runCertRenewal(
      {
        slb: cloudLayerFor(cloud).slb,
        cas: cloudLayerFor(cloud).cas,
        now: () => new Date(),
        env: {},
        readFile: () => '',
        listenerAddress: localCloudListenerAddress(cloud.url),
        verify: (req) => waitForServedCertificate({ ...req, attempts: 2, delayMs: 0 }),
        ownership: DEFAULT_OWNERSHIP,
        lease: TEST_LEASE,
      },
      spec,
      { dryRun: true },
    );
    expect(r.warnings).toEqual([
      { message: `cn-hangzhou holds 90 of 100 server certificates: near the quota` },
    ]);
  });

  it('changes nothing in a dry run, and reports what it would do', async () => {
    const before = cloud.state();
    const r = await run({ dryRun: true });
    expect(r.report?.references.map((x) => x.action)).toEqual(['wouldRotate', 'wouldRotate']);
    expect(writes()).toBe(0);
    expect(cloud.state()).toEqual(before);
  });

  it('refuses a bad event without touching the cloud', async () => {
    const r = await run({ dryRun: 'yes' });
    expect(r).toEqual({ ok: false, error: expect.stringMatching(/^event\.dryRun: /) });
    expect(cloud.calls().total).toBe(0);
  });

  it('reports a due reference with no covering replacement as a failure and writes nothing', async () => {
    const s = mallYaml.replace('cas: { domain: m.mall.example.com }', 'cas: { domain: shop.example.org }');
    process.env.SLB_AUTOPILOT_SPEC = s;
    const oldMobile = mobile()?.serverCertificateId;
    const r = await run();
    expect(r.ok).toBe(false);
    const mobileRef = r.report?.references.find((x) => x.kind === 'extensionDomain');
    expect(mobileRef?.action).toBe('noReplacement');
    expect(mobileRef?.error).toMatch(/CAS holds no valid certificate covering shop\.example\.org/);
    // The listener itself still rotates; the extension domain keeps its certificate.
    expect(mobile()?.serverCertificateId).toBe(oldMobile);
    expect(r.report?.references[0]?.action).toBe('rotated');
  });

  it('deletes an old certificate we own only after verification and the grace period', async () => {
    const spec = parseSpec(mallYaml);
    const layer = cloudLayerFor(cloud);
    const old = listener()?.serverCertificateId ?? '';
    // Pretend the old certificates were uploaded by this deployment earlier: its name prefix and tag.
    for (const c of cloud.state().serverCertificates)
      await layer.slb.renameServerCertificate({
        regionId: MALL.regionId,
        serverCertificateId: c.serverCertificateId,
        serverCertificateName: `${DEFAULT_OWNERSHIP.namePrefix}${c.serverCertificateName}`,
      });
    await layer.slb.tagResources({
      regionId: MALL.regionId,
      resourceType: 'certificate',
      resourceIds: cloud.state().serverCertificates.map((c) => c.serverCertificateId),
      tags: markerTags(DEFAULT_OWNERSHIP),
    });
    let now = new Date();
    const deps = {
      slb: layer.slb,
      cas: layer.cas,
      now: () => now,
      env: {},
      readFile: () => '',
      listenerAddress: localCloudListenerAddress(cloud.url),
      verify: (req: Parameters<typeof waitForServedCertificate>[0]) =>
        waitForServedCertificate({ ...req, attempts: 2, delayMs: 0 }),
      ownership: DEFAULT_OWNERSHIP,
      lease: TEST_LEASE,
    };
    const first = await runCertRenewal(deps, spec);
    expect(first.deleted).toEqual([]);
    expect(first.kept.map((k) => k.serverCertificateId)).toContain(old);
    now = new Date(now.getTime() + (spec.renewal.gracePeriodDays - 1) * DAY);
    expect((await runCertRenewal(deps, spec)).deleted).toEqual([]);
    now = new Date(now.getTime() + 2 * DAY);
    // A dry run says which ids a run would delete, as ids, and deletes none of them.
    const preview = await runCertRenewal(deps, spec, { dryRun: true });
    expect(preview.deleted).toEqual([]);
    expect(preview.wouldDelete).toContain(old);
    expect(preview.actions).toContainEqual(
      expect.objectContaining({ kind: 'deleteCertificate', id: `delete:${old}`, status: 'planned' }),
    );
    expect(describeRenewal(preview)).toContain(`- would delete: ${old}`);
    expect(cloud.state().serverCertificates.some((c) => c.serverCertificateId === old)).toBe(true);
    const later = await runCertRenewal(deps, spec);
    expect(later.deleted).toContain(old);
    expect(later.wouldDelete).toEqual([]);
    expect(later.actions).toContainEqual(
      expect.objectContaining({ kind: 'deleteCertificate', id: `delete:${old}`, status: 'done' }),
    );
    expect(cloud.state().serverCertificates.some((c) => c.serverCertificateId === old)).toBe(false);
  });
});
