// Every environment variable the functions read, in one table: its type, range, default and meaning.
// Parsed once per cold start (memoised on the values it reads); a bad value stops the function with one
// ConfigError naming every variable at fault, before any cloud call. Values of secret variables never
// appear in an error. The README's configuration reference lists exactly these variables (a test checks).
//
// Variables a spec names for itself (a certificate's `certEnv`, a notification's `urlEnv`) are not here:
// they are the spec's, read where the spec says.

import * as z from 'zod';
import {
  DEFAULT_DEPLOYMENT_ID,
  DEFAULT_NAME_PREFIX,
  DEFAULT_OWNER_TAG_KEY,
  DEPLOYMENT_ID_PATTERN,
  NAME_PREFIX_PATTERN,
  TAG_KEY_PATTERN,
} from '../domain/ownership';
import { InputError } from '../errors';

export interface ConfigProblem {
  variable: string;
  message: string;
}

export class ConfigError extends InputError {
  override name = 'ConfigError';
  readonly problems: readonly ConfigProblem[];
  constructor(problems: readonly ConfigProblem[]) {
    super(`configuration: ${problems.map((p) => `${p.variable}: ${p.message}`).join('; ')}`, {
      field: problems[0]?.variable,
      status: 503,
    });
    this.problems = problems;
  }
}

interface Variable {
  /** one line for the README */
  description: string;
  /** its value is never printed, not even in an error */
  secret?: boolean;
  /** gets the trimmed value, or undefined when the variable is unset or empty */
  schema: z.ZodType<unknown, string | undefined>;
}

const text = (description: string, o: { secret?: boolean } = {}) => ({
  description,
  ...o,
  schema: z.string().optional(),
});

/** An integer written in decimal, within [min, max]; `Number('abc')` would have let NaN through. */
const intText = (min: number, max: number) =>
  z
    .string()
    .regex(/^-?\d+$/, `must be an integer (${min}-${max})`)
    .transform(Number)
    .pipe(z.number().min(min, `must be ${min}-${max}`).max(max, `must be ${min}-${max}`));

const integer = (description: string, min: number, max: number, fallback: number) => ({
  description,
  schema: intText(min, max).default(fallback),
});

const httpUrl = (description: string) => ({
  description,
  schema: z
    .string()
    .refine(
      (s) => URL.canParse(s) && ['http:', 'https:'].includes(new URL(s).protocol),
      'must be an http:// or https:// URL',
    )
    .optional(),
});

const pattern = (description: string, re: RegExp, message: string, fallback: string) => ({
  description,
  schema: z.string().regex(re, message).default(fallback),
});

/** A comma-separated list of items each matching `re`; unset means "the default the reader chooses". */
const list = (description: string, re: RegExp, message: string) => ({
  description,
  schema: z
    .string()
    .transform((s) => s.split(',').map((x) => x.trim()))
    .pipe(z.array(z.string().regex(re, message)).min(1))
    .optional(),
});

/** An optional integer within [min, max]; unset means "the default the reader chooses". */
const optionalInteger = (description: string, min: number, max: number) => ({
  description,
  schema: intText(min, max).optional(),
});

