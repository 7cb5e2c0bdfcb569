// Weight failover for one VServer group: a primary pool and a standby pool, the health of every backend
// (SLB's health check and independent probes), the failover state persisted on the group as tags, the
// policy (spec `failover`) and a command -> one decision with absolute target weights. Pure: no I/O, no
// clock (`now` is passed in).
//
// Hard guards, each a named rule (FAILOVER_GUARDS) that can block a change:
//   targetHealthy       never shift to a pool with no healthy backend (auto or manual; "both down" says so)
//   keepHealthyServing  never leave the group with no healthy backend carrying weight while one exists
//   flapDamping         at most `maxChangesPerWindow` weight changes per group per sliding `window`,
//                       except a change that restores service when no healthy backend carries weight
//   ownership           never change a backend we do not own (its weight is kept and the reasons say so)
//   hysteresis          fail back only after the primary has been healthy for `failbackAfter`, continuously
//   manualPin           a manual toStandby holds the standby until a manual toPrimary releases it
// Target weights are absolute: planning again on the state a decision produces yields kind 'none'.

import type { z } from 'zod';
import { chunk } from './batching';
import { backendKey } from './keys';
import type { failoverSchema } from './spec';

/** The spec's `failover` section, parsed (durations in seconds). */
export type FailoverPolicy = z.output<typeof failoverSchema>;

export const POOLS = ['primary', 'standby'] as const;
export type Pool = (typeof POOLS)[number];

/** DescribeHealthStatus's ServerHealthStatus. */
export const SLB_HEALTH_STATES = ['normal', 'abnormal', 'unavailable', 'unknown'] as const;
export type SlbHealth = (typeof SLB_HEALTH_STATES)[number];

/** An independent probe's verdict (shared/cloud/probe.ts); unknown = not probed. */
export type ProbeHealth = 'up' | 'down' | 'unknown';

export type Health = 'healthy' | 'unhealthy' | 'unknown';

export const FAILOVER_COMMANDS = ['auto', 'toStandby', 'toPrimary'] as const;
/** auto: follow the policy; toStandby: shift and hold (pin) the standby; toPrimary: fail back now, unpin. */
export type FailoverCommand = (typeof FAILOVER_COMMANDS)[number];

export const FAILOVER_GUARDS = {
  targetHealthy: 'targetHealthy',
  keepHealthyServing: 'keepHealthyServing',
  flapDamping: 'flapDamping',
  ownership: 'ownership',
  hysteresis: 'hysteresis',
  manualPin: 'manualPin',
} as const;
export type FailoverGuard = (typeof FAILOVER_GUARDS)[keyof typeof FAILOVER_GUARDS];

export type FailoverDecisionKind = 'none' | 'shiftToStandby' | 'failBack' | 'rebalance';

export interface FailoverBackend {
  serverId: string;
  /** 1-65535 */
  port: number;
  /** 0-100, as observed; 0 drains new connections */
  weight: number;
  /** from the spec, else from a description marker (resolvePool) */
  pool: Pool;
  /** DescribeHealthStatus; absent = unknown */
  slbHealth?: SlbHealth;
  /** independent probe; absent = not probed */
  probe?: ProbeHealth;
  /** false: not named in the spec nor in a group we created; its weight is never changed */
  owned: boolean;
  /**
   * The weight the spec declares for it: its weight in the normal state (primary active). Failback
   * restores these rather than the policy's primaryWeight/standbyWeight, so it ends where apply would.
   */
  declaredWeight?: number;
}

/** What failover remembers between runs; lives in the group's tags (encodeFailoverState). */
export interface FailoverState {
  /** the pool carrying traffic as last decided; unknown when never recorded or garbled */
  active: Pool | 'unknown';
  /** set by a manual toStandby: automatic decisions keep the standby until a manual toPrimary */
  pinned?: 'standby';
  /** since when the primary has been healthy without interruption, as sampled by planner runs */
  primaryHealthySince?: Date;
  /** the group's recent weight changes, oldest first; only those flap damping still needs */
  changes: Date[];
}

export const INITIAL_FAILOVER_STATE: FailoverState = { active: 'unknown', changes: [] };

export interface FailoverInput {
  backends: readonly FailoverBackend[];
  state: FailoverState;
  /** what decodeFailoverState had to say about the tags (garbled, missing); copied into the reasons */
  stateReasons?: readonly string[];
  policy: FailoverPolicy;
  command: FailoverCommand;
  now: Date;
}

export interface TargetWeight {
  serverId: string;
  port: number;
  /** 0-100, absolute */
  weight: number;
}

export interface PoolSummary {
  total: number;
  healthy: number;
  unhealthy: number;
  unknown: number;
}

export interface FailoverDecision {
  kind: FailoverDecisionKind;
  /** every backend of the group, absolute; unchanged ones at their current weight */
  targetWeights: TargetWeight[];
  reasons: string[];
  /** the guard that stopped what the policy or the command asked for */
  blockedBy?: FailoverGuard;
  /** persist it (encodeFailoverState) once the weights are applied, and whenever it differs */
  nextState: FailoverState;
  /** the pool that carried traffic before this decision */
  active: Pool;
  pools: Record<Pool, PoolSummary>;
}

// --- pools and health ----------------------------------------------------------------------------------

