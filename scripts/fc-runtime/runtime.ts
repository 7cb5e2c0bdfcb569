// The local Function Compute 3.0 runtime: the functions of an s.yaml, their triggers, and the FC invoke
// API, on loopback. See index.ts for how to use it. This file wires the parts together and owns what a
// function sees (context, environment, masking of secrets); the FC behaviour lives where it is
// implemented: instances.ts (workers, timeout, reserved concurrency), async-invocations.ts (202 and
// retries), timers.ts + cron.ts, servers.ts + http-event.ts + fc-signature.ts, event-pattern.ts.

import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { dirname, join, resolve } from 'node:path';
import { type CloudEvent, cloudEventSchema } from '../../shared/runtime/fc-events';
import { AsyncInvocations } from './async-invocations';
import { CronExpressionError, parseSchedule, type Schedule, triggerTimeOf } from './cron';
import { mismatch } from './event-pattern';
import type { AccessKey } from './fc-signature';
import type { HandlerOutput } from './http-event';
import { FunctionInstances, type LogLevel } from './instances';
import {
  type EventBridgeTriggerSpec,
  type FunctionSpec,
  type HttpTriggerSpec,
  readSYaml,
  SYamlError,
} from './s-yaml';
import {
  closeServer,
  createApiServer,
  createHttpTriggerServer,
  HOST,
  listen,
  type RuntimeCore,
} from './servers';
import { TimerScheduler, type TimerStatus } from './timers';
import {
  type AsyncInvocationRecord,
  type Clock,
  FcRuntimeError,
  type FunctionInfo,
  type InvocationResult,
  newRequestId,
  SYSTEM_CLOCK,
  type TriggerInfo,
} from './types';

export const FC_API_VERSION = '2023-03-30';
export const DEFAULT_ACCOUNT_ID = '1234567890123456';
export const DEFAULT_REGION = 'cn-hangzhou';
/** the variable through which functions learn this runtime's invoke endpoint (for @alicloud/fc2) */
export const FC_ENDPOINT_ENV = 'SLB_AUTOPILOT_FC_ENDPOINT';
/** environment values under names like these are masked in log lines */
const SECRET_NAME = /SECRET|TOKEN|PASSWORD|PASSWD|PRIVATE_KEY|ACCESS_KEY/i;

export interface FcRuntimeOptions {
  /** s.yaml to read (relative `code` paths resolve against its directory) */
  sYamlPath?: string;
  /** or its text, with `baseDir` for the code paths */
  sYamlText?: string;
  /** default: the directory of sYamlPath, else the working directory */
  baseDir?: string;
  /** the FC invoke API port on 127.0.0.1; default 0 (any free port) */
  port?: number;
  /** fixed HTTP-trigger ports by resource key or function name; default 0 each */
  httpPorts?: Record<string, number>;
  accountId?: string;
  /** overrides each function's props.region (default cn-hangzhou where s.yaml has none) */
  region?: string;
  /** STS-like keys handed to every function (context.credentials, ALIBABA_CLOUD_*); default random fakes */
  credentials?: AccessKey;
  /** further key pairs the invoke API accepts (the function credentials are always accepted) */
  accessKeys?: readonly AccessKey[];
  /** extra environment for every function, over s.yaml's (e.g. SLB_AUTOPILOT_LOCAL_CLOUD) */
  env?: Record<string, string>;
  /** what `${env('X')}` in s.yaml reads; default process.env */
  interpolationEnv?: Record<string, string | undefined>;
  /** 'auto' fires timers on their schedule; 'manual' only through fireTimer(); default 'auto' */
  timers?: 'auto' | 'manual';
  /** for timers and async backoff; default real time */
  clock?: Clock;
  /** where runtime and function log lines go (prefixed `[name] `); default console.log; false: nowhere */
  log?: ((line: string) => void) | false;
  /** delay before async retry n (1-based); default 1 s, 2 s, 4 s, ... capped at 60 s */
  asyncRetryDelayMs?: (retry: number) => number;
  /** context.logger's level when the function has no ALIYUN_FC_LOG_LEVEL; default debug */
  logLevel?: LogLevel;
  /** how long an idle instance stays warm; default 5 minutes */
  idleInstanceMs?: number;
}

