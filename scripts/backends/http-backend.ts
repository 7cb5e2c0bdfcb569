// A backend stand-in: a real HTTP server on 127.0.0.1 playing the mall's K8S NodePort or ECS backend.
// It answers `/healthz` with 200 "ok" and everything else with a page naming it, and it can be killed
// (connections refused), revived on the same port, slowed, made to fail its health check with a status,
// or made to flap. The demo and the tests drive these from the process that started it.

import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface StandInOptions {
  /** shows in answers, e.g. k8s-nodeport */
  name: string;
  /** preferred port; 0 = any */
  port?: number;
  /** when the preferred port is taken, take a free one instead of failing */
  fallbackToFreePort?: boolean;
}

export interface StandInState {
  name: string;
  port: number;
  listening: boolean;
  /** a status the health check answers with instead of 200, if set */
  failingWith?: number;
  slowMs: number;
  flapping: boolean;
  requests: number;
}

export interface StandIn {
  readonly name: string;
  readonly port: number;
  state(): StandInState;
  /** stop listening and drop open connections: connects are refused */
  kill(): Promise<void>;
  /** listen again on the same port */
  revive(): Promise<void>;
  /** delay every answer */
  slow(ms: number): void;
  /** answer the health check with this status (e.g. 503) */
  fail(status: number): void;
  /** back to normal: no failure, no delay, no flapping, listening */
  heal(): Promise<void>;
  /** alternate down and up every `periodMs` until heal() or close() */
  flap(periodMs: number): void;
  close(): Promise<void>;
}

function listen(server: Server, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => reject(err);
    server.once('error', onError);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', onError);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

export async function startStandIn(o: StandInOptions): Promise<StandIn> {
  let failingWith: number | undefined;
  let slowMs = 0;
  let requests = 0;
  let listening = false;
  let flapTimer: NodeJS.Timeout | undefined;
  const sockets = new Set<Socket>();

  const answer = (res: ServerResponse, status: number, body: string) => {
    const send = () => {
      if (!res.writableEnded) res.writeHead(status, { 'content-type': 'text/plain' }).end(body);
    };
    if (slowMs > 0) setTimeout(send, slowMs);
    else send();
  };
  const makeServer = () => {
    const s = createServer((req, res) => {
      requests++;
      if (req.url?.startsWith('/healthz')) {
        if (failingWith) return answer(res, failingWith, `${o.name} failing\n`);
        return answer(res, 200, 'ok\n');
      }
      answer(res, 200, `served by ${o.name}\n`);
    });
    s.on('connection', (socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    });
    return s;
  };

  let server = makeServer();
  let port: number;
  try {
    port = await listen(server, o.port ?? 0);
  } catch (err) {
    if ((err as { code?: string }).code !== 'EADDRINUSE' || !o.fallbackToFreePort) throw err;
    server = makeServer();
    port = await listen(server, 0);
  }
  listening = true;

  const kill = async () => {
    if (!listening) return;
    listening = false;
    const closed = new Promise<void>((r) => server.close(() => r()));
    for (const s of sockets) s.destroy();
    await closed;
  };
  const revive = async () => {
    if (listening) return;
    server = makeServer();
    await listen(server, port);
    listening = true;
  };
  const stopFlapping = () => {
    if (flapTimer) clearInterval(flapTimer);
    flapTimer = undefined;
  };

  return {
    name: o.name,
    port,
    state: () => ({
      name: o.name,
      port,
      listening,
      ...(failingWith ? { failingWith } : {}),
      slowMs,
      flapping: flapTimer !== undefined,
      requests,
    }),
    kill,
    revive,
    slow: (ms) => {
      slowMs = Math.max(0, ms);
    },
    fail: (status) => {
      failingWith = status;
    },
    heal: async () => {
      stopFlapping();
      failingWith = undefined;
      slowMs = 0;
      await revive();
    },
    flap: (periodMs) => {
      stopFlapping();
      flapTimer = setInterval(() => void (listening ? kill() : revive()).catch(() => undefined), periodMs);
      flapTimer.unref();
    },
    close: async () => {
      stopFlapping();
      await kill();
    },
  };
}
