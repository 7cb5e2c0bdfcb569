// Server certificates, domain extensions and CAS: through our typed layer, through the unmodified
// official CAS clients (1.x on openapi-client, 3.x on openapi-core), against the local cloud.

import { inspect } from 'node:util';
import * as Cas1 from '@alicloud/cas20200407';
import * as Cas3 from '@alicloud/cas20200407-v3';
import * as OpenApiCore from '@alicloud/openapi-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestCa, type TestCa } from '../../scripts/local-cloud/pki';
import { MALL } from '../../scripts/local-cloud/scenarios/mall-fixture';
import type { Cloud } from '../../shared/cloud/index';
import { OpenApi } from '../../shared/cloud/openapi';
import { parseCertificate } from '../../shared/domain/certificate';
import {
  callSlb,
  cloudFailure,
  cloudLayerFor,
  sdkError,
  startTestCloud,
  type TestCloud,
} from '../support/local-cloud';

const regionId = 'cn-hangzhou';
const DAY = 86_400_000;
let cloud: TestCloud;
let layer: Cloud;
let ca: TestCa;

beforeAll(async () => {
  cloud = await startTestCloud({ scenario: 'mall' });
  layer = cloudLayerFor(cloud);
  ca = await createTestCa({ now: new Date() });
});
afterAll(() => cloud.close());

const issue = (domain: string, days = 90) =>
  ca.issue({
    commonName: domain,
    sans: [domain],
    notBefore: new Date(Date.now() - DAY),
    notAfter: new Date(Date.now() + days * DAY),
  });

describe('server certificates', () => {
  it('uploads a PEM pair and reports fingerprint, CN, SANs and expiry read from the certificate', async () => {
    const pair = await issue('shop.example.com');
    const uploaded = await layer.slb.uploadServerCertificate({
      regionId,
      serverCertificateName: 'slbap-shop',
      pem: { certificate: pair.chainPem, privateKey: pair.keyPem },
    });
    const parsed = parseCertificate(pair.certPem);
    expect(uploaded).toMatchObject({
      fingerprint: parsed.fingerprint,
      commonName: 'shop.example.com',
      subjectAlternativeNames: ['shop.example.com'],
      expireTimeStamp: parsed.notAfter.getTime(),
    });
    const [described] = await layer.slb.describeServerCertificates({
      regionId,
      serverCertificateId: uploaded.serverCertificateId,
    });
    expect(described?.serverCertificateName).toBe('slbap-shop');
    expect(
      JSON.stringify(await callSlb(cloud, 'DescribeServerCertificates', { RegionId: regionId })),
    ).not.toContain('PRIVATE KEY');
    await layer.slb.deleteServerCertificate({ regionId, serverCertificateId: uploaded.serverCertificateId });
    await layer.slb.deleteServerCertificate({ regionId, serverCertificateId: uploaded.serverCertificateId }); // idempotent
    expect(
      await layer.slb.describeServerCertificates({
        regionId,
        serverCertificateId: uploaded.serverCertificateId,
      }),
    ).toEqual([]);
  });

  it('uploads by CAS id', async () => {
    const c = await layer.slb.uploadServerCertificate({
      regionId,
      cas: { certificateId: String(MALL.renewed.certId), certificateName: MALL.renewed.name, regionId },
    });
    expect(c.isAliCloudCertificate).toBe(true);
    expect(c.subjectAlternativeNames).toEqual([...MALL.renewed.domains]);
  });

  it.each([
    [
      'InvalidParameter',
      async () => ({ ServerCertificate: 'garbage', PrivateKey: (await issue('a.example.com')).keyPem }),
    ],
    [
      'CertificateNotMatchPrivateKey',
      async () => ({
        ServerCertificate: (await issue('a.example.com')).certPem,
        PrivateKey: (await issue('b.example.com')).keyPem,
      }),
    ],
    [
      'KeyFormatError',
      async () => ({ ServerCertificate: (await issue('a.example.com')).certPem, PrivateKey: 'nope' }),
    ],
  ])('refuses bad material with %s, echoing no key, changing nothing', async (code, material) => {
    const before = cloud.state();
    const err = await sdkError(
      callSlb(cloud, 'UploadServerCertificate', { RegionId: regionId, ...(await material()) }),
    );
    expect(err.code).toBe(code);
    expect(JSON.stringify(err.data)).not.toContain('PRIVATE KEY');
    expect(cloud.state()).toEqual(before);
  });

  it('refuses to delete a certificate bound to a listener or an extension domain, changing nothing', async () => {
    const state = cloud.state();
    const bound = [
      state.listeners.find((l) => l.listenerProtocol === 'https')!.serverCertificateId!,
      state.domainExtensions[0]!.serverCertificateId,
    ];
    for (const id of bound) {
      const before = cloud.state();
      const err = await cloudFailure(
        layer.slb.deleteServerCertificate({ regionId, serverCertificateId: id }),
      );
      expect([err.code, err.httpStatus, err.retryable]).toEqual([
        'CertificateAndPrivateKeyIsRefered',
        400,
        false,
      ]);
      expect(cloud.state()).toEqual(before);
    }
  });

  it('stops at the per-region quota', async () => {
    const small = await startTestCloud({ limits: { serverCertificatesPerRegion: 1 } });
    try {
      const l = cloudLayerFor(small);
      const pair = await issue('q.example.com');
      await l.slb.uploadServerCertificate({
        regionId,
        pem: { certificate: pair.certPem, privateKey: pair.keyPem },
      });
      const err = await cloudFailure(
        l.slb.uploadServerCertificate({
          regionId,
          pem: { certificate: pair.certPem, privateKey: pair.keyPem },
        }),
      );
      expect(err.code).toBe('OverQuota');
      expect(small.state().serverCertificates).toHaveLength(1);
    } finally {
      await small.close();
    }
  });
});

