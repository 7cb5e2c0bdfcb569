// Independent probes against real loopback servers: HTTP codes, timeouts, refused connections, TCP,
// and the concurrency bound.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { probe, probeAll } from '../../shared/cloud/probe';

let server: Server;
let port: number;
let inFlight = 0;
let maxInFlight = 0;
const seenHosts: string[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    seenHosts.push(String(req.headers.host));
    const busy = req.url === '/busy';
    if (busy) {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
    }
    const finish = (status: number) => {
      if (busy) inFlight--;
      res.writeHead(status).end('x');
    };
    if (req.url === '/healthz') return finish(200);
    if (req.url === '/moved') return finish(302);
    if (req.url === '/down') return finish(503);
    if (req.url === '/slow') return void setTimeout(() => finish(200), 300);
    if (req.url === '/busy') return void setTimeout(() => finish(200), 30);
    finish(404);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

const target = (path: string, over = {}) => ({
  key: `i-1:${port}`,
  host: '127.0.0.1',
  port,
  http: { path },
  ...over,
});

describe('probes', () => {
  it.each([
    ['/healthz', true, 200, undefined],
    ['/moved', true, 302, undefined],
    ['/down', false, 503, 'status 503 not in http_2xx,http_3xx'],
  ])('HTTP %s: up %s', async (path, up, status, reason) => {
    const r = await probe(target(path));
    expect([r.up, r.status, r.reason]).toEqual([up, status, reason]);
  });

  it('honours the configured code classes and the Host header', async () => {
    const r = await probe({
      ...target('/moved'),
      http: { path: '/moved', codes: ['http_2xx'], host: 'mall.example.com' },
    });
    expect([r.up, r.reason]).toEqual([false, 'status 302 not in http_2xx']);
    expect(seenHosts.at(-1)).toBe('mall.example.com');
  });

  it('gives up after the timeout', async () => {
    const r = await probe(target('/slow', { timeoutMs: 50 }));
    expect([r.up, r.reason]).toEqual([false, 'timeout']);
  });

  it('reports a refused connection over HTTP and TCP, and a TCP connect that works', async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const dead = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    expect((await probe({ key: 'x', host: '127.0.0.1', port: dead, http: { path: '/' } })).reason).toBe(
      'ECONNREFUSED',
    );
    expect((await probe({ key: 'x', host: '127.0.0.1', port: dead })).reason).toBe('ECONNREFUSED');
    expect((await probe({ key: 'x', host: '127.0.0.1', port })).up).toBe(true);
  });

  it('keeps at most `concurrency` probes in flight and returns results in order', async () => {
    maxInFlight = 0;
    const targets = Array.from({ length: 12 }, (_, i) => ({ ...target('/busy'), key: `k${i}` }));
    const results = await probeAll(targets, 3);
    expect(results.map((r) => r.key)).toEqual(targets.map((t) => t.key));
    expect(results.every((r) => r.up)).toBe(true);
    expect(maxInFlight).toBeLessThanOrEqual(3);
    expect(maxInFlight).toBeGreaterThan(1);
  });
});
