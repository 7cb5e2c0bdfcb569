// The local cloud's wire protocol, driven by the unmodified @alicloud/openapi-client: both signature
// schemes, the authentication failures, error bodies, atomicity, faults and the admin API.
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiError } from '../../scripts/local-cloud/errors';
import { read, write } from '../../scripts/local-cloud/handler';
import type { ProductDef } from '../../scripts/local-cloud/server';
import { callSlb, sdkError, startTestCloud, type TestCloud } from '../support/local-cloud';

// A tiny product table: the framework is under test here, not the SLB actions.
const products: Record<string, ProductDef> = {
  slb: {
    version: '2014-05-15',
    hostId: 'slb.aliyuncs.com',
    recommendProduct: 'Slb',
    actions: {
      Echo: read((ctx) => ({ Value: ctx.params.str('Value') ?? null, Region: ctx.regionId })),
      AddInstance: write((ctx) => {
        ctx.state.instances.push({
          serverId: ctx.params.requiredStr('ServerId'),
          regionId: ctx.regionId,
          privateIp: '127.0.0.1',
          status: 'Running',
        });
        if (ctx.params.str('Fail') === 'after-write')
          throw new ApiError('InvalidParameter', 'failed after mutating');
        if (ctx.params.str('Fail') === 'crash') throw new TypeError('boom');
        return {};
      }),
    },
  },
};

let now = new Date();
let cloud: TestCloud;
beforeAll(async () => {
  cloud = await startTestCloud({ products, now: () => now });
});
afterAll(() => cloud.close());

describe('signatures', () => {
  it.each([
    ['ACS3-HMAC-SHA256', false],
    ['HMAC-SHA1', true],
  ])('accepts a correctly signed %s call with awkward characters in values', async (_name, v2) => {
    const value = "a b*c!'()~/+&=é";
    const body = await callSlb(cloud, 'Echo', { RegionId: 'cn-shanghai', Value: value }, { v2 });
    expect(body).toMatchObject({ Value: value, Region: 'cn-shanghai' });
    expect(body.RequestId).toMatch(/^[0-9A-F-]{36}$/);
  });

  it.each([false, true])('answers SignatureDoesNotMatch to a wrong secret (v2=%s)', async (v2) => {
    const err = await sdkError(callSlb(cloud, 'Echo', {}, { v2, accessKeySecret: 'wrong' }));
    expect(err.code).toBe('SignatureDoesNotMatch');
    expect(err.statusCode).toBe(400);
    expect(err.data).toMatchObject({ Code: 'SignatureDoesNotMatch', HostId: 'slb.aliyuncs.com' });
    expect(String(err.data.Recommend)).toContain('q=SignatureDoesNotMatch');
    expect(err.data.RequestId).toBeTypeOf('string');
  });

  it('answers InvalidAccessKeyId.NotFound (404) to an unknown key', async () => {
    const err = await sdkError(callSlb(cloud, 'Echo', {}, { accessKeyId: 'LTAI5tNobody' }));
    expect([err.code, err.statusCode]).toEqual(['InvalidAccessKeyId.NotFound', 404]);
  });

  it('answers InvalidTimeStamp.Expired when the clocks are 20 minutes apart', async () => {
    now = new Date(Date.now() + 20 * 60_000);
    try {
      const err = await sdkError(callSlb(cloud, 'Echo', {}));
      expect(err.code).toBe('InvalidTimeStamp.Expired');
    } finally {
      now = new Date();
    }
  });

  it('answers SignatureNonceUsed to a replayed request', async () => {
    // Capture one signed request as the SDK sends it, then send the same bytes twice.
    const captured = await captureSignedRequest();
    const first = await replay(captured);
    const second = await replay(captured);
    expect(first.status).toBe(200);
    expect(second.status).toBe(400);
    expect(JSON.parse(second.body).Code).toBe('SignatureNonceUsed');
  });
});

