// Checks one RPC request, as it arrived on the wire (the query and form parameters, signing keys
// removed), against the official request parameters of its action: every parameter exists, values
// parse as their type, unconditional requirements are present, and the encoded conditional rules hold.
// Wire names follow the SDK serialisation: repeat lists as `Name.N` or `Name.N.Item` (Tag.1.Key),
// lists of style `json` as one JSON string.

import type { ActionModel, ApiModel, ParamModel } from './model';
import { rulesFor, type WireParams } from './rules';

export type RequestFindingKind = 'undocumented' | 'missing' | 'type' | 'constraint' | 'rule';

export interface RequestFinding {
  kind: RequestFindingKind;
  /** the wire name concerned */
  param: string;
  message: string;
  /** for `rule` findings: whether the rule says a parameter is missing (enforced as MissingParameter) */
  missing?: boolean;
  ruleId?: string;
}

/** Where a wire key belongs: a parameter, or an element / item of a repeat list. */
function resolve(
  params: readonly ParamModel[],
  key: string,
): { param: ParamModel; value: ParamModel | { type: string } } | undefined {
  const direct = params.find((p) => p.name === key);
  if (direct) return direct.style === 'repeatList' ? undefined : { param: direct, value: direct };
  const m = /^(.+?)\.(\d+)(?:\.(.+))?$/.exec(key);
  if (!m) return undefined;
  const [, name, , sub] = m;
  const list = params.find((p) => p.name === name && p.style === 'repeatList');
  if (!list || Number(m[2]) < 1) return undefined;
  if (sub === undefined)
    return list.items ? undefined : { param: list, value: { type: list.itemType ?? 'String' } };
  const item = list.items?.find((i) => i.name === sub);
  return item ? { param: list, value: item } : undefined;
}

function typeProblem(type: string, value: string): string | undefined {
  switch (type) {
    case 'Integer':
    case 'Long':
    case 'integer':
      return /^-?\d+$/.test(value) ? undefined : `is not an integer: ${JSON.stringify(value)}`;
    case 'Boolean':
    case 'boolean':
      return value === 'true' || value === 'false'
        ? undefined
        : `is not true or false: ${JSON.stringify(value)}`;
    case 'Json':
      try {
        JSON.parse(value);
        return undefined;
      } catch {
        return 'is not valid JSON';
      }
    default:
      return undefined;
  }
}

/** enum, range and length hints: parsed from the documentation's prose, so only where given. */
function constraintProblem(p: ParamModel, value: string): string | undefined {
  if (p.format === 'json') {
    try {
      JSON.parse(value);
    } catch {
      return 'is not valid JSON';
    }
  }
  if (p.enum) {
    const values = p.separator ? value.split(p.separator) : [value];
    const bad = values.find((v) => !p.enum?.includes(v));
    if (bad !== undefined) return `must be one of ${p.enum.join(', ')}, got ${JSON.stringify(bad)}`;
  }
  if ((p.type === 'Integer' || p.type === 'Long') && /^-?\d+$/.test(value)) {
    const n = Number(value);
    if ((p.min !== undefined && n < p.min) || (p.max !== undefined && n > p.max))
      return `must be in [${p.min ?? '-inf'}, ${p.max ?? 'inf'}], got ${value}`;
  }
  if (p.type === 'String' && !p.format) {
    if (
      (p.minLength !== undefined && value.length < p.minLength) ||
      (p.maxLength !== undefined && value.length > p.maxLength)
    )
      return `must be ${p.minLength ?? 0}-${p.maxLength ?? 'any'} characters long`;
  }
  return undefined;
}

export function checkRequest(
  api: Pick<ApiModel, 'sdkOnlyParamsInEveryAction'>,
  model: ActionModel,
  action: string,
  params: WireParams,
): RequestFinding[] {
  const out: RequestFinding[] = [];
  const sdkOnly = api.sdkOnlyParamsInEveryAction ?? {};
  for (const [key, value] of Object.entries(params)) {
    const sdkType = sdkOnly[key];
    if (sdkType !== undefined) {
      const problem = typeProblem(sdkType, value);
      if (problem) out.push({ kind: 'type', param: key, message: `${key} ${problem}` });
      continue;
    }
    const found = resolve(model.request, key);
    if (!found) {
      out.push({ kind: 'undocumented', param: key, message: `${action} takes no parameter ${key}` });
      continue;
    }
    const problem = typeProblem(found.value.type, value);
    if (problem) {
      out.push({ kind: 'type', param: key, message: `${key} ${problem}` });
      continue;
    }
    if ('name' in found.value) {
      const c = constraintProblem(found.value, value);
      if (c) out.push({ kind: 'constraint', param: key, message: `${key} ${c}` });
    }
  }
  for (const p of model.request) {
    if (!p.required) continue;
    const present =
      p.style === 'repeatList'
        ? Object.keys(params).some((k) => k.startsWith(`${p.name}.`) && params[k] !== '')
        : params[p.name] !== undefined && params[p.name] !== '';
    if (!present)
      out.push({
        kind: 'missing',
        param: p.name,
        message: `${p.name} is required by ${action}`,
        missing: true,
      });
  }
  for (const rule of rulesFor(action)) {
    for (const v of rule.check(params)) {
      out.push({
        kind: 'rule',
        param: v.param,
        message: v.message,
        ruleId: rule.id,
        ...(v.kind === 'missing' ? { missing: true } : {}),
      });
    }
  }
  return out;
}
