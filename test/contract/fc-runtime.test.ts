// The local FC runtime against the real clients: an unmodified @alicloud/fc2 (on the FC 3.0 path, as the
// fc3 component drives it) for sync, async and signature checks; fetch for the HTTP trigger and the
// runtime routes. Fixture app: test/fixtures/fc-runtime (s.yaml + hand-written bundles).
// Time is real only where it is under test (the 1 s timeout, reserved concurrency); timers use a fake clock.
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildFunctions } from '../../scripts/build';
import {
  type Clock,
  type FcRuntime,
  FcRuntimeError,
  type InvocationResult,
  startFcRuntime,
} from '../../scripts/fc-runtime/index';
import { fcHttpEventSchema } from '../../shared/runtime/fc-events';

const require = createRequire(import.meta.url);

interface Fc2Response {
  headers: Record<string, string | undefined>;
  data: unknown;
}
interface Fc2Client {
  version: string;
  request(
    method: string,
    path: string,
    query: unknown,
    body: unknown,
    headers?: object,
  ): Promise<Fc2Response>;
  invokeFunction(service: string, fn: string, event: string, headers?: object): Promise<Fc2Response>;
}
const FC = require('@alicloud/fc2') as new (accountId: string, config: object) => Fc2Client;

const ACCOUNT = '1234567890123456';
const KEY = { accessKeyId: 'AKLOCALTEST', accessKeySecret: 'local-test-secret-0123456789' };
const ROOT = join(__dirname, '..', '..');
const SYAML = join(__dirname, '..', 'fixtures', 'fc-runtime', 's.yaml');

/** fc2 as the fc3 component uses it: version 2023-03-30 and the generic request path */
function fc2(
  runtime: FcRuntime,
  key: { accessKeyId: string; accessKeySecret: string; securityToken?: string },
) {
  const client = new FC(ACCOUNT, {
    accessKeyID: key.accessKeyId,
    accessKeySecret: key.accessKeySecret,
    ...(key.securityToken ? { securityToken: key.securityToken } : {}),
    region: 'cn-hangzhou',
    endpoint: runtime.url,
    timeout: 10_000,
  });
  client.version = '2023-03-30';
  return {
    client,
    invoke: (name: string, event: unknown, headers: Record<string, string> = {}) =>
      client.request(
        'POST',
        `/functions/${encodeURIComponent(name)}/invocations`,
        null,
        Buffer.from(typeof event === 'string' ? event : JSON.stringify(event)),
        headers,
      ),
  };
}

async function rejection(p: Promise<unknown>): Promise<Error & { code?: string; status?: number }> {
  try {
    await p;
  } catch (err) {
    return err as Error & { code?: string };
  }
  throw new Error('expected a rejection');
}

const ERROR_FIELDS = ['errorMessage', 'errorType'];

