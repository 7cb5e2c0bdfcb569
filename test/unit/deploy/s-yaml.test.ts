// s.yaml: the fc3 props we use against a strict schema of the component's props, the four functions with
// the settings the design asks for, no secret in plain text, and every handler present in its bundle.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
    // The functions that probe private addresses join the VPC.
    for (const key of ['cert-renewal', 'health-audit']) expect(byKey.get(key)?.vpcConfig).toBeDefined();
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
    SLB_AUTOPILOT_ROLE_ARN: 'acs:ram::1234567890123456:role/slb-autopilot',
    SLB_AUTOPILOT_SPEC: readFileSync(join(root, 'examples', 'mall.yaml'), 'utf8'),
    SLB_AUTOPILOT_API_SECRET: 'x'.repeat(32),
    SLB_AUTOPILOT_VPC_ID: 'vpc-1',
    SLB_AUTOPILOT_VSWITCH_ID: 'vsw-1',
    SLB_AUTOPILOT_SECURITY_GROUP_ID: 'sg-1',
  };
  it('is ready with a role, a valid spec, a long secret and the VPC settings', () => {
    expect(deployProblems(root, ready)).toEqual([]);
  });
  it('names every missing or bad setting', () => {
    const problems = deployProblems(root, {
      ...ready,
      SLB_AUTOPILOT_ROLE_ARN: '',
      SLB_AUTOPILOT_API_SECRET: 'short',
      SLB_AUTOPILOT_SPEC: 'version: 2',
    });
    expect(problems.map((p) => p.split(':')[0])).toEqual([
      'SLB_AUTOPILOT_ROLE_ARN',
      'SLB_AUTOPILOT_SPEC is not valid',
      'SLB_AUTOPILOT_API_SECRET',
    ]);
  });
});
