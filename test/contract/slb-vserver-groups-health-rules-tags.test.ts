// VServer groups, health status, forwarding rules and tags through the typed layer, against the local cloud.
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { MALL } from '../../scripts/local-cloud/scenarios/mall-fixture';
import type { CloudState } from '../../scripts/local-cloud/state';
import type { Cloud } from '../../shared/cloud/index';
import {
  callSlb,
  cloudFailure,
  cloudLayerFor,
  sdkError,
  startTestCloud,
  type TestCloud,
} from '../support/local-cloud';

const regionId = 'cn-hangzhou';
const lbId = MALL.loadBalancerId;
const groupId = MALL.vServerGroup.vServerGroupId;
let cloud: TestCloud;
let layer: Cloud;

// 45 extra running instances, so batching can be tested.
const extra = Array.from({ length: 45 }, (_, i) => `i-bp1extra${String(i).padStart(10, '0')}`);

beforeEach(async () => {
  await cloud?.close();
  const base = await startTestCloud({ scenario: 'mall' });
  const state: CloudState = base.state();
  await base.close();
  state.instances.push(
    ...extra.map((serverId) => ({ serverId, regionId, privateIp: '127.0.0.1', status: 'Running' as const })),
  );
  cloud = await startTestCloud({ scenario: state });
  layer = cloudLayerFor(cloud);
});
afterAll(() => cloud.close());

describe('VServer groups', () => {
  it('reads the mall group: K8S at 100, ECS at 0, with the listener using it', async () => {
    const g = await layer.slb.describeVServerGroup({ regionId, vServerGroupId: groupId });
    expect(g.backendServers.map((b) => [b.serverId, b.port, b.weight, b.description])).toEqual([
      [MALL.k8s.serverId, 30250, 100, 'k8s-nodeport'],
      [MALL.ecs.serverId, 8050, 0, 'ecs-standby'],
    ]);
    const [summary] = await layer.slb.describeVServerGroups({
      regionId,
      loadBalancerId: lbId,
      includeListeners: true,
    });
    expect(summary?.listeners).toEqual([{ port: 443, protocol: 'https' }]);
  });

  it('swaps weights with one SetVServerGroupAttribute call, members untouched', async () => {
    await layer.slb.setVServerGroupAttribute({
      regionId,
      vServerGroupId: groupId,
      backendServers: [
        { serverId: MALL.k8s.serverId, port: 30250, weight: 0 },
        { serverId: MALL.ecs.serverId, port: 8050, weight: 100 },
      ],
    });
    const g = cloud.state().vServerGroups[0]!;
    expect(g.backendServers.map((b) => [b.weight, b.description])).toEqual([
      [0, 'k8s-nodeport'],
      [100, 'ecs-standby'],
    ]);
    expect(layer.accounting.snapshot().calls).toEqual({ SetVServerGroupAttribute: 1 });
  });

  it('creates a group of 45 backends in 3 calls of at most 20, then deletes it', async () => {
    const { vServerGroupId } = await layer.slb.createVServerGroup({
      regionId,
      loadBalancerId: lbId,
      vServerGroupName: 'bulk',
      backendServers: extra.map((serverId, i) => ({ serverId, port: 8000 + i, weight: 50 })),
    });
    expect(layer.accounting.snapshot().calls).toEqual({
      CreateVServerGroup: 1,
      AddVServerGroupBackendServers: 2,
    });
    expect((await layer.slb.describeVServerGroup({ regionId, vServerGroupId })).backendServers).toHaveLength(
      45,
    );
    await layer.slb.removeBackendServers({
      regionId,
      vServerGroupId,
      backendServers: [
        { serverId: extra[0]!, port: 8000 },
        { serverId: 'i-notmember', port: 1 },
      ],
    });
    expect((await layer.slb.describeVServerGroup({ regionId, vServerGroupId })).backendServers).toHaveLength(
      44,
    );
    await layer.slb.deleteVServerGroup({ regionId, vServerGroupId });
    expect(cloud.state().vServerGroups.map((g) => g.vServerGroupId)).toEqual([groupId]);
  });

  it('tolerates numbers as strings on the wire, in requests and in answers', async () => {
    await callSlb(cloud, 'SetVServerGroupAttribute', {
      RegionId: regionId,
      VServerGroupId: groupId,
      BackendServers: JSON.stringify([{ ServerId: MALL.ecs.serverId, Port: '8050', Weight: '30' }]),
    });
    const g = await layer.slb.describeVServerGroup({ regionId, vServerGroupId: groupId });
    expect(g.backendServers.find((b) => b.serverId === MALL.ecs.serverId)?.weight).toBe(30);
  });

  it.each([
    [
      'TooManyBackendServers',
      () => JSON.stringify(extra.slice(0, 21).map((serverId) => ({ ServerId: serverId, Port: 80 }))),
    ],
    [
      'InvalidWeight.Malformed',
      () => JSON.stringify([{ ServerId: MALL.ecs.serverId, Port: 8050, Weight: 101 }]),
    ],
    ['BackendServersMalformed', () => '[{"ServerId":'],
    ['ObtainIpFail', () => JSON.stringify([{ ServerId: 'i-doesnotexist', Port: 80 }])],
  ])('refuses with %s and changes nothing', async (code, backends) => {
    const before = cloud.state();
    const err = await sdkError(
      callSlb(cloud, 'AddVServerGroupBackendServers', {
        RegionId: regionId,
        VServerGroupId: groupId,
        BackendServers: backends(),
      }),
    );
    expect(err.code).toBe(code);
    expect(cloud.state()).toEqual(before);
  });

  it('refuses to delete a group in use by a listener (RspoolVipExist) or a rule (RspoolRuleExist)', async () => {
    expect(
      (await cloudFailure(layer.slb.deleteVServerGroup({ regionId, vServerGroupId: groupId }))).code,
    ).toBe('RspoolVipExist');
    const { vServerGroupId } = await layer.slb.createVServerGroup({
      regionId,
      loadBalancerId: lbId,
      vServerGroupName: 'api',
    });
    await layer.slb.createRules({
      regionId,
      loadBalancerId: lbId,
      listenerPort: 443,
      rules: [{ ruleName: 'api', domain: 'api.mall.example.com', vServerGroupId }],
    });
    const before = cloud.state();
    expect((await cloudFailure(layer.slb.deleteVServerGroup({ regionId, vServerGroupId }))).code).toBe(
      'RspoolRuleExist',
    );
    expect(cloud.state()).toEqual(before);
  });
});

