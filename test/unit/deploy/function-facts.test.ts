// The deployed shape follows from each function's code, read from its bundle (scripts/deploy/
// function-facts.ts): its RAM policy grants exactly the actions it sends, it joins the VPC when it can
// reach a probe, and it gets only the variables it reads (notification secrets only when it notifies).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { listFunctions } from '../../../scripts/build';
import { checkSYaml } from '../../../scripts/deploy/fc3-props';
import {
  type FunctionFacts,
  functionFacts,
  INVOKED_FUNCTION,
  policyFor,
  policyPath,
  type RamPolicy,
} from '../../../scripts/deploy/function-facts';
import { ROLE_VARIABLES } from '../../../scripts/deploy/index';

const root = join(__dirname, '..', '..', '..');
const sYaml = parse(readFileSync(join(root, 's.yaml'), 'utf8')) as { vars: Record<string, string> };
const props = new Map(checkSYaml(sYaml).resources.map((r) => [r.key, r.props]));
const names = listFunctions(join(root, 'functions'));
const NOTIFY_SECRETS = [
  'SLB_AUTOPILOT_DINGTALK_URL',
  'SLB_AUTOPILOT_DINGTALK_SECRET',
  'SLB_AUTOPILOT_WEBHOOK_SECRET',
];

const facts = new Map<string, FunctionFacts>();
beforeAll(async () => {
  for (const n of names) facts.set(n, await functionFacts(root, n));
}, 60_000);
const of = (name: string): FunctionFacts => {
  const f = facts.get(name);
  if (!f) throw new Error(`no facts for ${name}`);
  return f;
};
const policy = (name: string) => JSON.parse(readFileSync(policyPath(root, name), 'utf8')) as RamPolicy;

describe('deployed functions', () => {
  it('deploys every function there is', () => {
    expect(names.length).toBe(4);
    expect([...props.keys()].sort()).toEqual(names);
  });

  it('derives something for every function (the bundle is read, not an empty file)', () => {
    for (const n of names) {
      expect(of(n).sources, n).toContain(`functions/${n}/index.ts`);
      expect(of(n).actions.length, n).toBeGreaterThan(0);
    }
  });

  it('gives the VPC to every function whose code can reach a probe (failover and provision included)', () => {
    for (const n of names) {
      if (!of(n).reachesProbe) continue;
      expect(props.get(n)?.vpcConfig, n).toEqual({
        vpcId: `\${vars.vpcId}`,
        vSwitchIds: [`\${vars.vSwitchId}`],
        securityGroupId: `\${vars.securityGroupId}`,
      });
    }
    // The ones the design says probe: the standby probe before a shift, the TLS check after a switch.
    expect(of('failover').reachesProbe).toBe(true);
    expect(of('provision').reachesProbe).toBe(true);
  });

  it.each(names)('%s: its policy grants exactly the actions its bundle sends', (n) => {
    const granted = policy(n).Statement.flatMap((s) => s.Action);
    expect(new Set(granted).size).toBe(granted.length);
    expect([...granted].sort()).toEqual(of(n).actions);
    expect(policy(n)).toEqual(policyFor(of(n)));
    expect(policy(n).Statement.every((s) => s.Effect === 'Allow')).toBe(true);
  });

  it('lets provision delete the rules and extension domains it created (every wrapper it calls is recorded)', () => {
    expect(of('provision').actions).toEqual(
      expect.arrayContaining(['slb:DeleteRules', 'slb:DeleteDomainExtension', 'slb:SetRule']),
    );
  });

  it('grants GetUserCertificateDetail (it returns private keys) only to functions that upload certificates', () => {
    const detail = names.filter((n) => of(n).actions.includes('yundun-cert:GetUserCertificateDetail'));
    expect(detail.length).toBeGreaterThan(0);
    for (const n of detail) expect(of(n).actions, n).toContain('slb:UploadServerCertificate');
  });

  it('allows InvokeFunction only on the failover function, only to the function that hands work over', () => {
    for (const n of names) {
      const fc = policy(n).Statement.filter((s) => s.Action.some((a) => a.startsWith('fc:')));
      if (!of(n).actions.includes('fc:InvokeFunction')) expect(fc, n).toEqual([]);
      else
        expect(fc, n).toEqual([
          {
            Effect: 'Allow',
            Action: ['fc:InvokeFunction'],
            Resource: [`acs:fc:*:*:functions/${INVOKED_FUNCTION}`],
          },
        ]);
    }
  });

  it('runs each function under its own role, from its own deployer variable', () => {
    const roles = names.map((n) => props.get(n)?.role ?? '');
    expect(new Set(roles).size).toBe(names.length);
    for (const n of names) {
      const ref = /^\$\{vars\.([A-Za-z]+)\}$/.exec(props.get(n)?.role ?? '')?.[1] ?? '';
      expect(sYaml.vars[ref], n).toBe(`\${env('${ROLE_VARIABLES[n as keyof typeof ROLE_VARIABLES]}', '')}`);
    }
  });

  it.each(names)(
    '%s: gets only the variables its code reads; notification secrets only if it notifies',
    (n) => {
      const env = props.get(n)?.environmentVariables ?? {};
      for (const v of NOTIFY_SECRETS) expect(v in env, `${n}: ${v}`).toBe(of(n).notifies);
      for (const v of Object.keys(env).filter(
        (k) => k.startsWith('SLB_AUTOPILOT_') && !NOTIFY_SECRETS.includes(k),
      ))
        expect(of(n).variables, `${n}: ${v}`).toContain(v);
      // A secret the code reads is passed from the deployer's environment.
      for (const v of of(n).variables.filter((x) => /SECRET/.test(x) && !x.includes('_LOCAL_')))
        expect(env[v], `${n}: ${v}`).toBe(`\${env('${v}', '')}`);
    },
  );

  it('provision sends no notifications, so it holds no notification secret', () => {
    expect(of('provision').notifies).toBe(false);
    expect(Object.keys(props.get('provision')?.environmentVariables ?? {})).not.toContain(
      'SLB_AUTOPILOT_DINGTALK_SECRET',
    );
  });
});
