// Emulated HTTP/HTTPS listener actions, driven directly with a hand-built ActionContext: required
// fields and ranges, references, the forward/delete rules, partial updates, the busy window, paging.
import { describe, expect, it } from 'vitest';
import { ApiError } from '../../../scripts/local-cloud/errors';
import { type ActionContext, DEFAULT_LIMITS } from '../../../scripts/local-cloud/handler';
import { Params } from '../../../scripts/local-cloud/params';
import { listenersActions } from '../../../scripts/local-cloud/slb/listeners';
import {
  type CloudState,
  emptyState,
  type ListenerRecord,
  type LoadBalancerRecord,
  type ServerCertificateRecord,
} from '../../../scripts/local-cloud/state';

const REGION = 'cn-hangzhou';
const NOW = new Date('2026-11-24T08:00:00Z');
const LB = 'lb-a';
const OTHER_LB = 'lb-b';
const GROUP = 'rsp-a';
const CERT = 'cert-1';
const CERT_2 = 'cert-2';

function loadBalancer(id: string, regionId = REGION): LoadBalancerRecord {
  return {
    loadBalancerId: id,
    loadBalancerName: id,
    regionId,
    loadBalancerStatus: 'active',
    address: '127.0.0.1',
    addressType: 'internet',
    addressIPVersion: 'ipv4',
    networkType: 'classic',
    vpcId: '',
    vSwitchId: '',
    loadBalancerSpec: 'slb.s1.small',
    internetChargeType: 'paybytraffic',
    bandwidth: 5120,
    payType: 'PayOnDemand',
    instanceChargeType: 'PayBySpec',
    masterZoneId: `${regionId}-k`,
    slaveZoneId: `${regionId}-j`,
    resourceGroupId: 'rg-default',
    deleteProtection: 'off',
    createTime: '2026-11-01T00:00:00Z',
    tags: [],
  };
}

function certificate(id: string, regionId = REGION): ServerCertificateRecord {
  return {
    serverCertificateId: id,
    serverCertificateName: id,
    regionId,
    resourceGroupId: 'rg-default',
    fingerprint: 'aa:bb',
    commonName: 'mall.example.com',
    subjectAlternativeNames: [],
    expireTime: '2027-01-01T00:00:00Z',
    expireTimeStamp: Date.parse('2027-01-01T00:00:00Z'),
    createTime: '2026-01-01T00:00:00Z',
    createTimeStamp: Date.parse('2026-01-01T00:00:00Z'),
    isAliCloudCertificate: 0,
    aliCloudCertificateId: '',
    aliCloudCertificateName: '',
    certificatePem: '',
    privateKeyPem: '',
    tags: [],
  };
}

function listener(over: Partial<ListenerRecord> & Pick<ListenerRecord, 'listenerPort'>): ListenerRecord {
  return {
    loadBalancerId: LB,
    listenerProtocol: 'http',
    status: 'running',
    bandwidth: -1,
    scheduler: 'wrr',
    vServerGroupId: GROUP,
    healthCheck: { healthCheck: 'off' },
    extra: { StickySession: 'off' },
    tags: [],
    ...over,
  };
}

/** Two load balancers, a group on each, two certificates in the region and one elsewhere. */
function fixture(): CloudState {
  const s = emptyState();
  s.loadBalancers.push(loadBalancer(LB), loadBalancer(OTHER_LB), loadBalancer('lb-far', 'cn-beijing'));
  for (const [id, lb] of [
    [GROUP, LB],
    ['rsp-b', OTHER_LB],
  ] as const) {
    s.vServerGroups.push({
      vServerGroupId: id,
      vServerGroupName: id,
      loadBalancerId: lb,
      regionId: REGION,
      createTime: '2026-11-01T00:00:00Z',
      backendServers: [],
      tags: [],
    });
  }
  s.serverCertificates.push(certificate(CERT), certificate(CERT_2), certificate('cert-far', 'cn-beijing'));
  return s;
}

/** The fixture plus HTTPS 443 (with an extension domain and a rule) and HTTP 80 redirecting to it. */
function withListeners(): CloudState {
  const s = fixture();
  s.listeners.push(
    listener({ listenerPort: 443, listenerProtocol: 'https', serverCertificateId: CERT }),
    listener({ listenerPort: 80, listenerForward: 'on', forwardPort: 443 }),
  );
  s.domainExtensions.push({
    domainExtensionId: 'de-1',
    regionId: REGION,
    loadBalancerId: LB,
    listenerPort: 443,
    domain: 'm.example.com',
    serverCertificateId: CERT_2,
  });
  s.rules.push({
    ruleId: 'rule-1',
    ruleName: 'api',
    regionId: REGION,
    loadBalancerId: LB,
    listenerPort: 443,
    listenerProtocol: 'https',
    domain: 'api.example.com',
    url: '/v1',
    vServerGroupId: GROUP,
    extra: {},
  });
  return s;
}

