// The demo's HTML report: one self-contained file (inline CSS and SVG, no scripts, nothing fetched)
// with the timeline of steps and a chart of each backend's weight and health over time, the steps
// marked on it.

export interface StepRecord {
  title: string;
  status: 'ok' | 'failed' | 'not available';
  /** what happened, in a sentence or two */
  detail: string;
  startedMs: number;
  durationMs: number;
}

export interface Sample {
  /** ms since the demo started */
  atMs: number;
  /** `serverId:port` -> weight and health */
  backends: Record<string, { weight: number; health: string }>;
}

export interface DemoReport {
  title: string;
  startedAt: string;
  steps: StepRecord[];
  samples: Sample[];
}

const escapeHtml = (s: string) =>
  s.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c,
  );

/** Line colours: none of them is a health colour, so a weight line never reads as "abnormal". */
const LINE_COLOURS = ['#1f5fbf', '#7b3fb5', '#0e8a9c', '#8c5a2b'];
export const HEALTH_COLOURS: Record<string, string> = {
  normal: '#3a9d4a',
  abnormal: '#d62728',
  unavailable: '#b0b4ba',
};
const healthColour = (h: string) => HEALTH_COLOURS[h] ?? HEALTH_COLOURS.unavailable ?? '#b0b4ba';

/** A tick every 1, 2, 5, 10, 15, 30 or 60 s: the smallest giving at most 12 ticks. */
export function tickEveryMs(spanMs: number): number {
  for (const s of [1, 2, 5, 10, 15, 30, 60, 120, 300]) if (spanMs / (s * 1000) <= 12) return s * 1000;
  return 600_000;
}

export interface ChartLayout {
  width: number;
  /** the plot's right edge: the legend starts beyond it */
  plotRight: number;
}

/**
 * Weight over time per backend (step lines) with the steps marked and numbered, time ticks, and under
 * the plot one labelled band per backend coloured by health. The legend sits in its own margin on the
 * right, outside the plot, so it never covers a line.
 */
