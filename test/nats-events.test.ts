/**
 * The fleet's events on JetStream (cluster.events, src/cluster/events.ts) with a real nats-server and a real router:
 * a station's connect, boot, status, a command and its result, and the disconnect arrive on the stream with their
 * subjects and unique Nats-Msg-Ids; identities that are special in subjects stay one token; NATS stopped mid-run
 * sends events to the spool while stations keep being answered, and NATS started again gets them all, in order.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { privateNats } from './helpers/nats.js';
import { streamReader, type StoredEvent } from './helpers/nats-stream.js';
import { startTestServer, TestStation, waitFor } from './helpers/server.js';
import { nodeIdOf } from '../src/cluster/node-id.js';
import { Subjects, decodeToken } from '../src/cluster/subjects.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstream } from '@nats-io/jetstream';
import { ensureStream } from '../src/cluster/streams.js';
import { EventPublisher } from '../src/cluster/events.js';
import { DurableLog } from '../src/store/durable-log.js';
import { NatsMetrics } from '../src/metrics/nats-metrics.js';
import { loadConfig } from '../src/config/load.js';

const subjects = new Subjects('ocpp');
const silent = { info: () => undefined, warn: () => undefined, error: () => undefined };
const eventsDefaults = loadConfig({ env: {}, overrides: { cluster: { events: { exclude: [] } } } }).cluster.events;

const STREAM = 'OCPP_EVENTS';
const BOOT = { chargePointVendor: 'V', chargePointModel: 'M' };
const STATUS = { connectorId: 1, errorCode: 'NoError', status: 'Available' };
/** A subject token: what encodeToken produces. */
const TOKEN = /^[A-Za-z0-9_=-]+$/;

function eventsConfig(url: string, extra: Record<string, unknown> = {}) {
  return { cluster: { nats: { servers: [url], reconnectWaitMs: 50, reconnectMaxWaitMs: 200 }, events: { enable: true, exclude: [], ...extra } } };
}

test('a station\'s connect, boot, status, a command and the disconnect arrive on the stream with subjects and dedupe ids', async (t) => {
  const nats = await privateNats(t);
  const reader = await streamReader(t, nats.url);
  const h = await startTestServer(eventsConfig(nats.url, { exclude: ['Heartbeat'] }));
  t.after(() => h.stop());
  const node = nodeIdOf(h.config, h.port);
  const station = await TestStation.connect(h.url('CP-1'));
  station.onCall = (action) => (action === 'Reset' ? { status: 'Accepted' } : null);
  assert.equal((await station.call('BootNotification', BOOT, 'b1'))[0], 3);
  assert.equal((await station.call('StatusNotification', STATUS, 's1'))[0], 3);
  assert.equal((await station.call('Heartbeat', {}, 'h1'))[0], 3);
  assert.deepEqual(await h.server.call('CP-1', 'Reset', { type: 'Soft' }), { status: 'Accepted' });
  await station.close();

  const events = await reader.waitFor(STREAM, 9);
  const prefix = `ocpp.events.${node}.CP-1.`;
  assert.deepEqual(events.map((e) => e.subject.slice(prefix.length)), [
    'StationConnected',
    'BootNotification',
    'BootNotification',
    'StatusNotification',
    'StatusNotification',
    'Reset',
    'Reset',
    'CommandResult',
    'StationDisconnected',
  ]);
  for (const e of events) assert.ok(e.subject.startsWith(prefix), e.subject);
  const kinds = events.map((e) => [e.body.type, e.body.direction ?? null, e.body.messageType ?? null]);
  assert.deepEqual(kinds.slice(1, 7), [
    ['BootNotification', 'in', 'CALL'],
    ['BootNotification', 'out', 'CALLRESULT'],
    ['StatusNotification', 'in', 'CALL'],
    ['StatusNotification', 'out', 'CALLRESULT'],
    ['Reset', 'out', 'CALL'],
    ['Reset', 'in', 'CALLRESULT'],
  ]);
  const boot = events[1]!.body;
  assert.equal(boot.identity, 'CP-1');
  assert.equal(boot.node, node);
  assert.equal(boot.ocppVersion, 'ocpp1.6');
  assert.equal(boot.uniqueId, 'b1');
  assert.deepEqual(boot.payload, BOOT);
  assert.equal((events[2]!.body.payload as { status: string }).status, 'Accepted');
  assert.deepEqual(events[6]!.body.payload, { status: 'Accepted' });
  const result = events[7]!.body;
  assert.equal(result.action, 'Reset');
  assert.equal(result.outcome, 'result');
  assert.equal(result.uniqueId, events[5]!.body.uniqueId);
  assert.equal(events[8]!.body.code, 1005);
  // Every event has its own Nats-Msg-Id: node, run, sequence, connection, direction and type, unique id.
  const ids = events.map((e) => e.msgId);
  assert.equal(new Set(ids).size, ids.length);
  const connId = events[0]!.body.connId as number;
  assert.match(ids[1]!, new RegExp(`^${node}\\.[0-9a-z]+\\.\\d+\\.${connId}\\.in2\\.b1$`));
  assert.match(ids[2]!, new RegExp(`\\.${connId}\\.out3\\.b1$`));
  // One shard's events in its order.
  const seqs = events.map((e) => e.body.seq as number);
  assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b));
  // The stream was created with the configured limits.
  const info = await reader.jsm.streams.info(STREAM);
  assert.deepEqual(info.config.subjects, ['ocpp.events.>']);
  assert.equal(info.config.max_age, 7 * 86_400 * 1e9);
  const scrape = await fetch(`http://127.0.0.1:${h.port}/metrics`).then((r) => r.text());
  assert.match(scrape, /^ocpp_nats_events_published_total 9$/m);
  assert.match(scrape, /^ocpp_nats_events_dropped_total 0$/m);
});

