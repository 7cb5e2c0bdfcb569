// The local cloud's data plane for traffic: what a CLB listener does with an HTTP request once its front
// end (tls-front-ends.ts) has accepted it, so the outage a client sees can be measured.
//   - A redirect listener (HTTP, ListenerForward on) answers 301 to https://<host>[:ForwardPort]<path>.
//   - Forwarding rules (domain + URL) choose the group: an exact domain beats a wildcard (`*.a.com`, one
//     label) beats a rule without domain; then the longest URL prefix; no rule -> the listener's group.
//   - Eligible backends: weight > 0 and healthy by the listener's check (`normal`; with the check off,
//     every backend). With the local cloud's checks off, health is what the admin API set (absent =
//     normal), as DescribeHealthStatus reports it.
//   - Scheduling per (listener, group), as the listener's Scheduler says: `wrr` (smooth weighted round
//     robin: over any window of sum(weights) requests each backend gets exactly its share), `rr` (weights
//     ignored beyond > 0), `wlc` (fewest open requests per unit of weight, ties by smooth WRR).
//   - No eligible backend -> 503; the backend refuses or drops the connection -> 502; no answer within
//     the listener's RequestTimeout (default 60 s) -> 504. CLB does not retry another backend.
//   - Headers, by the listener's settings: X-Forwarded-For (XForwardedFor, on by default; the client's
//     address appended), X-Forwarded-Proto (XForwardedFor_proto), SLB-IP (XForwardedFor_SLBIP), SLB-ID
//     (XForwardedFor_SLBID), X-Forwarded-Port (XForwardedFor_SLBPORT), X-Forwarded-Client-srcport
//     (XForwardedFor_ClientSrcPort).
//   - Every answer carries `x-local-cloud-backend: <serverId>:<port>` when a backend served it, so a
//     client (the outage bench) can tell the pools apart without reading bodies.

import { Agent, type IncomingMessage, request, type ServerResponse } from 'node:http';
import type { BackendServerRecord, CloudState, ListenerRecord, RuleRecord } from './state';
import { listenerBackendKey } from './state';

export interface ListenerRef {
  loadBalancerId: string;
  listenerPort: number;
  protocol: 'http' | 'https';
}

export interface BackendAddress {
  host: string;
  port: number;
}

export interface FrontEndProxyOptions {
  /** the current state (replaced on reset) */
  state: () => CloudState;
  /** where a group member really answers traffic (the backend-address map, else its private IP) */
  resolve: (state: CloudState, b: BackendServerRecord) => BackendAddress | undefined;
}

export const BACKEND_HEADER = 'x-local-cloud-backend';
const DEFAULT_REQUEST_TIMEOUT_S = 60;
/** Connection-level headers a proxy must not forward (RFC 9110 §7.6.1). */
const HOP_BY_HOP = [
  'connection',
  'keep-alive',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
];

const normalize = (domain: string) => domain.trim().toLowerCase().replace(/\.$/, '');

function domainRank(ruleDomain: string | undefined, host: string): number {
  if (ruleDomain === undefined) return 0;
  const d = normalize(ruleDomain);
  if (d === host) return 2;
  if (d.startsWith('*.')) {
    const dot = host.indexOf('.');
    if (dot > 0 && host.slice(dot) === d.slice(1)) return 1;
  }
  return -1;
}

/** The forwarding rule a request matches (host without port, path with query), or undefined. */
export function matchRule(rules: readonly RuleRecord[], host: string, path: string): RuleRecord | undefined {
  const h = normalize(host);
  let best: { rule: RuleRecord; rank: number; length: number } | undefined;
  for (const rule of rules) {
    const rank = domainRank(rule.domain, h);
    if (rank < 0) continue;
    if (rule.url !== undefined && !path.startsWith(rule.url)) continue;
    const length = rule.url?.length ?? 0;
    if (!best || rank > best.rank || (rank === best.rank && length > best.length))
      best = { rule, rank, length };
  }
  return best?.rule;
}

export interface Candidate {
  /** `${serverId}:${port}` */
  key: string;
  /** 1-100 */
  weight: number;
}

