// `npm run invoke` as a real child process: a function run once through the local runtime against a
// fresh local cloud, its result on stdout, its logs on stderr, the exit code from its outcome.
import { execFile } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const root = join(__dirname, '..', '..', '..');
const tsx = join(root, 'node_modules', '.bin', 'tsx');

async function invoke(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await promisify(execFile)(tsx, ['scripts/invoke.ts', ...args], {
      cwd: root,
      // No running stack (even if a developer has `npm start` open), no real cloud.
      env: {
        ...process.env,
        ALIBABA_CLOUD_ACCESS_KEY_ID: '',
        SLB_AUTOPILOT_LOCAL_CLOUD: '',
        SLB_AUTOPILOT_STACK_FILE: join(tmpdir(), 'slbap-no-stack', 'stack.json'),
      },
    });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('npm run invoke', () => {
  it('runs cert-renewal once as a dry run against a fresh local cloud', async () => {
    const r = await invoke('cert-renewal', '--event', '{"dryRun":true}');
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/^target: a fresh local cloud http:\/\/127\.0\.0\.1:\d+ \(the mall/m);
    const out = JSON.parse(r.stdout) as { ok: boolean; report: { references: { action: string }[] } };
    expect(out.report.references.map((x) => x.action)).toEqual(['wouldRotate', 'wouldRotate']);
    expect(r.stderr).toMatch(/\[INFO\] \{"certRenewal"/);
  });

  it('exits 1 when the function refuses its event, and 2 on a bad --event', async () => {
    const refused = await invoke('failover', '--event', '{"command":"sideways"}');
    expect(refused.code).toBe(1);
    expect(refused.stdout).toContain('"ok": false');
    expect((await invoke('failover', '--event', 'not-json-or-file')).code).toBe(2);
  });

  it('answers unknown functions and options with its usage, and takes no key from the environment', async () => {
    const unknown = await invoke('renew-everything');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/^invoke: no function renew-everything \(known: cert-renewal, /);
    expect(unknown.stderr).toContain('usage: npm run invoke --');
    const flag = await invoke('failover', '--bogus');
    expect(flag.code).toBe(2);
    expect(flag.stderr).toMatch(/^invoke: unknown option --bogus/);
  });
});
