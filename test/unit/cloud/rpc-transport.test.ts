// The RPC caller against raw loopback servers that misbehave at the transport level.
import { createServer, type Server } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { CallAccounting } from '../../../shared/cloud/accounting';
import { CloudError } from '../../../shared/cloud/errors';
import { RateBudget } from '../../../shared/cloud/rate-budget';
import { createRpcClient } from '../../../shared/cloud/rpc';

let server: Server | undefined;
afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((r) => server?.close(r) ?? r(undefined));
  server = undefined;
});

async function serve(handler: Parameters<typeof createServer>[1]): Promise<string> {
  server = createServer(handler);
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  return `127.0.0.1:${(server!.address() as { port: number }).port}`;
}

const client = (endpoint: string, extra: Partial<Parameters<typeof createRpcClient>[0]> = {}) =>
  createRpcClient({
    endpoint,
    credentials: { accessKeyId: 'LTAI5tTest', accessKeySecret: 'secret-value' },
    accounting: new CallAccounting(),
    budget: new RateBudget(),
    retry: { baseDelayMs: 1, maxDelayMs: 2, maxAttempts: 3 },
    ...extra,
  });

const call = {
  product: 'slb',
  action: 'DescribeLoadBalancers',
  regionId: 'cn-hangzhou',
  params: {},
  write: false,
} as const;

describe('transport failures', () => {
  it('retries a connection reset, then succeeds; RegionId and the action reach the server', async () => {
    const seen: string[] = [];
    let n = 0;
    const endpoint = await serve((req, res) => {
      seen.push(
        `${req.headers['x-acs-action']} ${new URL(req.url ?? '/', 'http://x').searchParams.get('RegionId')}`,
      );
      if (n++ === 0) {
        req.socket.destroy();
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"RequestId":"R","TotalCount":0}');
    });
    const rpc = client(endpoint);
    await expect(rpc.call(call)).resolves.toMatchObject({ TotalCount: 0 });
    expect(seen).toEqual(['DescribeLoadBalancers cn-hangzhou', 'DescribeLoadBalancers cn-hangzhou']);
    const s = rpc.accounting.snapshot();
    expect([s.totalCalls, s.totalRetries]).toEqual([2, 1]);
    expect(s.failures).toEqual({ ECONNRESET: 1 });
  });

  it('turns a server that never answers into a retryable timeout, within the configured read timeout', async () => {
    const endpoint = await serve(() => {
      /* never answers */
    });
    const rpc = client(endpoint, {
      readTimeoutMs: 200,
      connectTimeoutMs: 200,
      retry: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 2 },
    });
    const err = (await rpc.call(call).catch((e: unknown) => e)) as CloudError;
    expect(err).toBeInstanceOf(CloudError);
    expect([err.code, err.retryable]).toEqual(['ReadTimeout', true]);
    expect(rpc.accounting.snapshot().totalCalls).toBe(2);
    // The configured 200 ms, not the SDK's 3 s default: read from the transport's own error, not a clock.
    expect(String((err.cause as Error | undefined)?.message)).toMatch(/^ReadTimeout\(200\)/);
  });

  it('retries a refused connection and reports it by code', async () => {
    const endpoint = await serve(() => undefined);
    await new Promise((r) => server!.close(r));
    server = undefined;
    const rpc = client(endpoint);
    const err = (await rpc.call(call).catch((e: unknown) => e)) as CloudError;
    expect([err.code, err.retryable]).toEqual(['ECONNREFUSED', true]);
    expect(rpc.accounting.snapshot().totalCalls).toBe(3);
    expect(err.message).not.toContain('secret-value');
  });

  it('sends the HMAC-SHA1 form when asked: Action and Signature in the query', async () => {
    let query: URLSearchParams | undefined;
    const endpoint = await serve((req, res) => {
      query = new URL(req.url ?? '/', 'http://x').searchParams;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"RequestId":"R"}');
    });
    await client(endpoint, { signatureAlgorithm: 'v2' }).call(call);
    expect([query?.get('Action'), query?.get('SignatureMethod'), query?.get('RegionId')]).toEqual([
      'DescribeLoadBalancers',
      'HMAC-SHA1',
      'cn-hangzhou',
    ]);
    expect(query?.toString()).not.toContain('secret-value');
  });
});
