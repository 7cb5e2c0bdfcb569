// A group as observed -> what failover and the audit decide with it: which members are probed, each
// member's pool, health and ownership (assessGroup), when the audit hands a group to failover
// (handOffDue), when a rebalance is held, and the writes a decision becomes (planFailoverWrites).
import { describe, expect, it } from 'vitest';
import {
  assessGroup,
  encodeFailoverState,
  FAILOVER_TAGS,
  type FailoverDecision,
  type FailoverState,
  type GroupObservation,
  groupHealthCheck,
  handOffDue,
  holdsRebalance,
  membersToProbe,
  type ObservedMember,
  planFailoverWrites,
  type SlbHealth,
} from '../../../shared/domain/failover';

const K8S: ObservedMember = { serverId: 'i-k8s', port: 30250, weight: 100 };
const ECS: ObservedMember = { serverId: 'i-ecs', port: 8050, weight: 0, serverIp: '10.0.0.8', type: 'ecs' };
const SPEC_GROUP = {
  backends: [
    { serverId: 'i-k8s', port: 30250, weight: 100, pool: 'primary' as const },
    { serverId: 'i-ecs', port: 8050, weight: 0, pool: 'standby' as const },
  ],
};
const health = (entries: Record<string, SlbHealth | [SlbHealth, string]>) =>
  new Map(
    Object.entries(entries).map(([k, v]) => [k, Array.isArray(v) ? { state: v[0], ip: v[1] } : { state: v }]),
  );
const observe = (over: Partial<GroupObservation> = {}): GroupObservation => ({
  specGroup: SPEC_GROUP,
  members: [K8S, ECS],
  groupOwned: false,
  health: health({ 'i-k8s:30250': 'normal', 'i-ecs:8050': 'unavailable' }),
  ...over,
});

describe('membersToProbe', () => {
  it.each<[string, Partial<GroupObservation>, string[]]>([
    ['the spec standby (weight 0)', {}, ['i-ecs:8050@10.0.0.8']],
    [
      'a standby carrying weight (failed over) and the drained primary',
      {
        members: [
          { ...K8S, weight: 0 },
          { ...ECS, weight: 100 },
        ],
      },
      ['i-k8s:30250', 'i-ecs:8050@10.0.0.8'],
    ],
    [
      'a standby by its description only, when the spec does not name the group',
      {
        specGroup: undefined,
        members: [K8S, { serverId: 'i-x', port: 80, weight: 50, description: 'pool.standby' }],
      },
      ['i-x:80'],
    ],
    [
      "SLB's address wins over the group's",
      { health: health({ 'i-ecs:8050': ['normal', '192.168.0.9'] }) },
      ['i-ecs:8050@192.168.0.9'],
    ],
    ['no standby, all weighted: nothing', { members: [K8S], specGroup: { backends: [] } }, []],
  ])('%s', (_name, over, want) => {
    const got = membersToProbe(observe(over)).map((m) => `${m.serverId}:${m.port}${m.ip ? `@${m.ip}` : ''}`);
    expect(got).toEqual(want);
  });
});

describe('assessGroup', () => {
  it('takes pool and declared weight from the spec, health from SLB, the verdict from the probe', () => {
    const got = assessGroup(observe(), new Map([['i-ecs:8050', { up: true }]]));
    expect(got).toEqual([
      {
        serverId: 'i-k8s',
        port: 30250,
        weight: 100,
        pool: 'primary',
        slbHealth: 'normal',
        owned: true,
        declaredWeight: 100,
      },
      {
        serverId: 'i-ecs',
        port: 8050,
        weight: 0,
        pool: 'standby',
        slbHealth: 'unavailable',
        probe: 'up',
        owned: true,
        declaredWeight: 0,
      },
    ]);
  });

  it.each<[string, Partial<GroupObservation>, boolean, string]>([
    ['a member the spec does not name, in an adopted group', {}, false, 'primary'],
    ['a member of a group we created', { groupOwned: true }, true, 'primary'],
  ])('%s: owned %s', (_name, over, owned, pool) => {
    const stranger = { serverId: 'i-other', port: 80, weight: 10 };
    const [got] = assessGroup(observe({ ...over, members: [stranger] }), new Map());
    expect(got).toEqual({ ...stranger, pool, owned });
  });

  it('a probe that failed is down; no health row and no probe leave both out', () => {
    const got = assessGroup(observe({ health: new Map() }), new Map([['i-ecs:8050', { up: false }]]));
    expect(got.map((b) => [b.slbHealth, b.probe])).toEqual([
      [undefined, undefined],
      [undefined, 'down'],
    ]);
  });
});

