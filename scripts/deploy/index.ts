// `npm run deploy [-- --check] [-- <extra s args>]`: checks s.yaml and the deployer's environment,
// builds the bundles, then runs the pinned Serverless Devs (`@serverless-devs/s`, a devDependency) with
// `deploy -y -t s.yaml`. `--check` stops after the checks: the deployer's AccessKey (the
// @alicloud/credentials chain must find one; nothing is called with it), the account and region, the
// functions' role, the VPC settings, the API secret and the spec, each said found or exactly what is
// missing.
// `s` itself loads the fc3 component from api.devsapp.cn on first use and needs credentials
// (`s config add`, or ALIBABA_CLOUD_ACCESS_KEY_ID / _SECRET): see README, Deployment.

import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse } from 'yaml';
import {
  type CredentialSource,
  defaultChainCredentials,
  maskAccessKeyId,
} from '../../shared/cloud/credentials';
import { parseSpec, SpecError } from '../../shared/domain/spec';
import { buildFunctions } from '../build';
import { checkSYaml } from './fc3-props';

const ROLE_ARN = /^acs:ram::(\d{16}):role\/([A-Za-z0-9.-]{1,64})$/;
const REGION = /^[a-z]{2}(-[a-z0-9]+){1,3}$/;
const VPC_SETTINGS = [
  ['SLB_AUTOPILOT_VPC_ID', 'vpc-', 'the VPC of the probing functions (cert-renewal, health-audit)'],
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
  const arn = env.SLB_AUTOPILOT_ROLE_ARN ?? '';
  if (!arn)
    problems.push(
      'SLB_AUTOPILOT_ROLE_ARN: missing: the ARN of the functions’ RAM role (acs:ram::<16-digit account id>:role/<name>)',
    );
  else if (!ROLE_ARN.test(arn))
    problems.push(
      `SLB_AUTOPILOT_ROLE_ARN: not a RAM role ARN (acs:ram::<16-digit account id>:role/<name>): ${arn.slice(0, 80)}`,
    );
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
  if (!env.SLB_AUTOPILOT_API_SECRET)
    problems.push('SLB_AUTOPILOT_API_SECRET: missing: the provisioning API secret, at least 32 characters');
  else if (env.SLB_AUTOPILOT_API_SECRET.length < 32)
    problems.push(
      `SLB_AUTOPILOT_API_SECRET: too short (${env.SLB_AUTOPILOT_API_SECRET.length} characters; at least 32)`,
    );
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
  const arn = ROLE_ARN.exec(env.SLB_AUTOPILOT_ROLE_ARN ?? '');
  const region = env.SLB_AUTOPILOT_REGION || 'cn-hangzhou';
  if (arn) {
    found.push(
      `account ${arn[1]} (from the role ARN), region ${region}${env.SLB_AUTOPILOT_REGION ? '' : ' (default)'}`,
    );
    found.push(`role ${arn[2]}`);
  }
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
