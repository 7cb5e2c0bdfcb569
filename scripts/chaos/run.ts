// One chaos run, and many: reset the world, play the seeded steps under their faults, clear the faults,
// give the system one clean pass (time passes, apply the last spec, rotate, failover), then check every
// invariant, the last being that a second apply of the same spec writes nothing.

import { emptyAuditMemory } from '../../shared/workflows/health-audit';
import { type RunContext, runActor, WorldClock } from './actors';
import {
  checkCertificatesBound,
  checkHealthyCarriesWeight,
  checkNoOwnedDuplicates,
  checkRenewalBindsVerified,
  checkServedIsBound,
  checkUnownedUnchanged,
  INVARIANTS,
  type Invariant,
  type Violation,
} from './invariants';
import { Prng } from './prng';
import { specOf } from './specs';
import { type ActorStep, describeStep, drawSteps, type Step } from './steps';
import { accessKeyIdOf, startWorld, type World } from './world';

export interface RunResult {
  seed: number;
  /** each step as drawn, with what came of it */
  steps: string[];
  violations: Violation[];
  ms: number;
}

export interface ChaosOptions {
  runs: number;
  seed: number;
  /** steps per run (default: 4-12, drawn from the run's seed) */
  steps?: number;
  /** told after each run */
  onRun?: (r: RunResult, index: number) => void;
}

export interface ChaosSummary {
  runs: number;
  seed: number;
  violations: number;
  byInvariant: Partial<Record<Invariant, number>>;
  failingSeeds: number[];
  ms: number;
}

const noFaults = { cloud: {} } as const;

/** The seed of run i of a chaos invocation: replay one with `--seed <it> --runs 1`. */
export const runSeed = (seed: number, i: number): number => (seed + i * 0x9e3779b1) >>> 0;

async function play(ctx: RunContext, step: Step): Promise<string> {
  const { world } = ctx;
  ctx.clock.advance(step.advanceMs);
  if (step.kind === 'health') {
    world.setBackendUp(step.backend, step.up);
    return 'ok';
  }
  if (step.kind === 'concurrent') {
    world.cloud.setFaults(step.cloud);
    try {
      const out = await Promise.all(step.steps.map((s: ActorStep) => runActor(ctx, s)));
      return out.join(' | ');
    } finally {
      world.cloud.setFaults({});
    }
  }
  world.cloud.setFaults(step.faults.cloud);
  try {
    return await runActor(ctx, step);
  } finally {
    world.cloud.setFaults({});
  }
}

export async function runOnce(world: World, seed: number, stepCount?: number): Promise<RunResult> {
  const started = Date.now();
  const r = new Prng(seed);
  const steps = drawSteps(r, stepCount ?? r.int(4, 12));
  await world.reset();
  const ctx: RunContext = {
    world,
    clock: new WorldClock(),
    spec: specOf('mall'),
    memory: emptyAuditMemory(),
    events: { seq: 0, binds: [], verified: [] },
  };
  const log: string[] = [];
  for (const s of steps) {
    const t0 = Date.now();
    const outcome = await play(ctx, s);
    log.push(`${describeStep(s)} -> ${outcome} [${Date.now() - t0} ms]`);
  }

  // The faults clear and time passes (a lease a killed run left behind expires); one clean pass.
  world.cloud.setFaults({});
  ctx.clock.advance(30 * 60_000);
  const violations: Violation[] = [];
  const clean = await runActor(ctx, { kind: 'apply', variant: variantOf(ctx), faults: noFaults });
  log.push(`(clean) apply -> ${clean}`);
  if (/^(failed|threw)/.test(clean))
    violations.push({ invariant: INVARIANTS.cleanApplySucceeds, detail: clean });
  log.push(`(clean) rotate -> ${await runActor(ctx, { kind: 'rotate', faults: noFaults })}`);
  log.push(
    `(clean) failover auto -> ${await runActor(ctx, { kind: 'failover', command: 'auto', faults: noFaults })}`,
  );

  const state = world.cloud.state();
  violations.push(
    ...checkCertificatesBound(state, ctx.clock.now().getTime()),
    ...(await checkServedIsBound(world.cloud)),
    ...checkRenewalBindsVerified(state, await world.cloud.frontEnds(), ctx.events),
    ...checkHealthyCarriesWeight(state, ctx.spec),
    ...checkUnownedUnchanged(state, world.baseline),
    ...checkNoOwnedDuplicates(state),
  );

  // A second apply of the same spec, no faults: nothing to write.
  const since = world.cloud.callRecords().at(-1)?.seq ?? 0;
  const again = await runActor(ctx, { kind: 'apply', variant: variantOf(ctx), faults: noFaults });
  const writes = world.cloud
    .callRecords(since)
    .filter((c) => c.write && c.caller === accessKeyIdOf('apply'))
    .map((c) => c.action);
  log.push(`(clean) apply again -> ${again}; writes: ${writes.length ? writes.join(', ') : 'none'}`);
  if (writes.length > 0)
    violations.push({
      invariant: INVARIANTS.secondApplyWritesNothing,
      detail: `${writes.length} write(s): ${writes.join(', ')}`,
    });
  return { seed, steps: log, violations, ms: Date.now() - started };
}

/** The variant whose spec the run last applied (the deployed spec). */
function variantOf(ctx: RunContext): Parameters<typeof specOf>[0] {
  for (const v of ['mall', 'mall+canary', 'mall+extension', 'mall+weights'] as const)
    if (specOf(v) === ctx.spec) return v;
  return 'mall';
}

export async function runChaos(
  options: ChaosOptions,
): Promise<{ summary: ChaosSummary; failing: RunResult[] }> {
  const started = Date.now();
  const world = await startWorld();
  const failing: RunResult[] = [];
  const byInvariant: Partial<Record<Invariant, number>> = {};
  let violations = 0;
  try {
    for (let i = 0; i < options.runs; i++) {
      const result = await runOnce(world, runSeed(options.seed, i), options.steps);
      if (result.violations.length > 0) {
        failing.push(result);
        violations += result.violations.length;
        for (const v of result.violations) byInvariant[v.invariant] = (byInvariant[v.invariant] ?? 0) + 1;
      }
      options.onRun?.(result, i);
    }
  } finally {
    await world.close();
  }
  return {
    summary: {
      runs: options.runs,
      seed: options.seed,
      violations,
      byInvariant,
      failingSeeds: failing.map((f) => f.seed),
      ms: Date.now() - started,
    },
    failing,
  };
}
