// `npm run backend -- <kill|revive|heal|slow|fail|flap|show> <k8s|ecs> [value]`: drives the backend
// stand-ins of a running `npm start` through their control surface (its URL is in .local/stack.json),
// and prints the stand-in's state afterwards. `slow k8s 1500` delays answers by 1500 ms, `fail k8s 503`
// answers the health check with 503, `flap k8s 3000` goes down and up every 3 s; `heal` ends all of
// these, `revive` undoes `kill`. Exit codes: 0 done, 1 refused by the stand-in, 2 usage.

import { parseCommandLine, readStackFile, runMain, STACK_FILE, UsageError } from './cli';
import { MALL } from './local-cloud/scenarios/mall-fixture';

export const BACKENDS = { k8s: MALL.k8s.description, ecs: MALL.ecs.description } as const;

/** command -> the body field its value goes in, and a default */
const COMMANDS: Record<string, { field?: string; fallback?: number; undo: string }> = {
  kill: { undo: 'revive' },
  revive: { undo: 'kill' },
  heal: { undo: '(nothing to undo)' },
  slow: { field: 'ms', fallback: 1500, undo: 'heal' },
  fail: { field: 'status', fallback: 503, undo: 'heal' },
  flap: { field: 'periodMs', fallback: 3000, undo: 'heal' },
  show: { undo: '(nothing to undo)' },
};

export const USAGE = [
  'usage: npm run backend -- <command> <k8s|ecs> [value]',
  '  kill            stop listening: connections refused (undo: revive)',
  '  revive          listen again on the same port',
  '  slow [ms]       delay every answer (default 1500 ms; undo: heal)',
  '  fail [status]   answer the health check with this status (default 503; undo: heal)',
  '  flap [ms]       down, up, down ... every ms (default 3000; undo: heal)',
  '  heal            back to normal: listening, no delay, no failure, no flapping',
  '  show            the stand-in’s state',
  'Needs `npm start` running in another terminal.',
].join('\n');

interface StandInState {
  name: string;
  port: number;
  listening: boolean;
  failingWith?: number;
  slowMs: number;
  flapping: boolean;
}

export function describeState(which: string, s: StandInState): string {
  const parts = [s.listening ? 'listening' : 'down (connections refused)'];
  if (s.failingWith) parts.push(`health check answers ${s.failingWith}`);
  if (s.slowMs) parts.push(`answers delayed ${s.slowMs} ms`);
  if (s.flapping) parts.push('flapping');
  return `${which} (${s.name}, 127.0.0.1:${s.port}): ${parts.join(', ')}`;
}

async function main(): Promise<number> {
  const { positionals, values } = parseCommandLine(process.argv.slice(2), {
    help: { type: 'boolean', short: 'h', default: false },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const [command, which, value, extra] = positionals;
  if (command === undefined) throw new UsageError('a command is needed');
  const spec = COMMANDS[command];
  if (!spec) throw new UsageError(`unknown command ${command}`);
  if (which === undefined) throw new UsageError(`${command}: which backend, k8s or ecs?`);
  const name = BACKENDS[which as keyof typeof BACKENDS];
  if (!name) throw new UsageError(`no backend ${which} (k8s or ecs)`);
  if (extra !== undefined || (value !== undefined && !spec.field))
    throw new UsageError(`unexpected argument ${extra ?? value}`);
  let body: Record<string, number> = {};
  if (spec.field) {
    const n = value === undefined ? spec.fallback : Number(value);
    if (n === undefined || !Number.isInteger(n) || n < 0)
      throw new UsageError(`${command}: ${spec.field} must be a whole number (got ${value})`);
    body = { [spec.field]: n };
  }
  const stack = readStackFile();
  if (!stack?.controlUrl)
    throw new UsageError(
      `no running stack (${STACK_FILE}): start it with \`npm start\` in another terminal`,
      {
        showUsage: false,
      },
    );
  const path = `/_standins/${name}${command === 'show' ? '' : `/${command}`}`;
  let res: Response;
  try {
    res = await fetch(new URL(path, stack.controlUrl), {
      method: command === 'show' ? 'GET' : 'POST',
      ...(command === 'show'
        ? {}
        : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(5000),
    });
  } catch (err) {
    throw new UsageError(
      `the control surface at ${stack.controlUrl} does not answer (${(err as Error).message}): is \`npm start\` still running?`,
      { showUsage: false },
    );
  }
  const answer = (await res.json()) as StandInState | { error: string };
  if (!res.ok || 'error' in answer) {
    console.error(`backend: ${'error' in answer ? answer.error : res.status}`);
    return 1;
  }
  console.log(describeState(which, answer));
  if (command !== 'show' && command !== 'heal')
    console.log(`  undo: npm run backend -- ${spec.undo} ${which}`);
  return 0;
}

if (import.meta.url === `file://${process.argv[1]}`) runMain('backend', USAGE, main);
