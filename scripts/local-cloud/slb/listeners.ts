// SLB 2014-05-15 actions: HTTP and HTTPS listeners (reference §6.2, §6.3).
import { HEALTH_CHECK_URI } from '../conformance/rules';
import { ApiError, invalidParameter, missingParameter } from '../errors';
import { type ActionContext, type ActionTable, read, write } from '../handler';
import type { Params } from '../params';
import type { HealthCheckSettings, ListenerRecord } from '../state';
import { assertWritable, findListener, findLoadBalancer, matchesTags, tagsBody } from './common';

const ON_OFF = ['on', 'off'] as const;
const HTTP_CODES = ['http_2xx', 'http_3xx', 'http_4xx', 'http_5xx'];
const DOMAIN = /^[A-Za-z0-9.-]{1,80}$/;

/** Attributes kept verbatim in `extra`, with their checks. */
const EXTRA_FIELDS: Record<string, (p: Params, name: string) => string | number | undefined> = {
  StickySession: (p, n) => p.oneOf(n, ON_OFF),
  StickySessionType: (p, n) => p.oneOf(n, ['insert', 'server']),
  CookieTimeout: (p, n) => p.int(n, { min: 1, max: 86400 }),
  Cookie: (p, n) => {
    const v = p.str(n);
    if (v !== undefined && !/^[A-Za-z0-9]{1,200}$/.test(v))
      throw invalidParameter(n, 'must be 1-200 ASCII letters or digits');
    return v;
  },
  Gzip: (p, n) => p.oneOf(n, ON_OFF),
  EnableHttp2: (p, n) => p.oneOf(n, ON_OFF),
  IdleTimeout: (p, n) => p.int(n, { min: 1, max: 60 }),
  RequestTimeout: (p, n) => p.int(n, { min: 1, max: 180 }),
  TLSCipherPolicy: (p, n) =>
    p.oneOf(n, [
      'tls_cipher_policy_1_0',
      'tls_cipher_policy_1_1',
      'tls_cipher_policy_1_2',
      'tls_cipher_policy_1_2_strict',
      'tls_cipher_policy_1_2_strict_with_1_3',
    ]),
  XForwardedFor: (p, n) => p.oneOf(n, ON_OFF),
  XForwardedFor_SLBIP: (p, n) => p.oneOf(n, ON_OFF),
  XForwardedFor_SLBID: (p, n) => p.oneOf(n, ON_OFF),
  XForwardedFor_proto: (p, n) => p.oneOf(n, ON_OFF),
  XForwardedFor_SLBPORT: (p, n) => p.oneOf(n, ON_OFF),
  XForwardedFor_ClientSrcPort: (p, n) => p.oneOf(n, ON_OFF),
  AclStatus: (p, n) => p.oneOf(n, ON_OFF),
  AclType: (p, n) => p.oneOf(n, ['white', 'black']),
  AclId: (p, n) => p.str(n),
};
const HTTPS_ONLY = new Set(['EnableHttp2', 'TLSCipherPolicy']);

/** What a new listener has unless the request says otherwise. */
export const LISTENER_DEFAULTS: Readonly<Record<string, string | number>> = {
  StickySession: 'off',
  Gzip: 'on',
  XForwardedFor: 'on',
  IdleTimeout: 15,
  RequestTimeout: 60,
};

/**
 * Fields that are only required once another is set (§6.2), checked on the attributes as they will be
 * after the call, so a partial Set cannot leave e.g. StickySession on without a StickySessionType.
 */
function assertConditionalExtra(extra: Readonly<Record<string, string | number>>): void {
  if (extra.StickySession === 'on') {
    if (extra.StickySessionType === undefined) throw missingParameter('StickySessionType');
    if (extra.StickySessionType === 'insert' && extra.CookieTimeout === undefined)
      throw missingParameter('CookieTimeout');
    if (extra.StickySessionType === 'server' && extra.Cookie === undefined) throw missingParameter('Cookie');
  }
  if (extra.AclStatus === 'on') {
    if (extra.AclType === undefined) throw missingParameter('AclType');
    if (extra.AclId === undefined) throw missingParameter('AclId');
  }
}

