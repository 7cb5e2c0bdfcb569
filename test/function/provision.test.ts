// The provision function in-process: FC 3.0 HTTP events in, responses out, against a local cloud.
// Checks the endpoints, the HMAC authentication (missing, bad, stale, replayed), the body limits, and
// that every refused request changes nothing in the cloud.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parse as parseYaml, stringify } from 'yaml';
import { handler } from '../../functions/provision/index';
import { newAccountKeyPem } from '../../scripts/acme';
import { startStandIn } from '../../scripts/backends/http-backend';
import { MALL } from '../../scripts/local-cloud/scenarios/mall-fixture';
import type { FcHttpResult } from '../../shared/runtime/fc-events';
import { SIGNATURE_HEADER, signedHeaders, TIMESTAMP_HEADER } from '../../shared/runtime/hmac-auth';
import { TEST_LEASE_ENV } from '../support/deployment';
import { fcContext, httpEvent } from '../support/fc';
import { cloudLayerFor, startTestCloud, type TestCloud } from '../support/local-cloud';

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

/** A local cloud per test, and the provision function's environment: `deployed` is its own spec. */
function useCloud(scenario: 'mall' | 'mall-unprovisioned', deployed = mallYaml) {
  const box: { cloud?: TestCloud } = {};
  beforeEach(async () => {
    box.cloud = await startTestCloud({ scenario });
    process.env = { ...saved, ...TEST_LEASE_ENV };
    process.env.SLB_AUTOPILOT_LOCAL_CLOUD = box.cloud.url;
    process.env.SLB_AUTOPILOT_API_SECRET = SECRET;
    process.env.SLB_AUTOPILOT_SPEC = deployed;
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
    // Prepare: the standby is a stand-in on its own port, killed; not whatever listens on the mall's 8050.
    const ecs = await startStandIn({ name: MALL.ecs.description });
    cloud().setBackendAddress(`${MALL.ecs.serverId}:${MALL.ecs.port}`, `127.0.0.1:${ecs.port}`);
    await ecs.kill();
    const before = cloud().state();
    const r = await call({
      method: 'POST',
      path: '/failover',
      body: JSON.stringify({ command: 'toStandby', loadBalancerId: MALL.loadBalancerId }),
      contentType: 'application/json',
    }).finally(() => ecs.close());
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
  // This deployment's own spec creates the mall, so the API may create that one load balancer.
  const cloud = useCloud('mall-unprovisioned', createdMall);
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
    // Writes: the load balancer, the lease's claim, the group; then every write fails, giving the
    // lease back too: the re-apply takes it over once it expires (3 s here).
    process.env.SLB_AUTOPILOT_LEASE_TTL_S = '3';
    cloud().setFaults({ failWritesAfter: 3 });
    const first = await call({ method: 'POST', path: '/apply', body: createdMall, contentType: yaml });
    expect(first.status).toBe(502);
    expect(first.body).toMatchObject({ error: 'ApplyFailed', done: 2 });
    expect((first.body.notDone as unknown[]).length).toBe(4);
    // The failed action's error as any error is answered: its family's code, message and cloud details.
    expect((first.body.failed as { error: unknown }).error).toMatchObject({
      error: 'CloudApiError',
      message: expect.stringContaining('Forbidden.RAM'),
      cloud: { code: 'Forbidden.RAM' },
    });
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

  it.each(['/apply', '/plan'])(
    'POST %s refuses an ACME source (a caller must not pick the CA the function contacts): 400 naming the field, no cloud call',
    async (path) => {
      const before = cloud().state();
      const body = edit((s) => {
        s.loadBalancers[0].listeners[0].certificate = {
          acme: { directory: 'https://acme.attacker.example/dir', email: 'x@example.com' },
        };
        s.loadBalancers[0].listeners[0].extensionDomains[0].certificate = { acme: { staging: true } };
      });
      const r = await call({ method: 'POST', path, body, contentType: yaml });
      expect(r.status).toBe(400);
      expect(r.body.error).toBe('InvalidSpec');
      expect(String(r.body.message)).toMatch(
        /^loadBalancers\[0\]\.listeners\[0\]\.certificate\.acme: ACME issuance is not accepted over HTTP/,
      );
      expect((r.body.issues as { path: string }[]).map((i) => i.path)).toEqual([
        'loadBalancers[0].listeners[0].certificate.acme',
        'loadBalancers[0].listeners[0].extensionDomains[0].certificate.acme',
      ]);
      expect(cloud().calls().total).toBe(0);
      expect(cloud().state()).toEqual(before);
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

  it.each([
    ['GET', '/status'],
    ['POST', '/plan'],
  ])(
    '%s %s with a broken deployed spec answers 503 NotConfigured, not a fault of the request',
    async (method, path) => {
      process.env.SLB_AUTOPILOT_SPEC = 'region: [';
      const r = await call({
        method,
        path,
        ...(method === 'POST' ? { body: createdMall, contentType: yaml } : {}),
      });
      expect([r.status, r.body.error]).toEqual([503, 'NotConfigured']);
      expect(String(r.body.message)).toMatch(/^the deployed spec: /);
      expect(r.raw.body).not.toMatch(/\n\s+at |\.ts:\d+/);
      expect(writes()).toBe(0);
    },
  );

  it('logs one line per request and never the secret or the body', async () => {
    const r = await call({ method: 'POST', path: '/plan', body: createdMall, contentType: yaml });
    expect(r.logs).toHaveLength(1);
    expect(r.logs[0]).toMatch(/"path":"\/plan","status":200/);
    expect(r.logs.join('\n')).not.toContain(SECRET);
    expect(r.logs.join('\n')).not.toContain('mall-backends');
  });
});

describe('provision: ownership is the deployment’s, and so are the limits', () => {
  const cloud = useCloud('mall');
  const writes = () =>
    Object.entries(cloud().calls().calls)
      .filter(([a]) => !/^(Describe|List|Get)/.test(a))
      .reduce((n, [, k]) => n + k, 0);

  /** Made by hand beside the mall: a group and two listeners a team tagged `team=web`. */
  async function handMadeWeb(): Promise<void> {
    const slb = cloudLayerFor(cloud()).slb;
    const tags = [{ key: 'team', value: 'web' }];
    const { vServerGroupId } = await slb.createVServerGroup({
      regionId: MALL.regionId,
      loadBalancerId: MALL.loadBalancerId,
      vServerGroupName: 'web-pool',
      backendServers: [{ serverId: MALL.ecs.serverId, port: 9000, weight: 100 }],
      tags,
    });
    for (const listenerPort of [8080, 8081])
      await slb.createHttpListener({
        regionId: MALL.regionId,
        loadBalancerId: MALL.loadBalancerId,
        listenerPort,
        bandwidth: -1,
        vServerGroupId,
        tags,
      });
  }

  it('refuses a spec that sets ownership (400 naming the field) and deletes nothing the team made', async () => {
    await handMadeWeb();
    const before = cloud().state();
    const w = writes();
    const body = edit((s) => {
      s.ownership = { tagKey: 'team', tagValue: 'web' };
    });
    for (const path of ['/apply', '/plan']) {
      const r = await call({ method: 'POST', path, body, contentType: yaml });
      expect(r.status).toBe(400);
      expect(r.body.issues).toEqual([
        {
          path: 'ownership',
          message: expect.stringMatching(/^set by the deployment's configuration, not the spec/),
        },
      ]);
    }
    expect(writes()).toBe(w);
    expect(cloud().state()).toEqual(before);
    // And the spec without it leaves the team's resources alone: they do not carry this deployment's marker.
    const plain = await call({ method: 'POST', path: '/apply', body: mallYaml, contentType: yaml });
    expect(plain.status).toBe(200);
    expect(
      cloud()
        .state()
        .listeners.map((l) => l.listenerPort)
        .sort(),
    ).toEqual([443, 80, 8080, 8081].sort());
    expect(
      cloud()
        .state()
        .vServerGroups.map((g) => g.vServerGroupName),
    ).toContain('web-pool');
  });

  it.each<[string, string, Record<string, string>, string, RegExp]>([
    [
      'a region the deployment does not act in',
      mallYaml.replace('region: cn-hangzhou', 'region: cn-shanghai'),
      {},
      'SLB_AUTOPILOT_ALLOWED_REGIONS',
      /^region: cn-shanghai is not a region this deployment acts in \(allowed: cn-hangzhou\)/,
    ],
    [
      'a load balancer the deployment does not list',
      mallYaml.replace('lb-bp1mall7k8s0demo0001', 'lb-bp1someoneelses0001'),
      {},
      'SLB_AUTOPILOT_ADOPT_LOAD_BALANCERS',
      /^loadBalancers\[0\]\.id: lb-bp1someoneelses0001 is not a load balancer this deployment may change/,
    ],
    [
      'adopting none at all',
      mallYaml,
      { SLB_AUTOPILOT_ADOPT_LOAD_BALANCERS: 'none' },
      'SLB_AUTOPILOT_ADOPT_LOAD_BALANCERS',
      /^loadBalancers\[0\]\.id: /,
    ],
    [
      'a new load balancer beyond the cap (the deployed spec creates none)',
      createdMall,
      {},
      'SLB_AUTOPILOT_MAX_NEW_LOAD_BALANCERS',
      /would create 1 load balancer\(s\) where this deployment has created 0; it may create 0 in all/,
    ],
  ])(
    'refuses %s with 403 naming the limit, and changes nothing',
    async (_name, body, env, limit, message) => {
      Object.assign(process.env, env);
      const before = cloud().state();
      for (const path of ['/plan', '/apply']) {
        const r = await call({ method: 'POST', path, body, contentType: yaml });
        expect([r.status, r.body.error, r.body.limit]).toEqual([403, 'OutsideDeploymentLimits', limit]);
        expect(String(r.body.message)).toMatch(message);
      }
      expect(writes()).toBe(0);
      expect(cloud().state()).toEqual(before);
    },
  );

  it('creates new load balancers up to the configured cap, counting those it created before', async () => {
    process.env.SLB_AUTOPILOT_MAX_NEW_LOAD_BALANCERS = '1';
    const first = await call({ method: 'POST', path: '/apply', body: createdMall, contentType: yaml });
    expect(first.status).toBe(200);
    const second = edit((s) => {
      delete s.loadBalancers[0].id;
      s.loadBalancers[0].name = 'mall2';
      s.loadBalancers[0].create = { addressType: 'internet' };
    });
    const r = await call({ method: 'POST', path: '/apply', body: second, contentType: yaml });
    expect([r.status, r.body.limit]).toEqual([403, 'SLB_AUTOPILOT_MAX_NEW_LOAD_BALANCERS']);
    expect(String(r.body.message)).toMatch(/where this deployment has created 1; it may create 1 in all/);
    expect(cloud().state().loadBalancers).toHaveLength(2); // the mall and the one allowed
  });
});

describe('provision rotate with acme sources in the deployed spec', () => {
  const acmeYaml = mallYaml
    .replace('cas: { domain: www.mall.example.com }', 'acme: { email: ops@mall.example.com }')
    .replace('cas: { domain: m.mall.example.com }', 'acme: { email: ops@mall.example.com }');
  const cloud = useCloud('mall', acmeYaml);

  it('POST /rotate issues nothing: ACME certificates come from the cert-renewal function only', async () => {
    expect(acmeYaml).not.toBe(mallYaml);
    process.env.SLB_AUTOPILOT_ACME_ACCOUNT_KEY = newAccountKeyPem();
    const before = cloud().state();
    const r = await call({ method: 'POST', path: '/rotate', body: '{}', contentType: 'application/json' });
    expect(
      (r.body.references as { action: string; error: string }[]).map((x) => [x.action, x.error]),
    ).toEqual([
      [
        'noReplacement',
        `${MALL.loadBalancerId}:443.certificate.acme: ACME certificates are issued by the cert-renewal function only`,
      ],
      [
        'noReplacement',
        `${MALL.loadBalancerId}:443/${MALL.extensionDomain.domain}.certificate.acme: ACME certificates are issued by the cert-renewal function only`,
      ],
    ]);
    expect(cloud().calls().calls.AddDomainRecord).toBeUndefined();
    expect(cloud().state()).toEqual(before);
    expect(r.raw.body).not.toContain('PRIVATE KEY');
  });
});
