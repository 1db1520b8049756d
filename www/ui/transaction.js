// Transaction detail: its fields, a chart of the energy charged (Energy.Active.Import.Register minus the start
// reading) and the power (Power.Active.Import) over the transaction, every meter value in a virtual table (filter
// by measurand, CSV from the server) and the 2.x transaction events. A running transaction follows its station's
// live log: each MeterValues / TransactionEvent / StopTransaction answered reads the transaction again.
import { api, connection, downloadLink, isStoreOff } from './api.js';
import { h, clear, fmtTime, fmtNum, fmtEnergy, fmtPower, fmtDuration, fmtClock } from './dom.js';
import { VirtualTable, setText } from './vtable.js';
import { TimeChart } from './chart.js';
import { LiveLog } from './livelog.js';
import { lastListHash } from './transactions.js';

const ENERGY = 'Energy.Active.Import.Register';
const POWER = 'Power.Active.Import';
const TO_BASE = { Wh: 1, kWh: 1000, W: 1, kW: 1000 };
const RELOAD_ON = new Set(['MeterValues', 'StopTransaction', 'TransactionEvent']);
const MIN_RELOAD_MS = 2000;
const POLL_MS = 30000;

/**
 * Samples of one measurand as [[t, value in base units]] sorted by time: the totals (no phase) when there are
 * any, otherwise the sum of the phases at each time; one value per timestamp (the last).
 */
export function samplesOf(meterValues, measurand) {
  const rows = meterValues.filter((m) => m.measurand === measurand && m.value !== null);
  const totals = rows.filter((m) => !m.phase);
  const byTs = new Map();
  if (totals.length > 0) for (const m of totals) byTs.set(m.ts, m.value * (TO_BASE[m.unit] ?? 1));
  else for (const m of rows) byTs.set(m.ts, (byTs.get(m.ts) ?? 0) + m.value * (TO_BASE[m.unit] ?? 1));
  return [...byTs].sort((a, b) => a[0] - b[0]);
}

/** Energy charged over time: register readings minus the start reading, with the start and stop readings. */
export function energyCurve(tx) {
  const reg = samplesOf(tx.meterValues, ENERGY);
  const base = tx.meterStart ?? (reg.length > 0 ? reg[0][1] : null);
  if (base === null) return [];
  const pts = reg.map(([t, v]) => [t, v - base]);
  if (tx.startedAt !== null && tx.meterStart !== null && !pts.some(([t]) => t === tx.startedAt)) pts.push([tx.startedAt, 0]);
  if (tx.stoppedAt !== null && tx.meterStop !== null && !pts.some(([t]) => t === tx.stoppedAt)) pts.push([tx.stoppedAt, tx.meterStop - base]);
  return pts.sort((a, b) => a[0] - b[0]);
}

