// Test harness: a local cloud on 127.0.0.1:0, and the REAL @alicloud/openapi-client pointed at it.
import * as OpenApiModule from '@alicloud/openapi-client';
import * as OpenApiUtilModule from '@alicloud/openapi-util';
import * as TeaUtilModule from '@alicloud/tea-util';
import {
  DEFAULT_ACCESS_KEY_ID,
  DEFAULT_ACCESS_KEY_SECRET,
  type LocalCloud,
  type LocalCloudOptions,
  startLocalCloud,
} from '../../scripts/local-cloud/server';

// These packages are CommonJS with `exports.default`; under ESM interop the default may be nested.
type Ctor<T> = new (...args: never[]) => T;
const unwrap = <T>(m: unknown): T =>
  ((m as { default?: { default?: T } }).default?.default ?? (m as { default?: T }).default ?? m) as T;
const OpenApiClient =
  unwrap<Ctor<{ callApi(p: unknown, r: unknown, o: unknown): Promise<{ body: unknown }> }>>(OpenApiModule);
const OpenApiUtil = unwrap<{ query(q: Record<string, unknown>): Record<string, string> }>(OpenApiUtilModule);
type Model = new (fields: Record<string, unknown>) => unknown;
const named = (m: unknown, name: string): Model =>
  ((m as Record<string, Model | undefined>)[name] ??
    (m as { default: Record<string, Model> }).default[name]) as Model;
const Config = named(OpenApiModule, 'Config');
const Params = named(OpenApiModule, 'Params');
const OpenApiRequest = named(OpenApiModule, 'OpenApiRequest');
const RuntimeOptions = named(TeaUtilModule, 'RuntimeOptions');

export interface TestCloud extends LocalCloud {
  accessKeyId: string;
  accessKeySecret: string;
}

export async function startTestCloud(options: LocalCloudOptions = {}): Promise<TestCloud> {
  const cloud = await startLocalCloud({ scenario: 'empty', ...options });
  return Object.assign(cloud, {
    accessKeyId: DEFAULT_ACCESS_KEY_ID,
    accessKeySecret: DEFAULT_ACCESS_KEY_SECRET,
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
  return new Config({
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
  product: 'slb' | 'cas',
  action: string,
  query: Record<string, unknown>,
  o: ClientOptions = {},
): Promise<Record<string, unknown>> {
  const client = new OpenApiClient(openApiConfig(cloud, o) as never);
  const params = new Params({
    action,
    version: product === 'slb' ? '2014-05-15' : '2020-04-07',
    protocol: 'HTTPS',
    pathname: '/',
    method: 'POST',
    authType: 'AK',
    style: 'RPC',
    reqBodyType: 'formData',
    bodyType: 'json',
  });
  const request = new OpenApiRequest({ query: OpenApiUtil.query(query) });
  const res = await client.callApi(params, request, new RuntimeOptions({}));
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
