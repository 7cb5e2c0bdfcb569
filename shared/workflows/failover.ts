// Failover for the VServer groups of one managed load balancer: read each group (members, weights and
// the failover state in its tags, one call), the load balancer's health (one DescribeHealthStatus), probe
// the standbys (and any weight-0 member) ourselves, assess and decide with the pure planner (shared/domain/
// failover.ts, which holds every guard), then run the decision's writes as a plan: one
// SetVServerGroupAttribute per 20 changed members, raises first, then the state's tags and a read that
// verifies the weights. Repeating the same request changes nothing: targets are absolute and the state
// is in the cloud.

import { CloudError } from '../cloud/errors';
import type { Notification } from '../cloud/notify';
import type { ProbeResult, ProbeTarget } from '../cloud/probe';
import type { BackendHealth } from '../cloud/slb/health';
import { worstHealthByBackend } from '../cloud/slb/health';
import type { VServerGroup } from '../cloud/slb/vserver-groups';
import {
  assessGroup,
  decodeFailoverState,
  type FailoverBackend,
  type FailoverCommand,
  type FailoverDecision,
  type FailoverWrite,
  type GroupObservation,
  groupHealthCheck,
  holdsRebalance,
  membersToProbe,
  type ProbeMember,
  planFailover,
  planFailoverWrites,
} from '../domain/failover';
import { backendKey } from '../domain/keys';
import { failoverNotice } from '../domain/notification-policy';
import { isOwned, ownedName } from '../domain/ownership';
import type { Spec } from '../domain/spec';
import { type ErrorReport, GuardRefusedError, VerificationError } from '../errors';
import type { WriterDeps } from './deps';
import { execute, type StepStatus } from './executor';
import { type Lease, withLoadBalancerLease } from './lease';

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

export interface FailoverDeps extends WriterDeps {
  probeAll: (targets: readonly ProbeTarget[]) => Promise<ProbeResult[]>;
  resolveBackend: BackendAddressResolver;
}

export interface GroupReport {
  vServerGroupId: string;
  name: string;
  decision: Pick<FailoverDecision, 'kind' | 'reasons' | 'blockedBy' | 'pools' | 'active'>;
  before: { backend: string; weight: number; health: string }[];
  after: { backend: string; weight: number }[];
  /** the decision's writes as planned (planFailoverWrites), each with its reason and how it ended */
  plan: { id: string; kind: FailoverWrite['kind']; reason: string; status: StepStatus }[];
  /** SetVServerGroupAttribute calls made */
  writes: number;
  verified: boolean;
  /** the first write that failed, with its causes */
  error?: ErrorReport;
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

/**
 * A request naming what the spec does not manage (a load balancer, a group): refused, nothing written.
 * 422 InvalidFailoverRequest at the HTTP edge (what the provisioning API answers), naming the field.
 */
export class FailoverRequestError extends GuardRefusedError {
  override name = 'FailoverRequestError';
  declare readonly field: 'loadBalancerId' | 'vServerGroupId';

