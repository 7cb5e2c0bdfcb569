// The local stack, as `npm start`, `npm run demo`, `npm run invoke` and the end-to-end tests run it:
// the local cloud (the mall), real HTTP stand-ins for the K8S and ECS backends, and the local FC runtime
// hosting the four functions from their bundles (built first) with the triggers s.yaml declares.
// Everything binds 127.0.0.1; `close()` stops all of it.

import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type StandIn, startStandIn } from './backends/http-backend';
import { buildFunctions } from './build';
import { type FcRuntime, startFcRuntime } from './fc-runtime';
import { MALL } from './local-cloud/scenarios/mall-fixture';
import { type LocalCloud, type LocalCloudOptions, startLocalCloud } from './local-cloud/server';

export const ROOT = join(import.meta.dirname, '..');

export interface StackOptions {
  /** the local cloud's port: a number (falls back to a free port when taken) or 0 */
  cloudPort?: number;
  scenario?: LocalCloudOptions['scenario'];
  /** the spec the functions manage (default examples/mall.yaml) */
  specText?: string;
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
}

export interface Stack {
  cloud: LocalCloud;
  runtime: FcRuntime;
  backends: { k8s: StandIn; ecs: StandIn };
  apiSecret: string;
  specText: string;
  /** the provision function's HTTP trigger */
  provisionUrl?: string;
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

export async function startStack(o: StackOptions = {}): Promise<Stack> {
  const specText = o.specText ?? readFileSync(join(ROOT, 'examples', 'mall.yaml'), 'utf8');
  const apiSecret = o.apiSecret ?? randomBytes(24).toString('base64url');
  if (o.build !== false)
    await buildFunctions({ functionsDir: join(ROOT, 'functions'), outDir: join(ROOT, 'dist') });
  const started: { close(): Promise<void> }[] = [];
  try {
    const ports = o.backendPorts ?? { k8s: MALL.k8s.port, ecs: MALL.ecs.port };
    const k8s = await startStandIn({ name: MALL.k8s.description, port: ports.k8s, fallbackToFreePort: true });
    started.push(k8s);
    const ecs = await startStandIn({ name: MALL.ecs.description, port: ports.ecs, fallbackToFreePort: true });
    started.push(ecs);
    const cloud = await withFallback(o.cloudPort ?? 0, (port) =>
      startLocalCloud({ port, scenario: o.scenario ?? 'mall', healthChecks: o.healthChecks ?? 'auto' }),
    );
    started.push(cloud);
    cloud.setBackendAddress(`${MALL.k8s.serverId}:${MALL.k8s.port}`, `127.0.0.1:${k8s.port}`);
    cloud.setBackendAddress(`${MALL.ecs.serverId}:${MALL.ecs.port}`, `127.0.0.1:${ecs.port}`);
    const runtime = await startFcRuntime({
      sYamlPath: join(ROOT, 's.yaml'),
      timers: o.timers ?? 'auto',
      log: o.log ?? false,
      interpolationEnv: {},
      env: {
        SLB_AUTOPILOT_LOCAL_CLOUD: cloud.url,
        SLB_AUTOPILOT_SPEC: specText,
        SLB_AUTOPILOT_API_SECRET: apiSecret,
        SLB_AUTOPILOT_VERIFY_ATTEMPTS: '5',
        SLB_AUTOPILOT_VERIFY_DELAY_MS: '200',
        ...o.env,
      },
    });
    started.push(runtime);
    const provisionUrl = runtime.functions().find((f) => f.resource === 'provision')?.httpUrl;
    return {
      cloud,
      runtime,
      backends: { k8s, ecs },
      apiSecret,
      specText,
      ...(provisionUrl ? { provisionUrl } : {}),
      async close() {
        for (const s of started.reverse()) await s.close().catch(() => undefined);
      },
    };
  } catch (err) {
    for (const s of started.reverse()) await s.close().catch(() => undefined);
    throw err;
  }
}