// Backend descriptions allow only letters, digits, - / . _ (1-80) through the API, so the `pool.standby`
// family is the one that survives every path; `pool=standby` and `[standby]` are accepted for
// descriptions written in the console.
const POOL_MARKER =
  /(?:^|[\s\-/._,;|])(?:pool[=:._\-/](primary|standby)|\[(primary|standby)\])(?=$|[\s\-/._,;|])/gi;

/**
 * A pool marker in a backend description: `pool=standby`, `pool:standby`, `pool.standby`, `pool-standby`,
 * `pool_standby`, `pool/standby`, `[standby]` (and the same for primary), case-insensitive, as a whole
 * token. No marker, or markers naming both pools -> undefined.
 */
export function poolFromDescription(description: string | undefined): Pool | undefined {
  if (!description) return undefined;
  const found = new Set<Pool>();
  for (const m of description.matchAll(POOL_MARKER)) found.add((m[1] ?? m[2] ?? '').toLowerCase() as Pool);
  return found.size === 1 ? [...found][0] : undefined;
}

/** The spec wins; then a description marker; a backend with neither is primary. */
export function resolvePool(specPool: Pool | undefined, description: string | undefined): Pool {
  return specPool ?? poolFromDescription(description) ?? 'primary';
}

/**
 * One verdict per backend. SLB's health check says little about a weight-0 server (the docs disagree on
 * what it reports), so for standbys and weight-0 backends the probe wins; for a weighted primary SLB wins,
 * since its check is what steers traffic. Either source fills in when the other has no answer.
 */
export function effectiveHealth(b: Pick<FailoverBackend, 'pool' | 'weight' | 'slbHealth' | 'probe'>): {
  health: Health;
  source: 'slb' | 'probe' | 'none';
} {
  const slb: Health =
    b.slbHealth === 'normal' ? 'healthy' : b.slbHealth === 'abnormal' ? 'unhealthy' : 'unknown';
  const probe: Health = b.probe === 'up' ? 'healthy' : b.probe === 'down' ? 'unhealthy' : 'unknown';
  const order: [Health, 'slb' | 'probe'][] =
    b.pool === 'standby' || b.weight === 0
      ? [
          [probe, 'probe'],
          [slb, 'slb'],
        ]
      : [
          [slb, 'slb'],
          [probe, 'probe'],
        ];
  for (const [health, source] of order) if (health !== 'unknown') return { health, source };
  return { health: 'unknown', source: 'none' };
}

const seconds = (ms: number) => `${Math.round(ms / 1000)}s`;

interface View {
  b: FailoverBackend;
  health: Health;
  source: 'slb' | 'probe' | 'none';
}

function summarize(views: readonly View[], pool: Pool): PoolSummary {
  const s: PoolSummary = { total: 0, healthy: 0, unhealthy: 0, unknown: 0 };
  for (const v of views) {
    if (v.b.pool !== pool) continue;
    s.total++;
    s[v.health]++;
  }
  return s;
}

const describePool = (name: Pool, s: PoolSummary) =>
  `${name} ${s.healthy}/${s.total} healthy${s.unknown ? ` (${s.unknown} unknown)` : ''}`;

/**
 * The primary is `down` when no known backend is healthy or its healthy share (of those with a known
 * health) is below `primaryHealthyBelow`; `up` when it has a healthy backend and the share is not below;
 * `unknown` when no primary backend has a known health (then automatic decisions hold).
 */
function primaryCondition(s: PoolSummary, threshold: number): 'up' | 'down' | 'unknown' {
  const known = s.healthy + s.unhealthy;
  if (known === 0) return 'unknown';
  return s.healthy === 0 || s.healthy / known < threshold ? 'down' : 'up';
}

/** The pool whose owned backends carry the larger weight; undefined when that says nothing. */
function activeFromWeights(views: readonly View[]): Pool | undefined {
  const max = (pool: Pool) =>
    Math.max(-1, ...views.filter((v) => v.b.owned && v.b.pool === pool).map((v) => v.b.weight));
  const p = max('primary');
  const s = max('standby');
  return s > p ? 'standby' : p > s ? 'primary' : undefined;
}

/** primaryWeight spread over the eligible backends, the remainder to the first in key order; each >= 1. */
function spread(total: number, keys: readonly string[]): Map<string, number> {
  const sorted = [...keys].sort();
  const base = Math.floor(total / sorted.length);
  const rest = total - base * sorted.length;
  return new Map(sorted.map((k, i) => [k, Math.max(1, base + (i < rest ? 1 : 0))]));
}

/**
 * The target for `want`. The normal state (primary active) is the weights the spec declares, where it
 * declares them: a failback that set the policy's 100/0 on a spec saying 80/20 would be undone by the
 * next apply and redone by the next failback. The policy's weights stand in for backends the spec does
 * not weigh, for a proportional primary drained as unhealthy, and whenever the declared weights would
 * not say "primary active" (a standby weighed at least as much as every primary): a failback must end
 * on the primary.
 */
function targetFor(want: Pool, views: readonly View[], policy: FailoverPolicy): TargetWeight[] {
  const byPolicy = policyTarget(want, views, policy);
  if (want !== 'primary') return byPolicy;
  const declared = byPolicy.map((t, i) => {
    const b = views[i]?.b;
    if (!b?.owned || b.declaredWeight === undefined) return t;
    const drained = policy.mode === 'proportional' && b.pool === 'primary' && t.weight === 0;
    return drained ? t : { ...t, weight: b.declaredWeight };
  });
  const onPrimary =
    activeFromWeights(views.map((v, i) => ({ ...v, b: { ...v.b, weight: declared[i]?.weight ?? 0 } }))) ===
    'primary';
  return onPrimary ? declared : byPolicy;
}

