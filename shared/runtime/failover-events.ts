// What the `failover` function accepts, normalised into one command at the edge:
//   (a) a CloudMonitor alarm delivered by EventBridge (CloudEvents envelope; matched on the content of
//       `data`, never on a type string, whose exact value for CloudMonitor alarms is unconfirmed),
//   (b) CloudMonitor's threshold alert callback (form-urlencoded body, or its parsed object),
//   (c) an alert rule target push (curLevel/preLevel, resources as a JSON string, metricData),
//   (d) the health audit's hand-off (healthAuditHandOffSchema, defined here),
//   (e) a manual command ({command, loadBalancerId, vServerGroupId?}).
// Anything else is a FailoverEventError naming the offending field (`data.dimensions: not JSON`). Messages
// never carry input values: alarm payloads carry signatures and user ids.
// Alarms always become command 'auto': the planner re-reads health and decides; the alarm only wakes it.

import * as z from 'zod';
import { FAILOVER_COMMANDS, type FailoverCommand } from '../domain/failover';
import { InputError } from '../errors';
import { cloudEventSchema } from './fc-events';

export const FAILOVER_ORIGINS = {
  eventBridge: 'eventbridge',
  cloudMonitorCallback: 'cloudmonitor-callback',
  alertRuleTarget: 'alert-rule-target',
  healthAudit: 'health-audit',
  manual: 'manual',
} as const;
export type FailoverOrigin = (typeof FAILOVER_ORIGINS)[keyof typeof FAILOVER_ORIGINS];

/** ok: the alarm cleared; alert: it fires (ALERT, ALARM, INFO/WARN/CRITICAL); insufficientData: no data */
export type AlarmState = 'ok' | 'alert' | 'insufficientData';

export interface FailoverEventCommand {
  origin: FailoverOrigin;
  loadBalancerId: string;
  /** per-port alarms (CloudMonitor dimensions `port`) */
  listenerPort?: number;
  /** the audit's hand-off and manual commands may narrow to one group */
  vServerGroupId?: string;
  alarmState?: AlarmState;
  command: FailoverCommand;
  /** the same alarm delivered again (CloudMonitor retries, EventBridge redelivery) has the same key */
  dedupeKey: string;
  /** for the log: metric and alarm name, or the audit's reason */
  detail?: string;
  /** EventBridge: the envelope, so the function can log types it has not seen */
  cloudEvent?: { id: string; source: string; type: string };
}

export class FailoverEventError extends InputError {
  override name = 'FailoverEventError';
  declare readonly field: string;
  constructor(
    /** `data.dimensions`, `alertState`, `event`, ... */
    field: string,
    readonly problem: string,
  ) {
    super(`${field}: ${problem}`, { field });
  }
}

/** Larger events are refused before parsing. */
export const MAX_FAILOVER_EVENT_BYTES = 256 * 1024;

export const HEALTH_AUDIT_SOURCE = 'slb-autopilot.health-audit';

const loadBalancerId = z.string().regex(/^lb-[A-Za-z0-9]+$/, 'must be a load balancer id (lb-…)');
const vServerGroupId = z.string().regex(/^rsp-[A-Za-z0-9]+$/, 'must be a VServer group id (rsp-…)');
const SLB_METRIC_PROJECT = 'acs_slb_dashboard';

/** The health audit's hand-off to `failover` (async invocation payload). */
export const healthAuditHandOffSchema = z.object({
  source: z.literal(HEALTH_AUDIT_SOURCE),
  loadBalancerId,
  vServerGroupId: vServerGroupId.optional(),
  /** why the audit thinks a change is due, for the log and the report (1-500) */
  reason: z.string().min(1, 'must not be empty').max(500, 'must be at most 500 characters'),
  /** when the audit observed it (ISO 8601); with the ids, the dedupe key */
  observedAt: z.iso.datetime({ message: 'must be an ISO 8601 instant' }),
  /** what the audit's own run of the planner expects; informational */
  expected: z.enum(['shiftToStandby', 'failBack', 'rebalance']).optional(),
});
export type HealthAuditHandOff = z.input<typeof healthAuditHandOffSchema>;

