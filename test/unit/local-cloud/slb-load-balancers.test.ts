// Emulated load-balancer actions, driven directly with a hand-built ActionContext: creation rules and
// idempotency, list filters and paging, the attribute's listener lists, deletion protection and cascade.
import { describe, expect, it } from 'vitest';
import { ApiError } from '../../../scripts/local-cloud/errors';
import { type ActionContext, DEFAULT_LIMITS } from '../../../scripts/local-cloud/handler';
import { Params } from '../../../scripts/local-cloud/params';
import { loadBalancersActions } from '../../../scripts/local-cloud/slb/load-balancers';
import { type CloudState, emptyState, type ListenerRecord } from '../../../scripts/local-cloud/state';

const REGION = 'cn-hangzhou';
const NOW = new Date('2026-11-24T08:00:00.000Z');

function context(state: CloudState, params: Record<string, string>, regionId = REGION): ActionContext {
  return {
    params: new Params(params),
    state,
    regionId,
    now: NOW,
    // the emulator's own ids come from state.seq; here a plain counter is enough
    newId: (prefix) => `${prefix}${String(state.seq++).padStart(6, '0')}`,
    limits: DEFAULT_LIMITS,
    configuringMs: 0,
  };
}

function run(
  action: string,
  state: CloudState,
  params: Record<string, string> = {},
  regionId = REGION,
): Record<string, unknown> {
  const def = loadBalancersActions[action];
  if (!def) throw new Error(`no such action ${action}`);
  return def.handler(context(state, params, regionId));
}

/** The ApiError a call throws, after checking the state was left exactly as it was. */
function failure(action: string, state: CloudState, params: Record<string, string>): ApiError {
  const before = structuredClone(state);
  let thrown: unknown;
  try {
    run(action, state, params);
  } catch (err) {
    thrown = err;
  }
  if (!(thrown instanceof ApiError)) throw new Error(`expected an ApiError, got ${String(thrown)}`);
  expect(state).toEqual(before);
  return thrown;
}

const create = (state: CloudState, params: Record<string, string>, regionId = REGION): string =>
  run('CreateLoadBalancer', state, params, regionId).LoadBalancerId as string;

function listener(loadBalancerId: string, over: Partial<ListenerRecord> = {}): ListenerRecord {
  return {
    loadBalancerId,
    listenerPort: 80,
    listenerProtocol: 'http',
    status: 'running',
    bandwidth: -1,
    scheduler: 'wrr',
    backendServerPort: 8050,
    healthCheck: { healthCheck: 'off' },
    extra: {},
    tags: [],
    ...over,
  };
}

