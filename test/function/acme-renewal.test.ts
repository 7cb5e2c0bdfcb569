// ACME issuance feeding renewal, end to end with real parts: the local cloud's mall (SLB, CAS, Alibaba
// Cloud DNS and its authoritative DNS server, TLS front ends) and a real Pebble validating DNS-01 against
// that DNS server. A spec whose 443 listener and extension domain use `acme` sources: the renewal
// issues, uploads, switches and verifies by handshake; then the dry run, a missing account key, the CA's
// rate limit and a run killed between order and finalize. After every test no challenge record remains.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { newAccountKeyPem } from '../../scripts/acme';
import { type Pebble, startPebble } from '../../scripts/local-cloud/acme/pebble';
import { createTestCa } from '../../scripts/local-cloud/pki';
import { MALL } from '../../scripts/local-cloud/scenarios/mall-fixture';
import { type AcmeIssueDeps, createAcmeIssuer } from '../../shared/cloud/acme';
import { certIdOf, fetchRenewalInfo } from '../../shared/cloud/acme-ari';
import { Secret } from '../../shared/cloud/cas';
import type { DnsClient } from '../../shared/cloud/dns';
import { localCloudLookup } from '../../shared/cloud/dns-lookup';
import { localCloudListenerAddress } from '../../shared/cloud/listener-address';
import { fetchServedCertificate, waitForServedCertificate } from '../../shared/cloud/tls-probe';
import { ACME_ARI_ID_TAG, ACME_RETRY_AFTER_TAG } from '../../shared/domain/acme-renewal';
import { parseSpec, type Spec } from '../../shared/domain/spec';
import { describeRenewal, type RenewalDeps, runCertRenewal } from '../../shared/workflows/cert-renewal';
import { DEFAULT_OWNERSHIP, TEST_LEASE } from '../support/deployment';
import { cloudLayerFor, startTestCloud, type TestCloud } from '../support/local-cloud';

const mallYaml = readFileSync(join(__dirname, '..', '..', 'examples', 'mall.yaml'), 'utf8');
const LISTENER = `${MALL.loadBalancerId}:443`;
const EXTENSION = `${MALL.loadBalancerId}:443/${MALL.extensionDomain.domain}`;

let cloud: TestCloud;
let pebble: Pebble;
let accountKey: Secret;
let acme: typeof import('acme-client');
/** every request our ACME client sent to the CA, by path */
const caRequests: string[] = [];
/** one issuance's wall time and DNS API calls, for the closing figures */
const issuances: { domains: string[]; ms: number; reads: number; writes: number }[] = [];

beforeAll(async () => {
  cloud = await startTestCloud({ scenario: 'mall' });
  const dns = cloud.dns();
  if (!dns) throw new Error('local cloud started without its DNS server');
  pebble = await startPebble({ dnsServer: `${dns.host}:${dns.port}` });
  acme = await import('acme-client');
  acme.axios.interceptors.request.use((config) => {
    caRequests.push(new URL(config.url ?? '', 'https://x').pathname);
    return config;
  });
  // The key `npm run acme -- account-key` prints: the ACME account the whole file issues with.
  accountKey = new Secret(newAccountKeyPem());
}, 30_000);
afterAll(async () => {
  await pebble?.stop();
  await cloud?.close();
  if (issuances.length > 0) console.log(JSON.stringify({ acmeIssuances: issuances }));
});
beforeEach(() => {
  cloud.reset();
  caRequests.length = 0;
});
const challengeRecords = () => cloud.state().dnsRecords.filter((r) => r.rr.startsWith('_acme-challenge'));
afterEach(() => {
  expect(challengeRecords()).toEqual([]);
});

/** The mall with `acme` sources on the listener and its extension domain, Pebble as the CA. */
function acmeSpec(): Spec {
  const raw = parseYaml(mallYaml);
  const https = raw.loadBalancers[0].listeners[0];
  const source = { acme: { directory: pebble.directoryUrl, email: 'ops@mall.example.com' } };
  https.certificate = source;
  https.extensionDomains[0].certificate = source;
  return parseSpec(JSON.stringify(raw));
}