interface RunOptions {
  now?: Date;
  configuringMs?: number;
}

function context(state: CloudState, params: Record<string, string>, o: RunOptions = {}): ActionContext {
  let seq = 0;
  return {
    params: new Params(params),
    state,
    regionId: REGION,
    now: o.now ?? NOW,
    newId: (prefix) => `${prefix}${++seq}`,
    limits: DEFAULT_LIMITS,
    configuringMs: o.configuringMs ?? 0,
  };
}

function run(
  action: string,
  state: CloudState,
  params: Record<string, string>,
  o: RunOptions = {},
): Record<string, unknown> {
  const def = listenersActions[action];
  if (!def) throw new Error(`no such action ${action}`);
  return def.handler(context(state, params, o));
}

/** The ApiError a call throws, after checking the state was left exactly as it was. */
function failure(
  action: string,
  state: CloudState,
  params: Record<string, string>,
  o: RunOptions = {},
): ApiError {
  const before = structuredClone(state);
  let thrown: unknown;
  try {
    run(action, state, params, o);
  } catch (err) {
    thrown = err;
  }
  if (!(thrown instanceof ApiError)) throw new Error(`expected an ApiError, got ${String(thrown)}`);
  expect(state).toEqual(before);
  return thrown;
}

const HTTPS_MIN = {
  LoadBalancerId: LB,
  ListenerPort: '8443',
  Bandwidth: '-1',
  HealthCheck: 'off',
  VServerGroupId: GROUP,
  ServerCertificateId: CERT,
};
const HTTP_MIN = { LoadBalancerId: LB, ListenerPort: '8080', HealthCheck: 'off', BackendServerPort: '8050' };

