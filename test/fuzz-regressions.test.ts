/**
 * Plain regression tests for the bugs the fuzz properties found (test/fuzz-*.test.ts, docs/fuzzing.md lists them).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../src/config/load.js';
import { ErrorCode, RouterError } from '../src/protocol/errors.js';

function configError(load: () => unknown): RouterError {
  try {
    load();
  } catch (error) {
    assert.ok(error instanceof RouterError, `a RouterError, not ${String(error)}`);
    return error;
  }
  assert.fail('expected a RouterError');
}

test('config overrides with a "__proto__" key (as JSON.parse makes it): an unknown key, Object.prototype untouched', () => {
  const overrides = JSON.parse('{"__proto__":{"polluted":"yes","port":1},"ocpp":{"__proto__":{"polluted":"yes"}}}') as object;
  const error = configError(() => loadConfig({ env: {}, overrides }));
  assert.equal(error.code, ErrorCode.CONFIG_INVALID);
  const paths = (error.details as Array<{ path: string; message: string }>).map((p) => `${p.path}: ${p.message}`);
  assert.ok(paths.includes('__proto__: unknown key'), paths.join('\n'));
  assert.ok(paths.includes('ocpp.__proto__: unknown key'), paths.join('\n'));
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
  assert.equal(Object.hasOwn(Object.prototype, 'polluted'), false);
});

test('a YAML config whose aliases expand beyond the limit ("billion laughs") is CONFIG_READ, not a ReferenceError', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'fuzz-regression-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'bomb.yaml');
  writeFileSync(file, 'a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n');
  const error = configError(() => loadConfig({ file, env: {} }));
  assert.equal(error.code, ErrorCode.CONFIG_READ);
  assert.match(error.message, /cannot read configuration .*bomb\.yaml: .*alias/i);
});
