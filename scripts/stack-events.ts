// What happened on the local stack, said once and readably: rotations, rollbacks, failovers, failbacks
// and pending failbacks, with their reasons. Read from the functions' own log lines (their reports are
// one JSON object per line: {"certRenewal": ...}, {"failover": ...}) and from changes between two status
// reports (a failback becoming due). `npm start` prints each event as one line; the status page lists
// the last ones.

import type { RenewalReport } from '../shared/workflows/cert-renewal';
import type { FailoverReport } from '../shared/workflows/failover';
import type { StatusReport } from '../shared/workflows/status';

export const EVENT_KINDS = [
  'rotation',
  'rollback',
  'renewal-failed',
  'failover',
  'failback',
  'failback-pending',
  'failover-failed',
  'error',
] as const;
export type EventKind = (typeof EVENT_KINDS)[number];

export interface StackEvent {
  /** ISO 8601 */
  at: string;
  kind: EventKind;
  /** what it happened to: `mall/mall-backends`, `mall:443` */
  subject: string;
  /** what happened, one sentence */
  text: string;
  /** why, when the function said */
  reason?: string;
}

/** One console line: `12:00:01 failover  mall/mall-backends: shifted to the standby ... (because ...)` */
export function eventLine(e: StackEvent): string {
  return `${e.at.slice(11, 19)} ${e.kind.padEnd(16)} ${e.subject}: ${e.text}${e.reason ? ` (${e.reason})` : ''}`;
}

/** A function log line as the local runtime writes it: `[fn] <iso> <requestId> [LEVEL] message`. */
const LOG_LINE = /^\[([\w-]+)\] (\S+) (\S+) \[([A-Z]+)\] (.*)$/s;

/** The reasons that explain a decision (how the active pool was read is bookkeeping), in one clause. */
const decisionReason = (reasons: readonly string[]) =>
  reasons
    .filter((r) => !/^(active pool |state says |shiftToStandby: |failBack: |rebalance: )/.test(r))
    .join('; ') || undefined;

function weightsText(
  after: readonly { backend: string; weight: number }[],
  names: Map<string, string>,
): string {
  return after.map((a) => `${names.get(a.backend) ?? a.backend} ${a.weight}`).join(', ');
}

function fromFailover(r: FailoverReport, at: string, names: Map<string, string>): StackEvent[] {
  const out: StackEvent[] = [];
  for (const g of r.groups) {
    const subject = `${r.loadBalancerName}/${g.name}`;
    if (g.error) {
      out.push({
        at,
        kind: 'failover-failed',
        subject,
        text: `${g.decision.kind} failed: ${g.error.message}`,
      });
      continue;
    }
    const weights = weightsText(g.after, names);
    const reason = decisionReason(g.decision.reasons);
    if (g.decision.kind === 'shiftToStandby')
      out.push({
        at,
        kind: 'failover',
        subject,
        text: `shifted to the standby pool (${weights})`,
        ...(reason ? { reason } : {}),
      });
    else if (g.decision.kind === 'failBack')
      out.push({
        at,
        kind: 'failback',
        subject,
        text: `failed back to the primary pool (${weights})`,
        ...(reason ? { reason } : {}),
      });
  }
  return out;
}

function fromRenewal(r: RenewalReport, at: string): StackEvent[] {
  if (r.dryRun) return [];
  const out: StackEvent[] = [];
  for (const x of r.references) {
    // `<lb>:443` or `<lb>:443/<domain>` -> `HTTPS 443` or `HTTPS 443 <domain>`
    const subject = `HTTPS ${(x.reference.split(':').slice(1).join(':') || x.reference).replace('/', ' ')}`;
    const before = x.before.expires?.slice(0, 10) ?? x.before.serverCertificateId;
    const after = x.after?.expires?.slice(0, 10) ?? x.after?.serverCertificateId ?? '?';
    if (x.action === 'rotated')
      out.push({
        at,
        kind: 'rotation',
        subject,
        text: `certificate rotated: expiry ${before} -> ${after}, served (TLS handshake)`,
        reason: x.why,
      });
    else if (x.action === 'rolledBack')
      out.push({
        at,
        kind: 'rollback',
        subject,
        text: `rotation rolled back: the listener kept serving the old certificate (expires ${before}); nothing was deleted`,
        reason: x.error ?? x.why,
      });
    else if (x.action === 'failed')
      out.push({ at, kind: 'renewal-failed', subject, text: 'renewal failed', reason: x.error ?? x.why });
  }
  return out;
}

/**
 * The events in one function log line, or none. `names` maps `serverId:port` to a readable name (the
 * backend's description) for the weights.
 */
export function eventsFromLogLine(line: string, names: Map<string, string> = new Map()): StackEvent[] {
  const m = LOG_LINE.exec(line);
  if (!m) return [];
  const [, fn, at = new Date().toISOString(), , level, message = ''] = m;
  if (message.startsWith('{')) {
    let data: unknown;
    try {
      data = JSON.parse(message);
    } catch {
      return [];
    }
    const d = data as { failover?: FailoverReport; certRenewal?: RenewalReport };
    if (d.failover?.groups) return fromFailover(d.failover, at, names);
    if (d.certRenewal?.references) return fromRenewal(d.certRenewal, at);
    return [];
  }
  if (level === 'ERROR')
    return [{ at, kind: 'error', subject: fn ?? 'function', text: message.slice(0, 300) }];
  return [];
}

/** Events a change of status shows: a failback becoming due, or called off. */
export function eventsFromStatus(
  before: StatusReport | undefined,
  after: StatusReport,
  at: string,
): StackEvent[] {
  const out: StackEvent[] = [];
  for (const lb of after.loadBalancers)
    for (const g of lb.groups) {
      const was = before?.loadBalancers
        .find((x) => x.name === lb.name)
        ?.groups.find((x) => x.name === g.name)?.failover;
      const subject = `${lb.name}/${g.name}`;
      const due = g.failover.failbackDueAt;
      if (due && due !== was?.failbackDueAt)
        out.push({
          at,
          kind: 'failback-pending',
          subject,
          text: `the primary pool is healthy again; failback due at ${due.slice(11, 19)} UTC if it stays healthy`,
        });
      else if (!due && was?.failbackDueAt && g.failover.active === 'standby')
        out.push({
          at,
          kind: 'failback-pending',
          subject,
          text: 'failback called off: the primary pool is unhealthy again',
        });
    }
  return out;
}

/** The last events, newest last; listeners hear each new one once. */
export class EventLog {
  private readonly events: StackEvent[] = [];
  private readonly listeners = new Set<(e: StackEvent) => void>();
  constructor(private readonly limit = 50) {}

  push(...events: StackEvent[]): void {
    for (const e of events) {
      this.events.push(e);
      if (this.events.length > this.limit) this.events.shift();
      for (const l of this.listeners) l(e);
    }
  }

  list(): StackEvent[] {
    return [...this.events];
  }

  onEvent(listener: (e: StackEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
