// Notifications over real HTTP on 127.0.0.1: a signed generic webhook, a signed DingTalk robot (checked
// the way DingTalk checks it), failures reported per channel without the URL (it carries a token).
import { createHmac } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createNotifier, notifierConfigFromEnv } from '../../shared/cloud/notify';
import { notifyUrlProblem } from '../../shared/domain/notify-url';
import { parseSpec } from '../../shared/domain/spec';
import { createVerifier } from '../../shared/runtime/hmac-auth';

const WEBHOOK_SECRET = 'webhook-secret-0123456789abcdef0123';
const ROBOT_SECRET = 'SECrobot0123456789';
const NOW = new Date('2026-11-24T12:00:00Z');

interface Seen {
  path: string;
  query: URLSearchParams;
  headers: IncomingMessage['headers'];
  body: string;
}
let server: Server;
let base: string;
let seen: Seen[] = [];
let answer: { status: number; body: string } = { status: 200, body: '{"errcode":0,"errmsg":"ok"}' };

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      seen.push({
        path: url.pathname,
        query: url.searchParams,
        headers: req.headers,
        body: Buffer.concat(chunks).toString(),
      });
      res.writeHead(answer.status, { 'content-type': 'application/json' }).end(answer.body);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));
beforeEach(() => {
  seen = [];
  answer = { status: 200, body: '{"errcode":0,"errmsg":"ok"}' };
});

const note = {
  title: 'cert-renewal: 1 rotated',
  text: '- mall:443 rotated',
  severity: 'info' as const,
  data: { rotated: 1 },
};

