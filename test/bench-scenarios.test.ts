/**
 * The benchmark scenarios are data (bench/scenarios/*.json): every file must match the scenario schema
 * (bench/scenario-schema.ts), and the harness must run a tiny one end to end, so neither can rot unnoticed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { loadScenario, SCENARIO_DIR } from '../bench/scenario-run.js';
import { parseScenario, ScenarioError } from '../bench/scenario-schema.js';
import { Histogram } from '../bench/histogram.js';
import { ROOT } from '../bench/harness.js';

const files = readdirSync(SCENARIO_DIR).filter((f) => f.endsWith('.json')).sort();

test('there are scenario files for every kind', () => {
  const kinds = new Set(files.map((f) => loadScenario(f.slice(0, -5)).scenario.kind));
  assert.deepEqual([...kinds].sort(), ['boot-storm', 'cluster', 'external', 'fanout', 'fleet', 'reconnect-storm']);
});

for (const file of files) {
  test(`scenario ${file} matches the schema`, () => {
    const { name, scenario } = loadScenario(join(SCENARIO_DIR, file));
    assert.equal(name, file.slice(0, -5));
    assert.ok(scenario.description.length > 0);
  });
}

test('invalid scenarios are refused with every problem named', () => {
  const bad = (value: unknown): string[] => {
    try {
      parseScenario(value, 'bad');
    } catch (error) {
      assert.ok(error instanceof ScenarioError);
      assert.equal(error.code, 'BENCH_SCENARIO_INVALID');
      return [...error.details];
    }
    assert.fail('accepted');
  };
  assert.equal(bad({ kind: 'nope' }).length, 1);
  const details = bad({ kind: 'fleet', description: 'x', targets: ['router', 'nginx'], stations: 0, traffic: 'open', mix: { Heartbeat: 1 }, durationS: 1, extra: 1 });
  assert.ok(details.length >= 3, details.join('; '));
  assert.ok(details.some((d) => d.includes('extra')));
  // 20,000 open files per process: at most 15,000 stations per load generator process.
  assert.ok(bad({ kind: 'boot-storm', description: 'x', targets: ['router'], stations: 19000, lgProcs: 1, timeoutS: 10 }).some((d) => d.includes('15000')));
  // Defaults are filled in.
  const ok = parseScenario({ kind: 'fleet', description: 'x', targets: ['router'], stations: 1, traffic: 'closed', mix: { Heartbeat: 1 }, durationS: 1 });
  assert.equal(ok.kind === 'fleet' ? ok.inFlight : 0, 1);
});

test('histogram: exact below 256, within one bucket (≤ 0.8 %) above, mergeable', () => {
  const h = new Histogram();
  for (let v = 1; v <= 100_000; v++) h.record(v);
  assert.equal(h.total, 100_000);
  for (const p of [50, 90, 99, 99.9]) {
    const exact = Math.ceil((p / 100) * 100_000);
    const got = h.percentile(p);
    assert.ok(got >= exact && got <= exact * 1.008, `p${p}: ${got} vs ${exact}`);
  }
  const small = new Histogram();
  for (const v of [3, 1, 2, 200]) small.record(v);
  assert.equal(small.percentile(50), 2);
  assert.equal(small.percentile(100), 200);
  const merged = Histogram.from(h.snapshot());
  merged.merge(small.snapshot());
  assert.equal(merged.total, 100_004);
  assert.equal(merged.max, 100_000);
  assert.equal(merged.min, 1);
  for (let i = 0; i < merged.counts.length; i++) assert.ok(merged.highestOf(i) >= (i === 0 ? 0 : merged.highestOf(i - 1)));
});

test('the smoke scenario runs end to end (router and floor, 20 stations, 1 s window)', { timeout: 90_000 }, async () => {
  const child = spawn(process.execPath, [join(ROOT, 'dist', 'bench', 'run.js'), 'smoke', '--no-save'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const code = await new Promise<number | null>((r) => child.once('exit', r));
  assert.equal(code, 0, out);
  for (const target of ['router', 'floor']) {
    const row = out.split('\n').find((l) => new RegExp(`^\\|\\s+${target} \\|`).test(l));
    assert.ok(row !== undefined, out);
    const cells = row.split('|').map((c) => c.trim()).filter((c) => c !== '');
    assert.equal(cells[1], '20', row); // stations booted
    assert.ok(Number(cells[2]) > 0, row); // msgs/s
    assert.equal(cells.at(-1), '0', row); // errors
  }
});
