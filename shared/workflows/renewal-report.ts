import type { Notification } from '../cloud/notify';
import type { ServerCertificate } from '../cloud/slb/certificates';
import type { KeptCertificate, ReferenceAction } from '../domain/renewal-plan';
import { type ErrorReport, errorReport } from '../errors';
import type { CertificateFacts } from './certificate-source';
import type { CertificateReference } from './certificates-in-use';
import type { StepStatus } from './executor';

interface CertificateSummary {
  serverCertificateId?: string;
  commonName?: string;
  expires?: string;
  fingerprint?: string;
}

export interface ReferenceReport {
  reference: string;
  kind: CertificateReference['kind'];
  domains: string[];
  due: boolean;
  why: string;
  action: ReferenceAction;
  before: CertificateSummary;
  after?: CertificateSummary;
  verification?: Verification;
  /** what went wrong, as a sentence for people */
  error?: string;
  /** what failed first: phase, message, code, and its causes */
  failure?: ErrorReport;
  /** what failed while restoring the previous certificate */
  rollbackFailure?: ErrorReport;
}

export type Verification = { domain: string; result: string }[];

/** A switch an earlier run left in flight (its marker), and how this run settled it. */
export interface MarkerReport {
  loadBalancerId: string;
  /** the reference's id when it still exists, else `<lb>:<port or domain extension id>` */
  reference: string;
  from: string;
  to: string;
  at: string;
  outcome:
    | 'verified'
    | 'rolledBack'
    | 'previousVerified'
    | 'unsettled'
    | 'referenceGone'
    | 'changedElsewhere'
    | 'broken'
    | 'wouldSettle';
  settled: boolean;
  verification?: Verification;
  failure?: ErrorReport;
  rollbackFailure?: ErrorReport;
}

/** Something people should know; `error` when a write failed. */
export interface RenewalWarning {
  message: string;
  error?: ErrorReport;
}

/** One action of the run's plans, why, and what became of it (`planned` in a dry run). */
export interface ActionReport {
  id: string;
  kind: string;
  reason: string;
  status: StepStatus;
  error?: ErrorReport;
}

export interface RenewalReport {
  at: string;
  dryRun: boolean;
  regionId: string;
  references: ReferenceReport[];
  /** switches earlier runs left in flight, settled first */
  markers: MarkerReport[];
  /** every write the run planned, in order: settle markers, tag waits, upload and switch, delete */
  actions: ActionReport[];
  /** server certificate ids uploaded */
  uploaded: string[];
  /** server certificate ids deleted */
  deleted: string[];
  /** a dry run: the server certificate ids a run would delete now */
  wouldDelete: string[];
  /** old certificates kept, and why */
  kept: KeptCertificate[];
  warnings: RenewalWarning[];
  failed: boolean;
}

export const summary = (c: ServerCertificate | undefined, id: string): CertificateSummary => ({
  serverCertificateId: id,
  ...(c
    ? {
        commonName: c.commonName,
        expires: new Date(c.expireTimeStamp).toISOString(),
        fingerprint: c.fingerprint,
      }
    : {}),
});
export const factsSummary = (f: CertificateFacts, id?: string): CertificateSummary => ({
  ...(id ? { serverCertificateId: id } : {}),
  commonName: f.commonName,
  expires: f.notAfter.toISOString(),
  fingerprint: f.fingerprint,
});

export const emptyReport = (at: Date, dryRun: boolean, regionId: string): RenewalReport => ({
  at: at.toISOString(),
  dryRun,
  regionId,
  references: [],
  markers: [],
  actions: [],
  uploaded: [],
  deleted: [],
  wouldDelete: [],
  kept: [],
  warnings: [],
  failed: false,
});

export function fail(report: RenewalReport, r: ReferenceReport, error: string, cause?: unknown): void {
  report.failed = true;
  r.action = 'failed';
  r.error = error;
  if (cause !== undefined) r.failure = errorReport(cause);
}

/** Markdown for people. */
export function describeRenewal(r: RenewalReport): string {
  const lines = r.references
    .filter((x) => x.due || x.action !== 'notDue')
    .map(
      (x) =>
        `- ${x.reference}: ${x.action} (${x.why})${x.after ? `: ${x.before.commonName ?? '?'} ${x.before.expires?.slice(0, 10) ?? '?'} -> ${x.after.commonName} ${x.after.expires?.slice(0, 10) ?? '(to be issued)'}` : ''}${x.error ? `; ${x.error}` : ''}`,
    );
  for (const m of r.markers)
    lines.unshift(
      `- ${m.reference}: a switch left in flight (${m.from} -> ${m.to}, ${m.at}): ${m.outcome}${m.settled ? '' : ', not settled'}`,
    );
  if (lines.length === 0) lines.push(`- nothing due (${r.references.length} reference(s) checked)`);
  if (r.deleted.length) lines.push(`- deleted: ${r.deleted.join(', ')}`);
  if (r.wouldDelete.length) lines.push(`- would delete: ${r.wouldDelete.join(', ')}`);
  for (const w of r.warnings) lines.push(`- warning: ${w.message}`);
  return lines.join('\n');
}

/**
 * Whether a run is announced, and how: every failure (a dry run's too), and a run that changed something
 * when the spec's `notify.onSuccess` asks for it.
 */
export function renewalNotification(r: RenewalReport, onSuccess: boolean): Notification | undefined {
  const changed = r.references.some((x) => x.action !== 'notDue') || r.deleted.length > 0;
  if (!r.failed && !(onSuccess && changed && !r.dryRun)) return undefined;
  const rotated = r.references.filter((x) => x.action === 'rotated').length;
  return {
    title: `cert-renewal: ${r.failed ? 'FAILED' : `${rotated} rotated`}${r.dryRun ? ' (dry run)' : ''}`,
    text: describeRenewal(r),
    severity: r.failed ? 'error' : 'info',
    data: r,
  };
}
