// The layer rules of DESIGN.md hold for the real code (shared/, functions/), checked on the import graph
// the TypeScript compiler reads; and the check itself sees every import form and names file:line and
// rule, so it cannot pass by missing an import. biome.json restricts the same imports by their text,
// for the editor; this graph is the authority (it resolves paths and allows packages by name).
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { importSites, type SourceTree } from '../support/import-graph';
import { checkImports, repositoryTree } from '../support/import-rules';

const ROOT = join(import.meta.dirname, '..', '..');

const memoryTree = (files: Record<string, string>): SourceTree => ({
  files: () => Object.keys(files).sort(),
  read: (p) => files[p],
});

describe('import rules on the real code', () => {
  it('shared/ and functions/ break no layer rule', () => {
    // Prepare
    const tree = repositoryTree(ROOT, ['shared', 'functions']);
    // Act
    const violations = checkImports(tree);
    // Assess: the messages name file:line and rule, so a failure reads as a to-do list.
    expect(violations.map((v) => v.message)).toEqual([]);
    expect(tree.files().filter((f) => f.startsWith('shared/domain/')).length).toBeGreaterThan(5);
  });
});

describe('import sites', () => {
  it('finds every import form with its line, type-only ones marked', () => {
    const text = [
      "import { a } from './a';",
      "import type { B } from './b';",
      "export { c } from './c';",
      "export type { D } from './d';",
      "export * from './e';",
      "const f = await import('./f');",
      "type G = typeof import('./g');",
      "import h = require('./h');",
      "import './i';",
    ].join('\n');
    expect(importSites('x.ts', text)).toEqual([
      { specifier: './a', line: 1, typeOnly: false },
      { specifier: './b', line: 2, typeOnly: true },
      { specifier: './c', line: 3, typeOnly: false },
      { specifier: './d', line: 4, typeOnly: true },
      { specifier: './e', line: 5, typeOnly: false },
      { specifier: './f', line: 6, typeOnly: false },
      { specifier: './g', line: 7, typeOnly: true },
      { specifier: './h', line: 8, typeOnly: false },
      { specifier: './i', line: 9, typeOnly: false },
    ]);
  });
});

describe('import rules on planted violations', () => {
  const base = {
    'shared/domain/spec.ts': "export const spec = 1;\nimport { z } from 'zod';\n",
    'shared/domain/certificate.ts': "import { X509Certificate } from 'node:crypto';\n",
    'shared/errors.ts': 'export class AutopilotError extends Error {}\n',
    'shared/cloud/errors.ts': "import { AutopilotError } from '../errors';\n",
    'shared/cloud/index.ts': "export * from './errors';\n",
    'shared/runtime/log.ts': 'export const log = 1;\n',
    'shared/workflows/apply.ts': "import { spec } from '../domain/spec';\nimport '../cloud';\n",
    'functions/provision/index.ts': "import { log } from '../../shared/runtime/log';\n",
    'scripts/local-cloud/server.ts': 'export const s = 1;\n',
  };

  it('lets the layered tree pass', () => {
    expect(checkImports(memoryTree(base))).toEqual([]);
  });

  it.each([
    [
      'the domain imports cloud errors (resolved through a folder index)',
      { 'shared/domain/plan.ts': "\n\nimport type { CloudError } from '../cloud';\n" },
      [{ rule: 'domain-is-pure', at: 'shared/domain/plan.ts:3' }],
    ],
    [
      'the domain imports the runtime by a roundabout path',
      { 'shared/domain/plan.ts': "const m = await import('../../shared/runtime/log.ts');\n" },
      [{ rule: 'domain-is-pure', at: 'shared/domain/plan.ts:1' }],
    ],
    [
      'the domain re-exports from workflows',
      { 'shared/domain/plan.ts': "export { x } from '../workflows/apply';\n" },
      [{ rule: 'domain-is-pure', at: 'shared/domain/plan.ts:1' }],
    ],
    [
      'the domain reads a file (built-in named without node:)',
      { 'shared/domain/plan.ts': "import { readFileSync } from 'fs';\n" },
      [{ rule: 'domain-is-pure', at: 'shared/domain/plan.ts:1' }],
    ],
    [
      'the domain imports an SDK',
      { 'shared/domain/plan.ts': "import Client from '@alicloud/openapi-client';\n" },
      [{ rule: 'domain-is-pure', at: 'shared/domain/plan.ts:1' }],
    ],
    [
      'the error family imports the cloud',
      { 'shared/errors.ts': "import type { CloudError } from './cloud/errors';\n" },
      [{ rule: 'domain-is-pure', at: 'shared/errors.ts:1' }],
    ],
    [
      'a function imports scripts/',
      { 'functions/provision/app.ts': "import { s } from '../../scripts/local-cloud/server';\n" },
      [{ rule: 'production-never-imports-scripts', at: 'functions/provision/app.ts:1' }],
    ],
    [
      'a workflow imports scripts/ and the runtime',
      {
        'shared/workflows/apply.ts':
          "import { s } from '../../scripts/local-cloud/server';\nimport { log } from '../runtime/log';\n",
      },
      [
        { rule: 'production-never-imports-scripts', at: 'shared/workflows/apply.ts:1' },
        { rule: 'workflows-below-runtime', at: 'shared/workflows/apply.ts:2' },
      ],
    ],
    [
      'the cloud imports a workflow',
      { 'shared/cloud/slb.ts': "import type { Plan } from '../workflows/apply';\n" },
      [{ rule: 'cloud-below-workflows', at: 'shared/cloud/slb.ts:1' }],
    ],
    [
      'the runtime imports a function',
      { 'shared/runtime/http.ts': "import '../../functions/provision/index';\n" },
      [{ rule: 'runtime-below-functions', at: 'shared/runtime/http.ts:1' }],
    ],
  ])('names %s', (_name, planted, expected) => {
    // Prepare
    const tree = memoryTree({ ...base, ...planted });
    // Act
    const violations = checkImports(tree);
    // Assess
    expect(violations.map(({ rule, at }) => ({ rule, at }))).toEqual(expected);
    for (const v of violations) {
      expect(v.message.startsWith(`${v.at}: imports '${v.specifier}' (`)).toBe(true);
      expect(v.message).toContain(`: breaks ${v.rule}: `);
    }
  });

  it('lets scripts/ and test/ import scripts/', () => {
    const tree = memoryTree({
      ...base,
      'scripts/demo/index.ts': "import { s } from '../local-cloud/server';\n",
      'test/e2e/demo.test.ts': "import { s } from '../../scripts/local-cloud/server';\n",
    });
    expect(checkImports(tree)).toEqual([]);
  });
});
