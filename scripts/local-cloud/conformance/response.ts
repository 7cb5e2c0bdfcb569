// Checks a response body against the official response shape of its action (reference/openapi/,
// built from the official SDK's response structs): no field the shape lacks, the right JSON type for
// each field (string vs integer vs boolean), the right nesting. Every documented field is optional.
// Where the documentation says a field appears only under a condition, RESPONSE_RULES check that too.

import type { SchemaNode } from './model';

export interface ResponseFinding {
  kind: 'undocumented' | 'type' | 'condition';
  /** e.g. `Listeners[0].HTTPListenerConfig.ForwardPort` */
  path: string;
  message: string;
}

/**
 * The error body every RPC API answers with (reference/slb-2014-05-15.md §3: `RequestId`, `HostId`,
 * `Code`, `Message`, and `Recommend` from the current gateway). The SDK models describe only successes.
 */
export const ERROR_BODY: SchemaNode = {
  type: 'object',
  properties: {
    RequestId: { type: 'string' },
    HostId: { type: 'string' },
    Code: { type: 'string' },
    Message: { type: 'string' },
    Recommend: { type: 'string' },
  },
};

function typeOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

function matches(type: SchemaNode['type'], v: unknown): boolean {
  const t = typeOf(v);
  if (type === 'any') return v !== null;
  if (type === 'number') return t === 'number' || t === 'integer';
  return t === type;
}

export function checkShape(schema: SchemaNode, body: unknown, path = ''): ResponseFinding[] {
  const where = path || '(body)';
  if (!matches(schema.type, body))
    return [
      { kind: 'type', path: where, message: `${where} is ${typeOf(body)}, the API says ${schema.type}` },
    ];
  const out: ResponseFinding[] = [];
  if (schema.type === 'object' && schema.properties) {
    for (const [k, v] of Object.entries(body as Record<string, unknown>)) {
      // JSON.stringify drops undefined: such a field never reaches the wire.
      if (v === undefined) continue;
      const at = path ? `${path}.${k}` : k;
      const sub = schema.properties[k];
      if (!sub) out.push({ kind: 'undocumented', path: at, message: `${at} is not in the API's response` });
      else out.push(...checkShape(sub, v, at));
    }
  } else if (schema.type === 'array' && schema.items) {
    (body as unknown[]).forEach((item, i) => {
      out.push(...checkShape(schema.items as SchemaNode, item, `${path}[${i}]`));
    });
  }
  return out;
}

export interface ResponseRule {
  id: string;
  actions: readonly string[];
  /** the official sentence this rule encodes */
  note: string;
  check(body: Record<string, unknown>): ResponseFinding[];
}

const obj = (v: unknown): Record<string, unknown> | undefined =>
  v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;

/** The listener configurations of a body: the flat attribute body, or each item's nested config. */
function listenerConfigs(body: Record<string, unknown>): { path: string; config: Record<string, unknown> }[] {
  if (!Array.isArray(body.Listeners)) return [{ path: '', config: body }];
  return body.Listeners.flatMap((l, i) => {
    const item = obj(l) ?? {};
    return (['HTTPListenerConfig', 'HTTPSListenerConfig', 'TCPListenerConfig', 'UDPListenerConfig'] as const)
      .filter((k) => obj(item[k]))
      .map((k) => ({ path: `Listeners[${i}].${k}.`, config: obj(item[k]) as Record<string, unknown> }));
  });
}

const LISTENER_READS = [
  'DescribeLoadBalancerHTTPListenerAttribute',
  'DescribeLoadBalancerHTTPSListenerAttribute',
  'DescribeLoadBalancerListeners',
] as const;

export const RESPONSE_RULES: readonly ResponseRule[] = [
  {
    id: 'ForwardPort-only-when-ListenerForward-on',
    actions: ['DescribeLoadBalancerHTTPListenerAttribute', 'DescribeLoadBalancerListeners'],
    note: 'Listeners[].HTTPListenerConfig.ForwardPort: If the ListenerForward parameter is set to off, this parameter is not returned.',
    check: (body) =>
      listenerConfigs(body)
        .filter(({ config }) => config.ForwardPort !== undefined && config.ListenerForward !== 'on')
        .map(({ path }) => ({
          kind: 'condition',
          path: `${path}ForwardPort`,
          message: `${path}ForwardPort is returned although ListenerForward is not on`,
        })),
  },
  {
    id: 'AclId-only-when-AclStatus-on',
    actions: LISTENER_READS,
    note: 'AclId: This parameter is returned when AclStatus is set to on.',
    check: (body) =>
      listenerConfigs(body)
        .filter(({ config }) => config.AclId !== undefined && config.AclStatus !== 'on')
        .map(({ path }) => ({
          kind: 'condition',
          path: `${path}AclId`,
          message: `${path}AclId is returned although AclStatus is not on`,
        })),
  },
  {
    id: 'HealthCheckMethod-only-when-HealthCheck-on',
    actions: LISTENER_READS,
    note: 'HealthCheckMethod: This parameter is returned when HealthCheck is set to on.',
    check: (body) =>
      listenerConfigs(body)
        .filter(({ config }) => config.HealthCheckMethod !== undefined && config.HealthCheck !== 'on')
        .map(({ path }) => ({
          kind: 'condition',
          path: `${path}HealthCheckMethod`,
          message: `${path}HealthCheckMethod is returned although HealthCheck is not on`,
        })),
  },
  {
    id: 'Listeners-absent-when-none',
    actions: ['DescribeLoadBalancerListeners'],
    note: 'Listeners: This parameter is not returned if the CLB instance does not have a listener.',
    check: (body) =>
      Array.isArray(body.Listeners) && body.Listeners.length === 0
        ? [{ kind: 'condition', path: 'Listeners', message: 'Listeners is returned empty instead of absent' }]
        : [],
  },
];

export const responseRulesFor = (action: string): ResponseRule[] =>
  RESPONSE_RULES.filter((r) => r.actions.includes(action));

/** A success body against the action's shape and its conditional rules. */
export function checkResponse(schema: SchemaNode, action: string, body: unknown): ResponseFinding[] {
  const out = checkShape(schema, body);
  const o = obj(body);
  if (o) for (const rule of responseRulesFor(action)) out.push(...rule.check(o));
  return out;
}
