import { describe, expect, it } from 'vitest';
import type { ListenerModel, LoadBalancerModel } from '../../../shared/domain/model';
import {
  type Action,
  describeAction,
  duplicateCertificates,
  markDuplicateGroups,
  planDuplicateCertificates,
  planLoadBalancer,
} from '../../../shared/domain/plan';

const listener = (over: Partial<ListenerModel> = {}): ListenerModel => ({
  protocol: 'https',
  port: 443,
  bandwidth: -1,
  scheduler: 'wrr',
  vServerGroup: 'web',
  stickySession: false,
  http2: true,
  running: true,
  rules: [],
  extensionDomains: [],
  ...over,
});

const lb = (over: Partial<LoadBalancerModel> = {}): LoadBalancerModel => ({
  name: 'shop',
  loadBalancerId: 'lb-1',
  groups: [{ name: 'web', backends: [{ serverId: 'i-1', port: 80, weight: 100, type: 'ecs' }] }],
  listeners: [listener()],
  ...over,
});

describe('planLoadBalancer', () => {
  it.each([
    ['identical', lb(), []],
    ['a stopped listener is started', lb({ listeners: [listener({ running: false })] }), ['startListener']],
    ['a missing backend is added', lb({ groups: [{ name: 'web', backends: [] }] }), ['addBackends']],
    ['a missing group is created', lb({ groups: [] }), ['createVServerGroup']],
    ['scheduler drift', lb({ listeners: [listener({ scheduler: 'rr' })] }), ['setListenerAttribute']],
  ])('%s', (_name, observed, kinds) => {
    expect(planLoadBalancer(lb(), observed).actions.map((a) => a.kind)).toEqual(kinds);
  });

  it.each([
    ['to another HTTPS port', { redirectPort: 443 }, { redirectPort: 8443 }],
    ['off', { redirectPort: 443 }, { vServerGroup: 'web' }],
    ['on', { vServerGroup: 'web' }, { redirectPort: 443 }],
  ] as const)(
    'replaces an HTTP listener whose redirect turns %s: no Set action changes a redirect',
    (_, was, wants) => {
      // Prepare
      const http = (over: Partial<ListenerModel>) =>
        listener({ protocol: 'http', port: 80, http2: undefined, vServerGroup: undefined, ...over });
      const desired = lb({ listeners: [listener(), http(wants)] });
      const observed = lb({ listeners: [listener(), http(was)] });
      // Act
      const plan = planLoadBalancer(desired, observed);
      // Assess
      expect(
        plan.actions.map((a) => [
          a.kind,
          'port' in a ? a.port : (a as { listener?: { port: number } }).listener?.port,
        ]),
      ).toEqual([
        ['deleteListener', 80],
        ['createListener', 80],
        ['startListener', 80],
      ]);
      expect(plan.actions[0]).toMatchObject({ replace: true });
    },
  );

  it('creates rules and extension domains the spec adds, and repoints a rule at its group', () => {
    const desired = lb({
      listeners: [
        listener({
          rules: [
            { name: 'api', domain: 'api.example.com', vServerGroup: 'web' },
            { name: 'img', url: '/img', vServerGroup: 'web' },
          ],
          extensionDomains: [{ domain: 'm.example.com', certificate: { serverCertificateId: 'c-1' } }],
        }),
      ],
    });
    const observed = lb({
      listeners: [
        listener({ rules: [{ name: 'img', url: '/img', vServerGroup: 'other', ruleId: 'rule-1' }] }),
      ],
    });
    expect(planLoadBalancer(desired, observed).actions.map((a) => a.kind)).toEqual([
      'createRule',
      'setRuleGroup',
      'createDomainExtension',
    ]);
  });

  it('leaves alone what the spec does not name, and what it cannot change in place, saying why', () => {
    const observed = lb({
      groups: [
        {
          name: 'web',
          backends: [
            { serverId: 'i-1', port: 80, weight: 100, type: 'ecs' },
            { serverId: 'i-9', port: 80, weight: 5, type: 'ecs' },
          ],
        },
        { name: 'legacy', backends: [] },
      ],
      listeners: [
        listener(),
        listener({ protocol: 'http', port: 8080 }),
        listener({ port: 444, protocol: 'http' }),
      ],
    });
    const desired = lb({ listeners: [listener(), listener({ port: 444 })] });
    const plan = planLoadBalancer(desired, observed);
    expect(plan.actions).toEqual([]);
    expect(plan.leftAlone.map((l) => l.what)).toEqual([
      'backend i-9:80 in group web',
      'http listener on port 444',
      'http listener on port 8080',
      'VServer group legacy',
    ]);
  });

  it.each([
    ['the spec says the group is exclusive', { exclusive: true }, {}],
    ['we created the group', {}, { owned: true }],
  ])('removes unlisted backends last when %s', (_name, desiredFlags, observedFlags) => {
    const desired = lb({
      groups: [
        {
          name: 'web',
          ...desiredFlags,
          backends: [
            { serverId: 'i-1', port: 80, weight: 50, type: 'ecs' },
            { serverId: 'i-2', port: 80, weight: 50, type: 'ecs' },
          ],
        },
      ],
    });
    const observed = lb({
      groups: [
        {
          name: 'web',
          ...observedFlags,
          backends: [
            { serverId: 'i-1', port: 80, weight: 100, type: 'ecs' },
            { serverId: 'eni-9', port: 80, weight: 100, type: 'eni', serverIp: '10.0.0.9' },
          ],
        },
      ],
    });
    const plan = planLoadBalancer(desired, observed);
    expect(plan.actions.map((a) => a.kind)).toEqual(['addBackends', 'setBackendWeights', 'removeBackends']);
    expect(plan.actions[2]).toMatchObject({
      backends: [{ serverId: 'eni-9', port: 80, type: 'eni', serverIp: '10.0.0.9' }],
    });
    expect(plan.leftAlone).toEqual([]);
  });

  it('leaves weights alone while failover has the standby active, and says so', () => {
    const observed = lb({
      groups: [
        {
          name: 'web',
          tags: [{ key: 'slb-autopilot:failover-active', value: 'standby' }],
          backends: [{ serverId: 'i-1', port: 80, weight: 0, type: 'ecs' }],
        },
      ],
    });
    const plan = planLoadBalancer(lb(), observed);
    expect(plan.actions).toEqual([]);
    expect(plan.leftAlone).toEqual([expect.objectContaining({ what: 'weights in group web' })]);
    const relabel = lb({
      groups: [
        {
          name: 'web',
          backends: [{ serverId: 'i-1', port: 80, weight: 100, type: 'ecs', description: 'new' }],
        },
      ],
    });
    expect(planLoadBalancer(relabel, observed).actions).toEqual([
      expect.objectContaining({
        kind: 'setBackendWeights',
        backends: [{ serverId: 'i-1', port: 80, weight: 0, description: 'new' }],
      }),
    ]);
  });

  it('deletes what we created and the spec dropped, redirects first, groups once unused; keeps what is not ours', () => {
    const observed = lb({
      groups: [
        { name: 'web', backends: [{ serverId: 'i-1', port: 80, weight: 100, type: 'ecs' }] },
        { name: 'old', vServerGroupId: 'rsp-old', owned: true, backends: [] },
        { name: 'theirs', vServerGroupId: 'rsp-theirs', backends: [] },
        { name: 'busy', vServerGroupId: 'rsp-busy', owned: true, backends: [] },
      ],
      listeners: [
        listener(),
        listener({ port: 8443, owned: true, vServerGroup: 'old' }),
        listener({ protocol: 'http', port: 8080, owned: true, redirectPort: 8443, vServerGroup: undefined }),
        listener({ protocol: 'http', port: 9090, vServerGroup: 'busy' }),
      ],
    });
    const plan = planLoadBalancer(lb(), observed);
    expect(plan.actions.map((a) => [a.kind, 'port' in a ? a.port : 'group' in a ? a.group : ''])).toEqual([
      ['deleteListener', 8080],
      ['deleteListener', 8443],
      ['deleteVServerGroup', 'old'],
    ]);
    expect(plan.leftAlone.map((l) => [l.what, l.why])).toEqual([
      ['http listener on port 9090', 'not in the spec'],
      ['VServer group theirs', 'not in the spec'],
      ['VServer group busy', 'not in the spec, but the HTTP listener on 9090 forwards to it'],
    ]);
  });

  it('blames a leftover group on what still forwards to it once the plan has run', () => {
    // Prepare: `old` is ours and dropped from the spec; a rule the spec re-points used it, and a rule
    // on a listener outside the spec still uses `busy`.
    const observed = lb({
      groups: [
        { name: 'web', vServerGroupId: 'rsp-web', backends: [] },
        { name: 'old', vServerGroupId: 'rsp-old', owned: true, backends: [] },
        { name: 'busy', vServerGroupId: 'rsp-busy', owned: true, backends: [] },
      ],
      listeners: [
        listener({
          vServerGroupId: 'rsp-web',
          rules: [
            { name: 'api', url: '/api', vServerGroup: 'old', vServerGroupId: 'rsp-old', ruleId: 'r-1' },
          ],
        }),
        listener({
          protocol: 'http',
          port: 9090,
          vServerGroup: 'web',
          vServerGroupId: 'rsp-web',
          rules: [
            { name: 'img', url: '/img', vServerGroup: 'busy', vServerGroupId: 'rsp-busy', ruleId: 'r-2' },
          ],
        }),
      ],
    });
    const desired = lb({
      groups: [{ name: 'web', backends: [] }],
      listeners: [listener({ rules: [{ name: 'api', url: '/api', vServerGroup: 'web' }] })],
    });
    // Act
    const plan = planLoadBalancer(desired, observed);
    // Assess
    expect(plan.actions.map((a) => [a.kind, 'group' in a ? a.group : 'rule' in a ? a.rule : ''])).toEqual([
      ['setRuleGroup', 'api'],
      ['deleteVServerGroup', 'old'],
    ]);
    expect(plan.leftAlone.map((l) => [l.what, l.why])).toEqual([
      ['http listener on port 9090', 'not in the spec'],
      ['VServer group busy', 'not in the spec, but rule img on port 9090 forwards to it'],
    ]);
  });

  describe('rules and extension domains follow the spec on a listener we own', () => {
    const observedRules = [
      { name: 'api', domain: 'api.example.com', vServerGroup: 'web', ruleId: 'rule-1' },
      { name: 'img', url: '/img', vServerGroup: 'web', ruleId: 'rule-2' },
      { name: 'old', url: '/old', vServerGroup: 'web', ruleId: 'rule-3' },
    ];
    const observedDomains = [
      { domain: 'm.example.com', domainExtensionId: 'de-1', serverCertificateId: 'c-1' },
      { domain: 'legacy.example.com', domainExtensionId: 'de-2', serverCertificateId: 'c-1' },
    ];
    const desiredListener = listener({
      rules: [
        { name: 'api', domain: 'api.example.com', url: '/v2', vServerGroup: 'web' },
        { name: 'images', url: '/img', vServerGroup: 'web' },
      ],
      extensionDomains: [{ domain: 'M.example.com', certificate: { serverCertificateId: 'c-1' } }],
    });
    const step = (a: Action) =>
      `${a.kind} ${'rule' in a ? (typeof a.rule === 'string' ? a.rule : a.rule.name) : 'domain' in a ? a.domain : ''}${a.kind === 'renameRule' ? ` -> ${a.name}` : ''}`;

    it.each([
      [
        'ours: a changed rule is replaced without a gap, a renamed one renamed, dropped ones deleted',
        { owned: true },
        [
          'renameRule api -> rule-1',
          'createRule api',
          'deleteRule api',
          'renameRule img -> images',
          'deleteRule old',
          'deleteDomainExtension legacy.example.com',
        ],
        [],
      ],
      [
        'another deployment’s: nothing deleted, renamed or replaced, and the owner is named',
        { owner: 'managed-by=slb-autopilot/staging' },
        [],
        [
          'rule api on port 443: its domain or url differs from the spec; that takes a new rule in its place, and the HTTPS listener on 443 is not ours (it carries managed-by=slb-autopilot/staging)',
          'rule images on port 443: rule img (not in the spec) matches its domain and url, and the HTTPS listener on 443 is not ours (it carries managed-by=slb-autopilot/staging)',
          'rule old on port 443: not in the spec, and the HTTPS listener on 443 is not ours (it carries managed-by=slb-autopilot/staging)',
          'extension domain legacy.example.com on port 443: not in the spec, and the HTTPS listener on 443 is not ours (it carries managed-by=slb-autopilot/staging)',
        ],
      ],
      [
        'adopted (no marker): the same',
        {},
        [],
        [
          'rule api on port 443: its domain or url differs from the spec; that takes a new rule in its place, and the HTTPS listener on 443 is not ours (it carries no marker of this deployment)',
          'rule images on port 443: rule img (not in the spec) matches its domain and url, and the HTTPS listener on 443 is not ours (it carries no marker of this deployment)',
          'rule old on port 443: not in the spec, and the HTTPS listener on 443 is not ours (it carries no marker of this deployment)',
          'extension domain legacy.example.com on port 443: not in the spec, and the HTTPS listener on 443 is not ours (it carries no marker of this deployment)',
        ],
      ],
    ] as const)('%s', (_name, ownership, steps, leftAlone) => {
      // Prepare
      const observed = lb({
        listeners: [listener({ ...ownership, rules: observedRules, extensionDomains: observedDomains })],
      });
      // Act
      const plan = planLoadBalancer(lb({ listeners: [desiredListener] }), observed);
      // Assess
      expect(plan.actions.map(step)).toEqual(steps);
      expect(plan.leftAlone.map((l) => `${l.what}: ${l.why}`)).toEqual(leftAlone);
    });

    it('the replacement takes the name only after the old rule moved aside, and is deleted by its id', () => {
      const observed = lb({ listeners: [listener({ owned: true, rules: observedRules.slice(0, 1) })] });
      const desired = lb({ listeners: [listener({ rules: desiredListener.rules.slice(0, 1) })] });
      const plan = planLoadBalancer(desired, observed);
      expect(plan.actions).toEqual([
        expect.objectContaining({ kind: 'renameRule', ruleId: 'rule-1', name: 'rule-1', aside: true }),
        expect.objectContaining({ kind: 'createRule', rule: desiredListener.rules[0] }),
        expect.objectContaining({ kind: 'deleteRule', ruleId: 'rule-1', replaced: true }),
      ]);
      expect(plan.actions.map(describeAction)).toEqual([
        'lb-1: rename rule api on 443 to rule-1, out of the way of its replacement (its domain or url changes)',
        'lb-1: create rule api on 443 (api.example.com/v2 -> web)',
        'lb-1: delete the old rule api (rule-1) on 443, now replaced',
      ]);
    });

    it('a rule outside the spec that already matches a changed rule takes its name: no gap, two writes', () => {
      const observed = lb({
        listeners: [
          listener({
            owned: true,
            rules: [
              { name: 'api', domain: 'api.example.com', vServerGroup: 'web', ruleId: 'rule-1' },
              { name: 'v2', domain: 'api.example.com', url: '/v2', vServerGroup: 'other', ruleId: 'rule-9' },
            ],
          }),
        ],
      });
      const desired = lb({ listeners: [listener({ rules: desiredListener.rules.slice(0, 1) })] });
      expect(planLoadBalancer(desired, observed).actions).toEqual([
        expect.objectContaining({ kind: 'deleteRule', ruleId: 'rule-1' }),
        expect.objectContaining({ kind: 'renameRule', ruleId: 'rule-9', name: 'api', vServerGroup: 'web' }),
      ]);
    });

    it('a group only a dropped rule used goes after the rule', () => {
      const observed = lb({
        groups: [
          { name: 'web', backends: [{ serverId: 'i-1', port: 80, weight: 100, type: 'ecs' }] },
          { name: 'api', vServerGroupId: 'rsp-api', owned: true, backends: [] },
        ],
        listeners: [
          listener({
            owned: true,
            rules: [
              { name: 'api', url: '/api', vServerGroup: 'api', vServerGroupId: 'rsp-api', ruleId: 'rule-1' },
            ],
          }),
        ],
      });
      expect(planLoadBalancer(lb(), observed).actions.map(step)).toEqual([
        'deleteRule api',
        'deleteVServerGroup ',
      ]);
    });
  });

  it('keeps an HTTPS listener of ours that a listener not ours redirects to', () => {
    const observed = lb({
      listeners: [
        listener(),
        listener({ port: 8443, owned: true }),
        listener({ protocol: 'http', port: 8080, redirectPort: 8443, vServerGroup: undefined }),
      ],
    });
    const plan = planLoadBalancer(lb(), observed);
    expect(plan.actions).toEqual([]);
    expect(plan.leftAlone.map((l) => l.why)).toContain(
      'not in the spec, but the HTTP listener on 8080 redirects to it',
    );
  });

  it('does not invent a load balancer the spec adopts by id', () => {
    const plan = planLoadBalancer(lb(), undefined);
    expect(plan.actions).toEqual([]);
    expect(plan.leftAlone[0]?.why).toMatch(/does not exist/);
  });

  it('compares only the health-check fields the spec sets', () => {
    const desired = lb({ listeners: [listener({ healthCheck: { enabled: true, path: '/healthz' } })] });
    const same = lb({
      listeners: [listener({ healthCheck: { enabled: true, path: '/healthz', interval: 9, method: 'get' } })],
    });
    const differs = lb({ listeners: [listener({ healthCheck: { enabled: false } })] });
    expect(planLoadBalancer(desired, same).actions).toEqual([]);
    expect(planLoadBalancer(desired, differs).actions).toEqual([
      expect.objectContaining({
        kind: 'setListenerAttribute',
        changes: { healthCheck: { enabled: true, path: '/healthz' } },
      }),
    ]);
  });
});

