// The actors of a chaos run: the workflows the four functions run (apply, renewal, audit, failover),
// called in-process with the world's clock and clients. An actor may be killed: its RPC caller lets
// the k-th write reach the cloud, then the process "dies": that call and every later one (and every TLS
// check) throws ProcessKilled, so nothing it does afterwards reaches the cloud.

import { localCloudListenerAddress } from '../../shared/cloud/listener-address';
import { probeAll } from '../../shared/cloud/probe';
import type { RpcCaller } from '../../shared/cloud/rpc-types';
import { waitForServedCertificate } from '../../shared/cloud/tls-probe';
import { normalizeFingerprint } from '../../shared/domain/keys';
import { parseSpec, type Spec } from '../../shared/domain/spec';
import { HEALTH_AUDIT_SOURCE, parseFailoverEvents } from '../../shared/runtime/failover-events';
import { applySpec } from '../../shared/workflows/apply';
import { runCertRenewal } from '../../shared/workflows/cert-renewal';
import type { CertificateWriterDeps } from '../../shared/workflows/deps';
import { type FailoverDeps, FailoverRequestError, runFailover } from '../../shared/workflows/failover';
import {
  type AuditMemory,
  emptyAuditMemory,
  type HandOff,
  runHealthAudit,
} from '../../shared/workflows/health-audit';
import { MALL } from '../local-cloud/scenarios/mall-fixture';
import { hostileSpecText, specOf } from './specs';
import type { ActorStep } from './steps';
import type { Actor, World } from './world';

export class ProcessKilled extends Error {
  constructor(what: string) {
    super(`process killed (${what})`);
    this.name = 'ProcessKilled';
  }
}

export interface KillSwitch {
  readonly dead: boolean;
  wrap(rpc: RpcCaller): RpcCaller;
  /** a non-RPC effect (a TLS check) that a dead process cannot make */
  guard<A extends unknown[], R>(fn: (...a: A) => Promise<R>): (...a: A) => Promise<R>;
}

export function killSwitch(afterWrites: number | undefined): KillSwitch {
  let writes = 0;
  let dead = false;
  return {
    get dead() {
      return dead;
    },
    wrap: (rpc) => ({
      async call(request) {
        if (dead) throw new ProcessKilled(`no more calls: ${request.action}`);
        if (!request.write || afterWrites === undefined || ++writes < afterWrites) return rpc.call(request);
        // The k-th write goes out; the process dies before it sees the answer.
        dead = true;
        await rpc.call(request).catch(() => undefined);
        throw new ProcessKilled(`after write ${writes}: ${request.action}`);
      },
    }),
    guard:
      (fn) =>
      async (...a) => {
        if (dead) throw new ProcessKilled('no more TLS checks');
        const out = await fn(...a);
        if (dead) throw new ProcessKilled('during a TLS check');
        return out;
      },
  };
}

/** A certificate bind as sent (whether or not its answer came back): which reference, which certificate. */
export interface BindEvent {
  seq: number;
  actor: Actor;
  /** `<loadBalancerId>:<listenerPort>` or `<loadBalancerId>:<listenerPort>/<domain>` */
  reference: string;
  serverCertificateId: string;
}

/** A handshake a workflow made that saw the certificate it expected. */
export interface VerifiedEvent {
  seq: number;
  /** host:port of the front end */
  frontEnd: string;
  /** normalized (lower-case hex, no colons) */
  fingerprint: string;
}

/**
 * The world's clock: real time moved on by the run (minutes between steps, days now and then), so
 * within a step it runs at the real pace (a lease's settle time is measured on it) and renewal due-ness
 * comes from the run, not the calendar.
 */
export class WorldClock {
  private offsetMs = 0;

  now(): Date {
    return new Date(Date.now() + this.offsetMs);
  }

  advance(ms: number): void {
    this.offsetMs += ms;
  }
}

/**
 * The chaos deployment's settings, spread into every workflow's deps: its ownership marker (the marker
 * is the deployment's configuration, never the spec's) and a writer lease that settles quickly (one
 * holder per load balancer; the default 1 s settle would make every run slow). Workflows that do not
 * take them ignore them.
 */
export const CHAOS_DEPLOYMENT = {
  ownership: {
    tagKey: 'managed-by',
    tagValue: 'slb-autopilot/chaos',
    namePrefix: 'slbap-',
    deploymentId: 'chaos',
  },
  lease: { ttlMs: 120_000, waitMs: 10_000, settleMs: 250 },
} as const;

/** What the run keeps between steps: the world clock, the deployed spec, the audit's warm memory. */
export interface RunContext {
  world: World;
  clock: WorldClock;
  /** the spec the functions run with: the last one an apply was asked for (hostile ones aside) */
  spec: Spec;
  memory: AuditMemory;
  /** binds and verifications, in order, for the renewal invariant */
  events: { seq: number; binds: BindEvent[]; verified: VerifiedEvent[] };
}

