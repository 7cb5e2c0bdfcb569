// The failover planner: every guard, the failback delay at its boundary, flapping and random event
// sequences (no guard broken, bounded changes), unmanaged backends, idempotence, proportional mode, the
// tag-persisted state and weight batches.
import { describe, expect, it } from 'vitest';
import {
  decodeFailoverState,
  effectiveHealth,
  encodeFailoverState,
  FAILOVER_TAGS,
  type FailoverBackend,
  type FailoverCommand,
  type FailoverDecision,
  type FailoverInput,
  type FailoverPolicy,
  type FailoverState,
  INITIAL_FAILOVER_STATE,
  planFailover,
  poolFromDescription,
  resolvePool,
  setWeightBatches,
  staleFailoverTagKeys,
} from '../../../shared/domain/failover';
import { failoverSchema } from '../../../shared/domain/spec';

/** The mall's policy: absolute, 50 %, failback after 5 min, 4 changes per 30 min, 100 / 0. */
const POLICY: FailoverPolicy = failoverSchema.parse({ failbackAfter: '5m', window: '30m' });
const T0 = new Date('2026-11-24T12:00:00Z');
const at = (s: number) => new Date(T0.getTime() + s * 1000);

const k8s = (over: Partial<FailoverBackend> = {}): FailoverBackend => ({
  serverId: 'i-bp1k8snode000000001',
  port: 30250,
  weight: 100,
  pool: 'primary',
  slbHealth: 'normal',
  owned: true,
  ...over,
});
const ecs = (over: Partial<FailoverBackend> = {}): FailoverBackend => ({
  serverId: 'i-bp1ecsstandby000001',
  port: 8050,
  weight: 0,
  pool: 'standby',
  slbHealth: 'unavailable',
  probe: 'up',
  owned: true,
  ...over,
});
const K8S = 'i-bp1k8snode000000001:30250';
const ECS = 'i-bp1ecsstandby000001:8050';

function plan(over: Partial<FailoverInput> = {}): FailoverDecision {
  return planFailover({
    backends: [k8s(), ecs()],
    state: INITIAL_FAILOVER_STATE,
    policy: POLICY,
    command: 'auto',
    now: T0,
    ...over,
  });
}

const weights = (d: FailoverDecision) =>
  Object.fromEntries(d.targetWeights.map((t) => [`${t.serverId}:${t.port}`, t.weight]));

/** The group after the decision is applied: target weights in place. */
const applied = (backends: readonly FailoverBackend[], d: FailoverDecision): FailoverBackend[] =>
  backends.map((b) => ({
    ...b,
    weight: d.targetWeights.find((t) => t.serverId === b.serverId && t.port === b.port)?.weight ?? b.weight,
  }));

/** A failed-over mall: ECS carries the traffic, K8S drained. */
const failedOver = (k8sOver: Partial<FailoverBackend> = {}, ecsOver: Partial<FailoverBackend> = {}) => [
  k8s({ weight: 0, slbHealth: 'unavailable', probe: 'up', ...k8sOver }),
  ecs({ weight: 100, slbHealth: 'normal', ...ecsOver }),
];

describe('poolFromDescription / resolvePool', () => {
  it.each([
    ['pool=standby', 'standby'],
    ['pool=primary', 'primary'],
    ['POOL=Standby', 'standby'],
    ['ecs node pool:standby', 'standby'],
    ['ecs-pool.standby', 'standby'],
    ['ecs/pool-standby/zone-h', 'standby'],
    ['pool_primary', 'primary'],
    ['[standby] ecs node', 'standby'],
    ['node [primary]', 'primary'],
    ['ecs-standby', undefined],
    ['standby', undefined],
    ['mypool=standby', undefined],
    ['pool=standbyx', undefined],
    ['pool=primary [standby]', undefined],
    ['pool=standby pool.standby', 'standby'],
    ['', undefined],
    [undefined, undefined],
  ])('%j -> %s', (description, pool) => {
    expect(poolFromDescription(description)).toBe(pool);
  });

  it.each([
    ['standby', 'pool=primary', 'standby'],
    [undefined, 'pool.standby', 'standby'],
    [undefined, 'k8s-nodeport', 'primary'],
    [undefined, undefined, 'primary'],
  ] as const)('spec %s, description %s -> %s', (spec, description, pool) => {
    expect(resolvePool(spec, description)).toBe(pool);
  });
});

describe('effectiveHealth', () => {
  it.each([
    ['standby: the probe wins over SLB', ecs({ slbHealth: 'normal', probe: 'down' }), 'unhealthy', 'probe'],
    [
      'standby: probe up, SLB unavailable',
      ecs({ slbHealth: 'unavailable', probe: 'up' }),
      'healthy',
      'probe',
    ],
    ['standby: no probe, SLB normal', ecs({ slbHealth: 'normal', probe: 'unknown' }), 'healthy', 'slb'],
    ['standby: nothing known', ecs({ slbHealth: 'unknown', probe: undefined }), 'unknown', 'none'],
    ['weighted primary: SLB wins', k8s({ slbHealth: 'abnormal', probe: 'up' }), 'unhealthy', 'slb'],
    [
      'weighted primary: SLB unavailable, probe down',
      k8s({ slbHealth: 'unavailable', probe: 'down' }),
      'unhealthy',
      'probe',
    ],
    [
      'weight-0 primary: the probe wins',
      k8s({ weight: 0, slbHealth: 'abnormal', probe: 'up' }),
      'healthy',
      'probe',
    ],
    ['weight-0 primary: no probe, SLB normal', k8s({ weight: 0, slbHealth: 'normal' }), 'healthy', 'slb'],
  ])('%s', (_name, backend, health, source) => {
    expect(effectiveHealth(backend)).toEqual({ health, source });
  });
});

