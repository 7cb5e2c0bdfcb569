// The project's real import graph, read with the TypeScript compiler (not text matching): every static
// import, `import type`, `export ... from`, `import()` (also in type positions) and `import x = require()`
// of a source file, resolved the way tsc resolves it (tsconfig's Bundler resolution), so `../cloud`,
// `../cloud/index` and `../../shared/cloud/index.ts` are the same module. The import rules test checks
// this graph against the layer rules of DESIGN.md.

import { builtinModules } from 'node:module';
import { posix } from 'node:path';
import ts from 'typescript';

/** One import as written in a file. */
export interface ImportSite {
  specifier: string;
  /** 1-based */
  line: number;
  typeOnly: boolean;
}

/** Where an import leads: a file of the repository, a Node built-in, or a package. */
export type ImportTarget =
  | { kind: 'file'; path: string }
  | { kind: 'builtin'; name: string }
  | { kind: 'package'; name: string };

export interface ResolvedImport extends ImportSite {
  /** repository-relative, POSIX separators */
  from: string;
  target: ImportTarget;
}

/** Source files as the rules see them: repository-relative path -> text. */
export interface SourceTree {
  files(): string[];
  read(path: string): string | undefined;
}

const OPTIONS: ts.CompilerOptions = {
  module: ts.ModuleKind.ESNext,
  moduleResolution: ts.ModuleResolutionKind.Bundler,
  resolveJsonModule: true,
  allowImportingTsExtensions: true,
};

/** Every import site of one file, in source order. */
export function importSites(path: string, text: string): ImportSite[] {
  const sf = ts.createSourceFile(path, text, ts.ScriptTarget.ES2022, true);
  const sites: ImportSite[] = [];
  const add = (spec: ts.Node | undefined, typeOnly: boolean) => {
    if (!spec || !ts.isStringLiteralLike(spec)) return;
    const line = sf.getLineAndCharacterOfPosition(spec.getStart(sf)).line + 1;
    sites.push({ specifier: spec.text, line, typeOnly });
  };
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node)) add(node.moduleSpecifier, node.importClause?.isTypeOnly ?? false);
    else if (ts.isExportDeclaration(node)) add(node.moduleSpecifier, node.isTypeOnly);
    else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference))
      add(node.moduleReference.expression, node.isTypeOnly);
    else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword)
      add(node.arguments[0], false);
    else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument))
      add(node.argument.literal, true);
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return sites;
}

const BUILTINS = new Set(builtinModules);

function packageName(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : (parts[0] ?? specifier);
}

/** Resolves one specifier written in `from` against the tree, as tsc would. */
export function resolveImport(tree: SourceTree, from: string, specifier: string): ImportTarget {
  if (specifier.startsWith('node:')) return { kind: 'builtin', name: specifier };
  if (BUILTINS.has(specifier)) return { kind: 'builtin', name: `node:${specifier}` };
  if (!specifier.startsWith('.') && !specifier.startsWith('/'))
    return { kind: 'package', name: packageName(specifier) };
  const host: ts.ModuleResolutionHost = {
    fileExists: (p) => tree.read(posix.relative('/', p)) !== undefined,
    readFile: (p) => tree.read(posix.relative('/', p)),
  };
  const resolved = ts.resolveModuleName(specifier, `/${from}`, OPTIONS, host).resolvedModule;
  // Unresolvable relative imports are tsc's business; the rules judge where they point.
  const abs = resolved?.resolvedFileName ?? posix.resolve(posix.dirname(`/${from}`), specifier);
  return { kind: 'file', path: posix.relative('/', abs) };
}

/** Every import of every file of the tree, resolved. */
export function importGraph(tree: SourceTree): ResolvedImport[] {
  return tree.files().flatMap((from) =>
    importSites(from, tree.read(from) ?? '').map((site) => ({
      ...site,
      from,
      target: resolveImport(tree, from, site.specifier),
    })),
  );
}