function policyTarget(want: Pool, views: readonly View[], policy: FailoverPolicy): TargetWeight[] {
  let share: Map<string, number> | undefined;
  if (policy.mode === 'proportional') {
    const members = views.filter((v) => v.b.owned && v.b.pool === want);
    // Unknown health is not a reason to drain; when every member is unhealthy, SLB's check decides.
    const eligible = members.filter((v) => v.health !== 'unhealthy');
    share = spread(
      policy.primaryWeight,
      (eligible.length ? eligible : members).map((v) => backendKey(v.b)),
    );
  }
  return views.map(({ b }) => {
    const weight = !b.owned
      ? b.weight
      : b.pool !== want
        ? policy.standbyWeight
        : share
          ? (share.get(backendKey(b)) ?? 0)
          : policy.primaryWeight;
    return { serverId: b.serverId, port: b.port, weight };
  });
}

// --- the planner ---------------------------------------------------------------------------------------

/** The reasons a planner run gives, and the first guard that stopped what was asked. */
interface Notes {
  reasons: string[];
  blockedBy?: FailoverGuard;
}

function block(notes: Notes, guard: FailoverGuard, why: string): void {
  notes.blockedBy ??= guard;
  notes.reasons.push(`${guard}: ${why}`);
}

/** What a run starts from: each backend's health, the pools, and which pool carries traffic. */
interface Observed {
  views: View[];
  pools: Record<Pool, PoolSummary>;
  current: TargetWeight[];
  /** change instants (epoch ms) still inside the damping window, oldest first, at most the newest max */
  recent: number[];
  primary: 'up' | 'down' | 'unknown';
  /** epoch ms since when the primary has been healthy, while it is up */
  since?: number;
  active: Pool;
  now: number;
}

function observe(input: FailoverInput, notes: Notes): Observed {
  const { policy, state } = input;
  const now = input.now.getTime();
  const views: View[] = input.backends.map((b) => ({ b, ...effectiveHealth(b) }));
  const pools = { primary: summarize(views, 'primary'), standby: summarize(views, 'standby') };
  const current = views.map(({ b }) => ({ serverId: b.serverId, port: b.port, weight: b.weight }));
  // Flap damping needs only the changes still inside the window, and of those only the newest max.
  const recent = state.changes
    .map((d) => d.getTime())
    .filter((t) => Number.isFinite(t) && t > now - policy.window * 1000)
    .sort((a, b) => a - b)
    .slice(-policy.maxChangesPerWindow);
  const primary = primaryCondition(pools.primary, policy.primaryHealthyBelow);
  const prevSince = state.primaryHealthySince?.getTime();
  const since =
    primary === 'up' ? (prevSince !== undefined && prevSince <= now ? prevSince : now) : undefined;
  const active = activePool(state, views, notes);
  notes.reasons.push(`${describePool('primary', pools.primary)}, ${describePool('standby', pools.standby)}`);
  return { views, pools, current, recent, primary, ...(since !== undefined ? { since } : {}), active, now };
}

/** The weights say which pool is active; the recorded state only when they say nothing. */
function activePool(state: FailoverState, views: readonly View[], notes: Notes): Pool {
  const fromWeights = activeFromWeights(views);
  if (state.active !== 'unknown' && fromWeights && fromWeights !== state.active)
    notes.reasons.push(
      `state says ${state.active} is active but the weights say ${fromWeights}: following the weights`,
    );
  else if (state.active === 'unknown')
    notes.reasons.push(
      fromWeights
        ? `active pool taken from the weights: ${fromWeights}`
        : 'active pool unknown (no recorded state, weights say nothing): assuming primary',
    );
  return fromWeights ?? (state.active === 'unknown' ? 'primary' : state.active);
}

/** The pool the command or the policy asks for, before the guards on the target. */
function wantedPool(input: FailoverInput, o: Observed, notes: Notes): Pool {
  if (input.command === 'toStandby') {
    notes.reasons.push('manual command toStandby: shift and hold the standby until toPrimary');
    return 'standby';
  }
  if (input.command === 'toPrimary') {
    notes.reasons.push('manual command toPrimary: fail back now (no failback delay) and release any pin');
    return 'primary';
  }
  return o.active === 'primary' ? autoOnPrimary(input, o, notes) : autoOnStandby(input, o, notes);
}

function autoOnPrimary(input: FailoverInput, o: Observed, notes: Notes): Pool {
  if (o.primary === 'down') {
    notes.reasons.push(`primary is down (healthy share below ${input.policy.primaryHealthyBelow * 100}%)`);
    return 'standby';
  }
  if (input.state.pinned) {
    notes.reasons.push('pinned to standby by a manual toStandby');
    return 'standby';
  }
  if (o.primary === 'unknown') notes.reasons.push('primary health unknown: holding');
  return 'primary';
}

