// The provision function in-process: FC 3.0 HTTP events in, responses out, against a local cloud.
// Checks the endpoints, the HMAC authentication (missing, bad, stale, replayed), the body limits, and
// that every refused request changes nothing in the cloud.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parse as parseYaml, stringify } from 'yaml';
import { handler } from '../../functions/provision/index';
import { MALL } from '../../scripts/local-cloud/scenarios/mall-fixture';
import type { FcHttpResult } from '../../shared/runtime/fc-events';
import { SIGNATURE_HEADER, signedHeaders, TIMESTAMP_HEADER } from '../../shared/runtime/hmac-auth';
import { fcContext, httpEvent } from '../support/fc';
import { startTestCloud, type TestCloud } from '../support/local-cloud';

const SECRET = 'provision-test-secret-0123456789abcdef';
const mallYaml = readFileSync(join(__dirname, '..', '..', 'examples', 'mall.yaml'), 'utf8');
// biome-ignore lint/suspicious/noExplicitAny: edits of the raw YAML tree
const edit = (change: (s: any) => void): string => {
  const s = parseYaml(mallYaml);
  change(s);
  return stringify(s);
};
const createdMall = edit((s) => {
  delete s.loadBalancers[0].id;
  s.loadBalancers[0].create = { addressType: 'internet', spec: 'slb.s2.small' };
});

const saved = { ...process.env };
afterAll(() => {
  process.env = saved;
});

interface Call {
  method: string;
  path: string;
  body?: string | Buffer;
  contentType?: string;
  sign?: boolean;
  headers?: Record<string, string>;
  query?: Record<string, string>;
  now?: Date;
}

async function call(
  c: Call,
): Promise<{ status: number; body: Record<string, unknown>; raw: FcHttpResult; logs: string[] }> {
  const body = c.body ?? '';
  const headers: Record<string, string> = {
    ...(c.contentType ? { 'content-type': c.contentType } : {}),
    ...(c.sign === false
      ? {}
      : signedHeaders(
          SECRET,
          {
            method: c.method,
            path: c.path,
            ...(c.query ? { query: c.query } : {}),
            ...(c.contentType ? { contentType: c.contentType } : {}),
            body,
          },
          c.now ?? new Date(),
        )),
    ...c.headers,
  };
  const context = fcContext('provision');
  const raw = await handler(
    httpEvent({ method: c.method, path: c.path, headers, body, ...(c.query ? { query: c.query } : {}) }),
    context,
  );
  return { status: raw.statusCode, body: JSON.parse(raw.body ?? '{}'), raw, logs: context.lines };
}

const yaml = 'application/yaml';

function useCloud(scenario: 'mall' | 'mall-unprovisioned') {
  const box: { cloud?: TestCloud } = {};
  beforeEach(async () => {
    box.cloud = await startTestCloud({ scenario });
    process.env.SLB_AUTOPILOT_LOCAL_CLOUD = box.cloud.url;
    process.env.SLB_AUTOPILOT_API_SECRET = SECRET;
    process.env.SLB_AUTOPILOT_SPEC = mallYaml;
    // One instance per test here: no concurrent claims to wait for.
    process.env.SLB_AUTOPILOT_APPLY_SETTLE_MS = '0';
  });
  afterEach(async () => {
    await box.cloud?.close();
  });
  return () => {
    if (!box.cloud) throw new Error('no cloud');
    return box.cloud;
  };
}

