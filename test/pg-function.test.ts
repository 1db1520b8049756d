/**
 * The ocpp-cs function mode against a real PostgreSQL: the example schema from conf/postgres/ is installed in a
 * database of the test's own, a two-shard router with `backend: "pgFunction"` relays what `ocpp.Parse` answers
 * (6-argument form with the version; a 5-argument form in another schema), validates it like a webhook reply,
 * and reports connects and disconnects through `SetChargePointConnected`, in order.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import postgres from 'postgres';
import { startTestServer, TestStation, waitFor } from './helpers/server.js';
import { testDatabase } from './helpers/postgres.js';

const LIMIT = { timeout: 90_000 };
const EXAMPLE = readFileSync(new URL('../../conf/postgres/ocpp-example.sql', import.meta.url), 'utf8');

const boot16 = { chargePointVendor: 'V', chargePointModel: 'M' };

test('the example ocpp.Parse answers 1.6 and 2.0.1 stations (6 arguments), and SetChargePointConnected follows them', LIMIT, async (t) => {
  const url = await testDatabase(t);
  const sql = postgres(url, { max: 1, onnotice: () => undefined });
  t.after(() => sql.end());
  await sql.unsafe(EXAMPLE);
  const h = await startTestServer({ backend: 'pgFunction', pgFunction: { url } });
  t.after(() => h.stop());

  const a = await TestStation.connect(h.url('PGF-16', 'acme'), ['ocpp1.6']);
  const boot = await a.call('BootNotification', boot16);
  assert.equal(boot[0], 3);
  assert.equal((boot[2] as { interval: number }).interval, 300, 'the interval of the SQL, not the responder default');
  const start = await a.call('StartTransaction', { connectorId: 1, idTag: 'T', meterStart: 0, timestamp: new Date().toISOString() });
  const again = await a.call('StartTransaction', { connectorId: 2, idTag: 'T', meterStart: 0, timestamp: new Date().toISOString() });
  assert.equal((again[2] as { transactionId: number }).transactionId, (start[2] as { transactionId: number }).transactionId + 1, 'ids from the sequence of the SQL');
  const data = await a.call('DataTransfer', { vendorId: 'x' });
  assert.deepEqual(data[2], { status: 'UnknownVendorId' });

  const b = await TestStation.connect(h.url('PGF-201'), ['ocpp2.0.1']);
  const boot2 = await b.call('BootNotification', { reason: 'PowerUp', chargingStation: { model: 'M', vendorName: 'V' } });
  assert.equal((boot2[2] as { status: string }).status, 'Accepted');
  const auth = await b.call('Authorize', { idToken: { idToken: 'X', type: 'ISO14443' } });
  assert.deepEqual(auth[2], { idTokenInfo: { status: 'Accepted' } });
  // A CallError of the SQL reaches the station as a CALLERROR with its code, description and details.
  const refused = await b.call('NotifyChargingLimit', { chargingLimit: { chargingLimitSource: 'EMS' } });
  assert.deepEqual(refused.slice(0, 3), [4, refused[1], 'NotImplemented']);
  assert.deepEqual(refused[4], { action: 'NotifyChargingLimit' });

  const rows = await sql<Array<{ identity: string; action: string; account: string | null; version: string }>>`SELECT identity, action, account, version FROM ocpp.message ORDER BY id`;
  assert.deepEqual(rows.map((r) => [r.identity, r.action, r.account, r.version]), [
    ['PGF-16', 'BootNotification', 'acme', 'ocpp1.6'],
    ['PGF-16', 'StartTransaction', 'acme', 'ocpp1.6'],
    ['PGF-16', 'StartTransaction', 'acme', 'ocpp1.6'],
    ['PGF-16', 'DataTransfer', 'acme', 'ocpp1.6'],
    ['PGF-201', 'BootNotification', null, 'ocpp2.0.1'],
    ['PGF-201', 'Authorize', null, 'ocpp2.0.1'],
    ['PGF-201', 'NotifyChargingLimit', null, 'ocpp2.0.1'],
  ]);

  // Presence: both connected, with their metadata; a closed one turns false.
  const presence = async () => (await sql<Array<{ identity: string; connected: boolean; metadata: Record<string, unknown> }>>`SELECT identity, connected, metadata FROM ocpp.charge_point ORDER BY identity`);
  const both = await waitFor(async () => ((await presence()).length === 2 ? presence() : null), 5000, 'two presence rows');
  assert.deepEqual(both.map((r) => [r.identity, r.connected, r.metadata.protocol, r.metadata.account]), [['PGF-16', true, 'ocpp1.6', 'acme'], ['PGF-201', true, 'ocpp2.0.1', null]]);
  assert.equal(both[0]!.metadata.remoteAddress, '127.0.0.1');
  await a.close();
  const gone = await waitFor(async () => (await presence()).find((r) => r.identity === 'PGF-16' && !r.connected), 5000, 'PGF-16 disconnected');
  assert.equal(gone.metadata.code, 1005);
  // A reconnect right after a close ends connected: the calls of one station keep their order.
  for (let i = 0; i < 5; i++) await (await TestStation.connect(h.url('PGF-16', 'acme'), ['ocpp1.6'])).close();
  const last = await TestStation.connect(h.url('PGF-16', 'acme'), ['ocpp1.6']);
  t.after(() => last.close());
  await waitFor(async () => (await presence()).find((r) => r.identity === 'PGF-16' && r.connected), 5000, 'PGF-16 connected again');
  await new Promise((r) => setTimeout(r, 300));
  assert.equal((await presence()).find((r) => r.identity === 'PGF-16')!.connected, true, 'still connected: no late disconnect overtook the connect');
  await b.close();
});

test('a 5-argument ocpp.Parse; bad answers, a failing function and a missing one are InternalError, never a crash', LIMIT, async (t) => {
  const url = await testDatabase(t);
  const sql = postgres(url, { max: 1, onnotice: () => undefined });
  t.after(() => sql.end());
  await sql.unsafe(`
    CREATE SCHEMA cs5;
    CREATE FUNCTION cs5.Parse(pIdentity text, pUniqueId text, pAction text, pPayload jsonb, pAccount text) RETURNS text LANGUAGE plpgsql AS $$
    BEGIN
      CASE pAction
        WHEN 'BootNotification' THEN RETURN json_build_object('payload', json_build_object('status', 'Pending', 'currentTime', '2026-01-01T00:00:00Z', 'interval', 7))::text;
        WHEN 'Heartbeat' THEN RETURN '{"messageTypeId": "CallResult", "payload": {}}';
        WHEN 'StatusNotification' THEN RETURN 'not json';
        WHEN 'Authorize' THEN RAISE EXCEPTION 'no such tag table';
        WHEN 'FirmwareStatusNotification' THEN PERFORM pg_sleep(30); RETURN '{}';
        WHEN 'DataTransfer' THEN RETURN json_build_object('messageTypeId', 'CallError', 'errorCode', 'SecurityError', 'errorDescription', pIdentity || ' may not', 'errorDetails', json_build_object('depth', pPayload -> 'data'))::text;
        ELSE RETURN NULL;
      END CASE;
    END $$;`);
  const h = await startTestServer({ backend: 'pgFunction', pgFunction: { url, schema: 'cs5', timeoutMs: 1000 } });
  t.after(() => h.stop());
  const s = await TestStation.connect(h.url('PGF-5'), ['ocpp1.6']);
  t.after(() => s.close());

  const boot = await s.call('BootNotification', boot16);
  assert.deepEqual(boot[2], { status: 'Pending', currentTime: '2026-01-01T00:00:00Z', interval: 7 }, 'no messageTypeId means CallResult');
  const heartbeat = await s.call('Heartbeat', {});
  assert.equal(heartbeat[0], 4);
  assert.equal(heartbeat[2], 'InternalError', 'a CallResult that breaks the response schema is not relayed');
  const status = await s.call('StatusNotification', { connectorId: 1, errorCode: 'NoError', status: 'Available' });
  assert.deepEqual(status.slice(0, 3), [4, status[1], 'InternalError']);
  const auth = await s.call('Authorize', { idTag: 'X' });
  assert.equal(auth[2], 'InternalError');
  assert.match(auth[3] as string, /function failed: no such tag table/);
  const data = await s.call('DataTransfer', { vendorId: 'v', data: 'd' });
  assert.deepEqual(data.slice(2), ['SecurityError', 'PGF-5 may not', { depth: 'd' }]);
  // A function that hangs costs one CALL, cut by statement_timeout (timeoutMs).
  const started = Date.now();
  const firmware = await s.call('FirmwareStatusNotification', { status: 'Idle' });
  assert.equal(firmware[2], 'InternalError');
  assert.ok(Date.now() - started < 5000, `cut after ${Date.now() - started} ms`);
  const meter = await s.call('MeterValues', { connectorId: 1, meterValue: [{ timestamp: new Date().toISOString(), sampledValue: [{ value: '1' }] }] });
  assert.equal(meter[2], 'InternalError', 'NULL is no answer');
  // The shards are alive: a Heartbeat after all that is still answered.
  const boot2 = await s.call('BootNotification', boot16);
  assert.equal(boot2[0], 3);

  // A schema without the function: every CALL is InternalError, and the station stays connected.
  const missing = await startTestServer({ backend: 'pgFunction', pgFunction: { url, schema: 'nothing_here' } });
  t.after(() => missing.stop());
  const m = await TestStation.connect(missing.url('PGF-M'), ['ocpp1.6']);
  t.after(() => m.close());
  const answer = await m.call('BootNotification', boot16);
  assert.deepEqual(answer.slice(0, 3), [4, answer[1], 'InternalError']);
  assert.match(answer[3] as string, /nothing_here\.Parse is not available/);
});
