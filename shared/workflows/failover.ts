// Failover for the VServer groups of one managed load balancer: read each group (members, weights and
// the failover state in its tags, one call), the load balancer's health (one DescribeHealthStatus), probe
// the standbys (and any weight-0 member) ourselves, decide with the pure planner (shared/domain/
// failover.ts, which holds every guard), then apply absolute weights with one SetVServerGroupAttribute
// per 20 changed members, raises first, re-read to verify, and persist the state in the group's tags.
// Repeating the same request changes nothing: targets are absolute and the state is in the cloud.

import type { ProbeResult, ProbeTarget } from '../cloud/probe';
import type { SlbClient } from '../cloud/slb';
import { worstHealthByBackend } from '../cloud/slb/health';
import type { VServerGroup } from '../cloud/slb/vserver-groups';
import {
  decodeFailoverState,
  encodeFailoverState,
  type FailoverBackend,
  type FailoverCommand,
  type FailoverDecision,
  planFailover,
  resolvePool,
  setWeightBatches,
  staleFailoverTagKeys,
} from '../domain/failover';
import { isOwned, type OwnershipMarker, ownedName } from '../domain/ownership';
import type { Spec } from '../domain/spec';
import { InputError } from '../errors';
import { type Lease, type LeaseOptions, withLoadBalancerLease } from './lease';

export interface FailoverRequest {
  loadBalancerId: string;
  /** one group; default every group of the load balancer the spec names */
  vServerGroupId?: string;
  command: FailoverCommand;
  /** where it came from, for the report: alarm, audit, manual */
  origin: string;
}

/** Where a backend really answers (the local cloud's stand-ins may live on other ports). */
export type BackendAddressResolver = (b: { serverId: string; port: number; ip?: string }) => Promise<{
  host: string;
  port: number;
}>;

export const directBackendAddress: BackendAddressResolver = async (b) => ({ host: b.ip ?? '', port: b.port });

export interface FailoverDeps {
  slb: SlbClient;
  probeAll: (targets: readonly ProbeTarget[]) => Promise<ProbeResult[]>;
  resolveBackend: BackendAddressResolver;
  now: () => Date;
  /** this deployment's marker: finds the load balancers it created, and the groups it owns */
  ownership: OwnershipMarker;
  /** the per-load-balancer writer lease (default DEFAULT_LEASE) */
  lease?: LeaseOptions;
  sleep?: (ms: number) => Promise<void>;
}

export interface GroupReport {
  vServerGroupId: string;
  name: string;
  decision: Pick<FailoverDecision, 'kind' | 'reasons' | 'blockedBy' | 'pools' | 'active'>;
  before: { backend: string; weight: number; health: string }[];
  after: { backend: string; weight: number }[];
  /** SetVServerGroupAttribute calls made */
  writes: number;
  verified: boolean;
  error?: string;
}

export interface FailoverReport {
  loadBalancerId: string;
  loadBalancerName: string;
  command: FailoverCommand;
  origin: string;
  groups: GroupReport[];
  /** true when any weight changed */
  changed: boolean;
  failed: boolean;
}

/** A manual request names what the spec does not manage (422 over HTTP). */
export class FailoverRequestError extends InputError {
  override name = 'FailoverRequestError';
  constructor(message: string) {
    super(message, { status: 422, code: 'InvalidFailoverRequest' });
  }
}

const key = (b: { serverId: string; port: number }) => `${b.serverId}:${b.port}`;
/** The health-check settings a listener gives a group, as far as probes need them. */
export interface ProbeSettings {
  path: string;
  domain?: string;
  port?: number;
  method: 'head' | 'get';
  httpCodes: string[];
  timeout: number;
}

/** Probes what SLB cannot vouch for (standbys, weight-0 members) the way the listener checks them. */
export async function probeMembers(
  deps: Pick<FailoverDeps, 'probeAll' | 'resolveBackend'>,
  members: readonly { serverId: string; port: number; ip?: string }[],
  hc: ProbeSettings | undefined,
): Promise<Map<string, ProbeResult>> {
  const targets: ProbeTarget[] = [];
  for (const b of members) {
    const where = await deps.resolveBackend(b);
    targets.push({
      key: key(b),
      host: where.host,
      port: hc?.port ?? where.port,
      ...(hc
        ? {
            http: {
              path: hc.path,
              ...(hc.domain ? { host: hc.domain } : {}),
              method: hc.method === 'head' ? ('HEAD' as const) : ('GET' as const),
              codes: hc.httpCodes,
            },
            timeoutMs: Math.min(hc.timeout, 5) * 1000,
          }
        : {}),
    });
  }
  return new Map((await deps.probeAll(targets)).map((p) => [p.key, p]));
}

