// Fault injection for the local cloud: throttling, server errors, latency, per-action quotas, busy
// answers on writes, TLS front ends that miss a certificate change, and lost answers (the call ran and
// committed, then the connection dropped before the answer: the client cannot tell it ran). Decisions come from a seeded
// PRNG (mulberry32), so for a given seed and the same sequence of calls the same calls fail: chaos
// tests are reproducible.

import { ApiError } from './errors';

export interface FaultConfig {
  /** 0-1: share of calls answered 400 Throttling.User */
  throttleRate?: number;
  /** 0-1: share of calls answered 500 InternalError or 503 ServiceUnavailable */
  errorRate?: number;
  /** delay before every answer */
  latencyMs?: number;
  /** calls per rolling minute per action; beyond it 400 Throttling.Api */
  quotas?: Record<string, number>;
  /** 0-1: share of write calls answered 400 ServiceIsConfiguring */
  busyRate?: number;
  /** after a change, a listener stays `configuring` this long and refuses writes with Operation.Deny */
  configuringMs?: number;
  /** every write after the first N is refused with 403 Forbidden.RAM (not retried): a run cut short */
  failWritesAfter?: number;
  /**
   * TLS front ends that keep serving the certificates they served when the fault was set (a failed
   * propagation): `true` for all, or `"<loadBalancerId>:<listenerPort>"` for some. Clearing the fault
   * lets them catch up with the state.
   */
  staleFrontEnds?: boolean | string[];
  /**
   * 0-1: share of successful write calls whose answer is lost: the change is committed, then the
   * connection is reset before the response, as on a real network. Reads keep their answers.
   */
  lostAnswerRate?: number;
  /** per action, 0-1, overriding lostAnswerRate for that action (reads included) */
  lostAnswerActions?: Record<string, number>;
  seed?: number;
}

const RATE_FIELDS = ['throttleRate', 'errorRate', 'busyRate', 'lostAnswerRate'] as const;
const FRONT_END_KEY = /^[^:\s]+:\d{1,5}$/;

/** Validates an admin request body; throws with the offending field. */
export function parseFaultConfig(input: unknown): FaultConfig {
  if (input === null || typeof input !== 'object' || Array.isArray(input))
    throw new Error('faults: body must be a JSON object');
  const o = input as Record<string, unknown>;
  const known = new Set<string>([
    ...RATE_FIELDS,
    'latencyMs',
    'configuringMs',
    'quotas',
    'seed',
    'failWritesAfter',
    'staleFrontEnds',
    'lostAnswerActions',
  ]);
  for (const k of Object.keys(o)) if (!known.has(k)) throw new Error(`faults.${k}: unknown field`);
  for (const f of RATE_FIELDS) {
    const v = o[f];
    if (v !== undefined && (typeof v !== 'number' || v < 0 || v > 1))
      throw new Error(`faults.${f}: must be a number in [0, 1]`);
  }
  if (
    o.latencyMs !== undefined &&
    (typeof o.latencyMs !== 'number' || o.latencyMs < 0 || o.latencyMs > 60_000)
  ) {
    throw new Error('faults.latencyMs: must be a number in [0, 60000]');
  }
  if (
    o.configuringMs !== undefined &&
    (typeof o.configuringMs !== 'number' || o.configuringMs < 0 || o.configuringMs > 600_000)
  ) {
    throw new Error('faults.configuringMs: must be a number in [0, 600000]');
  }
  if (
    o.failWritesAfter !== undefined &&
    (typeof o.failWritesAfter !== 'number' || !Number.isInteger(o.failWritesAfter) || o.failWritesAfter < 0)
  )
    throw new Error('faults.failWritesAfter: must be a non-negative integer');
  if (o.seed !== undefined && (typeof o.seed !== 'number' || !Number.isInteger(o.seed)))
    throw new Error('faults.seed: must be an integer');
  if (o.staleFrontEnds !== undefined && typeof o.staleFrontEnds !== 'boolean') {
    if (!Array.isArray(o.staleFrontEnds))
      throw new Error(
        'faults.staleFrontEnds: must be true, false or a list of "<loadBalancerId>:<listenerPort>"',
      );
    o.staleFrontEnds.forEach((v, i) => {
      if (typeof v !== 'string' || !FRONT_END_KEY.test(v))
        throw new Error(`faults.staleFrontEnds[${i}]: must be "<loadBalancerId>:<listenerPort>"`);
    });
  }
  if (o.lostAnswerActions !== undefined) {
    if (
      o.lostAnswerActions === null ||
      typeof o.lostAnswerActions !== 'object' ||
      Array.isArray(o.lostAnswerActions)
    )
      throw new Error('faults.lostAnswerActions: must be an object of "<Action>": rate');
    for (const [action, r] of Object.entries(o.lostAnswerActions)) {
      if (typeof r !== 'number' || r < 0 || r > 1)
        throw new Error(`faults.lostAnswerActions.${action}: must be a number in [0, 1]`);
    }
  }
  if (o.quotas !== undefined) {
    if (o.quotas === null || typeof o.quotas !== 'object')
      throw new Error('faults.quotas: must be an object');
    for (const [action, n] of Object.entries(o.quotas)) {
      if (typeof n !== 'number' || !Number.isInteger(n) || n < 0)
        throw new Error(`faults.quotas.${action}: must be a non-negative integer`);
    }
  }
  return o as FaultConfig;
}