describe('duplicate groups (two applies at once each created one)', () => {
  const member = { serverId: 'i-1', port: 80, weight: 100, type: 'ecs' as const };
  const group = (id: string, owned: boolean, backends = [member]) => ({
    name: 'web',
    vServerGroupId: id,
    ...(owned ? { owned: true } : {}),
    backends,
  });
  const observed = (groups: ReturnType<typeof group>[], l: Partial<ListenerModel> = {}) =>
    markDuplicateGroups(lb({ groups, listeners: [listener({ vServerGroupId: 'rsp-b', ...l })] }));

  it.each<[string, LoadBalancerModel, string, string[], string[]]>([
    [
      'ours both: keeps the one the listener uses, deletes the other',
      observed([group('rsp-a', true), group('rsp-b', true)]),
      'rsp-b',
      ['deleteVServerGroup rsp-a'],
      [],
    ],
    [
      'ours both, neither used: keeps the lowest id',
      observed([group('rsp-b', true), group('rsp-a', true)], { vServerGroupId: 'rsp-x' }),
      'rsp-a',
      ['deleteVServerGroup rsp-b'],
      [],
    ],
    [
      'the one not ours is in use: keeps it, deletes ours',
      observed([group('rsp-a', true), group('rsp-b', false)]),
      'rsp-b',
      ['deleteVServerGroup rsp-a'],
      [],
    ],
    [
      'the duplicate is not ours: left alone',
      observed([group('rsp-a', false), group('rsp-b', true)]),
      'rsp-b',
      [],
      ['VServer group web rsp-a'],
    ],
    [
      'a rule uses our duplicate: repointed first, then deleted',
      observed([group('rsp-a', true), group('rsp-b', true)], {
        rules: [
          {
            name: 'api',
            domain: 'api.example.com',
            vServerGroup: 'web',
            vServerGroupId: 'rsp-a',
            ruleId: 'r-1',
          },
        ],
      }),
      'rsp-b',
      ['setRuleGroup r-1 web', 'deleteVServerGroup rsp-a'],
      [],
    ],
  ])('%s', (_name, o, kept, actions, leftAlone) => {
    expect(o.groups.filter((g) => !g.duplicateOf).map((g) => g.vServerGroupId)).toEqual([kept]);
    expect(o.groups.filter((g) => g.duplicateOf).every((g) => g.duplicateOf === kept)).toBe(true);
    const desired = lb({
      listeners: [
        listener({
          rules:
            o.listeners[0]?.rules.map((r) => ({ ...r, ruleId: undefined, vServerGroupId: undefined })) ?? [],
        }),
      ],
    });
    const plan = planLoadBalancer(desired, o);
    expect(
      plan.actions.map((a) =>
        a.kind === 'deleteVServerGroup'
          ? `${a.kind} ${a.vServerGroupId}`
          : a.kind === 'setRuleGroup'
            ? `${a.kind} ${a.ruleId} ${a.vServerGroup}`
            : a.kind,
      ),
    ).toEqual(actions);
    expect(plan.leftAlone.map((l) => l.what).filter((w) => w.startsWith('VServer group'))).toEqual(leftAlone);
  });

  it('diffs the spec against the kept group only, so plan and apply agree on which one', () => {
    const o = observed([group('rsp-a', true, []), group('rsp-b', true)]);
    // rsp-a lacks the backend, but rsp-b (kept: the listener uses it) has it: nothing to add.
    expect(planLoadBalancer(lb(), o).actions.map((a) => a.kind)).toEqual(['deleteVServerGroup']);
  });

  it('a single group is never a duplicate', () => {
    const o = lb({ groups: [group('rsp-a', true)] });
    expect(markDuplicateGroups(o)).toBe(o);
  });
});

