// Bundles each function (functions/<name>/index.ts) into its own self-contained CommonJS file,
// dist/<name>/index.js, which is what s.yaml deploys (handler `index.handler`) and what the local
// runtime loads. One bundle per function keeps cold starts small; sizes are printed for review.
// Beside it: the packages loaded on first use (SEPARATE_PACKAGES), a source map per file (linked, not
// read at run time unless node runs with --enable-source-maps; `npm run map-stack` maps a logged
// trace), and a package.json that makes index.js CommonJS wherever it lies.

import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve, sep } from 'node:path';
import { parseArgs } from 'node:util';
import {
  build,
  type BuildOptions as EsbuildOptions,
  type Metafile,
  type OutputFile,
  type Plugin,
} from 'esbuild';

/**
 * Packages that get their own file beside index.js (package name -> file name), loaded on first use.
 * CommonJS output cannot be split, and a package inside index.js is read and parsed at every cold start
 * even when it never runs, so these stay out of index.js:
 *   - @alicloud/fc2: only the audit's hand-offs to the failover function use it (a dynamic import);
 *   - @alicloud/credentials: the default credential chain; functions sign with the key FC gives them;
 *   - @alicloud/tea-xml (xml2js, sax, xmlbuilder): only for an XML error body;
 *   - acme-client (with its axios and crypto libraries, about 0.9 MiB): only a run that issues a
 *     certificate from an ACME CA loads it (a dynamic import in shared/cloud/acme.ts).
 * The files are built only for the functions that reach the package.
 */
export const SEPARATE_PACKAGES: Readonly<Record<string, string>> = {
  '@alicloud/fc2': 'fc2.js',
  '@alicloud/credentials': 'credentials.js',
  '@alicloud/tea-xml': 'tea-xml.js',
  'acme-client': 'acme-client.js',
};

/**
 * Of SEPARATE_PACKAGES, those the Alibaba Cloud SDK core (@alicloud/openapi-client, @alicloud/gateway-spi)
 * requires at load: its require gets a stand-in (see standIn) that loads the file on first use.
 */
export const LAZY_SDK_DEPENDENCIES: readonly string[] = ['@alicloud/credentials', '@alicloud/tea-xml'];

const IN_NODE_MODULES = `${sep}node_modules${sep}`;
const SEPARATE = 'separate-package';
const STAND_IN = 'sdk-stand-in';

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

/**
 * The stand-in for a package the SDK requires at load. A function export (a class, mostly) is a Proxy
 * that loads the package only when called, constructed or asked for a member, so the SDK may hold it
 * (e.g. in a model's types()) without loading anything; any other export loads the package when read.
 */
