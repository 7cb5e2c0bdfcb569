// Reads a Serverless Devs 3 s.yaml (`edition: 3.0.0`, resources with `component: fc3`) into what the local
// runtime needs to run each function as FC 3.0 would: code directory, handler, memory, timeout,
// environment, reserved concurrency, async retries and triggers. It resolves what `s` itself resolves
// before handing props to the component: `extend: {name, ignore}` deep-merged from `template:` (plain
// objects merge key by key, arrays and scalars are replaced, as `s` 3.1.10 does with extend2), and the
// magic variables `${vars.x}`, `${env('NAME', 'default')}` (also `${env.NAME}`) and `${config('AccountID')}`.
// Anything else in `${...}` is left as written and reported in `warnings`.

import { isAbsolute, resolve } from 'node:path';
import { parse } from 'yaml';

/** fc3 schema defaults (devsapp/fc3 src/schema.json) */
export const FC3_DEFAULTS = {
  memorySize: 512,
  timeout: 3,
  maxAsyncRetryAttempts: 3,
  maxAsyncEventAgeInSeconds: 18_000,
} as const;

export interface TimerTriggerSpec {
  type: 'timer';
  name: string;
  cronExpression: string;
  enable: boolean;
  /** verbatim; FC hands it to the function as a string */
  payload?: string;
}

export interface HttpTriggerSpec {
  type: 'http';
  name: string;
  /** upper case; empty means every method */
  methods: string[];
  authType: string;
}

export interface EventBridgeTriggerSpec {
  type: 'eventbridge';
  name: string;
  enable: boolean;
  /** true: EventBridge invokes the function asynchronously (202, FC's async retries) */
  asyncInvocationType: boolean;
  /** parsed eventRuleFilterPattern, when it is a JSON object */
  filterPattern?: Record<string, unknown>;
}

export interface OtherTriggerSpec {
  type: 'other';
  name: string;
  triggerType: string;
}

export type TriggerSpec = TimerTriggerSpec | HttpTriggerSpec | EventBridgeTriggerSpec | OtherTriggerSpec;

export interface FunctionSpec {
  /** the resource key in s.yaml, e.g. `cert-renewal` */
  resource: string;
  /** props.functionName: the name FC knows the function by */
  name: string;
  /** absolute path of props.code */
  codeDir: string;
  /** `<file>.<export>`, e.g. `index.handler` */
  handler: string;
  runtime: string;
  region?: string;
  /** MB, 128-32768 */
  memorySize: number;
  /** seconds, 1-86400 */
  timeout: number;
  environmentVariables: Record<string, string>;
  /** concurrencyConfig.reservedConcurrency; undefined means no cap */
  reservedConcurrency?: number;
  /** asyncInvokeConfig.maxAsyncRetryAttempts, 0-8 */
  maxAsyncRetryAttempts: number;
  /** asyncInvokeConfig.maxAsyncEventAgeInSeconds */
  maxAsyncEventAgeInSeconds: number;
  triggers: TriggerSpec[];
}

export interface SYamlApp {
  name?: string;
  functions: FunctionSpec[];
  /** resources that are not fc3 functions, skipped */
  skipped: string[];
  /** unresolved magic variables and similar non-fatal findings */
  warnings: string[];
}

