/**
 * Property-based fuzzing of the configuration loader (src/config/load.ts; docs/fuzzing.md): arbitrary objects
 * as overrides, a wrong value at any key of the schema, arbitrary values of every environment variable of the
 * table, arbitrary JSON and YAML files. Always a (frozen) config or one RouterError listing the problems
 * (CONFIG_INVALID) or saying why the file cannot be read (CONFIG_READ); never another exception, and nothing
 * leaks into Object.prototype.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { loadConfig, schemaDefaults } from '../src/config/load.js';
import { ENV_TABLE } from '../src/config/env.js';
import { ErrorCode, RouterError } from '../src/protocol/errors.js';
import { fuzzParams, fuzzTestOptions } from './helpers/fuzz.js';

const PROTO_KEYS = Object.getOwnPropertyNames(Object.prototype).sort();

/** Runs loadConfig; checks the outcome is a frozen config or a RouterError of `codes` with its details. */
function outcome(load: () => unknown, codes: readonly string[] = [ErrorCode.CONFIG_INVALID]): 'config' | 'problems' {
  try {
    const config = load();
    assert.ok(config !== null && typeof config === 'object' && Object.isFrozen(config), 'a frozen config');
    return 'config';
  } catch (error) {
    assert.ok(error instanceof RouterError, `not a RouterError: ${String((error as Error)?.stack ?? error)}`);
    assert.ok(codes.includes(error.code), `code ${error.code}: ${error.message}`);
    if (error.code === ErrorCode.CONFIG_INVALID) {
      const details = error.details as Array<{ path: unknown; message: unknown; source: unknown }>;
      assert.ok(Array.isArray(details) && details.length > 0, 'the problems are listed');
      for (const p of details) assert.ok(typeof p.path === 'string' && typeof p.message === 'string' && typeof p.source === 'string', JSON.stringify(p));
    }
    return 'problems';
  } finally {
    // Undo a pollution before reporting it, so that one failure does not fail every later case.
    const added = Object.getOwnPropertyNames(Object.prototype).filter((k) => !PROTO_KEYS.includes(k));
    for (const k of added) delete (Object.prototype as Record<string, unknown>)[k];
    assert.deepEqual(added, [], 'Object.prototype unchanged');
    assert.deepEqual(Object.getOwnPropertyNames(Object.prototype).sort(), PROTO_KEYS, 'Object.prototype unchanged');
    assert.equal(({} as Record<string, unknown>).polluted, undefined, 'Object.prototype not polluted');
  }
}

/** Every leaf path of the defaults (`ocpp.maxFrameBytes`, `security.basicAuth.passwords` …) and every object path. */
function paths(value: unknown, prefix = ''): string[] {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return [prefix];
  const out = prefix === '' ? [] : [prefix];
  for (const [k, v] of Object.entries(value)) out.push(...paths(v, prefix === '' ? k : `${prefix}.${k}`));
  return out;
}
const PATHS = paths(schemaDefaults());

function setAt(target: Record<string, unknown>, path: string, value: unknown): void {
  const keys = path.split('.');
  let node = target;
  for (const k of keys.slice(0, -1)) {
    if (node[k] === null || typeof node[k] !== 'object' || Array.isArray(node[k])) node[k] = {};
    node = node[k] as Record<string, unknown>;
  }
  node[keys[keys.length - 1]!] = value;
}

/** Values of every JSON type, including the awkward ones. */
const anyValue = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.constantFrom(0, -1, 1e308, -1e308, 2 ** 53, 0.5, Number.MAX_SAFE_INTEGER + 2, '', ' ', 'null', '0', 'true', [], {}, [null], { '': 1 }, null, true),
  fc.string({ maxLength: 30 }),
);
/** Object keys, including the ones that reach prototypes. */
const key = fc.oneof(fc.string({ maxLength: 10 }), fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'ocpp', 'server', 'port'));

