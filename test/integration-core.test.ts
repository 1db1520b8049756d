/**
 * The core against a running multi-shard server with real WebSocket clients: sharding, replacement across
 * shards, crash and restart, commands to any shard, registry, liveness, graceful stop.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { createServer, type AddressInfo } from 'node:net';
import { startTestServer, TestStation, waitFor } from './helpers/server.js';
import { ErrorCode, type RouterError } from '../src/protocol/errors.js';
import type { RouterServer } from '../src/control/router.js';
import type { StationRecord } from '../src/control/station-registry.js';
import { isBun } from '../src/transport/runtime.js';

const BOOT_16 = { chargePointVendor: 'Acme', chargePointModel: 'X1' };

/** The registry record of a connected station, or undefined while it is not (yet) connected. */
function liveRecord(server: RouterServer, identity: string): StationRecord | undefined {
  const record = server.station(identity);
  return record?.connected && record.shard !== null ? record : undefined;
}

async function bootStation(url: string, version = 'ocpp1.6'): Promise<TestStation> {
  const station = await TestStation.connect(url, [version]);
  const boot = version === 'ocpp1.6' ? BOOT_16 : { reason: 'PowerUp', chargingStation: { model: 'X1', vendorName: 'Acme' } };
  const answer = await station.call('BootNotification', boot);
  assert.equal(answer[0], 3);
  return station;
}

test('stations land on more than one shard, and every shard answers them', async (t) => {
  const h = await startTestServer({ server: { workers: 2 } });
  t.after(() => h.stop());
  const stations: TestStation[] = [];
  for (let i = 0; i < 24; i++) stations.push(await bootStation(h.url(`SHARD-${i}`)));
  t.after(() => Promise.all(stations.map((s) => s.close())));
  await waitFor(() => h.server.stations().filter((s) => s.connected).length === 24, 5000, 'all registered');
  const shards = new Set(h.server.stations().map((s) => s.shard));
  assert.deepEqual([...shards].sort(), [0, 1], 'connections spread over both shards');
  // Heartbeat and a command work whichever shard holds the station.
  for (const [i, station] of stations.entries()) {
    const hb = await station.call('Heartbeat', {});
    assert.equal(hb[0], 3);
    station.onCall = (action) => (action === 'GetConfiguration' ? { configurationKey: [{ key: 'K', readonly: true, value: String(i) }] } : null);
    const result = await h.server.call(`SHARD-${i}`, 'GetConfiguration', {});
    assert.deepEqual(result, { configurationKey: [{ key: 'K', readonly: true, value: String(i) }] });
  }
  const stats = await h.server.shardStats();
  assert.ok(stats.every((s) => s.connections > 0), 'each shard holds stations');
});

test('the registry keeps account, version, boot payload, connector statuses and last message time', async (t) => {
  const h = await startTestServer();
  t.after(() => h.stop());
  const station = await TestStation.connect(h.url('REG-1', 'acme'), ['ocpp2.0.1']);
  t.after(() => station.close());
  await station.call('BootNotification', { reason: 'PowerUp', chargingStation: { model: 'X1', vendorName: 'Acme' } });
  await station.call('StatusNotification', { timestamp: new Date().toISOString(), connectorStatus: 'Occupied', evseId: 1, connectorId: 2 });
  const record = await waitFor(() => {
    const r = h.server.station('REG-1');
    return r?.boot !== null && r?.connectors['1/2'] !== undefined ? r : undefined;
  });
  assert.equal(record.account, 'acme');
  assert.equal(record.version, 'ocpp2.0.1');
  assert.equal(record.remoteAddress, '127.0.0.1');
  assert.equal(record.connected, true);
  assert.equal(record.boot!.status, 'Accepted');
  assert.deepEqual(record.boot!.payload, { reason: 'PowerUp', chargingStation: { model: 'X1', vendorName: 'Acme' } });
  assert.equal(record.connectors['1/2']!.status, 'Occupied');
  assert.ok(record.connectedAt! > 0 && record.lastMessageAt! >= record.connectedAt!);
  // The shard reports last-message times once a second for the stations that talked: each message moves it on.
  for (let round = 0; round < 2; round++) {
    const before = h.server.station('REG-1')!.lastMessageAt!;
    await waitFor(() => Date.now() > before, 1000, 'the clock past the last message');
    await station.call('Heartbeat', {});
    await waitFor(() => h.server.station('REG-1')!.lastMessageAt! > before, 3000, `last message time moved (round ${round})`);
  }
  await station.close();
  await waitFor(() => h.server.station('REG-1')?.connected === false, 5000, 'disconnect recorded');
  assert.equal(h.server.station('REG-1')!.lastDisconnect!.code, 1005);
});

