// The one executor: every workflow decides in the domain (a plan: ordered actions as data, each with its
// reason) and runs the plan here. The executor owns what every run needs the same way:
//   order         actions start in plan order; `after` names actions that must be done first
//   concurrency   at most `concurrency` actions at once (default 1: strictly one after another)
//   stopping      after a failure no further action starts (`stopOnFailure`, default true); an action
//                 whose prerequisite did not complete is skipped either way
//   guards        `beforeEach` runs before every write (a writer lease's checkpoint): when it throws,
//                 the action fails without being attempted
//   paired steps  an action whose work is a bind carries its verify and rollback (paired-step.ts), so a
//                 failure after the bind always restores what was there
//   errors        each failure is kept with its causes (`errorReport`), and the thrown error itself
//   dry run       the plan is recorded (every action `planned`) and nothing is written
// The rate of cloud calls is paced below this, per API, by the process's rate budget (cloud/rate-budget.ts).

import { type ErrorReport, errorReport } from '../errors';
import { type PairedOptions, type PairedOutcome, type PairedStep, runPaired } from './paired-step';

/** What every planned action has; workflows add their own fields. */
export interface PlannedAction {
  /** unique within its plan */
  id: string;
  kind: string;
  /** why the planner wants it, for people */
  reason: string;
  /** ids of actions of the same plan that must be done before this one starts (they come earlier) */
  after?: readonly string[];
}

/** How one action is carried out: one write, or a bind with its verify and rollback. */
export type Work<V> = { run: () => Promise<unknown> } | { paired: PairedStep<V> };

export type StepStatus =
  /** dry run: would run */
  | 'planned'
  | 'done'
  | 'failed'
  /** not started: an earlier action failed, or a prerequisite did not complete */
  | 'skipped'
  /** a paired step failed after its bind; the previous binding is back and verified */
  | 'rolledBack'
  /** a paired step whose rollback failed too: its marker stays for the next run */
  | 'unsettled';

export interface StepResult<A, V> {
  action: A;
  status: StepStatus;
  /** the failure, as report data */
  error?: ErrorReport;
  /** the failure as thrown (for callers that answer by its class) */
  thrown?: unknown;
  /** what a paired step did, verifications included */
  paired?: PairedOutcome<V>;
}

export interface ProgressEvent<A> {
  /** 1-based, in plan order */
  index: number;
  total: number;
  action: A;
  status: 'started' | 'done' | 'failed';
}

export interface ExecuteOptions<A> extends PairedOptions {
  dryRun?: boolean;
  /** actions at once (default 1) */
  concurrency?: number;
  /** no new action starts after a failure (default true) */
  stopOnFailure?: boolean;
  /** before each action; a throw fails the action unattempted (and stops the run) */
  beforeEach?: (action: A) => Promise<void>;
  onProgress?: (event: ProgressEvent<A>) => void;
}

export interface Execution<A, V> {
  dryRun: boolean;
  /** one per action, in plan order */
  results: StepResult<A, V>[];
  /** some action did not complete */
  failed: boolean;
}

const COMPLETED: ReadonlySet<StepStatus> = new Set(['done', 'planned']);

/** Runs `actions` (a plan) with `work` (how each is done); never throws for a failed action. */
export async function execute<A extends PlannedAction, V = unknown>(
  actions: readonly A[],
  work: (action: A) => Work<V>,
  options: ExecuteOptions<A> = {},
): Promise<Execution<A, V>> {
  checkOrder(actions);
  const results: StepResult<A, V>[] = actions.map((action) => ({ action, status: 'skipped' }));
  if (options.dryRun) {
    for (const r of results) r.status = 'planned';
    return { dryRun: true, results, failed: false };
  }
  const settled = new Map<string, Promise<StepStatus>>();
  let stopped = false;
  await mapPool(
    actions,
    options.concurrency ?? 1,
    (action, index) => {
      const run = runOne(action, index, results, settled, work, options).then((status) => {
        if (!COMPLETED.has(status) && status !== 'skipped' && options.stopOnFailure !== false) stopped = true;
        return status;
      });
      settled.set(action.id, run);
      return run;
    },
    { until: () => stopped },
  );
  return { dryRun: false, results, failed: results.some((r) => !COMPLETED.has(r.status)) };
}

async function runOne<A extends PlannedAction, V>(
  action: A,
  index: number,
  results: StepResult<A, V>[],
  settled: ReadonlyMap<string, Promise<StepStatus>>,
  work: (action: A) => Work<V>,
  options: ExecuteOptions<A>,
): Promise<StepStatus> {
  const result = results[index] as StepResult<A, V>;
  const before = await Promise.all((action.after ?? []).map((id) => settled.get(id)));
  if (before.some((s) => s !== 'done')) return 'skipped';
  const event = { index: index + 1, total: results.length, action };
  options.onProgress?.({ ...event, status: 'started' });
  try {
    await options.beforeEach?.(action);
    const w = work(action);
    if ('run' in w) {
      await w.run();
      result.status = 'done';
    } else {
      result.paired = await runPaired(w.paired, options);
      result.status = pairedStatus(result.paired);
      const cause = result.paired.error ?? result.paired.rollbackError;
      if (cause) keepError(result, cause);
    }
  } catch (err) {
    result.status = 'failed';
    keepError(result, err);
  }
  options.onProgress?.({ ...event, status: result.status === 'done' ? 'done' : 'failed' });
  return result.status;
}

function keepError<A, V>(result: StepResult<A, V>, err: unknown): void {
  result.thrown = err;
  result.error = errorReport(err);
}

function pairedStatus(out: PairedOutcome<unknown>): StepStatus {
  if (out.status === 'applied') return 'done';
  if (out.status === 'notApplied') return 'failed';
  return out.status;
}

/** Ids are unique and every `after` names an earlier action: a plan the executor cannot deadlock on. */
function checkOrder(actions: readonly PlannedAction[]): void {
  const seen = new Set<string>();
  for (const a of actions) {
    if (seen.has(a.id)) throw new Error(`plan: action id ${a.id} appears twice`);
    for (const id of a.after ?? [])
      if (!seen.has(id))
        throw new Error(`plan: ${a.id} must come after ${id}, which is not an earlier action`);
    seen.add(a.id);
  }
}

/**
 * The one worker pool: `fn` over `items` with at most `limit` running at once, started in order. No item
 * starts once `until()` is true (the ones not started are `undefined` in the result). Rejects with the
 * first error after the items already running have finished; no new item starts after an error.
 */
export async function mapPool<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
  options: { until?: () => boolean } = {},
): Promise<(R | undefined)[]> {
  if (!Number.isInteger(limit) || limit < 1)
    throw new RangeError(`pool size must be a positive integer, not ${limit}`);
  const out: (R | undefined)[] = new Array(items.length).fill(undefined);
  let next = 0;
  let failure: { err: unknown } | undefined;
  const worker = async (): Promise<void> => {
    while (next < items.length && !failure && !options.until?.()) {
      const index = next++;
      try {
        out[index] = await fn(items[index] as T, index);
      } catch (err) {
        failure ??= { err };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failure) throw failure.err;
  return out;
}
