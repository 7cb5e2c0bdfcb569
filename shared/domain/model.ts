// One model for desired and observed load balancers, so the planner can diff them key by key.
// Desired state comes from the spec (desiredFromSpec), observed state from the cloud
// (shared/workflows/observe.ts). Groups are keyed by name, listeners by port, backends by
// `serverId:port`, rules by name, extension domains by domain.

import type { CertificateSource, Spec, SpecLoadBalancer } from './spec';

export interface BackendModel {
  serverId: string;
  port: number;
  /** 0-100; 0 drains new connections */
  weight: number;
  type: 'ecs' | 'eni' | 'eci';
  serverIp?: string;
  description?: string;
}

/** A backend's fields, optional ones only when set: from the spec, and as SLB's BackendServers take it. */
export const backendModel = (b: BackendModel): BackendModel => ({
  serverId: b.serverId,
  port: b.port,
  weight: b.weight,
  type: b.type,
  ...(b.serverIp ? { serverIp: b.serverIp } : {}),
  ...(b.description ? { description: b.description } : {}),
});

export interface GroupModel {
  name: string;
  /** observed only */
  vServerGroupId?: string;
  /** desired: remove members the spec does not list */
  exclusive?: boolean;
  /** observed: carries our ownership tag (we created it) */
  owned?: boolean;
  /** observed: the group's tags (ownership, failover state) */
  tags?: { key: string; value: string }[];
  /**
   * observed: another group on the load balancer has this name and is the one kept (its id); this one
   * is a duplicate (two applies at once created both), deleted when ours, left alone otherwise
   */
  duplicateOf?: string;
  backends: BackendModel[];
}

/** Only the fields the spec sets are compared; absent means "not managed". */
export interface HealthCheckModel {
  enabled: boolean;
  path?: string;
  domain?: string;
  port?: number;
  interval?: number;
  healthyThreshold?: number;
  unhealthyThreshold?: number;
  timeout?: number;
  httpCodes?: string[];
  method?: 'head' | 'get';
}

export interface RuleModel {
  name: string;
  domain?: string;
  url?: string;
  /** a group name */
  vServerGroup: string;
  /** observed only */
  ruleId?: string;
  /** observed only: the group's id (names may repeat) */
  vServerGroupId?: string;
}

export interface ExtensionDomainModel {
  domain: string;
  /** desired: where the certificate comes from */
  certificate?: CertificateSource;
  /** observed */
  domainExtensionId?: string;
  serverCertificateId?: string;
}

export interface ListenerModel {
  protocol: 'http' | 'https';
  /** 1-65535 */
  port: number;
  /** -1 or 1-5120 */
  bandwidth: number;
  scheduler: 'wrr' | 'rr';
  /** a group name; observed listeners on an unknown group carry its id here prefixed with `#` */
  vServerGroup?: string;
  /** observed only: the default group's id (names may repeat) */
  vServerGroupId?: string;
  healthCheck?: HealthCheckModel;
  stickySession: boolean;
  /** HTTP: the HTTPS port it redirects to */
  redirectPort?: number;
  /** HTTPS */
  http2?: boolean;
  certificate?: CertificateSource;
  /** desired, HTTPS: the domains the default certificate must cover */
  domains?: string[];
  serverCertificateId?: string;
  running: boolean;
  /** observed: carries our ownership tag (we created it); its rules and extension domains are then ours too */
  owned?: boolean;
  /** observed, not ours: the owner tag it carries instead (`managed-by=slb-autopilot/staging`), if any */
  owner?: string;
  rules: RuleModel[];
  extensionDomains: ExtensionDomainModel[];
}

export interface LoadBalancerModel {
  /** the spec's name for it */
  name: string;
  loadBalancerId?: string;
  /** desired only: how to create it when it does not exist */
  create?: NonNullable<SpecLoadBalancer['create']>;
  listeners: ListenerModel[];
  groups: GroupModel[];
}

function desiredLoadBalancer(lb: SpecLoadBalancer): LoadBalancerModel {
  return {
    name: lb.name,
    ...(lb.id ? { loadBalancerId: lb.id } : {}),
    ...(lb.create ? { create: lb.create } : {}),
    groups: lb.vServerGroups.map((g) => ({
      name: g.name,
      ...(g.exclusive ? { exclusive: true } : {}),
      backends: g.backends.map(backendModel),
    })),
    listeners: lb.listeners.map((l) => ({
      protocol: l.protocol,
      port: l.port,
      bandwidth: l.bandwidth,
      scheduler: l.scheduler,
      ...(l.vServerGroup ? { vServerGroup: l.vServerGroup } : {}),
      ...(l.healthCheck
        ? {
            healthCheck: {
              enabled: l.healthCheck.enabled,
              path: l.healthCheck.path,
              ...(l.healthCheck.domain ? { domain: l.healthCheck.domain } : {}),
              ...(l.healthCheck.port ? { port: l.healthCheck.port } : {}),
              interval: l.healthCheck.interval,
              healthyThreshold: l.healthCheck.healthyThreshold,
              unhealthyThreshold: l.healthCheck.unhealthyThreshold,
              timeout: l.healthCheck.timeout,
              httpCodes: l.healthCheck.httpCodes,
              method: l.healthCheck.method,
            },
          }
        : {}),
      stickySession: l.stickySession,
      ...(l.protocol === 'http' && l.redirectToHttps ? { redirectPort: l.redirectToHttps.port } : {}),
      ...(l.protocol === 'https' ? { http2: l.http2, certificate: l.certificate, domains: l.domains } : {}),
      running: true,
      rules: l.rules.map((r) => ({
        name: r.name,
        domain: r.domain,
        url: r.url,
        vServerGroup: r.vServerGroup,
      })),
      extensionDomains:
        l.protocol === 'https'
          ? l.extensionDomains.map((d) => ({ domain: d.domain, certificate: d.certificate }))
          : [],
    })),
  };
}

export function desiredFromSpec(spec: Spec): LoadBalancerModel[] {
  return spec.loadBalancers.map(desiredLoadBalancer);
}
