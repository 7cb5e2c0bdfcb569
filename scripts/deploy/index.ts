// `npm run deploy [-- --check | --policies] [-- <extra s args>]`: checks s.yaml and the deployer's environment,
// builds the bundles, then runs the pinned Serverless Devs (`@serverless-devs/s`, a devDependency) with
// `deploy -y -t s.yaml`. `--check` stops after the checks (it needs no network and no credentials);
// `--policies` writes each function's RAM policy (deploy/ram-policy.<function>.json) from its bundle.
// `s` itself loads the fc3 component from api.devsapp.cn on first use and needs credentials
// (`s config add`, or ALIBABA_CLOUD_ACCESS_KEY_ID / _SECRET): see README, Deployment.

import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse } from 'yaml';
import { parseSpec, SpecError } from '../../shared/domain/spec';
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

export function deployProblems(root: string, env: Record<string, string | undefined>): string[] {
  const problems = checkSYaml(parse(readFileSync(join(root, 's.yaml'), 'utf8'))).problems;
  for (const [fn, variable] of Object.entries(ROLE_VARIABLES))
    if (!env[variable]?.startsWith('acs:ram::'))
      problems.push(
        `${variable}: must be the ARN of ${fn}'s RAM role (acs:ram::<uid>:role/<name>), with deploy/ram-policy.${fn}.json attached`,
      );
  if (!env.SLB_AUTOPILOT_SPEC)
    problems.push('SLB_AUTOPILOT_SPEC: the spec (YAML or JSON) the functions manage');
  else {
    try {
      parseSpec(env.SLB_AUTOPILOT_SPEC, { source: 'SLB_AUTOPILOT_SPEC' });
    } catch (err) {
      problems.push(err instanceof SpecError ? err.message : String(err));
    }
  }
  if ((env.SLB_AUTOPILOT_API_SECRET ?? '').length < 32)
    problems.push('SLB_AUTOPILOT_API_SECRET: the provisioning API secret, at least 32 characters');
  for (const v of ['SLB_AUTOPILOT_VPC_ID', 'SLB_AUTOPILOT_VSWITCH_ID', 'SLB_AUTOPILOT_SECURITY_GROUP_ID'])
    if (!env[v])
      problems.push(`${v}: the VPC settings of the functions that probe private addresses (all four)`);
  return problems;
}

async function main(): Promise<number> {
  const root = resolve(join(import.meta.dirname, '..', '..'));
  const args = process.argv.slice(2);
  if (args.includes('--policies')) {
    for (const p of await writePolicies(root)) console.log(`deploy: wrote ${p}`);
    return 0;
  }
  const checkOnly = args.includes('--check');
  const problems = deployProblems(root, process.env);
  if (problems.length > 0) {
    console.error(`deploy: not ready:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    return 1;
  }
  console.log('deploy: s.yaml and the environment are ready');
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
