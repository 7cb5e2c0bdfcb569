// EventBridge event-rule filter patterns (an EventBridge trigger's eventRuleFilterPattern), the part the
// local runtime needs to decide whether an event would reach the function: a pattern key holds either a
// nested pattern (matched against the nested field) or a list of matchers, any of which may match; a list
// in the event matches when any element does. Matchers: exact values, {prefix}, {suffix},
// {"anything-but": value | [values]}, {exists: boolean}. Anything else never matches (and says so).

type Json = unknown;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function matchOne(matcher: Json, value: Json, present: boolean): boolean {
  if (!isObject(matcher)) return present && value === matcher;
  if ('exists' in matcher) return matcher.exists === present;
  if (!present) return false;
  if ('prefix' in matcher) return typeof value === 'string' && value.startsWith(String(matcher.prefix));
  if ('suffix' in matcher) return typeof value === 'string' && value.endsWith(String(matcher.suffix));
  if ('anything-but' in matcher) {
    const not = matcher['anything-but'];
    return Array.isArray(not) ? !not.includes(value) : value !== not;
  }
  return false;
}

function matchList(matchers: Json[], value: Json, present: boolean): boolean {
  const values = Array.isArray(value) ? value : [value];
  return matchers.some((m) => values.some((v) => matchOne(m, v, present)));
}

/** The first field that does not match, or undefined when the event matches the pattern. */
export function mismatch(pattern: Record<string, unknown>, event: Json, prefix = ''): string | undefined {
  for (const [key, rule] of Object.entries(pattern)) {
    const field = prefix ? `${prefix}.${key}` : key;
    const present = isObject(event) && key in event && event[key] !== undefined;
    const value = present ? (event as Record<string, unknown>)[key] : undefined;
    if (isObject(rule)) {
      const inner = mismatch(rule, value, field);
      if (inner) return inner;
    } else if (Array.isArray(rule)) {
      if (!matchList(rule, value, present)) return `${field} does not match ${JSON.stringify(rule)}`;
    } else if (!matchOne(rule, value, present)) {
      return `${field} does not match ${JSON.stringify(rule)}`;
    }
  }
  return undefined;
}