const BIND_ACTIONS = new Set([
  'SetLoadBalancerHTTPSListenerAttribute',
  'CreateLoadBalancerHTTPSListener',
  'SetDomainExtensionAttribute',
  'CreateDomainExtension',
]);

/** Records every certificate bind an actor sends, before it goes out (its answer may be lost). */
function recordBinds(ctx: RunContext, actor: Actor, rpc: RpcCaller): RpcCaller {
  return {
    call(request) {
      const p = request.params;
      const certificate = p.ServerCertificateId;
      if (request.write && BIND_ACTIONS.has(request.action) && typeof certificate === 'string') {
        let reference: string | undefined;
        if (request.action === 'SetDomainExtensionAttribute') {
          const d = ctx.world.cloud
            .state()
            .domainExtensions.find((x) => x.domainExtensionId === p.DomainExtensionId);
          if (d) reference = `${d.loadBalancerId}:${d.listenerPort}/${d.domain}`;
        } else if (request.action === 'CreateDomainExtension')
          reference = `${p.LoadBalancerId}:${p.ListenerPort}/${p.Domain}`;
        else reference = `${p.LoadBalancerId}:${p.ListenerPort}`;
        if (reference)
          ctx.events.binds.push({
            seq: ++ctx.events.seq,
            actor,
            reference,
            serverCertificateId: certificate,
          });
      }
      return rpc.call(request);
    },
  };
}

/** The actor's client: binds recorded, then the kill switch (a dead process sends nothing). */
function clientOf(ctx: RunContext, actor: Actor, kill: KillSwitch) {
  return ctx.world.client(actor, (rpc) => kill.wrap(recordBinds(ctx, actor, rpc)));
}

/** A spec whose ownership marker names the hand-made team=web resources: what a hostile caller sends. */
export function hostileSpec(): Spec | undefined {
  try {
    return parseSpec(hostileSpecText(), { format: 'json', source: 'chaos:hostile' });
  } catch {
    // a spec that may not set the ownership marker is refused: the safe outcome
    return undefined;
  }
}

function failoverDeps(ctx: RunContext, actor: Actor, kill: KillSwitch): FailoverDeps {
  const { slb } = clientOf(ctx, actor, kill);
  return {
    ...CHAOS_DEPLOYMENT,
    slb,
    probeAll: kill.guard((targets) => probeAll(targets, 4)),
    resolveBackend: ctx.world.resolveBackend,
    now: () => ctx.clock.now(),
  };
}

async function failoverEvent(ctx: RunContext, event: unknown, kill: KillSwitch): Promise<string> {
  const commands = parseFailoverEvents(Buffer.from(JSON.stringify(event)));
  const out: string[] = [];
  const seen = new Set<string>();
  for (const c of commands) {
    if (seen.has(c.dedupeKey)) continue;
    seen.add(c.dedupeKey);
    try {
      const r = await runFailover(failoverDeps(ctx, 'failover', kill), ctx.spec, {
        loadBalancerId: c.loadBalancerId,
        ...(c.vServerGroupId ? { vServerGroupId: c.vServerGroupId } : {}),
        command: c.command,
        origin: c.origin,
      });
      out.push(`${r.groups.map((g) => g.decision.kind).join(',')}${r.failed ? ' FAILED' : ''}`);
    } catch (err) {
      if (!(err instanceof FailoverRequestError)) throw err;
      out.push(`refused: ${err.message}`);
    }
  }
  return out.join('; ');
}

let alarmSeq = 0;

/** Runs one actor step; returns a short outcome for the step list. Cloud errors are outcomes, not crashes. */
export async function runActor(ctx: RunContext, step: ActorStep): Promise<string> {
  const kill = killSwitch(step.faults.killAfterWrites);
  try {
    return await actorBody(ctx, step, kill);
  } catch (err) {
    const e = err as { name?: string; code?: string; message?: string };
    return `${e.name === 'ProcessKilled' ? 'killed' : 'threw'}: ${e.code ? `${e.code} ` : ''}${String(e.message ?? err).slice(0, 160)}`;
  }
}

/** What apply and renewal are given here: the actor's clients, the run's clock, no files to read. */
function writerDeps(ctx: RunContext, actor: Actor, kill: KillSwitch): CertificateWriterDeps {
  const { slb, cas } = clientOf(ctx, actor, kill);
  return {
    ...CHAOS_DEPLOYMENT,
    slb,
    cas,
    now: () => ctx.clock.now(),
    env: {},
    readFile: (path) => {
      throw new Error(`chaos specs read no files (${path})`);
    },
  };
}

