// A saved plan (`autopilot plan --out plan.json`), applied later with `autopilot apply plan.json`, as
// Terraform's saved plans are: the file holds the spec, the cloud it was planned against, the actions,
// and the observed state they were planned from with its digest. Applying re-observes first and refuses,
// listing what changed, when the digest differs; so what runs is exactly what was reviewed.

import { createHash } from 'node:crypto';
import type { CloudTarget } from '../shared/cloud/credentials';
import { describeAction, type Plan } from '../shared/domain/plan';

export const SAVED_PLAN_FORMAT = 'slb-autopilot-plan/1';

export interface SavedPlan {
  format: typeof SAVED_PLAN_FORMAT;
  createdAt: string;
  /** the cloud it was planned against: a saved plan is never applied elsewhere */
  target: { kind: 'local'; url: string } | { kind: 'cloud' };
  /** where the spec was read from, and its text */
  source: string;
  spec: string;
  /** sha256 over the spec text and the observed state (canonical JSON) */
  digest: string;
  observed: unknown;
  actions: (Plan['actions'][number] & { description: string })[];
  leftAlone: Plan['leftAlone'];
}

/** JSON with object keys sorted, so equal data gives equal text whatever the order it was built in. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(
          Object.entries(v as Record<string, unknown>).sort(([a], [b]) => a.localeCompare(b)),
        )
      : v,
  );
}

export function stateDigest(specText: string, observed: unknown): string {
  return createHash('sha256').update(specText).update('\n').update(canonicalJson(observed)).digest('hex');
}

export function targetOf(t: CloudTarget): SavedPlan['target'] {
  return t.kind === 'local' ? { kind: 'local', url: t.url ?? `http://${t.endpoint}` } : { kind: 'cloud' };
}

export function describeSavedTarget(t: SavedPlan['target']): string {
  return t.kind === 'local' ? `the local cloud ${t.url}` : 'the real cloud';
}

export function savePlan(o: {
  target: CloudTarget;
  source: string;
  specText: string;
  observed: unknown;
  plan: Plan;
  now: Date;
}): SavedPlan {
  // The observed models round-trip through JSON so the digest is over what the file holds.
  const observed: unknown = JSON.parse(JSON.stringify(o.observed));
  return {
    format: SAVED_PLAN_FORMAT,
    createdAt: o.now.toISOString(),
    target: targetOf(o.target),
    source: o.source,
    spec: o.specText,
    digest: stateDigest(o.specText, observed),
    observed,
    actions: o.plan.actions.map((a) => ({ ...a, description: describeAction(a) })),
    leftAlone: o.plan.leftAlone,
  };
}

/** A saved plan, if `text` is one (a JSON spec is not); throws when it claims to be one but is broken. */
export function readSavedPlan(text: string, path: string): SavedPlan | undefined {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (data === null || typeof data !== 'object' || !('format' in data)) return undefined;
  const p = data as Partial<SavedPlan>;
  if (p.format !== SAVED_PLAN_FORMAT)
    throw new Error(`${path}: a plan of format ${String(p.format)}; this version reads ${SAVED_PLAN_FORMAT}`);
  for (const field of ['spec', 'digest', 'source', 'createdAt'] as const)
    if (typeof p[field] !== 'string') throw new Error(`${path}: ${field}: missing; plan again`);
  if (!Array.isArray(p.actions) || !p.target)
    throw new Error(`${path}: actions or target missing; plan again`);
  return p as SavedPlan;
}

/** The actions without their descriptions, comparable with a fresh plan's. */
export function plainActions(actions: readonly unknown[]): string {
  return canonicalJson(
    actions.map((a) => {
      const { description: _d, ...rest } = a as { description?: string };
      return rest;
    }),
  );
}

const shown = (v: unknown) => (v === undefined ? '(absent)' : JSON.stringify(v));

const isObj = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object';

/** How an element of the observed model is known: by name, backend, port; else by position. */
function elementKey(v: unknown, i: number): string {
  if (!isObj(v)) return String(i);
  if (typeof v.name === 'string') return v.name;
  if (typeof v.serverId === 'string') return `${v.serverId}:${String(v.port)}`;
  if (typeof v.domain === 'string') return v.domain;
  if (typeof v.port === 'number') return String(v.port);
  return String(i);
}

/** What differs between two JSON values, one line per leaf: `path: before -> after`. */
export function jsonDifferences(before: unknown, after: unknown, path = '', out: string[] = []): string[] {
  if (Array.isArray(before) && Array.isArray(after)) {
    const a = new Map(before.map((v, i) => [elementKey(v, i), v]));
    const b = new Map(after.map((v, i) => [elementKey(v, i), v]));
    for (const k of new Set([...a.keys(), ...b.keys()]))
      jsonDifferences(a.get(k), b.get(k), `${path}[${k}]`, out);
    return out;
  }
  if (isObj(before) && isObj(after) && !Array.isArray(before) && !Array.isArray(after)) {
    for (const k of [...new Set([...Object.keys(before), ...Object.keys(after)])].sort())
      jsonDifferences(before[k], after[k], path ? `${path}.${k}` : k, out);
    return out;
  }
  if (canonicalJson(before) !== canonicalJson(after))
    out.push(`${path || '(root)'}: ${shown(before)} -> ${shown(after)}`);
  return out;
}
