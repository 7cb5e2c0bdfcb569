// `npm run demo`: a scripted story on the local stack, with a readable timeline and an HTML report
// (.local/demo/report.html) charting weights and health over time:
//   1. provision: one authenticated apply brings the mall in line with its spec (a drifted weight and
//      health check repaired, a new HTTP listener created)
//   2. rotate the expiring certificates (listener and extension domain), verified by TLS: issued by the
//      local ACME server (Pebble, DNS-01 on the local Alibaba Cloud DNS) when it is installed, else the
//      renewed certificate waiting in CAS
//   3. kill the K8S backend: the local cloud's health checks see it, the audit hands it to failover
//   4. watch the failover: ECS carries the traffic
//   5. bring K8S back: after failbackAfter (30 s in the demo's spec) the audit fails back
// The audit's timer fires every 2 s here (every minute when deployed). Steps whose function is not built
// are reported as not available. Exits 1 if any step fails.

import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { fetchServedCertificate } from '../../shared/cloud/tls-probe';
import type { RenewalReport } from '../../shared/workflows/cert-renewal';
import { pebbleInstalled } from '../local-cloud/acme/pebble';
import { connectLocalCloud } from '../local-cloud/connect';
import { MALL } from '../local-cloud/scenarios/mall-fixture';
import { callProvision } from '../remote';
import { ROOT, type Stack, startStack } from '../stack';
import { renderReport, type Sample, type StepRecord } from './report';

const K8S = `${MALL.k8s.serverId}:${MALL.k8s.port}`;
const ECS = `${MALL.ecs.serverId}:${MALL.ecs.port}`;

/** An error answer of the provisioning API in words: its message, or the action that failed and why. */
export function answerText(body: unknown): string {
  if (typeof body === 'string') return body.slice(0, 300);
  const b = (body ?? {}) as {
    error?: unknown;
    message?: unknown;
    failed?: { action?: { description?: string } | string; description?: string; error?: string };
  };
  const failed = b.failed;
  if (failed) {
    const what =
      typeof failed.action === 'string' ? failed.action : (failed.action?.description ?? failed.description);
    return `${what ?? 'an action'} failed: ${failed.error ?? 'no reason given'}`;
  }
  if (typeof b.error === 'string') return b.error;
  if (typeof b.message === 'string') return b.message;
  return 'no readable reason in the answer';
}

/**
 * The demo's spec; with an ACME directory, the 443 listener and its extension domain take their
 * certificates from it. That is the functions' deployed spec only: the provisioning API refuses `acme`
 * sources (a caller must not point the function at a CA), so the apply over HTTP sends the CAS variant.
 */
function demoSpec(mallYaml: string, acmeDirectoryUrl?: string): string {
  const s = parse(mallYaml);
  s.failover.failbackAfter = '30s';
  s.loadBalancers[0].listeners.push({ protocol: 'http', port: 8080, vServerGroup: 'mall-backends' });
  if (acmeDirectoryUrl) {
    const https = s.loadBalancers[0].listeners[0];
    https.certificate = { acme: { directory: acmeDirectoryUrl } };
    https.extensionDomains[0].certificate = { acme: { directory: acmeDirectoryUrl } };
  }
  return stringify(s);
}

export interface DemoResult {
  steps: StepRecord[];
  samples: Sample[];
  reportPath: string;
  ok: boolean;
}

interface RotationRef {
  reference: string;
  action: string;
  before: { expires?: string };
  after?: { expires?: string };
}

const expiryChange = (x: RotationRef) =>
  `${x.reference.split(':').slice(1).join(':')}: ${x.before.expires?.slice(0, 10)} -> ${x.after?.expires?.slice(0, 10)}`;

/** One run of the story: the stack, the timeline so far, and the chart's samples. */
class DemoRun {
  readonly steps: StepRecord[] = [];
  readonly samples: Sample[] = [];
  private readonly t0 = Date.now();
  private stack: Stack | undefined;
  private killedAt = 0;

  constructor(
    private readonly print: (line: string) => void,
    private readonly mallYaml: string,
  ) {}

