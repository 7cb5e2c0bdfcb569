// Bundles each function (functions/<name>/index.ts) into its own self-contained CommonJS file,
// dist/<name>/index.js, which is what s.yaml deploys (handler `index.handler`) and what the local
// runtime loads. One bundle per function keeps cold starts small; sizes are printed for review.

import { existsSync, mkdirSync, readdirSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve, sep } from 'node:path';
import { parseArgs } from 'node:util';
import {
  build,
  type BuildOptions as EsbuildOptions,
  type Metafile,
  type OutputFile,
  type Plugin,
} from 'esbuild';

/**
 * Packages the Alibaba Cloud SDK core (@alicloud/openapi-client, @alicloud/gateway-spi) requires at load
 * but our RPC calls never or rarely reach: the credential chain (we hand the client the key FC gives
 * us) and the XML parser (only XML error bodies). Inside the bundle, the SDK's require of them gets a
 * stand-in that loads the real package on first use, so a cold start does not evaluate them.
 */
export const LAZY_SDK_DEPENDENCIES: readonly string[] = ['@alicloud/credentials', '@alicloud/tea-xml'];

const LAZY = 'lazy-sdk-dependency';
const IN_NODE_MODULES = `${sep}node_modules${sep}`;

/**
 * Packages our code loads only by dynamic import, on a path few invocations take (fc2: the audit's
 * hand-offs to the failover function). CommonJS output cannot be split, and inside index.js such a
 * package would still be read and parsed at every cold start though never run; so each gets its own
 * file beside index.js (package name -> file name), required on first use.
 */
export const SEPARATE_PACKAGES: Readonly<Record<string, string>> = { '@alicloud/fc2': 'fc2.js' };

/**
 * Points dynamic imports of SEPARATE_PACKAGES from our code at their own file, through a one-line module
 * that `require`s it (an external `import()` would stay an ES import in the CommonJS output); records
 * which were used.
 */
function separatePackages(files: Readonly<Record<string, string>>, used: Set<string>): Plugin {
  const namespace = 'separate-package';
  const filter = new RegExp(`^(${Object.keys(files).map(escapeRegExp).join('|')})$`);
  return {
    name: namespace,
    setup(b) {
      b.onResolve({ filter }, (args) => {
        if (args.kind !== 'dynamic-import' || args.importer.includes(IN_NODE_MODULES)) return undefined;
        used.add(args.path);
        return { path: args.path, namespace };
      });
      b.onLoad({ filter: /.*/, namespace }, (args) => ({
        contents: `module.exports = require(${JSON.stringify(`./${files[args.path]}`)});`,
        loader: 'js',
      }));
      b.onResolve({ filter: /.*/, namespace }, (args) => ({ path: args.path, external: true }));
    },
  };
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

/**
 * The stand-in module. A function export (a class, mostly) is a Proxy that loads the package only when
 * called, constructed or asked for a member, so the SDK may hold it (e.g. in a model's types()) without
 * loading anything; any other export loads the package when read.
 */
function standIn(realPath: string, functions: readonly string[], values: readonly string[]): string {
  return `let real;
const load = () => (real ??= require(${JSON.stringify(realPath)}));
Object.defineProperty(exports, '__esModule', { value: true });
for (const name of ${JSON.stringify(functions)}) {
  const proxy = new Proxy(function () {}, {
    get: (_, key) => Reflect.get(load()[name], key),
    apply: (_, self, args) => Reflect.apply(load()[name], self, args),
    construct: (_, args) => Reflect.construct(load()[name], args),
  });
  Object.defineProperty(exports, name, { enumerable: true, value: proxy });
}
for (const name of ${JSON.stringify(values)})
  Object.defineProperty(exports, name, { enumerable: true, get: () => load()[name] });
`;
}

/** Swaps LAZY_SDK_DEPENDENCIES, where a package under node_modules requires them, for stand-ins. */
export function lazySdkDependencies(packages: readonly string[] = LAZY_SDK_DEPENDENCIES): Plugin {
  const filter = new RegExp(`^(${packages.map(escapeRegExp).join('|')})$`);
  return {
    name: LAZY,
    setup(b) {
      b.onResolve({ filter }, async (args) => {
        if (args.pluginData === LAZY || !args.importer.includes(IN_NODE_MODULES)) return undefined;
        const real = await b.resolve(args.path, {
          kind: args.kind,
          importer: args.importer,
          resolveDir: args.resolveDir,
          pluginData: LAZY,
        });
        if (real.errors.length > 0) return { errors: real.errors };
        return { path: real.path, namespace: LAZY };
      });
      b.onLoad({ filter: /.*/, namespace: LAZY }, (args) => {
        // The exports, from the package itself (evaluated here, at build time, not in the bundle).
        const real = createRequire(args.path)(args.path) as Record<string, unknown>;
        const names = Object.keys(real).filter((n) => n !== '__esModule');
        const functions = names.filter((n) => typeof real[n] === 'function');
        const values = names.filter((n) => typeof real[n] !== 'function');
        return {
          contents: standIn(args.path, functions, values),
          loader: 'js',
          resolveDir: resolve(args.path, '..'),
        };
      });
    },
  };
}

export interface BuiltFunction {
  name: string;
  /** dist/<name>/index.js, what FC loads */
  outfile: string;
  /** its size: what every cold start reads */
  bytes: number;
  /** every file written to dist/<name>/ */
  files: string[];
  /** esbuild's account of index.js: what went in, from where */
  metafile: Metafile;
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
    const common = {
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
    } satisfies EsbuildOptions;
    const separate = new Set<string>();
    const main = await build({
      ...common,
      entryPoints: [join(options.functionsDir, name, 'index.ts')],
      outfile,
      metafile: true,
      plugins: [separatePackages(SEPARATE_PACKAGES, separate), lazySdkDependencies()],
    });
    const outputs: OutputFile[] = [...main.outputFiles];
    for (const pkg of separate) {
      const part = await build({
        ...common,
        stdin: {
          contents: `module.exports = require(${JSON.stringify(pkg)});`,
          resolveDir: join(options.functionsDir, name),
          sourcefile: `${pkg}.js`,
          loader: 'js',
        },
        outfile: join(outDir, SEPARATE_PACKAGES[pkg] as string),
        plugins: [lazySdkDependencies()],
      });
      outputs.push(...part.outputFiles);
    }
    // Each file lands whole (written aside, then renamed): a runtime loading the bundle while another
    // build runs never sees half a file.
    mkdirSync(outDir, { recursive: true });
    const files: string[] = [];
    const put = (path: string, contents: Uint8Array | string) => {
      const aside = `${path}.${process.pid}.tmp`;
      writeFileSync(aside, contents);
      renameSync(aside, path);
      files.push(path);
    };
    for (const f of outputs) put(f.path, f.contents);
    // FC loads index.js as CommonJS because no package.json is deployed with it; under this repo's
    // `"type": "module"` a plain `node dist/<name>/index.js` would not. This file makes both agree.
    put(join(outDir, 'package.json'), `${JSON.stringify({ type: 'commonjs' })}\n`);
    built.push({ name, outfile, bytes: statSync(outfile).size, files, metafile: main.metafile });
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