describe('planFailover: automatic policy', () => {
  it('the healthy mall needs nothing', () => {
    const d = plan({ state: { active: 'primary', changes: [] } });
    expect(d.kind).toBe('none');
    expect(d.blockedBy).toBeUndefined();
    expect(weights(d)).toEqual({ [K8S]: 100, [ECS]: 0 });
    expect(d.nextState).toEqual({ active: 'primary', primaryHealthySince: T0, changes: [] });
  });

  it('K8S dies, ECS is up by probe -> shift to standby, recorded as a change', () => {
    const d = plan({ backends: [k8s({ slbHealth: 'abnormal' }), ecs()] });
    expect(d.kind).toBe('shiftToStandby');
    expect(weights(d)).toEqual({ [K8S]: 0, [ECS]: 100 });
    expect(d.nextState).toEqual({ active: 'standby', changes: [T0] });
    expect(d.reasons.join('\n')).toMatch(/primary is down/);
  });

  it.each([
    ['share below the threshold (1 of 3)', 3, 1, 0.5, 'shiftToStandby'],
    ['share at the threshold (1 of 2)', 2, 1, 0.5, 'none'],
    ['threshold 0: only when none is healthy (1 of 4)', 4, 1, 0, 'none'],
    ['threshold 0: none healthy', 2, 0, 0, 'shiftToStandby'],
    ['threshold 1: one of three down', 3, 2, 1, 'shiftToStandby'],
  ])('primary %s', (_name, total, healthy, threshold, kind) => {
    const primaries = Array.from({ length: total }, (_, i) =>
      k8s({ serverId: `i-k8s${i}`, slbHealth: i < healthy ? 'normal' : 'abnormal' }),
    );
    const d = plan({
      backends: [...primaries, ecs()],
      policy: { ...POLICY, primaryHealthyBelow: threshold },
    });
    expect(d.kind).toBe(kind);
  });

  it('unknown primary health holds (no shift on no information)', () => {
    const d = plan({ backends: [k8s({ slbHealth: 'unavailable' }), ecs()] });
    expect(d.kind).toBe('none');
    expect(d.reasons.join('\n')).toMatch(/primary health unknown/);
    expect(d.nextState.primaryHealthySince).toBeUndefined();
  });

  it('both down -> no shift, and the reason says both are down', () => {
    const d = plan({ backends: [k8s({ slbHealth: 'abnormal' }), ecs({ probe: 'down' })] });
    expect(d).toMatchObject({ kind: 'none', blockedBy: 'targetHealthy' });
    expect(weights(d)).toEqual({ [K8S]: 100, [ECS]: 0 });
    expect(d.reasons.join('\n')).toMatch(/both pools are down/);
    expect(d.nextState.changes).toEqual([]);
  });

  it('SLB says normal for the weight-0 standby but the probe says down -> no shift', () => {
    const d = plan({
      backends: [k8s({ slbHealth: 'abnormal' }), ecs({ slbHealth: 'normal', probe: 'down' })],
    });
    expect(d).toMatchObject({ kind: 'none', blockedBy: 'targetHealthy' });
  });

  it('starts the failback clock when the primary turns healthy, and resets it when it falls', () => {
    const healthy = plan({ backends: failedOver(), state: { active: 'standby', changes: [] } });
    expect(healthy).toMatchObject({ kind: 'none', blockedBy: 'hysteresis' });
    expect(healthy.nextState.primaryHealthySince).toEqual(T0);
    const later = plan({ backends: failedOver(), state: healthy.nextState, now: at(60) });
    expect(later.nextState.primaryHealthySince).toEqual(T0);
    const down = plan({ backends: failedOver({ probe: 'down' }), state: later.nextState, now: at(90) });
    expect(down.kind).toBe('none');
    expect(down.nextState.primaryHealthySince).toBeUndefined();
  });

  it.each([
    ['1 s before failbackAfter', 299, 'none', 'hysteresis'],
    ['exactly failbackAfter', 300, 'failBack', undefined],
    ['well after', 3600, 'failBack', undefined],
  ])('hysteresis: primary healthy for %s', (_name, elapsed, kind, blockedBy) => {
    const d = plan({
      backends: failedOver({ slbHealth: 'normal' }),
      state: { active: 'standby', primaryHealthySince: T0, changes: [] },
      now: at(elapsed),
    });
    expect(d.kind).toBe(kind);
    expect(d.blockedBy).toBe(blockedBy);
    if (kind === 'failBack') expect(weights(d)).toEqual({ [K8S]: 100, [ECS]: 0 });
  });

  it('failback adds the primary first while SLB does not report it normal, and drains the standby next run', () => {
    // Prepare: K8S is up by probe, but SLB says nothing of it at weight 0
    const state: FailoverState = { active: 'standby', primaryHealthySince: T0, changes: [] };
    // Act
    const first = plan({ backends: failedOver(), state, now: at(300) });
    const waiting = plan({
      backends: applied(failedOver(), first),
      state: first.nextState,
      now: at(301),
    });
    const second = plan({
      backends: applied(failedOver({ slbHealth: 'normal' }), first),
      state: first.nextState,
      now: at(305),
    });
    // Assess
    expect(first.kind).toBe('failBack');
    expect(weights(first)).toEqual({ [K8S]: 100, [ECS]: 100 });
    expect(first.nextState.active).toBe('standby');
    expect(first.nextState.primaryHealthySince).toEqual(T0);
    expect(waiting.kind).toBe('none');
    expect(waiting.reasons.at(-1)).toBe('primary added back: waiting for SLB to report it normal');
    expect(second.kind).toBe('failBack');
    expect(weights(second)).toEqual({ [K8S]: 100, [ECS]: 0 });
    expect(second.nextState.active).toBe('primary');
  });

  it('failback in one step when the standby is down (nothing to protect)', () => {
    const d = plan({
      backends: failedOver({}, { probe: 'down', slbHealth: 'abnormal' }),
      state: { active: 'standby', changes: [] },
    });
    expect(weights(d)).toEqual({ [K8S]: 100, [ECS]: 0 });
  });

  it('warm standby (standbyWeight 1): 100/1 is the normal state, a shift makes it 1/100', () => {
    const policy = { ...POLICY, standbyWeight: 1 };
    const normal = plan({ backends: [k8s(), ecs({ weight: 1, slbHealth: 'normal' })], policy });
    const shift = plan({
      backends: [k8s({ slbHealth: 'abnormal' }), ecs({ weight: 1, slbHealth: 'normal' })],
      policy,
    });
    expect(normal.kind).toBe('none');
    expect(normal.active).toBe('primary');
    expect(shift.kind).toBe('shiftToStandby');
    expect(weights(shift)).toEqual({ [K8S]: 1, [ECS]: 100 });
  });

  it('a primary healthy "since" in the future (clock skew, garbage) starts the clock now', () => {
    const d = plan({
      backends: failedOver(),
      state: { active: 'standby', primaryHealthySince: at(10_000), changes: [] },
      now: at(10),
    });
    expect(d).toMatchObject({ kind: 'none', blockedBy: 'hysteresis' });
    expect(d.nextState.primaryHealthySince).toEqual(at(10));
  });

  it('on standby, the standby dies while the primary is healthy -> fail back before failbackAfter', () => {
    const d = plan({
      backends: failedOver({}, { slbHealth: 'abnormal', probe: 'down' }),
      state: { active: 'standby', primaryHealthySince: at(-10), changes: [] },
    });
    expect(d.kind).toBe('failBack');
    expect(d.reasons.join('\n')).toMatch(/standby has no healthy backend/);
  });

  it('follows the weights when the recorded state disagrees (tags written before weights failed)', () => {
    const d = plan({ backends: failedOver({ probe: 'down' }), state: { active: 'primary', changes: [] } });
    expect(d.kind).toBe('none');
    expect(d.active).toBe('standby');
    expect(d.nextState.active).toBe('standby');
    expect(d.reasons.join('\n')).toMatch(/state says primary .* weights say standby/);
  });

  it('corrects a hand-changed standby weight on the active side (rebalance)', () => {
    const d = plan({ backends: [k8s(), ecs({ weight: 30 })], state: { active: 'primary', changes: [] } });
    expect(d.kind).toBe('rebalance');
    expect(weights(d)).toEqual({ [K8S]: 100, [ECS]: 0 });
  });

  it('nothing carries weight and the state is unknown: assumes primary and restores it', () => {
    const d = plan({ backends: [k8s({ weight: 0, probe: 'up' }), ecs()] });
    expect(d.kind).toBe('rebalance');
    expect(weights(d)).toEqual({ [K8S]: 100, [ECS]: 0 });
    expect(d.reasons.join('\n')).toMatch(/assuming primary/);
  });
});

