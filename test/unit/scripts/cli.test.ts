// The two commands people run by hand: `npm run emulator` and `npm start`, as real child processes.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { describeCloud, parseEmulatorArgs } from '../../../scripts/emulator';
import type { LocalCloud } from '../../../scripts/local-cloud/server';

const root = join(__dirname, '..', '..', '..');
const tsx = join(root, 'node_modules', '.bin', 'tsx');

/** Runs a script until `until` appears in its output; returns the output so far and the process. */
function runUntil(
  args: string[],
  until: RegExp,
  env: Record<string, string> = {},
): Promise<{ child: ChildProcess; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(tsx, args, { cwd: root, env: { ...process.env, ...env } });
    let output = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`timed out waiting for ${until}; output:\n${output}`));
    }, 45_000);
    const onData = (d: Buffer) => {
      output += d.toString();
      if (until.test(output)) {
        clearTimeout(timer);
        resolve({ child, output });
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', (code) => {
      clearTimeout(timer);
      if (!until.test(output)) reject(new Error(`exited ${code} before ${until}; output:\n${output}`));
    });
  });
}

const stop = (child: ChildProcess) =>
  new Promise<number | null>((resolve) => {
    child.on('exit', (code) => resolve(code));
    child.kill('SIGINT');
  });

describe('npm run emulator', () => {
  it('prints its URL, answers the admin API, and stops cleanly on Ctrl-C', async () => {
    const { child, output } = await runUntil(
      ['scripts/emulator.ts', '--port', '0', '--scenario', 'mall'],
      /admin:/,
    );
    const url = /http:\/\/127\.0\.0\.1:(\d+)/.exec(output)?.[0];
    expect(url).toBeDefined();
    const state = (await (await fetch(`${url}/_emulator/state`)).json()) as {
      loadBalancers: unknown[];
      serverCertificates: { privateKeyPem: string }[];
    };
    expect(state.loadBalancers).toHaveLength(1);
    expect(state.serverCertificates.every((c) => c.privateKeyPem === '[redacted]')).toBe(true);
    expect(await stop(child)).toBe(0);
  });

  it.each([
    [['--port', 'x'], /--port/],
    [['--bogus'], /bogus/],
    [['--access-key-secret', 'short'], /--access-key-secret/],
  ])('refuses bad options %# naming the option', (args, message) => {
    expect(() => parseEmulatorArgs(args)).toThrow(message);
  });

  it('never prints a secret it was given', () => {
    const args = parseEmulatorArgs([
      '--access-key-id',
      'LTAI5tMine',
      '--access-key-secret',
      'my-very-secret',
    ]);
    expect(args.defaultSecret).toBe(false);
    expect(args.options.keys).toEqual({ LTAI5tMine: { secret: 'my-very-secret' } });
    const banner = describeCloud(
      { url: 'http://127.0.0.1:1', endpoint: '127.0.0.1:1', regionId: 'cn-hangzhou' } as LocalCloud,
      args,
    );
    expect(banner).toContain('LTAI5tMine');
    expect(banner).not.toContain('my-very-secret');
  });
});

describe('npm start', () => {
  it('serves the mall and prints its status, then stops on Ctrl-C', { timeout: 60_000 }, async () => {
    const stackFile = join(mkdtempSync(join(tmpdir(), 'slbap-start-')), 'stack.json');
    const { child, output } = await runUntil(['scripts/start.ts'], /Ctrl-C stops everything/, {
      SLB_AUTOPILOT_PORT: '0',
      SLB_AUTOPILOT_STACK_FILE: stackFile,
    });
    const info = JSON.parse(readFileSync(stackFile, 'utf8')) as {
      provisionUrl: string;
      apiSecret: string;
      controlUrl: string;
      statusUrl: string;
    };
    expect(info.apiSecret.length).toBeGreaterThanOrEqual(32);
    expect(output).not.toContain(info.apiSecret);
    expect(output).toMatch(
      /HTTPS 443 running: www\.mall\.example\.com expires \d{4}-\d\d-\d\d \((9|10) days left\)/,
    );
    expect(output).toMatch(/i-bp1k8snode000000001:30250 weight 100 (normal|unavailable) \(k8s-nodeport\)/);
    expect(output).toMatch(/i-bp1ecsstandby000001:8050 weight 0 (normal|unavailable) \(ecs-standby\)/);
    expect(output).toContain('group mall-backends: active pool: primary');
    expect(output).toContain(`status page: ${info.statusUrl}`);
    expect(output).toContain(`control: ${info.controlUrl}`);
    // The stand-ins answer their control surface, and the page its first read.
    const standIns = (await (await fetch(`${info.controlUrl}/_standins`)).json()) as Record<string, unknown>;
    expect(Object.keys(standIns).sort()).toEqual(['ecs-standby', 'k8s-nodeport']);
    const snapshot = (await (await fetch(`${info.statusUrl}snapshot.json`)).json()) as {
      status: { loadBalancers: { name: string }[] };
    };
    expect(snapshot.status.loadBalancers.map((l) => l.name)).toEqual(['mall']);
    for (const f of ['cert-renewal', 'health-audit', 'failover', 'provision'])
      expect(output).toMatch(new RegExp(`${f} +built`));
    expect(output).toMatch(/provision +built +\[http http:\/\/127\.0\.0\.1:\d+\]/);
    expect(output).toMatch(/local FC runtime \(fc2 invoke API\): http:\/\/127\.0\.0\.1:\d+/);
    expect(await stop(child)).toBe(0);
    expect(existsSync(stackFile)).toBe(false);
  });
});