/** A manual command (provision's `POST /failover`, or a direct invocation). */
export const manualFailoverCommandSchema = z.strictObject({
  command: z.enum(FAILOVER_COMMANDS, { message: `must be one of ${FAILOVER_COMMANDS.join(', ')}` }),
  loadBalancerId,
  vServerGroupId: vServerGroupId.optional(),
  /** makes repeated commands distinct for deduplication */
  requestId: z
    .string()
    .regex(/^[A-Za-z0-9._:-]{1,64}$/, 'must be 1-64 letters, digits, ., _, : or -')
    .optional(),
});
export type ManualFailoverCommand = z.input<typeof manualFailoverCommandSchema>;

const scalar = z.union([z.string(), z.number()], { message: 'must be a string or a number' });
const metricProject = z
  .string()
  .refine((p) => p === SLB_METRIC_PROJECT, `not an SLB metric (expected ${SLB_METRIC_PROJECT})`)
  .optional();

const callbackSchema = z.object({
  alertState: z.enum(['OK', 'ALERT', 'ALARM', 'INSUFFICIENT_DATA'], {
    message: 'must be OK, ALERT, ALARM or INSUFFICIENT_DATA',
  }),
  dimensions: z.unknown(),
  /** epoch seconds */
  timestamp: scalar.optional(),
  metricName: z.string().optional(),
  metricProject,
  namespace: metricProject,
  alertName: z.string().optional(),
  ruleId: z.string().optional(),
});

const LEVELS = ['OK', 'INFO', 'WARN', 'CRITICAL'] as const;
const levelSchema = z.enum(LEVELS, { message: 'must be OK, INFO, WARN or CRITICAL' });
const ruleTargetSchema = z.object({
  curLevel: levelSchema,
  preLevel: levelSchema.optional(),
  ruleId: z.string().optional(),
  ruleName: z.string().optional(),
  metricName: z.string().optional(),
  namespace: metricProject,
  resources: z.unknown().optional(),
  metricData: z
    .object({
      /** epoch ms */
      timestamp: scalar.optional(),
      instanceId: z.string().optional(),
      port: scalar.optional(),
    })
    .optional(),
});

// --- helpers -------------------------------------------------------------------------------------------

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const at = (prefix: string, key: string | number) =>
  typeof key === 'number' ? `${prefix}[${key}]` : prefix ? `${prefix}.${key}` : key;

/** The first problem of a zod result, as a FailoverEventError on its field (values never included). */
function fail(prefix: string, error: z.ZodError, value: unknown): never {
  const issue = error.issues[0];
  let path = prefix;
  for (const p of issue?.path ?? []) path = at(path, typeof p === 'number' ? p : String(p).slice(0, 40));
  if (issue?.code === 'unrecognized_keys')
    throw new FailoverEventError(at(path, String(issue.keys[0]).slice(0, 40)), 'is not a known field');
  let found: unknown = value;
  for (const p of issue?.path ?? [])
    found = isObj(found) || Array.isArray(found) ? (found as Obj)[String(p)] : undefined;
  const problem =
    issue?.code === 'invalid_type' && found === undefined ? 'missing' : (issue?.message ?? 'invalid');
  throw new FailoverEventError(path || 'event', problem);
}

function parseWith<S extends z.ZodType>(schema: S, value: unknown, prefix: string): z.output<S> {
  const r = schema.safeParse(value);
  if (!r.success) fail(prefix, r.error, value);
  return r.data;
}

/** JSON text or a form-urlencoded body -> a value; a value passes through. */
function decodeText(raw: unknown, field: string): unknown {
  const text = Buffer.isBuffer(raw) ? raw.toString('utf8') : raw;
  if (typeof text !== 'string') return text;
  if (Buffer.byteLength(text) > MAX_FAILOVER_EVENT_BYTES)
    throw new FailoverEventError(field, `larger than ${MAX_FAILOVER_EVENT_BYTES} bytes`);
  const trimmed = text.trim();
  try {
    return JSON.parse(trimmed);
  } catch {
    // No cause: the SyntaxError quotes the input.
    if (trimmed.startsWith('{') || trimmed.startsWith('[')) throw new FailoverEventError(field, 'not JSON');
  }
  if (/^[^=&\s]+=/.test(trimmed)) return Object.fromEntries(new URLSearchParams(trimmed));
  throw new FailoverEventError(field, 'neither JSON nor a form-urlencoded body');
}

