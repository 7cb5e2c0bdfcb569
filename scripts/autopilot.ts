// `npm run autopilot -- plan|apply|target ...`: what applying a spec would change, and applying it, on
// the cloud the command line chose (see scripts/cli.ts: the running stack's local cloud by default, the
// real cloud only with `--cloud real` or `--profile`), named before any call. `plan` writes nothing
// (`--out` saves it for a later `apply plan.json`); `apply` shows the plan and asks on a terminal, and
// elsewhere needs `--yes` or a saved plan; it prints a progress line per action and stops at the first
// failure (re-running converges). Exit codes: 0 ok, 1 failed or refused, 2 usage or unreadable input.

import { readFileSync, writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline/promises';
import { CloudTargetError, describeCloudTarget } from '../shared/cloud/credentials';
import { type Cloud, createCloud } from '../shared/cloud/index';
import { type WatchBudget, watchBudget, watchedLoadBalancerNames } from '../shared/domain/failover';
import { describeAction, type Plan } from '../shared/domain/plan';
import { parseSpec, type Spec, SpecError } from '../shared/domain/spec';
import { ConfigError, loadConfig } from '../shared/runtime/config';
import { leaseFromConfig, ownershipFromConfig } from '../shared/runtime/deployment';
import { type ApplyResult, applySpec, observeAndPlan, type ProgressEvent } from '../shared/workflows/apply';
import { CertificateSourceError } from '../shared/workflows/certificate-source';
import {
  chooseCloudTarget,
  parseCommandLine,
  readInputFile,
  runMain,
  TARGET_OPTIONS,
  TARGET_USAGE,
  UsageError,
} from './cli';
import {
  describeSavedTarget,
  jsonDifferences,
  plainActions,
  readSavedPlan,
  savePlan,
  stateDigest,
  targetOf,
} from './saved-plan';

/**
 * The ownership marker and lease timing come from the same variables the functions read
 * (SLB_AUTOPILOT_OWNER_TAG_KEY, SLB_AUTOPILOT_NAME_PREFIX, SLB_AUTOPILOT_DEPLOYMENT_ID, SLB_AUTOPILOT_LEASE_*),
 * so the CLI and a deployment with the same settings agree on what is theirs.
 */
function deployment(env: Record<string, string | undefined> = process.env) {
  const config = loadConfig(env);
  return { ownership: ownershipFromConfig(config), lease: leaseFromConfig(config) };
}

export async function planSpec(cloud: Cloud, specText: string, source: string): Promise<Plan> {
  return (await observeAndPlan(cloud.slb, parseSpec(specText, { source }), deployment().ownership)).plan;
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
      ...deployment(),
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

export const USAGE = [
  'usage:',
  '  npm run autopilot -- plan <spec.yaml> [--out plan.json] [--json]   what applying would change',
  '  npm run autopilot -- apply <spec.yaml> [--yes] [--json]            apply (asks first on a terminal)',
  '  npm run autopilot -- apply <plan.json>                             apply exactly a saved plan',
  '  npm run autopilot -- target [<spec.yaml>]                          which cloud, without calling it',
  '',
  TARGET_USAGE,
].join('\n');

const OPTIONS = {
  ...TARGET_OPTIONS,
  json: { type: 'boolean', default: false },
  yes: { type: 'boolean', short: 'y', default: false },
  out: { type: 'string' },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

/** y/N on the terminal; anything but y or yes is no. */
async function confirm(question: string): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await rl.question(`${question} (y/N) `)).trim());
  } finally {
    rl.close();
  }
}

/** Thrown from onPlan, before the first write, when the cloud moved since the plan that was approved. */
class PlanChangedError extends Error {}

function guardPlan(approved: string): (plan: Plan) => void {
  return (plan) => {
    if (plainActions(plan.actions) !== approved)
      throw new PlanChangedError(
        'the cloud changed since the plan was shown: nothing was written; plan again and review',
      );
  };
}

export interface CliIo {
  out: (line: string) => void;
  err: (line: string) => void;
  isTty: boolean;
  confirm: (question: string) => Promise<boolean>;
  now: () => Date;
}

