// `npm run backend` and `npm run stack` as real child processes against a control surface and a stack
// file, as a terminal next to `npm start` uses them.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type StandInControl, startStandInControl } from '../../../scripts/backends/control';
import { type StandIn, startStandIn } from '../../../scripts/backends/http-backend';

const root = join(__dirname, '..', '..', '..');
const tsx = join(root, 'node_modules', '.bin', 'tsx');
const dir = mkdtempSync(join(tmpdir(), 'slbap-backend-'));
const stackFile = join(dir, 'stack.json');
let k8s: StandIn;
let ecs: StandIn;
let control: StandInControl;

beforeAll(async () => {
  k8s = await startStandIn({ name: 'k8s-nodeport', port: 0 });
  ecs = await startStandIn({ name: 'ecs-standby', port: 0 });
  control = await startStandInControl([k8s, ecs]);
  writeFileSync(
    stackFile,
    JSON.stringify({
      cloudUrl: 'http://127.0.0.1:9',
      runtimeUrl: 'http://127.0.0.1:8',
      apiSecret: 'x',
      controlUrl: control.url,
    }),
  );
});
afterAll(async () => {
  await control.close();
  await k8s.close();
  await ecs.close();
  rmSync(dir, { recursive: true, force: true });
});

async function run(script: string, ...args: string[]) {
  try {
    const r = await promisify(execFile)(tsx, [script, ...args], {
      cwd: root,
      env: { ...process.env, SLB_AUTOPILOT_STACK_FILE: stackFile },
    });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('npm run backend', () => {
  it('kills and revives K8S, saying how to undo', async () => {
    const killed = await run('scripts/backend.ts', 'kill', 'k8s');
    expect(killed.code).toBe(0);
    expect(killed.stdout).toBe(
      `k8s (k8s-nodeport, 127.0.0.1:${k8s.port}): down (connections refused)\n  undo: npm run backend -- revive k8s\n`,
    );
    expect(k8s.state().listening).toBe(false);
    expect((await run('scripts/backend.ts', 'revive', 'k8s')).code).toBe(0);
    expect(k8s.state().listening).toBe(true);
  });

  it('fails the health check with a status, and heals', async () => {
    const r = await run('scripts/backend.ts', 'fail', 'ecs', '500');
    expect(r.stdout).toContain('health check answers 500');
    expect(ecs.state().failingWith).toBe(500);
    await run('scripts/backend.ts', 'heal', 'ecs');
    expect(ecs.state().failingWith).toBeUndefined();
  });

  it('refuses unknown commands, backends and values with its usage, changing nothing', {
    timeout: 60_000,
  }, async () => {
    for (const args of [['explode', 'k8s'], ['kill', 'db'], ['slow', 'k8s', 'fast'], ['kill']]) {
      const r = await run('scripts/backend.ts', ...args);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain('usage: npm run backend --');
    }
    expect(k8s.state()).toMatchObject({ listening: true, slowMs: 0, flapping: false });
  });
});

describe('npm run stack', () => {
  it('prints one URL of the running stack for pasting', async () => {
    const r = await run('scripts/stack.ts', 'url', 'runtime');
    expect(r).toMatchObject({ code: 0, stdout: 'http://127.0.0.1:8\n' });
    expect((await run('scripts/stack.ts', 'url', 'nowhere')).code).toBe(2);
  });
});
