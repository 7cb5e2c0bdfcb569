// FC 3.0 handler for `failover`: a CloudMonitor alarm (EventBridge, the HTTP callback shape, or an alert
// rule target), the health audit's async hand-off, or a manual command -> weight failover for the
// load balancer's groups, guarded by the planner. A malformed event is answered with an error naming the
// field and changes nothing. Reserved concurrency 1 (s.yaml) serialises runs.

import {
  type FailoverEventCommand,
  FailoverEventError,
  parseFailoverBatch,
} from '../../shared/runtime/failover-events';
import type { FcContext } from '../../shared/runtime/fc-events';
import { failoverDeps, functionEnv } from '../../shared/runtime/function-env';
import { logJson } from '../../shared/runtime/log';
import {
  describeFailover,
  type FailoverReport,
  FailoverRequestError,
  runFailover,
} from '../../shared/workflows/failover';

export interface FailoverResult {
  ok: boolean;
  /** set when the event was refused; nothing was changed */
  error?: string;
  reports: FailoverReport[];
}

export async function handler(event: Buffer, context: FcContext): Promise<FailoverResult> {
  let commands: FailoverEventCommand[];
  let refusal: string | undefined;
  try {
    // The same alarm delivered twice in one batch is handled once (deduplicated there); across
    // invocations the absolute targets make a repeat harmless. Beyond 50 distinct events, refused.
    ({ commands, refusal } = parseFailoverBatch(event));
  } catch (err) {
    if (err instanceof FailoverEventError) {
      logJson(context.logger, 'error', 'failover: refused event', { error: err.message });
      return { ok: false, error: err.message, reports: [] };
    }
    throw err;
  }
  if (refusal) logJson(context.logger, 'error', 'failover: events refused', { error: refusal });
  const fx = functionEnv(context);
  for (const p of fx.notifyProblems)
    logJson(context.logger, 'warn', 'failover: notify setting', { problem: p });
  const reports: FailoverReport[] = [];
  let error: string | undefined = refusal;
  for (const c of commands) {
    if (c.cloudEvent)
      logJson(context.logger, 'info', 'failover: event', {
        type: c.cloudEvent.type,
        source: c.cloudEvent.source,
      });
    try {
      const report = await runFailover(failoverDeps(fx), fx.spec, {
        loadBalancerId: c.loadBalancerId,
        ...(c.vServerGroupId ? { vServerGroupId: c.vServerGroupId } : {}),
        command: c.command,
        origin: c.origin,
      });
      reports.push(report);
      logJson(context.logger, 'info', 'failover: report', { failover: report });
      if (report.changed || report.failed) {
        const outcomes = await fx.notifier.send({
          title: `failover: ${report.loadBalancerName} ${report.failed ? 'FAILED' : 'weights changed'}`,
          text: describeFailover(report),
          severity: report.failed ? 'error' : 'warning',
          data: report,
        });
        for (const o of outcomes)
          if (!o.ok)
            logJson(context.logger, 'warn', 'failover: notify failed', {
              channel: o.channel,
              error: o.error,
            });
      }
    } catch (err) {
      if (!(err instanceof FailoverRequestError)) throw err;
      error = error ? `${error}; ${err.message}` : err.message;
      logJson(context.logger, 'error', 'failover: request refused', { error: err.message });
    }
  }
  return { ok: !error && reports.every((r) => !r.failed), ...(error ? { error } : {}), reports };
}
