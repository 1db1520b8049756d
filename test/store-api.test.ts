/**
 * The store through the API, against a real two-shard router with its embedded store: stations charge (1.6 and
 * 2.0.1), and every list, filter, page, CSV and detail comes back from what the store kept; the id-tag list drives
 * the responder's answers; a station that is gone can be removed; its journal is the "Recent messages".
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { startTestServer, TestStation, waitFor, type TestServer } from './helpers/server.js';

const LIMIT = { timeout: 60_000 };

function api(h: TestServer, path: string, init: RequestInit = {}): Promise<Response> {
  return fetch(`http://127.0.0.1:${h.port}/api/v1${path}`, init);
}

async function json<T>(response: Response): Promise<T> {
  return (await response.json()) as T;
}

const post = (body: unknown): RequestInit => ({ method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

/** A 1.6 session: boot, start, two meter values, stop; resolves with the transaction id the responder gave. */
async function session16(station: TestStation, idTag: string): Promise<number> {
  await station.call('BootNotification', { chargePointVendor: 'V', chargePointModel: 'M' });
  const start = await station.call('StartTransaction', { connectorId: 1, idTag, meterStart: 100, timestamp: new Date().toISOString() });
  const txId = (start[2] as { transactionId: number }).transactionId;
  for (const wh of [600, 1100]) {
    await station.call('MeterValues', { connectorId: 1, transactionId: txId, meterValue: [{ timestamp: new Date().toISOString(), sampledValue: [{ value: String(wh), measurand: 'Energy.Active.Import.Register', unit: 'Wh' }] }] });
  }
  await station.call('StopTransaction', { transactionId: txId, meterStop: 1500, timestamp: new Date().toISOString(), reason: 'Local', idTag });
  return txId;
}

