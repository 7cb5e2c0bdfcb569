// ACME issuance end to end with real parts: Pebble (a real ACME server) validates DNS-01 challenges
// against the local cloud's authoritative DNS server, which answers the TXT records our code adds
// through the local Alibaba Cloud DNS API. Then the hostile cases: a name in no zone, CAA forbidding the
// CA, TXT records that never propagate, a challenge the CA finds invalid, throttled DNS writes, and a
// run that died leaving records behind. After every test no challenge record remains.
import { X509Certificate } from 'node:crypto';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type Pebble, startPebble } from '../../scripts/local-cloud/acme/pebble';
import { createTestCa } from '../../scripts/local-cloud/pki';
import { MALL } from '../../scripts/local-cloud/scenarios/mall-fixture';
import { ACME_ERRORS, type AcmeIssueDeps, AcmeIssueError, issueCertificate } from '../../shared/cloud/acme';
import { certIdOf, fetchRenewalInfo } from '../../shared/cloud/acme-ari';
import { Secret } from '../../shared/cloud/cas';
import { localCloudLookup } from '../../shared/cloud/dns-lookup';
import { coversAll, parseCertificate } from '../../shared/domain/certificate';
import { cloudLayerFor, startTestCloud, type TestCloud } from '../support/local-cloud';

let pebble: Pebble;
let cloud: TestCloud;
let accountKey: Secret;
const DOMAINS = [...MALL.renewed.domains];

beforeAll(async () => {
  // One cloud for Pebble's DNS (reset to the mall before each test), one Pebble for the file.
  cloud = await startTestCloud({ scenario: 'mall', tlsFrontEnds: false });
  const dns = cloud.dns();
  if (!dns) throw new Error('local cloud started without its DNS server');
  pebble = await startPebble({ dnsServer: `${dns.host}:${dns.port}` });
  const acme = await import('acme-client');
  accountKey = new Secret((await acme.crypto.createPrivateEcdsaKey('P-256')).toString());
}, 30_000);
afterAll(async () => {
  await pebble?.stop();
  await cloud?.close();
});
beforeEach(() => cloud.reset());

const challengeRecords = () => cloud.state().dnsRecords.filter((r) => r.rr.startsWith('_acme-challenge'));
afterEach(() => {
  expect(challengeRecords()).toEqual([]);
});

function deps(over: Partial<AcmeIssueDeps> = {}): AcmeIssueDeps {
  return {
    dns: cloudLayerFor(cloud).dns,
    lookup: localCloudLookup(cloud.url),
    now: () => new Date(),
    sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
    propagationTimeoutMs: 5_000,
    propagationPollMs: 50,
    caTrustPem: pebble.tlsCaPem,
    ...over,
  };
}

const request = (domains: string[] = DOMAINS) => ({
  directoryUrl: pebble.directoryUrl,
  accountKey,
  email: 'ops@mall.example.com',
  domains,
  keyType: 'ec-p256' as const,
});

async function failure(p: Promise<unknown>): Promise<AcmeIssueError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof AcmeIssueError)) throw new Error(`expected an AcmeIssueError, got ${String(err)}`);
  return err;
}

