// SLB 2014-05-15 action: DescribeHealthStatus (reference §6.5).
// One entry per (listener, backend of its VServer group). A listener that is not running or does not
// check reports `unavailable`. Otherwise, with the local cloud's real health checks on
// (health-checker.ts) the status is that listener's check of the backend (`unavailable` until its first
// check answers), and with them off it is what the admin API set (absent = `normal`); health forced
// through the admin API wins in both cases.
// Weight-0 backends: the real docs disagree on how CLB reports a backend that takes no traffic. The
// local cloud keeps checking them and reports the real result; the health audit must not rely on SLB
// for standbys anyway (it probes them itself), so it works with either behaviour.
import { type ActionContext, type ActionTable, read } from '../handler';
import { listenerBackendKey } from '../state';
import { findLoadBalancer } from './common';

function describeHealthStatus(ctx: ActionContext): Record<string, unknown> {
  const p = ctx.params;
  const lb = findLoadBalancer(ctx, p.requiredStr('LoadBalancerId'));
  const port = p.int('ListenerPort', { min: 1, max: 65535 });
  const protocol = p.oneOf('ListenerProtocol', ['http', 'https', 'tcp', 'udp']);
  const { backendHealth, listenerHealth } = ctx.state;
  const entries: Record<string, unknown>[] = [];
  for (const l of ctx.state.listeners) {
    if (l.loadBalancerId !== lb.loadBalancerId || !l.vServerGroupId) continue;
    if ((port !== undefined && l.listenerPort !== port) || (protocol && l.listenerProtocol !== protocol))
      continue;
    const group = ctx.state.vServerGroups.find((g) => g.vServerGroupId === l.vServerGroupId);
    for (const b of group?.backendServers ?? []) {
      const checked = l.status === 'running' && l.healthCheck.healthCheck === 'on';
      const backend = `${b.serverId}:${b.port}`;
      entries.push({
        ListenerPort: l.listenerPort,
        Protocol: l.listenerProtocol,
        Port: b.port,
        ServerId: b.serverId,
        ServerIp: b.serverIp,
        ServerHealthStatus: !checked
          ? 'unavailable'
          : listenerHealth
            ? (listenerHealth[listenerBackendKey(l, b)] ?? backendHealth[backend] ?? 'unavailable')
            : (backendHealth[backend] ?? 'normal'),
      });
    }
  }
  return { BackendServers: { BackendServer: entries } };
}

export const healthActions: ActionTable = {
  DescribeHealthStatus: read(describeHealthStatus),
};