describe('CreateLoadBalancer', () => {
  it('creates an active internet load balancer on loopback with the documented defaults', () => {
    // Prepare
    const state = emptyState();
    // Act
    const body = run('CreateLoadBalancer', state, { LoadBalancerName: 'mall' });
    // Assess
    expect(body).toMatchObject({
      LoadBalancerId: expect.stringMatching(/^lb-/),
      LoadBalancerName: 'mall',
      Address: '127.0.0.1',
      AddressIPVersion: 'ipv4',
      NetworkType: 'classic',
    });
    expect(state.loadBalancers).toEqual([
      expect.objectContaining({
        loadBalancerId: body.LoadBalancerId,
        regionId: REGION,
        loadBalancerStatus: 'active',
        addressType: 'internet',
        loadBalancerSpec: 'slb.s1.small',
        internetChargeType: 'paybytraffic',
        deleteProtection: 'off',
        createTime: '2026-11-24T08:00:00Z',
      }),
    ]);
  });

  it('makes a load balancer in a vSwitch an intranet VPC one', () => {
    const state = emptyState();
    create(state, { LoadBalancerName: 'inner', VSwitchId: 'vsw-1', VpcId: 'vpc-1' });
    expect(state.loadBalancers[0]).toMatchObject({
      addressType: 'intranet',
      networkType: 'vpc',
      vSwitchId: 'vsw-1',
    });
  });

  it('names a load balancer itself when no name is given', () => {
    const state = emptyState();
    create(state, {});
    expect(state.loadBalancers[0]?.loadBalancerName).toMatch(/^auto_named_slb_/);
  });

  it.each(['m', 'mall-prod_1.a/b', `a${'b'.repeat(79)}`, '商城'])('accepts the name %j', (name) => {
    const state = emptyState();
    create(state, { LoadBalancerName: name });
    expect(state.loadBalancers[0]?.loadBalancerName).toBe(name);
  });

  it.each<[string, Record<string, string>, string, string]>([
    ['a name starting with a digit', { LoadBalancerName: '1mall' }, 'InvalidParameter', 'LoadBalancerName'],
    [
      'a name of 81 characters',
      { LoadBalancerName: `a${'b'.repeat(80)}` },
      'InvalidParameter',
      'LoadBalancerName',
    ],
    ['a name with a space', { LoadBalancerName: 'my mall' }, 'InvalidParameter', 'LoadBalancerName'],
    ['AddressType public', { AddressType: 'public' }, 'InvalidParameter', 'AddressType'],
    ['an unknown spec', { LoadBalancerSpec: 'slb.s9.huge' }, 'InvalidParameter', 'LoadBalancerSpec'],
    ['InternetChargeType free', { InternetChargeType: 'free' }, 'InvalidParameter', 'InternetChargeType'],
    ['Bandwidth 0', { Bandwidth: '0' }, 'InvalidParameter', 'Bandwidth'],
    ['Bandwidth 5121', { Bandwidth: '5121' }, 'InvalidParameter', 'Bandwidth'],
    ['DeleteProtection yes', { DeleteProtection: 'yes' }, 'InvalidParameter', 'DeleteProtection'],
    ['a tag value without key', { 'Tag.1.Value': 'v' }, 'MissingParameter', 'Tag.1.Key'],
    ['a 21st tag', { 'Tag.21.Key': 'k', 'Tag.21.Value': 'v' }, 'TagCountLimit', 'tags'],
  ])('refuses %s with %s, creating nothing', (_, params, code, text) => {
    const err = failure('CreateLoadBalancer', emptyState(), params);
    expect(err.code).toBe(code);
    expect(err.message).toContain(text);
  });

  it.each(['slb.s1.small', 'slb.s2.small', 'slb.s2.medium', 'slb.s3.small', 'slb.s3.medium', 'slb.s3.large'])(
    'accepts the spec %s',
    (spec) => {
      const state = emptyState();
      create(state, { LoadBalancerSpec: spec });
      expect(state.loadBalancers[0]?.loadBalancerSpec).toBe(spec);
    },
  );

  it('answers a repeated ClientToken with the first load balancer instead of a second one', () => {
    const state = emptyState();
    const first = run('CreateLoadBalancer', state, { LoadBalancerName: 'mall', ClientToken: 'tok-1' });
    const again = run('CreateLoadBalancer', state, { LoadBalancerName: 'mall', ClientToken: 'tok-1' });
    const other = create(state, { LoadBalancerName: 'mall', ClientToken: 'tok-2' });
    expect(again).toEqual({
      LoadBalancerId: first.LoadBalancerId,
      LoadBalancerName: 'mall',
      Address: '127.0.0.1',
    });
    expect(other).not.toBe(first.LoadBalancerId);
    expect(state.loadBalancers).toHaveLength(2);
  });

  it('keeps the tags it is given', () => {
    const state = emptyState();
    create(state, { 'Tag.1.Key': 'managed-by', 'Tag.1.Value': 'slb-autopilot', 'Tag.2.Key': 'empty' });
    expect(state.loadBalancers[0]?.tags).toEqual([
      { key: 'managed-by', value: 'slb-autopilot' },
      { key: 'empty', value: '' },
    ]);
  });
});