test('identities that are special in subjects stay one token, and come back from the subject', async (t) => {
  const nats = await privateNats(t);
  const reader = await streamReader(t, nats.url);
  const h = await startTestServer(eventsConfig(nats.url, { actions: ['BootNotification'], exclude: ['StationConnected', 'StationDisconnected'] }));
  t.after(() => h.stop());
  // What the handshake accepts of the characters NATS treats specially (`.`, `*`; `>`, spaces and non-ASCII never
  // pass identityProblem(); the publisher's subjects for those are checked in the next test).
  const identities = ['a.b', '*', 'a.*', '+|@=', 'x..y', '=2E'];
  for (const identity of identities) {
    const station = await TestStation.connect(h.url(identity));
    assert.equal((await station.call('BootNotification', BOOT))[0], 3);
    await station.close();
  }
  const events = await reader.waitFor(STREAM, identities.length * 2);
  assert.equal(events.length, identities.length * 2, 'actions: only BootNotification; kinds excluded');
  const seen = new Set<string>();
  for (const e of events) {
    const tokens = e.subject.split('.');
    assert.equal(tokens.length, 5, e.subject);
    assert.match(tokens[3]!, TOKEN);
    assert.equal(tokens[4], 'BootNotification');
    assert.equal(decodeToken(tokens[3]!), e.body.identity);
    seen.add(e.body.identity as string);
  }
  assert.deepEqual([...seen].sort(), [...identities].sort());
});

test('NATS stopped mid-run: stations keep being answered, events wait in the spool and reach the stream in order', async (t) => {
  const nats = await privateNats(t);
  const h = await startTestServer(eventsConfig(nats.url));
  t.after(() => h.stop());
  const reader = await streamReader(t, nats.url);
  const stations = await Promise.all(['S-1', 'S-2', 'S-3', 'S-4'].map((id) => TestStation.connect(h.url(id))));
  const beats = async (round: number): Promise<void> => {
    await Promise.all(stations.map(async (s) => {
      for (let i = 0; i < 5; i++) assert.equal((await s.call('Heartbeat', {}, `r${round}-${i}`))[0], 3);
    }));
  };
  await beats(0);
  await reader.waitFor(STREAM, 4 + 4 * 10);
  await nats.stop();
  // While NATS is away: every station is still answered at once (the frame path never waits for NATS).
  const started = performance.now();
  for (let round = 1; round <= 4; round++) await beats(round);
  const elapsed = performance.now() - started;
  assert.ok(elapsed < 3000, `stations answered in ${elapsed} ms while NATS was down`);
  const spooled = await waitFor(async () => {
    const text = await fetch(`http://127.0.0.1:${h.port}/metrics`).then((r) => r.text());
    const n = Number(/^ocpp_nats_events_spooled_total (\d+)/m.exec(text)?.[1] ?? 0);
    return n >= 4 * 4 * 10 ? text : null;
  }, 10_000, 'events spooled');
  assert.match(spooled, /^ocpp_nats_connected 0$/m);
  await nats.start();
  const total = 4 + 4 * 10 * 5;
  const events = await reader.waitFor(STREAM, total, undefined, 30_000);
  // Nothing lost, nothing twice: every message of every station exactly once.
  const keys = events.map((e) => `${e.body.identity} ${e.body.type} ${e.body.direction ?? ''} ${e.body.uniqueId ?? ''}`);
  assert.equal(new Set(keys).size, keys.length, 'no duplicates');
  assert.equal(events.length, total);
  // In order per shard: the stream holds each shard's events by their sequence number.
  const byShard = new Map<number, number[]>();
  for (const e of events) {
    const list = byShard.get(e.body.shard as number) ?? [];
    list.push(e.body.seq as number);
    byShard.set(e.body.shard as number, list);
  }
  for (const [shard, seqs] of byShard) assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b), `shard ${shard} in order`);
  // Per station: its heartbeats in the order they happened.
  for (const s of ['S-1', 'S-2', 'S-3', 'S-4']) {
    const calls = events.filter((e: StoredEvent) => e.body.identity === s && e.body.direction === 'in').map((e) => e.body.uniqueId);
    assert.deepEqual(calls, [0, 1, 2, 3, 4].flatMap((r) => [0, 1, 2, 3, 4].map((i) => `r${r}-${i}`)));
  }
  const metrics = await waitFor(async () => {
    const text = await fetch(`http://127.0.0.1:${h.port}/metrics`).then((r) => r.text());
    return /^ocpp_nats_events_spool_entries 0$/m.test(text) ? text : null;
  }, 10_000, 'spool empty');
  assert.match(metrics, /^ocpp_nats_events_dropped_total 0$/m);
  assert.match(metrics, /^ocpp_nats_connected 2$/m);
  for (const s of stations) await s.close();
});

