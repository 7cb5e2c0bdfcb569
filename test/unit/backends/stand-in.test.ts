// The backend stand-ins (scripts/backends/http-backend.ts) and their HTTP control surface (control.ts):
// real sockets on 127.0.0.1 with free ports; flapping on a hand-cranked timer.
import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { controlStandIns, startStandInControl } from '../../../scripts/backends/control';
import { type RepeatingTimer, type StandIn, startStandIn } from '../../../scripts/backends/http-backend';

const started: StandIn[] = [];
afterEach(async () => {
  for (const s of started.splice(0)) await s.close();
});
async function standIn(name = 'k8s-nodeport', o: { port?: number; timer?: RepeatingTimer } = {}) {
  const s = await startStandIn({ name, ...o });
  started.push(s);
  return s;
}
async function get(s: StandIn, path: string): Promise<{ status: number; body: string } | 'refused'> {
  try {
    const res = await fetch(`http://127.0.0.1:${s.port}${path}`);
    return { status: res.status, body: await res.text() };
  } catch {
    return 'refused';
  }
}
/** A timer that beats only when the test says so. */
function handCranked(): RepeatingTimer & { beat(): Promise<void>; active(): number } {
  const fns = new Set<() => Promise<void>>();
  return {
    every: (_ms, fn) => {
      fns.add(fn);
      return { cancel: () => fns.delete(fn) };
    },
    beat: async () => {
      for (const fn of fns) await fn();
    },
    active: () => fns.size,
  };
}

describe('a backend stand-in', () => {
  it('answers the health check with ok and the rest with its name', async () => {
    const s = await standIn();
    expect(await get(s, '/healthz')).toEqual({ status: 200, body: 'ok\n' });
    expect(await get(s, '/')).toEqual({ status: 200, body: 'served by k8s-nodeport\n' });
    expect(s.state()).toEqual({
      name: 'k8s-nodeport',
      port: s.port,
      listening: true,
      slowMs: 0,
      flapping: false,
      requests: 2,
    });
  });

  it('refuses connections once killed, drops open ones, and comes back on the same port', async () => {
    const s = await standIn();
    const open = connect({ host: '127.0.0.1', port: s.port });
    await new Promise((r) => open.once('connect', r));
    const dropped = new Promise((r) => open.once('close', r));
    await s.kill();
    await dropped;
    expect(await get(s, '/healthz')).toBe('refused');
    expect(s.state().listening).toBe(false);
    await s.revive();
    expect(await get(s, '/healthz')).toEqual({ status: 200, body: 'ok\n' });
    expect(s.state()).toMatchObject({ listening: true, port: s.port });
  });

  it('fails the health check with the status asked for (the rest still answers) until healed', async () => {
    const s = await standIn('ecs-standby');
    s.fail(503);
    expect(await get(s, '/healthz')).toEqual({ status: 503, body: 'ecs-standby failing\n' });
    expect(await get(s, '/')).toMatchObject({ status: 200 });
    expect(s.state().failingWith).toBe(503);
    await s.heal();
    expect(await get(s, '/healthz')).toMatchObject({ status: 200 });
  });

  it('delays answers when slowed', async () => {
    const s = await standIn();
    s.slow(150);
    const t0 = performance.now();
    expect(await get(s, '/healthz')).toMatchObject({ status: 200 });
    expect(performance.now() - t0).toBeGreaterThanOrEqual(140);
    expect(s.state().slowMs).toBe(150);
  });

  it.each([
    ['fail(42)', (s: StandIn) => s.fail(42), /status must be an HTTP status 100-599/],
    ['slow(-1)', (s: StandIn) => s.slow(-1), /ms must be 0 or more/],
  ])('refuses %s', async (_, act, message) => {
    const s = await standIn();
    expect(() => act(s)).toThrow(message);
  });

  it('flaps down and up on its timer until healed', async () => {
    const timer = handCranked();
    const s = await standIn('flappy', { timer });
    await s.flap({ periodMs: 3000 });
    expect(s.state()).toMatchObject({ listening: false, flapping: true });
    expect(await get(s, '/healthz')).toBe('refused');
    await timer.beat();
    expect(s.state().listening).toBe(true);
    expect(await get(s, '/healthz')).toMatchObject({ status: 200 });
    await timer.beat();
    expect(s.state().listening).toBe(false);
    await s.heal();
    expect(s.state()).toMatchObject({ listening: true, flapping: false });
    expect(timer.active()).toBe(0);
    await expect(s.flap({ periodMs: 0 })).rejects.toThrow(/periodMs must be 1 or more/);
  });

  it('takes a free port when the preferred one is taken, if asked', async () => {
    const a = await standIn('a');
    await expect(startStandIn({ name: 'b', port: a.port })).rejects.toThrow(/EADDRINUSE/);
    const b = await startStandIn({ name: 'b', port: a.port, fallbackToFreePort: true });
    started.push(b);
    expect(b.port).not.toBe(a.port);
  });
});

