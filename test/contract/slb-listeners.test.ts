// HTTP/HTTPS listeners across the wire: the unmodified SDK (both signing modes, documented errors, state
// unchanged after an error) and our typed client (defaults sent, partial updates, token paging in chunks).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MALL } from '../../scripts/local-cloud/scenarios/mall-fixture';
import {
  type CloudState,
  emptyState,
  type ListenerRecord,
  type LoadBalancerRecord,
} from '../../scripts/local-cloud/state';
import type { Cloud } from '../../shared/cloud/index';
import { RateBudget } from '../../shared/cloud/rate-budget';
import type { RpcCaller, RpcRequest } from '../../shared/cloud/rpc-types';
import { listenerApi } from '../../shared/cloud/slb/listeners';
import {
  callSlb,
  cloudFailure,
  cloudLayerFor,
  sdkError,
  startTestCloud,
  type TestCloud,
} from '../support/local-cloud';

const regionId = MALL.regionId;
const lbId = MALL.loadBalancerId;
const groupId = MALL.vServerGroup.vServerGroupId;
let cloud: TestCloud;
let layer: Cloud;
/** the mall's listener certificate and the extension domain's one */
let certs: [string, string];

beforeAll(async () => {
  cloud = await startTestCloud({ scenario: 'mall' });
  layer = cloudLayerFor(cloud, {
    budget: new RateBudget({ write: { capacity: 1000, refillPerSecond: 1000 } }),
  });
  const state = cloud.state();
  const https = state.listeners.find((l) => l.listenerProtocol === 'https');
  certs = [String(https?.serverCertificateId), String(state.domainExtensions[0]?.serverCertificateId)];
});
afterAll(() => cloud.close());

const listenerOf = (port: number) =>
  cloud.state().listeners.find((l) => l.loadBalancerId === lbId && l.listenerPort === port);