export class SYamlError extends Error {
  constructor(
    readonly problems: string[],
    readonly source: string,
  ) {
    super(`${source}: ${problems.length} problem(s):\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'SYamlError';
  }
}

export interface ReadSYamlOptions {
  /** where relative `code` paths are resolved (the directory of s.yaml) */
  baseDir: string;
  /** the environment `${env(...)}` reads; default process.env */
  env?: Record<string, string | undefined>;
  /** answers `${config('AccountID')}` */
  accountId?: string;
  /** for messages */
  source?: string;
}

type Plain = Record<string, unknown>;

function isPlain(v: unknown): v is Plain {
  return (
    typeof v === 'object' && v !== null && !Array.isArray(v) && Object.getPrototypeOf(v) === Object.prototype
  );
}

/** Deep merge as `s` does it (extend2 with deep=true): plain objects merge, everything else replaces. */
export function deepExtend(target: Plain, ...sources: unknown[]): Plain {
  for (const source of sources) {
    if (!isPlain(source)) continue;
    for (const [key, value] of Object.entries(source)) {
      if (key === '__proto__' || value === undefined) continue;
      if (isPlain(value)) {
        const base = isPlain(target[key]) ? (target[key] as Plain) : {};
        target[key] = deepExtend(base, value);
      } else {
        target[key] = value;
      }
    }
  }
  return target;
}

const MAGIC = /\$\{([^}]*)\}/g;

interface Scope {
  vars: Plain;
  env: Record<string, string | undefined>;
  accountId?: string;
  warnings: string[];
}

function lookupPath(root: unknown, path: string[]): unknown {
  let cur = root;
  for (const key of path) {
    if (!isPlain(cur) && !Array.isArray(cur)) return undefined;
    cur = (cur as Record<string, unknown>)[key];
  }
  return cur;
}

const QUOTED = `'([^']*)'|"([^"]*)"`;
const ENV_CALL = new RegExp(`^env\\(\\s*(?:${QUOTED})\\s*(?:,\\s*(?:${QUOTED})\\s*)?\\)$`);
const CONFIG_CALL = new RegExp(`^config\\(\\s*(?:${QUOTED})\\s*\\)$`);

/** One `${...}` expression; `undefined` means "not ours, leave it as written". */
function evaluate(expr: string, scope: Scope): { value: unknown } | undefined {
  const e = expr.trim();
  const env = ENV_CALL.exec(e);
  if (env) {
    const name = (env[1] ?? env[2]) as string;
    const fallback = env[3] ?? env[4];
    const value = scope.env[name];
    if (value !== undefined) return { value };
    if (fallback === undefined) scope.warnings.push(`\${${e}}: ${name} is not set (no default)`);
    return { value: fallback ?? '' };
  }
  if (e.startsWith('env.')) {
    const name = e.slice(4);
    const value = scope.env[name];
    if (value === undefined) scope.warnings.push(`\${${e}}: ${name} is not set`);
    return { value: value ?? '' };
  }
  if (e.startsWith('vars.')) {
    const value = lookupPath(scope.vars, e.slice(5).split('.'));
    if (value === undefined) {
      scope.warnings.push(`\${${e}}: no such variable`);
      return undefined;
    }
    return { value };
  }
  const config = CONFIG_CALL.exec(e);
  if (config && (config[1] ?? config[2]) === 'AccountID' && scope.accountId)
    return { value: scope.accountId };
  scope.warnings.push(`\${${e}}: not supported by the local runtime, left as written`);
  return undefined;
}

/** Resolves magic variables in every string of `value`. A string that is one whole `${...}` keeps the type. */
export function interpolate(value: unknown, scope: Scope): unknown {
  if (typeof value === 'string') {
    const whole = /^\$\{([^}]*)\}$/.exec(value);
    if (whole) {
      const r = evaluate(whole[1] as string, scope);
      return r ? r.value : value;
    }
    return value.replace(MAGIC, (match, expr: string) => {
      const r = evaluate(expr, scope);
      if (!r) return match;
      return typeof r.value === 'string' ? r.value : JSON.stringify(r.value);
    });
  }
  if (Array.isArray(value)) return value.map((v) => interpolate(v, scope));
  if (isPlain(value)) {
    const out: Plain = {};
    for (const [k, v] of Object.entries(value)) out[k] = interpolate(v, scope);
    return out;
  }
  return value;
}