export async function autopilotCli(args: readonly string[], io: CliIo): Promise<number> {
  const { positionals, values } = parseCommandLine(args, OPTIONS);
  if (values.help) {
    io.out(USAGE);
    return 0;
  }
  const [command, file, extra] = positionals;
  if (command === undefined) throw new UsageError('a command is needed');
  if (!['plan', 'apply', 'target'].includes(command)) throw new UsageError(`unknown command ${command}`);
  if (extra !== undefined) throw new UsageError(`unexpected argument ${extra}`);
  if (command !== 'target' && !file) throw new UsageError(`${command}: which spec file?`);
  if (values.out !== undefined && command !== 'plan') throw new UsageError('--out goes with plan');
  if (values.yes && command !== 'apply') throw new UsageError('--yes goes with apply');

  const text = file ? readInputFile(file) : undefined;
  const saved = text !== undefined && file ? readSavedPlan(text, file) : undefined;
  if (saved && command !== 'apply') throw new UsageError(`${file} is a saved plan: apply it, or plan a spec`);
  const specText = saved ? saved.spec : text;
  const source = saved ? saved.source : (file ?? '');
  // The spec is checked before the cloud is chosen: a bad one costs no call.
  const spec = specText !== undefined ? parseSpec(specText, { source }) : undefined;

  if (command === 'apply' && !saved && !values.yes && !io.isTty) {
    io.err(
      [
        'autopilot: apply: not a terminal, so nobody can confirm the plan: nothing was called.',
        '  Review and apply in one go:   npm run autopilot -- apply <spec> --yes',
        '  or save, review, then apply:  npm run autopilot -- plan <spec> --out plan.json',
        '                                npm run autopilot -- apply plan.json',
      ].join('\n'),
    );
    return 2;
  }

  const target = await chooseCloudTarget(values);
  io.err(await describeCloudTarget(target, spec ? [spec.region] : []));
  if (command === 'target') return 0;
  if (!spec || specText === undefined) return 2;
  if (saved) {
    const wanted = describeSavedTarget(saved.target);
    if (describeSavedTarget(targetOf(target)) !== wanted)
      throw new CloudTargetError(
        `${file} was planned against ${wanted}, not ${describeSavedTarget(targetOf(target))}: nothing was called`,
      );
  }
  const cloud = createCloud({ target });

  if (command === 'plan') {
    const { plan, observed } = await observeAndPlan(cloud.slb, spec, deployment().ownership);
    const budget = specWatchBudget(spec);
    io.out(
      values.json
        ? JSON.stringify(
            { actions: plan.actions.map(jsonAction), leftAlone: plan.leftAlone, watchBudget: budget },
            null,
            2,
          )
        : `${renderPlan(plan)}\n${renderWatchBudget(budget)}`,
    );
    if (values.out) {
      const record = savePlan({ target, source, specText, observed, plan, now: io.now() });
      // The spec travels in the plan: as private as the spec file itself may need to be.
      writeFileSync(values.out, `${JSON.stringify(record, null, 2)}\n`, { mode: 0o600 });
      io.err(
        `Saved the plan to ${values.out}. Apply exactly it with: npm run autopilot -- apply ${values.out}`,
      );
    }
    return 0;
  }

  // apply: settle what will run before the first write.
  let onPlan: ((plan: Plan) => void) | undefined;
  if (saved) {
    const { observed } = await observeAndPlan(cloud.slb, spec, deployment().ownership);
    const now = JSON.parse(JSON.stringify(observed)) as unknown;
    if (stateDigest(specText, now) !== saved.digest) {
      const diff = jsonDifferences(saved.observed, now);
      io.err(
        [
          `autopilot: ${file} is stale: the cloud changed since it was planned (${saved.createdAt}); nothing was written.`,
          ...(diff.length > 0 ? ['Changed since the plan:', ...diff.slice(0, 40).map((d) => `  ${d}`)] : []),
          ...(diff.length > 40 ? [`  ... and ${diff.length - 40} more`] : []),
          `Plan again: npm run autopilot -- plan ${saved.source} --out ${file}`,
        ].join('\n'),
      );
      return 1;
    }
    io.out(`Applying the saved plan ${file} (${saved.actions.length} action(s), made ${saved.createdAt}).`);
    onPlan = guardPlan(plainActions(saved.actions));
  } else if (!values.yes) {
    const { plan } = await observeAndPlan(cloud.slb, spec, deployment().ownership);
    io.out(renderPlan(plan));
    if (plan.actions.length === 0) return 0;
    if (!(await io.confirm(`Apply these ${plan.actions.length} action(s)?`))) {
      io.err('Not applied: nothing was written.');
      return 1;
    }
    onPlan = guardPlan(plainActions(plan.actions));
  }
  const started = Date.now();
  let result: ApplyResult;
  try {
    result = await applySpecText(cloud, specText, source, {
      onPlan: (plan) => {
        onPlan?.(plan);
        if (!onPlan && !values.json) io.out(`${renderPlan(plan)}\n`);
      },
      ...(values.json
        ? {}
        : { onProgress: (e: ProgressEvent) => e.status !== 'started' && io.out(progressLine(e)) }),
    });
  } catch (err) {
    if (err instanceof PlanChangedError) {
      io.err(`autopilot: ${err.message}`);
      return 1;
    }
    throw err;
  }
  if (values.json) {
    io.out(
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
    io.out(renderApplyResult(result, Date.now() - started));
  }
  return result.failed ? 1 : 0;
}

async function main(): Promise<number> {
  try {
    return await autopilotCli(process.argv.slice(2), {
      out: (line) => console.log(line),
      err: (line) => console.error(line),
      isTty: Boolean(process.stdin.isTTY && process.stdout.isTTY),
      confirm,
      now: () => new Date(),
    });
  } catch (err) {
    if (err instanceof SpecError || err instanceof CertificateSourceError || err instanceof ConfigError) {
      console.error(err.message);
      return 1;
    }
    throw err;
  }
}

if (import.meta.url === `file://${process.argv[1]}`) runMain('autopilot', USAGE, main);
