// FC 3.0 handler for `health-audit` (one-minute timer, or a direct invocation `{"driftCheck": true}` to
// force the slower drift reads now). Hands failover work to the `failover` function asynchronously
// through @alicloud/fc2 (SLB_AUTOPILOT_FAILOVER_FUNCTION, default slb-autopilot-failover; the local
// runtime's invoke API when SLB_AUTOPILOT_FC_ENDPOINT is set). Notifies when the summary changes, not
// every minute. The memory between runs lives in the instance: losing it costs reads, nothing else.

import * as z from 'zod';
import { staticCredentials } from '../../shared/cloud/credentials';
import { createFc2Invoker, type FcInvoker } from '../../shared/cloud/fc-invoker';
import { probeAll } from '../../shared/cloud/probe';
import { HEALTH_AUDIT_SOURCE } from '../../shared/runtime/failover-events';
import type { FcContext } from '../../shared/runtime/fc-events';
import { functionEnv } from '../../shared/runtime/function-env';
import { EventError, parseInvocation } from '../../shared/runtime/invocation';
import {
  type AuditMemory,
  type AuditReport,
  DEFAULT_DRIFT_EVERY_MS,
  emptyAuditMemory,
  runHealthAudit,
} from '../../shared/workflows/health-audit';

const commandSchema = z.strictObject({
  source: z.string().optional(),
  /** run the drift reads now, whatever the cadence */
  driftCheck: z.boolean().default(false),
});

let memory: AuditMemory = emptyAuditMemory();

/** For tests: forget what earlier runs in this process learnt. */
export function resetAuditMemory(): void {
  memory = emptyAuditMemory();
}

function invokerFor(context: FcContext, env: Record<string, string | undefined>): FcInvoker {
  if (!context.credentials)
    throw new Error(
      'health-audit: context.credentials are needed to invoke failover (does the function have a role?)',
    );
  return createFc2Invoker({
    accountId: context.accountId,
    region: context.region,
    credentials: staticCredentials(context.credentials),
    ...(env.SLB_AUTOPILOT_FC_ENDPOINT ? { endpoint: env.SLB_AUTOPILOT_FC_ENDPOINT } : { internal: true }),
  });
}

export interface HealthAuditResult {
  ok: boolean;
  error?: string;
  report?: AuditReport;
}

export async function runAudit(
  event: Buffer,
  context: FcContext,
  invoker: (context: FcContext, env: Record<string, string | undefined>) => FcInvoker = invokerFor,
): Promise<HealthAuditResult> {
  let driftCheck: boolean;
  try {
    driftCheck = parseInvocation(event, commandSchema).command.driftCheck;
  } catch (err) {
    if (err instanceof EventError) return { ok: false, error: err.message };
    throw err;
  }
  const fx = functionEnv(context);
  for (const p of fx.notifyProblems) context.logger.warn(`health-audit: ${p}`);
  const failoverFunction = fx.env.SLB_AUTOPILOT_FAILOVER_FUNCTION || 'slb-autopilot-failover';
  if (driftCheck) memory.lastDriftAt = undefined;
  const report = await runHealthAudit(
    {
      slb: fx.cloud.slb,
      probeAll: (targets) => probeAll(targets, 8),
      resolveBackend: fx.backendAddress,
      now: () => new Date(),
      handOff: async (h) => {
        const payload = {
          source: HEALTH_AUDIT_SOURCE,
          loadBalancerId: h.loadBalancerId,
          vServerGroupId: h.vServerGroupId,
          reason: h.reason || h.expected,
          observedAt: new Date().toISOString(),
          ...(h.expected === 'shiftToStandby' || h.expected === 'failBack' ? { expected: h.expected } : {}),
        };
        const r = await invoker(context, fx.env).invoke(failoverFunction, payload, { async: true });
        context.logger.info(
          `health-audit: handed ${h.vServerGroupId} to ${failoverFunction} (${h.expected}, ${r.requestId ?? 'no request id'})`,
        );
      },
    },
    fx.spec,
    memory,
    { driftEveryMs: Number(fx.env.SLB_AUTOPILOT_DRIFT_EVERY_MS) || DEFAULT_DRIFT_EVERY_MS },
  );
  context.logger.info(JSON.stringify({ healthAudit: report }));
  for (const w of report.warnings) context.logger.warn(`health-audit: ${w}`);
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
        if (!o.ok) context.logger.warn(`health-audit: notify ${o.channel}: ${o.error}`);
    }
  }
  return { ok: true, report };
}

export const handler = (event: Buffer, context: FcContext): Promise<HealthAuditResult> =>
  runAudit(event, context);