function deps(
  o: {
    key?: Secret | undefined;
    now?: () => Date;
    dns?: DnsClient;
    issue?: Partial<AcmeIssueDeps>;
    /** where the CA's renewal information is asked (default: the spec's directory, Pebble: none) */
    ariDirectory?: { url: string; trust: string };
  } = {},
): RenewalDeps {
  const layer = cloudLayerFor(cloud);
  const now = o.now ?? (() => new Date());
  const issuer = createAcmeIssuer(
    {
      dns: o.dns ?? layer.dns,
      lookup: localCloudLookup(cloud.url),
      now,
      sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
      propagationTimeoutMs: 5000,
      propagationPollMs: 50,
      caTrustPem: pebble.tlsCaPem,
      ...o.issue,
    },
    'key' in o ? o.key : accountKey,
  );
  return {
    slb: layer.slb,
    cas: layer.cas,
    now,
    env: {},
    readFile: () => '',
    listenerAddress: localCloudListenerAddress(cloud.url),
    verify: (req) => waitForServedCertificate({ ...req, attempts: 5, delayMs: 50 }),
    ownership: DEFAULT_OWNERSHIP,
    lease: TEST_LEASE,
    acme: {
      configured: issuer.configured,
      renewalInfo: (directoryUrl, certId) =>
        o.ariDirectory
          ? fetchRenewalInfo({
              directoryUrl: o.ariDirectory.url,
              certId,
              now: now(),
              caTrustPem: o.ariDirectory.trust,
            })
          : issuer.renewalInfo(directoryUrl, certId),
      issue: async (order) => {
        const started = performance.now();
        const issued = await issuer.issue(order);
        issuances.push({
          domains: issued.domains,
          ms: Math.round(performance.now() - started),
          ...issued.dnsCalls,
        });
        return issued;
      },
    },
  };
}

const writes = () =>
  Object.entries(cloud.calls().calls)
    .filter(([a]) => !/^(Describe|List|Get)/.test(a))
    .reduce((n, [, k]) => n + k, 0);
const orders = () => caRequests.filter((p) => p.includes('order-plz')).length;
const listener = () => cloud.state().listeners.find((l) => l.listenerPort === 443);
const mobile = () => cloud.state().domainExtensions.find((d) => d.domain === MALL.extensionDomain.domain);
async function served(servername: string) {
  const fe = (await cloud.frontEnds()).find((f) => f.listenerPort === 443);
  if (!fe) throw new Error('no front end for 443');
  return fetchServedCertificate({ host: fe.host, port: fe.port, servername });
}

