// `npm run map-stack -- dist/<function> < trace.txt`: rewrites the bundle positions in a stack trace
// (as FC's logs show it, e.g. `at x (/code/index.js:1:23456)`) into source positions, with the source
// maps the build writes beside each bundle file. The functions run without `--enable-source-maps`:
// Node.js would read and parse each bundle's map (megabytes) at every cold start. Map the trace with
// the maps of the build that was deployed.

import { existsSync, readFileSync } from 'node:fs';
import { SourceMap, type SourceMapPayload } from 'node:module';
import { basename, join, relative, resolve } from 'node:path';

/** `<path>/<file>.js:<line>:<column>`, as V8 prints a frame's position */
const POSITION = /([^\s()]*?([\w.-]+\.js)):(\d+):(\d+)/g;

/** The trace with every position in a bundle file of `bundleDir` that has a map replaced by its source. */
export function mapStack(trace: string, bundleDir: string, cwd = process.cwd()): string {
  const maps = new Map<string, SourceMap | undefined>();
  const mapFor = (file: string) => {
    if (!maps.has(file)) {
      const path = join(bundleDir, `${file}.map`);
      maps.set(
        file,
        existsSync(path)
          ? new SourceMap(JSON.parse(readFileSync(path, 'utf8')) as SourceMapPayload)
          : undefined,
      );
    }
    return maps.get(file);
  };
  return trace.replace(POSITION, (whole, _path: string, file: string, line: string, column: string) => {
    const map = mapFor(basename(file));
    // findEntry is zero-based; V8 prints one-based lines and columns
    const entry = map?.findEntry(Number(line) - 1, Number(column) - 1) as
      | { originalSource?: string; originalLine?: number; originalColumn?: number }
      | undefined;
    if (!entry?.originalSource || entry.originalLine === undefined || entry.originalColumn === undefined)
      return whole;
    const source = relative(cwd, resolve(bundleDir, entry.originalSource));
    return `${source}:${entry.originalLine + 1}:${entry.originalColumn + 1}`;
  });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const dir = process.argv[2];
  if (!dir || !existsSync(join(dir, 'index.js.map'))) {
    console.error(
      'usage: npm run map-stack -- dist/<function> < trace.txt (needs dist/<function>/index.js.map)',
    );
    process.exit(2);
  }
  process.stdout.write(mapStack(readFileSync(0, 'utf8'), resolve(dir)));
}