describe('DescribeLoadBalancers', () => {
  /** five load balancers in the region (a..e) with varied attributes, one elsewhere */
  function fleet(): CloudState {
    const s = emptyState();
    create(s, { LoadBalancerName: 'a', 'Tag.1.Key': 'env', 'Tag.1.Value': 'prod' });
    create(s, { LoadBalancerName: 'b', VSwitchId: 'vsw-1' });
    create(s, { LoadBalancerName: 'c', 'Tag.1.Key': 'env', 'Tag.1.Value': 'dev' });
    create(s, { LoadBalancerName: 'd' });
    create(s, { LoadBalancerName: 'e' });
    create(s, { LoadBalancerName: 'far' }, 'cn-beijing');
    s.loadBalancers[3]!.loadBalancerStatus = 'inactive';
    return s;
  }
  const names = (body: Record<string, unknown>) =>
    ((body.LoadBalancers as { LoadBalancer: { LoadBalancerName: string }[] }).LoadBalancer ?? []).map(
      (x) => x.LoadBalancerName,
    );

  it('pages by PageNumber/PageSize with the TotalCount of every match', () => {
    const state = fleet();
    const body = run('DescribeLoadBalancers', state, { PageNumber: '2', PageSize: '2' });
    expect([body.PageNumber, body.PageSize, body.TotalCount]).toEqual([2, 2, 5]);
    expect(names(body)).toEqual(['c', 'd']);
    expect(names(run('DescribeLoadBalancers', state, { PageNumber: '3', PageSize: '2' }))).toEqual(['e']);
    expect(names(run('DescribeLoadBalancers', state, { PageNumber: '4', PageSize: '2' }))).toEqual([]);
  });

  it('describes each load balancer in the documented shape, timestamps in milliseconds', () => {
    const body = run('DescribeLoadBalancers', fleet(), { LoadBalancerName: 'a' });
    const [lb] = (body.LoadBalancers as { LoadBalancer: Record<string, unknown>[] }).LoadBalancer;
    expect(lb).toMatchObject({
      LoadBalancerName: 'a',
      LoadBalancerStatus: 'active',
      Address: '127.0.0.1',
      AddressType: 'internet',
      NetworkType: 'classic',
      InternetChargeType: '4',
      InternetChargeTypeAlias: 'paybytraffic',
      RegionId: REGION,
      CreateTime: '2026-11-24T08:00:00Z',
      CreateTimeStamp: NOW.getTime(),
      DeleteProtection: 'off',
      Tags: { Tag: [{ TagKey: 'env', TagValue: 'prod' }] },
    });
  });

  it.each<[string, (s: CloudState) => Record<string, string>, string[]]>([
    [
      'ids (comma list)',
      (s) => ({
        LoadBalancerId: `${s.loadBalancers[0]!.loadBalancerId}, ${s.loadBalancers[4]!.loadBalancerId}`,
      }),
      ['a', 'e'],
    ],
    ['names (comma list)', () => ({ LoadBalancerName: 'b,d,zzz' }), ['b', 'd']],
    ['address type', () => ({ AddressType: 'intranet' }), ['b']],
    ['network type', () => ({ NetworkType: 'vpc' }), ['b']],
    ['status', () => ({ LoadBalancerStatus: 'inactive' }), ['d']],
    ['tag key and value', () => ({ 'Tag.1.Key': 'env', 'Tag.1.Value': 'prod' }), ['a']],
    ['tag key alone', () => ({ 'Tag.1.Key': 'env' }), ['a', 'c']],
    ['legacy Tags JSON', () => ({ Tags: '[{"tagKey":"env","tagValue":"dev"}]' }), ['c']],
    ['nothing that matches', () => ({ LoadBalancerName: 'far' }), []],
  ])('filters by %s', (_, filter, expected) => {
    const state = fleet();
    const body = run('DescribeLoadBalancers', state, filter(state));
    expect(names(body)).toEqual(expected);
    expect(body.TotalCount).toBe(expected.length);
  });

  it('answers only the request region', () => {
    expect(names(run('DescribeLoadBalancers', fleet(), {}, 'cn-beijing'))).toEqual(['far']);
  });

  it.each<[string, Record<string, string>, string]>([
    ['PageSize 101', { PageNumber: '1', PageSize: '101' }, 'PageSize'],
    ['PageNumber 0', { PageNumber: '0' }, 'PageNumber'],
    [
      '11 ids',
      { LoadBalancerId: Array.from({ length: 11 }, (_, i) => `lb-${i}`).join(',') },
      'LoadBalancerId',
    ],
    ['11 names', { LoadBalancerName: 'a,b,c,d,e,f,g,h,i,j,k' }, 'LoadBalancerName'],
    ['AddressType any', { AddressType: 'any' }, 'AddressType'],
    ['NetworkType any', { NetworkType: 'any' }, 'NetworkType'],
    ['LoadBalancerStatus gone', { LoadBalancerStatus: 'gone' }, 'LoadBalancerStatus'],
  ])('refuses %s naming the field', (_, params, field) => {
    const err = failure('DescribeLoadBalancers', fleet(), params);
    expect([err.code, err.message.includes(field)]).toEqual(['InvalidParameter', true]);
  });
});