describe('health status', () => {
  it('maps one call onto every (listener, backend) pair, reporting what the data plane saw', async () => {
    cloud.setHealth({ [`${MALL.k8s.serverId}:30250`]: 'abnormal' });
    const health = await layer.slb.describeHealthStatus({ regionId, loadBalancerId: lbId });
    expect(health.map((h) => [h.listenerPort, h.serverId, h.port, h.state])).toEqual([
      [443, MALL.k8s.serverId, 30250, 'abnormal'],
      [443, MALL.ecs.serverId, 8050, 'normal'],
    ]);
    expect(layer.accounting.snapshot().calls).toEqual({ DescribeHealthStatus: 1 });
  });
});

describe('forwarding rules', () => {
  it('creates, reads (ListenerPort as a string in the attribute), renames and deletes rules', async () => {
    const [created] = await layer.slb.createRules({
      regionId,
      loadBalancerId: lbId,
      listenerPort: 443,
      rules: [{ ruleName: 'img', domain: 'img.mall.example.com', url: '/img', vServerGroupId: groupId }],
    });
    const raw = await callSlb(cloud, 'DescribeRuleAttribute', {
      RegionId: regionId,
      RuleId: created!.ruleId,
    });
    expect(raw.ListenerPort).toBe('443');
    expect(await layer.slb.describeRule({ regionId, ruleId: created!.ruleId })).toMatchObject({
      listenerPort: 443,
      url: '/img',
    });
    await layer.slb.setRule({ regionId, ruleId: created!.ruleId, ruleName: 'images' });
    expect(
      (await layer.slb.describeRules({ regionId, loadBalancerId: lbId, listenerPort: 443 })).map(
        (r) => r.ruleName,
      ),
    ).toEqual(['images']);
    const dup = await cloudFailure(
      layer.slb.createRules({
        regionId,
        loadBalancerId: lbId,
        listenerPort: 443,
        rules: [{ ruleName: 'again', domain: 'img.mall.example.com', url: '/img', vServerGroupId: groupId }],
      }),
    );
    expect(dup.code).toBe('DomainExist');
    await layer.slb.deleteRules({ regionId, ruleIds: [created!.ruleId] });
    expect(cloud.state().rules).toEqual([]);
  });
});

