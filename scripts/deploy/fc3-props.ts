// The props of an fc3 resource that s.yaml uses, as a strict schema written from the fc3 component's
// documented props (devsapp/fc3 src/schema.json): field names, enums and ranges. Strict on purpose: a
// misspelt field would be ignored by the component and silently deploy something else.

import { z } from 'zod';
import { deepExtend } from '../fc-runtime/s-yaml';

const nonEmpty = z.string().min(1);
/** `${vars.x}` / `${env('X', 'd')}` are resolved by `s`; accept them wherever a string goes */
const str = nonEmpty;

const timerTrigger = z.strictObject({
  triggerName: nonEmpty,
  triggerType: z.literal('timer'),
  description: z.string().optional(),
  triggerConfig: z.strictObject({
    cronExpression: nonEmpty,
    enable: z.boolean(),
    payload: z.string().optional(),
  }),
});

const httpTrigger = z.strictObject({
  triggerName: nonEmpty,
  triggerType: z.literal('http'),
  description: z.string().optional(),
  triggerConfig: z.strictObject({
    authType: z.enum(['anonymous', 'function', 'jwt']),
    methods: z.array(z.enum(['DELETE', 'GET', 'HEAD', 'OPTIONS', 'PATCH', 'POST', 'PUT'])).min(1),
    disableURLInternet: z.boolean().optional(),
  }),
});

const eventBridgeTrigger = z.strictObject({
  triggerName: nonEmpty,
  triggerType: z.literal('eventbridge'),
  description: z.string().optional(),
  triggerConfig: z.strictObject({
    triggerEnable: z.boolean(),
    asyncInvocationType: z.boolean(),
    eventRuleFilterPattern: nonEmpty.refine((s) => {
      try {
        return typeof JSON.parse(s) === 'object';
      } catch {
        return false;
      }
    }, 'must be a JSON object'),
    eventSourceConfig: z.strictObject({
      eventSourceType: nonEmpty,
      eventSourceParameters: z.record(z.string(), z.unknown()),
    }),
    eventSinkConfig: z.strictObject({ deliveryOption: z.record(z.string(), z.unknown()) }),
    runOptions: z.record(z.string(), z.unknown()),
  }),
});

export const fc3PropsSchema = z.strictObject({
  functionName: z.string().regex(/^[A-Za-z_][A-Za-z0-9_-]{0,63}$/, 'must be 1-64 letters, digits, _ or -'),
  description: z.string().max(256).optional(),
  region: str,
  runtime: z.enum(['nodejs16', 'nodejs18', 'nodejs20']),
  handler: z.string().regex(/^[A-Za-z0-9_.-]+\.[A-Za-z_$][A-Za-z0-9_$]*$/, 'must be <file>.<export>'),
  code: str,
  role: z.string(),
  memorySize: z.number().int().min(128).max(32768).multipleOf(64),
  timeout: z.number().int().min(1).max(86400),
  internetAccess: z.boolean().optional(),
  environmentVariables: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/), z.string()).optional(),
  logConfig: z
    .union([
      z.literal('auto'),
      z.strictObject({
        project: str,
        logstore: str,
        enableRequestMetrics: z.boolean().optional(),
        enableInstanceMetrics: z.boolean().optional(),
        logBeginRule: z.enum(['DefaultRegex', 'None']).optional(),
      }),
    ])
    .optional(),
  vpcConfig: z
    .union([
      z.literal('auto'),
      z.strictObject({
        vpcId: z.string(),
        vSwitchIds: z.array(z.string()).min(1),
        securityGroupId: z.string(),
      }),
    ])
    .optional(),
  concurrencyConfig: z.strictObject({ reservedConcurrency: z.number().int().min(0) }).optional(),
  asyncInvokeConfig: z
    .strictObject({
      maxAsyncEventAgeInSeconds: z.number().int().min(1).max(2_592_000).optional(),
      maxAsyncRetryAttempts: z.number().int().min(0).max(8).optional(),
      destinationConfig: z
        .strictObject({
          onSuccess: z.strictObject({ destination: z.string() }).optional(),
          onFailure: z.strictObject({ destination: z.string() }).optional(),
        })
        .optional(),
    })
    .optional(),
  triggers: z
    .array(z.discriminatedUnion('triggerType', [timerTrigger, httpTrigger, eventBridgeTrigger]))
    .optional(),
});

export type Fc3Props = z.infer<typeof fc3PropsSchema>;

export interface SYamlResource {
  key: string;
  props: Fc3Props;
}

/** s.yaml (edition 3.0.0, fc3 resources) with `extend` merged from its template, checked; every problem listed. */
export function checkSYaml(doc: unknown): { resources: SYamlResource[]; problems: string[] } {
  const problems: string[] = [];
  const root = (doc ?? {}) as {
    edition?: unknown;
    template?: Record<string, Record<string, unknown>>;
    resources?: Record<
      string,
      { component?: unknown; extend?: { name?: string }; props?: Record<string, unknown> }
    >;
  };
  if (root.edition !== '3.0.0') problems.push('edition: must be 3.0.0');
  const resources: SYamlResource[] = [];
  for (const [key, r] of Object.entries(root.resources ?? {})) {
    if (r.component !== 'fc3') problems.push(`resources.${key}.component: must be fc3`);
    const base = r.extend?.name ? root.template?.[r.extend.name] : {};
    if (r.extend?.name && !base) problems.push(`resources.${key}.extend.name: no template ${r.extend.name}`);
    // As `s` does it: the template's plain objects (environmentVariables, vpcConfig, ...) merge key by key.
    const merged = deepExtend({}, structuredClone(base ?? {}), r.props ?? {});
    const parsed = fc3PropsSchema.safeParse(merged);
    if (!parsed.success) {
      for (const i of parsed.error.issues) {
        const at = `resources.${key}.props${i.path.map((p) => `.${String(p)}`).join('')}`;
        if (i.code === 'unrecognized_keys')
          for (const k of i.keys) problems.push(`${at}.${k}: is not an fc3 prop (misspelt?)`);
        else problems.push(`${at}: ${i.message}`);
      }
      continue;
    }
    resources.push({ key, props: parsed.data });
  }
  return { resources, problems };
}
