// The spec: one declarative description of the desired state that every function reads (load
// balancers, listeners with their certificate sources, VServer groups with primary/standby backends,
// health checks, forwarding rules, extension domains, the renewal and failover policies).
// Validated by one zod schema; types are inferred from it. A bad spec yields one SpecError listing
// every problem, each with the path of the field. Value ranges are the SLB API's own.

import { parse as parseYaml } from 'yaml';
import * as z from 'zod';
import { SpecInputError } from '../errors';
import { type FieldIssue, fieldIssues, issuePath } from './issues';
import { findDuplicateJsonKey } from './json-keys';
import { notifyUrlProblem } from './notify-url';

/** CLB instance specifications (performance-guaranteed; ignored when billed by CLCU). */
export const LOAD_BALANCER_SPECS = [
  'slb.s1.small',
  'slb.s2.small',
  'slb.s2.medium',
  'slb.s3.small',
  'slb.s3.medium',
  'slb.s3.large',
] as const;

/**
 * How much one spec may ask for, in line with CLB's default quotas, so a spec (one sent over HTTP above
 * all) cannot make a run of unbounded size. Errors name the field and the limit.
 */
export const SPEC_LIMITS = {
  /** the health audit is measured at this scale; CLB's default account quota is 30 (adjustable) */
  loadBalancers: 1000,
  /** CLB: 50 listeners per instance */
  listenersPerLoadBalancer: 50,
  /** not a published CLB quota; a bound on the groups one apply creates */
  vServerGroupsPerLoadBalancer: 50,
  /** CLB: 200 backend servers per instance */
  backendsPerGroup: 200,
  /** CLB: 40 forwarding rules per listener (not adjustable) */
  rulesPerListener: 40,
  /** CLB: 3 additional domains per HTTPS listener by default */
  extensionDomainsPerListener: 3,
} as const;

const atMost = (n: number, what: string) => `at most ${n} ${what} (CLB quota / spec limit)`;

const DURATION = /^(\d+)(s|m|h)$/;
const UNIT_SECONDS = { s: 1, m: 60, h: 3600 } as const;

/** "30s", "5m", "2h" -> seconds */
export function parseDuration(text: string): number | undefined {
  const m = DURATION.exec(text);
  return m ? Number(m[1]) * UNIT_SECONDS[m[2] as keyof typeof UNIT_SECONDS] : undefined;
}

const duration = (min: number, max: number) =>
  z.string().transform((s, ctx) => {
    const seconds = parseDuration(s);
    if (seconds === undefined || seconds < min || seconds > max) {
      ctx.addIssue({
        code: 'custom',
        message: `must be a duration like 30s, 5m or 2h, between ${min}s and ${max}s`,
      });
      return z.NEVER;
    }
    return seconds;
  });

const int = (min: number, max: number) =>
  z.number().int(`must be an integer`).min(min, `must be ${min}-${max}`).max(max, `must be ${min}-${max}`);
const domainName = z
  .string()
  .regex(
    /^(\*\.)?([A-Za-z0-9-]+\.)+[A-Za-z0-9-]+$/,
    'must be a domain name (a wildcard only as the first label)',
  );
const envName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an environment variable name');

export const LETS_ENCRYPT_DIRECTORY = 'https://acme-v02.api.letsencrypt.org/directory';
export const LETS_ENCRYPT_STAGING_DIRECTORY = 'https://acme-staging-v02.api.letsencrypt.org/directory';

/**
 * A certificate issued by an ACME CA with DNS-01 on Alibaba Cloud DNS. `directory` defaults to Let's
 * Encrypt production, `staging: true` to its staging CA (not both); `domains` default to what the
 * reference serves; the account key is the deployment's (SLB_AUTOPILOT_ACME_ACCOUNT_KEY), never the spec's.
 */
