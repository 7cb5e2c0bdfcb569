// `npm run invoke -- <function> [--event <file or JSON>] [--async] [--cloud real | --profile <name>]`: runs
// one function once, as the local runtime runs it (its bundle, its s.yaml settings, FC's handler
// contract), and prints its result and logs: the local twin of `s invoke`. Where its cloud calls go,
// printed first:
//   - the real cloud, only with `--cloud real` or `--profile <name>` (never because a key is set);
//   - the local cloud SLB_AUTOPILOT_LOCAL_CLOUD names;
//   - the local stack, when `npm start` is running (it leaves its URLs in .local/stack.json);
//   - otherwise a fresh local cloud with the mall, started for this call and stopped after it.
// Exit code: 0 when the function succeeded, 1 when it failed, 2 on usage errors.

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type AccessKey, describeCloudTarget, resolveCloudTarget } from '../shared/cloud/credentials';
import { buildFunctions } from './build';
import { chooseCloudTarget, liveStack, parseCommandLine, runMain, TARGET_OPTIONS, UsageError } from './cli';
import { startFcRuntime } from './fc-runtime';
import { type LocalCloud, startLocalCloud } from './local-cloud/server';

const ROOT = join(import.meta.dirname, '..');

export { STACK_FILE, type StackInfo } from './cli';

const FUNCTIONS = ['cert-renewal', 'health-audit', 'failover', 'provision'];

export const USAGE = [
  'usage: npm run invoke -- <cert-renewal|health-audit|failover|provision> [--event <file or JSON>] [--async]',
  '                         [--cloud real | --profile <name>]',
  'Where its calls go (printed first): the real cloud only with --cloud real or --profile; else the local',
  'cloud SLB_AUTOPILOT_LOCAL_CLOUD names; else a running `npm start`; else a fresh local cloud (the mall).',
].join('\n');

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
  const { positionals, values } = parseCommandLine(process.argv.slice(2), {
    ...TARGET_OPTIONS,
    event: { type: 'string' },
    async: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const [name, extra] = positionals;
  if (!name) throw new UsageError('which function?');
  if (!FUNCTIONS.includes(name)) throw new UsageError(`no function ${name} (known: ${FUNCTIONS.join(', ')})`);
  if (extra !== undefined) throw new UsageError(`unexpected argument ${extra}`);
  let event: string;
  try {
    event = readEvent(values.event);
  } catch (err) {
    throw new UsageError((err as Error).message, { showUsage: false });
  }
  const real = values.cloud === 'real' || values.profile !== undefined;
  const stack = real || process.env.SLB_AUTOPILOT_LOCAL_CLOUD ? undefined : await liveStack();
  let fresh: LocalCloud | undefined;
  const env: Record<string, string> = {
    SLB_AUTOPILOT_SPEC:
      process.env.SLB_AUTOPILOT_SPEC || readFileSync(join(ROOT, 'examples', 'mall.yaml'), 'utf8'),
  };
  let credentials: AccessKey | undefined;
  if (real || process.env.SLB_AUTOPILOT_LOCAL_CLOUD) {
    const target = await chooseCloudTarget(values);
    console.error(await describeCloudTarget(target, []));
    if (target.kind === 'local') env.SLB_AUTOPILOT_LOCAL_CLOUD = target.url ?? `http://${target.endpoint}`;
    else credentials = await target.credentials.get();
  } else if (stack) {
    env.SLB_AUTOPILOT_LOCAL_CLOUD = stack.cloudUrl;
    env.SLB_AUTOPILOT_API_SECRET = stack.apiSecret;
    env.SLB_AUTOPILOT_FC_ENDPOINT = stack.runtimeUrl;
    console.error(await describeCloudTarget(resolveCloudTarget({}, { stackCloudUrl: stack.cloudUrl }), []));
  } else {
    fresh = await startLocalCloud({ port: 0, scenario: 'mall' });
    env.SLB_AUTOPILOT_LOCAL_CLOUD = fresh.url;
    console.error(
      `target: a fresh local cloud ${fresh.url} (the mall; no stack is running), stopped afterwards`,
    );
  }
  await buildFunctions({ functionsDir: join(ROOT, 'functions'), outDir: join(ROOT, 'dist') });
  const runtime = await startFcRuntime({
    sYamlPath: join(ROOT, 's.yaml'),
    timers: 'manual',
    log: false,
    env,
    ...(credentials ? { credentials } : {}),
  });
  try {
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

if (import.meta.url === `file://${process.argv[1]}`) runMain('invoke', USAGE, main);