test('more events than maxPending: the overflow goes through the spool, nothing is lost or stored twice, order kept', async (t) => {
  const nats = await privateNats(t);
  const reader = await streamReader(t, nats.url);
  const h = await startTestServer(eventsConfig(nats.url, { maxPending: 2 }));
  t.after(() => h.stop());
  const ids = ['O-1', 'O-2', 'O-3', 'O-4', 'O-5', 'O-6'];
  const stations = await Promise.all(ids.map((id) => TestStation.connect(h.url(id))));
  await Promise.all(stations.map(async (s) => {
    for (let i = 0; i < 25; i++) assert.equal((await s.call('Heartbeat', {}, `h${i}`))[0], 3);
  }));
  const total = ids.length * (1 + 50);
  const events = await reader.waitFor(STREAM, total, undefined, 30_000);
  assert.equal(events.length, total);
  assert.equal(new Set(events.map((e) => e.msgId)).size, total);
  for (const id of ids) {
    const calls = events.filter((e) => e.body.identity === id && e.body.direction === 'in').map((e) => e.body.uniqueId);
    assert.deepEqual(calls, Array.from({ length: 25 }, (_, i) => `h${i}`), `${id} in order`);
  }
  const metrics = await waitFor(async () => {
    const text = await fetch(`http://127.0.0.1:${h.port}/metrics`).then((r) => r.text());
    return /^ocpp_nats_events_spool_entries 0$/m.test(text) && /^ocpp_nats_events_pending 0$/m.test(text) ? text : null;
  }, 10_000, 'spool empty');
  assert.ok(Number(/^ocpp_nats_events_spooled_total (\d+)/m.exec(metrics)![1]) > 0, 'some events went through the spool');
  assert.match(metrics, /^ocpp_nats_events_dropped_total 0$/m);
  for (const s of stations) await s.close();
});