describe('CreateLoadBalancerHTTPSListener / CreateLoadBalancerHTTPListener', () => {
  it('creates a stopped HTTPS listener with the documented defaults and the given health check', () => {
    // Prepare
    const state = fixture();
    // Act
    const body = run('CreateLoadBalancerHTTPSListener', state, {
      ...HTTPS_MIN,
      HealthCheck: 'on',
      HealthCheckURI: '/healthz',
      HealthCheckInterval: '2',
      HealthCheckHttpCode: 'http_2xx,http_3xx',
      EnableHttp2: 'on',
      'Tag.1.Key': 'managed-by',
      'Tag.1.Value': 'slb-autopilot',
    });
    // Assess
    expect(body).toEqual({});
    expect(state.listeners).toEqual([
      {
        loadBalancerId: LB,
        listenerPort: 8443,
        listenerProtocol: 'https',
        status: 'stopped',
        bandwidth: -1,
        scheduler: 'wrr',
        vServerGroupId: GROUP,
        serverCertificateId: CERT,
        healthCheck: {
          healthCheck: 'on',
          healthCheckURI: '/healthz',
          healthCheckInterval: 2,
          healthCheckHttpCode: 'http_2xx,http_3xx',
        },
        extra: {
          StickySession: 'off',
          Gzip: 'on',
          XForwardedFor: 'on',
          IdleTimeout: 15,
          RequestTimeout: 60,
          EnableHttp2: 'on',
        },
        tags: [{ key: 'managed-by', value: 'slb-autopilot' }],
      },
    ]);
  });

  it('creates an HTTP listener on a backend port with Bandwidth defaulting to -1, ignoring HTTPS-only fields', () => {
    const state = fixture();
    run('CreateLoadBalancerHTTPListener', state, { ...HTTP_MIN, EnableHttp2: 'on' });
    expect(state.listeners[0]).toMatchObject({
      listenerProtocol: 'http',
      backendServerPort: 8050,
      bandwidth: -1,
      status: 'stopped',
    });
    expect(state.listeners[0]?.extra.EnableHttp2).toBeUndefined();
  });

  const without = (o: Record<string, string>, key: string) =>
    Object.fromEntries(Object.entries(o).filter(([k]) => k !== key));

  it.each<[string, Record<string, string>, string, string]>([
    ['no LoadBalancerId', without(HTTPS_MIN, 'LoadBalancerId'), 'MissingParameter', 'LoadBalancerId'],
    ['no ListenerPort', without(HTTPS_MIN, 'ListenerPort'), 'MissingParameter', 'ListenerPort'],
    ['no Bandwidth (HTTPS)', without(HTTPS_MIN, 'Bandwidth'), 'MissingParameter', 'Bandwidth'],
    ['no HealthCheck', without(HTTPS_MIN, 'HealthCheck'), 'MissingParameter', 'HealthCheck'],
    ['no certificate', without(HTTPS_MIN, 'ServerCertificateId'), 'MissingParameter', 'ServerCertificateId'],
    ['no backend', without(HTTPS_MIN, 'VServerGroupId'), 'MissingParameter', 'BackendServerPort'],
    ['port 0', { ...HTTPS_MIN, ListenerPort: '0' }, 'InvalidParameter', 'ListenerPort'],
    ['port 65536', { ...HTTPS_MIN, ListenerPort: '65536' }, 'InvalidParameter', 'ListenerPort'],
    ['port not a number', { ...HTTPS_MIN, ListenerPort: '44x' }, 'InvalidParameter', 'ListenerPort'],
    ['Bandwidth 0', { ...HTTPS_MIN, Bandwidth: '0' }, 'InvalidParameter', 'Bandwidth'],
    ['Bandwidth 5121', { ...HTTPS_MIN, Bandwidth: '5121' }, 'InvalidParameter', 'Bandwidth'],
    [
      'BackendServerPort 0',
      { ...HTTPS_MIN, BackendServerPort: '0' },
      'InvalidParameter',
      'BackendServerPort',
    ],
    ['HealthCheck yes', { ...HTTPS_MIN, HealthCheck: 'yes' }, 'InvalidParameter', 'HealthCheck'],
    ['URI without /', { ...HTTPS_MIN, HealthCheckURI: 'healthz' }, 'InvalidParameter', 'HealthCheckURI'],
    // Official rule: letters, digits and - / . % ? # & only, and never / alone.
    ['URI with =', { ...HTTPS_MIN, HealthCheckURI: '/hz?x=1' }, 'InvalidParameter', 'HealthCheckURI'],
    ['URI with _', { ...HTTPS_MIN, HealthCheckURI: '/health_z' }, 'InvalidParameter', 'HealthCheckURI'],
    ['URI /', { ...HTTPS_MIN, HealthCheckURI: '/' }, 'InvalidParameter', 'HealthCheckURI'],
    ['bad domain', { ...HTTPS_MIN, HealthCheckDomain: 'a b' }, 'InvalidParameter', 'HealthCheckDomain'],
    [
      'connect port 0',
      { ...HTTPS_MIN, HealthCheckConnectPort: '0' },
      'InvalidParameter',
      'HealthCheckConnectPort',
    ],
    ['healthy 1', { ...HTTPS_MIN, HealthyThreshold: '1' }, 'InvalidParameter', 'HealthyThreshold'],
    ['unhealthy 11', { ...HTTPS_MIN, UnhealthyThreshold: '11' }, 'InvalidParameter', 'UnhealthyThreshold'],
    ['interval 51', { ...HTTPS_MIN, HealthCheckInterval: '51' }, 'InvalidParameter', 'HealthCheckInterval'],
    ['timeout 301', { ...HTTPS_MIN, HealthCheckTimeout: '301' }, 'InvalidParameter', 'HealthCheckTimeout'],
    [
      'http_6xx',
      { ...HTTPS_MIN, HealthCheckHttpCode: 'http_6xx' },
      'InvalidParameter',
      'HealthCheckHttpCode',
    ],
    ['method post', { ...HTTPS_MIN, HealthCheckMethod: 'post' }, 'InvalidParameter', 'HealthCheckMethod'],
    ['scheduler sch', { ...HTTPS_MIN, Scheduler: 'sch' }, 'InvalidParameter', 'Scheduler'],
    ['IdleTimeout 61', { ...HTTPS_MIN, IdleTimeout: '61' }, 'InvalidParameter', 'IdleTimeout'],
    ['RequestTimeout 181', { ...HTTPS_MIN, RequestTimeout: '181' }, 'InvalidParameter', 'RequestTimeout'],
    ['CookieTimeout 86401', { ...HTTPS_MIN, CookieTimeout: '86401' }, 'InvalidParameter', 'CookieTimeout'],
    ['Cookie with ;', { ...HTTPS_MIN, Cookie: 'a;b' }, 'InvalidParameter', 'Cookie'],
    ['Gzip maybe', { ...HTTPS_MIN, Gzip: 'maybe' }, 'InvalidParameter', 'Gzip'],
    ['cipher policy', { ...HTTPS_MIN, TLSCipherPolicy: 'tls_1_9' }, 'InvalidParameter', 'TLSCipherPolicy'],
    ['Description 257', { ...HTTPS_MIN, Description: 'd'.repeat(257) }, 'InvalidParameter', 'Description'],
    ['sticky without type', { ...HTTPS_MIN, StickySession: 'on' }, 'MissingParameter', 'StickySessionType'],
    [
      'insert without timeout',
      { ...HTTPS_MIN, StickySession: 'on', StickySessionType: 'insert' },
      'MissingParameter',
      'CookieTimeout',
    ],
    [
      'server without cookie',
      { ...HTTPS_MIN, StickySession: 'on', StickySessionType: 'server' },
      'MissingParameter',
      'Cookie',
    ],
    ['ACL without type', { ...HTTPS_MIN, AclStatus: 'on', AclId: 'acl-1' }, 'MissingParameter', 'AclType'],
    [
      'unknown certificate',
      { ...HTTPS_MIN, ServerCertificateId: 'nope' },
      'InvalidParameter.ServerCertificateId',
      'ServerCertificateId',
    ],
    [
      'certificate of another region',
      { ...HTTPS_MIN, ServerCertificateId: 'cert-far' },
      'InvalidParameter.ServerCertificateId',
      'ServerCertificateId',
    ],
    ['group of another LB', { ...HTTPS_MIN, VServerGroupId: 'rsp-b' }, 'InvalidParameter', 'VServerGroupId'],
    [
      'unknown LB',
      { ...HTTPS_MIN, LoadBalancerId: 'lb-x' },
      'InvalidLoadBalancerId.NotFound',
      'Load Balancer',
    ],
    [
      'LB of another region',
      { ...HTTPS_MIN, LoadBalancerId: 'lb-far' },
      'InvalidLoadBalancerId.NotFound',
      '',
    ],
  ])('refuses an HTTPS listener with %s: %s naming %s, changing nothing', (_, params, code, field) => {
    const state = fixture();
    const err = failure('CreateLoadBalancerHTTPSListener', state, params);
    expect(err.code).toBe(code);
    expect(err.message).toContain(field);
  });

  it.each([
    ['a group of another load balancer', 'rsp-b'],
    ['an unknown group', 'rsp-nope'],
  ])('answers 404 "The specified VServerGroupId does not exist." for %s', (_, group) => {
    const err = failure('CreateLoadBalancerHTTPListener', fixture(), { ...HTTP_MIN, VServerGroupId: group });
    expect([err.code, err.httpStatus, err.message]).toEqual([
      'InvalidParameter',
      404,
      'The specified VServerGroupId does not exist.',
    ]);
  });

  it.each([
    ['an HTTPS listener on the port', 'https', 'ListenerAlreadyExists'],
    ['an HTTP listener on the port', 'http', 'ListenerAlreadyExists'],
    ['a TCP listener on the port', 'tcp', 'ListenerAlreadyExists'],
  ] as const)('refuses a second TCP-based listener: %s gives %s', (_, protocol, code) => {
    const state = fixture();
    state.listeners.push(listener({ listenerPort: 8080, listenerProtocol: protocol }));
    expect(failure('CreateLoadBalancerHTTPListener', state, HTTP_MIN).code).toBe(code);
  });

  it('lets an HTTP listener share its port with a UDP listener', () => {
    const state = fixture();
    state.listeners.push(listener({ listenerPort: 8080, listenerProtocol: 'udp' }));
    run('CreateLoadBalancerHTTPListener', state, HTTP_MIN);
    expect(state.listeners.map((l) => l.listenerProtocol)).toEqual(['udp', 'http']);
  });

  it('refuses any listener on a locked load balancer', () => {
    const state = fixture();
    state.loadBalancers[0]!.loadBalancerStatus = 'locked';
    expect(failure('CreateLoadBalancerHTTPListener', state, HTTP_MIN).code).toBe('ActionNotAllowed');
  });

  describe('HTTP redirect (ListenerForward)', () => {
    it('needs no backend when it redirects to an existing HTTPS listener', () => {
      const state = withListeners();
      run('CreateLoadBalancerHTTPListener', state, {
        LoadBalancerId: LB,
        ListenerPort: '81',
        HealthCheck: 'off',
        ListenerForward: 'on',
        ForwardPort: '443',
      });
      const body = run('DescribeLoadBalancerHTTPListenerAttribute', state, {
        LoadBalancerId: LB,
        ListenerPort: '81',
      });
      expect(body).toMatchObject({ ListenerForward: 'on', ForwardPort: 443, Status: 'stopped' });
      expect(body.BackendServerPort).toBeUndefined();
    });

    it.each([
      ['no ForwardPort', {}, 'MissingParameter'],
      ['a port with no listener', { ForwardPort: '8443' }, 'InvalidParameter'],
      ['an HTTP listener', { ForwardPort: '80' }, 'InvalidParameter'],
    ])('refuses a redirect to %s', (_, extra, code) => {
      const state = withListeners();
      const err = failure('CreateLoadBalancerHTTPListener', state, {
        LoadBalancerId: LB,
        ListenerPort: '81',
        HealthCheck: 'off',
        ListenerForward: 'on',
        ...extra,
      });
      expect([err.code, err.message.includes('ForwardPort')]).toEqual([code, true]);
    });
  });
});