function isFc3(component: unknown): boolean {
  // `fc3`, `devsapp/fc3`, `fc3@0.1.22`, or a local path whose last segment is fc3
  return typeof component === 'string' && /(^|\/)fc3(@[\w.-]+)?$/.test(component.trim());
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

function readTriggers(where: string, raw: unknown, problems: string[]): TriggerSpec[] {
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) {
    problems.push(`${where}.triggers: must be a list`);
    return [];
  }
  const out: TriggerSpec[] = [];
  raw.forEach((t, i) => {
    const at = `${where}.triggers[${i}]`;
    if (!isPlain(t)) {
      problems.push(`${at}: must be a mapping`);
      return;
    }
    const name = str(t.triggerName);
    const type = str(t.triggerType);
    const config = isPlain(t.triggerConfig) ? t.triggerConfig : undefined;
    if (!name) problems.push(`${at}.triggerName: required`);
    if (!type) problems.push(`${at}.triggerType: required`);
    if (!config) problems.push(`${at}.triggerConfig: required (a mapping)`);
    if (!name || !type || !config) return;
    if (type === 'timer') {
      const cronExpression = str(config.cronExpression);
      if (!cronExpression) {
        problems.push(`${at}.triggerConfig.cronExpression: required`);
        return;
      }
      if (config.payload !== undefined && typeof config.payload !== 'string')
        problems.push(`${at}.triggerConfig.payload: must be a string (FC passes it verbatim)`);
      out.push({
        type: 'timer',
        name,
        cronExpression,
        enable: config.enable !== false,
        ...(typeof config.payload === 'string' ? { payload: config.payload } : {}),
      });
    } else if (type === 'http') {
      const methods = Array.isArray(config.methods)
        ? config.methods.filter((m): m is string => typeof m === 'string').map((m) => m.toUpperCase())
        : [];
      out.push({ type: 'http', name, methods, authType: str(config.authType) ?? 'anonymous' });
    } else if (type === 'eventbridge') {
      let filterPattern: Record<string, unknown> | undefined;
      const pattern = config.eventRuleFilterPattern;
      if (typeof pattern === 'string' && pattern.trim() !== '') {
        try {
          const parsed: unknown = JSON.parse(pattern);
          if (isPlain(parsed)) filterPattern = parsed;
          else problems.push(`${at}.triggerConfig.eventRuleFilterPattern: must be a JSON object`);
        } catch {
          problems.push(`${at}.triggerConfig.eventRuleFilterPattern: not valid JSON`);
        }
      }
      out.push({
        type: 'eventbridge',
        name,
        enable: config.triggerEnable !== false,
        asyncInvocationType: config.asyncInvocationType === true,
        ...(filterPattern ? { filterPattern } : {}),
      });
    } else {
      out.push({ type: 'other', name, triggerType: type });
    }
  });
  return out;
}

function num(
  where: string,
  v: unknown,
  fallback: number,
  range: [number, number],
  problems: string[],
): number {
  if (v === undefined || v === null || v === '') return fallback;
  const n = typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isFinite(n) || n < range[0] || n > range[1]) {
    problems.push(`${where}: must be a number in ${range[0]}-${range[1]} (got ${JSON.stringify(v)})`);
    return fallback;
  }
  return n;
}

function readFunction(
  key: string,
  props: Plain,
  baseDir: string,
  problems: string[],
): FunctionSpec | undefined {
  const where = `resources.${key}.props`;
  const before = problems.length;
  const name = str(props.functionName);
  if (!name) problems.push(`${where}.functionName: required`);
  const runtime = str(props.runtime) ?? '';
  if (!runtime) problems.push(`${where}.runtime: required`);
  else if (!runtime.startsWith('nodejs'))
    problems.push(
      `${where}.runtime: ${runtime} is not a Node.js runtime; the local runtime runs nodejs* only`,
    );
  const code =
    typeof props.code === 'string' ? props.code : isPlain(props.code) ? str(props.code.src) : undefined;
  if (!code) problems.push(`${where}.code: required (a local directory, e.g. ./dist/${key})`);
  const handler = str(props.handler);
  if (!handler || !/^[^.]+(\.[^.]+)*\.[A-Za-z_$][\w$]*$/.test(handler))
    problems.push(`${where}.handler: must be <file>.<export>, e.g. index.handler`);
  const env: Record<string, string> = {};
  if (props.environmentVariables !== undefined) {
    if (!isPlain(props.environmentVariables))
      problems.push(`${where}.environmentVariables: must be a mapping`);
    else
      for (const [k, v] of Object.entries(props.environmentVariables)) {
        if (v === null || v === undefined) env[k] = '';
        else if (typeof v === 'object') problems.push(`${where}.environmentVariables.${k}: must be a string`);
        else env[k] = String(v);
      }
  }
  const memorySize = num(
    `${where}.memorySize`,
    props.memorySize,
    FC3_DEFAULTS.memorySize,
    [128, 32768],
    problems,
  );
  const timeout = num(`${where}.timeout`, props.timeout, FC3_DEFAULTS.timeout, [1, 86400], problems);
  const concurrency = isPlain(props.concurrencyConfig) ? props.concurrencyConfig : undefined;
  const reserved =
    concurrency?.reservedConcurrency === undefined
      ? undefined
      : num(
          `${where}.concurrencyConfig.reservedConcurrency`,
          concurrency.reservedConcurrency,
          1,
          [0, 1e6],
          problems,
        );
  const asyncConfig = isPlain(props.asyncInvokeConfig) ? props.asyncInvokeConfig : {};
  const maxAsyncRetryAttempts = num(
    `${where}.asyncInvokeConfig.maxAsyncRetryAttempts`,
    asyncConfig.maxAsyncRetryAttempts,
    FC3_DEFAULTS.maxAsyncRetryAttempts,
    [0, 8],
    problems,
  );
  const maxAsyncEventAgeInSeconds = num(
    `${where}.asyncInvokeConfig.maxAsyncEventAgeInSeconds`,
    asyncConfig.maxAsyncEventAgeInSeconds,
    FC3_DEFAULTS.maxAsyncEventAgeInSeconds,
    [1, 2_592_000],
    problems,
  );
  const triggers = readTriggers(where, props.triggers, problems);
  if (problems.length > before || !name || !code || !handler) return undefined;
  return {
    resource: key,
    name,
    codeDir: isAbsolute(code) ? code : resolve(baseDir, code),
    handler,
    runtime,
    ...(typeof props.region === 'string' ? { region: props.region } : {}),
    memorySize,
    timeout,
    environmentVariables: env,
    ...(reserved !== undefined ? { reservedConcurrency: reserved } : {}),
    maxAsyncRetryAttempts,
    maxAsyncEventAgeInSeconds,
    triggers,
  };
}

