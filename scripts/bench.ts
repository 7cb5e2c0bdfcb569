// `npm run bench`: what the cloud layer costs, in API calls (deterministic) and bundle bytes, against
// the local cloud on 127.0.0.1. Timing is reported for information only.

import { readFileSync } from 'node:fs';
import { build } from 'esbuild';
import { parse, stringify } from 'yaml';
import { VirtualClock } from '../shared/cloud/clock';
import type { CloudOptions } from '../shared/cloud/index';
import { RateBudget } from '../shared/cloud/rate-budget';
import { DEFAULT_OWNERSHIP } from '../shared/domain/ownership';
import { parseSpec } from '../shared/domain/spec';
import { applySpec } from '../shared/workflows/apply';
import { emptyAuditMemory, runHealthAudit } from '../shared/workflows/health-audit';
import { collectStatus } from '../shared/workflows/status';
import { acmeCase } from './bench-acme';
import { auditSteadyCase } from './bench-audit';
import { auditCase, failoverCase, rotationCase } from './bench-cases';
import { coldStartCase } from './bench-cold-start';
import { outageBench, parseOutageArgs } from './bench-outage';
import { buildFunctions, separatePackages } from './build';
import { connectLocalCloud } from './local-cloud/connect';
import { MALL } from './local-cloud/scenarios/mall-fixture';
import { type LocalCloud, startLocalCloud } from './local-cloud/server';

/** n created load balancers, each an HTTP listener on one group (the audit's cost does not depend on more). */
function fleetYaml(n: number): string {
  const lbs = Array.from({ length: n }, (_, i) => ({
    name: `shop-${i}`,
    create: { addressType: 'intranet', spec: 'slb.s1.small' },
    vServerGroups: [
      {
        name: 'web',
        backends: [
          { serverId: MALL.k8s.serverId, port: 30250, weight: 100, pool: 'primary' },
          { serverId: MALL.ecs.serverId, port: 8050, weight: 0, pool: 'standby' },
        ],
      },
    ],
    listeners: [{ protocol: 'http', port: 80, vServerGroup: 'web', healthCheck: { path: '/healthz' } }],
  }));
  return stringify({ version: 1, region: MALL.regionId, loadBalancers: lbs });
}

/** examples/mall.yaml with the load balancer created instead of adopted. */
function createdMallYaml(): string {
  const s = parse(readFileSync(new URL('../examples/mall.yaml', import.meta.url), 'utf8'));
  delete s.loadBalancers[0].id;
  s.loadBalancers[0].create = { addressType: 'internet', spec: 'slb.s2.small' };
  return stringify(s);
}

const ROOMY = { capacity: 100_000, refillPerSecond: 100_000 };

function layer(local: LocalCloud, options: Omit<CloudOptions, 'target'> = {}) {
  return connectLocalCloud(local, {
    budget: new RateBudget({ read: ROOMY, write: ROOMY }),
    retry: { baseDelayMs: 1, maxDelayMs: 5, maxAttempts: 10 },
    ...options,
  });
}

async function bundleBytes(source: string): Promise<number> {
  const result = await build({
    stdin: { contents: source, resolveDir: process.cwd(), loader: 'ts' },
    bundle: true,
    write: false,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    minify: true,
    logLevel: 'silent',
    // as the function build does: the credential chain and tea-xml in files of their own
    plugins: [separatePackages(new Map())],
  });
  return result.outputFiles[0]?.contents.byteLength ?? 0;
}

type Row = Record<string, unknown>;
const CASES: Record<string, () => Promise<Row | Row[]>> = {
  failover: failoverCase,
  audit: auditCase,
  rotation: rotationCase,
  'audit-steady': auditSteadyCase,
  acme: () => acmeCase(),
  coldStart: () => coldStartCase(),
};
const printRows = (rows: Row | Row[]) => {
  for (const row of Array.isArray(rows) ? rows : [rows]) console.log(JSON.stringify(row));
};