describe('Describe*ListenerAttribute', () => {
  it('answers the HTTPS listener flat, with its extension domains and rules', () => {
    const state = withListeners();
    const body = run('DescribeLoadBalancerHTTPSListenerAttribute', state, {
      LoadBalancerId: LB,
      ListenerPort: '443',
    });
    expect(body).toMatchObject({
      LoadBalancerId: LB,
      ListenerPort: 443,
      Status: 'running',
      Bandwidth: -1,
      VServerGroupId: GROUP,
      ServerCertificateId: CERT,
      HealthCheck: 'off',
      StickySession: 'off',
      DomainExtensions: {
        DomainExtension: [
          { DomainExtensionId: 'de-1', Domain: 'm.example.com', ServerCertificateId: CERT_2 },
        ],
      },
      Rules: {
        Rule: [
          { RuleId: 'rule-1', RuleName: 'api', Domain: 'api.example.com', Url: '/v1', VServerGroupId: GROUP },
        ],
      },
      Tags: { Tag: [] },
    });
    expect(body.ListenerForward).toBeUndefined();
  });

  it('answers the HTTP listener with ListenerForward and no HTTPS fields', () => {
    const body = run('DescribeLoadBalancerHTTPListenerAttribute', withListeners(), {
      LoadBalancerId: LB,
      ListenerPort: '80',
    });
    expect(body).toMatchObject({ ListenerForward: 'on', ForwardPort: 443 });
    expect(body.DomainExtensions).toBeUndefined();
    expect(body.ServerCertificateId).toBeUndefined();
  });

  it.each([
    ['an HTTPS read of an HTTP port', 'DescribeLoadBalancerHTTPSListenerAttribute', '80'],
    ['an HTTP read of an HTTPS port', 'DescribeLoadBalancerHTTPListenerAttribute', '443'],
    ['a port with no listener', 'DescribeLoadBalancerHTTPListenerAttribute', '8080'],
  ])('answers InvalidParameter "The specified resource does not exist." for %s', (_, action, port) => {
    const err = failure(action, withListeners(), { LoadBalancerId: LB, ListenerPort: port });
    expect([err.code, err.message]).toEqual(['InvalidParameter', 'The specified resource does not exist.']);
  });
});

