// The local cloud carries traffic: real requests through the listeners' front ends reach real HTTP
// stand-ins for the mall's backends, by weight and health as CLB schedules them, through forwarding
// rules, with the redirect listener's 301 and the X-Forwarded-* headers the listener settings ask for.
// Health is ticked by hand (healthChecks 'manual'), so nothing here depends on timing.

import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type StandIn, startStandIn } from '../../scripts/backends/http-backend';
import { BACKEND_HEADER, GroupScheduler, matchRule } from '../../scripts/local-cloud/front-end-proxy';
import { MALL } from '../../scripts/local-cloud/scenarios/mall-fixture';
import type { RuleRecord } from '../../scripts/local-cloud/state';
import type { Cloud } from '../../shared/cloud/index';
import { cloudLayerFor, startTestCloud, type TestCloud } from '../support/local-cloud';

const regionId = MALL.regionId;
const lb = MALL.loadBalancerId;
const K8S = `${MALL.k8s.serverId}:${MALL.k8s.port}`;
const ECS = `${MALL.ecs.serverId}:${MALL.ecs.port}`;
let cloud: TestCloud;
let layer: Cloud;
let k8s: StandIn;
let ecs: StandIn;

beforeAll(async () => {
  k8s = await startStandIn({ name: 'k8s' });
  ecs = await startStandIn({ name: 'ecs' });
  cloud = await startTestCloud({ scenario: 'mall', healthChecks: 'manual' });
  layer = cloudLayerFor(cloud);
});
afterAll(async () => {
  await cloud.close();
  await k8s.close();
  await ecs.close();
});
beforeEach(async () => {
  cloud.reset();
  await k8s.heal();
  await ecs.heal();
  cloud.setBackendAddress(K8S, `127.0.0.1:${k8s.port}`);
  cloud.setBackendAddress(ECS, `127.0.0.1:${ecs.port}`);
  await cloud.tickHealth();
});

interface Answer {
  status: number;
  backend?: string;
  location?: string;
  body: string;
}

async function send(o: {
  listenerPort?: number;
  path?: string;
  host?: string;
  headers?: Record<string, string>;
}): Promise<Answer> {
  const port = o.listenerPort ?? MALL.https.port;
  const f = (await cloud.frontEnds()).find((x) => x.loadBalancerId === lb && x.listenerPort === port);
  if (!f) throw new Error(`no front end for ${port}`);
  const host = o.host ?? MALL.https.domains[0];
  const options = {
    host: f.host,
    port: f.port,
    path: o.path ?? '/',
    headers: { host, ...o.headers },
    agent: false as const,
  };
  return new Promise((resolve, reject) => {
    const onAnswer = (res: import('node:http').IncomingMessage) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        body += c;
      });
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          body,
          ...(typeof res.headers[BACKEND_HEADER] === 'string'
            ? { backend: res.headers[BACKEND_HEADER] }
            : {}),
          ...(res.headers.location ? { location: res.headers.location } : {}),
        }),
      );
    };
    const req =
      f.protocol === 'https'
        ? httpsRequest({ ...options, servername: host, rejectUnauthorized: false }, onAnswer)
        : httpRequest(options, onAnswer);
    req.on('error', reject);
    req.end();
  });
}

async function many(n: number, o: Parameters<typeof send>[0] = {}): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (let i = 0; i < n; i++) {
    const a = await send(o);
    const k = a.backend ?? String(a.status);
    counts[k] = (counts[k] ?? 0) + 1;
  }
  return counts;
}

const setWeights = (
  k8sWeight: number,
  ecsWeight: number,
  vServerGroupId: string = MALL.vServerGroup.vServerGroupId,
) =>
  layer.slb.setVServerGroupAttribute({
    regionId,
    vServerGroupId,
    backendServers: [
      { serverId: MALL.k8s.serverId, port: MALL.k8s.port, weight: k8sWeight },
      { serverId: MALL.ecs.serverId, port: MALL.ecs.port, weight: ecsWeight },
    ],
  });

/** Health checks until the listener's UnhealthyThreshold (3 for the mall) has been reached. */
async function checks(n = MALL.healthCheck.unhealthyThreshold): Promise<void> {
  for (let i = 0; i < n; i++) await cloud.tickHealth();
}

