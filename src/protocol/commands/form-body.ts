/**
 * application/x-www-form-urlencoded command bodies (ocpp-cs accepted them), turned into the JSON payload the
 * request schema describes.
 *
 * Rules (documented in docs/api.md):
 *  - `a[b]=1`, `a[0][c]=x` and `a[]=x` build nested objects and arrays (bracket keys); a repeated key is
 *    an array.
 *  - A value whose schema is an object or array may also be given as JSON text
 *    (`csChargingProfiles={"chargingProfileId":1,…}`).
 *  - A single value where the schema wants an array becomes a one-element array (`key=HeartbeatInterval`).
 *  - Leaves are coerced by the schema: integer (`-?digits`), number (any finite JS number literal), boolean
 *    (`true|false|1|0`); strings stay strings. Values that do not fit are left as text, so the validator
 *    reports them.
 */
import { deref, schemaType, type JsonSchema } from './request-schemas.js';

type Tree = { [key: string]: Node };
type Node = Tree | string | Node[];

const MAX_DEPTH = 16;
const MAX_INDEX = 10_000;

/** Splits `a[b][0][]` into ['a', 'b', '0', '']; null for a malformed key. */
function keyPath(key: string): string[] | null {
  const open = key.indexOf('[');
  if (open < 0) return [key];
  if (open === 0 || !key.endsWith(']')) return null;
  const parts = [key.slice(0, open)];
  const rest = key.slice(open);
  const re = /\[([^[\]]*)\]/gy;
  let consumed = 0;
  for (let m = re.exec(rest); m !== null; m = re.exec(rest)) {
    parts.push(m[1]!);
    consumed = re.lastIndex;
  }
  return consumed === rest.length && parts.length <= MAX_DEPTH ? parts : null;
}

/** Parses the body into a tree of strings (no coercion yet). Throws on a malformed key. */
export function parseForm(body: string): Tree {
  const tree: Tree = {};
  const arrays = new Map<Node[], Slots>();
  for (const [key, value] of new URLSearchParams(body)) {
    const path = keyPath(key);
    if (path === null) throw new Error(`malformed form key ${JSON.stringify(key)}`);
    insert(tree, path, value, arrays);
  }
  for (const [array, slots] of arrays) inIndexOrder(array, slots);
  return tree;
}

/**
 * Where the elements of one array are while parsing: arrays are kept dense, each element at the next free
 * position, with the index its key declared remembered here; `inIndexOrder` sorts them once at the end. Holes
 * were always dropped (a[5]=x is [x]), and a hole-free array costs what its elements cost: `a[0][9999]=1` no longer
 * makes a 10,000-slot array (many such keys in one 1 MiB body took hundreds of MiB, or seconds of the control
 * plane's thread to coerce).
 */
interface Slots {
  /** Declared index → position in the array. */
  at: Map<number, number>;
  /** The index `a[]` and a repeated key take: one more than the largest declared. */
  next: number;
}

function slotsOf(arrays: Map<Node[], Slots>, array: Node[]): Slots {
  let slots = arrays.get(array);
  if (slots === undefined) {
    // An array made by a repeated key: its elements are at their own indices.
    slots = { at: new Map(array.map((_, i) => [i, i])), next: array.length };
    arrays.set(array, slots);
  }
  return slots;
}

function inIndexOrder(array: Node[], slots: Slots): void {
  const order = [...slots.at].sort((a, b) => a[0] - b[0]);
  if (order.every(([, position], i) => position === i)) return;
  const elements = order.map(([, position]) => array[position]!);
  array.length = 0;
  for (const e of elements) array.push(e);
}

function insert(tree: Tree, path: string[], value: string, arrays: Map<Node[], Slots>): void {
  let node: Tree | Node[] = tree;
  for (let i = 0; i < path.length; i++) {
    const part = path[i]!;
    const last = i === path.length - 1;
    const nextIsIndex = !last && /^\d*$/.test(path[i + 1]!);
    if (Array.isArray(node)) {
      const slots = slotsOf(arrays, node);
      const index = part === '' ? slots.next : Number(part);
      if (!/^\d*$/.test(part) || index > MAX_INDEX) throw new Error(`bad array index ${JSON.stringify(part)}`);
      let position = slots.at.get(index);
      const child: Node | undefined = position === undefined ? undefined : node[position];
      const next: Node = last ? value : typeof child === 'object' ? child : nextIsIndex ? [] : {};
      if (position === undefined) {
        position = node.push(next) - 1;
        slots.at.set(index, position);
        if (index >= slots.next) slots.next = index + 1;
      } else node[position] = next;
      if (!last) node = next as Tree | Node[];
      continue;
    }
    if (part === '' || part === '__proto__') throw new Error(`bad form key part ${JSON.stringify(part)}`);
    const existing: Node | undefined = Object.hasOwn(node, part) ? node[part] : undefined;
    if (last) {
      if (existing === undefined) node[part] = value;
      else if (Array.isArray(existing)) {
        const slots = slotsOf(arrays, existing);
        slots.at.set(slots.next++, existing.push(value) - 1);
      }
      else if (typeof existing === 'string') node[part] = [existing, value];
      else throw new Error(`form key ${JSON.stringify(part)} is both a value and an object`);
    } else {
      node = (node[part] = typeof existing === 'object' ? existing : nextIsIndex ? [] : {}) as Tree | Node[];
    }
  }
}

/** Turns the string tree into the payload `schema` describes (see the rules above). */
export function coerceForm(tree: Tree, schema: JsonSchema | null): Record<string, unknown> {
  const out = coerce(tree, schema ?? undefined, schema ?? {}, 0);
  return out !== null && typeof out === 'object' && !Array.isArray(out) ? (out as Record<string, unknown>) : {};
}

function coerce(value: Node | undefined, node: JsonSchema | undefined, root: JsonSchema, depth: number): unknown {
  const schema = deref(root, node);
  const type = schemaType(schema);
  if (value === undefined || depth > MAX_DEPTH) return value;
  if (typeof value === 'string') {
    if (type === 'object' || type === 'array') {
      const text = value.trim();
      if ((type === 'object' && text.startsWith('{')) || (type === 'array' && text.startsWith('['))) {
        try {
          return JSON.parse(text) as unknown;
        } catch {
          return value;
        }
      }
      return type === 'array' ? [coerceLeaf(value, deref(root, schema!.items as JsonSchema | undefined))] : value;
    }
    return coerceLeaf(value, schema);
  }
  if (Array.isArray(value)) {
    const items = type === 'array' ? (schema!.items as JsonSchema | undefined) : undefined;
    const list = value.filter((v) => v !== undefined).map((v) => coerce(v, items, root, depth + 1));
    return list;
  }
  const props = (type === 'object' ? schema!.properties : undefined) as Record<string, JsonSchema> | undefined;
  const out: Record<string, unknown> = {};
  for (const [key, child] of Object.entries(value)) out[key] = coerce(child, props?.[key], root, depth + 1);
  return out;
}

function coerceLeaf(text: string, schema: JsonSchema | undefined): unknown {
  switch (schemaType(schema)) {
    case 'integer':
      return /^-?\d{1,15}$/.test(text.trim()) ? Number(text.trim()) : text;
    case 'number': {
      const t = text.trim();
      const n = Number(t);
      return t !== '' && Number.isFinite(n) ? n : text;
    }
    case 'boolean':
      if (/^(true|1)$/i.test(text.trim())) return true;
      if (/^(false|0)$/i.test(text.trim())) return false;
      return text;
    default:
      return text;
  }
}
