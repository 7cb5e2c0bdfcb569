// The status page: one HTML document with its CSS and a small script (no framework, nothing fetched but
// the stack's own /events stream). The script renders each snapshot (stack-monitor.ts) as it arrives:
// per load balancer its listeners and certificates (expiry, the fingerprint SLB holds and the one the
// front end really serves), each group's active pool and pending failback, the backends with weight and
// health, a chart of the last minutes, and the last events with their reasons. Text goes in through
// textContent only, so nothing in a snapshot can inject markup.

const CSS = `
:root{--ok:#1a7f37;--bad:#b42318;--warn:#b54708;--muted:#667085;--line:#e4e7ec;--k1:#2563eb;--k2:#7c3aed;--k3:#0891b2;--k4:#ca8a04}
*{box-sizing:border-box}body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;color:#101828;background:#f9fafb}
header{display:flex;gap:16px;align-items:baseline;padding:14px 24px;background:#fff;border-bottom:1px solid var(--line)}
header h1{font-size:18px;margin:0}header .meta{color:var(--muted)}#conn.down{color:var(--bad);font-weight:600}
main{padding:16px 24px;display:grid;gap:16px;max-width:1100px}
section.lb{background:#fff;border:1px solid var(--line);border-radius:8px;padding:14px 18px}
section.lb h2{font-size:16px;margin:0 0 8px}section.lb h2 small{color:var(--muted);font-weight:400}
h3{font-size:13px;text-transform:uppercase;letter-spacing:.04em;color:var(--muted);margin:14px 0 6px}
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:4px 8px;border-bottom:1px solid var(--line);vertical-align:top}
th{font-weight:600;color:var(--muted);font-size:12px}code{font-size:12px}
.badge{display:inline-block;padding:0 8px;border-radius:10px;font-size:12px;font-weight:600;border:1px solid currentColor}
.normal,.match,.primary{color:var(--ok)}.abnormal,.mismatch,.error{color:var(--bad)}.unavailable,.unknown{color:var(--muted)}
.standby,.pending{color:var(--warn)}.days-low{color:var(--warn);font-weight:600}
.pool{margin:4px 0 8px}.pool .due{color:var(--warn);font-weight:600}
.events li{margin:2px 0}.events time{color:var(--muted);font-family:ui-monospace,monospace;font-size:12px;margin-right:6px}
.events .reason{color:var(--muted)}ul.events{list-style:none;padding:0;margin:0}
.kind-failover,.kind-rollback,.kind-error,.kind-failover-failed,.kind-renewal-failed{color:var(--bad)}.kind-failback,.kind-rotation{color:var(--ok)}.kind-failback-pending{color:var(--warn)}
svg text{font:11px system-ui,sans-serif;fill:#344054}svg{max-width:100%;height:auto}
`;

