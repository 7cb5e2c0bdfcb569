// The local cloud's data plane for health: real health checks against the backends, following each
// running listener's settings as CLB does, and DescribeHealthStatus reports what they found.
//   - HTTP and HTTPS listeners: an HTTP request to the backend (plain HTTP even behind HTTPS, as CLB
//     does), GET or HEAD (default HEAD) on HealthCheckURI (default /), Host = HealthCheckDomain, or the
//     backend's private IP when it is empty or `$_ip`; healthy when the status is in one of the
//     HealthCheckHttpCode classes (default http_2xx). TCP and UDP listeners: a TCP connect (UDP
//     backends are not emulated), or the HTTP check when the listener says HealthCheckType http.
//   - the timeout is HealthCheckTimeout, or HealthCheckInterval when that is longer (the API's rule);
//     a check starts every HealthCheckInterval, counted from the start of the previous one;
//     HealthyThreshold successes in a row make a backend normal, UnhealthyThreshold failures abnormal.
//   - one check per (backend, health-check settings): listeners sharing a group and settings share it;
//     listeners with different settings get their own, and their own status.
// Decisions (the real docs disagree or say nothing):
//   - a weight-0 backend is checked like any other and reported with its real result; the audit and
//     failover trust their own probes for weight-0 members anyway, so either behaviour of the real
//     service is handled;
//   - before its first check a backend is `unavailable` (the documented "check not finished"); the
//     first result decides its first status, so a fresh stack reads real health after one round (the
//     mall: normal after one tick); from then on the thresholds apply. Changing a listener's check
//     settings keeps the status and restarts the counting; pointing a backend at another address
//     (setAddress) starts it afresh;
//   - health forced through the admin API (POST /_emulator/health) wins over the checks, for tests that
//     need a state the backends cannot produce.
// A backend answers at its instance's private IP (or ServerIp) and the checked port (HealthCheck-
// ConnectPort, else the backend port), unless a mapping for `<serverId>:<checked port>` (setAddress,
// POST /_emulator/backend-addresses) sends the check to a stand-in on another loopback port.
// Clock: tick() runs one round now and resolves when it is done (tests); start() checks on the
// listeners' intervals with a real timer (healthChecks 'auto'); `now` and `timer` are injectable.

import { request } from 'node:http';
import { connect } from 'node:net';
import {
  type BackendServerRecord,
  type CloudState,
  type HealthStatus,
  type ListenerRecord,
  listenerBackendKey,
} from './state';

export type HealthCheckMode = 'off' | 'manual' | 'auto';

/** Runs `fn` every `ms` until cancelled. */
export interface RepeatingTimer {
  every(ms: number, fn: () => Promise<void>): { cancel(): void };
}

const REAL_TIMER: RepeatingTimer = {
  every(ms, fn) {
    const t = setInterval(() => void fn().catch(() => undefined), ms);
    t.unref();
    return { cancel: () => clearInterval(t) };
  },
};

/** Terraform's client defaults; the API documents none (reference §6.3). */
const DEFAULTS = { intervalS: 2, healthy: 3, unhealthy: 3, timeoutS: 5, uri: '/', codes: 'http_2xx' };
/** How often 'auto' looks for checks that are due: well under the shortest interval (1 s). */
const BEAT_MS = 250;

interface Target {
  kind: 'http' | 'tcp';
  /** undefined: the backend has no known address, so every check fails */
  host: string | undefined;
  port: number;
  method: 'GET' | 'HEAD';
  path: string;
  hostHeader: string;
  /** accepted status classes, e.g. [2, 3] */
  classes: number[];
  timeoutMs: number;
}

interface Track {
  key: string;
  backend: string;
  target: Target;
  intervalMs: number;
  healthy: number;
  unhealthy: number;
  /** undefined until the first check answers */
  status: 'normal' | 'abnormal' | undefined;
  successes: number;
  failures: number;
  checks: number;
  lastStartedAt: number | undefined;
  inFlight: Promise<void> | undefined;
}