test('a reconnect with the same identity replaces the old connection, on whichever shard (newest wins)', async (t) => {
  const h = await startTestServer({ server: { workers: 2 } });
  t.after(() => h.stop());
  const first = await bootStation(h.url('DUP-1'));
  const firstShard = (await waitFor(() => liveRecord(h.server, 'DUP-1'))).shard;
  // Open new connections until one lands on the other shard (the kernel spreads them), replacing each time.
  let latest = first;
  const closes: Array<Promise<{ code: number; reason: string }>> = [];
  let crossed = false;
  for (let i = 0; i < 30 && !crossed; i++) {
    const previousConn = h.server.station('DUP-1')!.connId;
    closes.push(latest.closed);
    latest = await bootStation(h.url('DUP-1'));
    const record = await waitFor(() => {
      const r = h.server.station('DUP-1');
      return r !== undefined && r.connId !== previousConn && r.connected ? r : undefined;
    });
    crossed = record.shard !== firstShard;
  }
  t.after(() => latest.close());
  assert.ok(crossed, 'a replacement crossed shards');
  for (const closed of closes) {
    const { code, reason } = await closed;
    assert.equal(code, 4000);
    assert.match(reason, /replaced/);
  }
  assert.ok((await h.server.counter('connectionsReplaced')) >= closes.length);
  // The newest connection still works and is the one the registry points at.
  assert.equal((await latest.call('Heartbeat', {}))[0], 3);
  assert.equal(h.server.stations().filter((s) => s.identity === 'DUP-1').length, 1);
  assert.equal(h.server.station('DUP-1')!.connected, true);
});

test('a crashed shard is restarted, its stations reconnect at once, the other shard is not disturbed', async (t) => {
  const h = await startTestServer({ server: { workers: 2 } });
  t.after(() => h.stop());
  const stations = new Map<number, TestStation>();
  for (let i = 0; i < 40 && stations.size < 2; i++) {
    const s = await bootStation(h.url(`CRASH-${i}`));
    const record = await waitFor(() => liveRecord(h.server, `CRASH-${i}`));
    if (!stations.has(record.shard!)) stations.set(record.shard!, s);
    else await s.close();
  }
  t.after(() => Promise.all([...stations.values()].map((s) => s.close())));
  assert.equal(stations.size, 2);
  const victim = stations.get(0)!;
  const bystander = stations.get(1)!;
  const victimId = h.server.stations().find((r) => r.shard === 0 && r.connected)!.identity;
  h.server.supervisor.send(0, { t: 'crash' });
  const closed = await victim.closed;
  assert.notEqual(closed.code, 1000);
  await waitFor(() => h.server.station(victimId)?.connected === false, 5000, 'registry marks the lost station');
  // The bystander on the other shard keeps working throughout.
  assert.equal((await bystander.call('Heartbeat', {}))[0], 3);
  // The victim reconnects at once (the other shard listens; the restarted one soon does too).
  const again = await bootStation(h.url(victimId));
  t.after(() => again.close());
  // The main thread learns of the exit asynchronously: wait for the restart itself, not only "listening".
  await waitFor(() => h.server.supervisor.restarts(0) === 1 && h.server.supervisor.isListening(0), 5000, 'shard 0 restarted');
  assert.equal((await again.call('Heartbeat', {}))[0], 3);
  assert.equal(h.server.station(victimId)!.connected, true);
});