const ACME_KEY_TYPES = ['ec-p256', 'rsa-2048'] as const;
const acmeEabSchema = z.strictObject({
  kid: z.string('must be a string').min(1, 'must not be empty'),
  hmacKeyEnv: z
    .string('must name the environment variable holding the HMAC key')
    .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an environment variable name'),
});

export const acmeSourceSchema = z
  .strictObject({
    directory: z
      .string()
      .refine((s) => URL.canParse(s) && new URL(s).protocol === 'https:', 'must be an https:// URL')
      .optional(),
    staging: z.boolean().optional(),
    email: z.email('must be an email address').optional(),
    domains: z
      .array(domainName)
      .min(1, 'must name at least one domain')
      .max(100, 'at most 100 domains')
      .optional(),
    // Checked below, not here: inside the certificate source union a failed enum or a missing key hides
    // behind the union's one message; a failed refinement is reported at its field.
    challenge: z.unknown().optional(),
    /** pins the Alibaba Cloud DNS zone the challenge records go into */
    dnsZone: z
      .string()
      .regex(/^([A-Za-z0-9-]+\.)+[A-Za-z0-9-]+$/, 'must be a zone name such as example.com')
      .optional(),
    keyType: z.unknown().optional(),
    /** External Account Binding: the key id, and the environment variable holding the HMAC key */
    eab: z.unknown().optional(),
  })
  .superRefine((a, ctx) => {
    const issue = (path: string[], message: string) => ctx.addIssue({ code: 'custom', path, message });
    if (a.directory && a.staging)
      issue(
        ['staging'],
        "staging picks the Let's Encrypt staging directory: give either directory or staging, not both",
      );
    if (a.challenge !== undefined && a.challenge !== 'dns-01')
      issue(['challenge'], 'must be dns-01 (the only challenge supported)');
    if (a.keyType !== undefined && !ACME_KEY_TYPES.includes(a.keyType as never))
      issue(['keyType'], `must be ${ACME_KEY_TYPES.join(' or ')}`);
    if (a.eab !== undefined) {
      const eab = acmeEabSchema.safeParse(a.eab);
      if (!eab.success)
        for (const i of eab.error.issues)
          issue(
            ['eab', ...i.path.map(String)],
            i.code === 'unrecognized_keys' ? 'must be {kid, hmacKeyEnv}' : i.message,
          );
    }
  })
  .transform((a) => ({
    ...a,
    challenge: 'dns-01' as const,
    keyType: (a.keyType ?? 'ec-p256') as (typeof ACME_KEY_TYPES)[number],
    eab: a.eab as z.output<typeof acmeEabSchema> | undefined,
  }));

/** The ACME directory a source names. */
export const acmeDirectoryOf = (a: { directory?: string | undefined; staging?: boolean | undefined }) =>
  a.directory ?? (a.staging ? LETS_ENCRYPT_STAGING_DIRECTORY : LETS_ENCRYPT_DIRECTORY);

/** Where a certificate comes from. Private keys are never inline: a file or an environment variable. */
export const certificateSourceSchema = z.union(
  [
    z.strictObject({
      cas: z.union([
        z.strictObject({ domain: domainName }),
        z.strictObject({ certId: z.number().int().positive() }),
      ]),
    }),
    z.strictObject({
      pem: z.union([
        z.strictObject({ certFile: z.string().min(1), keyFile: z.string().min(1) }),
        z.strictObject({ certEnv: envName, keyEnv: envName }),
      ]),
    }),
    z.strictObject({ serverCertificateId: z.string().min(1) }),
    z.strictObject({ acme: acmeSourceSchema }),
  ],
  {
    error:
      'must be one of {cas: {domain} | {certId}}, {pem: {certFile, keyFile} | {certEnv, keyEnv}}, {serverCertificateId}, {acme: {...}}',
  },
);

