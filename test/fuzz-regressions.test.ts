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
import { parseForm, coerceForm } from '../src/protocol/commands/form-body.js';
import { commandSchema } from '../src/protocol/commands/catalogue.js';
import { heapUsed } from './helpers/fuzz.js';

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

test('form bodies: arrays by index keep their meaning (index order, holes dropped) without one slot per index', () => {
  const cases: Array<[string, unknown]> = [
    ['a[1]=y&a[0]=x', { a: ['x', 'y'] }],
    ['a[5]=x', { a: ['x'] }],
    ['a[]=1&a[]=2&a[0]=0', { a: ['0', '2'] }],
    ['a[3]=d&a[]=e&a[1]=b', { a: ['b', 'd', 'e'] }],
    ['a[2][b]=1&a[0][b]=2&a[2][c]=3', { a: [{ b: '2' }, { b: '1', c: '3' }] }],
    ['k=1&k=2&k[5]=3&k[]=4', { k: ['1', '2', '3', '4'] }],
    ['a[0][0]=x&a[0][1]=y&a[1][0]=z', { a: [['x', 'y'], ['z']] }],
    ['a[9999]=x&a=y', { a: ['x', 'y'] }],
  ];
  for (const [body, tree] of cases) assert.deepEqual(parseForm(body), tree, body);
  assert.deepEqual(coerceForm(parseForm('key[3]=b&key[1]=a'), commandSchema('ocpp1.6', 'GetConfiguration')), { key: ['a', 'b'] });
});

test('form bodies: a 128 KiB body of high array indices costs little heap and time (it took 90 MiB or 6 s)', () => {
  for (const index of [1000, 9999]) {
    const pairs: string[] = [];
    for (let i = 0, size = 0; size < 128 * 1024; i++) {
      const pair = `a${i % 7}[${Math.floor(i / 7) % 10_000}][${index}]=1`;
      pairs.push(pair);
      size += pair.length + 1;
    }
    const before = heapUsed();
    const started = performance.now();
    const tree = parseForm(pairs.join('&'));
    const payload = coerceForm(tree, commandSchema('ocpp1.6', 'SendLocalList'));
    const ms = performance.now() - started;
    const grown = heapUsed() - before;
    assert.ok(Object.keys(payload).length === 7);
    assert.ok(grown < 40 * 1024 * 1024, `index ${index}: heap grew by ${(grown / 1048576).toFixed(1)} MiB`);
    // Generous for a loaded 2-core machine: before the fix this body took 2 s and 90 MiB (index 1000) or 6 s (index 9999).
    assert.ok(ms < 3000, `index ${index}: ${ms.toFixed(0)} ms`);
  }
});
