// `npm run emulator -- --port <p> [--scenario mall|mall-unprovisioned|empty|<file>] [--state <file>]
//   [--access-key-id <id>] [--access-key-secret <secret>]`: the local cloud in the foreground.

import { parseArgs } from 'node:util';
import {
  DEFAULT_ACCESS_KEY_ID,
  DEFAULT_ACCESS_KEY_SECRET,
  type LocalCloud,
  type LocalCloudOptions,
  startLocalCloud,
} from './local-cloud/server';

export interface EmulatorArgs {
  options: LocalCloudOptions;
  accessKeyId: string;
  /** whether the secret is the documented default (then it may be printed) */
  defaultSecret: boolean;
}

/** Parses and checks the command line; throws an Error naming the bad option. */
export function parseEmulatorArgs(argv: string[]): EmulatorArgs {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      port: { type: 'string', default: '8787' },
      scenario: { type: 'string', default: 'mall' },
      state: { type: 'string' },
      'access-key-id': { type: 'string' },
      'access-key-secret': { type: 'string' },
    },
  });
  if (!/^\d{1,5}$/.test(values.port) || Number(values.port) > 65535) {
    throw new Error(`--port: must be 0-65535, got ${values.port}`);
  }
  const accessKeyId = values['access-key-id'] ?? DEFAULT_ACCESS_KEY_ID;
  const secret = values['access-key-secret'] ?? DEFAULT_ACCESS_KEY_SECRET;
  if (accessKeyId.trim() === '') throw new Error('--access-key-id: must not be empty');
  if (secret.length < 8) throw new Error('--access-key-secret: must be at least 8 characters');
  return {
    options: {
      port: Number(values.port),
      scenario: values.scenario,
      ...(values.state ? { statePath: values.state } : {}),
      keys: { [accessKeyId]: { secret } },
    },
    accessKeyId,
    defaultSecret: values['access-key-secret'] === undefined,
  };
}

export function describeCloud(cloud: LocalCloud, args: EmulatorArgs): string {
  const secret = args.defaultSecret ? DEFAULT_ACCESS_KEY_SECRET : '(as given with --access-key-secret)';
  return [
    `local cloud (SLB 2014-05-15, CAS 2020-04-07) listening on ${cloud.url}`,
    `  endpoint ${cloud.endpoint} (protocol HTTP), region ${cloud.regionId}`,
    `  AccessKeyId ${args.accessKeyId}, AccessKeySecret ${secret}`,
    `  admin: ${cloud.url}/_emulator/state | calls | faults | health | reset`,
  ].join('\n');
}

async function main(): Promise<void> {
  let args: EmulatorArgs;
  try {
    args = parseEmulatorArgs(process.argv.slice(2));
  } catch (err) {
    console.error(`emulator: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(2);
  }
  const cloud = await startLocalCloud(args.options);
  console.log(describeCloud(cloud, args));
  const stop = () => {
    void cloud.close().then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((err: unknown) => {
    console.error(`emulator: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  });
}
