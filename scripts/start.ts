// `npm start`: the local stack (scripts/stack.ts): the local cloud serving the mall on 127.0.0.1:8787 (or
// a free port if that one is taken; SLB_AUTOPILOT_PORT picks another, 0 = any, and then every other
// server takes any free port too) with real health checks,
// HTTP stand-ins for the K8S and ECS backends, and the local FC runtime hosting the four functions with
// their triggers (the audit's timer fires every minute). It prints the endpoints and a compact status
// read back through the project's own cloud layer, again whenever it changes; Ctrl-C stops everything.
// With /usr/bin/pebble installed, a real ACME server runs beside the local cloud for `acme` sources.

import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { StatusReport } from '../shared/workflows/status';
import { STACK_FILE, type StackInfo } from './cli';
import { PREFERRED_PORTS } from './default-ports';
import { PEBBLE_BINARY, pebbleInstalled } from './local-cloud/acme/pebble';
import { MALL } from './local-cloud/scenarios/mall-fixture';
import { DEFAULT_ACCESS_KEY_ID, DEFAULT_ACCESS_KEY_SECRET } from './local-cloud/server';
import { type Stack, type StackOptions, startStack } from './stack';
import { eventLine } from './stack-events';
import { statusLines } from './status-text';

/** how often the status is read for the console and the status page */
const UPDATE_EVERY_MS = 2000;

/** What the console prints a status again for: anything but the read's own time. */
const statusKey = (r: StatusReport) => JSON.stringify({ ...r, at: '' });

/**
 * A function log line for the console, unless it is a report (those become events) or routine: warnings
 * and errors, without the timestamp and request id, whole.
 */
export function consoleLine(line: string): string | undefined {
  const m = /^\[([\w-]+)\] \S+ \S+ \[(WARN|ERROR)\] (.*)$/s.exec(line);
  if (!m || m[3]?.startsWith('{')) return undefined;
  return `${new Date().toISOString().slice(11, 19)} ${m[2] === 'ERROR' ? 'error' : 'warning'}          ${m[1]}: ${m[3]}`;
}

/** The stack as `npm start` runs it, from SLB_AUTOPILOT_PORT and SLB_AUTOPILOT_VERBOSE. */
function startOptions(env: NodeJS.ProcessEnv): StackOptions {
  const requested = env.SLB_AUTOPILOT_PORT;
  if (requested !== undefined && !/^\d{1,5}$/.test(requested))
    throw new Error(`SLB_AUTOPILOT_PORT: not a port: ${requested}`);
  const verbose = env.SLB_AUTOPILOT_VERBOSE === '1';
  // SLB_AUTOPILOT_PORT set: the local cloud there, and every other server on any free port, so a run
  // beside another stack (or a test run) never takes the mall's backend ports from it.
  const chosen = requested !== undefined;
  return {
    cloudPort: chosen ? Number(requested) : PREFERRED_PORTS.cloud,
    controlPort: chosen ? 0 : PREFERRED_PORTS.control,
    live: { intervalMs: UPDATE_EVERY_MS, port: chosen ? 0 : PREFERRED_PORTS.status },
    ...(chosen ? { backendPorts: { k8s: 0, ecs: 0 } } : {}),
    timers: 'auto',
    healthChecks: 'auto',
    // A real ACME server beside the local cloud when the Debian package is installed.
    acme: pebbleInstalled(),
    log: (line) => {
      if (verbose) return console.log(line);
      const shown = consoleLine(line);
      if (shown) console.log(shown);
    },
  };
}

/** .local/stack.json: where the other commands (remote, backend, invoke, stack) find this stack. */
function writeStackFile(stack: Stack): void {
  mkdirSync(dirname(STACK_FILE), { recursive: true });
  const info: StackInfo = {
    cloudUrl: stack.cloud.url,
    runtimeUrl: stack.runtime.url,
    apiSecret: stack.apiSecret,
    controlUrl: stack.control.url,
    ...(stack.statusPage ? { statusUrl: stack.statusPage.url } : {}),
    ...(stack.provisionUrl ? { provisionUrl: stack.provisionUrl } : {}),
    ...(stack.acme ? { acmeDirectoryUrl: stack.acme.directoryUrl, acmeTrustFile: stack.acme.trustFile } : {}),
  };
  writeFileSync(STACK_FILE, `${JSON.stringify(info, null, 2)}\n`, { mode: 0o600 });
}