/** A field CloudMonitor sends as a JSON string (or, once parsed by someone else, as the value itself). */
function jsonField(raw: unknown, field: string): unknown {
  if (typeof raw !== 'string') return raw;
  try {
    return JSON.parse(raw);
  } catch {
    throw new FailoverEventError(field, 'not JSON');
  }
}

function portOf(raw: unknown, field: string): number | undefined {
  if (raw === undefined || raw === null || raw === '') return undefined;
  const n =
    typeof raw === 'number' ? raw : typeof raw === 'string' && /^\d{1,5}$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isInteger(n) || n < 1 || n > 65535)
    throw new FailoverEventError(field, 'must be a port 1-65535');
  return n;
}

function lbIdOf(raw: unknown, field: string): string {
  if (raw === undefined || raw === null || raw === '') throw new FailoverEventError(field, 'missing');
  return parseWith(loadBalancerId, raw, field);
}

/** Epoch seconds from seconds or milliseconds, as text; undefined when absent or not a time. */
function epochSeconds(raw: unknown, field: string): string | undefined {
  if (raw === undefined || raw === '') return undefined;
  const s = String(raw);
  if (!/^\d{1,16}$/.test(s)) throw new FailoverEventError(field, 'must be an epoch time in digits');
  const n = Number(s);
  return String(n > 1e11 ? Math.floor(n / 1000) : n);
}

/** Rule ids and names are user text: keep the key short and plain. */
const keyPart = (s: string | undefined) => (s ? s.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 64) : '-');

/** Every alarm path (callback, rule target, either through EventBridge) keys the same alarm the same way. */
const alarmKey = (a: {
  loadBalancerId: string;
  listenerPort?: number;
  alarmState: AlarmState;
  timestamp?: string;
  rule?: string;
}) =>
  ['cms', a.loadBalancerId, a.listenerPort ?? '-', a.alarmState, a.timestamp ?? '-', keyPart(a.rule)].join(
    ':',
  );

/** `[{"instanceId":"lb-…","port":"443","vip":"…"}]`, one load balancer. */
function parseDimensions(raw: unknown, field: string): { loadBalancerId: string; listenerPort?: number } {
  if (raw === undefined || raw === null || raw === '') throw new FailoverEventError(field, 'missing');
  const value = jsonField(raw, field);
  const list = Array.isArray(value) ? value : [value];
  let found: { loadBalancerId: string; listenerPort?: number } | undefined;
  list.forEach((d, i) => {
    const f = Array.isArray(value) ? at(field, i) : field;
    if (!isObj(d)) throw new FailoverEventError(f, 'must be an object of dimensions');
    if (d.instanceId === undefined) return;
    const id = lbIdOf(d.instanceId, at(f, 'instanceId'));
    if (found && found.loadBalancerId !== id)
      throw new FailoverEventError(field, 'names more than one load balancer');
    const listenerPort = portOf(d.port, at(f, 'port'));
    found = { loadBalancerId: id, ...(listenerPort ? { listenerPort } : {}) };
  });
  if (!found)
    throw new FailoverEventError(at(field, 'instanceId'), 'missing (no dimension names the instance)');
  return found;
}

// --- the shapes ----------------------------------------------------------------------------------------

type Alarm = Omit<FailoverEventCommand, 'origin' | 'cloudEvent'>;

function parseCallback(value: Obj, prefix: string): Alarm {
  const e = parseWith(callbackSchema, value, prefix);
  const dims = parseDimensions(e.dimensions, at(prefix, 'dimensions'));
  const alarmState: AlarmState =
    e.alertState === 'OK' ? 'ok' : e.alertState === 'INSUFFICIENT_DATA' ? 'insufficientData' : 'alert';
  const timestamp = epochSeconds(e.timestamp, at(prefix, 'timestamp'));
  return {
    ...dims,
    alarmState,
    command: 'auto',
    dedupeKey: alarmKey({ ...dims, alarmState, timestamp, rule: e.ruleId ?? e.alertName ?? e.metricName }),
    detail: [e.metricName, e.alertState, e.alertName].filter(Boolean).join(' '),
  };
}