function autoOnStandby(input: FailoverInput, o: Observed, notes: Notes): Pool {
  const { policy } = input;
  const healthyFor = seconds(o.now - (o.since ?? o.now));
  if (o.pools.standby.healthy === 0 && o.pools.primary.healthy > 0) {
    notes.reasons.push(
      `standby has no healthy backend while the primary has ${o.pools.primary.healthy}: failing back now (${FAILOVER_GUARDS.keepHealthyServing})`,
    );
    return 'primary';
  }
  if (o.primary !== 'up') {
    notes.reasons.push(`primary is ${o.primary}: staying on standby`);
    return 'standby';
  }
  if (input.state.pinned)
    block(notes, 'manualPin', 'pinned to standby by a manual toStandby; send toPrimary to release');
  else if (o.since === undefined || o.now - o.since < policy.failbackAfter * 1000)
    block(notes, 'hysteresis', `primary healthy for ${healthyFor} of failbackAfter ${policy.failbackAfter}s`);
  else {
    notes.reasons.push(`primary healthy for ${healthyFor} >= failbackAfter ${policy.failbackAfter}s`);
    return 'primary';
  }
  return 'standby';
}

/** targetHealthy: never shift to a pool with no healthy backend. */
function guardTargetHealthy(want: Pool, o: Observed, notes: Notes): Pool {
  if (want === o.active || o.pools[want].healthy > 0) return want;
  block(
    notes,
    'targetHealthy',
    o.pools[o.active].healthy === 0
      ? `both pools are down (${describePool('primary', o.pools.primary)}, ${describePool('standby', o.pools.standby)}): no shift`
      : `${want} has no healthy backend: no shift to it`,
  );
  return o.active;
}

/**
 * Failback adds the primary back before the standby is drained: until SLB's own check reports a primary
 * that will carry weight as normal, the load balancer would not send it traffic, so cutting the standby
 * in the same step would leave nothing to serve (503s). The standby keeps its weight, the group stays
 * `standby` in the state, and the next run (audit, watch or alarm) drains it.
 */
function primaryFirst(
  want: Pool,
  o: Observed,
  target: TargetWeight[],
  notes: Notes,
): TargetWeight[] | undefined {
  if (want !== 'primary' || o.active !== 'standby' || o.pools.standby.healthy === 0) return undefined;
  const ready = o.views.some(
    (v, i) =>
      v.b.owned && v.b.pool === 'primary' && (target[i]?.weight ?? 0) > 0 && v.b.slbHealth === 'normal',
  );
  if (ready) return undefined;
  notes.reasons.push(
    'failback adds the primary first: the standby keeps its weight until SLB reports the primary normal',
  );
  return target.map((t, i) => {
    const v = o.views[i];
    return v?.b.owned && v.b.pool === 'standby' ? { ...t, weight: Math.max(t.weight, v.b.weight) } : t;
  });
}

/** ownership: backends we do not own keep their weights; the reasons say what the policy would change. */
function noteUnowned(want: Pool, o: Observed, policy: FailoverPolicy, notes: Notes): void {
  const unowned = o.views.filter((v) => !v.b.owned);
  if (!unowned.length) return;
  const asOwned = targetFor(
    want,
    o.views.map((v) => ({ ...v, b: { ...v.b, owned: true } })),
    policy,
  );
  const differs = unowned.filter((v) => asOwned[o.views.indexOf(v)]?.weight !== v.b.weight);
  const list = unowned.map((v) => `${backendKey(v.b)}=${v.b.weight}`).join(', ');
  const would = differs.length
    ? ` (the policy would change ${differs.map((v) => backendKey(v.b)).join(', ')})`
    : '';
  notes.reasons.push(
    `${FAILOVER_GUARDS.ownership}: not managed by slb-autopilot, weights left untouched: ${list}${would}`,
  );
}

/** keepHealthyServing and flapDamping on a change; true when a guard stops it. */
function guardChange(
  o: Observed,
  target: readonly TargetWeight[],
  policy: FailoverPolicy,
  notes: Notes,
): boolean {
  const healthy = o.views.filter((v) => v.health === 'healthy');
  const serving = target.some((t, i) => o.views[i]?.health === 'healthy' && t.weight > 0);
  if (healthy.length && !serving) {
    const names = healthy.map((v) => backendKey(v.b)).join(', ');
    block(
      notes,
      'keepHealthyServing',
      `the change would leave no healthy backend carrying weight while ${names} is healthy`,
    );
    return true;
  }
  if (o.recent.length < policy.maxChangesPerWindow) return false;
  if (healthy.length && !o.current.some((c, i) => o.views[i]?.health === 'healthy' && c.weight > 0)) {
    // keepHealthyServing outranks damping: a change that restores service is never held back.
    notes.reasons.push(
      `${FAILOVER_GUARDS.flapDamping}: ${o.recent.length} changes in the last ${policy.window}s, but no healthy backend carries weight now: ${FAILOVER_GUARDS.keepHealthyServing} wins`,
    );
    return false;
  }
  const until = new Date((o.recent[0] ?? o.now) + policy.window * 1000).toISOString();
  block(
    notes,
    'flapDamping',
    `${o.recent.length} weight changes in the last ${policy.window}s (at most ${policy.maxChangesPerWindow}); no change before ${until}`,
  );
  return true;
}

/** ownership, keepHealthyServing, flapDamping; true when one of them stops the decision. */
function stoppedByGuards(
  want: Pool,
  o: Observed,
  target: readonly TargetWeight[],
  changed: number,
  held: boolean,
  policy: FailoverPolicy,
  notes: Notes,
): boolean {
  if (want !== o.active && changed === 0 && !held) {
    block(notes, 'ownership', `shifting to ${want} would need weight changes on backends we do not own`);
    return true;
  }
  return changed > 0 && guardChange(o, target, policy, notes);
}

