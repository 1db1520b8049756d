// Live log: every OCPP message in and out (/ws/log), newest first, in a virtual table. Filters by station,
// action, direction and message type; pause (the view freezes, entries keep arriving into the buffer);
// clear; CSV export of what the filters show. The buffer keeps the last 20,000 entries.
import { connection } from './api.js';
import { h, fmtClock, fmtNum, debounce } from './dom.js';
import { VirtualTable, setText, setBadge as badge } from './vtable.js';
import { LiveLog } from './livelog.js';

const KEEP = 20000;
const TYPES = ['CALL', 'CALLRESULT', 'CALLERROR', 'CALLRESULTERROR', 'SEND'];

// Compact payload text per entry, made once when first shown (entries are not modified).
const payloadTexts = new WeakMap();
function payloadText(e) {
  let text = payloadTexts.get(e);
  if (text === undefined) payloadTexts.set(e, (text = JSON.stringify(e.payload).slice(0, 300)));
  return text;
}

export function logPage(main, params) {
  const state = { identity: params.get('identity') ?? '', action: '', direction: '', type: '', paused: false };
  let buffer = []; // oldest first
  let view = []; // newest first, filtered
  let seen = 0;
  let missed = 0;
  const actions = new Set();
  let selected = null;

  const idInput = h('input#lf-id', { type: 'search', value: state.identity, placeholder: 'identity contains…', on: { input: debounce((e) => set('identity', e.target.value.trim()), 150) } });
  const actionList = h('datalist#lf-actions');
  const actionInput = h('input#lf-action', { type: 'search', list: 'lf-actions', placeholder: 'any', on: { input: debounce((e) => set('action', e.target.value.trim()), 150) } });
  const dirSel = h('select#lf-dir', { on: { change: (e) => set('direction', e.target.value) } }, h('option', { value: '', text: 'both' }), h('option', { value: 'in', text: 'in (from stations)' }), h('option', { value: 'out', text: 'out (to stations)' }));
  const typeSel = h('select#lf-type', { on: { change: (e) => set('type', e.target.value) } }, h('option', { value: '', text: 'all' }), TYPES.map((t) => h('option', { value: t, text: t })));
  const pauseBtn = h('button', { type: 'button', 'aria-pressed': 'false', text: 'Pause', on: { click: togglePause } });
  const clearBtn = h('button', { type: 'button', text: 'Clear', on: { click: clearAll } });
  const csvBtn = h('button', { type: 'button', text: 'Export CSV', on: { click: exportCsv } });
  const stateEl = h('span.muted#log-state', { role: 'status' });
  const countEl = h('span', { 'aria-live': 'off' });
  const detail = h('pre.json', { tabindex: 0, 'aria-label': 'Selected message', text: 'Select a message to see it in full.' });

  const table = new VirtualTable({
    label: 'Live log, newest first',
    empty: 'No messages yet. They appear here as stations talk to the router.',
    rowHeight: 30,
    height: 'max(300px, calc(100vh - 430px))',
    onRowClick: (item) => {
      selected = item;
      detail.textContent = JSON.stringify(item, null, 2);
      table.render();
    },
    columns: [
      { key: 'ts', label: 'Time', width: '110px', render: (c, e) => setText(c, fmtClock(e.ts)) },
      { key: 'identity', label: 'Station', width: 'minmax(100px, 1fr)', render: renderStation },
      { key: 'direction', label: 'Dir', width: '70px', render: (c, e) => badge(c, e.direction, e.direction === 'in' ? 'in ←' : 'out →') },
      { key: 'messageType', label: 'Type', width: '130px', render: (c, e) => badge(c, e.messageType, e.messageType) },
      { key: 'action', label: 'Action', width: 'minmax(120px, 1fr)', render: (c, e) => setText(c, e.action ?? '') },
      { key: 'uniqueId', label: 'Unique id', width: 'minmax(90px, .8fr)', render: (c, e) => setText(c, e.uniqueId) },
      { key: 'payload', label: 'Payload', width: 'minmax(160px, 3fr)', render: (c, e) => setText(c, payloadText(e)) },
    ],
  });
  table.bindRow = (row, item) => row.classList.toggle('selected', item === selected);
  table.foot.append(countEl);
  table.body.classList.add('mono');

  function renderStation(cell, e) {
    let a = cell.firstChild;
    if (a === null) cell.append((a = h('a')));
    const href = `#/station/${encodeURIComponent(e.identity)}`;
    if (a.getAttribute('href') !== href) a.setAttribute('href', href);
    setText(a, e.identity);
  }

  const field = (id, label, control) => h('div.field', h('label', { for: id, text: label }), control);
  main.append(
    h('div.row', h('h1', 'Live log'), h('span.spacer'), stateEl),
    h(
      'section.panel',
      { 'aria-label': 'Live log' },
      h('div.filters', { role: 'search', 'aria-label': 'Filter messages' }, field('lf-id', 'Station', idInput), field('lf-action', 'Action', actionInput), actionList, field('lf-dir', 'Direction', dirSel), field('lf-type', 'Type', typeSel), h('span.spacer'), pauseBtn, clearBtn, csvBtn),
      table.el,
      h('h2', { style: { 'margin-top': '1rem' } }, 'Message'),
      detail,
    ),
  );

  function matches(e) {
    if (state.identity && !e.identity.toLowerCase().includes(state.identity.toLowerCase())) return false;
    if (state.action && (e.action ?? '').toLowerCase() !== state.action.toLowerCase() && !(e.action ?? '').toLowerCase().startsWith(state.action.toLowerCase())) return false;
    if (state.direction && e.direction !== state.direction) return false;
    if (state.type && e.messageType !== state.type) return false;
    return true;
  }

  function rebuild() {
    view = [];
    for (let i = buffer.length - 1; i >= 0; i--) if (matches(buffer[i])) view.push(buffer[i]);
    table.setItems(view);
    counts();
  }

  function counts() {
    countEl.textContent = `${fmtNum(view.length)} shown · ${fmtNum(buffer.length)} kept · ${fmtNum(seen)} received${state.paused && missed ? ` · ${fmtNum(missed)} new while paused` : ''}`;
  }

  function set(key, value) {
    state[key] = value;
    rebuild();
  }

  function togglePause() {
    state.paused = !state.paused;
    pauseBtn.setAttribute('aria-pressed', String(state.paused));
    pauseBtn.textContent = state.paused ? 'Resume' : 'Pause';
    if (!state.paused) {
      missed = 0;
      rebuild();
    } else counts();
  }

  function clearAll() {
    buffer = [];
    view = [];
    missed = 0;
    selected = null;
    detail.textContent = 'Select a message to see it in full.';
    table.setItems(view);
    counts();
  }

  function exportCsv() {
    const cell = (v) => {
      let s = v === null || v === undefined ? '' : String(v);
      // Spreadsheet formula injection: a cell may not start with = + - @ (identities may).
      if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`;
      return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
    };
    const lines = ['time,ts,identity,direction,messageType,uniqueId,action,payload'];
    for (let i = view.length - 1; i >= 0; i--) {
      const e = view[i];
      lines.push([new Date(e.ts).toISOString(), e.ts, e.identity, e.direction, e.messageType, e.uniqueId, e.action, JSON.stringify(e.payload)].map(cell).join(','));
    }
    const blob = new Blob([`${lines.join('\r\n')}\r\n`], { type: 'text/csv;charset=utf-8' });
    const a = h('a', { href: URL.createObjectURL(blob), download: `ocpp-log-${new Date().toISOString().replace(/[:.]/g, '-')}.csv` });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(a.href), 10000);
  }

  const log = new LiveLog({
    onState: (s) => (stateEl.textContent = s === 'open' ? 'connected' : s === 'connecting' ? 'connecting…' : 'disconnected, reconnecting…'),
    onEntries: (batch) => {
      seen += batch.length;
      let newActions = false;
      for (const e of batch) {
        buffer.push(e);
        if (e.action && !actions.has(e.action)) {
          actions.add(e.action);
          newActions = true;
        }
      }
      if (buffer.length > KEEP) buffer = buffer.slice(buffer.length - KEEP);
      if (newActions) actionList.replaceChildren(...[...actions].sort().map((a) => h('option', { value: a })));
      if (state.paused) {
        missed += batch.length;
        counts();
        return;
      }
      // Newest first: prepend the batch's matches, drop what fell out of the buffer.
      const add = [];
      for (let i = batch.length - 1; i >= 0; i--) if (matches(batch[i])) add.push(batch[i]);
      if (add.length > 0) {
        view = add.concat(view);
        if (view.length > KEEP) view.length = KEEP;
        // Keep the rows the reader looks at in place when scrolled down.
        const keep = table.body.scrollTop > 0;
        table.setItems(view);
        if (keep) table.body.scrollTop += add.length * table.rowHeight;
      }
      counts();
    },
  });
  const offConn = connection.subscribe((online) => online && log.reconnect());
  rebuild();
  return () => {
    log.close();
    offConn();
  };
}
