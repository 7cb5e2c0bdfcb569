// The live view of a running stack, for the console and the status page: every `intervalMs` it reads the
// status through the project's own cloud layer (collectStatus, the same report provision's GET /status
// answers), asks each HTTPS front end which certificate it really serves (a TLS handshake), keeps the
// backends' weight and health over the last minutes, and turns status changes into events. Listeners
// hear each new snapshot.

import { fetchServedCertificate } from '../shared/cloud/tls-probe';
import { normalizeFingerprint } from '../shared/domain/keys';
import type { StatusReport } from '../shared/workflows/status';
import { type EventLog, eventsFromStatus, type StackEvent } from './stack-events';

export interface ServedCertificateView {
  /** SHA-1 of the certificate the front end served, colon-separated hex (as SLB shows it) */
  fingerprint?: string;
  /** whether it is the certificate SLB says is bound */
  matchesBound?: boolean;
  error?: string;
}

export interface HistorySample {
  at: string;
  /** `serverId:port` -> weight and health */
  backends: Record<string, { weight: number; health: string }>;
}

export interface MonitorSnapshot {
  at: string;
  updateEveryMs: number;
  status?: StatusReport;
  /** why the last read failed, if it did */
  error?: string;
  /** `<loadBalancerId>:<port>` or `<loadBalancerId>:<port>:<domain>` -> what the front end serves */
  served: Record<string, ServedCertificateView>;
  history: HistorySample[];
  events: StackEvent[];
}

export interface FrontEndAddress {
  loadBalancerId: string;
  listenerPort: number;
  host: string;
  port: number;
}

export interface MonitorOptions {
  collect: () => Promise<StatusReport>;
  /** where each running HTTPS listener is served (the local cloud's front ends); none: not probed */
  frontEnds?: () => Promise<FrontEndAddress[]>;
  events: EventLog;
  intervalMs: number;
  /** how much history to keep (default 10 minutes) */
  historyMs?: number;
  now?: () => Date;
}

export interface Monitor {
  /** one read now; resolves with the new snapshot */
  tick(): Promise<MonitorSnapshot>;
  snapshot(): MonitorSnapshot;
  onUpdate(listener: (s: MonitorSnapshot) => void): () => void;
  /** read every intervalMs until stop() */
  start(): void;
  stop(): void;
}

async function servedCertificates(
  status: StatusReport,
  frontEnds: FrontEndAddress[],
): Promise<Record<string, ServedCertificateView>> {
  const out: Record<string, ServedCertificateView> = {};
  const jobs: Promise<void>[] = [];
  for (const lb of status.loadBalancers)
    for (const l of lb.listeners) {
      if (l.protocol !== 'https' || !lb.loadBalancerId) continue;
      const fe = frontEnds.find((f) => f.loadBalancerId === lb.loadBalancerId && f.listenerPort === l.port);
      if (!fe) continue;
      const probes = [
        { key: `${lb.loadBalancerId}:${l.port}`, servername: undefined, bound: l.certificate?.fingerprint },
        ...l.extensionDomains.map((d) => ({
          key: `${lb.loadBalancerId}:${l.port}:${d.domain}`,
          servername: d.domain.replace(/^\*\./, 'x.'),
          bound: d.certificate?.fingerprint,
        })),
      ];
      for (const p of probes)
        jobs.push(
          fetchServedCertificate({
            host: fe.host,
            port: fe.port,
            ...(p.servername ? { servername: p.servername } : {}),
            timeoutMs: 2000,
          }).then(
            (served) => {
              out[p.key] = {
                fingerprint: served.fingerprintSha1,
                ...(p.bound
                  ? {
                      matchesBound:
                        normalizeFingerprint(p.bound) === normalizeFingerprint(served.fingerprintSha1),
                    }
                  : {}),
              };
            },
            (err: unknown) => {
              out[p.key] = { error: err instanceof Error ? err.message : String(err) };
            },
          ),
        );
    }
  await Promise.all(jobs);
  return out;
}

export function createMonitor(o: MonitorOptions): Monitor {
  const now = o.now ?? (() => new Date());
  const historyMs = o.historyMs ?? 10 * 60_000;
  const listeners = new Set<(s: MonitorSnapshot) => void>();
  let current: MonitorSnapshot = {
    at: now().toISOString(),
    updateEveryMs: o.intervalMs,
    served: {},
    history: [],
    events: o.events.list(),
  };
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<MonitorSnapshot> | undefined;

  async function read(): Promise<MonitorSnapshot> {
    const at = now();
    let status: StatusReport | undefined;
    let error: string | undefined;
    try {
      status = await o.collect();
    } catch (err) {
      error = err instanceof Error ? err.message : String(err);
    }
    const served =
      status && o.frontEnds ? await servedCertificates(status, await o.frontEnds().catch(() => [])) : {};
    if (status) {
      o.events.push(...eventsFromStatus(current.status, status, at.toISOString()));
      const sample: HistorySample = { at: at.toISOString(), backends: {} };
      for (const lb of status.loadBalancers)
        for (const g of lb.groups)
          for (const b of g.backends)
            sample.backends[`${b.serverId}:${b.port}`] = { weight: b.weight, health: b.health };
      current.history.push(sample);
    }
    const history = current.history.filter((h) => at.getTime() - Date.parse(h.at) <= historyMs);
    current = {
      at: at.toISOString(),
      updateEveryMs: o.intervalMs,
      ...(status ? { status } : current.status ? { status: current.status } : {}),
      ...(error ? { error } : {}),
      served: status ? served : current.served,
      history,
      events: o.events.list(),
    };
    for (const l of listeners) l(current);
    return current;
  }

  const monitor: Monitor = {
    tick() {
      // One read at a time: a slow read is not overtaken by the next tick.
      running ??= read().finally(() => {
        running = undefined;
      });
      return running;
    },
    snapshot: () => current,
    onUpdate(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    start() {
      if (timer) return;
      timer = setInterval(() => void monitor.tick(), o.intervalMs);
      timer.unref();
    },
    stop() {
      if (timer) clearInterval(timer);
      timer = undefined;
    },
  };
  // New events reach the page without waiting for the next read.
  o.events.onEvent(() => {
    current = { ...current, events: o.events.list() };
    for (const l of listeners) l(current);
  });
  return monitor;
}
