// The health audit, every minute. A steady-state run costs one DescribeLoadBalancerListeners per 10
// managed load balancers and one DescribeHealthStatus per load balancer (<= 1.1 calls per load balancer);
// the reads only drift detection needs (groups and weights, listener settings, certificates) run on a
// slower cadence (`driftEveryMs`), after a hand-off, and whenever health changed since the last run.
// Independent probes cover what SLB cannot vouch for: the standbys and every weight-0 member.
// When the policy says a failover or failback is due, or a failback is waiting out its delay (the
// failover function samples the primary's health into the group's tags), the audit hands the group
// to `failover`; it never changes weights itself. The memory passed in between runs is a cache for
// cost only: a cold instance simply reads everything once.

import type { Notification } from '../cloud/notify';
import type { ProbeResult, ProbeTarget } from '../cloud/probe';
import type { SlbClient } from '../cloud/slb';
import type { ServerCertificate } from '../cloud/slb/certificates';
import { type HealthState, worstHealthByBackend } from '../cloud/slb/health';
import type { Tag } from '../cloud/slb/wire';
import { daysLeft } from '../domain/certificate';
import {
  groupHealthCheck,
  type HandOffKind,
  handOffDue,
  type ObservedMember,
  WATCH_UNTIL_MS,
  watchedLoadBalancerNames,
} from '../domain/failover';
import { backendKey } from '../domain/keys';
import type { LoadBalancerModel } from '../domain/model';
import { type AuditFindings, auditNotice, auditSummary } from '../domain/notification-policy';
import { isOwned, type OwnershipMarker } from '../domain/ownership';
import { describeAction } from '../domain/plan';
import type { Spec } from '../domain/spec';
import { observeAndPlan } from './apply';
import { mapPool } from './executor';
import { type AssessedGroup, assessAndDecide, type BackendAddressResolver } from './failover';

export const DEFAULT_DRIFT_EVERY_MS = 15 * 60_000;
const HEALTH_READ_CONCURRENCY = 8;

interface GroupMemory {
  vServerGroupId: string;
  name: string;
  tags: Tag[];
  backends: ObservedMember[];
}

/** Kept between runs by the caller (module scope in the function); losing it costs reads, nothing else. */
export interface AuditMemory {
  lastDriftAt?: number;
  /** spec name -> load balancer id */
  loadBalancerIds: Record<string, string>;
  groups: Record<string, GroupMemory[]>;
  drift: string[];
  expiring: string[];
  /** `serverId:port` -> the health last reported, to notice changes */
  health: Record<string, string>;
  /** the summary last notified, so only changes are sent */
  lastNotified?: string;
  /** load balancers whose groups must be re-read next run (after a hand-off) */
  stale: string[];
  /** the load balancer id the next run starts with (the last one ran out of its time budget) */
  cursor?: string;
}

export const emptyAuditMemory = (): AuditMemory => ({
  loadBalancerIds: {},
  groups: {},
  drift: [],
  expiring: [],
  health: {},
  stale: [],
});

export interface HandOff {
  loadBalancerId: string;
  vServerGroupId: string;
  reason: string;
  expected: HandOffKind;
}

export interface AuditDeps {
  slb: SlbClient;
  probeAll: (targets: readonly ProbeTarget[]) => Promise<ProbeResult[]>;
  resolveBackend: BackendAddressResolver;
  now: () => Date;
  handOff: (h: HandOff) => Promise<void>;
  /** this deployment's marker: members of a group it created are its own */
  ownership: OwnershipMarker;
}

export interface BackendReport {
  backend: string;
  pool: 'primary' | 'standby';
  weight?: number;
  slb: HealthState | 'missing';
  probe?: { up: boolean; reason?: string };
}

export interface AuditReport {
  at: string;
  /** drift reads ran in this run */
  driftChecked: boolean;
  loadBalancers: {
    name: string;
    loadBalancerId?: string;
    listeners: { port: number; protocol: string; status: string; healthCheck: boolean }[];
    groups: { name: string; backends: BackendReport[]; decision?: string; handedOff?: string }[];
    problems: string[];
  }[];
  drift: string[];
  expiringCertificates: string[];
  warnings: string[];
  handOffs: HandOff[];
  /** load balancers whose health was read and decided this run, of all managed */
  coverage?: { read: number; total: number; resumeAt?: string };
  /** a short human summary of the state (hand-offs are in `handOffs`); changes of it are notified */
  summary: string;
}

