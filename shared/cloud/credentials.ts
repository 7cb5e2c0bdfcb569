// Where credentials come from: the FC context (STS) inside functions, the @alicloud/credentials default
// chain in scripts, or the local cloud's key pair in local mode. Holders redact themselves whenever
// they are printed, so a secret cannot reach a log line by accident.
//
// Environment:
//   SLB_AUTOPILOT_LOCAL_CLOUD              URL of the local cloud (e.g. http://127.0.0.1:8787): local mode
//   SLB_AUTOPILOT_LOCAL_ACCESS_KEY_ID      local key pair (defaults: the local cloud's documented pair)
//   SLB_AUTOPILOT_LOCAL_ACCESS_KEY_SECRET
//   otherwise the default chain: ALIBABA_CLOUD_ACCESS_KEY_ID / _SECRET, profiles, ECS RAM role, OIDC...

import { inspect } from 'node:util';
import { errorText, InputError } from '../errors';

export interface AccessKey {
  accessKeyId: string;
  accessKeySecret: string;
  securityToken?: string;
}

export interface CredentialSource {
  get(): Promise<AccessKey>;
  /** where the last key came from, as the @alicloud/credentials provider names it (e.g. `env`) */
  provider?(): string | undefined;
}

const REDACTED = '[redacted]';

function redacted(key: AccessKey): AccessKey {
  const shown = {
    accessKeyId: key.accessKeyId,
    accessKeySecret: REDACTED,
    ...(key.securityToken ? { securityToken: REDACTED } : {}),
  };
  const hidden = { ...key };
  Object.defineProperties(hidden, {
    toJSON: { value: () => shown, enumerable: false },
    toString: { value: () => `AccessKey(${key.accessKeyId})`, enumerable: false },
    [inspect.custom]: { value: () => shown, enumerable: false },
  });
  return hidden;
}

export function staticCredentials(key: AccessKey): CredentialSource {
  const held = redacted(key);
  return { get: async () => held, toJSON: () => ({ accessKeyId: key.accessKeyId }) } as CredentialSource;
}

/** FC 3.0 passes STS credentials of the function's role in `context.credentials`. */
export function credentialsFromFcContext(context: {
  credentials?: Partial<AccessKey> | null;
}): CredentialSource {
  const c = context.credentials ?? {};
  const missing = (['accessKeyId', 'accessKeySecret', 'securityToken'] as const).filter((k) => !c[k]);
  if (missing.length > 0) {
    throw new Error(`context.credentials: missing ${missing.join(', ')} (does the function have a role?)`);
  }
  return staticCredentials(c as AccessKey);
}

/** Anything with the @alicloud/credentials client's getCredential() (fields may be absent). */
export interface CredentialProvider {
  getCredential(): Promise<{
    accessKeyId?: string;
    accessKeySecret?: string;
    securityToken?: string;
    providerName?: string;
  }>;
}

/** Asks the provider on every call (it caches and refreshes STS keys itself); results are redacted. */
export function fromCredentialProvider(provider: CredentialProvider): CredentialSource {
  let from: string | undefined;
  return {
    provider: () => from,
    async get() {
      const c = await provider.getCredential();
      from = c.providerName;
      if (!c.accessKeyId || !c.accessKeySecret)
        throw new Error('credentials: the provider returned no access key');
      return redacted({
        accessKeyId: c.accessKeyId,
        accessKeySecret: c.accessKeySecret,
        ...(c.securityToken ? { securityToken: c.securityToken } : {}),
      });
    },
  };
}

/** The @alicloud/credentials default chain, built on first use (not at import: cold start). */
export function defaultChainCredentials(): CredentialSource {
  return lazyCredentials((Credential) => new Credential());
}

interface ProfileProvider {
  getCredentials(): Promise<{
    accessKeyId: string;
    accessKeySecret: string;
    securityToken?: string;
    providerName?: string;
  }>;
  getProviderName(): string;
}
interface ProfileProviderClass {
  builder(): { withProfileName(name: string): { build(): ProfileProvider } };
}
interface CredentialsModule {
  Credential: new (config?: null, provider?: ProfileProvider) => CredentialProvider;
  CLIProfileCredentialsProvider: ProfileProviderClass;
  ProfileCredentialsProvider: ProfileProviderClass;
}