describe('local FC runtime', () => {
  let runtime: FcRuntime;
  let stateDir: string;
  const lines: string[] = [];

  beforeAll(async () => {
    stateDir = mkdtempSync(join(tmpdir(), 'fc-runtime-test-'));
    process.env.FIXTURE_PARENT_ONLY = 'must-not-leak';
    runtime = await startFcRuntime({
      sYamlPath: SYAML,
      interpolationEnv: {},
      accountId: ACCOUNT,
      region: 'cn-hangzhou',
      accessKeys: [KEY],
      env: { EXTRA: 'from-runtime' },
      timers: 'manual',
      asyncRetryDelayMs: () => 20,
      log: (line) => lines.push(line),
    });
  });

  afterAll(async () => {
    await runtime?.close();
    delete process.env.FIXTURE_PARENT_ONLY;
    rmSync(stateDir, { recursive: true, force: true });
  });

  describe('functions()', () => {
    it('lists every function of s.yaml, built or not, with its triggers', () => {
      const fns = runtime.functions();
      expect(fns.map((f) => [f.resource, f.name, f.built])).toEqual([
        ['echo', 'fixture-echo', true],
        ['esm-echo', 'fixture-esm-echo', true],
        ['slow', 'fixture-slow', true],
        ['flaky', 'fixture-flaky', true],
        ['serial', 'fixture-serial', true],
        ['web', 'fixture-web', true],
        ['ticker', 'fixture-ticker', true],
        ['alarms', 'fixture-alarms', true],
        ['missing', 'fixture-missing', false],
      ]);
      const web = fns.find((f) => f.resource === 'web');
      expect(web?.httpUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(web?.triggers).toEqual([
        { name: 'http', type: 'http', enabled: true, methods: ['GET', 'POST'], httpUrl: web?.httpUrl },
      ]);
      expect(
        fns.find((f) => f.resource === 'ticker')?.triggers.map((t) => [t.name, t.type, t.enabled]),
      ).toEqual([
        ['nightly', 'timer', true],
        ['often', 'timer', false],
      ]);
      expect(fns.find((f) => f.resource === 'missing')?.bundle).toMatch(/bundles\/missing\/index\.js$/);
    });

    it('serves the same list on /_runtime/functions', async () => {
      const res = await fetch(`${runtime.url}/_runtime/functions`);
      expect(res.status).toBe(200);
      expect(((await res.json()) as { name: string }[]).map((f) => f.name)).toContain('fixture-missing');
    });
  });

  describe('invoking a handler the FC 3.0 way', () => {
    let result: InvocationResult;
    beforeAll(async () => {
      result = await runtime.invoke('fixture-echo', { hello: 'fc' });
    });

    it('passes the event as a Buffer and a realistic context', () => {
      expect(result.ok).toBe(true);
      expect(result.result).toMatchObject({
        isBuffer: true,
        event: { hello: 'fc' },
        context: {
          requestId: result.requestId,
          function: { name: 'fixture-echo', handler: 'index.handler', memory: 256, timeout: 5 },
          region: 'cn-hangzhou',
          accountId: ACCOUNT,
        },
        hasLogger: true,
        hasSecurityToken: true,
      });
      expect((result.result as { credentialsKeyId: string }).credentialsKeyId).toMatch(/^STS\./);
      expect(result.requestId).toMatch(/^1-[0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{12}$/);
    });

    it('gives the function its own environment: s.yaml, runtime env, FC system variables, not the parent', () => {
      const r = result.result as { env: Record<string, string>; parentOnly?: string };
      expect(r.env).toEqual({
        GREETING: 'hello',
        SHARED: 'from-template',
        OWN: 'echo-hello',
        EXTRA: 'from-runtime',
        FC_FUNCTION_NAME: 'fixture-echo',
        FC_FUNCTION_HANDLER: 'index.handler',
        FC_FUNCTION_MEMORY_SIZE: '256',
        FC_REGION: 'cn-hangzhou',
        FC_ACCOUNT_ID: ACCOUNT,
        SLB_AUTOPILOT_FC_ENDPOINT: runtime.url,
        ALIBABA_CLOUD_ACCESS_KEY_ID: runtime.credentials.accessKeyId,
      });
      expect(r.parentOnly).toBeUndefined();
    });

    it('captures the log lines of the invocation with its request id, and prints them prefixed', () => {
      expect(result.logs).toHaveLength(3);
      expect(result.logs[0]).toMatch(new RegExp(`^\\S+Z ${result.requestId} \\[INFO\\] echo fixture-echo$`));
      expect(result.logs[1]).toContain(`${result.requestId} [DEBUG] event {"hello":"fc"}`);
      expect(result.logs[2]).toContain(`${result.requestId} [INFO] console line`);
      expect(lines).toContain(`[echo] ${result.logs[0]}`);
    });

    it('keeps the instance warm between invocations', async () => {
      const again = await runtime.invoke('echo', {});
      expect(again.coldStart).toBe(false);
      expect((again.result as { invocations: number }).invocations).toBeGreaterThan(1);
    });

    it('loads ESM bundles (index.mjs) and callback-style handlers', async () => {
      const r = await runtime.invoke('esm-echo', { n: 1 });
      expect(r.result).toEqual({ esm: true, event: { n: 1 }, name: 'fixture-esm-echo' });
    });

    it('writes one line per log call: a line break in a message is escaped, never a new record', async () => {
      const r = await runtime.invoke('echo', 'first\n2026-01-01T00:00:00.000Z forged [INFO] second');
      const event = r.logs.find((l) => l.includes('[DEBUG] event'));
      expect(event).toContain('[DEBUG] event first\\n2026-01-01T00:00:00.000Z forged [INFO] second');
      expect(r.logs.every((l) => !l.includes('\n'))).toBe(true);
    });

    it('masks credential secrets and secret-named environment values in logs', async () => {
      const r = await runtime.invoke('echo', { logSecret: true });
      expect(r.logs.some((l) => l.endsWith('[INFO] secret ***'))).toBe(true);
      const all = [...lines, ...r.logs].join('\n');
      expect(all).not.toContain(runtime.credentials.accessKeySecret);
    });

    it('reports a thrown error by name and message only', async () => {
      const r = await runtime.invoke('echo', { throw: 'bad input' });
      expect(r.ok).toBe(false);
      expect(r.error).toEqual({ errorType: 'TypeError', errorMessage: 'bad input' });
      expect(JSON.parse(r.body.toString())).toEqual({ errorMessage: 'bad input', errorType: 'TypeError' });
    });

    it('fails the request when the instance crashes, and serves the next one on a new instance', async () => {
      const r = await runtime.invoke('echo', { crash: true });
      expect(r.error).toEqual({ errorType: 'Error', errorMessage: 'crashed outside the handler' });
      const next = await runtime.invoke('echo', {});
      expect(next.ok).toBe(true);
    });

    it('names an unknown function and a function that is not built', async () => {
      await expect(runtime.invoke('nope', {})).rejects.toThrow(/function not found: nope/);
      const err = await rejection(runtime.invoke('missing', {}));
      expect(err).toBeInstanceOf(FcRuntimeError);
      expect(err.message).toMatch(
        /fixture-missing is declared in s.yaml but not built: .*index\.js is missing/,
      );
    });
  });

  describe('timeout from s.yaml', () => {
    it('terminates the instance after `timeout` seconds and reports FunctionTimeout', async () => {
      // The handler would sleep 10 minutes: the invocation coming back at all (within the test's
      // timeout) is the termination; no upper bound on the wall clock, which a loaded machine stretches.
      const started = Date.now();
      const r = await runtime.invoke('slow', { ms: 600_000 });
      const took = Date.now() - started;
      expect(r).toMatchObject({
        ok: false,
        timedOut: true,
        error: { errorType: 'FunctionTimeout', errorMessage: 'Function timed out after 1 seconds' },
      });
      // Timers never fire early: it waited the whole second.
      expect(took).toBeGreaterThanOrEqual(950);
      expect(runtime.functions().find((f) => f.resource === 'slow')?.instances).toBe(0);
      const quick = await runtime.invoke('slow', { ms: 10 });
      expect(quick.result).toEqual({ slept: 10 });
    });
  });

  describe('reserved concurrency', () => {
    it('runs a second invocation only after the first (reservedConcurrency: 1)', async () => {
      const [a, b] = await Promise.all([
        runtime.invoke('serial', { ms: 300, tag: 'a' }),
        runtime.invoke('serial', { ms: 300, tag: 'b' }),
      ]);
      const ra = a.result as { start: number; end: number };
      const rb = b.result as { start: number; end: number };
      expect(rb.start).toBeGreaterThanOrEqual(ra.end);
    });

    it('runs invocations of an uncapped function side by side', async () => {
      // Side by side means on two instances at once: one idle instance first, then two invocations that
      // each hold theirs for 300 ms. Serialised, they would share it (counted, not timed).
      await runtime.invoke('slow', { ms: 0 });
      const instances = () => runtime.functions().find((f) => f.resource === 'slow')?.instances;
      expect(instances()).toBe(1);
      const [a, b] = await Promise.all([
        runtime.invoke('slow', { ms: 300 }),
        runtime.invoke('slow', { ms: 300 }),
      ]);
      expect(a.ok && b.ok).toBe(true);
      expect([a.coldStart, b.coldStart].sort()).toEqual([false, true]);
      expect(instances()).toBe(2);
    });
  });

  describe('FC invoke API with @alicloud/fc2', () => {
    it('invokes synchronously and returns the result', async () => {
      const res = await fc2(runtime, KEY).invoke('fixture-echo', { via: 'fc2' });
      expect(res.headers['x-fc-request-id']).toMatch(/^1-/);
      expect(res.data).toMatchObject({
        event: { via: 'fc2' },
        context: { function: { name: 'fixture-echo' } },
      });
    });

    it('answers a function error with 200, x-fc-error-type and {errorMessage, errorType}', async () => {
      const res = await fc2(runtime, KEY).invoke('fixture-echo', { throw: 'nope' });
      expect(res.headers['x-fc-error-type']).toBe('UnhandledInvocationError');
      expect(res.data).toEqual({ errorMessage: 'nope', errorType: 'TypeError' });
      expect(Object.keys(res.data as object).sort()).toEqual(ERROR_FIELDS);
    });

    it('answers an async call 202 with an empty body, no JSON content type, and runs it in the background', async () => {
      const res = await fc2(runtime, KEY).invoke(
        'fixture-echo',
        { bg: true },
        { 'x-fc-invocation-type': 'Async' },
      );
      expect(res.data).toBe('');
      expect(res.headers['content-type']).toBeUndefined();
      const id = res.headers['x-fc-request-id'] as string;
      const rec = await runtime.waitForAsync(id);
      expect(rec).toMatchObject({ status: 'succeeded', attempts: 1, maxAttempts: 4, source: 'api' });
      expect(rec.result).toMatchObject({ event: { bg: true } });
    });

    it('retries a failing async invocation up to maxAsyncRetryAttempts (2 here)', async () => {
      const client = fc2(runtime, KEY);
      const ok = await client.invoke(
        'fixture-flaky',
        { dir: stateDir, key: 'twice', failTimes: 2 },
        {
          'x-fc-invocation-type': 'Async',
        },
      );
      const never = await client.invoke(
        'fixture-flaky',
        { dir: stateDir, key: 'always', failTimes: 99 },
        {
          'x-fc-invocation-type': 'Async',
        },
      );
      const recOk = await runtime.waitForAsync(ok.headers['x-fc-request-id'] as string);
      const recFail = await runtime.waitForAsync(never.headers['x-fc-request-id'] as string);
      expect(recOk).toMatchObject({
        status: 'succeeded',
        attempts: 3,
        maxAttempts: 3,
        result: { attempt: 3 },
      });
      expect(recFail).toMatchObject({
        status: 'failed',
        attempts: 3,
        error: { errorType: 'Error', errorMessage: 'attempt 3 fails' },
      });
      expect(runtime.asyncRecords().map((r) => r.requestId)).toEqual(
        expect.arrayContaining([recOk.requestId, recFail.requestId]),
      );
      const listed = (await (await fetch(`${runtime.url}/_runtime/async-invocations`)).json()) as {
        status: string;
      }[];
      expect(listed.length).toBe(runtime.asyncRecords().length);
    });

    it('returns the log tail when asked (x-fc-log-type: Tail)', async () => {
      const res = await fc2(runtime, KEY).invoke('fixture-echo', {}, { 'x-fc-log-type': 'Tail' });
      const tail = Buffer.from(res.headers['x-fc-log-result'] as string, 'base64').toString();
      expect(tail).toContain(`${res.headers['x-fc-request-id']} [INFO] echo fixture-echo`);
    });

    it('accepts the STS credentials it hands to functions (function-to-function calls)', async () => {
      const res = await fc2(runtime, runtime.credentials).invoke('fixture-echo', { sts: true });
      expect(res.data).toMatchObject({ event: { sts: true } });
      const wrongToken = fc2(runtime, { ...runtime.credentials, securityToken: 'forged' });
      expect((await rejection(wrongToken.invoke('fixture-echo', {}))).code).toBe('InvalidSecurityToken');
    });

    it('rejects a bad signature with 403 SignatureNotMatch, and an unknown key', async () => {
      const bad = await rejection(
        fc2(runtime, { ...KEY, accessKeySecret: 'wrong' }).invoke('fixture-echo', {}),
      );
      expect(bad.name).toBe('FCSignatureNotMatchError');
      expect(bad.code).toBe('SignatureNotMatch');
      expect(bad.message).toMatch(/failed with 403/);
      const unknown = await rejection(
        fc2(runtime, { accessKeyId: 'AKNOBODY', accessKeySecret: 'x' }).invoke('x', {}),
      );
      expect(unknown.code).toBe('InvalidAccessKeyId.NotFound');
    });

    it('answers 404 FunctionNotFound for an unknown function and for one that is not built', async () => {
      const unknown = await rejection(fc2(runtime, KEY).invoke('fixture-nope', {}));
      expect(unknown.code).toBe('FunctionNotFound');
      expect(unknown.message).toMatch(/failed with 404/);
      const notBuilt = await rejection(fc2(runtime, KEY).invoke('fixture-missing', {}));
      expect(notBuilt.code).toBe('FunctionNotFound');
      expect(notBuilt.message).toMatch(/not built/);
    });

    it('also serves fc2 invokeFunction on its FC 2.0 service path (service ignored)', async () => {
      const client = new FC(ACCOUNT, {
        accessKeyID: KEY.accessKeyId,
        accessKeySecret: KEY.accessKeySecret,
        region: 'cn-hangzhou',
        endpoint: runtime.url,
      });
      const res = await client.invokeFunction('any-service', 'fixture-echo', '{"v2":true}');
      expect(res.data).toMatchObject({ event: { v2: true } });
    });
  });

  describe('HTTP trigger', () => {
    const web = () => runtime.functions().find((f) => f.resource === 'web')?.httpUrl as string;

    it('delivers the FC 3.0 HTTP event', async () => {
      const res = await fetch(`${web()}/event?x=1&x=2&y=%C3%A9`, { headers: { 'X-Test': 'yes' } });
      expect(res.status).toBe(200);
      const event = fcHttpEventSchema.parse(await res.json());
      expect(event).toMatchObject({
        version: 'v1',
        rawPath: '/event',
        queryParameters: { x: '1,2', y: 'é' },
        body: '',
        isBase64Encoded: false,
        requestContext: {
          accountId: ACCOUNT,
          domainName: '127.0.0.1',
          http: { method: 'GET', path: '/event', protocol: 'HTTP/1.1', sourceIp: '127.0.0.1' },
          requestId: res.headers.get('x-fc-request-id'),
        },
      });
      expect(event.headers['x-test']).toBe('yes');
      expect(event.requestContext.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
      expect(Number(event.requestContext.timeEpoch)).toBeGreaterThan(0);
    });

    it('passes a text body as is and a binary body base64', async () => {
      const text = fcHttpEventSchema.parse(
        await (await fetch(`${web()}/event`, { method: 'POST', body: '{"a":"é"}' })).json(),
      );
      expect([text.body, text.isBase64Encoded]).toEqual(['{"a":"é"}', false]);
      const bytes = Buffer.from([0xff, 0x00, 0xfe]);
      const bin = fcHttpEventSchema.parse(
        await (await fetch(`${web()}/event`, { method: 'POST', body: bytes })).json(),
      );
      expect(bin.isBase64Encoded).toBe(true);
      expect(Buffer.from(bin.body, 'base64')).toEqual(bytes);
    });

    it('turns a formatted result into the response, minus headers FC manages', async () => {
      const res = await fetch(`${web()}/created`, { method: 'POST' });
      expect(res.status).toBe(201);
      expect(res.headers.get('x-custom')).toBe('yes');
      expect(res.headers.get('x-fc-sneaky')).toBeNull();
      expect(await res.json()).toEqual({ created: true });
      const bin = await fetch(`${web()}/binary`);
      expect([...new Uint8Array(await bin.arrayBuffer())]).toEqual([0, 1, 2, 255]);
    });

    it('answers 200 with a plain object or string result', async () => {
      const obj = await fetch(`${web()}/plain-object`);
      expect([obj.status, obj.headers.get('content-type'), await obj.json()]).toEqual([
        200,
        'application/json',
        { hello: 'world' },
      ]);
      const text = await fetch(`${web()}/text`);
      expect([text.status, await text.text()]).toEqual([200, 'just text']);
    });

    it('answers 405 for a method the trigger does not allow', async () => {
      const res = await fetch(`${web()}/event`, { method: 'PUT', body: 'x' });
      expect(res.status).toBe(405);
      expect(res.headers.get('allow')).toBe('GET, POST');
    });

    it('answers an unhandled error with 502 and a JSON error without a stack trace', async () => {
      const res = await fetch(`${web()}/boom`);
      expect(res.status).toBe(502);
      const body = (await res.json()) as Record<string, string>;
      expect(body).toEqual({ errorType: 'Error', errorMessage: 'handler failed' });
      expect(JSON.stringify(body)).not.toMatch(/\bat \S+:\d+/);
    });
  });

  describe('timer triggers', () => {
    it('fires with the FC timer event: triggerTime without ms, triggerName, payload verbatim', async () => {
      const r = await runtime.fireTimer('ticker', 'nightly', new Date('2024-01-01T19:30:00.456Z'));
      expect((r.result as { event: unknown }).event).toEqual({
        triggerTime: '2024-01-01T19:30:00Z',
        triggerName: 'nightly',
        payload: '{"source":"timer"}',
      });
    });

    it('fires on POST /_runtime/functions/{name}/timers/{trigger}', async () => {
      const res = await fetch(`${runtime.url}/_runtime/functions/fixture-ticker/timers/nightly`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
      });
      expect(res.status).toBe(200);
      const body = (await res.json()) as { ok: boolean; result: { event: { triggerName: string } } };
      expect(body.ok).toBe(true);
      expect(body.result.event.triggerName).toBe('nightly');
    });

    it('names a trigger that does not exist', async () => {
      await expect(runtime.fireTimer('ticker', 'hourly')).rejects.toThrow(
        'function fixture-ticker has no timer trigger named hourly',
      );
    });
  });

  describe('EventBridge trigger', () => {
    const alarm = {
      id: 'evt-1',
      source: 'acs.cloudmonitor',
      specversion: '1.0',
      type: 'cms:Alarm:StateChange',
      time: '2024-01-01T00:00:00Z',
      aliyunregionid: 'cn-hangzhou',
      aliyuneventbusname: 'default',
      data: { alertState: 'ALERT', instanceId: 'lb-1' },
    };

    it('delivers a CloudEvents envelope as the event, extension attributes included', async () => {
      const r = (await runtime.deliverEvent('alarms', alarm)) as InvocationResult;
      expect((r.result as { event: unknown }).event).toEqual(alarm);
    });

    it('accepts it on POST /_runtime/functions/{name}/events, and async on request', async () => {
      const res = await fetch(`${runtime.url}/_runtime/functions/fixture-alarms/events`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(alarm),
      });
      expect(res.status).toBe(200);
      expect(((await res.json()) as { result: { event: unknown } }).result.event).toEqual(alarm);
      const queued = await fetch(`${runtime.url}/_runtime/functions/fixture-alarms/events?async=true`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(alarm),
      });
      expect(queued.status).toBe(202);
      const rec = (await queued.json()) as { requestId: string; source: string };
      expect(rec.source).toBe('eventbridge:cloudmonitor');
      expect((await runtime.waitForAsync(rec.requestId)).status).toBe('succeeded');
    });

    it('answers 400 naming the missing field of a bad envelope', async () => {
      const { id: _id, ...noId } = alarm;
      const res = await fetch(`${runtime.url}/_runtime/functions/fixture-alarms/events`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(noId),
      });
      expect(res.status).toBe(400);
      expect(((await res.json()) as { errorMessage: string }).errorMessage).toMatch(
        /^not a CloudEvents envelope: id:/,
      );
      const notJson = await fetch(`${runtime.url}/_runtime/functions/fixture-alarms/events`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{',
      });
      expect(notJson.status).toBe(400);
    });

    it('does not deliver what the filter pattern excludes, nor to a function without the trigger', async () => {
      await expect(runtime.deliverEvent('alarms', { ...alarm, source: 'acs.oss' })).rejects.toMatchObject({
        status: 422,
        message: expect.stringContaining('source does not match ["acs.cloudmonitor"]'),
      });
      await expect(runtime.deliverEvent('echo', alarm)).rejects.toMatchObject({
        status: 404,
        message: 'function fixture-echo has no eventbridge trigger in s.yaml',
      });
    });
  });
});