describe('DescribeLoadBalancerAttribute', () => {
  it('lists the listeners by port in three forms, the misspelt legacy one included', () => {
    const state = emptyState();
    const id = create(state, { LoadBalancerName: 'mall' });
    state.listeners.push(
      listener(id, { listenerPort: 443, listenerProtocol: 'https', description: 'shop' }),
      listener(id, { listenerPort: 80, listenerForward: 'on', forwardPort: 443 }),
      listener('lb-other', { listenerPort: 81 }),
    );
    const body = run('DescribeLoadBalancerAttribute', state, { LoadBalancerId: id });
    expect(body).toMatchObject({
      LoadBalancerId: id,
      LoadBalancerName: 'mall',
      CreateTimeStamp: NOW.getTime(),
      BackendServers: { BackendServer: [] },
      ListenerPorts: { ListenerPort: [80, 443] },
      ListenerPortsAndProtocal: {
        ListenerPortAndProtocal: [
          { ListenerPort: 80, ListenerProtocal: 'http' },
          { ListenerPort: 443, ListenerProtocal: 'https' },
        ],
      },
      ListenerPortsAndProtocol: {
        ListenerPortAndProtocol: [
          { ListenerPort: 80, ListenerProtocol: 'http', ListenerForward: 'on', ForwardPort: 443 },
          { ListenerPort: 443, ListenerProtocol: 'https', Description: 'shop' },
        ],
      },
      Tags: { Tag: [] },
    });
  });

  it.each<[string, Record<string, string>, string, number]>([
    ['an unknown id', { LoadBalancerId: 'lb-nope' }, 'InvalidLoadBalancerId.NotFound', 404],
    ['no id', {}, 'MissingParameter', 400],
  ])('answers %s with %s (%i)', (_, params, code, status) => {
    const err = failure('DescribeLoadBalancerAttribute', emptyState(), params);
    expect([err.code, err.httpStatus]).toEqual([code, status]);
  });

  it('does not find a load balancer of another region', () => {
    const state = emptyState();
    const id = create(state, {}, 'cn-beijing');
    expect(failure('DescribeLoadBalancerAttribute', state, { LoadBalancerId: id }).code).toBe(
      'InvalidLoadBalancerId.NotFound',
    );
  });
});

