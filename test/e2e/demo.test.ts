// `npm run demo` end to end (about 45 s of real time: real health checks, a real failback delay): every
// step succeeds (the rotation issued by the local ACME server) and the report is one self-contained page with the timeline and the weight chart.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runDemo } from '../../scripts/demo/index';

const dir = mkdtempSync(join(tmpdir(), 'slbap-demo-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('npm run demo', () => {
  it('provisions, rotates, fails over and back, and writes its report', { timeout: 180_000 }, async () => {
    const lines: string[] = [];
    const r = await runDemo({ out: join(dir, 'report.html'), print: (l) => lines.push(l) });
    expect(r.steps.map((s) => [s.title.split(' ')[0], s.status])).toEqual([
      ['provision', 'ok'],
      ['rotate', 'ok'],
      ['kill', 'ok'],
      ['watch', 'ok'],
      ['bring', 'ok'],
    ]);
    expect(r.ok).toBe(true);
    // The certificates came from the local ACME server (Pebble), not from CAS.
    expect(r.steps[1]?.detail).toMatch(/issued by Pebble Intermediate CA/);
    expect(r.steps[1]?.detail).toMatch(/0 challenge records left/);
    // The chart saw K8S carry the traffic, then ECS, then K8S again.
    const k8sWeights = r.samples.map((s) => s.backends['k8s-nodeport']?.weight);
    const firstZero = k8sWeights.indexOf(0);
    expect(firstZero).toBeGreaterThan(0);
    expect(k8sWeights.slice(firstZero).includes(100)).toBe(true);
    const html = readFileSync(r.reportPath, 'utf8');
    expect(html).toContain('5 steps, 0 failed, 0 not available');
    expect(html).toContain('<svg');
    expect(lines.at(-1)).toMatch(/^5 steps, 0 failed/);
  });
});
