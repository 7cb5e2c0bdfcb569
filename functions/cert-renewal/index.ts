// FC 3.0 handler for `cert-renewal`: the daily timer, or a direct invocation `{"dryRun": true}` (the
// provisioning API's POST /rotate, `npm run invoke`). Notifies on any failure, and with a summary on
// success when the spec's notify.onSuccess says so. Reserved concurrency 1 (s.yaml) serialises runs.

import * as z from 'zod';
import { acmeIssuer } from '../../shared/runtime/acme-issuer';
import type { FcContext } from '../../shared/runtime/fc-events';
import { functionEnv, renewalRun } from '../../shared/runtime/function-env';
import { EventError, parseInvocation } from '../../shared/runtime/invocation';
import { logJson } from '../../shared/runtime/log';
import { type RenewalReport, renewalNotification, runCertRenewal } from '../../shared/workflows/cert-renewal';

const commandSchema = z.strictObject({
  source: z.string().optional(),
  dryRun: z.boolean().default(false),
});

export interface CertRenewalResult {
  ok: boolean;
  error?: string;
  report?: RenewalReport;
}

export async function handler(event: Buffer, context: FcContext): Promise<CertRenewalResult> {
  let dryRun: boolean;
  try {
    dryRun = parseInvocation(event, commandSchema).command.dryRun;
  } catch (err) {
    if (err instanceof EventError) return { ok: false, error: err.message };
    throw err;
  }
  const fx = functionEnv(context);
  for (const p of fx.notifyProblems)
    logJson(context.logger, 'warn', 'cert-renewal: notify setting', { problem: p });
  const [deps, options] = renewalRun(fx, dryRun, acmeIssuer(fx));
  const report = await runCertRenewal(deps, fx.spec, options);
  logJson(context.logger, 'info', 'cert-renewal: report', { certRenewal: report });
  const note = renewalNotification(report, fx.spec.notify.onSuccess);
  if (note)
    for (const o of await fx.notifier.send(note))
      if (!o.ok)
        logJson(context.logger, 'warn', 'cert-renewal: notify failed', {
          channel: o.channel,
          error: o.error,
        });
  return { ok: !report.failed, report };
}