/** Parses s.yaml text; throws one SYamlError listing every problem. */
export function readSYaml(text: string, options: ReadSYamlOptions): SYamlApp {
  const source = options.source ?? 's.yaml';
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (err) {
    throw new SYamlError([`not valid YAML: ${(err as Error).message}`], source);
  }
  if (!isPlain(doc)) throw new SYamlError(['must be a YAML mapping'], source);
  const problems: string[] = [];
  const warnings: string[] = [];
  if (String(doc.edition ?? '') !== '3.0.0')
    problems.push(
      `edition: must be 3.0.0 (Serverless Devs 3, component fc3); got ${JSON.stringify(doc.edition)}`,
    );
  const scope: Scope = {
    vars: {},
    env: options.env ?? process.env,
    warnings,
    ...(options.accountId ? { accountId: options.accountId } : {}),
  };
  // vars may refer to the environment and to earlier vars
  if (doc.vars !== undefined && !isPlain(doc.vars)) problems.push('vars: must be a mapping');
  for (const [k, v] of Object.entries(isPlain(doc.vars) ? doc.vars : {}))
    scope.vars[k] = interpolate(v, scope);
  if (doc.template !== undefined && !isPlain(doc.template)) problems.push('template: must be a mapping');
  const templates = isPlain(doc.template) ? doc.template : {};
  if (!isPlain(doc.resources)) problems.push('resources: required (a mapping of resource name to component)');
  const functions: FunctionSpec[] = [];
  const skipped: string[] = [];
  for (const [key, resource] of Object.entries(isPlain(doc.resources) ? doc.resources : {})) {
    if (!isPlain(resource)) {
      problems.push(`resources.${key}: must be a mapping`);
      continue;
    }
    if (!isFc3(resource.component)) {
      skipped.push(key);
      continue;
    }
    let base: Plain = {};
    if (resource.extend !== undefined) {
      const ext = isPlain(resource.extend) ? resource.extend : {};
      const templateName = str(ext.name);
      const template = templateName ? templates[templateName] : undefined;
      if (!templateName || !isPlain(template)) {
        problems.push(
          `resources.${key}.extend.name: no template named ${JSON.stringify(ext.name)} under template:`,
        );
      } else {
        const ignore = Array.isArray(ext.ignore) ? ext.ignore.filter((x) => typeof x === 'string') : [];
        base = Object.fromEntries(Object.entries(template).filter(([k]) => !ignore.includes(k)));
      }
    }
    const merged = deepExtend({}, structuredClone(base), structuredClone(resource.props ?? {}));
    const props = interpolate(merged, scope) as Plain;
    const fn = readFunction(key, props, options.baseDir, problems);
    if (fn) functions.push(fn);
  }
  const seen = new Map<string, string>();
  for (const f of functions) {
    const other = seen.get(f.name);
    if (other)
      problems.push(`resources.${f.resource}.props.functionName: ${f.name} is also used by ${other}`);
    seen.set(f.name, f.resource);
  }
  if (problems.length > 0) throw new SYamlError(problems, source);
  return {
    ...(typeof doc.name === 'string' ? { name: doc.name } : {}),
    functions,
    skipped,
    warnings: [...new Set(warnings)],
  };
}
