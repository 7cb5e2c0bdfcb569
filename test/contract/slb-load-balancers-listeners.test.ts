// Load balancers and listeners through our typed layer and the real SDK, against the local cloud.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MALL } from '../../scripts/local-cloud/scenarios/mall-fixture';
import type { Cloud } from '../../shared/cloud/index';
import { RateBudget } from '../../shared/cloud/rate-budget';
import {
  callSlb,
  cloudFailure,
  cloudLayerFor,
  sdkError,
  startTestCloud,
  type TestCloud,
} from '../support/local-cloud';

let cloud: TestCloud;
let layer: Cloud;
const regionId = 'cn-hangzhou';

beforeAll(async () => {
  cloud = await startTestCloud({ scenario: 'mall' });
  // a roomy write budget: the paging test creates and deletes over 200 load balancers
  layer = cloudLayerFor(cloud, {
    budget: new RateBudget({ write: { capacity: 1000, refillPerSecond: 1000 } }),
  });
});
afterAll(() => cloud.close());

describe('load balancers', () => {
  it('lists the mall through the unmodified SDK in both signing modes', async () => {
    for (const v2 of [false, true]) {
      const body = await callSlb(cloud, 'DescribeLoadBalancers', { RegionId: regionId }, { v2 });
      expect(body).toMatchObject({
        TotalCount: 1,
        LoadBalancers: { LoadBalancer: [{ LoadBalancerId: MALL.loadBalancerId }] },
      });
    }
  });

  it('describes the mall with its listeners, keeping the misspelt legacy field', async () => {
    const lb = await layer.slb.describeLoadBalancer({ regionId, loadBalancerId: MALL.loadBalancerId });
    expect(lb.listeners).toEqual([
      { listenerPort: 80, listenerProtocol: 'http' },
      { listenerPort: 443, listenerProtocol: 'https' },
    ]);
    const raw = await callSlb(cloud, 'DescribeLoadBalancerAttribute', {
      RegionId: regionId,
      LoadBalancerId: MALL.loadBalancerId,
    });
    expect(raw.ListenerPortsAndProtocal).toBeDefined();
  });

  it('answers InvalidLoadBalancerId.NotFound (404) for an unknown id', async () => {
    const err = await cloudFailure(layer.slb.describeLoadBalancer({ regionId, loadBalancerId: 'lb-nope' }));
    expect([err.code, err.httpStatus, err.retryable]).toEqual(['InvalidLoadBalancerId.NotFound', 404, false]);
  });

  it('pages through more load balancers than one page holds, and ClientToken makes creation idempotent', async () => {
    const created = [];
    for (let i = 0; i < 105; i++)
      created.push(await layer.slb.createLoadBalancer({ regionId, loadBalancerName: `bulk-${i}` }));
    const again = await layer.slb.createLoadBalancer({
      regionId,
      loadBalancerName: 'tokened',
      clientToken: 'tok-1',
    });
    const twice = await layer.slb.createLoadBalancer({
      regionId,
      loadBalancerName: 'tokened',
      clientToken: 'tok-1',
    });
    expect(twice.loadBalancerId).toBe(again.loadBalancerId);
    const all = await layer.slb.describeLoadBalancers({ regionId });
    expect(all).toHaveLength(107);
    expect(new Set(all.map((x) => x.loadBalancerId)).size).toBe(107);
    const calls = layer.accounting.snapshot().calls.DescribeLoadBalancers;
    expect(calls).toBe(2);
    for (const c of created)
      await layer.slb.deleteLoadBalancer({ regionId, loadBalancerId: c.loadBalancerId });
    await layer.slb.deleteLoadBalancer({ regionId, loadBalancerId: again.loadBalancerId });
    expect(await layer.slb.describeLoadBalancers({ regionId })).toHaveLength(1);
  });
});