const key = backendKey;

/** The Kubernetes cloud controller manages groups like these and reverts weight changes it did not make. */
function controllerOwned(g: { name: string; tags: Tag[] }): boolean {
  return (
    g.name.startsWith('k8s/') ||
    g.tags.some((t) => t.key === 'kubernetes.do.not.delete' || t.key.startsWith('ack.aliyun.com'))
  );
}

/** The groups the drift reads saw, kept for the runs between them; warnings for groups a controller owns. */
function rememberGroups(observed: readonly LoadBalancerModel[], memory: AuditMemory): string[] {
  const warnings: string[] = [];
  memory.groups = {};
  for (const o of observed) {
    if (!o.loadBalancerId) continue;
    memory.groups[o.loadBalancerId] = o.groups.flatMap((g) => {
      if (!g.vServerGroupId) return [];
      const tags = g.tags ?? [];
      if (controllerOwned({ name: g.name, tags }))
        warnings.push(
          `LOUD: ${o.name}: group ${g.name} is managed by the Kubernetes cloud controller, which reverts weight changes; annotate the Service to let slb-autopilot own weights or leave this group out of the spec`,
        );
      return [{ vServerGroupId: g.vServerGroupId, name: g.name, tags, backends: g.backends.map(member) }];
    });
  }
  return warnings;
}

/** A member as the audit keeps it between runs. */
const member = (b: ObservedMember): ObservedMember => ({
  serverId: b.serverId,
  port: b.port,
  weight: b.weight,
  ...(b.description ? { description: b.description } : {}),
  ...(b.serverIp ? { serverIp: b.serverIp } : {}),
  ...(b.type ? { type: b.type } : {}),
});

/** Every certificate reference (listener or extension domain) that expires inside the renewal window. */
function expiringReferences(
  observed: readonly LoadBalancerModel[],
  certificates: readonly ServerCertificate[],
  windowMs: number,
  now: Date,
): string[] {
  const refs = observed.flatMap((o) =>
    o.listeners.flatMap((l) => [
      ...(l.serverCertificateId ? [{ where: `${o.name}:${l.port}`, id: l.serverCertificateId }] : []),
      ...l.extensionDomains.flatMap((d) =>
        d.serverCertificateId
          ? [{ where: `${o.name}:${l.port}/${d.domain}`, id: d.serverCertificateId }]
          : [],
      ),
    ]),
  );
  return refs.flatMap((r) => {
    const c = certificates.find((x) => x.serverCertificateId === r.id);
    if (!c || c.expireTimeStamp - now.getTime() >= windowMs) return [];
    const day = new Date(c.expireTimeStamp).toISOString().slice(0, 10);
    return [
      `${r.where}: ${c.serverCertificateName} expires ${day} (${daysLeft(c.expireTimeStamp, now)} days)`,
    ];
  });
}

/** The slower reads: drift against the spec, the groups and their members, expiring certificates. */
async function readDrift(deps: AuditDeps, spec: Spec, memory: AuditMemory, now: Date): Promise<string[]> {
  const { plan, observed } = await observeAndPlan(deps.slb, spec, deps.ownership);
  memory.drift = plan.actions.map(describeAction);
  memory.loadBalancerIds = Object.fromEntries(
    observed.flatMap((o) => (o.loadBalancerId ? [[o.name, o.loadBalancerId]] : [])),
  );
  const warnings = rememberGroups(observed, memory);
  const certificates =
    observed.length > 0 ? await deps.slb.describeServerCertificates({ regionId: spec.region }) : [];
  memory.expiring = expiringReferences(
    observed,
    certificates,
    spec.renewal.renewBeforeDays * 86_400_000,
    now,
  );
  memory.lastDriftAt = now.getTime();
  memory.stale = [];
  return warnings;
}