describe('listeners through the unmodified SDK', () => {
  it.each([
    ['ACS3-HMAC-SHA256', false, 8443],
    ['HMAC-SHA1 (v2)', true, 9443],
  ])('creates, starts and lists an HTTPS listener with %s signatures', async (_, v2, port) => {
    // Act
    const at = { RegionId: regionId, LoadBalancerId: lbId, ListenerPort: port };
    await callSlb(
      cloud,
      'CreateLoadBalancerHTTPSListener',
      {
        ...at,
        Bandwidth: -1,
        HealthCheck: 'on',
        HealthCheckURI: '/healthz',
        StickySession: 'off',
        VServerGroupId: groupId,
        ServerCertificateId: certs[0],
      },
      { v2 },
    );
    const created = await callSlb(cloud, 'DescribeLoadBalancerHTTPSListenerAttribute', at, { v2 });
    await callSlb(cloud, 'StartLoadBalancerListener', at, { v2 });
    const listed = await callSlb(
      cloud,
      'DescribeLoadBalancerListeners',
      { RegionId: regionId, LoadBalancerId: [lbId], ListenerPort: port },
      { v2 },
    );
    await callSlb(cloud, 'DeleteLoadBalancerListener', at, { v2 });
    // Assess
    expect(created).toMatchObject({
      ListenerPort: port,
      Status: 'stopped',
      HealthCheck: 'on',
      ServerCertificateId: certs[0],
    });
    expect(listed).toMatchObject({
      TotalCount: 1,
      NextToken: '',
      Listeners: [
        {
          ListenerPort: port,
          ListenerProtocol: 'https',
          Status: 'running',
          HTTPSListenerConfig: { HealthCheckURI: '/healthz' },
        },
      ],
    });
    expect(listenerOf(port)).toBeUndefined();
  });

  it('omits Listeners when a load balancer has none', async () => {
    const { LoadBalancerId } = await callSlb(cloud, 'CreateLoadBalancer', { RegionId: regionId });
    const body = await callSlb(cloud, 'DescribeLoadBalancerListeners', {
      RegionId: regionId,
      LoadBalancerId: [LoadBalancerId],
    });
    await callSlb(cloud, 'DeleteLoadBalancer', { RegionId: regionId, LoadBalancerId });
    expect(body).not.toHaveProperty('Listeners');
    expect(body).toMatchObject({ TotalCount: 0, NextToken: '', MaxResults: 20 });
  });

  const HTTPS = {
    LoadBalancerId: lbId,
    ListenerPort: 8443,
    Bandwidth: -1,
    HealthCheck: 'off',
    VServerGroupId: groupId,
  };
  it.each<[string, string, Record<string, unknown>, string, number, string]>([
    [
      'no Bandwidth',
      'CreateLoadBalancerHTTPSListener',
      { ...HTTPS, Bandwidth: undefined, ServerCertificateId: 'c' },
      'MissingParameter',
      400,
      'Bandwidth',
    ],
    [
      'an interval of 51 s',
      'CreateLoadBalancerHTTPSListener',
      { ...HTTPS, HealthCheckInterval: 51, ServerCertificateId: 'c' },
      'InvalidParameter',
      400,
      'HealthCheckInterval',
    ],
    [
      'an unknown certificate',
      'CreateLoadBalancerHTTPSListener',
      { ...HTTPS, ServerCertificateId: 'nope' },
      'InvalidParameter.ServerCertificateId',
      400,
      'ServerCertificateId',
    ],
    [
      'an unknown group',
      'CreateLoadBalancerHTTPListener',
      { ...HTTPS, VServerGroupId: 'rsp-nope' },
      'InvalidParameter',
      404,
      'The specified VServerGroupId does not exist.',
    ],
    [
      'a taken port',
      'CreateLoadBalancerHTTPListener',
      { ...HTTPS, ListenerPort: 443 },
      'ListenerAlreadyExists',
      400,
      'already exists',
    ],
    [
      'a redirect to nothing',
      'CreateLoadBalancerHTTPListener',
      { ...HTTPS, ListenerForward: 'on', ForwardPort: 8443 },
      'InvalidParameter',
      400,
      'ForwardPort',
    ],
    [
      'an unknown listener',
      'SetLoadBalancerHTTPSListenerAttribute',
      { LoadBalancerId: lbId, ListenerPort: 8443, Gzip: 'off' },
      'InvalidParameter',
      404,
      'The specified resource does not exist.',
    ],
    [
      'a certificate swap to nothing',
      'SetLoadBalancerHTTPSListenerAttribute',
      { LoadBalancerId: lbId, ListenerPort: 443, ServerCertificateId: 'nope' },
      'InvalidParameter.ServerCertificateId',
      400,
      'ServerCertificateId',
    ],
    [
      'deleting a redirect target',
      'DeleteLoadBalancerListener',
      { LoadBalancerId: lbId, ListenerPort: 443 },
      'ListenerForwardExist',
      400,
      'forwards',
    ],
    [
      'MaxResults 101',
      'DescribeLoadBalancerListeners',
      { MaxResults: 101 },
      'InvalidParameter',
      400,
      'MaxResults',
    ],
  ])('answers %s with %s (%i), changing nothing', async (_, action, query, code, status, text) => {
    const before = cloud.state();
    const err = await sdkError(callSlb(cloud, action, { RegionId: regionId, ...query }));
    expect([err.code, err.statusCode]).toEqual([code, status]);
    expect(String(err.data.Message)).toContain(text);
    expect(cloud.state()).toEqual(before);
  });

  it('answers Operation.Deny while a changed listener is configuring, and reads it as configuring', async () => {
    cloud.setFaults({ configuringMs: 60_000 });
    try {
      const at = { RegionId: regionId, LoadBalancerId: lbId, ListenerPort: 80 };
      await callSlb(cloud, 'SetLoadBalancerHTTPListenerAttribute', { ...at, Gzip: 'off' });
      const before = cloud.state();
      const err = await sdkError(callSlb(cloud, 'StopLoadBalancerListener', at));
      const attr = await callSlb(cloud, 'DescribeLoadBalancerHTTPListenerAttribute', at);
      expect([err.code, err.statusCode, err.data.Message]).toEqual([
        'Operation.Deny',
        400,
        'The specified listener is configuring, please try again later.',
      ]);
      expect(attr.Status).toBe('configuring');
      expect(cloud.state()).toEqual(before);
    } finally {
      cloud.reset();
    }
  });
});

