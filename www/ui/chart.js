// A small line chart on a canvas (crisp on HiDPI), drawn from arrays; no library. The canvas is an image
// with a text alternative (aria-label with the latest values) and the legend shows them as text.
import { h } from './dom.js';

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
      this.legend.append(h('span', { style: { '--sw': `var(${s.color})` } }, `${s.name} `, b));
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
      ctx.lineWidth = 2;
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
  }
}

function niceMax(v) {
  if (!(v > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 1.5, 2, 3, 5, 7.5, 10]) if (v <= m * p) return m * p;
  return 10 * p;
}