export interface FcRuntime {
  /** the FC invoke API, e.g. http://127.0.0.1:PORT (fc2's `endpoint`) */
  readonly url: string;
  readonly port: number;
  readonly accountId: string;
  /** the keys handed to functions (also accepted by the invoke API) */
  readonly credentials: AccessKey;
  /** non-fatal findings: unresolved s.yaml variables, skipped resources, unenforced trigger auth */
  readonly warnings: readonly string[];
  functions(): FunctionInfo[];
  /** by function name or resource key; an object event is sent as JSON */
  invoke(
    name: string,
    event?: Buffer | string | object,
    options?: { async?: false },
  ): Promise<InvocationResult>;
  invoke(
    name: string,
    event: Buffer | string | object,
    options: { async: true },
  ): Promise<AsyncInvocationRecord>;
  /** runs a timer trigger now (or as if at `at`) with FC's timer event */
  fireTimer(name: string, triggerName: string, at?: Date): Promise<InvocationResult>;
  /** pauses (or resumes) the timer schedule: runs that come due while paused are skipped */
  pauseTimers(paused: boolean): void;
  /** fires the function's next scheduled timer runs now (their trigger time), the schedule moving past them */
  stepTimers(name: string): Promise<InvocationResult[]>;
  timerStatus(): TimerStatus;
  /** a CloudEvents envelope through the function's EventBridge trigger; async as the trigger says */
  deliverEvent(
    name: string,
    event: unknown,
    options?: { async?: boolean },
  ): Promise<InvocationResult | AsyncInvocationRecord>;
  asyncRecords(): AsyncInvocationRecord[];
  /** resolves when the async invocation has finished (succeeded, failed, expired, cancelled) */
  waitForAsync(requestId: string): Promise<AsyncInvocationRecord>;
  /** resolves when no async invocation is pending */
  idle(): Promise<void>;
  /** stops every server, timer and instance */
  close(): Promise<void>;
}

interface FunctionState {
  spec: FunctionSpec;
  schedules: Map<string, Schedule>;
  instances?: FunctionInstances;
  httpUrl?: string;
}

function randomAlnum(n: number): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  return Array.from(randomBytes(n), (b) => alphabet[b % alphabet.length]).join('');
}

/** STS-shaped fakes: fc2 sends the token only for keys starting with "STS" */
function fakeStsCredentials(): AccessKey {
  return {
    accessKeyId: `STS.Local${randomAlnum(20)}`,
    accessKeySecret: randomAlnum(30),
    securityToken: `CAIS${randomAlnum(60)}`,
  };
}

/** The files FC would load for `handler` (`<file>.<export>`), in the order tried. */
export function bundleCandidates(spec: Pick<FunctionSpec, 'codeDir' | 'handler'>): string[] {
  const stem = spec.handler.slice(0, spec.handler.lastIndexOf('.'));
  return ['.js', '.mjs', '.cjs'].map((ext) => join(spec.codeDir, `${stem}${ext}`));
}

function resolveBundle(spec: FunctionSpec): { file: string; built: boolean } {
  const candidates = bundleCandidates(spec);
  const found = candidates.find((f) => existsSync(f));
  return found ? { file: found, built: true } : { file: candidates[0] as string, built: false };
}

function toEventBuffer(event: Buffer | string | object | undefined): Buffer {
  if (Buffer.isBuffer(event)) return event;
  if (typeof event === 'string') return Buffer.from(event);
  if (event === undefined) return Buffer.alloc(0);
  return Buffer.from(JSON.stringify(event));
}

