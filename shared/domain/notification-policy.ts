// When the health audit and failover notify people, and how loudly: decided from what their reports
// found (structure, never the text of a summary). Pure: the workflows build the findings and send.

/** info: for the record; warning: something is down or moved; error: a run failed. */
export type NoticeSeverity = 'info' | 'warning' | 'error';

export interface Notice {
  title: string;
  /** Markdown for people */
  text: string;
  severity: NoticeSeverity;
}

/** What one audit found, per load balancer and overall. */
export interface AuditFindings {
  loadBalancers: readonly {
    name: string;
    /** `serverId:port` of each backend SLB reports abnormal or a probe finds down */
    down: readonly string[];
    /** listener problems against the spec */
    problems: readonly string[];
  }[];
  /** apply actions the spec is away from */
  drift: number;
  /** certificate references inside the renewal window */
  expiring: number;
  /** groups handed to failover this run */
  handOffs: number;
}

/** The audit's summary, one part per load balancer and one per overall finding. */
export function auditSummaryParts(f: AuditFindings): string[] {
  const parts = f.loadBalancers.map(
    (lb) =>
      `${lb.name}: ${lb.down.length ? `down: ${lb.down.join(', ')}` : 'all backends healthy'}${lb.problems.length ? `; ${lb.problems.join('; ')}` : ''}`,
  );
  if (f.drift) parts.push(`drift: ${f.drift} change(s) to converge`);
  if (f.expiring) parts.push(`${f.expiring} certificate(s) expiring`);
  return parts;
}

export const auditSummary = (f: AuditFindings): string => auditSummaryParts(f).join(' | ');

/**
 * The audit notifies changes only: nothing while its summary stays what was last seen. The first run of
 * an instance (nothing seen yet) stays quiet when all is well, and speaks when a backend is down or a
 * group was handed off. A warning while any backend is down, else info.
 * `seen`: the summary to remember from now on (whether or not this run notifies).
 */
export function auditNotice(
  f: AuditFindings,
  lastSeen: string | undefined,
): { notice?: Notice; seen: string } {
  const parts = auditSummaryParts(f);
  const seen = parts.join(' | ');
  const down = f.loadBalancers.some((lb) => lb.down.length > 0);
  if (seen === lastSeen || (lastSeen === undefined && f.handOffs === 0 && !down)) return { seen };
  return {
    seen,
    notice: {
      title: `health-audit: ${parts[0] ?? 'changed'}`,
      text: parts.map((l) => `- ${l}`).join('\n'),
      severity: down ? 'warning' : 'info',
    },
  };
}

/** Failover notifies when it changed weights (warning) or failed (error); a run that held says nothing. */
export function failoverNotice(r: {
  loadBalancerName: string;
  changed: boolean;
  failed: boolean;
}): Omit<Notice, 'text'> | undefined {
  if (!r.changed && !r.failed) return undefined;
  return {
    title: `failover: ${r.loadBalancerName} ${r.failed ? 'FAILED' : 'weights changed'}`,
    severity: r.failed ? 'error' : 'warning',
  };
}