/** Objects as JSON.parse builds them: `__proto__` is an own key there. */
function fromJson(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value));
}
// fc.dictionary defines `__proto__` as an own key; the JSON round trip keeps it one, as a parsed file has it.
const anyObject = fc.dictionary(key, fc.oneof(anyValue, fc.dictionary(key, anyValue, { maxKeys: 4 })), { maxKeys: 6 }).map(fromJson);
const protoObject = fc.tuple(fc.constantFrom('__proto__', 'constructor'), fc.dictionary(fc.constantFrom('polluted', 'ocpp', 'port', 'prototype'), anyValue, { maxKeys: 3 })).map(([k, inner]) => JSON.parse(`{"${k}":${JSON.stringify(inner)},"ocpp":{"__proto__":${JSON.stringify(inner)}}}`) as unknown);

test('loadConfig: any overrides object is a config or a list of problems', fuzzTestOptions(), () => {
  fc.assert(
    fc.property(fc.oneof(anyObject, protoObject, anyValue), (overrides) => {
      outcome(() => loadConfig({ env: {}, overrides: overrides as object }));
    }),
    fuzzParams(100, 0.4),
  );
});

test('loadConfig: a wrong value at any key of the schema is a config or a list of problems naming it', fuzzTestOptions(), () => {
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.constantFrom(...PATHS), anyValue), { minLength: 1, maxLength: 4 }), (changes) => {
      const overrides: Record<string, unknown> = {};
      for (const [path, value] of changes) setAt(overrides, path, value);
      outcome(() => loadConfig({ env: {}, overrides: fromJson(overrides) as object }));
    }),
    fuzzParams(100, 0.4),
  );
});

test('loadConfig: any value of any environment variable is a config or a list of problems', fuzzTestOptions(), () => {
  const names = ENV_TABLE.map((e) => e.name);
  const raw = fc.oneof(fc.string({ maxLength: 20 }), fc.constantFrom('0', '-1', '65536', '99999999999999999999', '1e3', 'true', 'off', 'null', 'none', ',', ' , ,', 'ocpp1.6,ocpp9', '/', 'http://', ' '), fc.integer().map(String));
  fc.assert(
    fc.property(fc.dictionary(fc.constantFrom(...names), raw, { maxKeys: 5 }), (env) => {
      outcome(() => loadConfig({ env }));
    }),
    fuzzParams(100, 0.4),
  );
});

test('loadConfig: any JSON or YAML file is a config, a list of problems or "cannot read"', fuzzTestOptions(), (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'fuzz-config-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const yamlish = fc.oneof(
    fc.string({ maxLength: 120 }),
    fc.array(fc.constantFrom('a: &x [1,2]\n', 'b: *x\n', 'c: [*x, *x, *x, *x, *x, *x, *x, *x, *x, *x]\n', 'ocpp:\n  maxFrameBytes: 12\n', '? [1, 2]\n: 3\n', '<<: {port: 1}\n', '!!binary aGVsbG8=\n', 'x: !!js/function "f"\n', 'server: !!set {a, b}\n', 'd: 2001-12-14t21:59:43.10-05:00\n', '- 1\n', '"__proto__": {polluted: 1}\n', 'e: .inf\n', 'f: 0x1F\n', '%YAML 1.1\n---\n', '---\n', '...\n', '\t', 'k: |\n  text\n', 'g: !!str\n', 'h: &a\n  i: *a\n'), { maxLength: 8 }).map((l) => l.join('')),
    fc.integer({ min: 2, max: 12 }).map((n) => {
      // The alias bomb: each level references the previous one ten times.
      let s = 'l0: &l0 [x, x, x, x, x, x, x, x, x, x]\n';
      for (let i = 1; i < n; i++) s += `l${i}: &l${i} [${Array(10).fill(`*l${i - 1}`).join(', ')}]\n`;
      return s;
    }),
    anyObject.map((o) => JSON.stringify(o)),
    fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)),
  );
  let i = 0;
  fc.assert(
    fc.property(yamlish, fc.constantFrom('.json', '.yaml', '.yml', '.conf'), (text, ext) => {
      const file = join(dir, `c${i++}${ext}`);
      writeFileSync(file, text);
      outcome(() => loadConfig({ file, env: {} }), [ErrorCode.CONFIG_INVALID, ErrorCode.CONFIG_READ]);
    }),
    fuzzParams(80, 0.4),
  );
});