test('the publisher writes any identity as one subject token (`>`, spaces, control characters, non-ASCII)', async (t) => {
  const nats = await privateNats(t);
  const reader = await streamReader(t, nats.url);
  const dir = mkdtempSync(join(tmpdir(), 'ocpp-router-events-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  await ensureStream(reader.nc, { name: STREAM, subjects: ['ocpp.events.>'], maxAgeS: 0, maxBytes: 0, replicas: 1 });
  const spool = await DurableLog.open(dir, { maxBytes: 1024 * 1024, segmentBytes: 65_536, fsync: false }, silent);
  const metrics = new NatsMetrics();
  const js = jetstream(reader.nc);
  const publisher = new EventPublisher({ nodeId: 'n1', shardId: 0, runToken: 'r', subjects: () => subjects, config: eventsDefaults, spool, client: () => js, connection: () => reader.nc, metrics, logger: silent });
  const identities = ['>', 'a.>', '*.*', 'with space', 'tab\there', 'new\nline', 'ünïcødé', '充电桩', '🚗⚡', '\u0000', 'a.b'];
  identities.forEach((identity, i) => publisher.message({ identity, account: null, version: 'ocpp1.6', connId: i + 1, transport: 'ws' }, 'in', 2, `id ${i}.>`, 'Heartbeat', {}));
  const events = await reader.waitFor(STREAM, identities.length);
  for (const e of events) {
    const tokens = e.subject.split('.');
    assert.equal(tokens.length, 5, e.subject);
    assert.match(tokens[3]!, TOKEN);
    assert.equal(decodeToken(tokens[3]!), e.body.identity);
    assert.doesNotMatch(e.msgId!, /[\s>*]/, 'the Nats-Msg-Id is header-safe');
  }
  assert.deepEqual(events.map((e) => e.body.identity), identities);
  assert.equal(metrics.events.published, identities.length);
  await publisher.close(1000);
  await spool.close();
});

test('a reload that turns events on starts publishing; turning them off stops it', async (t) => {
  const nats = await privateNats(t);
  const reader = await streamReader(t, nats.url);
  const h = await startTestServer({ cluster: { nats: { servers: [nats.url] } } });
  t.after(() => h.stop());
  const s = await TestStation.connect(h.url('R-1'));
  assert.equal((await s.call('BootNotification', BOOT, 'before'))[0], 3);
  const on = loadConfig({ env: {}, overrides: { ...h.config, cluster: { ...h.config.cluster, events: { ...h.config.cluster.events, enable: true, exclude: [] } } } });
  await h.server.reload(on).done;
  await waitFor(async () => /^ocpp_nats_connected 2$/m.test(await fetch(`http://127.0.0.1:${h.port}/metrics`).then((r) => r.text())), 10_000, 'shards connected');
  assert.equal((await s.call('BootNotification', BOOT, 'during'))[0], 3);
  const events = await reader.waitFor(STREAM, 2);
  assert.deepEqual(events.map((e) => [e.body.uniqueId, e.body.direction]), [['during', 'in'], ['during', 'out']]);
  await h.server.reload(h.config).done;
  await waitFor(async () => /^ocpp_nats_connected 0$/m.test(await fetch(`http://127.0.0.1:${h.port}/metrics`).then((r) => r.text())), 10_000, 'shards disconnected');
  assert.equal((await s.call('BootNotification', BOOT, 'after'))[0], 3);
  await s.close();
  assert.equal((await reader.read(STREAM)).length, 2);
});

test('a full spool drops events and counts them; what it kept is published once NATS is there', async (t) => {
  const nats = await privateNats(t);
  const reader = await streamReader(t, nats.url);
  const dir = mkdtempSync(join(tmpdir(), 'ocpp-router-events-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  await ensureStream(reader.nc, { name: STREAM, subjects: ['ocpp.events.>'], maxAgeS: 0, maxBytes: 0, replicas: 1 });
  const spool = await DurableLog.open(dir, { maxBytes: 8 * 1024, segmentBytes: 4096, fsync: false }, silent);
  const metrics = new NatsMetrics();
  const js = jetstream(reader.nc);
  let up = false;
  const publisher = new EventPublisher({ nodeId: 'n1', shardId: 0, runToken: 'r', subjects: () => subjects, config: eventsDefaults, spool, client: () => (up ? js : null), connection: () => (up ? reader.nc : null), metrics, logger: silent });
  const station = { identity: 'FULL-1', account: null, version: 'ocpp1.6', connId: 1, transport: 'ws' as const };
  for (let i = 0; i < 200; i++) publisher.message(station, 'in', 2, `m${i}`, 'Heartbeat', { pad: 'x'.repeat(100) });
  await waitFor(() => metrics.events.spooled + metrics.events.dropped === 200, 5000, 'every event spooled or dropped');
  assert.ok(metrics.events.dropped > 0, 'the spool filled up');
  assert.ok(metrics.events.spooled > 0);
  assert.ok(spool.bytes <= 8 * 1024);
  const kept = metrics.events.spooled;
  up = true;
  publisher.ready();
  const events = await reader.waitFor(STREAM, kept);
  assert.equal(events.length, kept);
  assert.deepEqual(events.map((e) => e.body.uniqueId), Array.from({ length: kept }, (_, i) => `m${i}`), 'the first ones, in order');
  await waitFor(() => spool.size === 0, 5000, 'spool published');
  assert.equal(metrics.events.published, kept);
  await publisher.close(1000);
  await spool.close();
});