/** Built on first use (not at import: cold start). */
function lazyCredentials(
  make: (Credential: CredentialsModule['Credential'], m: CredentialsModule) => CredentialProvider,
): CredentialSource {
  let source: CredentialSource | undefined;
  return {
    provider: () => source?.provider?.(),
    async get() {
      if (!source) {
        // A CommonJS package: Node exposes its named exports beside `default`, a bundler under it.
        const mod = (await import('@alicloud/credentials')) as unknown as Record<string, unknown> & {
          default: Record<string, unknown>;
        };
        const named = (k: string) => mod[k] ?? mod.default[k];
        const m = {
          Credential: (mod.default.default ?? mod.default) as CredentialsModule['Credential'],
          CLIProfileCredentialsProvider: named('CLIProfileCredentialsProvider'),
          ProfileCredentialsProvider: named('ProfileCredentialsProvider'),
        } as CredentialsModule;
        source = fromCredentialProvider(make(m.Credential, m));
      }
      return source.get();
    },
  };
}

/**
 * One named profile, and only it (the environment's AccessKey does not override it): the Alibaba
 * Cloud CLI's ~/.aliyun/config.json first, then the credentials file (~/.alibabacloud/credentials or
 * ALIBABA_CLOUD_CREDENTIALS_FILE).
 */
export function profileCredentials(name: string): CredentialSource {
  return lazyCredentials((Credential, m) => {
    const cli = m.CLIProfileCredentialsProvider.builder().withProfileName(name);
    const ini = m.ProfileCredentialsProvider.builder().withProfileName(name);
    const either: ProfileProvider = {
      getProviderName: () => 'profile',
      async getCredentials() {
        const tried: string[] = [];
        for (const b of [cli, ini]) {
          try {
            return await b.build().getCredentials();
          } catch (err) {
            tried.push(safeMessage(err));
          }
        }
        throw new Error(`profile ${name} not found (${tried.join('; ')})`);
      },
    };
    return new Credential(null, either);
  });
}

export const LOCAL_CLOUD_DEFAULT_KEY: AccessKey = {
  accessKeyId: 'LTAI5tLocalCloudDefault',
  accessKeySecret: 'LocalCloudSecret-NotForProduction',
};

export type CloudTarget =
  | {
      kind: 'local';
      endpoint: string;
      credentials: CredentialSource;
      /** http://127.0.0.1:<port> */
      url?: string;
      /** what named it: SLB_AUTOPILOT_LOCAL_CLOUD or the running stack's .local/stack.json */
      from?: string;
    }
  | {
      kind: 'cloud';
      credentials: CredentialSource;
      /** what chose it and where the key comes from: `--cloud real` (default chain) or `--profile <name>` */
      from?: string;
    };

/** How a command chose its cloud: the scripts pass this; the functions (inside FC) do not. */
export interface TargetChoice {
  /** `--cloud local|real`; unset means local */
  cloud?: 'local' | 'real';
  /** `--profile <name>`: the real cloud with that profile of the Alibaba Cloud CLI or credentials file */
  profile?: string;
  /** the local cloud of a running `npm start` (.local/stack.json), if any */
  stackCloudUrl?: string;
}

/** The environment names a cloud endpoint or credentials that cannot be used. */
export class CloudTargetError extends InputError {
  override name = 'CloudTargetError';
}

function localTarget(env: Record<string, string | undefined>, raw: string, from: string): CloudTarget {
  let url: URL;
  try {
    url = new URL(raw);
  } catch (err) {
    throw new CloudTargetError(`${from}: not a URL: ${raw}`, { cause: err });
  }
  if (url.protocol !== 'http:') throw new CloudTargetError(`${from}: must be an http:// URL`);
  return {
    kind: 'local',
    endpoint: url.host,
    url: url.origin,
    from,
    credentials: staticCredentials({
      accessKeyId: env.SLB_AUTOPILOT_LOCAL_ACCESS_KEY_ID ?? LOCAL_CLOUD_DEFAULT_KEY.accessKeyId,
      accessKeySecret: env.SLB_AUTOPILOT_LOCAL_ACCESS_KEY_SECRET ?? LOCAL_CLOUD_DEFAULT_KEY.accessKeySecret,
    }),
  };
}

/**
 * Which cloud to talk to.
 *
 * Without a choice (the functions: inside FC the real cloud is the only one), local mode when
 * SLB_AUTOPILOT_LOCAL_CLOUD is set and the real cloud otherwise.
 *
 * With a choice (every command a person types), the real cloud only when asked for by name
 * (`--cloud real` or `--profile`), never because an AccessKey happens to be in the environment;
 * otherwise the local cloud SLB_AUTOPILOT_LOCAL_CLOUD names, else the running stack's; with neither,
 * a CloudTargetError saying how to choose.
 */