test('transactions: kept before acknowledged, listed, filtered, paged, exported, detailed (1.6 and 2.0.1)', LIMIT, async (t) => {
  const h = await startTestServer();
  t.after(() => h.stop());
  const a = await TestStation.connect(h.url('ST-16'), ['ocpp1.6']);
  const b = await TestStation.connect(h.url('ST-201'), ['ocpp2.0.1']);
  t.after(() => Promise.all([a.close(), b.close()]));
  const txA = await session16(a, 'TAG-A');
  await session16(a, 'TAG-B');
  const ev = (seqNo: number, eventType: string, extra: Record<string, unknown>) => ({ eventType, timestamp: new Date().toISOString(), triggerReason: 'Authorized', seqNo, transactionInfo: { transactionId: 'b-1' }, ...extra });
  await b.call('TransactionEvent', ev(0, 'Started', { evse: { id: 1, connectorId: 1 }, idToken: { idToken: 'TOK', type: 'ISO14443' }, meterValue: [{ timestamp: new Date().toISOString(), sampledValue: [{ value: 10, measurand: 'Energy.Active.Import.Register' }] }] }));
  // Acknowledged means kept: the list shows it at once, no waiting.
  const running = await json<{ items: Array<{ transactionId: string; open: boolean }> }>(await api(h, '/transactions?open=true'));
  assert.deepEqual(running.items.map((x) => [x.transactionId, x.open]), [['b-1', true]]);
  await b.call('TransactionEvent', ev(1, 'Ended', { meterValue: [{ timestamp: new Date().toISOString(), sampledValue: [{ value: 70, measurand: 'Energy.Active.Import.Register' }] }], transactionInfo: { transactionId: 'b-1', stoppedReason: 'EVDisconnected' } }));

  const all = await json<{ items: Array<{ id: number; identity: string; transactionId: string; energyWh: number; open: boolean }>; nextBefore: number | null }>(await api(h, '/transactions'));
  assert.equal(all.items.length, 3);
  assert.deepEqual(all.items.map((x) => [x.identity, x.open]), [['ST-201', false], ['ST-16', false], ['ST-16', false]], 'newest first, all closed');
  assert.equal(all.items.find((x) => x.transactionId === String(txA))!.energyWh, 1400);
  assert.equal(all.items.find((x) => x.transactionId === 'b-1')!.energyWh, 60);
  // Paging.
  const p1 = await json<{ items: Array<{ id: number }>; nextBefore: number }>(await api(h, '/transactions?limit=2'));
  const p2 = await json<{ items: Array<{ id: number }>; nextBefore: number | null }>(await api(h, `/transactions?limit=2&before=${p1.nextBefore}`));
  assert.deepEqual([...p1.items, ...p2.items].map((x) => x.id), all.items.map((x) => x.id));
  assert.equal(p2.nextBefore, null);
  // Filters and bad queries.
  assert.equal((await json<{ items: unknown[] }>(await api(h, '/transactions?idTag=TAG-B'))).items.length, 1);
  assert.equal((await json<{ items: unknown[] }>(await api(h, '/transactions?identity=ST-201'))).items.length, 1);
  assert.equal((await json<{ items: unknown[] }>(await api(h, `/transactions?from=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`))).items.length, 0);
  const bad = await api(h, '/transactions?limit=0&open=maybe&from=yesterday');
  assert.equal(bad.status, 400);
  assert.equal((await json<{ error: { details: { problems: string[] } } }>(bad)).error.details.problems.length, 3);
  // CSV.
  const csv = await api(h, '/transactions?format=csv');
  assert.equal(csv.headers.get('content-type'), 'text/csv; charset=utf-8');
  const lines = (await csv.text()).trim().split('\r\n');
  assert.equal(lines[0], 'id,identity,transactionId,connector,idTag,startedAt,stoppedAt,meterStart,meterStop,energyWh,powerW,stopReason,open');
  assert.equal(lines.length, 4);
  // One transaction with its meter values (the StartTransaction meterStart is the transaction's, not a sample).
  const detail = await json<{ meterValues: Array<{ value: number }>; meterStart: number; meterStop: number; stopReason: string }>(await api(h, `/transactions/${all.items.find((x) => x.transactionId === String(txA))!.id}`));
  assert.deepEqual(detail.meterValues.map((m) => m.value), [600, 1100]);
  assert.deepEqual([detail.meterStart, detail.meterStop, detail.stopReason], [100, 1500, 'Local']);
  const mvCsv = await api(h, `/transactions/${all.items[0]!.id}?format=csv`);
  assert.equal((await mvCsv.text()).trim().split('\r\n').length, 3, 'header and two samples of the 2.0.1 transaction');
  assert.equal((await api(h, '/transactions/999999')).status, 404);
  assert.equal((await api(h, '/transactions/abc')).status, 400);

  // The ocpp-cs list.
  const list = await json<{ TransactionList: Array<{ id: number; identity: string; connectorId: number; meterStart: number; meterStop: number; value: number; reason: string; dateStart: string }> }>(await api(h, '/CentralSystem/TransactionList', post({ identity: 'ST-16' })));
  assert.equal(list.TransactionList.length, 2);
  assert.deepEqual({ ...list.TransactionList.at(-1)!, id: 0, dateStart: '' }, { id: 0, transactionId: String(txA), idTag: 'TAG-A', identity: 'ST-16', connectorId: 1, meterStart: 100, meterStop: 1500, value: 1400, reservationId: null, reason: 'Local', dateStart: '', dateStop: (list.TransactionList.at(-1) as unknown as { dateStop: string }).dateStop, open: false });
  const form = await api(h, '/CentralSystem/TransactionList', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'identity=ST-201' });
  assert.equal((await json<{ TransactionList: unknown[] }>(form)).TransactionList.length, 1);
  assert.equal((await api(h, '/CentralSystem/TransactionList', post({}))).status, 400);

  // The store's metrics: what it committed, that it is available, how long commits took, no refusals.
  const metrics = await (await fetch(`http://127.0.0.1:${h.port}/metrics`)).text();
  const value = (series: string): number => Number(new RegExp(`^${series.replace(/[{}]/g, '\\$&')} (\\S+)$`, 'm').exec(metrics)?.[1] ?? NaN);
  assert.ok(value('ocpp_store_commits_total{engine="sqlite"}') >= 1);
  assert.ok(value('ocpp_store_records_total{outcome="committed"}') >= 10);
  assert.equal(value('ocpp_store_available{engine="sqlite"}'), 1);
  assert.equal(value('ocpp_store_refusals_total'), 0);
  assert.ok(value('ocpp_store_commit_duration_seconds_count{engine="sqlite"}') >= 1);
});