describe('domain extensions', () => {
  it('switches an extension domain certificate and allows at most 3 per listener', async () => {
    const lbId = MALL.loadBalancerId;
    const [ext] = await layer.slb.describeDomainExtensions({
      regionId,
      loadBalancerId: lbId,
      listenerPort: 443,
    });
    const pair = await issue(MALL.extensionDomain.domain);
    const fresh = await layer.slb.uploadServerCertificate({
      regionId,
      pem: { certificate: pair.certPem, privateKey: pair.keyPem },
    });
    await layer.slb.setDomainExtensionCertificate({
      regionId,
      domainExtensionId: ext!.domainExtensionId,
      serverCertificateId: fresh.serverCertificateId,
    });
    expect(
      (await layer.slb.describeDomainExtension({ regionId, domainExtensionId: ext!.domainExtensionId }))
        .serverCertificateId,
    ).toBe(fresh.serverCertificateId);

    await layer.slb.createDomainExtension({
      regionId,
      loadBalancerId: lbId,
      listenerPort: 443,
      domain: 'a.mall.example.com',
      serverCertificateId: fresh.serverCertificateId,
    });
    await layer.slb.createDomainExtension({
      regionId,
      loadBalancerId: lbId,
      listenerPort: 443,
      domain: 'b.mall.example.com',
      serverCertificateId: fresh.serverCertificateId,
    });
    const before = cloud.state();
    const err = await cloudFailure(
      layer.slb.createDomainExtension({
        regionId,
        loadBalancerId: lbId,
        listenerPort: 443,
        domain: 'c.mall.example.com',
        serverCertificateId: fresh.serverCertificateId,
      }),
    );
    expect(err.code).toBe('QuotaExceeded.DomainExtension');
    const dup = await cloudFailure(
      layer.slb.createDomainExtension({
        regionId,
        loadBalancerId: lbId,
        listenerPort: 443,
        domain: MALL.extensionDomain.domain,
        serverCertificateId: fresh.serverCertificateId,
      }),
    );
    expect(dup.code).toBe('InvalidParameter.Domain');
    expect(cloud.state()).toEqual(before);
  });
});