export function transactionPage(main, id) {
  const ac = new AbortController();
  let tx = null;
  let live = null;
  let timer = null;
  let lastLoad = 0;
  let pending = null;
  let measurand = '';

  const badgeEl = h('span.badge', { text: '…' });
  const title = h('h1', `Transaction ${id} `, badgeEl);
  const statusEl = h('p', { role: 'status' });
  const info = h('div');
  const liveEl = h('span.muted.small', { role: 'status' });
  const chart = new TimeChart({
    label: `Energy and power of transaction ${id}`,
    series: [
      { name: 'energy charged', cls: 'tc-energy', axis: 'left', format: fmtEnergy },
      { name: 'power', cls: 'tc-power', axis: 'right', format: fmtPower },
    ],
  });
  const chartNote = h('p.muted.small');
  const mvCount = h('span');
  const mvFilter = h('select#mv-measurand', { on: { change: (e) => ((measurand = e.target.value), showValues()) } }, h('option', { value: '', text: 'all' }));
  const mvCsv = downloadLink(h('a.button', { href: `/api/v1/transactions/${encodeURIComponent(id)}?format=csv`, text: 'Export CSV' }), `transaction-${id}-meter-values.csv`, (m) => (statusEl.textContent = `Export failed: ${m}`));
  const mvTable = new VirtualTable({
    label: 'Meter values, oldest first',
    empty: 'No meter values for this transaction.',
    rowHeight: 30,
    height: 'min(420px, max(240px, calc(100vh - 520px)))',
    columns: [
      { key: 'ts', label: 'Time', width: '210px', render: (c, m) => setText(c, `${fmtTime(m.ts).slice(0, 10)} ${fmtClock(m.ts)}`) },
      { key: 'measurand', label: 'Measurand', width: 'minmax(160px, 1.5fr)', render: (c, m) => setText(c, m.measurand) },
      { key: 'phase', label: 'Phase', width: '70px', render: (c, m) => setText(c, m.phase ?? '') },
      { key: 'value', label: 'Value', width: 'minmax(90px, 1fr)', render: (c, m) => setText(c, m.value !== null ? fmtNum(m.value, 3) : (m.text ?? '')) },
      { key: 'unit', label: 'Unit', width: '70px', render: (c, m) => setText(c, m.unit ?? '') },
      { key: 'context', label: 'Context', width: 'minmax(110px, 1fr)', render: (c, m) => setText(c, m.context ?? '') },
      { key: 'location', label: 'Location', width: '90px', render: (c, m) => setText(c, m.location ?? '') },
    ],
  });
  mvTable.body.classList.add('mono');
  mvTable.foot.append(mvCount);
  const eventsBody = h('tbody');
  const eventsPanel = h(
    'section.panel',
    { 'aria-labelledby': 'tx-ev', hidden: true },
    h('h2#tx-ev', 'Transaction events'),
    h('table.plain', h('caption.sr-only', 'Transaction events'), h('thead', h('tr', ['Seq', 'Event', 'Trigger', 'At'].map((x) => h('th', { scope: 'col', text: x })))), eventsBody),
  );
  const content = h(
    'div',
    { hidden: true },
    h(
      'div.grid.tx-top',
      h('section.panel', { 'aria-labelledby': 'tx-info' }, h('h2#tx-info', 'Transaction'), info),
      h('section.panel', { 'aria-labelledby': 'tx-chart' }, h('div.row', h('h2#tx-chart', 'Energy and power'), h('span.spacer'), liveEl), chart.el, chartNote),
    ),
    h(
      'section.panel',
      { 'aria-labelledby': 'tx-mv' },
      h('div.row', h('h2#tx-mv', 'Meter values'), h('span.spacer'), h('div.field.inline', h('label', { for: 'mv-measurand', text: 'Measurand' }), mvFilter), mvCsv),
      mvTable.el,
    ),
    eventsPanel,
  );
  main.append(h('p', h('a', { href: lastListHash, text: '← Transactions' })), title, statusEl, content);

  function kv(pairs) {
    const dl = h('dl.kv');
    for (const [k, v] of pairs) dl.append(h('dt', k), h('dd', { dataset: { k } }, v instanceof Node ? v : v === null || v === undefined || v === '' ? '—' : String(v)));
    return dl;
  }

  function durationText(t) {
    if (t.startedAt === null) return '—';
    return t.open ? `${fmtDuration(Date.now() - t.startedAt)} (running)` : fmtDuration((t.stoppedAt ?? t.startedAt) - t.startedAt);
  }

  function render(t) {
    badgeEl.className = `badge ${t.open ? 'Charging' : 'done'}`;
    badgeEl.textContent = t.open ? 'open' : 'finished';
    const power = samplesOf(t.meterValues, POWER);
    const lastPower = power.length > 0 ? power[power.length - 1] : null;
    clear(info).append(
      kv([
        ['Station', h('a', { href: `#/station/${encodeURIComponent(t.identity)}`, text: t.identity })],
        ['Transaction id', t.transactionId],
        ['Connector', t.connector],
        ['Id tag', t.idTag],
        ['Authorization', t.authStatus],
        ['Reservation', t.reservationId],
        ['Started', fmtTime(t.startedAt)],
        ['Stopped', t.open ? 'running' : fmtTime(t.stoppedAt)],
        ['Duration', durationText(t)],
        ['Meter start', t.meterStart === null ? null : `${fmtNum(t.meterStart)} Wh`],
        ['Meter stop', t.meterStop === null ? null : `${fmtNum(t.meterStop)} Wh`],
        [t.open ? 'Energy so far' : 'Energy', fmtEnergy(t.energyWh)],
        ...(t.open ? [['Power now', lastPower === null ? null : `${fmtPower(lastPower[1])} (${fmtClock(lastPower[0])})`]] : []),
        ['Stop reason', t.open ? null : t.stopReason],
        ...(t.chargingState ? [['Charging state', t.chargingState]] : []),
        ['Store id', t.id],
      ]),
    );
    const energy = energyCurve(t);
    const times = [...energy, ...power].map(([x]) => x);
    const x0 = Math.min(t.startedAt ?? Infinity, ...times);
    const x1 = Math.max(t.open ? Date.now() : (t.stoppedAt ?? -Infinity), ...times);
    chart.set([energy, power], Number.isFinite(x0) ? x0 : Date.now(), Number.isFinite(x1) ? x1 : Date.now());
    chartNote.textContent =
      energy.length + power.length === 0
        ? 'No energy register or power readings for this transaction.'
        : `Energy: ${ENERGY} minus the start reading (${energy.length} points); power: ${POWER} (${power.length} samples). Point at the chart for the values at a time.`;
    // Measurands seen, for the filter.
    const seen = [...new Set(t.meterValues.map((m) => m.measurand))].sort();
    const current = [...mvFilter.options].slice(1).map((o) => o.value);
    if (seen.join('\n') !== current.join('\n')) {
      mvFilter.replaceChildren(h('option', { value: '', text: 'all' }), ...seen.map((m) => h('option', { value: m, text: m, selected: m === measurand })));
      if (!seen.includes(measurand)) measurand = '';
    }
    showValues();
    clear(eventsBody);
    eventsPanel.hidden = t.events.length === 0;
    for (const e of t.events) eventsBody.append(h('tr', h('td', { text: String(e.seqNo) }), h('td', h(`span.badge.${e.eventType === 'Ended' ? 'done' : 'Charging'}`, { text: e.eventType })), h('td', { text: e.triggerReason }), h('td', { text: fmtTime(e.at) })));
  }

  function showValues() {
    const rows = measurand === '' ? tx.meterValues : tx.meterValues.filter((m) => m.measurand === measurand);
    mvTable.setItems(rows);
    mvCount.textContent = `${fmtNum(rows.length)} of ${fmtNum(tx.meterValues.length)} meter values`;
  }

  async function load() {
    clearTimeout(timer);
    pending = null;
    if (ac.signal.aborted) return;
    lastLoad = Date.now();
    try {
      // Following a transaction: only the meter values sampled after the last one shown.
      const lastTs = tx?.meterValues.at(-1)?.ts;
      const r = await api(`/api/v1/transactions/${encodeURIComponent(id)}${lastTs === undefined ? '' : `?since=${lastTs}`}`, { signal: ac.signal });
      if (isStoreOff(r)) {
        statusEl.textContent = 'The store is off (store.engine: "off"): the router keeps no transactions.';
        content.hidden = true;
      } else if (r.status === 404 || r.status === 400) {
        statusEl.textContent = r.status === 404 ? `No transaction ${id} in the store.` : `"${id}" is not a transaction id.`;
        badgeEl.hidden = true;
        content.hidden = true;
      } else if (!r.ok) {
        statusEl.textContent = `Cannot read the transaction: ${r.data?.error?.message ?? `HTTP ${r.status}`}`;
      } else {
        statusEl.textContent = '';
        tx = lastTs === undefined ? r.data : { ...r.data, meterValues: [...tx.meterValues, ...r.data.meterValues] };
        content.hidden = false;
        render(tx);
        follow(tx);
      }
    } catch {
      /* offline: the banner says so */
    }
    if (!ac.signal.aborted && tx?.open) timer = setTimeout(load, POLL_MS);
  }

  /** While the transaction runs, its station's live log says when to read it again. */
  function follow(t) {
    if (!t.open) {
      live?.close();
      live = null;
      liveEl.textContent = '';
      return;
    }
    live ??= new LiveLog({
      identity: t.identity,
      onState: (s) => (liveEl.textContent = s === 'open' ? 'live' : s === 'connecting' ? 'connecting…' : 'live log disconnected'),
      onEntries: (batch) => {
        if (batch.some((e) => e.identity === t.identity && e.direction === 'out' && e.messageType === 'CALLRESULT' && RELOAD_ON.has(e.action))) soon();
      },
    });
  }

  /** Reads again at most every MIN_RELOAD_MS (a station sending meter values every second stays cheap). */
  function soon() {
    if (pending !== null) return;
    pending = setTimeout(load, Math.max(200, MIN_RELOAD_MS - (Date.now() - lastLoad)));
  }

  const tick = setInterval(() => {
    if (tx?.open) {
      const dd = info.querySelector('dd[data-k="Duration"]');
      if (dd) setText(dd, durationText(tx));
    }
  }, 1000);
  const offConn = connection.subscribe((online) => online && load());
  load();
  return () => {
    ac.abort();
    clearTimeout(timer);
    clearTimeout(pending);
    clearInterval(tick);
    live?.close();
    offConn();
  };
}
