// Bundles each function (functions/<name>/index.ts) into its own self-contained CommonJS file,
// dist/<name>/index.js, which is what s.yaml deploys (handler `index.handler`) and what the local
// runtime loads. One bundle per function keeps cold starts small; sizes are printed for review.

import { existsSync, mkdirSync, readdirSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { build } from 'esbuild';

export interface BuiltFunction {
  name: string;
  outfile: string;
  bytes: number;
}

export interface BuildOptions {
  functionsDir: string;
  outDir: string;
  /** only these functions (default: every folder with an index.ts) */
  only?: readonly string[];
  minify?: boolean;
}

export function listFunctions(functionsDir: string): string[] {
  if (!existsSync(functionsDir)) return [];
  return readdirSync(functionsDir)
    .filter((name) => existsSync(join(functionsDir, name, 'index.ts')))
    .sort();
}

export async function buildFunctions(options: BuildOptions): Promise<BuiltFunction[]> {
  const all = listFunctions(options.functionsDir);
  const unknown = (options.only ?? []).filter((n) => !all.includes(n));
  if (unknown.length > 0) {
    throw new Error(
      `no function named ${unknown.join(', ')} under ${options.functionsDir} (have: ${all.join(', ') || 'none'})`,
    );
  }
  const names = options.only && options.only.length > 0 ? [...options.only] : all;
  const built: BuiltFunction[] = [];
  for (const name of names) {
    const outDir = join(options.outDir, name);
    const outfile = join(outDir, 'index.js');
    const result = await build({
      entryPoints: [join(options.functionsDir, name, 'index.ts')],
      outfile,
      bundle: true,
      platform: 'node',
      target: 'node20',
      format: 'cjs',
      minify: options.minify ?? true,
      sourcemap: 'linked',
      legalComments: 'none',
      logLevel: 'warning',
      // urllib (under @alicloud/fc2) requires it only when an HTTP proxy is configured
      external: ['proxy-agent'],
      write: false,
    });
    // Each file lands whole (written aside, then renamed): a runtime loading the bundle while another
    // build runs never sees half a file.
    mkdirSync(outDir, { recursive: true });
    for (const f of result.outputFiles) {
      const aside = `${f.path}.${process.pid}.tmp`;
      writeFileSync(aside, f.contents);
      renameSync(aside, f.path);
    }
    built.push({ name, outfile, bytes: statSync(outfile).size });
  }
  return built;
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      'functions-dir': { type: 'string', default: 'functions' },
      out: { type: 'string', default: 'dist' },
      'no-minify': { type: 'boolean', default: false },
    },
  });
  const built = await buildFunctions({
    functionsDir: resolve(values['functions-dir']),
    outDir: resolve(values.out),
    only: positionals,
    minify: !values['no-minify'],
  });
  if (built.length === 0) {
    console.log(`no functions to build under ${values['functions-dir']}/ (each needs an index.ts)`);
    return;
  }
  for (const f of built)
    console.log(`${f.name.padEnd(16)} ${(f.bytes / 1024).toFixed(1).padStart(8)} KiB  ${f.outfile}`);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