describe('renewal with acme sources (Pebble, DNS-01 on the local Alibaba Cloud DNS)', () => {
  it('issues for the listener and the extension domain, which serve Pebble’s certificates (handshake verified); a second run writes nothing', async () => {
    const spec = acmeSpec();
    const r = await runCertRenewal(deps(), spec);
    expect(r.failed).toBe(false);
    expect(r.references.map((x) => [x.reference, x.action])).toEqual([
      [LISTENER, 'rotated'],
      [EXTENSION, 'rotated'],
    ]);
    // Two domain sets, two orders, two uploads.
    expect(orders()).toBe(2);
    expect(r.uploaded).toHaveLength(2);
    const [forListener, forMobile] = r.references;
    expect(listener()?.serverCertificateId).toBe(forListener?.after?.serverCertificateId);
    expect(mobile()?.serverCertificateId).toBe(forMobile?.after?.serverCertificateId);
    for (const [domains, ref] of [
      [MALL.https.domains, forListener],
      [[MALL.extensionDomain.domain], forMobile],
    ] as const) {
      for (const domain of domains) {
        const leaf = await served(domain);
        expect(leaf.fingerprintSha1).toBe(ref?.after?.fingerprint);
        expect(leaf.issuerCN).toMatch(/^Pebble Intermediate CA/);
        expect(leaf.sans.sort()).toEqual([...domains].sort());
      }
      expect(ref?.verification?.every((v) => v.result.startsWith('served after'))).toBe(true);
    }
    // Every challenge record added was removed again (also checked after each test).
    const calls = cloud.calls().calls;
    expect(calls.AddDomainRecord).toBe(3);
    expect(calls.DeleteDomainRecord).toBe(3);

    const w = writes();
    const again = await runCertRenewal(deps(), spec);
    expect(again.references.map((x) => x.action)).toEqual(['notDue', 'notDue']);
    expect(writes()).toBe(w);
    expect(orders()).toBe(2);
  }, 60_000);

  it('issues once per domain set when the listener and the extension domain share one', async () => {
    const raw = parseYaml(mallYaml);
    const https = raw.loadBalancers[0].listeners[0];
    const source = {
      acme: { directory: pebble.directoryUrl, domains: [...MALL.https.domains, MALL.extensionDomain.domain] },
    };
    https.certificate = source;
    https.extensionDomains[0].certificate = source;
    const r = await runCertRenewal(deps(), parseSpec(JSON.stringify(raw)));
    expect(r.references.map((x) => x.action)).toEqual(['rotated', 'rotated']);
    expect(orders()).toBe(1);
    expect(r.uploaded).toHaveLength(1);
    expect(listener()?.serverCertificateId).toBe(mobile()?.serverCertificateId);
  }, 60_000);

  it('a dry run says what it would issue, and neither orders nor writes anything', async () => {
    const before = cloud.state();
    const r = await runCertRenewal(deps(), acmeSpec(), { dryRun: true });
    expect(r.references.map((x) => x.action)).toEqual(['wouldRotate', 'wouldRotate']);
    expect(r.references[0]?.why).toContain(
      `would issue via ACME (${pebble.directoryUrl}) for mall.example.com, www.mall.example.com`,
    );
    expect(describeRenewal(r)).toContain('-> mall.example.com (to be issued)');
    expect(caRequests).toEqual([]);
    expect(writes()).toBe(0);
    expect(cloud.calls().calls.AddDomainRecord).toBeUndefined();
    expect(cloud.state()).toEqual(before);
  });

  it('without an account key each acme reference fails, named, and nothing is written or ordered', async () => {
    const before = cloud.state();
    const r = await runCertRenewal(deps({ key: undefined }), acmeSpec());
    expect(r.failed).toBe(true);
    expect(r.references.map((x) => [x.action, x.error])).toEqual([
      [
        'noReplacement',
        `${LISTENER}.certificate.acme: no ACME account key: set SLB_AUTOPILOT_ACME_ACCOUNT_KEY (\`npm run acme -- account-key\` makes one)`,
      ],
      [
        'noReplacement',
        `${EXTENSION}.certificate.acme: no ACME account key: set SLB_AUTOPILOT_ACME_ACCOUNT_KEY (\`npm run acme -- account-key\` makes one)`,
      ],
    ]);
    expect(caRequests).toEqual([]);
    expect(writes()).toBe(0);
    expect(cloud.state()).toEqual(before);
  });

  it('a rate-limited order fails the reference with the CA’s retry time, recorded on the load balancer; the next run waits for it, a later one issues', async () => {
    // Pebble has no rate limits: newOrder answers the CA's documented problem document once per order,
    // every other exchange is with the real Pebble.
    const limit = acme.axios.interceptors.request.use((config) => {
      if (config.url?.includes('order-plz'))
        config.adapter = async () => ({
          status: 429,
          statusText: 'Too Many Requests',
          headers: { 'retry-after': '7200', 'content-type': 'application/problem+json' },
          config,
          data: { type: 'urn:ietf:params:acme:error:rateLimited', detail: 'too many new orders recently' },
        });
      return config;
    });
    const t0 = Date.now();
    const spec = acmeSpec();
    let r: Awaited<ReturnType<typeof runCertRenewal>>;
    try {
      r = await runCertRenewal(deps({ now: () => new Date(t0) }), spec);
    } finally {
      acme.axios.interceptors.request.eject(limit);
    }
    const retryAt = new Date(t0 + 7200_000);
    expect(r.failed).toBe(true);
    expect(r.references.map((x) => x.action)).toEqual(['failed', 'failed']);
    expect(r.references[0]?.error).toContain('too many new orders recently');
    expect(r.references[0]?.error).toContain(`the CA says retry after ${retryAt.toISOString()}`);
    const tag = () =>
      cloud
        .state()
        .loadBalancers.find((l) => l.loadBalancerId === MALL.loadBalancerId)
        ?.tags.find((t) => t.key === ACME_RETRY_AFTER_TAG)?.value;
    expect(tag()).toBe(String(Math.ceil(retryAt.getTime() / 1000)));
    // One order per domain set; the failure is not retried within the run.
    expect(orders()).toBe(2);

    // An hour later: still waiting; nothing asked of the CA, nothing written, and the report says why.
    caRequests.length = 0;
    const w = writes();
    const waiting = await runCertRenewal(deps({ now: () => new Date(t0 + 3600_000) }), spec);
    expect(waiting.references.map((x) => x.action)).toEqual(['noReplacement', 'noReplacement']);
    expect(waiting.references[0]?.error).toBe(
      `the ACME CA's rate limit: not issuing before ${new Date(Math.ceil(retryAt.getTime() / 1000) * 1000).toISOString()} (${ACME_RETRY_AFTER_TAG} on ${MALL.loadBalancerId})`,
    );
    expect(caRequests).toEqual([]);
    expect(writes()).toBe(w);

    // Three hours later: issued, switched, and the wait is gone.
    const later = await runCertRenewal(deps({ now: () => new Date(t0 + 3 * 3600_000) }), spec);
    expect(later.references.map((x) => x.action)).toEqual(['rotated', 'rotated']);
    expect(tag()).toBeUndefined();
  }, 60_000);

  it('a run killed between order and finalize (its cleanup never ran) leaves records; the next run removes them and issues cleanly', async () => {
    const layer = cloudLayerFor(cloud);
    // From the first finalize on, the process is gone: no finalize of this run reaches the CA.
    let killed = false;
    const kill = acme.axios.interceptors.request.use((config) => {
      if (config.url?.includes('finalize-order')) {
        killed = true;
        throw new Error('the function was killed');
      }
      return config;
    });
    // The dead process removes nothing: its deletes never happen.
    const deadDns: DnsClient = {
      ...layer.dns,
      deleteRecord: async () => {
        throw new Error('the function was killed');
      },
    };
    const t0 = Date.now();
    const spec = acmeSpec();
    const r0 = { listener: listener()?.serverCertificateId };
    try {
      const r = await runCertRenewal(deps({ dns: deadDns, now: () => new Date(t0) }), spec);
      expect(r.failed).toBe(true);
      expect(r.references.map((x) => x.action)).toEqual(['noReplacement', 'noReplacement']);
      expect(r.references[0]?.error).toContain('the function was killed');
    } finally {
      acme.axios.interceptors.request.eject(kill);
    }
    expect(killed).toBe(true);
    expect(challengeRecords().length).toBeGreaterThan(0);
    expect(r0.listener).toBe(listener()?.serverCertificateId);

    // The next daily run: the leftovers are stale, removed first; then a clean issuance.
    const next = await runCertRenewal(deps({ now: () => new Date(t0 + 86_400_000) }), spec);
    expect(next.failed).toBe(false);
    expect(next.references.map((x) => x.action)).toEqual(['rotated', 'rotated']);
    expect((await served('mall.example.com')).issuerCN).toMatch(/^Pebble Intermediate CA/);
  }, 60_000);

  it('ACME Renewal Information decides for issued certificates: an open window renews a healthy one, a later window waits', async () => {
    const spec = acmeSpec();
    const first = await runCertRenewal(deps(), spec);
    expect(first.references.map((x) => x.action)).toEqual(['rotated', 'rotated']);
    // The upload carries its ARI id, so renewal can ask the CA without the PEM (SLB does not return it).
    const leaf = await served('mall.example.com');
    const uploaded = cloud
      .state()
      .serverCertificates.find((c) => c.serverCertificateId === listener()?.serverCertificateId);
    expect(uploaded?.tags.find((t) => t.key === ACME_ARI_ID_TAG)?.value).toBe(certIdOf(leaf.pem));

    // A CA that offers ARI (Pebble 2.4 does not): a directory and renewalInfo on loopback TLS.
    const ca = await createTestCa({ now: new Date() });
    const tls = await ca.issue({
      commonName: '127.0.0.1',
      sans: ['127.0.0.1'],
      notBefore: new Date(Date.now() - 3600_000),
      notAfter: new Date(Date.now() + 86_400_000),
    });
    let window = {
      start: new Date(Date.now() + 10 * 86_400_000),
      end: new Date(Date.now() + 11 * 86_400_000),
    };
    const asked: string[] = [];
    const server = createServer({ cert: tls.chainPem, key: tls.keyPem }, (req, res) => {
      const base = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
      if (req.url === '/dir') return res.end(JSON.stringify({ renewalInfo: `${base}/ari` }));
      asked.push(req.url ?? '');
      res.end(JSON.stringify({ suggestedWindow: window }));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const ariDirectory = {
      url: `https://127.0.0.1:${(server.address() as AddressInfo).port}/dir`,
      trust: ca.certPem,
    };
    try {
      // The window is ten days off: not due, and the report says the CA's window decided.
      const w = writes();
      const waiting = await runCertRenewal(deps({ ariDirectory }), spec);
      expect(waiting.references.map((x) => [x.action, x.why])).toEqual([
        ['notDue', `the CA suggests renewing from ${window.start.toISOString()} (ARI)`],
        ['notDue', `the CA suggests renewing from ${window.start.toISOString()} (ARI)`],
      ]);
      expect(asked).toContain(`/ari/${certIdOf(leaf.pem)}`);
      expect(writes()).toBe(w);

      // The CA opens the window early (a mass revocation): a certificate with years left is renewed now.
      window = { start: new Date(Date.now() - 3600_000), end: new Date(Date.now() + 86_400_000) };
      const early = await runCertRenewal(deps({ ariDirectory }), spec);
      expect(early.references.map((x) => [x.action, x.error])).toEqual([
        ['rotated', undefined],
        ['rotated', undefined],
      ]);
      expect(early.references[0]?.why).toMatch(/^the CA's renewal window opened .* \(ARI\)$/);
      expect((await served('mall.example.com')).fingerprintSha1).not.toBe(leaf.fingerprintSha1);
    } finally {
      await new Promise((r) => server.close(r));
    }
  }, 60_000);
});
