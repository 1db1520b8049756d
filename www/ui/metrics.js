// Server figures from /metrics (Prometheus text, the router's own aggregate over every thread), scraped
// every 2 s while the page is visible, kept for 10 minutes: messages per second, connected stations and
// latency percentiles (from histogram bucket deltas between scrapes, interpolated as Prometheus'
// histogram_quantile does).
import { api } from './api.js';

const PERIOD_MS = 2000;
const KEEP = 300;

/** Parses the text exposition into [{name, labels, value}] (comments and blank lines skipped). */
export function parsePrometheus(text) {
  const out = [];
  for (const line of text.split('\n')) {
    if (line === '' || line[0] === '#') continue;
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (m === null) continue;
    const labels = {};
    if (m[2]) for (const l of m[2].matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2].replace(/\\(.)/g, (_, c) => (c === 'n' ? '\n' : c));
    out.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return out;
}

function sum(samples, name, filter = () => true) {
  let total = 0;
  let seen = false;
  for (const s of samples) {
    if (s.name === name && filter(s.labels)) {
      total += s.value;
      seen = true;
    }
  }
  return seen ? total : null;
}

/** Cumulative buckets of a histogram summed over its other labels: Map(le → count). */
function buckets(samples, name) {
  const map = new Map();
  for (const s of samples) {
    if (s.name !== `${name}_bucket`) continue;
    const le = s.labels.le === '+Inf' ? Infinity : Number(s.labels.le);
    map.set(le, (map.get(le) ?? 0) + s.value);
  }
  return map;
}

/** q-quantile of cumulative buckets (Map le → count), linear inside the bucket; null without data. */
export function quantile(q, cumulative) {
  const les = [...cumulative.keys()].sort((a, b) => a - b);
  if (les.length === 0) return null;
  const total = cumulative.get(les[les.length - 1]);
  if (!(total > 0)) return null;
  const rank = q * total;
  let prevLe = 0;
  let prevCount = 0;
  for (const le of les) {
    const count = cumulative.get(le);
    if (count >= rank) {
      if (le === Infinity) return prevLe;
      if (count === prevCount) return le;
      return prevLe + ((le - prevLe) * (rank - prevCount)) / (count - prevCount);
    }
    prevLe = le;
    prevCount = count;
  }
  return prevLe;
}

function delta(now, before) {
  const out = new Map();
  for (const [le, count] of now) out.set(le, count - (before?.get(le) ?? 0));
  return out;
}

class MetricsFeed {
  history = [];
  status = 'idle';
  #listeners = new Set();
  #timer = null;
  #prev = null;
  #running = false;

  subscribe(fn) {
    this.#listeners.add(fn);
    this.#start();
    fn(this);
    return () => {
      this.#listeners.delete(fn);
    };
  }

  #start() {
    if (this.#running) return;
    this.#running = true;
    const loop = async () => {
      if (!document.hidden) await this.scrape();
      this.#timer = setTimeout(loop, PERIOD_MS);
    };
    loop();
  }

  async scrape() {
    let r;
    try {
      r = await api('/metrics', { text: true });
    } catch {
      this.status = 'unreachable';
      this.#prev = null;
      this.#emit();
      return;
    }
    if (!r.ok) {
      this.status = r.status === 404 ? 'off' : `HTTP ${r.status}`;
      this.#emit();
      return;
    }
    this.status = 'ok';
    const samples = parsePrometheus(r.data);
    const t = Date.now();
    const cur = {
      t,
      in: sum(samples, 'ocpp_messages_total', (l) => l.direction === 'in') ?? 0,
      out: sum(samples, 'ocpp_messages_total', (l) => l.direction === 'out') ?? 0,
      connected: sum(samples, 'ocpp_stations_connected') ?? 0,
      known: sum(samples, 'ocpp_stations_known'),
      req: buckets(samples, 'ocpp_request_duration_seconds'),
      cmd: buckets(samples, 'ocpp_command_duration_seconds'),
    };
    const prev = this.#prev;
    this.#prev = cur;
    const point = { t, connected: cur.connected, known: cur.known, inRate: null, outRate: null, req: {}, cmd: {} };
    // A counter that went down means the server restarted: no rate for that interval.
    if (prev !== null && cur.in >= prev.in && cur.out >= prev.out) {
      const dt = (t - prev.t) / 1000;
      point.inRate = (cur.in - prev.in) / dt;
      point.outRate = (cur.out - prev.out) / dt;
      const dr = delta(cur.req, prev.req);
      const dc = delta(cur.cmd, prev.cmd);
      for (const q of [0.5, 0.9, 0.99]) {
        point.req[q] = quantile(q, dr);
        point.cmd[q] = quantile(q, dc);
      }
    }
    // Since the server started (shown when no traffic in the last interval).
    point.reqAll = { 0.5: quantile(0.5, cur.req), 0.99: quantile(0.99, cur.req) };
    point.cmdAll = { 0.5: quantile(0.5, cur.cmd), 0.99: quantile(0.99, cur.cmd) };
    this.history.push(point);
    if (this.history.length > KEEP) this.history.shift();
    this.#emit();
  }

  #emit() {
    for (const fn of this.#listeners) fn(this);
  }
}

export const metricsFeed = new MetricsFeed();