export const healthCheckSchema = z.strictObject({
  enabled: z.boolean().default(true),
  /**
   * `/` (the service's default, which the API does not accept as a value and is therefore not sent) or
   * 2-80 characters starting with `/`: letters, digits and `- / . % ? # &` only (official request rule).
   */
  path: z
    .string()
    .regex(
      /^\/([A-Za-z0-9\-/.%?#&]{1,79})?$/,
      'must be / or 2-80 characters starting with /, of letters, digits and - / . % ? # & only (no = or _)',
    )
    .default('/'),
  domain: z
    .string()
    .regex(/^[A-Za-z0-9.-]{1,80}$/, 'must be a domain of 1-80 characters')
    .optional(),
  port: int(1, 65535).optional(),
  /** 1-50 s */
  interval: int(1, 50).default(2),
  /** 2-10 */
  healthyThreshold: int(2, 10).default(3),
  /** 2-10 */
  unhealthyThreshold: int(2, 10).default(3),
  /** 1-300 s */
  timeout: int(1, 300).default(5),
  httpCodes: z
    .array(z.enum(['http_2xx', 'http_3xx', 'http_4xx', 'http_5xx']))
    .min(1)
    .default(['http_2xx']),
  method: z.enum(['head', 'get']).default('head'),
});

const ruleSchema = z
  .strictObject({
    name: z.string().regex(/^[A-Za-z0-9\-/._]{1,40}$/, 'must be 1-40 letters, digits, -, /, . or _'),
    domain: domainName.optional(),
    url: z
      .string()
      .regex(/^\/[A-Za-z0-9\-/.%?#&]{1,79}$/, 'must start with / and be 2-80 characters')
      .optional(),
    vServerGroup: z.string().min(1),
  })
  .refine((r) => r.domain !== undefined || r.url !== undefined, { message: 'needs a domain or a url' });

const listenerBase = {
  port: int(1, 65535),
  /** -1 (unlimited) or 1-5120 Mbit/s */
  bandwidth: z
    .number()
    .int()
    .refine((b) => b === -1 || (b >= 1 && b <= 5120), 'must be -1 or 1-5120')
    .default(-1),
  scheduler: z.enum(['wrr', 'rr']).default('wrr'),
  vServerGroup: z.string().min(1).optional(),
  healthCheck: healthCheckSchema.optional(),
  stickySession: z.boolean().default(false),
  rules: z
    .array(ruleSchema)
    .max(SPEC_LIMITS.rulesPerListener, atMost(SPEC_LIMITS.rulesPerListener, 'forwarding rules per listener'))
    .default([]),
  description: z.string().min(1).max(256).optional(),
};

export const httpsListenerSchema = z.strictObject({
  protocol: z.literal('https'),
  ...listenerBase,
  certificate: certificateSourceSchema,
  /** the domains the default certificate must cover */
  domains: z.array(domainName).min(1),
  extensionDomains: z
    .array(z.strictObject({ domain: domainName, certificate: certificateSourceSchema }))
    .max(
      SPEC_LIMITS.extensionDomainsPerListener,
      atMost(SPEC_LIMITS.extensionDomainsPerListener, 'extension domains per HTTPS listener'),
    )
    .default([]),
  http2: z.boolean().default(true),
});

export const httpListenerSchema = z.strictObject({
  protocol: z.literal('http'),
  ...listenerBase,
  /** redirect every request to this HTTPS listener port (ListenerForward) */
  redirectToHttps: z.strictObject({ port: int(1, 65535) }).optional(),
});

export const listenerSchema = z.discriminatedUnion('protocol', [httpsListenerSchema, httpListenerSchema]);

export const backendSchema = z
  .strictObject({
    serverId: z
      .string()
      .regex(/^(i|eni|eci)-[A-Za-z0-9]+$/, 'must be an ECS (i-…), ENI (eni-…) or ECI (eci-…) id'),
    port: int(1, 65535),
    /** 0-100; 0 drains new connections */
    weight: int(0, 100),
    type: z.enum(['ecs', 'eni', 'eci']).default('ecs'),
    serverIp: z.ipv4().optional(),
    pool: z.enum(['primary', 'standby']).default('primary'),
    description: z
      .string()
      .regex(/^[A-Za-z0-9\-/._]{1,80}$/, 'must be 1-80 letters, digits, -, /, . or _')
      .optional(),
  })
  .refine((b) => b.type === 'ecs' || b.serverIp !== undefined, {
    message: 'serverIp is required for eni and eci backends',
    path: ['serverIp'],
  });

export const vServerGroupSchema = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9\-/._]{1,80}$/, 'must be 1-80 letters, digits, -, /, . or _'),
  backends: z
    .array(backendSchema)
    .max(SPEC_LIMITS.backendsPerGroup, atMost(SPEC_LIMITS.backendsPerGroup, 'backends per VServer group'))
    .default([]),
  /**
   * remove backends the spec does not list; groups slb-autopilot created are always exclusive, adopted
   * ones only when this says so (someone else, e.g. the Kubernetes cloud controller, may add members)
   */
  exclusive: z.boolean().default(false),
});

