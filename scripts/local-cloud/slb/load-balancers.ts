// SLB 2014-05-15 actions: load balancers (reference §6.1).
import { LOAD_BALANCER_SPECS } from '../../../shared/domain/spec';
import { ApiError, invalidParameter } from '../errors';
import { type ActionContext, type ActionTable, read, write } from '../handler';
import type { LoadBalancerRecord } from '../state';
import { assertWritable, findLoadBalancer, isoSeconds, matchesTags, tagsBody } from './common';

const NAME = /^[A-Za-z\u4e00-\u9fa5][\w\-./\u4e00-\u9fa5]{0,79}$/;

/** The region without its country prefix, as RegionIdAlias shows it (`cn-hangzhou` -> `hangzhou`). */
const regionAlias = (regionId: string): string => regionId.replace(/^cn-/, '');

/**
 * What DescribeLoadBalancers lists and DescribeLoadBalancerAttribute shows of a load balancer. The two
 * differ (official response models): the listing has InternetChargeType in code form ('3' by bandwidth,
 * '4' by traffic) with the word in InternetChargeTypeAlias; the attribute has only the word.
 */
function summary(lb: LoadBalancerRecord, form: 'listing' | 'attribute'): Record<string, unknown> {
  const created = Date.parse(lb.createTime);
  return {
    LoadBalancerId: lb.loadBalancerId,
    LoadBalancerName: lb.loadBalancerName,
    LoadBalancerStatus: lb.loadBalancerStatus,
    Address: lb.address,
    AddressType: lb.addressType,
    AddressIPVersion: lb.addressIPVersion,
    NetworkType: lb.networkType,
    VpcId: lb.vpcId,
    VSwitchId: lb.vSwitchId,
    Bandwidth: lb.bandwidth,
    ...(form === 'listing'
      ? {
          InternetChargeType: lb.internetChargeType === 'paybytraffic' ? '4' : '3',
          InternetChargeTypeAlias: lb.internetChargeType,
        }
      : { InternetChargeType: lb.internetChargeType }),
    InstanceChargeType: lb.instanceChargeType,
    PayType: lb.payType,
    LoadBalancerSpec: lb.loadBalancerSpec,
    MasterZoneId: lb.masterZoneId,
    SlaveZoneId: lb.slaveZoneId,
    RegionId: lb.regionId,
    RegionIdAlias: regionAlias(lb.regionId),
    ResourceGroupId: lb.resourceGroupId,
    CreateTime: lb.createTime,
    CreateTimeStamp: created,
    DeleteProtection: lb.deleteProtection,
    ModificationProtectionStatus: 'NonProtection',
    Tags: tagsBody(lb.tags),
  };
}

function describeLoadBalancers(ctx: ActionContext): Record<string, unknown> {
  const p = ctx.params;
  const pageNumber = p.int('PageNumber', { min: 1 }) ?? 1;
  const pageSize = p.int('PageSize', { min: 1, max: 100 }) ?? 10;
  const ids = p
    .str('LoadBalancerId')
    ?.split(',')
    .map((s) => s.trim());
  const names = p
    .str('LoadBalancerName')
    ?.split(',')
    .map((s) => s.trim());
  if (ids && ids.length > 10) throw invalidParameter('LoadBalancerId', 'accepts at most 10 ids');
  if (names && names.length > 10) throw invalidParameter('LoadBalancerName', 'accepts at most 10 names');
  const addressType = p.oneOf('AddressType', ['internet', 'intranet']);
  const networkType = p.oneOf('NetworkType', ['vpc', 'classic']);
  const status = p.oneOf('LoadBalancerStatus', ['inactive', 'active', 'locked']);
  const tagFilter = [...p.tags()];
  const legacyTags = p.json('Tags');
  if (legacyTags !== undefined) {
    if (!Array.isArray(legacyTags)) throw invalidParameter('Tags', 'must be a JSON array');
    for (const t of legacyTags as Record<string, unknown>[]) {
      tagFilter.push({
        key: String(t.TagKey ?? t.tagKey ?? ''),
        value: (t.TagValue ?? t.tagValue) as string | undefined,
      });
    }
  }
  const all = ctx.state.loadBalancers.filter(
    (lb) =>
      lb.regionId === ctx.regionId &&
      (!ids || ids.includes(lb.loadBalancerId)) &&
      (!names || names.includes(lb.loadBalancerName)) &&
      (!addressType || lb.addressType === addressType) &&
      (!networkType || lb.networkType === networkType) &&
      (!status || lb.loadBalancerStatus === status) &&
      matchesTags(lb.tags, tagFilter),
  );
  const page = all.slice((pageNumber - 1) * pageSize, pageNumber * pageSize);
  return {
    PageNumber: pageNumber,
    PageSize: pageSize,
    TotalCount: all.length,
    LoadBalancers: { LoadBalancer: page.map((lb) => summary(lb, 'listing')) },
  };
}

function describeLoadBalancerAttribute(ctx: ActionContext): Record<string, unknown> {
  const lb = findLoadBalancer(ctx, ctx.params.requiredStr('LoadBalancerId'));
  const listeners = ctx.state.listeners
    .filter((l) => l.loadBalancerId === lb.loadBalancerId)
    .sort((a, b) => a.listenerPort - b.listenerPort);
  return {
    ...summary(lb, 'attribute'),
    BackendServers: { BackendServer: [] },
    ListenerPorts: { ListenerPort: listeners.map((l) => l.listenerPort) },
    ListenerPortsAndProtocal: {
      ListenerPortAndProtocal: listeners.map((l) => ({
        ListenerPort: l.listenerPort,
        ListenerProtocal: l.listenerProtocol,
      })),
    },
    ListenerPortsAndProtocol: {
      ListenerPortAndProtocol: listeners.map((l) => ({
        ListenerPort: l.listenerPort,
        ListenerProtocol: l.listenerProtocol,
        ...(l.listenerForward === 'on' ? { ListenerForward: 'on', ForwardPort: l.forwardPort } : {}),
        ...(l.description ? { Description: l.description } : {}),
      })),
    },
  };
}