describe('the stand-ins control surface', () => {
  it('lists, kills, revives, slows, fails, flaps and heals by name (in-process)', async () => {
    const k8s = await standIn('k8s-nodeport', { timer: handCranked() });
    const ecs = await standIn('ecs-standby');
    const all = [k8s, ecs];
    const listed = await controlStandIns(all, 'GET', '/_standins');
    expect(Object.keys(listed.body as object)).toEqual(['k8s-nodeport', 'ecs-standby']);
    expect(await controlStandIns(all, 'POST', '/_standins/k8s-nodeport/kill')).toMatchObject({
      status: 200,
      body: { name: 'k8s-nodeport', listening: false },
    });
    expect(await get(k8s, '/healthz')).toBe('refused');
    expect(await controlStandIns(all, 'POST', '/_standins/k8s-nodeport/revive/')).toMatchObject({
      status: 200,
      body: { listening: true },
    });
    expect(await controlStandIns(all, 'POST', '/_standins/ecs-standby/fail', '{"status":503}')).toMatchObject(
      {
        body: { failingWith: 503 },
      },
    );
    expect(await controlStandIns(all, 'POST', '/_standins/ecs-standby/slow', '{"ms":10}')).toMatchObject({
      body: { slowMs: 10 },
    });
    expect(
      await controlStandIns(all, 'POST', '/_standins/k8s-nodeport/flap', '{"periodMs":2000}'),
    ).toMatchObject({ body: { flapping: true, listening: false } });
    expect(await controlStandIns(all, 'POST', '/_standins/k8s-nodeport/heal')).toMatchObject({
      body: { flapping: false, listening: true },
    });
    expect(await controlStandIns(all, 'GET', '/_standins/ecs-standby')).toMatchObject({
      status: 200,
      body: { failingWith: 503 },
    });
  });

  it.each([
    ['GET', '/_standins/k8s-nodeport/kill', '', 405, /use POST/],
    ['POST', '/_standins', '', 405, /use GET/],
    ['POST', '/_standins/nobody/kill', '', 404, /no stand-in nobody \(known: k8s-nodeport\)/],
    ['POST', '/_standins/k8s-nodeport/explode', '', 404, /no command explode/],
    ['POST', '/elsewhere', '', 404, /no route/],
    ['POST', '/_standins/k8s-nodeport/fail', '{', 400, /^body: not JSON/],
    ['POST', '/_standins/k8s-nodeport/fail', '[]', 400, /^body: must be a JSON object/],
    ['POST', '/_standins/k8s-nodeport/fail', '{"status":"503"}', 400, /^status: must be a number/],
    ['POST', '/_standins/k8s-nodeport/fail', '{"status":42}', 400, /^fail: status must be/],
    ['POST', '/_standins/k8s-nodeport/slow', '{}', 400, /^ms: must be a number/],
  ] as const)('answers %s %s %s with %i', async (method, path, body, status, error) => {
    const s = await standIn();
    const answer = await controlStandIns([s], method, path, body);
    expect(answer.status).toBe(status);
    expect((answer.body as { error: string }).error).toMatch(error);
    expect(s.state()).toMatchObject({ listening: true, slowMs: 0 });
    expect(s.state().failingWith).toBeUndefined();
  });

  it('serves the same over HTTP on its own loopback port, so a killed stand-in can be revived', async () => {
    const s = await standIn();
    const control = await startStandInControl([s]);
    try {
      const kill = await fetch(`${control.url}/_standins/k8s-nodeport/kill`, { method: 'POST' });
      expect(kill.status).toBe(200);
      expect(await get(s, '/healthz')).toBe('refused');
      const revive = await fetch(`${control.url}/_standins/k8s-nodeport/revive`, { method: 'POST' });
      expect(((await revive.json()) as { listening: boolean }).listening).toBe(true);
      expect(await get(s, '/healthz')).toMatchObject({ status: 200 });
    } finally {
      await control.close();
    }
  });
});