describe('planFailover: failback returns to the weights the spec declares', () => {
  // Failed over (K8S 0, ECS 100), the primary healthy past failbackAfter and SLB reporting it normal:
  // the failback's target is the spec's declared weights (what apply converges to), not the policy's
  // 100/0, unless those would not put the primary in front.
  const due = { active: 'standby' as const, primaryHealthySince: T0, changes: [] };
  const declared = (k: number | undefined, e: number | undefined) =>
    failedOver(
      { slbHealth: 'normal', ...(k === undefined ? {} : { declaredWeight: k }) },
      e === undefined ? {} : { declaredWeight: e },
    );
  it.each([
    ['80/20 declared', 80, 20, 'auto', { [K8S]: 80, [ECS]: 20 }],
    ['80/20 declared, manual toPrimary', 80, 20, 'toPrimary', { [K8S]: 80, [ECS]: 20 }],
    ['100/0 declared (the mall)', 100, 0, 'auto', { [K8S]: 100, [ECS]: 0 }],
    ['100/1 declared (a warm standby)', 100, 1, 'auto', { [K8S]: 100, [ECS]: 1 }],
    ['60 on K8S, the standby not weighed by the spec', 60, undefined, 'auto', { [K8S]: 60, [ECS]: 0 }],
    ['nothing declared: the policy', undefined, undefined, 'auto', { [K8S]: 100, [ECS]: 0 }],
    ['50/50 declared (would not say primary): the policy', 50, 50, 'auto', { [K8S]: 100, [ECS]: 0 }],
    ['0/0 declared (would not say primary): the policy', 0, 0, 'auto', { [K8S]: 100, [ECS]: 0 }],
  ] as const)('%s', (_name, k, e, command, want) => {
    const d = plan({ backends: declared(k, e), state: due, command, now: at(600) });
    expect(d.kind).toBe('failBack');
    expect(weights(d)).toEqual(want);
    expect(d.nextState.active).toBe('primary');
    // Converged: planning again on what the failback produced changes nothing.
    const again = plan({ backends: applied(declared(k, e), d), state: d.nextState, now: at(601) });
    expect(again.kind).toBe('none');
  });

  it('a shift to standby still uses the policy (the spec declares only the normal state)', () => {
    const d = plan({
      backends: [
        k8s({ weight: 80, declaredWeight: 80, slbHealth: 'abnormal' }),
        ecs({ weight: 20, declaredWeight: 20, slbHealth: 'normal' }),
      ],
      state: { active: 'primary', changes: [] },
    });
    expect(d.kind).toBe('shiftToStandby');
    expect(weights(d)).toEqual({ [K8S]: 0, [ECS]: 100 });
  });

  it('the declared weights on a healthy primary are the normal state: nothing to rebalance', () => {
    const d = plan({
      backends: [
        k8s({ weight: 80, declaredWeight: 80 }),
        ecs({ weight: 20, declaredWeight: 20, slbHealth: 'normal' }),
      ],
      state: { active: 'primary', changes: [] },
    });
    expect(d.kind).toBe('none');
  });
});

