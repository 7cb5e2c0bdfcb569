// The local cloud's real health checks (health-checker.ts) against HTTP stand-ins for the mall's
// backends, read back through DescribeHealthStatus with the real SDK: first status, thresholds, kill and
// revive, failing status, slowness beyond the timeout (and the interval-as-timeout rule), checks turned
// off or listener stopped, forced health, one check per (backend, settings), the admin API. Then the
// checker on its own: its clock, TCP checks, what an HTTP check sends. Loopback only, free ports only.
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type StandIn, startStandIn } from '../../scripts/backends/http-backend';
import { HealthChecker, type RepeatingTimer } from '../../scripts/local-cloud/health-checker';
import { MALL } from '../../scripts/local-cloud/scenarios/mall-fixture';
import {
  type CloudState,
  emptyState,
  type HealthCheckSettings,
  type ListenerRecord,
} from '../../scripts/local-cloud/state';
import type { HealthCheck } from '../../shared/cloud/slb/listeners';
import { callSlb, cloudLayerFor, startTestCloud, type TestCloud } from '../support/local-cloud';

const K8S = `${MALL.k8s.serverId}:30250`;
const ECS = `${MALL.ecs.serverId}:8050`;
const { regionId, loadBalancerId } = MALL;
const { healthyThreshold, unhealthyThreshold } = MALL.healthCheck;
let cloud: TestCloud;
let k8s: StandIn;
let ecs: StandIn;

beforeAll(async () => {
  k8s = await startStandIn({ name: 'k8s-nodeport' });
  ecs = await startStandIn({ name: 'ecs-standby' });
});
afterAll(async () => {
  await k8s.close();
  await ecs.close();
});
beforeEach(async () => {
  await k8s.heal();
  await ecs.heal();
  cloud = await startTestCloud({ scenario: 'mall', healthChecks: 'manual', tlsFrontEnds: false });
  cloud.setBackendAddress(K8S, `127.0.0.1:${k8s.port}`);
  cloud.setBackendAddress(ECS, `127.0.0.1:${ecs.port}`);
});
afterEach(() => cloud.close());

/** DescribeHealthStatus through the cloud layer (the real openapi-client): `port/serverId:port` -> state */
async function health(listenerPort?: number): Promise<Record<string, string>> {
  const rows = await cloudLayerFor(cloud).slb.describeHealthStatus({
    regionId,
    loadBalancerId,
    ...(listenerPort ? { listenerPort } : {}),
  });
  return Object.fromEntries(rows.map((r) => [`${r.serverId}:${r.port}`, r.state]));
}
async function ticks(n: number): Promise<void> {
  for (let i = 0; i < n; i++) await cloud.tickHealth();
}
function setHttps(healthCheck: Partial<HealthCheck>): Promise<unknown> {
  return cloudLayerFor(cloud).slb.setHttpsListenerAttribute({
    regionId,
    loadBalancerId,
    listenerPort: MALL.https.port,
    healthCheck,
  });
}
/** A second listener on the mall's group: HTTP, running, with the mall's checks unless overridden. */
async function addHttpListener(port: number, overrides: Record<string, string | number> = {}): Promise<void> {
  const hc = MALL.healthCheck;
  await callSlb(cloud, 'CreateLoadBalancerHTTPListener', {
    RegionId: regionId,
    LoadBalancerId: loadBalancerId,
    ListenerPort: port,
    Bandwidth: -1,
    StickySession: 'off',
    VServerGroupId: MALL.vServerGroup.vServerGroupId,
    HealthCheck: 'on',
    HealthCheckURI: hc.healthCheckURI,
    HealthCheckMethod: hc.healthCheckMethod,
    HealthCheckHttpCode: hc.healthCheckHttpCode,
    HealthCheckInterval: hc.healthCheckInterval,
    HealthCheckTimeout: hc.healthCheckTimeout,
    HealthyThreshold: hc.healthyThreshold,
    UnhealthyThreshold: hc.unhealthyThreshold,
    ...overrides,
  });
  await callSlb(cloud, 'StartLoadBalancerListener', {
    RegionId: regionId,
    LoadBalancerId: loadBalancerId,
    ListenerPort: port,
  });
}

