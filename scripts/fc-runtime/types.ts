// The public shapes of the local FC runtime (results, async records, listings, errors) and its clock,
// kept apart from the modules that produce them so those modules do not import each other in a circle.

import { randomBytes } from 'node:crypto';

/** Time for timers and async-retry backoff; tests pass a fake one. */
export interface Clock {
  now(): Date;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** Real time; its timers do not keep the process alive. */
export const SYSTEM_CLOCK: Clock = {
  now: () => new Date(),
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, ms);
    t.unref();
    return t;
  },
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

export interface InvocationError {
  errorType: string;
  errorMessage: string;
}

export interface InvocationResult {
  requestId: string;
  functionName: string;
  ok: boolean;
  /** the result as FC serialises it (on error: {errorMessage, errorType}) */
  body: Buffer;
  /** an object result, a string, or a Buffer; undefined when the handler returned nothing */
  result?: unknown;
  error?: InvocationError;
  timedOut?: boolean;
  /** `<ISO time> <requestId> [LEVEL] message`, secrets masked */
  logs: string[];
  durationMs: number;
  /** a new instance loaded the bundle for this invocation */
  coldStart: boolean;
}

export type AsyncStatus =
  | 'queued'
  | 'running'
  | 'retrying'
  | 'succeeded'
  | 'failed'
  | 'expired'
  | 'cancelled';

export interface AsyncInvocationRecord {
  requestId: string;
  functionName: string;
  status: AsyncStatus;
  /** attempts made so far (1 + retries) */
  attempts: number;
  /** 1 + maxAsyncRetryAttempts */
  maxAttempts: number;
  enqueuedAt: string;
  finishedAt?: string;
  /** the last attempt's error */
  error?: InvocationError;
  /** the successful attempt's result (JSON or text) */
  result?: unknown;
  /** what delivered it: api, eventbridge:<trigger>, local */
  source: string;
}

export interface TriggerInfo {
  name: string;
  /** timer | http | eventbridge | another FC trigger type (not run locally) */
  type: string;
  enabled: boolean;
  cronExpression?: string;
  /** auto timers: when it fires next */
  nextRun?: string;
  methods?: string[];
  httpUrl?: string;
}

export interface FunctionInfo {
  /** props.functionName */
  name: string;
  /** the resource key in s.yaml */
  resource: string;
  built: boolean;
  /** the bundle file when built, else the file that is missing */
  bundle: string;
  handler: string;
  memorySize: number;
  timeout: number;
  reservedConcurrency?: number;
  maxAsyncRetryAttempts: number;
  triggers: TriggerInfo[];
  /** the HTTP trigger's local URL */
  httpUrl?: string;
  /** warm or busy instances */
  instances: number;
  /** invocations waiting for reserved concurrency */
  queued: number;
}

/** A refusal of the runtime itself (not a function error); `status` is the HTTP status it answers with. */
export class FcRuntimeError extends Error {
  constructor(
    readonly code: string,
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'FcRuntimeError';
  }
}

/** FC 3.0 request ids look like 1-65f8a2b1-3c4d5e6f-0a1b2c3d4e5f (the second part is the epoch seconds) */
export function newRequestId(now: Date = new Date()): string {
  const secs = Math.floor(now.getTime() / 1000)
    .toString(16)
    .padStart(8, '0');
  return `1-${secs}-${randomBytes(4).toString('hex')}-${randomBytes(6).toString('hex')}`;
}
