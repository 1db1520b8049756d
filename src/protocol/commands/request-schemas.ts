/**
 * The official request schemas (schemas/, unmodified OCA files), read on first use per (version, action) and
 * kept. Needed as data by the API (to coerce form-urlencoded values) and the web UI (its command forms);
 * validation itself uses the generated validators.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { OcppVersion } from '../versions.js';

export type JsonSchema = { [key: string]: unknown };

const cache = new Map<string, JsonSchema | null>();
let root: string | null = null;

/** The package's `schemas/` folder: the nearest one above this module (from src/ or dist/src/ alike). */
function schemasRoot(): string {
  for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'schemas', 'ocpp1.6'))) return join(dir, 'schemas');
    if (dirname(dir) === dir) throw new Error('the schemas/ folder of the package is missing');
  }
}

function candidates(version: OcppVersion, action: string): string[] {
  root ??= schemasRoot();
  if (version === 'ocpp1.6') return [join(root, 'ocpp1.6', `${action}.json`), join(root, 'ocpp1.6-security', `${action}.json`)];
  return [join(root, version, `${action}Request.json`), join(root, version, `${action}.json`)];
}

/** The request schema of (version, action), or null when there is none. */
export function requestSchema(version: OcppVersion, action: string): JsonSchema | null {
  const key = `${version} ${action}`;
  let schema = cache.get(key);
  if (schema === undefined) {
    const file = candidates(version, action).find((f) => existsSync(f));
    schema = file === undefined ? null : (JSON.parse(readFileSync(file, 'utf8').replace(/^\uFEFF/, '')) as JsonSchema);
    cache.set(key, schema);
  }
  return schema;
}

/** Follows local `$ref`s ('#/definitions/X') of `rootSchema` until a node without one. */
export function deref(rootSchema: JsonSchema, node: JsonSchema | undefined): JsonSchema | undefined {
  let current = node;
  for (let i = 0; current !== undefined && typeof current.$ref === 'string'; i++) {
    if (i > 32 || !current.$ref.startsWith('#/')) return undefined;
    let target: unknown = rootSchema;
    for (const part of current.$ref.slice(2).split('/')) target = (target as JsonSchema | undefined)?.[part.replace(/~1/g, '/').replace(/~0/g, '~')];
    current = target as JsonSchema | undefined;
  }
  return current;
}

/** The JSON type a schema node wants ('object', 'array', 'integer', …), if it says. */
export function schemaType(node: JsonSchema | undefined): string | undefined {
  if (node === undefined) return undefined;
  const t = node.type;
  if (typeof t === 'string') return t;
  if (Array.isArray(t)) return t.find((x) => x !== 'null') as string | undefined;
  if (node.properties !== undefined) return 'object';
  if (node.items !== undefined) return 'array';
  return undefined;
}
