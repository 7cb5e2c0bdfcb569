// SLB 2014-05-15 action: DescribeHealthStatus (reference §6.5).
// Health comes from state.backendHealth (set by the admin API; later by the data plane's real checks).
// A weight-0 backend is reported like any other: the real docs disagree on this, and the health audit
// must not rely on SLB for standbys anyway (it probes them itself).
import { type ActionContext, type ActionTable, read } from '../handler';
import { findLoadBalancer } from './common';

function describeHealthStatus(ctx: ActionContext): Record<string, unknown> {
  const p = ctx.params;
  const lb = findLoadBalancer(ctx, p.requiredStr('LoadBalancerId'));
  const port = p.int('ListenerPort', { min: 1, max: 65535 });
  const protocol = p.oneOf('ListenerProtocol', ['http', 'https', 'tcp', 'udp']);
  const entries: Record<string, unknown>[] = [];
  for (const l of ctx.state.listeners) {
    if (l.loadBalancerId !== lb.loadBalancerId || !l.vServerGroupId) continue;
    if ((port !== undefined && l.listenerPort !== port) || (protocol && l.listenerProtocol !== protocol))
      continue;
    const group = ctx.state.vServerGroups.find((g) => g.vServerGroupId === l.vServerGroupId);
    for (const b of group?.backendServers ?? []) {
      const checked = l.status === 'running' && l.healthCheck.healthCheck === 'on';
      entries.push({
        ListenerPort: l.listenerPort,
        Protocol: l.listenerProtocol,
        Port: b.port,
        ServerId: b.serverId,
        ServerIp: b.serverIp,
        ServerHealthStatus: checked
          ? (ctx.state.backendHealth[`${b.serverId}:${b.port}`] ?? 'normal')
          : 'unavailable',
      });
    }
  }
  return { BackendServers: { BackendServer: entries } };
}

export const healthActions: ActionTable = {
  DescribeHealthStatus: read(describeHealthStatus),
};