export const loadBalancerSchema = z
  .strictObject({
    /** how other parts of the spec refer to it */
    name: z.string().min(1).max(80),
    /** adopt an existing load balancer */
    id: z
      .string()
      .regex(/^lb-[A-Za-z0-9]+$/, 'must be a load balancer id (lb-…)')
      .optional(),
    /** or create one */
    create: z
      .strictObject({
        addressType: z.enum(['internet', 'intranet']).default('internet'),
        spec: z.enum(LOAD_BALANCER_SPECS).default('slb.s1.small'),
        vSwitchId: z.string().optional(),
        internetChargeType: z.enum(['paybytraffic', 'paybybandwidth']).default('paybytraffic'),
        bandwidth: int(1, 5120).optional(),
      })
      .optional(),
    listeners: z
      .array(listenerSchema)
      .max(
        SPEC_LIMITS.listenersPerLoadBalancer,
        atMost(SPEC_LIMITS.listenersPerLoadBalancer, 'listeners per load balancer'),
      )
      .default([]),
    vServerGroups: z
      .array(vServerGroupSchema)
      .max(
        SPEC_LIMITS.vServerGroupsPerLoadBalancer,
        atMost(SPEC_LIMITS.vServerGroupsPerLoadBalancer, 'VServer groups per load balancer'),
      )
      .default([]),
  })
  .refine((lb) => (lb.id === undefined) !== (lb.create === undefined), {
    message: 'needs exactly one of id (adopt) or create',
  });

export const renewalSchema = z.strictObject({
  /** renew when the certificate expires within this many days (1-365) */
  renewBeforeDays: int(1, 365).default(30),
  /** keep replaced certificates this many days before deleting them (0-90) */
  gracePeriodDays: int(0, 90).default(7),
});

/**
 * Where every workflow reports: failures always, successes when `onSuccess`. Secrets are named by
 * environment variable, never written in the spec (a DingTalk robot URL carries its access token).
 */
export const notifySchema = z.strictObject({
  webhook: z
    .strictObject({
      /** the URL itself, or the variable holding it when it carries a token; https (http to loopback) */
      url: z
        .url()
        .superRefine((url, ctx) => {
          const problem = notifyUrlProblem(url);
          if (problem) ctx.addIssue({ code: 'custom', message: problem });
        })
        .optional(),
      urlEnv: envName.optional(),
      /** requests are signed like the provisioning API (x-slbap-* headers) with this secret */
      secretEnv: envName.optional(),
    })
    .refine((w) => (w.url === undefined) !== (w.urlEnv === undefined), {
      message: 'needs exactly one of url or urlEnv',
    })
    .optional(),
  dingtalk: z.strictObject({ webhookUrlEnv: envName, secretEnv: envName }).optional(),
  onSuccess: z.boolean().default(false),
});

