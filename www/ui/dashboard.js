// Fleet dashboard: counts by status, charts from /metrics, and every station in a virtual table with
// search, sort and filters. The fleet is read with the paged station list (5,000 per request, cursor
// paging) and re-read in the background: every 3 s, or 10× the time the last read took when that is longer
// (so a 10,000-station fleet never keeps the control plane busy); paused while the tab is hidden. Only
// the rows in view exist in the DOM and only changed cells are written.
import { getJson, connection } from './api.js';
import { h, fmtAgo, fmtNum, fmtSeconds, fmtShort, fmtTime } from './dom.js';
import { VirtualTable, setText } from './vtable.js';
import { stationStatus, connectorKeys, STATUS_FILTERS } from './status.js';
import { LineChart } from './chart.js';
import { metricsFeed } from './metrics.js';

const PAGE = 5000;
const MIN_PERIOD_MS = 3000;
const collator = new Intl.Collator(undefined, { numeric: true, sensitivity: 'base' });

// Kept across visits of the page (filters, sort, the last fleet read).
const state = { q: '', version: '', transport: '', status: '', sort: 'identity', dir: 1, rows: new Map(), loadedAt: 0 };

async function readFleet(signal) {
  const stations = [];
  let cursor = null;
  do {
    const q = new URLSearchParams({ limit: String(PAGE) });
    if (cursor !== null) q.set('cursor', cursor);
    const page = await getJson(`/api/v1/stations?${q}`, { signal });
    for (const s of page.stations) stations.push(s);
    cursor = page.nextCursor;
  } while (cursor !== null && cursor !== undefined && !signal.aborted);
  return stations;
}

/** The row of a station, reused when nothing it shows changed (so unchanged rows are not re-bound). */
function toRow(s, prev) {
  const sig = `${s.connected}|${s.lastMessageAt}|${s.connectedAt}|${s.boot?.at}|${JSON.stringify(s.connectors)}`;
  if (prev !== undefined && prev.sig === sig) return prev;
  const boot = s.boot?.payload ?? {};
  const vendor = boot.chargePointVendor ?? boot.chargingStation?.vendorName ?? '';
  const model = boot.chargePointModel ?? boot.chargingStation?.model ?? '';
  const keys = connectorKeys(s.connectors).filter((k) => k !== '0');
  const status = stationStatus(s);
  return {
    sig,
    identity: s.identity,
    status,
    version: s.version,
    transport: s.transport,
    connected: s.connected,
    vendorModel: [vendor, model].filter(Boolean).join(' · '),
    address: s.remoteAddress ?? '',
    account: s.account ?? '',
    lastMessageAt: s.lastMessageAt,
    since: s.connected ? s.connectedAt : s.disconnectedAt,
    connectors: keys.map((k) => `${k}: ${s.connectors[k].status}`).join('  '),
    search: `${s.identity} ${vendor} ${model} ${s.remoteAddress ?? ''} ${s.account ?? ''}`.toLowerCase(),
  };
}

const SORTERS = {
  identity: (a, b) => collator.compare(a.identity, b.identity),
  status: (a, b) => collator.compare(a.status, b.status) || collator.compare(a.identity, b.identity),
  version: (a, b) => collator.compare(a.version, b.version) || collator.compare(a.identity, b.identity),
  transport: (a, b) => collator.compare(a.transport, b.transport) || collator.compare(a.identity, b.identity),
  vendorModel: (a, b) => collator.compare(a.vendorModel, b.vendorModel) || collator.compare(a.identity, b.identity),
  address: (a, b) => collator.compare(a.address, b.address) || collator.compare(a.identity, b.identity),
  lastMessageAt: (a, b) => (a.lastMessageAt ?? 0) - (b.lastMessageAt ?? 0),
  since: (a, b) => (a.since ?? 0) - (b.since ?? 0),
};

