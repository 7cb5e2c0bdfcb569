// Notifications: a generic JSON webhook (optionally signed with the x-slbap-* HMAC scheme of the
// provisioning API) and a DingTalk custom robot (signed: HMAC-SHA256 over "<ms timestamp>\n<secret>",
// base64, sent as `timestamp` and `sign` query parameters; the robot answers HTTP 200 with
// `errcode` != 0 on failure). A notification never fails the workflow that sends it: each channel's
// outcome is returned for the report. URLs are never logged or returned (a robot URL holds its token).
// Where it may connect (shared/domain/notify-url.ts): https, or http to loopback; never link-local or
// metadata addresses, checked on the addresses a host name resolves to, and those checked addresses are
// the ones connected to (no second lookup to rebind). Redirects are not followed. An answer is summarised
// (status, DingTalk's errcode), never copied: a receiver must not be able to write into our logs.

import { createHmac } from 'node:crypto';
import { lookup as dnsLookup } from 'node:dns';
import { request as httpRequest, type IncomingMessage, type RequestOptions } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { LookupFunction } from 'node:net';
import { addressProblem, notifyUrlProblem } from '../domain/notify-url';
import { GuardRefusedError } from '../errors';
import { signedHeaders } from './request-signing';

const JSON_TYPE = 'application/json; charset=utf-8';

export interface NotifierConfig {
  webhook?: { url: string; secret?: string };
  dingtalk?: { url: string; secret: string };
  /** per request, default 5 s */
  timeoutMs?: number;
  /** host name -> addresses; default the system resolver (tests inject one: no DNS here) */
  resolve?: (hostname: string) => Promise<{ address: string; family: number }[]>;
  now?: () => Date;
}

/** At most this much of an answer is read (DingTalk answers ~40 bytes). */
const MAX_ANSWER_BYTES = 16 * 1024;

const systemResolve = (hostname: string): Promise<{ address: string; family: number }[]> =>
  new Promise((resolve, reject) =>
    dnsLookup(hostname, { all: true }, (err, addresses) => (err ? reject(err) : resolve(addresses))),
  );

/** The webhook was not called, or given up on: its address or URL is not allowed, or it timed out. */
class NotifyRefused extends GuardRefusedError {
  override name = 'NotifyRefused';
  declare readonly code: string;
  constructor(code: string) {
    super(code, { code });
  }
}

export interface Notification {
  /** e.g. `cert-renewal: 2 references rotated, 1 failed` */
  title: string;
  /** Markdown for people */
  text: string;
  severity: 'info' | 'warning' | 'error';
  /** machine-readable payload for the webhook (the workflow's report); no secrets */
  data: unknown;
}

export interface ChannelOutcome {
  channel: 'webhook' | 'dingtalk';
  ok: boolean;
  /** why it failed: status or error code, never the URL */
  error?: string;
}

export interface Notifier {
  readonly channels: ChannelOutcome['channel'][];
  send(n: Notification): Promise<ChannelOutcome[]>;
}

/** The DingTalk robot's signed URL for a moment. */
export function dingtalkSignedUrl(url: string, secret: string, now: Date): string {
  const timestamp = String(now.getTime());
  const sign = createHmac('sha256', secret).update(`${timestamp}\n${secret}`).digest('base64');
  const u = new URL(url);
  u.searchParams.set('timestamp', timestamp);
  u.searchParams.set('sign', sign);
  return u.toString();
}

/** Reads the channels a spec's `notify` names from the environment; lists what is missing. */
export function notifierConfigFromEnv(
  notify: {
    webhook?: { url?: string; urlEnv?: string; secretEnv?: string };
    dingtalk?: { webhookUrlEnv: string; secretEnv: string };
  },
  env: Record<string, string | undefined>,
): { config: NotifierConfig; problems: string[] } {
  const problems: string[] = [];
  const config: NotifierConfig = {};
  const need = (name: string, field: string) => {
    const v = env[name];
    if (!v) problems.push(`notify.${field}: environment variable ${name} is not set`);
    return v;
  };
  /** the URL when it may be used; else a problem naming the field and variable, never the value */
  const allowed = (url: string | undefined, field: string, name?: string) => {
    if (url === undefined) return undefined;
    const problem = notifyUrlProblem(url);
    if (!problem) return url;
    problems.push(`notify.${field}: ${name ? `environment variable ${name} ` : ''}${problem}`);
    return undefined;
  };
  if (notify.webhook) {
    const url = notify.webhook.url
      ? allowed(notify.webhook.url, 'webhook.url')
      : notify.webhook.urlEnv
        ? allowed(need(notify.webhook.urlEnv, 'webhook.urlEnv'), 'webhook.urlEnv', notify.webhook.urlEnv)
        : undefined;
    const secret = notify.webhook.secretEnv ? need(notify.webhook.secretEnv, 'webhook.secretEnv') : undefined;
    if (url) config.webhook = { url, ...(secret ? { secret } : {}) };
  }
  if (notify.dingtalk) {
    const name = notify.dingtalk.webhookUrlEnv;
    const url = allowed(need(name, 'dingtalk.webhookUrlEnv'), 'dingtalk.webhookUrlEnv', name);
    const secret = need(notify.dingtalk.secretEnv, 'dingtalk.secretEnv');
    if (url && secret) config.dingtalk = { url, secret };
  }
  return { config, problems };
}