interface LoadBalancerInput {
  spec: Spec['loadBalancers'][number];
  id: string;
  health: Awaited<ReturnType<SlbClient['describeHealthStatus']>>;
  listeners: Awaited<ReturnType<SlbClient['describeListeners']>>;
  now: Date;
  /** the watch: a failback waiting out its delay goes out only until the group's tags record it */
  skipRecordedPending: boolean;
}

type LoadBalancerReport = AuditReport['loadBalancers'][number];
type GroupAuditReport = LoadBalancerReport['groups'][number];
type WorstHealth = ReturnType<typeof worstHealthByBackend>;

/** The listeners as read, and what is wrong with them against the spec. */
function listenerReport(x: LoadBalancerInput): LoadBalancerReport {
  const report: LoadBalancerReport = {
    name: x.spec.name,
    loadBalancerId: x.id,
    listeners: x.listeners.map((l) => ({
      port: l.listenerPort,
      protocol: l.listenerProtocol,
      status: l.status,
      healthCheck: l.healthCheck.enabled,
    })),
    groups: [],
    problems: [],
  };
  for (const l of report.listeners) {
    if (l.status !== 'running') report.problems.push(`listener ${l.port} is ${l.status}`);
    else if (!l.healthCheck && x.spec.listeners.find((s) => s.port === l.port)?.healthCheck?.enabled)
      report.problems.push(`listener ${l.port}: health check is off, the spec wants it on`);
  }
  return report;
}

/** Remembers each backend's health; true when one differs from what the last run saw. */
function rememberHealth(memory: AuditMemory, worst: WorstHealth): boolean {
  let changed = false;
  for (const [k, v] of worst) {
    if (memory.health[k] !== undefined && memory.health[k] !== v.state) changed = true;
    memory.health[k] = v.state;
  }
  return changed;
}

function groupAuditReport(name: string, a: AssessedGroup, worst: WorstHealth): GroupAuditReport {
  return {
    name,
    backends: a.backends.map((b) => {
      const p = a.probes.get(key(b));
      return {
        backend: key(b),
        pool: b.pool,
        weight: b.weight,
        slb: worst.get(key(b))?.state ?? 'missing',
        ...(p ? { probe: { up: p.up, ...(p.reason ? { reason: p.reason } : {}) } } : {}),
      };
    }),
    decision: `${a.decision.kind}${a.decision.blockedBy ? ` (blocked by ${a.decision.blockedBy})` : ''}`,
  };
}

/** One group: assessed and decided as failover would on `auto`, handed to it when handOffDue says so. */
async function decideGroup(
  deps: AuditDeps,
  spec: Spec,
  memory: AuditMemory,
  x: LoadBalancerInput,
  g: GroupMemory,
  worst: WorstHealth,
): Promise<{ report: GroupAuditReport; handOff?: HandOff } | undefined> {
  const specGroup = x.spec.vServerGroups.find((s) => s.name === g.name);
  if (!specGroup) return undefined;
  const a = await assessAndDecide(
    deps,
    {
      specGroup,
      members: g.backends,
      groupOwned: isOwned(deps.ownership, g.tags),
      health: worst,
      tags: g.tags,
    },
    groupHealthCheck(x.spec.listeners, g.name),
    { policy: spec.failover, command: 'auto', now: x.now },
  );
  const report = groupAuditReport(g.name, a, worst);
  const expected = handOffDue(a.decision, a.state, { skipRecordedPending: x.skipRecordedPending });
  if (!expected) return { report };
  const handOff: HandOff = {
    loadBalancerId: x.id,
    vServerGroupId: g.vServerGroupId,
    reason: a.decision.reasons.join('; ').slice(0, 500),
    expected,
  };
  await deps.handOff(handOff);
  report.handedOff = expected;
  if (!memory.stale.includes(x.id)) memory.stale.push(x.id);
  return { report, handOff };
}

/**
 * One load balancer's groups decided from its health as read: probes of standbys and weight-0 members,
 * the failover plan per group, and the hand-off when handOffDue says so. The audit calls it per load
 * balancer; the watch calls it as each health read arrives.
 */
