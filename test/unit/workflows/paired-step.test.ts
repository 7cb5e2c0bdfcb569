// The paired-step executor: the order of the phases, and what a failure at each phase leads to (the
// previous binding restored and verified, the marker kept only while something is unsettled), with
// errors that name the phase and keep the original as `cause`.
import { describe, expect, it } from 'vitest';
import { errorReport } from '../../../shared/errors';
import {
  type PairedPhase,
  type PairedStep,
  PairedStepError,
  resumePaired,
  runPaired,
  runPairedBatch,
} from '../../../shared/workflows/paired-step';

type Fault = { phase: PairedPhase; kind: 'throw' | 'no' };

/** A step over an in-memory binding; `fault` makes one phase throw or (a verify) say no. */
function step(fault?: Fault) {
  const log: string[] = [];
  const state = { bound: 'old', marked: false };
  const act = async (p: PairedPhase, run: () => void) => {
    log.push(p);
    if (fault?.phase === p && fault.kind === 'throw') throw new Error(`${p} broke`);
    run();
  };
  const verdict = async (p: PairedPhase, want: string) => {
    log.push(p);
    if (fault?.phase === p) {
      if (fault.kind === 'throw') throw new Error(`${p} broke`);
      return { ok: false, details: `${state.bound} served` };
    }
    return { ok: state.bound === want, details: `${state.bound} served` };
  };
  const s: PairedStep<string> = {
    id: 'lb-1:443',
    mark: () => act('mark', () => (state.marked = true)),
    bind: () => act('bind', () => (state.bound = 'new')),
    verify: () => verdict('verify', 'new'),
    commit: () => act('commit', () => undefined),
    rollback: {
      bind: () => act('rollback', () => (state.bound = 'old')),
      verify: () => verdict('rollbackVerify', 'old'),
    },
    unmark: () => act('unmark', () => (state.marked = false)),
  };
  return { s, log, state };
}

describe('runPaired', () => {
  it('marks, binds, verifies, commits and unmarks', async () => {
    const { s, log, state } = step();
    const out = await runPaired(s);
    expect(out).toMatchObject({ status: 'applied', settled: true, verification: 'new served' });
    expect(log).toEqual(['mark', 'bind', 'verify', 'commit', 'unmark']);
    expect(state).toEqual({ bound: 'new', marked: false });
  });

  it.each([
    // phase failing, how, status, bound after, marker left, phases run
    ['mark', 'throw', 'notApplied', 'old', false, ['mark']],
    ['bind', 'throw', 'rolledBack', 'old', false, ['mark', 'bind', 'rollback', 'rollbackVerify', 'unmark']],
    [
      'verify',
      'throw',
      'rolledBack',
      'old',
      false,
      ['mark', 'bind', 'verify', 'rollback', 'rollbackVerify', 'unmark'],
    ],
    [
      'verify',
      'no',
      'rolledBack',
      'old',
      false,
      ['mark', 'bind', 'verify', 'rollback', 'rollbackVerify', 'unmark'],
    ],
    [
      'commit',
      'throw',
      'rolledBack',
      'old',
      false,
      ['mark', 'bind', 'verify', 'commit', 'rollback', 'rollbackVerify', 'unmark'],
    ],
    ['rollback', 'throw', 'unsettled', 'new', true, ['mark', 'bind', 'verify', 'rollback']],
    [
      'rollbackVerify',
      'no',
      'unsettled',
      'old',
      true,
      ['mark', 'bind', 'verify', 'rollback', 'rollbackVerify'],
    ],
    ['unmark', 'throw', 'applied', 'new', true, ['mark', 'bind', 'verify', 'commit', 'unmark']],
  ] as const)('%s %s: %s, %s bound, marker left %s', async (phase, kind, status, bound, marked, phases) => {
    // A verify that says no only makes sense for the verify phases; the others throw.
    const fault: Fault = { phase, kind };
    const { s, log, state } = step(fault);
    if (phase === 'rollback' || phase === 'rollbackVerify') {
      // The rollback is only reached when the bind did not verify.
      s.verify = async () => {
        log.push('verify');
        return { ok: false, details: 'old served' };
      };
    }
    const out = await runPaired(s);
    expect(out.status).toBe(status);
    expect(state).toEqual({ bound, marked });
    // A mark that failed may have been written after all (a lost answer): the next run looks.
    expect(out.settled).toBe(!marked && phase !== 'mark');
    expect(log).toEqual(phases);
    const failed = out.rollbackError ?? out.error;
    if (phase !== 'unmark' && phase !== 'rollback' && phase !== 'rollbackVerify') {
      expect(out.error).toBeInstanceOf(PairedStepError);
      expect(out.error?.phase).toBe(phase);
      expect(out.error?.cause).toBeInstanceOf(Error);
    } else expect(failed?.phase).toBe(phase);
  });

  it('bounds a verify that never answers, and rolls back', async () => {
    const { s, state } = step();
    s.verify = () => new Promise(() => undefined);
    const out = await runPaired(s, { verifyTimeoutMs: 20 });
    expect(out.status).toBe('rolledBack');
    expect(errorReport(out.error)).toMatchObject({
      name: 'PairedStepError',
      phase: 'verify',
      cause: { name: 'VerificationTimeoutError', message: 'no verdict within 20 ms' },
    });
    expect(state.bound).toBe('old');
  });
});

