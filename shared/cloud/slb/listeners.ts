// Typed SLB actions: HTTP and HTTPS listeners. Set* calls are partial updates: only the fields given
// are sent, so a read-modify-write never touches other attributes.
import { notYetVisible } from '../errors';
import type { RpcCaller, RpcParamValue, RpcResponse } from '../rpc-types';
import { list, num, obj, reqNum, str, type Tag, tagParam, tags } from './wire';

export type ListenerProtocol = 'http' | 'https' | 'tcp' | 'udp';

export interface HealthCheck {
  enabled: boolean;
  /** 1-80 characters, starts with `/` */
  uri?: string;
  /** empty or `$_ip` means the backend's private IP */
  domain?: string;
  /** 1-65535; absent means the backend port */
  connectPort?: number;
  /** 2-10 */
  healthyThreshold?: number;
  /** 2-10 */
  unhealthyThreshold?: number;
  /** 1-50 s */
  interval?: number;
  /** 1-300 s; below the interval, the interval applies */
  timeout?: number;
  /** subset of http_2xx, http_3xx, http_4xx, http_5xx */
  httpCodes?: string[];
  method?: 'head' | 'get';
}

export interface Listener {
  loadBalancerId: string;
  /** 1-65535 */
  listenerPort: number;
  listenerProtocol: ListenerProtocol;
  /** running | stopped | starting | configuring */
  status: string;
  /** -1 (unlimited) or 1-5120 */
  bandwidth: number;
  scheduler: string;
  vServerGroupId?: string;
  backendServerPort?: number;
  description?: string;
  healthCheck: HealthCheck;
  /** HTTPS: the default certificate */
  serverCertificateId?: string;
  /** HTTP: redirect to an HTTPS listener */
  forwardPort?: number;
  /** every other attribute by wire name (StickySession, Gzip, XForwardedFor, ...) */
  attributes: Record<string, string | number>;
  tags: Tag[];
}

export interface ListenerRef {
  regionId: string;
  loadBalancerId: string;
  listenerPort: number;
  protocol?: ListenerProtocol;
}

export interface HttpsListenerDetail extends Listener {
  domainExtensions: { domainExtensionId: string; domain: string; serverCertificateId: string }[];
  rules: { ruleId: string; ruleName: string; domain?: string; url?: string; vServerGroupId: string }[];
}

export interface ListenerSettings {
  /** -1 or 1-5120 */
  bandwidth?: number;
  scheduler?: 'wrr' | 'rr';
  vServerGroupId?: string;
  description?: string;
  healthCheck?: Partial<HealthCheck>;
  /** HTTPS */
  serverCertificateId?: string;
  /** other attributes by wire name, e.g. {StickySession: 'off', IdleTimeout: 15} */
  attributes?: Record<string, string | number>;
}

/** A partial update of a listener's attributes. */
export interface SetListenerRequest extends ListenerRef, ListenerSettings {
  /** `off` returns the listener to its default server group; `on` is implied by a vServerGroupId */
  vServerGroup?: 'on' | 'off';
  /** HTTPS: the CA certificate for mutual TLS */
  caCertificateId?: string;
  // No redirect here: SetLoadBalancerHTTPListenerAttribute takes no ListenerForward or ForwardPort
  // (official request model); a redirect changes by deleting and recreating the listener.
}

export interface CreateListenerRequest extends ListenerSettings {
  regionId: string;
  loadBalancerId: string;
  /** 1-65535 */
  listenerPort: number;
  /** 1-65535; required unless vServerGroupId is given (a redirect gets REDIRECT_BACKEND_PORT) */
  backendServerPort?: number;
  /** HTTP only: redirect to this HTTPS listener port */
  forwardPort?: number;
  tags?: Tag[];
}

/**
 * The official request rules require BackendServerPort whenever VServerGroupId is absent, redirects
 * included, although a redirect never reaches a backend. Terraform sends 80 for the same reason.
 */
export const REDIRECT_BACKEND_PORT = 80;

const KNOWN = new Set([
  'LoadBalancerId',
  'ListenerPort',
  'ListenerProtocol',
  'Status',
  'Bandwidth',
  'Scheduler',
  'VServerGroupId',
  'BackendServerPort',
  'Description',
  'ServerCertificateId',
  'ListenerForward',
  'ForwardPort',
  'HealthCheck',
  'HealthCheckURI',
  'HealthCheckDomain',
  'HealthCheckConnectPort',
  'HealthyThreshold',
  'UnhealthyThreshold',
  'HealthCheckInterval',
  'HealthCheckTimeout',
  'HealthCheckHttpCode',
  'HealthCheckMethod',
  'Tags',
  'Rules',
  'DomainExtensions',
  'RequestId',
  'HTTPListenerConfig',
  'HTTPSListenerConfig',
  'AclIds',
]);

