// Serves the status page on 127.0.0.1: `GET /` the page, `GET /snapshot.json` the current snapshot, and
// `GET /events` a server-sent event stream with a snapshot whenever the monitor has a new one. Only
// loopback Host headers are answered (a page elsewhere cannot read it through DNS rebinding).

import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Monitor } from '../stack-monitor';
import { statusPageHtml } from './page';

export interface StatusPage {
  readonly port: number;
  /** http://127.0.0.1:<port>/ */
  readonly url: string;
  close(): Promise<void>;
}

const LOOPBACK_HOST = /^(127\.0\.0\.1|localhost|\[::1\])(:\d+)?$/i;

export async function startStatusPage(monitor: Monitor, o: { port?: number } = {}): Promise<StatusPage> {
  const streams = new Set<ServerResponse>();
  const html = statusPageHtml();
  const server = createServer((req, res) => {
    if (!LOOPBACK_HOST.test(req.headers.host ?? '')) {
      res.writeHead(421, { 'content-type': 'text/plain' }).end('loopback only\n');
      return;
    }
    const path = new URL(req.url ?? '/', 'http://127.0.0.1').pathname;
    if (req.method !== 'GET') {
      res.writeHead(405, { allow: 'GET', 'content-type': 'text/plain' }).end('GET only\n');
      return;
    }
    if (path === '/') {
      res
        .writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' })
        .end(html);
      return;
    }
    if (path === '/snapshot.json') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(monitor.snapshot()));
      return;
    }
    if (path === '/events') {
      res.writeHead(200, {
        'content-type': 'text/event-stream',
        'cache-control': 'no-store',
        connection: 'keep-alive',
      });
      res.write(`retry: 2000\ndata: ${JSON.stringify(monitor.snapshot())}\n\n`);
      streams.add(res);
      req.on('close', () => streams.delete(res));
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
  });
  const unsubscribe = monitor.onUpdate((s) => {
    const frame = `data: ${JSON.stringify(s)}\n\n`;
    for (const r of streams) r.write(frame);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port ?? 0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    url: `http://127.0.0.1:${port}/`,
    close: () =>
      new Promise<void>((resolve) => {
        unsubscribe();
        for (const r of streams) r.end();
        streams.clear();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