describe('Set*ListenerAttribute', () => {
  const at443 = { LoadBalancerId: LB, ListenerPort: '443' };

  it('changes only the fields it is given', () => {
    const state = withListeners();
    state.listeners[0]!.healthCheck = {
      healthCheck: 'on',
      healthCheckURI: '/healthz',
      healthCheckInterval: 2,
    };
    run('SetLoadBalancerHTTPSListenerAttribute', state, { ...at443, HealthCheckInterval: '7', Gzip: 'off' });
    expect(state.listeners[0]).toMatchObject({
      serverCertificateId: CERT,
      vServerGroupId: GROUP,
      healthCheck: { healthCheck: 'on', healthCheckURI: '/healthz', healthCheckInterval: 7 },
      extra: { StickySession: 'off', Gzip: 'off' },
    });
  });

  it('swaps the certificate to one that exists in the region', () => {
    const state = withListeners();
    run('SetLoadBalancerHTTPSListenerAttribute', state, { ...at443, ServerCertificateId: CERT_2 });
    expect(state.listeners[0]?.serverCertificateId).toBe(CERT_2);
  });

  it('moves the listener off its VServer group with VServerGroup=off, and onto one with on', () => {
    const state = withListeners();
    run('SetLoadBalancerHTTPSListenerAttribute', state, { ...at443, VServerGroup: 'off' });
    expect(state.listeners[0]?.vServerGroupId).toBeUndefined();
    run('SetLoadBalancerHTTPSListenerAttribute', state, {
      ...at443,
      VServerGroup: 'on',
      VServerGroupId: GROUP,
    });
    expect(state.listeners[0]?.vServerGroupId).toBe(GROUP);
  });

  it('changes nothing on DryRun=true but still validates', () => {
    const state = withListeners();
    const before = structuredClone(state);
    run('SetLoadBalancerHTTPSListenerAttribute', state, { ...at443, Gzip: 'off', DryRun: 'true' });
    expect(state).toEqual(before);
    expect(
      failure('SetLoadBalancerHTTPSListenerAttribute', state, { ...at443, Gzip: 'x', DryRun: 'true' }).code,
    ).toBe('InvalidParameter');
  });

  it('keeps the HTTP redirect whatever Set says: the action has no ListenerForward or ForwardPort', () => {
    const state = withListeners();
    const at80 = { LoadBalancerId: LB, ListenerPort: '80' };
    run('SetLoadBalancerHTTPListenerAttribute', state, {
      ...at80,
      ListenerForward: 'off',
      ForwardPort: '8443',
    });
    expect(state.listeners[1]).toMatchObject({ listenerForward: 'on', forwardPort: 443 });
  });

  it.each<[string, string, Record<string, string>, string, string]>([
    [
      'an unknown certificate',
      'SetLoadBalancerHTTPSListenerAttribute',
      { ServerCertificateId: 'nope' },
      'InvalidParameter.ServerCertificateId',
      'ServerCertificateId',
    ],
    [
      'VServerGroup=on without an id',
      'SetLoadBalancerHTTPSListenerAttribute',
      { VServerGroup: 'on' },
      'MissingParameter',
      'VServerGroupId',
    ],
    [
      'a group of another LB',
      'SetLoadBalancerHTTPSListenerAttribute',
      { VServerGroupId: 'rsp-b' },
      'InvalidParameter',
      'VServerGroupId',
    ],
    [
      'StickySession on alone',
      'SetLoadBalancerHTTPSListenerAttribute',
      { StickySession: 'on' },
      'MissingParameter',
      'StickySessionType',
    ],
    [
      'interval 0',
      'SetLoadBalancerHTTPSListenerAttribute',
      { HealthCheckInterval: '0' },
      'InvalidParameter',
      'HealthCheckInterval',
    ],
    [
      'Bandwidth 0',
      'SetLoadBalancerHTTPSListenerAttribute',
      { Bandwidth: '0' },
      'InvalidParameter',
      'Bandwidth',
    ],
    [
      'an unknown listener',
      'SetLoadBalancerHTTPListenerAttribute',
      { ListenerPort: '9999' },
      'InvalidParameter',
      'does not exist',
    ],
  ])('refuses %s, changing nothing', (_, action, extra, code, text) => {
    const port = action.includes('HTTPS') ? '443' : '80';
    const err = failure(action, withListeners(), { LoadBalancerId: LB, ListenerPort: port, ...extra });
    expect(err.code).toBe(code);
    expect(err.message).toContain(text);
  });

  it('accepts StickySession on with its conditional fields, over several calls', () => {
    const state = withListeners();
    run('SetLoadBalancerHTTPSListenerAttribute', state, {
      ...at443,
      StickySession: 'on',
      StickySessionType: 'server',
      Cookie: 'sid',
    });
    run('SetLoadBalancerHTTPSListenerAttribute', state, { ...at443, IdleTimeout: '30' });
    expect(state.listeners[0]?.extra).toMatchObject({
      StickySession: 'on',
      StickySessionType: 'server',
      Cookie: 'sid',
      IdleTimeout: 30,
    });
  });
});