describe('front ends forward traffic', () => {
  it('sends everything to K8S at weights 100/0, and the stand-in really served it', async () => {
    // Prepare
    const before = k8s.state().requests;
    // Act
    const counts = await many(20);
    // Assess
    expect(counts).toEqual({ [K8S]: 20 });
    expect(k8s.state().requests - before).toBe(20);
    expect((await send({})).body).toBe('served by k8s\n');
  });

  it('forwards on the HTTP front end of a listener that does not redirect', async () => {
    // Prepare: the mall's port 80 redirects; a plain HTTP listener on 8080 forwards
    await layer.slb.createHttpListener({
      regionId,
      loadBalancerId: lb,
      listenerPort: 8080,
      vServerGroupId: MALL.vServerGroup.vServerGroupId,
      healthCheck: { enabled: true, uri: '/healthz' },
    });
    await layer.slb.startListener({ regionId, loadBalancerId: lb, listenerPort: 8080 });
    await cloud.tickHealth();
    // Act
    const a = await send({ listenerPort: 8080 });
    // Assess
    expect(a).toMatchObject({ status: 200, backend: K8S, body: 'served by k8s\n' });
  });

  it('keeps the client connection open across requests (the backend connection is not the client one)', async () => {
    // Prepare
    const f = (await cloud.frontEnds()).find((x) => x.listenerPort === MALL.https.port)!;
    const { Agent } = await import('node:https');
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const sockets = new Set<unknown>();
    const get = () =>
      new Promise<string | undefined>((resolve, reject) => {
        const req = httpsRequest(
          {
            host: f.host,
            port: f.port,
            path: '/',
            servername: 'mall.example.com',
            agent,
            rejectUnauthorized: false,
          },
          (res) => {
            sockets.add(res.socket);
            res.resume();
            res.on('end', () => resolve(res.headers.connection));
          },
        );
        req.on('error', reject);
        req.end();
      });
    // Act
    const first = await get();
    const second = await get();
    agent.destroy();
    // Assess
    expect([first, second]).toEqual(['keep-alive', 'keep-alive']);
    expect(sockets.size).toBe(1);
  });

  it('after K8S dies: 502 until the check marks it abnormal, then 503 with the standby at weight 0', async () => {
    // Act
    await k8s.kill();
    const beforeDetection = await send({});
    await checks();
    const afterDetection = await send({});
    // Assess
    expect(beforeDetection.status).toBe(502);
    expect(cloud.state().listenerHealth?.[`${lb}/https:443/${K8S}`]).toBe('abnormal');
    expect(afterDetection).toMatchObject({ status: 503 });
    expect(afterDetection.backend).toBeUndefined();
  });

  it('after K8S dies with the standby at weight 1: the load balancer alone moves all traffic to ECS', async () => {
    // Prepare
    await setWeights(100, 1);
    // Act
    await k8s.kill();
    await checks();
    const counts = await many(10);
    // Assess
    expect(counts).toEqual({ [ECS]: 10 });
  });

  it('never sends to weight 0 even when it is the only healthy backend', async () => {
    // Prepare
    await setWeights(0, 0);
    // Act
    const counts = await many(5);
    // Assess
    expect(counts).toEqual({ '503': 5 });
    expect(ecs.state().requests).toBeGreaterThan(0); // health checks reached it: it is healthy
  });

  it('wrr: over N requests each backend gets exactly its weighted share', async () => {
    // Prepare
    await setWeights(60, 40);
    // Act
    const counts = await many(100);
    // Assess
    expect(counts).toEqual({ [K8S]: 60, [ECS]: 40 });
  });

  it('rr: weights above 0 do not matter', async () => {
    // Prepare
    await setWeights(90, 10);
    await layer.slb.setHttpsListenerAttribute({
      regionId,
      loadBalancerId: lb,
      listenerPort: MALL.https.port,
      scheduler: 'rr',
    });
    // Act
    const counts = await many(20);
    // Assess
    expect(counts).toEqual({ [K8S]: 10, [ECS]: 10 });
  });

  it('forwarding rules choose their group by domain and URL; the rest goes to the listener group', async () => {
    // Prepare: a second group with ECS only, for api.mall.example.com and /static
    const { vServerGroupId } = await layer.slb.createVServerGroup({
      regionId,
      loadBalancerId: lb,
      vServerGroupName: 'static',
      backendServers: [{ serverId: MALL.ecs.serverId, port: MALL.ecs.port, weight: 100 }],
    });
    await layer.slb.createRules({
      regionId,
      loadBalancerId: lb,
      listenerPort: MALL.https.port,
      rules: [
        { ruleName: 'api', domain: 'api.mall.example.com', vServerGroupId },
        { ruleName: 'static', url: '/static', vServerGroupId },
      ],
    });
    await cloud.tickHealth();
    // Act
    const api = await send({ host: 'api.mall.example.com' });
    const assets = await send({ path: '/static/app.js' });
    const page = await send({ path: '/cart' });
    // Assess
    expect(api.backend).toBe(ECS);
    expect(assets.backend).toBe(ECS);
    expect(page.backend).toBe(K8S);
  });

  it('the redirect listener answers 301 to the HTTPS port, and forwards nothing', async () => {
    // Prepare
    const before = k8s.state().requests + ecs.state().requests;
    // Act
    const a = await send({ listenerPort: MALL.http.port, path: '/cart?id=7', host: 'mall.example.com:80' });
    // Assess
    expect(a.status).toBe(301);
    expect(a.location).toBe('https://mall.example.com/cart?id=7');
    expect(k8s.state().requests + ecs.state().requests).toBe(before);
  });

  it('adds X-Forwarded-For by default, and X-Forwarded-Proto and the SLB headers when the listener says so', async () => {
    // Act
    const plain = JSON.parse(
      (await send({ path: '/_headers', headers: { 'x-forwarded-for': '10.0.0.9' } })).body,
    );
    await layer.slb.setHttpsListenerAttribute({
      regionId,
      loadBalancerId: lb,
      listenerPort: MALL.https.port,
      attributes: { XForwardedFor_proto: 'on', XForwardedFor_SLBID: 'on', XForwardedFor_SLBPORT: 'on' },
    });
    const withProto = JSON.parse((await send({ path: '/_headers' })).body);
    await layer.slb.setHttpsListenerAttribute({
      regionId,
      loadBalancerId: lb,
      listenerPort: MALL.https.port,
      attributes: { XForwardedFor: 'off' },
    });
    const off = JSON.parse((await send({ path: '/_headers' })).body);
    // Assess
    expect(plain['x-forwarded-for']).toBe('10.0.0.9, 127.0.0.1');
    expect(plain['x-forwarded-proto']).toBeUndefined();
    expect(withProto).toMatchObject({
      'x-forwarded-for': '127.0.0.1',
      'x-forwarded-proto': 'https',
      'slb-id': lb,
      'x-forwarded-port': '443',
    });
    expect(off['x-forwarded-for']).toBeUndefined();
    expect(off['x-forwarded-proto']).toBe('https');
  });
});

