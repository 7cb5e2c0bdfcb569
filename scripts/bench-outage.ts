// `npm run bench -- outage [--kills N] [--rate R] [--modes audit,watch,warm] [--serial]`: the outage a
// client sees when the mall's K8S backend dies, per failover mode, on the local stack with the production
// timer (health-audit `@every 1m` from s.yaml, real health checks every 2 s, threshold 3).
//   - A client sends R requests per second (default 50) through the mall's HTTPS front end, SNI
//     mall.example.com, and records every answer (status, the backend that served it).
//   - Each kill happens at a different point of the audit's minute ((i + 0.5) / N of it), so detection
//     to shift covers the whole period; K8S is revived once the weights have shifted (or the standby
//     serves), and the next kill waits for the failback to complete.
//   - Per mode, one JSON line as issue 12 lists it: detection (kill -> the load balancer's check marks
//     K8S abnormal), shift (kill -> weights shifted; for `warm`, kill -> the first request sent after
//     detection that the standby served), the error window (first failed request sent -> last failed
//     request answered), failed/total requests, and failed requests from revival to the end of the
//     failback. Then one `outage-detail` line per mode: detection to shift (p50, max), API reads per
//     minute and health-audit GB-seconds per month.
// Modes: `audit` (the one-minute audit alone), `watch` (failover.watch 5s), `warm` (standbyWeight 1 with
// the one-minute audit). Every mode's spec is examples/mall.yaml with failbackAfter 30s and flap damping
// opened (100 changes per minute), so several kills fit in one run; modes run side by side (own stacks).

import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { buildFunctions } from './build';
import { connectLocalCloud } from './local-cloud/connect';
import { BACKEND_HEADER } from './local-cloud/front-end-proxy';
import { MALL } from './local-cloud/scenarios/mall-fixture';
import { ROOT, type Stack, startStack } from './stack';

export const OUTAGE_MODES = ['audit', 'watch', 'warm'] as const;
export type OutageMode = (typeof OUTAGE_MODES)[number];

export interface OutageOptions {
  kills: number;
  /** requests per second */
  rate: number;
  modes: readonly OutageMode[];
  /** one mode after the other instead of side by side */
  serial: boolean;
  /** progress lines (stderr) */
  progress: (line: string) => void;
}

export interface OutageRow {
  case: 'outage';
  mode: OutageMode;
  kills: number;
  detectP50Ms: number;
  shiftP50Ms: number;
  shiftMaxMs: number;
  errorWindowP50Ms: number;
  errorWindowMaxMs: number;
  failedRequests: number;
  totalRequests: number;
  failbackFailedRequests: number;
}

export interface OutageDetailRow {
  case: 'outage-detail';
  mode: OutageMode;
  /** the goal of fast watch: detection (the load balancer's check) to weights shifted */
  detectToShiftP50Ms: number;
  detectToShiftMaxMs: number;
  minutes: number;
  /** SLB API reads per minute by the functions (all read actions) */
  readsPerMinute: number;
  /** of which DescribeHealthStatus */
  healthReadsPerMinute: number;
  /** health-audit runs' mean duration */
  auditRunMs: number;
  /** health-audit at 256 MB, once a minute, for a month (43,200 runs) */
  healthAuditGbSecondsPerMonth: number;
}

const PERIOD_MS = 60_000;
const K8S = `${MALL.k8s.serverId}:${MALL.k8s.port}`;
const ECS = `${MALL.ecs.serverId}:${MALL.ecs.port}`;
const AUDIT_MEMORY_GB = 0.25;