export function resolveCloudTarget(
  env: Record<string, string | undefined>,
  choice?: TargetChoice,
): CloudTarget {
  const local = env.SLB_AUTOPILOT_LOCAL_CLOUD;
  if (!choice) {
    if (local) return localTarget(env, local, 'SLB_AUTOPILOT_LOCAL_CLOUD');
    return { kind: 'cloud', credentials: defaultChainCredentials() };
  }
  const real = choice.cloud === 'real' || choice.profile !== undefined;
  if (choice.cloud === 'local' && choice.profile !== undefined)
    throw new CloudTargetError('--profile names real-cloud credentials: it cannot go with --cloud local');
  if (real) {
    if (local)
      throw new CloudTargetError(
        `SLB_AUTOPILOT_LOCAL_CLOUD names a local cloud (${local}) but ${choice.profile !== undefined ? '--profile' : '--cloud real'} asks for the real one: unset one of them`,
      );
    if (choice.profile !== undefined) {
      if (!/^[A-Za-z0-9_.-]{1,64}$/.test(choice.profile))
        throw new CloudTargetError(`--profile: not a profile name: ${JSON.stringify(choice.profile)}`);
      return {
        kind: 'cloud',
        credentials: profileCredentials(choice.profile),
        from: `--profile ${choice.profile}`,
      };
    }
    return {
      kind: 'cloud',
      credentials: defaultChainCredentials(),
      from: '--cloud real (the @alicloud/credentials default chain)',
    };
  }
  if (local) return localTarget(env, local, 'SLB_AUTOPILOT_LOCAL_CLOUD');
  if (choice.stackCloudUrl) return localTarget(env, choice.stackCloudUrl, '.local/stack.json (npm start)');
  throw new CloudTargetError(
    [
      'no cloud chosen, so nothing was called. Choose one:',
      '  - the local stack: run `npm start` in another terminal (its URL is read from .local/stack.json)',
      '  - a local cloud elsewhere: SLB_AUTOPILOT_LOCAL_CLOUD=http://127.0.0.1:<port>',
      '  - the real Alibaba Cloud: --cloud real (credentials from the default chain) or --profile <name>',
    ].join('\n'),
  );
}

/**
 * A provider's error without what follows "failed:": the CLI profile provider appends the whole
 * config file (keys included) to its parse error.
 */
function safeMessage(err: unknown): string {
  const m = errorText(err);
  return m.replace(/failed:[\s\S]*/, 'failed').split('\n')[0] ?? '';
}

/** `LTAI5t****Wxyz`: enough to tell keys apart, not enough to use one. */
export function maskAccessKeyId(id: string): string {
  return id.length >= 12 ? `${id.slice(0, 6)}****${id.slice(-4)}` : '****';
}

/**
 * One line naming the target, printed before any call. For the real cloud it asks the credentials
 * chain for the key (no API call is made; the chain may read files or the instance metadata) and
 * shows its masked id and the provider it came from. The account is not looked up: that needs STS
 * GetCallerIdentity, and no STS client is among the dependencies.
 */
export async function describeCloudTarget(target: CloudTarget, regions: readonly string[]): Promise<string> {
  if (target.kind === 'local')
    return `target: local cloud ${target.url ?? `http://${target.endpoint}`} (from ${target.from ?? 'SLB_AUTOPILOT_LOCAL_CLOUD'})`;
  let key: AccessKey & { provider?: string };
  try {
    key = await target.credentials.get();
  } catch (err) {
    throw new CloudTargetError(
      `${target.from ?? 'the real cloud'}: the credentials chain found no AccessKey (${safeMessage(err)})`,
      { cause: err },
    );
  }
  const region = regions.length > 0 ? regions.join(', ') : 'not known yet';
  const provider = target.credentials.provider?.();
  return [
    `target: Alibaba Cloud (real), region ${region}`,
    `  AccessKey ${maskAccessKeyId(key.accessKeyId)}${key.securityToken ? ' (STS)' : ''} from ${provider ?? 'the credentials chain'}; chosen by ${target.from ?? 'default'}`,
    '  account: not looked up (STS GetCallerIdentity needs a client the project does not ship)',
  ].join('\n');
}
