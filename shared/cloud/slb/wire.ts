// Reading SLB/CAS wire bodies into our model: numbers that arrive as strings, `Plural.Singular[]`
// wrappers (and the plain-array exceptions), absent lists. Pure; no I/O.

/** A number from a field that may be a number, a numeric string, or absent. */
export function num(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  if (typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v))) return Number(v);
  return undefined;
}

/** Like num(), but the field must be there. */
export function reqNum(v: unknown, field: string): number {
  const n = num(v);
  if (n === undefined) throw new TypeError(`response field ${field} is not a number: ${JSON.stringify(v)}`);
  return n;
}

export function str(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return undefined;
}

export function reqStr(v: unknown, field: string): string {
  const s = str(v);
  if (s === undefined) throw new TypeError(`response field ${field} is missing`);
  return s;
}

export function obj(v: unknown): Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}

/**
 * The items of a wrapped list: `{Plural: {Singular: [...]}}`, tolerating a plain array under `Plural`,
 * a single object instead of an array, and an absent wrapper (empty).
 */
export function list(body: unknown, plural: string, singular: string): Record<string, unknown>[] {
  const outer = obj(body)[plural];
  const inner = Array.isArray(outer) ? outer : obj(outer)[singular];
  if (inner === undefined || inner === null) return [];
  return (Array.isArray(inner) ? inner : [inner]).map(obj);
}

/** Same as list() for wrapped lists of scalars (`SubjectAlternativeNames.SubjectAlternativeName[]`). */
export function scalarList(body: unknown, plural: string, singular: string): string[] {
  const outer = obj(body)[plural];
  const inner = Array.isArray(outer) ? outer : obj(outer)[singular];
  if (inner === undefined || inner === null) return [];
  return (Array.isArray(inner) ? inner : [inner])
    .map((x) => str(x))
    .filter((x): x is string => x !== undefined);
}

export interface Tag {
  key: string;
  value: string;
}

/** `Tags.Tag[]{TagKey,TagValue}` or a plain array of the same (DescribeLoadBalancerListeners). */
export function tags(body: unknown): Tag[] {
  return list(body, 'Tags', 'Tag').map((t) => ({ key: str(t.TagKey) ?? '', value: str(t.TagValue) ?? '' }));
}

/** Our tags as the `Tag.N.Key/Value` request array. */
export function tagParam(t: readonly Tag[] | undefined): { Key: string; Value: string }[] | undefined {
  return t && t.length > 0 ? t.map((x) => ({ Key: x.key, Value: x.value })) : undefined;
}