export async function runFailover(
  deps: FailoverDeps,
  spec: Spec,
  request: FailoverRequest,
): Promise<FailoverReport> {
  const { slb } = deps;
  const regionId = spec.region;
  // One round of reads in parallel: the load balancer (only when the spec names it by name, not id),
  // the group (directly when the request names it), and the health of every backend.
  const adopted = spec.loadBalancers.find((s) => s.id === request.loadBalancerId);
  const [lbs, named, healthRows] = await Promise.all([
    adopted
      ? Promise.resolve(undefined)
      : slb.describeLoadBalancers({ regionId, loadBalancerIds: [request.loadBalancerId] }),
    request.vServerGroupId
      ? slb
          .describeVServerGroup({ regionId, vServerGroupId: request.vServerGroupId })
          .catch((err: unknown) => {
            if (
              (err as { code?: string }).code === 'VServerGroupId.NotFound' ||
              (err as { code?: string }).code === 'InvalidParameter'
            )
              return undefined;
            throw err;
          })
      : Promise.resolve(undefined),
    slb.describeHealthStatus({ regionId, loadBalancerId: request.loadBalancerId }).catch((err: unknown) => {
      if (/NotExist|NotFound/.test(String((err as { code?: string }).code))) return undefined;
      throw err;
    }),
  ]);
  const lb = lbs?.[0];
  const specLb =
    adopted ??
    (lb && isOwned(deps.ownership, lb.tags, lb.loadBalancerName)
      ? spec.loadBalancers.find((s) => !s.id && lb.loadBalancerName === ownedName(deps.ownership, s.name))
      : undefined);
  if (!specLb || healthRows === undefined)
    throw new FailoverRequestError(
      `loadBalancerId: ${request.loadBalancerId} is not a load balancer the spec manages in ${regionId}`,
    );
  if (
    request.vServerGroupId &&
    (!named || (named.loadBalancerId && named.loadBalancerId !== request.loadBalancerId))
  )
    throw new FailoverRequestError(
      `vServerGroupId: ${request.vServerGroupId} is not a group of ${request.loadBalancerId}`,
    );
  // Weights and state are read again and written holding the load balancer's lease: an apply or
  // another failover run never interleaves its writes with these.
  return withLoadBalancerLease(
    {
      slb,
      regionId,
      now: deps.now,
      ...(deps.lease ? { lease: deps.lease } : {}),
      ...(deps.sleep ? { sleep: deps.sleep } : {}),
    },
    request.loadBalancerId,
    `failover@${deps.ownership.deploymentId}`,
    (lease) => decideAndWrite(deps, spec, request, specLb, healthRows, lease),
  );
}

