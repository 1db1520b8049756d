// Charts without a library. LineChart: a live line chart on a canvas (crisp on HiDPI) over the last minutes.
// TimeChart: an SVG chart of samples over a fixed time span (one transaction), two y axes, a crosshair readout.
// Both are images with a text alternative (aria-label) and a legend with values as text.
import { h, fmtClock, fmtTime } from './dom.js';

export class LineChart {
  /** series: [{name, color (CSS var name), format(v)}]; yFormat(v) for the axis. */
  constructor({ title, series, yFormat = (v) => String(v), windowMs = 5 * 60 * 1000, integer = false }) {
    this.integer = integer;
    this.series = series;
    this.yFormat = yFormat;
    this.windowMs = windowMs;
    this.canvas = h('canvas', { role: 'img', 'aria-label': title });
    this.legend = h('div.legend');
    this.values = series.map((s) => {
      const b = h('b', { text: '—' });
      this.legend.append(h(s.dash ? 'span.dashed' : 'span', { style: { '--sw': `var(${s.color})` } }, `${s.name} `, b));
      return b;
    });
    this.title = title;
    this.el = h('div.chart', this.canvas, this.legend);
    this.data = { t: [], ys: series.map(() => []) };
    new ResizeObserver(() => this.draw()).observe(this.canvas);
  }

  /** t: timestamps; ys: one array per series (null = gap). */
  set(t, ys) {
    this.data = { t, ys };
    const latest = ys.map((arr) => {
      for (let i = arr.length - 1; i >= 0; i--) if (arr[i] !== null && arr[i] !== undefined) return arr[i];
      return null;
    });
    latest.forEach((v, i) => (this.values[i].textContent = v === null ? '—' : this.series[i].format(v)));
    this.canvas.setAttribute('aria-label', `${this.title}: ${this.series.map((s, i) => `${s.name} ${latest[i] === null ? 'no data' : s.format(latest[i])}`).join(', ')}`);
    this.draw();
  }

  draw() {
    const c = this.canvas;
    const dpr = window.devicePixelRatio || 1;
    const w = c.clientWidth;
    const hgt = c.clientHeight;
    if (w === 0 || hgt === 0) return;
    if (c.width !== Math.round(w * dpr) || c.height !== Math.round(hgt * dpr)) {
      c.width = Math.round(w * dpr);
      c.height = Math.round(hgt * dpr);
    }
    const ctx = c.getContext('2d');
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, w, hgt);
    const style = getComputedStyle(document.documentElement);
    const muted = style.getPropertyValue('--muted').trim();
    const line = style.getPropertyValue('--line').trim();
    const { t, ys } = this.data;
    const now = Date.now();
    const x0 = now - this.windowMs;
    let max = 0;
    for (const arr of ys) for (let i = 0; i < arr.length; i++) if (t[i] >= x0 && arr[i] > max) max = arr[i];
    // Three gridlines at round values (whole ones for counts).
    let step = niceMax(max / 3);
    if (this.integer) step = Math.max(1, Math.ceil(step));
    max = step * 3;
    const left = 56;
    const right = 8;
    const top = 8;
    const bottom = 18;
    const pw = w - left - right;
    const ph = hgt - top - bottom;
    ctx.font = '11px system-ui, sans-serif';
    ctx.fillStyle = muted;
    ctx.strokeStyle = line;
    ctx.lineWidth = 1;
    ctx.textAlign = 'right';
    ctx.textBaseline = 'middle';
    for (let i = 0; i <= 3; i++) {
      const v = (max * i) / 3;
      const y = top + ph - (ph * i) / 3;
      ctx.beginPath();
      ctx.moveTo(left, Math.round(y) + 0.5);
      ctx.lineTo(w - right, Math.round(y) + 0.5);
      ctx.stroke();
      ctx.fillText(this.yFormat(v), left - 6, y);
    }
    ctx.textAlign = 'left';
    ctx.textBaseline = 'alphabetic';
    ctx.fillText(`-${Math.round(this.windowMs / 60000)} min`, left, hgt - 4);
    ctx.textAlign = 'right';
    ctx.fillText('now', w - right, hgt - 4);
    ys.forEach((arr, si) => {
      ctx.strokeStyle = style.getPropertyValue(this.series[si].color).trim();
      // A dashed series is drawn thinner over the solid ones: where the values are equal both show.
      ctx.lineWidth = this.series[si].dash ? 2 : 3;
      ctx.setLineDash(this.series[si].dash ? [6, 5] : []);
      ctx.beginPath();
      let pen = false;
      for (let i = 0; i < arr.length; i++) {
        const v = arr[i];
        if (t[i] < x0 || v === null || v === undefined) {
          pen = false;
          continue;
        }
        const x = left + ((t[i] - x0) / this.windowMs) * pw;
        const y = top + ph - (v / max) * ph;
        if (pen) ctx.lineTo(x, y);
        else ctx.moveTo(x, y);
        pen = true;
      }
      ctx.stroke();
    });
    ctx.setLineDash([]);
  }
}