test('commands: unknown station, disconnected station, invalid payload, CALLERROR, timeout, one in flight', async (t) => {
  const h = await startTestServer({ ocpp: { callTimeoutMs: 5000 } });
  t.after(() => h.stop());
  await assert.rejects(h.server.call('NOPE', 'Reset', { type: 'Hard' }), (e: RouterError) => e.code === ErrorCode.STATION_NOT_FOUND);
  const gone = await bootStation(h.url('CMD-GONE'));
  await gone.close();
  await waitFor(() => h.server.station('CMD-GONE')?.connected === false);
  await assert.rejects(h.server.call('CMD-GONE', 'Reset', { type: 'Hard' }), (e: RouterError) => e.code === ErrorCode.STATION_NOT_CONNECTED);

  const station = await bootStation(h.url('CMD-1'));
  t.after(() => station.close());
  await assert.rejects(h.server.call('CMD-1', 'Reset', { type: 'Sideways' }), (e: RouterError) => e.code === ErrorCode.PAYLOAD_INVALID);
  await assert.rejects(h.server.call('CMD-1', 'Heartbeat', {}), (e: RouterError) => e.code === ErrorCode.UNKNOWN_ACTION);

  // One CALL in flight at a time: the second waits until the first is answered.
  const seen: string[] = [];
  const pending: Array<() => void> = [];
  station.onCall = (action, payload, id) => {
    seen.push(`${action}:${JSON.stringify(payload)}`);
    if (action === 'ChangeAvailability') {
      station.ws.send(JSON.stringify([4, id, 'NotSupported', 'no', { why: 'test' }]));
      return null;
    }
    pending.push(() => station.ws.send(JSON.stringify([3, id, { status: 'Accepted' }])));
    return null;
  };
  const a = h.server.call('CMD-1', 'Reset', { type: 'Soft' });
  const b = h.server.call('CMD-1', 'Reset', { type: 'Hard' });
  await waitFor(() => seen.length === 1);
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(seen.length, 1, 'second call waits while the first is in flight');
  pending.shift()!();
  assert.deepEqual(await a, { status: 'Accepted' });
  await waitFor(() => seen.length === 2);
  pending.shift()!();
  assert.deepEqual(await b, { status: 'Accepted' });
  assert.deepEqual(seen, ['Reset:{"type":"Soft"}', 'Reset:{"type":"Hard"}']);

  await assert.rejects(h.server.call('CMD-1', 'ChangeAvailability', { connectorId: 1, type: 'Inoperative' }), (e: RouterError) => {
    const d = e.details as { errorCode: string; errorDetails: unknown };
    return e.code === ErrorCode.CALL_ERROR && d.errorCode === 'NotSupported' && JSON.stringify(d.errorDetails) === '{"why":"test"}';
  });

  station.onCall = () => null; // never answers
  await assert.rejects(h.server.call('CMD-1', 'ClearCache', {}, 200), (e: RouterError) => e.code === ErrorCode.CALL_TIMEOUT);
  assert.equal(await h.server.counter('outbound.timeout'), 1);
});

test('transaction ids stay unique across a restart', async (t) => {
  const first = await startTestServer({ server: { workers: 2 } }, { keepDataDir: true });
  const ids = new Set<number>();
  const start = { connectorId: 1, idTag: 'TAG', meterStart: 0, timestamp: new Date().toISOString() };
  for (let i = 0; i < 4; i++) {
    const s = await bootStation(first.url(`TX-${i}`));
    const answer = await s.call('StartTransaction', start);
    ids.add((answer[2] as { transactionId: number }).transactionId);
    await s.close();
  }
  await first.stop('graceful');
  const second = await startTestServer({ server: { workers: 2 } }, { dataDir: first.dataDir });
  t.after(() => second.stop());
  for (let i = 0; i < 4; i++) {
    const s = await bootStation(second.url(`TX-${i}`));
    const answer = await s.call('StartTransaction', start);
    const id = (answer[2] as { transactionId: number }).transactionId;
    assert.ok(!ids.has(id), `id ${id} reused after restart`);
    ids.add(id);
    await s.close();
  }
  // The registry survived too.
  assert.equal(second.server.station('TX-0')?.boot?.status, 'Accepted');
});