describe('local cloud health checks, through DescribeHealthStatus', () => {
  it('reports unavailable before the first check, then both normal after one, the weight-0 standby included', async () => {
    expect(await health()).toEqual({ [K8S]: 'unavailable', [ECS]: 'unavailable' });
    const before = { k8s: k8s.state().requests, ecs: ecs.state().requests };
    await ticks(1);
    expect(await health()).toEqual({ [K8S]: 'normal', [ECS]: 'normal' });
    expect(k8s.state().requests - before.k8s).toBe(1);
    expect(ecs.state().requests - before.ecs).toBe(1);
    expect(cloud.state().backendHealth).toEqual({ [K8S]: 'normal', [ECS]: 'normal' });
  });

  it('marks a killed K8S abnormal after unhealthyThreshold failures (ECS stays normal), normal again after healthyThreshold successes', async () => {
    await ticks(1);
    await k8s.kill();
    await ticks(unhealthyThreshold - 1);
    expect(await health()).toEqual({ [K8S]: 'normal', [ECS]: 'normal' });
    await ticks(1);
    expect(await health()).toEqual({ [K8S]: 'abnormal', [ECS]: 'normal' });

    await k8s.revive();
    await ticks(healthyThreshold - 1);
    expect((await health())[K8S]).toBe('abnormal');
    await ticks(1);
    expect(await health()).toEqual({ [K8S]: 'normal', [ECS]: 'normal' });
  });

  it('counts a status outside the configured code classes as a failure, and one inside as a success', async () => {
    await ticks(1);
    ecs.fail(503);
    await ticks(unhealthyThreshold);
    expect(await health()).toEqual({ [K8S]: 'normal', [ECS]: 'abnormal' });
    // http_5xx accepted: the same 503 is now healthy (a settings change keeps the status, restarts the count).
    await setHttps({ httpCodes: ['http_2xx', 'http_5xx'] });
    await ticks(healthyThreshold - 1);
    expect((await health())[ECS]).toBe('abnormal');
    await ticks(1);
    expect((await health())[ECS]).toBe('normal');
  });

  it('counts an answer slower than the timeout as a failure; a timeout below the interval waits the interval', async () => {
    await setHttps({ interval: 10, timeout: 1, unhealthyThreshold: 2 });
    await ticks(1);
    k8s.slow(1200);
    // timeout 1 s < interval 10 s: the interval (10 s) is the timeout, so 1.2 s is in time with seconds to
    // spare however loaded the machine. Then timeout 1 s: the checker's 1 s timer is armed before the
    // stand-in's 1.2 s one, so it always fires first: a failure on any machine.
    await ticks(2);
    expect((await health())[K8S]).toBe('normal');
    await setHttps({ interval: 1, timeout: 1 });
    await ticks(2);
    expect(await health()).toEqual({ [K8S]: 'abnormal', [ECS]: 'normal' });
  });

  it('reports unavailable when the listener does not check or is stopped, and checks nothing then', async () => {
    await ticks(1);
    await setHttps({ enabled: false });
    const before = k8s.state().requests;
    await ticks(2);
    expect(await health()).toEqual({ [K8S]: 'unavailable', [ECS]: 'unavailable' });
    expect(k8s.state().requests).toBe(before);

    await setHttps({ enabled: true });
    await ticks(1);
    expect(await health()).toEqual({ [K8S]: 'normal', [ECS]: 'normal' });
    await callSlb(cloud, 'StopLoadBalancerListener', {
      RegionId: regionId,
      LoadBalancerId: loadBalancerId,
      ListenerPort: MALL.https.port,
    });
    expect(await health()).toEqual({ [K8S]: 'unavailable', [ECS]: 'unavailable' });
  });

  it('lets forced health win over the checks at once, and reset forget both', async () => {
    await ticks(1);
    cloud.setHealth({ [ECS]: 'abnormal' });
    expect(await health()).toEqual({ [K8S]: 'normal', [ECS]: 'abnormal' });
    await ticks(healthyThreshold);
    expect((await health())[ECS]).toBe('abnormal');
    cloud.reset();
    expect(await health()).toEqual({ [K8S]: 'unavailable', [ECS]: 'unavailable' });
    await ticks(1);
    expect(await health()).toEqual({ [K8S]: 'normal', [ECS]: 'normal' });
  });

  it('checks once per backend for listeners sharing a group and settings, separately when settings differ', async () => {
    await addHttpListener(8081);
    let before = k8s.state().requests;
    await ticks(1);
    expect(k8s.state().requests - before).toBe(1);

    await addHttpListener(8080, { HealthCheckURI: '/index.html' });
    before = k8s.state().requests;
    await ticks(1);
    expect(k8s.state().requests - before).toBe(2);

    // /healthz fails, /index.html does not: each listener reports its own check; backendHealth keeps the worst.
    ecs.fail(503);
    await ticks(unhealthyThreshold);
    expect(await health(443)).toEqual({ [K8S]: 'normal', [ECS]: 'abnormal' });
    expect(await health(8081)).toEqual({ [K8S]: 'normal', [ECS]: 'abnormal' });
    expect(await health(8080)).toEqual({ [K8S]: 'normal', [ECS]: 'normal' });
    expect(cloud.state().backendHealth[ECS]).toBe('abnormal');
  });

  it('starts a backend afresh when its address changes', async () => {
    cloud.setBackendAddress(ECS, '127.0.0.1:1');
    await ticks(1);
    expect((await health())[ECS]).toBe('abnormal');
    cloud.setBackendAddress(ECS, `127.0.0.1:${ecs.port}`);
    await ticks(1);
    expect((await health())[ECS]).toBe('normal');
  });

  it('serves the address map, the checks and a round of them through the admin API', async () => {
    const got = await (await fetch(`${cloud.url}/_emulator/backend-addresses`)).json();
    expect(got).toEqual({ [K8S]: `127.0.0.1:${k8s.port}`, [ECS]: `127.0.0.1:${ecs.port}` });
    const bad = await fetch(`${cloud.url}/_emulator/backend-addresses`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ 'i-1': 'nowhere' }),
    });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: string }).error).toMatch(/^backend-addresses\.i-1: keys are/);

    const tick = await fetch(`${cloud.url}/_emulator/health-checks`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
    });
    expect(await tick.json()).toEqual({ [K8S]: 'normal', [ECS]: 'normal' });
    const checks = (await (await fetch(`${cloud.url}/_emulator/health-checks`)).json()) as {
      mode: string;
      checks: { backend: string; target: string; method: string; path: string; status: string }[];
    };
    expect(checks.mode).toBe('manual');
    expect(checks.checks.map((c) => [c.backend, c.target, c.method, c.path, c.status])).toEqual([
      [K8S, `127.0.0.1:${k8s.port}`, 'GET', '/healthz', 'normal'],
      [ECS, `127.0.0.1:${ecs.port}`, 'GET', '/healthz', 'normal'],
    ]);

    const removed = await fetch(`${cloud.url}/_emulator/backend-addresses`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ [ECS]: null }),
    });
    expect(removed.status).toBe(200);
    expect(cloud.backendAddresses()).toEqual({ [K8S]: `127.0.0.1:${k8s.port}` });
  });
});

