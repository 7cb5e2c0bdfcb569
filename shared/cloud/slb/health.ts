// Typed SLB action: DescribeHealthStatus, one call per load balancer for every listener and backend.
import { backendKey } from '../../domain/keys';
import type { RpcCaller } from '../rpc-types';
import { list, num, str } from './wire';

export const HEALTH_STATES = ['normal', 'abnormal', 'unavailable', 'unknown'] as const;
export type HealthState = (typeof HEALTH_STATES)[number];

export interface BackendHealth {
  listenerPort: number;
  protocol: string;
  serverId: string;
  serverIp?: string;
  port: number;
  /** normal = healthy, abnormal = unhealthy, unavailable = not checked yet; anything else -> unknown */
  state: HealthState;
}

export function healthApi(rpc: RpcCaller) {
  return {
    async describeHealthStatus(req: {
      regionId: string;
      loadBalancerId: string;
      listenerPort?: number;
      protocol?: string;
    }): Promise<BackendHealth[]> {
      const body = await rpc.call({
        product: 'slb',
        action: 'DescribeHealthStatus',
        regionId: req.regionId,
        params: {
          LoadBalancerId: req.loadBalancerId,
          ListenerPort: req.listenerPort,
          ListenerProtocol: req.protocol,
        },
        write: false,
      });
      return list(body, 'BackendServers', 'BackendServer').map((b) => {
        const raw = str(b.ServerHealthStatus) ?? '';
        return {
          listenerPort: num(b.ListenerPort) ?? 0,
          protocol: str(b.Protocol) ?? '',
          serverId: str(b.ServerId) ?? '',
          serverIp: str(b.ServerIp),
          port: num(b.Port) ?? 0,
          state: (HEALTH_STATES as readonly string[]).includes(raw) ? (raw as HealthState) : 'unknown',
        };
      });
    },
  };
}

// `unavailable` (a listener that does not check, or has not yet) says nothing, so it ranks below a
// definite answer: a backend that one listener checks normal and another does not check is normal (else
// a listener without health check would hide a recovered primary from failover and failback forever).
const WORST: Record<HealthState, number> = { abnormal: 3, unknown: 2, normal: 1, unavailable: 0 };

/** One state per backend (`serverId:port`): behind several listeners, the worst definite one wins. */
export function worstHealthByBackend(
  entries: readonly BackendHealth[],
): Map<string, { state: HealthState; ip?: string }> {
  const out = new Map<string, { state: HealthState; ip?: string }>();
  for (const e of entries) {
    const k = backendKey(e);
    const prev = out.get(k);
    if (!prev || WORST[e.state] > WORST[prev.state])
      out.set(k, { state: e.state, ...(e.serverIp ? { ip: e.serverIp } : {}) });
  }
  return out;
}