  at(): number {
    return Date.now() - this.t0;
  }

  private get s(): Stack {
    if (!this.stack) throw new Error('demo: the stack is not running');
    return this.stack;
  }

  async start(withAcme: boolean): Promise<void> {
    this.print('slb-autopilot demo: starting the local stack ...');
    this.stack = await startStack({
      cloudPort: 0,
      backendPorts: { k8s: 0, ecs: 0 },
      timers: 'manual',
      healthChecks: 'auto',
      acme: withAcme,
      specText: ({ acmeDirectoryUrl }) => demoSpec(this.mallYaml, acmeDirectoryUrl),
      env: { SLB_AUTOPILOT_VERIFY_DELAY_MS: '200', SLB_AUTOPILOT_DRIFT_EVERY_MS: '600000' },
    });
    this.print(`  local cloud ${this.s.cloud.url}, provision ${this.s.provisionUrl ?? '(not built)'}`);
  }

  async close(): Promise<void> {
    await this.stack?.runtime.idle().catch(() => undefined);
    await this.stack?.close();
  }

  async sample(): Promise<void> {
    if (!this.stack) return;
    const state = this.stack.cloud.state();
    const group = state.vServerGroups.find((g) => g.vServerGroupId === MALL.vServerGroup.vServerGroupId);
    this.samples.push({
      atMs: this.at(),
      backends: Object.fromEntries(
        (group?.backendServers ?? []).map((b) => [
          `${b.description ?? b.serverId}`,
          { weight: b.weight, health: state.backendHealth[`${b.serverId}:${b.port}`] ?? 'normal' },
        ]),
      ),
    });
  }

  /** Runs one step of the timeline; false when it failed. A step of a function not built is skipped. */
  async step(title: string, fn: string | undefined, body: () => Promise<string>): Promise<boolean> {
    const startedMs = this.at();
    const built = !fn || this.stack?.runtime.functions().find((f) => f.resource === fn)?.built;
    if (!built) {
      this.steps.push({
        title,
        status: 'not available',
        detail: `${fn} is not built`,
        startedMs,
        durationMs: 0,
      });
      this.print(`  -    ${title}: not available (${fn} is not built)`);
      return true;
    }
    try {
      const detail = await body();
      const durationMs = this.at() - startedMs;
      this.steps.push({ title, status: 'ok', detail, startedMs, durationMs });
      this.print(`  ok   ${title} (${(durationMs / 1000).toFixed(1)} s): ${detail}`);
      return true;
    } catch (err) {
      const durationMs = this.at() - startedMs;
      const detail = err instanceof Error ? err.message : String(err);
      this.steps.push({ title, status: 'failed', detail, startedMs, durationMs });
      this.print(`  FAIL ${title} (${(durationMs / 1000).toFixed(1)} s): ${detail}`);
      return false;
    }
  }

  weights(): Record<string, number> {
    const g = this.stack?.cloud
      .state()
      .vServerGroups.find((x) => x.vServerGroupId === MALL.vServerGroup.vServerGroupId);
    return Object.fromEntries((g?.backendServers ?? []).map((b) => [`${b.serverId}:${b.port}`, b.weight]));
  }