/** The pin after a change: set by toStandby, released by toPrimary and by any failback. */
function nextPin(input: FailoverInput, want: Pool, active: Pool): 'standby' | undefined {
  if (input.command === 'toStandby' && want === 'standby') return 'standby';
  if (input.command === 'toPrimary' && want === 'primary') return undefined;
  if (want === 'primary' && active === 'standby') return undefined;
  return input.state.pinned;
}

function stateAfter(
  o: Observed,
  s: { active: Pool; pinned: 'standby' | undefined; changes: readonly number[] },
): FailoverState {
  return {
    active: s.active,
    ...(s.pinned ? { pinned: s.pinned } : {}),
    ...(o.since !== undefined ? { primaryHealthySince: new Date(o.since) } : {}),
    changes: s.changes.map((t) => new Date(t)),
  };
}

function kindOf(changed: number, want: Pool, active: Pool): FailoverDecisionKind {
  if (changed === 0) return 'none';
  if (want === active) return 'rebalance';
  return want === 'standby' ? 'shiftToStandby' : 'failBack';
}

export function planFailover(input: FailoverInput): FailoverDecision {
  const { policy } = input;
  const notes: Notes = { reasons: [...(input.stateReasons ?? [])] };
  const o = observe(input, notes);
  const want = guardTargetHealthy(wantedPool(input, o, notes), o, notes);
  const wanted = targetFor(want, o.views, policy);
  const held = primaryFirst(want, o, wanted, notes);
  const target = held ?? wanted;
  const changed = target.filter((t, i) => t.weight !== o.current[i]?.weight);
  noteUnowned(want, o, policy, notes);
  const base = { active: o.active, pools: o.pools };
  const stopped = stoppedByGuards(want, o, target, changed.length, held !== undefined, policy, notes);
  const blocked = notes.blockedBy ? { blockedBy: notes.blockedBy } : {};
  if (stopped)
    return {
      kind: 'none',
      targetWeights: o.current,
      reasons: notes.reasons,
      ...blocked,
      nextState: stateAfter(o, { active: o.active, pinned: input.state.pinned, changes: o.recent }),
      ...base,
    };
  const kind = kindOf(changed.length, want, o.active);
  if (changed.length)
    notes.reasons.push(
      `${kind}: ${changed.map((t) => `${backendKey(t)} ${o.current[target.indexOf(t)]?.weight} -> ${t.weight}`).join(', ')}`,
    );
  else if (held) notes.reasons.push('primary added back: waiting for SLB to report it normal');
  else if (!notes.blockedBy) notes.reasons.push(`weights already match ${want} active`);
  const changes = changed.length ? [...o.recent, o.now].slice(-policy.maxChangesPerWindow) : o.recent;
  return {
    kind,
    targetWeights: target,
    reasons: notes.reasons,
    ...blocked,
    nextState: stateAfter(o, {
      active: held ? 'standby' : want,
      pinned: nextPin(input, want, o.active),
      changes,
    }),
    ...base,
  };
}

// --- batching ------------------------------------------------------------------------------------------

/** SetVServerGroupAttribute takes at most 20 backends per call. */
export const MAX_BACKENDS_PER_SET_WEIGHT = 20;

/**
 * Only the backends whose weight changes, in batches of at most 20 (one SetVServerGroupAttribute each).
 * Raises come before cuts, so a group applied batch by batch never passes through "nothing carries
 * weight" on its way from one pool to the other.
 */
export function setWeightBatches(
  targetWeights: readonly TargetWeight[],
  current: readonly TargetWeight[],
): TargetWeight[][] {
  const was = new Map(current.map((c) => [backendKey(c), c.weight]));
  const changed = targetWeights.filter((t) => was.get(backendKey(t)) !== t.weight);
  const raised = changed.filter((t) => t.weight > (was.get(backendKey(t)) ?? 0));
  const ordered = [...raised, ...changed.filter((t) => !raised.includes(t))];
  return chunk(
    ordered.map((t) => ({ ...t })),
    MAX_BACKENDS_PER_SET_WEIGHT,
  );
}

// --- state in tags -------------------------------------------------------------------------------------

export const FAILOVER_TAG_PREFIX = 'slb-autopilot:';

/**
 * The state as tags on the VServer group. Keys <= 64 and values <= 128 characters (the stricter of the
 * CLB tag limits in the docs); none starts with `acs:` or `aliyun`.
 *   slb-autopilot:failover-active          primary | standby
 *   slb-autopilot:failover-pinned          standby (absent when not pinned)
 *   slb-autopilot:failover-healthy-since   ISO 8601 instant the primary became healthy (absent when not)
 *   slb-autopilot:failover-changes[-2..]   recent change instants, base-36 epoch seconds, comma-separated,
 *                                          oldest first, split over as many tags as 128 characters need
 */
export const FAILOVER_TAGS = {
  active: `${FAILOVER_TAG_PREFIX}failover-active`,
  pinned: `${FAILOVER_TAG_PREFIX}failover-pinned`,
  primaryHealthySince: `${FAILOVER_TAG_PREFIX}failover-healthy-since`,
  changes: `${FAILOVER_TAG_PREFIX}failover-changes`,
} as const;