async function decideLoadBalancer(
  deps: AuditDeps,
  spec: Spec,
  memory: AuditMemory,
  x: LoadBalancerInput,
): Promise<{ report: LoadBalancerReport; handOffs: HandOff[]; healthChanged: boolean }> {
  const report = listenerReport(x);
  const worst = worstHealthByBackend(x.health);
  const healthChanged = rememberHealth(memory, worst);
  const handOffs: HandOff[] = [];
  for (const g of memory.groups[x.id] ?? []) {
    const r = await decideGroup(deps, spec, memory, x, g, worst);
    if (r) report.groups.push(r.report);
    if (r?.handOff) handOffs.push(r.handOff);
  }
  return { report, handOffs, healthChanged };
}

/**
 * The order of a run's health reads: fast-watched load balancers first (a sweep longer than the time
 * budget must not starve them), then the others starting at the cursor and wrapping around.
 */
export function auditOrder<T extends { id: string; spec: { name: string } }>(
  ids: readonly T[],
  spec: Spec,
  cursor: string | undefined,
): T[] {
  const watched = new Set(watchedLoadBalancerNames(spec));
  const first = ids.filter((x) => watched.has(x.spec.name));
  const rest = ids.filter((x) => !watched.has(x.spec.name));
  const at = Math.max(
    0,
    rest.findIndex((x) => x.id === cursor),
  );
  return [...first, ...rest.slice(at), ...rest.slice(0, at)];
}

/** The drift reads are due: on their cadence, when a load balancer has no id yet, or after a hand-off. */
function driftDue(spec: Spec, memory: AuditMemory, now: Date, everyMs: number): boolean {
  const unresolved = spec.loadBalancers.some((s) => !s.id && !memory.loadBalancerIds[s.name]);
  return (
    memory.lastDriftAt === undefined ||
    now.getTime() - memory.lastDriftAt >= everyMs ||
    unresolved ||
    memory.stale.length > 0
  );
}

type Managed = { spec: Spec['loadBalancers'][number]; id: string };

/** Adopted load balancers have ids in the spec; created ones are found by name (drift reads). */
function managedLoadBalancers(spec: Spec, memory: AuditMemory): Managed[] {
  return spec.loadBalancers.flatMap((s) => {
    const id = s.id ?? memory.loadBalancerIds[s.name];
    return id ? [{ spec: s, id }] : [];
  });
}

/**
 * One DescribeHealthStatus per load balancer, 8 at a time (the rate budget paces them further), each
 * decided as its health arrives, in `order`; no read starts after `deadline` (epoch ms).
 */
async function readAndDecide(
  deps: AuditDeps,
  spec: Spec,
  memory: AuditMemory,
  order: readonly Managed[],
  at: { now: Date; deadline: number },
): Promise<{ read: Set<string>; results: Awaited<ReturnType<typeof decideLoadBalancer>>[] }> {
  const regionId = spec.region;
  const listeners =
    order.length > 0
      ? await deps.slb.describeListeners({ regionId, loadBalancerIds: order.map((x) => x.id) })
      : [];
  const read = new Set<string>();
  const past = () => deps.now().getTime() >= at.deadline;
  const results = await mapPool(
    order,
    HEALTH_READ_CONCURRENCY,
    async (item) => {
      const health = await deps.slb.describeHealthStatus({ regionId, loadBalancerId: item.id });
      read.add(item.id);
      return decideLoadBalancer(deps, spec, memory, {
        ...item,
        health,
        listeners: listeners.filter((l) => l.loadBalancerId === item.id),
        now: at.now,
        skipRecordedPending: false,
      });
    },
    { until: past },
  );
  return { read, results: results.filter((r) => r !== undefined) };
}

/** Where the next run starts (the first load balancer not read), and the report's coverage. */
function recordCoverage(
  report: AuditReport,
  memory: AuditMemory,
  order: readonly Managed[],
  read: Set<string>,
) {
  const left = order.filter((x) => !read.has(x.id));
  memory.cursor = left[0]?.id;
  report.coverage = {
    read: read.size,
    total: order.length,
    ...(memory.cursor ? { resumeAt: memory.cursor } : {}),
  };
  if (left.length > 0)
    report.warnings.push(
      `time budget reached: ${left.length} of ${order.length} load balancers not read this run; the next run starts with them`,
    );
}