describe('planFailover: guards', () => {
  it('flapDamping: a full window blocks any change, with the time it opens again', () => {
    const changes = [at(-1700), at(-1200), at(-600), at(-60)];
    // Failed over, the primary healthy long enough: the failback waits for the window.
    const d = plan({
      backends: failedOver(),
      state: { active: 'standby', primaryHealthySince: at(-3600), changes },
    });
    expect(d).toMatchObject({ kind: 'none', blockedBy: 'flapDamping' });
    expect(weights(d)).toEqual({ [K8S]: 0, [ECS]: 100 });
    expect(d.nextState.changes).toEqual(changes);
    expect(d.reasons.join('\n')).toMatch(/4 weight changes in the last 1800s .* 2026-11-24T12:01:40\.000Z/);
  });

  it('flapDamping never holds back a change that restores service (keepHealthyServing wins)', () => {
    const changes = [at(-1700), at(-1200), at(-600), at(-60)];
    const d = plan({
      backends: [k8s({ slbHealth: 'abnormal' }), ecs()],
      state: { active: 'primary', changes },
    });
    expect(d.kind).toBe('shiftToStandby');
    expect(weights(d)).toEqual({ [K8S]: 0, [ECS]: 100 });
    expect(d.reasons.join('\n')).toMatch(/flapDamping: 4 changes .* keepHealthyServing wins/);
  });

  it.each([
    ['the oldest change exactly one window ago has left it', -1800, 'failBack'],
    ['the oldest change 1 s inside the window still counts', -1799, 'none'],
  ])('flapDamping: %s', (_name, oldest, kind) => {
    const changes = [at(oldest), at(-1200), at(-600), at(-60)];
    const d = plan({
      backends: failedOver(),
      state: { active: 'standby', primaryHealthySince: at(-3600), changes },
    });
    expect(d.kind).toBe(kind);
    if (kind !== 'none') expect(d.nextState.changes).toEqual([at(-1200), at(-600), at(-60), T0]);
  });

  it('flapDamping applies to manual commands too', () => {
    const changes = [at(-40), at(-30), at(-20), at(-10)];
    const d = plan({ command: 'toStandby', state: { active: 'primary', changes } });
    expect(d).toMatchObject({ kind: 'none', blockedBy: 'flapDamping' });
    expect(d.nextState.pinned).toBeUndefined();
  });

  it('ownership: an unmanaged backend keeps its weight and the reasons say so', () => {
    const foreign = k8s({ serverId: 'i-ccmnode00000000001', owned: false, slbHealth: 'abnormal' });
    const d = plan({ backends: [k8s({ slbHealth: 'abnormal' }), foreign, ecs()] });
    expect(d.kind).toBe('shiftToStandby');
    expect(weights(d)).toEqual({ [K8S]: 0, 'i-ccmnode00000000001:30250': 100, [ECS]: 100 });
    expect(d.reasons.join('\n')).toMatch(
      /ownership: not managed by slb-autopilot, weights left untouched: i-ccmnode00000000001:30250=100 \(the policy would change i-ccmnode00000000001:30250\)/,
    );
  });

  it('ownership: a shift that would only touch backends we do not own is blocked', () => {
    const d = plan({ backends: [k8s({ owned: false, slbHealth: 'abnormal' }), ecs({ owned: false })] });
    expect(d).toMatchObject({ kind: 'none', blockedBy: 'ownership' });
    expect(weights(d)).toEqual({ [K8S]: 100, [ECS]: 0 });
  });

  it('keepHealthyServing: draining the primary while the only healthy standby is not ours is blocked', () => {
    const d = plan({ backends: [k8s({ slbHealth: 'abnormal' }), ecs({ owned: false })] });
    expect(d).toMatchObject({ kind: 'none', blockedBy: 'keepHealthyServing' });
    expect(weights(d)).toEqual({ [K8S]: 100, [ECS]: 0 });
    expect(d.reasons.join('\n')).toMatch(new RegExp(`no healthy backend carrying weight while ${ECS}`));
  });

  it('targetHealthy: manual toStandby is refused when the standby is down', () => {
    const d = plan({ command: 'toStandby', backends: [k8s(), ecs({ probe: 'down' })] });
    expect(d).toMatchObject({ kind: 'none', blockedBy: 'targetHealthy' });
    expect(d.reasons.join('\n')).toMatch(/standby has no healthy backend: no shift/);
    expect(d.nextState.pinned).toBeUndefined();
  });

  it('targetHealthy: manual toPrimary is refused when the primary is down', () => {
    const d = plan({
      command: 'toPrimary',
      backends: failedOver({ probe: 'down' }),
      state: { active: 'standby', pinned: 'standby', changes: [] },
    });
    expect(d).toMatchObject({ kind: 'none', blockedBy: 'targetHealthy' });
    expect(d.nextState.pinned).toBe('standby');
  });
});