describe('Start/Stop/DeleteLoadBalancerListener', () => {
  it('stops and starts a listener', () => {
    const state = withListeners();
    run('StopLoadBalancerListener', state, { LoadBalancerId: LB, ListenerPort: '443' });
    expect(state.listeners[0]?.status).toBe('stopped');
    run('StartLoadBalancerListener', state, { LoadBalancerId: LB, ListenerPort: '443' });
    expect(state.listeners[0]?.status).toBe('running');
  });

  it('needs ListenerProtocol when two protocols share the port', () => {
    const state = withListeners();
    state.listeners.push(listener({ listenerPort: 80, listenerProtocol: 'udp', status: 'stopped' }));
    expect(failure('StopLoadBalancerListener', state, { LoadBalancerId: LB, ListenerPort: '80' }).code).toBe(
      'TooManyListeners',
    );
    run('StartLoadBalancerListener', state, {
      LoadBalancerId: LB,
      ListenerPort: '80',
      ListenerProtocol: 'udp',
    });
    expect(state.listeners.map((l) => `${l.listenerProtocol}:${l.status}`)).toEqual([
      'https:running',
      'http:running',
      'udp:running',
    ]);
  });

  it('refuses to delete the HTTPS listener an HTTP listener redirects to', () => {
    const err = failure('DeleteLoadBalancerListener', withListeners(), {
      LoadBalancerId: LB,
      ListenerPort: '443',
    });
    expect(err.code).toBe('ListenerForwardExist');
  });

  it('deletes a listener with its extension domains and rules, and nothing of other listeners', () => {
    const state = withListeners();
    state.rules.push({ ...state.rules[0]!, ruleId: 'rule-other', listenerPort: 8443 });
    run('DeleteLoadBalancerListener', state, { LoadBalancerId: LB, ListenerPort: '80' });
    run('DeleteLoadBalancerListener', state, { LoadBalancerId: LB, ListenerPort: '443' });
    expect(state.listeners).toEqual([]);
    expect(state.domainExtensions).toEqual([]);
    expect(state.rules.map((r) => r.ruleId)).toEqual(['rule-other']);
  });

  it.each(['StartLoadBalancerListener', 'StopLoadBalancerListener', 'DeleteLoadBalancerListener'])(
    '%s refuses on a locked load balancer and an unknown listener',
    (action) => {
      const state = withListeners();
      expect(failure(action, state, { LoadBalancerId: LB, ListenerPort: '9999' }).message).toBe(
        'The specified resource does not exist.',
      );
      state.loadBalancers[0]!.loadBalancerStatus = 'locked';
      expect(failure(action, state, { LoadBalancerId: LB, ListenerPort: '80' }).code).toBe(
        'ActionNotAllowed',
      );
    },
  );
});

