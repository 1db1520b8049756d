/**
 * One store test suite, both engines: SQLite in a temp file and a real PostgreSQL database of the test's own.
 * What a station sends (derived from real payloads of every version) goes in through the engine's batched write
 * and comes back through the queries the API uses; transactions fold, out of order too; pruning removes old rows.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteEngine } from '../src/store/sqlite/engine.js';
import { PostgresEngine } from '../src/store/postgres/engine.js';
import { deriveRecords } from '../src/store/derive.js';
import type { StoreEngine, StoreWrite } from '../src/store/engine.js';
import type { StationRow } from '../src/store/records.js';
import { testDatabase } from './helpers/postgres.js';

type T = { after(fn: () => unknown): void };

const ENGINES: Array<[string, (t: T) => Promise<StoreEngine>]> = [
  [
    'sqlite',
    async (t) => {
      const dir = mkdtempSync(join(tmpdir(), 'ocpp-router-store-'));
      t.after(() => rmSync(dir, { recursive: true, force: true }));
      return new SqliteEngine({ file: join(dir, 'store.db'), synchronous: 'NORMAL' });
    },
  ],
  ['postgres', async (t) => new PostgresEngine({ url: await testDatabase(t), poolSize: 2, connectTimeoutS: 5 })],
];

const T0 = Date.parse('2026-12-01T10:00:00Z');
const iso = (s: number): string => new Date(T0 + s * 1000).toISOString();

/** The records of a small day of two stations: a 1.6 session and a 2.0.1 session (its events out of order). */
function day(): StoreWrite[] {
  const w: StoreWrite[] = [];
  const add = (identity: string, id: string, action: string, request: Record<string, unknown>, reply: Record<string, unknown>, at: number): void => {
    w.push(...deriveRecords(identity, id, action, request, reply, T0 + at * 1000, true));
  };
  add('CP16', 'b1', 'BootNotification', { chargePointVendor: 'V', chargePointModel: 'M' }, { status: 'Accepted', currentTime: iso(0), interval: 300 }, 0);
  add('CP16', 's1', 'StatusNotification', { connectorId: 1, errorCode: 'NoError', status: 'Available', timestamp: iso(1) }, {}, 1);
  add('CP16', 'a1', 'Authorize', { idTag: 'TAG-1' }, { idTagInfo: { status: 'Accepted' } }, 2);
  add('CP16', 't1', 'StartTransaction', { connectorId: 1, idTag: 'TAG-1', meterStart: 1000, timestamp: iso(3) }, { transactionId: 4711, idTagInfo: { status: 'Accepted' } }, 3);
  add('CP16', 'm1', 'MeterValues', { connectorId: 1, transactionId: 4711, meterValue: [{ timestamp: iso(60), sampledValue: [{ value: '1500', measurand: 'Energy.Active.Import.Register', unit: 'Wh' }, { value: '7200', measurand: 'Power.Active.Import', unit: 'W', phase: 'L1' }] }] }, {}, 60);
  add('CP16', 'm2', 'MeterValues', { connectorId: 1, transactionId: 4711, meterValue: [{ timestamp: iso(120), sampledValue: [{ value: 'signed-blob', format: 'SignedData' }] }] }, {}, 120);
  add('CP16', 'x1', 'StopTransaction', { transactionId: 4711, meterStop: 3000, timestamp: iso(180), reason: 'Local', idTag: 'TAG-1', transactionData: [{ timestamp: iso(180), sampledValue: [{ value: '3000' }] }] }, { idTagInfo: { status: 'Accepted' } }, 180);
  add('CP16', 'f1', 'FirmwareStatusNotification', { status: 'Downloading' }, {}, 200);
  const ev = (seqNo: number, eventType: string, extra: Record<string, unknown>, at: number): Record<string, unknown> => ({ eventType, timestamp: iso(at), triggerReason: 'Authorized', seqNo, transactionInfo: { transactionId: 'tx-2x', ...((extra.info as object) ?? {}) }, ...extra });
  // Ended arrives before Updated (an offline replay): the transaction must still end closed.
  add('CP2', 'e1', 'TransactionEvent', ev(0, 'Started', { evse: { id: 1, connectorId: 1 }, idToken: { idToken: 'TOK-2', type: 'ISO14443' }, meterValue: [{ timestamp: iso(10), sampledValue: [{ value: 2, unitOfMeasure: { unit: 'kWh' } }] }], info: { chargingState: 'Charging' } }, 10), { idTokenInfo: { status: 'Accepted' } }, 10);
  add('CP2', 'e3', 'TransactionEvent', ev(2, 'Ended', { meterValue: [{ timestamp: iso(300), sampledValue: [{ value: 5000, measurand: 'Energy.Active.Import.Register', unitOfMeasure: { unit: 'Wh' } }] }], info: { stoppedReason: 'Local', chargingState: 'Idle' } }, 300), {}, 300);
  add('CP2', 'e2', 'TransactionEvent', ev(1, 'Updated', { meterValue: [{ timestamp: iso(150), sampledValue: [{ value: 35, measurand: 'Current.Import', phase: 'L2', unitOfMeasure: { unit: 'A', multiplier: -1 } }] }], info: { chargingState: 'SuspendedEV' } }, 150), {}, 150);
  add('CP2', 's2', 'StatusNotification', { timestamp: iso(11), connectorStatus: 'Occupied', evseId: 1, connectorId: 1 }, {}, 11);
  add('CP2', 'h1', 'Heartbeat', {}, { currentTime: iso(12) }, 12);
  add('CP2', 'sec', 'SecurityEventNotification', { type: 'FirmwareUpdated', timestamp: iso(13) }, {}, 13);
  w.push({ k: 'reservation', id: 7, identity: 'CP2', connector: '1', idTag: 'TOK-2', expiry: T0 + 3_600_000, status: 'Accepted', at: T0 });
  add('CP2', 'r1', 'ReservationStatusUpdate', { reservationId: 7, reservationUpdateStatus: 'Expired' }, {}, 400);
  w.push({ k: 'command', identity: 'CP16', action: 'Reset', request: '{"type":"Soft"}', outcome: 'result', response: '{"status":"Accepted"}', requestedAt: T0, answeredAt: T0 + 50 });
  w.push({ k: 'idTagPut', idTag: 'TAG-9', status: 'Blocked', expiry: null, parentIdTag: null, note: 'lost card', at: T0 });
  w.push({
    k: 'station',
    row: { identity: 'CP16', account: 'acme', version: 'ocpp1.6', transport: 'ws', callbackUrl: null, connected: true, remoteAddress: '10.0.0.1', connectedAt: T0, disconnectedAt: null, lastDisconnect: null, lastMessageAt: T0 + 200_000, boot: { payload: { chargePointVendor: 'V' }, status: 'Accepted', at: T0 }, connectors: { '1': { connector: '1', status: 'Available', errorCode: 'NoError', at: T0 } } },
  });
  return w;
}

