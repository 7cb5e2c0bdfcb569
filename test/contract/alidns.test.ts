// The local Alibaba Cloud DNS API, driven by the unmodified official client (@alicloud/alidns20150109 on
// openapi-core, ACS3-HMAC-SHA256) and by our typed layer (openapi-client, both signatures), with the
// service's error codes; and its authoritative DNS server answering exactly what the API holds.
import { Resolver } from 'node:dns/promises';
import * as Alidns from '@alicloud/alidns20150109';
import * as OpenApiCore from '@alicloud/openapi-core';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { MALL } from '../../scripts/local-cloud/scenarios/mall-fixture';
import {
  cloudFailure,
  cloudLayerFor,
  sdkError,
  startTestCloud,
  type TestCloud,
} from '../support/local-cloud';

let cloud: TestCloud;
beforeAll(async () => {
  cloud = await startTestCloud({ scenario: 'mall', tlsFrontEnds: false });
});
afterAll(() => cloud.close());
beforeEach(() => cloud.reset());

type Ctor = new (o: unknown) => unknown;
function officialClient() {
  const mod = Alidns as unknown as { default: unknown } & Record<string, Ctor>;
  const def = mod.default as { default?: unknown };
  type Call = (req: unknown) => Promise<{ body: Record<string, unknown> }>;
  const Client = (typeof def === 'function' ? def : def.default) as new (
    config: unknown,
  ) => Record<'addDomainRecord' | 'deleteDomainRecord' | 'describeDomainRecords' | 'describeDomains', Call>;
  const core = OpenApiCore as unknown as { $OpenApiUtil: { Config: Ctor } };
  const client = new Client(
    new core.$OpenApiUtil.Config({
      accessKeyId: cloud.accessKeyId,
      accessKeySecret: cloud.accessKeySecret,
      endpoint: cloud.endpoint,
      protocol: 'http',
    }),
  );
  const model = (name: string, fields: Record<string, unknown>) => new (mod[name] as Ctor)(fields);
  return { client, model };
}

function resolver(): Resolver {
  const dns = cloud.dns();
  if (!dns) throw new Error('no DNS server');
  const r = new Resolver({ timeout: 1000, tries: 1 });
  r.setServers([`${dns.host}:${dns.port}`]);
  return r;
}

describe('Alidns through the official client', () => {
  it('adds, lists and deletes a TXT record; the DNS server answers it while it exists', async () => {
    const { client, model } = officialClient();
    const added = await client.addDomainRecord(
      model('AddDomainRecordRequest', {
        domainName: MALL.dns.zone,
        RR: '_acme-challenge.mall',
        type: 'TXT',
        value: 'token-1',
      }),
    );
    const recordId = added.body.recordId as string;
    expect(recordId).toMatch(/^\d+$/);
    expect(await resolver().resolveTxt('_acme-challenge.mall.example.com')).toEqual([['token-1']]);

    const listed = await client.describeDomainRecords(
      model('DescribeDomainRecordsRequest', { domainName: MALL.dns.zone, type: 'TXT' }),
    );
    const records = (listed.body.domainRecords as { record: Record<string, unknown>[] }).record;
    expect(records.map((r) => [r.RR, r.value, r.TTL])).toEqual([['_acme-challenge.mall', 'token-1', 600]]);
    expect(listed.body.totalCount).toBe(1);

    await client.deleteDomainRecord(model('DeleteDomainRecordRequest', { recordId }));
    // The name is gone (NXDOMAIN), not merely without TXT.
    await expect(resolver().resolveTxt('_acme-challenge.mall.example.com')).rejects.toMatchObject({
      code: 'ENOTFOUND',
    });
  });

  it('lists the zones with their name servers', async () => {
    const { client, model } = officialClient();
    const res = await client.describeDomains(model('DescribeDomainsRequest', {}));
    const domains = (res.body.domains as { domain: Record<string, unknown>[] }).domain;
    expect(domains.map((d) => [d.domainName, (d.dnsServers as { dnsServer: string[] }).dnsServer])).toEqual([
      [MALL.dns.zone, [...MALL.dns.nameServers]],
    ]);
  });

  it('answers the service’s error codes', async () => {
    const { client, model } = officialClient();
    const add = (fields: Record<string, unknown>) =>
      client.addDomainRecord(
        model('AddDomainRecordRequest', {
          domainName: MALL.dns.zone,
          RR: 'x',
          type: 'TXT',
          value: 'v',
          ...fields,
        }),
      );
    expect((await sdkError(add({ domainName: 'not-mine.test' }))).code).toBe('InvalidDomainName.NoExist');
    await add({});
    expect((await sdkError(add({}))).code).toBe('DomainRecordDuplicate');
    expect((await sdkError(add({ type: 'CNAME', value: 'a.example.net' }))).code).toBe(
      'DomainRecordConflict',
    );
    expect(
      (await sdkError(client.deleteDomainRecord(model('DeleteDomainRecordRequest', { recordId: '42' }))))
        .code,
    ).toBe('DomainRecordNotBelongToUser');
  });
});