function standIn(file: string, functions: readonly string[], values: readonly string[]): string {
  return `let real;
const load = () => (real ??= require(${JSON.stringify(`./${file}`)}));
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

/**
 * Keeps SEPARATE_PACKAGES out of the bundle: a dynamic import of one from our code becomes a require of
 * its file (an external `import()` would stay an ES import in the CommonJS output), and the SDK's
 * require of a LAZY_SDK_DEPENDENCIES package gets a stand-in. Records which packages were reached (name ->
 * resolved entry file), and leaves any other import of them (a static one from our code) in the bundle.
 */
export function separatePackages(
  used: Map<string, string>,
  files: Readonly<Record<string, string>> = SEPARATE_PACKAGES,
  lazySdk: readonly string[] = LAZY_SDK_DEPENDENCIES,
): Plugin {
  const filter = new RegExp(`^(${Object.keys(files).map(escapeRegExp).join('|')})$`);
  return {
    name: SEPARATE,
    setup(b) {
      b.onResolve({ filter }, async (args) => {
        if (args.pluginData === SEPARATE) return undefined;
        const fromSdk = args.importer.includes(IN_NODE_MODULES);
        const standIn = fromSdk && lazySdk.includes(args.path);
        if (!standIn && (fromSdk || args.kind !== 'dynamic-import')) return undefined;
        // The package as the importer would have found it: the separate file is built from it, and a
        // stand-in reads its export names from it (at build time, never in the bundle).
        const real = await b.resolve(args.path, {
          kind: args.kind,
          importer: args.importer,
          resolveDir: args.resolveDir,
          pluginData: SEPARATE,
        });
        if (real.errors.length > 0) return { errors: real.errors };
        used.set(args.path, real.path);
        return standIn
          ? { path: args.path, namespace: STAND_IN, pluginData: real.path }
          : { path: args.path, namespace: SEPARATE };
      });
      b.onLoad({ filter: /.*/, namespace: SEPARATE }, (args) => ({
        contents: `module.exports = require(${JSON.stringify(`./${files[args.path]}`)});`,
        loader: 'js',
      }));
      b.onLoad({ filter: /.*/, namespace: STAND_IN }, (args) => {
        const real = createRequire(args.pluginData)(args.pluginData) as Record<string, unknown>;
        const names = Object.keys(real).filter((n) => n !== '__esModule');
        return {
          contents: standIn(
            files[args.path] as string,
            names.filter((n) => typeof real[n] === 'function'),
            names.filter((n) => typeof real[n] !== 'function'),
          ),
          loader: 'js',
        };
      });
      // the files themselves sit beside index.js
      for (const namespace of [SEPARATE, STAND_IN])
        b.onResolve({ filter: /.*/, namespace }, (args) => ({ path: args.path, external: true }));
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
  /** packages that get their own file (default SEPARATE_PACKAGES) */
  separate?: Readonly<Record<string, string>>;
  /** of those, the ones the SDK requires at load and gets stand-ins for (default LAZY_SDK_DEPENDENCIES) */
  lazySdk?: readonly string[];
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
      sourcesContent: false,
      legalComments: 'none',
      logLevel: 'warning',
      // urllib (under @alicloud/fc2) requires it only when an HTTP proxy is configured
      external: ['proxy-agent'],
      write: false,
    } satisfies EsbuildOptions;
    const files = options.separate ?? SEPARATE_PACKAGES;
    const separate = new Map<string, string>();
    const main = await build({
      ...common,
      entryPoints: [join(options.functionsDir, name, 'index.ts')],
      outfile,
      metafile: true,
      plugins: [separatePackages(separate, files, options.lazySdk ?? LAZY_SDK_DEPENDENCIES)],
    });
    const outputs: OutputFile[] = [];
    for (const [pkg, entry] of separate) {
      const part = await build({
        ...common,
        stdin: {
          contents: `module.exports = require(${JSON.stringify(entry)});`,
          resolveDir: dirname(entry),
          sourcefile: `${pkg}.js`,
          loader: 'js',
        },
        outfile: join(outDir, files[pkg] as string),
      });
      outputs.push(...part.outputFiles);
    }
    // index.js last, so the files it points at are there first.
    outputs.push(...main.outputFiles);
    // Each file lands whole (written aside, then renamed): a runtime loading the bundle while another
    // build runs never sees half a file.
    mkdirSync(outDir, { recursive: true });
    const written: string[] = [];
    const put = (path: string, contents: Uint8Array | string) => {
      const aside = `${path}.${process.pid}.tmp`;
      writeFileSync(aside, contents);
      renameSync(aside, path);
      written.push(path);
    };
    for (const f of outputs) put(f.path, f.contents);
    // FC loads index.js as CommonJS because no package.json is deployed with it; under this repo's
    // `"type": "module"` a plain `node dist/<name>/index.js` would not. This file makes both agree.
    put(join(outDir, 'package.json'), `${JSON.stringify({ type: 'commonjs' })}\n`);
    // A package this function no longer reaches leaves no file behind to be deployed.
    for (const file of Object.values(files).flatMap((f) => [f, `${f}.map`])) {
      const path = join(outDir, file);
      if (!written.includes(path)) rmSync(path, { force: true });
    }
    built.push({ name, outfile, bytes: statSync(outfile).size, files: written, metafile: main.metafile });
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
