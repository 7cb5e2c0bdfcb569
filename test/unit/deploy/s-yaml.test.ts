// s.yaml: the fc3 props we use against a strict schema of the component's props, the four functions with
// the settings the design asks for, no secret in plain text, and every handler present in its bundle.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { buildFunctions, listFunctions } from '../../../scripts/build';
import { checkSYaml } from '../../../scripts/deploy/fc3-props';
import { deployProblems } from '../../../scripts/deploy/index';

const root = join(__dirname, '..', '..', '..');
const doc = parse(readFileSync(join(root, 's.yaml'), 'utf8'));
const { resources, problems } = checkSYaml(doc);
const byKey = new Map(resources.map((r) => [r.key, r.props]));
const out = mkdtempSync(join(tmpdir(), 'slbap-bundles-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

describe('s.yaml', () => {
  it('matches the fc3 props schema', () => {
    expect(problems).toEqual([]);
  });

  it('names the four functions, each deploying its own bundle on nodejs20', () => {
    expect([...byKey.keys()].sort()).toEqual(['cert-renewal', 'failover', 'health-audit', 'provision']);
    for (const [key, p] of byKey) {
      expect([p.functionName, p.code, p.runtime, p.handler]).toEqual([
        `slb-autopilot-${key}`,
        `./dist/${key}`,
        'nodejs20',
        'index.handler',
      ]);
    }
  });

  it('serialises rotation and failover, and gives each function the trigger it is for', () => {
    expect(byKey.get('cert-renewal')?.concurrencyConfig?.reservedConcurrency).toBe(1);
    expect(byKey.get('failover')?.concurrencyConfig?.reservedConcurrency).toBe(1);
    expect(byKey.get('health-audit')?.concurrencyConfig?.reservedConcurrency).toBe(1);
    const triggers = (key: string) => byKey.get(key)?.triggers?.map((t) => t.triggerType);
    expect(triggers('cert-renewal')).toEqual(['timer']);
    expect(triggers('health-audit')).toEqual(['timer']);
    expect(triggers('failover')).toEqual(['eventbridge']);
    expect(triggers('provision')).toEqual(['http']);
    expect(byKey.get('failover')?.asyncInvokeConfig?.destinationConfig?.onFailure).toBeDefined();
    // Which functions join the VPC follows from their code: function-facts.test.ts.
  });

  it('writes no secret in plain text: secret-looking variables come from the deployer environment', () => {
    for (const [key, p] of byKey) {
      for (const [name, value] of Object.entries(p.environmentVariables ?? {})) {
        if (/SECRET|TOKEN|PASSWORD|ACCESS_KEY|DINGTALK_URL/.test(name))
          expect(value, `${key}: ${name}`).toMatch(/^\$\{env\('[A-Z_]+'(, '')?\)\}$/);
      }
    }
  });

  it('has every handler it names in the bundle that deploys it', async () => {
    const names = listFunctions(join(root, 'functions')).filter((n) => byKey.has(n));
    expect(names.length).toBeGreaterThan(0);
    await buildFunctions({ functionsDir: join(root, 'functions'), outDir: out, only: names, minify: false });
    const require = createRequire(import.meta.url);
    for (const name of names) {
      const file = join(out, name, 'index.js');
      expect(existsSync(file)).toBe(true);
      const [, exported] = (byKey.get(name)?.handler ?? '').split('.');
      const mod = require(file) as Record<string, unknown>;
      expect(typeof mod[exported ?? ''], `${name}: ${byKey.get(name)?.handler}`).toBe('function');
    }
  });
});

describe('templates merge as `s` merges them', () => {
  it("deep-merges a template's environment into the function's own", () => {
    const base = {
      functionName: 'f',
      region: 'cn-hangzhou',
      runtime: 'nodejs20',
      handler: 'index.handler',
      code: './dist/f',
      role: '',
      memorySize: 512,
      timeout: 60,
    };
    const r = checkSYaml({
      edition: '3.0.0',
      template: { t: { ...base, environmentVariables: { A: '1', B: '2' } } },
      resources: {
        f: { component: 'fc3', extend: { name: 't' }, props: { environmentVariables: { B: '3' } } },
      },
    });
    expect(r.resources[0]?.props.environmentVariables).toEqual({ A: '1', B: '3' });
  });
});

describe('the schema refuses what fc3 would refuse', () => {
  it.each([
    [
      'a misspelt field',
      { memorySize: 512, memmorySize: 1 },
      'resources.f.props.memmorySize: is not an fc3 prop',
    ],
    ['memory not a multiple of 64', { memorySize: 500 }, 'resources.f.props.memorySize'],
    ['an unknown runtime', { runtime: 'nodejs8' }, 'resources.f.props.runtime'],
  ])('%s', (_name, change, expected) => {
    const base = {
      functionName: 'f',
      region: 'cn-hangzhou',
      runtime: 'nodejs20',
      handler: 'index.handler',
      code: './dist/f',
      role: '',
      memorySize: 512,
      timeout: 60,
    };
    const r = checkSYaml({
      edition: '3.0.0',
      resources: { f: { component: 'fc3', props: { ...base, ...change } } },
    });
    expect(r.problems.join('\n')).toContain(expected);
  });
});

describe('npm run deploy -- --check', () => {
  const ready = {
    SLB_AUTOPILOT_CERT_RENEWAL_ROLE_ARN: 'acs:ram::1234567890123456:role/slbap-cert-renewal',
    SLB_AUTOPILOT_HEALTH_AUDIT_ROLE_ARN: 'acs:ram::1234567890123456:role/slbap-health-audit',
    SLB_AUTOPILOT_FAILOVER_ROLE_ARN: 'acs:ram::1234567890123456:role/slbap-failover',
    SLB_AUTOPILOT_PROVISION_ROLE_ARN: 'acs:ram::1234567890123456:role/slbap-provision',
    SLB_AUTOPILOT_SPEC: readFileSync(join(root, 'examples', 'mall.yaml'), 'utf8'),
    SLB_AUTOPILOT_API_SECRET: 'k7Qm2vXr9LpT4wZs8NcB1yHd6FgJ3aEu',
    SLB_AUTOPILOT_VPC_ID: 'vpc-1',
    SLB_AUTOPILOT_VSWITCH_ID: 'vsw-1',
    SLB_AUTOPILOT_SECURITY_GROUP_ID: 'sg-1',
  };
  it('is ready with a role per function, a valid spec, a long secret and the VPC settings', () => {
    expect(deployProblems(root, ready)).toEqual([]);
  });
  it('names every missing or bad setting', () => {
    const problems = deployProblems(root, {
      ...ready,
      SLB_AUTOPILOT_FAILOVER_ROLE_ARN: '',
      SLB_AUTOPILOT_API_SECRET: 'short',
      SLB_AUTOPILOT_SPEC: 'version: 2',
    });
    expect(problems.map((p) => p.split(':')[0])).toEqual([
      'SLB_AUTOPILOT_FAILOVER_ROLE_ARN',
      'SLB_AUTOPILOT_SPEC is not valid',
      'SLB_AUTOPILOT_API_SECRET',
    ]);
  });

  it('refuses a weak API secret the function would refuse (32 identical characters)', () => {
    const problems = deployProblems(root, { ...ready, SLB_AUTOPILOT_API_SECRET: 'x'.repeat(32) });
    expect(problems).toEqual([expect.stringMatching(/^SLB_AUTOPILOT_API_SECRET: /)]);
    expect(problems[0]).not.toContain('x'.repeat(32));
  });

  async function check(env: Record<string, string>) {
    const clean: Record<string, string | undefined> = { ...process.env };
    for (const k of Object.keys(clean))
      if (k.startsWith('ALIBABA_CLOUD_') || k.startsWith('SLB_AUTOPILOT_')) delete clean[k];
    try {
      const r = await promisify(execFile)(
        join(root, 'node_modules', '.bin', 'tsx'),
        ['scripts/deploy/index.ts', '--check'],
        {
          cwd: root,
          // No IMDS, no CLI profile: nothing outside 127.0.0.1 is asked.
          env: {
            ...clean,
            HOME: mkdtempSync(join(tmpdir(), 'slbap-home-')),
            ALIBABA_CLOUD_ECS_METADATA_DISABLED: 'true',
            ...env,
          },
        },
      );
      return { code: 0, out: r.stdout + r.stderr };
    } catch (err) {
      const e = err as { code: number; stdout: string; stderr: string };
      return { code: e.code, out: e.stdout + e.stderr };
    }
  }

  it('is not ready without a deployer AccessKey, and says where one is looked for', {
    timeout: 60_000,
  }, async () => {
    const r = await check(ready);
    expect(r.code).toBe(1);
    expect(r.out).toContain('deploy: not ready, 1 problem(s)');
    expect(r.out).toContain(
      'credentials: the @alicloud/credentials chain found no AccessKey for the deployer',
    );
    expect(r.out).toContain(
      'found    account 1234567890123456 (from the role ARNs), region cn-hangzhou (default)',
    );
  });

  it('finds the key, the account, the role, the VPC and the spec, and never prints the secret', {
    timeout: 60_000,
  }, async () => {
    const secret = 'DeployerSecretNeverPrinted0123456789';
    const r = await check({
      ...ready,
      ALIBABA_CLOUD_ACCESS_KEY_ID: 'LTAI5tDeployer00004321',
      ALIBABA_CLOUD_ACCESS_KEY_SECRET: secret,
    });
    expect(r.code).toBe(0);
    expect(r.out).toContain('found    deployer AccessKey LTAI5t****4321 from default/env');
    expect(r.out).toContain('found    role of cert-renewal: slbap-cert-renewal');
    expect(r.out).toContain('found    role of provision: slbap-provision');
    expect(r.out).toContain('found    VPC vpc-1, vsw-1, sg-1');
    expect(r.out).toContain('found    spec: 1 load balancer(s) in cn-hangzhou');
    expect(r.out).not.toContain(secret);
  });

  it('says what is wrong with each setting, not only that it is missing', () => {
    const problems = deployProblems(root, {
      ...ready,
      SLB_AUTOPILOT_FAILOVER_ROLE_ARN: 'acs:ram::123:role/x',
      SLB_AUTOPILOT_VPC_ID: 'vsw-1',
      SLB_AUTOPILOT_SECURITY_GROUP_ID: '',
      SLB_AUTOPILOT_REGION: 'Hangzhou',
    });
    expect(problems).toEqual([
      'SLB_AUTOPILOT_FAILOVER_ROLE_ARN: not a RAM role ARN (acs:ram::<16-digit account id>:role/<name>): acs:ram::123:role/x',
      'SLB_AUTOPILOT_REGION: not a region id (e.g. cn-hangzhou): Hangzhou',
      'SLB_AUTOPILOT_VPC_ID: not a vpc-... id: vsw-1',
      'SLB_AUTOPILOT_SECURITY_GROUP_ID: missing: a security group that may reach the backends’ health-check ports',
    ]);
  });
});