  async waitFor(what: string, ok: () => boolean, timeoutMs: number): Promise<void> {
    const until = Date.now() + timeoutMs;
    while (!ok()) {
      if (Date.now() > until) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  api(method: 'GET' | 'POST', path: string, body?: string, contentType?: string) {
    return callProvision({
      url: this.s.provisionUrl ?? '',
      secret: this.s.apiSecret,
      method,
      path,
      ...(body !== undefined ? { body } : {}),
      ...(contentType ? { contentType } : {}),
    });
  }

  /** Someone changed the mall by hand: the standby's weight and the health-check interval drifted. */
  async drift(): Promise<void> {
    const layer = connectLocalCloud(this.s.cloud);
    await layer.slb.setVServerGroupAttribute({
      regionId: MALL.regionId,
      vServerGroupId: MALL.vServerGroup.vServerGroupId,
      backendServers: [{ serverId: MALL.ecs.serverId, port: MALL.ecs.port, weight: 30 }],
    });
    await layer.slb.setHttpsListenerAttribute({
      regionId: MALL.regionId,
      loadBalancerId: MALL.loadBalancerId,
      listenerPort: 443,
      healthCheck: { interval: 9 },
    });
  }

  async provision(specText: string): Promise<string> {
    const plan = await this.api('POST', 'plan', specText, 'application/yaml');
    const actions = (plan.body as { actions?: { description: string }[] }).actions ?? [];
    if (plan.status !== 200) throw new Error(`plan answered ${plan.status}`);
    const apply = await this.api('POST', 'apply', specText, 'application/yaml');
    if (apply.status !== 200) throw new Error(`apply answered ${apply.status}: ${answerText(apply.body)}`);
    const again = await this.api('POST', 'plan', specText, 'application/yaml');
    const left = (again.body as { actions: unknown[] }).actions.length;
    if (left !== 0) throw new Error(`a second plan still has ${left} actions`);
    return `${actions.length} actions planned and applied (${actions.map((a) => a.description.replace(/^[^:]+: /, '')).join('; ')}); a second plan is empty`;
  }

  async rotateByAcme(): Promise<string> {
    const r = await this.s.runtime.invoke('cert-renewal', { source: 'timer' });
    const refs = (r.result as { report?: RenewalReport }).report?.references ?? [];
    if (refs.length === 0 || refs.some((x) => x.action !== 'rotated'))
      throw new Error(`renewal: ${refs.map((x) => `${x.reference} ${x.action}`).join(', ') || 'no report'}`);
    const fe = (await this.s.cloud.frontEnds()).find((f) => f.listenerPort === 443);
    const issuers = await Promise.all(
      [MALL.https.domains[0], MALL.extensionDomain.domain].map(
        async (servername) =>
          (await fetchServedCertificate({ host: fe?.host ?? '', port: fe?.port ?? 0, servername })).issuerCN,
      ),
    );
    if (!issuers.every((i) => /^Pebble/.test(i ?? '')))
      throw new Error(`served certificates are from ${issuers.join(', ')}, not the ACME server`);
    const left = this.s.cloud.state().dnsRecords.filter((x) => x.rr.startsWith('_acme-challenge')).length;
    return `${refs.map((x) => expiryChange(x as RotationRef)).join('; ')}; served by the front end, issued by ${issuers[0]} (TLS handshakes); ${left} challenge records left`;
  }

  async rotateByCas(): Promise<string> {
    const r = await this.api('POST', 'rotate', '{}', 'application/json');
    const refs = (r.body as { references?: RotationRef[] }).references ?? [];
    if (r.status !== 200 || refs.some((x) => x.action !== 'rotated'))
      throw new Error(
        `rotate answered ${r.status}: ${refs.map((x) => `${x.reference} ${x.action}`).join(', ')}`,
      );
    return refs.map((x) => `${expiryChange(x)}, served (TLS handshake)`).join('; ');
  }

  async killK8s(): Promise<string> {
    const s = this.s;
    // Both backends checked healthy first, so the kill is seen through the unhealthy threshold.
    await this.waitFor(
      'the first health checks',
      () =>
        s.cloud.state().backendHealth[K8S] === 'normal' && s.cloud.state().backendHealth[ECS] === 'normal',
      15_000,
    );
    await new Promise((r) => setTimeout(r, 2500));
    await s.backends.k8s.kill();
    this.killedAt = Date.now();
    await this.waitFor(
      'the health check to mark K8S abnormal',
      () => s.cloud.state().backendHealth[K8S] === 'abnormal',
      30_000,
    );
    return `connections refused; the local cloud's health check marked it abnormal after ${((Date.now() - this.killedAt) / 1000).toFixed(1)} s (interval 2 s, threshold 3)`;
  }

  async watchFailover(): Promise<string> {
    await this.waitFor(
      'ECS to carry the traffic',
      () => this.weights()[ECS] === 100 && this.weights()[K8S] === 0,
      30_000,
    );
    return `the audit handed the group to failover (fc2, async): K8S 0, ECS 100, ${((Date.now() - this.killedAt) / 1000).toFixed(1)} s after the kill`;
  }

  async failback(): Promise<string> {
    const s = this.s;
    await s.backends.k8s.revive();
    const revivedAt = Date.now();
    await this.waitFor(
      'the health check to see K8S again',
      () => s.cloud.state().backendHealth[K8S] === 'normal',
      30_000,
    );
    const healthyAfter = (Date.now() - revivedAt) / 1000;
    await this.waitFor(
      'the failback',
      () => this.weights()[K8S] === 100 && this.weights()[ECS] === 0,
      90_000,
    );
    return `healthy again after ${healthyAfter.toFixed(1)} s; failed back (K8S 100, ECS 0) ${((Date.now() - revivedAt) / 1000).toFixed(1)} s after the revival (failbackAfter 30 s)`;
  }

  /** The audit's timer, compressed: every 2 s. */
  auditEvery2s(): NodeJS.Timeout {
    return setInterval(
      () => void this.s.runtime.fireTimer('health-audit', 'every-minute').catch(() => undefined),
      2000,
    );
  }

  /** The timeline; false when a step failed (the rest are not run). */
  async story(specText: string, withAcme: boolean, timers: NodeJS.Timeout[]): Promise<boolean> {
    let ok = await this.step('provision the mall (plan, then one authenticated apply)', 'provision', () =>
      this.provision(specText),
    );
    if (withAcme)
      ok &&= await this.step(
        'rotate the expiring certificates: issued by the local ACME server (Pebble, DNS-01 on the local Alibaba Cloud DNS)',
        'cert-renewal',
        () => this.rotateByAcme(),
      );
    else
      ok &&= await this.step(
        'rotate the expiring certificates (listener and extension domain)',
        'provision',
        () => this.rotateByCas(),
      );
    timers.push(this.auditEvery2s());
    ok &&= await this.step('kill the K8S backend', undefined, () => this.killK8s());
    ok &&= await this.step('watch the failover', 'health-audit', () => this.watchFailover());
    ok &&= await this.step('bring K8S back and watch the failback', 'failover', () => this.failback());
    return ok;
  }

  writeReport(reportPath: string): void {
    mkdirSync(join(reportPath, '..'), { recursive: true });
    writeFileSync(
      reportPath,
      renderReport({
        title: 'slb-autopilot demo: the mall',
        startedAt: new Date(this.t0).toISOString(),
        steps: this.steps,
        samples: this.samples,
      }),
    );
  }
}

export async function runDemo(
  options: { out?: string; print?: (line: string) => void } = {},
): Promise<DemoResult> {
  const print = options.print ?? ((line: string) => console.log(line));
  const mallYaml = readFileSync(join(ROOT, 'examples', 'mall.yaml'), 'utf8');
  const specText = demoSpec(mallYaml);
  // Certificates issued for real by a local ACME server when the Debian package is there.
  const withAcme = pebbleInstalled();
  const run = new DemoRun(print, mallYaml);
  const timers: NodeJS.Timeout[] = [];
  try {
    await run.start(withAcme);
    timers.push(setInterval(() => void run.sample(), 500));
    await run.sample();
    await run.drift();
    print('timeline:');
    const ok = await run.story(specText, withAcme, timers);
    await run.sample();
    const reportPath = options.out ?? join(ROOT, '.local', 'demo', 'report.html');
    run.writeReport(reportPath);
    const failed = run.steps.filter((x) => x.status === 'failed').length;
    print(
      `${run.steps.length} steps, ${failed} failed, ${(run.at() / 1000).toFixed(1)} s; report: ${reportPath}`,
    );
    return { steps: run.steps, samples: run.samples, reportPath, ok: ok && failed === 0 };
  } finally {
    for (const t of timers) clearInterval(t);
    await run.close();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  runDemo().then(
    (r) => process.exit(r.ok ? 0 : 1),
    (err: unknown) => {
      console.error(`demo: ${err instanceof Error ? err.message : String(err)}`);
      process.exit(1);
    },
  );
}