test('a running transaction: energy so far, last power and sample time in the list; the detail since a time', LIMIT, async (t) => {
  const h = await startTestServer();
  t.after(() => h.stop());
  const st = await TestStation.connect(h.url('RUN-16'), ['ocpp1.6']);
  t.after(() => st.close());
  await st.call('BootNotification', { chargePointVendor: 'V', chargePointModel: 'M' });
  const start = await st.call('StartTransaction', { connectorId: 1, idTag: 'RUN', meterStart: 1000, timestamp: new Date().toISOString() });
  const txId = (start[2] as { transactionId: number }).transactionId;
  const at = (s: number): string => new Date(Date.parse('2026-12-06T10:00:00Z') + s * 1000).toISOString();
  for (const [s, kwh, kw] of [[60, 1.5, 7.2], [120, 2.25, 11]] as const) {
    await st.call('MeterValues', { connectorId: 1, transactionId: txId, meterValue: [{ timestamp: at(s), sampledValue: [{ value: String(kwh), measurand: 'Energy.Active.Import.Register', unit: 'kWh' }, { value: String(kw), measurand: 'Power.Active.Import', unit: 'kW' }] }] });
  }
  const list = await json<{ items: Array<{ id: number; energyWh: number; powerW: number; lastMeterAt: number; open: boolean }> }>(await api(h, '/transactions?identity=RUN-16'));
  const [running] = list.items;
  assert.deepEqual([running!.open, running!.energyWh, running!.powerW, running!.lastMeterAt], [true, 1250, 11000, Date.parse(at(120))]);
  const all = await json<{ meterValues: unknown[] }>(await api(h, `/transactions/${running!.id}`));
  assert.equal(all.meterValues.length, 4);
  const since = await json<{ meterValues: Array<{ ts: number }>; energyWh: number }>(await api(h, `/transactions/${running!.id}?since=${encodeURIComponent(at(60))}`));
  assert.deepEqual(since.meterValues.map((m) => m.ts), [Date.parse(at(120)), Date.parse(at(120))]);
  assert.equal(since.energyWh, 1250, 'energy so far does not depend on the meter values asked for');
  assert.equal((await api(h, `/transactions/${running!.id}?since=yesterday`)).status, 400);
  await st.call('StopTransaction', { transactionId: txId, meterStop: 2400, timestamp: at(180), reason: 'Local' });
  const [stopped] = (await json<{ items: Array<{ energyWh: number; powerW: number | null; open: boolean }> }>(await api(h, '/transactions?identity=RUN-16'))).items;
  assert.deepEqual([stopped!.open, stopped!.energyWh, stopped!.powerW], [false, 1400, null]);
});