export const failoverSchema = z.strictObject({
  mode: z.enum(['absolute', 'proportional']).default('absolute'),
  /** shift to standby when the healthy share of the primary pool drops below this (0-1) */
  primaryHealthyBelow: z.number().min(0).max(1).default(0.5),
  /** fail back after the primary has been healthy this long */
  failbackAfter: duration(30, 86_400).default(300),
  /** flap damping: at most this many weight changes per group per window */
  maxChangesPerWindow: int(1, 100).default(4),
  window: duration(60, 86_400).default(1800),
  primaryWeight: int(1, 100).default(100),
  /** 0: cold standby; 1: warm standby (about 1% of traffic normally; the load balancer alone moves all
   * traffic to it once the primaries fail its health check) */
  standbyWeight: int(0, 100).default(0),
  /** fast watch: the minute's audit keeps reading health this often (2s-30s) until 45 s into its run */
  watch: duration(2, 30).optional(),
  /** the load balancers (spec names) that are fast-watched; default every one when `watch` is set */
  watchLoadBalancers: z.array(z.string().min(1)).min(1).optional(),
});

export const specSchema = z
  .strictObject({
    version: z.literal(1),
    region: z.string().regex(/^[a-z]{2,4}(-[a-z0-9]+)+$/, 'must be a region id such as cn-hangzhou'),
    loadBalancers: z
      .array(loadBalancerSchema)
      .min(1)
      .max(SPEC_LIMITS.loadBalancers, atMost(SPEC_LIMITS.loadBalancers, 'load balancers per spec')),
    renewal: renewalSchema.default(renewalSchema.parse({})),
    notify: notifySchema.default({ onSuccess: false }),
    failover: failoverSchema.default(failoverSchema.parse({})),
  })
  .superRefine((spec, ctx) => {
    for (const i of crossFieldIssues(spec))
      ctx.addIssue({ code: 'custom', path: i.path, message: i.message });
  });

/** The spec's shape as far as cross-field checks need it; also walked on raw input that failed the schema. */
interface LooseSpec {
  failover?: { watchLoadBalancers?: unknown[] };
  loadBalancers?: {
    name?: string;
    vServerGroups?: { name?: string; backends?: { serverId?: string; port?: number }[] }[];
    listeners?: {
      protocol?: string;
      port?: number;
      vServerGroup?: string;
      redirectToHttps?: { port?: number };
      rules?: { name?: string; domain?: string; url?: string; vServerGroup?: string }[];
      extensionDomains?: { domain?: string }[];
    }[];
  }[];
}

type IssueSink = (path: (string | number)[], message: string) => void;
type LooseLoadBalancer = NonNullable<LooseSpec['loadBalancers']>[number];
type LooseListener = NonNullable<LooseLoadBalancer['listeners']>[number];

/** References resolve, names and ports are unique: checks across fields, with the paths of the offenders. */
function crossFieldIssues(spec: LooseSpec): { path: (string | number)[]; message: string }[] {
  const out: { path: (string | number)[]; message: string }[] = [];
  const issue: IssueSink = (path, message) => out.push({ path, message });
  const names = new Set<unknown>((spec.loadBalancers ?? []).map((lb) => lb.name));
  (Array.isArray(spec.failover?.watchLoadBalancers) ? spec.failover.watchLoadBalancers : []).forEach(
    (n, i) => {
      if (!names.has(n))
        issue(['failover', 'watchLoadBalancers', i], `names no load balancer of the spec: ${String(n)}`);
    },
  );
  names.clear();
  (spec.loadBalancers ?? []).forEach((lb, i) => {
    const at = (...rest: (string | number)[]) => ['loadBalancers', i, ...rest];
    if (names.has(lb.name)) issue(at('name'), `duplicates another load balancer name: ${lb.name}`);
    names.add(lb.name);
    const groups = groupIssues(lb, at, issue);
    const ports = new Set<unknown>();
    (lb.listeners ?? []).forEach((l, j) => {
      if (ports.has(l.port)) issue(at('listeners', j, 'port'), `duplicates listener port ${l.port}`);
      ports.add(l.port);
      const atListener = (...rest: (string | number)[]) => at('listeners', j, ...rest);
      listenerIssues(lb, l, groups, atListener, issue);
      ruleIssues(l, groups, atListener, issue);
      if (l.protocol === 'https') extensionDomainIssues(l, atListener, issue);
    });
  });
  return out;
}