describe('ACME DNS-01 issuance on the local Alibaba Cloud DNS', () => {
  it('issues a certificate for the mall from Pebble; the chain verifies against Pebble’s root; the key stays ours', async () => {
    const issued = await issueCertificate(deps(), request());
    const parsed = parseCertificate(issued.certPem);
    expect(coversAll(parsed.sans, DOMAINS)).toBe(true);
    const [leafPem, issuerPem] = issued.certPem.split(/(?<=-----END CERTIFICATE-----)\s*/);
    const leaf = new X509Certificate(leafPem as string);
    expect(
      leaf.checkPrivateKey(
        await import('node:crypto').then((c) => c.createPrivateKey(issued.privateKey.reveal())),
      ),
    ).toBe(true);
    // The chain ends at Pebble's root (its intermediate is signed by it).
    const root = new X509Certificate(await pebble.issuerRootPem());
    const intermediate = new X509Certificate(issuerPem as string);
    expect(leaf.verify(intermediate.publicKey)).toBe(true);
    expect(intermediate.verify(root.publicKey)).toBe(true);
    expect(JSON.stringify(issued)).not.toContain('PRIVATE KEY');
    // One zone listing, one cleanup read per challenge name; one add and one delete per authorization.
    expect(issued.dnsCalls).toEqual({ reads: 1 + DOMAINS.length, writes: 2 * DOMAINS.length });
  }, 30_000);

  it('reuses the account its key names (no contact given, the account exists from an earlier run)', async () => {
    const { email: _email, ...withoutEmail } = request(['mall.example.com']);
    await issueCertificate(deps(), withoutEmail);
    const again = await issueCertificate(deps(), withoutEmail);
    expect(parseCertificate(again.certPem).sans).toEqual(['mall.example.com']);
  }, 30_000);

  it('issues a wildcard with its base name (two values on one TXT name) and an RSA key', async () => {
    const issued = await issueCertificate(deps(), {
      ...request(['*.mall.example.com', 'mall.example.com']),
      keyType: 'rsa-2048',
    });
    expect(parseCertificate(issued.certPem).sans.sort()).toEqual(['*.mall.example.com', 'mall.example.com']);
  }, 30_000);

  it('refuses a name in no zone of the account before ordering anything', async () => {
    const err = await failure(issueCertificate(deps(), request(['shop.elsewhere.test'])));
    expect(err.reason).toBe(ACME_ERRORS.noZone);
    expect(err.message).toMatch(/shop\.elsewhere\.test is in no Alibaba Cloud DNS zone.*example\.com/);
    expect(cloud.calls().calls.AddDomainRecord).toBeUndefined();
  });

  it('reports a CAA record that forbids the CA, before ordering', async () => {
    const layer = cloudLayerFor(cloud);
    await layer.rpc.call({
      product: 'alidns',
      action: 'AddDomainRecord',
      regionId: 'cn-hangzhou',
      params: { DomainName: 'example.com', RR: 'mall', Type: 'CAA', Value: '0 issue "ca.other.example"' },
      write: true,
    });
    const err = await failure(
      issueCertificate(deps(), { ...request(), caaIdentities: ['pebble.letsencrypt.org'] }),
    );
    expect(err.reason).toBe(ACME_ERRORS.caaForbids);
    expect(err.message).toContain('CAA at mall.example.com allows only ca.other.example');
    // Allowed when the CA is named.
    await issueCertificate(deps(), { ...request(['mall.example.com']), caaIdentities: ['ca.other.example'] });
  }, 30_000);

  it('gives up on TXT records that do not propagate in time, and removes them', async () => {
    cloud.setDnsFaults({ propagationDelayMs: 60_000 });
    // A name no earlier test had validated: a reused valid authorization would skip the challenge.
    const err = await failure(
      issueCertificate(deps({ propagationTimeoutMs: 300 }), request(['slow.mall.example.com'])),
    );
    expect(err.reason).toBe(ACME_ERRORS.propagation);
    expect(err.message).toMatch(/_acme-challenge\.slow\.mall\.example\.com TXT not visible/);
  }, 30_000);

  it('reports a challenge the CA finds invalid (the zone serves the wrong value), and removes the records', async () => {
    // Our own check sees the right value; the CA's resolver is given a wrong one.
    const lookup = localCloudLookup(cloud.url);
    cloud.setDnsFaults({ txtOverride: 'not-the-key-authorization' });
    const err = await failure(
      issueCertificate(
        deps({
          lookup: async (zone, name, type) => {
            if (type !== 'TXT') return lookup(zone, name, type);
            return cloud
              .state()
              .dnsRecords.filter((r) => `${r.rr}.${r.domainName}` === name)
              .map((r) => r.value);
          },
        }),
        // A name no earlier test had validated: Pebble now and then reuses a valid authorization even
        // with PEBBLE_AUTHZREUSE=0, and then asks for no challenge at all.
        request(['wrong.mall.example.com']),
      ),
    );
    expect(err.reason).toBe(ACME_ERRORS.challengeInvalid);
    expect(err.message).toMatch(/invalid/i);
  }, 30_000);

  it('rides out throttled DNS writes (the cloud layer retries Throttling)', async () => {
    cloud.setFaults({ throttleRate: 0.25, seed: 3 });
    const issued = await issueCertificate(deps(), request(['mall.example.com', 'www.mall.example.com']));
    expect(parseCertificate(issued.certPem).sans).toHaveLength(2);
    expect(
      Object.entries(cloud.calls().errors).some(([code, n]) => code.startsWith('Throttling') && n > 0),
    ).toBe(true);
  }, 30_000);

  it('a run that died left challenge records: the next run removes the stale ones and issues', async () => {
    const layer = cloudLayerFor(cloud);
    const now = Date.now();
    await layer.dns.addTxtRecord({ zone: 'example.com', rr: '_acme-challenge.mall', value: 'left-over' });
    // Two hours later: older than any order lives.
    const issued = await issueCertificate(
      deps({ now: () => new Date(now + 2 * 3600_000) }),
      request(['mall.example.com']),
    );
    expect(parseCertificate(issued.certPem).sans).toEqual(['mall.example.com']);
  }, 30_000);
});

