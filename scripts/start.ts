// `npm start`: the local stack (scripts/stack.ts): the local cloud serving the mall on 127.0.0.1:8787 (or
// a free port if that one is taken; SLB_AUTOPILOT_PORT picks another, 0 = any) with real health checks,
// HTTP stand-ins for the K8S and ECS backends, and the local FC runtime hosting the four functions with
// their triggers (the audit's timer fires every minute). It prints the endpoints and a compact status
// read back through the project's own cloud layer, again whenever it changes; Ctrl-C stops everything.

import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Cloud } from '../shared/cloud/index';
import { STACK_FILE, type StackInfo } from './invoke';
import { connectLocalCloud } from './local-cloud/connect';
import { MALL } from './local-cloud/scenarios/mall-fixture';
import { DEFAULT_ACCESS_KEY_ID, DEFAULT_ACCESS_KEY_SECRET } from './local-cloud/server';
import { startStack } from './stack';

const PREFERRED_PORT = 8787;
const DAY = 86_400_000;

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
  const started = Date.now();
  const verbose = process.env.SLB_AUTOPILOT_VERBOSE === '1';
  const stack = await startStack({
    cloudPort: requested === undefined ? PREFERRED_PORT : Number(requested),
    timers: 'auto',
    healthChecks: 'auto',
    log: (line) => {
      // Function logs are long JSON reports; show one line each unless asked for everything.
      if (verbose) console.log(line);
      else if (/\[(WARN|ERROR)\]|handed|failover:|refused/.test(line)) console.log(line.slice(0, 240));
    },
  });
  const { cloud: local, runtime } = stack;
  mkdirSync(dirname(STACK_FILE), { recursive: true });
  const info: StackInfo = {
    cloudUrl: local.url,
    runtimeUrl: runtime.url,
    apiSecret: stack.apiSecret,
    ...(stack.provisionUrl ? { provisionUrl: stack.provisionUrl } : {}),
  };
  writeFileSync(STACK_FILE, `${JSON.stringify(info, null, 2)}\n`, { mode: 0o600 });
  const cloud = connectLocalCloud(local);
  const fnLines = runtime.functions().map((f) => {
    const triggers = f.triggers
      .map((t) => (t.type === 'http' && f.httpUrl ? `http ${f.httpUrl}` : `${t.type} ${t.name}`))
      .join(', ');
    return `    ${f.resource.padEnd(14)} ${f.built ? 'built' : 'not available (no bundle)'}${triggers ? `  [${triggers}]` : ''}`;
  });
  console.log(
    [
      `slb-autopilot local stack (up in ${((Date.now() - started) / 1000).toFixed(1)} s)`,
      `  local cloud (SLB 2014-05-15 + CAS 2020-04-07): ${local.url}`,
      `    endpoint ${local.endpoint}, protocol HTTP, region ${local.regionId}`,
      `    AccessKeyId ${DEFAULT_ACCESS_KEY_ID}  AccessKeySecret ${DEFAULT_ACCESS_KEY_SECRET}`,
      `    admin: ${local.url}/_emulator/state | calls | faults | health | front-ends | backend-addresses | reset`,
      `    use it from scripts: SLB_AUTOPILOT_LOCAL_CLOUD=${local.url}`,
      `  backends: K8S ${MALL.k8s.serverId}:${MALL.k8s.port} -> 127.0.0.1:${stack.backends.k8s.port}, ECS ${MALL.ecs.serverId}:${MALL.ecs.port} -> 127.0.0.1:${stack.backends.ecs.port}`,
      `  local FC runtime (fc2 invoke API): ${runtime.url}`,
      '  functions:',
      ...fnLines,
      `  provisioning API: ${stack.provisionUrl ?? 'not built'} (HMAC secret for this run in .local/stack.json)`,
      '    try: npm run remote -- status',
      '',
      'status:',
      ...(await statusLines(cloud, local.regionId, new Date())),
      '',
      'Ctrl-C stops everything.',
    ].join('\n'),
  );
  // A live status: printed again whenever it changes.
  let last = '';
  const timer = setInterval(() => {
    void statusLines(cloud, local.regionId, new Date())
      .then((lines) => {
        const text = lines.join('\n');
        if (last && text !== last)
          console.log(`\nstatus at ${new Date().toISOString().slice(11, 19)}:\n${text}`);
        last = text;
      })
      .catch(() => undefined);
  }, 5000);
  const stop = () => {
    clearInterval(timer);
    rmSync(STACK_FILE, { force: true });
    void stack.close().then(() => process.exit(0));
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
