// FC 3.0 handler for `cert-renewal`: the daily timer, or a direct invocation `{"dryRun": true}` (the
// provisioning API's POST /rotate, `npm run invoke`). Notifies on any failure, and with a summary on
// success when the spec's notify.onSuccess says so. Reserved concurrency 1 (s.yaml) serialises runs.

import * as z from 'zod';
import { acmeIssuer } from '../../shared/runtime/acme-issuer';
import type { FcContext } from '../../shared/runtime/fc-events';
import { renewalRun } from '../../shared/runtime/function-env';
import { FunctionRun, parseOrRefuse } from '../../shared/runtime/handler';
import { parseInvocation } from '../../shared/runtime/invocation';
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
  const parsed = parseOrRefuse(() => parseInvocation(event, commandSchema).command);
  if ('refusal' in parsed) return parsed.refusal;
  const run = new FunctionRun('cert-renewal', context);
  const [deps, options] = renewalRun(run.fx, parsed.value.dryRun, acmeIssuer(run.fx));
  const report = await runCertRenewal(deps, run.fx.spec, options);
  run.log('info', 'report', { certRenewal: report });
  await run.notify(renewalNotification(report, run.fx.spec.notify.onSuccess));
  return { ok: !report.failed, report };
}
