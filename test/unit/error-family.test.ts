// The error family stays whole: every error class in shared/ and functions/ extends AutopilotError
// (shared/errors.ts), so the HTTP edge and the reports can answer any failure by its family (status,
// code, field, cause) without a branch per class. Read from the compiler's view of the source: a class
// that is never exported or never thrown in a test is checked too. (scripts/ is out of scope.)
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import ts from 'typescript';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = join(__dirname, '..', '..');
const ERRORS_FILE = join(ROOT, 'shared', 'errors.ts');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return e.name === 'node_modules' ? [] : sourceFiles(path);
    return e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [path] : [];
  });
}

interface ErrorClass {
  name: string;
  file: string;
  /** the classes it extends, nearest first */
  chain: string[];
  inFamily: boolean;
}

/** Every class in `files` that extends Error, directly or not, with whether AutopilotError is on the way. */
function errorClasses(files: string[]): ErrorClass[] {
  const program = ts.createProgram(files, {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    types: ['node'],
    strict: true,
    skipLibCheck: true,
    noEmit: true,
  });
  const checker = program.getTypeChecker();
  const out: ErrorClass[] = [];
  for (const file of files) {
    const source = program.getSourceFile(file);
    if (!source) throw new Error(`not in the program: ${file}`);
    const visit = (node: ts.Node) => {
      const extended = ts.isClassLike(node)
        ? node.heritageClauses?.find((h) => h.token === ts.SyntaxKind.ExtendsKeyword)?.types[0]
        : undefined;
      if (ts.isClassLike(node) && extended) {
        const chain = baseChain(checker, checker.getTypeAtLocation(extended));
        if (chain.some((b) => b.name === 'Error' && b.isLib))
          out.push({
            name: node.name?.text ?? '(anonymous)',
            file: relative(ROOT, file),
            chain: chain.map((b) => b.name),
            inFamily: chain.some((b) => b.file === ERRORS_FILE && b.name === 'AutopilotError'),
          });
      }
      ts.forEachChild(node, visit);
    };
    visit(source);
  }
  return out;
}

interface Base {
  name: string;
  file: string;
  /** declared by TypeScript's own lib (the global Error, TypeError, ...) */
  isLib: boolean;
}

/** `type` and the classes it extends, in order. */
function baseChain(checker: ts.TypeChecker, type: ts.Type): Base[] {
  const chain: Base[] = [];
  for (let t: ts.Type | undefined = type; t && chain.length < 20; ) {
    const symbol = t.getSymbol();
    // A class as the compiler declares it (an `extends` expression's type is a reference to it).
    if (symbol) t = checker.getDeclaredTypeOfSymbol(symbol);
    const file = symbol?.declarations?.[0]?.getSourceFile().fileName ?? '';
    chain.push({ name: symbol?.name ?? '?', file, isLib: /[\\/]typescript[\\/]lib[\\/]/.test(file) });
    t = t.isClassOrInterface() ? checker.getBaseTypes(t)[0] : undefined;
  }
  return chain;
}

describe('the error family', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'error-family-'));
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  it('every error class in shared/ and functions/ extends AutopilotError', () => {
    const found = errorClasses([
      ...sourceFiles(join(ROOT, 'shared')),
      ...sourceFiles(join(ROOT, 'functions')),
    ]);
    // The walk sees the family (so an empty result cannot pass): classes of several layers.
    expect(found.map((c) => c.name)).toEqual(
      expect.arrayContaining(['CloudError', 'SpecError', 'LeaseHeldError', 'AppliedAtConflict', 'HttpError']),
    );
    const outside = found.filter((c) => !c.inFamily && c.name !== 'AutopilotError');
    expect(outside.map((c) => `${c.file}: ${c.name} extends ${c.chain.join(' < ')}`)).toEqual([]);
  });

  it('flags an error class outside the family, however indirectly it extends Error', () => {
    const file = join(scratch, 'stray.ts');
    writeFileSync(
      file,
      [
        `import { GuardRefusedError } from ${JSON.stringify(ERRORS_FILE.replace(/\.ts$/, ''))};`,
        'export class Stray extends Error {}',
        'class Deeper extends TypeError {}',
        'export const Anonymous = class extends Stray {};',
        'export class Member extends GuardRefusedError {}',
        'export class NotAnError {}',
        'export { Deeper };',
      ].join('\n'),
    );
    const found = errorClasses([file]);
    expect(found.map((c) => [c.name, c.inFamily])).toEqual([
      ['Stray', false],
      ['Deeper', false],
      ['(anonymous)', false],
      ['Member', true],
    ]);
  });
});
