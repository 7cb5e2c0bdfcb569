// `npm run invoke -- <function> [--event <file or JSON>] [--async]`: runs one function once, as the local
// runtime runs it (its bundle, its s.yaml settings, FC's handler contract), and prints its result and
// logs: the local twin of `s invoke`. Where its cloud calls go:
//   - the local stack, when `npm start` is running (it leaves its URLs in .local/stack.json);
//   - the real cloud, when ALIBABA_CLOUD_ACCESS_KEY_ID/_SECRET are set (and no stack is running);
//   - otherwise a fresh local cloud with the mall, started for this call and stopped after it.
// Exit code: 0 when the function succeeded, 1 when it failed, 2 on usage errors.

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { buildFunctions } from './build';
import { startFcRuntime } from './fc-runtime';
import { type LocalCloud, startLocalCloud } from './local-cloud/server';

const ROOT = join(import.meta.dirname, '..');
/** Where `npm start` leaves its URLs and secret (SLB_AUTOPILOT_STACK_FILE moves it, e.g. in tests). */
export const STACK_FILE = process.env.SLB_AUTOPILOT_STACK_FILE || join(ROOT, '.local', 'stack.json');

export interface StackInfo {
  cloudUrl: string;
  runtimeUrl: string;
  apiSecret: string;
  provisionUrl?: string;
}

async function runningStack(): Promise<StackInfo | undefined> {
  if (!existsSync(STACK_FILE)) return undefined;
  try {
    const info = JSON.parse(readFileSync(STACK_FILE, 'utf8')) as StackInfo;
    const res = await fetch(new URL('/_emulator/calls', info.cloudUrl), {
      signal: AbortSignal.timeout(1000),
    });
    return res.ok ? info : undefined;
  } catch {
    return undefined;
  }
}

function readEvent(value: string | undefined): string {
  if (value === undefined) return '{}';
  if (existsSync(value)) return readFileSync(value, 'utf8');
  try {
    JSON.parse(value);
  } catch {
    throw new Error(`--event: neither a file nor JSON: ${value.slice(0, 60)}`);
  }
  return value;
}

async function main(): Promise<number> {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: { event: { type: 'string' }, async: { type: 'boolean', default: false } },
  });
  const [name] = positionals;
  if (!name) {
    console.error(
      'usage: npm run invoke -- <cert-renewal|health-audit|failover|provision> [--event <file or JSON>] [--async]',
    );
    return 2;
  }
  let event: string;
  try {
    event = readEvent(values.event);
  } catch (err) {
    console.error(`invoke: ${(err as Error).message}`);
    return 2;
  }
  await buildFunctions({ functionsDir: join(ROOT, 'functions'), outDir: join(ROOT, 'dist') });
  const stack = await runningStack();
  const realKey = process.env.ALIBABA_CLOUD_ACCESS_KEY_ID;
  let fresh: LocalCloud | undefined;
  const env: Record<string, string> = {
    SLB_AUTOPILOT_SPEC:
      process.env.SLB_AUTOPILOT_SPEC || readFileSync(join(ROOT, 'examples', 'mall.yaml'), 'utf8'),
  };
  let where: string;
  if (stack) {
    env.SLB_AUTOPILOT_LOCAL_CLOUD = stack.cloudUrl;
    env.SLB_AUTOPILOT_API_SECRET = stack.apiSecret;
    env.SLB_AUTOPILOT_FC_ENDPOINT = stack.runtimeUrl;
    where = `the running local stack (${stack.cloudUrl})`;
  } else if (realKey && process.env.ALIBABA_CLOUD_ACCESS_KEY_SECRET) {
    where = 'the real cloud (ALIBABA_CLOUD_ACCESS_KEY_ID)';
  } else {
    fresh = await startLocalCloud({ port: 0, scenario: 'mall' });
    env.SLB_AUTOPILOT_LOCAL_CLOUD = fresh.url;
    where = `a fresh local cloud (${fresh.url})`;
  }
  const runtime = await startFcRuntime({
    sYamlPath: join(ROOT, 's.yaml'),
    timers: 'manual',
    log: false,
    env,
    ...(realKey && !stack && process.env.ALIBABA_CLOUD_ACCESS_KEY_SECRET
      ? {
          credentials: {
            accessKeyId: realKey,
            accessKeySecret: process.env.ALIBABA_CLOUD_ACCESS_KEY_SECRET,
            ...(process.env.ALIBABA_CLOUD_SECURITY_TOKEN
              ? { securityToken: process.env.ALIBABA_CLOUD_SECURITY_TOKEN }
              : {}),
          },
        }
      : {}),
  });
  try {
    console.error(`invoke: ${name} against ${where}`);
    if (values.async) {
      const record = await runtime.invoke(name, event, { async: true });
      const done = await runtime.waitForAsync(record.requestId);
      console.log(JSON.stringify(done, null, 2));
      return done.status === 'succeeded' ? 0 : 1;
    }
    const r = await runtime.invoke(name, event);
    for (const line of r.logs) console.error(line);
    console.log(
      typeof r.result === 'string' ? r.result : JSON.stringify(r.result ?? r.error ?? null, null, 2),
    );
    const failed =
      !r.ok ||
      (typeof r.result === 'object' && r.result !== null && (r.result as { ok?: unknown }).ok === false);
    console.error(
      `invoke: ${r.ok ? 'returned' : 'failed'} in ${r.durationMs} ms${r.coldStart ? ' (cold start)' : ''}`,
    );
    return failed ? 1 : 0;
  } finally {
    await runtime.close();
    await fresh?.close();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().then(
    (code) => process.exit(code),
    (err: unknown) => {
      console.error(`invoke: ${err instanceof Error ? err.message : String(err)}`);
      process.exit(1);
    },
  );
}