function toHealthCheck(o: Record<string, unknown>): HealthCheck {
  const codes = str(o.HealthCheckHttpCode);
  return {
    enabled: o.HealthCheck === 'on',
    uri: str(o.HealthCheckURI),
    domain: str(o.HealthCheckDomain),
    connectPort: num(o.HealthCheckConnectPort),
    healthyThreshold: num(o.HealthyThreshold),
    unhealthyThreshold: num(o.UnhealthyThreshold),
    interval: num(o.HealthCheckInterval),
    timeout: num(o.HealthCheckTimeout),
    httpCodes: codes ? codes.split(',') : undefined,
    method: str(o.HealthCheckMethod) as HealthCheck['method'],
  };
}

function healthCheckParams(hc: Partial<HealthCheck> | undefined): Record<string, RpcParamValue> {
  if (!hc) return {};
  return {
    HealthCheck: hc.enabled === undefined ? undefined : hc.enabled ? 'on' : 'off',
    // A single `/` is the service's default and the one path the API refuses as a value.
    HealthCheckURI: hc.uri === '/' ? undefined : hc.uri,
    HealthCheckDomain: hc.domain,
    HealthCheckConnectPort: hc.connectPort,
    HealthyThreshold: hc.healthyThreshold,
    UnhealthyThreshold: hc.unhealthyThreshold,
    HealthCheckInterval: hc.interval,
    HealthCheckTimeout: hc.timeout,
    HealthCheckHttpCode: hc.httpCodes?.join(','),
    HealthCheckMethod: hc.method,
  };
}

function settingsParams(s: ListenerSettings): Record<string, RpcParamValue> {
  return {
    Bandwidth: s.bandwidth,
    Scheduler: s.scheduler,
    VServerGroupId: s.vServerGroupId,
    Description: s.description,
    ServerCertificateId: s.serverCertificateId,
    ...healthCheckParams(s.healthCheck),
    ...s.attributes,
  };
}

function attributes(o: Record<string, unknown>): Record<string, string | number> {
  const out: Record<string, string | number> = {};
  for (const [k, v] of Object.entries(o)) {
    if (!KNOWN.has(k) && (typeof v === 'string' || typeof v === 'number')) out[k] = v;
  }
  return out;
}

/** A listener from a flat attribute body, or from a DescribeLoadBalancerListeners item (config nested). */
function toListener(o: Record<string, unknown>, protocol?: ListenerProtocol): Listener {
  const config = { ...obj(o.HTTPListenerConfig), ...obj(o.HTTPSListenerConfig) };
  const flat = { ...config, ...o };
  const forward = flat.ListenerForward === 'on' ? num(flat.ForwardPort) : undefined;
  return {
    loadBalancerId: str(o.LoadBalancerId) ?? '',
    listenerPort: reqNum(o.ListenerPort, 'ListenerPort'),
    listenerProtocol: (str(o.ListenerProtocol) ?? protocol ?? 'http') as ListenerProtocol,
    status: str(o.Status) ?? '',
    bandwidth: num(o.Bandwidth) ?? -1,
    scheduler: str(o.Scheduler) ?? 'wrr',
    vServerGroupId: str(o.VServerGroupId),
    backendServerPort: num(o.BackendServerPort),
    description: str(o.Description),
    healthCheck: toHealthCheck(flat),
    serverCertificateId: str(flat.ServerCertificateId),
    forwardPort: forward,
    attributes: attributes(flat),
    tags: tags(o),
  };
}

