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
  for (const [key, value] of new URLSearchParams(body)) {
    const path = keyPath(key);
    if (path === null) throw new Error(`malformed form key ${JSON.stringify(key)}`);
    insert(tree, path, value);
  }
  return tree;
}

function insert(tree: Tree, path: string[], value: string): void {
  let node: Tree | Node[] = tree;
  for (let i = 0; i < path.length; i++) {
    const part = path[i]!;
    const last = i === path.length - 1;
    const nextIsIndex = !last && /^\d*$/.test(path[i + 1]!);
    if (Array.isArray(node)) {
      const index = part === '' ? node.length : Number(part);
      if (!/^\d*$/.test(part) || index > MAX_INDEX) throw new Error(`bad array index ${JSON.stringify(part)}`);
      if (last) node[index] = value;
      else {
        const child: Node | undefined = node[index];
        node = (node[index] = typeof child === 'object' ? child : nextIsIndex ? [] : {}) as Tree | Node[];
      }
      continue;
    }
    if (part === '' || part === '__proto__') throw new Error(`bad form key part ${JSON.stringify(part)}`);
    const existing: Node | undefined = Object.hasOwn(node, part) ? node[part] : undefined;
    if (last) {
      if (existing === undefined) node[part] = value;
      else if (Array.isArray(existing)) existing.push(value);
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