function readDescription(p: Params): string | undefined {
  const description = p.str('Description');
  if (description !== undefined && description.length > 256)
    throw invalidParameter('Description', 'must be 1-256 characters');
  return description;
}

/** An HTTP listener may only redirect to an existing HTTPS listener of the same load balancer. */
function assertForwardTarget(ctx: ActionContext, loadBalancerId: string, forwardPort: number): void {
  const target = ctx.state.listeners.find(
    (l) =>
      l.loadBalancerId === loadBalancerId && l.listenerPort === forwardPort && l.listenerProtocol === 'https',
  );
  if (!target)
    throw invalidParameter('ForwardPort', 'must be the port of an HTTPS listener of this load balancer');
}

function readExtra(p: Params, protocol: 'http' | 'https'): Record<string, string | number> {
  const out: Record<string, string | number> = {};
  for (const [name, check] of Object.entries(EXTRA_FIELDS)) {
    if (protocol === 'http' && HTTPS_ONLY.has(name)) continue;
    const v = check(p, name);
    if (v !== undefined) out[name] = v;
  }
  return out;
}

/** Health-check fields present in the request (only those; Set* is a partial update). */
function readHealthCheck(p: Params): Partial<HealthCheckSettings> {
  const uri = p.str('HealthCheckURI');
  if (uri !== undefined && !HEALTH_CHECK_URI.test(uri))
    throw invalidParameter(
      'HealthCheckURI',
      'must be 2-80 characters starting with / (not / alone), of letters, digits and - / . % ? # &',
    );
  const domain = p.str('HealthCheckDomain');
  if (domain !== undefined && domain !== '$_ip' && !DOMAIN.test(domain))
    throw invalidParameter('HealthCheckDomain', 'is not a valid domain');
  const codes = p.str('HealthCheckHttpCode');
  if (codes !== undefined && !codes.split(',').every((c) => HTTP_CODES.includes(c))) {
    throw invalidParameter(
      'HealthCheckHttpCode',
      `must be a comma-separated subset of ${HTTP_CODES.join(',')}`,
    );
  }
  const hc: Partial<HealthCheckSettings> = {
    healthCheck: p.oneOf('HealthCheck', ON_OFF),
    healthCheckURI: uri,
    healthCheckDomain: domain,
    healthCheckConnectPort: p.int('HealthCheckConnectPort', { min: 1, max: 65535 }),
    healthyThreshold: p.int('HealthyThreshold', { min: 2, max: 10 }),
    unhealthyThreshold: p.int('UnhealthyThreshold', { min: 2, max: 10 }),
    healthCheckInterval: p.int('HealthCheckInterval', { min: 1, max: 50 }),
    healthCheckTimeout: p.int('HealthCheckTimeout', { min: 1, max: 300 }),
    healthCheckHttpCode: codes,
    healthCheckMethod: p.oneOf('HealthCheckMethod', ['head', 'get']),
  };
  return Object.fromEntries(Object.entries(hc).filter(([, v]) => v !== undefined));
}

function requireCertificate(ctx: ActionContext, id: string, field: string): void {
  // The reference could not confirm this code (§9.5); the domain-extension APIs use it for the same case.
  if (
    !ctx.state.serverCertificates.some((c) => c.serverCertificateId === id && c.regionId === ctx.regionId)
  ) {
    throw new ApiError(`InvalidParameter.${field}`, `The specified ${field} does not exist.`);
  }
}

function requireGroup(ctx: ActionContext, loadBalancerId: string, id: string): void {
  if (!ctx.state.vServerGroups.some((g) => g.vServerGroupId === id && g.loadBalancerId === loadBalancerId)) {
    throw new ApiError('InvalidParameter', 'The specified VServerGroupId does not exist.', 404);
  }
}

/** With the configuring fault on, a changed listener is briefly `configuring`, as on the real service. */
function markChanged(ctx: ActionContext, l: ListenerRecord): void {
  if (ctx.configuringMs > 0) l.busyUntil = ctx.now.getTime() + ctx.configuringMs;
}