/** The table: every variable the functions read. */
export const CONFIG_VARIABLES = {
  SLB_AUTOPILOT_SPEC: text('the spec, inline YAML or JSON (first choice)'),
  SLB_AUTOPILOT_SPEC_FILE: text('path of the spec file (when SLB_AUTOPILOT_SPEC is unset)'),
  SLB_AUTOPILOT_LOCAL_CLOUD: httpUrl('URL of a local cloud to talk to instead of Alibaba Cloud (local runs)'),
  SLB_AUTOPILOT_LOCAL_ACCESS_KEY_ID: text('AccessKey id for the local cloud (default: its documented pair)'),
  SLB_AUTOPILOT_LOCAL_ACCESS_KEY_SECRET: text('AccessKey secret for the local cloud', { secret: true }),
  SLB_AUTOPILOT_API_SECRET: text('provision: HMAC secret of the provisioning API (at least 32 characters)', {
    secret: true,
  }),
  SLB_AUTOPILOT_API_WINDOW_SECONDS: integer(
    "provision: how far a signed request's timestamp may be from the server clock (s)",
    10,
    300,
    60,
  ),
  SLB_AUTOPILOT_APPLY_SETTLE_MS: integer(
    'provision: wait between claiming a load balancer for an apply and reading the claim back (ms)',
    0,
    10_000,
    1000,
  ),
  SLB_AUTOPILOT_VERIFY_ATTEMPTS: integer(
    'renewal: TLS handshakes per reference before a mismatch counts',
    1,
    30,
    5,
  ),
  SLB_AUTOPILOT_VERIFY_DELAY_MS: integer(
    'renewal: pause between verification handshakes (ms)',
    0,
    60_000,
    2000,
  ),
  SLB_AUTOPILOT_DRIFT_EVERY_MS: integer(
    'health-audit: how often the slower drift reads run (ms)',
    60_000,
    86_400_000,
    15 * 60_000,
  ),
  SLB_AUTOPILOT_FAILOVER_FUNCTION: {
    description: 'health-audit: the failover function it hands work to',
    schema: z
      .string()
      .regex(
        /^[A-Za-z_][A-Za-z0-9_-]{0,127}$/,
        'must be a function name (letters, digits, _ and -, up to 128)',
      )
      .default('slb-autopilot-failover'),
  },
  SLB_AUTOPILOT_FC_ENDPOINT: httpUrl(
    'health-audit: FC invoke endpoint (local runtime); default: the internal one',
  ),
  SLB_AUTOPILOT_OWNER_TAG_KEY: pattern(
    'all: the ownership tag key on what this deployment creates (its value is slb-autopilot/<deployment id>)',
    TAG_KEY_PATTERN,
    'must be a tag key: 1-64 characters, not starting with aliyun or acs:, no http(s)://',
    DEFAULT_OWNER_TAG_KEY,
  ),
  SLB_AUTOPILOT_NAME_PREFIX: pattern(
    'all: prefix of the names this deployment gives load balancers and certificates',
    NAME_PREFIX_PATTERN,
    'must be 1-20 letters, digits or -, starting with a letter',
    DEFAULT_NAME_PREFIX,
  ),
  SLB_AUTOPILOT_DEPLOYMENT_ID: pattern(
    "all: this deployment's id, in its ownership tag; a deployment with another id never deletes or reshapes what this one created",
    DEPLOYMENT_ID_PATTERN,
    'must be 1-64 letters, digits, ., _ or -',
    DEFAULT_DEPLOYMENT_ID,
  ),
  SLB_AUTOPILOT_ALLOWED_REGIONS: list(
    "provision: regions a spec sent over HTTP may act in, comma-separated (default: the deployed spec's region)",
    /^[a-z]{2,4}(-[a-z0-9]+)+$/,
    'must be region ids such as cn-hangzhou, comma-separated',
  ),
  SLB_AUTOPILOT_ADOPT_LOAD_BALANCERS: list(
    'provision: existing load balancers (ids) a spec sent over HTTP may adopt, comma-separated, or none (default: the ids the deployed spec adopts)',
    /^(lb-[A-Za-z0-9]+|none)$/,
    'must be load balancer ids (lb-…), comma-separated, or none',
  ),
  SLB_AUTOPILOT_MAX_NEW_LOAD_BALANCERS: optionalInteger(
    'provision: how many load balancers this deployment may have created in all, over HTTP (default: as many as the deployed spec creates)',
    0,
    50,
  ),
  SLB_AUTOPILOT_LEASE_TTL_S: integer(
    'apply, failover, renewal: life of the per-load-balancer writer lease (renewed at a third of it)',
    3,
    3600,
    120,
  ),
  SLB_AUTOPILOT_LEASE_WAIT_S: integer(
    'apply, failover, renewal: how long a writer waits for a load balancer another writer holds, then gives up (409)',
    0,
    600,
    30,
  ),
  SLB_AUTOPILOT_LEASE_SETTLE_MS: integer(
    'apply, failover, renewal: pause between claiming a lease and confirming it (at least one read-then-tag round trip)',
    50,
    60_000,
    1000,
  ),
  SLB_AUTOPILOT_ACME_ACCOUNT_KEY: text(
    'renewal: the ACME account key (PEM) for `acme` certificate sources; set at deploy time from your secret store (`npm run acme -- account-key` makes one)',
    { secret: true },
  ),
  SLB_AUTOPILOT_ACME_CA_TRUST_FILE: text(
    "renewal, local runs only (with SLB_AUTOPILOT_LOCAL_CLOUD): a PEM bundle trusted for the ACME directory's HTTPS (the local Pebble's front door)",
  ),
} as const satisfies Record<string, Variable>;

/** Parsed values, keyed by the variables' own names so they can be grepped. */
export type Config = {
  readonly [K in keyof typeof CONFIG_VARIABLES]: z.output<(typeof CONFIG_VARIABLES)[K]['schema']>;
};

/** Parses every variable of the table; throws one ConfigError listing every problem. */
export function parseConfig(env: Record<string, string | undefined>): Config {
  const out: Record<string, unknown> = {};
  const problems: ConfigProblem[] = [];
  for (const [name, v] of Object.entries(CONFIG_VARIABLES) as [string, Variable][]) {
    const raw = env[name]?.trim() || undefined;
    const parsed = v.schema.safeParse(raw);
    if (parsed.success) out[name] = parsed.data;
    else {
      const shown = v.secret || raw === undefined ? '' : ` (got ${JSON.stringify(raw.slice(0, 40))})`;
      problems.push({ variable: name, message: `${parsed.error.issues[0]?.message ?? 'invalid'}${shown}` });
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return out as Config;
}

let memo: { key: string; config: Config } | undefined;

/** The configuration for these values, parsed once: cold start pays, warm invocations reuse it. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const key = Object.keys(CONFIG_VARIABLES)
    .map((name) => env[name] ?? '\u0000')
    .join('\u0001');
  if (memo?.key !== key) memo = { key, config: parseConfig(env) };
  return memo.config;
}