interface Member {
  /** listenerBackendKey() */
  listener: string;
  /** `${serverId}:${port}` */
  backend: string;
  track: Track;
}

export interface HealthCheckView {
  backend: string;
  target: string;
  kind: 'http' | 'tcp';
  method?: string;
  path?: string;
  status: HealthStatus;
  successes: number;
  failures: number;
  checks: number;
  listeners: string[];
}

export interface HealthCheckerOptions {
  mode: HealthCheckMode;
  /** the current state (the server replaces it on reset and on failed calls) */
  state: () => CloudState;
  /** health forced through the admin API, `${serverId}:${port}` -> status: wins over the checks */
  forced?: () => Record<string, HealthStatus>;
  now?: () => number;
  timer?: RepeatingTimer;
}

function probeOnce(t: Target): Promise<boolean> {
  const host = t.host;
  if (host === undefined) return Promise.resolve(false);
  return new Promise((resolve) => {
    let settled = false;
    const finish = (ok: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(ok);
    };
    let cancel: () => void = () => undefined;
    // An absolute deadline: a backend that trickles bytes must not outlive the timeout either.
    const timer = setTimeout(() => {
      cancel();
      finish(false);
    }, t.timeoutMs);
    if (t.kind === 'tcp') {
      const socket = connect({ host, port: t.port });
      cancel = () => socket.destroy();
      socket.once('connect', () => {
        socket.destroy();
        finish(true);
      });
      socket.once('error', () => finish(false));
      return;
    }
    const req = request(
      {
        host,
        port: t.port,
        path: t.path,
        method: t.method,
        headers: { host: t.hostHeader, 'user-agent': 'local-cloud-health-check' },
        agent: false,
      },
      (res) => {
        res.resume();
        finish(t.classes.includes(Math.floor((res.statusCode ?? 0) / 100)));
        req.destroy();
      },
    );
    cancel = () => req.destroy();
    req.on('error', () => finish(false));
    req.end();
  });
}

const RANK: Record<HealthStatus, number> = { unavailable: 0, normal: 1, abnormal: 2 };

export class HealthChecker {
  private readonly tracks = new Map<string, Track>();
  /** the track each (listener, backend) used last: settings changes keep its status */
  private readonly lastTrackOf = new Map<string, Track>();
  private readonly addresses = new Map<string, { host: string; port: number }>();
  private beats: { cancel(): void } | undefined;
  private readonly now: () => number;

  constructor(private readonly o: HealthCheckerOptions) {
    this.now = o.now ?? Date.now;
  }

  get mode(): HealthCheckMode {
    return this.o.mode;
  }

  /** Sends the checks of `<serverId>:<port>` to `<host>:<port>`; a null address removes the mapping. */
  setAddress(backend: string, hostPort: string | null): void {
    const m = hostPort?.match(/^([^:\s]+):(\d{1,5})$/);
    const port = Number(m?.[2]);
    if (!/^[^:\s]+:\d{1,5}$/.test(backend) || (hostPort !== null && (!m?.[1] || port < 1 || port > 65535)))
      throw new Error(
        `backend-addresses.${backend}: keys are "<serverId>:<port>", values "<host>:<port>" (port 1-65535) or null`,
      );
    if (hostPort === null || !m?.[1]) this.addresses.delete(backend);
    else this.addresses.set(backend, { host: m[1], port });
    this.publish();
  }

  /** Where a group member answers traffic: its mapping for `<serverId>:<port>`, else its private IP. */
  trafficAddress(state: CloudState, b: BackendServerRecord): { host: string; port: number } | undefined {
    const mapped = this.addresses.get(`${b.serverId}:${b.port}`);
    if (mapped) return mapped;
    const ip = state.instances.find((i) => i.serverId === b.serverId)?.privateIp ?? b.serverIp;
    return ip ? { host: ip, port: b.port } : undefined;
  }

  addressMap(): Record<string, string> {
    return Object.fromEntries([...this.addresses].map(([k, v]) => [k, `${v.host}:${v.port}`]));
  }

