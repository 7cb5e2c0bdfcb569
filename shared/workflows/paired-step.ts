// A step that changes what is served, run together with the check that proves it and the way back.
//
// A bind (switch a listener's certificate, set a weight, ...) is never left on its own: the step carries
// its verify and its rollback, and `runPaired` is the only way to run it. Any failure after the bind
// starts (the bind itself, whose answer may be lost after the write ran; a verify that throws, fails or
// times out; a commit write) re-binds what was there and verifies that. A durable marker, written
// before the bind and removed once the step is settled, lets the next run finish a step whose process
// died in between (`resumePaired`): verify what is bound, or roll back.
//
// Generic over the verification details, so any plan executor can run its binding actions through it.

import { AutopilotError, errorText, VerificationError } from '../errors';

export type PairedPhase = 'mark' | 'bind' | 'verify' | 'commit' | 'rollback' | 'rollbackVerify' | 'unmark';

/** A verify's verdict, with whatever evidence it gathered (for the report). */
export interface Check<V> {
  ok: boolean;
  details: V;
}

export interface PairedStep<V> {
  /** for errors and reports, e.g. `lb-1:443` */
  id: string;
  /** records, durably and before the bind, that the step is in flight */
  mark?: () => Promise<void>;
  bind: () => Promise<void>;
  /** proves the bind took effect where it matters */
  verify: () => Promise<Check<V>>;
  /** bookkeeping after a verified bind; its failure rolls the step back too */
  commit?: () => Promise<void>;
  /** restores what was bound before, and proves it */
  rollback: { bind: () => Promise<void>; verify: () => Promise<Check<V>> };
  /** removes the marker once the step is settled either way */
  unmark?: () => Promise<void>;
}

export interface PairedOptions {
  /** bound on each verify (0 or absent: none); a verify that takes longer fails the step */
  verifyTimeoutMs?: number;
}

export type PairedStatus =
  /** bound and verified (and committed) */
  | 'applied'
  /** failed after the bind started; the previous binding is back and verified */
  | 'rolledBack'
  /** nothing was bound (the mark failed, or a resumed step found the previous binding still served) */
  | 'notApplied'
  /** the rollback failed or did not verify: the marker stays for the next run */
  | 'unsettled';

export interface PairedOutcome<V> {
  id: string;
  status: PairedStatus;
  /** the first failure, when there was one */
  error?: PairedStepError;
  /** a failure while restoring or settling, after `error` */
  rollbackError?: PairedStepError;
  verification?: V;
  rollbackVerification?: V;
  /** the marker is gone (false: the next run resumes the step) */
  settled: boolean;
}

/** A failure of one phase of one step; the original error is the `cause`. */
export class PairedStepError extends AutopilotError {
  override name = 'PairedStepError';
  readonly kind = 'step' as const;
  readonly step: string;
  readonly phase: PairedPhase;

  constructor(step: string, phase: PairedPhase, cause: unknown) {
    super(`${step}: ${phase}: ${errorText(cause)}`, { cause });
    this.step = step;
    this.phase = phase;
  }
}

/** A verify that completed and said no. */
export class VerificationFailedError extends VerificationError {
  override name = 'VerificationFailedError';
  readonly details: unknown;

  constructor(message: string, details: unknown) {
    super(message, { code: 'NotVerified' });
    this.details = details;
  }
}

/** A verify that did not complete within its bound. */
export class VerificationTimeoutError extends VerificationError {
  override name = 'VerificationTimeoutError';
  readonly timeoutMs: number;

  constructor(timeoutMs: number) {
    super(`no verdict within ${timeoutMs} ms`, { code: 'VerifyTimeout' });
    this.timeoutMs = timeoutMs;
  }
}

async function phase<T>(id: string, name: PairedPhase, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    throw err instanceof PairedStepError ? err : new PairedStepError(id, name, err);
  }
}

async function checked<V>(
  id: string,
  name: 'verify' | 'rollbackVerify',
  verify: () => Promise<Check<V>>,
  options: PairedOptions,
  keep: (details: V) => void,
): Promise<void> {
  const check = await phase(id, name, () => bounded(verify, options.verifyTimeoutMs));
  keep(check.details);
  if (!check.ok)
    throw new PairedStepError(id, name, new VerificationFailedError('did not verify', check.details));
}

function bounded<T>(run: () => Promise<T>, timeoutMs: number | undefined): Promise<T> {
  if (!timeoutMs) return run();
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new VerificationTimeoutError(timeoutMs)), timeoutMs);
  });
  return Promise.race([run(), expired]).finally(() => clearTimeout(timer));
}

