// Load balancers across the wire: the unmodified SDK (both signing modes) and our typed client against
// the local cloud, plus the typed client's reading of older, string-typed bodies.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MALL } from '../../scripts/local-cloud/scenarios/mall-fixture';
import type { Cloud } from '../../shared/cloud/index';
import { RateBudget } from '../../shared/cloud/rate-budget';
import type { RpcCaller, RpcRequest, RpcResponse } from '../../shared/cloud/rpc-types';
import { type CreateLoadBalancerRequest, loadBalancerApi } from '../../shared/cloud/slb/load-balancers';
import {
  callSlb,
  cloudFailure,
  cloudLayerFor,
  sdkError,
  startTestCloud,
  type TestCloud,
} from '../support/local-cloud';

const regionId = MALL.regionId;
let cloud: TestCloud;
let layer: Cloud;

beforeAll(async () => {
  cloud = await startTestCloud({ scenario: 'mall' });
  layer = cloudLayerFor(cloud, {
    budget: new RateBudget({ write: { capacity: 1000, refillPerSecond: 1000 } }),
  });
});
afterAll(() => cloud.close());

const ids = () => cloud.state().loadBalancers.map((lb) => lb.loadBalancerId);

describe('load balancers through the unmodified SDK', () => {
  it.each([
    ['ACS3-HMAC-SHA256', false],
    ['HMAC-SHA1 (v2)', true],
  ])('creates, describes and deletes with %s signatures', async (_, v2) => {
    // Act
    const created = await callSlb(
      cloud,
      'CreateLoadBalancer',
      { RegionId: regionId, LoadBalancerName: `signed-${v2}`, Tag: [{ Key: 'owner', Value: 'autopilot' }] },
      { v2 },
    );
    const listed = await callSlb(
      cloud,
      'DescribeLoadBalancers',
      { RegionId: regionId, LoadBalancerId: String(created.LoadBalancerId) },
      { v2 },
    );
    await callSlb(
      cloud,
      'DeleteLoadBalancer',
      { RegionId: regionId, LoadBalancerId: created.LoadBalancerId },
      { v2 },
    );
    // Assess
    expect(created).toMatchObject({
      LoadBalancerName: `signed-${v2}`,
      Address: '127.0.0.1',
      RequestId: expect.any(String),
    });
    expect(listed).toMatchObject({
      TotalCount: 1,
      LoadBalancers: {
        LoadBalancer: [
          {
            LoadBalancerId: created.LoadBalancerId,
            LoadBalancerStatus: 'active',
            CreateTimeStamp: expect.any(Number),
            Tags: { Tag: [{ TagKey: 'owner', TagValue: 'autopilot' }] },
          },
        ],
      },
    });
    expect(ids()).toEqual([MALL.loadBalancerId]);
  });

  it('answers DescribeLoadBalancerAttribute with both listener-pair lists, the misspelt one kept', async () => {
    const body = await callSlb(cloud, 'DescribeLoadBalancerAttribute', {
      RegionId: regionId,
      LoadBalancerId: MALL.loadBalancerId,
    });
    expect(body).toMatchObject({
      ListenerPorts: { ListenerPort: [80, 443] },
      ListenerPortsAndProtocal: {
        ListenerPortAndProtocal: [{ ListenerPort: 80, ListenerProtocal: 'http' }, {}],
      },
      ListenerPortsAndProtocol: {
        ListenerPortAndProtocol: [
          { ListenerPort: 80, ListenerProtocol: 'http', ListenerForward: 'on', ForwardPort: 443 },
          { ListenerPort: 443, ListenerProtocol: 'https' },
        ],
      },
      BackendServers: { BackendServer: [] },
    });
  });

  it.each<[string, string, Record<string, unknown>, string, number, string]>([
    [
      'an unknown load balancer',
      'DescribeLoadBalancerAttribute',
      { LoadBalancerId: 'lb-nope' },
      'InvalidLoadBalancerId.NotFound',
      404,
      'does not exist',
    ],
    [
      'a bad name',
      'CreateLoadBalancer',
      { LoadBalancerName: '9lives' },
      'InvalidParameter',
      400,
      'LoadBalancerName',
    ],
    [
      'an unknown spec',
      'CreateLoadBalancer',
      { LoadBalancerSpec: 'slb.s9.huge' },
      'InvalidParameter',
      400,
      'LoadBalancerSpec',
    ],
    [
      'a missing status',
      'SetLoadBalancerStatus',
      { LoadBalancerId: MALL.loadBalancerId },
      'MissingParameter',
      400,
      'LoadBalancerStatus',
    ],
    [
      'PageSize 101',
      'DescribeLoadBalancers',
      { PageNumber: 1, PageSize: 101 },
      'InvalidParameter',
      400,
      'PageSize',
    ],
  ])('answers %s with %s (%i), changing nothing', async (_, action, query, code, status, text) => {
    const before = cloud.state();
    const err = await sdkError(callSlb(cloud, action, { RegionId: regionId, ...query }));
    expect([err.code, err.statusCode]).toEqual([code, status]);
    expect(String(err.data.Message)).toContain(text);
    expect(err.data.RequestId).toEqual(expect.any(String));
    expect(cloud.state()).toEqual(before);
  });

  it('refuses to delete a protected load balancer, through the SDK and through our layer', async () => {
    const { LoadBalancerId } = await callSlb(cloud, 'CreateLoadBalancer', {
      RegionId: regionId,
      LoadBalancerName: 'protected',
      DeleteProtection: 'on',
    });
    const before = cloud.state();
    const raw = await sdkError(callSlb(cloud, 'DeleteLoadBalancer', { RegionId: regionId, LoadBalancerId }));
    const typed = await cloudFailure(
      layer.slb.deleteLoadBalancer({ regionId, loadBalancerId: String(LoadBalancerId) }),
    );
    expect([raw.code, raw.statusCode]).toEqual(['OperationDenied.DeleteProtectionIsOn', 400]);
    expect([typed.code, typed.retryable]).toEqual(['OperationDenied.DeleteProtectionIsOn', false]);
    expect(cloud.state()).toEqual(before);
    // the emulator has no action to lift the protection: back to the scenario for the tests after this one
    cloud.reset();
  });
});

