// The local stack, as `npm start`, `npm run demo`, `npm run invoke` and the end-to-end tests run it:
// the local cloud (the mall), real HTTP stand-ins for the K8S and ECS backends, and the local FC runtime
// hosting the four functions from their bundles (built first) with the triggers s.yaml declares.
// The backend stand-ins' control surface (npm run backend) runs beside them; on request, a monitor
// reads the status on a timer and serves the live status page. Function log lines are turned into
// events (rotations, rollbacks, failovers). Everything binds 127.0.0.1; `close()` stops all of it.

import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_OWNERSHIP } from '../shared/domain/ownership';
import { parseSpec, type Spec } from '../shared/domain/spec';
import { collectStatus } from '../shared/workflows/status';
import { newAccountKeyPem } from './acme';
import { type StandInControl, startStandInControl } from './backends/control';
import { type StandIn, startStandIn } from './backends/http-backend';
import { buildFunctions } from './build';
import { type FcRuntime, startFcRuntime } from './fc-runtime';
import { startPebble } from './local-cloud/acme/pebble';
import { connectLocalCloud } from './local-cloud/connect';
import { MALL } from './local-cloud/scenarios/mall-fixture';
import { type LocalCloud, type LocalCloudOptions, startLocalCloud } from './local-cloud/server';
import { EventLog, eventsFromLogLine } from './stack-events';
import { createMonitor, type Monitor } from './stack-monitor';
import { type StatusPage, startStatusPage } from './status-page/server';

export const ROOT = join(import.meta.dirname, '..');

export interface StackOptions {
  /** the local cloud's port: a number (falls back to a free port when taken) or 0 */
  cloudPort?: number;
  scenario?: LocalCloudOptions['scenario'];
  /** the spec the functions manage (default examples/mall.yaml); a function gets the ACME directory */
  specText?: string | ((local: { acmeDirectoryUrl?: string }) => string);
  /** preferred backend ports (default 30250 and 8050; a free port when taken) */
  backendPorts?: { k8s: number; ecs: number };
  /** 'auto' (npm start) or 'manual' (tests, demo) */
  timers?: 'auto' | 'manual';
  /** local cloud health checks: real probes on a timer, or ticked by the caller */
  healthChecks?: 'auto' | 'manual';
  /** rebuild dist/ first (default true) */
  build?: boolean;
  /** where function and runtime log lines go (default: nowhere) */
  log?: (line: string) => void;
  /** the provisioning API secret (default: random, printed by npm start) */
  apiSecret?: string;
  /** extra environment for every function */
  env?: Record<string, string>;
  /** the control surface's port (default: any free one) */
  controlPort?: number;
  /**
   * read the status every intervalMs and serve the live status page (preferred port; 0 = any); reads
   * 'manual': only when the caller ticks `monitor` (tests: one read per event, no clock)
   */
  live?: { intervalMs: number; port?: number; reads?: 'auto' | 'manual' };
  /**
   * run Pebble (a real ACME server, /usr/bin/pebble) beside the local cloud, validating against its DNS
   * server; the functions get its trust file and a fresh account key (default off)
   */
  acme?: boolean;
}

export interface Stack {
  cloud: LocalCloud;
  runtime: FcRuntime;
  backends: { k8s: StandIn; ecs: StandIn };
  apiSecret: string;
  specText: string;
  /** the provision function's HTTP trigger */
  provisionUrl?: string;
  /** kill, revive, slow, fail, flap the stand-ins from another process (npm run backend) */
  control: StandInControl;
  /** rotations, rollbacks, failovers, failbacks: from the functions' logs and the monitor */
  events: EventLog;
  monitor?: Monitor;
  statusPage?: StatusPage;
  /** the local ACME server, when started: its directory, and the PEM file to trust for its HTTPS */
  acme?: { directoryUrl: string; trustFile: string };
  close(): Promise<void>;
}

async function withFallback<T>(preferred: number, start: (port: number) => Promise<T>): Promise<T> {
  try {
    return await start(preferred);
  } catch (err) {
    if ((err as { code?: string }).code !== 'EADDRINUSE' || preferred === 0) throw err;
    return start(0);
  }
}

