// FC 3.0 handler for `failover`: a CloudMonitor alarm (EventBridge, the HTTP callback shape, or an alert
// rule target), the health audit's async hand-off, or a manual command -> weight failover for the
// load balancer's groups, guarded by the planner. A malformed event is answered with an error naming the
// field and changes nothing. Reserved concurrency 1 (s.yaml) serialises runs.

import { errorReport } from '../../shared/errors';
import {
  type FailoverEventCommand,
  FailoverEventError,
  parseFailoverBatch,
} from '../../shared/runtime/failover-events';
import type { FcContext } from '../../shared/runtime/fc-events';
import { failoverDeps } from '../../shared/runtime/function-env';
import { FunctionRun, parseOrRefuse } from '../../shared/runtime/handler';
import { logJson } from '../../shared/runtime/log';
import {
  type FailoverReport,
  FailoverRequestError,
  failoverNotification,
  runFailover,
} from '../../shared/workflows/failover';

export interface FailoverResult {
  ok: boolean;
  /** set when the event was refused; nothing was changed */
  error?: string;
  reports: FailoverReport[];
}

/** One command: the workflow's report, or why the request was refused (nothing changed). */
async function failoverOne(
  run: FunctionRun,
  c: FailoverEventCommand,
): Promise<{ report: FailoverReport } | { refused: string }> {
  if (c.cloudEvent) run.log('info', 'event', { type: c.cloudEvent.type, source: c.cloudEvent.source });
  try {
    const report = await runFailover(failoverDeps(run.fx), run.fx.spec, {
      loadBalancerId: c.loadBalancerId,
      ...(c.vServerGroupId ? { vServerGroupId: c.vServerGroupId } : {}),
      command: c.command,
      origin: c.origin,
    });
    run.log('info', 'report', { failover: report });
    await run.notify(failoverNotification(report));
    return { report };
  } catch (err) {
    if (!(err instanceof FailoverRequestError)) throw err;
    run.log('error', 'request refused', { error: errorReport(err) });
    return { refused: err.message };
  }
}

export async function handler(event: Buffer, context: FcContext): Promise<FailoverResult> {
  // The same alarm delivered twice in one batch is handled once (deduplicated there); across
  // invocations the absolute targets make a repeat harmless. Beyond 50 distinct events, refused.
  const parsed = parseOrRefuse(() => parseFailoverBatch(event), FailoverEventError);
  if ('refusal' in parsed) {
    logJson(context.logger, 'error', 'failover: refused event', { error: parsed.refusal.error });
    return { ...parsed.refusal, reports: [] };
  }
  const { commands, refusal } = parsed.value;
  if (refusal) logJson(context.logger, 'error', 'failover: events refused', { error: refusal });
  const run = new FunctionRun('failover', context);
  const reports: FailoverReport[] = [];
  const errors = refusal ? [refusal] : [];
  for (const c of commands) {
    const r = await failoverOne(run, c);
    if ('report' in r) reports.push(r.report);
    else errors.push(r.refused);
  }
  const error = errors.join('; ');
  return { ok: !error && reports.every((r) => !r.failed), ...(error ? { error } : {}), reports };
}