function assertNotBusy(ctx: ActionContext, l: ListenerRecord): void {
  if (l.busyUntil !== undefined && l.busyUntil > ctx.now.getTime()) {
    throw new ApiError('Operation.Deny', 'The specified listener is configuring, please try again later.');
  }
}

function createListener(protocol: 'http' | 'https') {
  return (ctx: ActionContext): Record<string, unknown> => {
    const p = ctx.params;
    const lb = findLoadBalancer(ctx, p.requiredStr('LoadBalancerId'));
    const port = p.requiredInt('ListenerPort', { min: 1, max: 65535 });
    // The current SDK marks Bandwidth required for HTTPS only; HTTP falls back to -1 (unlimited).
    const bandwidth =
      protocol === 'https'
        ? p.requiredInt('Bandwidth', { min: -1, max: 5120 })
        : (p.int('Bandwidth', { min: -1, max: 5120 }) ?? -1);
    if (bandwidth === 0) throw invalidParameter('Bandwidth', 'must be -1 or 1-5120');
    const hc = readHealthCheck(p);
    if (hc.healthCheck === undefined) throw missingParameter('HealthCheck');
    const vServerGroupId = p.str('VServerGroupId');
    const backendServerPort = p.int('BackendServerPort', { min: 1, max: 65535 });
    const listenerForward = protocol === 'http' ? p.oneOf('ListenerForward', ON_OFF) : undefined;
    const forwardPort = protocol === 'http' ? p.int('ForwardPort', { min: 1, max: 65535 }) : undefined;
    if (listenerForward === 'on') {
      if (forwardPort === undefined) throw missingParameter('ForwardPort');
      assertForwardTarget(ctx, lb.loadBalancerId, forwardPort);
    } else if (vServerGroupId === undefined && backendServerPort === undefined) {
      throw missingParameter('BackendServerPort');
    }
    if (vServerGroupId !== undefined) requireGroup(ctx, lb.loadBalancerId, vServerGroupId);
    let serverCertificateId: string | undefined;
    let caCertificateId: string | undefined;
    if (protocol === 'https') {
      serverCertificateId = p.requiredStr('ServerCertificateId');
      requireCertificate(ctx, serverCertificateId, 'ServerCertificateId');
      caCertificateId = p.str('CACertificateId');
    }
    const description = readDescription(p);
    const extra = { ...LISTENER_DEFAULTS, ...readExtra(p, protocol) };
    assertConditionalExtra(extra);
    const scheduler = p.oneOf('Scheduler', ['wrr', 'rr']) ?? 'wrr';
    const tags = p.tags();
    assertWritable(lb);
    // HTTP and HTTPS listen on TCP: only a UDP listener may share their port.
    if (
      ctx.state.listeners.some(
        (l) =>
          l.loadBalancerId === lb.loadBalancerId && l.listenerPort === port && l.listenerProtocol !== 'udp',
      )
    ) {
      throw new ApiError('ListenerAlreadyExists', 'The specified listener already exists.');
    }
    const listener: ListenerRecord = {
      loadBalancerId: lb.loadBalancerId,
      listenerPort: port,
      listenerProtocol: protocol,
      status: 'stopped',
      bandwidth,
      scheduler,
      ...(backendServerPort !== undefined ? { backendServerPort } : {}),
      ...(vServerGroupId !== undefined ? { vServerGroupId } : {}),
      ...(description !== undefined ? { description } : {}),
      ...(serverCertificateId !== undefined ? { serverCertificateId } : {}),
      ...(caCertificateId !== undefined ? { caCertificateId } : {}),
      ...(listenerForward !== undefined ? { listenerForward } : {}),
      ...(forwardPort !== undefined ? { forwardPort } : {}),
      healthCheck: { healthCheck: 'off', ...hc } as HealthCheckSettings,
      extra,
      tags: tags.map((t) => ({ key: t.key, value: t.value ?? '' })),
    };
    ctx.state.listeners.push(listener);
    markChanged(ctx, listener);
    return {};
  };
}

function listenerOf(ctx: ActionContext, protocol: 'http' | 'https'): ListenerRecord {
  const p = ctx.params;
  const lb = findLoadBalancer(ctx, p.requiredStr('LoadBalancerId'));
  const l = findListener(
    ctx,
    lb.loadBalancerId,
    p.requiredInt('ListenerPort', { min: 1, max: 65535 }),
    protocol,
  );
  return l;
}