// Under `bun test` (npm run test:bun) the `ws` client is Bun's own, with no socket to pause: Node only.
test('the server pings and drops a peer that stops answering', { timeout: 40_000, skip: isBun && 'the Bun ws client has no socket to pause' }, async (t) => {
  const h = await startTestServer({ ocpp: { pingIntervalS: 8 } });
  t.after(() => h.stop());
  const alive = await bootStation(h.url('PING-ALIVE'));
  t.after(() => alive.close());
  let pings = 0;
  alive.ws.on('ping', () => pings++);
  // A dead peer: its socket stops reading, so it neither answers pings nor sends anything.
  const dead = await bootStation(h.url('PING-DEAD'));
  (dead.ws as unknown as { _socket: { pause(): void } })._socket.pause();
  await waitFor(() => h.server.station('PING-DEAD')?.connected === false, 35_000, 'dead peer dropped');
  assert.ok(pings >= 1, 'the live station was pinged');
  assert.equal(h.server.station('PING-ALIVE')!.connected, true);
});

test('graceful stop finishes in-flight work, then closes stations with 1001', async (t) => {
  const h = await startTestServer({ server: { shutdownTimeoutMs: 3000 } });
  t.after(() => h.stop());
  const station = await bootStation(h.url('STOP-1'));
  station.onCall = () => null;
  let answered = false;
  // A central-system call in flight: the stop waits for the station's answer.
  const call = h.server.call('STOP-1', 'ClearCache', {}).then((r) => {
    answered = true;
    return r;
  });
  await waitFor(() => station.received.some((f) => Array.isArray(f) && f[2] === 'ClearCache'));
  const stopping = h.server.stop('graceful');
  // New connections are refused while stopping (from the moment the shards have heard of the stop: a connection
  // that made it in before is closed with the others).
  await waitFor(() => TestStation.connect(h.url('STOP-LATE')).then((late) => (late.close(), false), () => true), 5000, 'a new connection refused while stopping');
  const frame = station.received.find((f) => Array.isArray(f) && f[2] === 'ClearCache') as unknown[];
  station.ws.send(JSON.stringify([3, frame[1], { status: 'Accepted' }]));
  assert.deepEqual(await call, { status: 'Accepted' });
  assert.ok(answered);
  const closed = await station.closed;
  assert.equal(closed.code, 1001);
  await stopping;
});

test('a client offered no subprotocol is refused; defaultVersion accepts it', async (t) => {
  const strict = await startTestServer();
  t.after(() => strict.stop());
  const ws = new WebSocket(strict.url('NOPROTO'));
  const closed = await new Promise<number>((resolve) => ws.on('close', (code) => resolve(code)));
  assert.equal(closed, 1002);
  const lenient = await startTestServer({ ocpp: { defaultVersion: 'ocpp1.6' } });
  t.after(() => lenient.stop());
  const station = await TestStation.connect(lenient.url('NOPROTO'), []);
  t.after(() => station.close());
  assert.equal((await station.call('Heartbeat', {}))[0], 3);
});

test('a reload with new listeners swaps the shard set; a port in use brings the previous listeners back', async (t) => {
  const h = await startTestServer({ server: { workers: 1 } });
  t.after(() => h.stop());
  const first = await bootStation(h.url('RELISTEN-1'));
  const oldPort = h.server.port;
  // Two shards now, same port (port 0 keeps the bound one).
  const grown = h.server.reload({ ...h.server.config, server: { ...h.server.config.server, workers: 2 } });
  assert.deepEqual(grown.relisten, ['server.workers']);
  await grown.done;
  assert.equal((await first.closed).code, 1001);
  assert.equal(h.server.port, oldPort);
  assert.equal((await h.server.shardStats()).length, 2);
  await waitFor(() => h.server.station('RELISTEN-1')?.connected === false, 5000, 'registry saw the old connection go');
  const second = await bootStation(h.url('RELISTEN-1'));
  t.after(() => second.close());
  await waitFor(() => h.server.station('RELISTEN-1')?.connected === true, 5000, 'reconnected');

  // A port that is taken: the new set cannot listen, the previous settings come back on the old port.
  const blocker = createServer();
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => blocker.close(() => resolve())));
  const busy = (blocker.address() as AddressInfo).port;
  const moved = h.server.reload({ ...h.server.config, server: { ...h.server.config.server, port: busy } });
  assert.deepEqual(moved.relisten, ['server.port']);
  await moved.done;
  assert.equal(h.server.port, oldPort);
  assert.equal(h.server.config.server.port, 0);
  const third = await bootStation(h.url('RELISTEN-2'));
  t.after(() => third.close());
  assert.ok(h.server.ready, 'ready again');
});