export function listenerApi(rpc: RpcCaller) {
  const listenerCall = (
    action: string,
    req: { regionId: string; loadBalancerId: string; listenerPort: number },
    params: Record<string, RpcParamValue>,
    write: boolean,
    check?: (body: RpcResponse) => void,
  ) =>
    rpc.call({
      product: 'slb',
      action,
      regionId: req.regionId,
      params: { LoadBalancerId: req.loadBalancerId, ListenerPort: req.listenerPort, ...params },
      write,
      ...(check ? { check } : {}),
    });

  /** A listener's attributes; a 200 without ListenerPort is a listener not visible yet (retried). */
  const describeAttribute = (
    action: string,
    req: { regionId: string; loadBalancerId: string; listenerPort: number },
  ) =>
    listenerCall(action, req, {}, false, (body) => {
      if (body.ListenerPort === undefined || body.ListenerPort === null || body.ListenerPort === '')
        throw notYetVisible(action, 'ListenerPort', body.RequestId);
    });

  /** ListenerProtocol is only needed when two protocols share the port. */
  const lifecycle = async (action: string, req: ListenerRef): Promise<void> => {
    await listenerCall(action, req, { ListenerProtocol: req.protocol }, true);
  };

  /** A partial update: only the settings given are sent. */
  const setAttribute = async (action: string, req: SetListenerRequest): Promise<void> => {
    await listenerCall(
      action,
      req,
      {
        ...settingsParams(req),
        VServerGroup: req.vServerGroup ?? (req.vServerGroupId ? 'on' : undefined),
        CACertificateId: req.caCertificateId,
      },
      true,
    );
  };

  /**
   * What Create sends unless the request says otherwise: StickySession and Bandwidth were required by
   * older API versions (Bandwidth still is for HTTPS), HealthCheck is required by every version.
   */
  const createParams = (req: CreateListenerRequest): Record<string, RpcParamValue> => {
    const p = settingsParams(req);
    return {
      ...p,
      StickySession: p.StickySession ?? 'off',
      HealthCheck: p.HealthCheck ?? 'off',
      Bandwidth: p.Bandwidth ?? -1,
      BackendServerPort: req.backendServerPort,
      Tag: tagParam(req.tags),
    };
  };

  return {
    /** Every listener of the given load balancers (batched 10 per call, all pages). */
    async describeListeners(req: {
      regionId: string;
      loadBalancerIds: string[];
      protocol?: ListenerProtocol;
    }): Promise<Listener[]> {
      const out: Listener[] = [];
      for (let i = 0; i < req.loadBalancerIds.length; i += 10) {
        let token: string | undefined;
        do {
          const body = await rpc.call({
            product: 'slb',
            action: 'DescribeLoadBalancerListeners',
            regionId: req.regionId,
            params: {
              LoadBalancerId: req.loadBalancerIds.slice(i, i + 10),
              ListenerProtocol: req.protocol,
              MaxResults: 100,
              NextToken: token,
            },
            write: false,
          });
          // A plain array here, unlike every other list in SLB; absent when empty.
          const items = Array.isArray(body.Listeners)
            ? body.Listeners.map(obj)
            : list(body, 'Listeners', 'Listener');
          out.push(...items.map((x) => toListener(x)));
          token = str(body.NextToken) || undefined;
        } while (token);
      }
      return out;
    },

    async describeHttpsListener(req: {
      regionId: string;
      loadBalancerId: string;
      listenerPort: number;
    }): Promise<HttpsListenerDetail> {
      const body = await describeAttribute('DescribeLoadBalancerHTTPSListenerAttribute', req);
      return {
        ...toListener({ ...body, LoadBalancerId: body.LoadBalancerId ?? req.loadBalancerId }, 'https'),
        listenerProtocol: 'https',
        domainExtensions: list(body, 'DomainExtensions', 'DomainExtension').map((d) => ({
          domainExtensionId: str(d.DomainExtensionId) ?? '',
          domain: str(d.Domain) ?? '',
          serverCertificateId: str(d.ServerCertificateId) ?? '',
        })),
        rules: list(body, 'Rules', 'Rule').map((r) => ({
          ruleId: str(r.RuleId) ?? '',
          ruleName: str(r.RuleName) ?? '',
          domain: str(r.Domain),
          url: str(r.Url),
          vServerGroupId: str(r.VServerGroupId) ?? '',
        })),
      };
    },

    async describeHttpListener(req: {
      regionId: string;
      loadBalancerId: string;
      listenerPort: number;
    }): Promise<Listener> {
      const body = await describeAttribute('DescribeLoadBalancerHTTPListenerAttribute', req);
      return {
        ...toListener({ ...body, LoadBalancerId: body.LoadBalancerId ?? req.loadBalancerId }, 'http'),
        listenerProtocol: 'http',
      };
    },

    async createHttpsListener(req: CreateListenerRequest & { serverCertificateId: string }): Promise<void> {
      await listenerCall('CreateLoadBalancerHTTPSListener', req, createParams(req), true);
    },

    async createHttpListener(req: CreateListenerRequest): Promise<void> {
      await listenerCall(
        'CreateLoadBalancerHTTPListener',
        req,
        {
          ...createParams(req),
          ...(req.forwardPort !== undefined
            ? {
                ListenerForward: 'on',
                ForwardPort: req.forwardPort,
                BackendServerPort:
                  req.backendServerPort ?? (req.vServerGroupId ? undefined : REDIRECT_BACKEND_PORT),
              }
            : {}),
        },
        true,
      );
    },

    setHttpsListenerAttribute: (req: SetListenerRequest) =>
      setAttribute('SetLoadBalancerHTTPSListenerAttribute', req),
    setHttpListenerAttribute: (req: SetListenerRequest) =>
      setAttribute('SetLoadBalancerHTTPListenerAttribute', req),

    startListener: (req: ListenerRef) => lifecycle('StartLoadBalancerListener', req),
    stopListener: (req: ListenerRef) => lifecycle('StopLoadBalancerListener', req),
    deleteListener: (req: ListenerRef) => lifecycle('DeleteLoadBalancerListener', req),
  };
}