/** Restores the previous binding after `error`, proves it, and settles. */
async function restore<V>(
  step: PairedStep<V>,
  error: PairedStepError,
  out: PairedOutcome<V>,
  options: PairedOptions,
): Promise<PairedOutcome<V>> {
  out.error = error;
  try {
    await phase(step.id, 'rollback', step.rollback.bind);
    await checked(step.id, 'rollbackVerify', step.rollback.verify, options, (d) => {
      out.rollbackVerification = d;
    });
  } catch (err) {
    out.status = 'unsettled';
    out.rollbackError = err as PairedStepError;
    return out;
  }
  out.status = 'rolledBack';
  return settle(step, out);
}

async function settle<V>(step: PairedStep<V>, out: PairedOutcome<V>): Promise<PairedOutcome<V>> {
  try {
    if (step.unmark) await phase(step.id, 'unmark', step.unmark);
    out.settled = true;
  } catch (err) {
    // The binding is settled; only the marker is left, and the next run finds the same binding.
    out.rollbackError ??= err as PairedStepError;
  }
  return out;
}

/** mark -> bind -> verify -> commit -> unmark; any failure after the bind starts restores the previous. */
export async function runPaired<V>(
  step: PairedStep<V>,
  options: PairedOptions = {},
): Promise<PairedOutcome<V>> {
  const out: PairedOutcome<V> = { id: step.id, status: 'notApplied', settled: false };
  if (step.mark) {
    try {
      await phase(step.id, 'mark', step.mark);
    } catch (err) {
      // Nothing is bound; a marker that was written after all is resolved by the next run.
      out.error = err as PairedStepError;
      return out;
    }
  }
  try {
    await phase(step.id, 'bind', step.bind);
  } catch (err) {
    return restore(step, err as PairedStepError, out, options);
  }
  return confirm(step, out, options);
}

/** After a bind (this run's, or a dead run's): verify, commit, settle; any failure restores. */
async function confirm<V>(
  step: PairedStep<V>,
  out: PairedOutcome<V>,
  options: PairedOptions,
): Promise<PairedOutcome<V>> {
  try {
    await checked(step.id, 'verify', step.verify, options, (d) => {
      out.verification = d;
    });
    if (step.commit) await phase(step.id, 'commit', step.commit);
  } catch (err) {
    return restore(step, err as PairedStepError, out, options);
  }
  out.status = 'applied';
  return settle(step, out);
}

/**
 * Finishes a step a marker says was in flight when its run ended. `bound` is what is bound now: the
 * step's target (verify it, or roll back) or still the previous binding (verify that, re-binding only
 * if it does not verify).
 */
export async function resumePaired<V>(
  step: PairedStep<V>,
  bound: 'target' | 'previous',
  options: PairedOptions = {},
): Promise<PairedOutcome<V>> {
  const out: PairedOutcome<V> = { id: step.id, status: 'notApplied', settled: false };
  if (bound === 'previous') {
    try {
      await checked(step.id, 'rollbackVerify', step.rollback.verify, options, (d) => {
        out.rollbackVerification = d;
      });
      return settle(step, out);
    } catch (err) {
      return restore(step, err as PairedStepError, out, options);
    }
  }
  return confirm(step, out, options);
}

export interface PairedBatch<V> {
  /** run in order, each paired; their own `mark`/`unmark` are not used */
  steps: PairedStep<V>[];
  /** one durable marker for every step of the batch, before the first bind (one write, not one per step) */
  mark: (steps: PairedStep<V>[]) => Promise<void>;
  /** removes the markers of the steps that settled (the others stay for the next run) */
  unmark: (settled: PairedStep<V>[]) => Promise<void>;
}

/**
 * Steps that share one marker write and one unmark write (e.g. the references of one load balancer).
 * A failed mark binds nothing; a failed unmark leaves settled steps marked, which the next run resolves
 * (their bindings verify).
 */
export async function runPairedBatch<V>(
  batch: PairedBatch<V>,
  options: PairedOptions = {},
): Promise<PairedOutcome<V>[]> {
  const steps = batch.steps.map(({ mark: _m, unmark: _u, ...s }) => s);
  if (steps.length === 0) return [];
  try {
    await batch.mark(batch.steps);
  } catch (err) {
    return steps.map((s) => ({
      id: s.id,
      status: 'notApplied',
      settled: false,
      error: new PairedStepError(s.id, 'mark', err),
    }));
  }
  const outcomes: PairedOutcome<V>[] = [];
  for (const s of steps) outcomes.push(await runPaired(s, options));
  const settled = outcomes.flatMap((o, i) => (o.settled && batch.steps[i] ? [batch.steps[i]] : []));
  if (settled.length > 0) {
    try {
      await batch.unmark(settled);
    } catch (err) {
      for (const o of outcomes) {
        if (!o.settled) continue;
        o.settled = false;
        o.rollbackError ??= new PairedStepError(o.id, 'unmark', err);
      }
    }
  }
  return outcomes;
}
