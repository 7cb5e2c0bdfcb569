// A 200 answer without the resource asked for: right after a create, Describe*ListenerAttribute can
// answer 200 without ListenerPort. Our client calls that a typed, retryable CloudError and retries it a
// bounded number of times (the retry policy), against a scripted loopback server.
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CallAccounting } from '../../../shared/cloud/accounting';
import { VirtualClock } from '../../../shared/cloud/clock';
import { CloudError, NOT_YET_VISIBLE } from '../../../shared/cloud/errors';
import { RateBudget } from '../../../shared/cloud/rate-budget';
import { createRpcClient } from '../../../shared/cloud/rpc';
import { createSlbClient } from '../../../shared/cloud/slb';

const notYet = JSON.stringify({ RequestId: 'R-empty', Status: 'stopped' });
const listener = JSON.stringify({
  RequestId: 'R-ok',
  LoadBalancerId: 'lb-1',
  ListenerPort: 443,
  Status: 'stopped',
  Bandwidth: -1,
  HealthCheck: 'off',
  ServerCertificateId: 'cert-1',
});

let server: Server;
let endpoint: string;
let script: string[] = [];
let requests = 0;

beforeAll(async () => {
  server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      requests++;
      const body = script.shift() ?? notYet;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(body);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  endpoint = `127.0.0.1:${(server.address() as { port: number }).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

function client(answers: string[]) {
  script = [...answers];
  requests = 0;
  const clock = new VirtualClock(1_000_000);
  const accounting = new CallAccounting();
  const rpc = createRpcClient({
    endpoint,
    credentials: { accessKeyId: 'LTAI5tUnitTest', accessKeySecret: 'unit-secret-value' },
    accounting,
    budget: new RateBudget({ clock }),
    clock,
    random: () => 0.5,
    retry: { maxAttempts: 4, baseDelayMs: 100, maxDelayMs: 1_000, deadlineMs: 60_000 },
  });
  return { slb: createSlbClient(rpc), accounting };
}

const at = { regionId: 'cn-hangzhou', loadBalancerId: 'lb-1', listenerPort: 443 };

describe('a listener not visible yet', () => {
  it('retries a 200 without ListenerPort until the listener shows', async () => {
    // Prepare
    const { slb, accounting } = client([notYet, notYet, listener]);
    // Act
    const l = await slb.describeHttpsListener(at);
    // Assess
    expect([l.listenerPort, l.serverCertificateId, requests]).toEqual([443, 'cert-1', 3]);
    expect(accounting.snapshot().failures).toEqual({ [NOT_YET_VISIBLE]: 2 });
  });

  it('gives up after the bounded attempts with a typed, retryable error, not a TypeError', async () => {
    // Prepare
    const { slb } = client([]);
    // Act
    const err = await slb.describeHttpListener({ ...at, listenerPort: 80 }).catch((e: unknown) => e);
    // Assess
    expect(err).toBeInstanceOf(CloudError);
    expect(err).toMatchObject({
      action: 'DescribeLoadBalancerHTTPListenerAttribute',
      code: NOT_YET_VISIBLE,
      requestId: 'R-empty',
      retryable: true,
    });
    expect(requests).toBe(4);
  });
});
