// What the function bundles carry and how they load (the cold-start figures are in `npm run bench`):
// the build's package.json, packages kept out of index.js until first use, no heavy dependency creeping
// back in, and stack traces mapped back to the sources.
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BuiltFunction, buildFunctions, SEPARATE_PACKAGES } from '../../../scripts/build';
import { MALL } from '../../../scripts/local-cloud/scenarios/mall-fixture';
import {
  DEFAULT_ACCESS_KEY_ID,
  DEFAULT_ACCESS_KEY_SECRET,
  startLocalCloud,
} from '../../../scripts/local-cloud/server';
import { mapStack } from '../../../scripts/map-stack';

const root = join(__dirname, '..', '..', '..');
const scratch = mkdtempSync(join(tmpdir(), 'slbap-bundles-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** Runs `code` in a fresh node (no NODE_OPTIONS) and returns what it printed. */
function node(code: string, ...args: string[]): string {
  return execFileSync(process.execPath, ['-e', code, ...args], {
    env: { PATH: process.env.PATH ?? '' },
    encoding: 'utf8',
  });
}

/** The inputs esbuild put into index.js. */
function inputsOf(f: BuiltFunction): string[] {
  const out = f.metafile.outputs[relative(process.cwd(), f.outfile)];
  if (!out) throw new Error(`no metafile output for ${f.outfile}`);
  return Object.keys(out.inputs);
}

describe('the function bundles', () => {
  let built: BuiltFunction[] = [];
  beforeAll(async () => {
    built = await buildFunctions({ functionsDir: join(root, 'functions'), outDir: join(scratch, 'dist') });
  }, 120_000);

  it('build every function with a package.json that makes index.js CommonJS', () => {
    expect(built.map((f) => f.name)).toEqual(['cert-renewal', 'failover', 'health-audit', 'provision']);
    for (const f of built)
      expect(JSON.parse(readFileSync(join(scratch, 'dist', f.name, 'package.json'), 'utf8'))).toEqual({
        type: 'commonjs',
      });
  });

  it('carry no moment, lodash, ws, socks or @darabonba, and of zod only the en locale', () => {
    for (const f of built) {
      const inputs = inputsOf(f);
      expect(inputs.filter((p) => /node_modules\/(moment|lodash|ws|socks|@darabonba)\//.test(p))).toEqual([]);
      expect(inputs.filter((p) => p.includes('zod/v4/locales/'))).toEqual([
        'node_modules/zod/v4/locales/en.js',
      ]);
    }
  });

  it('keep fc2, the credential chain, the XML parser and the ACME client out of index.js, in files beside it', () => {
    for (const f of built) {
      const heavy = inputsOf(f).filter((p) =>
        /node_modules\/(@alicloud\/(fc2|credentials|tea-xml)|urllib|ali-oss|xml2js|sax|xmlbuilder|acme-client|axios|@peculiar|asn1js)\//.test(
          p,
        ),
      );
      expect(heavy, f.name).toEqual([]);
      // the SDK core requires the credential chain and tea-xml at load: every function gets their files
      const beside = Object.values(SEPARATE_PACKAGES).filter((file) =>
        existsSync(join(scratch, 'dist', f.name, file)),
      );
      // only the function that issues certificates from ACME CAs gets the ACME client
      expect(beside.sort(), f.name).toEqual(
        f.name === 'health-audit'
          ? ['credentials.js', 'fc2.js', 'tea-xml.js']
          : f.name === 'cert-renewal'
            ? ['acme-client.js', 'credentials.js', 'tea-xml.js']
            : ['credentials.js', 'tea-xml.js'],
      );
    }
  });

  it('load from their folder alone, as FC loads them, without evaluating fc2 or the credential chain', () => {
    for (const f of built) {
      const alone = join(scratch, 'alone', f.name);
      mkdirSync(alone, { recursive: true });
      for (const file of f.files)
        writeFileSync(join(alone, relative(join(scratch, 'dist', f.name), file)), readFileSync(file));
      // A module the bundle loads from disk shows in require.cache; the files beside index.js must not.
      const loaded = node(
        `require(process.argv[1]).handler; console.log(JSON.stringify(Object.keys(require.cache)))`,
        join(alone, 'index.js'),
      );
      expect(JSON.parse(loaded), f.name).toEqual([join(alone, 'index.js')]);
    }
  });
});

describe('a bundle calling the cloud with the key FC gives it', () => {
  it('signs with that key and never loads the credential chain', async () => {
    const cloud = await startLocalCloud({ scenario: 'mall', tlsFrontEnds: false });
    try {
      const dir = join(scratch, 'keyed', 'functions', 'lbs');
      mkdirSync(dir, { recursive: true });
      writeFileSync(
        join(dir, 'index.ts'),
        `import { staticCredentials } from ${JSON.stringify(join(root, 'shared/cloud/credentials'))};
import { createCloud } from ${JSON.stringify(join(root, 'shared/cloud/index'))};
export const handler = async (event: Buffer, context: { credentials: { accessKeyId: string; accessKeySecret: string } }) => {
  const { endpoint, regionId } = JSON.parse(event.toString());
  const cloud = createCloud({ target: { kind: 'local', endpoint, credentials: staticCredentials(context.credentials) } });
  return (await cloud.slb.describeLoadBalancers({ regionId })).map((lb) => lb.loadBalancerId);
};`,
      );
      const [f] = await buildFunctions({
        functionsDir: join(dir, '..'),
        outDir: join(scratch, 'keyed', 'dist'),
      });
      const seen = await new Promise<string>((done, fail) =>
        execFile(
          process.execPath,
          [
            '-e',
            `require(process.argv[1]).handler(Buffer.from(process.argv[2]), JSON.parse(process.argv[3])).then((ids) =>
              console.log(JSON.stringify({ ids, loaded: Object.keys(require.cache).map((p) => require('node:path').basename(p)) })));`,
            f!.outfile,
            JSON.stringify({ endpoint: cloud.endpoint, regionId: MALL.regionId }),
            JSON.stringify({
              credentials: { accessKeyId: DEFAULT_ACCESS_KEY_ID, accessKeySecret: DEFAULT_ACCESS_KEY_SECRET },
            }),
          ],
          { env: { PATH: process.env.PATH ?? '' }, encoding: 'utf8' },
          (err, stdout, stderr) => (err ? fail(new Error(stderr || String(err))) : done(stdout)),
        ),
      );
      expect(JSON.parse(seen)).toEqual({ ids: [MALL.loadBalancerId], loaded: ['index.js'] });
    } finally {
      await cloud.close();
    }
  });
});

describe('a package kept beside index.js', () => {
  // A stand-in SDK that requires a "heavy" package at load, as @alicloud/openapi-client requires
  // @alicloud/credentials, and a function that also imports the heavy package dynamically.
  const tree = join(scratch, 'stand-in');
  beforeAll(() => {
    const write = (path: string, text: string) => {
      mkdirSync(join(tree, path, '..'), { recursive: true });
      writeFileSync(join(tree, path), text);
    };
    write(
      'node_modules/heavy/index.js',
      `globalThis.heavyLoads = (globalThis.heavyLoads ?? 0) + 1;
Object.defineProperty(exports, '__esModule', { value: true });
class Client { constructor(key) { this.key = key; } sign() { return 'signed with ' + this.key; } static kind() { return 'static member'; } }
exports.default = Client;
exports.version = '1.2.3';`,
    );
    write(
      'node_modules/sdk/index.js',
      `var __importStar = (m) => (m && m.__esModule ? m : { default: m });
const heavy = __importStar(require('heavy'));
exports.types = () => ({ credential: heavy.default });
exports.make = (key) => new heavy.default(key);
exports.kind = () => heavy.default.kind();
exports.version = () => heavy.version;`,
    );
    write(
      'functions/probe/index.ts',
      `import * as sdk from 'sdk';
export const handler = async () => 'ok';
export const api = sdk;
export const later = () => import('heavy');`,
    );
  });

  it('is evaluated on first use, once, through the SDK stand-in and a dynamic import alike', async () => {
    const [f] = await buildFunctions({
      functionsDir: join(tree, 'functions'),
      outDir: join(tree, 'dist'),
      separate: { heavy: 'heavy.js' },
      lazySdk: ['heavy'],
    });
    expect(readFileSync(f!.outfile, 'utf8')).not.toContain('signed with');
    expect(existsSync(join(tree, 'dist', 'probe', 'heavy.js'))).toBe(true);
    const seen = node(
      `(async () => {
        const m = require(process.argv[1]);
        const seen = { atLoad: globalThis.heavyLoads ?? 0 };
        m.api.types();
        seen.afterHolding = globalThis.heavyLoads ?? 0;
        seen.signed = m.api.make('k-1').sign();
        seen.kind = m.api.kind();
        seen.version = m.api.version();
        const lazy = await m.later();
        seen.sameClass = lazy.default === require(require('node:path').join(process.argv[1], '..', 'heavy.js')).default;
        seen.loads = globalThis.heavyLoads;
        console.log(JSON.stringify(seen));
      })()`,
      f!.outfile,
    );
    expect(JSON.parse(seen)).toEqual({
      atLoad: 0,
      afterHolding: 0,
      signed: 'signed with k-1',
      kind: 'static member',
      version: '1.2.3',
      sameClass: true,
      loads: 1,
    });
  });

  it('leaves no stale file when the function stops reaching the package', async () => {
    writeFileSync(join(tree, 'functions/probe/index.ts'), `export const handler = async () => 'ok';`);
    await buildFunctions({
      functionsDir: join(tree, 'functions'),
      outDir: join(tree, 'dist'),
      separate: { heavy: 'heavy.js' },
      lazySdk: ['heavy'],
    });
    expect(existsSync(join(tree, 'dist', 'probe', 'heavy.js'))).toBe(false);
    expect(existsSync(join(tree, 'dist', 'probe', 'heavy.js.map'))).toBe(false);
  });
});

describe('package.json beside index.js', () => {
  it('makes the bundle load as CommonJS under a "type": "module" package, as FC loads it', async () => {
    const app = join(scratch, 'esm-app');
    mkdirSync(app, { recursive: true });
    writeFileSync(join(app, 'package.json'), JSON.stringify({ type: 'module' }));
    const [f] = await buildFunctions({
      functionsDir: join(root, 'test', 'fixtures', 'functions'),
      outDir: join(app, 'dist'),
    });
    const load = `console.log(typeof require(process.argv[1]).handler)`;
    expect(node(load, f!.outfile).trim()).toBe('function');
    // without it, node takes index.js for an ES module: no handler (or an error, by Node.js version)
    rmSync(join(app, 'dist', 'echo', 'package.json'));
    const r = spawnSync(process.execPath, ['-e', load, f!.outfile], { encoding: 'utf8' });
    expect(r.stdout.trim()).not.toBe('function');
  });
});

describe('map-stack', () => {
  it('maps a trace from a bundle back to the TypeScript source', async () => {
    const out = join(scratch, 'traced');
    const [f] = await buildFunctions({
      functionsDir: join(root, 'test', 'fixtures', 'functions'),
      outDir: out,
    });
    // as FC logs it: no --enable-source-maps, positions in the minified bundle
    const trace = node(
      `require(process.argv[1]).handler(Buffer.from('{not json'), { requestId: 'r' }).catch((e) => console.log(e.stack))`,
      f!.outfile,
    );
    expect(trace).toMatch(/echo\/index\.js:1:\d+/);
    const mapped = mapStack(trace, join(out, 'echo'), root);
    expect(mapped).toContain('(test/fixtures/functions/echo/index.ts:7:');
    expect(mapped).not.toMatch(/echo\/index\.js:1:\d+/);
    // a frame outside the bundle stays as it was
    expect(mapStack('at x (node:internal/vm:209:10)', join(out, 'echo'), root)).toBe(
      'at x (node:internal/vm:209:10)',
    );
  });
});
