// The local cloud's data plane for health: real health checks against the backends, following each
// running listener's settings (HTTP GET/HEAD on the URI with the domain as Host, the accepted code
// classes, the timeout, the interval, healthy and unhealthy thresholds; a TCP connect for TCP
// listeners), as CLB does. DescribeHealthStatus then reports what the checks found.
// Decisions (the real docs disagree or say nothing):
//   - a weight-0 backend is checked like any other and reported with its real result; the audit and
//     failover trust their own probes for weight-0 members anyway, so either behaviour of the real
//     service is handled;
//   - a backend's first check decides its first status (no threshold yet), so a fresh stack reports
//     real health within one interval; after that the thresholds apply;
//   - the admin API's forced health (POST /_emulator/health) wins over the checks, for tests that
//     need a state the backends cannot produce.
// A backend answers where its instance's private IP (or serverIp) and port say, unless a mapping
// (`setAddress`, POST /_emulator/backend-addresses) sends it to a stand-in on another loopback port.

import { request } from 'node:http';
import { connect } from 'node:net';
import type { CloudState, HealthCheckSettings, ListenerRecord } from './state';

export type HealthValue = 'normal' | 'abnormal' | 'unavailable';

interface Track {
  status: HealthValue;
  successes: number;
  failures: number;
  lastCheckAt: number;
}

interface Check {
  /** `serverId:port` */
  key: string;
  host: string;
  port: number;
  protocol: ListenerRecord['listenerProtocol'];
  settings: HealthCheckSettings;
}

const DEFAULTS = { interval: 2, healthy: 3, unhealthy: 3, timeout: 5 };

function probeOnce(c: Check, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    if (c.protocol === 'tcp' || c.protocol === 'udp') {
      const socket = connect({ host: c.host, port: c.port });
      const done = (ok: boolean) => {
        socket.destroy();
        resolve(ok);
      };
      socket.setTimeout(timeoutMs, () => done(false));
      socket.once('connect', () => done(true));
      socket.once('error', () => done(false));
      return;
    }
    const codes = (c.settings.healthCheckHttpCode ?? 'http_2xx,http_3xx').split(',');
    const req = request(
      {
        host: c.host,
        port: c.port,
        path: c.settings.healthCheckURI ?? '/',
        method: (c.settings.healthCheckMethod ?? 'head').toUpperCase(),
        headers: { host: c.settings.healthCheckDomain || c.host, 'user-agent': 'local-cloud-health-check' },
        timeout: timeoutMs,
        agent: false,
      },
      (res) => {
        res.resume();
        resolve(codes.includes(`http_${Math.floor((res.statusCode ?? 0) / 100)}xx`));
      },
    );
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
    req.end();
  });
}

export class HealthProbes {
  private readonly tracks = new Map<string, Track>();
  private readonly addresses = new Map<string, { host: string; port: number }>();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(
    private readonly getState: () => CloudState,
    private readonly publish: (health: Record<string, HealthValue>) => void,
    private readonly now: () => number = Date.now,
  ) {}

  setAddress(backend: string, hostPort: string): void {
    const m = hostPort.match(/^([^:]+):(\d{1,5})$/);
    if (!/^[^:]+:\d{1,5}$/.test(backend) || !m?.[1] || !m[2])
      throw new Error(`backend-addresses.${backend}: keys are "<serverId>:<port>", values "<host>:<port>"`);
    this.addresses.set(backend, { host: m[1], port: Number(m[2]) });
  }

  addressMap(): Record<string, string> {
    return Object.fromEntries([...this.addresses].map(([k, v]) => [k, `${v.host}:${v.port}`]));
  }

  /** The checks due now (every listener's interval), deduplicated per backend and settings. */
  private checks(force: boolean): Check[] {
    const state = this.getState();
    const out = new Map<string, Check>();
    for (const l of state.listeners) {
      if (l.status !== 'running' || l.healthCheck.healthCheck !== 'on' || !l.vServerGroupId) continue;
      const group = state.vServerGroups.find((g) => g.vServerGroupId === l.vServerGroupId);
      for (const b of group?.backendServers ?? []) {
        const key = `${b.serverId}:${b.port}`;
        if (out.has(key)) continue;
        const track = this.tracks.get(key);
        const interval = (l.healthCheck.healthCheckInterval ?? DEFAULTS.interval) * 1000;
        if (!force && track && this.now() - track.lastCheckAt < interval) continue;
        const mapped = this.addresses.get(key);
        const ip =
          state.instances.find((i) => i.serverId === b.serverId)?.privateIp ?? b.serverIp ?? '127.0.0.1';
        out.set(key, {
          key,
          host: mapped?.host ?? ip,
          port: mapped?.port ?? l.healthCheck.healthCheckConnectPort ?? b.port,
          protocol: l.listenerProtocol,
          settings: l.healthCheck,
        });
      }
    }
    return [...out.values()];
  }

  /** One round of the checks that are due (all of them with `force`); publishes the statuses. */
  async tick(force = true): Promise<void> {
    if (this.running) return this.running;
    this.running = (async () => {
      const checks = this.checks(force);
      const startedAt = this.now();
      const results = await Promise.all(
        checks.map(async (c) => {
          const timeout = Math.min(c.settings.healthCheckTimeout ?? DEFAULTS.timeout, 50) * 1000;
          return { c, ok: await probeOnce(c, timeout) };
        }),
      );
      for (const { c, ok } of results) {
        const t = this.tracks.get(c.key);
        const healthy = c.settings.healthyThreshold ?? DEFAULTS.healthy;
        const unhealthy = c.settings.unhealthyThreshold ?? DEFAULTS.unhealthy;
        if (!t) {
          this.tracks.set(c.key, {
            status: ok ? 'normal' : 'abnormal',
            successes: ok ? 1 : 0,
            failures: ok ? 0 : 1,
            lastCheckAt: startedAt,
          });
          continue;
        }
        t.lastCheckAt = startedAt;
        if (ok) {
          t.successes++;
          t.failures = 0;
          if (t.status !== 'normal' && t.successes >= healthy) t.status = 'normal';
        } else {
          t.failures++;
          t.successes = 0;
          if (t.status !== 'abnormal' && t.failures >= unhealthy) t.status = 'abnormal';
        }
      }
      this.publish(Object.fromEntries([...this.tracks].map(([k, t]) => [k, t.status])));
    })();
    try {
      await this.running;
    } finally {
      this.running = undefined;
    }
  }

  /** Checks on their intervals, on a one-second beat. */
  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.tick(false).catch(() => undefined), 1000);
    this.timer.unref();
  }

  reset(): void {
    this.tracks.clear();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }
}
