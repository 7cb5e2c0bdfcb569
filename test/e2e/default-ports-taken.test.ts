// The suite's condition, checked: while tests run, something listens on every port `npm start` prefers
// (test/support/taken-default-ports.ts put a server answering 200 there, unless another process had it
// first), so a test that passes did not need those ports free.
import { connect } from 'node:net';
import { describe, expect, it } from 'vitest';
import { DEFAULT_PORTS, occupy } from '../support/taken-default-ports';

const listening = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = connect({ host: '127.0.0.1', port }, () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });

describe('the default ports during the suite', () => {
  it('are all taken: the mall backends, the local cloud, the status page, the control surface', async () => {
    expect(DEFAULT_PORTS).toEqual([30250, 8050, 8787, 8786, 8785]);
    expect(await Promise.all(DEFAULT_PORTS.map(listening))).toEqual(DEFAULT_PORTS.map(() => true));
  });

  it('cannot be taken again (occupy leaves a taken port alone)', async () => {
    for (const port of DEFAULT_PORTS) {
      const server = await occupy(port);
      server?.close();
      expect(server).toBeUndefined();
    }
  });
});
