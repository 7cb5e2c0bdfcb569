// `npm run autopilot -- plan|apply <spec> [--json]`: what applying the spec would change, and applying
// it, against the local cloud (SLB_AUTOPILOT_LOCAL_CLOUD, default http://127.0.0.1:8787, as `npm start`
// serves it) or the real cloud when ALIBABA_CLOUD_ACCESS_KEY_ID is set and SLB_AUTOPILOT_LOCAL_CLOUD is
// not. `plan` writes nothing; `apply` prints the plan, then a progress line per action, and stops at
// the first failure (re-running converges). Exit codes: 0 ok, 1 failed, 2 usage or unreadable spec.

import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { resolveCloudTarget } from '../shared/cloud/credentials';
import { type Cloud, createCloud } from '../shared/cloud/index';
import { type WatchBudget, watchBudget, watchedLoadBalancerNames } from '../shared/domain/failover';
import { describeAction, type Plan } from '../shared/domain/plan';
import { parseSpec, type Spec, SpecError } from '../shared/domain/spec';
import { type ApplyResult, applySpec, observeAndPlan, type ProgressEvent } from '../shared/workflows/apply';
import { CertificateSourceError } from '../shared/workflows/certificate-source';

export async function planSpec(cloud: Cloud, specText: string, source: string): Promise<Plan> {
  return (await observeAndPlan(cloud.slb, parseSpec(specText, { source }))).plan;
}

export async function applySpecText(
  cloud: Cloud,
  specText: string,
  source: string,
  options: Parameters<typeof applySpec>[2] = {},
): Promise<ApplyResult> {
  return applySpec(
    {
      slb: cloud.slb,
      cas: cloud.cas,
      now: () => new Date(),
      env: process.env,
      readFile: (p) => readFileSync(p, 'utf8'),
    },
    parseSpec(specText, { source }),
    options,
  );
}

export function progressLine(e: ProgressEvent): string {
  return `[${e.index}/${e.total}] ${e.text} ... ${e.status}`;
}

export function renderApplyResult(r: ApplyResult, elapsedMs: number): string {
  if (r.failed) {
    return [
      `Apply stopped at: ${describeAction(r.failed.action)}`,
      `  ${r.failed.error.message}`,
      `${r.done.length} of ${r.plan.actions.length} action(s) done, ${r.remaining.length + 1} not done. Fix the cause and apply again: it continues from what exists.`,
    ].join('\n');
  }
  return `Applied ${r.done.length} action(s) in ${(elapsedMs / 1000).toFixed(2)} s.`;
}

const jsonAction = (a: Plan['actions'][number]) => ({ ...a, description: describeAction(a) });

/** The region's health-read budget for the spec's fast watch (failover.watch). */
export function specWatchBudget(spec: Spec): WatchBudget {
  return watchBudget(spec.loadBalancers.length, watchedLoadBalancerNames(spec).length, spec.failover.watch);
}

export function renderWatchBudget(b: WatchBudget): string {
  const quota = `the quota we plan with (${b.quota} DescribeHealthStatus per minute per region)`;
  if (!b.everyS)
    return `Health reads: ${b.readsPerMinute} DescribeHealthStatus per minute (the audit); no fast watch (failover.watch). With watch 5s, ${quota} allows ${watchBudget(b.audited, 0, 5, b.quota).maxWatched} fast-watched load balancers.`;
  return `Fast watch: ${b.watched} load balancer(s) every ${b.everyS} s: ${b.readsPerMinute} DescribeHealthStatus per minute (${b.audited} audit + ${b.watchReadsPerLoadBalancer} per watched one); ${quota} allows ${b.maxWatched} fast-watched load balancers next to this audit${b.watched > b.maxWatched ? ': OVER BUDGET, reads will be throttled' : ''}.`;
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
  if ((command !== 'plan' && command !== 'apply') || !file) {
    console.error('usage: npm run autopilot -- plan|apply <spec.yaml> [--json]');
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
    if (command === 'plan') {
      const plan = await planSpec(cloud, text, file);
      const budget = specWatchBudget(parseSpec(text, { source: file }));
      console.log(
        values.json
          ? JSON.stringify(
              { actions: plan.actions.map(jsonAction), leftAlone: plan.leftAlone, watchBudget: budget },
              null,
              2,
            )
          : `${renderPlan(plan)}\n${renderWatchBudget(budget)}`,
      );
      return 0;
    }
    const started = Date.now();
    const result = await applySpecText(
      cloud,
      text,
      file,
      values.json
        ? {}
        : {
            onPlan: (plan) => console.log(`${renderPlan(plan)}\n`),
            onProgress: (e) => e.status !== 'started' && console.log(progressLine(e)),
          },
    );
    if (values.json) {
      console.log(
        JSON.stringify(
          {
            actions: result.plan.actions.map(jsonAction),
            done: result.done.length,
            failed: result.failed
              ? { action: jsonAction(result.failed.action), error: result.failed.error.message }
              : null,
          },
          null,
          2,
        ),
      );
    } else {
      console.log(renderApplyResult(result, Date.now() - started));
    }
    return result.failed ? 1 : 0;
  } catch (err) {
    if (err instanceof SpecError || err instanceof CertificateSourceError) console.error(err.message);
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
