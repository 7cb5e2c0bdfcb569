// The local stack's admin routes answer only loopback, same-origin, JSON requests: a page in the
// developer's browser (cross-origin, or its own name rebound to 127.0.0.1) cannot drive them. Refused
// requests change nothing.
import { request } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FcRuntime, startFcRuntime } from '../../scripts/fc-runtime/index';
import { callApi, startTestCloud, type TestCloud } from '../support/local-cloud';

function send(
  url: string,
  method: string,
  path: string,
  headers: Record<string, string>,
  body = '',
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(new URL(path, url), { method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const JSON_TYPE = { 'content-type': 'application/json' };

let cloud: TestCloud;
let runtime: FcRuntime;
beforeAll(async () => {
  cloud = await startTestCloud({ scenario: 'mall' });
  runtime = await startFcRuntime({
    sYamlPath: join(__dirname, '..', 'fixtures', 'fc-runtime', 's.yaml'),
    interpolationEnv: {},
    accountId: '1234567890123456',
    region: 'cn-hangzhou',
    accessKeys: [{ accessKeyId: 'AKLOCALTEST', accessKeySecret: 'local-test-secret-0123456789' }],
    timers: 'manual',
    log: false,
  });
});
afterAll(async () => {
  await cloud.close();
  await runtime.close();
});

describe('admin routes of the local cloud', () => {
  const port = () => new URL(cloud.url).port;
  const faults = (headers: Record<string, string>) =>
    send(cloud.url, 'POST', '/_emulator/faults', headers, JSON.stringify({ throttleRate: 1 }));

  it.each<[string, () => Record<string, string>, number, RegExp]>([
    ['a rebound host name', () => ({ ...JSON_TYPE, host: `evil.example:${port()}` }), 403, /^host: /],
    ['another origin', () => ({ ...JSON_TYPE, origin: 'http://evil.example' }), 403, /^origin: /],
    [
      'an origin on another loopback port',
      () => ({ ...JSON_TYPE, origin: 'http://127.0.0.1:1' }),
      403,
      /^origin: /,
    ],
    [
      'a cross-site fetch',
      () => ({ ...JSON_TYPE, 'sec-fetch-site': 'cross-site' }),
      403,
      /^sec-fetch-site: /,
    ],
    ['a form post', () => ({ 'content-type': 'application/x-www-form-urlencoded' }), 415, /^content-type: /],
    ['a text/plain post', () => ({ 'content-type': 'text/plain' }), 415, /^content-type: /],
    ['a post without content type', () => ({}), 415, /^content-type: /],
  ])('refuses %s, changing nothing', async (_name, headers, status, message) => {
    const r = await faults(headers());
    expect(r.status).toBe(status);
    expect((JSON.parse(r.body) as { error: string }).error).toMatch(message);
    // The refused fault (throttle every call) was not applied: a real SDK call still succeeds.
    const body = await callApi(cloud, 'slb', 'DescribeLoadBalancers', { RegionId: cloud.regionId });
    expect(body.TotalCount).toBe(1);
    expect(cloud.calls().errors).toEqual({});
  });

  it('refuses a read from a rebound host name too', async () => {
    const r = await send(cloud.url, 'GET', '/_emulator/state', { host: `attacker.example:${port()}` });
    expect(r.status).toBe(403);
    expect(r.body).not.toContain('loadBalancers');
  });

  it('accepts loopback names, the same origin, and JSON posts', async () => {
    for (const host of [`127.0.0.1:${port()}`, `localhost:${port()}`, `[::1]:${port()}`, 'localhost']) {
      const r = await send(cloud.url, 'GET', '/_emulator/calls', { host });
      expect(r.status).toBe(200);
    }
    const same = await send(
      cloud.url,
      'POST',
      '/_emulator/faults',
      {
        ...JSON_TYPE,
        origin: `http://127.0.0.1:${port()}`,
        'sec-fetch-site': 'same-origin',
      },
      '{}',
    );
    expect(same.status).toBe(200);
  });
});

describe('admin routes of the local FC runtime', () => {
  const port = () => new URL(runtime.url).port;
  const fire = (headers: Record<string, string>) =>
    send(runtime.url, 'POST', '/_runtime/functions/fixture-ticker/timers/nightly', headers);

  it.each<[string, () => Record<string, string>, number]>([
    ['a rebound host name', () => ({ ...JSON_TYPE, host: `evil.example:${port()}` }), 403],
    ['another origin', () => ({ ...JSON_TYPE, origin: 'https://evil.example' }), 403],
    ['a text/plain post', () => ({ 'content-type': 'text/plain' }), 415],
  ])('refuses %s without running anything', async (_name, headers, status) => {
    const before = runtime.functions().find((f) => f.name === 'fixture-ticker');
    const r = await fire(headers());
    expect(r.status).toBe(status);
    expect((JSON.parse(r.body) as { errorMessage: string }).errorMessage).toMatch(
      /^(host|origin|content-type): /,
    );
    expect(runtime.functions().find((f) => f.name === 'fixture-ticker')).toEqual(before);
  });

  it('runs a same-origin JSON post', async () => {
    const r = await fire({ ...JSON_TYPE, origin: `http://127.0.0.1:${port()}` });
    expect(r.status).toBe(200);
  });
});
