// The layer rules of DESIGN.md ("imports point one way") as data, and the check that holds the real
// import graph (import-graph.ts) against them. Type-only imports count: a domain type that names a
// cloud type still ties the domain to the cloud.
//
//   functions/<name>  ->  shared/runtime  ->  shared/workflows  ->  shared/cloud  ->  shared/domain
//   scripts/, test/ may import anything; nothing else imports scripts/.
//
// The domain (and the error family in shared/errors.ts, which every layer, the domain included, uses)
// is pure: no I/O, no SDK, no clock. Its only built-in is node:crypto, for X.509 parsing and hashing:
// CPU work on bytes it is handed, no file, socket or timer. Its only packages are zod (the spec schema)
// and yaml (the spec's text), both pure parsers.

import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { importGraph, type ResolvedImport, type SourceTree } from './import-graph';

export interface ImportRule {
  id: string;
  /** why, for the message */
  why: string;
  /** path prefixes the rule applies to (repository-relative) */
  appliesTo: string[];
  /** file path prefixes these files must not import */
  forbiddenFiles?: string[];
  /** when set, the only files, built-ins and packages these files may import */
  only?: { files: string[]; builtins: string[]; packages: string[] };
}

const DOMAIN = ['shared/domain/', 'shared/errors.ts'];

export const IMPORT_RULES: readonly ImportRule[] = [
  {
    id: 'domain-is-pure',
    why: 'shared/domain imports no I/O, no SDK, no cloud, runtime, workflows, functions or scripts',
    appliesTo: DOMAIN,
    only: { files: DOMAIN, builtins: ['node:crypto'], packages: ['zod', 'yaml'] },
  },
  {
    id: 'production-never-imports-scripts',
    why: 'scripts/ (build, local cloud, demo, bench) is for developers and tests; no bundle may contain it',
    appliesTo: ['shared/', 'functions/'],
    forbiddenFiles: ['scripts/', 'test/'],
  },
  {
    id: 'cloud-below-workflows',
    why: 'shared/cloud is the ports and adapters the workflows call; it never calls back up',
    appliesTo: ['shared/cloud/'],
    forbiddenFiles: ['shared/workflows/', 'shared/runtime/', 'functions/'],
  },
  {
    id: 'workflows-below-runtime',
    why: 'workflows get their dependencies passed in; the FC edge (shared/runtime) builds them',
    appliesTo: ['shared/workflows/'],
    forbiddenFiles: ['shared/runtime/', 'functions/'],
  },
  {
    id: 'runtime-below-functions',
    why: 'functions/<name> is wiring over shared/; shared/ never reaches into a function',
    appliesTo: ['shared/runtime/'],
    forbiddenFiles: ['functions/'],
  },
];

export interface Violation {
  rule: string;
  /** `file:line` */
  at: string;
  specifier: string;
  message: string;
}

const under = (path: string, prefixes: readonly string[]) =>
  prefixes.some((p) => (p.endsWith('/') ? path.startsWith(p) : path === p));

function breaks(rule: ImportRule, imp: ResolvedImport): string | undefined {
  const t = imp.target;
  if (t.kind === 'file' && rule.forbiddenFiles && under(t.path, rule.forbiddenFiles)) return t.path;
  if (!rule.only) return undefined;
  if (t.kind === 'file') return under(t.path, rule.only.files) ? undefined : t.path;
  if (t.kind === 'builtin') return rule.only.builtins.includes(t.name) ? undefined : t.name;
  return rule.only.packages.includes(t.name) ? undefined : `package ${t.name}`;
}

/** Every import of the tree that breaks a rule, with file:line and the rule's id and reason. */
export function checkImports(tree: SourceTree, rules: readonly ImportRule[] = IMPORT_RULES): Violation[] {
  const out: Violation[] = [];
  for (const imp of importGraph(tree)) {
    for (const rule of rules) {
      if (!under(imp.from, rule.appliesTo)) continue;
      const target = breaks(rule, imp);
      if (target === undefined) continue;
      const at = `${imp.from}:${imp.line}`;
      out.push({
        rule: rule.id,
        at,
        specifier: imp.specifier,
        message: `${at}: imports '${imp.specifier}' (${target}): breaks ${rule.id}: ${rule.why}`,
      });
    }
  }
  return out;
}

const SOURCE = /\.(ts|mts|cts|js|mjs|cjs)$/;

/** The repository's files under `dirs`, read from disk (node_modules and dist left out). */
export function repositoryTree(root: string, dirs: readonly string[]): SourceTree {
  const files = dirs.flatMap((d) =>
    (readdirSync(join(root, d), { recursive: true, withFileTypes: true }) as import('node:fs').Dirent[])
      .filter((e) => e.isFile() && SOURCE.test(e.name))
      .map((e) => relative(root, join(e.parentPath, e.name)).split(sep).join('/'))
      .filter((p) => !p.includes('node_modules/')),
  );
  return {
    files: () => [...files].sort(),
    // Any file of the repository, so imports into scripts/ or test/ resolve too.
    read: (p) => {
      try {
        return readFileSync(join(root, p), 'utf8');
      } catch {
        return undefined;
      }
    },
  };
}
