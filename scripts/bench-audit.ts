// `npm run bench -- audit-steady`: the health audit as the one-minute timer runs it over 1,000 load
// balancers (4 listeners, 20 backends each), five consecutive runs a minute apart on a virtual clock, with
// the read budget (600 burst, 10/s per region and action) carried over from run to run and each run's
// 40 s time budget (the function's). A run that reaches its budget stops starting health reads and the
// next one resumes where it stopped, so the steady state is a sweep of the fleet over several minutes
// at the read quota: about 600 load balancers a minute, whatever the fleet's size.

import { VirtualClock } from '../shared/cloud/clock';
import { RateBudget } from '../shared/cloud/rate-budget';
import { DEFAULT_OWNERSHIP } from '../shared/domain/ownership';
import { runHealthAudit } from '../shared/workflows/health-audit';
import { fleetAudit, fleetState } from './bench-cases';
import { connectLocalCloud } from './local-cloud/connect';
import { startLocalCloud } from './local-cloud/server';

const RUNS = 5;
const PERIOD_MS = 60_000;
const BUDGET_MS = 40_000;

export async function auditSteadyCase(loadBalancers = 1000): Promise<Record<string, unknown>> {
  const state = fleetState(loadBalancers, 4, 20);
  const cloud = await startLocalCloud({ scenario: state, tlsFrontEnds: false });
  try {
    const { spec, memory } = fleetAudit(state, { healthCheck: false });
    const clock = new VirtualClock();
    const c = connectLocalCloud(cloud, {
      budget: new RateBudget({ clock }),
      clock,
      retry: { baseDelayMs: 1, maxDelayMs: 5, maxAttempts: 10 },
    });
    const runs: { runMs: number; read: number }[] = [];
    const started = performance.now();
    for (let i = 0; i < RUNS; i++) {
      const at = i * PERIOD_MS;
      if (clock.now() < at) clock.advance(at - clock.now());
      const report = await runHealthAudit(
        {
          slb: c.slb,
          probeAll: async () => [],
          resolveBackend: async (b) => ({ host: '127.0.0.1', port: b.port }),
          now: () => new Date(clock.now()),
          ownership: DEFAULT_OWNERSHIP,
          handOff: async () => undefined,
        },
        spec,
        memory,
        { budgetMs: BUDGET_MS, driftEveryMs: 3_600_000 },
      );
      if (report.driftChecked) throw new Error('a run read drift');
      runs.push({ runMs: clock.now() - at, read: report.coverage?.read ?? 0 });
    }
    const steady = runs.slice(2);
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const perMinute = Math.round(mean(steady.map((r) => r.read)));
    return {
      case: 'audit-steady',
      loadBalancers,
      runs: runs.map((r) => ({ runMs: Math.round(r.runMs), read: r.read })),
      steadyRunMs: Math.round(mean(steady.map((r) => r.runMs))),
      loadBalancersPerMinute: perMinute,
      sweepMinutes: Number((loadBalancers / perMinute).toFixed(1)),
      realMs: Math.round(performance.now() - started),
    };
  } finally {
    await cloud.close();
  }
}