describe('CAS', () => {
  it('lists valid certificates (paged) and reads one with its key, which never prints', async () => {
    const list = await layer.cas.listCertificates();
    expect(list.map((c) => c.certId)).toEqual([MALL.renewed.certId]);
    const detail = await layer.cas.getCertificate(MALL.renewed.certId);
    expect(detail.certPem).toContain('BEGIN CERTIFICATE');
    expect(detail.privateKey.reveal()).toContain('PRIVATE KEY');
    expect(JSON.stringify(detail)).not.toContain('PRIVATE KEY');
    expect(inspect(detail)).not.toContain('PRIVATE KEY');
    expect(`${detail.privateKey}`).toBe('[redacted]');
  });

  it('uploads into CAS and pages over more than one page', async () => {
    for (let i = 0; i < 55; i++) {
      const pair = await issue(`p${i}.example.com`);
      await layer.cas.uploadCertificate({
        name: `bulk-${i}`,
        certPem: pair.certPem,
        privateKey: new (await import('../../shared/cloud/cas')).Secret(pair.keyPem),
      });
    }
    const list = await layer.cas.listCertificates();
    expect(list).toHaveLength(56);
    expect(layer.accounting.snapshot().calls.ListUserCertificateOrder).toBe(1 + 2);
  });

  it('answers the unmodified official CAS clients, 1.x and 3.x', async () => {
    const Client1 = (Cas1 as unknown as { default: { default?: unknown } }).default;
    const C1 = (typeof Client1 === 'function' ? Client1 : Client1.default) as new (
      c: unknown,
    ) => {
      listUserCertificateOrder(
        r: unknown,
      ): Promise<{ body: { certificateOrderList?: { certificateId?: number }[] } }>;
      getUserCertificateDetail(r: unknown): Promise<{ body: { cert?: string; key?: string; id?: number } }>;
    };
    const r1 = Cas1 as unknown as Record<string, new (o: unknown) => unknown>;
    const client1 = new C1(
      new OpenApi.Config({
        accessKeyId: cloud.accessKeyId,
        accessKeySecret: cloud.accessKeySecret,
        endpoint: cloud.endpoint,
        protocol: 'http',
        regionId,
      }),
    );
    const list1 = await client1.listUserCertificateOrder(
      new r1.ListUserCertificateOrderRequest!({ orderType: 'CERT' }),
    );
    expect(list1.body.certificateOrderList?.some((c) => c.certificateId === MALL.renewed.certId)).toBe(true);
    const detail1 = await client1.getUserCertificateDetail(
      new r1.GetUserCertificateDetailRequest!({ certId: MALL.renewed.certId }),
    );
    expect(detail1.body.cert).toContain('BEGIN CERTIFICATE');

    const Client3 = (Cas3 as unknown as { default: { default?: unknown } }).default;
    const C3 = (typeof Client3 === 'function' ? Client3 : Client3.default) as typeof C1;
    const core = OpenApiCore as unknown as { $OpenApiUtil: { Config: new (o: unknown) => unknown } };
    const r3 = Cas3 as unknown as Record<string, new (o: unknown) => unknown>;
    const client3 = new C3(
      new core.$OpenApiUtil.Config({
        accessKeyId: cloud.accessKeyId,
        accessKeySecret: cloud.accessKeySecret,
        endpoint: cloud.endpoint,
        protocol: 'http',
        regionId,
      }),
    );
    const list3 = await client3.listUserCertificateOrder(
      new r3.ListUserCertificateOrderRequest!({ orderType: 'CERT', keyword: 'mall-2026' }),
    );
    expect(list3.body.certificateOrderList?.map((c) => c.certificateId)).toEqual([MALL.renewed.certId]);
  });
});