describe('groupHealthCheck', () => {
  const check = (path: string, enabled?: boolean) => ({
    path,
    ...(enabled === undefined ? {} : { enabled }),
  });
  it.each<
    [
      string,
      { vServerGroup?: string; healthCheck?: { path: string; enabled?: boolean } }[],
      string | undefined,
    ]
  >([
    ['the listener forwarding to the group', [{ vServerGroup: 'g', healthCheck: check('/a') }], '/a'],
    [
      'skips a listener whose check is off',
      [
        { vServerGroup: 'g', healthCheck: check('/off', false) },
        { vServerGroup: 'g', healthCheck: check('/on', true) },
      ],
      '/on',
    ],
    ['another group: none', [{ vServerGroup: 'other', healthCheck: check('/a') }], undefined],
    ['no check configured: none', [{ vServerGroup: 'g' }], undefined],
  ])('%s', (_name, listeners, path) => {
    expect(groupHealthCheck(listeners, 'g')?.path).toBe(path);
  });
});

const T0 = new Date('2026-11-24T12:00:00Z');
const decision = (over: Partial<FailoverDecision>): FailoverDecision => ({
  kind: 'none',
  targetWeights: [],
  reasons: [],
  nextState: { active: 'primary', changes: [] },
  active: 'primary',
  pools: {
    primary: { total: 1, healthy: 1, unhealthy: 0, unknown: 0 },
    standby: { total: 1, healthy: 1, unhealthy: 0, unknown: 0 },
  },
  ...over,
});
const onStandby = (since?: Date): FailoverState => ({
  active: 'standby',
  changes: [],
  ...(since ? { primaryHealthySince: since } : {}),
});

describe('handOffDue', () => {
  it.each<[string, Partial<FailoverDecision>, FailoverState, boolean, string | undefined]>([
    ['a shift', { kind: 'shiftToStandby' }, onStandby(), false, 'shiftToStandby'],
    ['a failback', { kind: 'failBack', active: 'standby' }, onStandby(T0), true, 'failBack'],
    ['nothing to do', {}, { active: 'primary', changes: [] }, false, undefined],
    ['a rebalance is drift, not failover', { kind: 'rebalance' }, onStandby(), false, undefined],
    [
      'a failback waiting out its delay',
      { blockedBy: 'hysteresis', active: 'standby', nextState: onStandby(T0) },
      onStandby(),
      false,
      'failBackPending',
    ],
    [
      'the watch: a pending failback the tags already record is not repeated',
      { blockedBy: 'hysteresis', active: 'standby', nextState: onStandby(T0) },
      onStandby(T0),
      true,
      undefined,
    ],
    [
      'the audit repeats it',
      { blockedBy: 'hysteresis', active: 'standby', nextState: onStandby(T0) },
      onStandby(T0),
      false,
      'failBackPending',
    ],
    [
      'a pending failback first seen by the watch',
      { blockedBy: 'hysteresis', active: 'standby', nextState: onStandby(T0) },
      onStandby(),
      true,
      'failBackPending',
    ],
    [
      'the primary down again while failed over (the tags still say healthy since)',
      { active: 'standby', nextState: onStandby() },
      onStandby(T0),
      true,
      'primaryDownAgain',
    ],
    [
      'a rebalance while the primary went down again still clears the old healthy-since',
      { kind: 'rebalance', active: 'standby', nextState: onStandby() },
      onStandby(T0),
      false,
      'primaryDownAgain',
    ],
    [
      'a rebalance held by the failback delay is not a pending failback',
      { kind: 'rebalance', blockedBy: 'hysteresis', active: 'standby', nextState: onStandby(T0) },
      onStandby(),
      false,
      undefined,
    ],
    [
      'failed over, primary still down, nothing recorded',
      { active: 'standby', nextState: onStandby() },
      onStandby(),
      false,
      undefined,
    ],
  ])('%s', (_name, d, state, skipRecordedPending, want) => {
    expect(handOffDue(decision(d), state, { skipRecordedPending })).toBe(want);
  });
});