describe('load balancers through our typed client', () => {
  it('creates idempotently, filters, reads the attribute, switches status and deletes with its listeners', async () => {
    // Prepare
    const request: CreateLoadBalancerRequest = {
      regionId,
      loadBalancerName: 'typed',
      loadBalancerSpec: 'slb.s2.small',
      clientToken: 'typed-1',
      tags: [{ key: 'managed-by', value: 'slb-autopilot' }],
    };
    // Act
    const created = await layer.slb.createLoadBalancer(request);
    const again = await layer.slb.createLoadBalancer(request);
    const byTag = await layer.slb.describeLoadBalancers({
      regionId,
      tags: [{ key: 'managed-by', value: 'slb-autopilot' }],
    });
    const byName = await layer.slb.describeLoadBalancers({
      regionId,
      loadBalancerNames: ['typed', MALL.loadBalancerName],
    });
    await layer.slb.createHttpListener({
      regionId,
      loadBalancerId: created.loadBalancerId,
      listenerPort: 8080,
      backendServerPort: 8050,
    });
    const detail = await layer.slb.describeLoadBalancer({ regionId, loadBalancerId: created.loadBalancerId });
    await layer.slb.setLoadBalancerStatus({
      regionId,
      loadBalancerId: created.loadBalancerId,
      loadBalancerStatus: 'inactive',
    });
    const inactive = await layer.slb.describeLoadBalancers({ regionId, loadBalancerStatus: 'inactive' });
    await layer.slb.deleteLoadBalancer({ regionId, loadBalancerId: created.loadBalancerId });
    // Assess
    expect(again).toEqual(created);
    expect(created.address).toBe('127.0.0.1');
    expect(byTag.map((lb) => [lb.loadBalancerId, lb.loadBalancerSpec, lb.tags])).toEqual([
      [created.loadBalancerId, 'slb.s2.small', [{ key: 'managed-by', value: 'slb-autopilot' }]],
    ]);
    expect(byName.map((lb) => lb.loadBalancerName).sort()).toEqual([MALL.loadBalancerName, 'typed']);
    expect(detail).toMatchObject({
      loadBalancerId: created.loadBalancerId,
      loadBalancerStatus: 'active',
      listeners: [{ listenerPort: 8080, listenerProtocol: 'http' }],
    });
    expect(inactive.map((lb) => lb.loadBalancerId)).toEqual([created.loadBalancerId]);
    expect(ids()).toEqual([MALL.loadBalancerId]);
    expect(cloud.state().listeners.filter((l) => l.loadBalancerId === created.loadBalancerId)).toEqual([]);
  });

  it('sends more than 10 ids in chunks of 10 and reads each chunk', async () => {
    const made: string[] = [];
    for (let i = 0; i < 11; i++)
      made.push(
        (await layer.slb.createLoadBalancer({ regionId, loadBalancerName: `chunk-${i}` })).loadBalancerId,
      );
    const callsBefore = cloud.calls().calls.DescribeLoadBalancers ?? 0;
    const found = await layer.slb.describeLoadBalancers({
      regionId,
      loadBalancerIds: [...made, 'lb-missing'],
    });
    const calls = (cloud.calls().calls.DescribeLoadBalancers ?? 0) - callsBefore;
    for (const loadBalancerId of made) await layer.slb.deleteLoadBalancer({ regionId, loadBalancerId });
    expect(found.map((lb) => lb.loadBalancerId).sort()).toEqual([...made].sort());
    expect(calls).toBe(2);
  });
});

