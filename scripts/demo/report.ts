// The demo's HTML report: one self-contained file (inline CSS and SVG, no scripts, nothing fetched)
// with the timeline of steps and a chart of each backend's weight and health over time.

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

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b'];

/** Step lines of weight over time per backend, with a band under each line coloured by health. */
export function weightChart(samples: readonly Sample[], width = 900, height = 260): string {
  const keys = [...new Set(samples.flatMap((s) => Object.keys(s.backends)))].sort();
  const pad = { left: 48, right: 16, top: 16, bottom: 36 };
  const last = samples.at(-1)?.atMs ?? 0;
  const span = Math.max(last, 1);
  const x = (ms: number) => pad.left + (ms / span) * (width - pad.left - pad.right);
  const plotH = height - pad.top - pad.bottom - keys.length * 10;
  const y = (w: number) => pad.top + (1 - w / 100) * plotH;
  const parts: string[] = [];
  for (const w of [0, 50, 100]) {
    parts.push(
      `<line x1="${pad.left}" x2="${width - pad.right}" y1="${y(w)}" y2="${y(w)}" stroke="#ddd"/>`,
      `<text x="${pad.left - 6}" y="${y(w) + 4}" text-anchor="end" font-size="11">${w}</text>`,
    );
  }
  keys.forEach((key, i) => {
    const color = COLORS[i % COLORS.length] ?? '#000';
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
      `<path d="${d}" fill="none" stroke="${color}" stroke-width="2.5"><title>${escapeHtml(key)}</title></path>`,
    );
    // Health band: green normal, red abnormal, grey otherwise.
    const bandY = height - pad.bottom + 4 + i * 10;
    samples.forEach((s, j) => {
      const b = s.backends[key];
      const next = samples[j + 1]?.atMs ?? s.atMs;
      if (!b || next <= s.atMs) return;
      const fill = b.health === 'normal' ? '#2ca02c' : b.health === 'abnormal' ? '#d62728' : '#aaa';
      parts.push(
        `<rect x="${x(s.atMs)}" y="${bandY}" width="${Math.max(x(next) - x(s.atMs), 0.5)}" height="7" fill="${fill}"><title>${escapeHtml(key)}: ${escapeHtml(b.health)}</title></rect>`,
      );
    });
    parts.push(
      `<text x="${width - pad.right}" y="${pad.top + 12 + i * 14}" text-anchor="end" font-size="12" fill="${color}">${escapeHtml(key)}</text>`,
    );
  });
  parts.push(
    `<text x="${pad.left}" y="${height - 4}" font-size="11">0 s</text>`,
    `<text x="${width - pad.right}" y="${height - 4}" font-size="11" text-anchor="end">${(last / 1000).toFixed(1)} s</text>`,
  );
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" role="img" aria-label="weights and health over time">${parts.join('')}</svg>`;
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
tr.failed td{background:#fde8e8}tr.na td{color:#888}.summary{font-weight:600}
</style></head><body>
<h1>${escapeHtml(r.title)}</h1>
<p class="summary">Started ${escapeHtml(r.startedAt)}: ${r.steps.length} steps, ${failed} failed, ${r.steps.filter((s) => s.status === 'not available').length} not available.</p>
<h2>Weights and health over time</h2>
${weightChart(r.samples)}
<p>Lines: weight (0-100) per backend. Bands under the chart: health as the load balancer reports it (green normal, red abnormal, grey unavailable).</p>
<h2>Timeline</h2>
<table><thead><tr><th>#</th><th>step</th><th>result</th><th>at</th><th>took</th><th>what happened</th></tr></thead>
<tbody>
${rows}
</tbody></table>
</body></html>
`;
}
