// FC 3.0 handler for `health-audit` (one-minute timer, or a direct invocation `{"driftCheck": true}` to
// force the slower drift reads now). Hands failover work to the `failover` function asynchronously
// through @alicloud/fc2 (SLB_AUTOPILOT_FAILOVER_FUNCTION, default slb-autopilot-failover; the local
// runtime's invoke API when SLB_AUTOPILOT_FC_ENDPOINT is set). What to notify, and when to watch, the
// workflow decides. The memory between runs lives in the instance: losing it costs reads, nothing else.
// With `failover.watch` set, a timer run then keeps reading the watched load balancers' health until
// 45 s after it started (timeout 50 s; reserved concurrency 1, so runs never overlap and double reads).

import * as z from 'zod';
import { staticCredentials } from '../../shared/cloud/credentials';
import { createFc2Invoker, type FcInvoker } from '../../shared/cloud/fc-invoker';
import { probeAll } from '../../shared/cloud/probe';
import type { Config } from '../../shared/runtime/config';
import { healthAuditHandOff } from '../../shared/runtime/failover-events';
import type { FcContext } from '../../shared/runtime/fc-events';
import { FunctionRun, parseOrRefuse } from '../../shared/runtime/handler';
import { parseInvocation } from '../../shared/runtime/invocation';
import {
  type AuditDeps,
  AuditInstance,
  type AuditReport,
  type WatchReport,
} from '../../shared/workflows/health-audit';

const commandSchema = z.strictObject({
  source: z.string().optional(),
  /** run the drift reads now, whatever the cadence */
  driftCheck: z.boolean().default(false),
});

let instance = new AuditInstance();
/**
 * No health read starts after this much of a run (the timeout is 50 s): a fleet larger than one minute's
 * read quota is swept over several runs, each resuming where the last stopped (memory.cursor).
 */
const AUDIT_BUDGET_MS = 40_000;

/** For tests: forget what earlier runs in this process learnt. */
export function resetAuditMemory(): void {
  instance = new AuditInstance();
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

/** The audit's dependencies; a hand-off is an async invocation of the failover function. */
function auditDeps(run: FunctionRun, now: () => Date, invoker: () => FcInvoker): AuditDeps {
  const to = run.fx.config.SLB_AUTOPILOT_FAILOVER_FUNCTION;
  return {
    slb: run.fx.cloud.slb,
    probeAll: (targets) => probeAll(targets, 8),
    resolveBackend: run.fx.backendAddress,
    now,
    ownership: run.fx.ownership,
    handOff: async (h) => {
      const r = await invoker().invoke(to, healthAuditHandOff(h, new Date()), { async: true });
      const invocationRequestId = r.requestId ?? null;
      run.log('info', 'handed off', {
        vServerGroupId: h.vServerGroupId,
        to,
        expected: h.expected,
        invocationRequestId,
      });
    },
  };
}

export async function runAudit(
  event: Buffer,
  context: FcContext,
  invoker: (context: FcContext, config: Config) => FcInvoker = invokerFor,
  options: RunAuditOptions = {},
): Promise<HealthAuditResult> {
  const now = options.now ?? (() => new Date());
  const startedAt = now().getTime();
  const parsed = parseOrRefuse(() => parseInvocation(event, commandSchema));
  if ('refusal' in parsed) return parsed.refusal;
  const { command, origin } = parsed.value;
  const run = new FunctionRun('health-audit', context);
  const { spec, config } = run.fx;
  const deps = auditDeps(run, now, () => invoker(context, config));
  const report = await instance.audit(deps, spec, {
    driftCheck: command.driftCheck,
    driftEveryMs: config.SLB_AUTOPILOT_DRIFT_EVERY_MS,
    budgetMs: AUDIT_BUDGET_MS,
  });
  run.log('info', 'report', { healthAudit: report });
  for (const warning of report.warnings) run.log('warn', 'warning', { warning });
  await run.notify(instance.notification(report));
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const watch = await instance.watch(deps, spec, { origin, startedAt, sleep });
  if (watch) run.log('info', 'watch', { healthWatch: watch });
  return { ok: true, report, ...(watch ? { watch } : {}) };
}

export const handler = (event: Buffer, context: FcContext): Promise<HealthAuditResult> =>
  runAudit(event, context);