describe('health checks off (the default)', () => {
  it('leaves health to the admin API: normal unless set, and ticks check nothing', async () => {
    const off = await startTestCloud({ scenario: 'mall', tlsFrontEnds: false });
    try {
      off.setBackendAddress(K8S, `127.0.0.1:${k8s.port}`);
      const before = k8s.state().requests;
      await off.tickHealth();
      expect(k8s.state().requests).toBe(before);
      const rows = await cloudLayerFor(off).slb.describeHealthStatus({ regionId, loadBalancerId });
      expect(rows.map((r) => r.state)).toEqual(['normal', 'normal']);
      expect(off.state().listenerHealth).toBeUndefined();
    } finally {
      await off.close();
    }
  });
});

// ---- the checker on its own: a hand-built state, an injected clock and timer ----

const BASE_HC: HealthCheckSettings = {
  healthCheck: 'on',
  healthCheckInterval: 2,
  healthyThreshold: 2,
  unhealthyThreshold: 2,
  healthCheckTimeout: 2,
};

function oneListener(
  protocol: ListenerRecord['listenerProtocol'],
  hc: Partial<HealthCheckSettings>,
  o: { privateIp?: string; extra?: Record<string, string> } = {},
): CloudState {
  const state = emptyState();
  state.instances.push({
    serverId: 'i-a',
    regionId,
    privateIp: o.privateIp ?? '10.0.0.7',
    status: 'Running',
  });
  state.vServerGroups.push({
    vServerGroupId: 'rsp-1',
    vServerGroupName: 'g',
    loadBalancerId: 'lb-1',
    regionId,
    createTime: '2026-01-01T00:00:00Z',
    backendServers: [{ serverId: 'i-a', port: 80, weight: 0, type: 'ecs' }],
    tags: [],
  });
  state.listeners.push({
    loadBalancerId: 'lb-1',
    listenerPort: 80,
    listenerProtocol: protocol,
    status: 'running',
    bandwidth: -1,
    scheduler: 'wrr',
    vServerGroupId: 'rsp-1',
    healthCheck: { ...BASE_HC, ...hc },
    extra: o.extra ?? {},
    tags: [],
  });
  return state;
}

/** A backend that records what it was asked and answers with `status` after `delayMs`. */
interface Recorder {
  port: number;
  seen: { method: string; url: string; headers: IncomingHttpHeaders }[];
  status: number;
  delayMs: number;
  server: Server;
}
async function startRecorder(): Promise<Recorder> {
  const r: Recorder = { port: 0, seen: [], status: 200, delayMs: 0, server: createServer() };
  r.server.on('request', (req, res) => {
    r.seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
    setTimeout(() => res.writeHead(r.status).end(), r.delayMs);
  });
  await new Promise<void>((ok) => r.server.listen(0, '127.0.0.1', ok));
  r.port = (r.server.address() as AddressInfo).port;
  return r;
}

