// The status report (shared/workflows/status.ts, what provision's GET /status answers) as a few readable
// lines: `npm start` prints it, `npm run remote -- status` prints it. One line per listener, certificate
// and backend, and the group's active pool and any pending failback with when it is due.

import type { StatusReport } from '../shared/workflows/status';

const clock = (iso: string) => iso.slice(11, 19);

/** "in 25 s", "in 4 min", "now" */
export function dueIn(iso: string, now: Date): string {
  const s = Math.round((Date.parse(iso) - now.getTime()) / 1000);
  if (s <= 0) return 'now';
  return s < 120 ? `in ${s} s` : `in ${Math.round(s / 60)} min`;
}

function certificateText(
  c: StatusReport['loadBalancers'][number]['listeners'][number]['certificate'],
): string {
  if (!c) return 'no certificate';
  if (!c.expiresAt) return `${c.serverCertificateId} (no record)`;
  return `${c.commonName ?? c.serverCertificateId} expires ${c.expiresAt.slice(0, 10)} (${c.daysLeft} days left)`;
}

/** A pool line: which pool carries traffic, and whether a failback waits. */
export function poolText(
  f: StatusReport['loadBalancers'][number]['groups'][number]['failover'],
  now: Date,
): string {
  if (f.active === 'unknown') return 'active pool: primary (no failover recorded)';
  if (f.active === 'primary') return 'active pool: primary';
  if (f.pinned) return 'active pool: standby, pinned by a manual toStandby (failback only by toPrimary)';
  if (f.failbackDueAt)
    return `active pool: standby; failback due at ${clock(f.failbackDueAt)} UTC (${dueIn(f.failbackDueAt, now)}) if the primary stays healthy`;
  return 'active pool: standby; failback waits for the primary to be healthy';
}

export function statusLines(report: StatusReport, now: Date): string[] {
  const lines: string[] = [];
  for (const lb of report.loadBalancers) {
    if (!lb.exists) {
      lines.push(`${lb.name}: does not exist yet (apply creates it)`);
      continue;
    }
    lines.push(`${lb.name} ${lb.loadBalancerId ?? ''} (${report.region})`);
    for (const l of lb.listeners) {
      const head = `  ${l.protocol.toUpperCase()} ${l.port} ${l.running ? 'running' : 'stopped'}`;
      lines.push(l.protocol === 'https' ? `${head}: ${certificateText(l.certificate)}` : head);
      for (const d of l.extensionDomains) lines.push(`    ${d.domain}: ${certificateText(d.certificate)}`);
    }
    for (const g of lb.groups) {
      lines.push(`  group ${g.name}: ${poolText(g.failover, now)}`);
      for (const b of g.backends)
        lines.push(
          `    ${b.serverId}:${b.port} weight ${b.weight} ${b.health}${b.description ? ` (${b.description})` : ''}`,
        );
    }
  }
  lines.push(
    report.drift.length === 0 ? 'drift: none' : `drift: ${report.drift.length} change(s) apply would make`,
  );
  for (const d of report.drift) lines.push(`  - ${d}`);
  return lines;
}

/** provision's answer to GET /status, readable; anything else as JSON. */
export function renderStatus(body: unknown, now: Date): string {
  const r = body as Partial<StatusReport> | null;
  if (!r || typeof r !== 'object' || !Array.isArray(r.loadBalancers) || !Array.isArray(r.drift))
    return JSON.stringify(body, null, 2);
  return statusLines(r as StatusReport, now).join('\n');
}