export function parseOutageArgs(argv: readonly string[], progress: (line: string) => void): OutageOptions {
  const o: OutageOptions = { kills: 3, rate: 50, modes: OUTAGE_MODES, serial: false, progress };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a}: needs a value`);
      return v;
    };
    if (a === '--kills') o.kills = Number(value());
    else if (a === '--rate') o.rate = Number(value());
    else if (a === '--modes') o.modes = value().split(',') as OutageMode[];
    else if (a === '--serial') o.serial = true;
    else
      throw new Error(
        `outage: unknown argument ${a} (--kills N, --rate R, --modes audit,watch,warm, --serial)`,
      );
  }
  if (!Number.isInteger(o.kills) || o.kills < 1 || o.kills > 20) throw new Error('--kills: 1-20');
  if (!Number.isFinite(o.rate) || o.rate < 1 || o.rate > 500) throw new Error('--rate: 1-500 per second');
  for (const m of o.modes)
    if (!(OUTAGE_MODES as readonly string[]).includes(m))
      throw new Error(`--modes: ${m} is not one of ${OUTAGE_MODES.join(', ')}`);
  return o;
}

function specFor(mode: OutageMode): string {
  const s = parse(readFileSync(join(ROOT, 'examples', 'mall.yaml'), 'utf8'));
  s.failover = { ...s.failover, failbackAfter: '30s', maxChangesPerWindow: 100, window: '1m' };
  if (mode === 'watch') s.failover.watch = '5s';
  if (mode === 'warm') {
    s.failover.standbyWeight = 1;
    for (const b of s.loadBalancers[0].vServerGroups[0].backends) if (b.pool === 'standby') b.weight = 1;
  }
  return stringify(s);
}

interface Sample {
  sentAt: number;
  endAt: number;
  ok: boolean;
  /** HTTP status, or the client error */
  status: string;
  backend?: string;
}

/** A client at a steady rate through the HTTPS front end, SNI mall.example.com. */
function startClient(host: string, port: number, rate: number) {
  const samples: Sample[] = [];
  // Idle sockets are dropped well before the listener's IdleTimeout (15 s), so a reused one is never
  // one the front end is closing.
  const agent = new Agent({ keepAlive: true, maxSockets: 64, timeout: 5000 });
  const servername = MALL.https.domains[0];
  const one = () => {
    const sentAt = Date.now();
    const done = (ok: boolean, status: string, backend?: string) =>
      samples.push({ sentAt, endAt: Date.now(), ok, status, ...(backend ? { backend } : {}) });
    const req = request(
      { host, port, path: '/', servername, headers: { host: servername }, agent, rejectUnauthorized: false },
      (res) => {
        res.resume();
        res.once('end', () => {
          const b = res.headers[BACKEND_HEADER];
          done((res.statusCode ?? 0) < 500, String(res.statusCode), typeof b === 'string' ? b : undefined);
        });
        res.once('error', (e) => done(false, e.message));
      },
    );
    req.setTimeout(5000, () => req.destroy(new Error('timeout')));
    req.once('error', (e) => done(false, e.message));
    req.end();
  };
  const start = Date.now();
  let sent = 0;
  // Paced by the clock, not by answers: a slow answer does not slow the client down.
  const timer = setInterval(() => {
    const due = Math.floor(((Date.now() - start) / 1000) * rate);
    while (sent < due) {
      sent++;
      one();
    }
  }, 5);
  return {
    samples,
    async stop() {
      clearInterval(timer);
      await new Promise((r) => setTimeout(r, 5500));
      agent.destroy();
    },
  };
}

async function waitFor(what: string, cond: () => boolean, timeoutMs: number): Promise<number> {
  const until = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return Date.now();
}

const p50 = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? 0 : (s[Math.floor((s.length - 1) / 2)] ?? 0);
};
const max = (xs: number[]) => (xs.length ? Math.max(...xs) : 0);

async function runMode(
  mode: OutageMode,
  o: OutageOptions,
): Promise<{ row: OutageRow; detail: OutageDetailRow }> {
  const say = (line: string) => o.progress(`[outage ${mode}] ${line}`);
  /** health-audit run start (report `at`) -> when its last line (audit or watch) arrived */
  const runs = new Map<string, { start: number; end: number }>();
  const log = (line: string) => {
    if (!line.startsWith('[health-audit]')) return;
    const m = line.match(/\{"(healthAudit|healthWatch)":/);
    if (!m) return;
    const at = m[1] === 'healthAudit' ? line.match(/"at":"([^"]+)"/)?.[1] : [...runs.keys()].at(-1);
    if (!at) return;
    runs.set(at, { start: Date.parse(at), end: Date.now() });
  };
  const stack: Stack = await startStack({
    specText: specFor(mode),
    timers: 'auto',
    healthChecks: 'auto',
    build: false,
    backendPorts: { k8s: 0, ecs: 0 },
    log,
  });
  try {
    const { cloud } = stack;
    const group = () =>
      cloud.state().vServerGroups.find((g) => g.vServerGroupId === MALL.vServerGroup.vServerGroupId);
    const weight = (k: string) =>
      group()?.backendServers.find((b) => `${b.serverId}:${b.port}` === k)?.weight;
    const standbyWeight = mode === 'warm' ? 1 : 0;
    // The scenario's ECS weight is 0: a warm standby starts from 1, as its spec says.
    if (mode === 'warm') await setStandbyWeight(stack, 1);
    const health = () =>
      cloud.state().listenerHealth?.[`${MALL.loadBalancerId}/https:${MALL.https.port}/${K8S}`];
    await waitFor('the first health checks', () => health() === 'normal', 20_000);
    const fe = (await cloud.frontEnds()).find((f) => f.listenerPort === MALL.https.port);
    if (!fe) throw new Error('no HTTPS front end');
    // The first timer run (a minute after start) warms the audit; kill moments are phased from it.
    await waitFor('the first health-audit run', () => runs.size > 0, 2 * PERIOD_MS);
    const timerAnchor = [...runs.values()][0]?.start ?? Date.now();
    const client = startClient(fe.host, fe.port, o.rate);
    const calls0 = cloud.calls();
    const started = Date.now();
    const kills: {
      killedAt: number;
      detectAt: number;
      shiftAt: number;
      revivedAt: number;
      backAt: number;
    }[] = [];
    for (let i = 0; i < o.kills; i++) {
      // The next moment at phase (i + 0.5) / kills of the audit's minute, at least 5 s away.
      const phase = ((i + 0.5) / o.kills) * PERIOD_MS;
      let at = timerAnchor + phase;
      while (at < Date.now() + 5000) at += PERIOD_MS;
      await new Promise((r) => setTimeout(r, at - Date.now()));
      // Stamped before the kill: connections are refused from its first moment, not when it resolves.
      const killedAt = Date.now();
      await stack.backends.k8s.kill();
      const detectAt = await waitFor(
        'the health check to mark K8S abnormal',
        () => health() === 'abnormal',
        60_000,
      );
      let shiftAt: number;
      if (mode === 'warm') {
        shiftAt = await waitFor(
          'the standby to serve',
          () => client.samples.some((s) => s.sentAt >= detectAt && s.backend === ECS),
          30_000,
        );
        shiftAt = client.samples.find((s) => s.sentAt >= detectAt && s.backend === ECS)?.sentAt ?? shiftAt;
        // Failover still sets the capacity weights; wait for them before reviving.
        await waitFor('weights shifted', () => weight(ECS) === 100, 150_000);
      } else
        shiftAt = await waitFor('weights shifted', () => weight(ECS) === 100 && weight(K8S) === 0, 150_000);
      await new Promise((r) => setTimeout(r, 2000));
      await stack.backends.k8s.revive();
      const revivedAt = Date.now();
      const backAt = await waitFor(
        'the failback',
        () => weight(K8S) === 100 && weight(ECS) === standbyWeight,
        300_000,
      );
      await new Promise((r) => setTimeout(r, 3000));
      kills.push({ killedAt, detectAt, shiftAt, revivedAt, backAt: backAt + 3000 });
      say(
        `kill ${i + 1}/${o.kills} at ${((killedAt - timerAnchor) % PERIOD_MS) / 1000}s of the minute: detect ${detectAt - killedAt} ms, shift ${shiftAt - killedAt} ms, failback ${backAt - revivedAt} ms after revival`,
      );
    }
    await client.stop();
    const minutes = (Date.now() - started) / PERIOD_MS;
    const samples = client.samples;
    const failed = samples.filter((s) => !s.ok);
    const inFailback = (s: Sample) => kills.some((k) => s.sentAt >= k.revivedAt && s.sentAt <= k.backAt);
    const windows = kills.map((k) => {
      // A request in flight when the backend died counts: it was answered after the kill.
      const f = failed.filter((s) => s.endAt >= k.killedAt && s.sentAt < k.revivedAt);
      return f.length ? max(f.map((s) => s.endAt)) - Math.min(...f.map((s) => s.sentAt)) : 0;
    });
    const odd = failed.filter(
      (s) => inFailback(s) || !kills.some((k) => s.endAt >= k.killedAt && s.sentAt < k.revivedAt),
    );
    if (odd.length) {
      const where = (x: Sample) => {
        const k = kills.find((k) => x.sentAt >= k.revivedAt && x.sentAt <= k.backAt);
        return k
          ? `revival+${x.sentAt - k.revivedAt}ms (failback done at +${k.backAt - 3000 - k.revivedAt}ms)`
          : `${x.sentAt - started}ms`;
      };
      say(`failures outside the kill windows: ${odd.map((x) => `${x.status} at ${where(x)}`).join(', ')}`);
    }
    const row: OutageRow = {
      case: 'outage',
      mode,
      kills: o.kills,
      detectP50Ms: p50(kills.map((k) => k.detectAt - k.killedAt)),
      shiftP50Ms: p50(kills.map((k) => k.shiftAt - k.killedAt)),
      shiftMaxMs: max(kills.map((k) => k.shiftAt - k.killedAt)),
      errorWindowP50Ms: p50(windows),
      errorWindowMaxMs: max(windows),
      failedRequests: failed.filter((s) => !inFailback(s)).length,
      totalRequests: samples.length,
      failbackFailedRequests: failed.filter(inFailback).length,
    };
    const calls1 = cloud.calls();
    const reads = Object.entries(calls1.calls)
      .filter(([action]) => /^Describe|^List/.test(action))
      .reduce((n, [action, c]) => n + c - (calls0.calls[action] ?? 0), 0);
    const health1 = (calls1.calls.DescribeHealthStatus ?? 0) - (calls0.calls.DescribeHealthStatus ?? 0);
    const durations = [...runs.values()].filter((r) => r.start >= started).map((r) => r.end - r.start);
    const auditRunMs = durations.length ? durations.reduce((a, b) => a + b, 0) / durations.length : 0;
    const detail: OutageDetailRow = {
      case: 'outage-detail',
      mode,
      detectToShiftP50Ms: p50(kills.map((k) => k.shiftAt - k.detectAt)),
      detectToShiftMaxMs: max(kills.map((k) => k.shiftAt - k.detectAt)),
      minutes: Math.round(minutes * 10) / 10,
      readsPerMinute: Math.round((reads / minutes) * 10) / 10,
      healthReadsPerMinute: Math.round((health1 / minutes) * 10) / 10,
      auditRunMs: Math.round(auditRunMs),
      healthAuditGbSecondsPerMonth: Math.round((auditRunMs / 1000) * AUDIT_MEMORY_GB * 43_200),
    };
    return { row, detail };
  } finally {
    await stack.close();
  }
}

async function setStandbyWeight(stack: Stack, weight: number): Promise<void> {
  const { slb } = connectLocalCloud(stack.cloud);
  await slb.setVServerGroupAttribute({
    regionId: MALL.regionId,
    vServerGroupId: MALL.vServerGroup.vServerGroupId,
    backendServers: [{ serverId: MALL.ecs.serverId, port: MALL.ecs.port, weight }],
  });
}

/** Runs the modes (side by side unless `serial`) and returns their lines: outage rows, then detail rows. */
export async function outageBench(o: OutageOptions): Promise<(OutageRow | OutageDetailRow)[]> {
  await buildFunctions({ functionsDir: join(ROOT, 'functions'), outDir: join(ROOT, 'dist') });
  const results: { row: OutageRow; detail: OutageDetailRow }[] = [];
  if (o.serial) for (const m of o.modes) results.push(await runMode(m, o));
  else results.push(...(await Promise.all(o.modes.map((m) => runMode(m, o)))));
  return [...results.map((r) => r.row), ...results.map((r) => r.detail)];
}