/** Resolves, refuses forbidden addresses, and hands the socket exactly the addresses it checked. */
function checkedLookup(resolve: NonNullable<NotifierConfig['resolve']>): LookupFunction {
  return (hostname, options, callback) => {
    resolve(hostname).then(
      (addresses) => {
        const bad = addresses.find((a) => addressProblem(a.address));
        if (bad || addresses.length === 0) {
          callback(new NotifyRefused(bad ? 'forbidden address' : 'no address'), '', 4);
          return;
        }
        if (options.all) callback(null, addresses);
        else callback(null, addresses[0]?.address ?? '', addresses[0]?.family ?? 4);
      },
      (err: NodeJS.ErrnoException) => callback(err, '', 4),
    );
  };
}

/** How one notifier sends: its checked lookup, its bound on each POST, its clock for signatures. */
interface Sender {
  lookup: LookupFunction;
  timeoutMs: number;
  now: () => Date;
}

/** One POST; the status and at most MAX_ANSWER_BYTES of the answer. No redirects (node never follows). */
function post(
  sender: Sender,
  url: string,
  body: string,
  headers: Record<string, string>,
): Promise<{ status: number; text: string }> {
  if (notifyUrlProblem(url)) return Promise.reject(new NotifyRefused('URL not allowed'));
  const u = new URL(url);
  if (addressProblem(u.hostname)) return Promise.reject(new NotifyRefused('forbidden address'));
  const options: RequestOptions = {
    method: 'POST',
    headers: { 'content-type': JSON_TYPE, 'content-length': Buffer.byteLength(body), ...headers },
    lookup: sender.lookup,
    timeout: sender.timeoutMs,
  };
  return new Promise((resolvePost, reject) => {
    const send = u.protocol === 'https:' ? httpsRequest : httpRequest;
    const timer = setTimeout(() => req.destroy(new NotifyRefused('timeout')), sender.timeoutMs);
    const fail = (err: Error) => {
      clearTimeout(timer);
      reject(err);
    };
    const req = send(u, options, (res: IncomingMessage) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        if (size < MAX_ANSWER_BYTES) chunks.push(c.subarray(0, MAX_ANSWER_BYTES - size));
        size += c.length;
      });
      res.on('end', () => {
        clearTimeout(timer);
        resolvePost({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') });
      });
      res.on('error', fail);
    });
    req.on('timeout', () => req.destroy(new NotifyRefused('timeout')));
    req.on('error', fail);
    req.end(body);
  });
}

/** A short code for the report: never a message a receiver or resolver could have written. */
function failure(err: unknown): string {
  if (err instanceof NotifyRefused) return err.code;
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' && /^[A-Z_]{2,32}$/.test(code) ? code : 'error';
}

async function sendWebhook(
  sender: Sender,
  w: NonNullable<NotifierConfig['webhook']>,
  n: Notification,
): Promise<ChannelOutcome> {
  const body = JSON.stringify({ title: n.title, severity: n.severity, text: n.text, data: n.data });
  const url = new URL(w.url);
  const headers = w.secret
    ? signedHeaders(
        w.secret,
        { method: 'POST', path: url.pathname, query: [...url.searchParams], contentType: JSON_TYPE, body },
        sender.now(),
      )
    : {};
  try {
    const res = await post(sender, w.url, body, headers);
    return res.status >= 200 && res.status < 300
      ? { channel: 'webhook', ok: true }
      : { channel: 'webhook', ok: false, error: `HTTP ${res.status}` };
  } catch (err) {
    return { channel: 'webhook', ok: false, error: failure(err) };
  }
}

async function sendDingtalk(
  sender: Sender,
  d: NonNullable<NotifierConfig['dingtalk']>,
  n: Notification,
): Promise<ChannelOutcome> {
  const body = JSON.stringify({
    msgtype: 'markdown',
    markdown: { title: n.title, text: `### ${n.title}\n\n${n.text}` },
  });
  try {
    const res = await post(sender, dingtalkSignedUrl(d.url, d.secret, sender.now()), body, {});
    if (res.status < 200 || res.status >= 300)
      return { channel: 'dingtalk', ok: false, error: `HTTP ${res.status}` };
    let errcode: unknown;
    try {
      errcode = (JSON.parse(res.text) as { errcode?: unknown }).errcode;
    } catch {
      return { channel: 'dingtalk', ok: false, error: 'answer is not JSON' };
    }
    // Only the number: errmsg is the receiver's text and stays out of reports and logs.
    if (errcode === 0) return { channel: 'dingtalk', ok: true };
    return {
      channel: 'dingtalk',
      ok: false,
      error: `errcode ${Number.isSafeInteger(errcode) ? errcode : 'missing'}`,
    };
  } catch (err) {
    return { channel: 'dingtalk', ok: false, error: failure(err) };
  }
}

export function createNotifier(config: NotifierConfig): Notifier {
  const sender: Sender = {
    lookup: checkedLookup(config.resolve ?? systemResolve),
    timeoutMs: config.timeoutMs ?? 5000,
    now: config.now ?? (() => new Date()),
  };
  return {
    channels: [
      ...(config.webhook ? ['webhook' as const] : []),
      ...(config.dingtalk ? ['dingtalk' as const] : []),
    ],
    async send(n) {
      const jobs: Promise<ChannelOutcome>[] = [];
      if (config.webhook) jobs.push(sendWebhook(sender, config.webhook, n));
      if (config.dingtalk) jobs.push(sendDingtalk(sender, config.dingtalk, n));
      return Promise.all(jobs);
    },
  };
}