describe('planFailover: manual commands', () => {
  it('toStandby shifts and pins; auto then holds the standby though the primary is healthy', () => {
    const shift = plan({
      command: 'toStandby',
      state: { active: 'primary', primaryHealthySince: at(-3600), changes: [] },
    });
    expect(shift.kind).toBe('shiftToStandby');
    expect(shift.nextState).toMatchObject({ active: 'standby', pinned: 'standby' });
    const hold = plan({
      backends: applied([k8s(), ecs()], shift),
      state: shift.nextState,
      now: at(3600),
    });
    expect(hold).toMatchObject({ kind: 'none', blockedBy: 'manualPin' });
  });

  it('toPrimary fails back at once (no failback delay) and releases the pin', () => {
    const d = plan({
      command: 'toPrimary',
      backends: failedOver(),
      state: { active: 'standby', pinned: 'standby', primaryHealthySince: T0, changes: [] },
      now: at(5),
    });
    expect(d.kind).toBe('failBack');
    expect(d.nextState.pinned).toBeUndefined();
  });

  it('a pinned standby that dies while the primary is healthy fails back and unpins', () => {
    const d = plan({
      backends: failedOver({}, { probe: 'down', slbHealth: 'abnormal' }),
      state: { active: 'standby', pinned: 'standby', changes: [] },
    });
    expect(d.kind).toBe('failBack');
    expect(d.nextState.pinned).toBeUndefined();
  });

  it.each([
    ['toStandby when already on standby', 'toStandby', failedOver(), 'standby'],
    ['toPrimary when already on primary', 'toPrimary', [k8s(), ecs()], 'primary'],
  ] as const)('%s is a no-op', (_name, command, backends, active) => {
    const d = plan({ command, backends, state: { active, changes: [] } });
    expect(d.kind).toBe('none');
    expect(d.nextState.changes).toEqual([]);
  });
});

describe('planFailover: proportional mode', () => {
  const PROP: FailoverPolicy = { ...POLICY, mode: 'proportional' };
  const node = (i: number, over: Partial<FailoverBackend> = {}) =>
    k8s({ serverId: `i-k8snode${i}`, weight: 34, ...over });

  it('spreads primaryWeight over the healthy primaries; the remainder goes to the first by key', () => {
    const d = plan({
      policy: PROP,
      backends: [node(1, { weight: 100 }), node(2, { weight: 100 }), node(3, { weight: 100 }), ecs()],
    });
    expect(d.kind).toBe('rebalance');
    expect(weights(d)).toEqual({
      'i-k8snode1:30250': 34,
      'i-k8snode2:30250': 33,
      'i-k8snode3:30250': 33,
      [ECS]: 0,
    });
  });

  it('fails back to the declared weights of the eligible primaries; an unhealthy one stays drained', () => {
    const d = plan({
      policy: PROP,
      backends: [
        node(1, { weight: 0, declaredWeight: 50 }),
        node(2, { weight: 0, declaredWeight: 50 }),
        node(3, { weight: 0, declaredWeight: 50, slbHealth: 'abnormal' }),
        ecs({ weight: 100, declaredWeight: 10, slbHealth: 'normal' }),
      ],
      state: { active: 'standby', primaryHealthySince: T0, changes: [] },
      now: at(600),
    });
    expect(d.kind).toBe('failBack');
    expect(weights(d)).toEqual({
      'i-k8snode1:30250': 50,
      'i-k8snode2:30250': 50,
      'i-k8snode3:30250': 0,
      [ECS]: 10,
    });
  });

  it('drains an unhealthy primary and gives its share to the others', () => {
    const d = plan({
      policy: PROP,
      backends: [node(1), node(2, { weight: 33 }), node(3, { weight: 33, slbHealth: 'abnormal' }), ecs()],
    });
    expect(d.kind).toBe('rebalance');
    expect(weights(d)).toEqual({
      'i-k8snode1:30250': 50,
      'i-k8snode2:30250': 50,
      'i-k8snode3:30250': 0,
      [ECS]: 0,
    });
  });

  it('unknown health is not drained', () => {
    const d = plan({
      policy: PROP,
      backends: [node(1, { weight: 50 }), node(2, { weight: 50, slbHealth: 'unavailable' }), ecs()],
    });
    expect(d.kind).toBe('none');
  });

  it('a shift spreads over the healthy standbys', () => {
    const d = plan({
      policy: PROP,
      backends: [
        node(1, { slbHealth: 'abnormal', weight: 100 }),
        ecs({ serverId: 'i-ecs1' }),
        ecs({ serverId: 'i-ecs2' }),
        ecs({ serverId: 'i-ecs3', probe: 'down' }),
      ],
    });
    expect(d.kind).toBe('shiftToStandby');
    expect(weights(d)).toEqual({
      'i-k8snode1:30250': 0,
      'i-ecs1:8050': 50,
      'i-ecs2:8050': 50,
      'i-ecs3:8050': 0,
    });
  });

  it('more backends than weight: every eligible one still gets 1', () => {
    const many = Array.from({ length: 120 }, (_, i) => node(i, { weight: 0, probe: 'up' }));
    const d = plan({ policy: PROP, backends: [...many, ecs()] });
    expect(
      Math.min(...d.targetWeights.filter((t) => t.serverId.startsWith('i-k8s')).map((t) => t.weight)),
    ).toBe(1);
  });
});

