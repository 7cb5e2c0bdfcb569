// The health-audit function in-process with real backends: it hands a dead K8S to the failover function
// (in-process invoker here; fc2 to the local runtime in test/e2e), notifies a webhook when its summary
// changes and stays quiet while nothing changes, and refuses a bad event without calling the cloud.
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { handler as failover } from '../../functions/failover/index';
import { resetAuditMemory, runAudit } from '../../functions/health-audit/index';
import { type StandIn, startStandIn } from '../../scripts/backends/http-backend';
import { MALL } from '../../scripts/local-cloud/scenarios/mall-fixture';
import { createInProcessInvoker } from '../../shared/cloud/fc-invoker';
import { fcContext } from '../support/fc';
import { startTestCloud, type TestCloud } from '../support/local-cloud';

const mallYaml = readFileSync(join(__dirname, '..', '..', 'examples', 'mall.yaml'), 'utf8');
const saved = { ...process.env };
afterAll(() => {
  process.env = saved;
});
const K8S = `${MALL.k8s.serverId}:30250`;
const ECS = `${MALL.ecs.serverId}:8050`;

let cloud: TestCloud;
let k8s: StandIn;
let ecs: StandIn;
let hook: Server;
let notes: { title: string; severity: string }[];

beforeEach(async () => {
  cloud = await startTestCloud({ scenario: 'mall', healthChecks: 'manual' });
  k8s = await startStandIn({ name: 'k8s' });
  ecs = await startStandIn({ name: 'ecs' });
  cloud.setBackendAddress(K8S, `127.0.0.1:${k8s.port}`);
  cloud.setBackendAddress(ECS, `127.0.0.1:${ecs.port}`);
  notes = [];
  hook = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => {
      body += c.toString();
    });
    req.on('end', () => {
      notes.push(JSON.parse(body) as { title: string; severity: string });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
  process.env.SLB_AUTOPILOT_LOCAL_CLOUD = cloud.url;
  process.env.SLB_AUTOPILOT_SPEC = `${mallYaml}\nnotify:\n  webhook:\n    url: http://127.0.0.1:${(hook.address() as AddressInfo).port}/audit\n`;
  resetAuditMemory();
});
afterEach(async () => {
  await cloud.close();
  await k8s.close();
  await ecs.close();
  await new Promise<void>((r) => hook.close(() => r()));
});

const invoker = createInProcessInvoker({
  'slb-autopilot-failover': (e) => failover(e, fcContext('failover')),
});
const audit = () =>
  runAudit(
    Buffer.from('{"triggerTime":"2026-11-24T12:00:00Z","triggerName":"every-minute","payload":"{}"}'),
    fcContext('health-audit'),
    () => invoker,
  );
const weights = () => cloud.state().vServerGroups[0]?.backendServers.map((b) => b.weight);

describe('health-audit function', () => {
  it('hands a dead K8S to failover, notifies the change once, and stays quiet while nothing changes', async () => {
    await cloud.tickHealth();
    const calm = await audit();
    expect(calm.report?.summary).toMatch(/^mall: all backends healthy/);
    expect(notes).toEqual([]);

    await k8s.kill();
    for (let i = 0; i < 3; i++) await cloud.tickHealth();
    const down = await audit();
    await invoker.idle();
    expect(down.report?.handOffs.map((h) => h.expected)).toEqual(['shiftToStandby']);
    expect(weights()).toEqual([0, 100]);
    // The audit says what it saw; failover says what it changed.
    expect(notes.map((n) => n.title).sort()).toEqual([
      `failover: mall weights changed`,
      `health-audit: mall: down: ${K8S}`,
    ]);
    expect(notes.every((n) => n.severity === 'warning')).toBe(true);

    const before = notes.length;
    await audit();
    await invoker.idle();
    expect(notes.length).toBe(before);
  });

  it('refuses a bad event without calling the cloud', async () => {
    const r = await runAudit(Buffer.from('{"driftCheck":"soon"}'), fcContext('health-audit'), () => invoker);
    expect(r).toEqual({ ok: false, error: expect.stringMatching(/^event\.driftCheck: /) });
    expect(cloud.calls().total).toBe(0);
  });
});

describe('health-audit function: fast watch', () => {
  const timerEvent = Buffer.from(
    '{"triggerTime":"2026-11-24T12:00:00Z","triggerName":"every-minute","payload":"{}"}',
  );
  /** A virtual clock for the watch: sleeping advances it. */
  const virtual = () => {
    let t = Date.parse('2026-11-24T12:00:00Z');
    return {
      now: () => new Date(t),
      sleep: async (ms: number) => {
        t += ms;
      },
    };
  };
  beforeEach(() => {
    process.env.SLB_AUTOPILOT_SPEC = mallYaml.replace('failover:\n', 'failover:\n  watch: 10s\n');
  });

  it('a timer run watches for the rest of its minute; a direct run answers at once', async () => {
    await cloud.tickHealth();
    // Act
    const timer = await runAudit(timerEvent, fcContext('health-audit'), () => invoker, virtual());
    const direct = await runAudit(Buffer.from('{}'), fcContext('health-audit'), () => invoker, virtual());
    // Assess: reads at 10, 20, 30, 40 s
    expect(timer.watch).toMatchObject({ loadBalancers: ['mall'], ticks: 4, healthReads: 4, handOffs: [] });
    expect(direct.watch).toBeUndefined();
  });

  it('two overlapping runs in one instance: only one watches', async () => {
    await cloud.tickHealth();
    // Prepare: the first run's watch sleeps until released
    let release: () => void = () => undefined;
    const held = new Promise<void>((r) => {
      release = r;
    });
    let entered: () => void = () => undefined;
    const watching = new Promise<void>((r) => {
      entered = r;
    });
    const clock = virtual();
    const first = runAudit(timerEvent, fcContext('health-audit'), () => invoker, {
      now: clock.now,
      sleep: async (ms) => {
        entered();
        await held;
        await clock.sleep(ms);
      },
    });
    await watching;
    // Act
    const second = await runAudit(timerEvent, fcContext('health-audit'), () => invoker, virtual());
    release();
    // Assess
    expect(second.watch).toBeUndefined();
    expect((await first).watch?.ticks).toBe(4);
  });
});
