/**
 * Builds VALID sample payloads from the official OCA JSON schemas in `schemas/` (read at test time, never
 * edited). Used by the validation tests and by the responder tests.
 *
 *   sampleRequest('ocpp1.6', 'BootNotification')            → { chargePointVendor: 'x', chargePointModel: 'x' }
 *   sampleResponse('ocpp2.0.1', 'Heartbeat', { full: true }) → every optional property filled too
 *
 * Rules (enough for the OCA schemas, which use only: type, properties, required, additionalProperties,
 * enum, maxLength, format date-time/uri, minimum, maximum, multipleOf, items, minItems, maxItems, $ref to
 * #/definitions, default):
 *  - objects: required properties only (or every property with `full`), in schema order;
 *  - enum: the first value; string: 'x' (or a date-time / uri when `format` says so), never longer than
 *    maxLength; integer/number: `minimum` when given, else 0 clamped to `maximum`; boolean: true;
 *  - arrays: `minItems` elements (at least one with `full`, never more than `maxItems`);
 *  - `$ref` '#/definitions/X' resolved in the same file.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export type SampleVersion = 'ocpp1.6' | 'ocpp2.0.1' | 'ocpp2.1';
export type SampleKind = 'request' | 'response';

export interface SampleOptions {
  /** Fill optional properties too (default false: required ones only). */
  full?: boolean;
}

/** A JSON-schema node as found in the OCA files (loosely typed on purpose). */
export type JsonSchema = { [key: string]: unknown };

/** A fixed, valid RFC 3339 date-time used for every `format: date-time` string. */
export const SAMPLE_DATE_TIME = '2025-01-01T00:00:00.000Z';
export const SAMPLE_URI = 'https://example.com/';

/** The repository root: the first ancestor of this file holding `schemas/ocpp1.6` (works from src or dist). */
function findRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'schemas', 'ocpp1.6'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error('schema-samples: cannot find the schemas/ folder above ' + import.meta.url);
    dir = parent;
  }
}

export const SCHEMAS_DIR = join(findRoot(), 'schemas');

/**
 * Path of the schema file for (version, action, kind), or undefined when there is none (unknown action, or
 * the response of the SEND-only 2.1 NotifyPeriodicEventStream). 1.6 includes the security extension.
 */
export function schemaFile(version: SampleVersion, action: string, kind: SampleKind): string | undefined {
  const candidates: string[] = [];
  if (version === 'ocpp1.6') {
    const name = kind === 'request' ? `${action}.json` : `${action}Response.json`;
    candidates.push(join(SCHEMAS_DIR, 'ocpp1.6', name), join(SCHEMAS_DIR, 'ocpp1.6-security', name));
  } else {
    candidates.push(join(SCHEMAS_DIR, version, `${action}${kind === 'request' ? 'Request' : 'Response'}.json`));
    // 2.1 SEND message: one schema file without the Request suffix.
    if (kind === 'request') candidates.push(join(SCHEMAS_DIR, version, `${action}.json`));
  }
  return candidates.find((file) => existsSync(file));
}

const cache = new Map<string, JsonSchema>();

/** The parsed schema for (version, action, kind); throws when there is none. */
export function loadSchema(version: SampleVersion, action: string, kind: SampleKind): JsonSchema {
  const file = schemaFile(version, action, kind);
  if (file === undefined) throw new Error(`schema-samples: no ${kind} schema for ${version} ${action}`);
  let schema = cache.get(file);
  if (schema === undefined) {
    schema = JSON.parse(readFileSync(file, 'utf8').replace(/^\uFEFF/, '')) as JsonSchema;
    cache.set(file, schema);
  }
  return schema;
}

/** Resolves a local `$ref` ('#/definitions/X' or any '#/…' pointer) against `root`. */
export function resolveRef(root: JsonSchema, ref: string): JsonSchema {
  if (!ref.startsWith('#')) throw new Error(`schema-samples: only local $ref is supported, got ${ref}`);
  let node: unknown = root;
  for (const raw of ref.slice(1).split('/').filter(Boolean)) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    node = (node as JsonSchema)[key];
    if (node === undefined) throw new Error(`schema-samples: unresolved $ref ${ref}`);
  }
  return node as JsonSchema;
}

