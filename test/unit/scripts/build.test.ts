import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildFunctions, listFunctions } from '../../../scripts/build';

const fixtures = join(__dirname, '..', '..', 'fixtures', 'functions');
const out = mkdtempSync(join(tmpdir(), 'slbap-build-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

describe('build', () => {
  it('finds every folder with an index.ts', () => {
    expect(listFunctions(fixtures)).toEqual(['echo']);
    expect(listFunctions(join(fixtures, 'missing'))).toEqual([]);
  });

  it('bundles a function into one CommonJS file whose handler runs as FC calls it', async () => {
    const [built] = await buildFunctions({ functionsDir: fixtures, outDir: out });

    expect(built?.outfile).toBe(join(out, 'echo', 'index.js'));
    const mod = createRequire(import.meta.url)(built!.outfile) as {
      handler: (e: Buffer, c: { requestId: string }) => Promise<unknown>;
    };
    await expect(mod.handler(Buffer.from('{"value":42}'), { requestId: 'r-1' })).resolves.toEqual({
      requestId: 'r-1',
      echo: '42',
    });
  });

  it('refuses a function name that does not exist', async () => {
    await expect(buildFunctions({ functionsDir: fixtures, outDir: out, only: ['nope'] })).rejects.toThrow(
      /no function named nope/,
    );
  });
});