describe('listeners through our typed client', () => {
  it('creates an HTTPS listener with the required defaults sent, reads it back and changes only what it names', async () => {
    // Act
    await layer.slb.createHttpsListener({
      regionId,
      loadBalancerId: lbId,
      listenerPort: 8443,
      vServerGroupId: groupId,
      serverCertificateId: certs[0],
      healthCheck: { enabled: true, uri: '/ping', interval: 5, httpCodes: ['http_2xx', 'http_3xx'] },
      attributes: { IdleTimeout: 30 },
      tags: [{ key: 'managed-by', value: 'slb-autopilot' }],
    });
    const created = await layer.slb.describeHttpsListener({
      regionId,
      loadBalancerId: lbId,
      listenerPort: 8443,
    });
    await layer.slb.setHttpsListenerAttribute({
      regionId,
      loadBalancerId: lbId,
      listenerPort: 8443,
      serverCertificateId: certs[1],
      healthCheck: { interval: 7 },
    });
    const changed = await layer.slb.describeHttpsListener({
      regionId,
      loadBalancerId: lbId,
      listenerPort: 8443,
    });
    await layer.slb.setHttpsListenerAttribute({
      regionId,
      loadBalancerId: lbId,
      listenerPort: 8443,
      vServerGroup: 'off',
    });
    const detached = listenerOf(8443)?.vServerGroupId;
    await layer.slb.deleteListener({ regionId, loadBalancerId: lbId, listenerPort: 8443 });
    // Assess
    expect(created).toMatchObject({
      listenerProtocol: 'https',
      status: 'stopped',
      bandwidth: -1,
      vServerGroupId: groupId,
      serverCertificateId: certs[0],
      healthCheck: { enabled: true, uri: '/ping', interval: 5, httpCodes: ['http_2xx', 'http_3xx'] },
      attributes: { StickySession: 'off', IdleTimeout: 30, Gzip: 'on' },
      tags: [{ key: 'managed-by', value: 'slb-autopilot' }],
      domainExtensions: [],
      rules: [],
    });
    expect(changed).toMatchObject({
      serverCertificateId: certs[1],
      vServerGroupId: groupId,
      healthCheck: { enabled: true, uri: '/ping', interval: 7 },
      attributes: { IdleTimeout: 30 },
    });
    expect(detached).toBeUndefined();
    expect(listenerOf(8443)).toBeUndefined();
  });

  it('reads the mall HTTPS listener with its extension domain', async () => {
    const l = await layer.slb.describeHttpsListener({ regionId, loadBalancerId: lbId, listenerPort: 443 });
    expect(l.domainExtensions).toEqual([
      {
        domainExtensionId: MALL.extensionDomain.domainExtensionId,
        domain: MALL.extensionDomain.domain,
        serverCertificateId: certs[1],
      },
    ]);
    expect(l.healthCheck).toMatchObject({ enabled: true, uri: MALL.healthCheck.healthCheckURI });
  });

  it('creates an HTTP redirect, replaces it by a plain listener, runs the lifecycle and deletes it', async () => {
    const at81 = { regionId, loadBalancerId: lbId, listenerPort: 81 };
    await layer.slb.createHttpListener({ ...at81, forwardPort: 443 });
    const redirecting = await layer.slb.describeHttpListener(at81);
    // No Set action changes a redirect (official request model): delete and recreate.
    await layer.slb.deleteListener({ ...at81, protocol: 'http' });
    await layer.slb.createHttpListener({ ...at81, vServerGroupId: groupId });
    const plain = await layer.slb.describeHttpListener({ regionId, loadBalancerId: lbId, listenerPort: 81 });
    await layer.slb.startListener({ regionId, loadBalancerId: lbId, listenerPort: 81 });
    const started = listenerOf(81)?.status;
    await layer.slb.stopListener({ regionId, loadBalancerId: lbId, listenerPort: 81, protocol: 'http' });
    const stopped = listenerOf(81)?.status;
    await layer.slb.deleteListener({ regionId, loadBalancerId: lbId, listenerPort: 81 });
    expect([redirecting.forwardPort, redirecting.status]).toEqual([443, 'stopped']);
    expect([plain.forwardPort, plain.vServerGroupId]).toEqual([undefined, groupId]);
    expect([started, stopped, listenerOf(81)]).toEqual(['running', 'stopped', undefined]);
  });

  it('does not apply ListenerForward or ForwardPort sent to SetLoadBalancerHTTPListenerAttribute, and warns', async () => {
    // Prepare: the mall's HTTP listener redirects to 443
    const at80 = { RegionId: regionId, LoadBalancerId: lbId, ListenerPort: MALL.http.port };
    // Act
    await callSlb(cloud, 'SetLoadBalancerHTTPListenerAttribute', { ...at80, ListenerForward: 'off' });
    const warnings = cloud.takeWarnings();
    // Assess
    expect(listenerOf(MALL.http.port)).toMatchObject({ listenerForward: 'on', forwardPort: MALL.https.port });
    expect(warnings).toEqual([
      expect.objectContaining({
        action: 'SetLoadBalancerHTTPListenerAttribute',
        side: 'request',
        field: 'ListenerForward',
      }),
    ]);
  });

  it('surfaces a refused create as a CloudError with the API code', async () => {
    const before = cloud.state();
    const err = await cloudFailure(
      layer.slb.createHttpListener({
        regionId,
        loadBalancerId: lbId,
        listenerPort: 8080,
        vServerGroupId: 'rsp-nope',
      }),
    );
    expect([err.code, err.httpStatus, err.retryable]).toEqual(['InvalidParameter', 404, false]);
    expect(cloud.state()).toEqual(before);
  });
});

