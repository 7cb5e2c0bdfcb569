// FC 3.0 handler for `cert-renewal`: the daily timer, or a direct invocation `{"dryRun": true}` (the
// provisioning API's POST /rotate, `npm run invoke`). Notifies on any failure, and with a summary on
// success when the spec's notify.onSuccess says so. Reserved concurrency 1 (s.yaml) serialises runs.

import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { waitForServedCertificate } from '../../shared/cloud/tls-probe';
import type { FcContext } from '../../shared/runtime/fc-events';
import { functionEnv } from '../../shared/runtime/function-env';
import { EventError, parseInvocation } from '../../shared/runtime/invocation';
import { describeRenewal, type RenewalReport, runCertRenewal } from '../../shared/workflows/cert-renewal';

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
  for (const p of fx.notifyProblems) context.logger.warn(`cert-renewal: ${p}`);
  const report = await runCertRenewal(
    {
      slb: fx.cloud.slb,
      cas: fx.cloud.cas,
      now: () => new Date(),
      env: fx.env,
      readFile: (p) => readFileSync(p, 'utf8'),
      listenerAddress: fx.listenerAddress,
      verify: (req) => waitForServedCertificate(req),
    },
    fx.spec,
    {
      dryRun,
      ...(fx.env.SLB_AUTOPILOT_VERIFY_ATTEMPTS
        ? { verifyAttempts: Number(fx.env.SLB_AUTOPILOT_VERIFY_ATTEMPTS) }
        : {}),
      ...(fx.env.SLB_AUTOPILOT_VERIFY_DELAY_MS
        ? { verifyDelayMs: Number(fx.env.SLB_AUTOPILOT_VERIFY_DELAY_MS) }
        : {}),
    },
  );
  context.logger.info(JSON.stringify({ certRenewal: report }));
  const changed = report.references.some((r) => r.action !== 'notDue') || report.deleted.length > 0;
  if (report.failed || (fx.spec.notify.onSuccess && changed && !dryRun)) {
    const rotated = report.references.filter((r) => r.action === 'rotated').length;
    const outcomes = await fx.notifier.send({
      title: `cert-renewal: ${report.failed ? 'FAILED' : `${rotated} rotated`}${dryRun ? ' (dry run)' : ''}`,
      text: describeRenewal(report),
      severity: report.failed ? 'error' : 'info',
      data: report,
    });
    for (const o of outcomes) if (!o.ok) context.logger.warn(`cert-renewal: notify ${o.channel}: ${o.error}`);
  }
  return { ok: !report.failed, report };
}
