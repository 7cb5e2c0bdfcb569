// FC 3.0 handler for `failover`: a CloudMonitor alarm (EventBridge, the HTTP callback shape, or an alert
// rule target), the health audit's async hand-off, or a manual command -> weight failover for the
// load balancer's groups, guarded by the planner. A malformed event is answered with an error naming the
// field and changes nothing. Reserved concurrency 1 (s.yaml) serialises runs.

import {
  type FailoverEventCommand,
  FailoverEventError,
  parseFailoverEvents,
} from '../../shared/runtime/failover-events';
import type { FcContext } from '../../shared/runtime/fc-events';
import { failoverDeps, functionEnv } from '../../shared/runtime/function-env';
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
  try {
    commands = parseFailoverEvents(event);
  } catch (err) {
    if (err instanceof FailoverEventError) {
      context.logger.error(`failover: refused event: ${err.message}`);
      return { ok: false, error: err.message, reports: [] };
    }
    throw err;
  }
  const fx = functionEnv(context);
  for (const p of fx.notifyProblems) context.logger.warn(`failover: ${p}`);
  // The same alarm delivered twice in one batch is handled once; across invocations the absolute
  // targets make a repeat harmless.
  const seen = new Set<string>();
  const reports: FailoverReport[] = [];
  let error: string | undefined;
  for (const c of commands) {
    if (seen.has(c.dedupeKey)) continue;
    seen.add(c.dedupeKey);
    if (c.cloudEvent) context.logger.info(`failover: event ${c.cloudEvent.type} from ${c.cloudEvent.source}`);
    try {
      const report = await runFailover(failoverDeps(fx), fx.spec, {
        loadBalancerId: c.loadBalancerId,
        ...(c.vServerGroupId ? { vServerGroupId: c.vServerGroupId } : {}),
        command: c.command,
        origin: c.origin,
      });
      reports.push(report);
      context.logger.info(JSON.stringify({ failover: report }));
      if (report.changed || report.failed) {
        const outcomes = await fx.notifier.send({
          title: `failover: ${report.loadBalancerName} ${report.failed ? 'FAILED' : 'weights changed'}`,
          text: describeFailover(report),
          severity: report.failed ? 'error' : 'warning',
          data: report,
        });
        for (const o of outcomes) if (!o.ok) context.logger.warn(`failover: notify ${o.channel}: ${o.error}`);
      }
    } catch (err) {
      if (!(err instanceof FailoverRequestError)) throw err;
      error = err.message;
      context.logger.error(`failover: ${err.message}`);
    }
  }
  return { ok: !error && reports.every((r) => !r.failed), ...(error ? { error } : {}), reports };
}