describe('the typed client on older, string-typed bodies', () => {
  /** A caller answering from a script, recording what it was asked. */
  function scripted(answer: (r: RpcRequest) => RpcResponse): RpcCaller & { requests: RpcRequest[] } {
    const requests: RpcRequest[] = [];
    return {
      requests,
      call: async (r) => {
        requests.push(r);
        return answer(r);
      },
    };
  }

  it('reads numbers sent as strings and walks the pages until TotalCount', async () => {
    // Prepare: 150 load balancers, served 100 a page with every number as a string
    const rpc = scripted((r) => {
      const page = Number(r.params.PageNumber);
      const size = Number(r.params.PageSize);
      const items = Array.from({ length: 150 }, (_, i) => ({
        LoadBalancerId: `lb-${i}`,
        LoadBalancerName: `n${i}`,
        CreateTimeStamp: '1700000000000',
      })).slice((page - 1) * size, page * size);
      return {
        PageNumber: String(page),
        PageSize: String(size),
        TotalCount: '150',
        LoadBalancers: { LoadBalancer: items },
      };
    });
    // Act
    const all = await loadBalancerApi(rpc).describeLoadBalancers({ regionId, addressType: 'intranet' });
    // Assess
    expect(all).toHaveLength(150);
    expect(all[0]?.createTimeStamp).toBe(1_700_000_000_000);
    expect(rpc.requests.map((r) => [r.action, r.params.PageNumber, r.params.AddressType, r.write])).toEqual([
      ['DescribeLoadBalancers', 1, 'intranet', false],
      ['DescribeLoadBalancers', 2, 'intranet', false],
    ]);
  });

  it('falls back to the misspelt ListenerPortsAndProtocal list when the correct one is absent', async () => {
    const rpc = scripted(() => ({
      LoadBalancerId: 'lb-old',
      ListenerPortsAndProtocal: {
        ListenerPortAndProtocal: [{ ListenerPort: '443', ListenerProtocal: 'https' }],
      },
    }));
    const lb = await loadBalancerApi(rpc).describeLoadBalancer({ regionId, loadBalancerId: 'lb-old' });
    expect(lb.listeners).toEqual([{ listenerPort: 443, listenerProtocol: 'https' }]);
  });

  it('sends creation options by their wire names and marks writes as writes', async () => {
    const rpc = scripted(() => ({ LoadBalancerId: 'lb-new', Address: '127.0.0.1' }));
    await loadBalancerApi(rpc).createLoadBalancer({
      regionId,
      loadBalancerName: 'n',
      addressType: 'intranet',
      vSwitchId: 'vsw-1',
      deleteProtection: 'on',
      tags: [{ key: 'k', value: 'v' }],
    });
    expect(rpc.requests[0]).toMatchObject({
      product: 'slb',
      action: 'CreateLoadBalancer',
      regionId,
      write: true,
      params: {
        LoadBalancerName: 'n',
        AddressType: 'intranet',
        VSwitchId: 'vsw-1',
        DeleteProtection: 'on',
        Tag: [{ Key: 'k', Value: 'v' }],
      },
    });
  });
});
