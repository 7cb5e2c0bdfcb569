// `npm run chaos -- --runs N --seed S [--steps K] [--verbose]`: seeded random sequences of apply, rotate,
// audit and failover against an in-process local cloud under injected faults, with resources we do not
// own beside ours; after each run, the invariants (scripts/chaos/invariants.ts). Prints one JSON summary
// line, and for every failing run its seed, steps and violations; replay one with `--seed <it> --runs 1`.
// Exit code 1 when any invariant was violated.

import { parseArgs } from 'node:util';
import { type RunResult, runChaos } from './run';

function int(name: string, value: string | undefined, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < min || n > max)
    throw new Error(`--${name}: must be an integer in [${min}, ${max}], got ${JSON.stringify(value)}`);
  return n;
}

function printFailing(r: RunResult): void {
  console.log(
    JSON.stringify({
      failingSeed: r.seed,
      replay: `npm run chaos -- --seed ${r.seed} --runs 1`,
      violations: r.violations,
      steps: r.steps,
    }),
  );
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      runs: { type: 'string' },
      seed: { type: 'string' },
      steps: { type: 'string' },
      verbose: { type: 'boolean', default: false },
    },
    strict: true,
  });
  const runs = int('runs', values.runs, 20, 1, 1_000_000);
  const seed = int('seed', values.seed, Date.now() % 2 ** 31, 0, 2 ** 32 - 1);
  const steps = values.steps === undefined ? undefined : int('steps', values.steps, 8, 1, 200);
  const { summary } = await runChaos({
    runs,
    seed,
    ...(steps ? { steps } : {}),
    onRun: (r) => {
      if (r.violations.length > 0) printFailing(r);
      else if (values.verbose)
        console.log(JSON.stringify({ seed: r.seed, ok: true, ms: r.ms, steps: r.steps }));
    },
  });
  console.log(JSON.stringify(summary));
  process.exitCode = summary.violations > 0 ? 1 : 0;
}

main().catch((err: unknown) => {
  console.error(JSON.stringify({ error: err instanceof Error ? err.message : String(err) }));
  process.exitCode = 2;
});
