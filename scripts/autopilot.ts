// `npm run autopilot -- plan <spec> [--json]`: what applying the spec would change, read from the local
// cloud (SLB_AUTOPILOT_LOCAL_CLOUD, default http://127.0.0.1:8787, as `npm start` serves it) or from the
// real cloud when ALIBABA_CLOUD_ACCESS_KEY_ID is set and SLB_AUTOPILOT_LOCAL_CLOUD is not.
// Nothing is written. `apply` arrives with the provisioning work.

import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { resolveCloudTarget } from '../shared/cloud/credentials';
import { type Cloud, createCloud } from '../shared/cloud/index';
import { desiredFromSpec } from '../shared/domain/model';
import { describeAction, type Plan, planAll } from '../shared/domain/plan';
import { parseSpec, SpecError } from '../shared/domain/spec';
import { observeLoadBalancers } from '../shared/workflows/observe';

export async function planSpec(cloud: Cloud, specText: string, source: string): Promise<Plan> {
  const spec = parseSpec(specText, { source });
  const desired = desiredFromSpec(spec);
  const observed = await observeLoadBalancers(cloud.slb, spec.region, desired, spec.ownership.namePrefix);
  return planAll(desired, observed);
}

export function renderPlan(plan: Plan): string {
  const lines =
    plan.actions.length === 0
      ? ['No changes: the cloud matches the spec.']
      : plan.actions.map((a, i) => `${String(i + 1).padStart(3)}. ${describeAction(a)}`);
  if (plan.leftAlone.length > 0) {
    lines.push('', 'Left alone:');
    for (const l of plan.leftAlone) lines.push(`  - ${l.lb}: ${l.what}: ${l.why}`);
  }
  lines.push('', `${plan.actions.length} action(s), ${plan.leftAlone.length} left alone.`);
  return lines.join('\n');
}

async function main(): Promise<number> {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: { json: { type: 'boolean', default: false } },
  });
  const [command, file] = positionals;
  if (command === 'apply') {
    console.error('autopilot: apply is not available yet; run plan to see what it would do');
    return 2;
  }
  if (command !== 'plan' || !file) {
    console.error('usage: npm run autopilot -- plan <spec.yaml> [--json]');
    return 2;
  }
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    console.error(`autopilot: cannot read ${file}: ${(err as { code?: string }).code ?? String(err)}`);
    return 2;
  }
  const env = { ...process.env };
  if (!env.SLB_AUTOPILOT_LOCAL_CLOUD && !env.ALIBABA_CLOUD_ACCESS_KEY_ID)
    env.SLB_AUTOPILOT_LOCAL_CLOUD = 'http://127.0.0.1:8787';
  const cloud = createCloud({ target: resolveCloudTarget(env) });
  try {
    const plan = await planSpec(cloud, text, file);
    console.log(
      values.json
        ? JSON.stringify({ actions: plan.actions, leftAlone: plan.leftAlone }, null, 2)
        : renderPlan(plan),
    );
    return 0;
  } catch (err) {
    if (err instanceof SpecError) console.error(err.message);
    else console.error(`autopilot: ${err instanceof Error ? err.message : String(err)}`);
    return 1;
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().then(
    (code) => process.exit(code),
    (err: unknown) => {
      console.error(`autopilot: ${err instanceof Error ? err.message : String(err)}`);
      process.exit(1);
    },
  );
}
