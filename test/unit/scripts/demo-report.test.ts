// The demo's HTML report: self-contained, escaped, the chart following the samples.
import { describe, expect, it } from 'vitest';
import { answerText } from '../../../scripts/demo/index';
import {
  HEALTH_COLOURS,
  renderReport,
  type Sample,
  tickEveryMs,
  weightChart,
} from '../../../scripts/demo/report';

const samples: Sample[] = [
  {
    atMs: 0,
    backends: { 'k8s:30250': { weight: 100, health: 'normal' }, 'ecs:8050': { weight: 0, health: 'normal' } },
  },
  {
    atMs: 5000,
    backends: {
      'k8s:30250': { weight: 100, health: 'abnormal' },
      'ecs:8050': { weight: 0, health: 'normal' },
    },
  },
  {
    atMs: 8000,
    backends: {
      'k8s:30250': { weight: 0, health: 'abnormal' },
      'ecs:8050': { weight: 100, health: 'normal' },
    },
  },
  {
    atMs: 10000,
    backends: {
      'k8s:30250': { weight: 0, health: 'abnormal' },
      'ecs:8050': { weight: 100, health: 'normal' },
    },
  },
];

describe('demo report', () => {
  it('draws one step line per backend that changes level where the weight changes', () => {
    const svg = weightChart(samples, { width: 446 });
    // The plot spans x 44..244 over 10 s (8 s at 204); y: weight 100 at 44, weight 0 at 214.
    expect(svg).toContain('<path d="M44,214H204V44H244"');
    expect(svg).toContain('<path d="M44,44H204V214H244"');
    expect(svg.match(/fill="#d62728"><title>k8s:30250: abnormal/g)).toHaveLength(2);
  });

  it('labels the health bands, ticks the time, marks the steps, and keeps the legend off the plot', () => {
    const svg = weightChart(samples, {
      steps: [
        { title: 'kill K8S', startedMs: 4000 },
        { title: 'watch the failover', startedMs: 6000 },
      ],
    });
    expect(svg).toMatch(/class="band-label">ecs:8050 health<\/text>/);
    expect(svg).toMatch(/class="band-label">k8s:30250 health<\/text>/);
    expect([...svg.matchAll(/class="tick">([^<]+)</g)].map((m) => m[1])).toEqual([
      '0 s',
      '1 s',
      '2 s',
      '3 s',
      '4 s',
      '5 s',
      '6 s',
      '7 s',
      '8 s',
      '9 s',
      '10 s',
    ]);
    expect(svg.match(/class="step-marker"><title>/g)).toHaveLength(2);
    expect(svg).toContain('<title>2. watch the failover</title>');
    const plotRight = Number(/data-plot-right="(\d+)"/.exec(svg)?.[1]);
    const legendXs = [...svg.matchAll(/<(?:line|rect) x1?="([\d.]+)"[^>]*class="legend"/g)].map((m) =>
      Number(m[1]),
    );
    expect(legendXs.length).toBeGreaterThan(0);
    for (const lx of legendXs) expect(lx).toBeGreaterThan(plotRight);
    // No weight line is drawn in a health colour.
    const strokes = [...svg.matchAll(/<path d="[^"]*" fill="none" stroke="([^"]+)"/g)].map((m) => m[1]);
    for (const c of Object.values(HEALTH_COLOURS)) expect(strokes).not.toContain(c);
  });

  it('picks a readable tick interval for longer runs', () => {
    expect(tickEveryMs(45_000)).toBe(5000);
    expect(tickEveryMs(150_000)).toBe(15_000);
  });

  it('is one self-contained page with escaped text and a count of failed steps', () => {
    const html = renderReport({
      title: 'demo <mall>',
      startedAt: '2026-11-24T12:00:00Z',
      samples,
      steps: [
        { title: 'provision', status: 'ok', detail: '7 actions', startedMs: 0, durationMs: 120 },
        {
          title: 'rotate',
          status: 'not available',
          detail: 'cert-renewal is not built',
          startedMs: 200,
          durationMs: 0,
        },
        {
          title: 'failover',
          status: 'failed',
          detail: 'weights <unchanged>',
          startedMs: 300,
          durationMs: 9000,
        },
      ],
    });
    expect(html).toContain('<title>demo &lt;mall&gt;</title>');
    expect(html).toContain('3 steps, 1 failed, 1 not available');
    expect(html).toContain('weights &lt;unchanged&gt;');
    expect(html).not.toMatch(/<script|src=|href=/);
  });

  it('says why the provisioning API refused, in words rather than its JSON', () => {
    expect(
      answerText({
        failed: { action: { kind: 'x', description: 'mall: create HTTP 8080' }, error: 'Forbidden.RAM' },
      }),
    ).toBe('mall: create HTTP 8080 failed: Forbidden.RAM');
    expect(answerText({ error: 'spec: loadBalancers: required' })).toBe('spec: loadBalancers: required');
    expect(answerText({ something: 1 })).toBe('no readable reason in the answer');
  });
});