export async function runHealthAudit(
  deps: AuditDeps,
  spec: Spec,
  memory: AuditMemory,
  options: { driftEveryMs?: number; budgetMs?: number } = {},
): Promise<AuditReport> {
  const now = deps.now();
  const report: AuditReport = {
    at: now.toISOString(),
    driftChecked: false,
    loadBalancers: [],
    drift: [],
    expiringCertificates: [],
    warnings: [],
    handOffs: [],
    summary: '',
  };
  if (driftDue(spec, memory, now, options.driftEveryMs ?? DEFAULT_DRIFT_EVERY_MS)) {
    report.warnings.push(...(await readDrift(deps, spec, memory, now)));
    report.driftChecked = true;
  }
  const ids = managedLoadBalancers(spec, memory);
  // Fast-watched load balancers first, then the rest from where the last run stopped; the next run
  // resumes where this one's time budget ended.
  const order = auditOrder(ids, spec, memory.cursor);
  const deadline =
    options.budgetMs === undefined ? Number.POSITIVE_INFINITY : now.getTime() + options.budgetMs;
  const { read, results } = await readAndDecide(deps, spec, memory, order, { now, deadline });
  const rank = new Map(ids.map((x, i) => [x.id, i]));
  const byRank = (r: (typeof results)[number]) => rank.get(r.report.loadBalancerId ?? '') ?? 0;
  for (const r of [...results].sort((a, b) => byRank(a) - byRank(b))) {
    report.loadBalancers.push(r.report);
    report.handOffs.push(...r.handOffs);
  }
  recordCoverage(report, memory, order, read);
  if (results.some((r) => r.healthChanged) && !report.driftChecked)
    memory.stale.push(...ids.map((x) => x.id).filter((i) => !memory.stale.includes(i)));
  report.drift = memory.drift;
  report.expiringCertificates = memory.expiring;
  report.summary = auditSummary(auditFindings(report));
  return report;
}

const isDown = (b: BackendReport) => b.slb === 'abnormal' || b.probe?.up === false;

/** What the report found, in the shape the notification policy decides on. */
export function auditFindings(r: AuditReport): AuditFindings {
  return {
    loadBalancers: r.loadBalancers.map((lb) => ({
      name: lb.name,
      down: lb.groups.flatMap((g) => g.backends.filter(isDown).map((b) => b.backend)),
      problems: lb.problems,
    })),
    drift: r.drift.length,
    expiring: r.expiringCertificates.length,
    handOffs: r.handOffs.length,
  };
}

/**
 * The notification this run owes (auditNotice: changes only), remembering the summary it saw. The
 * report is its machine-readable payload.
 */
export function auditNotification(report: AuditReport, memory: AuditMemory): Notification | undefined {
  const { notice, seen } = auditNotice(auditFindings(report), memory.lastNotified);
  memory.lastNotified = seen;
  return notice ? { ...notice, data: report } : undefined;
}

// --- fast watch -----------------------------------------------------------------------------------------

export interface WatchOptions {
  /** epoch ms: no read starts after this (the audit's start + WATCH_UNTIL_MS) */
  untilMs: number;
  /** between the starts of two reads of the same load balancer */
  everyMs: number;
  sleep: (ms: number) => Promise<void>;
}

export interface WatchReport {
  /** spec names of the load balancers watched */
  loadBalancers: string[];
  ticks: number;
  /** DescribeHealthStatus calls */
  healthReads: number;
  /** DescribeVServerGroupAttribute calls (a group is re-read after it was handed off) */
  groupReads: number;
  handOffs: (HandOff & { at: string })[];
}

async function refreshGroups(deps: AuditDeps, regionId: string, memory: AuditMemory, id: string) {
  const groups = memory.groups[id] ?? [];
  memory.groups[id] = await Promise.all(
    groups.map(async (g) => {
      const fresh = await deps.slb.describeVServerGroup({ regionId, vServerGroupId: g.vServerGroupId });
      return {
        ...g,
        tags: fresh.tags,
        backends: fresh.backendServers.map(member),
      };
    }),
  );
  return groups.length;
}

