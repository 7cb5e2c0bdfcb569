// The local cloud's TLS front ends, driven through our typed SLB layer (the real SDK) and probed with
// real handshakes: what each HTTPS listener serves follows the state, SNI picks extension-domain
// certificates, the stale fault holds the old certificate, and stopped or deleted listeners stop serving.

import { connect } from 'node:net';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createTestCa, type TestCa } from '../../scripts/local-cloud/pki';
import { MALL } from '../../scripts/local-cloud/scenarios/mall-fixture';
import { type FrontEnd, matchExtensionDomain } from '../../scripts/local-cloud/tls-front-ends';
import type { Cloud } from '../../shared/cloud/index';
import {
  fetchServedCertificate,
  TlsProbeError,
  waitForServedCertificate,
} from '../../shared/cloud/tls-probe';
import { parseCertificate } from '../../shared/domain/certificate';
import { cloudLayerFor, startTestCloud, type TestCloud } from '../support/local-cloud';

const DAY = 86_400_000;
const regionId = MALL.regionId;
const lb = MALL.loadBalancerId;
let cloud: TestCloud;
let layer: Cloud;
let ca: TestCa;

beforeAll(async () => {
  cloud = await startTestCloud({ scenario: 'mall' });
  layer = cloudLayerFor(cloud);
  ca = await createTestCa({ now: new Date() });
});
afterAll(() => cloud.close());
beforeEach(() => cloud.reset());

async function frontEnd(listenerPort: number = MALL.https.port): Promise<FrontEnd | undefined> {
  return (await cloud.frontEnds()).find((f) => f.loadBalancerId === lb && f.listenerPort === listenerPort);
}

async function served(servername?: string, listenerPort: number = MALL.https.port) {
  const f = await frontEnd(listenerPort);
  if (!f) throw new Error(`no front end for ${lb}:${listenerPort}`);
  return fetchServedCertificate({ host: f.host, port: f.port, servername, timeoutMs: 5000 });
}

/** The fingerprint the state holds for a certificate id (as DescribeServerCertificates reports it). */
function fingerprintOf(serverCertificateId: string | undefined): string {
  const c = cloud.state().serverCertificates.find((x) => x.serverCertificateId === serverCertificateId);
  if (!c) throw new Error(`no certificate ${serverCertificateId}`);
  return c.fingerprint;
}

const mallListener = () => cloud.state().listeners.find((l) => l.listenerPort === MALL.https.port)!;
const mobileExtension = () =>
  cloud.state().domainExtensions.find((d) => d.domainExtensionId === MALL.extensionDomain.domainExtensionId)!;

async function uploadIssued(domains: string[], name: string): Promise<string> {
  const pair = await ca.issue({
    commonName: domains[0]!,
    sans: domains,
    notBefore: new Date(Date.now() - DAY),
    notAfter: new Date(Date.now() + 90 * DAY),
  });
  const uploaded = await layer.slb.uploadServerCertificate({
    regionId,
    serverCertificateName: name,
    pem: { certificate: pair.chainPem, privateKey: pair.keyPem },
  });
  return uploaded.serverCertificateId;
}

/** Uploads the renewed mall certificate from CAS and binds it as the listener's default. */
async function switchListenerCertificate(): Promise<string> {
  const renewed = await layer.slb.uploadServerCertificate({
    regionId,
    serverCertificateName: 'slbap-mall-2026',
    cas: { certificateId: String(MALL.renewed.certId), certificateName: MALL.renewed.name, regionId },
  });
  await layer.slb.setHttpsListenerAttribute({
    regionId,
    loadBalancerId: lb,
    listenerPort: MALL.https.port,
    serverCertificateId: renewed.serverCertificateId,
  });
  return renewed.serverCertificateId;
}

/** Whether anything accepts TCP connections on the port. */
function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