function functionLines(stack: Stack): string[] {
  return stack.runtime.functions().map((f) => {
    const triggers = f.triggers
      .map((t) => (t.type === 'http' && f.httpUrl ? `http ${f.httpUrl}` : `${t.type} ${t.name}`))
      .join(', ');
    return `    ${f.resource.padEnd(14)} ${f.built ? 'built' : 'not available (no bundle)'}${triggers ? `  [${triggers}]` : ''}`;
  });
}

function localCloudLines(local: Stack['cloud']): string[] {
  return [
    `  local cloud (SLB 2014-05-15, CAS 2020-04-07, Alibaba Cloud DNS 2015-01-09): ${local.url}`,
    `    endpoint ${local.endpoint}, protocol HTTP, region ${local.regionId}`,
    `    AccessKeyId ${DEFAULT_ACCESS_KEY_ID}  AccessKeySecret ${DEFAULT_ACCESS_KEY_SECRET}`,
    `    admin: ${local.url}/_emulator/state | calls | faults | health | front-ends | backend-addresses | reset`,
    `    use it from scripts: SLB_AUTOPILOT_LOCAL_CLOUD=${local.url}`,
    ...(local.dns()
      ? [`    DNS server for its zones: ${local.dns()?.host}:${local.dns()?.port} (UDP and TCP)`]
      : []),
  ];
}

function banner(stack: Stack, upMs: number, first: StatusReport | undefined): string {
  return [
    `slb-autopilot local stack (up in ${(upMs / 1000).toFixed(1)} s)`,
    `  status page: ${stack.statusPage?.url ?? 'off'}  (live; updates every ${UPDATE_EVERY_MS / 1000} s)`,
    ...localCloudLines(stack.cloud),
    `  backends: K8S ${MALL.k8s.serverId}:${MALL.k8s.port} -> 127.0.0.1:${stack.backends.k8s.port}, ECS ${MALL.ecs.serverId}:${MALL.ecs.port} -> 127.0.0.1:${stack.backends.ecs.port}`,
    `    control: ${stack.control.url}  (npm run backend -- kill|revive|slow|fail|flap|heal k8s|ecs)`,
    `  local FC runtime (fc2 invoke API): ${stack.runtime.url}`,
    '  functions:',
    ...functionLines(stack),
    `  provisioning API: ${stack.provisionUrl ?? 'not built'} (HMAC secret for this run in .local/stack.json)`,
    stack.acme
      ? `  ACME server (Pebble, DNS-01 on the local DNS): ${stack.acme.directoryUrl} (trust ${stack.acme.trustFile})`
      : `  ACME server: off (install the Debian package pebble for ${PEBBLE_BINARY})`,
    '    try: npm run remote -- status',
    '',
    'status:',
    ...(first ? statusLines(first, new Date()) : ['(not read yet)']),
    '',
    'Events (rotations, rollbacks, failovers, failbacks) print here as one line each. Ctrl-C stops everything.',
  ].join('\n');
}

/** Events as they happen, and the status again whenever it changes (weights, health, certificates, pool). */
function follow(stack: Stack, first: StatusReport | undefined): void {
  stack.events.onEvent((e) => console.log(eventLine(e)));
  let last = first ? statusKey(first) : '';
  stack.monitor?.onUpdate((snap) => {
    if (!snap.status) return;
    const key = statusKey(snap.status);
    if (key === last) return;
    last = key;
    console.log(
      `\nstatus at ${snap.at.slice(11, 19)}:\n${statusLines(snap.status, new Date()).join('\n')}\n`,
    );
  });
}

async function main(): Promise<void> {
  const options = startOptions(process.env);
  const started = Date.now();
  const stack = await startStack(options);
  writeStackFile(stack);
  const first = stack.monitor?.snapshot().status;
  console.log(banner(stack, Date.now() - started, first));
  follow(stack, first);
  const stop = () => {
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