describe('a configuring listener (busyUntil)', () => {
  const busy = () => {
    const state = withListeners();
    state.listeners[1]!.busyUntil = NOW.getTime() + 5_000;
    return state;
  };

  it.each<[string, Record<string, string>]>([
    ['SetLoadBalancerHTTPListenerAttribute', { Gzip: 'off' }],
    ['StartLoadBalancerListener', {}],
    ['StopLoadBalancerListener', {}],
    ['DeleteLoadBalancerListener', {}],
  ])('%s answers 400 Operation.Deny while it lasts', (action, extra) => {
    const err = failure(action, busy(), { LoadBalancerId: LB, ListenerPort: '80', ...extra });
    expect([err.code, err.httpStatus, err.message]).toEqual([
      'Operation.Deny',
      400,
      'The specified listener is configuring, please try again later.',
    ]);
  });

  it('reads as configuring while it lasts, and as its own status afterwards', () => {
    const state = busy();
    const at80 = { LoadBalancerId: LB, ListenerPort: '80' };
    expect(run('DescribeLoadBalancerHTTPListenerAttribute', state, at80).Status).toBe('configuring');
    const listed = run('DescribeLoadBalancerListeners', state, {}).Listeners as { Status: string }[];
    expect(listed.map((l) => l.Status)).toEqual(['configuring', 'running']);
    const later = { now: new Date(NOW.getTime() + 5_001) };
    expect(run('DescribeLoadBalancerHTTPListenerAttribute', state, at80, later).Status).toBe('running');
    run('StopLoadBalancerListener', state, at80, later);
    expect(state.listeners[1]?.status).toBe('stopped');
  });

  it('does not hold back writes on the other listeners', () => {
    const state = busy();
    run('StopLoadBalancerListener', state, { LoadBalancerId: LB, ListenerPort: '443' });
    expect(state.listeners[0]?.status).toBe('stopped');
  });

  it('starts when the configuring fault is on and a listener is created or changed', () => {
    const state = fixture();
    run('CreateLoadBalancerHTTPListener', state, HTTP_MIN, { configuringMs: 3_000 });
    expect(state.listeners[0]?.busyUntil).toBe(NOW.getTime() + 3_000);
    const err = failure('StartLoadBalancerListener', state, { LoadBalancerId: LB, ListenerPort: '8080' });
    expect(err.code).toBe('Operation.Deny');
  });
});