function createLoadBalancer(ctx: ActionContext): Record<string, unknown> {
  const p = ctx.params;
  const token = p.str('ClientToken');
  if (token) {
    const earlier = ctx.state.loadBalancers.find((lb) => lb.clientToken === token);
    if (earlier)
      return {
        LoadBalancerId: earlier.loadBalancerId,
        LoadBalancerName: earlier.loadBalancerName,
        Address: earlier.address,
      };
  }
  const name = p.str('LoadBalancerName');
  if (name !== undefined && !NAME.test(name))
    throw invalidParameter('LoadBalancerName', 'must be 1-80 characters starting with a letter');
  const vSwitchId = p.str('VSwitchId');
  const addressType =
    p.oneOf('AddressType', ['internet', 'intranet']) ?? (vSwitchId ? 'intranet' : 'internet');
  const spec = p.oneOf('LoadBalancerSpec', LOAD_BALANCER_SPECS) ?? 'slb.s1.small';
  const chargeType = p.oneOf('InternetChargeType', ['paybytraffic', 'paybybandwidth']) ?? 'paybytraffic';
  const bandwidth = p.int('Bandwidth', { min: 1, max: 5120 });
  const deleteProtection = p.oneOf('DeleteProtection', ['on', 'off']) ?? 'off';
  const tags = p.tags();
  // Params.tags() reads Tag.1-20 only, so a 21st entry is looked for among the raw keys.
  if (p.keys().some((k) => Number(/^Tag\.(\d+)\.Key$/.exec(k)?.[1] ?? 0) > 20))
    throw new ApiError('TagCountLimit', 'A resource has at most 20 tags.');
  const id = ctx.newId('lb-bp1');
  const lb: LoadBalancerRecord = {
    loadBalancerId: id,
    loadBalancerName: name ?? `auto_named_slb_${id.slice(-6)}`,
    regionId: ctx.regionId,
    loadBalancerStatus: 'active',
    // Always loopback, whatever the address type: the data plane's TLS/HTTP front ends bind this
    // address later, so "verify the served certificate" can really connect to the load balancer.
    address: '127.0.0.1',
    addressType,
    addressIPVersion: p.oneOf('AddressIPVersion', ['ipv4', 'ipv6']) ?? 'ipv4',
    networkType: vSwitchId ? 'vpc' : 'classic',
    vpcId: p.str('VpcId') ?? '',
    vSwitchId: vSwitchId ?? '',
    loadBalancerSpec: spec,
    internetChargeType: chargeType,
    bandwidth: bandwidth ?? 5120,
    payType: 'PayOnDemand',
    instanceChargeType: p.oneOf('InstanceChargeType', ['PayBySpec', 'PayByCLCU']) ?? 'PayBySpec',
    masterZoneId: p.str('MasterZoneId') ?? `${ctx.regionId}-k`,
    slaveZoneId: p.str('SlaveZoneId') ?? `${ctx.regionId}-j`,
    resourceGroupId: p.str('ResourceGroupId') ?? 'rg-default',
    deleteProtection,
    createTime: isoSeconds(ctx.now),
    tags: tags.map((t) => ({ key: t.key, value: t.value ?? '' })),
    ...(token ? { clientToken: token } : {}),
  };
  ctx.state.loadBalancers.push(lb);
  return {
    LoadBalancerId: lb.loadBalancerId,
    LoadBalancerName: lb.loadBalancerName,
    Address: lb.address,
    AddressIPVersion: lb.addressIPVersion,
    NetworkType: lb.networkType,
    VpcId: lb.vpcId,
    VSwitchId: lb.vSwitchId,
    ResourceGroupId: lb.resourceGroupId,
    OrderId: 0,
  };
}

function deleteLoadBalancer(ctx: ActionContext): Record<string, unknown> {
  const lb = findLoadBalancer(ctx, ctx.params.requiredStr('LoadBalancerId'));
  assertWritable(lb);
  if (lb.deleteProtection === 'on') {
    throw new ApiError(
      'OperationDenied.DeleteProtectionIsOn',
      'The load balancer has deletion protection enabled.',
    );
  }
  const id = lb.loadBalancerId;
  const s = ctx.state;
  s.loadBalancers = s.loadBalancers.filter((x) => x.loadBalancerId !== id);
  s.listeners = s.listeners.filter((x) => x.loadBalancerId !== id);
  s.vServerGroups = s.vServerGroups.filter((x) => x.loadBalancerId !== id);
  s.rules = s.rules.filter((x) => x.loadBalancerId !== id);
  s.domainExtensions = s.domainExtensions.filter((x) => x.loadBalancerId !== id);
  return {};
}

function setLoadBalancerStatus(ctx: ActionContext): Record<string, unknown> {
  const lb = findLoadBalancer(ctx, ctx.params.requiredStr('LoadBalancerId'));
  const status = ctx.params.requiredOneOf('LoadBalancerStatus', ['active', 'inactive']);
  assertWritable(lb);
  lb.loadBalancerStatus = status;
  return {};
}

export const loadBalancersActions: ActionTable = {
  DescribeLoadBalancers: read(describeLoadBalancers),
  DescribeLoadBalancerAttribute: read(describeLoadBalancerAttribute),
  CreateLoadBalancer: write(createLoadBalancer),
  DeleteLoadBalancer: write(deleteLoadBalancer),
  SetLoadBalancerStatus: write(setLoadBalancerStatus),
};