  constructor(field: 'loadBalancerId' | 'vServerGroupId', problem: string) {
    super(`${field}: ${problem}`, { field, status: 422, code: 'InvalidFailoverRequest' });
  }
}

const key = backendKey;

/** DescribeHealthStatus on a load balancer that does not exist (reference §3.2). */
const LOAD_BALANCER_NOT_FOUND = new Set(['InvalidLoadBalancerId.NotFound']);
/**
 * DescribeVServerGroupAttribute on a group that does not exist: `InvalidParameter` (404, "The specified
 * VServerGroupId does not exist.", reference §3.2), or `VServerGroupId.NotFound`.
 */
const GROUP_NOT_FOUND = new Set(['InvalidParameter', 'VServerGroupId.NotFound']);

/** `undefined` for a cloud error whose code is in `codes`; anything else is thrown on. */
const absentOn =
  (codes: ReadonlySet<string>) =>
  (err: unknown): undefined => {
    if (err instanceof CloudError && codes.has(err.code)) return undefined;
    throw err;
  };

/** The health-check settings a listener gives a group, as far as probes need them. */
export interface ProbeSettings {
  path: string;
  domain?: string;
  port?: number;
  method: 'head' | 'get';
  httpCodes: string[];
  timeout: number;
}

function probeTarget(
  member: ProbeMember,
  where: { host: string; port: number },
  hc: ProbeSettings | undefined,
): ProbeTarget {
  return {
    key: key(member),
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
  };
}

/** Probes what SLB cannot vouch for (standbys, weight-0 members) the way the listener checks them. */
export async function probeMembers(
  deps: Pick<FailoverDeps, 'probeAll' | 'resolveBackend'>,
  members: readonly ProbeMember[],
  hc: ProbeSettings | undefined,
): Promise<Map<string, ProbeResult>> {
  const targets: ProbeTarget[] = [];
  for (const m of members) targets.push(probeTarget(m, await deps.resolveBackend(m), hc));
  return new Map((await deps.probeAll(targets)).map((p) => [p.key, p]));
}

/** A group assessed and decided: what the planner saw and what it wants. */
export interface AssessedGroup {
  backends: FailoverBackend[];
  probes: Map<string, ProbeResult>;
  decision: FailoverDecision;
  state: ReturnType<typeof decodeFailoverState>['state'];
  tags: Record<string, string>;
}

/** Probes, assesses and decides one group (the audit decides the same way, with command `auto`). */
export async function assessAndDecide(
  deps: Pick<FailoverDeps, 'probeAll' | 'resolveBackend'>,
  observation: GroupObservation & { tags: readonly { key: string; value: string }[] },
  hc: ProbeSettings | undefined,
  plan: { policy: Spec['failover']; command: FailoverCommand; now: Date },
): Promise<AssessedGroup> {
  const probes = await probeMembers(deps, membersToProbe(observation), hc);
  const backends = assessGroup(observation, probes);
  const tags = Object.fromEntries(observation.tags.map((t) => [t.key, t.value]));
  const { state, reasons } = decodeFailoverState(tags);
  const decision = planFailover({ backends, state, stateReasons: reasons, ...plan });
  return { backends, probes, decision, state, tags };
}

interface Target {
  specLb: Spec['loadBalancers'][number];
  health: BackendHealth[];
}

/**
 * The load balancer and group the request names, as the spec manages them; refused (nothing written)
 * otherwise. One round of reads in parallel: the load balancer (only when the spec names it by name,
 * not id), the group (when the request names it), and the health of every backend.
 */
async function resolveTarget(deps: FailoverDeps, spec: Spec, request: FailoverRequest): Promise<Target> {
  const { slb } = deps;
  const regionId = spec.region;
  const adopted = spec.loadBalancers.find((s) => s.id === request.loadBalancerId);
  const [lbs, named, health] = await Promise.all([
    adopted ? undefined : slb.describeLoadBalancers({ regionId, loadBalancerIds: [request.loadBalancerId] }),
    request.vServerGroupId
      ? slb
          .describeVServerGroup({ regionId, vServerGroupId: request.vServerGroupId })
          .catch(absentOn(GROUP_NOT_FOUND))
      : undefined,
    slb
      .describeHealthStatus({ regionId, loadBalancerId: request.loadBalancerId })
      .catch(absentOn(LOAD_BALANCER_NOT_FOUND)),
  ]);
  const lb = lbs?.[0];
  const specLb =
    adopted ??
    (lb && isOwned(deps.ownership, lb.tags, lb.loadBalancerName)
      ? spec.loadBalancers.find((s) => !s.id && lb.loadBalancerName === ownedName(deps.ownership, s.name))
      : undefined);
  if (!specLb || health === undefined)
    throw new FailoverRequestError(
      'loadBalancerId',
      `${request.loadBalancerId} is not a load balancer the spec manages in ${regionId}`,
    );
  if (
    request.vServerGroupId &&
    (!named || (named.loadBalancerId && named.loadBalancerId !== request.loadBalancerId))
  )
    throw new FailoverRequestError(
      'vServerGroupId',
      `${request.vServerGroupId} is not a group of ${request.loadBalancerId}`,
    );
  return { specLb, health };
}

export async function runFailover(
  deps: FailoverDeps,
  spec: Spec,
  request: FailoverRequest,
): Promise<FailoverReport> {
  const target = await resolveTarget(deps, spec, request);
  // Weights and state are read again and written holding the load balancer's lease: an apply or
  // another failover run never interleaves its writes with these.
  return withLoadBalancerLease(
    {
      slb: deps.slb,
      regionId: spec.region,
      now: deps.now,
      ...(deps.lease ? { lease: deps.lease } : {}),
      ...(deps.sleep ? { sleep: deps.sleep } : {}),
    },
    request.loadBalancerId,
    `failover@${deps.ownership.deploymentId}`,
    (lease) => failoverGroups({ deps, spec, request, specLb: target.specLb, lease }, target.health),
  );
}

/** What every group of one run shares. */
interface RunContext {
  deps: FailoverDeps;
  spec: Spec;
  request: FailoverRequest;
  specLb: Spec['loadBalancers'][number];
  lease: Lease;
}

/** The groups of the request: the one it names, else those of the load balancer the spec names. */
async function readGroups(ctx: RunContext): Promise<VServerGroup[]> {
  const { slb } = ctx.deps;
  const regionId = ctx.spec.region;
  const { request, specLb } = ctx;
  if (request.vServerGroupId)
    return [await slb.describeVServerGroup({ regionId, vServerGroupId: request.vServerGroupId })];
  const summaries = (
    await slb.describeVServerGroups({ regionId, loadBalancerId: request.loadBalancerId })
  ).filter((x) => specLb.vServerGroups.some((g) => g.name === x.vServerGroupName));
  if (summaries.length === 0)
    throw new FailoverRequestError(
      'loadBalancerId',
      `${request.loadBalancerId} has none of the groups the spec names`,
    );
  return Promise.all(
    summaries.map((x) => slb.describeVServerGroup({ regionId, vServerGroupId: x.vServerGroupId })),
  );
}

async function failoverGroups(
  ctx: RunContext,
  healthRows: readonly BackendHealth[],
): Promise<FailoverReport> {
  const groups = await readGroups(ctx);
  const health = worstHealthByBackend(healthRows);
  const now = ctx.deps.now();
  const report: FailoverReport = {
    loadBalancerId: ctx.request.loadBalancerId,
    loadBalancerName: ctx.specLb.name,
    command: ctx.request.command,
    origin: ctx.request.origin,
    groups: [],
    changed: false,
    failed: false,
  };
  for (const group of groups) {
    const g = await failoverGroup(ctx, group, health, now);
    report.groups.push(g.report);
    if (g.changed) report.changed = true;
    if (g.report.error !== undefined) report.failed = true;
  }
  return report;
}

async function failoverGroup(
  ctx: RunContext,
  group: VServerGroup,
  health: GroupObservation['health'],
  now: Date,
): Promise<{ report: GroupReport; changed: boolean }> {
  const specGroup = ctx.specLb.vServerGroups.find((g) => g.name === group.vServerGroupName);
  const members = group.backendServers;
  const assessed = await assessAndDecide(
    ctx.deps,
    {
      ...(specGroup ? { specGroup } : {}),
      members,
      groupOwned: isOwned(ctx.deps.ownership, group.tags),
      health,
      tags: group.tags,
    },
    groupHealthCheck(ctx.specLb.listeners, group.vServerGroupName),
    { policy: ctx.spec.failover, command: ctx.request.command, now },
  );
  const g = groupReport(group, assessed);
  if (holdsRebalance(assessed.decision, ctx.request.command))
    g.decision.reasons.push(
      'rebalance held: weights that differ from the policy are drift for apply, not failover',
    );
  const writes = planFailoverWrites(
    { vServerGroupId: group.vServerGroupId, members, tags: assessed.tags },
    assessed.decision,
    ctx.request.command,
  );
  const changed = await runWrites(ctx, writes, g);
  return { report: g, changed };
}

function groupReport(group: VServerGroup, a: AssessedGroup): GroupReport {
  const { decision, backends } = a;
  const failedProbes = [...a.probes.values()].filter((p) => !p.up).map((p) => `probe ${p.key}: ${p.reason}`);
  return {
    vServerGroupId: group.vServerGroupId,
    name: group.vServerGroupName,
    decision: {
      kind: decision.kind,
      reasons: [...decision.reasons, ...failedProbes],
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
    plan: [],
    writes: 0,
    verified: true,
  };
}

// --- the writes ----------------------------------------------------------------------------------------

/** Carries out one write of the plan; the group's report records what it did. */
async function runWrite(ctx: RunContext, w: FailoverWrite, g: GroupReport): Promise<void> {
  const { slb } = ctx.deps;
  const regionId = ctx.spec.region;
  const resource = { regionId, resourceType: 'vservergroup' as const, resourceIds: [w.vServerGroupId] };
  switch (w.kind) {
    case 'setBackendWeights':
      await slb.setVServerGroupAttribute({
        regionId,
        vServerGroupId: w.vServerGroupId,
        backendServers: w.backends,
      });
      g.writes++;
      return;
    case 'tagFailoverState':
      await slb.tagResources({ ...resource, tags: w.tags });
      return;
    case 'untagFailoverState':
      await slb.untagResources({ ...resource, tagKeys: w.tagKeys });
      return;
    case 'verifyBackendWeights':
      return verifyWeights(ctx, w, g);
  }
}

async function verifyWeights(
  ctx: RunContext,
  w: Extract<FailoverWrite, { kind: 'verifyBackendWeights' }>,
  g: GroupReport,
): Promise<void> {
  const after = await ctx.deps.slb.describeVServerGroup({
    regionId: ctx.spec.region,
    vServerGroupId: w.vServerGroupId,
  });
  g.after = after.backendServers.map((b) => ({ backend: key(b), weight: b.weight }));
  const want = new Map(w.targetWeights.map((t) => [key(t), t.weight]));
  const differ = after.backendServers.filter((b) => want.has(key(b)) && want.get(key(b)) !== b.weight);
  if (differ.length) {
    g.verified = false;
    throw new VerificationError(
      `the weights read back differ from the ones set (changed concurrently?): ${differ.map((b) => `${key(b)}=${b.weight}, want ${want.get(key(b))}`).join('; ')}`,
      { action: 'DescribeVServerGroupAttribute', code: 'WeightsDiffer' },
    );
  }
}

/**
 * Runs the plan with the executor: weight batches one after another, then the tags and the verifying
 * read side by side; the lease checked before each write; nothing starts after a failure. True when
 * weights were written.
 */
async function runWrites(
  ctx: RunContext,
  writes: readonly FailoverWrite[],
  g: GroupReport,
): Promise<boolean> {
  const run = await execute(writes, (w) => ({ run: () => runWrite(ctx, w, g) }), {
    concurrency: 3,
    beforeEach: () => ctx.lease.checkpoint(),
  });
  g.plan = run.results.map((r) => ({
    id: r.action.id,
    kind: r.action.kind,
    reason: r.action.reason,
    status: r.status,
  }));
  const failed = run.results.find((r) => r.error);
  if (failed?.error) {
    g.error = failed.error;
    g.verified = false;
  }
  return g.writes > 0;
}

/** What a run owes people (failoverNotice: a change or a failure), with the report as its payload. */
export function failoverNotification(report: FailoverReport): Notification | undefined {
  const notice = failoverNotice(report);
  return notice ? { ...notice, text: describeFailover(report), data: report } : undefined;
}

/** Markdown for people (notifications, logs). */
export function describeFailover(r: FailoverReport): string {
  const lines = [`**${r.loadBalancerName}** (${r.loadBalancerId}), ${r.command} from ${r.origin}:`];
  for (const g of r.groups) {
    const weights = g.after.map((a) => `${a.backend} ${a.weight}`).join(', ');
    lines.push(
      `- ${g.name}: ${g.decision.kind}${g.decision.blockedBy ? ` (blocked by ${g.decision.blockedBy})` : ''}; weights ${weights}${g.error ? `; error: ${g.error.message}` : ''}`,
    );
    for (const reason of g.decision.reasons) lines.push(`  - ${reason}`);
  }
  return lines.join('\n');
}
