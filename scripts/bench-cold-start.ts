// The cold-start bench case (`npm run bench -- coldStart`): how long a fresh Node.js process takes to load
// each function's bundle as FC 3.0 loads it, above a bare `node` with the same options. As on FC:
//   - CommonJS, from the bundle's folder alone: dist/<fn>/ is copied to a temporary folder outside this
//     repo, so no node_modules and no `"type": "module"` package.json above it can help or change the load;
//   - with the NODE_OPTIONS that s.yaml gives the function;
//   - `require()` of index.js and reading `handler`, invoking nothing.
// Bare node and every function run in turn, round after round, so drift in the machine's speed hits all
// of them alike; medians are reported. Wall time is what a caller waits; CPU time (the process's own
// user + system time, read just before it exits) is the steadier figure on a shared, busy machine.
// One JSON line per function.

import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { buildFunctions } from './build';
import { readSYaml } from './fc-runtime/s-yaml';

export interface ColdStartOptions {
  /** fresh processes per function (and for bare node) */
  runs?: number;
  /** the built bundles, one folder per function (default dist) */
  distDir?: string;
  /** build functions/ into distDir first, as `npm run build` does (default true) */
  build?: boolean;
  /** s.yaml, for each function's NODE_OPTIONS and code folder */
  sYamlPath?: string;
}

export interface ColdStartTarget {
  function: string;
  /** the copied bundle folder */
  dir: string;
  nodeOptions: string;
  bundleBytes: number;
}

// Prints the process's CPU milliseconds so far (all threads, from process start).
const CPU = 'const u = process.cpuUsage(); process.stdout.write(String((u.user + u.system) / 1000))';
/** bare node: nothing but the CPU report */
const BARE = CPU;
/** loads the handler as FC's runtime does (require + property read); a missing handler fails the run */
const LOAD = `if (typeof require(process.argv[1]).handler !== 'function') process.exit(3); ${CPU}`;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

export interface NodeRun {
  /** spawn to exit, as the parent saw it */
  wallMs: number;
  /** what the child reported on stdout: its CPU milliseconds */
  cpuMs: number;
}

/** One fresh `node` with only PATH and NODE_OPTIONS in its environment; `args` must print CPU ms. */
export function timeNode(args: string[], nodeOptions: string): NodeRun {
  const env = { PATH: process.env.PATH ?? '', NODE_OPTIONS: nodeOptions };
  const t0 = performance.now();
  const r = spawnSync(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const wallMs = performance.now() - t0;
  const cpuMs = Number(r.stdout.toString());
  if (r.status !== 0 || !Number.isFinite(cpuMs))
    throw new Error(`node ${args.join(' ')} exited ${r.status ?? r.signal}: ${r.stderr.toString().trim()}`);
  return { wallMs, cpuMs };
}

/** Copies each function's bundle folder (as s.yaml names it) into `into`, with its NODE_OPTIONS. */
export function coldStartTargets(distDir: string, sYamlPath: string, into: string): ColdStartTarget[] {
  const app = readSYaml(readFileSync(sYamlPath, 'utf8'), {
    baseDir: resolve(sYamlPath, '..'),
    env: {},
    source: sYamlPath,
  });
  return app.functions.map((f) => {
    const name = basename(f.codeDir);
    const dir = join(into, name);
    cpSync(join(distDir, name), dir, { recursive: true });
    return {
      function: name,
      dir,
      nodeOptions: f.environmentVariables.NODE_OPTIONS ?? '',
      bundleBytes: statSync(join(dir, 'index.js')).size,
    };
  });
}

export async function coldStartCase(options: ColdStartOptions = {}): Promise<Record<string, unknown>[]> {
  const runs = options.runs ?? 15;
  const distDir = resolve(options.distDir ?? 'dist');
  if (options.build ?? true) await buildFunctions({ functionsDir: resolve('functions'), outDir: distDir });
  const scratch = mkdtempSync(join(tmpdir(), 'slbap-coldstart-'));
  try {
    const targets = coldStartTargets(distDir, resolve(options.sYamlPath ?? 's.yaml'), scratch);
    const optionSets = [...new Set(targets.map((t) => t.nodeOptions))];
    const bare = new Map(optionSets.map((o) => [o, [] as NodeRun[]]));
    const loads = new Map(targets.map((t) => [t.function, [] as NodeRun[]]));
    // One warm-up round (disk cache, first exec), not counted.
    for (let round = -1; round < runs; round++) {
      for (const o of optionSets) {
        const run = timeNode(['-e', BARE], o);
        if (round >= 0) bare.get(o)?.push(run);
      }
      for (const t of targets) {
        const run = timeNode(['-e', LOAD, join(t.dir, 'index.js')], t.nodeOptions);
        if (round >= 0) loads.get(t.function)?.push(run);
      }
    }
    const round1 = (n: number) => Math.round(n * 10) / 10;
    return targets.map((t) => {
      const b = bare.get(t.nodeOptions) ?? [];
      const l = loads.get(t.function) ?? [];
      const bareMs = median(b.map((r) => r.wallMs));
      const ms = median(l.map((r) => r.wallMs));
      const bareCpuMs = median(b.map((r) => r.cpuMs));
      const cpuMs = median(l.map((r) => r.cpuMs));
      return {
        case: 'coldStart',
        function: t.function,
        nodeOptions: t.nodeOptions,
        bareNodeMedianMs: round1(bareMs),
        medianMs: round1(ms),
        overBareMs: round1(ms - bareMs),
        bareNodeCpuMedianMs: round1(bareCpuMs),
        cpuMedianMs: round1(cpuMs),
        cpuOverBareMs: round1(cpuMs - bareCpuMs),
        runs,
        bundleBytes: t.bundleBytes,
      };
    });
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}