/**
 * Scheduling state of one (listener, group): smooth weighted round robin (nginx's), round robin and
 * weighted least connections over the eligible candidates. Pure apart from its own counters.
 */
export class GroupScheduler {
  private readonly current = new Map<string, number>();
  private rrNext = 0;

  pick(
    candidates: readonly Candidate[],
    scheduler: string,
    open: (key: string) => number,
  ): string | undefined {
    if (candidates.length === 0) return undefined;
    if (scheduler === 'rr') {
      const sorted = [...candidates].sort((a, b) => a.key.localeCompare(b.key));
      const c = sorted[this.rrNext++ % sorted.length];
      return c?.key;
    }
    if (scheduler === 'wlc') {
      const load = (c: Candidate) => open(c.key) / c.weight;
      const least = Math.min(...candidates.map(load));
      return this.smooth(candidates.filter((c) => load(c) === least));
    }
    return this.smooth(candidates);
  }

  private smooth(candidates: readonly Candidate[]): string | undefined {
    let total = 0;
    let best: Candidate | undefined;
    for (const c of candidates) {
      const v = (this.current.get(c.key) ?? 0) + c.weight;
      this.current.set(c.key, v);
      total += c.weight;
      if (!best || v > (this.current.get(best.key) ?? 0)) best = c;
    }
    if (!best) return undefined;
    this.current.set(best.key, (this.current.get(best.key) ?? 0) - total);
    // Members that left the candidate set start afresh when they come back.
    for (const k of this.current.keys()) if (!candidates.some((c) => c.key === k)) this.current.delete(k);
    return best.key;
  }
}

