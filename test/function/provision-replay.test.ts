// Replays across instances of the provisioning API. Each "instance" here is the app with its own
// verifier (its own nonce memory), as separate FC instances are; what they share is the cloud. The load
// balancer's applied-at record makes an older signed apply replayed after a newer one, and one signed
// apply delivered to several instances at once, harmless.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parse as parseYaml, stringify } from 'yaml';
import { handleProvisionRequest, type ProvisionDeps } from '../../functions/provision/app';
import { MALL } from '../../scripts/local-cloud/scenarios/mall-fixture';
import { parseSpec } from '../../shared/domain/spec';
import { createVerifier, signedHeaders } from '../../shared/runtime/hmac-auth';
import type { HttpRequest } from '../../shared/runtime/http';
import { APPLIED_AT_TAG } from '../../shared/workflows/applied-at';
import { cloudLayerFor, startTestCloud, type TestCloud } from '../support/local-cloud';

const SECRET = 'Zq3u9VvH0sJX1b8dQ2lTnYk5rEwA7mCf+PiLg4oRxS6=';
const YAML = 'application/yaml';
const mallYaml = readFileSync(join(__dirname, '..', '..', 'examples', 'mall.yaml'), 'utf8');
const withEcsWeight = (weight: number) => {
  const s = parseYaml(mallYaml);
  s.loadBalancers[0].vServerGroups[0].backends[1].weight = weight;
  return stringify(s);
};
const T0 = Date.now();

let cloud: TestCloud;
beforeEach(async () => {
  cloud = await startTestCloud({ scenario: 'mall' });
});
afterEach(() => cloud.close());

const writes = () =>
  Object.entries(cloud.calls().calls)
    .filter(([a]) => !/^(Describe|List|Get)/.test(a))
    .reduce((n, [, k]) => n + k, 0);
const ecsWeight = () =>
  cloud.state().vServerGroups[0]?.backendServers.find((b) => b.serverId === MALL.ecs.serverId)?.weight;

/** A fresh instance of the app: its own verifier and nonce memory; `settle` as the test decides. */
function instance(settle: () => Promise<void> = async () => {}): ProvisionDeps {
  const layer = cloudLayerFor(cloud);
  return {
    verifier: createVerifier({ secret: SECRET, now: () => new Date() }),
    cloud: () => layer,
    configuredSpec: () => parseSpec(mallYaml),
    now: () => new Date(),
    env: {},
    readFile: () => '',
    rotate: () => Promise.reject(new Error('not used')),
    failover: () => Promise.reject(new Error('not used')),
    settleClaim: settle,
  };
}

/** A signed POST /apply, frozen: the same bytes can be delivered again. */
function signedApply(body: string, at: number): HttpRequest {
  return {
    method: 'POST',
    path: '/apply',
    query: {},
    headers: {
      'content-type': YAML,
      ...signedHeaders(SECRET, { method: 'POST', path: '/apply', contentType: YAML, body }, new Date(at)),
    },
    body: Buffer.from(body),
    requestId: undefined,
  };
}

const send = async (deps: ProvisionDeps, req: HttpRequest) => {
  const r = await handleProvisionRequest(req, deps);
  return { status: r.statusCode, body: JSON.parse(r.body ?? '{}') as Record<string, unknown> };
};

describe('replayed applies', () => {
  it('an older signed apply replayed after a newer one gets 409 and writes nothing', async () => {
    const a = signedApply(withEcsWeight(30), T0 - 20_000);
    const b = signedApply(withEcsWeight(60), T0 - 10_000);
    expect((await send(instance(), a)).status).toBe(200);
    expect(ecsWeight()).toBe(30);
    expect((await send(instance(), b)).status).toBe(200);
    expect(ecsWeight()).toBe(60);
    const before = writes();
    const state = cloud.state();
    const replay = await send(instance(), a);
    expect(replay.status).toBe(409);
    expect(replay.body).toMatchObject({ error: 'Conflict', loadBalancerId: MALL.loadBalancerId });
    expect(String(replay.body.message)).toMatch(/a newer apply \(signed at .*\) was already applied/);
    expect(writes()).toBe(before);
    expect(cloud.state()).toEqual(state);
    expect(ecsWeight()).toBe(60);
  });

  it('the last applied request replayed to another instance gets 409 and writes nothing', async () => {
    const a = signedApply(withEcsWeight(30), T0);
    expect((await send(instance(), a)).status).toBe(200);
    const before = writes();
    const replay = await send(instance(), a);
    expect(replay.status).toBe(409);
    expect(String(replay.body.message)).toMatch(/already applied \(a replay\)/);
    expect(writes()).toBe(before);
  });

  it('one signed apply sent to three instances at once is applied once; the others get 409', async () => {
    // Each instance's settle waits until every instance has either written its claim or finished:
    // the moment the real settle time stands for, without a real sleep.
    const n = 3;
    let arrived = 0;
    let finishedEarly = 0;
    const waiters: (() => void)[] = [];
    const check = () => {
      if (arrived + finishedEarly === n) for (const w of waiters.splice(0)) w();
    };
    const deps = Array.from({ length: n }, () => {
      let slept = false;
      const d = instance(() => {
        slept = true;
        arrived++;
        const p = new Promise<void>((resolve) => waiters.push(resolve));
        check();
        return p;
      });
      return { d, earlyDone: () => !slept };
    });
    const req = signedApply(withEcsWeight(45), T0);
    const results = await Promise.all(
      deps.map(({ d, earlyDone }) =>
        send(d, req).finally(() => {
          if (earlyDone()) {
            finishedEarly++;
            check();
          }
        }),
      ),
    );
    expect(results.map((r) => r.status).sort()).toEqual([200, 409, 409]);
    expect(cloud.calls().calls.SetVServerGroupAttribute).toBe(1);
    expect(ecsWeight()).toBe(45);
    const lb = cloud.state().loadBalancers.find((l) => l.loadBalancerId === MALL.loadBalancerId);
    expect(lb?.tags.find((t) => t.key === APPLIED_AT_TAG)?.value).toMatch(
      new RegExp(`^${Math.floor(T0 / 1000)}:${req.headers['x-slbap-nonce']}:[0-9a-f]{16}$`),
    );
  });

  it('records the claim on a load balancer the apply creates', async () => {
    await cloud.close();
    cloud = await startTestCloud({ scenario: 'mall-unprovisioned' });
    const s = parseYaml(mallYaml);
    delete s.loadBalancers[0].id;
    s.loadBalancers[0].create = { addressType: 'internet' };
    const req = signedApply(stringify(s), T0);
    expect((await send(instance(), req)).status).toBe(200);
    const [lb] = cloud.state().loadBalancers;
    expect(lb?.tags.find((t) => t.key === APPLIED_AT_TAG)?.value).toMatch(/^\d+:[0-9a-f]{32}:[0-9a-f]{16}$/);
    const before = writes();
    expect((await send(instance(), req)).status).toBe(409);
    expect(writes()).toBe(before);
  });
});