  private target(state: CloudState, l: ListenerRecord, b: BackendServerRecord): Target {
    const hc = l.healthCheck;
    const checkedPort = hc.healthCheckConnectPort ?? b.port;
    const ip = state.instances.find((i) => i.serverId === b.serverId)?.privateIp ?? b.serverIp;
    const mapped = this.addresses.get(`${b.serverId}:${checkedPort}`);
    const domain = hc.healthCheckDomain;
    const http = l.listenerProtocol === 'http' || l.listenerProtocol === 'https';
    const timeoutS = Math.max(
      hc.healthCheckTimeout ?? DEFAULTS.timeoutS,
      hc.healthCheckInterval ?? DEFAULTS.intervalS,
    );
    return {
      kind: http || l.extra.HealthCheckType === 'http' ? 'http' : 'tcp',
      host: mapped?.host ?? ip,
      port: mapped?.port ?? checkedPort,
      method: hc.healthCheckMethod === 'get' ? 'GET' : 'HEAD',
      path: hc.healthCheckURI ?? DEFAULTS.uri,
      hostHeader: domain && domain !== '$_ip' ? domain : (ip ?? 'localhost'),
      classes: (hc.healthCheckHttpCode ?? DEFAULTS.codes)
        .split(',')
        .map((c) => Number(c.match(/^http_([1-5])xx$/)?.[1]))
        .filter((n) => n > 0),
      timeoutMs: timeoutS * 1000,
    };
  }

  /**
   * What is checked now: every running listener with health check on, times the backends of its
   * VServer group and of its forwarding rules' groups (rules follow the listener's check settings,
   * ListenerSync on); tracks are created for new (backend, settings) pairs and dropped when unused.
   */
  private plan(): Member[] {
    const state = this.o.state();
    const members: Member[] = [];
    const used = new Set<string>();
    for (const l of state.listeners) {
      if (l.status !== 'running' || l.healthCheck.healthCheck !== 'on') continue;
      const groupIds = new Set(
        [
          l.vServerGroupId,
          ...state.rules
            .filter((r) => r.loadBalancerId === l.loadBalancerId && r.listenerPort === l.listenerPort)
            .map((r) => r.vServerGroupId),
        ].filter((id): id is string => id !== undefined),
      );
      const backends = state.vServerGroups
        .filter((g) => groupIds.has(g.vServerGroupId))
        .flatMap((g) => g.backendServers);
      const seen = new Set<string>();
      for (const b of backends) {
        if (seen.has(`${b.serverId}:${b.port}`)) continue;
        seen.add(`${b.serverId}:${b.port}`);
        const backend = `${b.serverId}:${b.port}`;
        const listener = listenerBackendKey(l, b);
        const target = this.target(state, l, b);
        const hc = l.healthCheck;
        const intervalMs = (hc.healthCheckInterval ?? DEFAULTS.intervalS) * 1000;
        const healthy = hc.healthyThreshold ?? DEFAULTS.healthy;
        const unhealthy = hc.unhealthyThreshold ?? DEFAULTS.unhealthy;
        const key = JSON.stringify([backend, target, intervalMs, healthy, unhealthy]);
        let track = this.tracks.get(key);
        if (!track) {
          const before = this.lastTrackOf.get(listener);
          const sameAddress =
            before && before.target.host === target.host && before.target.port === target.port;
          track = {
            key,
            backend,
            target,
            intervalMs,
            healthy,
            unhealthy,
            status: sameAddress ? before.status : undefined,
            successes: 0,
            failures: 0,
            checks: 0,
            lastStartedAt: undefined,
            inFlight: undefined,
          };
          this.tracks.set(key, track);
        }
        used.add(key);
        this.lastTrackOf.set(listener, track);
        members.push({ listener, backend, track });
      }
    }
    for (const key of this.tracks.keys()) if (!used.has(key)) this.tracks.delete(key);
    const listeners = new Set(members.map((m) => m.listener));
    for (const k of this.lastTrackOf.keys()) if (!listeners.has(k)) this.lastTrackOf.delete(k);
    return members;
  }