function outputBody(out: HandlerOutput): { body: Buffer; result?: unknown } {
  switch (out.kind) {
    case 'empty':
      return { body: Buffer.alloc(0) };
    case 'buffer':
      return { body: out.value, result: out.value };
    case 'text':
      return { body: Buffer.from(out.value), result: out.value };
    default:
      return { body: Buffer.from(JSON.stringify(out.value)), result: out.value };
  }
}

function readApp(options: FcRuntimeOptions, accountId: string, anchor: Date) {
  if (!options.sYamlPath && options.sYamlText === undefined)
    throw new FcRuntimeError('InvalidArgument', 400, 'startFcRuntime: give sYamlPath or sYamlText');
  const source = options.sYamlPath ?? 's.yaml';
  const app = readSYaml(options.sYamlText ?? readFileSync(options.sYamlPath as string, 'utf8'), {
    baseDir: options.baseDir ?? (options.sYamlPath ? dirname(resolve(options.sYamlPath)) : process.cwd()),
    env: options.interpolationEnv ?? process.env,
    accountId,
    source,
  });
  // every timer schedule is checked up front: one error lists every bad expression
  const problems: string[] = [];
  const states = new Map<string, FunctionState>();
  for (const spec of app.functions) {
    const schedules = new Map<string, Schedule>();
    for (const t of spec.triggers) {
      if (t.type !== 'timer') continue;
      try {
        schedules.set(t.name, parseSchedule(t.cronExpression, anchor));
      } catch (err) {
        if (!(err instanceof CronExpressionError)) throw err;
        problems.push(`resources.${spec.resource}.props.triggers.${t.name}: ${err.message}`);
      }
    }
    states.set(spec.name, { spec, schedules });
  }
  if (problems.length > 0) throw new SYamlError(problems, source);
  const warnings = [
    ...app.warnings,
    ...app.skipped.map((k) => `resources.${k}: not an fc3 function, skipped`),
  ];
  return { states, warnings };
}

