// How a function finds its spec, in order: the SLB_AUTOPILOT_SPEC environment variable (inline YAML or
// JSON), SLB_AUTOPILOT_SPEC_FILE (a path), or the spec.yaml bundled beside the function. Parsed once per
// cold start; errors say which source failed.

import { parseSpec, type Spec } from '../domain/spec';

export type ReadFile = (path: string) => string;

export interface SpecSourceOptions {
  env: Record<string, string | undefined>;
  readFile: ReadFile;
  /** the spec.yaml beside the function bundle */
  bundledPath: string;
}

const cache = new Map<string, Spec>();

export function describeSpecSource(o: SpecSourceOptions): {
  kind: 'env' | 'file' | 'bundled';
  where: string;
} {
  if (o.env.SLB_AUTOPILOT_SPEC?.trim()) return { kind: 'env', where: 'SLB_AUTOPILOT_SPEC' };
  if (o.env.SLB_AUTOPILOT_SPEC_FILE) return { kind: 'file', where: o.env.SLB_AUTOPILOT_SPEC_FILE };
  return { kind: 'bundled', where: o.bundledPath };
}

export function loadSpec(o: SpecSourceOptions): Spec {
  const source = describeSpecSource(o);
  let text: string;
  if (source.kind === 'env') {
    text = o.env.SLB_AUTOPILOT_SPEC ?? '';
  } else {
    try {
      text = o.readFile(source.where);
    } catch (err) {
      const code = (err as { code?: string }).code ?? 'error';
      throw new Error(
        `spec: cannot read ${source.kind === 'file' ? 'SLB_AUTOPILOT_SPEC_FILE' : 'the bundled spec'} ${source.where} (${code}); set SLB_AUTOPILOT_SPEC or SLB_AUTOPILOT_SPEC_FILE`,
      );
    }
  }
  const key = `${source.kind}\n${source.where}\n${text}`;
  const hit = cache.get(key);
  if (hit) return hit;
  const spec = parseSpec(text, { source: source.kind === 'env' ? 'SLB_AUTOPILOT_SPEC' : source.where });
  cache.set(key, spec);
  return spec;
}