describe('HealthChecker', () => {
  let rec: Recorder;
  let checker: HealthChecker | undefined;
  beforeEach(async () => {
    rec = await startRecorder();
  });
  afterEach(async () => {
    await checker?.stop();
    checker = undefined;
    rec.server.closeAllConnections();
    await new Promise((ok) => rec.server.close(ok));
  });
  function checkerFor(state: CloudState, o: { now?: () => number; timer?: RepeatingTimer } = {}) {
    checker = new HealthChecker({ mode: 'manual', state: () => state, ...o });
    checker.setAddress('i-a:80', `127.0.0.1:${rec.port}`);
    return checker;
  }

  it.each([
    ['HEAD on / with the private IP as Host by default', {}, 'HEAD', '/', '10.0.0.7'],
    [
      'GET on the URI with the domain as Host',
      { healthCheckMethod: 'get', healthCheckURI: '/hz?x=1', healthCheckDomain: 'mall.example.com' },
      'GET',
      '/hz?x=1',
      'mall.example.com',
    ],
    ['$_ip means the private IP', { healthCheckDomain: '$_ip' }, 'HEAD', '/', '10.0.0.7'],
  ] as const)('sends %s', async (_, hc, method, url, host) => {
    const state = oneListener('https', hc);
    await checkerFor(state).tick();
    expect(rec.seen.map((s) => [s.method, s.url, s.headers.host])).toEqual([[method, url, host]]);
    expect(state.backendHealth).toEqual({ 'i-a:80': 'normal' });
    expect(state.listenerHealth).toEqual({ 'lb-1/https:80/i-a:80': 'normal' });
  });

  it.each([
    [200, undefined, 'normal'],
    [302, undefined, 'abnormal'],
    [302, 'http_2xx,http_3xx', 'normal'],
    [404, 'http_4xx', 'normal'],
    [500, 'http_2xx,http_3xx,http_4xx', 'abnormal'],
  ] as const)('judges %i against codes %s: %s', async (status, codes, expected) => {
    rec.status = status;
    const state = oneListener('http', codes ? { healthCheckHttpCode: codes } : {});
    await checkerFor(state).tick();
    expect(state.backendHealth['i-a:80']).toBe(expected);
  });

  it('checks only what is due on the injected clock, and start() runs a round at once, then on its timer', async () => {
    let now = 0;
    const beats: (() => Promise<void>)[] = [];
    const timer: RepeatingTimer = {
      every: (_, fn) => {
        beats.push(fn);
        return { cancel: () => beats.splice(0) };
      },
    };
    const state = oneListener('http', {});
    const c = checkerFor(state, { now: () => now, timer });
    await c.beat();
    expect(rec.seen).toHaveLength(1);
    now = 1999;
    await c.beat();
    expect(rec.seen).toHaveLength(1);
    now = 2000;
    await c.beat();
    expect(rec.seen).toHaveLength(2);

    now = 4000;
    await c.start();
    expect(rec.seen).toHaveLength(3);
    expect(beats).toHaveLength(1);
    now = 6000;
    await beats[0]?.();
    expect(rec.seen).toHaveLength(4);
  });

  it('connects over TCP for a TCP listener (HTTP when it says HealthCheckType http), thresholds applying', async () => {
    const tcp = oneListener('tcp', {});
    const c = checkerFor(tcp);
    await c.tick();
    expect(tcp.backendHealth['i-a:80']).toBe('normal');
    expect(rec.seen).toHaveLength(0);
    rec.server.closeAllConnections();
    await new Promise((ok) => rec.server.close(ok));
    await c.tick();
    expect(tcp.backendHealth['i-a:80']).toBe('normal');
    await c.tick();
    expect(tcp.backendHealth['i-a:80']).toBe('abnormal');

    rec = await startRecorder();
    const http = oneListener('tcp', {}, { extra: { HealthCheckType: 'http' } });
    await checkerFor(http).tick();
    expect(rec.seen.map((s) => s.method)).toEqual(['HEAD']);
  });

  it('fails a backend with no known address, and a health-check connect port with no stand-in on it', async () => {
    const state = oneListener('http', { healthCheckConnectPort: 1 }, { privateIp: '127.0.0.1' });
    await checkerFor(state).tick();
    expect(state.backendHealth['i-a:80']).toBe('abnormal');
    expect(rec.seen).toHaveLength(0);

    const noIp = oneListener('http', {});
    noIp.instances = [];
    checker = new HealthChecker({ mode: 'manual', state: () => noIp });
    await checker.tick();
    expect(noIp.backendHealth['i-a:80']).toBe('abnormal');
  });
});