describe('TLS front ends of the mall', () => {
  it('serves the bound certificate for the listener domains and the extension certificate by SNI', async () => {
    // Prepare
    const listenerFp = fingerprintOf(mallListener().serverCertificateId);
    const mobileFp = fingerprintOf(mobileExtension().serverCertificateId);
    // Act
    const main = await served(MALL.https.domains[0]);
    const www = await served(MALL.https.domains[1]);
    const mobile = await served(MALL.extensionDomain.domain);
    const noSni = await served(undefined);
    const unknown = await served('other.example.org');
    // Assess
    expect(main).toMatchObject({ fingerprintSha1: listenerFp, subjectCN: 'www.mall.example.com' });
    expect(main.sans).toEqual(expect.arrayContaining([...MALL.https.domains]));
    expect(www.fingerprintSha1).toBe(listenerFp);
    expect(mobile).toMatchObject({ fingerprintSha1: mobileFp, subjectCN: MALL.extensionDomain.domain });
    expect(noSni.fingerprintSha1).toBe(listenerFp);
    expect(unknown.fingerprintSha1).toBe(listenerFp);
    // the expiring certificate the renewal is about, read from the wire
    expect(main.notAfter.getTime() - Date.now()).toBeLessThan((MALL.expiringInDays + 1) * DAY);
    expect(main.fingerprintSha256).toBe(parseCertificate(main.pem).sha256);
  });

  it('lists the mapping in-process and at GET /_emulator/front-ends, HTTP listeners too', async () => {
    // Act
    const listed = await cloud.frontEnds();
    const res = await fetch(`${cloud.url}/_emulator/front-ends`);
    // Assess
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual(listed);
    expect(listed).toEqual([
      {
        loadBalancerId: lb,
        listenerPort: MALL.http.port,
        protocol: 'http',
        host: '127.0.0.1',
        port: expect.any(Number),
      },
      {
        loadBalancerId: lb,
        listenerPort: MALL.https.port,
        protocol: 'https',
        host: '127.0.0.1',
        port: expect.any(Number),
        servedCertificateId: mallListener().serverCertificateId,
        sni: { [MALL.extensionDomain.domain]: mobileExtension().serverCertificateId },
        stale: false,
      },
    ]);
    expect(listed[1]!.port).not.toBe(MALL.https.port);
    // the load balancer's address in the API's answers is the front ends' host
    const [described] = await layer.slb.describeLoadBalancers({ regionId, loadBalancerIds: [lb] });
    expect(described?.address).toBe(listed[0]!.host);
  });

  it('serves the new leaf once SetLoadBalancerHTTPSListenerAttribute returns, on the same port', async () => {
    // Prepare
    const before = await frontEnd();
    const mobileFp = fingerprintOf(mobileExtension().serverCertificateId);
    // Act
    const renewedId = await switchListenerCertificate();
    // Assess
    const after = await frontEnd();
    expect(after).toMatchObject({ port: before?.port, servedCertificateId: renewedId, stale: false });
    const main = await served(MALL.https.domains[0]);
    expect(main.fingerprintSha1).toBe(fingerprintOf(renewedId));
    expect(main.sans).toContain(MALL.extensionDomain.domain);
    // the extension domain keeps its own certificate
    expect((await served(MALL.extensionDomain.domain)).fingerprintSha1).toBe(mobileFp);
  });

  it('serves a new extension-domain certificate after SetDomainExtensionAttribute', async () => {
    // Prepare
    const listenerFp = fingerprintOf(mallListener().serverCertificateId);
    const newId = await uploadIssued([MALL.extensionDomain.domain], 'slbap-mobile-2026');
    // Act
    await layer.slb.setDomainExtensionCertificate({
      regionId,
      domainExtensionId: MALL.extensionDomain.domainExtensionId,
      serverCertificateId: newId,
    });
    // Assess
    expect((await served(MALL.extensionDomain.domain)).fingerprintSha1).toBe(fingerprintOf(newId));
    expect((await served(MALL.https.domains[0])).fingerprintSha1).toBe(listenerFp);
    expect((await frontEnd())?.sni).toEqual({ [MALL.extensionDomain.domain]: newId });
  });

  it('matches a wildcard extension domain on exactly one label', async () => {
    // Prepare
    const wildId = await uploadIssued(['*.shop.example.com'], 'slbap-shop-wildcard');
    const listenerFp = fingerprintOf(mallListener().serverCertificateId);
    // Act
    await layer.slb.createDomainExtension({
      regionId,
      loadBalancerId: lb,
      listenerPort: MALL.https.port,
      domain: '*.shop.example.com',
      serverCertificateId: wildId,
    });
    // Assess
    expect((await served('a.shop.example.com')).fingerprintSha1).toBe(fingerprintOf(wildId));
    expect((await served('A.Shop.Example.COM')).fingerprintSha1).toBe(fingerprintOf(wildId));
    expect((await served('shop.example.com')).fingerprintSha1).toBe(listenerFp);
    expect((await served('a.b.shop.example.com')).fingerprintSha1).toBe(listenerFp);
  });

  it('keeps serving the old certificate under staleFrontEnds, and catches up when the fault is cleared', async () => {
    // Prepare
    const oldId = mallListener().serverCertificateId!;
    cloud.setFaults({ staleFrontEnds: [`${lb}:${MALL.https.port}`] });
    // Act
    const renewedId = await switchListenerCertificate();
    // Assess: the API says renewed, the wire still says old
    expect(mallListener().serverCertificateId).toBe(renewedId);
    expect(await frontEnd()).toMatchObject({ servedCertificateId: oldId, stale: true });
    const check = await waitForServedCertificate({
      ...(await target()),
      servername: MALL.https.domains[0],
      expectFingerprint: fingerprintOf(renewedId),
      attempts: 3,
      delayMs: 1000,
      sleep: async () => undefined,
    });
    expect(check).toMatchObject({ status: 'mismatch', attempts: 3 });
    expect(check.status === 'mismatch' && check.served.fingerprintSha1).toBe(fingerprintOf(oldId));

    // Act: the propagation finally happens
    cloud.setFaults({});
    // Assess
    expect(await frontEnd()).toMatchObject({ servedCertificateId: renewedId, stale: false });
    expect((await served(MALL.https.domains[0])).fingerprintSha1).toBe(fingerprintOf(renewedId));
  });

  it('takes the stale fault through the admin API and refuses a malformed one naming the field', async () => {
    // Prepare
    const post = (body: unknown) =>
      fetch(`${cloud.url}/_emulator/faults`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    const oldFp = fingerprintOf(mallListener().serverCertificateId);
    // Act
    const bad = await post({ staleFrontEnds: ['no-port'] });
    const ok = await post({ staleFrontEnds: true });
    await switchListenerCertificate();
    // Assess
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: string }).error).toContain('faults.staleFrontEnds[0]');
    expect(ok.status).toBe(200);
    expect((await served(MALL.https.domains[0])).fingerprintSha1).toBe(oldFp);
  });

  it('rolls back: switching the listener back serves the previous certificate again', async () => {
    // Prepare
    const oldId = mallListener().serverCertificateId!;
    await switchListenerCertificate();
    // Act
    await layer.slb.setHttpsListenerAttribute({
      regionId,
      loadBalancerId: lb,
      listenerPort: MALL.https.port,
      serverCertificateId: oldId,
    });
    // Assess
    const check = await waitForServedCertificate({
      ...(await target()),
      servername: MALL.https.domains[0],
      expectFingerprint: fingerprintOf(oldId),
      attempts: 1,
    });
    expect(check.status).toBe('matched');
  });

  it('closes the front end when the listener stops, and opens a new one when it starts', async () => {
    // Prepare
    const before = await frontEnd();
    const ref = { regionId, loadBalancerId: lb, listenerPort: MALL.https.port };
    // Act
    await layer.slb.stopListener(ref);
    // Assess
    expect(await frontEnd()).toBeUndefined();
    expect(await accepts(before!.port)).toBe(false);
    const refused = await fetchServedCertificate({ host: '127.0.0.1', port: before!.port }).catch(
      (e: unknown) => e,
    );
    expect(refused).toBeInstanceOf(TlsProbeError);
    expect((refused as TlsProbeError).reason).toBe('refused');

    // Act
    await layer.slb.startListener(ref);
    // Assess
    const after = await frontEnd();
    expect(after?.servedCertificateId).toBe(mallListener().serverCertificateId);
    expect((await served(MALL.https.domains[0])).fingerprintSha1).toBe(
      fingerprintOf(mallListener().serverCertificateId),
    );
  });

  it('closes the front end when the listener is deleted, and brings it back on reset', async () => {
    // Prepare
    const before = await frontEnd();
    // Act: the HTTP listener redirecting to 443 goes first (ListenerForwardExist otherwise)
    await layer.slb.deleteListener({ regionId, loadBalancerId: lb, listenerPort: MALL.http.port });
    await layer.slb.deleteListener({ regionId, loadBalancerId: lb, listenerPort: MALL.https.port });
    // Assess
    expect(await cloud.frontEnds()).toEqual([]);
    expect(await accepts(before!.port)).toBe(false);

    // Act
    cloud.reset();
    // Assess
    expect((await served(MALL.https.domains[0])).fingerprintSha1).toBe(
      fingerprintOf(mallListener().serverCertificateId),
    );
  });

  it('opens a front end for a new HTTPS listener once it is started, not while it is stopped', async () => {
    // Prepare
    const certId = await uploadIssued(['api.mall.example.com'], 'slbap-api');
    // Act
    await layer.slb.createHttpsListener({
      regionId,
      loadBalancerId: lb,
      listenerPort: 8443,
      vServerGroupId: MALL.vServerGroup.vServerGroupId,
      serverCertificateId: certId,
    });
    const whileStopped = await frontEnd(8443);
    await layer.slb.startListener({ regionId, loadBalancerId: lb, listenerPort: 8443 });
    // Assess
    expect(whileStopped).toBeUndefined();
    expect((await served('api.mall.example.com', 8443)).fingerprintSha1).toBe(fingerprintOf(certId));
    expect((await cloud.frontEnds()).map((f) => f.listenerPort)).toEqual([80, 443, 8443]);
  });

  it('answers HTTP after the handshake (no healthy backend here: 503), so curl works', async () => {
    // Prepare
    const f = (await frontEnd())!;
    cloud.setHealth({ [`${MALL.k8s.serverId}:${MALL.k8s.port}`]: 'abnormal' });
    const { request } = await import('node:https');
    // Act
    const text = await new Promise<string>((resolve, reject) => {
      const req = request(
        {
          host: f.host,
          port: f.port,
          path: '/',
          servername: MALL.https.domains[0],
          rejectUnauthorized: false,
        },
        (res) => {
          let body = '';
          res.on('data', (c: Buffer) => {
            body += c.toString('utf8');
          });
          res.on('end', () => resolve(`${res.statusCode} ${body}`));
        },
      );
      req.on('error', reject);
      req.end();
    });
    // Assess
    expect(text).toBe('503 Service Temporarily Unavailable\n');
  });
});

