// Transactions page: what the store kept, newest first, in a virtual table. Filters (station, id tag, start
// time range, open/finished) live in the URL hash, so a view can be bookmarked and shared; "More" reads the next
// page (cursor `before`, 200 per request); the CSV link is the server's export of every match of the filters.
// The first page is re-read every 10 s while the tab is visible and merged in by id (older pages stay loaded).
// With the store off (503 STORE_OFF) the page says so.
import { api, connection, downloadLink, isStoreOff } from './api.js';
import { h, fmtShort, fmtNum, fmtEnergy, fmtDuration, toLocalInput, parseTime } from './dom.js';
import { VirtualTable, setText, setBadge as badge } from './vtable.js';

const PAGE = 200;
const REFRESH_MS = 10000;

/** The hash of the list the user saw last (the detail page links back to it, filters included). */
export let lastListHash = '#/transactions';

const FILTER_KEYS = ['identity', 'idTag', 'from', 'to', 'open'];

/** The API query of a filter set (only what is set; times as epoch ms or ISO, as given). */
function apiQuery(f) {
  const q = new URLSearchParams();
  for (const k of FILTER_KEYS) if (f[k]) q.set(k, f[k]);
  return q;
}

export function transactionsPage(main, params) {
  const ac = new AbortController();
  const f = Object.fromEntries(FILTER_KEYS.map((k) => [k, params.get(k) ?? '']));
  if (f.open !== 'true' && f.open !== 'false') f.open = '';
  let items = [];
  let nextBefore = null;
  let gen = 0;
  let timer = null;
  let loading = false;

  // --- filters
  const field = (id, label, control, hint) => h('div.field', h('label', { for: id, text: label }), control, hint ? h('span.hint', { text: hint }) : null);
  const idInput = h('input#tf-identity', { type: 'search', value: f.identity, placeholder: 'identity (exact)', list: 'tf-identities', autocomplete: 'off' });
  const tagInput = h('input#tf-idtag', { type: 'search', value: f.idTag, placeholder: 'id tag (exact)', list: 'tf-idtags', autocomplete: 'off' });
  const identities = h('datalist#tf-identities');
  const idTags = h('datalist#tf-idtags');
  const fromInput = h('input#tf-from', { type: 'datetime-local', value: toLocalInput(parseTime(f.from)) });
  const toInput = h('input#tf-to', { type: 'datetime-local', value: toLocalInput(parseTime(f.to)) });
  const openSel = h(
    'select#tf-open',
    h('option', { value: '', text: 'all' }),
    h('option', { value: 'true', text: 'open (running)', selected: f.open === 'true' }),
    h('option', { value: 'false', text: 'finished', selected: f.open === 'false' }),
  );
  const range = (label, ms) =>
    h('button', {
      type: 'button',
      text: label,
      on: {
        click: () => {
          fromInput.value = ms === null ? '' : toLocalInput(Date.now() - ms);
          toInput.value = '';
          apply();
        },
      },
    });
  const clearBtn = h('button', {
    type: 'button',
    text: 'Clear filters',
    on: {
      click: () => {
        for (const el of [idInput, tagInput, fromInput, toInput, openSel]) el.value = '';
        apply();
      },
    },
  });
  for (const el of [idInput, tagInput]) {
    el.addEventListener('change', apply);
    el.addEventListener('search', apply);
    el.addEventListener('keydown', (e) => e.key === 'Enter' && apply());
  }
  for (const el of [fromInput, toInput, openSel]) el.addEventListener('change', apply);

  const csvLink = downloadLink(h('a.button', { text: 'Export CSV' }), 'transactions.csv', (message) => (errorEl.textContent = `Export failed: ${message}`));
  const errorEl = h('p.muted', { role: 'status' });
  const summary = h('span', { 'aria-live': 'polite' });
  const updated = h('span');
  const moreBtn = h('button', { type: 'button', text: `Load ${PAGE} more`, on: { click: () => loadMore() } });
  const moreNote = h('span.muted.small');

  const table = new VirtualTable({
    label: 'Transactions, newest first',
    empty: 'No transaction matches.',
    height: 'max(320px, calc(100vh - 390px))',
    onRowClick: (item, event) => {
      if (event.target.closest('a') === null) location.hash = `#/transactions/${item.id}`;
    },
    columns: [
      { key: 'id', label: 'Id', width: '80px', render: (c, t) => link(c, `#/transactions/${t.id}`, String(t.id)) },
      { key: 'identity', label: 'Station', width: 'minmax(110px, 1.2fr)', render: (c, t) => link(c, `#/station/${encodeURIComponent(t.identity)}`, t.identity) },
      { key: 'transactionId', label: 'Transaction id', width: 'minmax(90px, .8fr)', render: (c, t) => setText(c, t.transactionId) },
      { key: 'connector', label: 'Conn.', width: '60px', render: (c, t) => setText(c, t.connector ?? '—') },
      { key: 'idTag', label: 'Id tag', width: 'minmax(90px, 1fr)', render: (c, t) => setText(c, t.idTag ?? '—') },
      { key: 'startedAt', label: 'Started', width: '150px', render: (c, t) => setText(c, fmtShort(t.startedAt)) },
      { key: 'stoppedAt', label: 'Stopped', width: '150px', render: (c, t) => setText(c, t.open ? '—' : fmtShort(t.stoppedAt)) },
      { key: 'duration', label: 'Duration', width: '110px', render: (c, t) => setText(c, duration(t)) },
      { key: 'energyWh', label: 'Energy', width: '100px', render: (c, t) => setText(c, fmtEnergy(t.energyWh)) },
      { key: 'stopReason', label: 'Stop reason', width: 'minmax(120px, 1fr)', render: (c, t) => setText(c, t.stopReason ?? (t.open ? '' : '—')) },
      { key: 'open', label: 'State', width: '90px', render: (c, t) => badge(c, t.open ? 'Charging' : 'done', t.open ? 'open' : 'finished') },
    ],
  });
  table.foot.append(summary, updated);

  const filters = h(
    'div.filters',
    { role: 'search', 'aria-label': 'Filter transactions' },
    field('tf-identity', 'Station', idInput),
    identities,
    field('tf-idtag', 'Id tag', tagInput),
    idTags,
    field('tf-from', 'Started from', fromInput),
    field('tf-to', 'Started before', toInput),
    field('tf-open', 'State', openSel),
    h('div.row.ranges', { role: 'group', 'aria-label': 'Start time' }, range('Last 24 h', 86400000), range('Last 7 days', 7 * 86400000), range('Last 30 days', 30 * 86400000), range('Any time', null)),
    clearBtn,
    h('span.spacer'),
    csvLink,
  );
  const panel = h('section.panel', { 'aria-labelledby': 'tx-h' }, h('h2#tx-h.sr-only', 'Transactions'), filters, errorEl, table.el, h('div.row.more', moreBtn, moreNote));
  const offNote = h('div.panel.notice', { role: 'status', hidden: true });
  main.append(h('h1', 'Transactions'), offNote, panel);

  function link(cell, href, text) {
    let a = cell.firstChild;
    if (a === null) cell.append((a = h('a')));
    if (a.getAttribute('href') !== href) a.setAttribute('href', href);
    setText(a, text);
  }
  function duration(t) {
    if (t.startedAt === null) return '—';
    return t.open ? `${fmtDuration(Date.now() - t.startedAt)} …` : fmtDuration((t.stoppedAt ?? t.startedAt) - t.startedAt);
  }

  /** Reads the inputs into the filters, puts them in the hash (no new history entry) and reads the list again. */
  function apply() {
    const from = fromInput.value ? new Date(fromInput.value).getTime() : null;
    const to = toInput.value ? new Date(toInput.value).getTime() : null;
    const next = {
      identity: idInput.value.trim(),
      idTag: tagInput.value.trim(),
      from: from === null || Number.isNaN(from) ? '' : new Date(from).toISOString(),
      to: to === null || Number.isNaN(to) ? '' : new Date(to).toISOString(),
      open: openSel.value,
    };
    if (FILTER_KEYS.every((k) => next[k] === f[k])) return;
    Object.assign(f, next);
    syncHash();
    loadFirst();
  }

  function syncHash() {
    // Colons stay readable in the address (valid in a query).
    const q = apiQuery(f).toString().replace(/%3A/gi, ':');
    lastListHash = `#/transactions${q ? `?${q}` : ''}`;
    if (location.hash !== lastListHash) history.replaceState(null, '', lastListHash);
    csvLink.setAttribute('href', `/api/v1/transactions?${q ? `${q}&` : ''}format=csv`);
  }

  function show() {
    table.setItems(items);
    let open = 0;
    let energy = 0;
    for (const t of items) {
      if (t.open) open++;
      else if (t.energyWh !== null) energy += t.energyWh;
    }
    summary.textContent = `${fmtNum(items.length)} transactions${nextBefore !== null ? ' (more on the server)' : ''} · ${fmtNum(open)} open · ${fmtEnergy(energy)} in the finished ones`;
    moreBtn.hidden = nextBefore === null;
    moreNote.textContent = nextBefore === null && items.length > 0 ? `All ${fmtNum(items.length)} matching transactions are shown.` : '';
    // Suggestions for the exact-match filters, from what was loaded.
    fill(identities, items.map((t) => t.identity));
    fill(idTags, items.map((t) => t.idTag).filter(Boolean));
  }
  function fill(list, values) {
    const unique = [...new Set(values)].sort().slice(0, 500);
    if (list.childElementCount === unique.length && [...list.children].every((o, i) => o.value === unique[i])) return;
    list.replaceChildren(...unique.map((v) => h('option', { value: v })));
  }

  /** A page of the list, or null (the page shows why). */
  async function read(before, signal) {
    const q = apiQuery(f);
    q.set('limit', String(PAGE));
    if (before !== null) q.set('before', String(before));
    const r = await api(`/api/v1/transactions?${q}`, { signal });
    if (isStoreOff(r)) {
      offNote.replaceChildren(h('h2', 'The store is off'), h('p', 'The router keeps no transactions: the store is off (store.engine: "off"). Turn it on (sqlite, the default, or postgres) to list transactions here.'));
      offNote.hidden = false;
      panel.hidden = true;
      return null;
    }
    offNote.hidden = true;
    panel.hidden = false;
    if (!r.ok) {
      const problems = r.data?.error?.details?.problems;
      errorEl.textContent = `Cannot read the transactions: ${r.data?.error?.message ?? `HTTP ${r.status}`}${Array.isArray(problems) ? ` (${problems.join('; ')})` : ''}`;
      return null;
    }
    errorEl.textContent = '';
    updated.textContent = `updated ${new Date().toLocaleTimeString(undefined, { hour12: false })}`;
    return r.data;
  }

  async function loadFirst() {
    const g = ++gen;
    clearTimeout(timer);
    items = [];
    nextBefore = null;
    table.setItems(items);
    summary.textContent = 'loading…';
    try {
      const page = await read(null, ac.signal);
      if (g !== gen) return;
      if (page !== null) {
        items = page.items;
        nextBefore = page.nextBefore;
        table.body.scrollTop = 0;
        show();
      } else summary.textContent = '';
    } catch {
      /* offline: the banner says so */
    }
    if (g === gen) schedule();
  }

  async function loadMore() {
    if (nextBefore === null || loading) return;
    const g = gen;
    loading = true;
    moreBtn.disabled = true;
    try {
      const page = await read(nextBefore, ac.signal);
      if (g === gen && page !== null) {
        items = items.concat(page.items);
        nextBefore = page.nextBefore;
        show();
      }
    } catch {
      /* offline */
    } finally {
      loading = false;
      moreBtn.disabled = false;
    }
  }

  /** Re-reads the first page and merges it by id: it replaces every loaded item from its oldest id up. */
  async function refresh() {
    if (ac.signal.aborted) return;
    if (document.hidden || loading) return schedule();
    const g = gen;
    try {
      const page = await read(null, ac.signal);
      if (g !== gen || page === null) return;
      if (page.nextBefore === null) {
        items = page.items;
        nextBefore = null;
      } else {
        const oldest = page.items[page.items.length - 1].id;
        const keep = items.filter((t) => t.id < oldest);
        // Reuse unchanged objects so the table writes nothing for them.
        const byId = new Map(items.map((t) => [t.id, t]));
        items = page.items.map((t) => (same(byId.get(t.id), t) ? byId.get(t.id) : t)).concat(keep);
        if (keep.length === 0) nextBefore = page.nextBefore;
      }
      const keepScroll = table.body.scrollTop;
      show();
      table.body.scrollTop = keepScroll;
    } catch {
      /* offline */
    }
    if (g === gen) schedule();
  }
  function schedule() {
    clearTimeout(timer);
    if (!ac.signal.aborted) timer = setTimeout(refresh, REFRESH_MS);
  }

  // Open transactions' durations tick without a fetch (only the rows in view are re-bound).
  const tick = setInterval(() => items.some((t) => t.open) && table.render(), 1000);
  const offConn = connection.subscribe((online) => online && refresh());
  syncHash();
  loadFirst();
  return () => {
    ac.abort();
    gen++;
    clearTimeout(timer);
    clearInterval(tick);
    offConn();
  };
}

function same(a, b) {
  if (a === undefined) return false;
  for (const k of Object.keys(b)) if (a[k] !== b[k]) return false;
  return true;
}