const TAG_VALUE_MAX = 128;
/** maxChangesPerWindow is at most 100 */
const MAX_RECORDED_CHANGES = 100;
const changesKey = (i: number) => (i === 0 ? FAILOVER_TAGS.changes : `${FAILOVER_TAGS.changes}-${i + 1}`);
const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?Z$/;
const BASE36_SECONDS = /^[0-9a-z]{1,8}$/;

export function encodeFailoverState(state: FailoverState): Record<string, string> {
  const tags: Record<string, string> = {};
  if (state.active !== 'unknown') tags[FAILOVER_TAGS.active] = state.active;
  if (state.pinned) tags[FAILOVER_TAGS.pinned] = state.pinned;
  if (state.primaryHealthySince && Number.isFinite(state.primaryHealthySince.getTime()))
    tags[FAILOVER_TAGS.primaryHealthySince] = state.primaryHealthySince.toISOString();
  // Rounded up to the second: a change never leaves the damping window early.
  const entries = state.changes
    .map((d) => d.getTime())
    .filter((t) => Number.isFinite(t) && t >= 0)
    .sort((a, b) => a - b)
    .slice(-MAX_RECORDED_CHANGES)
    .map((t) => Math.ceil(t / 1000).toString(36));
  let chunk: string[] = [];
  let n = 0;
  const flush = () => {
    if (chunk.length) tags[changesKey(n++)] = chunk.join(',');
    chunk = [];
  };
  for (const e of entries) {
    if ([...chunk, e].join(',').length > TAG_VALUE_MAX) flush();
    chunk.push(e);
  }
  flush();
  return tags;
}

/**
 * The state from the group's tags (other tags are ignored). Missing tags mean "nothing recorded"; a
 * garbled one is treated as unknown, and the reasons say which and what that costs.
 */
export function decodeFailoverState(tags: Readonly<Record<string, string>> | undefined): {
  state: FailoverState;
  reasons: string[];
} {
  const t = tags ?? {};
  const reasons: string[] = [];
  const garbled = (key: string, consequence: string) =>
    reasons.push(`${key}: garbled (${JSON.stringify(String(t[key]).slice(0, 40))}), ${consequence}`);
  const state: FailoverState = { active: 'unknown', changes: [] };

  const active = t[FAILOVER_TAGS.active];
  if (active === 'primary' || active === 'standby') state.active = active;
  else if (active !== undefined) garbled(FAILOVER_TAGS.active, 'active pool unknown');

  const pinned = t[FAILOVER_TAGS.pinned];
  if (pinned === 'standby') state.pinned = 'standby';
  else if (pinned !== undefined) garbled(FAILOVER_TAGS.pinned, 'treated as not pinned');

  const since = t[FAILOVER_TAGS.primaryHealthySince];
  if (since !== undefined) {
    const d = new Date(since);
    if (ISO_INSTANT.test(since) && Number.isFinite(d.getTime())) state.primaryHealthySince = d;
    else garbled(FAILOVER_TAGS.primaryHealthySince, 'the failback delay starts again');
  }

  const parts: string[] = [];
  for (let i = 0; t[changesKey(i)] !== undefined; i++) parts.push(...String(t[changesKey(i)]).split(','));
  if (parts.length) {
    if (parts.every((p) => BASE36_SECONDS.test(p)))
      state.changes = parts.map((p) => new Date(Number.parseInt(p, 36) * 1000));
    else garbled(FAILOVER_TAGS.changes, 'the flap-damping history is lost');
  }
  return { state, reasons };
}

/** Our failover tags present on the group that the next state no longer has: untag them. */
export function staleFailoverTagKeys(
  currentTags: Readonly<Record<string, string>>,
  nextTags: Readonly<Record<string, string>>,
): string[] {
  return Object.keys(currentTags).filter(
    (k) => k.startsWith(`${FAILOVER_TAG_PREFIX}failover-`) && !(k in nextTags),
  );
}

// --- a group as observed -> the planner's input --------------------------------------------------------

export type BackendType = 'ecs' | 'eni' | 'eci';

/** A group member as read from the cloud (DescribeVServerGroupAttribute). */
export interface ObservedMember {
  serverId: string;
  /** 1-65535 */
  port: number;
  /** 0-100 */
  weight: number;
  description?: string;
  serverIp?: string;
  /** sent back with a weight change */
  type?: BackendType;
}

/** What the spec says of a group's members (its `vServerGroups[].backends`). */
export interface SpecGroupMembers {
  backends: readonly { serverId: string; port: number; weight: number; pool?: Pool }[];
}

/** One group as read, with what the spec declares of it; the input of membersToProbe and assessGroup. */
export interface GroupObservation {
  /** the spec's group; absent when the spec does not name it (a group given by id) */
  specGroup?: SpecGroupMembers;
  members: readonly ObservedMember[];
  /** the group carries this deployment's marker: every member is ours */
  groupOwned: boolean;
  /** DescribeHealthStatus, one state per `serverId:port` (the worst over the listeners) */
  health: ReadonlyMap<string, { state: SlbHealth; ip?: string }>;
}

/** A member to probe, with the address SLB reported for it (else the one in the group). */
export interface ProbeMember {
  serverId: string;
  port: number;
  ip?: string;
}