const SCRIPT = `
const $ = (tag, attrs = {}, ...kids) => {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined) el.setAttribute(k, String(v));
  for (const kid of kids) el.append(kid instanceof Node ? kid : document.createTextNode(String(kid)));
  return el;
};
const SVG = 'http://www.w3.org/2000/svg';
const s$ = (tag, attrs = {}, text) => {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  if (text !== undefined) el.textContent = String(text);
  return el;
};
const clock = (iso) => iso ? iso.slice(11, 19) : '';
const COLOURS = ['var(--k1)', 'var(--k2)', 'var(--k3)', 'var(--k4)'];
const HEALTH_FILL = { normal: '#1a7f37', abnormal: '#b42318' };
const shortFp = (fp) => fp ? fp.replace(/:/g, '').slice(0, 16) : '';

function dueText(iso, now) {
  const s = Math.round((Date.parse(iso) - now) / 1000);
  return s <= 0 ? 'now' : s < 120 ? 'in ' + s + ' s' : 'in ' + Math.round(s / 60) + ' min';
}

function certCell(cert, served) {
  if (!cert) return $('td', {}, 'none');
  const days = cert.daysLeft;
  const td = $('td', {});
  td.append($('div', {}, cert.commonName || cert.serverCertificateId));
  td.append($('div', { class: days !== undefined && days < 30 ? 'days-low' : '' },
    cert.expiresAt ? 'expires ' + cert.expiresAt.slice(0, 10) + ' (' + days + ' days left)' : 'no record'));
  return td;
}

function servedCell(cert, served) {
  const td = $('td', {});
  if (!served) { td.append($('span', { class: 'unknown' }, 'not probed')); return td; }
  if (served.error) { td.append($('span', { class: 'badge error' }, 'no handshake'), ' ', served.error); return td; }
  td.append($('code', {}, shortFp(served.fingerprint)), ' ');
  if (served.matchesBound !== undefined)
    td.append($('span', { class: 'badge ' + (served.matchesBound ? 'match' : 'mismatch') },
      served.matchesBound ? 'served = bound' : 'served ≠ bound (propagating?)'));
  return td;
}

function chart(history, backends, names, windowMs, now) {
  const W = 1000, H = 190, left = 36, right = 170, top = 10, bandH = 9, gap = 4;
  const plotH = H - top - 30 - backends.length * (bandH + gap);
  const x = (t) => left + (1 - (now - t) / windowMs) * (W - left - right);
  const y = (w) => top + (1 - w / 100) * plotH;
  const svg = s$('svg', { width: W, height: H, viewBox: '0 0 ' + W + ' ' + H, role: 'img', 'aria-label': 'weight and health over the last minutes' });
  for (const w of [0, 50, 100]) {
    svg.append(s$('line', { x1: left, x2: W - right, y1: y(w), y2: y(w), stroke: '#e4e7ec' }));
    svg.append(s$('text', { x: left - 6, y: y(w) + 4, 'text-anchor': 'end' }, w));
  }
  const bandTop = top + plotH + 8;
  const minutes = Math.round(windowMs / 60000);
  for (let m = 0; m <= minutes; m++) {
    const t = now - m * 60000;
    svg.append(s$('line', { x1: x(t), x2: x(t), y1: top, y2: bandTop + backends.length * (bandH + gap), stroke: '#f2f4f7' }));
    svg.append(s$('text', { x: x(t), y: H - 6, 'text-anchor': 'middle' }, m === 0 ? 'now' : '-' + m + ' min'));
  }
  backends.forEach((key, i) => {
    const colour = COLOURS[i % COLOURS.length];
    const pts = history.filter((h) => h.backends[key]).map((h) => [x(Date.parse(h.at)), y(h.backends[key].weight)]);
    let d = '';
    pts.forEach(([px, py], j) => { d += j === 0 ? 'M' + px + ',' + py : 'H' + px + 'V' + py; });
    if (pts.length) d += 'H' + x(now);
    svg.append(s$('path', { d, fill: 'none', stroke: colour, 'stroke-width': 2.5 }));
    // Legend in the right margin, outside the plot: it never covers a line.
    svg.append(s$('rect', { x: W - right + 10, y: top + i * 16, width: 12, height: 3, fill: colour }));
    svg.append(s$('text', { x: W - right + 28, y: top + 4 + i * 16 }, names[key] + ' weight'));
    const by = bandTop + i * (bandH + gap);
    history.forEach((h, j) => {
      const b = h.backends[key];
      const next = history[j + 1] ? Date.parse(history[j + 1].at) : now;
      if (!b) return;
      svg.append(s$('rect', { x: x(Date.parse(h.at)), y: by, width: Math.max(x(next) - x(Date.parse(h.at)), 1), height: bandH,
        fill: HEALTH_FILL[b.health] || '#98a2b3' }));
    });
    svg.append(s$('text', { x: W - right + 10, y: by + bandH - 1 }, names[key] + ' health'));
  });
  return svg;
}

function render(snap) {
  const now = Date.parse(snap.at);
  document.getElementById('updated').textContent = 'updated ' + clock(snap.at) + ' UTC, every ' + snap.updateEveryMs / 1000 + ' s';
  const main = document.getElementById('main');
  main.replaceChildren();
  if (snap.error) main.append($('p', { class: 'error' }, 'last read failed: ' + snap.error));
  const status = snap.status;
  if (!status) { main.append($('p', {}, 'waiting for the first read ...')); return; }
  for (const lb of status.loadBalancers) {
    const sec = $('section', { class: 'lb', 'data-lb': lb.name });
    sec.append($('h2', {}, lb.name + ' ', $('small', {}, (lb.loadBalancerId || 'not created yet') + ' · ' + status.region)));
    if (!lb.exists) { sec.append($('p', {}, 'does not exist yet: apply creates it')); main.append(sec); continue; }
    sec.append($('h3', {}, 'Listeners and certificates'));
    const lt = $('table', {}, $('tr', {}, $('th', {}, 'listener'), $('th', {}, 'status'), $('th', {}, 'certificate'), $('th', {}, 'served fingerprint (SHA-1, TLS handshake)')));
    for (const l of lb.listeners) {
      const key = lb.loadBalancerId + ':' + l.port;
      lt.append($('tr', {}, $('td', {}, l.protocol.toUpperCase() + ' ' + l.port), $('td', {}, l.running ? 'running' : 'stopped'),
        l.protocol === 'https' ? certCell(l.certificate) : $('td', {}, '-'),
        l.protocol === 'https' ? servedCell(l.certificate, snap.served[key]) : $('td', {}, '-')));
      for (const d of l.extensionDomains)
        lt.append($('tr', {}, $('td', {}, '  ' + d.domain), $('td', {}, 'extension domain'), certCell(d.certificate), servedCell(d.certificate, snap.served[key + ':' + d.domain])));
    }
    sec.append(lt);
    for (const g of lb.groups) {
      sec.append($('h3', {}, 'Backends: ' + g.name));
      const f = g.failover;
      const pool = $('div', { class: 'pool', 'data-active-pool': f.active === 'unknown' ? 'primary' : f.active });
      pool.append('active pool: ', $('span', { class: 'badge ' + (f.active === 'standby' ? 'standby' : 'primary') }, f.active === 'unknown' ? 'primary' : f.active));
      if (f.pinned) pool.append(' pinned by a manual toStandby');
      if (f.failbackDueAt) pool.append(' ', $('span', { class: 'due', 'data-failback-due': f.failbackDueAt }, 'failback due at ' + clock(f.failbackDueAt) + ' UTC (' + dueText(f.failbackDueAt, now) + ')'));
      else if (f.active === 'standby' && !f.pinned) pool.append(' failback waits for the primary to be healthy');
      sec.append(pool);
      const names = {};
      const bt = $('table', {}, $('tr', {}, $('th', {}, 'backend'), $('th', {}, 'server'), $('th', {}, 'weight'), $('th', {}, 'health')));
      for (const b of g.backends) {
        const key = b.serverId + ':' + b.port;
        names[key] = b.description || key;
        bt.append($('tr', { 'data-backend': names[key], 'data-weight': b.weight, 'data-health': b.health },
          $('td', {}, names[key]), $('td', {}, $('code', {}, key)), $('td', {}, b.weight), $('td', {}, $('span', { class: 'badge ' + b.health }, b.health))));
      }
      sec.append(bt);
      const keys = g.backends.map((b) => b.serverId + ':' + b.port);
      sec.append(chart(snap.history, keys, names, 5 * 60000, now));
    }
    main.append(sec);
  }
  const ev = $('section', { class: 'lb' }, $('h2', {}, 'Last events'));
  const list = $('ul', { class: 'events' });
  const events = [...snap.events].reverse().slice(0, 15);
  if (events.length === 0) list.append($('li', {}, 'none yet: rotations, rollbacks, failovers and failbacks show here'));
  for (const e of events)
    list.append($('li', { 'data-kind': e.kind }, $('time', {}, clock(e.at)), $('span', { class: 'badge kind-' + e.kind }, e.kind), ' ', e.subject + ': ' + e.text,
      e.reason ? $('span', { class: 'reason' }, ' (' + e.reason + ')') : ''));
  ev.append(list);
  main.append(ev);
  const drift = status.drift.length ? status.drift.length + ' change(s) apply would make' : 'none';
  main.append($('p', { class: 'meta' }, 'drift from the spec: ' + drift));
}

const conn = document.getElementById('conn');
const source = new EventSource('events');
source.onmessage = (m) => { conn.textContent = 'live'; conn.className = ''; render(JSON.parse(m.data)); };
source.onerror = () => { conn.textContent = 'disconnected, retrying'; conn.className = 'down'; };
`;

export function statusPageHtml(title = 'slb-autopilot: live status'): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${title}</title><style>${CSS}</style></head>
<body><header><h1>${title}</h1><span class="meta" id="updated">connecting ...</span><span class="meta" id="conn"></span></header>
<main id="main"><p>waiting for the first read ...</p></main>
<script>${SCRIPT}</script></body></html>
`;
}
