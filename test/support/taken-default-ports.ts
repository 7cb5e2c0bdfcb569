// vitest globalSetup: the suite runs with the ports a human's `npm start` prefers already taken, by a
// server that answers 200 to everything (as a healthy backend stand-in would). So a test that reaches a
// default port by accident, instead of the ephemeral port it was given, meets a live and healthy
// stranger and fails, on every machine, instead of only where someone happens to run `npm start`:
// the mall's K8S and ECS backends (30250, 8050, where the local cloud's instances answer when no
// address is mapped), and the local cloud, status page and control surface (8787, 8786, 8785).
// A port already taken by something else is left to it: tests must pass then too.

import { createServer, type Server } from 'node:http';
import { PREFERRED_PORTS } from '../../scripts/default-ports';
import { MALL } from '../../scripts/local-cloud/scenarios/mall-fixture';

export const DEFAULT_PORTS: readonly number[] = [
  MALL.k8s.port,
  MALL.ecs.port,
  PREFERRED_PORTS.cloud,
  PREFERRED_PORTS.status,
  PREFERRED_PORTS.control,
];

/** Listens on 127.0.0.1:`port` answering 200; undefined when the port is taken already. */
export function occupy(port: number): Promise<Server | undefined> {
  const server = createServer((req, res) => {
    req.resume();
    res.writeHead(200, { 'content-type': 'text/plain' }).end('a stranger on a default port\n');
  });
  return new Promise((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      err.code === 'EADDRINUSE' ? resolve(undefined) : reject(err),
    );
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

export default async function setup(): Promise<() => Promise<void>> {
  const servers = (await Promise.all(DEFAULT_PORTS.map(occupy))).filter((s) => s !== undefined);
  return async () => {
    await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
  };
}
