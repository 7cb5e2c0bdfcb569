// The CommonJS Alibaba packages seen from ESM: under tsx/vitest and under esbuild the module object
// arrives in different wrappings (`default`, `default.default`, or named exports). Resolved once here.
import * as OpenApiModule from '@alicloud/openapi-client';
import * as OpenApiUtilModule from '@alicloud/openapi-util';
import * as TeaUtilModule from '@alicloud/tea-util';

type Model = new (fields: Record<string, unknown>) => unknown;

function named<T>(mod: unknown, name: string): T {
  const m = mod as Record<string, unknown> & {
    default?: Record<string, unknown> & { default?: Record<string, unknown> };
  };
  const found = m[name] ?? m.default?.[name] ?? m.default?.default?.[name];
  if (found === undefined) throw new Error(`${name} not found in an Alibaba Cloud SDK module`);
  return found as T;
}

function defaultExport<T>(mod: unknown): T {
  const m = mod as { default?: { default?: unknown } };
  return (typeof m.default === 'function' ? m.default : (m.default?.default ?? m)) as T;
}

export interface OpenApiClient {
  callApi(
    params: unknown,
    request: unknown,
    runtime: unknown,
  ): Promise<{ body: unknown; statusCode?: number }>;
}

export const OpenApi = {
  Client: defaultExport<new (config: unknown) => OpenApiClient>(OpenApiModule),
  Config: named<Model>(OpenApiModule, 'Config'),
  Params: named<Model>(OpenApiModule, 'Params'),
  OpenApiRequest: named<Model>(OpenApiModule, 'OpenApiRequest'),
  RuntimeOptions: named<Model>(TeaUtilModule, 'RuntimeOptions'),
  /** flattens arrays to `Name.N` and nested objects to `A.B` */
  query: defaultExport<{ query(q: Record<string, unknown>): Record<string, string> }>(OpenApiUtilModule)
    .query,
};

/** The same Params for every RPC action of every product we call (reference §1.1). */
export function rpcParams(action: string, version: string, protocol: 'HTTP' | 'HTTPS'): unknown {
  return new OpenApi.Params({
    action,
    version,
    protocol,
    pathname: '/',
    method: 'POST',
    authType: 'AK',
    style: 'RPC',
    reqBodyType: 'formData',
    bodyType: 'json',
  });
}
