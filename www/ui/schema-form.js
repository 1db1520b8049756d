// A form generated from an OCA request schema (JSON Schema draft-04/06): objects as fieldsets, required
// fields marked and enforced, enums as selects, integers and numbers as number inputs with their bounds,
// date-times as local date-time inputs (sent as ISO 8601 UTC), booleans as selects, nested objects
// (optional ones behind an "include" switch) and arrays (add/remove items, minItems kept). `customData`
// (vendor extensions of 2.x) is left out; the JSON editor sends anything.
import { h, uniqueId } from './dom.js';

const MAX_DEPTH = 8;

function deref(root, node) {
  let cur = node;
  for (let i = 0; cur && typeof cur.$ref === 'string' && i < 32; i++) {
    if (!cur.$ref.startsWith('#/')) return {};
    let target = root;
    for (const part of cur.$ref.slice(2).split('/')) target = target?.[part.replace(/~1/g, '/').replace(/~0/g, '~')];
    cur = target;
  }
  return cur ?? {};
}

function typeOf(node) {
  const t = node.type;
  if (typeof t === 'string') return t;
  if (Array.isArray(t)) return t.find((x) => x !== 'null');
  if (node.properties) return 'object';
  if (node.items) return 'array';
  if (node.enum) return 'string';
  return undefined;
}

function hintFor(node) {
  const parts = [];
  if (node.format) parts.push(node.format);
  if (node.maxLength !== undefined) parts.push(`≤ ${node.maxLength} chars`);
  if (node.minimum !== undefined) parts.push(`≥ ${node.minimum}`);
  if (node.maximum !== undefined) parts.push(`≤ ${node.maximum}`);
  return parts.join(', ');
}

function labelText(name, required) {
  return [name, required ? h('span.req', { 'aria-hidden': 'true', text: '*' }) : null];
}

/** Builds a field for `node`; returns {el, get(): value | undefined}. */
function field(root, rawNode, name, required, depth, path) {
  const node = deref(root, rawNode);
  const type = typeOf(node);
  const id = uniqueId('sf');
  if (depth > MAX_DEPTH) return { el: h('p.muted.small', `${name}: nested too deep, use the JSON editor`), get: () => undefined };

  if (type === 'object') return objectField(root, node, name, required, depth, path);
  if (type === 'array') return arrayField(root, node, name, required, depth, path);

  const hint = hintFor(node);
  const hintId = hint ? uniqueId('hint') : null;
  let input;
  let get;
  if (Array.isArray(node.enum)) {
    input = h(`select#${id}`, { required, 'data-path': path }, required ? h('option', { value: '', text: '— choose —' }) : h('option', { value: '', text: '—' }), node.enum.map((v) => h('option', { value: String(v), text: String(v) })));
    get = () => (input.value === '' ? undefined : type === 'integer' || type === 'number' ? Number(input.value) : input.value);
  } else if (type === 'boolean') {
    input = h(`select#${id}`, { required, 'data-path': path }, h('option', { value: '', text: required ? '— choose —' : '—' }), h('option', { value: 'true', text: 'true' }), h('option', { value: 'false', text: 'false' }));
    get = () => (input.value === '' ? undefined : input.value === 'true');
  } else if (type === 'integer' || type === 'number') {
    input = h(`input#${id}`, { type: 'number', inputmode: type === 'integer' ? 'numeric' : 'decimal', step: type === 'integer' ? '1' : 'any', required, 'data-path': path, min: node.minimum, max: node.maximum });
    get = () => (input.value === '' ? undefined : Number(input.value));
  } else if (type === 'string' && node.format === 'date-time') {
    input = h(`input#${id}`, { type: 'datetime-local', step: '1', required, 'data-path': path });
    get = () => {
      if (input.value === '') return undefined;
      const d = new Date(input.value);
      return Number.isNaN(d.getTime()) ? input.value : d.toISOString();
    };
  } else if (type === 'string' || type === undefined) {
    input = h(`input#${id}`, { type: 'text', required, 'data-path': path, maxlength: node.maxLength, spellcheck: 'false', autocomplete: 'off' });
    get = () => (input.value === '' ? undefined : input.value);
  } else {
    input = h(`input#${id}`, { type: 'text', 'data-path': path });
    get = () => (input.value === '' ? undefined : input.value);
  }
  if (hintId) input.setAttribute('aria-describedby', hintId);
  const el = h('div.field', h('label', { for: id }, labelText(name, required), hint ? h('span.hint', { id: hintId, text: ` (${hint})` }) : null), input);
  return { el, get, input };
}