describe('Alidns through our typed layer', () => {
  it.each([
    ['ACS3-HMAC-SHA256', false],
    ['HMAC-SHA1', true],
  ])('%s: zones, TXT add/list/delete; a failed write changes nothing', async (_name, v2) => {
    const layer = cloudLayerFor(cloud, v2 ? { signatureAlgorithm: 'v2' } : {});
    expect(await layer.dns.listZones()).toEqual([
      { domainName: MALL.dns.zone, dnsServers: [...MALL.dns.nameServers] },
    ]);
    const id = await layer.dns.addTxtRecord({
      zone: MALL.dns.zone,
      rr: '_acme-challenge.www.mall',
      value: 'a',
    });
    // the keyword search is fuzzy on the wire: `_acme-challenge.mall` must not return `.www.mall`
    expect(await layer.dns.listTxtRecords(MALL.dns.zone, '_acme-challenge.mall')).toEqual([]);
    expect(
      (await layer.dns.listTxtRecords(MALL.dns.zone, '_acme-challenge.www.mall')).map((r) => r.value),
    ).toEqual(['a']);
    const before = cloud.state().dnsRecords;
    const err = await cloudFailure(
      layer.dns.addTxtRecord({ zone: MALL.dns.zone, rr: 'bad rr!', value: 'x' }),
    );
    expect(err.code).toBe('InvalidParameter');
    expect(cloud.state().dnsRecords).toEqual(before);
    await layer.dns.deleteRecord(id);
    expect(cloud.state().dnsRecords.filter((r) => r.type === 'TXT')).toEqual([]);
  });
});

describe('the authoritative DNS server', () => {
  it('answers A records, NXDOMAIN inside the zone, REFUSED outside it; long TXT values in chunks; CAA', async () => {
    const r = resolver();
    expect(await r.resolve4('www.mall.example.com')).toEqual([MALL.address]);
    await expect(r.resolve4('nothing.example.com')).rejects.toMatchObject({ code: 'ENOTFOUND' });
    await expect(r.resolve4('www.elsewhere.test')).rejects.toMatchObject({ code: 'EREFUSED' });
    const layer = cloudLayerFor(cloud);
    const long = 'x'.repeat(300);
    await layer.dns.addTxtRecord({ zone: MALL.dns.zone, rr: 'long', value: long });
    expect((await r.resolveTxt('long.example.com')).map((c) => c.join(''))).toEqual([long]);
    await layer.rpc.call({
      product: 'alidns',
      action: 'AddDomainRecord',
      regionId: 'cn-hangzhou',
      params: { DomainName: MALL.dns.zone, RR: '@', Type: 'CAA', Value: '0 issue "letsencrypt.org"' },
      write: true,
    });
    expect(await r.resolveCaa('example.com')).toEqual([{ critical: 0, issue: 'letsencrypt.org' }]);
  });

  it('a record becomes visible only after the propagation delay', async () => {
    let now = Date.now();
    const delayed = await startTestCloud({ scenario: 'mall', tlsFrontEnds: false, now: () => new Date(now) });
    try {
      delayed.setDnsFaults({ propagationDelayMs: 30_000 });
      await cloudLayerFor(delayed).dns.addTxtRecord({ zone: MALL.dns.zone, rr: 'slow', value: 'v' });
      const dns = delayed.dns();
      const r = new Resolver({ timeout: 1000, tries: 1 });
      r.setServers([`${dns?.host}:${dns?.port}`]);
      await expect(r.resolveTxt('slow.example.com')).rejects.toMatchObject({ code: 'ENOTFOUND' });
      now += 30_000;
      expect(await r.resolveTxt('slow.example.com')).toEqual([['v']]);
    } finally {
      await delayed.close();
    }
  });
});