const SVG = 'http://www.w3.org/2000/svg';
function s(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== null && v !== undefined) el.setAttribute(k, String(v));
  for (const c of children) el.append(c);
  return el;
}

const TIME_STEPS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400, 172800, 604800].map((x) => x * 1000);
const MAX_MARKERS = 150;

/**
 * An SVG chart of samples over one time span (e.g. a transaction): series on a left or a right axis (each axis
 * scaled to its own series), time on x, markers on the samples when there are few, a crosshair with the values
 * at the nearest sample. Series with more samples than pixels are reduced to min/max per pixel column.
 */
export class TimeChart {
  /** series: [{name, cls (CSS class of the line), axis: 'left'|'right', format(v)}]; label: the image's name. */
  constructor({ label, series, height = 240 }) {
    this.label = label;
    this.series = series;
    this.height = height;
    this.data = series.map(() => []);
    this.x0 = 0;
    this.x1 = 1;
    this.svg = s('svg', { class: 'tc', role: 'img', 'aria-label': label, height });
    this.readout = h('div.tc-readout.small.muted', { 'aria-hidden': 'true' });
    this.legend = h('div.legend');
    this.values = series.map((se) => {
      const b = h('b', { text: '—' });
      this.legend.append(h(`span.${se.cls}`, `${se.name} `, b));
      return b;
    });
    this.el = h('div.chart.tc-wrap', this.svg, this.legend, this.readout);
    this.width = 0;
    new ResizeObserver(() => {
      const w = this.svg.clientWidth;
      if (w !== this.width) {
        this.width = w;
        this.draw();
      }
    }).observe(this.svg);
    this.svg.addEventListener('pointermove', (e) => this.#hover(e));
    this.svg.addEventListener('pointerleave', () => this.#hover(null));
  }

  /** data: one [[t, v], …] per series, sorted by t; x0..x1 the time span shown. */
  set(data, x0, x1) {
    this.data = data;
    this.x0 = x0;
    this.x1 = x1 > x0 ? x1 : x0 + 1000;
    const parts = [];
    data.forEach((pts, i) => {
      const last = pts.length > 0 ? pts[pts.length - 1][1] : null;
      this.values[i].textContent = last === null ? '—' : this.series[i].format(last);
      parts.push(`${this.series[i].name}: ${pts.length} samples${last === null ? '' : `, last ${this.series[i].format(last)}`}`);
    });
    this.svg.setAttribute('aria-label', `${this.label}. ${parts.join('; ')}`);
    this.draw();
  }

  #geometry() {
    const w = this.width || this.svg.clientWidth || 600;
    const m = { left: 70, right: this.series.some((x) => x.axis === 'right') ? 70 : 12, top: 10, bottom: 24 };
    return { w, m, pw: Math.max(10, w - m.left - m.right), ph: this.height - m.top - m.bottom };
  }

  #max(axis) {
    let max = 0;
    this.data.forEach((pts, i) => {
      if (this.series[i].axis !== axis) return;
      for (const [, v] of pts) if (v > max) max = v;
    });
    return niceMax(max / 4) * 4;
  }