describe('planFailover: idempotence (absolute targets)', () => {
  const cases: [string, Partial<FailoverInput>][] = [
    ['shift to standby', { backends: [k8s({ slbHealth: 'abnormal' }), ecs()] }],
    [
      'failback',
      {
        backends: failedOver(),
        state: { active: 'standby', primaryHealthySince: T0, changes: [] },
        now: at(300),
      },
    ],
    [
      'early failback (standby died)',
      { backends: failedOver({}, { probe: 'down' }), state: { active: 'standby', changes: [] } },
    ],
    ['rebalance of drift', { backends: [k8s(), ecs({ weight: 30 })] }],
    ['manual toStandby', { command: 'toStandby' }],
    [
      'manual toPrimary',
      {
        command: 'toPrimary',
        backends: failedOver(),
        state: { active: 'standby', pinned: 'standby', changes: [] },
      },
    ],
    [
      'proportional shift',
      {
        policy: { ...POLICY, mode: 'proportional' },
        backends: [k8s({ slbHealth: 'abnormal' }), ecs({ serverId: 'i-ecs1' }), ecs({ serverId: 'i-ecs2' })],
      },
    ],
  ];

  it.each(cases)(
    '%s: the same decision applied twice is a no-op, and duplicates change nothing',
    (_name, over) => {
      const first = plan(over);
      expect(first.kind).not.toBe('none');
      const backends = applied(over.backends ?? [k8s(), ecs()], first);
      // The resulting state re-read (weights and tags), the same event delivered again, twice.
      for (const now of [over.now ?? T0, new Date((over.now ?? T0).getTime() + 1000)]) {
        const again = plan({
          ...over,
          backends,
          state: decodeFailoverState(encodeFailoverState(first.nextState)).state,
          now,
        });
        expect(again.kind).toBe('none');
        expect(setWeightBatches(again.targetWeights, backends)).toEqual([]);
      }
    },
  );
});

// --- sequences -----------------------------------------------------------------------------------------

interface Step {
  now: Date;
  primaryUp: boolean;
  standbyUp: boolean;
  command?: FailoverCommand;
}

/** Runs a sequence the way the workflow does: observe, plan, apply, persist the state as tags. */
function run(steps: Step[], policy: FailoverPolicy, start: FailoverBackend[] = [k8s(), ecs()]) {
  let backends = start;
  let tags: Record<string, string> = {};
  const log: { step: Step; d: FailoverDecision; before: FailoverBackend[] }[] = [];
  for (const step of steps) {
    // SLB sees the weighted ones; probes see every backend (the audit probes standbys and drained ones).
    const observed = backends.map((b) => {
      const up = b.pool === 'primary' ? step.primaryUp : step.standbyUp;
      return {
        ...b,
        slbHealth: b.weight > 0 ? (up ? 'normal' : 'abnormal') : 'unavailable',
        probe: up ? 'up' : 'down',
      } as FailoverBackend;
    });
    const { state, reasons } = decodeFailoverState(tags);
    const d = planFailover({
      backends: observed,
      state,
      stateReasons: reasons,
      policy,
      command: step.command ?? 'auto',
      now: step.now,
    });
    log.push({ step, d, before: observed });
    backends = applied(observed, d);
    tags = encodeFailoverState(d.nextState);
  }
  return log;
}

/** The most weight changes inside any window of `window` seconds. */
function maxChangesInWindow(times: Date[], windowS: number): number {
  let max = 0;
  for (const t of times)
    max = Math.max(max, times.filter((u) => u.getTime() > t.getTime() - windowS * 1000 && u <= t).length);
  return max;
}

