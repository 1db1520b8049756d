// Station page: connection details, boot information, connectors with live status (unknown while offline), its
// open transactions (from the store), recent messages (the store's journal of its requests, then the live log
// for this identity on top), and a command panel with every central-system operation of the station's OCPP
// version, each with a form generated from its official request schema; the result shows the request and the
// station's answer (or why there is none). An identity the router does not know shows only that.
import { api, getJson, connection, isStoreOff } from './api.js';
import { h, clear, fmtTime, fmtShort, fmtAgo, fmtClock, fmtEnergy, fmtPower, fmtDuration, debounce } from './dom.js';
import { schemaForm } from './schema-form.js';
import { LiveLog } from './livelog.js';
import { connectorKeys } from './status.js';
import { stationStatus } from './status.js';
import { flexibilityPanel } from './flexibility.js';

const RECENT = 200;
const STORED = 100;
const REFRESH_MS = 5000;
const TX_REFRESH_MS = 30000;
const TX_MIN_MS = 3000;
const TX_ACTIONS = new Set(['StartTransaction', 'StopTransaction', 'TransactionEvent', 'MeterValues']);
let schemaIndex = null;
const schemaCache = new Map();

async function operations(version) {
  schemaIndex ??= getJson('/ui/schemas/index.json').catch((e) => {
    schemaIndex = null;
    throw e;
  });
  return (await schemaIndex)[version] ?? [];
}

async function requestSchema(version, action) {
  const key = `${version}/${action}`;
  if (!schemaCache.has(key)) schemaCache.set(key, getJson(`/ui/schemas/${encodeURIComponent(version)}/${encodeURIComponent(action)}.json`));
  try {
    return await schemaCache.get(key);
  } catch (e) {
    schemaCache.delete(key);
    throw e;
  }
}

function kv(pairs) {
  const dl = h('dl.kv');
  for (const [k, v] of pairs) dl.append(h('dt', k), h('dd', v instanceof Node ? v : v === null || v === undefined || v === '' ? '—' : String(v)));
  return dl;
}