describe('listeners', () => {
  it('reads the mall listeners from the plain-array response', async () => {
    const listeners = await layer.slb.describeListeners({ regionId, loadBalancerIds: [MALL.loadBalancerId] });
    expect(listeners.map((l) => [l.listenerProtocol, l.listenerPort, l.status])).toEqual([
      ['http', 80, 'running'],
      ['https', 443, 'running'],
    ]);
    const https = listeners.find((l) => l.listenerProtocol === 'https')!;
    expect(https.healthCheck).toMatchObject({
      enabled: true,
      uri: '/healthz',
      interval: 2,
      httpCodes: ['http_2xx', 'http_3xx'],
    });
    expect(listeners.find((l) => l.listenerProtocol === 'http')?.forwardPort).toBe(443);
  });

  it('reads the HTTPS attribute with its extension domain', async () => {
    const l = await layer.slb.describeHttpsListener({
      regionId,
      loadBalancerId: MALL.loadBalancerId,
      listenerPort: 443,
    });
    expect(l.vServerGroupId).toBe(MALL.vServerGroup.vServerGroupId);
    expect(l.domainExtensions.map((d) => d.domain)).toEqual([MALL.extensionDomain.domain]);
    expect(l.attributes).toMatchObject({ StickySession: 'off', EnableHttp2: 'on' });
  });

  it('creates, configures, starts, stops and deletes a listener; a set changes only what it names', async () => {
    const lbId = MALL.loadBalancerId;
    await layer.slb.createHttpListener({
      regionId,
      loadBalancerId: lbId,
      listenerPort: 8080,
      vServerGroupId: MALL.vServerGroup.vServerGroupId,
      healthCheck: { enabled: true, uri: '/ping', interval: 5 },
    });
    await layer.slb.setHttpListenerAttribute({
      regionId,
      loadBalancerId: lbId,
      listenerPort: 8080,
      healthCheck: { interval: 7 },
    });
    let l = await layer.slb.describeHttpListener({ regionId, loadBalancerId: lbId, listenerPort: 8080 });
    expect([l.status, l.healthCheck.uri, l.healthCheck.interval]).toEqual(['stopped', '/ping', 7]);
    await layer.slb.startListener({ regionId, loadBalancerId: lbId, listenerPort: 8080 });
    l = await layer.slb.describeHttpListener({ regionId, loadBalancerId: lbId, listenerPort: 8080 });
    expect(l.status).toBe('running');
    await layer.slb.stopListener({ regionId, loadBalancerId: lbId, listenerPort: 8080 });
    await layer.slb.deleteListener({ regionId, loadBalancerId: lbId, listenerPort: 8080 });
    expect(
      (await layer.slb.describeListeners({ regionId, loadBalancerIds: [lbId] })).map((x) => x.listenerPort),
    ).toEqual([80, 443]);
  });

  it.each([
    [
      { ListenerPort: 443, HealthCheck: 'on', Bandwidth: -1, ServerCertificateId: 'x' },
      'MissingParameter',
      'LoadBalancerId',
    ],
    [
      {
        LoadBalancerId: MALL.loadBalancerId,
        ListenerPort: 8443,
        HealthCheck: 'on',
        Bandwidth: -1,
        ServerCertificateId: 'x',
      },
      'MissingParameter',
      'BackendServerPort',
    ],
    [
      {
        LoadBalancerId: MALL.loadBalancerId,
        ListenerPort: 70000,
        Bandwidth: -1,
        HealthCheck: 'on',
        BackendServerPort: 80,
      },
      'InvalidParameter',
      'ListenerPort',
    ],
    [
      {
        LoadBalancerId: MALL.loadBalancerId,
        ListenerPort: 8443,
        Bandwidth: -1,
        HealthCheck: 'on',
        HealthCheckInterval: 51,
        ServerCertificateId: 'x',
        BackendServerPort: 80,
      },
      'InvalidParameter',
      'HealthCheckInterval',
    ],
    [
      {
        LoadBalancerId: MALL.loadBalancerId,
        ListenerPort: 443,
        Bandwidth: -1,
        HealthCheck: 'off',
        VServerGroupId: MALL.vServerGroup.vServerGroupId,
        ServerCertificateId: '1231579085529123_18f2a01_1714763408_709981430',
      },
      'ListenerAlreadyExists',
      '',
    ],
    [
      {
        LoadBalancerId: MALL.loadBalancerId,
        ListenerPort: 8443,
        Bandwidth: -1,
        HealthCheck: 'off',
        VServerGroupId: MALL.vServerGroup.vServerGroupId,
        ServerCertificateId: 'nope',
      },
      'InvalidParameter.ServerCertificateId',
      '',
    ],
  ])(
    'refuses a bad HTTPS listener %# with %s naming the field, changing nothing',
    async (query, code, field) => {
      const before = cloud.state();
      const err = await sdkError(
        callSlb(cloud, 'CreateLoadBalancerHTTPSListener', { RegionId: regionId, ...query }),
      );
      expect(err.code).toBe(code);
      expect(String(err.data.Message)).toContain(field);
      expect(cloud.state()).toEqual(before);
    },
  );

  it('refuses to delete an HTTPS listener an HTTP listener redirects to', async () => {
    const before = cloud.state();
    const err = await cloudFailure(
      layer.slb.deleteListener({ regionId, loadBalancerId: MALL.loadBalancerId, listenerPort: 443 }),
    );
    expect(err.code).toBe('ListenerForwardExist');
    expect(cloud.state()).toEqual(before);
  });
});