describe('local FC runtime: timers on the clock, and close()', () => {
  it('arms each enabled timer for its next run and fires it with that trigger time', async () => {
    let now = new Date('2024-01-01T00:00:00Z');
    const armed: Array<{ fn: () => void; ms: number; cleared: boolean }> = [];
    const clock: Clock = {
      now: () => now,
      setTimeout: (fn, ms) => {
        const t = { fn, ms, cleared: false };
        armed.push(t);
        return t;
      },
      clearTimeout: (h) => {
        (h as { cleared: boolean }).cleared = true;
      },
    };
    const lines: string[] = [];
    const runtime = await startFcRuntime({
      sYamlPath: SYAML,
      interpolationEnv: {},
      timers: 'auto',
      clock,
      log: (l) => lines.push(l),
    });
    try {
      // nightly (03:30 Shanghai = 19:30 UTC); `often` is disabled
      expect(armed.map((t) => t.ms)).toEqual([19.5 * 3_600_000]);
      const ticker = runtime.functions().find((f) => f.resource === 'ticker');
      expect(ticker?.triggers[0]?.nextRun).toBe('2024-01-01T19:30:00.000Z');
      expect(ticker?.triggers[1]?.nextRun).toBeUndefined();

      now = new Date('2024-01-01T19:30:00.004Z');
      armed[0]?.fn();
      expect(armed[1]?.ms).toBe(24 * 3_600_000 - 4); // re-armed for the next night
      await expect
        .poll(() => lines.find((l) => l.startsWith('[ticker]') && l.includes('[DEBUG] event')), {
          timeout: 5000,
        })
        .toContain(
          '{"triggerTime":"2024-01-01T19:30:00Z","triggerName":"nightly","payload":"{\\"source\\":\\"timer\\"}"}',
        );
    } finally {
      await runtime.close();
    }
    expect(armed[1]?.cleared).toBe(true);
    await expect(fetch(`${runtime.url}/_runtime/functions`)).rejects.toThrow();
    await expect(runtime.invoke('echo', {})).rejects.toThrow('the local FC runtime is closed');
  });

  it('refuses an s.yaml with a bad cron expression, naming the trigger', async () => {
    const text = `edition: 3.0.0
resources:
  f:
    component: fc3
    props:
      functionName: f
      runtime: nodejs20
      handler: index.handler
      code: ./f
      triggers:
        - {triggerName: t, triggerType: timer, triggerConfig: {cronExpression: '0 0 * * *', enable: true}}
`;
    await expect(startFcRuntime({ sYamlText: text, baseDir: '/nowhere', log: false })).rejects.toThrow(
      /resources\.f\.props\.triggers\.t: cronExpression "0 0 \* \* \*": FC cron has six fields/,
    );
  });
});

