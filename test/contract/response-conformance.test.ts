// Every answer of the local cloud, for every action it implements, checked against the official
// response description (reference/openapi/): no undocumented field, the documented JSON types, the
// documented nesting, conditional fields only under their condition. Error answers against the
// common error body.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { casActions } from '../../scripts/local-cloud/cas';
import { driveCloudLayer } from '../../scripts/local-cloud/conformance/drive';
import type { WireExchange } from '../../scripts/local-cloud/conformance/fidelity';
import { MALL } from '../../scripts/local-cloud/scenarios/mall-fixture';
import { slbActions } from '../../scripts/local-cloud/slb';
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
    // Act: every typed call of our cloud layer, then the one CAS action it never sends
    const layer = cloudLayerFor(cloud, {
      budget: new RateBudget({ write: { capacity: 1000, refillPerSecond: 1000 } }),
    });
    await driveCloudLayer(layer);
    const [cert] = await layer.cas.listCertificates({ keyword: 'conformance-upload' });
    await callApi(cloud, 'cas', 'DeleteUserCertificate', { CertId: cert?.certId });
    // Assess
    const log = cloud.wireLog();
    expect(problems(log)).toEqual([]);
    const served = new Set(log.filter((x) => x.httpStatus === 200).map((x) => x.action));
    const implemented = [...Object.keys(slbActions), ...Object.keys(casActions)].sort();
    expect(implemented.filter((a) => !served.has(a))).toEqual([]);
  });

  it.each([
    [
      'DescribeLoadBalancerAttribute',
      { RegionId: MALL.regionId, LoadBalancerId: 'lb-missing' },
      'InvalidLoadBalancerId.NotFound',
    ],
    [
      'DescribeLoadBalancerHTTPListenerAttribute',
      { RegionId: MALL.regionId, LoadBalancerId: MALL.loadBalancerId },
      'MissingParameter',
    ],
  ])('answers %s errors in the official error body', async (action, query, code) => {
    // Act
    const before = cloud.wireLog().length;
    const err = await sdkError(callApi(cloud, 'slb', action, query));
    // Assess
    expect(err.code).toBe(code);
    expect(problems(cloud.wireLog().slice(before))).toEqual([]);
  });
});