function plain(res: ServerResponse, status: number, text: string, headers: Record<string, string> = {}) {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.writeHead(status, {
    'content-type': 'text/plain; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

const on = (l: ListenerRecord, name: string, byDefault = false) =>
  l.extra[name] === undefined ? byDefault : l.extra[name] === 'on';

export class FrontEndProxy {
  private readonly schedulers = new Map<string, GroupScheduler>();
  private readonly open = new Map<string, number>();
  // Kept-alive backend connections are dropped after 2 s idle, well before a backend's own keep-alive
  // timeout (Node's default 5 s): a pooled socket the backend is closing would otherwise answer
  // ECONNRESET to the next request and show as a 502 that no outage caused.
  private readonly agent = new Agent({ keepAlive: true, timeout: 2000, maxSockets: 256 });

  constructor(private readonly o: FrontEndProxyOptions) {}

  /** Answers one request that reached the front end of `ref`. */
  handle(ref: ListenerRef, req: IncomingMessage, res: ServerResponse): void {
    const state = this.o.state();
    const l = state.listeners.find(
      (x) =>
        x.loadBalancerId === ref.loadBalancerId &&
        x.listenerPort === ref.listenerPort &&
        x.listenerProtocol === ref.protocol,
    );
    const lb = state.loadBalancers.find((x) => x.loadBalancerId === ref.loadBalancerId);
    if (!l || !lb) {
      plain(res, 503, 'listener gone\n');
      return;
    }
    const hostHeader = req.headers.host ?? lb.address;
    const host = hostHeader.replace(/:\d+$/, '').replace(/^\[|\]$/g, '');
    const path = req.url ?? '/';
    if (l.listenerProtocol === 'http' && l.listenerForward === 'on' && l.forwardPort) {
      const port = l.forwardPort === 443 ? '' : `:${l.forwardPort}`;
      plain(res, 301, 'Moved Permanently\n', { location: `https://${host}${port}${path}` });
      return;
    }
    const rules = state.rules.filter(
      (r) => r.loadBalancerId === l.loadBalancerId && r.listenerPort === l.listenerPort,
    );
    const rule = matchRule(rules, host, path);
    const groupId = rule?.vServerGroupId ?? l.vServerGroupId;
    const group = state.vServerGroups.find((g) => g.vServerGroupId === groupId);
    if (!group) {
      plain(res, 503, 'Service Temporarily Unavailable\n');
      return;
    }
    const eligible = group.backendServers.filter((b) => b.weight > 0 && this.healthy(state, l, b));
    const schedulerKey = `${l.loadBalancerId}:${l.listenerPort}/${group.vServerGroupId}`;
    let scheduler = this.schedulers.get(schedulerKey);
    if (!scheduler) {
      scheduler = new GroupScheduler();
      this.schedulers.set(schedulerKey, scheduler);
    }
    const ruleScheduler = rule?.extra.Scheduler;
    const picked = scheduler.pick(
      eligible.map((b) => ({ key: `${b.serverId}:${b.port}`, weight: b.weight })),
      typeof ruleScheduler === 'string' ? ruleScheduler : l.scheduler,
      (k) => this.open.get(k) ?? 0,
    );
    const backend = eligible.find((b) => `${b.serverId}:${b.port}` === picked);
    const address = backend && this.o.resolve(state, backend);
    if (!backend || !address) {
      plain(res, 503, 'Service Temporarily Unavailable\n');
      return;
    }
    this.forward(l, lb.address, backend, address, req, res);
  }

  /** As DescribeHealthStatus reports it: the listener's check, or the admin API's health when checks are off. */
  private healthy(state: CloudState, l: ListenerRecord, b: BackendServerRecord): boolean {
    if (l.healthCheck.healthCheck !== 'on') return true;
    const backend = `${b.serverId}:${b.port}`;
    const status = state.listenerHealth
      ? (state.listenerHealth[listenerBackendKey(l, b)] ?? state.backendHealth[backend] ?? 'unavailable')
      : (state.backendHealth[backend] ?? 'normal');
    return status === 'normal';
  }

  private forward(
    l: ListenerRecord,
    slbIp: string,
    b: BackendServerRecord,
    to: BackendAddress,
    req: IncomingMessage,
    res: ServerResponse,
  ): void {
    const key = `${b.serverId}:${b.port}`;
    const headers: Record<string, string | string[] | undefined> = { ...req.headers };
    for (const h of HOP_BY_HOP) delete headers[h];
    const client = req.socket.remoteAddress ?? '';
    if (on(l, 'XForwardedFor', true)) {
      const before = req.headers['x-forwarded-for'];
      headers['x-forwarded-for'] = before ? `${before}, ${client}` : client;
    }
    if (on(l, 'XForwardedFor_proto')) headers['x-forwarded-proto'] = l.listenerProtocol;
    if (on(l, 'XForwardedFor_SLBIP')) headers['slb-ip'] = slbIp;
    if (on(l, 'XForwardedFor_SLBID')) headers['slb-id'] = l.loadBalancerId;
    if (on(l, 'XForwardedFor_SLBPORT')) headers['x-forwarded-port'] = String(l.listenerPort);
    if (on(l, 'XForwardedFor_ClientSrcPort'))
      headers['x-forwarded-client-srcport'] = String(req.socket.remotePort ?? '');
    const timeoutS = Number(l.extra.RequestTimeout ?? DEFAULT_REQUEST_TIMEOUT_S);
    this.open.set(key, (this.open.get(key) ?? 0) + 1);
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      this.open.set(key, Math.max(0, (this.open.get(key) ?? 1) - 1));
    };
    const upstream = request(
      { host: to.host, port: to.port, method: req.method, path: req.url, headers, agent: this.agent },
      (answer) => {
        const out: Record<string, string | string[] | undefined> = {
          ...answer.headers,
          [BACKEND_HEADER]: key,
        };
        for (const h of HOP_BY_HOP) delete out[h];
        res.writeHead(answer.statusCode ?? 502, out);
        answer.pipe(res);
        answer.once('end', finish);
        answer.once('error', () => {
          finish();
          res.destroy();
        });
      },
    );
    upstream.setTimeout(timeoutS * 1000, () => {
      upstream.destroy();
      finish();
      plain(res, 504, 'Gateway Timeout\n');
    });
    upstream.once('error', () => {
      finish();
      plain(res, 502, 'Bad Gateway\n');
    });
    res.once('close', finish);
    req.pipe(upstream);
  }

  /** Drops pooled connections to the backends. */
  close(): void {
    this.agent.destroy();
  }
}