async function decideAndWrite(
  deps: FailoverDeps,
  spec: Spec,
  request: FailoverRequest,
  specLb: Spec['loadBalancers'][number],
  healthRows: Awaited<ReturnType<SlbClient['describeHealthStatus']>>,
  lease: Lease,
): Promise<FailoverReport> {
  const { slb } = deps;
  const regionId = spec.region;
  let groups: VServerGroup[];
  if (request.vServerGroupId) {
    groups = [await slb.describeVServerGroup({ regionId, vServerGroupId: request.vServerGroupId })];
  } else {
    const summaries = (
      await slb.describeVServerGroups({ regionId, loadBalancerId: request.loadBalancerId })
    ).filter((x) => specLb.vServerGroups.some((g) => g.name === x.vServerGroupName));
    if (summaries.length === 0)
      throw new FailoverRequestError(`${request.loadBalancerId} has none of the groups the spec names`);
    groups = await Promise.all(
      summaries.map((x) => slb.describeVServerGroup({ regionId, vServerGroupId: x.vServerGroupId })),
    );
  }
  const health = worstHealthByBackend(healthRows);
  const now = deps.now();
  const report: FailoverReport = {
    loadBalancerId: request.loadBalancerId,
    loadBalancerName: specLb.name,
    command: request.command,
    origin: request.origin,
    groups: [],
    changed: false,
    failed: false,
  };

  for (const group of groups) {
    const specGroup = specLb.vServerGroups.find((g) => g.name === group.vServerGroupName);
    const ownedGroup = isOwned(deps.ownership, group.tags);
    const listener = specLb.listeners.find(
      (l) => l.vServerGroup === group.vServerGroupName && l.healthCheck?.enabled !== false,
    );
    const hc = listener?.healthCheck;

    // Probe standbys and weight-0 members: SLB's check says little about them.
    const toProbe = group.backendServers.filter((b) => {
      const pool = resolvePool(specGroup?.backends.find((s) => key(s) === key(b))?.pool, b.description);
      return pool === 'standby' || b.weight === 0;
    });
    const probes = await probeMembers(
      deps,
      toProbe.map((b) => {
        const ip = health.get(key(b))?.ip ?? b.serverIp;
        return { serverId: b.serverId, port: b.port, ...(ip ? { ip } : {}) };
      }),
      hc,
    );

    const backends: FailoverBackend[] = group.backendServers.map((b) => {
      const s = specGroup?.backends.find((x) => key(x) === key(b));
      const h = health.get(key(b));
      const p = probes.get(key(b));
      return {
        serverId: b.serverId,
        port: b.port,
        weight: b.weight,
        pool: resolvePool(s?.pool, b.description),
        ...(h ? { slbHealth: h.state } : {}),
        ...(p ? { probe: p.up ? ('up' as const) : ('down' as const) } : {}),
        owned: s !== undefined || ownedGroup,
        ...(s ? { declaredWeight: s.weight } : {}),
      };
    });
    const tags = Object.fromEntries(group.tags.map((t) => [t.key, t.value]));
    const { state, reasons: stateReasons } = decodeFailoverState(tags);
    const decision = planFailover({
      backends,
      state,
      stateReasons,
      policy: spec.failover,
      command: request.command,
      now,
    });

    const g: GroupReport = {
      vServerGroupId: group.vServerGroupId,
      name: group.vServerGroupName,
      decision: {
        kind: decision.kind,
        reasons: [
          ...decision.reasons,
          ...[...probes.values()].filter((p) => !p.up).map((p) => `probe ${p.key}: ${p.reason}`),
        ],
        ...(decision.blockedBy ? { blockedBy: decision.blockedBy } : {}),
        pools: decision.pools,
        active: decision.active,
      },
      before: backends.map((b) => ({
        backend: key(b),
        weight: b.weight,
        health: `${b.slbHealth ?? 'unknown'}${b.probe ? `/probe ${b.probe}` : ''}`,
      })),
      after: backends.map((b) => ({ backend: key(b), weight: b.weight })),
      writes: 0,
      verified: true,
    };
    report.groups.push(g);

    try {
      // A rebalance on an automatic run would fight the spec's own weights (apply's business, not
      // failover's): only shifts, failbacks and manual commands move weights.
      const holdRebalance = decision.kind === 'rebalance' && request.command === 'auto';
      if (holdRebalance)
        g.decision.reasons.push(
          'rebalance held: weights that differ from the policy are drift for apply, not failover',
        );
      const batches = holdRebalance ? [] : setWeightBatches(decision.targetWeights, backends);
      await lease.checkpoint();
      for (const batch of batches) {
        await slb.setVServerGroupAttribute({
          regionId,
          vServerGroupId: group.vServerGroupId,
          backendServers: batch.map((t) => {
            const b = group.backendServers.find((x) => key(x) === key(t));
            return {
              serverId: t.serverId,
              port: t.port,
              weight: t.weight,
              ...(b?.type ? { type: b.type } : {}),
              ...(b?.serverIp ? { serverIp: b.serverIp } : {}),
            };
          }),
        });
        g.writes++;
      }
      // The verifying read and the state's tags in one round.
      const next = encodeFailoverState(decision.nextState);
      const stale = staleFailoverTagKeys(tags, next);
      const changedTags = Object.entries(next).filter(([k, v]) => tags[k] !== v);
      const [after] = await Promise.all([
        batches.length > 0
          ? slb.describeVServerGroup({ regionId, vServerGroupId: group.vServerGroupId })
          : undefined,
        changedTags.length > 0
          ? slb.tagResources({
              regionId,
              resourceType: 'vservergroup',
              resourceIds: [group.vServerGroupId],
              tags: changedTags.map(([k, v]) => ({ key: k, value: v })),
            })
          : undefined,
        stale.length > 0
          ? slb.untagResources({
              regionId,
              resourceType: 'vservergroup',
              resourceIds: [group.vServerGroupId],
              tagKeys: stale,
            })
          : undefined,
      ]);
      if (after) {
        report.changed = true;
        g.after = after.backendServers.map((b) => ({ backend: key(b), weight: b.weight }));
        const want = new Map(decision.targetWeights.map((t) => [key(t), t.weight]));
        g.verified = after.backendServers.every(
          (b) => want.get(key(b)) === undefined || want.get(key(b)) === b.weight,
        );
        if (!g.verified) {
          g.error = 'the weights read back differ from the ones set (changed concurrently?)';
          report.failed = true;
        }
      }
    } catch (err) {
      g.error = err instanceof Error ? err.message : String(err);
      g.verified = false;
      report.failed = true;
    }
  }
  return report;
}

/** Markdown for people (notifications, logs). */
export function describeFailover(r: FailoverReport): string {
  const lines = [`**${r.loadBalancerName}** (${r.loadBalancerId}), ${r.command} from ${r.origin}:`];
  for (const g of r.groups) {
    const weights = g.after.map((a) => `${a.backend} ${a.weight}`).join(', ');
    lines.push(
      `- ${g.name}: ${g.decision.kind}${g.decision.blockedBy ? ` (blocked by ${g.decision.blockedBy})` : ''}; weights ${weights}${g.error ? `; error: ${g.error}` : ''}`,
    );
    for (const reason of g.decision.reasons) lines.push(`  - ${reason}`);
  }
  return lines.join('\n');
}