describe('resumePaired', () => {
  it('verifies the target a dead run bound, commits and unmarks', async () => {
    const { s, log, state } = step();
    state.bound = 'new';
    state.marked = true;
    expect((await resumePaired(s, 'target')).status).toBe('applied');
    expect(log).toEqual(['verify', 'commit', 'unmark']);
    expect(state).toEqual({ bound: 'new', marked: false });
  });

  it('rolls back a target that does not verify', async () => {
    const { s, log, state } = step({ phase: 'verify', kind: 'no' });
    state.bound = 'new';
    state.marked = true;
    expect((await resumePaired(s, 'target')).status).toBe('rolledBack');
    expect(log).toEqual(['verify', 'rollback', 'rollbackVerify', 'unmark']);
    expect(state).toEqual({ bound: 'old', marked: false });
  });

  it('only verifies the previous binding when the dead run never bound', async () => {
    const { s, log, state } = step();
    state.marked = true;
    expect((await resumePaired(s, 'previous')).status).toBe('notApplied');
    expect(log).toEqual(['rollbackVerify', 'unmark']);
    expect(state).toEqual({ bound: 'old', marked: false });
  });
});

describe('runPairedBatch', () => {
  const batchOf = (n: number, fault?: Fault) => {
    const made = Array.from({ length: n }, () => step(fault));
    const calls: string[] = [];
    return {
      made,
      calls,
      batch: {
        steps: made.map((m) => m.s),
        mark: async (steps: unknown[]) => {
          calls.push(`mark ${steps.length}`);
          if (fault?.phase === 'mark') throw new Error('mark broke');
        },
        unmark: async (settled: unknown[]) => {
          calls.push(`unmark ${settled.length}`);
          if (fault?.phase === 'unmark') throw new Error('unmark broke');
        },
      },
    };
  };

  it('marks once, runs every step paired, unmarks the settled ones once', async () => {
    const { made, calls, batch } = batchOf(3);
    const outs = await runPairedBatch(batch);
    expect(outs.map((o) => [o.status, o.settled])).toEqual([
      ['applied', true],
      ['applied', true],
      ['applied', true],
    ]);
    expect(calls).toEqual(['mark 3', 'unmark 3']);
    // The steps' own mark and unmark are the batch's, not called per step.
    for (const m of made) expect(m.log).toEqual(['bind', 'verify', 'commit']);
  });

  it('binds nothing when the mark fails', async () => {
    const { made, batch } = batchOf(2, { phase: 'mark', kind: 'throw' });
    const outs = await runPairedBatch(batch);
    expect(outs.map((o) => [o.status, o.settled, o.error?.phase])).toEqual([
      ['notApplied', false, 'mark'],
      ['notApplied', false, 'mark'],
    ]);
    for (const m of made) expect(m.state.bound).toBe('old');
  });

  it('keeps the marker of an unsettled step, and reports settled steps unsettled when the unmark fails', async () => {
    const { calls, batch } = batchOf(2, { phase: 'rollbackVerify', kind: 'no' });
    for (const s of batch.steps) s.verify = async () => ({ ok: false, details: 'old served' });
    const outs = await runPairedBatch(batch);
    expect(outs.map((o) => o.status)).toEqual(['unsettled', 'unsettled']);
    expect(calls).toEqual(['mark 2']);
    const failing = batchOf(1, { phase: 'unmark', kind: 'throw' });
    const [out] = await runPairedBatch(failing.batch);
    expect(out).toMatchObject({ status: 'applied', settled: false, rollbackError: { phase: 'unmark' } });
  });
});