describe('DescribeLoadBalancerListeners', () => {
  /** n HTTP listeners on LB (ports 8001..) and one HTTPS on OTHER_LB */
  function many(n: number): CloudState {
    const state = fixture();
    for (let i = 1; i <= n; i++) state.listeners.push(listener({ listenerPort: 8000 + i }));
    state.listeners.push(
      listener({
        loadBalancerId: OTHER_LB,
        listenerPort: 443,
        listenerProtocol: 'https',
        serverCertificateId: CERT,
        vServerGroupId: 'rsp-b',
        description: 'shop',
        tags: [{ key: 'env', value: 'prod' }],
      }),
    );
    return state;
  }

  it('omits Listeners when there are none, with an empty NextToken', () => {
    const body = run('DescribeLoadBalancerListeners', fixture(), { 'LoadBalancerId.1': LB });
    expect(body).toEqual({ MaxResults: 20, NextToken: '', TotalCount: 0 });
  });

  it('answers a plain array, with plain-array Tags and the config nested by protocol', () => {
    const body = run('DescribeLoadBalancerListeners', many(1), { 'LoadBalancerId.1': OTHER_LB });
    expect(Array.isArray(body.Listeners)).toBe(true);
    expect(body.Listeners).toEqual([
      expect.objectContaining({
        LoadBalancerId: OTHER_LB,
        ListenerPort: 443,
        ListenerProtocol: 'https',
        Status: 'running',
        VServerGroupId: 'rsp-b',
        Tags: [{ TagKey: 'env', TagValue: 'prod' }],
        HTTPSListenerConfig: expect.objectContaining({ ServerCertificateId: CERT, HealthCheck: 'off' }),
      }),
    ]);
  });

  it('pages with MaxResults and NextToken until the token comes back empty', () => {
    const state = many(5);
    const seen: number[] = [];
    const tokens: string[] = [];
    let token: string | undefined;
    do {
      const body = run('DescribeLoadBalancerListeners', state, {
        'LoadBalancerId.1': LB,
        'LoadBalancerId.2': OTHER_LB,
        MaxResults: '2',
        ...(token ? { NextToken: token } : {}),
      });
      expect(body.TotalCount).toBe(6);
      seen.push(...(body.Listeners as { ListenerPort: number }[]).map((l) => l.ListenerPort));
      token = body.NextToken as string;
      tokens.push(token);
    } while (token);
    expect(seen).toEqual([8001, 8002, 8003, 8004, 8005, 443]);
    expect(tokens).toHaveLength(3);
  });

  it.each<[string, Record<string, string>, number[]]>([
    ['protocol', { ListenerProtocol: 'https' }, [443]],
    ['port', { ListenerPort: '8002' }, [8002]],
    ['description', { Description: 'shop' }, [443]],
    ['tag', { 'Tag.1.Key': 'env', 'Tag.1.Value': 'prod' }, [443]],
    ['load balancer', { 'LoadBalancerId.1': OTHER_LB }, [443]],
  ])('filters by %s', (_, filter, ports) => {
    const body = run('DescribeLoadBalancerListeners', many(2), filter);
    expect((body.Listeners as { ListenerPort: number }[]).map((l) => l.ListenerPort)).toEqual(ports);
  });

  it('lists only listeners of load balancers in the request region', () => {
    const state = many(0);
    state.listeners.push(listener({ loadBalancerId: 'lb-far', listenerPort: 80 }));
    const body = run('DescribeLoadBalancerListeners', state, {});
    expect((body.Listeners as { LoadBalancerId: string }[]).map((l) => l.LoadBalancerId)).toEqual([OTHER_LB]);
  });

  it.each<[string, Record<string, string>, string]>([
    ['MaxResults 0', { MaxResults: '0' }, 'MaxResults'],
    ['MaxResults 101', { MaxResults: '101' }, 'MaxResults'],
    ['a bad NextToken', { NextToken: 'abc' }, 'NextToken'],
    [
      '11 load balancers',
      Object.fromEntries(Array.from({ length: 11 }, (_, i) => [`LoadBalancerId.${i + 1}`, `lb-${i}`])),
      'LoadBalancerId',
    ],
    ['protocol ftp', { ListenerProtocol: 'ftp' }, 'ListenerProtocol'],
  ])('refuses %s naming the field', (_, params, field) => {
    const err = failure('DescribeLoadBalancerListeners', many(1), params);
    expect([err.code, err.message.includes(field)]).toEqual(['InvalidParameter', true]);
  });
});
