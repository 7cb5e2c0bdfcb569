// The live status page in a real headless browser (Debian's Chromium, driven by playwright-core): it
// loads, shows the mall (listeners, certificates with the served fingerprint, backends, the active pool),
// and after K8S is killed through the backend control surface it shows the shift to ECS within one
// update, with the failover in its events. Not skipped when Chromium is missing: it fails saying so.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MALL } from '../../scripts/local-cloud/scenarios/mall-fixture';
import { type Stack, startStack } from '../../scripts/stack';

const CHROMIUM = '/usr/bin/chromium';
const UPDATE_MS = 1000;
const K8S = `${MALL.k8s.serverId}:${MALL.k8s.port}`;
const ECS = `${MALL.ecs.serverId}:${MALL.ecs.port}`;

let stack: Stack;
let context: BrowserContext;
let page: Page;
const profile = mkdtempSync(join(tmpdir(), 'slbap-chromium-'));

beforeAll(async () => {
  if (!existsSync(CHROMIUM))
    throw new Error(
      `Chromium is not installed at ${CHROMIUM}: the status page test needs it (apt-get install -y chromium; .ci/run installs it)`,
    );
  stack = await startStack({
    cloudPort: 0,
    backendPorts: { k8s: 0, ecs: 0 },
    timers: 'manual',
    // Health checks and status reads happen when the test says: the page is checked one read after
    // each event, on any machine, instead of within so many seconds of it.
    healthChecks: 'manual',
    live: { intervalMs: UPDATE_MS, reads: 'manual' },
    env: { SLB_AUTOPILOT_VERIFY_DELAY_MS: '50' },
  });
  context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    viewport: { width: 1100, height: 1000 },
  });
  page = context.pages()[0] ?? (await context.newPage());
}, 90_000);

afterAll(async () => {
  await context?.close();
  await stack?.close();
  rmSync(profile, { recursive: true, force: true });
});

const weights = () =>
  Object.fromEntries(
    (stack.cloud.state().vServerGroups[0]?.backendServers ?? []).map((b) => [
      `${b.serverId}:${b.port}`,
      b.weight,
    ]),
  );

function monitor(): NonNullable<Stack['monitor']> {
  if (!stack.monitor) throw new Error('the stack runs no monitor');
  return stack.monitor;
}

describe('the live status page', () => {
  it('shows the mall: listeners, certificates as served, backends, the active pool', {
    timeout: 60_000,
  }, async () => {
    await page.goto(stack.statusPage?.url ?? '');
    const mall = page.locator('section[data-lb="mall"]');
    await mall.waitFor();
    await expect(mall.locator('h2').textContent()).resolves.toContain(MALL.loadBalancerId);
    const text = (await mall.textContent()) ?? '';
    expect(text).toContain('HTTPS 443');
    expect(text).toContain('www.mall.example.com');
    expect(text).toMatch(/expires \d{4}-\d\d-\d\d \(\d+ days left\)/);
    expect(text).toContain('m.mall.example.com');
    // The front end was asked which certificate it serves: the one SLB says is bound.
    await page.locator('text=served = bound').first().waitFor({ timeout: 10_000 });
    await page.locator('tr[data-backend="k8s-nodeport"][data-weight="100"]').waitFor();
    await page.locator('tr[data-backend="ecs-standby"][data-weight="0"]').waitFor();
    await page.locator('[data-active-pool="primary"]').waitFor();
    expect(await page.locator('svg[aria-label="weight and health over the last minutes"]').count()).toBe(1);
  });

  it('shows the shift to ECS within one update after K8S is killed', { timeout: 90_000 }, async () => {
    await stack.cloud.tickHealth();
    expect(stack.cloud.state().backendHealth[K8S]).toBe('normal');
    const res = await fetch(`${stack.control.url}/_standins/k8s-nodeport/kill`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    expect(res.status).toBe(200);
    for (let i = 0; i < MALL.healthCheck.unhealthyThreshold; i++) await stack.cloud.tickHealth();
    expect(stack.cloud.state().backendHealth[K8S]).toBe('abnormal');
    await monitor().tick();
    await page.locator('tr[data-backend="k8s-nodeport"][data-health="abnormal"]').waitFor();
    // The audit's minute, now: it hands the group to failover, which shifts the weights.
    await stack.runtime.fireTimer('health-audit', 'every-minute');
    await stack.runtime.idle();
    expect(weights()).toEqual({ [K8S]: 0, [ECS]: 100 });
    // One read later the page shows it: pushed to the open page, not reloaded.
    await monitor().tick();
    await page.locator('tr[data-backend="ecs-standby"][data-weight="100"]').waitFor();
    await page.locator('tr[data-backend="k8s-nodeport"][data-weight="0"]').waitFor();
    await page.locator('[data-active-pool="standby"]').waitFor();
    const failover = page.locator('li[data-kind="failover"]');
    await failover.waitFor();
    expect(await failover.textContent()).toMatch(
      /mall\/mall-backends: shifted to the standby pool \(k8s-nodeport 0, ecs-standby 100\).*primary is down/,
    );
    if (process.env.SLB_AUTOPILOT_SCREENSHOT)
      await page.screenshot({ path: process.env.SLB_AUTOPILOT_SCREENSHOT, fullPage: true });
  });
});
