// Every answer of the local cloud, for every action it implements, checked against the official
// response description (reference/openapi/): no undocumented field, the documented JSON types, the
// documented nesting, conditional fields only under their condition. Error answers against the
// common error body.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CAS_VERSION, casActions } from '../../scripts/local-cloud/cas';
import { driveCloudLayer } from '../../scripts/local-cloud/conformance/drive';
import type { WireExchange } from '../../scripts/local-cloud/conformance/fidelity';
import { actionModel } from '../../scripts/local-cloud/conformance/model';
import { ALIDNS_VERSION, alidnsActions } from '../../scripts/local-cloud/dns';
import { MALL } from '../../scripts/local-cloud/scenarios/mall-fixture';
import { SLB_VERSION, slbActions } from '../../scripts/local-cloud/slb';
import { RateBudget } from '../../shared/cloud/rate-budget';
import { callApi, cloudLayerFor, sdkError, startTestCloud, type TestCloud } from '../support/local-cloud';

let cloud: TestCloud;

beforeAll(async () => {
  cloud = await startTestCloud({ scenario: 'mall', recordWire: true });
});
afterAll(() => cloud.close());

const problems = (exchanges: readonly WireExchange[]) =>
  exchanges.flatMap((x) =>
    x.responseFindings.map((f) => `${x.action} (${x.httpStatus}) ${f.path}: ${f.message}`),
  );

describe('answers of the local cloud', () => {
  it('serves every implemented action a success that matches the official response shape', async () => {
    // Act: every typed call of our cloud layer, then the CAS and DNS actions it never sends
    const layer = cloudLayerFor(cloud, {
      budget: new RateBudget({ write: { capacity: 1000, refillPerSecond: 1000 } }),
    });
    await driveCloudLayer(layer);
    const [cert] = await layer.cas.listCertificates({ keyword: 'conformance-upload' });
    await callApi(cloud, 'cas', 'DeleteUserCertificate', { CertId: cert?.certId });
    await callApi(cloud, 'alidns', 'DescribeDomainInfo', { DomainName: MALL.dns.zone });
    // Assess
    const log = cloud.wireLog();
    expect(problems(log)).toEqual([]);
    const served = new Set(log.filter((x) => x.httpStatus === 200).map((x) => x.action));
    const implemented = [
      ...Object.keys(slbActions),
      ...Object.keys(casActions),
      ...Object.keys(alidnsActions),
    ].sort();
    expect(implemented.filter((a) => !served.has(a))).toEqual([]);
  });

  const implemented = [
    ...Object.keys(slbActions).map((action) => ({ product: 'slb' as const, version: SLB_VERSION, action })),
    ...Object.keys(casActions).map((action) => ({ product: 'cas' as const, version: CAS_VERSION, action })),
    ...Object.keys(alidnsActions).map((action) => ({
      product: 'alidns' as const,
      version: ALIDNS_VERSION,
      action,
    })),
  ];

  /** Every parameter the action requires, with a value of its type that names nothing. */
  function nothingNamed(version: string, action: string): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const p of actionModel(version, action)?.request ?? []) {
      if (!p.required) continue;
      const value = /Integer|Long/.test(p.type) ? 9 : p.format === 'json' ? '[]' : 'x-none';
      out[p.name] = p.style === 'repeatList' ? (p.items ? [{ Key: 'x-none', Value: 'v' }] : [value]) : value;
    }
    if (version === SLB_VERSION) out.RegionId = MALL.regionId;
    return out;
  }

  it.each(implemented)(
    'answers $action errors in the official error body: missing parameters, nothing found',
    async ({ product, version, action }) => {
      // Act: without the required parameters, then with values that name nothing
      const before = cloud.wireLog().length;
      const answers: string[] = [];
      for (const query of [
        version === SLB_VERSION ? { RegionId: MALL.regionId } : {},
        nothingNamed(version, action),
      ])
        answers.push(
          await callApi(cloud, product, action, query).then(
            () => 'ok',
            (e: { code: string }) => e.code,
          ),
        );
      // Assess: each is an error in the error body, or (no required parameter) a conforming success
      const exchanges = cloud.wireLog().slice(before);
      expect(problems(exchanges)).toEqual([]);
      const required = (actionModel(version, action)?.request ?? []).filter(
        (p) => p.required && p.name !== 'RegionId',
      );
      if (required.length > 0) {
        expect(answers[0]).toBe('MissingParameter');
        expect(answers[1]).not.toBe('ok');
      }
      expect(exchanges.every((x) => x.httpStatus >= 400 === (x.code !== undefined))).toBe(true);
    },
  );

  it('answers protocol errors (signature, unknown action, unknown key) in the official error body', async () => {
    // Act
    const before = cloud.wireLog().length;
    const at = { RegionId: MALL.regionId };
    const codes = [
      (await sdkError(callApi(cloud, 'slb', 'DescribeLoadBalancers', at, { accessKeySecret: 'wrong' }))).code,
      (await sdkError(callApi(cloud, 'slb', 'NoSuchAction', at))).code,
      (await sdkError(callApi(cloud, 'slb', 'DescribeLoadBalancers', at, { accessKeyId: 'LTAI5tNobody' })))
        .code,
    ];
    // Assess
    expect(codes).toEqual(['SignatureDoesNotMatch', 'InvalidAction.NotFound', 'InvalidAccessKeyId.NotFound']);
    expect(problems(cloud.wireLog().slice(before))).toEqual([]);
  });
});