describe('rate limits', () => {
  it('an order the CA refuses for its rate limit fails at once with the CA’s retry time (no sleeping it out)', async () => {
    // Pebble 2.4 has no rate limits: this one answer (newOrder) is the CA's documented problem document,
    // every other exchange is with the real Pebble.
    const acme = await import('acme-client');
    const id = acme.axios.interceptors.request.use((config) => {
      if (config.url?.includes('order-plz'))
        config.adapter = async () => ({
          status: 429,
          statusText: 'Too Many Requests',
          headers: { 'retry-after': '7200', 'content-type': 'application/problem+json' },
          config,
          data: {
            type: 'urn:ietf:params:acme:error:rateLimited',
            detail: 'too many certificates already issued for this exact set of domains',
          },
        });
      return config;
    });
    try {
      const now = new Date();
      const err = await failure(issueCertificate(deps({ now: () => now }), request(['mall.example.com'])));
      expect(err.reason).toBe(ACME_ERRORS.rateLimited);
      expect(err.message).toContain('too many certificates');
      expect(err.retryAfter?.getTime()).toBe(now.getTime() + 7200_000);
    } finally {
      acme.axios.interceptors.request.eject(id);
    }
  }, 30_000);
});

describe('ACME Renewal Information', () => {
  it('computes the ARI certificate id from the AKI and serial (RFC 9773 example values)', async () => {
    const keys = await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, [
      'sign',
      'verify',
    ]);
    x509.cryptoProvider.set(crypto);
    const cert = await x509.X509CertificateGenerator.createSelfSigned({
      serialNumber: '0087654321',
      name: 'CN=ari.example',
      keys,
      signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
      extensions: [new x509.AuthorityKeyIdentifierExtension('69885b6b87464041e1b37b847ba0ae2cde01c8d4')],
    });
    expect(certIdOf(cert.toString('pem'))).toBe('aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE');
  });

  it('Pebble’s directory offers no renewalInfo: no window, the usual rule applies', async () => {
    const issued = await issueCertificate(deps(), request(['mall.example.com']));
    expect(certIdOf(issued.certPem)).toMatch(/^[\w-]+\.[\w-]+$/);
    const info = await fetchRenewalInfo({
      directoryUrl: pebble.directoryUrl,
      certPem: issued.certPem,
      now: new Date(),
      caTrustPem: pebble.tlsCaPem,
    });
    expect(info).toBeUndefined();
  }, 30_000);

  it('reads the suggested window and Retry-After where the CA offers ARI', async () => {
    // A CA that offers ARI (Pebble 2.4 does not): a directory and a renewalInfo resource on loopback TLS.
    const ca = await createTestCa({ now: new Date() });
    const tls = await ca.issue({
      commonName: '127.0.0.1',
      sans: ['127.0.0.1'],
      notBefore: new Date(Date.now() - 3600_000),
      notAfter: new Date(Date.now() + 86_400_000),
    });
    const issued = await issueCertificate(deps(), request(['mall.example.com']));
    const wanted = certIdOf(issued.certPem);
    const asked: string[] = [];
    const server = createServer({ cert: tls.chainPem, key: tls.keyPem }, (req, res) => {
      asked.push(req.url ?? '');
      const base = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
      if (req.url === '/dir') return res.end(JSON.stringify({ renewalInfo: `${base}/ari` }));
      if (req.url === `/ari/${wanted}`) {
        res.setHeader('retry-after', '21600');
        return res.end(
          JSON.stringify({
            suggestedWindow: { start: '2026-12-02T00:00:00Z', end: '2026-12-03T00:00:00Z' },
            explanationURL: 'https://ca.example/incident',
          }),
        );
      }
      res.statusCode = 404;
      res.end('{}');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    try {
      const now = new Date('2026-12-01T00:00:00Z');
      const info = await fetchRenewalInfo({
        directoryUrl: `https://127.0.0.1:${(server.address() as AddressInfo).port}/dir`,
        certPem: issued.certPem,
        now,
        caTrustPem: ca.certPem,
      });
      expect(asked).toEqual(['/dir', `/ari/${wanted}`]);
      expect(info).toEqual({
        window: { start: new Date('2026-12-02T00:00:00Z'), end: new Date('2026-12-03T00:00:00Z') },
        explanationUrl: 'https://ca.example/incident',
        retryAfter: new Date(now.getTime() + 21_600_000),
      });
    } finally {
      await new Promise((r) => server.close(r));
    }
  }, 30_000);
});