describe('notifications', () => {
  it('signs the webhook so the receiver can verify it like the provisioning API does', async () => {
    const n = createNotifier({
      webhook: { url: `${base}/hooks/slb`, secret: WEBHOOK_SECRET },
      now: () => NOW,
    });
    expect(await n.send(note)).toEqual([{ channel: 'webhook', ok: true }]);
    const [req] = seen;
    expect(JSON.parse(req?.body ?? '')).toEqual({ ...note });
    const verifier = createVerifier({ secret: WEBHOOK_SECRET, now: () => NOW });
    const headers = Object.fromEntries(Object.entries(req?.headers ?? {}).map(([k, v]) => [k, String(v)]));
    expect(() =>
      verifier.verify({
        method: 'POST',
        path: '/hooks/slb',
        query: {},
        headers,
        body: Buffer.from(req?.body ?? ''),
      }),
    ).not.toThrow();
  });

  it('signs the DingTalk robot call as DingTalk checks it, with a markdown message', async () => {
    const n = createNotifier({
      dingtalk: { url: `${base}/robot/send?access_token=tok123`, secret: ROBOT_SECRET },
      now: () => NOW,
    });
    expect(await n.send(note)).toEqual([{ channel: 'dingtalk', ok: true }]);
    const [req] = seen;
    expect(req?.query.get('access_token')).toBe('tok123');
    expect(req?.query.get('timestamp')).toBe(String(NOW.getTime()));
    const expected = createHmac('sha256', ROBOT_SECRET)
      .update(`${NOW.getTime()}\n${ROBOT_SECRET}`)
      .digest('base64');
    expect(req?.query.get('sign')).toBe(expected);
    expect(JSON.parse(req?.body ?? '')).toMatchObject({
      msgtype: 'markdown',
      markdown: { title: note.title },
    });
  });

  it('reports a robot refusal (HTTP 200, errcode != 0) and an HTTP error per channel, without URLs', async () => {
    answer = { status: 200, body: '{"errcode":310000,"errmsg":"sign not match"}' };
    const n = createNotifier({
      webhook: { url: `${base}/hook?token=abc` },
      dingtalk: { url: `${base}/robot/send?access_token=tok123`, secret: ROBOT_SECRET },
    });
    const out = await n.send(note);
    expect(out).toEqual([
      { channel: 'webhook', ok: true },
      { channel: 'dingtalk', ok: false, error: 'errcode 310000' },
    ]);
    answer = { status: 503, body: 'down' };
    const again = await n.send(note);
    expect(again.map((o) => o.error)).toEqual(['HTTP 503', 'HTTP 503']);
    expect(JSON.stringify(again)).not.toContain('tok123');
  });

  it('reports an unreachable receiver without throwing', async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const out = await createNotifier({ webhook: { url: `http://127.0.0.1:${port}/x` } }).send(note);
    expect(out).toEqual([{ channel: 'webhook', ok: false, error: 'ECONNREFUSED' }]);
  });

  it('reads channels from the environment and names what is missing', () => {
    const { config, problems } = notifierConfigFromEnv(
      { webhook: { urlEnv: 'HOOK' }, dingtalk: { webhookUrlEnv: 'DT_URL', secretEnv: 'DT_SECRET' } },
      { HOOK: 'http://127.0.0.1:1/h', DT_URL: 'http://127.0.0.1:1/r' },
    );
    expect(config).toEqual({ webhook: { url: 'http://127.0.0.1:1/h' } });
    expect(problems).toEqual(['notify.dingtalk.secretEnv: environment variable DT_SECRET is not set']);
  });

  it('copies nothing of a DingTalk answer but its errcode (errmsg could forge a log line)', async () => {
    answer = {
      status: 200,
      body: JSON.stringify({
        errcode: 310000,
        errmsg: `bad\n{"level":"error","msg":"forged"}${'x'.repeat(5000)}`,
      }),
    };
    const out = await createNotifier({
      dingtalk: { url: `${base}/robot/send?access_token=tok123`, secret: ROBOT_SECRET },
    }).send(note);
    expect(out).toEqual([{ channel: 'dingtalk', ok: false, error: 'errcode 310000' }]);
  });

  it('does not follow a redirect', async () => {
    answer = { status: 302, body: '' };
    const out = await createNotifier({ webhook: { url: `${base}/hook` } }).send(note);
    expect(out).toEqual([{ channel: 'webhook', ok: false, error: 'HTTP 302' }]);
    expect(seen).toHaveLength(1);
  });

  it('refuses, before connecting, a host name that resolves to a metadata or link-local address', async () => {
    const port = new URL(base).port;
    for (const bad of ['169.254.169.254', '100.100.100.200', 'fe80::1']) {
      const n = createNotifier({
        webhook: { url: `http://localhost:${port}/hook` },
        resolve: async () => [
          { address: '127.0.0.1', family: 4 },
          { address: bad, family: bad.includes(':') ? 6 : 4 },
        ],
      });
      expect(await n.send(note)).toEqual([{ channel: 'webhook', ok: false, error: 'forbidden address' }]);
    }
    expect(seen).toHaveLength(0);
    const fine = createNotifier({
      webhook: { url: `http://localhost:${port}/hook` },
      resolve: async () => [{ address: '127.0.0.1', family: 4 }],
    });
    expect(await fine.send(note)).toEqual([{ channel: 'webhook', ok: true }]);
    expect(seen).toHaveLength(1);
  });

  it.each([
    ['http://hooks.example.com/x', /must be https/],
    ['http://169.254.169.254/latest/meta-data', /must be https/],
    ['https://169.254.169.254/latest/meta-data', /link-local/],
    ['https://100.100.100.200/latest/meta-data', /metadata/],
    ['https://[fe80::1]/x', /link-local/],
    ['https://[::ffff:169.254.169.254]/x', /link-local/],
    ['https://2852039166/x', /link-local/],
    ['https://0.0.0.0/x', /unspecified/],
    ['ftp://hooks.example.com/x', /must be https/],
    ['https://user:pw@hooks.example.com/x', /user name or password/],
  ])('refuses the notification URL %s', async (url, why) => {
    expect(notifyUrlProblem(url)).toMatch(why);
    const spec = `version: 1\nregion: cn-hangzhou\nloadBalancers: [{name: a, id: lb-a1}]\nnotify: {webhook: {url: "${url}"}}\n`;
    expect(() => parseSpec(spec)).toThrow(/notify\.webhook\.url: must/);
    const out = await createNotifier({ webhook: { url } }).send(note);
    expect(out[0]?.ok).toBe(false);
    const { config, problems } = notifierConfigFromEnv({ webhook: { urlEnv: 'HOOK' } }, { HOOK: url });
    expect(config.webhook).toBeUndefined();
    expect(problems[0]).toMatch(/^notify\.webhook\.urlEnv: environment variable HOOK must/);
    expect(problems.join(' ')).not.toContain(url);
  });

  it.each([
    'https://hooks.example.com/x',
    'http://127.0.0.1:8080/x',
    'http://localhost/x',
    'http://[::1]:9/x',
  ])('accepts the notification URL %s', (url) => {
    expect(notifyUrlProblem(url)).toBeUndefined();
  });
});
