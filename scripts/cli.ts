// What the commands people type (autopilot, remote, invoke, backend, deploy) share: argument parsing
// that answers with usage text instead of Node's parse errors, spec files read with a clear message,
// the running stack's file (.local/stack.json), and the choice of cloud, printed before any call.

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type ParseArgsConfig, parseArgs } from 'node:util';
import { type CloudTarget, CloudTargetError, resolveCloudTarget } from '../shared/cloud/credentials';
import { ConfigError, loadConfig } from '../shared/runtime/config';

const ROOT = join(import.meta.dirname, '..');

/** Where `npm start` leaves its URLs and secret (SLB_AUTOPILOT_STACK_FILE moves it, e.g. in tests). */
export const STACK_FILE = process.env.SLB_AUTOPILOT_STACK_FILE || join(ROOT, '.local', 'stack.json');

export interface StackInfo {
  cloudUrl: string;
  runtimeUrl: string;
  apiSecret: string;
  provisionUrl?: string;
  /** the backend stand-ins' control surface (npm run backend) */
  controlUrl?: string;
  /** the live status page */
  statusUrl?: string;
  /** the local ACME server (Pebble), when it runs: its directory and the PEM file to trust for it */
  acmeDirectoryUrl?: string;
  acmeTrustFile?: string;
}

/** A mistake in the command line: the caller prints the message and the usage, and exits 2. */
export class UsageError extends Error {
  /** false for bad input the usage text would not help with (a missing file) */
  readonly showUsage: boolean;
  constructor(message: string, o: { showUsage?: boolean } = {}) {
    super(message);
    this.name = 'UsageError';
    this.showUsage = o.showUsage ?? true;
  }
}

type Options = NonNullable<ParseArgsConfig['options']>;

/** parseArgs, with its errors (unknown option, missing value) turned into one short UsageError. */
export function parseCommandLine<O extends Options>(args: readonly string[], options: O) {
  try {
    return parseArgs({ args: [...args], options, allowPositionals: true, strict: true });
  } catch (err) {
    const code = (err as { code?: string }).code;
    const m = /'([^']+)'/.exec((err as Error).message)?.[1];
    if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') throw new UsageError(`unknown option ${m ?? ''}`.trim());
    if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE')
      throw new UsageError(`option ${m?.split(' ')[0] ?? ''} needs a value`);
    throw new UsageError((err as Error).message);
  }
}

/** A spec (or body) file's text, or an error that says what is wrong with the path. */
export function readInputFile(path: string, what = 'spec file'): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as { code?: string }).code;
    const why =
      code === 'ENOENT'
        ? 'no such file'
        : code === 'EISDIR'
          ? 'it is a directory'
          : code === 'EACCES'
            ? 'permission denied'
            : (err as Error).message;
    throw new UsageError(`${what} ${path}: ${why}`, { showUsage: false });
  }
}

/** The running stack's file, if there is one (it may be stale: see liveStack). */
export function readStackFile(): StackInfo | undefined {
  if (!existsSync(STACK_FILE)) return undefined;
  try {
    return JSON.parse(readFileSync(STACK_FILE, 'utf8')) as StackInfo;
  } catch {
    return undefined;
  }
}

/** The stack of a running `npm start`: its file, and its local cloud answering. */
export async function liveStack(): Promise<StackInfo | undefined> {
  const info = readStackFile();
  if (!info) return undefined;
  try {
    const res = await fetch(new URL('/_emulator/calls', info.cloudUrl), {
      signal: AbortSignal.timeout(1000),
    });
    await res.body?.cancel();
    return res.ok ? info : undefined;
  } catch {
    return undefined;
  }
}

/** `--cloud` and `--profile`, as every cloud command takes them. */
export const TARGET_OPTIONS = {
  cloud: { type: 'string' },
  profile: { type: 'string' },
} as const satisfies Options;

export const TARGET_USAGE = [
  'Which cloud (printed first):',
  '  default              the local cloud of a running `npm start` (.local/stack.json),',
  '                       or SLB_AUTOPILOT_LOCAL_CLOUD=http://127.0.0.1:<port>',
  '  --cloud real         the real Alibaba Cloud, credentials from the @alicloud/credentials chain',
  '  --profile <name>     the real Alibaba Cloud with that credentials profile',
].join('\n');

/**
 * The cloud the command line chose. SLB_AUTOPILOT_LOCAL_CLOUD and its key pair are read through the
 * functions' configuration module (the same checks); the stack file only counts when its cloud answers.
 */
export async function chooseCloudTarget(values: { cloud?: string; profile?: string }): Promise<CloudTarget> {
  if (values.cloud !== undefined && values.cloud !== 'local' && values.cloud !== 'real')
    throw new UsageError(`--cloud: must be local or real (got ${JSON.stringify(values.cloud)})`);
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig(process.env);
  } catch (err) {
    if (err instanceof ConfigError) throw new CloudTargetError(err.message, { cause: err });
    throw err;
  }
  const env = {
    SLB_AUTOPILOT_LOCAL_CLOUD: config.SLB_AUTOPILOT_LOCAL_CLOUD,
    SLB_AUTOPILOT_LOCAL_ACCESS_KEY_ID: config.SLB_AUTOPILOT_LOCAL_ACCESS_KEY_ID,
    SLB_AUTOPILOT_LOCAL_ACCESS_KEY_SECRET: config.SLB_AUTOPILOT_LOCAL_ACCESS_KEY_SECRET,
  };
  const wantsReal = values.cloud === 'real' || values.profile !== undefined;
  const stack = wantsReal || env.SLB_AUTOPILOT_LOCAL_CLOUD ? undefined : await liveStack();
  if (!wantsReal && !env.SLB_AUTOPILOT_LOCAL_CLOUD && !stack && readStackFile())
    throw new CloudTargetError(
      `${STACK_FILE} names a local cloud (${readStackFile()?.cloudUrl}) but nothing answers there: is \`npm start\` still running?`,
    );
  return resolveCloudTarget(env, {
    ...(values.cloud ? { cloud: values.cloud as 'local' | 'real' } : {}),
    ...(values.profile !== undefined ? { profile: values.profile } : {}),
    ...(stack ? { stackCloudUrl: stack.cloudUrl } : {}),
  });
}

/** Runs a command's main: exit with its code; a UsageError prints the message and the usage (exit 2). */
export function runMain(name: string, usage: string, main: () => Promise<number>): void {
  main().then(
    (code) => process.exit(code),
    (err: unknown) => {
      if (err instanceof UsageError) {
        console.error(err.showUsage ? `${name}: ${err.message}\n\n${usage}` : `${name}: ${err.message}`);
        process.exit(2);
      }
      if (err instanceof CloudTargetError) {
        console.error(`${name}: ${err.message}`);
        process.exit(2);
      }
      console.error(`${name}: ${err instanceof Error ? err.message : String(err)}`);
      process.exit(1);
    },
  );
}