export function dashboardPage(main) {
  const ac = new AbortController();
  let timer = null;

  // --- counts
  const cardDefs = [
    ['connected', 'Connected', null],
    ['available', 'Available', 'Available'],
    ['charging', 'Charging', 'Charging'],
    ['faulted', 'Faulted', 'Faulted'],
    ['offline', 'Offline', 'Offline'],
    ['total', 'Known stations', ''],
  ];
  const counts = {};
  const cards = h('section.cards', { 'aria-label': 'Stations by status' });
  for (const [key, label, filter] of cardDefs) {
    const n = h('div.n', { text: '…' });
    counts[key] = n;
    const inner = [n, h('div.l', { text: label })];
    const card = h(`div.card.${key}`, { dataset: { count: key } });
    if (filter !== null) card.append(h('button', { type: 'button', title: `Show ${label.toLowerCase()} stations`, on: { click: () => setFilter('status', filter) } }, inner));
    else card.append(...inner);
    cards.append(card);
  }

  // --- charts
  const msgChart = new LineChart({
    title: 'Messages per second',
    series: [
      { name: 'in', color: '--c1', format: (v) => `${fmtNum(v, 1)}/s` },
      // Dashed over the solid "in": equal rates (every CALL answered) stay two visible lines.
      { name: 'out', color: '--c2', dash: true, format: (v) => `${fmtNum(v, 1)}/s` },
    ],
    yFormat: (v) => fmtNum(v, 1),
  });
  const connChart = new LineChart({ title: 'Connected stations', integer: true, series: [{ name: 'connected', color: '--c3', format: (v) => fmtNum(v) }], yFormat: (v) => fmtNum(v) });
  const latChart = new LineChart({
    title: 'Station request handling time',
    series: [
      { name: 'p50', color: '--c1', format: fmtSeconds },
      { name: 'p90', color: '--c2', format: fmtSeconds },
      { name: 'p99', color: '--c4', format: fmtSeconds },
    ],
    yFormat: fmtSeconds,
  });
  const cmdChart = new LineChart({
    title: 'Command round trip',
    series: [
      { name: 'p50', color: '--c1', format: fmtSeconds },
      { name: 'p99', color: '--c4', format: fmtSeconds },
    ],
    yFormat: fmtSeconds,
  });
  const metricsNote = h('p.muted.small', { 'aria-live': 'polite' });
  const charts = h(
    'section.grid.cols-4',
    { 'aria-label': 'Server figures' },
    h('div.panel', h('h2', 'Messages per second'), msgChart.el),
    h('div.panel', h('h2', 'Connected stations'), connChart.el),
    h('div.panel', h('h2', 'Station requests: handling time'), latChart.el, h('p.muted.small', 'Receipt to reply sent, percentiles per 2 s interval.')),
    h('div.panel', h('h2', 'Commands: round trip'), cmdChart.el, h('p.muted.small', 'Central-system CALLs to stations, send to answer.')),
  );

  // --- table
  const search = h('input#f-q', { type: 'search', placeholder: 'identity, vendor, model, address…', value: state.q, on: { input: (e) => setFilter('q', e.target.value) } });
  const select = (id, key, label, options) =>
    h('div.field', h('label', { for: id, text: label }), h(`select#${id}`, { on: { change: (e) => setFilter(key, e.target.value) } }, h('option', { value: '', text: 'all' }), options.map((o) => h('option', { value: o, text: o, selected: state[key] === o }))));
  const versionSel = select('f-version', 'version', 'Version', ['ocpp1.6', 'ocpp2.0.1', 'ocpp2.1']);
  const transportSel = select('f-transport', 'transport', 'Transport', ['ws']);
  const statusSel = select('f-status', 'status', 'Status', STATUS_FILTERS);
  const shown = h('span', { 'aria-live': 'polite' });
  const updated = h('span');

  const table = new VirtualTable({
    label: 'Stations',
    empty: 'No station matches.',
    height: 'max(320px, calc(100vh - 280px))',
    onSort: (key) => {
      state.dir = state.sort === key ? -state.dir : 1;
      state.sort = key;
      table.setSort(state.sort, state.dir);
      refreshView();
    },
    onRowClick: (item, event) => {
      if (event.target.closest('a') === null) location.hash = `#/station/${encodeURIComponent(item.identity)}`;
    },
    columns: [
      { key: 'identity', label: 'Identity', width: 'minmax(120px, 1.2fr)', sortable: true, render: renderIdentity },
      { key: 'status', label: 'Status', width: '110px', sortable: true, render: renderStatus },
      { key: 'version', label: 'Version', width: '90px', sortable: true, render: (c, r) => setText(c, r.version) },
      { key: 'transport', label: 'Transport', width: '85px', sortable: true, render: (c, r) => setText(c, r.transport) },
      { key: 'connectors', label: 'Connectors', width: 'minmax(120px, 1.3fr)', render: (c, r) => setText(c, r.connectors || '—') },
      { key: 'vendorModel', label: 'Vendor · model', width: 'minmax(120px, 1.2fr)', sortable: true, render: (c, r) => setText(c, r.vendorModel || '—') },
      { key: 'address', label: 'Address', width: '120px', sortable: true, render: (c, r) => setText(c, r.address) },
      { key: 'lastMessageAt', label: 'Last message', width: '110px', sortable: true, render: (c, r) => setText(c, fmtAgo(r.lastMessageAt)) },
      { key: 'since', label: 'Since', width: '120px', sortable: true, render: (c, r) => setText(c, fmtShort(r.since)) },
    ],
  });
  table.setSort(state.sort, state.dir);
  table.foot.append(shown, updated);

  function renderIdentity(cell, row) {
    let a = cell.firstChild;
    if (a === null) {
      a = h('a');
      cell.append(a);
    }
    const href = `#/station/${encodeURIComponent(row.identity)}`;
    if (a.getAttribute('href') !== href) a.setAttribute('href', href);
    setText(a, row.identity);
  }
  function renderStatus(cell, row) {
    let b = cell.firstChild;
    if (b === null) {
      b = h('span.badge');
      cell.append(b);
    }
    if (b.dataset.s !== row.status) {
      b.className = `badge ${row.status}`;
      b.dataset.s = row.status;
      b.textContent = row.status;
    }
  }

  const filters = h('div.filters', { role: 'search', 'aria-label': 'Filter stations' }, h('div.field', h('label', { for: 'f-q', text: 'Search' }), search), versionSel, transportSel, statusSel);
  const errorEl = h('p.muted', { role: 'status' });
  main.append(
    h('h1', 'Fleet'),
    cards,
    charts,
    h('section.panel', { 'aria-labelledby': 'st-h' }, h('h2#st-h', 'Stations'), filters, errorEl, table.el),
  );

  let view = [];
  function setFilter(key, value) {
    state[key] = value;
    if (key === 'status') statusSel.querySelector('select').value = value;
    refreshView();
  }

  function refreshView() {
    const q = state.q.trim().toLowerCase();
    const rows = [];
    for (const row of state.rows.values()) {
      if (state.version && row.version !== state.version) continue;
      if (state.transport && row.transport !== state.transport) continue;
      if (state.status && row.status !== state.status) continue;
      if (q && !row.search.includes(q)) continue;
      rows.push(row);
    }
    const cmp = SORTERS[state.sort] ?? SORTERS.identity;
    rows.sort(state.dir > 0 ? cmp : (a, b) => cmp(b, a));
    view = rows;
    table.setItems(view);
    shown.textContent = `${fmtNum(view.length)} of ${fmtNum(state.rows.size)} stations`;
  }

  function updateCounts() {
    const c = { connected: 0, available: 0, charging: 0, faulted: 0, offline: 0, total: state.rows.size };
    for (const row of state.rows.values()) {
      if (row.connected) c.connected++;
      if (row.status === 'Available') c.available++;
      else if (row.status === 'Charging') c.charging++;
      else if (row.status === 'Faulted') c.faulted++;
      else if (row.status === 'Offline') c.offline++;
    }
    for (const [k, v] of Object.entries(c)) counts[k].textContent = fmtNum(v);
  }

  async function load() {
    clearTimeout(timer);
    if (ac.signal.aborted) return;
    if (document.hidden) {
      timer = setTimeout(load, 1000);
      return;
    }
    const started = performance.now();
    try {
      const stations = await readFleet(ac.signal);
      const next = new Map();
      for (const s of stations) next.set(s.identity, toRow(s, state.rows.get(s.identity)));
      state.rows = next;
      state.loadedAt = Date.now();
      errorEl.textContent = '';
      updateCounts();
      refreshView();
      updated.textContent = `updated ${fmtTime(Date.now()).slice(11)}`;
    } catch (error) {
      if (ac.signal.aborted) return;
      errorEl.textContent = error.status ? `Cannot read the station list: ${error.message}` : '';
    }
    const took = performance.now() - started;
    timer = setTimeout(load, Math.max(MIN_PERIOD_MS, took * 10));
  }

  // Relative times ("5 s ago") tick without a fetch: only visible rows are re-bound.
  const tick = setInterval(() => table.render(), 1000);
  if (state.rows.size > 0) {
    updateCounts();
    refreshView();
  }
  load();

  const offMetrics = metricsFeed.subscribe((feed) => {
    const hist = feed.history;
    const t = hist.map((p) => p.t);
    msgChart.set(t, [hist.map((p) => p.inRate), hist.map((p) => p.outRate)]);
    connChart.set(t, [hist.map((p) => p.connected)]);
    latChart.set(t, [hist.map((p) => p.req[0.5] ?? null), hist.map((p) => p.req[0.9] ?? null), hist.map((p) => p.req[0.99] ?? null)]);
    cmdChart.set(t, [hist.map((p) => p.cmd[0.5] ?? null), hist.map((p) => p.cmd[0.99] ?? null)]);
    metricsNote.textContent = feed.status === 'off' ? 'Metrics are off (metrics.enable).' : '';
  });
  charts.after(metricsNote);
  const offConn = connection.subscribe((online) => online && load());

  return () => {
    ac.abort();
    clearTimeout(timer);
    clearInterval(tick);
    offMetrics();
    offConn();
  };
}
