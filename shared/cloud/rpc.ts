// The one RPC caller: every SLB and CAS action goes through here, over @alicloud/openapi-client's
// callApi. It picks the endpoint, always sends RegionId, sets explicit timeouts (the library's 3 s
// default is too short for some writes), draws from the shared rate budget, retries what is
// retryable with full-jitter backoff, and counts every attempt.

import { type CallAccounting, DEFAULT_ACCOUNTING } from './accounting';
import { type Clock, SYSTEM_CLOCK } from './clock';
import {
  type AccessKey,
  type CredentialProvider,
  type CredentialSource,
  fromCredentialProvider,
  staticCredentials,
} from './credentials';
import { endpointFor } from './endpoints';
import { CloudError, provesNotRun, toCloudError } from './errors';
import { OpenApi, type OpenApiClient, rpcParams } from './openapi';
import { budgetKey, DEFAULT_RATE_BUDGET, type RateBudget } from './rate-budget';
import { DEFAULT_RETRY, type RetryPolicy, withRetry } from './retry';
import { PRODUCTS, type Product, type RpcCaller, type RpcRequest, type RpcResponse } from './rpc-types';

export interface RpcClientOptions {
  /** a static key, a source, or a provider with getCredential() (e.g. an @alicloud/credentials client) */
  credentials: CredentialSource | CredentialProvider | AccessKey;
  /** host[:port] for every product (the local cloud); then the protocol is HTTP unless given */
  endpoint?: string;
  protocol?: 'HTTP' | 'HTTPS';
  /** 'v3' = ACS3-HMAC-SHA256 (default), 'v2' = HMAC-SHA1 V1 */
  signatureAlgorithm?: 'v3' | 'v2';
  /** default 5000 */
  connectTimeoutMs?: number;
  /** default 30000 */
  readTimeoutMs?: number;
  retry?: Partial<RetryPolicy>;
  budget?: RateBudget;
  accounting?: CallAccounting;
  clock?: Clock;
  random?: () => number;
}

export interface RpcClient extends RpcCaller {
  readonly accounting: CallAccounting;
}

function credentialSource(c: CredentialSource | CredentialProvider | AccessKey): CredentialSource {
  if (typeof (c as CredentialSource).get === 'function') return c as CredentialSource;
  if (typeof (c as CredentialProvider).getCredential === 'function')
    return fromCredentialProvider(c as CredentialProvider);
  return staticCredentials(c as AccessKey);
}

/**
 * Creates that make a second resource when sent twice (no client token): after an answer that leaves
 * open whether the first one ran, they are not retried; the caller re-reads instead (apply observes
 * again on its next run, and finds the resource by name or fingerprint).
 */
const NOT_IDEMPOTENT = new Set([
  'CreateVServerGroup',
  'CreateRules',
  'CreateDomainExtension',
  'UploadServerCertificate',
  'UploadUserCertificate',
]);

export function createRpcClient(options: RpcClientOptions): RpcClient {
  const credentials = credentialSource(options.credentials);
  const protocol = options.protocol ?? (options.endpoint ? 'HTTP' : 'HTTPS');
  const policy: RetryPolicy = { ...DEFAULT_RETRY, ...options.retry };
  const budget = options.budget ?? DEFAULT_RATE_BUDGET;
  const accounting = options.accounting ?? DEFAULT_ACCOUNTING;
  const clock = options.clock ?? SYSTEM_CLOCK;
  const random = options.random ?? Math.random;
  const runtime = new OpenApi.RuntimeOptions({
    connectTimeout: options.connectTimeoutMs ?? 5_000,
    readTimeout: options.readTimeoutMs ?? 30_000,
  });

  // One client per (endpoint, key): STS keys rotate, so a new key gets a new client.
  const clients = new Map<string, OpenApiClient>();
  function client(endpoint: string, key: AccessKey): OpenApiClient {
    const id = `${endpoint}\n${key.accessKeyId}\n${key.securityToken ?? ''}`;
    let c = clients.get(id);
    if (!c) {
      c = new OpenApi.Client(
        new OpenApi.Config({
          accessKeyId: key.accessKeyId,
          accessKeySecret: key.accessKeySecret,
          securityToken: key.securityToken,
          endpoint,
          protocol,
          connectTimeout: options.connectTimeoutMs ?? 5_000,
          readTimeout: options.readTimeoutMs ?? 30_000,
          ...(options.signatureAlgorithm === 'v2' ? { signatureAlgorithm: 'v2' } : {}),
        }),
      );
      clients.set(id, c);
    }
    return c;
  }

  async function once(request: RpcRequest, endpoint: string, isRetry: boolean): Promise<RpcResponse> {
    const key = budgetKey(request.product, request.action, request.regionId);
    await budget.acquire(key, request.action, request.write);
    accounting.attempt(request.action, isRetry);
    try {
      const c = client(endpoint, await credentials.get());
      const query = OpenApi.query(
        request.product === 'alidns' ? request.params : { RegionId: request.regionId, ...request.params },
      );
      const res = await c.callApi(
        rpcParams(request.action, PRODUCTS[request.product].version, protocol),
        new OpenApi.OpenApiRequest({ query }),
        runtime,
      );
      budget.succeeded(key, request.action, request.write);
      return (res.body ?? {}) as RpcResponse;
    } catch (err) {
      const e = toCloudError(request.action, err);
      accounting.failure(e.code);
      if (e.throttled) budget.throttled(key, request.action, request.write);
      throw e;
    }
  }

  return {
    accounting,
    async call(request) {
      const endpoint = options.endpoint ?? endpointFor(request.product as Product, request.regionId);
      let attempt = 0;
      const shouldRetry = (e: CloudError) =>
        !(request.write && NOT_IDEMPOTENT.has(request.action) && !provesNotRun(e.code));
      return withRetry(policy, { clock, random, shouldRetry }, () => once(request, endpoint, attempt++ > 0));
    },
  };
}

export { CloudError };