describe('duplicate certificates (one certificate uploaded twice)', () => {
  const cert = (id: string, owned = true, fingerprint = 'AA:BB') => ({
    serverCertificateId: id,
    fingerprint,
    owned,
  });
  const served = (listenerCert: string, extensionCert: string): LoadBalancerModel[] => [
    lb({
      listeners: [
        listener({
          serverCertificateId: listenerCert,
          extensionDomains: [
            { domain: 'm.example.com', domainExtensionId: 'de-1', serverCertificateId: extensionCert },
          ],
        }),
      ],
    }),
  ];
  const kinds = (p: ReturnType<typeof planDuplicateCertificates>) =>
    p.actions.map((a) =>
      a.kind === 'deleteCertificate'
        ? `delete ${a.serverCertificateId}`
        : `${a.kind} ${'serverCertificateId' in a ? a.serverCertificateId : ''}`,
    );

  it.each<[string, ReturnType<typeof cert>[], LoadBalancerModel[], Set<string>, string[], string[]]>([
    [
      'the listener’s copy is kept, the extension domain moves to it, the other copy goes',
      [cert('c-2'), cert('c-1')],
      served('c-2', 'c-1'),
      new Set(),
      ['setDomainExtensionCertificate c-2', 'delete c-1'],
      [],
    ],
    [
      'an unused copy of ours goes; the one in use stays',
      [cert('c-1'), cert('c-2')],
      served('c-2', 'c-2'),
      new Set(),
      ['delete c-1'],
      [],
    ],
    [
      'a copy a load balancer outside the spec uses stays',
      [cert('c-1'), cert('c-2')],
      served('c-2', 'c-2'),
      new Set(['c-1']),
      [],
      ['certificate c-1'],
    ],
    [
      'copies not ours are never touched',
      [cert('c-1', false), cert('c-2')],
      served('c-2', 'c-1'),
      new Set(),
      [],
      [],
    ],
    [
      'fingerprints compare without case and colons; different ones are not duplicates',
      [cert('c-1', true, 'aabb'), cert('c-2', true, 'AA:BB'), cert('c-3', true, 'CC')],
      served('c-2', 'c-2'),
      new Set(),
      ['delete c-1'],
      [],
    ],
  ])('%s', (_name, certs, observed, elsewhere, actions, leftAlone) => {
    const p = planDuplicateCertificates(duplicateCertificates(certs), observed, elsewhere);
    expect(kinds(p)).toEqual(actions);
    expect(p.leftAlone.map((l) => l.what)).toEqual(leftAlone);
  });
});