  /** One check of a track (joins the one in flight); a dropped track's result is discarded. */
  private check(track: Track): Promise<void> {
    if (track.inFlight) return track.inFlight;
    track.lastStartedAt = this.now();
    track.inFlight = probeOnce(track.target).then((ok) => {
      track.inFlight = undefined;
      if (this.tracks.get(track.key) !== track) return;
      track.checks++;
      if (ok) {
        track.successes++;
        track.failures = 0;
      } else {
        track.failures++;
        track.successes = 0;
      }
      if (track.status === undefined) track.status = ok ? 'normal' : 'abnormal';
      else if (ok && track.successes >= track.healthy) track.status = 'normal';
      else if (!ok && track.failures >= track.unhealthy) track.status = 'abnormal';
    });
    return track.inFlight;
  }

  /** One round now: every check, whatever its interval; resolves when all have answered. No-op when off. */
  async tick(): Promise<void> {
    if (this.o.mode === 'off') return;
    const tracks = new Set(this.plan().map((m) => m.track));
    await Promise.all([...tracks].map((t) => this.check(t)));
    this.publish();
  }

  /** The checks whose interval has passed, each published as it answers; resolves when they have. */
  async beat(): Promise<void> {
    if (this.o.mode === 'off') return;
    const now = this.now();
    const due = new Set(
      this.plan()
        .map((m) => m.track)
        .filter(
          (t) => !t.inFlight && (t.lastStartedAt === undefined || now - t.lastStartedAt >= t.intervalMs),
        ),
    );
    await Promise.all([...due].map((t) => this.check(t).then(() => this.publish())));
  }

  /** Checks on the listeners' intervals (healthChecks 'auto'); resolves when the first round, run at once, is done. */
  start(): Promise<void> {
    if (this.beats || this.o.mode === 'off') return Promise.resolve();
    this.beats = (this.o.timer ?? REAL_TIMER).every(BEAT_MS, () => this.beat());
    return this.beat().catch(() => undefined);
  }

  /**
   * Writes the statuses into the state: per (listener, backend) in `listenerHealth`, the worst per
   * backend in `backendHealth`, forced health over both. With checks off it only clears
   * `listenerHealth`, leaving `backendHealth` to the admin API.
   */
  publish(): void {
    const state = this.o.state();
    if (this.o.mode === 'off') {
      delete state.listenerHealth;
      return;
    }
    const forced = this.o.forced?.() ?? {};
    const listeners: Record<string, HealthStatus> = {};
    const backends: Record<string, HealthStatus> = {};
    for (const m of this.plan()) {
      const checked = m.track.status ?? 'unavailable';
      listeners[m.listener] = forced[m.backend] ?? checked;
      const worst = backends[m.backend];
      if (worst === undefined || RANK[checked] > RANK[worst]) backends[m.backend] = checked;
    }
    state.listenerHealth = listeners;
    state.backendHealth = { ...backends, ...forced };
  }

  /** The checks as they stand, for GET /_emulator/health-checks. */
  describe(): HealthCheckView[] {
    const members = this.plan();
    return [...this.tracks.values()].map((t) => ({
      backend: t.backend,
      target: `${t.target.host ?? '(no address)'}:${t.target.port}`,
      kind: t.target.kind,
      ...(t.target.kind === 'http' ? { method: t.target.method, path: t.target.path } : {}),
      status: t.status ?? 'unavailable',
      successes: t.successes,
      failures: t.failures,
      checks: t.checks,
      listeners: members.filter((m) => m.track === t).map((m) => m.listener),
    }));
  }

  /** Forgets every result (the mappings stay) and publishes into the current state. */
  reset(): void {
    this.tracks.clear();
    this.lastTrackOf.clear();
    this.publish();
  }

  async stop(): Promise<void> {
    this.beats?.cancel();
    this.beats = undefined;
    await Promise.all([...this.tracks.values()].map((t) => t.inFlight));
  }
}