  draw() {
    const svg = this.svg;
    const { w, m, pw, ph } = this.#geometry();
    svg.setAttribute('width', String(w));
    svg.setAttribute('viewBox', `0 0 ${w} ${this.height}`);
    svg.replaceChildren();
    this.maxes = { left: this.#max('left'), right: this.#max('right') };
    const grid = s('g', { class: 'tc-grid' });
    const leftFmt = this.series.find((x) => x.axis === 'left')?.format ?? String;
    const rightFmt = this.series.find((x) => x.axis === 'right')?.format;
    for (let i = 0; i <= 4; i++) {
      const y = Math.round(m.top + ph - (ph * i) / 4) + 0.5;
      grid.append(s('line', { x1: m.left, x2: m.left + pw, y1: y, y2: y }));
      grid.append(s('text', { x: m.left - 6, y, 'text-anchor': 'end', 'dominant-baseline': 'middle', class: 'tc-axis-left' }, leftFmt((this.maxes.left * i) / 4)));
      if (rightFmt) grid.append(s('text', { x: m.left + pw + 6, y, 'dominant-baseline': 'middle', class: 'tc-axis-right' }, rightFmt((this.maxes.right * i) / 4)));
    }
    // Time ticks at round steps (about one per 110 px).
    const span = this.x1 - this.x0;
    const step = TIME_STEPS.find((st) => span / st <= Math.max(2, pw / 110)) ?? TIME_STEPS[TIME_STEPS.length - 1];
    const offset = new Date(this.x0).getTimezoneOffset() * 60000;
    for (let t = Math.ceil((this.x0 - offset) / step) * step + offset; t <= this.x1; t += step) {
      const x = Math.round(this.#x(t, m, pw)) + 0.5;
      grid.append(s('line', { x1: x, x2: x, y1: m.top, y2: m.top + ph, class: 'tc-vgrid' }));
      grid.append(s('text', { x, y: this.height - 6, 'text-anchor': 'middle' }, fmtTick(t, step)));
    }
    svg.append(grid);
    this.data.forEach((pts, i) => {
      const se = this.series[i];
      const max = this.maxes[se.axis] || 1;
      const reduced = reduce(pts, this.x0, span, pw);
      const coords = reduced.map(([t, v]) => `${this.#x(t, m, pw).toFixed(1)},${(m.top + ph - (v / max) * ph).toFixed(1)}`);
      const g = s('g', { class: `tc-series ${se.cls}`, 'data-series': se.name, 'data-samples': pts.length });
      if (coords.length > 0) g.append(s('polyline', { points: coords.join(' '), class: 'tc-line' }));
      if (pts.length <= MAX_MARKERS) for (const c of coords) g.append(s('circle', { cx: c.split(',')[0], cy: c.split(',')[1], r: 2.5, class: 'tc-dot' }));
      svg.append(g);
    });
    this.cursor = s('g', { class: 'tc-cursor', visibility: 'hidden' }, s('line', { y1: m.top, y2: m.top + ph }));
    svg.append(this.cursor);
  }

  #x(t, m, pw) {
    return m.left + ((t - this.x0) / (this.x1 - this.x0)) * pw;
  }

  #hover(e) {
    if (this.cursor === undefined) return;
    const { m, pw } = this.#geometry();
    if (e === null || this.data.every((p) => p.length === 0)) {
      this.cursor.setAttribute('visibility', 'hidden');
      this.readout.textContent = '';
      return;
    }
    const rect = this.svg.getBoundingClientRect();
    const t = this.x0 + ((e.clientX - rect.left - m.left) / pw) * (this.x1 - this.x0);
    // The nearest sample of any series, then each series' value at that time.
    let best = null;
    for (const pts of this.data) {
      const p = nearest(pts, t);
      if (p !== null && (best === null || Math.abs(p[0] - t) < Math.abs(best - t))) best = p[0];
    }
    if (best === null) return;
    const x = this.#x(best, m, pw);
    const line = this.cursor.firstChild;
    line.setAttribute('x1', String(x));
    line.setAttribute('x2', String(x));
    this.cursor.setAttribute('visibility', 'visible');
    const parts = this.data.map((pts, i) => {
      const p = nearest(pts, best);
      return p === null ? null : `${this.series[i].name} ${this.series[i].format(p[1])}`;
    });
    this.readout.textContent = `${fmtTime(best).slice(0, 10)} ${fmtClock(best)} · ${parts.filter(Boolean).join(' · ')}`;
  }
}

function nearest(pts, t) {
  if (pts.length === 0) return null;
  let lo = 0;
  let hi = pts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (pts[mid][0] < t) lo = mid + 1;
    else hi = mid;
  }
  if (lo > 0 && Math.abs(pts[lo - 1][0] - t) <= Math.abs(pts[lo][0] - t)) lo--;
  return pts[lo];
}

/** More samples than pixel columns: keep the first, min, max and last of each column (the shape stays). */
function reduce(pts, x0, span, pw) {
  if (pts.length <= pw * 2) return pts;
  const out = [];
  let col = -1;
  let bucket = [];
  const flush = () => {
    if (bucket.length === 0) return;
    let min = bucket[0];
    let max = bucket[0];
    for (const p of bucket) {
      if (p[1] < min[1]) min = p;
      if (p[1] > max[1]) max = p;
    }
    const keep = new Set([bucket[0], min, max, bucket[bucket.length - 1]]);
    for (const p of bucket) if (keep.has(p)) out.push(p);
    bucket = [];
  };
  for (const p of pts) {
    const c = Math.floor(((p[0] - x0) / span) * pw);
    if (c !== col) {
      flush();
      col = c;
    }
    bucket.push(p);
  }
  flush();
  return out;
}

function fmtTick(t, step) {
  const d = new Date(t);
  const p = (n) => String(n).padStart(2, '0');
  if (step >= 86400000) return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`;
  if (step < 60000) return `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
  return `${p(d.getHours())}:${p(d.getMinutes())}`;
}

function niceMax(v) {
  if (!(v > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 1.5, 2, 3, 5, 7.5, 10]) if (v <= m * p) return m * p;
  return 10 * p;
}
