// Where to open a TLS connection to see what a listener serves. On the real cloud: the load balancer's
// address and the listener port. On the local cloud: its TLS front end for that listener, a loopback
// port found through the emulator's admin route (GET /_emulator/front-ends), since loopback cannot
// give every load balancer its own port 443.

export interface ListenerEndpoint {
  host: string;
  port: number;
}

export type ListenerAddressResolver = (l: {
  loadBalancerId: string;
  address: string;
  listenerPort: number;
}) => Promise<ListenerEndpoint>;

export const cloudListenerAddress: ListenerAddressResolver = async (l) => ({
  host: l.address,
  port: l.listenerPort,
});

/** Asks the local cloud (its base URL, e.g. http://127.0.0.1:8787) on every call: ports change on restart. */
export function localCloudListenerAddress(baseUrl: string): ListenerAddressResolver {
  return async (l) => {
    const res = await fetch(new URL('/_emulator/front-ends', baseUrl), { signal: AbortSignal.timeout(5000) });
    if (!res.ok) throw new Error(`local cloud front ends: HTTP ${res.status}`);
    const list = (await res.json()) as {
      loadBalancerId: string;
      listenerPort: number;
      host: string;
      port: number;
    }[];
    const found = list.find(
      (f) => f.loadBalancerId === l.loadBalancerId && f.listenerPort === l.listenerPort,
    );
    if (!found)
      throw new Error(
        `local cloud: no TLS front end for ${l.loadBalancerId}:${l.listenerPort} (is the listener running?)`,
      );
    return { host: found.host, port: found.port };
  };
}

export function listenerAddressResolver(env: Record<string, string | undefined>): ListenerAddressResolver {
  return env.SLB_AUTOPILOT_LOCAL_CLOUD
    ? localCloudListenerAddress(env.SLB_AUTOPILOT_LOCAL_CLOUD)
    : cloudListenerAddress;
}
