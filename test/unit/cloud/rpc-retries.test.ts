// The RPC caller against a scripted loopback server: which API answers are retried, how the deadline
// ends retrying, what accounting and the rate budget see, and what reaches the wire (v3 signing).
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CallAccounting } from '../../../shared/cloud/accounting';
import { VirtualClock } from '../../../shared/cloud/clock';
import { CloudError } from '../../../shared/cloud/errors';
import { budgetKey, DEFAULT_READ_LIMIT, RateBudget } from '../../../shared/cloud/rate-budget';
import { createRpcClient, type RpcClientOptions } from '../../../shared/cloud/rpc';
import type { RpcRequest } from '../../../shared/cloud/rpc-types';

interface Answer {
  status: number;
  body: string;
}
interface Seen {
  headers: IncomingMessage['headers'];
  query: URLSearchParams;
  form: URLSearchParams;
}

const ok: Answer = { status: 200, body: '{"RequestId":"R-ok","TotalCount":0}' };
const apiError = (status: number, code: string): Answer => ({
  status,
  body: JSON.stringify({ Code: code, Message: `${code} happened`, RequestId: `R-${code}` }),
});

let server: Server;
let endpoint: string;
let script: Answer[] = [];
let seen: Seen[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    let raw = '';
    req.on('data', (d: Buffer) => {
      raw += d.toString();
    });
    req.on('end', () => {
      seen.push({
        headers: req.headers,
        query: new URL(req.url ?? '/', 'http://x').searchParams,
        form: new URLSearchParams(raw),
      });
      const a = script.shift() ?? ok;
      res.writeHead(a.status, {
        'content-type': a.body.startsWith('{') ? 'application/json' : 'text/html',
      });
      res.end(a.body);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  endpoint = `127.0.0.1:${(server.address() as { port: number }).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

function setup(answers: Answer[], extra: Partial<RpcClientOptions> = {}) {
  script = [...answers];
  seen = [];
  const clock = new VirtualClock(1_000_000);
  const budget = new RateBudget({ clock });
  const rpc = createRpcClient({
    endpoint,
    credentials: { accessKeyId: 'LTAI5tUnitTest', accessKeySecret: 'unit-secret-value' },
    accounting: new CallAccounting(),
    budget,
    clock,
    random: () => 0.5,
    retry: { maxAttempts: 5, baseDelayMs: 100, maxDelayMs: 1_000, deadlineMs: 60_000 },
    ...extra,
  });
  return { rpc, clock, budget };
}

const describeLbs: RpcRequest = {
  product: 'slb',
  action: 'DescribeLoadBalancers',
  regionId: 'cn-hangzhou',
  params: {},
  write: false,
};

describe('which answers are retried', () => {
  it.each([
    [
      'throttling (400 Throttling.User) twice',
      [apiError(400, 'Throttling.User'), apiError(400, 'Throttling.User')],
    ],
    ['503 ServiceUnavailable', [apiError(503, 'ServiceUnavailable')]],
    ['500 with an unlisted code', [apiError(500, 'SomethingOdd')]],
    ['a busy SLB (400 OperationBusy)', [apiError(400, 'OperationBusy')]],
    ['a listener being configured (400 Operation.Deny)', [apiError(400, 'Operation.Deny')]],
    ['a gateway error page (502, not JSON)', [{ status: 502, body: '<html>Bad Gateway</html>' }]],
  ])('retries %s, then returns the body', async (_name, failures) => {
    // Prepare
    const { rpc } = setup(failures);
    // Act
    const body = await rpc.call(describeLbs);
    // Assess
    expect(body).toEqual({ RequestId: 'R-ok', TotalCount: 0 });
    const s = rpc.accounting.snapshot();
    expect([s.totalCalls, s.totalRetries]).toEqual([failures.length + 1, failures.length]);
    expect(s.calls).toEqual({ DescribeLoadBalancers: failures.length + 1 });
  });

  it.each([
    ['InvalidParameter', 400],
    ['InvalidLoadBalancerId.NotFound', 404],
    ['Forbidden.RAM', 403],
    ['IncompleteSignature', 400],
  ])('never retries %s (%i) and classifies it once', async (code, status) => {
    // Prepare
    const { rpc, clock } = setup([apiError(status, code)]);
    // Act
    const err = (await rpc.call(describeLbs).catch((e: unknown) => e)) as CloudError;
    // Assess
    expect(err).toBeInstanceOf(CloudError);
    expect([err.action, err.code, err.httpStatus, err.requestId, err.retryable]).toEqual([
      'DescribeLoadBalancers',
      code,
      status,
      `R-${code}`,
      false,
    ]);
    expect(err.message).not.toContain('unit-secret-value');
    expect(seen).toHaveLength(1);
    expect(clock.sleeps).toEqual([]);
    expect(rpc.accounting.snapshot().failures).toEqual({ [code]: 1 });
  });
});

describe('creates that would make a second resource', () => {
  const createGroup: RpcRequest = {
    product: 'slb',
    action: 'CreateVServerGroup',
    regionId: 'cn-hangzhou',
    params: { LoadBalancerId: 'lb-1', VServerGroupName: 'g' },
    write: true,
  };

  it.each([
    ['503 ServiceUnavailable', apiError(503, 'ServiceUnavailable')],
    ['a gateway error page', { status: 502, body: '<html>Bad Gateway</html>' }],
  ])('are not retried after %s, which leaves open whether the first one ran', async (_name, answer) => {
    const { rpc } = setup([answer]);
    const err = (await rpc.call(createGroup).catch((e: unknown) => e)) as CloudError;
    expect(err).toBeInstanceOf(CloudError);
    expect(seen).toHaveLength(1);
  });

  it.each([
    ['throttling', apiError(400, 'Throttling.User')],
    ['a busy answer', apiError(400, 'ServiceIsConfiguring')],
  ])('are retried after %s, which proves the first one did not run', async (_name, answer) => {
    const { rpc } = setup([answer]);
    await rpc.call(createGroup);
    expect(seen).toHaveLength(2);
  });

  it('while idempotent writes are retried after a 503', async () => {
    const { rpc } = setup([apiError(503, 'ServiceUnavailable')]);
    await rpc.call({ ...createGroup, action: 'SetVServerGroupAttribute' });
    expect(seen).toHaveLength(2);
  });
});

describe('limits on retrying', () => {
  it('stops when the next sleep would pass the deadline, before maxAttempts', async () => {
    // Prepare: delays with random 0.999 are ~999 then ~1998 ms; the second would pass 2.5 s
    const always = Array.from({ length: 10 }, () => apiError(503, 'ServiceUnavailable'));
    const { rpc, clock } = setup(always, {
      random: () => 0.999,
      retry: { maxAttempts: 10, baseDelayMs: 1_000, maxDelayMs: 60_000, deadlineMs: 2_500 },
    });
    // Act
    const err = (await rpc.call(describeLbs).catch((e: unknown) => e)) as CloudError;
    // Assess
    expect([err.code, err.retryable]).toEqual(['ServiceUnavailable', true]);
    expect(seen).toHaveLength(2);
    expect(clock.sleeps).toEqual([999]);
  });

  it('gives up after maxAttempts, sleeping full-jitter delays below the growing ceiling', async () => {
    // Prepare
    const always = Array.from({ length: 10 }, () => apiError(400, 'Throttling.User'));
    // the budget waits on its own clock here, so only the retry sleeps land on `clock`
    const { rpc, clock } = setup(always, { budget: new RateBudget({ clock: new VirtualClock() }) });
    // Act
    const err = (await rpc.call(describeLbs).catch((e: unknown) => e)) as CloudError;
    // Assess: random 0.5 of min(1000, 100 * 2^n)
    expect(err.code).toBe('Throttling.User');
    expect(seen).toHaveLength(5);
    expect(clock.sleeps).toEqual([50, 100, 200, 400]);
    const s = rpc.accounting.snapshot();
    expect([s.totalCalls, s.totalRetries, s.failures]).toEqual([5, 4, { 'Throttling.User': 5 }]);
  });

  it('tells the rate budget about throttling, which shrinks that bucket only', async () => {
    // Prepare
    const { rpc, budget } = setup([apiError(400, 'Throttling.User'), apiError(400, 'Throttling.User')]);
    // Act
    await rpc.call(describeLbs);
    await rpc.call({ ...describeLbs, action: 'DescribeVServerGroups' });
    // Assess: 10/s halved twice, then +5% of nominal for the success
    const nominal = DEFAULT_READ_LIMIT.refillPerSecond;
    expect(budget.rate(budgetKey('slb', 'DescribeLoadBalancers', 'cn-hangzhou'))).toBeCloseTo(
      nominal / 4 + nominal * 0.05,
    );
    expect(budget.rate(budgetKey('slb', 'DescribeVServerGroups', 'cn-hangzhou'))).toBe(nominal);
  });
});

describe('what reaches the wire', () => {
  it('signs with ACS3 by default: x-acs-action/version headers, RegionId and flattened params', async () => {
    // Prepare
    const { rpc } = setup([]);
    // Act
    await rpc.call({
      product: 'slb',
      action: 'AddVServerGroupBackendServers',
      regionId: 'cn-shanghai',
      params: {
        VServerGroupId: 'rsp-1',
        Tag: [{ Key: 'owner', Value: 'autopilot' }],
      },
      write: true,
    });
    // Assess
    const [req] = seen;
    expect(req?.headers['x-acs-action']).toBe('AddVServerGroupBackendServers');
    expect(req?.headers['x-acs-version']).toBe('2014-05-15');
    expect(String(req?.headers.authorization)).toMatch(/^ACS3-HMAC-SHA256 Credential=LTAI5tUnitTest,/);
    expect(JSON.stringify(req?.headers)).not.toContain('unit-secret-value');
    const sent = new URLSearchParams([...(req?.query ?? []), ...(req?.form ?? [])]);
    expect([
      sent.get('RegionId'),
      sent.get('VServerGroupId'),
      sent.get('Tag.1.Key'),
      sent.get('Tag.1.Value'),
    ]).toEqual(['cn-shanghai', 'rsp-1', 'owner', 'autopilot']);
  });

  it('sends CAS calls with the CAS version and no RegionId (CAS actions take none)', async () => {
    // Prepare
    const { rpc } = setup([]);
    // Act
    await rpc.call({
      product: 'cas',
      action: 'ListUserCertificateOrder',
      regionId: 'cn-hangzhou',
      params: {},
      write: false,
    });
    // Assess
    expect(seen[0]?.headers['x-acs-version']).toBe('2020-04-07');
    expect(seen[0]?.query.get('RegionId')).toBeNull();
  });

  it('takes credentials from a provider with getCredential(), asked on each call', async () => {
    // Prepare
    let asked = 0;
    const provider = {
      async getCredential() {
        asked++;
        return { accessKeyId: `LTAI5tRotated${asked}`, accessKeySecret: 's', securityToken: 'tok' };
      },
    };
    const { rpc } = setup([], { credentials: provider });
    // Act
    await rpc.call(describeLbs);
    await rpc.call(describeLbs);
    // Assess: STS rotation is picked up and the token is sent
    expect(seen.map((s) => String(s.headers.authorization).match(/Credential=(\w+)/)?.[1])).toEqual([
      'LTAI5tRotated1',
      'LTAI5tRotated2',
    ]);
    expect(seen[0]?.headers['x-acs-security-token']).toBe('tok');
  });
});