/**
 * Fast watch, after the minute's audit: the fast-watched load balancers' health every `everyMs` until
 * `untilMs`, each decided as its read arrives and handed to failover at once. Costs one
 * DescribeHealthStatus per watched load balancer per tick, plus one group read per group after a
 * hand-off (so a shift is not handed off twice); a failback waiting out its delay is handed off only
 * until the group's tags record it. Uses the audit's memory (groups, ids): call it after runHealthAudit.
 */
export async function watchHealth(
  deps: AuditDeps,
  spec: Spec,
  memory: AuditMemory,
  o: WatchOptions,
): Promise<WatchReport> {
  const names = new Set(watchedLoadBalancerNames(spec));
  const watched = spec.loadBalancers.flatMap((s) => {
    const id = s.id ?? memory.loadBalancerIds[s.name];
    return names.has(s.name) && id ? [{ spec: s, id }] : [];
  });
  const report: WatchReport = {
    loadBalancers: watched.map((w) => w.spec.name),
    ticks: 0,
    healthReads: 0,
    groupReads: 0,
    handOffs: [],
  };
  // Groups the audit just handed off are re-read before they are decided again.
  const refresh = new Set(memory.stale.filter((id) => watched.some((w) => w.id === id)));
  let next = deps.now().getTime() + o.everyMs;
  while (watched.length > 0 && next <= o.untilMs) {
    const wait = next - deps.now().getTime();
    if (wait > 0) await o.sleep(wait);
    // A tick that ran long skips the ticks it overran instead of bunching reads.
    next = Math.max(next + o.everyMs, deps.now().getTime() + 1);
    report.ticks++;
    await Promise.all(
      watched.map(async ({ spec: s, id }) => {
        if (refresh.delete(id)) report.groupReads += await refreshGroups(deps, spec.region, memory, id);
        const health = await deps.slb.describeHealthStatus({ regionId: spec.region, loadBalancerId: id });
        report.healthReads++;
        const now = deps.now();
        const r = await decideLoadBalancer(deps, spec, memory, {
          spec: s,
          id,
          health,
          listeners: [],
          now,
          skipRecordedPending: true,
        });
        if (r.handOffs.length > 0) refresh.add(id);
        report.handOffs.push(...r.handOffs.map((h) => ({ ...h, at: now.toISOString() })));
      }),
    );
  }
  return report;
}

// --- one function instance -------------------------------------------------------------------------------

/**
 * What one function instance keeps between its runs: the audit's memory (a cache: losing it costs
 * reads), and whether a watch is running (one at a time; reserved concurrency 1 keeps instances to one).
 */
export class AuditInstance {
  memory: AuditMemory = emptyAuditMemory();
  private watching = false;

  /** The minute's audit; `driftCheck` runs the drift reads now, whatever the cadence. */
  audit(
    deps: AuditDeps,
    spec: Spec,
    options: { driftCheck?: boolean; driftEveryMs?: number; budgetMs?: number } = {},
  ): Promise<AuditReport> {
    if (options.driftCheck) this.memory.lastDriftAt = undefined;
    return runHealthAudit(deps, spec, this.memory, options);
  }

  /** What the audit owes people (auditNotification: changes only). */
  notification(report: AuditReport): Notification | undefined {
    return auditNotification(report, this.memory);
  }

  /**
   * The fast watch for the rest of the minute (until WATCH_UNTIL_MS after `startedAt`): only when the
   * spec sets `failover.watch`, only after a timer's run (a manual run answers at once), and only when
   * no other run of this instance is watching. Undefined when it does not watch.
   */
  async watch(
    deps: AuditDeps,
    spec: Spec,
    o: { origin: 'timer' | 'direct'; startedAt: number; sleep: (ms: number) => Promise<void> },
  ): Promise<WatchReport | undefined> {
    const everyS = spec.failover.watch;
    if (everyS === undefined || o.origin !== 'timer' || this.watching) return undefined;
    this.watching = true;
    try {
      return await watchHealth(deps, spec, this.memory, {
        untilMs: o.startedAt + WATCH_UNTIL_MS,
        everyMs: everyS * 1000,
        sleep: o.sleep,
      });
    } finally {
      this.watching = false;
    }
  }
}