/** What the stack started so far, closed in reverse order (on close, or when a later start fails). */
class Started {
  private readonly items: { close(): Promise<void> }[] = [];
  add<T extends { close(): Promise<void> }>(item: T): T {
    this.items.push(item);
    return item;
  }
  async closeAll(): Promise<void> {
    for (const s of this.items.splice(0).reverse()) await s.close().catch(() => undefined);
  }
}

type AcmeSide = { directoryUrl: string; trustFile: string; env: Record<string, string> };

async function startBackends(o: StackOptions, started: Started) {
  const ports = o.backendPorts ?? { k8s: MALL.k8s.port, ecs: MALL.ecs.port };
  const k8s = started.add(
    await startStandIn({ name: MALL.k8s.description, port: ports.k8s, fallbackToFreePort: true }),
  );
  const ecs = started.add(
    await startStandIn({ name: MALL.ecs.description, port: ports.ecs, fallbackToFreePort: true }),
  );
  const cloud = started.add(
    await withFallback(o.cloudPort ?? 0, (port) =>
      startLocalCloud({ port, scenario: o.scenario ?? 'mall', healthChecks: o.healthChecks ?? 'auto' }),
    ),
  );
  cloud.setBackendAddress(`${MALL.k8s.serverId}:${MALL.k8s.port}`, `127.0.0.1:${k8s.port}`);
  cloud.setBackendAddress(`${MALL.ecs.serverId}:${MALL.ecs.port}`, `127.0.0.1:${ecs.port}`);
  const control = started.add(
    await withFallback(o.controlPort ?? 0, (port) => startStandInControl([k8s, ecs], { port })),
  );
  return { k8s, ecs, cloud, control };
}

