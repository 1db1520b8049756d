// Station page: connection details, boot information, connectors with live status, recent messages (the
// live log for this identity), and a command panel with every central-system operation of the station's
// OCPP version, each with a form generated from its official request schema.
import { api, getJson, connection } from './api.js';
import { h, clear, fmtTime, fmtShort, fmtAgo, fmtClock, debounce } from './dom.js';
import { schemaForm } from './schema-form.js';
import { LiveLog } from './livelog.js';
import { connectorKeys } from './status.js';
import { stationStatus } from './status.js';

const RECENT = 200;
const REFRESH_MS = 5000;
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
  const notFound = h('p', { role: 'status' });
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
  const cmdPanel = h('section.panel', { 'aria-labelledby': 'sp-cmd' }, h('h2#sp-cmd', 'Commands'));
  const recentBody = h('tbody');
  const logState = h('span.muted.small', { role: 'status' });
  const recentPanel = h(
    'section.panel',
    { 'aria-labelledby': 'sp-log' },
    h('div.row', h('h2#sp-log', 'Recent messages'), h('span.spacer'), logState, h('a', { href: `#/log?identity=${encodeURIComponent(identity)}`, text: 'Open in live log' })),
    h('div', { style: { 'max-height': '420px', overflow: 'auto' } }, h('table.plain.mono', h('caption.sr-only', 'Recent messages, newest first'), h('thead', h('tr', ['Time', 'Dir', 'Type', 'Action', 'Id', 'Payload'].map((x) => h('th', { scope: 'col', text: x })))), recentBody)),
  );
  main.append(
    h('p', h('a', { href: '#/', text: '← Fleet' })),
    title,
    notFound,
    h('div.grid.cols-3', connPanel, bootPanel, connectorsPanel),
    h('div', { style: { height: '1rem' } }),
    cmdPanel,
    recentPanel,
  );

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
    for (const k of keys) {
      const c = s.connectors[k];
      connectorsBody.append(h('tr', { dataset: { connector: k } }, h('th', { scope: 'row', text: k === '0' ? '0 (station)' : k }), h('td', h(`span.badge.${c.status}`, { text: c.status })), h('td', { text: c.errorCode ?? '—' }), h('td', { text: fmtShort(c.at) })));
    }
  }

  async function load() {
    clearTimeout(timer);
    if (ac.signal.aborted) return;
    try {
      const r = await api(`/api/v1/stations/${encodeURIComponent(identity)}`, { signal: ac.signal });
      if (r.status === 404) {
        notFound.textContent = `No station "${identity}" is known to the router.`;
      } else if (r.ok) {
        notFound.textContent = '';
        station = r.data;
        render(station);
        if (version !== station.version) {
          version = station.version;
          buildCommands(version);
        }
      } else notFound.textContent = r.data?.error?.message ?? `HTTP ${r.status}`;
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
      h('div.row', send, h('label', jsonToggle, ' Edit as JSON')),
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
        clear(result).append(
          h(
            `p.status-line.${r.ok ? 'ok' : 'bad'}`,
            { dataset: { status: r.status } },
            `HTTP ${r.status} · ${Math.round(r.ms)} ms`,
            action ? ` · sent ${action}` : '',
            translated ? ` (from ${translated})` : '',
          ),
          h('h4.sr-only', 'Request'),
          h('details', h('summary', 'Request payload'), h('pre.json', { text: JSON.stringify(payload, null, 2) })),
          h('pre.json.response', { tabindex: 0, 'aria-label': 'Response', text: typeof r.data === 'string' ? r.data : JSON.stringify(r.data, null, 2) }),
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

  // --- recent messages
  const entries = [];
  const log = new LiveLog({
    identity,
    onState: (s) => (logState.textContent = s === 'open' ? 'live' : s === 'connecting' ? 'connecting…' : 'disconnected, reconnecting…'),
    onEntries: (batch) => {
      let refresh = false;
      for (const e of batch) {
        if (e.identity !== identity) continue;
        entries.unshift(e);
        if (e.direction === 'in' && (e.action === 'StatusNotification' || e.action === 'BootNotification' || e.action === 'TransactionEvent' || e.action === 'StartTransaction' || e.action === 'StopTransaction')) refresh = true;
        const row = h(
          'tr',
          { dataset: { type: e.messageType, action: e.action ?? '' } },
          h('td', { text: fmtClock(e.ts) }),
          h('td', h(`span.badge.${e.direction}`, { text: e.direction === 'in' ? 'in ←' : 'out →' })),
          h('td', h(`span.badge.${e.messageType}`, { text: e.messageType })),
          h('td', { text: e.action ?? '' }),
          h('td', { text: e.uniqueId }),
          h('td', { style: { 'white-space': 'normal', 'overflow-wrap': 'anywhere' }, text: JSON.stringify(e.payload) }),
        );
        recentBody.prepend(row);
      }
      while (entries.length > RECENT) {
        entries.pop();
        recentBody.lastChild?.remove();
      }
      if (refresh) soon();
    },
  });

  const offConn = connection.subscribe((online) => {
    if (online) {
      load();
      log.reconnect();
    }
  });
  load();
  return () => {
    ac.abort();
    clearTimeout(timer);
    log.close();
    offConn();
  };
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