describe('describeListeners over many load balancers and pages', () => {
  let big: TestCloud;
  let bigLayer: Cloud;
  const loadBalancerIds = Array.from({ length: 11 }, (_, i) => `lb-many${String(i).padStart(2, '0')}`);

  beforeAll(async () => {
    // 11 load balancers: the first with 150 listeners (two pages of 100), the others with one each
    const state: CloudState = emptyState();
    const template: LoadBalancerRecord = {
      loadBalancerId: '',
      loadBalancerName: 'many',
      regionId,
      loadBalancerStatus: 'active',
      address: '127.0.0.1',
      addressType: 'internet',
      addressIPVersion: 'ipv4',
      networkType: 'classic',
      vpcId: '',
      vSwitchId: '',
      loadBalancerSpec: 'slb.s1.small',
      internetChargeType: 'paybytraffic',
      bandwidth: 5120,
      payType: 'PayOnDemand',
      instanceChargeType: 'PayBySpec',
      masterZoneId: `${regionId}-k`,
      slaveZoneId: `${regionId}-j`,
      resourceGroupId: 'rg-default',
      deleteProtection: 'off',
      createTime: '2026-11-01T00:00:00Z',
      tags: [],
    };
    const listener = (loadBalancerId: string, listenerPort: number): ListenerRecord => ({
      loadBalancerId,
      listenerPort,
      listenerProtocol: 'http',
      status: 'running',
      bandwidth: -1,
      scheduler: 'wrr',
      backendServerPort: 8050,
      healthCheck: { healthCheck: 'off' },
      extra: {},
      tags: [],
    });
    for (const id of loadBalancerIds) state.loadBalancers.push({ ...template, loadBalancerId: id });
    for (let p = 1; p <= 150; p++) state.listeners.push(listener(loadBalancerIds[0]!, 10_000 + p));
    for (const id of loadBalancerIds.slice(1)) state.listeners.push(listener(id, 80));
    big = await startTestCloud({ scenario: state });
    bigLayer = cloudLayerFor(big);
  });
  afterAll(() => big.close());

  it('asks 10 load balancers at a time and follows NextToken to the end', async () => {
    const listeners = await bigLayer.slb.describeListeners({ regionId, loadBalancerIds });
    expect(listeners).toHaveLength(160);
    expect(new Set(listeners.map((l) => `${l.loadBalancerId}:${l.listenerPort}`)).size).toBe(160);
    // chunk 1: 159 listeners in two pages of 100; chunk 2: one page
    expect(big.calls().calls.DescribeLoadBalancerListeners).toBe(3);
  });
});

describe('the typed listener client on older bodies', () => {
  it('reads numbers as strings and a wrapped Listeners list, and sends LoadBalancerId as an array', async () => {
    const requests: RpcRequest[] = [];
    const rpc: RpcCaller = {
      call: async (r) => {
        requests.push(r);
        return {
          NextToken: '',
          Listeners: {
            Listener: [
              {
                LoadBalancerId: 'lb-1',
                ListenerPort: '443',
                ListenerProtocol: 'https',
                Status: 'running',
                Bandwidth: '-1',
                Tags: [{ TagKey: 'k', TagValue: 'v' }],
                HTTPSListenerConfig: {
                  HealthCheck: 'on',
                  HealthCheckInterval: '2',
                  ServerCertificateId: 'c-1',
                  Gzip: 'on',
                },
              },
            ],
          },
        };
      },
    };
    const [l] = await listenerApi(rpc).describeListeners({ regionId, loadBalancerIds: ['lb-1'] });
    expect(l).toMatchObject({
      listenerPort: 443,
      bandwidth: -1,
      serverCertificateId: 'c-1',
      healthCheck: { enabled: true, interval: 2 },
      attributes: { Gzip: 'on' },
      tags: [{ key: 'k', value: 'v' }],
    });
    expect(requests[0]?.params).toMatchObject({ LoadBalancerId: ['lb-1'], MaxResults: 100 });
  });

  it('sends Bandwidth, HealthCheck and StickySession on create unless told otherwise', async () => {
    const requests: RpcRequest[] = [];
    const rpc: RpcCaller = {
      call: async (r) => {
        requests.push(r);
        return {};
      },
    };
    const api = listenerApi(rpc);
    await api.createHttpsListener({
      regionId,
      loadBalancerId: 'lb-1',
      listenerPort: 443,
      serverCertificateId: 'c',
      vServerGroupId: 'rsp-1',
    });
    await api.createHttpListener({
      regionId,
      loadBalancerId: 'lb-1',
      listenerPort: 80,
      backendServerPort: 8080,
      bandwidth: 50,
      healthCheck: { enabled: true },
      attributes: { StickySession: 'on', StickySessionType: 'insert', CookieTimeout: 60 },
    });
    expect(
      requests.map((r) => [
        r.action,
        r.write,
        r.params.Bandwidth,
        r.params.HealthCheck,
        r.params.StickySession,
      ]),
    ).toEqual([
      ['CreateLoadBalancerHTTPSListener', true, -1, 'off', 'off'],
      ['CreateLoadBalancerHTTPListener', true, 50, 'on', 'on'],
    ]);
  });
});
