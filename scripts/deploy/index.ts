// `npm run deploy [-- --check | --policies] [-- <extra s args>]`: checks s.yaml and the deployer's environment,
// builds the bundles, then runs the pinned Serverless Devs (`@serverless-devs/s`, a devDependency) with
// `deploy -y -t s.yaml`. `--check` stops after the checks: the deployer's AccessKey (the
// @alicloud/credentials chain must find one; nothing is called with it), the account and region, each
// function's role, the VPC settings, the API secret and the spec, each said found or exactly what is
// missing. `--policies` writes each function's RAM policy (deploy/ram-policy.<function>.json) from its
// bundle.
// `s` itself loads the fc3 component from api.devsapp.cn on first use and needs credentials
// (`s config add`, or ALIBABA_CLOUD_ACCESS_KEY_ID / _SECRET): see README, Deployment.

import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse } from 'yaml';
import {
  type CredentialSource,
  defaultChainCredentials,
  maskAccessKeyId,
} from '../../shared/cloud/credentials';
import { parseSpec, SpecError } from '../../shared/domain/spec';
import { secretWeakness } from '../../shared/runtime/hmac-auth';
import { buildFunctions, listFunctions } from '../build';
import { checkSYaml } from './fc3-props';
import { functionFacts, policyFor, policyPath } from './function-facts';

/** Each function's own role, from the deployer's environment (s.yaml's vars). */
export const ROLE_VARIABLES = {
  'cert-renewal': 'SLB_AUTOPILOT_CERT_RENEWAL_ROLE_ARN',
  'health-audit': 'SLB_AUTOPILOT_HEALTH_AUDIT_ROLE_ARN',
  failover: 'SLB_AUTOPILOT_FAILOVER_ROLE_ARN',
  provision: 'SLB_AUTOPILOT_PROVISION_ROLE_ARN',
} as const;

/** Writes deploy/ram-policy.<function>.json from what each function's bundle sends. */
export async function writePolicies(root: string): Promise<string[]> {
  const written: string[] = [];
  for (const name of listFunctions(join(root, 'functions'))) {
    const path = policyPath(root, name);
    writeFileSync(path, `${JSON.stringify(policyFor(await functionFacts(root, name)), null, 2)}\n`);
    written.push(path);
  }
  return written;
}

const ROLE_ARN = /^acs:ram::(\d{16}):role\/([A-Za-z0-9.-]{1,64})$/;
const REGION = /^[a-z]{2}(-[a-z0-9]+){1,3}$/;
const VPC_SETTINGS = [
  ['SLB_AUTOPILOT_VPC_ID', 'vpc-', 'the VPC of the functions, which all probe private addresses'],
  ['SLB_AUTOPILOT_VSWITCH_ID', 'vsw-', 'a vSwitch in that VPC'],
  [
    'SLB_AUTOPILOT_SECURITY_GROUP_ID',
    'sg-',
    'a security group that may reach the backends’ health-check ports',
  ],
] as const;

/** What the environment and s.yaml lack for a deploy, one line per problem naming the setting. */
export function deployProblems(root: string, env: Record<string, string | undefined>): string[] {
  const problems = checkSYaml(parse(readFileSync(join(root, 's.yaml'), 'utf8'))).problems;
  for (const [fn, variable] of Object.entries(ROLE_VARIABLES)) {
    const arn = env[variable] ?? '';
    if (!arn)
      problems.push(
        `${variable}: missing: the ARN of ${fn}'s RAM role (acs:ram::<16-digit account id>:role/<name>), with deploy/ram-policy.${fn}.json attached`,
      );
    else if (!ROLE_ARN.test(arn))
      problems.push(
        `${variable}: not a RAM role ARN (acs:ram::<16-digit account id>:role/<name>): ${arn.slice(0, 80)}`,
      );
  }
  const region = env.SLB_AUTOPILOT_REGION || 'cn-hangzhou';
  if (!REGION.test(region))
    problems.push(`SLB_AUTOPILOT_REGION: not a region id (e.g. cn-hangzhou): ${region}`);
  if (!env.SLB_AUTOPILOT_SPEC)
    problems.push('SLB_AUTOPILOT_SPEC: missing: the spec (YAML or JSON) the functions manage');
  else {
    try {
      parseSpec(env.SLB_AUTOPILOT_SPEC, { source: 'SLB_AUTOPILOT_SPEC' });
    } catch (err) {
      problems.push(err instanceof SpecError ? err.message : String(err));
    }
  }
  const secret = env.SLB_AUTOPILOT_API_SECRET;
  const weakness = secret ? secretWeakness(secret) : undefined;
  if (!secret)
    problems.push('SLB_AUTOPILOT_API_SECRET: missing: the provisioning API secret (openssl rand -base64 48)');
  else if (weakness) problems.push(`SLB_AUTOPILOT_API_SECRET: ${weakness}`);
  for (const [name, prefix, what] of VPC_SETTINGS) {
    const v = env[name];
    if (!v) problems.push(`${name}: missing: ${what}`);
    else if (!v.startsWith(prefix) || !/^[a-z]+-[a-z0-9]+$/.test(v))
      problems.push(`${name}: not a ${prefix}... id: ${v.slice(0, 60)}`);
  }
  return problems;
}