describe('holdsRebalance', () => {
  it.each<[FailoverDecision['kind'], 'auto' | 'toStandby' | 'toPrimary', boolean]>([
    ['rebalance', 'auto', true],
    ['rebalance', 'toPrimary', false],
    ['rebalance', 'toStandby', false],
    ['shiftToStandby', 'auto', false],
    ['failBack', 'auto', false],
    ['none', 'auto', false],
  ])('%s on %s: held %s', (kind, command, held) => {
    expect(holdsRebalance({ kind }, command)).toBe(held);
  });
});

describe('planFailoverWrites', () => {
  const shifted = decision({
    kind: 'shiftToStandby',
    targetWeights: [
      { serverId: 'i-k8s', port: 30250, weight: 0 },
      { serverId: 'i-ecs', port: 8050, weight: 100 },
    ],
    nextState: { active: 'standby', changes: [T0] },
  });
  const group = (tags: Record<string, string> = {}) => ({
    vServerGroupId: 'rsp-1',
    members: [K8S, ECS],
    tags,
  });
  const shape = (ws: ReturnType<typeof planFailoverWrites>) => ws.map((w) => [w.id, w.kind, w.after ?? []]);

  it('a shift: one weight batch (raise first), then the state tags and the verifying read after it', () => {
    const ws = planFailoverWrites(group(), shifted, 'auto');
    expect(shape(ws)).toEqual([
      ['weights-1', 'setBackendWeights', []],
      ['tag-state', 'tagFailoverState', ['weights-1']],
      ['verify-weights', 'verifyBackendWeights', ['weights-1']],
    ]);
    expect(ws[0]).toMatchObject({
      vServerGroupId: 'rsp-1',
      backends: [
        { serverId: 'i-ecs', port: 8050, weight: 100, type: 'ecs', serverIp: '10.0.0.8' },
        { serverId: 'i-k8s', port: 30250, weight: 0 },
      ],
    });
    expect(ws.every((w) => w.reason.length > 0)).toBe(true);
  });

  it('more than 20 changes: batches in a chain, each after the one before', () => {
    const members = Array.from({ length: 45 }, (_, i) => ({ serverId: `i-${i}`, port: 80, weight: 0 }));
    const d = decision({
      kind: 'rebalance',
      targetWeights: members.map((m) => ({ ...m, weight: 10 })),
      nextState: { active: 'primary', changes: [] },
    });
    const ws = planFailoverWrites({ vServerGroupId: 'rsp-1', members, tags: {} }, d, 'toPrimary');
    expect(shape(ws)).toEqual([
      ['weights-1', 'setBackendWeights', []],
      ['weights-2', 'setBackendWeights', ['weights-1']],
      ['weights-3', 'setBackendWeights', ['weights-2']],
      ['tag-state', 'tagFailoverState', ['weights-3']],
      ['verify-weights', 'verifyBackendWeights', ['weights-3']],
    ]);
  });

  it('a held rebalance writes no weights; only the state changes are recorded', () => {
    const held = { ...shifted, kind: 'rebalance' as const };
    expect(shape(planFailoverWrites(group(), held, 'auto'))).toEqual([['tag-state', 'tagFailoverState', []]]);
  });

  it('nothing changed and the tags already say so: no writes', () => {
    const steady = decision({ targetWeights: [], nextState: { active: 'primary', changes: [] } });
    const tags = encodeFailoverState(steady.nextState);
    expect(planFailoverWrites(group(tags), steady, 'auto')).toEqual([]);
  });

  it('tags the next state no longer has are removed', () => {
    const steady = decision({ nextState: { active: 'primary', changes: [] } });
    const ws = planFailoverWrites(
      group({ [FAILOVER_TAGS.active]: 'primary', [FAILOVER_TAGS.pinned]: 'standby', other: 'x' }),
      steady,
      'auto',
    );
    expect(ws).toEqual([
      expect.objectContaining({ kind: 'untagFailoverState', tagKeys: [FAILOVER_TAGS.pinned] }),
    ]);
  });
});
