// Reads the observed state of the load balancers a spec names, into the planner's model.
// Calls: one DescribeLoadBalancers, one DescribeLoadBalancerListeners per 10 load balancers, and per
// load balancer one DescribeVServerGroups, one attribute call per group and one per HTTP(S) listener.
// Two groups with one name (two applies at once each created one) are marked: the planner keeps one
// and repairs the rest (shared/domain/plan.ts, markDuplicateGroups).

import type { SlbClient } from '../cloud/slb';
import type { Listener } from '../cloud/slb/listeners';
import type {
  GroupModel,
  HealthCheckModel,
  ListenerModel,
  LoadBalancerModel,
  RuleModel,
} from '../domain/model';
import { findManagedLoadBalancer, isOwned, type OwnershipMarker } from '../domain/ownership';
import { markDuplicateGroups } from '../domain/plan';

function healthCheck(l: Listener): HealthCheckModel {
  const h = l.healthCheck;
  return {
    enabled: h.enabled,
    ...(h.uri !== undefined ? { path: h.uri } : {}),
    ...(h.domain ? { domain: h.domain } : {}),
    ...(h.connectPort !== undefined ? { port: h.connectPort } : {}),
    ...(h.interval !== undefined ? { interval: h.interval } : {}),
    ...(h.healthyThreshold !== undefined ? { healthyThreshold: h.healthyThreshold } : {}),
    ...(h.unhealthyThreshold !== undefined ? { unhealthyThreshold: h.unhealthyThreshold } : {}),
    ...(h.timeout !== undefined ? { timeout: h.timeout } : {}),
    ...(h.httpCodes ? { httpCodes: h.httpCodes } : {}),
    ...(h.method ? { method: h.method } : {}),
  };
}

/** `owned` when it carries this deployment's marker, else `owner`: the marker tag it carries instead, if any. */
function ownerOf(
  ownership: OwnershipMarker,
  tags: readonly { key: string; value: string }[],
): Pick<ListenerModel, 'owned' | 'owner'> {
  if (isOwned(ownership, tags)) return { owned: true };
  const other = tags.find((t) => t.key === ownership.tagKey);
  return other ? { owner: `${other.key}=${other.value}` } : {};
}

/**
 * `desired` says which load balancers to look for: adopted ones by id, created ones by name
 * (`<namePrefix><name>`) and this deployment's marker (a load balancer of that name that another
 * deployment or a person created is not ours). Returns the ones found, keyed by the spec's names;
 * groups and listeners carrying this deployment's marker are marked `owned`.
 */
export async function observeLoadBalancers(
  slb: SlbClient,
  regionId: string,
  desired: readonly Pick<LoadBalancerModel, 'name' | 'loadBalancerId' | 'create'>[],
  ownership: OwnershipMarker,
): Promise<LoadBalancerModel[]> {
  const all = await slb.describeLoadBalancers({ regionId });
  const found = desired.flatMap((d) => {
    const lb = findManagedLoadBalancer(ownership, all, { id: d.loadBalancerId, name: d.name });
    return lb ? [{ name: d.name, loadBalancerId: lb.loadBalancerId }] : [];
  });
  if (found.length === 0) return [];
  const listeners = await slb.describeListeners({
    regionId,
    loadBalancerIds: found.map((f) => f.loadBalancerId),
  });
  const out: LoadBalancerModel[] = [];
  for (const f of found) {
    const at: At = { slb, regionId, loadBalancerId: f.loadBalancerId, ownership };
    const groups = await observeGroups(at);
    const models: ListenerModel[] = [];
    for (const l of listeners.filter((x) => x.loadBalancerId === f.loadBalancerId))
      if (l.listenerProtocol === 'http' || l.listenerProtocol === 'https')
        models.push(await observeListener(at, l, l.listenerProtocol, groups));
    out.push(
      markDuplicateGroups({ name: f.name, loadBalancerId: f.loadBalancerId, listeners: models, groups }),
    );
  }
  return out;
}

/** One load balancer being read. */
interface At {
  slb: SlbClient;
  regionId: string;
  loadBalancerId: string;
  ownership: OwnershipMarker;
}

async function observeGroups({ slb, regionId, loadBalancerId, ownership }: At): Promise<GroupModel[]> {
  const groups: GroupModel[] = [];
  for (const s of await slb.describeVServerGroups({ regionId, loadBalancerId })) {
    const g = await slb.describeVServerGroup({ regionId, vServerGroupId: s.vServerGroupId });
    groups.push({
      name: g.vServerGroupName,
      vServerGroupId: g.vServerGroupId,
      tags: g.tags,
      ...(isOwned(ownership, g.tags) ? { owned: true } : {}),
      backends: g.backendServers.map((b) => ({
        serverId: b.serverId,
        port: b.port,
        weight: b.weight,
        type: b.type ?? 'ecs',
        ...(b.serverIp ? { serverIp: b.serverIp } : {}),
        ...(b.description ? { description: b.description } : {}),
      })),
    });
  }
  return groups;
}

/** A group's name by id; `#<id>` for a group not on this load balancer. */
const groupName = (groups: readonly GroupModel[], id: string | undefined) =>
  id === undefined ? undefined : (groups.find((g) => g.vServerGroupId === id)?.name ?? `#${id}`);

/** HTTPS: one attribute call gives rules and extension domains; HTTP: DescribeRules. */
async function observeListener(
  at: At,
  l: Listener,
  protocol: 'http' | 'https',
  groups: readonly GroupModel[],
): Promise<ListenerModel> {
  const { slb, regionId, loadBalancerId } = at;
  const ref = { regionId, loadBalancerId, listenerPort: l.listenerPort };
  const detail = protocol === 'https' ? await slb.describeHttpsListener(ref) : undefined;
  const rules = detail ? detail.rules : await slb.describeRules(ref);
  return {
    protocol,
    port: l.listenerPort,
    bandwidth: l.bandwidth,
    scheduler: l.scheduler === 'rr' ? 'rr' : 'wrr',
    ...(l.vServerGroupId
      ? { vServerGroup: groupName(groups, l.vServerGroupId), vServerGroupId: l.vServerGroupId }
      : {}),
    healthCheck: healthCheck(l),
    stickySession: l.attributes.StickySession === 'on',
    ...(l.forwardPort !== undefined ? { redirectPort: l.forwardPort } : {}),
    ...(protocol === 'https' ? { http2: l.attributes.EnableHttp2 !== 'off' } : {}),
    ...(l.serverCertificateId ? { serverCertificateId: l.serverCertificateId } : {}),
    running: l.status === 'running',
    ...ownerOf(at.ownership, l.tags),
    rules: rules.map(
      (r): RuleModel => ({
        name: r.ruleName,
        domain: r.domain,
        url: r.url,
        vServerGroup: groupName(groups, r.vServerGroupId) ?? '',
        ruleId: r.ruleId,
        ...(r.vServerGroupId ? { vServerGroupId: r.vServerGroupId } : {}),
      }),
    ),
    extensionDomains: (detail?.domainExtensions ?? []).map((d) => ({
      domain: d.domain,
      domainExtensionId: d.domainExtensionId,
      serverCertificateId: d.serverCertificateId,
    })),
  };
}