/** Follows `$ref` chains until a schema without `$ref`. */
export function deref(root: JsonSchema, schema: JsonSchema): JsonSchema {
  let node = schema;
  for (let i = 0; typeof node.$ref === 'string'; i++) {
    if (i > 32) throw new Error('schema-samples: $ref loop');
    node = resolveRef(root, node.$ref);
  }
  return node;
}

function schemaType(schema: JsonSchema): string | undefined {
  const t = schema.type;
  if (typeof t === 'string') return t;
  if (Array.isArray(t)) return t.find((x) => x !== 'null') as string | undefined;
  if (schema.properties !== undefined) return 'object';
  if (schema.items !== undefined) return 'array';
  return undefined;
}

function sampleString(schema: JsonSchema): string {
  if (schema.format === 'date-time') return SAMPLE_DATE_TIME;
  if (schema.format === 'uri') return SAMPLE_URI;
  const min = typeof schema.minLength === 'number' ? schema.minLength : 1;
  const max = typeof schema.maxLength === 'number' ? schema.maxLength : Infinity;
  return 'x'.repeat(Math.max(0, Math.min(Math.max(min, 1), max)));
}

function sampleNumber(schema: JsonSchema): number {
  const min = typeof schema.minimum === 'number' ? schema.minimum : undefined;
  const max = typeof schema.maximum === 'number' ? schema.maximum : undefined;
  let value = min ?? 0;
  if (max !== undefined && value > max) value = max;
  if (schema.type === 'integer') value = Math.ceil(value);
  return value;
}

const MAX_DEPTH = 24;

/** A valid value for `schema` (resolved against `root`). */
export function sampleFromSchema(root: JsonSchema, schema: JsonSchema = root, options: SampleOptions = {}, depth = 0): unknown {
  if (depth > MAX_DEPTH) throw new Error('schema-samples: schema nests too deep');
  const node = deref(root, schema);
  if (Array.isArray(node.enum) && node.enum.length > 0) return node.enum[0];
  if ('const' in node) return node.const;
  switch (schemaType(node)) {
    case 'object': {
      const out: Record<string, unknown> = {};
      const properties = (node.properties ?? {}) as Record<string, JsonSchema>;
      const required = new Set(Array.isArray(node.required) ? (node.required as string[]) : []);
      for (const [name, child] of Object.entries(properties)) {
        if (required.has(name) || options.full === true) out[name] = sampleFromSchema(root, child, options, depth + 1);
      }
      // A required name without a property schema (not in the OCA files, but legal JSON schema).
      for (const name of required) if (!(name in out)) out[name] = 'x';
      return out;
    }
    case 'array': {
      const minItems = typeof node.minItems === 'number' ? node.minItems : 0;
      const maxItems = typeof node.maxItems === 'number' ? node.maxItems : Infinity;
      const count = Math.min(options.full === true ? Math.max(minItems, 1) : minItems, maxItems);
      const items = (node.items ?? {}) as JsonSchema | JsonSchema[];
      const out: unknown[] = [];
      for (let i = 0; i < count; i++) {
        const itemSchema = Array.isArray(items) ? (items[i] ?? items[items.length - 1] ?? {}) : items;
        out.push(sampleFromSchema(root, itemSchema, options, depth + 1));
      }
      return out;
    }
    case 'string':
      return sampleString(node);
    case 'integer':
    case 'number':
      return sampleNumber(node);
    case 'boolean':
      return true;
    case 'null':
      return null;
    default:
      return {};
  }
}

/** A valid payload for the CALL of `action` (SEND for 2.1 NotifyPeriodicEventStream). */
export function sampleRequest(version: SampleVersion, action: string, options: SampleOptions = {}): Record<string, unknown> {
  const schema = loadSchema(version, action, 'request');
  return sampleFromSchema(schema, schema, options) as Record<string, unknown>;
}

/** A valid payload for the CALLRESULT of `action`; throws for SEND-only messages. */
export function sampleResponse(version: SampleVersion, action: string, options: SampleOptions = {}): Record<string, unknown> {
  const schema = loadSchema(version, action, 'response');
  return sampleFromSchema(schema, schema, options) as Record<string, unknown>;
}

/** `sampleRequest` / `sampleResponse` by kind. */
export function samplePayload(version: SampleVersion, action: string, kind: SampleKind, options: SampleOptions = {}): Record<string, unknown> {
  return kind === 'request' ? sampleRequest(version, action, options) : sampleResponse(version, action, options);
}
