// The demo's HTML report: self-contained, escaped, the chart following the samples.
import { describe, expect, it } from 'vitest';
import { renderReport, type Sample, weightChart } from '../../../scripts/demo/report';

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
    const svg = weightChart(samples, 148, 100);
    // x spans 48..132 over 10 s (8 s is at 115.2); y: weight 100 at 16, weight 0 at 16 + 28.
    expect(svg).toContain('<path d="M48,44H115.2V16H132"');
    expect(svg).toContain('<path d="M48,16H115.2V44H132"');
    expect(svg.match(/fill="#d62728"><title>k8s:30250: abnormal/g)).toHaveLength(2);
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
});