describe('planFailover: sequences', () => {
  it('K8S flapping every 10 s for an hour -> one shift to standby, no flapping weights', () => {
    const steps = Array.from({ length: 360 }, (_, i) => ({
      now: at(i * 10),
      primaryUp: i % 2 === 1,
      standbyUp: true,
    }));
    const changes = run(steps, POLICY).filter((l) => l.d.kind !== 'none');
    expect(changes.map((l) => l.d.kind)).toEqual(['shiftToStandby']);
  });

  it('a slow flap (2 min down, 2 min up, failbackAfter 30 s) is damped to maxChangesPerWindow', () => {
    const policy = { ...POLICY, failbackAfter: 30 };
    const steps = Array.from({ length: 240 }, (_, i) => ({
      now: at(i * 15),
      primaryUp: Math.floor(i / 8) % 2 === 1,
      standbyUp: true,
    }));
    const log = run(steps, policy);
    const changed = log.filter((l) => l.d.kind !== 'none');
    // Failbacks are damped to the bound; shifts away from a dead primary are not (they restore service),
    // and there is at most one more shift than failbacks.
    const failbacks = changed.filter((l) => l.d.kind === 'failBack').map((l) => l.step.now);
    expect(maxChangesInWindow(failbacks, policy.window)).toBeLessThanOrEqual(policy.maxChangesPerWindow);
    expect(
      maxChangesInWindow(
        changed.map((l) => l.step.now),
        policy.window,
      ),
    ).toBeLessThanOrEqual(2 * policy.maxChangesPerWindow + 1);
    expect(log.some((l) => l.d.blockedBy === 'flapDamping')).toBe(true);
    expect(changed.length).toBeGreaterThan(policy.maxChangesPerWindow); // the window slides
  });

  it('kill K8S, restore it: shift at once; failbackAfter after it is healthy again add it, next run drain the standby', () => {
    const steps: Step[] = [
      { now: at(0), primaryUp: true, standbyUp: true },
      { now: at(60), primaryUp: false, standbyUp: true },
      { now: at(120), primaryUp: true, standbyUp: true },
      { now: at(360), primaryUp: true, standbyUp: true },
      { now: at(420), primaryUp: true, standbyUp: true },
      { now: at(480), primaryUp: true, standbyUp: true },
    ];
    expect(run(steps, POLICY).map((l) => l.d.kind)).toEqual([
      'none',
      'shiftToStandby',
      'none',
      'none',
      'failBack',
      'failBack',
    ]);
  });

  it('random event sequences never break a guard', () => {
    let seed = 12345;
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    for (const policy of [
      POLICY,
      { ...POLICY, mode: 'proportional' as const, failbackAfter: 30, maxChangesPerWindow: 2 },
    ]) {
      const foreign = k8s({ serverId: 'i-ccm000000000000001', owned: false, weight: 7 });
      const steps: Step[] = [];
      let t = 0;
      let primaryUp = true;
      let standbyUp = true;
      for (let i = 0; i < 1500; i++) {
        t += Math.floor(random() * 90) + 1;
        if (random() < 0.2) primaryUp = !primaryUp;
        if (random() < 0.1) standbyUp = !standbyUp;
        const r = random();
        steps.push({
          now: at(t),
          primaryUp,
          standbyUp,
          command: r < 0.03 ? 'toStandby' : r < 0.06 ? 'toPrimary' : 'auto',
        });
      }
      const log = run(steps, policy, [k8s(), foreign, ecs(), ecs({ serverId: 'i-ecs2' })]);
      const changed = log.filter((l) => l.d.kind !== 'none');
      expect(changed.length).toBeGreaterThan(5);
      // A change that restores service is exempt from damping; every other stays within the bound.
      const restoring = (l: (typeof log)[number]) =>
        l.before.some((b) => effectiveHealth(b).health === 'healthy') &&
        !l.before.some((b) => effectiveHealth(b).health === 'healthy' && b.weight > 0);
      expect(
        maxChangesInWindow(
          changed.filter((l) => !restoring(l)).map((l) => l.step.now),
          policy.window,
        ),
      ).toBeLessThanOrEqual(policy.maxChangesPerWindow);
      expect(log.filter((l) => restoring(l) && l.d.blockedBy === 'flapDamping')).toEqual([]);
      for (const { step, d, before } of log) {
        // ownership: the foreign backend never moves
        expect(weights(d)['i-ccm000000000000001:30250']).toBe(7);
        if (d.kind === 'none') {
          expect(setWeightBatches(d.targetWeights, before)).toEqual([]);
          continue;
        }
        // keepHealthyServing: a change never leaves no healthy backend carrying weight
        const healthy = before.filter((b) => effectiveHealth(b).health === 'healthy');
        if (healthy.length)
          expect(healthy.some((b) => (weights(d)[`${b.serverId}:${b.port}`] ?? 0) > 0)).toBe(true);
        // targetHealthy: never shift to a dead standby; failback only to a live primary
        if (d.kind === 'shiftToStandby') expect(step.standbyUp).toBe(true);
        if (d.kind === 'failBack') expect(step.primaryUp).toBe(true);
        // hysteresis: an automatic failback waits failbackAfter, unless the standby is down
        if (d.kind === 'failBack' && step.command === 'auto' && step.standbyUp) {
          const i = log.findIndex((l) => l.step === step);
          const since = log[i - 1]?.d.nextState.primaryHealthySince;
          expect(since).toBeDefined();
          expect(step.now.getTime() - (since?.getTime() ?? 0)).toBeGreaterThanOrEqual(
            policy.failbackAfter * 1000,
          );
        }
      }
    }
  });
});

// --- state in tags ---------------------------------------------------------------------------------------