describe('DeleteLoadBalancer', () => {
  /** two load balancers, each with a listener, a group, a rule and a domain extension */
  function twoStocked(): { state: CloudState; keep: string; drop: string } {
    const state = emptyState();
    const [drop, keep] = [
      create(state, { LoadBalancerName: 'drop' }),
      create(state, { LoadBalancerName: 'keep' }),
    ];
    for (const id of [drop, keep]) {
      state.listeners.push(listener(id, { listenerPort: 443, listenerProtocol: 'https' }));
      state.vServerGroups.push({
        vServerGroupId: `rsp-${id}`,
        vServerGroupName: 'g',
        loadBalancerId: id,
        regionId: REGION,
        createTime: '',
        backendServers: [],
        tags: [],
      });
      state.rules.push({
        ruleId: `rule-${id}`,
        ruleName: 'r',
        regionId: REGION,
        loadBalancerId: id,
        listenerPort: 443,
        listenerProtocol: 'https',
        vServerGroupId: `rsp-${id}`,
        extra: {},
      });
      state.domainExtensions.push({
        domainExtensionId: `de-${id}`,
        regionId: REGION,
        loadBalancerId: id,
        listenerPort: 443,
        domain: 'm.example.com',
        serverCertificateId: 'c',
      });
    }
    return { state, keep, drop };
  }

  it('deletes the load balancer with its listeners, groups, rules and domain extensions', () => {
    const { state, keep, drop } = twoStocked();
    expect(run('DeleteLoadBalancer', state, { LoadBalancerId: drop })).toEqual({});
    for (const list of [
      state.loadBalancers,
      state.listeners,
      state.vServerGroups,
      state.rules,
      state.domainExtensions,
    ])
      expect(list.map((x) => x.loadBalancerId)).toEqual([keep]);
  });

  it('refuses while deletion protection is on, changing nothing', () => {
    const { state, drop } = twoStocked();
    state.loadBalancers[0]!.deleteProtection = 'on';
    expect(failure('DeleteLoadBalancer', state, { LoadBalancerId: drop }).code).toBe(
      'OperationDenied.DeleteProtectionIsOn',
    );
  });

  it.each<[string, (s: CloudState) => Record<string, string>, string]>([
    [
      'a locked load balancer',
      (s) => {
        s.loadBalancers[0]!.loadBalancerStatus = 'locked';
        return { LoadBalancerId: s.loadBalancers[0]!.loadBalancerId };
      },
      'ActionNotAllowed',
    ],
    ['an unknown id', () => ({ LoadBalancerId: 'lb-nope' }), 'InvalidLoadBalancerId.NotFound'],
    ['no id', () => ({}), 'MissingParameter'],
  ])('refuses %s with %s', (_, params, code) => {
    const { state } = twoStocked();
    expect(failure('DeleteLoadBalancer', state, params(state)).code).toBe(code);
  });
});

describe('SetLoadBalancerStatus', () => {
  it('switches between active and inactive', () => {
    const state = emptyState();
    const id = create(state, {});
    run('SetLoadBalancerStatus', state, { LoadBalancerId: id, LoadBalancerStatus: 'inactive' });
    expect(state.loadBalancers[0]?.loadBalancerStatus).toBe('inactive');
    run('SetLoadBalancerStatus', state, { LoadBalancerId: id, LoadBalancerStatus: 'active' });
    expect(state.loadBalancers[0]?.loadBalancerStatus).toBe('active');
  });

  it.each<[string, Record<string, string>, string]>([
    ['locked (not settable)', { LoadBalancerStatus: 'locked' }, 'InvalidParameter'],
    ['no status', {}, 'MissingParameter'],
  ])('refuses %s', (_, params, code) => {
    const state = emptyState();
    const id = create(state, {});
    expect(failure('SetLoadBalancerStatus', state, { LoadBalancerId: id, ...params }).code).toBe(code);
  });

  it('refuses to change a locked load balancer', () => {
    const state = emptyState();
    const id = create(state, {});
    state.loadBalancers[0]!.loadBalancerStatus = 'locked';
    const err = failure('SetLoadBalancerStatus', state, { LoadBalancerId: id, LoadBalancerStatus: 'active' });
    expect([err.code, err.message]).toEqual(['ActionNotAllowed', 'Locked for any Business Reason.']);
  });
});
