// The flexibility panel of the station page (docs/flexibility.md): the station's EVSEs registered as Energy Web
// assets, each with its did, its prequalification state and the history of its claims, and a form to register an
// EVSE. The API answers 503 FLEX_OFF when the service is off: the panel then says so and stays small. A read-only
// user who tries to register gets the API's 403 message (the UI does not know the role in advance).
import { api } from './api.js';
import { h, clear, fmtTime } from './dom.js';

/** Returns { panel, refresh() } for `identity`. */
export function flexibilityPanel(identity, signal) {
  const list = h('div');
  const note = h('p.muted.small', { role: 'status' });
  const evse = h('input#flex-evse', { type: 'number', min: 0, value: 1, style: { width: '5rem' } });
  const connector = h('input#flex-connector', { type: 'number', min: 0, value: 1, style: { width: '5rem' } });
  const register = h('button#flex-register', { type: 'submit', text: 'Register as asset' });
  const form = h(
    'form.row',
    { 'aria-label': 'Register an EVSE as a flexibility asset' },
    h('label', { for: 'flex-evse', text: 'EVSE' }),
    evse,
    h('label', { for: 'flex-connector', text: 'Connector' }),
    connector,
    register,
  );
  const panel = h('section.panel#flexibility', { 'aria-labelledby': 'sp-flex' }, h('h2#sp-flex', 'Flexibility'), list, form, note);

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    register.disabled = true;
    try {
      const r = await api('/api/v1/flexibility/assets', { method: 'POST', body: { identity, evseId: Number(evse.value), connectorId: Number(connector.value) }, signal });
      note.textContent = r.ok ? `${r.data.created ? 'Registered' : 'Already an asset'}: ${r.data.did}` : (r.data?.error?.message ?? `HTTP ${r.status}`);
      if (r.ok) await refresh();
    } catch (error) {
      note.textContent = error?.message ?? String(error);
    } finally {
      register.disabled = false;
    }
  });

  async function details(did) {
    const r = await api(`/api/v1/flexibility/assets/${encodeURIComponent(did)}`, { signal });
    if (!r.ok) return h('p.muted', r.data?.error?.message ?? `HTTP ${r.status}`);
    if (r.data.claims.length === 0) return h('p.muted.small', 'No prequalification requested yet.');
    return h(
      'table.plain.small',
      h('caption.sr-only', `Prequalification claims of ${did}`),
      h('thead', h('tr', ['Claim', 'State', 'History'].map((x) => h('th', { scope: 'col', text: x })))),
      h(
        'tbody',
        r.data.claims.map((c) =>
          h(
            'tr',
            { dataset: { claim: c.claimId, state: c.state } },
            h('td.mono', { text: c.claimId.slice(0, 12), title: c.claimId }),
            h('td', h(`span.badge.${c.state === 'published' ? 'ok' : c.state === 'failed' ? 'bad' : 'warn'}`, { text: c.state })),
            h('td', h('ul.plain', c.history.map((e) => h('li', { text: `${fmtTime(Date.parse(e.at))} ${e.state}${e.detail ? `: ${e.detail}` : ''}` })))),
          ),
        ),
      ),
    );
  }

  async function refresh() {
    let r;
    try {
      r = await api(`/api/v1/flexibility/assets?identity=${encodeURIComponent(identity)}`, { signal });
    } catch {
      return;
    }
    if (r.status === 503 && r.data?.error?.details?.reason === 'FLEX_OFF') {
      clear(list).append(h('p.muted', 'Flexibility prequalification is off on this router (flexibility.enable).'));
      form.hidden = true;
      return;
    }
    form.hidden = false;
    if (!r.ok) {
      clear(list).append(h('p.muted', r.data?.error?.message ?? `HTTP ${r.status}`));
      return;
    }
    const assets = r.data.assets;
    if (assets.length === 0) {
      clear(list).append(h('p.muted', 'No EVSE of this station is an asset yet.'));
      return;
    }
    const items = await Promise.all(
      assets.map(async (a) =>
        h(
          'div.flex-asset',
          { dataset: { did: a.did } },
          h('p', h('strong', `EVSE ${a.evseId} / connector ${a.connectorId} `), h('span.mono.small', { text: a.did }), ' ', h(`span.badge.${a.state === 'published' ? 'ok' : a.state === 'failed' ? 'bad' : 'muted'}`, { text: a.state ?? 'not requested' })),
          await details(a.did),
        ),
      ),
    );
    clear(list).append(...items);
  }

  return { panel, refresh };
}