for (const [name, make] of ENGINES) {
  test(`${name}: migrations are applied once; the same records come back through every query`, { timeout: 60_000 }, async (t) => {
    const engine = await make(t);
    await engine.open();
    t.after(() => engine.close());
    // A second open applies nothing again.
    await engine.close();
    await engine.open();
    // In two batches, the way group commit would cut them.
    const records = day();
    await engine.write(records.slice(0, 9));
    await engine.write(records.slice(9));

    const { items, nextBefore } = await engine.query('transactions', { limit: 10 });
    assert.equal(nextBefore, null);
    assert.equal(items.length, 2);
    const tx16 = items.find((x) => x.identity === 'CP16')!;
    assert.deepEqual(
      { transactionId: tx16.transactionId, connector: tx16.connector, idTag: tx16.idTag, meterStart: tx16.meterStart, meterStop: tx16.meterStop, energyWh: tx16.energyWh, startedAt: tx16.startedAt, stoppedAt: tx16.stoppedAt, stopReason: tx16.stopReason, authStatus: tx16.authStatus, open: tx16.open },
      { transactionId: '4711', connector: '1', idTag: 'TAG-1', meterStart: 1000, meterStop: 3000, energyWh: 2000, startedAt: T0 + 3000, stoppedAt: T0 + 180_000, stopReason: 'Local', authStatus: 'Accepted', open: false },
    );
    const tx2 = items.find((x) => x.identity === 'CP2')!;
    assert.equal(tx2.transactionId, 'tx-2x');
    assert.equal(tx2.open, false, 'Ended before Updated still ends it');
    assert.equal(tx2.chargingState, 'Idle', 'the state of the highest seqNo wins');
    assert.equal(tx2.meterStart, 2000, 'kWh register read in Wh');
    assert.equal(tx2.meterStop, 5000);
    assert.equal(tx2.connector, '1/1');
    assert.equal(tx2.idTag, 'TOK-2');

    const detail = (await engine.query('transaction', { id: tx16.id }))!;
    assert.deepEqual(detail.meterValues.map((m) => [m.ts - T0, m.measurand, m.unit, m.phase, m.value, m.text]), [
      [60_000, 'Energy.Active.Import.Register', 'Wh', null, 1500, null],
      [60_000, 'Power.Active.Import', 'W', 'L1', 7200, null],
      [120_000, 'Energy.Active.Import.Register', 'Wh', null, null, 'signed-blob'],
      [180_000, 'Energy.Active.Import.Register', 'Wh', null, 3000, null],
    ]);
    const detail2 = (await engine.query('transaction', { id: tx2.id }))!;
    assert.deepEqual(detail2.events.map((e) => [e.seqNo, e.eventType]), [[0, 'Started'], [1, 'Updated'], [2, 'Ended']]);
    const current = detail2.meterValues.find((m) => m.measurand === 'Current.Import')!;
    assert.ok(Math.abs(current.value! - 3.5) < 1e-9, 'multiplier applied (35 × 10^-1)');

    // Filters and paging.
    assert.deepEqual((await engine.query('transactions', { limit: 10, identity: 'CP2' })).items.map((x) => x.transactionId), ['tx-2x']);
    assert.deepEqual((await engine.query('transactions', { limit: 10, idTag: 'TAG-1' })).items.map((x) => x.transactionId), ['4711']);
    assert.equal((await engine.query('transactions', { limit: 10, open: true })).items.length, 0);
    assert.equal((await engine.query('transactions', { limit: 10, from: T0 + 5000 })).items.length, 1);
    const page1 = await engine.query('transactions', { limit: 1 });
    assert.equal(page1.items.length, 1);
    assert.notEqual(page1.nextBefore, null);
    const page2 = await engine.query('transactions', { limit: 1, before: page1.nextBefore! });
    assert.equal(page2.items.length, 1);
    assert.notEqual(page2.items[0]!.id, page1.items[0]!.id);

    // The journal keeps every CALL but Heartbeat, newest first.
    const journal = await engine.query('messages', { identity: 'CP2', limit: 100 });
    assert.deepEqual(journal.map((m) => m.uniqueId), ['r1', 'sec', 's2', 'e2', 'e3', 'e1']);
    assert.deepEqual((journal.find((m) => m.uniqueId === 'sec')!.payload as { type: string }).type, 'FirmwareUpdated');

    // Id tags: seen ones with their last status, listed ones from the operator.
    const tags = await engine.query('idTags', { listedOnly: false });
    assert.deepEqual(tags.map((x) => [x.idTag, x.listed, x.status, x.lastStatus]), [['TAG-1', false, null, 'Accepted'], ['TAG-9', true, 'Blocked', null], ['TOK-2', false, null, 'Accepted']]);
    await engine.write([{ k: 'idTagPut', idTag: 'TAG-1', status: 'Accepted', expiry: T0 + 1, parentIdTag: 'P', note: null, at: T0 }, { k: 'idTagDelete', idTag: 'TAG-9' }]);
    assert.deepEqual((await engine.query('idTags', { listedOnly: true })).map((x) => [x.idTag, x.status, x.lastStatus]), [['TAG-1', 'Accepted', 'Accepted']]);

    // Reservations: created by the command, expired by the station.
    assert.deepEqual((await engine.query('reservations', { limit: 10 })).map((r) => [r.id, r.identity, r.status, r.idTag]), [[7, 'CP2', 'Expired', 'TOK-2']]);

    // Stations: upsert, read back, delete.
    const [station] = JSON.parse(await engine.query('stations', null)) as StationRow[];
    assert.equal(station!.identity, 'CP16');
    assert.equal(station!.connected, true);
    assert.deepEqual(station!.boot, { payload: { chargePointVendor: 'V' }, status: 'Accepted', at: T0 });
    // Every field comes back as written (the rows cross to the control plane as one JSON text).
    assert.deepEqual(station, (records.find((w) => w.k === 'station') as { row: StationRow }).row);
    await engine.write([{ k: 'station', row: { ...station!, connected: false, disconnectedAt: T0 + 1 } }]);
    assert.equal((JSON.parse(await engine.query('stations', null)) as StationRow[])[0]!.connected, false);
    await engine.write([{ k: 'stationDeleted', identity: 'CP16' }]);
    assert.deepEqual(JSON.parse(await engine.query('stations', null)) as StationRow[], []);

    const counts = await engine.query('counts', null);
    assert.equal(counts.meter_values, 7);
    assert.equal(counts.status_history, 2);
    assert.equal(counts.commands, 1);
    assert.equal(counts.station_events, 3);
  });

  test(`${name}: a failing batch keeps nothing of it; pruning removes old rows in steps`, { timeout: 60_000 }, async (t) => {
    const engine = await make(t);
    await engine.open();
    t.after(() => engine.close());
    // A StopTransaction without a transaction id (impossible per schema) violates NOT NULL: the whole batch fails.
    const good = deriveRecords('CPX', 'g', 'StatusNotification', { connectorId: 1, errorCode: 'NoError', status: 'Available' }, {}, T0, true);
    await assert.rejects(engine.write([...good, { k: 'txStop', identity: 'CPX', txId: null as unknown as string, meterStop: 1, reason: null, idTag: null, at: T0 }]));
    assert.equal((await engine.query('counts', null)).status_history, 0, 'nothing of the failed batch');
    const rows = Array.from({ length: 30 }, (_, i) => ({ ts: T0 - (i + 1) * 86_400_000, measurand: 'Energy.Active.Import.Register', phase: null, unit: 'Wh', context: null, location: null, value: i, text: null }));
    await engine.write([{ k: 'meter', identity: 'CPX', connector: '1', txId: null, rows }]);
    let removed = 0;
    for (let step = 0; step < 10; step++) {
      const n = await engine.prune(T0 - 10 * 86_400_000, 7);
      removed += n;
      if (n < 7) break;
    }
    assert.equal(removed, 20, 'the 20 rows older than 10 days');
    assert.equal((await engine.query('counts', null)).meter_values, 10);
  });

  test(`${name}: NUL characters a station may send (JSON allows them) are kept, never fail a commit`, { timeout: 60_000 }, async (t) => {
    const engine = await make(t);
    await engine.open();
    t.after(() => engine.close());
    const records = [
      ...deriveRecords('CP\u0000N', 'a\u0000', 'Authorize', { idTag: 'T\u0000G' }, { idTagInfo: { status: 'Accepted' } }, T0, true),
      ...deriveRecords('CP\u0000N', 'd1', 'DataTransfer', { vendorId: 'v', data: 'x\u0000y', messageId: 'back\\u0000slash' }, { status: 'Accepted' }, T0 + 1, true),
      ...deriveRecords('CP\u0000N', 'm1', 'MeterValues', { connectorId: 1, meterValue: [{ timestamp: iso(5), sampledValue: [{ value: 'sig\u0000ned', format: 'SignedData' }] }] }, {}, T0 + 2, true),
    ];
    await engine.write(records);
    // Both engines keep U+FFFD in its place (PostgreSQL's text cannot hold NUL; SQLite's driver cuts at it).
    const nul = '\uFFFD';
    const journal = await engine.query('messages', { identity: `CP${nul}N`, limit: 10 });
    assert.deepEqual(journal.map((m) => m.action).sort(), ['Authorize', 'DataTransfer', 'MeterValues']);
    const data = journal.find((m) => m.action === 'DataTransfer')!.payload as Record<string, string>;
    assert.equal(data.data, `x${nul}y`);
    assert.equal(data.messageId, 'back\\u0000slash', 'an escaped backslash before u0000 is text, left alone');
    assert.equal((await engine.query('idTag', { idTag: `T${nul}G` }))?.idTag, `T${nul}G`);
    assert.equal((await engine.query('counts', null)).meter_values, 1);
  });
}
