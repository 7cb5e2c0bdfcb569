// The HTTP control surface of the backend stand-ins, for a terminal next to `npm start` and for the
// demo: its own small server on 127.0.0.1, because a killed stand-in cannot be told to revive on its
// own port. Routes (bodies are JSON; every answer is the stand-in's state, or an `{error}`):
//   GET  /_standins                      every stand-in's state, by name
//   GET  /_standins/<name>
//   POST /_standins/<name>/kill | revive | heal
//   POST /_standins/<name>/slow  {"ms": 1500}
//   POST /_standins/<name>/fail  {"status": 503}
//   POST /_standins/<name>/flap  {"periodMs": 3000}
// e.g. `curl -X POST 127.0.0.1:<port>/_standins/k8s-nodeport/kill`.

import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { StandIn } from './http-backend';

export interface ControlAnswer {
  status: number;
  body: unknown;
}

type Command = (s: StandIn, body: Record<string, unknown>) => Promise<void> | void;

function numberField(body: Record<string, unknown>, field: string): number {
  const v = body[field];
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new RangeError(`${field}: must be a number`);
  return v;
}

const COMMANDS: Record<string, Command> = {
  kill: (s) => s.kill(),
  revive: (s) => s.revive(),
  heal: (s) => s.heal(),
  slow: (s, b) => s.slow(numberField(b, 'ms')),
  fail: (s, b) => s.fail(numberField(b, 'status')),
  flap: (s, b) => s.flap({ periodMs: numberField(b, 'periodMs') }),
};

/** One control request, answered in-process (the server below only carries it). */
export async function controlStandIns(
  standIns: readonly StandIn[],
  method: string,
  path: string,
  bodyText = '',
): Promise<ControlAnswer> {
  const parts = path.replace(/\/+$/, '').split('/').slice(1);
  if (parts[0] !== '_standins' || parts.length > 3)
    return { status: 404, body: { error: `no route ${path}` } };
  const [, name, command] = parts;
  if (name === undefined) {
    if (method !== 'GET') return { status: 405, body: { error: `${method} ${path}: use GET` } };
    return { status: 200, body: Object.fromEntries(standIns.map((s) => [s.name, s.state()])) };
  }
  const standIn = standIns.find((s) => s.name === name);
  if (!standIn)
    return {
      status: 404,
      body: { error: `no stand-in ${name} (known: ${standIns.map((s) => s.name).join(', ')})` },
    };
  if (command === undefined) {
    if (method !== 'GET') return { status: 405, body: { error: `${method} ${path}: use GET` } };
    return { status: 200, body: standIn.state() };
  }
  const run = COMMANDS[command];
  if (!run)
    return {
      status: 404,
      body: { error: `no command ${command} (known: ${Object.keys(COMMANDS).join(', ')})` },
    };
  if (method !== 'POST') return { status: 405, body: { error: `${method} ${path}: use POST` } };
  let body: unknown;
  try {
    body = bodyText.trim() === '' ? {} : JSON.parse(bodyText);
  } catch {
    return { status: 400, body: { error: 'body: not JSON' } };
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body))
    return { status: 400, body: { error: 'body: must be a JSON object' } };
  try {
    await run(standIn, body as Record<string, unknown>);
  } catch (err) {
    if (err instanceof RangeError) return { status: 400, body: { error: err.message } };
    throw err;
  }
  return { status: 200, body: standIn.state() };
}

export interface StandInControl {
  readonly port: number;
  /** http://127.0.0.1:<port> */
  readonly url: string;
  close(): Promise<void>;
}

function readBody(req: IncomingMessage, limit = 64 * 1024): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => {
      text += c;
      if (text.length > limit) req.destroy(new Error('body too large'));
    });
    req.on('end', () => resolve(text));
    req.on('error', reject);
  });
}

/** The control surface on 127.0.0.1:`port` (0 = a free port). */
export async function startStandInControl(
  standIns: readonly StandIn[],
  o: { port?: number } = {},
): Promise<StandInControl> {
  const server = createServer((req, res) => {
    const reply = ({ status, body }: ControlAnswer) => {
      const text = JSON.stringify(body);
      res.writeHead(status, { 'content-type': 'application/json' }).end(text);
    };
    const path = new URL(req.url ?? '/', 'http://127.0.0.1').pathname;
    readBody(req)
      .then((body) => controlStandIns(standIns, req.method ?? 'GET', path, body))
      .then(reply, (err: unknown) =>
        reply({ status: 500, body: { error: err instanceof Error ? err.message : String(err) } }),
      );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port ?? 0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}
