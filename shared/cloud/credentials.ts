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

export interface AccessKey {
  accessKeyId: string;
  accessKeySecret: string;
  securityToken?: string;
}

export interface CredentialSource {
  get(): Promise<AccessKey>;
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
  getCredential(): Promise<{ accessKeyId?: string; accessKeySecret?: string; securityToken?: string }>;
}

/** Asks the provider on every call (it caches and refreshes STS keys itself); results are redacted. */
export function fromCredentialProvider(provider: CredentialProvider): CredentialSource {
  return {
    async get() {
      const c = await provider.getCredential();
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
  let source: CredentialSource | undefined;
  return {
    async get() {
      if (!source) {
        const mod = (await import('@alicloud/credentials')) as unknown as { default: unknown };
        const Credential = ((mod.default as { default?: unknown }).default ??
          mod.default) as new () => CredentialProvider;
        source = fromCredentialProvider(new Credential());
      }
      return source.get();
    },
  };
}

export const LOCAL_CLOUD_DEFAULT_KEY: AccessKey = {
  accessKeyId: 'LTAI5tLocalCloudDefault',
  accessKeySecret: 'LocalCloudSecret-NotForProduction',
};

export type CloudTarget =
  | { kind: 'local'; endpoint: string; credentials: CredentialSource }
  | { kind: 'cloud'; credentials: CredentialSource };

/** Local mode when SLB_AUTOPILOT_LOCAL_CLOUD is set, the real cloud otherwise. */
export function resolveCloudTarget(env: Record<string, string | undefined>): CloudTarget {
  const local = env.SLB_AUTOPILOT_LOCAL_CLOUD;
  if (local) {
    let url: URL;
    try {
      url = new URL(local);
    } catch {
      throw new Error(`SLB_AUTOPILOT_LOCAL_CLOUD: not a URL: ${local}`);
    }
    if (url.protocol !== 'http:') throw new Error('SLB_AUTOPILOT_LOCAL_CLOUD: must be an http:// URL');
    return {
      kind: 'local',
      endpoint: url.host,
      credentials: staticCredentials({
        accessKeyId: env.SLB_AUTOPILOT_LOCAL_ACCESS_KEY_ID ?? LOCAL_CLOUD_DEFAULT_KEY.accessKeyId,
        accessKeySecret: env.SLB_AUTOPILOT_LOCAL_ACCESS_KEY_SECRET ?? LOCAL_CLOUD_DEFAULT_KEY.accessKeySecret,
      }),
    };
  }
  return { kind: 'cloud', credentials: defaultChainCredentials() };
}