/** Unique group names, unique backends per group; returns the group names. */
function groupIssues(
  lb: LooseLoadBalancer,
  at: (...rest: (string | number)[]) => (string | number)[],
  issue: IssueSink,
): Set<unknown> {
  const groups = new Set<unknown>();
  (lb.vServerGroups ?? []).forEach((g, j) => {
    if (groups.has(g.name)) issue(at('vServerGroups', j, 'name'), `duplicates another group name: ${g.name}`);
    groups.add(g.name);
    const seen = new Set<unknown>();
    (g.backends ?? []).forEach((b, k) => {
      // Loose input (not yet validated): the same `serverId:port` shape as backendKey, over raw values.
      const key = `${String(b.serverId)}:${String(b.port)}`;
      if (seen.has(key)) issue(at('vServerGroups', j, 'backends', k), `duplicates backend ${key}`);
      seen.add(key);
    });
  });
  return groups;
}

/** A listener's group exists, it has somewhere to send traffic, and a redirect names an HTTPS listener. */
function listenerIssues(
  lb: LooseLoadBalancer,
  l: LooseListener,
  groups: Set<unknown>,
  at: (...rest: (string | number)[]) => (string | number)[],
  issue: IssueSink,
): void {
  if (l.vServerGroup !== undefined && !groups.has(l.vServerGroup))
    issue(at('vServerGroup'), `names no VServer group of this load balancer: ${l.vServerGroup}`);
  if (l.protocol === 'http' && l.redirectToHttps === undefined && l.vServerGroup === undefined)
    issue(at(), 'needs a vServerGroup or redirectToHttps');
  if (l.protocol === 'https' && l.vServerGroup === undefined)
    issue(at('vServerGroup'), 'is required for an HTTPS listener');
  if (l.protocol === 'http' && l.redirectToHttps) {
    const target = (lb.listeners ?? []).find(
      (x) => x.protocol === 'https' && x.port === l.redirectToHttps?.port,
    );
    if (!target) issue(at('redirectToHttps', 'port'), 'names no HTTPS listener of this load balancer');
  }
}

/** Rules name a group of the load balancer; names and domain+url pairs are unique per listener. */
function ruleIssues(
  l: LooseListener,
  groups: Set<unknown>,
  at: (...rest: (string | number)[]) => (string | number)[],
  issue: IssueSink,
): void {
  const ruleNames = new Set<unknown>();
  const pairs = new Set<unknown>();
  (l.rules ?? []).forEach((r, k) => {
    if (!groups.has(r.vServerGroup))
      issue(
        at('rules', k, 'vServerGroup'),
        `names no VServer group of this load balancer: ${r.vServerGroup}`,
      );
    if (ruleNames.has(r.name)) issue(at('rules', k, 'name'), `duplicates rule name ${r.name}`);
    const pair = `${r.domain ?? ''} ${r.url ?? ''}`;
    if (pairs.has(pair)) issue(at('rules', k), 'duplicates the domain and url of another rule');
    ruleNames.add(r.name);
    pairs.add(pair);
  });
}

/** Extension domains are unique per HTTPS listener, case aside. */
function extensionDomainIssues(
  l: LooseListener,
  at: (...rest: (string | number)[]) => (string | number)[],
  issue: IssueSink,
): void {
  const domains = new Set<unknown>();
  (l.extensionDomains ?? []).forEach((d, k) => {
    if (domains.has(String(d.domain).toLowerCase()))
      issue(at('extensionDomains', k, 'domain'), `duplicates extension domain ${d.domain}`);
    domains.add(String(d.domain).toLowerCase());
  });
}