async function main(): Promise<void> {
  // `npm run bench -- <case>`: only that case, as JSON lines.
  const only = process.argv[2];
  if (only === 'outage') {
    const o = parseOutageArgs(process.argv.slice(3), (line) => console.error(line));
    for (const row of await outageBench(o)) console.log(JSON.stringify(row));
    return;
  }
  if (only) {
    const run = CASES[only];
    if (!run) throw new Error(`no bench case ${only} (have ${Object.keys(CASES).join(', ')})`);
    printRows(await run());
    return;
  }
  const rows: [string, string][] = [];
  const local = await startLocalCloud({ scenario: 'mall' });
  try {
    // 1. 200 reads under 30% throttling: every call succeeds, retries cost extra calls.
    local.setFaults({ throttleRate: 0.3, seed: 7 });
    const a = layer(local);
    const t0 = performance.now();
    let succeeded = 0;
    for (let i = 0; i < 200; i++) {
      const lbs = await a.slb.describeLoadBalancers({ regionId: MALL.regionId }).catch(() => []);
      if (lbs.length === 1) succeeded++;
    }
    const s = a.accounting.snapshot();
    rows.push(['200 reads at 30% throttling: succeeded', `${succeeded} / 200`]);
    rows.push([
      '  attempts (retries)',
      `${s.totalCalls} (${s.totalRetries}); ${(s.totalCalls / 200).toFixed(2)} attempts per call`,
    ]);
    rows.push(['  cloud saw Throttling.User', String(local.calls().errors['Throttling.User'] ?? 0)]);
    rows.push(['  wall time', `${(performance.now() - t0).toFixed(0)} ms`]);
    local.setFaults({});

    // 2. A burst of 120 writes through the default write budget (90 per 60 s), on a virtual clock.
    const clock = new VirtualClock();
    const b = layer(local, { budget: new RateBudget({ clock }), clock });
    for (let i = 0; i < 120; i++) {
      await b.slb.setVServerGroupAttribute({
        regionId: MALL.regionId,
        vServerGroupId: MALL.vServerGroup.vServerGroupId,
        backendServers: [{ serverId: MALL.ecs.serverId, port: 8050, weight: i % 101 }],
      });
    }
    rows.push([
      '120 writes through the default budget',
      `${(clock.now() / 1000).toFixed(1)} virtual s (90 burst + 30 at 1.5/s)`,
    ]);

    // 3. What reading the mall's status costs.
    local.reset();
    const c = layer(local);
    await collectStatus(
      c.slb,
      parseSpec(readFileSync(new URL('../examples/mall.yaml', import.meta.url), 'utf8')),
      new Date(),
      DEFAULT_OWNERSHIP,
    );
    const status = c.accounting.snapshot();
    rows.push([
      'status of the mall (npm start)',
      `${status.totalCalls} API calls: ${Object.entries(status.calls)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')}`,
    ]);
  } finally {
    await local.close();
  }

  // 4. Applying the mall from an empty region, then again (must write nothing).
  const bare = await startLocalCloud({ scenario: 'mall-unprovisioned' });
  try {
    const d = layer(bare);
    const deps = {
      slb: d.slb,
      cas: d.cas,
      now: () => new Date(),
      env: {},
      readFile: () => '',
      ownership: DEFAULT_OWNERSHIP,
    };
    const spec = parseSpec(createdMallYaml());
    const writes = () =>
      Object.entries(bare.calls().calls)
        .filter(([action]) => !/^(Describe|List|Get)/.test(action))
        .reduce((n, [, k]) => n + k, 0);
    const t1 = performance.now();
    const first = await applySpec(deps, spec);
    const ms = performance.now() - t1;
    const firstCalls = bare.calls().total;
    const firstWrites = writes();
    await applySpec(deps, spec);
    rows.push([
      'apply the mall from an empty region',
      `${first.done.length} actions, ${firstWrites} write calls, ${firstCalls} calls in all, ${ms.toFixed(0)} ms`,
    ]);
    rows.push([
      '  second apply',
      `${writes() - firstWrites} write calls, ${bare.calls().total - firstCalls} read calls`,
    ]);
  } finally {
    await bare.close();
  }

  // 5. The health audit's steady state over 10 load balancers: calls per load balancer per run.
  const fleet = await startLocalCloud({ scenario: 'mall-unprovisioned', tlsFrontEnds: false });
  try {
    const e = layer(fleet);
    const spec = parseSpec(fleetYaml(10));
    await applySpec(
      {
        slb: e.slb,
        cas: e.cas,
        now: () => new Date(),
        env: {},
        readFile: () => '',
        ownership: DEFAULT_OWNERSHIP,
      },
      spec,
    );
    const memory = emptyAuditMemory();
    const audit = {
      slb: e.slb,
      probeAll: async () => [],
      resolveBackend: async (b: { port: number }) => ({ host: '127.0.0.1', port: b.port }),
      now: () => new Date(),
      handOff: async () => undefined,
      ownership: DEFAULT_OWNERSHIP,
    };
    await runHealthAudit(audit, spec, memory);
    const before = fleet.calls().total;
    const runs = 10;
    for (let i = 0; i < runs; i++) await runHealthAudit(audit, spec, memory);
    const perLb = (fleet.calls().total - before) / runs / 10;
    rows.push(['health audit, steady state, 10 LBs', `${perLb.toFixed(2)} calls per load balancer per run`]);
    memory.lastDriftAt = undefined;
    const d0 = fleet.calls().total;
    await runHealthAudit(audit, spec, memory);
    rows.push([
      '  with the drift reads (every 15 min)',
      `${((fleet.calls().total - d0) / 10).toFixed(2)} calls per load balancer`,
    ]);
  } finally {
    await fleet.close();
  }

  // 6. Bundle sizes: one OpenAPI core for SLB and CAS.
  const core = await bundleBytes(`import * as m from '@alicloud/openapi-client'; console.log(m);`);
  const ours = await bundleBytes(
    `import { createCloud } from './shared/cloud/index'; console.log(createCloud);`,
  );
  const cas1 = await bundleBytes(
    `import * as m from '@alicloud/openapi-client'; import * as c from '@alicloud/cas20200407'; console.log(m, c);`,
  );
  const cas3 = await bundleBytes(
    `import * as m from '@alicloud/openapi-client'; import * as c from '@alicloud/cas20200407-v3'; console.log(m, c);`,
  );
  const kb = (n: number) => `${(n / 1024).toFixed(0)} KiB`;
  rows.push(['bundle: openapi-client alone', kb(core)]);
  rows.push(['bundle: our cloud layer (SLB + CAS, one core)', kb(ours)]);
  rows.push(['bundle: openapi-client + cas20200407 1.x', kb(cas1)]);
  rows.push(['bundle: openapi-client + cas20200407 3.x', kb(cas3)]);
  for (const f of await buildFunctions({ functionsDir: 'functions', outDir: 'dist' }))
    rows.push([`bundle: dist/${f.name}/index.js`, kb(f.bytes)]);

  const width = Math.max(...rows.map(([k]) => k.length));
  for (const [k, v] of rows) console.log(`${k.padEnd(width)}  ${v}`);
  for (const run of Object.values(CASES)) printRows(await run());
}

main().catch((err: unknown) => {
  console.error(`bench: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
