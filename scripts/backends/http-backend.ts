// A backend stand-in: a real HTTP server on 127.0.0.1 playing the mall's K8S NodePort or ECS backend.
// It answers `/healthz` with 200 "ok", `/_headers` with the request's headers as JSON (what a load balancer
// added), and everything else with a page naming it, and it can be killed
// (listening socket and open connections closed, so connects are refused), revived on the same port,
// slowed, made to fail its health check with a status, or made to flap. The process that started it
// drives these directly; other processes (a terminal next to `npm start`) use the HTTP control surface
// in control.ts, which runs on its own port because a killed stand-in has no port to be told on.

import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/** Runs `fn` every `ms` until cancelled: real timers by default, a hand-cranked one in tests. */
export interface RepeatingTimer {
  every(ms: number, fn: () => Promise<void>): { cancel(): void };
}

export const REAL_TIMER: RepeatingTimer = {
  every(ms, fn) {
    const t = setInterval(() => void fn().catch(() => undefined), ms);
    t.unref();
    return { cancel: () => clearInterval(t) };
  },
};

export interface StandInOptions {
  /** shows in answers, e.g. k8s-nodeport */
  name: string;
  /** preferred port; 0 = any */
  port?: number;
  /** when the preferred port is taken, take a free one instead of failing */
  fallbackToFreePort?: boolean;
  /** drives flap() (default: real timers) */
  timer?: RepeatingTimer;
}

export interface StandInState {
  name: string;
  port: number;
  listening: boolean;
  /** a status the health check answers with instead of 200, if set */
  failingWith?: number;
  slowMs: number;
  flapping: boolean;
  /** requests answered or being answered since start */
  requests: number;
}

export interface FlapOptions {
  /** time spent down, then up, then down... (ms, at least 1) */
  periodMs: number;
}

export interface StandIn {
  readonly name: string;
  readonly port: number;
  state(): StandInState;
  /** stop listening and drop open connections: connects are refused */
  kill(): Promise<void>;
  /** listen again on the same port */
  revive(): Promise<void>;
  /** delay every answer by `ms` (0 = no delay) */
  slow(ms: number): void;
  /** answer the health check with this status (100-599, e.g. 503); heal() ends it */
  fail(status: number): void;
  /** back to normal: no failure, no delay, no flapping, listening */
  heal(): Promise<void>;
  /** go down now, then alternate up and down every `periodMs` until heal() or close() */
  flap(o: FlapOptions): Promise<void>;
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
  const timer = o.timer ?? REAL_TIMER;
  let failingWith: number | undefined;
  let slowMs = 0;
  let requests = 0;
  let listening = false;
  let flapping: { cancel(): void } | undefined;
  const sockets = new Set<Socket>();
  /** delayed answers, dropped on kill so nothing outlives the stand-in */
  const delayed = new Set<NodeJS.Timeout>();

  const answer = (res: ServerResponse, status: number, body: string) => {
    const send = () => {
      if (!res.writableEnded && !res.destroyed)
        res.writeHead(status, { 'content-type': 'text/plain' }).end(body);
    };
    if (slowMs <= 0) return send();
    const t = setTimeout(() => {
      delayed.delete(t);
      send();
    }, slowMs);
    delayed.add(t);
  };
  const makeServer = () => {
    const s = createServer((req, res) => {
      requests++;
      if (req.url === '/healthz' || req.url?.startsWith('/healthz?')) {
        if (failingWith) return answer(res, failingWith, `${o.name} failing\n`);
        return answer(res, 200, 'ok\n');
      }
      if (req.url === '/_headers') return answer(res, 200, JSON.stringify(req.headers));
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

  // kill and revive are serialised, so a flap beat and a call from a test cannot interleave.
  let queue: Promise<void> = Promise.resolve();
  const serial = (fn: () => Promise<void>): Promise<void> => {
    const next = queue.then(fn);
    queue = next.catch(() => undefined);
    return next;
  };
  const kill = () =>
    serial(async () => {
      if (!listening) return;
      listening = false;
      const closed = new Promise<void>((r) => server.close(() => r()));
      for (const s of sockets) s.destroy();
      for (const t of delayed) clearTimeout(t);
      delayed.clear();
      await closed;
    });
  const revive = () =>
    serial(async () => {
      if (listening) return;
      server = makeServer();
      await listen(server, port);
      listening = true;
    });
  const stopFlapping = () => {
    flapping?.cancel();
    flapping = undefined;
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
      flapping: flapping !== undefined,
      requests,
    }),
    kill,
    revive,
    slow: (ms) => {
      if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`slow: ms must be 0 or more, got ${ms}`);
      slowMs = ms;
    },
    fail: (status) => {
      if (!Number.isInteger(status) || status < 100 || status > 599)
        throw new RangeError(`fail: status must be an HTTP status 100-599, got ${status}`);
      failingWith = status;
    },
    heal: async () => {
      stopFlapping();
      failingWith = undefined;
      slowMs = 0;
      await revive();
    },
    flap: async ({ periodMs }) => {
      if (!Number.isFinite(periodMs) || periodMs < 1)
        throw new RangeError(`flap: periodMs must be 1 or more, got ${periodMs}`);
      stopFlapping();
      await kill();
      flapping = timer.every(periodMs, () => (listening ? kill() : revive()));
    },
    close: async () => {
      stopFlapping();
      await kill();
    },
  };
}
