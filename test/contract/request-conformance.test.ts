// Requests as our typed cloud layer sends them, captured on the wire by the local cloud and checked
// against the official request description (reference/openapi/): every parameter exists for the action,
// values parse as their type, requirements (unconditional and the encoded conditional rules) are met.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { actionsOurCodeSends } from '../../scripts/local-cloud/conformance/coverage';
import { driveCloudLayer } from '../../scripts/local-cloud/conformance/drive';
import type { WireExchange } from '../../scripts/local-cloud/conformance/fidelity';
import { MALL } from '../../scripts/local-cloud/scenarios/mall-fixture';
import type { Cloud } from '../../shared/cloud/index';
import { RateBudget } from '../../shared/cloud/rate-budget';
import { REDIRECT_BACKEND_PORT } from '../../shared/cloud/slb/listeners';
import { callSlb, cloudLayerFor, sdkError, startTestCloud, type TestCloud } from '../support/local-cloud';

const regionId = MALL.regionId;
const lbId = MALL.loadBalancerId;
let cloud: TestCloud;
let layer: Cloud;

beforeAll(async () => {
  cloud = await startTestCloud({ scenario: 'mall', recordWire: true });
  layer = cloudLayerFor(cloud, {
    budget: new RateBudget({ write: { capacity: 1000, refillPerSecond: 1000 } }),
  });
});
afterAll(() => cloud.close());

/** The exchanges of the calls `act` makes. */
async function sent(act: () => Promise<unknown>): Promise<WireExchange[]> {
  const before = cloud.wireLog().length;
  await act();
  return cloud.wireLog().slice(before);
}

const findings = (exchanges: readonly WireExchange[]) =>
  exchanges.flatMap((x) => x.requestFindings.map((f) => `${x.action} ${f.param}: ${f.message}`));

describe('requests our cloud layer sends', () => {
  it('sends every action our code names, through every typed method, each as the official description allows', async () => {
    // Act
    let ran: string[] = [];
    const exchanges = await sent(async () => {
      ran = await driveCloudLayer(layer);
    });
    // Assess: nothing undocumented, mistyped or missing
    expect(findings(exchanges)).toEqual([]);
    expect(exchanges.filter((x) => x.httpStatus !== 200).map((x) => `${x.action} ${x.code}`)).toEqual([]);
    // every action named in shared/cloud/ was sent, and every typed method ran
    const sentActions = new Set(exchanges.map((x) => x.action));
    const named = actionsOurCodeSends().map((a) => a.action);
    expect(named.filter((a) => !sentActions.has(a))).toEqual([]);
    expect(named.length).toBeGreaterThanOrEqual(44);
    const methods = [
      ...Object.keys(layer.slb).map((m) => `slb.${m}`),
      ...Object.keys(layer.cas).map((m) => `cas.${m}`),
      ...Object.keys(layer.dns).map((m) => `dns.${m}`),
    ];
    expect(methods.filter((m) => !ran.includes(m))).toEqual([]);
  });

  it('sends the same conforming requests under HMAC-SHA1 V1 signing (parameters in the signed query)', async () => {
    // Prepare: a cloud of its own, as the drive creates named resources
    const v1 = await startTestCloud({ scenario: 'mall', recordWire: true });
    try {
      const v1Layer = cloudLayerFor(v1, {
        signatureAlgorithm: 'v2',
        budget: new RateBudget({ write: { capacity: 1000, refillPerSecond: 1000 } }),
      });
      // Act
      await driveCloudLayer(v1Layer);
      // Assess
      const log = v1.wireLog();
      expect(findings(log)).toEqual([]);
      expect(new Set(log.map((x) => x.action)).size).toBe(actionsOurCodeSends().length);
      expect(log.some((x) => 'Signature' in x.params || 'SignatureNonce' in x.params)).toBe(false);
    } finally {
      await v1.close();
    }
  });

  it('creates a redirect listener with a BackendServerPort, as the official rules require without a VServerGroupId', async () => {
    // Prepare: the mall's HTTPS listener is the target; port 8080 is free
    const req = { regionId, loadBalancerId: lbId, listenerPort: 8080, forwardPort: MALL.https.port };
    // Act
    const exchanges = await sent(() => layer.slb.createHttpListener(req));
    // Assess
    expect(findings(exchanges)).toEqual([]);
    expect(exchanges.map((x) => [x.action, x.httpStatus, x.params.BackendServerPort])).toEqual([
      ['CreateLoadBalancerHTTPListener', 200, String(REDIRECT_BACKEND_PORT)],
    ]);
    expect((await layer.slb.describeHttpListener(req)).forwardPort).toBe(MALL.https.port);
    await layer.slb.deleteListener({ ...req, protocol: 'http' });
  });

  it('lists tags of more than 20 resources in batches of 20 ResourceId.N', async () => {
    // Prepare: the mall's load balancer among 24 ids that name nothing
    const ids = [lbId, ...Array.from({ length: 24 }, (_, i) => `lb-none${i}`)];
    // Act
    const exchanges = await sent(() =>
      layer.slb.listTagResources({ regionId, resourceType: 'instance', resourceIds: ids }),
    );
    // Assess
    expect(findings(exchanges)).toEqual([]);
    expect(
      exchanges.map((x) => [
        x.httpStatus,
        Object.keys(x.params).filter((k) => k.startsWith('ResourceId.')).length,
      ]),
    ).toEqual([
      [200, 20],
      [200, 5],
    ]);
  });

  it('sends CAS no RegionId: CAS 2020-04-07 actions take none', async () => {
    // Act
    const exchanges = await sent(async () => {
      const [first] = await layer.cas.listCertificates();
      if (first) await layer.cas.getCertificate(first.certId);
    });
    // Assess
    expect(exchanges.map((x) => x.action)).toEqual(['ListUserCertificateOrder', 'GetUserCertificateDetail']);
    expect(findings(exchanges)).toEqual([]);
    expect(exchanges.every((x) => !('RegionId' in x.params))).toBe(true);
  });
});

describe('what the local cloud does with requests the official description refuses', () => {
  it('answers a missing required parameter with MissingParameter, and still warns of an undocumented one', async () => {
    // Prepare
    const before = cloud.state();
    // Act
    const err = await sdkError(
      callSlb(cloud, 'CreateLoadBalancerHTTPListener', {
        RegionId: regionId,
        LoadBalancerId: lbId,
        ListenerPort: 8088,
        BackendServerPort: 80,
        Colour: 'blue',
      }),
    );
    const warnings = cloud.takeWarnings();
    // Assess
    expect([err.code, err.statusCode, err.data.Message]).toEqual([
      'MissingParameter',
      400,
      'The input parameter "HealthCheck" that is mandatory for processing this request is not supplied.',
    ]);
    expect(warnings).toEqual([
      {
        action: 'CreateLoadBalancerHTTPListener',
        side: 'request',
        field: 'Colour',
        message: 'CreateLoadBalancerHTTPListener takes no parameter Colour',
      },
    ]);
    expect(cloud.state()).toEqual(before);
  });

  it('records a value the official rules refuse but a handler let through as a warning', async () => {
    // Act: the local cloud's DescribeLoadBalancers does not filter by InternetChargeType, so it does
    // not refuse a value outside the documented ones
    await callSlb(cloud, 'DescribeLoadBalancers', { RegionId: regionId, InternetChargeType: 'free' });
    const warnings = cloud.takeWarnings();
    // Assess
    expect(warnings.map((w) => [w.action, w.field])).toEqual([
      ['DescribeLoadBalancers', 'InternetChargeType'],
    ]);
  });
});