describe('failover state tags', () => {
  const full: FailoverState = {
    active: 'standby',
    pinned: 'standby',
    primaryHealthySince: new Date('2026-11-24T11:58:00.250Z'),
    changes: [at(-1200), at(-600), at(-60)],
  };

  it('round-trips', () => {
    const tags = encodeFailoverState(full);
    expect(tags).toEqual({
      'slb-autopilot:failover-active': 'standby',
      'slb-autopilot:failover-pinned': 'standby',
      'slb-autopilot:failover-healthy-since': '2026-11-24T11:58:00.250Z',
      'slb-autopilot:failover-changes': [at(-1200), at(-600), at(-60)]
        .map((d) => (d.getTime() / 1000).toString(36))
        .join(','),
    });
    expect(decodeFailoverState(tags)).toEqual({ state: full, reasons: [] });
  });

  it('rounds change instants up to the second (never leaving the damping window early)', () => {
    const { state } = decodeFailoverState(
      encodeFailoverState({ active: 'primary', changes: [new Date(T0.getTime() + 1)] }),
    );
    expect(state.changes).toEqual([at(1)]);
  });

  it('100 changes fit the CLB tag limits (keys <= 64, values <= 128), split over several tags', () => {
    const changes = Array.from({ length: 150 }, (_, i) => at(i * 7));
    const tags = encodeFailoverState({ active: 'primary', changes });
    for (const [k, v] of Object.entries(tags)) {
      expect(k.length).toBeLessThanOrEqual(64);
      expect(v.length).toBeLessThanOrEqual(128);
      expect(k).toMatch(/^slb-autopilot:/);
    }
    expect(Object.keys(tags).filter((k) => k.startsWith(FAILOVER_TAGS.changes)).length).toBeGreaterThan(1);
    expect(decodeFailoverState(tags).state.changes).toEqual(changes.slice(-100));
  });

  it('no tags: nothing recorded, nothing to complain about', () => {
    expect(decodeFailoverState({})).toEqual({ state: INITIAL_FAILOVER_STATE, reasons: [] });
    expect(decodeFailoverState(undefined)).toEqual({ state: INITIAL_FAILOVER_STATE, reasons: [] });
    expect(encodeFailoverState(INITIAL_FAILOVER_STATE)).toEqual({});
  });

  it.each([
    [FAILOVER_TAGS.active, 'sideways', 'active', 'unknown', /active pool unknown/],
    [FAILOVER_TAGS.pinned, 'yes', 'pinned', undefined, /not pinned/],
    [
      FAILOVER_TAGS.primaryHealthySince,
      'yesterday',
      'primaryHealthySince',
      undefined,
      /failback delay starts again/,
    ],
    [
      FAILOVER_TAGS.primaryHealthySince,
      '2026-13-45T99:00:00Z',
      'primaryHealthySince',
      undefined,
      /failback delay/,
    ],
    [FAILOVER_TAGS.changes, 'abc,??,def', 'changes', [], /flap-damping history is lost/],
  ] as const)('garbled %s=%j is treated as unknown and said so', (key, value, field, expected, reason) => {
    const tags = { ...encodeFailoverState(full), [key]: value, 'managed-by': 'slb-autopilot' };
    const { state, reasons } = decodeFailoverState(tags);
    expect(state[field]).toEqual(expected);
    expect(reasons).toHaveLength(1);
    expect(reasons[0]).toMatch(new RegExp(`^${key}: garbled`));
    expect(reasons[0]).toMatch(reason);
  });

  it('garbled state reaches the decision reasons, and the decision still follows the weights', () => {
    const { state, reasons } = decodeFailoverState({ [FAILOVER_TAGS.active]: '\u0000zzz' });
    const d = plan({ backends: failedOver({ probe: 'down' }), state, stateReasons: reasons });
    expect(d.reasons[0]).toMatch(/failover-active: garbled/);
    expect(d.active).toBe('standby');
    expect(d.kind).toBe('none');
  });

  it('stale keys: our failover tags the next state drops, and nothing else', () => {
    const current = {
      ...encodeFailoverState(full),
      'managed-by': 'slb-autopilot',
      'slb-autopilot:other': 'x',
    };
    const next = encodeFailoverState({ active: 'primary', changes: [] });
    expect(staleFailoverTagKeys(current, next).sort()).toEqual(
      [FAILOVER_TAGS.changes, FAILOVER_TAGS.pinned, FAILOVER_TAGS.primaryHealthySince].sort(),
    );
  });
});

describe('setWeightBatches', () => {
  const group = (n: number, weight: number) =>
    Array.from({ length: n }, (_, i) => ({
      serverId: `i-node${String(i).padStart(3, '0')}`,
      port: 80,
      weight,
    }));

  it.each([
    [45, [20, 20, 5]],
    [20, [20]],
    [21, [20, 1]],
    [1, [1]],
    [0, []],
  ])('%i changed backends -> batches of %j', (n, sizes) => {
    expect(setWeightBatches(group(n, 0), group(n, 100)).map((b) => b.length)).toEqual(sizes);
  });

  it('only the changed backends, raises before cuts', () => {
    const current = [...group(3, 100), { serverId: 'i-standby', port: 8050, weight: 0 }];
    const target = [
      { serverId: 'i-node000', port: 80, weight: 0 },
      { serverId: 'i-node001', port: 80, weight: 100 },
      { serverId: 'i-node002', port: 80, weight: 0 },
      { serverId: 'i-standby', port: 8050, weight: 100 },
    ];
    expect(setWeightBatches(target, current)).toEqual([
      [
        { serverId: 'i-standby', port: 8050, weight: 100 },
        { serverId: 'i-node000', port: 80, weight: 0 },
        { serverId: 'i-node002', port: 80, weight: 0 },
      ],
    ]);
  });

  it('a 45-backend failover from a planner decision: 3 calls', () => {
    const primaries = Array.from({ length: 25 }, (_, i) =>
      k8s({ serverId: `i-k8s${i}`, slbHealth: 'abnormal' }),
    );
    const standbys = Array.from({ length: 20 }, (_, i) => ecs({ serverId: `i-ecs${i}` }));
    const backends = [...primaries, ...standbys];
    const d = plan({ backends });
    expect(d.kind).toBe('shiftToStandby');
    const batches = setWeightBatches(d.targetWeights, backends);
    expect(batches.map((b) => b.length)).toEqual([20, 20, 5]);
    expect(batches[0]?.every((t) => t.weight === 100)).toBe(true);
  });
});