describe('deleting rules and extension domains', () => {
  it('deletes by id; rules of two listeners in one call are refused and change nothing', async () => {
    // Prepare: a rule on 443 and one on 80, and a second extension domain on 443
    const on = (listenerPort: number, ruleName: string, url: string) =>
      layer.slb.createRules({
        regionId,
        loadBalancerId: lbId,
        listenerPort,
        rules: [{ ruleName, url, vServerGroupId: groupId }],
      });
    const [a] = await on(443, 'a', '/a');
    const [b] = await on(80, 'b', '/b');
    const certificate = cloud.state().domainExtensions[0]?.serverCertificateId ?? '';
    const { domainExtensionId } = await layer.slb.createDomainExtension({
      regionId,
      loadBalancerId: lbId,
      listenerPort: 443,
      domain: 'shop.mall.example.com',
      serverCertificateId: certificate,
    });
    const before = cloud.state();
    // Act + Assess: refusals by code, nothing changed
    expect(
      (await cloudFailure(layer.slb.deleteRules({ regionId, ruleIds: [a!.ruleId, b!.ruleId] }))).code,
    ).toBe('Operation.NotAllowed');
    expect(cloud.state().rules).toEqual(before.rules);
    expect(cloud.state().domainExtensions).toEqual(before.domainExtensions);
    // Act + Assess: deleted, the rest kept
    await layer.slb.deleteRules({ regionId, ruleIds: [a!.ruleId] });
    await layer.slb.deleteDomainExtension({ regionId, domainExtensionId });
    expect(cloud.state().rules.map((r) => r.ruleName)).toEqual(['b']);
    expect(cloud.state().domainExtensions.map((d) => d.domain)).toEqual([MALL.extensionDomain.domain]);
  });

  it('counts what is already gone as deleted: a retry after a lost answer succeeds and deletes the rest', async () => {
    // Prepare: two rules on 443 and a second extension domain, one rule deleted already (the lost answer)
    const rules = await layer.slb.createRules({
      regionId,
      loadBalancerId: lbId,
      listenerPort: 443,
      rules: [
        { ruleName: 'a', url: '/a', vServerGroupId: groupId },
        { ruleName: 'c', url: '/c', vServerGroupId: groupId },
      ],
    });
    const [a, c] = rules.map((r) => r.ruleId);
    const { domainExtensionId } = await layer.slb.createDomainExtension({
      regionId,
      loadBalancerId: lbId,
      listenerPort: 443,
      domain: 'shop.mall.example.com',
      serverCertificateId: cloud.state().domainExtensions[0]?.serverCertificateId ?? '',
    });
    await layer.slb.deleteRules({ regionId, ruleIds: [a!] });
    await layer.slb.deleteDomainExtension({ regionId, domainExtensionId });
    // Act: the same deletes again, and one call naming a gone rule beside a live one
    await layer.slb.deleteRules({ regionId, ruleIds: [a!] });
    await layer.slb.deleteDomainExtension({ regionId, domainExtensionId });
    await layer.slb.deleteRules({ regionId, ruleIds: [a!, c!] });
    // Assess
    expect(cloud.state().rules).toEqual([]);
    expect(cloud.state().domainExtensions.map((d) => d.domain)).toEqual([MALL.extensionDomain.domain]);
  });
});

describe('tags', () => {
  it('tags listeners and groups, lists them back, and untags', async () => {
    const listenerId = `${lbId}_https_443`;
    await layer.slb.tagResources({
      regionId,
      resourceType: 'listener',
      resourceIds: [listenerId],
      tags: [{ key: 'managed-by', value: 'slb-autopilot' }],
    });
    await layer.slb.tagResources({
      regionId,
      resourceType: 'vservergroup',
      resourceIds: [groupId],
      tags: [{ key: 'managed-by', value: 'slb-autopilot' }],
    });
    const rows = await layer.slb.listTagResources({
      regionId,
      resourceType: 'listener',
      tags: [{ key: 'managed-by', value: 'slb-autopilot' }],
    });
    expect(rows).toEqual([{ resourceId: listenerId, key: 'managed-by', value: 'slb-autopilot' }]);
    await layer.slb.untagResources({
      regionId,
      resourceType: 'listener',
      resourceIds: [listenerId],
      tagKeys: ['managed-by'],
    });
    expect(
      await layer.slb.listTagResources({ regionId, resourceType: 'listener', resourceIds: [listenerId] }),
    ).toEqual([]);
  });

  it('refuses reserved tag keys and changes nothing', async () => {
    const before = cloud.state();
    const err = await cloudFailure(
      layer.slb.tagResources({
        regionId,
        resourceType: 'instance',
        resourceIds: [lbId],
        tags: [{ key: 'aliyun:x', value: 'y' }],
      }),
    );
    expect(err.code).toBe('InvalidParameter');
    expect(err.message).toContain('Tag.1.Key');
    expect(cloud.state()).toEqual(before);
  });
});
