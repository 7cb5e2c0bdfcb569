// The cold-start bench case (`npm run bench -- coldStart`): how long a fresh Node.js process takes to load
// each function's bundle as FC 3.0 loads it, above a bare `node` with the same options. As on FC:
//   - CommonJS, from the bundle's folder alone: dist/<fn>/ is copied to a temporary folder outside this
//     repo, so no node_modules and no `"type": "module"` package.json above it can help or change the load;
//   - with the NODE_OPTIONS that s.yaml gives the function;
//   - `require()` of index.js and reading `handler`, invoking nothing.
// Bare node and every function run in turn, round after round, so drift in the machine's speed hits all
// of them alike; medians are reported. One JSON line per function.

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

// Loads the handler as FC's runtime does (require + property read); a missing handler fails the run.
const LOAD = "if (typeof require(process.argv[1]).handler !== 'function') process.exit(3)";

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

/** Milliseconds one fresh `node` takes, start to exit, with only PATH and NODE_OPTIONS in its environment. */
export function timeNode(args: string[], nodeOptions: string): number {
  const env = { PATH: process.env.PATH ?? '', NODE_OPTIONS: nodeOptions };
  const t0 = performance.now();
  const r = spawnSync(process.execPath, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
  const ms = performance.now() - t0;
  if (r.status !== 0)
    throw new Error(`node ${args.join(' ')} exited ${r.status ?? r.signal}: ${r.stderr.toString().trim()}`);
  return ms;
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
    const bare = new Map(optionSets.map((o) => [o, [] as number[]]));
    const loads = new Map(targets.map((t) => [t.function, [] as number[]]));
    // One warm-up round (disk cache, first exec), not counted.
    for (let round = -1; round < runs; round++) {
      for (const o of optionSets) {
        const ms = timeNode(['-e', ''], o);
        if (round >= 0) bare.get(o)?.push(ms);
      }
      for (const t of targets) {
        const ms = timeNode(['-e', LOAD, join(t.dir, 'index.js')], t.nodeOptions);
        if (round >= 0) loads.get(t.function)?.push(ms);
      }
    }
    const round1 = (n: number) => Math.round(n * 10) / 10;
    return targets.map((t) => {
      const bareMs = median(bare.get(t.nodeOptions) ?? []);
      const ms = median(loads.get(t.function) ?? []);
      return {
        case: 'coldStart',
        function: t.function,
        nodeOptions: t.nodeOptions,
        bareNodeMedianMs: round1(bareMs),
        medianMs: round1(ms),
        overBareMs: round1(ms - bareMs),
        runs,
        bundleBytes: t.bundleBytes,
      };
    });
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}