describe('scheduling and rule matching', () => {
  it('smooth wrr spreads 5/1/1 as a,a,b,a,c,a,a (never a burst of one backend when avoidable)', () => {
    const s = new GroupScheduler();
    const c = [
      { key: 'a', weight: 5 },
      { key: 'b', weight: 1 },
      { key: 'c', weight: 1 },
    ];
    const order = Array.from({ length: 7 }, () => s.pick(c, 'wrr', () => 0));
    expect(order).toEqual(['a', 'a', 'b', 'a', 'c', 'a', 'a']);
  });

  it('wlc picks the fewest open requests per weight', () => {
    const s = new GroupScheduler();
    const open: Record<string, number> = { a: 4, b: 1 };
    const pick = s.pick(
      [
        { key: 'a', weight: 100 },
        { key: 'b', weight: 10 },
      ],
      'wlc',
      (k) => open[k] ?? 0,
    );
    expect(pick).toBe('a');
  });

  it('picks nothing from an empty set', () => {
    expect(new GroupScheduler().pick([], 'wrr', () => 0)).toBeUndefined();
  });

  const rule = (ruleId: string, domain?: string, url?: string): RuleRecord => ({
    ruleId,
    ruleName: ruleId,
    regionId,
    loadBalancerId: lb,
    listenerPort: 443,
    listenerProtocol: 'https',
    vServerGroupId: `rsp-${ruleId}`,
    extra: {},
    ...(domain ? { domain } : {}),
    ...(url ? { url } : {}),
  });
  const rules = [
    rule('exact', 'api.example.com'),
    rule('wild', '*.example.com'),
    rule('exact-v2', 'api.example.com', '/v2'),
    rule('static', undefined, '/static'),
    rule('static-img', undefined, '/static/img'),
  ];
  it.each([
    ['api.example.com', '/v2/x', 'exact-v2'],
    ['API.example.com', '/v1', 'exact'],
    ['shop.example.com', '/static/a', 'wild'],
    ['a.b.example.com', '/static/img/x.png', 'static-img'],
    ['other.org', '/static/a', 'static'],
    ['other.org', '/', undefined],
  ])('%s%s -> %s', (host, path, expected) => {
    expect(matchRule(rules, host, path)?.ruleId).toBe(expected);
  });
});