function statusOf(ctx: ActionContext, l: ListenerRecord): string {
  return l.busyUntil !== undefined && l.busyUntil > ctx.now.getTime() ? 'configuring' : l.status;
}

/** Health-check fields of an answer; HealthCheckMethod only with checks on (official response notes). */
function healthCheckBody(hc: HealthCheckSettings): Record<string, unknown> {
  return {
    HealthCheck: hc.healthCheck,
    // Checks without a URI probe `/`, and the service says so.
    HealthCheckURI: hc.healthCheckURI ?? (hc.healthCheck === 'on' ? '/' : undefined),
    HealthCheckDomain: hc.healthCheckDomain,
    HealthCheckConnectPort: hc.healthCheckConnectPort,
    HealthyThreshold: hc.healthyThreshold,
    UnhealthyThreshold: hc.unhealthyThreshold,
    HealthCheckInterval: hc.healthCheckInterval,
    HealthCheckTimeout: hc.healthCheckTimeout,
    HealthCheckHttpCode: hc.healthCheckHttpCode,
    ...(hc.healthCheck === 'on' ? { HealthCheckMethod: hc.healthCheckMethod } : {}),
  };
}

const ACL_FIELDS = ['AclStatus', 'AclType', 'AclId'] as const;

/** The attributes without the ACL fields, and the ACL fields (AclId only while AclStatus is on). */
function splitAcl(extra: Readonly<Record<string, string | number>>): {
  rest: Record<string, string | number>;
  acl: Record<string, string | number>;
} {
  const rest = { ...extra };
  const acl: Record<string, string | number> = {};
  for (const k of ACL_FIELDS) {
    const v = rest[k];
    delete rest[k];
    if (v !== undefined && (k !== 'AclId' || extra.AclStatus === 'on')) acl[k] = v;
  }
  return { rest, acl };
}

function describeAttribute(protocol: 'http' | 'https') {
  return (ctx: ActionContext): Record<string, unknown> => {
    const l = listenerOf(ctx, protocol);
    const rules = ctx.state.rules.filter(
      (r) => r.loadBalancerId === l.loadBalancerId && r.listenerPort === l.listenerPort,
    );
    return {
      LoadBalancerId: l.loadBalancerId,
      ListenerPort: l.listenerPort,
      Status: statusOf(ctx, l),
      Bandwidth: l.bandwidth,
      Scheduler: l.scheduler,
      ...(l.backendServerPort !== undefined ? { BackendServerPort: l.backendServerPort } : {}),
      ...(l.vServerGroupId !== undefined ? { VServerGroupId: l.vServerGroupId } : {}),
      ...(l.description !== undefined ? { Description: l.description } : {}),
      ...healthCheckBody(l.healthCheck),
      ...splitAcl(l.extra).rest,
      ...splitAcl(l.extra).acl,
      SecurityStatus: 'off',
      Rules: {
        Rule: rules.map((r) => ({
          RuleId: r.ruleId,
          RuleName: r.ruleName,
          Domain: r.domain,
          Url: r.url,
          VServerGroupId: r.vServerGroupId,
        })),
      },
      Tags: tagsBody(l.tags),
      ...(protocol === 'https'
        ? {
            ServerCertificateId: l.serverCertificateId,
            ...(l.caCertificateId ? { CACertificateId: l.caCertificateId } : {}),
            DomainExtensions: {
              DomainExtension: ctx.state.domainExtensions
                .filter((d) => d.loadBalancerId === l.loadBalancerId && d.listenerPort === l.listenerPort)
                .map((d) => ({
                  DomainExtensionId: d.domainExtensionId,
                  Domain: d.domain,
                  ServerCertificateId: d.serverCertificateId,
                })),
            },
          }
        : {
            ListenerForward: l.listenerForward ?? 'off',
            ...(l.listenerForward === 'on' ? { ForwardPort: l.forwardPort } : {}),
          }),
    };
  };
}

