// STS key pairs (FC's context credentials) and the "listener is configuring" fault.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MALL } from '../../scripts/local-cloud/scenarios/mall-fixture';
import { callSlb, sdkError, startTestCloud, type TestCloud } from '../support/local-cloud';

let now = new Date();
let cloud: TestCloud;
const sts = {
  accessKeyId: 'STS.NUgYrLnoC37mZZCNnAbez2Fp',
  accessKeySecret: 'sts-secret-value',
  securityToken: 'CAIS-token-value',
};

beforeAll(async () => {
  cloud = await startTestCloud({
    scenario: 'mall',
    now: () => now,
    keys: {
      LTAI5tLocalCloudDefault: { secret: 'LocalCloudSecret-NotForProduction' },
      [sts.accessKeyId]: { secret: sts.accessKeySecret, securityToken: sts.securityToken },
    },
  });
});
afterAll(() => cloud.close());

describe('STS credentials', () => {
  it.each([false, true])('accepts the right token and refuses a missing or wrong one (v2=%s)', async (v2) => {
    const ok = await callSlb(cloud, 'DescribeLoadBalancers', { RegionId: 'cn-hangzhou' }, { ...sts, v2 });
    expect(ok.TotalCount).toBe(1);
    const missing = await sdkError(
      callSlb(
        cloud,
        'DescribeLoadBalancers',
        {},
        { accessKeyId: sts.accessKeyId, accessKeySecret: sts.accessKeySecret, v2 },
      ),
    );
    expect(missing.code).toBe('InvalidSecurityToken.Missing');
    const wrong = await sdkError(
      callSlb(cloud, 'DescribeLoadBalancers', {}, { ...sts, securityToken: 'other', v2 }),
    );
    expect(wrong.code).toBe('InvalidSecurityToken.Mismatch');
    expect(JSON.stringify(wrong.data)).not.toContain(sts.securityToken);
  });
});

describe('configuring fault', () => {
  it('keeps a changed listener configuring for the configured time, refusing writes with Operation.Deny', async () => {
    cloud.setFaults({ configuringMs: 2000 });
    const set = () =>
      callSlb(cloud, 'SetLoadBalancerHTTPSListenerAttribute', {
        RegionId: 'cn-hangzhou',
        LoadBalancerId: MALL.loadBalancerId,
        ListenerPort: 443,
        IdleTimeout: 30,
      });
    await set();
    const attr = await callSlb(cloud, 'DescribeLoadBalancerHTTPSListenerAttribute', {
      RegionId: 'cn-hangzhou',
      LoadBalancerId: MALL.loadBalancerId,
      ListenerPort: 443,
    });
    expect(attr.Status).toBe('configuring');
    const err = await sdkError(set());
    expect([err.code, err.statusCode]).toEqual(['Operation.Deny', 400]);
    now = new Date(now.getTime() + 2_100);
    await expect(set()).resolves.toBeDefined();
    cloud.setFaults({});
  });
});