export type Spec = z.infer<typeof specSchema>;
export type SpecLoadBalancer = z.infer<typeof loadBalancerSchema>;
export type SpecListener = z.infer<typeof listenerSchema>;
export type SpecHttpsListener = z.infer<typeof httpsListenerSchema>;
export type SpecVServerGroup = z.infer<typeof vServerGroupSchema>;
export type SpecBackend = z.infer<typeof backendSchema>;
export type CertificateSource = z.infer<typeof certificateSourceSchema>;

export interface SpecIssue {
  /** e.g. `loadBalancers[0].listeners[1].healthCheck.interval` */
  path: string;
  message: string;
}

export class SpecError extends SpecInputError {
  override name = 'SpecError';
  constructor(
    readonly issues: SpecIssue[],
    readonly source = 'spec',
  ) {
    super(
      `${source} is not valid:\n${issues.map((i) => `  ${i.path || '(root)'}: ${i.message}`).join('\n')}`,
      { field: issues[0]?.path || undefined, code: 'InvalidSpec' },
    );
  }
}

/**
 * Top-level fields a spec once had and must not have now, with the reason. `ownership` decided what
 * slb-autopilot may delete; a caller who could set it could make it delete anything (see
 * shared/domain/ownership.ts), so the marker is the deployment's configuration only.
 */
const RETIRED_FIELDS: Record<string, string> = {
  ownership:
    "set by the deployment's configuration, not the spec (SLB_AUTOPILOT_OWNER_TAG_KEY, SLB_AUTOPILOT_NAME_PREFIX, SLB_AUTOPILOT_DEPLOYMENT_ID)",
};

/** Parses YAML (a superset of JSON) or JSON text into a validated Spec; throws SpecError. */
export function parseSpec(text: string, options: { format?: 'yaml' | 'json'; source?: string } = {}): Spec {
  const source = options.source ?? 'spec';
  let data: unknown;
  try {
    data = options.format === 'json' ? JSON.parse(text) : parseYaml(text, { prettyErrors: true });
  } catch (err) {
    // The yaml library's first line ends with a colon that introduces its source excerpt: keep the
    // sentence, drop the colon (the excerpt is not shown).
    const line = (err instanceof Error ? (err.message.split('\n')[0] ?? '') : String(err)).replace(
      /:\s*$/,
      '',
    );
    throw new SpecError(
      [{ path: '', message: `cannot be parsed as ${options.format ?? 'YAML'}: ${line}` }],
      source,
    );
  }
  if (options.format === 'json') {
    const duplicate = findDuplicateJsonKey(text);
    if (duplicate !== undefined)
      throw new SpecError([{ path: duplicate, message: 'is a duplicate key (each key once)' }], source);
  }
  const result = specSchema.safeParse(data);
  if (!result.success) {
    // Refinements do not run when fields fail; run the cross-field checks on the raw input too, so one
    // error lists every problem.
    let cross: { path: (string | number)[]; message: string }[] = [];
    try {
      cross = data !== null && typeof data === 'object' ? crossFieldIssues(data as LooseSpec) : [];
    } catch {
      cross = []; // input too malformed to walk: the field errors say enough
    }
    const seen = new Set(result.error.issues.map((i) => `${issuePath(i.path)}\n${i.message}`));
    throw new SpecError(
      [
        ...result.error.issues,
        ...cross.filter((c) => !seen.has(`${issuePath(c.path)}\n${c.message}`)),
      ].flatMap((i): FieldIssue[] =>
        // A retired top-level field says why it went.
        'code' in i && i.code === 'unrecognized_keys' && i.path.length === 0
          ? i.keys.map((k) => ({ path: k, message: RETIRED_FIELDS[k] ?? 'is not a known field' }))
          : fieldIssues([i]),
      ),
      source,
    );
  }
  return result.data;
}
