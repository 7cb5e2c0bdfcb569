// Problems found in input (a spec, an event, a request body), as the field path people read and the
// message: one formatting for every parser, so `loadBalancers[0].listeners[1].port` reads the same in a
// spec error, an event error and an HTTP 400.

/** One problem: where (a field path) and what. Values are never included: they may be secrets. */
export interface FieldIssue {
  path: string;
  message: string;
}

/** The shape of a zod issue as far as we read it (zod's own type, without importing zod here). */
export interface IssueLike {
  path: readonly PropertyKey[];
  message: string;
  code?: string;
  keys?: readonly string[];
}

/** A key from input is shown at most this long (an attacker's 1 MB key does not make a 1 MB error). */
const MAX_KEY_CHARS = 40;

/** `['a', 0, 'b']` under `prefix` -> `prefix.a[0].b`; array indexes in brackets, keys cut to 40 chars. */
export function issuePath(path: readonly PropertyKey[], prefix = ''): string {
  let out = prefix;
  for (const p of path) {
    if (typeof p === 'number') out = `${out}[${p}]`;
    else {
      const key = String(p).slice(0, MAX_KEY_CHARS);
      out = out ? `${out}.${key}` : key;
    }
  }
  return out;
}

/** Every issue as a field issue; an unknown key is named itself, not reported on its parent. */
export function fieldIssues(
  issues: readonly IssueLike[],
  prefix = '',
  unknownKey = 'is not a known field',
): FieldIssue[] {
  return issues.flatMap((i) =>
    i.code === 'unrecognized_keys' && i.keys
      ? i.keys.map((k) => ({ path: issuePath([...i.path, k], prefix), message: unknownKey }))
      : [{ path: issuePath(i.path, prefix), message: i.message }],
  );
}

/** The first issue as one line, `path: message` (the path alone is `prefix` for the root). */
export function firstIssueText(issues: readonly IssueLike[], prefix: string): string {
  const first = fieldIssues(issues, prefix)[0];
  return first ? `${first.path || prefix}: ${first.message}` : `${prefix}: invalid`;
}
