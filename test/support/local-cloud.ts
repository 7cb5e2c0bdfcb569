// Test harness: a local cloud on 127.0.0.1:0, and the REAL @alicloud/openapi-client pointed at it.

import { connectLocalCloud } from '../../scripts/local-cloud/connect';
import {
  DEFAULT_ACCESS_KEY_ID,
  DEFAULT_ACCESS_KEY_SECRET,
  type LocalCloud,
  type LocalCloudOptions,
  startLocalCloud,
} from '../../scripts/local-cloud/server';
import { CloudError } from '../../shared/cloud/errors';
import type { Cloud, CloudOptions } from '../../shared/cloud/index';
import { OpenApi, rpcParams } from '../../shared/cloud/openapi';
import { RateBudget } from '../../shared/cloud/rate-budget';
import { trackCloud, untrackCloud } from './fidelity';

export interface TestCloud extends LocalCloud {
  accessKeyId: string;
  accessKeySecret: string;
}

export async function startTestCloud(options: LocalCloudOptions = {}): Promise<TestCloud> {
  const cloud = await startLocalCloud({ scenario: 'empty', ...options });
  trackCloud(cloud);
  const close = cloud.close.bind(cloud);
  return Object.assign(cloud, {
    accessKeyId: DEFAULT_ACCESS_KEY_ID,
    accessKeySecret: DEFAULT_ACCESS_KEY_SECRET,
    /** closes, then fails on any fidelity warning left from the last calls */
    close: async () => {
      await close();
      untrackCloud(cloud);
    },
  });
}

export interface ClientOptions {
  /** HMAC-SHA1 V1 instead of the default ACS3-HMAC-SHA256 */
  v2?: boolean;
  accessKeyId?: string;
  accessKeySecret?: string;
  securityToken?: string;
}

export function openApiConfig(cloud: TestCloud, o: ClientOptions = {}): unknown {
  return new OpenApi.Config({
    accessKeyId: o.accessKeyId ?? cloud.accessKeyId,
    accessKeySecret: o.accessKeySecret ?? cloud.accessKeySecret,
    securityToken: o.securityToken,
    endpoint: cloud.endpoint,
    protocol: 'HTTP',
    regionId: cloud.regionId,
    readTimeout: 10_000,
    connectTimeout: 10_000,
    ...(o.v2 ? { signatureAlgorithm: 'v2' } : {}),
  });
}

/** One RPC call through the unmodified official client; returns the body, rethrows the SDK's error. */
export async function callApi(
  cloud: TestCloud,
  product: 'slb' | 'cas' | 'alidns',
  action: string,
  query: Record<string, unknown>,
  o: ClientOptions = {},
): Promise<Record<string, unknown>> {
  const client = new OpenApi.Client(openApiConfig(cloud, o));
  const version = { slb: '2014-05-15', cas: '2020-04-07', alidns: '2015-01-09' }[product];
  const request = new OpenApi.OpenApiRequest({ query: OpenApi.query(query) });
  const res = await client.callApi(
    rpcParams(action, version, 'HTTPS'),
    request,
    new OpenApi.RuntimeOptions({}),
  );
  return res.body as Record<string, unknown>;
}

export const callSlb = (
  cloud: TestCloud,
  action: string,
  query: Record<string, unknown>,
  o: ClientOptions = {},
) => callApi(cloud, 'slb', action, query, o);

/** The error an SDK call rejects with (code, statusCode, data). */
export async function sdkError(
  p: Promise<unknown>,
): Promise<{ code: string; statusCode: number; data: Record<string, unknown> }> {
  try {
    await p;
  } catch (err) {
    return err as { code: string; statusCode: number; data: Record<string, unknown> };
  }
  throw new Error('expected the call to fail');
}

/** Our own cloud layer (typed SLB/CAS over createRpcClient) pointed at a test cloud, with its own budget and accounting. */
export function cloudLayerFor(cloud: TestCloud, options: Omit<CloudOptions, 'target'> = {}): Cloud {
  return connectLocalCloud(cloud, {
    budget: new RateBudget(),
    retry: { baseDelayMs: 1, maxDelayMs: 5 },
    ...options,
  });
}

/** The CloudError a call through our layer rejects with. */
export async function cloudFailure(p: Promise<unknown>): Promise<CloudError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof CloudError)) throw new Error(`expected a CloudError, got ${String(err)}`);
  return err;
}