export async function startFcRuntime(options: FcRuntimeOptions): Promise<FcRuntime> {
  const clock = options.clock ?? SYSTEM_CLOCK;
  const sink = options.log === false ? () => {} : (options.log ?? ((line: string) => console.log(line)));
  const say = (line: string) => sink(`[fc-runtime] ${line}`);
  const accountId = options.accountId ?? DEFAULT_ACCOUNT_ID;
  const credentials = options.credentials ?? fakeStsCredentials();
  const acceptedKeys = [credentials, ...(options.accessKeys ?? [])];
  const { states, warnings } = readApp(options, accountId, clock.now());
  let closed = false;
  let url = '';

  const secrets = new Set<string>();
  for (const k of acceptedKeys) for (const s of [k.accessKeySecret, k.securityToken]) if (s) secrets.add(s);
  for (const { spec } of states.values())
    for (const [k, v] of Object.entries({ ...spec.environmentVariables, ...options.env }))
      if (SECRET_NAME.test(k) && v.length >= 8) secrets.add(v);
  const redact = (line: string) => {
    let out = line;
    for (const s of secrets) if (out.includes(s)) out = out.split(s).join('***');
    return out;
  };

  const regionOf = (spec: FunctionSpec) => options.region ?? spec.region ?? DEFAULT_REGION;

  /** FC builds the instance environment from the function config plus its reserved system variables */
  function envFor(spec: FunctionSpec): Record<string, string> {
    const base: Record<string, string> = {};
    for (const k of ['PATH', 'HOME']) {
      const v = process.env[k];
      if (v !== undefined) base[k] = v;
    }
    return {
      ...base,
      [FC_ENDPOINT_ENV]: url,
      ...spec.environmentVariables,
      ...options.env,
      FC_FUNCTION_NAME: spec.name,
      FC_FUNCTION_HANDLER: spec.handler,
      FC_FUNCTION_MEMORY_SIZE: String(spec.memorySize),
      FC_FUNC_CODE_PATH: spec.codeDir,
      FC_REGION: regionOf(spec),
      FC_ACCOUNT_ID: accountId,
      ALIBABA_CLOUD_ACCESS_KEY_ID: credentials.accessKeyId,
      ALIBABA_CLOUD_ACCESS_KEY_SECRET: credentials.accessKeySecret,
      ...(credentials.securityToken ? { ALIBABA_CLOUD_SECURITY_TOKEN: credentials.securityToken } : {}),
    };
  }

  function logLevelOf(spec: FunctionSpec): LogLevel {
    const level = (
      options.env?.ALIYUN_FC_LOG_LEVEL ?? spec.environmentVariables.ALIYUN_FC_LOG_LEVEL
    )?.toLowerCase();
    if (level === 'debug' || level === 'info' || level === 'warn' || level === 'error') return level;
    return options.logLevel ?? 'debug';
  }

  function stateOf(name: string): FunctionState {
    if (closed) throw new FcRuntimeError('RuntimeClosed', 503, 'the local FC runtime is closed');
    const state = states.get(name) ?? [...states.values()].find((s) => s.spec.resource === name);
    if (!state) {
      const known = [...states.values()].map((s) => s.spec.name).join(', ');
      throw new FcRuntimeError(
        'FunctionNotFound',
        404,
        `function not found: ${name} (s.yaml declares: ${known})`,
      );
    }
    return state;
  }

  function requireFunction(name: string): FunctionSpec {
    const { spec } = stateOf(name);
    const bundle = resolveBundle(spec);
    if (!bundle.built)
      throw new FcRuntimeError(
        'FunctionNotFound',
        404,
        `function ${spec.name} is declared in s.yaml but not built: ${bundle.file} is missing (npm run build)`,
      );
    return spec;
  }

  async function run(spec: FunctionSpec, event: Buffer, requestId: string): Promise<InvocationResult> {
    const state = stateOf(spec.name);
    state.instances ??= new FunctionInstances(spec, {
      env: envFor(spec),
      bundleFile: () => resolveBundle(spec).file,
      onLog: (line) => sink(`[${spec.resource}] ${line}`),
      redact,
      ...(options.idleInstanceMs !== undefined ? { idleMs: options.idleInstanceMs } : {}),
    });
    const outcome = await state.instances.run({
      requestId,
      event,
      logLevel: logLevelOf(spec),
      context: {
        requestId,
        credentials: {
          accessKeyId: credentials.accessKeyId,
          accessKeySecret: credentials.accessKeySecret,
          ...(credentials.securityToken ? { securityToken: credentials.securityToken } : {}),
        },
        function: { name: spec.name, handler: spec.handler, memory: spec.memorySize, timeout: spec.timeout },
        region: regionOf(spec),
        accountId,
      },
    });
    const base = {
      requestId,
      functionName: spec.name,
      logs: outcome.logs,
      durationMs: outcome.durationMs,
      coldStart: outcome.coldStart,
    };
    if (outcome.ok) return { ...base, ok: true, ...outputBody(outcome.output) };
    const error = { errorType: outcome.errorType, errorMessage: outcome.errorMessage };
    return {
      ...base,
      ok: false,
      error,
      body: Buffer.from(JSON.stringify({ errorMessage: error.errorMessage, errorType: error.errorType })),
      ...(outcome.timedOut ? { timedOut: true } : {}),
    };
  }

  const asyncInvocations = new AsyncInvocations({
    clock,
    retryDelayMs: options.asyncRetryDelayMs ?? ((n) => Math.min(1000 * 2 ** (n - 1), 60_000)),
    run,
    say,
  });

  async function invoke(
    name: string,
    event?: Buffer | string | object,
    opts: { async?: boolean } = {},
  ): Promise<InvocationResult | AsyncInvocationRecord> {
    const spec = requireFunction(name);
    const buf = toEventBuffer(event);
    if (opts.async) return asyncInvocations.enqueue(spec, buf, 'local');
    return run(spec, buf, newRequestId(clock.now()));
  }

  async function fireTimer(name: string, triggerName: string, at?: Date): Promise<InvocationResult> {
    const spec = requireFunction(name);
    const t = spec.triggers.find((x) => x.name === triggerName);
    if (t?.type !== 'timer')
      throw new FcRuntimeError(
        'TriggerNotFound',
        404,
        `function ${spec.name} has no timer trigger named ${triggerName}`,
      );
    const event = {
      triggerTime: triggerTimeOf(at ?? clock.now()),
      triggerName: t.name,
      payload: t.payload ?? '',
    };
    return run(spec, Buffer.from(JSON.stringify(event)), newRequestId(clock.now()));
  }

  async function deliverEvent(
    name: string,
    event: unknown,
    opts: { async?: boolean } = {},
  ): Promise<InvocationResult | AsyncInvocationRecord> {
    const spec = requireFunction(name);
    const trigger = spec.triggers.find((t): t is EventBridgeTriggerSpec => t.type === 'eventbridge');
    if (!trigger)
      throw new FcRuntimeError(
        'TriggerNotFound',
        404,
        `function ${spec.name} has no eventbridge trigger in s.yaml`,
      );
    if (!trigger.enable)
      throw new FcRuntimeError(
        'TriggerDisabled',
        409,
        `eventbridge trigger ${trigger.name} is disabled (triggerEnable)`,
      );
    const parsed = cloudEventSchema.safeParse(event);
    if (!parsed.success) {
      const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(envelope)'}: ${i.message}`);
      throw new FcRuntimeError('InvalidArgument', 400, `not a CloudEvents envelope: ${issues.join('; ')}`);
    }
    const why = trigger.filterPattern ? mismatch(trigger.filterPattern, event) : undefined;
    if (why)
      throw new FcRuntimeError(
        'EventNotMatched',
        422,
        `the event does not match eventRuleFilterPattern of ${trigger.name}: ${why}; EventBridge would not deliver it`,
      );
    // the envelope as sent (extension attributes included), not only the fields the schema names
    const envelope: CloudEvent = { ...(event as object), ...parsed.data };
    const buf = Buffer.from(JSON.stringify(envelope));
    if (opts.async ?? trigger.asyncInvocationType)
      return asyncInvocations.enqueue(spec, buf, `eventbridge:${trigger.name}`);
    return run(spec, buf, newRequestId(clock.now()));
  }

  const timers = new TimerScheduler(clock, (spec, trigger, at) => {
    const tag = `timer ${spec.resource}/${trigger.name}`;
    fireTimer(spec.name, trigger.name, at).then(
      (r) => {
        if (!r.ok) say(`${tag}: ${r.error?.errorType}: ${r.error?.errorMessage}`);
      },
      (err: unknown) => say(`${tag}: ${err instanceof Error ? err.message : String(err)}`),
    );
  });

  async function stepTimers(name: string): Promise<InvocationResult[]> {
    const spec = requireFunction(name);
    const due = timers.step(spec.name);
    if (due.length === 0)
      throw new FcRuntimeError('TriggerNotFound', 404, `function ${spec.name} has no enabled timer trigger`);
    return Promise.all(due.map((d) => fireTimer(d.spec.name, d.trigger.name, d.at)));
  }

  function functions(): FunctionInfo[] {
    return [...states.values()].map(({ spec, instances, httpUrl }) => {
      const bundle = resolveBundle(spec);
      const triggers = spec.triggers.map((t): TriggerInfo => {
        if (t.type === 'timer') {
          const next = timers.nextRun(spec.name, t.name);
          return {
            name: t.name,
            type: 'timer',
            enabled: t.enable,
            cronExpression: t.cronExpression,
            ...(next ? { nextRun: next.toISOString() } : {}),
          };
        }
        if (t.type === 'http')
          return {
            name: t.name,
            type: 'http',
            enabled: true,
            methods: t.methods,
            ...(httpUrl ? { httpUrl } : {}),
          };
        if (t.type === 'eventbridge') return { name: t.name, type: 'eventbridge', enabled: t.enable };
        return { name: t.name, type: t.triggerType, enabled: true };
      });
      return {
        name: spec.name,
        resource: spec.resource,
        built: bundle.built,
        bundle: bundle.file,
        handler: spec.handler,
        memorySize: spec.memorySize,
        timeout: spec.timeout,
        ...(spec.reservedConcurrency !== undefined ? { reservedConcurrency: spec.reservedConcurrency } : {}),
        maxAsyncRetryAttempts: spec.maxAsyncRetryAttempts,
        triggers,
        ...(httpUrl ? { httpUrl } : {}),
        instances: instances?.size ?? 0,
        queued: instances?.queued ?? 0,
      };
    });
  }

  const core: RuntimeCore = {
    clock,
    accountId,
    acceptedKeys,
    requireFunction,
    run,
    enqueueAsync: (spec, event, source, requestId) =>
      asyncInvocations.enqueue(spec, event, source, requestId),
    deliverEvent,
    fireTimer: (name, trigger) => fireTimer(name, trigger),
    timers: {
      status: () => timers.status(),
      setPaused: (paused) => timers.setPaused(paused),
      step: stepTimers,
    },
    functions,
    asyncRecords: () => asyncInvocations.records(),
  };

  const servers: Server[] = [];
  let port: number;
  try {
    const api = createApiServer(core);
    servers.push(api);
    port = await listen(api, options.port ?? 0);
    url = `http://${HOST}:${port}`;
    for (const state of states.values()) {
      const trigger = state.spec.triggers.find((t): t is HttpTriggerSpec => t.type === 'http');
      if (!trigger) continue;
      if (trigger.authType !== 'anonymous')
        warnings.push(
          `${state.spec.resource}: HTTP trigger authType ${trigger.authType} is not enforced locally`,
        );
      const server = createHttpTriggerServer(core, state.spec, trigger);
      servers.push(server);
      const fixed = options.httpPorts?.[state.spec.resource] ?? options.httpPorts?.[state.spec.name] ?? 0;
      state.httpUrl = `http://${HOST}:${await listen(server, fixed)}`;
    }
  } catch (err) {
    await Promise.all(servers.map(closeServer));
    throw err;
  }

  const autoTimers = (options.timers ?? 'auto') === 'auto';
  for (const { spec, schedules } of states.values())
    for (const t of spec.triggers) {
      const schedule = schedules.get(t.name);
      if (t.type !== 'timer' || !t.enable || !schedule) continue;
      // 'manual' timers can still be stepped (POST /_runtime/timers {"step": ...})
      if (autoTimers) timers.arm(spec, t, schedule);
      else timers.register(spec, t, schedule);
    }

  return {
    url,
    port,
    accountId,
    credentials,
    warnings,
    functions,
    invoke: invoke as FcRuntime['invoke'],
    fireTimer,
    pauseTimers: (paused) => timers.setPaused(paused),
    stepTimers,
    timerStatus: () => timers.status(),
    deliverEvent,
    asyncRecords: () => asyncInvocations.records(),
    async waitForAsync(requestId) {
      const rec = await asyncInvocations.waitFor(requestId);
      if (!rec) throw new FcRuntimeError('NotFound', 404, `no async invocation ${requestId}`);
      return rec;
    },
    idle: () => asyncInvocations.idle(),
    async close() {
      if (closed) return;
      closed = true;
      timers.close();
      await Promise.all(servers.map(closeServer));
      await Promise.all([...states.values()].map((s) => s.instances?.close()));
      await asyncInvocations.close();
    },
  };
}
