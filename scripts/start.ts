// `npm start`: the local stack. For now the local cloud serving the mall, on 127.0.0.1:8787 (or a free
// port if that one is taken; SLB_AUTOPILOT_PORT picks another, 0 = any), with a status read back
// through the project's own cloud layer.

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Cloud } from '../shared/cloud/index';
import { connectLocalCloud } from './local-cloud/connect';
import {
  DEFAULT_ACCESS_KEY_ID,
  DEFAULT_ACCESS_KEY_SECRET,
  type LocalCloud,
  startLocalCloud,
} from './local-cloud/server';

export const FUNCTIONS = ['cert-renewal', 'health-audit', 'failover', 'provision'] as const;
const PREFERRED_PORT = 8787;
const DAY = 86_400_000;

async function startOnPreferredPort(port: number): Promise<LocalCloud> {
  try {
    return await startLocalCloud({ port, scenario: 'mall' });
  } catch (err) {
    if ((err as { code?: string }).code !== 'EADDRINUSE') throw err;
    return startLocalCloud({ port: 0, scenario: 'mall' });
  }
}

/** A compact status of every load balancer in the region, read through our typed SLB client. */
export async function statusLines(cloud: Cloud, regionId: string, now: Date): Promise<string[]> {
  const lines: string[] = [];
  const certs = new Map(
    (await cloud.slb.describeServerCertificates({ regionId })).map((c) => [c.serverCertificateId, c]),
  );
  const expiry = (id: string | undefined) => {
    const c = id ? certs.get(id) : undefined;
    if (!c) return 'no certificate';
    const days = Math.round((c.expireTimeStamp - now.getTime()) / DAY);
    return `${c.serverCertificateName} (${c.commonName}) expires in ${days} days`;
  };
  for (const lb of await cloud.slb.describeLoadBalancers({ regionId })) {
    lines.push(`${lb.loadBalancerId} ${lb.loadBalancerName} ${lb.address} ${lb.loadBalancerStatus}`);
    const health = await cloud.slb.describeHealthStatus({ regionId, loadBalancerId: lb.loadBalancerId });
    for (const l of await cloud.slb.describeListeners({ regionId, loadBalancerIds: [lb.loadBalancerId] })) {
      const head = `  ${l.listenerProtocol.toUpperCase()} ${l.listenerPort} ${l.status}`;
      if (l.listenerProtocol === 'https') {
        const detail = await cloud.slb.describeHttpsListener({
          regionId,
          loadBalancerId: lb.loadBalancerId,
          listenerPort: l.listenerPort,
        });
        lines.push(`${head}: ${expiry(detail.serverCertificateId)}`);
        for (const d of detail.domainExtensions)
          lines.push(`    ${d.domain}: ${expiry(d.serverCertificateId)}`);
      } else {
        lines.push(l.forwardPort ? `${head}: redirects to ${l.forwardPort}` : head);
      }
      if (l.vServerGroupId) {
        const group = await cloud.slb.describeVServerGroup({ regionId, vServerGroupId: l.vServerGroupId });
        for (const b of group.backendServers) {
          const h = health.find(
            (x) => x.listenerPort === l.listenerPort && x.serverId === b.serverId && x.port === b.port,
          );
          lines.push(
            `    ${b.serverId}:${b.port} weight ${b.weight} ${h?.state ?? 'unknown'}${b.description ? ` (${b.description})` : ''}`,
          );
        }
      }
    }
  }
  return lines;
}

async function main(): Promise<void> {
  const requested = process.env.SLB_AUTOPILOT_PORT;
  if (requested !== undefined && !/^\d{1,5}$/.test(requested))
    throw new Error(`SLB_AUTOPILOT_PORT: not a port: ${requested}`);
  const local = await startOnPreferredPort(requested === undefined ? PREFERRED_PORT : Number(requested));
  const cloud = connectLocalCloud(local);
  const root = join(import.meta.dirname, '..');
  console.log(
    [
      'slb-autopilot local stack',
      `  local cloud (SLB 2014-05-15 + CAS 2020-04-07): ${local.url}`,
      `    endpoint ${local.endpoint}, protocol HTTP, region ${local.regionId}`,
      `    AccessKeyId ${DEFAULT_ACCESS_KEY_ID}  AccessKeySecret ${DEFAULT_ACCESS_KEY_SECRET}`,
      `    admin: ${local.url}/_emulator/state | calls | faults | health | reset`,
      `    use it from scripts: SLB_AUTOPILOT_LOCAL_CLOUD=${local.url}`,
      '  functions:',
      ...FUNCTIONS.map(
        (f) =>
          `    ${f.padEnd(14)} ${existsSync(join(root, 'functions', f, 'index.ts')) ? 'present' : 'not available yet'}`,
      ),
      '',
      'status:',
      ...(await statusLines(cloud, local.regionId, new Date())),
      '',
      'Ctrl-C stops everything.',
    ].join('\n'),
  );
  const stop = () => {
    void local.close().then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((err: unknown) => {
    console.error(`start: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  });
}
