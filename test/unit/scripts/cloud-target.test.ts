// Which cloud a command talks to, printed before any call; the real cloud only when named; saved plans
// refused once the cloud moved; apply asking on a terminal.
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { autopilotCli, type CliIo } from '../../../scripts/autopilot';
import { connectLocalCloud } from '../../../scripts/local-cloud/connect';
import { MALL } from '../../../scripts/local-cloud/scenarios/mall-fixture';
import { jsonDifferences } from '../../../scripts/saved-plan';
import {
  CloudTargetError,
  describeCloudTarget,
  maskAccessKeyId,
  resolveCloudTarget,
  staticCredentials,
} from '../../../shared/cloud/credentials';
import { startTestCloud, type TestCloud } from '../../support/local-cloud';

const root = join(__dirname, '..', '..', '..');
const tsx = join(root, 'node_modules', '.bin', 'tsx');
const dir = mkdtempSync(join(tmpdir(), 'slbap-target-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const mallSpec = join(root, 'examples', 'mall.yaml');
/** the mall with the standby at weight 10: a one-action plan */
const tweaked = join(dir, 'tweaked.yaml');
const s = parse(readFileSync(mallSpec, 'utf8'));
for (const b of s.loadBalancers[0].vServerGroups[0].backends) if (b.port === MALL.ecs.port) b.weight = 10;
writeFileSync(tweaked, stringify(s));

const SECRET = 'TheRealSecretThatMustNeverShow0123';
const KEY_ID = 'LTAI5tRealKeyIdABCD1234';

async function run(args: string[], env: Record<string, string | undefined>) {
  const clean: Record<string, string | undefined> = { ...process.env };
  for (const k of Object.keys(clean))
    if (k.startsWith('ALIBABA_CLOUD_') || k === 'SLB_AUTOPILOT_LOCAL_CLOUD') delete clean[k];
  try {
    const r = await promisify(execFile)(tsx, ['scripts/autopilot.ts', ...args], {
      cwd: root,
      env: { ...clean, SLB_AUTOPILOT_STACK_FILE: join(dir, 'no-stack.json'), ...env },
    });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('resolveCloudTarget with a command-line choice', () => {
  it('never picks the real cloud because an AccessKey is in the environment', () => {
    expect(() => resolveCloudTarget({ ALIBABA_CLOUD_ACCESS_KEY_ID: KEY_ID }, {})).toThrow(/no cloud chosen/);
    expect(resolveCloudTarget({}, { cloud: 'real' }).kind).toBe('cloud');
    expect(resolveCloudTarget({}, { profile: 'ops' })).toMatchObject({
      kind: 'cloud',
      from: '--profile ops',
    });
  });

  it('names the local cloud from the variable first, then the running stack', () => {
    expect(
      resolveCloudTarget(
        { SLB_AUTOPILOT_LOCAL_CLOUD: 'http://127.0.0.1:1' },
        { stackCloudUrl: 'http://127.0.0.1:2' },
      ),
    ).toMatchObject({ kind: 'local', url: 'http://127.0.0.1:1', from: 'SLB_AUTOPILOT_LOCAL_CLOUD' });
    expect(resolveCloudTarget({}, { stackCloudUrl: 'http://127.0.0.1:2' })).toMatchObject({
      kind: 'local',
      endpoint: '127.0.0.1:2',
    });
  });

  it.each([
    [{ SLB_AUTOPILOT_LOCAL_CLOUD: 'http://127.0.0.1:1' }, { cloud: 'real' as const }, /unset one of them/],
    [{}, { cloud: 'local' as const, profile: 'ops' }, /cannot go with --cloud local/],
    [{}, { profile: 'no spaces' }, /--profile: not a profile name/],
  ])('refuses contradictory choices %#', (env, choice, message) => {
    expect(() => resolveCloudTarget(env, choice)).toThrow(CloudTargetError);
    expect(() => resolveCloudTarget(env, choice)).toThrow(message);
  });

  it('keeps the functions’ behaviour without a choice', () => {
    expect(resolveCloudTarget({}).kind).toBe('cloud');
  });

  it('describes the real target with a masked key and never its secret', async () => {
    const line = await describeCloudTarget(
      {
        kind: 'cloud',
        credentials: staticCredentials({ accessKeyId: KEY_ID, accessKeySecret: SECRET }),
        from: '--cloud real',
      },
      ['cn-shanghai'],
    );
    expect(line).toContain('region cn-shanghai');
    expect(line).toContain(`AccessKey ${maskAccessKeyId(KEY_ID)}`);
    expect(maskAccessKeyId(KEY_ID)).toBe('LTAI5t****1234');
    expect(line).not.toContain(KEY_ID);
    expect(line).not.toContain(SECRET);
    expect(line).toContain('account: not looked up');
  });
});

describe('npm run autopilot: the target', () => {
  it('refuses with no stack, no variable and no --cloud real, even with a key in the environment', async () => {
    const r = await run(['plan', mallSpec], {
      ALIBABA_CLOUD_ACCESS_KEY_ID: KEY_ID,
      ALIBABA_CLOUD_ACCESS_KEY_SECRET: SECRET,
    });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('no cloud chosen, so nothing was called');
    expect(r.stderr).toContain('--cloud real');
  });

  it('prints the real target from the environment chain and from a CLI profile, without calling', async () => {
    const env = await run(['target', mallSpec, '--cloud', 'real'], {
      ALIBABA_CLOUD_ACCESS_KEY_ID: KEY_ID,
      ALIBABA_CLOUD_ACCESS_KEY_SECRET: SECRET,
    });
    expect(env.code).toBe(0);
    expect(env.stderr).toContain('target: Alibaba Cloud (real), region cn-hangzhou');
    expect(env.stderr).toMatch(/AccessKey LTAI5t\*\*\*\*1234 from default\/env/);
    const home = join(dir, 'home');
    mkdirSync(join(home, '.aliyun'), { recursive: true });
    writeFileSync(
      join(home, '.aliyun', 'config.json'),
      JSON.stringify({
        current: 'default',
        profiles: [
          { name: 'ops', mode: 'AK', access_key_id: 'LTAI5tProfileKey9876', access_key_secret: SECRET },
        ],
      }),
    );
    const profile = await run(['target', '--profile', 'ops'], {
      HOME: home,
      ALIBABA_CLOUD_ACCESS_KEY_ID: KEY_ID,
      ALIBABA_CLOUD_ACCESS_KEY_SECRET: SECRET,
    });
    expect(profile.code).toBe(0);
    expect(profile.stderr).toMatch(
      /AccessKey LTAI5t\*\*\*\*9876 from cli_profile\/static_ak; chosen by --profile ops/,
    );
    const missing = await run(['target', '--profile', 'nobody'], { HOME: home });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('--profile nobody: the credentials chain found no AccessKey');
    for (const r of [env, profile, missing]) expect(r.stdout + r.stderr).not.toContain(SECRET);
  });

  describe('against a local cloud', () => {
    let cloud: TestCloud;
    beforeEach(async () => {
      cloud = await startTestCloud({ scenario: 'mall' });
    });
    afterEach(() => cloud.close());

    it('takes the running stack’s cloud from its stack file, and refuses a stale one', async () => {
      const stackFile = join(dir, 'stack.json');
      writeFileSync(
        stackFile,
        JSON.stringify({ cloudUrl: cloud.url, runtimeUrl: cloud.url, apiSecret: 'x' }),
      );
      const r = await run(['plan', mallSpec], { SLB_AUTOPILOT_STACK_FILE: stackFile });
      expect(r.code).toBe(0);
      expect(r.stderr).toContain(`target: local cloud ${cloud.url} (from .local/stack.json (npm start))`);
      expect(r.stdout).toContain('No changes');
      writeFileSync(
        stackFile,
        JSON.stringify({ cloudUrl: 'http://127.0.0.1:9', runtimeUrl: '', apiSecret: 'x' }),
      );
      const stale = await run(['plan', mallSpec], { SLB_AUTOPILOT_STACK_FILE: stackFile });
      expect(stale.code).toBe(2);
      expect(stale.stderr).toContain('nothing answers there: is `npm start` still running?');
    });

    it('applies a saved plan exactly, and refuses it with the difference once the cloud changed', async () => {
      const env = { SLB_AUTOPILOT_LOCAL_CLOUD: cloud.url };
      const planFile = join(dir, 'plan.json');
      const planned = await run(['plan', tweaked, '--out', planFile], env);
      expect(planned.code).toBe(0);
      expect(planned.stdout).toContain('1 action(s)');
      // Someone moves the K8S weight by hand after the plan was reviewed.
      await connectLocalCloud(cloud).slb.setVServerGroupAttribute({
        regionId: MALL.regionId,
        vServerGroupId: MALL.vServerGroup.vServerGroupId,
        backendServers: [{ serverId: MALL.k8s.serverId, port: MALL.k8s.port, weight: 60 }],
      });
      const writesBefore = writeCalls(cloud);
      const stale = await run(['apply', planFile], env);
      expect(stale.code).toBe(1);
      expect(stale.stderr).toContain('is stale: the cloud changed since it was planned');
      expect(stale.stderr).toMatch(
        new RegExp(
          `\\[mall-backends\\]\\.backends\\[${MALL.k8s.serverId}:${MALL.k8s.port}\\]\\.weight: 100 -> 60`,
        ),
      );
      expect(writeCalls(cloud)).toBe(writesBefore);
      const weights = () =>
        cloud
          .state()
          .vServerGroups.find((g) => g.vServerGroupId === MALL.vServerGroup.vServerGroupId)
          ?.backendServers.map((b) => b.weight);
      expect(weights()).toEqual([60, 0]);

      // Planned again, the saved plan applies, and only it.
      expect((await run(['plan', tweaked, '--out', planFile], env)).code).toBe(0);
      const applied = await run(['apply', planFile], env);
      expect(applied.code).toBe(0);
      expect(applied.stdout).toContain('Applied 1 action(s)');
      expect(weights()).toEqual([100, 10]);
      // A saved plan is never applied to another cloud.
      const elsewhere = await run(['apply', planFile], { SLB_AUTOPILOT_LOCAL_CLOUD: 'http://127.0.0.1:9' });
      expect(elsewhere.code).toBe(2);
      expect(elsewhere.stderr).toContain(`was planned against the local cloud ${cloud.url}`);
    });

    it('on a terminal shows the plan and applies only on yes', async () => {
      process.env.SLB_AUTOPILOT_LOCAL_CLOUD = cloud.url;
      try {
        const out: string[] = [];
        const asked: string[] = [];
        const io = (answer: boolean): CliIo => ({
          out: (l) => out.push(l),
          err: (l) => out.push(l),
          isTty: true,
          confirm: async (q) => {
            asked.push(q);
            return answer;
          },
          now: () => new Date(),
        });
        const writes = writeCalls(cloud);
        expect(await autopilotCli(['apply', tweaked], io(false))).toBe(1);
        expect(asked).toEqual(['Apply these 1 action(s)?']);
        expect(out.join('\n')).toMatch(/1\. .*weight/);
        expect(out.join('\n')).toContain('Not applied: nothing was written.');
        expect(writeCalls(cloud)).toBe(writes);
        expect(await autopilotCli(['apply', tweaked], io(true))).toBe(0);
        expect(out.join('\n')).toContain('Applied 1 action(s)');
        expect(writeCalls(cloud)).toBeGreaterThan(writes);
      } finally {
        delete process.env.SLB_AUTOPILOT_LOCAL_CLOUD;
      }
    });
  });
});

describe('jsonDifferences', () => {
  it('names elements by name, backend or port, and lists added and removed leaves', () => {
    expect(
      jsonDifferences(
        [{ name: 'mall', groups: [{ name: 'g', backends: [{ serverId: 'i-1', port: 80, weight: 1 }] }] }],
        [
          {
            name: 'mall',
            groups: [{ name: 'g', backends: [{ serverId: 'i-1', port: 80, weight: 2 }] }],
            extra: true,
          },
        ],
      ),
    ).toEqual(['[mall].extra: (absent) -> true', '[mall].groups[g].backends[i-1:80].weight: 1 -> 2']);
  });
});

function writeCalls(cloud: TestCloud): number {
  return Object.entries(cloud.calls().calls)
    .filter(([action]) => !/^Describe|^List|^Get/.test(action))
    .reduce((n, [, c]) => n + (c as number), 0);
}
