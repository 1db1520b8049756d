// Tiny DOM helpers: h() builds elements; no templates, no innerHTML with data (so no injection).

/**
 * h('div.panel#id', {attrs, on: {click}}, ...children). Attribute keys: 'class', 'text', 'html' is not
 * supported on purpose; properties (value, checked, disabled, hidden) are set as properties.
 */
export function h(tag, props, ...children) {
  const [name, ...rest] = tag.split(/(?=[.#])/);
  const el = document.createElement(name || 'div');
  for (const part of rest) {
    if (part[0] === '.') el.classList.add(part.slice(1));
    else el.id = part.slice(1);
  }
  if (props && (typeof props !== 'object' || props instanceof Node || Array.isArray(props))) {
    children.unshift(props);
    props = null;
  }
  if (props) {
    for (const [key, value] of Object.entries(props)) {
      if (value === undefined || value === null || value === false) continue;
      if (key === 'on') for (const [ev, fn] of Object.entries(value)) el.addEventListener(ev, fn);
      else if (key === 'class') el.className += (el.className ? ' ' : '') + value;
      else if (key === 'text') el.textContent = value;
      else if (key === 'dataset') Object.assign(el.dataset, value);
      else if (key === 'style') for (const [p, v] of Object.entries(value)) el.style.setProperty(p, v);
      else if (key in PROPS) el[key] = value;
      else el.setAttribute(key, value === true ? '' : String(value));
    }
  }
  append(el, children);
  return el;
}

const PROPS = { value: 1, checked: 1, disabled: 1, hidden: 1, selected: 1, multiple: 1, required: 1, htmlFor: 1, tabIndex: 1 };

function append(el, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else el.append(child instanceof Node ? child : String(child));
  }
}

export function clear(el) {
  el.replaceChildren();
  return el;
}

let uid = 0;
/** A unique element id (for label/for and aria-describedby). */
export function uniqueId(prefix = 'f') {
  return `${prefix}-${++uid}`;
}

/** One format for every date on every page: ISO 8601 in local time, '2026-11-20 08:20:10'. */
export function fmtTime(ms) {
  if (ms === null || ms === undefined) return '—';
  const d = new Date(ms);
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/** Today: '08:20:10'; otherwise '2026-11-20 08:20'. */
export function fmtShort(ms) {
  if (ms === null || ms === undefined) return '—';
  const d = new Date(ms);
  const p = (n) => String(n).padStart(2, '0');
  const time = `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
  if (d.toDateString() === new Date().toDateString()) return time;
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${time.slice(0, 5)}`;
}

export function fmtClock(ms) {
  const d = new Date(ms);
  const p = (n, w = 2) => String(n).padStart(w, '0');
  return `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}`;
}

/** '5 s ago', '3 min ago' … (coarse, for tables). */
export function fmtAgo(ms, now = Date.now()) {
  if (ms === null || ms === undefined) return '—';
  const s = Math.max(0, Math.round((now - ms) / 1000));
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86400)} d ago`;
}

export function fmtNum(n, digits = 0) {
  if (n === null || n === undefined || Number.isNaN(n)) return '—';
  return n.toLocaleString(undefined, { maximumFractionDigits: digits, minimumFractionDigits: 0 });
}

/** Latency in seconds → '0.42 ms' / '12 ms' / '1.2 s'. */
export function fmtSeconds(s) {
  if (s === null || s === undefined || Number.isNaN(s)) return '—';
  if (s === 0) return '0';
  if (s < 0.001) return `${(s * 1000).toFixed(2)} ms`;
  if (s < 1) return `${(s * 1000).toFixed(s < 0.01 ? 1 : 0)} ms`;
  return `${s.toFixed(2)} s`;
}

/** Energy in Wh → '850 Wh' / '12.35 kWh' / '1.2 MWh'. */
export function fmtEnergy(wh) {
  if (wh === null || wh === undefined || Number.isNaN(wh)) return '—';
  const a = Math.abs(wh);
  if (a < 1000) return `${fmtNum(wh, a < 10 ? 1 : 0)} Wh`;
  if (a < 1e6) return `${fmtNum(wh / 1000, a < 1e5 ? 2 : 1)} kWh`;
  return `${fmtNum(wh / 1e6, 2)} MWh`;
}

/** Power in W → '950 W' / '11 kW' / '7.4 kW'. */
export function fmtPower(w) {
  if (w === null || w === undefined || Number.isNaN(w)) return '—';
  if (Math.abs(w) < 1000) return `${fmtNum(w, 0)} W`;
  return `${fmtNum(w / 1000, Math.abs(w) < 1e5 ? 2 : 1)} kW`;
}

/** A duration in ms → '12 s', '5 min 03 s', '2 h 05 min', '3 d 4 h'. */
export function fmtDuration(ms) {
  if (ms === null || ms === undefined || Number.isNaN(ms) || ms < 0) return '—';
  const s = Math.floor(ms / 1000);
  const p = (n) => String(n).padStart(2, '0');
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${p(s % 60)} s`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ${p(Math.floor(s / 60) % 60)} min`;
  return `${Math.floor(s / 86400)} d ${Math.floor(s / 3600) % 24} h`;
}

/** Epoch ms → the value of an <input type="datetime-local"> (local time, minutes); '' for none. */
export function toLocalInput(ms) {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '';
  const d = new Date(ms);
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}

/** An ISO 8601 date-time or epoch ms (as text) → epoch ms; null when empty or malformed. */
export function parseTime(text) {
  if (text === null || text === undefined || text === '') return null;
  const ms = /^\d{1,15}$/.test(text) ? Number(text) : Date.parse(text);
  return Number.isFinite(ms) ? ms : null;
}

export function debounce(fn, ms) {
  let t = null;
  return (...args) => {
    clearTimeout(t);
    t = setTimeout(() => fn(...args), ms);
  };
}
