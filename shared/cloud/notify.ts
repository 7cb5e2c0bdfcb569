// Notifications: a generic JSON webhook (optionally signed with the x-slbap-* HMAC scheme of the
// provisioning API) and a DingTalk custom robot (signed: HMAC-SHA256 over "<ms timestamp>\n<secret>",
// base64, sent as `timestamp` and `sign` query parameters; the robot answers HTTP 200 with
// `errcode` != 0 on failure). A notification never fails the workflow that sends it: each channel's
// outcome is returned for the report. URLs are never logged or returned (a robot URL holds its token).

import { createHmac } from 'node:crypto';
import { signedHeaders } from './request-signing';

const JSON_TYPE = 'application/json; charset=utf-8';

export interface NotifierConfig {
  webhook?: { url: string; secret?: string };
  dingtalk?: { url: string; secret: string };
  /** per request, default 5 s */
  timeoutMs?: number;
  fetch?: typeof fetch;
  now?: () => Date;
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
  if (notify.webhook) {
    const url =
      notify.webhook.url ??
      (notify.webhook.urlEnv ? need(notify.webhook.urlEnv, 'webhook.urlEnv') : undefined);
    const secret = notify.webhook.secretEnv ? need(notify.webhook.secretEnv, 'webhook.secretEnv') : undefined;
    if (url) config.webhook = { url, ...(secret ? { secret } : {}) };
  }
  if (notify.dingtalk) {
    const url = need(notify.dingtalk.webhookUrlEnv, 'dingtalk.webhookUrlEnv');
    const secret = need(notify.dingtalk.secretEnv, 'dingtalk.secretEnv');
    if (url && secret) config.dingtalk = { url, secret };
  }
  return { config, problems };
}

export function createNotifier(config: NotifierConfig): Notifier {
  const doFetch = config.fetch ?? fetch;
  const now = config.now ?? (() => new Date());
  const timeoutMs = config.timeoutMs ?? 5000;

  async function post(url: string, body: string, headers: Record<string, string>): Promise<Response> {
    return doFetch(url, {
      method: 'POST',
      headers: { 'content-type': JSON_TYPE, ...headers },
      body,
      signal: AbortSignal.timeout(timeoutMs),
      redirect: 'error',
    });
  }

  const failure = (err: unknown): string => {
    const e = err as { name?: string; cause?: { code?: string } };
    if (e.name === 'TimeoutError') return 'timeout';
    return e.cause?.code ?? e.name ?? 'error';
  };

  async function webhook(
    w: NonNullable<NotifierConfig['webhook']>,
    n: Notification,
  ): Promise<ChannelOutcome> {
    const body = JSON.stringify({ title: n.title, severity: n.severity, text: n.text, data: n.data });
    const url = new URL(w.url);
    const path = url.pathname;
    const headers = w.secret
      ? signedHeaders(
          w.secret,
          { method: 'POST', path, query: [...url.searchParams], contentType: JSON_TYPE, body },
          now(),
        )
      : {};
    try {
      const res = await post(w.url, body, headers);
      await res.arrayBuffer();
      return res.ok
        ? { channel: 'webhook', ok: true }
        : { channel: 'webhook', ok: false, error: `HTTP ${res.status}` };
    } catch (err) {
      return { channel: 'webhook', ok: false, error: failure(err) };
    }
  }

  async function dingtalk(
    d: NonNullable<NotifierConfig['dingtalk']>,
    n: Notification,
  ): Promise<ChannelOutcome> {
    const body = JSON.stringify({
      msgtype: 'markdown',
      markdown: { title: n.title, text: `### ${n.title}\n\n${n.text}` },
    });
    try {
      const res = await post(dingtalkSignedUrl(d.url, d.secret, now()), body, {});
      const text = await res.text();
      if (!res.ok) return { channel: 'dingtalk', ok: false, error: `HTTP ${res.status}` };
      let answer: { errcode?: number; errmsg?: string } = {};
      try {
        answer = JSON.parse(text);
      } catch {
        return { channel: 'dingtalk', ok: false, error: 'answer is not JSON' };
      }
      return answer.errcode === 0
        ? { channel: 'dingtalk', ok: true }
        : {
            channel: 'dingtalk',
            ok: false,
            error: `errcode ${answer.errcode}: ${String(answer.errmsg ?? '').slice(0, 100)}`,
          };
    } catch (err) {
      return { channel: 'dingtalk', ok: false, error: failure(err) };
    }
  }

  return {
    channels: [
      ...(config.webhook ? ['webhook' as const] : []),
      ...(config.dingtalk ? ['dingtalk' as const] : []),
    ],
    async send(n) {
      const jobs: Promise<ChannelOutcome>[] = [];
      if (config.webhook) jobs.push(webhook(config.webhook, n));
      if (config.dingtalk) jobs.push(dingtalk(config.dingtalk, n));
      return Promise.all(jobs);
    },
  };
}