export function stationPage(main, identity) {
  const ac = new AbortController();
  let timer = null;
  let station = null;
  let version = null;

  const title = h('h1', identity, ' ', h('span.badge', { text: '…' }));
  const notFound = h('div', { role: 'status' });
  const connPanel = h('section.panel', { 'aria-labelledby': 'sp-conn' }, h('h2#sp-conn', 'Connection'));
  const bootPanel = h('section.panel', { 'aria-labelledby': 'sp-boot' }, h('h2#sp-boot', 'Boot'));
  const connBody = h('div');
  const bootBody = h('div');
  connPanel.append(connBody);
  bootPanel.append(bootBody);
  const connectorsBody = h('tbody');
  const connectorsPanel = h(
    'section.panel',
    { 'aria-labelledby': 'sp-cons' },
    h('h2#sp-cons', 'Connectors'),
    h('table.plain', h('caption.sr-only', 'Connector statuses'), h('thead', h('tr', h('th', { scope: 'col', text: 'Connector' }), h('th', { scope: 'col', text: 'Status' }), h('th', { scope: 'col', text: 'Error code' }), h('th', { scope: 'col', text: 'Since' }))), connectorsBody),
  );
  const txBody = h('div');
  const txPanel = h(
    'section.panel',
    { 'aria-labelledby': 'sp-tx' },
    h('div.row', h('h2#sp-tx', 'Transactions'), h('span.spacer'), h('a', { href: `#/transactions?identity=${encodeURIComponent(identity)}`, text: 'All transactions of this station' })),
    txBody,
  );
  const cmdPanel = h('section.panel', { 'aria-labelledby': 'sp-cmd' }, h('h2#sp-cmd', 'Commands'));
  const recentBody = h('tbody');
  const logState = h('span.muted.small', { role: 'status' });
  const storedNote = h('p.muted.small');
  const recentPanel = h(
    'section.panel',
    { 'aria-labelledby': 'sp-log' },
    h('div.row', h('h2#sp-log', 'Recent messages'), h('span.spacer'), logState, h('a', { href: `#/log?identity=${encodeURIComponent(identity)}`, text: 'Open in live log' })),
    storedNote,
    h('div', { style: { 'max-height': '420px', overflow: 'auto' } }, h('table.plain.mono', h('caption.sr-only', 'Recent messages, newest first'), h('thead', h('tr', ['Time', 'Dir', 'Type', 'Action', 'Id', 'Payload'].map((x) => h('th', { scope: 'col', text: x })))), recentBody)),
  );
  const flex = flexibilityPanel(identity, ac.signal);
  const body = h('div', { hidden: true }, h('div.grid.cols-3', connPanel, bootPanel, connectorsPanel), h('div', { style: { height: '1rem' } }), txPanel, flex.panel, cmdPanel, recentPanel);
  main.append(h('p', h('a', { href: '#/', text: '← Fleet' })), title, notFound, body);

  function render(s) {
    const status = stationStatus(s);
    const badge = title.querySelector('.badge');
    badge.className = `badge ${status}`;
    badge.textContent = status;
    clear(connBody).append(
      kv([
        ['Connected', s.connected ? 'yes' : 'no'],
        ['OCPP version', s.version],
        ['Transport', s.transport],
        ['Remote address', s.remoteAddress],
        ['Account', s.account ?? '—'],
        ['Shard', s.shard ?? '—'],
        ['Connected at', fmtTime(s.connectedAt)],
        ['Disconnected at', fmtTime(s.disconnectedAt)],
        ['Last disconnect', s.lastDisconnect ? `${s.lastDisconnect.code} ${s.lastDisconnect.reason}` : '—'],
        ['Last message', s.lastMessageAt ? `${fmtTime(s.lastMessageAt)} (${fmtAgo(s.lastMessageAt)})` : '—'],
      ]),
    );
    const boot = s.boot;
    clear(bootBody);
    if (!boot) bootBody.append(h('p.muted', 'No BootNotification yet.'));
    else {
      bootBody.append(kv([['Status', h(`span.badge.${boot.status}`, { text: boot.status })], ['At', fmtTime(boot.at)]]));
      bootBody.append(h('h3', 'Payload'), kv(flatten(boot.payload)));
    }
    clear(connectorsBody);
    const keys = connectorKeys(s.connectors);
    if (keys.length === 0) connectorsBody.append(h('tr', h('td', { colspan: 4, class: 'muted', text: 'No StatusNotification yet.' })));
    // Offline, nobody knows what a connector does now: its last report is only a hint.
    for (const k of keys) {
      const c = s.connectors[k];
      const status = s.connected
        ? h('td', h(`span.badge.${c.status}`, { text: c.status }))
        : h('td', h('span.badge.Unknown', { text: 'Unknown (offline)' }), h('span.muted.small.last-status', { text: ` last reported ${c.status}` }));
      connectorsBody.append(h('tr', { dataset: { connector: k } }, h('th', { scope: 'row', text: k === '0' ? '0 (station)' : k }), status, h('td', { text: s.connected ? (c.errorCode ?? '—') : '—' }), h('td', { text: fmtShort(c.at) })));
    }
  }

  function unknown() {
    body.hidden = true;
    if (notFound.dataset.state === 'unknown') return;
    notFound.dataset.state = 'unknown';
    const badge = title.querySelector('.badge');
    badge.className = 'badge bad';
    badge.textContent = 'unknown station';
    clear(notFound).append(
      h('section.panel.notice', h('h2', 'Unknown station'), h('p', `The router does not know a station "${identity}": it never connected, or it was removed.`), h('p', 'This page shows it as soon as it connects. ', h('a', { href: '#/', text: 'Back to the fleet' }))),
    );
  }

  /** The first read that finds the station starts what only a known station needs. */
  let started = false;
  function known() {
    delete notFound.dataset.state;
    clear(notFound);
    body.hidden = false;
    if (started) return;
    started = true;
    startLog();
    loadStored();
    loadTx();
    flex.refresh();
  }

  async function load() {
    clearTimeout(timer);
    if (ac.signal.aborted) return;
    try {
      const r = await api(`/api/v1/stations/${encodeURIComponent(identity)}`, { signal: ac.signal });
      if (r.status === 404) {
        unknown();
      } else if (r.ok) {
        station = r.data;
        known();
        render(station);
        renderTx();
        if (version !== station.version) {
          version = station.version;
          buildCommands(version);
        }
      } else clear(notFound).append(h('p', r.data?.error?.message ?? `HTTP ${r.status}`));
    } catch {
      /* offline: the banner says so */
    }
    if (!ac.signal.aborted) timer = setTimeout(load, REFRESH_MS);
  }
  const soon = debounce(load, 150);

  // --- commands
  async function buildCommands(v) {
    const ops = await operations(v).catch(() => null);
    clear(cmdPanel).append(h('h2#sp-cmd', `Commands (${v})`));
    if (ops === null) {
      cmdPanel.append(h('p', 'The operation list could not be read.'));
      return;
    }
    const filter = h('input#op-filter', { type: 'search', placeholder: 'filter…' });
    const list = h('ul');
    const buttons = [];
    const formArea = h('div', { 'aria-live': 'off' });
    for (const op of ops) {
      const b = h('button', { type: 'button', text: op, dataset: { op }, on: { click: () => choose(op) } });
      buttons.push(b);
      list.append(h('li', b));
    }
    // Arrow keys move through the list (one tab stop for the whole list).
    list.addEventListener('keydown', (e) => {
      if (e.key !== 'ArrowDown' && e.key !== 'ArrowUp') return;
      const visible = buttons.filter((b) => !b.parentElement.hidden);
      const i = visible.indexOf(document.activeElement);
      const next = visible[Math.max(0, Math.min(visible.length - 1, i + (e.key === 'ArrowDown' ? 1 : -1)))];
      next?.focus();
      e.preventDefault();
    });
    filter.addEventListener('input', () => {
      const q = filter.value.toLowerCase();
      for (const b of buttons) b.parentElement.hidden = !b.dataset.op.toLowerCase().includes(q);
    });
    cmdPanel.append(
      h('div.cmd', h('div', h('div.field', h('label', { for: 'op-filter', text: `Operations (${ops.length})` }), filter), h('nav.ops', { 'aria-label': 'Operations' }, list)), formArea),
    );
    let current = 0;
    async function choose(op) {
      const n = ++current;
      for (const b of buttons) b.setAttribute('aria-current', String(b.dataset.op === op));
      clear(formArea).append(h('p.muted', `Loading the ${op} schema…`));
      let schema;
      try {
        schema = await requestSchema(v, op);
      } catch (e) {
        if (n === current) clear(formArea).append(h('p', `Cannot read the ${op} request schema: ${e.message}`));
        return;
      }
      if (n !== current) return;
      clear(formArea).append(commandForm(op, schema));
      formArea.querySelector('input, select, textarea')?.focus();
    }
    const initial = ops.includes(v === 'ocpp1.6' ? 'RemoteStartTransaction' : 'RequestStartTransaction') ? (v === 'ocpp1.6' ? 'RemoteStartTransaction' : 'RequestStartTransaction') : ops[0];
    if (initial) {
      await choose(initial);
      document.activeElement?.blur?.();
    }
  }

  let exchanges = 0;
  function commandForm(op, schema) {
    const sf = schemaForm(schema);
    const jsonId = `json-${op}`;
    const jsonArea = h(`textarea#${jsonId}`, { rows: 10, spellcheck: 'false', 'aria-describedby': `${jsonId}-hint` });
    const jsonToggle = h('input#json-mode', { type: 'checkbox' });
    const jsonBox = h('div.field', { hidden: true }, h('label', { for: jsonId, text: 'Payload (JSON)' }), jsonArea, h('span.hint', { id: `${jsonId}-hint`, text: 'Sent as it is; the router validates it against the schema first.' }));
    jsonToggle.addEventListener('change', () => {
      if (jsonToggle.checked) jsonArea.value = JSON.stringify(sf.value(), null, 2);
      jsonBox.hidden = !jsonToggle.checked;
      sf.el.hidden = jsonToggle.checked;
    });
    const send = h('button.primary', { type: 'submit', text: `Send ${op}` });
    const result = h('div.result', { 'aria-live': 'polite' });
    const form = h(
      'form.command-form',
      { 'aria-label': `${op} command`, novalidate: true },
      h('h3', op),
      sf.el,
      jsonBox,
      h('div.row', send, h('label.check', jsonToggle, 'Edit as JSON')),
      result,
    );
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      let payload;
      if (jsonToggle.checked) {
        try {
          payload = JSON.parse(jsonArea.value || '{}');
        } catch (err) {
          clear(result).append(h('p.status-line.bad', `The JSON does not parse: ${err.message}`));
          jsonArea.focus();
          return;
        }
      } else {
        if (!form.reportValidity()) return;
        payload = sf.value();
      }
      send.disabled = true;
      clear(result).append(h('p.muted', `Sending ${op}…`));
      try {
        const r = await api(`/api/v1/ChargePoint/${encodeURIComponent(identity)}/${encodeURIComponent(op)}`, { method: 'POST', body: payload });
        const action = r.headers.get('X-OCPP-Action');
        const translated = r.headers.get('X-OCPP-Translated-From');
        const answer = answerOf(r);
        const n = ++exchanges;
        clear(result).append(
          h(
            `p.status-line.${r.ok ? 'ok' : 'bad'}`,
            { dataset: { status: r.status } },
            `HTTP ${r.status} · ${Math.round(r.ms)} ms`,
            action ? ` · sent ${action}` : '',
            translated ? ` (from ${translated})` : '',
          ),
          h(
            'div.exchange',
            h(
              'section.request',
              { 'aria-labelledby': `req-${n}` },
              h(`h4#req-${n}`, 'Request', h('span.muted', { text: ` · ${action ?? op}${translated ? `, translated from ${translated}` : ''}` })),
              h('pre.json.request', { tabindex: 0, 'aria-labelledby': `req-${n}`, text: JSON.stringify(payload, null, 2) }),
            ),
            h(
              `section.answer.${answer.kind}`,
              { 'aria-labelledby': `ans-${n}`, dataset: { kind: answer.kind } },
              h(`h4#ans-${n}`, answer.label),
              answer.note ? h('p.small.muted', answer.note) : null,
              h('pre.json.response', { tabindex: 0, 'aria-labelledby': `ans-${n}`, text: typeof r.data === 'string' ? r.data : JSON.stringify(r.data, null, 2) }),
            ),
          ),
        );
      } catch (err) {
        clear(result).append(h('p.status-line.bad', `Not sent: ${err.message}`));
      } finally {
        send.disabled = false;
      }
      soon();
    });
    return form;
  }

  // --- transactions (from the store): the open ones with their energy so far, or the last one
  let txState = { loaded: false, off: false, error: null, open: [], last: null };
  let txTimer = null;
  let txPending = null;
  let txLoadedAt = 0;

  async function loadTx() {
    clearTimeout(txTimer);
    txPending = null;
    if (ac.signal.aborted) return;
    txLoadedAt = Date.now();
    const base = `/api/v1/transactions?identity=${encodeURIComponent(identity)}`;
    try {
      const r = await api(`${base}&open=true&limit=20`, { signal: ac.signal });
      if (isStoreOff(r)) txState = { loaded: true, off: true, error: null, open: [], last: null };
      else if (!r.ok) txState = { ...txState, loaded: true, error: r.data?.error?.message ?? `HTTP ${r.status}` };
      else {
        const open = r.data.items;
        let last = null;
        if (open.length === 0) {
          const l = await api(`${base}&limit=1`, { signal: ac.signal });
          if (l.ok) last = l.data.items[0] ?? null;
        }
        // The list carries energy so far, the last power reading and its time for running transactions.
        txState = { loaded: true, off: false, error: null, open, last };
      }
      renderTx();
    } catch {
      /* offline: the banner says so */
    }
    if (!ac.signal.aborted) txTimer = setTimeout(loadTx, TX_REFRESH_MS);
  }
  function txSoon() {
    if (txPending !== null || !started) return;
    txPending = setTimeout(loadTx, Math.max(300, TX_MIN_MS - (Date.now() - txLoadedAt)));
  }

  function renderTx() {
    if (!started) return;
    clear(txBody);
    if (!txState.loaded) {
      txBody.append(h('p.muted', 'Reading the transactions…'));
      return;
    }
    if (txState.off) {
      txBody.append(h('p.muted', 'The store is off (store.engine: "off"): the router keeps no transactions.'));
      return;
    }
    if (txState.error !== null) txBody.append(h('p.muted', `Cannot read the transactions: ${txState.error}`));
    if (txState.open.length === 0) {
      const l = txState.last;
      txBody.append(
        h(
          'p.no-open-tx',
          'No transaction running.',
          l ? [' Last: ', h('a', { href: `#/transactions/${l.id}`, text: `transaction ${l.id}` }), ` on connector ${l.connector ?? '—'}, ${l.open ? 'open' : `finished ${fmtShort(l.stoppedAt)}`}, ${fmtEnergy(l.energyWh)}.`] : '',
        ),
      );
      return;
    }
    if (station && !station.connected) txBody.append(h('p.muted.small', 'The station is offline: its transactions stay open until it reports their end.'));
    const rows = txState.open.map((t) => {
      const power = t.powerW === null || t.powerW === undefined ? null : { w: t.powerW, ts: t.lastMeterAt };
      return h(
        'tr',
        { dataset: { tx: t.id } },
        h('th', { scope: 'row' }, h('a', { href: `#/transactions/${t.id}`, text: `${t.id}` }), h('span.muted', { text: ` · ${t.transactionId}` })),
        h('td', { text: t.connector ?? '—' }),
        h('td', { text: t.idTag ?? '—' }),
        h('td', { text: `${fmtShort(t.startedAt)} (${fmtDuration(Date.now() - (t.startedAt ?? Date.now()))})` }),
        h('td.energy', { text: fmtEnergy(t.energyWh) }),
        h('td', power === null ? '—' : [fmtPower(power.w), h('span.muted.small', { text: ` at ${fmtClock(power.ts).slice(0, 8)}` })]),
      );
    });
    txBody.append(
      h(
        'table.plain.open-tx',
        h('caption.sr-only', 'Open transactions'),
        h('thead', h('tr', ['Transaction', 'Connector', 'Id tag', 'Started', 'Energy so far', 'Power (last reading)'].map((x) => h('th', { scope: 'col', text: x })))),
        h('tbody', rows),
      ),
    );
  }

  // --- recent messages: the store's journal (the station's requests with their answers), live entries on top
  const entries = []; // newest first
  const seen = new Set();
  const keyOf = (e) => `${e.direction}|${e.messageType}|${e.uniqueId}`;

  function rowOf(e) {
    return h(
      'tr',
      { dataset: { type: e.messageType, action: e.action ?? '', source: e.stored ? 'store' : 'live' }, title: e.stored ? 'from the store (journal)' : null },
      h('td', { text: fmtClock(e.ts) }),
      h('td', h(`span.badge.${e.direction}`, { text: e.direction === 'in' ? 'in ←' : 'out →' })),
      h('td', h(`span.badge.${e.messageType}`, { text: e.messageType })),
      h('td', { text: e.action ?? '' }),
      h('td', { text: e.uniqueId }),
      h('td', { style: { 'white-space': 'normal', 'overflow-wrap': 'anywhere' }, text: JSON.stringify(e.payload) }),
    );
  }
  function trim() {
    while (entries.length > RECENT) {
      seen.delete(keyOf(entries.pop()));
      recentBody.lastChild?.remove();
    }
  }

  async function loadStored() {
    try {
      const r = await api(`/api/v1/stations/${encodeURIComponent(identity)}/messages?limit=${STORED}`, { signal: ac.signal });
      if (isStoreOff(r)) {
        storedNote.textContent = 'The store is off: only the messages from now on are shown (live).';
        return;
      }
      if (!r.ok) {
        storedNote.textContent = `The stored messages cannot be read: ${r.data?.error?.message ?? `HTTP ${r.status}`}. Live messages follow.`;
        return;
      }
      storedNote.textContent = `The station's last ${r.data.items.length} requests and their answers from the store (no Heartbeats, no commands), then every message live.`;
      const stored = [];
      for (const m of r.data.items) {
        const res = { ts: m.at, direction: 'out', messageType: 'CALLRESULT', action: m.action, uniqueId: m.uniqueId, payload: m.reply, stored: true };
        const call = { ts: m.at, direction: 'in', messageType: 'CALL', action: m.action, uniqueId: m.uniqueId, payload: m.payload, stored: true };
        for (const e of m.reply === null ? [call] : [res, call]) {
          if (seen.has(keyOf(e))) continue;
          seen.add(keyOf(e));
          stored.push(e);
        }
      }
      // Live entries that came first stay on top of stored ones of the same time (stable sort).
      const merged = entries.concat(stored).sort((a, b) => b.ts - a.ts);
      entries.length = 0;
      entries.push(...merged);
      recentBody.replaceChildren(...entries.map(rowOf));
      trim();
    } catch {
      /* offline */
    }
  }

  let log = null;
  function startLog() {
    log = new LiveLog({
      identity,
      onState: (s) => (logState.textContent = s === 'open' ? 'live' : s === 'connecting' ? 'connecting…' : 'disconnected, reconnecting…'),
      onEntries: (batch) => {
        let refresh = false;
        let tx = false;
        for (const e of batch) {
          if (e.identity !== identity) continue;
          if (e.direction === 'in' && (e.action === 'StatusNotification' || e.action === 'BootNotification' || e.action === 'TransactionEvent' || e.action === 'StartTransaction' || e.action === 'StopTransaction')) refresh = true;
          // The store has a request once its answer is sent.
          if (e.direction === 'out' && e.messageType === 'CALLRESULT' && TX_ACTIONS.has(e.action)) tx = true;
          const k = keyOf(e);
          if (seen.has(k)) continue;
          seen.add(k);
          entries.unshift(e);
          recentBody.prepend(rowOf(e));
        }
        trim();
        if (refresh) soon();
        if (tx) txSoon();
      },
    });
  }

  const offConn = connection.subscribe((online) => {
    if (online) {
      load();
      // What came while the router was away: the journal has the station's requests (merged without doubles).
      if (started) {
        loadStored();
        loadTx();
      }
      log?.reconnect();
    }
  });
  load();
  return () => {
    ac.abort();
    clearTimeout(timer);
    clearTimeout(txTimer);
    clearTimeout(txPending);
    log?.close();
    offConn();
  };
}