describe('provision on the mall', () => {
  const cloud = useCloud('mall');

  it('POST /plan: nothing for the mall as it is, one action for one weight', async () => {
    const same = await call({ method: 'POST', path: '/plan', body: mallYaml, contentType: yaml });
    expect(same.status).toBe(200);
    expect(same.body.actions).toEqual([]);
    const json = JSON.stringify(
      parseYaml(edit((s) => (s.loadBalancers[0].vServerGroups[0].backends[1].weight = 30))),
    );
    const one = await call({ method: 'POST', path: '/plan', body: json, contentType: 'application/json' });
    expect(one.status).toBe(200);
    expect(one.body.actions).toEqual([
      expect.objectContaining({ kind: 'setBackendWeights', description: expect.stringContaining('-> 30') }),
    ]);
    expect(cloud().calls().calls).not.toHaveProperty('SetVServerGroupAttribute');
  });

  it('GET /status: listeners with certificate expiry, backends with weights and health', async () => {
    cloud().setHealth({ [`${MALL.k8s.serverId}:30250`]: 'abnormal' });
    const r = await call({ method: 'GET', path: '/status' });
    expect(r.status).toBe(200);
    const [lb] = r.body.loadBalancers as {
      loadBalancerId: string;
      listeners: { port: number; certificate?: { daysLeft: number; commonName: string } }[];
      groups: { backends: { serverId: string; weight: number; health: string }[] }[];
    }[];
    expect(lb?.loadBalancerId).toBe(MALL.loadBalancerId);
    const https = lb?.listeners.find((l) => l.port === 443);
    expect(https?.certificate?.daysLeft).toBeGreaterThanOrEqual(MALL.expiringInDays - 1);
    expect(https?.certificate?.daysLeft).toBeLessThanOrEqual(MALL.expiringInDays);
    expect(lb?.groups[0]?.backends.map((b) => [b.serverId, b.weight, b.health])).toEqual([
      [MALL.k8s.serverId, 100, 'abnormal'],
      [MALL.ecs.serverId, 0, 'normal'],
    ]);
    expect(r.body.drift).toEqual([]);
  });

  it.each([
    ['GET', '/plan', 405, 'MethodNotAllowed'],
    ['DELETE', '/apply', 405, 'MethodNotAllowed'],
    ['GET', '/nope', 404, 'NotFound'],
  ])('%s %s answers %i', async (method, path, status, error) => {
    const r = await call({ method, path });
    expect([r.status, r.body.error]).toEqual([status, error]);
    expect(String(r.body.message)).toContain(path);
  });
});

describe('provision rotate and failover', () => {
  const cloud = useCloud('mall');

  it('POST /rotate with dryRun reports what renewal would do and writes nothing', async () => {
    const r = await call({
      method: 'POST',
      path: '/rotate',
      body: '{"dryRun":true}',
      contentType: 'application/json',
    });
    expect(r.status).toBe(200);
    expect((r.body.references as { action: string }[]).map((x) => x.action)).toEqual([
      'wouldRotate',
      'wouldRotate',
    ]);
    expect(Object.keys(cloud().calls().calls).every((a) => /^(Describe|List|Get)/.test(a))).toBe(true);
  });

  it('POST /failover is guarded like the automatic path: no shift to a standby that does not answer', async () => {
    const before = cloud().state();
    const r = await call({
      method: 'POST',
      path: '/failover',
      body: JSON.stringify({ command: 'toStandby', loadBalancerId: MALL.loadBalancerId }),
      contentType: 'application/json',
    });
    expect(r.status).toBe(200);
    const [group] = r.body.groups as { decision: { kind: string; blockedBy?: string } }[];
    expect(group?.decision).toMatchObject({ kind: 'none', blockedBy: 'targetHealthy' });
    expect(cloud().state().vServerGroups[0]?.backendServers).toEqual(before.vServerGroups[0]?.backendServers);
  });

  it.each([
    ['/failover', '{"command":"sideways","loadBalancerId":"lb-x1"}', 400, /body\.command: must be one of/],
    [
      '/failover',
      '{"command":"toStandby","loadBalancerId":"lb-unknown1"}',
      422,
      /is not a load balancer the spec manages/,
    ],
    ['/rotate', '{"dryRun":"yes"}', 400, /body\.dryRun: /],
    ['/rotate', 'not json', 400, /body: not JSON/],
    [
      '/failover',
      `{"command":"toPrimary","loadBalancerId":"${MALL.loadBalancerId}","command":"toStandby"}`,
      400,
      /^body\.command: is a duplicate key/,
    ],
    ['/rotate', '{"dryRun":true,"dryRun":false}', 400, /^body\.dryRun: is a duplicate key/],
  ])('POST %s %s answers %i naming the problem, changing nothing', async (path, body, status, message) => {
    const before = cloud().state();
    const r = await call({ method: 'POST', path, body, contentType: 'application/json' });
    expect(r.status).toBe(status);
    expect(String(r.body.message)).toMatch(message);
    expect(cloud().state()).toEqual(before);
  });
});