export interface DeployCheck {
  /** what was found, one line each */
  found: string[];
  problems: string[];
}

/**
 * Every check of `deploy --check`: deployProblems, plus the deployer's AccessKey from the credentials
 * chain (asked for, never used), and the account and region the functions would land in.
 */
export async function deployCheck(
  root: string,
  env: Record<string, string | undefined>,
  credentials: CredentialSource = defaultChainCredentials(),
): Promise<DeployCheck> {
  const problems = deployProblems(root, env);
  const found: string[] = [];
  try {
    const key = await credentials.get();
    found.push(
      `deployer AccessKey ${maskAccessKeyId(key.accessKeyId)}${key.securityToken ? ' (STS)' : ''} from ${credentials.provider?.() ?? 'the credentials chain'}`,
    );
  } catch (err) {
    const why = (err instanceof Error ? err.message : String(err))
      .replace(/failed:[\s\S]*/, 'failed')
      .split('\n')[0];
    problems.unshift(
      `credentials: the @alicloud/credentials chain found no AccessKey for the deployer (${why}); set ALIBABA_CLOUD_ACCESS_KEY_ID and ALIBABA_CLOUD_ACCESS_KEY_SECRET, or a profile (ALIBABA_CLOUD_PROFILE with ~/.aliyun/config.json)`,
    );
  }
  const region = env.SLB_AUTOPILOT_REGION || 'cn-hangzhou';
  const roles = Object.entries(ROLE_VARIABLES).flatMap(([fn, variable]) => {
    const m = ROLE_ARN.exec(env[variable] ?? '');
    return m ? [{ fn, account: m[1], role: m[2] }] : [];
  });
  const accounts = [...new Set(roles.map((r) => r.account))];
  if (accounts.length > 1)
    problems.push(`roles: the functions' roles belong to different accounts (${accounts.join(', ')})`);
  if (accounts.length > 0)
    found.push(
      `account ${accounts.join(', ')} (from the role ARNs), region ${region}${env.SLB_AUTOPILOT_REGION ? '' : ' (default)'}`,
    );
  for (const r of roles) found.push(`role of ${r.fn}: ${r.role}`);
  const vpc = VPC_SETTINGS.map(([name]) => env[name]).filter(Boolean);
  if (
    vpc.length === VPC_SETTINGS.length &&
    !problems.some((p) => VPC_SETTINGS.some(([n]) => p.startsWith(n)))
  )
    found.push(`VPC ${vpc.join(', ')}`);
  if (env.SLB_AUTOPILOT_SPEC && !problems.some((p) => p.startsWith('SLB_AUTOPILOT_SPEC'))) {
    const spec = parseSpec(env.SLB_AUTOPILOT_SPEC, { source: 'SLB_AUTOPILOT_SPEC' });
    found.push(
      `spec: ${spec.loadBalancers.length} load balancer(s) in ${spec.region}${spec.region !== region ? ` (the functions run in ${region})` : ''}`,
    );
  }
  return { found, problems };
}

async function main(): Promise<number> {
  const root = resolve(join(import.meta.dirname, '..', '..'));
  const args = process.argv.slice(2);
  if (args.includes('--policies')) {
    for (const p of await writePolicies(root)) console.log(`deploy: wrote ${p}`);
    return 0;
  }
  const checkOnly = args.includes('--check');
  const { found, problems } = await deployCheck(root, process.env);
  for (const f of found) console.log(`  found    ${f}`);
  if (problems.length > 0) {
    console.error(
      `deploy: not ready, ${problems.length} problem(s):\n${problems.map((p) => `  - ${p}`).join('\n')}`,
    );
    return 1;
  }
  console.log('deploy: s.yaml, the credentials and the environment are ready');
  if (checkOnly) return 0;
  const built = await buildFunctions({ functionsDir: join(root, 'functions'), outDir: join(root, 'dist') });
  for (const f of built) console.log(`  built ${f.name} (${(f.bytes / 1024).toFixed(1)} KiB)`);
  const s = join(root, 'node_modules', '.bin', 's');
  const run = spawnSync(s, ['deploy', '-y', '-t', 's.yaml', ...args.filter((a) => a !== '--check')], {
    cwd: root,
    stdio: 'inherit',
  });
  return run.status ?? 1;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().then(
    (code) => process.exit(code),
    (err: unknown) => {
      console.error(`deploy: ${err instanceof Error ? err.message : String(err)}`);
      process.exit(1);
    },
  );
}