/** A small seeded PRNG (mulberry32): uniform in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export class FaultInjector {
  private config: FaultConfig = {};
  private random: () => number = mulberry32(0);
  private readonly recent = new Map<string, number[]>();
  private writes = 0;

  configure(config: FaultConfig): void {
    this.config = config;
    this.writes = 0;
    this.random = mulberry32(config.seed ?? 0);
    this.recent.clear();
  }

  get latencyMs(): number {
    return this.config.latencyMs ?? 0;
  }

  get configuringMs(): number {
    return this.config.configuringMs ?? 0;
  }

  /** Whether the TLS front end of this listener is held on its previous certificates. */
  frontEndIsStale(loadBalancerId: string, listenerPort: number): boolean {
    const stale = this.config.staleFrontEnds;
    return Array.isArray(stale) ? stale.includes(`${loadBalancerId}:${listenerPort}`) : stale === true;
  }

  /**
   * Whether the answer to this call, which has already succeeded (and committed, for a write), is
   * lost: the server then resets the connection instead of answering. Draws from the PRNG only when
   * the fault applies to the call, so other faults keep their sequence for a seed.
   */
  loseAnswer(action: string, write: boolean): boolean {
    const rate = this.config.lostAnswerActions?.[action] ?? (write ? this.config.lostAnswerRate : undefined);
    return rate !== undefined && rate > 0 && this.random() < rate;
  }

  /** Throws the injected failure for this call, if any. Never changes state. */
  check(action: string, write: boolean, nowMs: number): void {
    const c = this.config;
    const quota = c.quotas?.[action];
    if (quota !== undefined) {
      const times = (this.recent.get(action) ?? []).filter((t) => t > nowMs - 60_000);
      this.recent.set(action, times);
      if (times.length >= quota)
        throw new ApiError('Throttling.Api', 'Request was denied due to api flow control.');
      times.push(nowMs);
    }
    if (c.throttleRate && this.random() < c.throttleRate) {
      throw new ApiError('Throttling.User', 'Request was denied due to user flow control.');
    }
    if (c.errorRate && this.random() < c.errorRate) {
      throw this.random() < 0.5
        ? new ApiError('InternalError', 'The request processing has failed due to some unknown error.', 500)
        : new ApiError(
            'ServiceUnavailable',
            'The request has failed due to a temporary failure of the server.',
            503,
          );
    }
    if (write && c.failWritesAfter !== undefined && ++this.writes > c.failWritesAfter) {
      throw new ApiError(
        'Forbidden.RAM',
        'User not authorized to operate on the specified resource, or this API does not support RAM.',
        403,
      );
    }
    if (write && c.busyRate && this.random() < c.busyRate) {
      throw new ApiError(
        'ServiceIsConfiguring',
        'The specified service is configuring, please try again later.',
      );
    }
  }
}