describe('TLS front ends: lifecycle', () => {
  let own: TestCloud | undefined;
  afterEach(async () => {
    await own?.close();
    own = undefined;
  });

  it('closes every front end with the cloud', async () => {
    // Prepare
    own = await startTestCloud({ scenario: 'mall' });
    const f = (await own.frontEnds()).find((x) => x.protocol === 'https');
    // Act
    await own.close();
    own = undefined;
    // Assess
    expect(await accepts(f!.port)).toBe(false);
  });

  it('serves none when tlsFrontEnds is off', async () => {
    own = await startTestCloud({ scenario: 'mall', tlsFrontEnds: false });
    expect(await own.frontEnds()).toEqual([]);
  });
});

describe('matchExtensionDomain', () => {
  const domains = new Set(['m.mall.example.com', '*.shop.example.com', '*.example.com']);
  it.each([
    ['m.mall.example.com', 'm.mall.example.com'],
    ['M.Mall.Example.com.', 'm.mall.example.com'],
    ['a.shop.example.com', '*.shop.example.com'],
    ['shop.example.com', '*.example.com'],
    ['a.b.shop.example.com', undefined],
    ['x.mall.example.com', undefined],
    ['example.com', undefined],
    ['localhost', undefined],
  ])('%s -> %s', (servername, expected) => {
    expect(matchExtensionDomain(domains, servername)).toBe(expected);
  });
});

async function target(): Promise<{ host: string; port: number }> {
  const f = await frontEnd();
  if (!f) throw new Error('no front end');
  return { host: f.host, port: f.port };
}