export function weightChart(
  samples: readonly Sample[],
  o: { steps?: readonly Pick<StepRecord, 'title' | 'startedMs'>[]; width?: number } = {},
): string {
  const width = o.width ?? 960;
  const keys = [...new Set(samples.flatMap((s) => Object.keys(s.backends)))].sort();
  const legendW = 190;
  const pad = { left: 44, right: legendW + 12, top: 44 };
  const plotH = 170;
  const plotRight = width - pad.right;
  const bandH = 10;
  const bandGap = 8;
  const bandsTop = pad.top + plotH + 30;
  const height = bandsTop + keys.length * (bandH + bandGap) + 6;
  const last = samples.at(-1)?.atMs ?? 0;
  const span = Math.max(last, 1);
  const r = (n: number) => Math.round(n * 10) / 10;
  const x = (ms: number) => r(pad.left + (ms / span) * (plotRight - pad.left));
  const y = (w: number) => r(pad.top + (1 - w / 100) * plotH);
  const parts: string[] = [];
  const text = (px: number, py: number, t: string, attrs = '') =>
    `<text x="${px}" y="${py}" font-size="11" fill="#333"${attrs}>${escapeHtml(t)}</text>`;

  // Grid: weights 0, 50, 100, and a time tick with its label every few seconds.
  for (const w of [0, 50, 100])
    parts.push(
      `<line x1="${pad.left}" x2="${plotRight}" y1="${y(w)}" y2="${y(w)}" stroke="#e3e3e3"/>`,
      text(pad.left - 6, y(w) + 4, String(w), ' text-anchor="end"'),
    );
  parts.push(text(8, pad.top - 8, 'weight'));
  const every = tickEveryMs(span);
  for (let t = 0; t <= span; t += every)
    parts.push(
      `<line x1="${x(t)}" x2="${x(t)}" y1="${pad.top + plotH}" y2="${pad.top + plotH + 5}" stroke="#888"/>`,
      text(x(t), pad.top + plotH + 18, `${t / 1000} s`, ' text-anchor="middle" class="tick"'),
    );

  // Step markers: a dashed line where each step started, numbered as in the timeline below; a number
  // too close to the previous one goes one row up, so none covers another.
  let lastX = Number.NEGATIVE_INFINITY;
  let row = 0;
  (o.steps ?? []).forEach((st, i) => {
    const sx = x(Math.min(st.startedMs, span));
    row = sx - lastX < 18 ? 1 - row : 0;
    lastX = sx;
    const cy = pad.top - 12 - row * 19;
    parts.push(
      `<line x1="${sx}" x2="${sx}" y1="${cy + 8}" y2="${height - 4}" stroke="#777" stroke-dasharray="3,3" class="step-marker"><title>${escapeHtml(`${i + 1}. ${st.title}`)}</title></line>`,
      `<circle cx="${sx}" cy="${cy}" r="8" fill="#fff" stroke="#777"/>`,
      text(sx, cy + 4, String(i + 1), ' text-anchor="middle" font-weight="600"'),
    );
  });

  keys.forEach((key, i) => {
    const colour = LINE_COLOURS[i % LINE_COLOURS.length] ?? '#000';
    // A step line: hold each weight until the sample where it changes.
    const points = samples.flatMap((s) => {
      const b = s.backends[key];
      return b ? [{ x: x(s.atMs), y: y(b.weight) }] : [];
    });
    let d = '';
    points.forEach((p, j) => {
      const prev = points[j - 1];
      if (!prev) d = `M${p.x},${p.y}`;
      else if (p.y !== prev.y) d += `H${p.x}V${p.y}`;
      else if (j === points.length - 1) d += `H${p.x}`;
    });
    parts.push(
      `<path d="${d}" fill="none" stroke="${colour}" stroke-width="2.5"><title>${escapeHtml(key)} weight</title></path>`,
    );
    // Its health band, labelled in the right margin.
    const by = bandsTop + i * (bandH + bandGap);
    parts.push(text(plotRight + 12, by + bandH - 1, `${key} health`, ' class="band-label"'));
    samples.forEach((s, j) => {
      const b = s.backends[key];
      const next = samples[j + 1]?.atMs ?? s.atMs;
      if (!b || next <= s.atMs) return;
      parts.push(
        `<rect x="${x(s.atMs)}" y="${by}" width="${Math.max(r(x(next) - x(s.atMs)), 0.5)}" height="${bandH}" fill="${healthColour(b.health)}"><title>${escapeHtml(key)}: ${escapeHtml(b.health)}</title></rect>`,
      );
    });
    // Legend, in the right margin.
    const ly = pad.top + 4 + i * 18;
    parts.push(
      `<line x1="${plotRight + 12}" x2="${plotRight + 32}" y1="${ly}" y2="${ly}" stroke="${colour}" stroke-width="3" class="legend"/>`,
      text(plotRight + 38, ly + 4, `${key} weight`),
    );
  });
  const hy = pad.top + 8 + keys.length * 18;
  Object.entries(HEALTH_COLOURS).forEach(([h, c], j) => {
    parts.push(
      `<rect x="${plotRight + 12}" y="${hy + j * 16}" width="20" height="9" fill="${c}" class="legend"/>`,
      text(plotRight + 38, hy + j * 16 + 9, `health: ${h}`),
    );
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="weights and health over time" data-plot-right="${plotRight}">${parts.join('')}</svg>`;
}

export function renderReport(r: DemoReport): string {
  const rows = r.steps
    .map(
      (s, i) =>
        `<tr class="${s.status === 'ok' ? 'ok' : s.status === 'failed' ? 'failed' : 'na'}"><td>${i + 1}</td><td>${escapeHtml(s.title)}</td><td>${escapeHtml(s.status)}</td><td>${(s.startedMs / 1000).toFixed(1)} s</td><td>${(s.durationMs / 1000).toFixed(2)} s</td><td>${escapeHtml(s.detail)}</td></tr>`,
    )
    .join('\n');
  const failed = r.steps.filter((s) => s.status === 'failed').length;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(r.title)}</title>
<style>
body{font:14px/1.45 system-ui,sans-serif;margin:2em;color:#222}
table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #eee;padding:4px 8px;text-align:left;vertical-align:top}
tr.failed td{background:#fde8e8}td:nth-child(4),td:nth-child(5){white-space:nowrap}tr.na td{color:#888}.summary{font-weight:600}
</style></head><body>
<h1>${escapeHtml(r.title)}</h1>
<p class="summary">Started ${escapeHtml(r.startedAt)}: ${r.steps.length} steps, ${failed} failed, ${r.steps.filter((s) => s.status === 'not available').length} not available.</p>
<h2>Weights and health over time</h2>
${weightChart(r.samples, { steps: r.steps })}
<p>Lines: each backend's weight (0-100). Numbered dashed lines: where each step of the timeline began. Bands under the time axis: each backend's health as the load balancer reports it.</p>
<h2>Timeline</h2>
<table><thead><tr><th>#</th><th>step</th><th>result</th><th>at</th><th>took</th><th>what happened</th></tr></thead>
<tbody>
${rows}
</tbody></table>
</body></html>
`;
}