/** Pebble beside the local cloud, validating against its DNS server; its CA file in a temporary folder. */
async function startAcme(cloud: LocalCloud, started: Started): Promise<AcmeSide> {
  const dns = cloud.dns();
  if (!dns) throw new Error('stack: the local cloud has no DNS server for the ACME server to ask');
  const pebble = await startPebble({ dnsServer: `${dns.host}:${dns.port}` });
  const dir = mkdtempSync(join(tmpdir(), 'slbap-acme-'));
  started.add({
    close: async () => {
      await pebble.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  });
  const trustFile = join(dir, 'acme-ca.pem');
  writeFileSync(trustFile, pebble.tlsCaPem);
  return {
    directoryUrl: pebble.directoryUrl,
    trustFile,
    // A fresh account for each stack: Pebble forgets its accounts when it stops anyway.
    env: { SLB_AUTOPILOT_ACME_CA_TRUST_FILE: trustFile, SLB_AUTOPILOT_ACME_ACCOUNT_KEY: newAccountKeyPem() },
  };
}

function stackSpecText(o: StackOptions, acme: AcmeSide | undefined): string {
  if (typeof o.specText === 'function')
    return o.specText({ ...(acme ? { acmeDirectoryUrl: acme.directoryUrl } : {}) });
  return o.specText ?? readFileSync(join(ROOT, 'examples', 'mall.yaml'), 'utf8');
}

/** `serverId:port` -> the backend's description, for events read from log lines. */
function backendNames(spec: Spec): Map<string, string> {
  return new Map(
    spec.loadBalancers.flatMap((lb) =>
      lb.vServerGroups.flatMap((g) =>
        g.backends.map(
          (b) => [`${b.serverId}:${b.port}`, b.description ?? `${b.serverId}:${b.port}`] as const,
        ),
      ),
    ),
  );
}

async function startLive(
  live: NonNullable<StackOptions['live']>,
  ctx: { cloud: LocalCloud; spec: Spec; events: EventLog },
  started: Started,
): Promise<{ monitor: Monitor; statusPage: StatusPage }> {
  const layer = connectLocalCloud(ctx.cloud);
  const monitor = createMonitor({
    // The stack's functions run as the default deployment: the same marker says what is theirs.
    collect: () => collectStatus(layer.slb, ctx.spec, new Date(), DEFAULT_OWNERSHIP),
    frontEnds: () => ctx.cloud.frontEnds(),
    events: ctx.events,
    intervalMs: live.intervalMs,
  });
  await monitor.tick();
  if (live.reads !== 'manual') monitor.start();
  started.add({ close: async () => monitor.stop() });
  const statusPage = started.add(
    await withFallback(live.port ?? 0, (port) => startStatusPage(monitor, { port })),
  );
  return { monitor, statusPage };
}

export async function startStack(o: StackOptions = {}): Promise<Stack> {
  const apiSecret = o.apiSecret ?? randomBytes(24).toString('base64url');
  if (o.build !== false)
    await buildFunctions({ functionsDir: join(ROOT, 'functions'), outDir: join(ROOT, 'dist') });
  const started = new Started();
  try {
    const { k8s, ecs, cloud, control } = await startBackends(o, started);
    const acme = o.acme ? await startAcme(cloud, started) : undefined;
    const specText = stackSpecText(o, acme);
    const spec = parseSpec(specText, { source: 'the stack spec' });
    const names = backendNames(spec);
    const events = new EventLog();
    const runtime = started.add(
      await startFcRuntime({
        sYamlPath: join(ROOT, 's.yaml'),
        timers: o.timers ?? 'auto',
        log: (line) => {
          events.push(...eventsFromLogLine(line, names));
          o.log?.(line);
        },
        interpolationEnv: {},
        env: {
          SLB_AUTOPILOT_LOCAL_CLOUD: cloud.url,
          SLB_AUTOPILOT_SPEC: specText,
          SLB_AUTOPILOT_API_SECRET: apiSecret,
          SLB_AUTOPILOT_VERIFY_ATTEMPTS: '5',
          SLB_AUTOPILOT_VERIFY_DELAY_MS: '200',
          ...acme?.env,
          ...o.env,
        },
      }),
    );
    const provisionUrl = runtime.functions().find((f) => f.resource === 'provision')?.httpUrl;
    const live = o.live ? await startLive(o.live, { cloud, spec, events }, started) : undefined;
    return {
      cloud,
      runtime,
      backends: { k8s, ecs },
      apiSecret,
      specText,
      control,
      events,
      ...live,
      ...(provisionUrl ? { provisionUrl } : {}),
      ...(acme ? { acme: { directoryUrl: acme.directoryUrl, trustFile: acme.trustFile } } : {}),
      close: () => started.closeAll(),
    };
  } catch (err) {
    await started.closeAll();
    throw err;
  }
}

// `npm run stack -- url <cloud|runtime|provision|control|status>` prints one URL of the running
// `npm start` (for pasting into curl); `npm run stack -- state` prints what its local cloud holds,
// indented (private keys redacted by the local cloud).
const STACK_USAGE = [
  'usage: npm run stack -- url <cloud|runtime|provision|control|status>   one URL of the running stack',
  '       npm run stack -- state                                          what its local cloud holds',
].join('\n');

const URLS = {
  cloud: 'cloudUrl',
  runtime: 'runtimeUrl',
  provision: 'provisionUrl',
  control: 'controlUrl',
  status: 'statusUrl',
} as const;

async function stackCli(): Promise<number> {
  const { parseCommandLine, readStackFile, STACK_FILE, UsageError } = await import('./cli');
  const { positionals } = parseCommandLine(process.argv.slice(2), {});
  const [command, which, extra] = positionals;
  if (command !== 'url' && command !== 'state')
    throw new UsageError(command ? `unknown command ${command}` : 'a command is needed');
  if (extra !== undefined || (command === 'state' && which !== undefined))
    throw new UsageError(`unexpected argument ${extra ?? which}`);
  const info = readStackFile();
  if (!info)
    throw new UsageError(
      `no running stack (${STACK_FILE}): start it with \`npm start\` in another terminal`,
      {
        showUsage: false,
      },
    );
  if (command === 'url') {
    const field = URLS[which as keyof typeof URLS];
    if (!field) throw new UsageError(`url: one of ${Object.keys(URLS).join(', ')}`);
    const url = info[field];
    if (!url) throw new UsageError(`the running stack has no ${which} URL`, { showUsage: false });
    console.log(url.replace(/\/$/, ''));
    return 0;
  }
  const res = await fetch(new URL('/_emulator/state', info.cloudUrl)).catch((err: Error) => {
    throw new UsageError(`the local cloud at ${info.cloudUrl} does not answer (${err.message})`, {
      showUsage: false,
    });
  });
  console.log(JSON.stringify(await res.json(), null, 2));
  return res.ok ? 0 : 1;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  void import('./cli').then(({ runMain }) => runMain('stack', STACK_USAGE, stackCli));
}
