// `npm run autopilot -- plan|apply` as a real child process against a local cloud on 127.0.0.1:0.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { renderWatchBudget, specWatchBudget } from '../../../scripts/autopilot';
import { parseSpec } from '../../../shared/domain/spec';
import { startTestCloud, type TestCloud } from '../../support/local-cloud';

const root = join(__dirname, '..', '..', '..');
const tsx = join(root, 'node_modules', '.bin', 'tsx');
const dir = mkdtempSync(join(tmpdir(), 'slbap-cli-'));
const specFile = join(dir, 'created-mall.yaml');
const s = parse(readFileSync(join(root, 'examples', 'mall.yaml'), 'utf8'));
delete s.loadBalancers[0].id;
s.loadBalancers[0].create = { addressType: 'internet', spec: 'slb.s2.small' };
writeFileSync(specFile, stringify(s));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let cloud: TestCloud;
beforeEach(async () => {
  cloud = await startTestCloud({ scenario: 'mall-unprovisioned' });
});
afterEach(() => cloud.close());

async function autopilot(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await promisify(execFile)(tsx, ['scripts/autopilot.ts', ...args], {
      cwd: root,
      env: {
        ...process.env,
        SLB_AUTOPILOT_LOCAL_CLOUD: cloud.url,
        SLB_AUTOPILOT_STACK_FILE: join(dir, 'none'),
      },
    });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('npm run autopilot', () => {
  it('applies with the plan first and one progress line per action, then plans nothing', async () => {
    const r = await autopilot('apply', specFile, '--yes');
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(`target: local cloud ${cloud.url} (from SLB_AUTOPILOT_LOCAL_CLOUD)`);
    expect(r.stdout).toContain('7 action(s), 0 left alone.');
    expect(r.stdout).toMatch(/\[1\/7\] create load balancer mall \(internet, slb\.s2\.small\) \.\.\. done/);
    expect(r.stdout).toMatch(/\[7\/7\] .*start HTTP 80 \.\.\. done/);
    expect(r.stdout).toMatch(/Applied 7 action\(s\) in \d+\.\d\d s\./);
    const again = await autopilot('plan', specFile, '--json');
    expect(JSON.parse(again.stdout)).toEqual({
      actions: [],
      leftAlone: [],
      watchBudget: {
        audited: 1,
        watched: 0,
        watchReadsPerLoadBalancer: 0,
        readsPerMinute: 1,
        quota: 600,
        maxWatched: 0,
      },
    });
  });

  it('stops at a failed write with exit 1 and says how to continue', async () => {
    // Writes: the load balancer, the writer lease's claim on it, the group; the listener fails.
    cloud.setFaults({ failWritesAfter: 3 });
    const r = await autopilot('apply', specFile, '--yes');
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/\[3\/7\] .*create HTTPS listener 443 \.\.\. failed/);
    expect(r.stdout).toContain('Apply stopped at');
    expect(r.stdout).toContain('Forbidden.RAM');
    expect(r.stdout).toContain('2 of 7 action(s) done, 5 not done');
  });

  it('refuses a bad spec with its field paths and exit 1, and a missing file with exit 2', async () => {
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'version: 1\nregion: cn-hangzhou\nloadBalancers: []\n');
    const r = await autopilot('apply', bad, '--yes');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/loadBalancers: /);
    const broken = join(dir, 'broken.yaml');
    writeFileSync(broken, 'version: 1\nregion: [\n');
    const yamlError = await autopilot('plan', broken);
    expect(yamlError.code).toBe(1);
    expect(yamlError.stderr).toMatch(/cannot be parsed as YAML: .* at line 3, column 1\n$/);
    const missing = await autopilot('apply', join(dir, 'nope.yaml'));
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain(`spec file ${join(dir, 'nope.yaml')}: no such file`);
    expect(missing.stderr).not.toMatch(/ENOENT|usage:/);
    expect(cloud.calls().total).toBe(0);
  });

  it('refuses apply without --yes when nobody can confirm, before any call', async () => {
    const r = await autopilot('apply', specFile);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('not a terminal, so nobody can confirm the plan');
    expect(r.stderr).toContain('--yes');
    expect(cloud.calls().total).toBe(0);
  });

  it('answers --help, unknown options and commands with usage text, not a Node parse error', async () => {
    const help = await autopilot('--help');
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^usage:\n {2}npm run autopilot -- plan <spec\.yaml>/);
    const bogus = await autopilot('plan', specFile, '--bogus');
    expect(bogus.code).toBe(2);
    expect(bogus.stderr).toMatch(/^autopilot: unknown option --bogus\n\nusage:/);
    expect(bogus.stderr).not.toMatch(/ERR_PARSE|positional argument/);
    const command = await autopilot('destroy', specFile);
    expect(command.code).toBe(2);
    expect(command.stderr).toMatch(/^autopilot: unknown command destroy\n\nusage:/);
    expect(cloud.calls().total).toBe(0);
  });
});

describe('plan: the fast watch read budget', () => {
  it('states the reads per minute and how many load balancers the region quota lets us fast-watch', () => {
    const watched = parse(readFileSync(join(root, 'examples', 'mall.yaml'), 'utf8'));
    watched.failover.watch = '5s';
    expect(renderWatchBudget(specWatchBudget(parseSpec(stringify(watched))))).toBe(
      'Fast watch: 1 load balancer(s) every 5 s: 10 DescribeHealthStatus per minute (1 audit + 9 per watched one); the quota we plan with (600 DescribeHealthStatus per minute per region) allows 66 fast-watched load balancers next to this audit.',
    );
    expect(renderWatchBudget(specWatchBudget(parseSpec(stringify(s))))).toMatch(
      /^Health reads: 1 DescribeHealthStatus per minute \(the audit\); no fast watch .* allows 66 fast-watched/,
    );
  });
});