function parseRuleTarget(value: Obj, prefix: string): Alarm {
  const e = parseWith(ruleTargetSchema, value, prefix);
  let loadBalancerId: string | undefined;
  let listenerPort: number | undefined;
  if (e.resources !== undefined && e.resources !== '') {
    const field = at(prefix, 'resources');
    const r = jsonField(e.resources, field);
    const first = Array.isArray(r) ? r[0] : r;
    const f = Array.isArray(r) ? at(field, 0) : field;
    if (!isObj(first)) throw new FailoverEventError(f, 'must be an object with instanceId');
    if (first.instanceId !== undefined) loadBalancerId = lbIdOf(first.instanceId, at(f, 'instanceId'));
    listenerPort = portOf(first.port, at(f, 'port'));
  }
  if (!loadBalancerId && e.metricData?.instanceId !== undefined)
    loadBalancerId = lbIdOf(e.metricData.instanceId, at(prefix, 'metricData.instanceId'));
  if (!loadBalancerId)
    throw new FailoverEventError(
      at(prefix, 'resources'),
      'missing (neither resources nor metricData names the instance)',
    );
  listenerPort ??= portOf(e.metricData?.port, at(prefix, 'metricData.port'));
  const alarmState: AlarmState = e.curLevel === 'OK' ? 'ok' : 'alert';
  const timestamp = epochSeconds(e.metricData?.timestamp, at(prefix, 'metricData.timestamp'));
  const dims = { loadBalancerId, ...(listenerPort ? { listenerPort } : {}) };
  return {
    ...dims,
    alarmState,
    command: 'auto',
    dedupeKey: alarmKey({ ...dims, alarmState, timestamp, rule: e.ruleId ?? e.ruleName ?? e.metricName }),
    detail: [e.metricName ?? e.ruleName, `${e.preLevel ?? '?'} -> ${e.curLevel}`].filter(Boolean).join(' '),
  };
}

/** A CloudMonitor alarm in one of its two shapes, told apart by content. */
function parseAlarm(value: unknown, prefix: string): Alarm & { origin: FailoverOrigin } {
  const field = prefix || 'event';
  if (!isObj(value)) throw new FailoverEventError(field, 'must be an object');
  if ('alertState' in value) return { origin: 'cloudmonitor-callback', ...parseCallback(value, prefix) };
  if ('curLevel' in value) return { origin: 'alert-rule-target', ...parseRuleTarget(value, prefix) };
  throw new FailoverEventError(field, 'not a CloudMonitor alarm (expected alertState or curLevel)');
}

function parseEventBridge(value: Obj): FailoverEventCommand {
  const env = parseWith(cloudEventSchema, value, '');
  if (env.data === undefined || env.data === null) throw new FailoverEventError('data', 'missing');
  const data =
    typeof env.data === 'string' || Buffer.isBuffer(env.data) ? decodeText(env.data, 'data') : env.data;
  const { origin: _shape, ...alarm } = parseAlarm(data, 'data');
  return {
    origin: 'eventbridge',
    ...alarm,
    cloudEvent: { id: env.id, source: env.source, type: env.type },
  };
}

function parseOne(value: unknown, prefix: string): FailoverEventCommand {
  const field = prefix || 'event';
  if (!isObj(value)) throw new FailoverEventError(field, 'must be a JSON object or a form-urlencoded body');
  try {
    if ('specversion' in value) return parseEventBridge(value);
    if (value.source === HEALTH_AUDIT_SOURCE) {
      const h = parseWith(healthAuditHandOffSchema, value, '');
      return {
        origin: 'health-audit',
        loadBalancerId: h.loadBalancerId,
        ...(h.vServerGroupId ? { vServerGroupId: h.vServerGroupId } : {}),
        command: 'auto',
        dedupeKey: ['audit', h.loadBalancerId, h.vServerGroupId ?? '-', h.observedAt].join(':'),
        detail: h.reason,
      };
    }
    if ('command' in value) {
      const m = parseWith(manualFailoverCommandSchema, value, '');
      return {
        origin: 'manual',
        loadBalancerId: m.loadBalancerId,
        ...(m.vServerGroupId ? { vServerGroupId: m.vServerGroupId } : {}),
        command: m.command,
        dedupeKey: ['manual', m.command, m.loadBalancerId, m.vServerGroupId ?? '-', m.requestId ?? '-'].join(
          ':',
        ),
      };
    }
    if ('alertState' in value || 'curLevel' in value) return parseAlarm(value, '');
  } catch (err) {
    // Batch members name their index.
    if (prefix && err instanceof FailoverEventError)
      throw new FailoverEventError(err.field === 'event' ? prefix : `${prefix}.${err.field}`, err.problem);
    throw err;
  }
  throw new FailoverEventError(
    field,
    'not a failover event (expected a CloudEvents envelope, a CloudMonitor alarm, a health-audit hand-off or a command)',
  );
}