/**
 * What the answer to a command is: the station's CALLRESULT (200), the station's CALLERROR (502 CALL_ERROR), an
 * answer the router refused, no answer (timeout, connection gone), or the router's refusal before sending.
 */
function answerOf(r) {
  const details = r.data?.error?.details ?? {};
  const reason = details.reason;
  if (r.ok) return { kind: 'station', label: "Station's answer" };
  if (r.status === 502 && reason === 'CALL_ERROR') return { kind: 'station-error', label: `Station's answer: CALLERROR ${details.errorCode ?? ''}`.trim(), note: details.errorDescription ? `"${details.errorDescription}"` : null };
  if (r.status === 502 && reason === 'PAYLOAD_INVALID') return { kind: 'station-error', label: "Station's answer, refused by the router (not valid for the schema)" };
  if (r.status === 502) return { kind: 'no-answer', label: 'No answer: the connection to the station closed first' };
  if (r.status === 504) return { kind: 'no-answer', label: 'No answer from the station in time' };
  return { kind: 'router', label: "Router's error (nothing was sent to the station)" };
}

/** {a: 1, b: {c: 2}} → [['a', '1'], ['b.c', '2']] for a key-value list. */
function flatten(obj, prefix = '', out = []) {
  for (const [k, v] of Object.entries(obj ?? {})) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) flatten(v, key, out);
    else out.push([key, Array.isArray(v) ? JSON.stringify(v) : String(v)]);
  }
  return out;
}