async function actorBody(ctx: RunContext, step: ActorStep, kill: KillSwitch): Promise<string> {
  const { world } = ctx;
  switch (step.kind) {
    case 'apply': {
      const spec = step.variant === 'hostile' ? hostileSpec() : specOf(step.variant);
      if (!spec) return 'refused: the spec may not set ownership';
      if (step.variant !== 'hostile') ctx.spec = spec;
      const r = await applySpec(writerDeps(ctx, 'apply', kill), spec);
      return r.failed
        ? `failed at ${r.failed.action.kind}: ${(r.failed.error as { code?: string }).code ?? r.failed.error.message.slice(0, 120)} (${r.done.length}/${r.plan.actions.length} done)`
        : `${r.done.length} action(s)`;
    }
    case 'rotate': {
      const r = await runCertRenewal(
        {
          ...writerDeps(ctx, 'renewal', kill),
          listenerAddress: localCloudListenerAddress(world.cloud.url),
          verify: kill.guard(async (req) => {
            const check = await waitForServedCertificate(req);
            if (check.status === 'matched')
              ctx.events.verified.push({
                seq: ++ctx.events.seq,
                frontEnd: `${req.host}:${req.port}`,
                fingerprint: normalizeFingerprint(req.expectFingerprint),
              });
            return check;
          }),
        },
        ctx.spec,
        { verifyAttempts: 3, verifyDelayMs: 5 },
      );
      const actions = r.references.map((x) => x.action).join(',');
      return `${actions}${r.deleted.length ? ` deleted ${r.deleted.length}` : ''}${r.failed ? ' FAILED' : ''}`;
    }
    case 'audit': {
      // A cold instance starts with an empty memory (it costs reads, nothing else).
      if (step.coldStart) ctx.memory = emptyAuditMemory();
      const handOffs: HandOff[] = [];
      const { slb } = clientOf(ctx, 'audit', kill);
      let outcome: string;
      try {
        const r = await runHealthAudit(
          {
            ...CHAOS_DEPLOYMENT,
            slb,
            probeAll: kill.guard((targets) => probeAll(targets, 4)),
            resolveBackend: world.resolveBackend,
            now: () => ctx.clock.now(),
            handOff: async (h) => {
              if (kill.dead) throw new ProcessKilled('no hand-off');
              handOffs.push(h);
            },
          },
          ctx.spec,
          ctx.memory,
          { driftEveryMs: 15 * 60_000 },
        );
        outcome = `${r.handOffs.length} hand-off(s)${r.warnings.length ? `, ${r.warnings.length} warning(s)` : ''}`;
      } catch (err) {
        outcome = `${(err as Error).name === 'ProcessKilled' ? 'killed' : 'threw'}: ${(err as Error).message.slice(0, 120)}`;
      }
      // The hand-offs were queued as async invocations: failover runs them in its own process.
      const done: string[] = [];
      for (const h of handOffs)
        done.push(
          await failoverEvent(
            ctx,
            {
              source: HEALTH_AUDIT_SOURCE,
              loadBalancerId: h.loadBalancerId,
              vServerGroupId: h.vServerGroupId,
              reason: h.reason || h.expected,
              observedAt: ctx.clock.now().toISOString(),
              ...(h.expected === 'shiftToStandby' || h.expected === 'failBack'
                ? { expected: h.expected }
                : {}),
            },
            killSwitch(undefined),
          ).catch((err: unknown) => `hand-off threw: ${String(err).slice(0, 120)}`),
        );
      return done.length ? `${outcome}; ${done.join('; ')}` : outcome;
    }
    case 'failover':
      return failoverEvent(
        ctx,
        { command: step.command, loadBalancerId: MALL.loadBalancerId, requestId: `chaos-${++alarmSeq}` },
        kill,
      );
    case 'alarm':
      return failoverEvent(
        ctx,
        {
          id: `chaos-alarm-${++alarmSeq}`,
          source: 'acs.cloudmonitor',
          specversion: '1.0',
          type: 'cms:Alarm:UnhealthyServerCount',
          subject: `acs.cloudmonitor:${MALL.regionId}:1234567890123456:alarm/mall-unhealthy`,
          time: ctx.clock.now().toISOString(),
          datacontenttype: 'application/json',
          aliyunaccountid: '1234567890123456',
          aliyunregionid: MALL.regionId,
          data: {
            alertState: step.alertState,
            alertName: 'mall: unhealthy backends',
            metricProject: 'acs_slb_dashboard',
            metricName: 'UnhealthyServerCount',
            timestamp: String(Math.floor(ctx.clock.now().getTime() / 1000)),
            curValue: step.alertState === 'ALERT' ? '1' : '0',
            dimensions: JSON.stringify([
              { userId: '1234567890123456', instanceId: MALL.loadBalancerId, port: '443', vip: MALL.address },
            ]),
            expression: '[{"expression":"$Average>0","level":4,"times":2}]',
          },
        },
        kill,
      );
  }
}
