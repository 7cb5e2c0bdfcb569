// FC 3.0 handler for `health-audit` (one-minute timer, or a direct invocation `{"driftCheck": true}` to
// force the slower drift reads now). Hands failover work to the `failover` function asynchronously
// through @alicloud/fc2 (SLB_AUTOPILOT_FAILOVER_FUNCTION, default slb-autopilot-failover; the local
// runtime's invoke API when SLB_AUTOPILOT_FC_ENDPOINT is set). Notifies when the summary changes, not
// every minute. The memory between runs lives in the instance: losing it costs reads, nothing else.
// With `failover.watch` set, a timer run then keeps reading the watched load balancers' health until
// 45 s after it started (timeout 50 s; reserved concurrency 1, so runs never overlap and double reads).

import * as z from 'zod';
import { staticCredentials } from '../../shared/cloud/credentials';
import { createFc2Invoker, type FcInvoker } from '../../shared/cloud/fc-invoker';
import { probeAll } from '../../shared/cloud/probe';
import { WATCH_UNTIL_MS } from '../../shared/domain/failover';
import type { Config } from '../../shared/runtime/config';
import { HEALTH_AUDIT_SOURCE } from '../../shared/runtime/failover-events';
import type { FcContext } from '../../shared/runtime/fc-events';
import { functionEnv } from '../../shared/runtime/function-env';
import { EventError, parseInvocation } from '../../shared/runtime/invocation';
import { logJson } from '../../shared/runtime/log';
import {
  type AuditDeps,
  type AuditMemory,
  type AuditReport,
  emptyAuditMemory,
  runHealthAudit,
  type WatchReport,
  watchHealth,
} from '../../shared/workflows/health-audit';

const commandSchema = z.strictObject({
  source: z.string().optional(),
  /** run the drift reads now, whatever the cadence */
  driftCheck: z.boolean().default(false),
});

let memory: AuditMemory = emptyAuditMemory();
/**
 * No health read starts after this much of a run (the timeout is 50 s): a fleet larger than one minute's
 * read quota is swept over several runs, each resuming where the last stopped (memory.cursor).
 */
const AUDIT_BUDGET_MS = 40_000;
/** In-instance guard: one watch at a time (reserved concurrency 1 in s.yaml keeps instances to one). */
let watching = false;

/** For tests: forget what earlier runs in this process learnt. */
export function resetAuditMemory(): void {
  memory = emptyAuditMemory();
}

function invokerFor(context: FcContext, config: Config): FcInvoker {
  if (!context.credentials)
    throw new Error(
      'health-audit: context.credentials are needed to invoke failover (does the function have a role?)',
    );
  return createFc2Invoker({
    accountId: context.accountId,
    region: context.region,
    credentials: staticCredentials(context.credentials),
    ...(config.SLB_AUTOPILOT_FC_ENDPOINT
      ? { endpoint: config.SLB_AUTOPILOT_FC_ENDPOINT }
      : { internal: true }),
  });
}

export interface HealthAuditResult {
  ok: boolean;
  error?: string;
  report?: AuditReport;
  /** the fast watch that followed the audit (timer runs with `failover.watch` set) */
  watch?: WatchReport;
}

export interface RunAuditOptions {
  /** between watch ticks (real time by default) */
  sleep?: (ms: number) => Promise<void>;
  now?: () => Date;
}

export async function runAudit(
  event: Buffer,
  context: FcContext,
  invoker: (context: FcContext, config: Config) => FcInvoker = invokerFor,
  options: RunAuditOptions = {},
): Promise<HealthAuditResult> {
  const now = options.now ?? (() => new Date());
  const startedAt = now().getTime();
  let driftCheck: boolean;
  let origin: 'timer' | 'direct';
  try {
    const invocation = parseInvocation(event, commandSchema);
    driftCheck = invocation.command.driftCheck;
    origin = invocation.origin;
  } catch (err) {
    if (err instanceof EventError) return { ok: false, error: err.message };
    throw err;
  }
  const fx = functionEnv(context);
  for (const p of fx.notifyProblems)
    logJson(context.logger, 'warn', 'health-audit: notify setting', { problem: p });
  const failoverFunction = fx.config.SLB_AUTOPILOT_FAILOVER_FUNCTION;
  if (driftCheck) memory.lastDriftAt = undefined;
  const deps: AuditDeps = {
    slb: fx.cloud.slb,
    probeAll: (targets) => probeAll(targets, 8),
    resolveBackend: fx.backendAddress,
    now,
    ownership: fx.ownership,
    handOff: async (h) => {
      const payload = {
        source: HEALTH_AUDIT_SOURCE,
        loadBalancerId: h.loadBalancerId,
        vServerGroupId: h.vServerGroupId,
        reason: h.reason || h.expected,
        observedAt: new Date().toISOString(),
        ...(h.expected === 'shiftToStandby' || h.expected === 'failBack' ? { expected: h.expected } : {}),
      };
      const r = await invoker(context, fx.config).invoke(failoverFunction, payload, { async: true });
      logJson(context.logger, 'info', 'health-audit: handed off', {
        vServerGroupId: h.vServerGroupId,
        to: failoverFunction,
        expected: h.expected,
        invocationRequestId: r.requestId ?? null,
      });
    },
  };
  const report = await runHealthAudit(deps, fx.spec, memory, {
    driftEveryMs: fx.config.SLB_AUTOPILOT_DRIFT_EVERY_MS,
    budgetMs: AUDIT_BUDGET_MS,
  });
  logJson(context.logger, 'info', 'health-audit: report', { healthAudit: report });
  for (const w of report.warnings) logJson(context.logger, 'warn', 'health-audit: warning', { warning: w });
  if (report.summary !== memory.lastNotified) {
    const previous = memory.lastNotified;
    memory.lastNotified = report.summary;
    if (previous !== undefined || report.handOffs.length > 0 || /down:/.test(report.summary)) {
      const outcomes = await fx.notifier.send({
        title: `health-audit: ${report.summary.split(' | ')[0] ?? 'changed'}`,
        text: report.summary
          .split(' | ')
          .map((l) => `- ${l}`)
          .join('\n'),
        severity: /down:/.test(report.summary) ? 'warning' : 'info',
        data: report,
      });
      for (const o of outcomes)
        if (!o.ok)
          logJson(context.logger, 'warn', 'health-audit: notify failed', {
            channel: o.channel,
            error: o.error,
          });
    }
  }
  // Fast watch: the timer's run keeps reading the watched load balancers' health for the rest of its
  // minute. Only timer runs watch (a manual run answers at once), and only one at a time per instance.
  const everyS = fx.spec.failover.watch;
  let watch: WatchReport | undefined;
  if (everyS !== undefined && origin === 'timer' && !watching) {
    watching = true;
    try {
      watch = await watchHealth(deps, fx.spec, memory, {
        untilMs: startedAt + WATCH_UNTIL_MS,
        everyMs: everyS * 1000,
        sleep: options.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms))),
      });
    } finally {
      watching = false;
    }
    logJson(context.logger, 'info', 'health-audit: watch', { healthWatch: watch });
  }
  return { ok: true, report, ...(watch ? { watch } : {}) };
}

export const handler = (event: Buffer, context: FcContext): Promise<HealthAuditResult> =>
  runAudit(event, context);
