// The steps of a chaos run: what the actors do (apply, rotate, audit, failover by command or alarm),
// what the world does (a backend dies or comes back), and under which faults. A run's steps are drawn
// from its seed up front, so a failing seed prints, and replays, the same list.

import type { FaultConfig } from '../local-cloud/faults';
import type { Prng } from './prng';
import { VARIANTS, type Variant } from './specs';
import type { BackendName } from './world';

export type FailoverCommandName = 'toStandby' | 'toPrimary' | 'auto';

export interface Faults {
  /** what the local cloud injects while the step runs (seeded) */
  cloud: FaultConfig;
  /** the actor's process dies right after its k-th write call reached the cloud */
  killAfterWrites?: number;
}

export type ActorStep =
  | { kind: 'apply'; variant: Variant | 'hostile'; faults: Faults }
  | { kind: 'rotate'; faults: Faults }
  | { kind: 'audit'; coldStart: boolean; faults: Faults }
  | { kind: 'failover'; command: FailoverCommandName; faults: Faults }
  | { kind: 'alarm'; alertState: 'ALERT' | 'OK'; faults: Faults };

export type Step = { advanceMs: number } & (
  | ActorStep
  | { kind: 'health'; backend: BackendName; up: boolean }
  | { kind: 'concurrent'; steps: [ActorStep, ActorStep]; cloud: FaultConfig }
);

const MINUTE = 60_000;
const DAY = 86_400_000;

function drawCloudFaults(r: Prng): FaultConfig {
  const kind = r.weighted([
    ['none', 3],
    ['throttle', 1],
    ['errors', 1],
    ['latency', 1],
    ['failWritesAfter', 1],
    ['staleFrontEnds', 1],
    ['lostAnswers', 2],
    ['busy', 1],
    ['mixed', 2],
  ] as const);
  const seed = r.seed();
  switch (kind) {
    case 'none':
      return {};
    case 'throttle':
      return { throttleRate: r.pick([0.2, 0.4]), seed };
    case 'errors':
      return { errorRate: r.pick([0.1, 0.25]), seed };
    case 'latency':
      return { latencyMs: r.int(2, 25), seed };
    case 'failWritesAfter':
      return { failWritesAfter: r.int(0, 4), seed };
    case 'staleFrontEnds':
      return { staleFrontEnds: true, seed };
    case 'lostAnswers':
      return { lostAnswerRate: r.pick([0.3, 0.6, 1]), seed };
    case 'busy':
      return { busyRate: 0.3, seed };
    case 'mixed':
      return {
        throttleRate: 0.15,
        errorRate: 0.1,
        lostAnswerRate: 0.3,
        ...(r.chance(0.5) ? { staleFrontEnds: true } : {}),
        seed,
      };
  }
}

function drawFaults(r: Prng): Faults {
  const cloud = drawCloudFaults(r);
  return r.chance(0.25) ? { cloud, killAfterWrites: r.int(1, 5) } : { cloud };
}

function drawActorStep(r: Prng, faults: Faults): ActorStep {
  const kind = r.weighted([
    ['apply', 4],
    ['rotate', 3],
    ['audit', 2],
    ['failover', 2],
    ['alarm', 1],
  ] as const);
  switch (kind) {
    case 'apply':
      return { kind, variant: r.chance(0.08) ? 'hostile' : r.pick(VARIANTS), faults };
    case 'rotate':
      return { kind, faults };
    case 'audit':
      return { kind, coldStart: r.chance(0.3), faults };
    case 'failover':
      return { kind, command: r.pick(['toStandby', 'toPrimary', 'auto'] as const), faults };
    case 'alarm':
      return { kind, alertState: r.pick(['ALERT', 'OK'] as const), faults };
  }
}

/** Steps for one run; the world clock moves by minutes, and now and then by days (renewal due-ness). */
export function drawSteps(r: Prng, count: number): Step[] {
  const steps: Step[] = [];
  let days = 0;
  for (let i = 0; i < count; i++) {
    // At most ~40 days in all: the mall's renewed certificate (90 days) stays a valid replacement.
    const jump = days < 36 && r.chance(0.15) ? r.int(1, 4) : 0;
    days += jump;
    const advanceMs = jump * DAY + r.int(1, 20) * MINUTE;
    const kind = r.weighted([
      ['actor', 7],
      ['health', 2],
      ['concurrent', 1],
    ] as const);
    if (kind === 'health')
      steps.push({
        advanceMs,
        kind,
        backend: r.weighted([
          ['k8s', 3],
          ['ecs', 2],
          ['hand', 1],
        ] as const),
        up: r.chance(0.5),
      });
    else if (kind === 'concurrent') {
      const cloud = drawCloudFaults(r);
      const a = drawActorStep(r, r.chance(0.2) ? { cloud, killAfterWrites: r.int(1, 4) } : { cloud });
      const b = drawActorStep(r, { cloud });
      steps.push({ advanceMs, kind, steps: [a, b], cloud });
    } else steps.push({ advanceMs, ...drawActorStep(r, drawFaults(r)) });
  }
  return steps;
}

const faultText = (f: FaultConfig): string => {
  const { seed: _seed, ...rest } = f;
  return Object.keys(rest).length === 0 ? '' : ` ${JSON.stringify(rest)}`;
};

function describeActorStep(s: ActorStep): string {
  const what =
    s.kind === 'apply'
      ? `apply ${s.variant}`
      : s.kind === 'audit'
        ? `audit${s.coldStart ? ' (cold start)' : ''}`
        : s.kind === 'failover'
          ? `failover ${s.command}`
          : s.kind === 'alarm'
            ? `alarm ${s.alertState}`
            : 'rotate';
  return `${what}${s.faults.killAfterWrites ? ` killed after write ${s.faults.killAfterWrites}` : ''}`;
}

export function describeStep(s: Step): string {
  const at =
    s.advanceMs >= DAY ? `+${Math.floor(s.advanceMs / DAY)}d` : `+${Math.round(s.advanceMs / MINUTE)}m`;
  if (s.kind === 'health') return `${at} ${s.backend} ${s.up ? 'up' : 'down'}`;
  if (s.kind === 'concurrent')
    return `${at} together: ${s.steps.map(describeActorStep).join(' | ')}${faultText(s.cloud)}`;
  return `${at} ${describeActorStep(s)}${faultText(s.faults.cloud)}`;
}