describe('provision apply', () => {
  const cloud = useCloud('mall-unprovisioned');
  const writes = () =>
    Object.entries(cloud().calls().calls)
      .filter(([a]) => !/^(Describe|List|Get)/.test(a))
      .reduce((n, [, k]) => n + k, 0);

  it('takes the mall from nothing to serving in one authenticated apply; the second writes only its record', async () => {
    const first = await call({ method: 'POST', path: '/apply', body: createdMall, contentType: yaml });
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ done: 7, failed: null });
    const state = cloud().state();
    expect(state.listeners.map((l) => [l.listenerPort, l.status])).toEqual([
      [443, 'running'],
      [80, 'running'],
    ]);
    const after = writes();
    const tagged = cloud().calls().calls.TagResources ?? 0;
    const second = await call({
      method: 'POST',
      path: '/apply',
      body: createdMall,
      contentType: yaml,
      now: new Date(Date.now() + 1000),
    });
    expect(second.body).toMatchObject({ done: 0, actions: [], failed: null });
    // The only write: the load balancer's record of this apply (its signed time, against replays).
    expect(writes()).toBe(after + 1);
    expect(cloud().calls().calls.TagResources).toBe(tagged + 1);
  });

  it('reports a failed apply with what was done and what was not (502), and a re-apply converges', async () => {
    cloud().setFaults({ failWritesAfter: 2 });
    const first = await call({ method: 'POST', path: '/apply', body: createdMall, contentType: yaml });
    expect(first.status).toBe(502);
    expect(first.body).toMatchObject({ error: 'ApplyFailed', done: 2 });
    expect((first.body.notDone as unknown[]).length).toBe(4);
    expect(String((first.body.failed as { error: string }).error)).toContain('Forbidden.RAM');
    cloud().setFaults({});
    const second = await call({ method: 'POST', path: '/apply', body: createdMall, contentType: yaml });
    expect(second.body).toMatchObject({ done: 5, failed: null });
  });

  const old = new Date(Date.now() - 10 * 60_000);
  it.each<[string, Partial<Call>, number, RegExp]>([
    [
      'no signature',
      { sign: false },
      401,
      /x-slbap-timestamp, x-slbap-nonce and x-slbap-signature headers are required/,
    ],
    ['a bad signature', { headers: { [SIGNATURE_HEADER]: `v2=${'0'.repeat(64)}` } }, 401, /does not match/],
    [
      'a signature made with another secret',
      { headers: { [TIMESTAMP_HEADER]: '1' } },
      401,
      /outside the 60 s window/,
    ],
    ['a stale timestamp', { now: old }, 401, /outside the 60 s window/],
    ['a body over 256 KiB', { body: `# ${'x'.repeat(300 * 1024)}` }, 413, /body: larger than 262144 bytes/],
    [
      'a text/plain body',
      { contentType: 'text/plain' },
      415,
      /content-type: must be one of application\/json/,
    ],
    ['a malformed spec', { body: 'version: 1\nregion: nowhere\n' }, 400, /body is not valid/],
  ])('refuses %s with the right 4xx and changes nothing', async (_name, overrides, status, message) => {
    const before = cloud().state();
    const r = await call({
      method: 'POST',
      path: '/apply',
      body: createdMall,
      contentType: yaml,
      ...overrides,
    });
    expect(r.status).toBe(status);
    expect(String(r.body.message)).toMatch(message);
    expect(writes()).toBe(0);
    expect(cloud().state()).toEqual(before);
    expect(r.raw.body).not.toContain(SECRET);
    expect(r.raw.body).not.toMatch(/\n\s+at /);
  });

  it.each([
    ['POST', '/apply', { certFile: '/dev/zero', keyFile: '/dev/zero' }],
    ['POST', '/plan', { certFile: '/etc/passwd', keyFile: '/etc/shadow' }],
    ['POST', '/apply', { certEnv: 'SLB_AUTOPILOT_API_SECRET', keyEnv: 'HOME' }],
  ])(
    '%s %s refuses a PEM source (%o) with 400 naming the field, calling no cloud API',
    async (method, path, pem) => {
      const before = cloud().state();
      const body = edit((s) => {
        delete s.loadBalancers[0].id;
        s.loadBalancers[0].create = { addressType: 'internet' };
        s.loadBalancers[0].listeners[0].certificate = { pem };
        s.loadBalancers[0].listeners[0].extensionDomains[0].certificate = { pem };
      });
      const r = await call({ method, path, body, contentType: yaml });
      expect(r.status).toBe(400);
      expect(r.body.error).toBe('InvalidSpec');
      expect(String(r.body.message)).toMatch(/^loadBalancers\[0\]\.listeners\[0\]\.certificate\.pem: /);
      expect((r.body.issues as { path: string }[]).map((i) => i.path)).toEqual([
        'loadBalancers[0].listeners[0].certificate.pem',
        'loadBalancers[0].listeners[0].extensionDomains[0].certificate.pem',
      ]);
      expect(cloud().calls().total).toBe(0);
      expect(cloud().state()).toEqual(before);
      expect(r.raw.body).not.toContain(SECRET);
    },
  );

  it('refuses a JSON spec with a repeated key, naming the key path, writing nothing', async () => {
    const json = JSON.stringify(parseYaml(createdMall)).replace('"weight":0', '"weight":0,"weight":100');
    const r = await call({ method: 'POST', path: '/apply', body: json, contentType: 'application/json' });
    expect(r.status).toBe(400);
    expect(r.body.issues).toEqual([
      {
        path: 'loadBalancers[0].vServerGroups[0].backends[1].weight',
        message: 'is a duplicate key (each key once)',
      },
    ]);
    expect(cloud().calls().total).toBe(0);
  });

  it.each<[string, Partial<Call>, number]>([
    ['an unknown route', { method: 'POST', path: '/nope' }, 404],
    ['a wrong method', { method: 'PUT', path: '/apply' }, 405],
    ['bad JSON', { path: '/failover', body: '{"command":', contentType: 'application/json' }, 400],
    ['an oversize body', { body: 'x'.repeat(257 * 1024) }, 413],
    ['an unsigned request', { sign: false }, 401],
    [
      'a YAML bomb of aliases',
      {
        body: 'a: &a [1,1,1,1,1,1,1,1,1]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n',
      },
      400,
    ],
  ])('answers %s with a JSON error naming the problem, no stack trace', async (_name, overrides, status) => {
    const r = await call({
      method: 'POST',
      path: '/apply',
      body: createdMall,
      contentType: yaml,
      ...overrides,
    });
    expect(r.status).toBe(status);
    expect(r.raw.headers?.['content-type']).toMatch(/^application\/json/);
    expect(r.body).toMatchObject({ error: expect.any(String), message: expect.any(String) });
    expect(String(r.body.message).length).toBeGreaterThan(5);
    expect(r.raw.body).not.toMatch(/\n\s+at |node_modules|\.ts:\d+/);
    expect(writes()).toBe(0);
  });

  it('names every spec problem with its field path', async () => {
    const r = await call({
      method: 'POST',
      path: '/apply',
      body: edit((s) => {
        s.loadBalancers[0].listeners[0].port = 0;
        s.loadBalancers[0].vServerGroups[0].backends[0].weight = 101;
      }),
      contentType: yaml,
    });
    expect(r.status).toBe(400);
    expect((r.body.issues as { path: string }[]).map((i) => i.path)).toEqual(
      expect.arrayContaining([
        'loadBalancers[0].listeners[0].port',
        'loadBalancers[0].vServerGroups[0].backends[0].weight',
      ]),
    );
    expect(writes()).toBe(0);
  });

  it('refuses a replayed request', async () => {
    const body = createdMall;
    const headers = signedHeaders(
      SECRET,
      { method: 'POST', path: '/plan', contentType: yaml, body },
      new Date(),
    );
    const first = await call({
      method: 'POST',
      path: '/plan',
      body,
      contentType: yaml,
      sign: false,
      headers,
    });
    expect(first.status).toBe(200);
    const replay = await call({
      method: 'POST',
      path: '/plan',
      body,
      contentType: yaml,
      sign: false,
      headers,
    });
    expect(replay.status).toBe(401);
    expect(String(replay.body.message)).toContain('replay');
  });

  it('refuses a request whose signature covers another path or body', async () => {
    const headers = signedHeaders(
      SECRET,
      { method: 'POST', path: '/plan', contentType: yaml, body: createdMall },
      new Date(),
    );
    const moved = await call({
      method: 'POST',
      path: '/apply',
      body: createdMall,
      contentType: yaml,
      sign: false,
      headers,
    });
    expect(moved.status).toBe(401);
    expect(writes()).toBe(0);
  });

  it.each([
    ['32 identical characters', 'a'.repeat(32)],
    ['a short pattern repeated', 'abcdefghij'.repeat(4)],
    ['a short secret', 'short'],
  ])('refuses to run with a weak secret (%s): 503 naming the variable, never the value', async (_n, weak) => {
    process.env.SLB_AUTOPILOT_API_SECRET = weak;
    const headers = signedHeaders(
      weak,
      { method: 'POST', path: '/apply', contentType: yaml, body: createdMall },
      new Date(),
    );
    const r = await call({
      method: 'POST',
      path: '/apply',
      body: createdMall,
      contentType: yaml,
      sign: false,
      headers,
    });
    expect(r.status).toBe(503);
    expect(r.body.error).toBe('NotConfigured');
    expect(String(r.body.message)).toMatch(/^SLB_AUTOPILOT_API_SECRET: /);
    expect(r.raw.body).not.toContain(weak);
    expect(r.logs.join('\n')).not.toContain(weak);
    expect(cloud().calls().total).toBe(0);
  });

  it('refuses a request whose query differs from the signed one', async () => {
    const headers = signedHeaders(
      SECRET,
      { method: 'POST', path: '/plan', contentType: yaml, query: { a: '1' }, body: createdMall },
      new Date(),
    );
    const r = await call({
      method: 'POST',
      path: '/plan',
      body: createdMall,
      contentType: yaml,
      sign: false,
      headers,
      query: { a: '2' },
    });
    expect(r.status).toBe(401);
    const ok = await call({
      method: 'POST',
      path: '/plan',
      body: createdMall,
      contentType: yaml,
      query: { a: '2' },
    });
    expect(ok.status).toBe(200);
  });

  it('refuses a request signed for another content type (the body would be read differently)', async () => {
    const body = JSON.stringify(parseYaml(createdMall));
    const headers = signedHeaders(
      SECRET,
      { method: 'POST', path: '/plan', contentType: 'application/json', body },
      new Date(),
    );
    const r = await call({ method: 'POST', path: '/plan', body, contentType: yaml, sign: false, headers });
    expect(r.status).toBe(401);
    expect(String(r.body.message)).toMatch(/does not match/);
  });

  it('answers a malformed event with 400 and a missing secret with 503, never running unauthenticated', async () => {
    const context = fcContext('provision');
    const bad = await handler(Buffer.from('{"not":"an http event"}'), context);
    expect(bad.statusCode).toBe(400);
    expect(JSON.parse(bad.body ?? '{}').message).toMatch(/^event\./);
    delete process.env.SLB_AUTOPILOT_API_SECRET;
    const r = await call({ method: 'POST', path: '/apply', body: createdMall, contentType: yaml });
    expect(r.status).toBe(503);
    expect(writes()).toBe(0);
  });

  it('logs one line per request and never the secret or the body', async () => {
    const r = await call({ method: 'POST', path: '/plan', body: createdMall, contentType: yaml });
    expect(r.logs).toHaveLength(1);
    expect(r.logs[0]).toMatch(/"path":"\/plan","status":200/);
    expect(r.logs.join('\n')).not.toContain(SECRET);
    expect(r.logs.join('\n')).not.toContain('mall-backends');
  });
});