const declaredFor = (o: GroupObservation, m: { serverId: string; port: number }) =>
  o.specGroup?.backends.find((s) => backendKey(s) === backendKey(m));

/**
 * The members SLB's check cannot vouch for, which we probe ourselves: every standby and every weight-0
 * member (SLB's health check says little about a server that gets no traffic).
 */
export function membersToProbe(o: GroupObservation): ProbeMember[] {
  return o.members
    .filter((m) => m.weight === 0 || resolvePool(declaredFor(o, m)?.pool, m.description) === 'standby')
    .map((m) => {
      const ip = o.health.get(backendKey(m))?.ip ?? m.serverIp;
      return { serverId: m.serverId, port: m.port, ...(ip ? { ip } : {}) };
    });
}

/**
 * Every member as the planner sees it: its pool (spec, then description marker), SLB's health, the
 * probe's verdict, whether we own it (the spec names it, or the group is ours) and the weight the spec
 * declares for it.
 */
export function assessGroup(
  o: GroupObservation,
  probes: ReadonlyMap<string, { up: boolean }>,
): FailoverBackend[] {
  return o.members.map((m) => {
    const declared = declaredFor(o, m);
    const h = o.health.get(backendKey(m));
    const p = probes.get(backendKey(m));
    return {
      serverId: m.serverId,
      port: m.port,
      weight: m.weight,
      pool: resolvePool(declared?.pool, m.description),
      ...(h ? { slbHealth: h.state } : {}),
      ...(p ? { probe: p.up ? ('up' as const) : ('down' as const) } : {}),
      owned: declared !== undefined || o.groupOwned,
      ...(declared ? { declaredWeight: declared.weight } : {}),
    };
  });
}

/**
 * The health check a group's probes imitate: that of the first listener forwarding to it by default
 * with its check on (an absent setting counts as on). None: probes only connect.
 */
export function groupHealthCheck<H extends { enabled?: boolean }>(
  listeners: readonly { vServerGroup?: string; healthCheck?: H }[],
  groupName: string,
): H | undefined {
  return listeners.find((l) => l.vServerGroup === groupName && l.healthCheck?.enabled !== false)?.healthCheck;
}

// --- what happens to a decision ------------------------------------------------------------------------

/**
 * A rebalance on an automatic run would fight the spec's own weights (apply's business, not failover's):
 * only shifts, failbacks and manual commands move weights.
 */
export function holdsRebalance(decision: Pick<FailoverDecision, 'kind'>, command: FailoverCommand): boolean {
  return decision.kind === 'rebalance' && command === 'auto';
}

export const HAND_OFF_KINDS = ['shiftToStandby', 'failBack', 'failBackPending', 'primaryDownAgain'] as const;
/**
 * Why the audit hands a group to `failover`: a shift or failback is due; a failback waits out its delay
 * (failover samples the primary's health into the group's tags); the primary went down again while failed
 * over (or an old "healthy since" in the tags would let a flapping primary fail back).
 */
export type HandOffKind = (typeof HAND_OFF_KINDS)[number];

/**
 * Whether the audit's own run of the planner calls for the failover function, and why. Rebalances are
 * drift (apply's business): handed off only when the primary went down again. `skipRecordedPending` (the fast watch): a failback
 * waiting out its delay is handed off only until the group's tags record the primary healthy, so a watch
 * ticking every few seconds does not repeat it.
 */
export function handOffDue(
  decision: Pick<FailoverDecision, 'kind' | 'blockedBy' | 'active' | 'nextState'>,
  state: Pick<FailoverState, 'primaryHealthySince'>,
  options: { skipRecordedPending?: boolean } = {},
): HandOffKind | undefined {
  if (decision.kind === 'shiftToStandby' || decision.kind === 'failBack') return decision.kind;
  if (decision.kind === 'none' && decision.blockedBy === 'hysteresis')
    return options.skipRecordedPending && state.primaryHealthySince !== undefined
      ? undefined
      : 'failBackPending';
  const sinceCleared =
    decision.active === 'standby' &&
    state.primaryHealthySince !== undefined &&
    decision.nextState.primaryHealthySince === undefined;
  return sinceCleared ? 'primaryDownAgain' : undefined;
}

// --- the writes of a decision, as a plan --------------------------------------------------------------

interface WriteBase {
  /** unique within the plan */
  id: string;
  reason: string;
  /** ids that must be done first */
  after?: string[];
  vServerGroupId: string;
}

/** A backend's absolute weight, with what SetVServerGroupAttribute needs to name it. */
export interface WeightWrite extends TargetWeight {
  type?: BackendType;
  serverIp?: string;
}

/** What failover writes for one group, in order: weights (raises first), the state's tags, a read back. */
export type FailoverWrite =
  | (WriteBase & { kind: 'setBackendWeights'; backends: WeightWrite[] })
  | (WriteBase & { kind: 'tagFailoverState'; tags: { key: string; value: string }[] })
  | (WriteBase & { kind: 'untagFailoverState'; tagKeys: string[] })
  | (WriteBase & { kind: 'verifyBackendWeights'; targetWeights: TargetWeight[] });

/**
 * The writes that carry out `decision` on a group: one setBackendWeights per batch of at most 20 changed
 * members (raises first, each batch after the one before), then, side by side, the state's changed tags,
 * the tags the next state no longer has, and a read that verifies the weights (only after a weight write).
 * A held rebalance (holdsRebalance) writes no weights; the state is recorded all the same.
 */