function setAttribute(protocol: 'http' | 'https') {
  return (ctx: ActionContext): Record<string, unknown> => {
    const p = ctx.params;
    const l = listenerOf(ctx, protocol);
    const lb = findLoadBalancer(ctx, l.loadBalancerId);
    const bandwidth = p.int('Bandwidth', { min: -1, max: 5120 });
    if (bandwidth === 0) throw invalidParameter('Bandwidth', 'must be -1 or 1-5120');
    const hc = readHealthCheck(p);
    const extra = readExtra(p, protocol);
    const useGroup = p.oneOf('VServerGroup', ON_OFF);
    const vServerGroupId = p.str('VServerGroupId');
    if (useGroup === 'on' && vServerGroupId === undefined) throw missingParameter('VServerGroupId');
    if (vServerGroupId !== undefined) requireGroup(ctx, l.loadBalancerId, vServerGroupId);
    const certificateId = protocol === 'https' ? p.str('ServerCertificateId') : undefined;
    if (certificateId !== undefined) requireCertificate(ctx, certificateId, 'ServerCertificateId');
    const caCertificateId = protocol === 'https' ? p.str('CACertificateId') : undefined;
    // ListenerForward and ForwardPort are not parameters of this action (official request model):
    // they are ignored here, and the server records them as a fidelity warning.
    const scheduler = p.oneOf('Scheduler', ['wrr', 'rr']);
    const description = readDescription(p);
    const mergedExtra = { ...l.extra, ...extra };
    assertConditionalExtra(mergedExtra);
    assertWritable(lb);
    assertNotBusy(ctx, l);
    if (p.bool('DryRun')) return {};
    if (bandwidth !== undefined) l.bandwidth = bandwidth;
    if (scheduler !== undefined) l.scheduler = scheduler;
    if (description !== undefined) l.description = description;
    if (useGroup === 'off') delete l.vServerGroupId;
    else if (vServerGroupId !== undefined) l.vServerGroupId = vServerGroupId;
    if (certificateId !== undefined) l.serverCertificateId = certificateId;
    if (caCertificateId !== undefined) l.caCertificateId = caCertificateId;
    l.healthCheck = { ...l.healthCheck, ...hc };
    l.extra = mergedExtra;
    markChanged(ctx, l);
    return {};
  };
}

function lifecycle(kind: 'start' | 'stop' | 'delete') {
  return (ctx: ActionContext): Record<string, unknown> => {
    const p = ctx.params;
    const lb = findLoadBalancer(ctx, p.requiredStr('LoadBalancerId'));
    const protocol = p.oneOf('ListenerProtocol', ['http', 'https', 'tcp', 'udp']);
    const l = findListener(
      ctx,
      lb.loadBalancerId,
      p.requiredInt('ListenerPort', { min: 1, max: 65535 }),
      protocol,
    );
    assertWritable(lb);
    assertNotBusy(ctx, l);
    if (kind === 'start' || kind === 'stop') {
      l.status = kind === 'start' ? 'running' : 'stopped';
      markChanged(ctx, l);
    } else {
      const forwarder = ctx.state.listeners.find(
        (x) =>
          x.loadBalancerId === lb.loadBalancerId &&
          x.listenerForward === 'on' &&
          x.forwardPort === l.listenerPort,
      );
      if (forwarder && l.listenerProtocol === 'https') {
        throw new ApiError('ListenerForwardExist', 'Another listener forwards to the specified listener.');
      }
      const same = (x: { loadBalancerId: string; listenerPort: number }) =>
        x.loadBalancerId === lb.loadBalancerId && x.listenerPort === l.listenerPort;
      ctx.state.listeners = ctx.state.listeners.filter((x) => x !== l);
      ctx.state.rules = ctx.state.rules.filter((x) => !same(x));
      ctx.state.domainExtensions = ctx.state.domainExtensions.filter((x) => !same(x));
    }
    return {};
  };
}