// --- entry points --------------------------------------------------------------------------------------

/**
 * Every command in the event: an EventBridge batch (a JSON array) yields one per member, anything else
 * one. `event` is what FC hands the handler (a Buffer), its text, or an already parsed object.
 */
export function parseFailoverEvents(event: unknown): FailoverEventCommand[] {
  const value = decodeText(event, 'event');
  if (Array.isArray(value)) {
    if (value.length === 0) throw new FailoverEventError('event', 'an empty batch');
    return value.map((v, i) => parseOne(v, `[${i}]`));
  }
  return [parseOne(value, '')];
}

/**
 * At most this many distinct events per invocation: each can cost a failover run (reads, probes, a
 * write), and one invocation must finish inside the function's timeout. An alarm storm beyond it is
 * refused explicitly rather than half-handled silently.
 */
export const MAX_EVENTS_PER_INVOCATION = 50;

/**
 * A batch as the failover function runs it: duplicates dropped (the same alarm delivered twice is one
 * event), then the first MAX_EVENTS_PER_INVOCATION kept; `refused` counts the distinct events beyond.
 */
export function parseFailoverBatch(event: unknown): {
  commands: FailoverEventCommand[];
  refused: number;
  /** set when events were refused: says how many and why */
  refusal?: string;
} {
  const seen = new Set<string>();
  const distinct = parseFailoverEvents(event).filter((c) => {
    if (seen.has(c.dedupeKey)) return false;
    seen.add(c.dedupeKey);
    return true;
  });
  const refused = Math.max(0, distinct.length - MAX_EVENTS_PER_INVOCATION);
  return {
    commands: distinct.slice(0, MAX_EVENTS_PER_INVOCATION),
    refused,
    ...(refused > 0
      ? {
          refusal: `event: ${distinct.length} distinct events in one invocation, at most ${MAX_EVENTS_PER_INVOCATION}; the first ${MAX_EVENTS_PER_INVOCATION} were handled, ${refused} refused (send them again)`,
        }
      : {}),
  };
}

/** Exactly one command (a batch of one is unwrapped); throws FailoverEventError naming the field. */
export function parseFailoverEvent(event: unknown): FailoverEventCommand {
  const value = decodeText(event, 'event');
  if (Array.isArray(value)) {
    if (value.length === 0) throw new FailoverEventError('event', 'an empty batch');
    if (value.length !== 1)
      throw new FailoverEventError('event', `a batch of ${value.length} events where one was expected`);
    return parseOne(value[0], '');
  }
  return parseOne(value, '');
}

/**
 * The audit's hand-off as the failover function accepts it. `expected` goes out only for a shift or a
 * failback (the schema's informational values); a pending failback or a primary down again is in the
 * reason.
 */
export function healthAuditHandOff(
  h: { loadBalancerId: string; vServerGroupId: string; reason: string; expected: string },
  observedAt: Date,
): HealthAuditHandOff {
  return {
    source: HEALTH_AUDIT_SOURCE,
    loadBalancerId: h.loadBalancerId,
    vServerGroupId: h.vServerGroupId,
    reason: h.reason || h.expected,
    observedAt: observedAt.toISOString(),
    ...(h.expected === 'shiftToStandby' || h.expected === 'failBack' ? { expected: h.expected } : {}),
  };
}