export function planFailoverWrites(
  group: {
    vServerGroupId: string;
    members: readonly ObservedMember[];
    tags: Readonly<Record<string, string>>;
  },
  decision: Pick<FailoverDecision, 'kind' | 'targetWeights' | 'nextState'>,
  command: FailoverCommand,
): FailoverWrite[] {
  const weights = holdsRebalance(decision, command) ? [] : weightWrites(group, decision);
  const last = weights.at(-1);
  const after = last ? { after: [last.id] } : {};
  const { vServerGroupId } = group;
  return [
    ...weights,
    ...stateWrites(group, decision.nextState).map((w) => ({ ...w, ...after })),
    ...(last
      ? [
          {
            id: 'verify-weights',
            kind: 'verifyBackendWeights' as const,
            reason: 'read the weights back: another writer may have changed them',
            ...after,
            vServerGroupId,
            targetWeights: decision.targetWeights,
          },
        ]
      : []),
  ];
}

/** One setBackendWeights per batch of changed members, raises first, each after the one before. */
function weightWrites(
  group: { vServerGroupId: string; members: readonly ObservedMember[] },
  decision: Pick<FailoverDecision, 'kind' | 'targetWeights'>,
): FailoverWrite[] {
  const member = new Map(group.members.map((m) => [backendKey(m), m]));
  const batches = setWeightBatches(decision.targetWeights, group.members);
  return batches.map((batch, i) => ({
    id: `weights-${i + 1}`,
    kind: 'setBackendWeights',
    reason: `${decision.kind}: batch ${i + 1} of ${batches.length} (at most ${MAX_BACKENDS_PER_SET_WEIGHT}, raises first)`,
    ...(i > 0 ? { after: [`weights-${i}`] } : {}),
    vServerGroupId: group.vServerGroupId,
    backends: batch.map((t) => {
      const m = member.get(backendKey(t));
      return { ...t, ...(m?.type ? { type: m.type } : {}), ...(m?.serverIp ? { serverIp: m.serverIp } : {}) };
    }),
  }));
}

/** The next state's tags that differ from the group's, and ours it no longer has. */
function stateWrites(
  group: { vServerGroupId: string; tags: Readonly<Record<string, string>> },
  nextState: FailoverState,
): FailoverWrite[] {
  const { vServerGroupId } = group;
  const next = encodeFailoverState(nextState);
  const changed = Object.entries(next).filter(([k, v]) => group.tags[k] !== v);
  const stale = staleFailoverTagKeys(group.tags, next);
  const writes: FailoverWrite[] = [];
  if (changed.length)
    writes.push({
      id: 'tag-state',
      kind: 'tagFailoverState',
      reason: `record the failover state: ${changed.map(([k]) => k).join(', ')}`,
      vServerGroupId,
      tags: changed.map(([key, value]) => ({ key, value })),
    });
  if (stale.length)
    writes.push({
      id: 'untag-state',
      kind: 'untagFailoverState',
      reason: `the next state no longer has ${stale.join(', ')}`,
      vServerGroupId,
      tagKeys: stale,
    });
  return writes;
}

// --- fast watch: who is watched, and what the region's read quota allows ------------------------------

/** How far into its run the audit keeps watching: its timeout is 50 s (s.yaml), the next run starts at 60. */
export const WATCH_UNTIL_MS = 45_000;

/**
 * DescribeHealthStatus reads per region per minute we plan with. CLB publishes no per-action quota; this
 * is ALB/NLB's published read quota (600 per 60 s per region and API), also the rate budget's default.
 */
export const HEALTH_READS_PER_MINUTE = 600;

/** The spec names of the fast-watched load balancers: none unless `failover.watch` is set. */
export function watchedLoadBalancerNames(spec: {
  failover: Pick<FailoverPolicy, 'watch' | 'watchLoadBalancers'>;
  loadBalancers: readonly { name: string }[];
}): string[] {
  if (spec.failover.watch === undefined) return [];
  return spec.failover.watchLoadBalancers ?? spec.loadBalancers.map((lb) => lb.name);
}

export interface WatchBudget {
  /** load balancers audited once a minute (every managed one) */
  audited: number;
  watched: number;
  /** seconds between watch reads; undefined when nothing is watched */
  everyS?: number;
  /** DescribeHealthStatus per watched load balancer per minute, on top of the audit's one */
  watchReadsPerLoadBalancer: number;
  /** DescribeHealthStatus per minute for the region: audit + watch */
  readsPerMinute: number;
  quota: number;
  /** how many load balancers the quota lets us fast-watch next to the audit of all of them */
  maxWatched: number;
}

/** The region's DescribeHealthStatus budget per minute for an audit of `audited` with `watched` fast-watched. */
export function watchBudget(
  audited: number,
  watched: number,
  everyS: number | undefined,
  quota: number = HEALTH_READS_PER_MINUTE,
): WatchBudget {
  const per = everyS ? Math.floor(WATCH_UNTIL_MS / 1000 / everyS) : 0;
  return {
    audited,
    watched: per ? watched : 0,
    ...(everyS ? { everyS } : {}),
    watchReadsPerLoadBalancer: per,
    readsPerMinute: audited + (per ? watched * per : 0),
    quota,
    maxWatched: per ? Math.max(0, Math.floor((quota - audited) / per)) : 0,
  };
}
