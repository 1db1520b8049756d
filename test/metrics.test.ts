/**
 * /metrics from a two-shard server under traffic: a valid exposition (promtool check metrics, from Debian's
 * `prometheus` package, installed by .ci/run) whose values match the traffic the test sent, across shards.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import WebSocket from 'ws';
import { startTestServer, TestStation, waitFor } from './helpers/server.js';
import { toolMissing } from './helpers/tools.js';
import { METRICS } from '../src/metrics/catalog.js';

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** A small parser of the text exposition (enough for our own output: no escapes in label values). */
function parseExposition(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    assert.ok(match, `unparseable line: ${line}`);
    const labels: Record<string, string> = {};
    for (const pair of (match[2] ?? '').split(/,(?=[a-zA-Z_]+=")/).filter(Boolean)) {
      const eq = pair.indexOf('=');
      labels[pair.slice(0, eq)] = JSON.parse(pair.slice(eq + 1)) as string;
    }
    samples.push({ name: match[1]!, labels, value: Number(match[3]) });
  }
  return samples;
}

function total(samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  return samples
    .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((sum, s) => sum + s.value, 0);
}

const promtool = spawnSync('promtool', ['--version'], { encoding: 'utf8' }).status === 0;

test('metrics from every shard add up to the traffic sent, and promtool accepts the exposition', async (t) => {
  const h = await startTestServer({ server: { workers: 2 } });
  t.after(() => h.stop());
  const N = 16;
  const HEARTBEATS = 3;
  const stations: TestStation[] = [];
  for (let i = 0; i < N; i++) {
    const s = await TestStation.connect(h.url(`MET-${i}`), ['ocpp1.6']);
    stations.push(s);
    await s.call('BootNotification', { chargePointVendor: 'V', chargePointModel: 'M' });
    for (let k = 0; k < HEARTBEATS; k++) await s.call('Heartbeat', {});
    await s.sendRaw('not json');
    await s.call('Heartbeat', { extra: true });
  }
  t.after(() => Promise.all(stations.map((s) => s.close())));
  await waitFor(() => new Set(h.server.stations().map((r) => r.shard)).size === 2, 5000, 'both shards used');
  // A command round trip and a refused upgrade.
  stations[0]!.onCall = () => ({ status: 'Accepted' });
  await h.server.call('MET-0', 'ClearCache', {});
  const refused = new WebSocket(`ws://127.0.0.1:${h.port}/ocpp/bad%20identity`, ['ocpp1.6']);
  await new Promise((resolve) => refused.on('error', resolve));

  const res = await fetch(`http://127.0.0.1:${h.port}/metrics`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  const text = await res.text();
  const samples = parseExposition(text);

  assert.equal(total(samples, 'ocpp_station_connects_total'), N);
  assert.equal(total(samples, 'ocpp_stations_connected', { version: 'ocpp1.6', transport: 'ws' }), N);
  assert.equal(total(samples, 'ocpp_stations_known'), N);
  assert.equal(total(samples, 'ocpp_messages_total', { direction: 'in', message_type: 'CALL', action: 'Heartbeat' }), N * (HEARTBEATS + 1));
  assert.equal(total(samples, 'ocpp_messages_total', { direction: 'out', message_type: 'CALLRESULT', action: 'Heartbeat' }), N * HEARTBEATS);
  assert.equal(total(samples, 'ocpp_messages_total', { direction: 'out', message_type: 'CALLERROR', action: 'Heartbeat' }), N);
  assert.equal(total(samples, 'ocpp_station_calls_total', { action: 'BootNotification', result: 'ok' }), N);
  assert.equal(total(samples, 'ocpp_request_duration_seconds_count', { action: 'Heartbeat' }), N * (HEARTBEATS + 1));
  assert.equal(total(samples, 'ocpp_request_duration_seconds_bucket', { action: 'Heartbeat', le: '+Inf' }), N * (HEARTBEATS + 1));
  assert.equal(total(samples, 'ocpp_bad_frames_total', { kind: 'notJson' }), N);
  assert.equal(total(samples, 'ocpp_callerrors_sent_total', { code: 'FormationViolation' }), 2 * N);
  assert.equal(total(samples, 'ocpp_validation_failures_total', { version: 'ocpp1.6', action: 'Heartbeat', direction: 'request' }), N);
  assert.equal(total(samples, 'ocpp_command_duration_seconds_count', { action: 'ClearCache', outcome: 'result' }), 1);
  assert.equal(total(samples, 'ocpp_outbound_calls_total', { outcome: 'result' }), 1);
  assert.equal(total(samples, 'ocpp_upgrades_refused_total', { reason: 'badIdentity' }), 1);
  assert.equal(total(samples, 'ocpp_shards_ready'), 2);
  const perShard = samples.filter((s) => s.name === 'ocpp_shard_connections');
  assert.deepEqual(perShard.map((s) => s.labels.shard).sort(), ['0', '1']);
  assert.ok(perShard.every((s) => s.value > 0), 'the shard label shows the per-shard view');
  assert.deepEqual(samples.filter((s) => s.name === 'ocpp_heap_used_bytes').map((s) => s.labels.thread).sort(), ['control', 'shard-0', 'shard-1']);
  assert.ok(total(samples, 'process_resident_memory_bytes') > 0, 'process metrics of the main thread');

  // No label value carries a station identity.
  for (const s of samples) for (const value of Object.values(s.labels)) assert.ok(!value.startsWith('MET-'), `${s.name} has an identity in a label`);
  // Every metric of the catalog has help text in the exposition; every ocpp_ family is in the catalog.
  const helped = new Set([...text.matchAll(/^# HELP (\S+) \S/gm)].map((m) => m[1]));
  for (const m of METRICS) assert.ok(helped.has(m.name), `${m.name} has HELP`);
  for (const name of helped) if (name!.startsWith('ocpp_')) assert.ok(METRICS.some((m) => m.name === name), `${name} is in the catalog`);

  // Without promtool: fails in CI (CI=true), outside CI the exposition is checked by value only, saying so.
  if (!promtool) {
    const missing = toolMissing('promtool', 'the Debian package prometheus (apt-get install prometheus; .ci/run does)', 'the exposition check');
    t.diagnostic(`${missing}: the exposition was checked by value only`);
    return;
  }
  const check = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  assert.equal(check.status, 0, `promtool check metrics:\n${check.stdout}${check.stderr}`);
});

test('health: live and ready; metrics off answers 404 and the frame path records nothing', async (t) => {
  const h = await startTestServer({ metrics: { enable: false } });
  t.after(() => h.stop());
  const base = `http://127.0.0.1:${h.port}`;
  assert.equal((await fetch(`${base}/health/live`)).status, 200);
  const ready = await fetch(`${base}/health/ready`);
  assert.equal(ready.status, 200);
  assert.deepEqual(await ready.json(), { status: 'ready' });
  assert.equal((await fetch(`${base}/metrics`)).status, 404);
  const s = await TestStation.connect(h.url('OFF-1'), ['ocpp1.6']);
  t.after(() => s.close());
  await s.call('Heartbeat', {});
  await s.sendRaw('x');
  // Event counters stay; per-message ones are not recorded.
  assert.equal(await h.server.counter('badFrames.notJson'), 1);
  assert.equal(await h.server.counter('framesIn.2'), 0);
});

test('readiness is 503 while a shard restarts', async (t) => {
  const h = await startTestServer({ server: { workers: 2 } });
  t.after(() => h.stop());
  const base = `http://127.0.0.1:${h.port}`;
  // A probe whose connection the crash cuts sees what an orchestrator would: a failure (status 0 here).
  const probe = (): Promise<number> => fetch(`${base}/health/ready`).then((r) => r.status, () => 0);
  h.server.supervisor.send(0, { t: 'crash' });
  await waitFor(async () => (await probe()) === 503, 5000, 'not ready during the restart');
  await waitFor(async () => (await probe()) === 200, 10_000, 'ready again');
});
