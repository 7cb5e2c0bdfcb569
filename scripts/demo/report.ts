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

/** Where things go on the chart: sizes, and the time and weight scales. */
interface ChartGeometry {
  width: number;
  height: number;
  keys: string[];
  left: number;
  top: number;
  plotH: number;
  plotRight: number;
  bandH: number;
  bandGap: number;
  bandsTop: number;
  span: number;
  x(ms: number): number;
  y(weight: number): number;
}

const round1 = (n: number) => Math.round(n * 10) / 10;

function chartGeometry(samples: readonly Sample[], width: number): ChartGeometry {
  const keys = [...new Set(samples.flatMap((s) => Object.keys(s.backends)))].sort();
  const legendW = 190;
  const pad = { left: 44, right: legendW + 12, top: 44 };
  const plotH = 170;
  const plotRight = width - pad.right;
  const bandH = 10;
  const bandGap = 8;
  const bandsTop = pad.top + plotH + 30;
  const span = Math.max(samples.at(-1)?.atMs ?? 0, 1);
  return {
    width,
    height: bandsTop + keys.length * (bandH + bandGap) + 6,
    keys,
    left: pad.left,
    top: pad.top,
    plotH,
    plotRight,
    bandH,
    bandGap,
    bandsTop,
    span,
    x: (ms) => round1(pad.left + (ms / span) * (plotRight - pad.left)),
    y: (w) => round1(pad.top + (1 - w / 100) * plotH),
  };
}

const svgText = (px: number, py: number, t: string, attrs = '') =>
  `<text x="${px}" y="${py}" font-size="11" fill="#333"${attrs}>${escapeHtml(t)}</text>`;

/** Grid: weights 0, 50, 100, and a time tick with its label every few seconds. */
function gridParts(g: ChartGeometry): string[] {
  const parts: string[] = [];
  for (const w of [0, 50, 100])
    parts.push(
      `<line x1="${g.left}" x2="${g.plotRight}" y1="${g.y(w)}" y2="${g.y(w)}" stroke="#e3e3e3"/>`,
      svgText(g.left - 6, g.y(w) + 4, String(w), ' text-anchor="end"'),
    );
  parts.push(svgText(8, g.top - 8, 'weight'));
  const every = tickEveryMs(g.span);
  const axis = g.top + g.plotH;
  for (let t = 0; t <= g.span; t += every)
    parts.push(
      `<line x1="${g.x(t)}" x2="${g.x(t)}" y1="${axis}" y2="${axis + 5}" stroke="#888"/>`,
      svgText(g.x(t), axis + 18, `${t / 1000} s`, ' text-anchor="middle" class="tick"'),
    );
  return parts;
}

/**
 * Step markers: a dashed line where each step started, numbered as in the timeline below; a number too
 * close to the previous one goes one row up, so none covers another.
 */
function stepMarkerParts(
  g: ChartGeometry,
  steps: readonly Pick<StepRecord, 'title' | 'startedMs'>[],
): string[] {
  let lastX = Number.NEGATIVE_INFINITY;
  let row = 0;
  return steps.flatMap((st, i) => {
    const sx = g.x(Math.min(st.startedMs, g.span));
    row = sx - lastX < 18 ? 1 - row : 0;
    lastX = sx;
    const cy = g.top - 12 - row * 19;
    return [
      `<line x1="${sx}" x2="${sx}" y1="${cy + 8}" y2="${g.height - 4}" stroke="#777" stroke-dasharray="3,3" class="step-marker"><title>${escapeHtml(`${i + 1}. ${st.title}`)}</title></line>`,
      `<circle cx="${sx}" cy="${cy}" r="8" fill="#fff" stroke="#777"/>`,
      svgText(sx, cy + 4, String(i + 1), ' text-anchor="middle" font-weight="600"'),
    ];
  });
}

/** A step line: hold each weight until the sample where it changes. */
function weightPath(g: ChartGeometry, samples: readonly Sample[], key: string): string {
  const points = samples.flatMap((s) => {
    const b = s.backends[key];
    return b ? [{ x: g.x(s.atMs), y: g.y(b.weight) }] : [];
  });
  let d = '';
  points.forEach((p, j) => {
    const prev = points[j - 1];
    if (!prev) d = `M${p.x},${p.y}`;
    else if (p.y !== prev.y) d += `H${p.x}V${p.y}`;
    else if (j === points.length - 1) d += `H${p.x}`;
  });
  return d;
}

/** One backend: its weight line, its health band labelled in the right margin, its legend entry. */
function backendParts(g: ChartGeometry, samples: readonly Sample[], key: string, i: number): string[] {
  const colour = LINE_COLOURS[i % LINE_COLOURS.length] ?? '#000';
  const parts = [
    `<path d="${weightPath(g, samples, key)}" fill="none" stroke="${colour}" stroke-width="2.5"><title>${escapeHtml(key)} weight</title></path>`,
  ];
  const by = g.bandsTop + i * (g.bandH + g.bandGap);
  parts.push(svgText(g.plotRight + 12, by + g.bandH - 1, `${key} health`, ' class="band-label"'));
  samples.forEach((s, j) => {
    const b = s.backends[key];
    const next = samples[j + 1]?.atMs ?? s.atMs;
    if (!b || next <= s.atMs) return;
    parts.push(
      `<rect x="${g.x(s.atMs)}" y="${by}" width="${Math.max(round1(g.x(next) - g.x(s.atMs)), 0.5)}" height="${g.bandH}" fill="${healthColour(b.health)}"><title>${escapeHtml(key)}: ${escapeHtml(b.health)}</title></rect>`,
    );
  });
  const ly = g.top + 4 + i * 18;
  parts.push(
    `<line x1="${g.plotRight + 12}" x2="${g.plotRight + 32}" y1="${ly}" y2="${ly}" stroke="${colour}" stroke-width="3" class="legend"/>`,
    svgText(g.plotRight + 38, ly + 4, `${key} weight`),
  );
  return parts;
}

function healthLegendParts(g: ChartGeometry): string[] {
  const hy = g.top + 8 + g.keys.length * 18;
  return Object.entries(HEALTH_COLOURS).flatMap(([h, c], j) => [
    `<rect x="${g.plotRight + 12}" y="${hy + j * 16}" width="20" height="9" fill="${c}" class="legend"/>`,
    svgText(g.plotRight + 38, hy + j * 16 + 9, `health: ${h}`),
  ]);
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
  const g = chartGeometry(samples, o.width ?? 960);
  const parts = [
    ...gridParts(g),
    ...stepMarkerParts(g, o.steps ?? []),
    ...g.keys.flatMap((key, i) => backendParts(g, samples, key, i)),
    ...healthLegendParts(g),
  ];
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${g.width}" height="${g.height}" viewBox="0 0 ${g.width} ${g.height}" role="img" aria-label="weights and health over time" data-plot-right="${g.plotRight}">${parts.join('')}</svg>`;
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
