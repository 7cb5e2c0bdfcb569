// Independent backend probes, for what SLB cannot vouch for (above all weight-0 standbys, which CLB's
// health check may not report usefully): an HTTP request on the health-check path expecting the
// configured code classes (http_2xx ...), or a TCP connect. Every probe has a timeout; a batch runs with
// bounded concurrency so a large group cannot open hundreds of sockets at once.

import { request } from 'node:http';
import { connect } from 'node:net';

export interface ProbeTarget {
  /** `serverId:port`, echoed in the result */
  key: string;
  host: string;
  port: number;
  /** HTTP probe when set; TCP connect otherwise */
  http?: {
    path: string;
    /** Host header (the health-check domain); default the target address */
    host?: string;
    method?: 'GET' | 'HEAD';
    /** subset of http_2xx, http_3xx, http_4xx, http_5xx; default http_2xx and http_3xx */
    codes?: string[];
  };
  /** default 3000 */
  timeoutMs?: number;
}

export interface ProbeResult {
  key: string;
  up: boolean;
  /** HTTP status, when one came back */
  status?: number;
  /** why it is down: `timeout`, `ECONNREFUSED`, `status 503 not in http_2xx,http_3xx`, ... */
  reason?: string;
  ms: number;
}

const DEFAULT_CODES = ['http_2xx', 'http_3xx'];

function probeHttp(
  t: ProbeTarget & { http: NonNullable<ProbeTarget['http']> },
  timeoutMs: number,
): Promise<Omit<ProbeResult, 'key' | 'ms'>> {
  return new Promise((resolve) => {
    const req = request(
      {
        host: t.host,
        port: t.port,
        path: t.http.path,
        method: t.http.method ?? 'GET',
        headers: { host: t.http.host ?? `${t.host}:${t.port}`, 'user-agent': 'slb-autopilot-probe' },
        timeout: timeoutMs,
        agent: false,
      },
      (res) => {
        res.resume();
        const status = res.statusCode ?? 0;
        const codes = t.http.codes ?? DEFAULT_CODES;
        const ok = codes.includes(`http_${Math.floor(status / 100)}xx`);
        resolve(
          ok
            ? { up: true, status }
            : { up: false, status, reason: `status ${status} not in ${codes.join(',')}` },
        );
      },
    );
    req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: 'timeout' })));
    req.on('error', (err: NodeJS.ErrnoException) => resolve({ up: false, reason: err.code ?? err.message }));
    req.end();
  });
}

function probeTcp(t: ProbeTarget, timeoutMs: number): Promise<Omit<ProbeResult, 'key' | 'ms'>> {
  return new Promise((resolve) => {
    const socket = connect({ host: t.host, port: t.port });
    const done = (r: Omit<ProbeResult, 'key' | 'ms'>) => {
      socket.destroy();
      resolve(r);
    };
    socket.setTimeout(timeoutMs, () => done({ up: false, reason: 'timeout' }));
    socket.once('connect', () => done({ up: true }));
    socket.once('error', (err: NodeJS.ErrnoException) =>
      done({ up: false, reason: err.code ?? err.message }),
    );
  });
}

export async function probe(t: ProbeTarget): Promise<ProbeResult> {
  const started = performance.now();
  const timeoutMs = t.timeoutMs ?? 3000;
  const r = t.http ? await probeHttp({ ...t, http: t.http }, timeoutMs) : await probeTcp(t, timeoutMs);
  return { key: t.key, ...r, ms: Math.round(performance.now() - started) };
}

/** Probes every target, at most `concurrency` at a time; results in the order of the targets. */
export async function probeAll(targets: readonly ProbeTarget[], concurrency = 8): Promise<ProbeResult[]> {
  const results: ProbeResult[] = new Array(targets.length);
  let next = 0;
  const worker = async () => {
    while (next < targets.length) {
      const i = next++;
      const t = targets[i];
      if (t) results[i] = await probe(t);
    }
  };
  await Promise.all(Array.from({ length: Math.min(Math.max(1, concurrency), targets.length) }, worker));
  return results;
}