/** DescribeLoadBalancerListeners: `Listeners` is a PLAIN array (omitted when empty), token-paged. */
function describeListeners(ctx: ActionContext): Record<string, unknown> {
  const p = ctx.params;
  const ids = p.list('LoadBalancerId');
  if (ids.length > 10) throw invalidParameter('LoadBalancerId', 'accepts at most 10 ids');
  const protocol = p.oneOf('ListenerProtocol', ['tcp', 'udp', 'http', 'https']);
  const port = p.int('ListenerPort', { min: 1, max: 65535 });
  const description = p.str('Description');
  const tagFilter = p.tags();
  const max = p.int('MaxResults', { min: 1, max: 100 }) ?? 20;
  const token = p.str('NextToken');
  const start = token === undefined ? 0 : Number(token);
  if (!Number.isInteger(start) || start < 0) throw invalidParameter('NextToken', 'is not valid');
  const inRegion = new Set(
    ctx.state.loadBalancers.filter((lb) => lb.regionId === ctx.regionId).map((lb) => lb.loadBalancerId),
  );
  const all = ctx.state.listeners
    .filter(
      (l) =>
        inRegion.has(l.loadBalancerId) &&
        (ids.length === 0 || ids.includes(l.loadBalancerId)) &&
        (!protocol || l.listenerProtocol === protocol) &&
        (port === undefined || l.listenerPort === port) &&
        (description === undefined || l.description === description) &&
        matchesTags(l.tags, tagFilter),
    )
    .sort((a, b) => a.loadBalancerId.localeCompare(b.loadBalancerId) || a.listenerPort - b.listenerPort);
  const page = all.slice(start, start + max);
  const next = start + max < all.length ? String(start + max) : '';
  const body: Record<string, unknown> = { MaxResults: max, NextToken: next, TotalCount: all.length };
  if (page.length > 0) {
    body.Listeners = page.map((l) => {
      // The listing nests the protocol's settings in a config object, but the ACL fields sit on the
      // listener itself; the config also tells the health-check protocol (official response model).
      const { rest, acl } = splitAcl(l.extra);
      const config = {
        ...healthCheckBody(l.healthCheck),
        ...(l.healthCheck.healthCheck === 'on'
          ? { HealthCheckType: 'http', HealthCheckHttpVersion: 'HTTP 1.0' }
          : {}),
        ...rest,
      };
      return {
        LoadBalancerId: l.loadBalancerId,
        ListenerPort: l.listenerPort,
        ListenerProtocol: l.listenerProtocol,
        Status: statusOf(ctx, l),
        Scheduler: l.scheduler,
        Bandwidth: l.bandwidth,
        ...(l.backendServerPort !== undefined ? { BackendServerPort: l.backendServerPort } : {}),
        ...(l.vServerGroupId !== undefined ? { VServerGroupId: l.vServerGroupId } : {}),
        ...(l.description !== undefined ? { Description: l.description } : {}),
        ...acl,
        Tags: l.tags.map((t) => ({ TagKey: t.key, TagValue: t.value })),
        ...(l.listenerProtocol === 'https'
          ? {
              HTTPSListenerConfig: {
                ...config,
                ServerCertificateId: l.serverCertificateId,
                ...(l.caCertificateId ? { CACertificateId: l.caCertificateId } : {}),
              },
            }
          : {
              HTTPListenerConfig: {
                ...config,
                ListenerForward: l.listenerForward ?? 'off',
                ...(l.listenerForward === 'on' ? { ForwardPort: l.forwardPort } : {}),
              },
            }),
      };
    });
  }
  return body;
}

export const listenersActions: ActionTable = {
  CreateLoadBalancerHTTPSListener: write(createListener('https')),
  CreateLoadBalancerHTTPListener: write(createListener('http')),
  DescribeLoadBalancerHTTPSListenerAttribute: read(describeAttribute('https')),
  DescribeLoadBalancerHTTPListenerAttribute: read(describeAttribute('http')),
  SetLoadBalancerHTTPSListenerAttribute: write(setAttribute('https')),
  SetLoadBalancerHTTPListenerAttribute: write(setAttribute('http')),
  StartLoadBalancerListener: write(lifecycle('start')),
  StopLoadBalancerListener: write(lifecycle('stop')),
  DeleteLoadBalancerListener: write(lifecycle('delete')),
  DescribeLoadBalancerListeners: read(describeListeners),
};