test('id tags: the operator\'s list answers before the policy; reservations and the journal come from the store', LIMIT, async (t) => {
  const h = await startTestServer({ responder: { authorize: { policy: 'acceptAll' } } });
  t.after(() => h.stop());
  const station = await TestStation.connect(h.url('ST-TAGS'), ['ocpp1.6']);
  t.after(() => station.close());
  await station.call('BootNotification', { chargePointVendor: 'V', chargePointModel: 'M' });
  const put = (tag: string, body: unknown) => api(h, `/idtags/${tag}`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  assert.equal((await put('LOST', { status: 'Blocked', note: 'reported lost' })).status, 200);
  assert.equal((await put('OLD', { status: 'Accepted', expiryDate: '2020-01-01T00:00:00Z' })).status, 200);
  assert.equal((await put('BAD', { status: 'Whatever' })).status, 400);
  // Every shard's responder has the list (the station may be on either).
  await waitFor(async () => ((await station.call('Authorize', { idTag: 'lost' }))[2] as { idTagInfo: { status: string } }).idTagInfo.status === 'Blocked', 5000, 'Blocked answered');
  assert.equal(((await station.call('Authorize', { idTag: 'OLD' }))[2] as { idTagInfo: { status: string } }).idTagInfo.status, 'Expired');
  assert.equal(((await station.call('Authorize', { idTag: 'ANYONE' }))[2] as { idTagInfo: { status: string } }).idTagInfo.status, 'Accepted', 'not listed: the policy');
  const tags = await json<{ items: Array<{ idTag: string; listed: boolean; status: string | null; lastStatus: string | null }> }>(await api(h, '/idtags'));
  assert.deepEqual(tags.items.map((x) => [x.idTag, x.listed, x.status, x.lastStatus]), [['ANYONE', false, null, 'Accepted'], ['LOST', true, 'Blocked', null], ['OLD', true, 'Accepted', 'Expired'], ['lost', false, null, 'Blocked']]);
  assert.equal((await api(h, '/idtags/LOST', { method: 'DELETE' })).status, 204);
  assert.equal((await api(h, '/idtags/LOST', { method: 'DELETE' })).status, 404);
  await waitFor(async () => ((await station.call('Authorize', { idTag: 'LOST' }))[2] as { idTagInfo: { status: string } }).idTagInfo.status === 'Accepted', 5000, 'off the list');

  // A reservation made through the API (the station accepts), listed ocpp-cs style.
  station.onCall = (action) => (action === 'ReserveNow' || action === 'CancelReservation' ? { status: 'Accepted' } : null);
  const reserve = await api(h, '/ChargePoint/ST-TAGS/ReserveNow', post({ connectorId: 1, expiryDate: new Date(Date.now() + 3_600_000).toISOString(), idTag: 'LOST', reservationId: 42 }));
  assert.equal(reserve.status, 200);
  await waitFor(async () => (await json<{ ReservationList: unknown[] }>(await api(h, '/CentralSystem/ReservationList', post({ identity: 'ST-TAGS' })))).ReservationList.length === 1, 5000, 'reservation kept');
  await api(h, '/ChargePoint/ST-TAGS/CancelReservation', post({ reservationId: 42 }));
  await waitFor(async () => (await json<{ ReservationList: Array<{ status: string }> }>(await api(h, '/CentralSystem/ReservationList', post({ identity: 'ST-TAGS' })))).ReservationList[0]!.status === 'Cancelled', 5000, 'reservation cancelled');

  // The journal: every CALL but Heartbeat, newest first, with its answer.
  await station.call('Heartbeat', {});
  const journal = await json<{ items: Array<{ action: string; reply: { idTagInfo?: { status: string } } }> }>(await api(h, '/stations/ST-TAGS/messages?limit=3'));
  assert.deepEqual(journal.items.map((m) => m.action), ['Authorize', 'Authorize', 'Authorize']);
  assert.equal(journal.items[0]!.reply.idTagInfo!.status, 'Accepted');
  assert.equal((await api(h, '/stations/NOBODY/messages')).status, 404);
});

test('a station that is gone can be removed; a connected one cannot', LIMIT, async (t) => {
  const h = await startTestServer({}, { keepDataDir: true });
  t.after(async () => {
    await h.stop();
    await rm(h.dataDir, { recursive: true, force: true });
  });
  const station = await TestStation.connect(h.url('ST-GONE'), ['ocpp1.6']);
  await waitFor(() => h.server.station('ST-GONE')?.connected, 5000, 'connected');
  const refused = await api(h, '/stations/ST-GONE', { method: 'DELETE' });
  assert.equal(refused.status, 409);
  assert.equal((await json<{ error: { details: { reason: string } } }>(refused)).error.details.reason, 'STATION_CONNECTED');
  await station.close();
  await waitFor(() => h.server.station('ST-GONE')?.connected === false, 5000, 'disconnected');
  assert.equal((await api(h, '/stations/ST-GONE', { method: 'DELETE' })).status, 204);
  assert.equal((await api(h, '/stations/ST-GONE')).status, 404);
  assert.equal((await api(h, '/stations/ST-GONE', { method: 'DELETE' })).status, 404);
  // Gone from the store too: a restart does not bring it back.
  const dataDir = h.dataDir;
  await h.stop();
  const again = await startTestServer({}, { dataDir });
  t.after(() => again.stop());
  assert.equal(again.server.station('ST-GONE'), undefined);
});

test('with the store off the store routes say so (503), and stations are answered without it', LIMIT, async (t) => {
  const h = await startTestServer({ store: { engine: 'off' } });
  t.after(() => h.stop());
  const station = await TestStation.connect(h.url('ST-OFF'), ['ocpp1.6']);
  t.after(() => station.close());
  assert.equal((await station.call('StartTransaction', { connectorId: 1, idTag: 'T', meterStart: 0, timestamp: new Date().toISOString() }))[0], 3);
  const off = await api(h, '/transactions');
  assert.equal(off.status, 503);
  assert.equal((await json<{ error: { details: { reason: string } } }>(off)).error.details.reason, 'STORE_OFF');
});
