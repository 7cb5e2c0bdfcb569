// The FC 3.0 edge: the shapes FC hands to `handler(event, context)` (event is a Buffer holding JSON), as
// zod schemas so the types are inferred once, and the result an HTTP-triggered handler returns. The local
// runtime (scripts/fc-runtime) builds these same shapes, so local runs and FC run the same handler code.

import * as z from 'zod';

/** Fields FC or EventBridge may leave out, each an optional string. */
function optionalStrings<const K extends readonly string[]>(...keys: K) {
  return Object.fromEntries(keys.map((k) => [k, z.string().optional()])) as {
    [P in K[number]]: z.ZodOptional<z.ZodString>;
  };
}

/** FC 3.0 HTTP trigger event (version "v1"); header and query values are strings. */
export const fcHttpEventSchema = z.object({
  version: z.string(),
  rawPath: z.string(),
  headers: z.record(z.string(), z.string()).default({}),
  queryParameters: z.record(z.string(), z.string()).default({}),
  body: z.string().default(''),
  isBase64Encoded: z.boolean().default(false),
  requestContext: z.object({
    ...optionalStrings('accountId', 'domainName', 'domainPrefix', 'requestId', 'time', 'timeEpoch'),
    http: z.object({
      method: z.string(),
      path: z.string(),
      ...optionalStrings('protocol', 'sourceIp', 'userAgent'),
    }),
  }),
});
export type FcHttpEvent = z.infer<typeof fcHttpEventSchema>;

/** What an HTTP-triggered handler returns; FC turns it into the HTTP response. */
export interface FcHttpResult {
  statusCode: number;
  headers?: Record<string, string>;
  body?: string;
  isBase64Encoded?: boolean;
}

/** Timer trigger event; `payload` is the trigger's configured string, verbatim. */
export const fcTimerEventSchema = z.object({
  triggerTime: z.string(),
  triggerName: z.string(),
  payload: z.string().optional(),
});
export type FcTimerEvent = z.infer<typeof fcTimerEventSchema>;

/** CloudEvents 1.0 envelope as EventBridge delivers it to an FC EventBridge trigger. */
export const cloudEventSchema = z.object({
  id: z.string(),
  source: z.string(),
  specversion: z.string(),
  type: z.string(),
  ...optionalStrings('subject', 'time', 'datacontenttype', 'aliyunaccountid', 'aliyunregionid'),
  data: z.unknown(),
});
export type CloudEvent = z.infer<typeof cloudEventSchema>;

export interface FcLogger {
  debug(...args: unknown[]): void;
  info(...args: unknown[]): void;
  warn(...args: unknown[]): void;
  error(...args: unknown[]): void;
}

/** The FC 3.0 `context` as the handler sees it (fields we use; FC adds more). */
export interface FcContext {
  requestId: string;
  /** STS keys of the function's role (accessKeyId starts with "STS."); absent without a role */
  credentials?: { accessKeyId: string; accessKeySecret: string; securityToken?: string };
  function: { name: string; handler: string; memory: number; timeout: number };
  region: string;
  accountId: string;
  logger: FcLogger;
}

/** The event as text; FC always passes a Buffer, tests sometimes pass a string or an object. */
export function eventText(event: unknown): string {
  if (Buffer.isBuffer(event)) return event.toString('utf8');
  if (typeof event === 'string') return event;
  return JSON.stringify(event ?? null);
}