function objectField(root, node, name, required, depth, path) {
  const req = new Set(node.required ?? []);
  const children = [];
  const fs = h('fieldset', { 'data-path': path });
  const legend = h('legend', labelText(name, required));
  fs.append(legend);
  for (const [key, child] of Object.entries(node.properties ?? {})) {
    if (key === 'customData') continue;
    const f = field(root, child, key, req.has(key), depth + 1, `${path}/${key}`);
    children.push([key, f]);
    fs.append(f.el);
  }
  if (children.length === 0) fs.append(h('p.muted.small', 'No fields.'));
  const collect = () => {
    const out = {};
    for (const [key, f] of children) {
      const v = f.get();
      if (v !== undefined) out[key] = v;
    }
    return out;
  };
  if (required) return { el: fs, get: collect };
  // Optional object: off until switched on (its required fields are then required; disabled ones are not).
  const sw = h('input', { type: 'checkbox', 'aria-label': `include ${name}` });
  legend.prepend(sw);
  legend.classList.add('check');
  const setOn = (on) => {
    fs.disabled = !on;
    fs.classList.toggle('off', !on);
  };
  sw.addEventListener('change', () => setOn(sw.checked));
  setOn(false);
  // A disabled fieldset disables its legend's controls only outside the first legend: the switch stays usable.
  return { el: fs, get: () => (sw.checked ? collect() : undefined) };
}

function arrayField(root, node, name, required, depth, path) {
  const itemSchema = deref(root, node.items ?? {});
  const list = h('div');
  const items = [];
  const min = node.minItems ?? 0;
  const max = node.maxItems ?? Infinity;
  const addBtn = h('button', { type: 'button', text: `Add ${name} item` });
  const fs = h('fieldset', { 'data-path': path }, h('legend', labelText(name, required), h('span.hint', { text: ` (list${min ? `, at least ${min}` : ''}${max !== Infinity ? `, at most ${max}` : ''})` })), list, addBtn);
  const sync = () => {
    addBtn.disabled = items.length >= max;
    items.forEach((it, i) => {
      it.remove.disabled = required && items.length <= Math.max(min, 1);
      it.remove.textContent = `Remove item ${i + 1}`;
    });
  };
  const add = () => {
    const f = field(root, itemSchema, `${name} [${items.length + 1}]`, true, depth + 1, `${path}/${items.length}`);
    const remove = h('button', { type: 'button' });
    const wrap = h('div.arr-item', f.el, remove);
    const it = { f, wrap, remove };
    remove.addEventListener('click', () => {
      items.splice(items.indexOf(it), 1);
      wrap.remove();
      sync();
    });
    items.push(it);
    list.append(wrap);
    sync();
    return it;
  };
  addBtn.addEventListener('click', () => add().f.el.querySelector('input, select')?.focus());
  if (required) for (let i = 0; i < Math.max(min, 1); i++) add();
  sync();
  return {
    el: fs,
    get: () => {
      const values = items.map((it) => it.f.get()).filter((v) => v !== undefined);
      return values.length === 0 && !required ? undefined : values;
    },
  };
}

/** The form for a request schema: {el, value() → payload object}. */
export function schemaForm(schema) {
  const root = schema;
  const top = deref(root, root);
  const req = new Set(top.required ?? []);
  const el = h('div.schema-form');
  const fields = [];
  for (const [key, child] of Object.entries(top.properties ?? {})) {
    if (key === 'customData') continue;
    const f = field(root, child, key, req.has(key), 1, `/${key}`);
    fields.push([key, f]);
    el.append(f.el);
  }
  if (fields.length === 0) el.append(h('p.muted', 'This operation has no fields: it is sent with an empty payload.'));
  return {
    el,
    value() {
      const out = {};
      for (const [key, f] of fields) {
        const v = f.get();
        if (v !== undefined) out[key] = v;
      }
      return out;
    },
  };
}