describe('routing and errors', () => {
  it('answers InvalidAction.NotFound (404) for an unknown action', async () => {
    const err = await sdkError(callSlb(cloud, 'DescribeNothing', {}));
    expect([err.code, err.statusCode]).toEqual(['InvalidAction.NotFound', 404]);
  });

  it('restores the state when a handler fails after mutating it', async () => {
    const before = cloud.state();
    const e1 = await sdkError(callSlb(cloud, 'AddInstance', { ServerId: 'i-1', Fail: 'after-write' }));
    const e2 = await sdkError(callSlb(cloud, 'AddInstance', { ServerId: 'i-2', Fail: 'crash' }));
    expect([e1.code, e2.code, e2.statusCode]).toEqual(['InvalidParameter', 'InternalError', 500]);
    expect(String(e2.data.Message)).not.toContain('boom');
    expect(cloud.state()).toEqual(before);
  });

  it('counts calls by action and errors by code', async () => {
    cloud.reset();
    await callSlb(cloud, 'Echo', {});
    await sdkError(callSlb(cloud, 'AddInstance', {}));
    expect(cloud.calls()).toEqual({
      calls: { Echo: 1, AddInstance: 1 },
      errors: { MissingParameter: 1 },
      total: 2,
    });
  });
});

describe('faults', () => {
  async function outcomes(n: number, action = 'Echo'): Promise<string[]> {
    const out: string[] = [];
    for (let i = 0; i < n; i++) {
      try {
        await callSlb(cloud, action, { ServerId: `i-${i}` });
        out.push('ok');
      } catch (err) {
        out.push((err as { code: string }).code);
      }
    }
    return out;
  }

  it('throttles deterministically for a seed', async () => {
    cloud.setFaults({ throttleRate: 0.3, seed: 42 });
    const a = await outcomes(30);
    cloud.setFaults({ throttleRate: 0.3, seed: 42 });
    const b = await outcomes(30);
    cloud.setFaults({});
    expect(a).toEqual(b);
    const throttled = a.filter((x) => x === 'Throttling.User').length;
    expect(throttled).toBeGreaterThan(2);
    expect(throttled).toBeLessThan(20);
  });

  it('applies a per-action quota per minute of the emulator clock', async () => {
    cloud.setFaults({ quotas: { Echo: 3 } });
    expect(await outcomes(4)).toEqual(['ok', 'ok', 'ok', 'Throttling.Api']);
    now = new Date(Date.now() + 61_000);
    try {
      expect(await outcomes(1)).toEqual(['ok']);
    } finally {
      now = new Date();
      cloud.setFaults({});
    }
  });

  it('answers busy only to writes', async () => {
    cloud.setFaults({ busyRate: 1 });
    const reads = await outcomes(3);
    const before = cloud.state();
    const writes = await outcomes(3, 'AddInstance');
    cloud.setFaults({});
    expect(reads).toEqual(['ok', 'ok', 'ok']);
    expect(writes).toEqual(['ServiceIsConfiguring', 'ServiceIsConfiguring', 'ServiceIsConfiguring']);
    expect(cloud.state()).toEqual(before);
  });
});

describe('admin API', () => {
  const admin = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${cloud.url}/_emulator/${path}`, {
      method,
      ...(method === 'POST' ? { headers: { 'content-type': 'application/json' } } : {}),
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, json: (await res.json()) as Record<string, unknown> };
  };

  it('sets faults, health and resets', async () => {
    expect((await admin('POST', 'faults', { throttleRate: 2 })).json.error).toContain('faults.throttleRate');
    expect((await admin('POST', 'health', { 'i-1:80': 'abnormal' })).status).toBe(200);
    expect(cloud.state().backendHealth).toEqual({ 'i-1:80': 'abnormal' });
    expect((await admin('POST', 'health', { 'i-1:80': 'sick' })).json.error).toContain('health.i-1:80');
    await callSlb(cloud, 'Echo', {});
    await admin('POST', 'reset');
    expect((await admin('GET', 'calls')).json).toEqual({ calls: {}, errors: {}, total: 0 });
    expect((await admin('GET', 'state')).json.backendHealth).toEqual({});
  });
});

interface Captured {
  path: string;
  headers: Record<string, string>;
}

async function captureSignedRequest(): Promise<Captured> {
  const { createServer } = await import('node:http');
  let captured: Captured | undefined;
  const trap = createServer((req, res) => {
    captured = { path: req.url ?? '/', headers: req.headers as Record<string, string> };
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{}');
  });
  await new Promise<void>((r) => trap.listen(0, '127.0.0.1', r));
  const port = (trap.address() as { port: number }).port;
  try {
    await callSlb({ ...cloud, endpoint: `127.0.0.1:${port}` } as TestCloud, 'Echo', { Value: 'x' });
  } finally {
    trap.close();
  }
  if (!captured) throw new Error('nothing captured');
  // The signature covers the host header: keep it, send to the emulator's port.
  return captured;
}

function replay(c: Captured): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port: cloud.port, path: c.path, method: 'POST', headers: c.headers },
      (res) => {
        let body = '';
        res.on('data', (d) => {
          body += d;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}