describe('local FC runtime: the project s.yaml with a real esbuild bundle', () => {
  let runtime: FcRuntime;
  let out: string;

  beforeAll(async () => {
    // only provision is built: the others must show as not built, never faked
    out = mkdtempSync(join(tmpdir(), 'fc-runtime-bundles-'));
    await buildFunctions({
      functionsDir: join(ROOT, 'functions'),
      outDir: join(out, 'dist'),
      only: ['provision'],
    });
    runtime = await startFcRuntime({
      sYamlPath: join(ROOT, 's.yaml'),
      baseDir: out,
      interpolationEnv: {},
      timers: 'manual',
      env: { SLB_AUTOPILOT_API_SECRET: 'a-local-test-secret-of-at-least-32-chars' },
      log: false,
    });
  });

  afterAll(async () => {
    await runtime?.close();
    rmSync(out, { recursive: true, force: true });
  });

  it('lists the four functions, built or not', () => {
    expect(runtime.functions().map((f) => [f.name, f.built])).toEqual([
      ['slb-autopilot-cert-renewal', false],
      ['slb-autopilot-health-audit', false],
      ['slb-autopilot-failover', false],
      ['slb-autopilot-provision', true],
    ]);
    expect(runtime.warnings).toEqual([]);
  });

  it('reaches the CommonJS provision bundle through its HTTP trigger as the FC 3.0 HTTP event', async () => {
    const url = runtime.functions().find((f) => f.resource === 'provision')?.httpUrl as string;
    const res = await fetch(`${url}/status`);
    // unsigned: the function's own HMAC check answers, so the request went all the way in
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({
      error: 'Unauthorized',
      requestId: res.headers.get('x-fc-request-id'),
    });
  });
});
