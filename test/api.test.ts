/**
 * The REST API against a real two-shard router with real stations (TestStation answering with onCall):
 * every central-system operation of 1.6 and 2.0.1, validation, form bodies, translations, timeouts,
 * disconnected / unknown stations, CALLERROR, bulk and async commands, ChargePointList and station list.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, TestStation, waitFor, type TestServer } from './helpers/server.js';
import { sampleRequest, sampleResponse } from './helpers/schema-samples.js';
import { centralActions } from '../src/protocol/actions.js';
import type { OcppVersion } from '../src/protocol/versions.js';
import { http } from './api-helpers.js';

interface Seen {
  action: string;
  payload: Record<string, unknown>;
}

/** A station that answers every command with the sample response of its version and records what it got. */
async function station(h: TestServer, identity: string, version: OcppVersion): Promise<{ s: TestStation; seen: Seen[] }> {
  const s = await TestStation.connect(h.url(identity), [version]);
  const seen: Seen[] = [];
  s.onCall = (action, payload) => {
    seen.push({ action, payload });
    return sampleResponse(version, action);
  };
  await waitFor(() => h.server.station(identity)?.connected, 5000, `${identity} registered`);
  return { s, seen };
}

test('every central-system operation of 1.6 (with security extension) and 2.0.1 is sent through HTTP and answered', async (t) => {
  const h = await startTestServer();
  t.after(() => h.stop());
  for (const version of ['ocpp1.6', 'ocpp2.0.1'] as const) {
    const { s, seen } = await station(h, `ALL-${version}`, version);
    t.after(() => s.close());
    const actions = centralActions(version);
    assert.ok(actions.length >= (version === 'ocpp1.6' ? 26 : 40));
    for (const action of actions) {
      const request = sampleRequest(version, action);
      const reply = await http(h.port, 'POST', `/api/v1/ChargePoint/ALL-${version}/${action}`, { json: request });
      assert.equal(reply.status, 200, `${version} ${action}: ${reply.text}`);
      assert.deepEqual(reply.body, sampleResponse(version, action), `${version} ${action} answer`);
      assert.equal(reply.headers.get('x-ocpp-action'), action);
      assert.deepEqual(seen.at(-1), { action, payload: request }, `${version} ${action} reached the station unchanged`);
    }
    assert.equal(seen.length, actions.length);
  }
});

test('validation: 400 with every violation listed, nothing sent; unknown operation 400; bad JSON 400; 415', async (t) => {
  const h = await startTestServer();
  t.after(() => h.stop());
  const { s, seen } = await station(h, 'VAL-1', 'ocpp1.6');
  t.after(() => s.close());
  const bad = await http(h.port, 'POST', '/api/v1/ChargePoint/VAL-1/ChangeAvailability', { json: { connectorId: 'one', type: 'Sometimes', extra: true } });
  assert.equal(bad.status, 400);
  assert.equal(bad.body.error.code, 400);
  assert.equal(bad.body.error.details.reason, 'PAYLOAD_INVALID');
  const issues = bad.body.error.details.issues as Array<{ path: string; keyword: string }>;
  const found = issues.map((i) => `${i.path} ${i.keyword}`).sort();
  assert.deepEqual(found, ['/connectorId type', '/extra additionalProperties', '/type enum']);
  const missing = await http(h.port, 'POST', '/api/v1/ChargePoint/VAL-1/RemoteStartTransaction', { json: {} });
  assert.equal(missing.status, 400);
  assert.deepEqual(missing.body.error.details.issues.map((i: { keyword: string }) => i.keyword), ['required']);
  const unknown = await http(h.port, 'POST', '/api/v1/ChargePoint/VAL-1/BootNotification', { json: {} });
  assert.equal(unknown.status, 400);
  assert.equal(unknown.body.error.details.reason, 'UNKNOWN_ACTION');
  assert.ok(unknown.body.error.details.operations.includes('Reset'));
  const notJson = await http(h.port, 'POST', '/api/v1/ChargePoint/VAL-1/Reset', { body: '{"type":', headers: { 'Content-Type': 'application/json' } });
  assert.equal(notJson.status, 400);
  const array = await http(h.port, 'POST', '/api/v1/ChargePoint/VAL-1/Reset', { json: [1] });
  assert.equal(array.status, 400);
  const xml = await http(h.port, 'POST', '/api/v1/ChargePoint/VAL-1/Reset', { body: '<x/>', headers: { 'Content-Type': 'text/xml' } });
  assert.equal(xml.status, 415);
  const badTimeout = await http(h.port, 'POST', '/api/v1/ChargePoint/VAL-1/ClearCache?timeoutMs=0', { json: {} });
  assert.equal(badTimeout.status, 400);
  assert.equal(seen.length, 0, 'nothing reached the station');
});

test('form-urlencoded bodies are coerced by the request schema (integers, numbers, booleans, arrays, bracket keys, JSON text)', async (t) => {
  const h = await startTestServer();
  t.after(() => h.stop());
  const v16 = await station(h, 'FORM-16', 'ocpp1.6');
  const v201 = await station(h, 'FORM-201', 'ocpp2.0.1');
  t.after(() => Promise.all([v16.s.close(), v201.s.close()]));
  const post = (id: string, op: string, form: string) => http(h.port, 'POST', `/api/v1/ChargePoint/${id}/${op}`, { form });

  assert.equal((await post('FORM-16', 'RemoteStartTransaction', 'connectorId=1&idTag=TAG-1')).status, 200);
  assert.deepEqual(v16.seen.at(-1)!.payload, { connectorId: 1, idTag: 'TAG-1' });
  assert.equal((await post('FORM-16', 'ChangeConfiguration', 'key=HeartbeatInterval&value=30')).status, 200);
  assert.deepEqual(v16.seen.at(-1)!.payload, { key: 'HeartbeatInterval', value: '30' }, 'strings stay strings');
  assert.equal((await post('FORM-16', 'GetConfiguration', 'key=A&key=B')).status, 200);
  assert.deepEqual(v16.seen.at(-1)!.payload, { key: ['A', 'B'] }, 'repeated key → array');
  assert.equal((await post('FORM-16', 'GetConfiguration', 'key=A')).status, 200);
  assert.deepEqual(v16.seen.at(-1)!.payload, { key: ['A'] }, 'one value where an array is wanted');
  const profile =
    'connectorId=1&csChargingProfiles[chargingProfileId]=7&csChargingProfiles[stackLevel]=0&csChargingProfiles[chargingProfilePurpose]=TxDefaultProfile' +
    '&csChargingProfiles[chargingProfileKind]=Absolute&csChargingProfiles[chargingSchedule][chargingRateUnit]=A' +
    '&csChargingProfiles[chargingSchedule][chargingSchedulePeriod][0][startPeriod]=0&csChargingProfiles[chargingSchedule][chargingSchedulePeriod][0][limit]=16.5';
  const set = await post('FORM-16', 'SetChargingProfile', profile);
  assert.equal(set.status, 200, set.text);
  assert.deepEqual(v16.seen.at(-1)!.payload, {
    connectorId: 1,
    csChargingProfiles: {
      chargingProfileId: 7,
      stackLevel: 0,
      chargingProfilePurpose: 'TxDefaultProfile',
      chargingProfileKind: 'Absolute',
      chargingSchedule: { chargingRateUnit: 'A', chargingSchedulePeriod: [{ startPeriod: 0, limit: 16.5 }] },
    },
  });
  const asJson = await post('FORM-16', 'SetChargingProfile', `connectorId=2&csChargingProfiles=${encodeURIComponent(JSON.stringify((v16.seen.at(-1)!.payload as { csChargingProfiles: unknown }).csChargingProfiles))}`);
  assert.equal(asJson.status, 200, asJson.text);
  assert.equal((v16.seen.at(-1)!.payload as { connectorId: number }).connectorId, 2);
  assert.equal((await post('FORM-201', 'CustomerInformation', 'requestId=5&report=true&clear=0')).status, 200);
  assert.deepEqual(v201.seen.at(-1)!.payload, { requestId: 5, report: true, clear: false });
  const wrong = await post('FORM-16', 'RemoteStopTransaction', 'transactionId=abc');
  assert.equal(wrong.status, 400, 'uncoercible values are reported by the validator');
  assert.equal(wrong.body.error.details.issues[0].path, '/transactionId');
  assert.equal((await post('FORM-16', 'Reset', 'type[=Hard')).status, 400, 'malformed bracket key');
});

test('1.6-style bodies are translated for 2.0.1 and 2.1 stations where the meaning is clear', async (t) => {
  const h = await startTestServer();
  t.after(() => h.stop());
  for (const version of ['ocpp2.0.1', 'ocpp2.1'] as const) {
    const id = `TR-${version}`;
    const { s, seen } = await station(h, id, version);
    t.after(() => s.close());
    const send = async (op: string, json: unknown, expectAction: string, expectPayload: (p: Record<string, unknown>) => void): Promise<void> => {
      const reply = await http(h.port, 'POST', `/api/v1/ChargePoint/${id}/${op}`, { json });
      assert.equal(reply.status, 200, `${version} ${op}: ${reply.text}`);
      assert.equal(seen.at(-1)!.action, expectAction);
      assert.equal(reply.headers.get('x-ocpp-action'), expectAction);
      expectPayload(seen.at(-1)!.payload);
    };
    await send('Reset', { type: 'Hard' }, 'Reset', (p) => assert.deepEqual(p, { type: 'Immediate' }));
    await send('Reset', { type: 'Soft' }, 'Reset', (p) => assert.deepEqual(p, { type: 'OnIdle' }));
    await send('Reset', { type: 'OnIdle' }, 'Reset', (p) => assert.deepEqual(p, { type: 'OnIdle' }));
    await send('RemoteStartTransaction', { idTag: 'TAG', connectorId: 2 }, 'RequestStartTransaction', (p) => {
      assert.deepEqual(p.idToken, { idToken: 'TAG', type: 'ISO14443' });
      assert.equal(p.evseId, 2);
      assert.equal(typeof p.remoteStartId, 'number');
    });
    await send('RemoteStopTransaction', { transactionId: 42 }, 'RequestStopTransaction', (p) => assert.deepEqual(p, { transactionId: '42' }));
    await send('RemoteStopTransaction', { transactionId: 'abc-1' }, 'RequestStopTransaction', (p) => assert.deepEqual(p, { transactionId: 'abc-1' }));
    await send('ChangeAvailability', { connectorId: 0, type: 'Inoperative' }, 'ChangeAvailability', (p) => assert.deepEqual(p, { operationalStatus: 'Inoperative' }));
    await send('ChangeAvailability', { connectorId: 2, type: 'Operative' }, 'ChangeAvailability', (p) => assert.deepEqual(p, { operationalStatus: 'Operative', evse: { id: 2 } }));
    await send('UnlockConnector', { connectorId: 3 }, 'UnlockConnector', (p) => assert.deepEqual(p, { evseId: 3, connectorId: 1 }));
    await send('TriggerMessage', { requestedMessage: 'StatusNotification', connectorId: 1 }, 'TriggerMessage', (p) => assert.deepEqual(p, { requestedMessage: 'StatusNotification', evse: { id: 1 } }));
    await send('ReserveNow', { connectorId: 1, expiryDate: '2030-01-01T00:00:00.000Z', idTag: 'TAG', reservationId: 9, parentIdTag: 'P' }, 'ReserveNow', (p) =>
      assert.deepEqual(p, { id: 9, expiryDateTime: '2030-01-01T00:00:00.000Z', idToken: { idToken: 'TAG', type: 'ISO14443' }, evseId: 1, groupIdToken: { idToken: 'P', type: 'ISO14443' } }),
    );
    const form = await http(h.port, 'POST', `/api/v1/ChargePoint/${id}/RemoteStopTransaction`, { form: 'transactionId=77' });
    assert.equal(form.status, 200);
    assert.deepEqual(seen.at(-1)!.payload, { transactionId: '77' }, 'form body coerced by the 1.6 schema, then translated');
    const unclear = await http(h.port, 'POST', `/api/v1/ChargePoint/${id}/TriggerMessage`, { json: { requestedMessage: 'DiagnosticsStatusNotification' } });
    assert.equal(unclear.status, 400, 'no clear 2.x meaning: not translated');
  }
});

test('504 on timeout, 409 disconnected, 404 unknown, 502 with the CALLERROR fields', async (t) => {
  const h = await startTestServer();
  t.after(() => h.stop());
  const { s } = await station(h, 'ERR-1', 'ocpp1.6');
  t.after(() => s.close());
  s.onCall = () => null; // silent
  const started = Date.now();
  const timeout = await http(h.port, 'POST', '/api/v1/ChargePoint/ERR-1/ClearCache?timeoutMs=300', { json: {} });
  assert.equal(timeout.status, 504);
  assert.equal(timeout.body.error.code, 504);
  assert.equal(timeout.body.error.details.reason, 'CALL_TIMEOUT');
  assert.ok(Date.now() - started < 5000);

  s.onCall = null;
  s.ws.on('message', (data) => {
    const frame = JSON.parse(data.toString()) as unknown[];
    if (frame[0] === 2) s.ws.send(JSON.stringify([4, frame[1], 'NotSupported', 'not here', { hint: 'x' }]));
  });
  const callError = await http(h.port, 'POST', '/api/v1/ChargePoint/ERR-1/ClearCache', { json: {} });
  assert.equal(callError.status, 502);
  assert.deepEqual(callError.body.error.details, { reason: 'CALL_ERROR', errorCode: 'NotSupported', errorDescription: 'not here', errorDetails: { hint: 'x' } });

  const unknown = await http(h.port, 'POST', '/api/v1/ChargePoint/NOBODY/ClearCache', { json: {} });
  assert.equal(unknown.status, 404);
  assert.deepEqual(unknown.body, { error: { code: 404, message: 'unknown station NOBODY', details: { reason: 'STATION_NOT_FOUND' } } });

  await s.close();
  await waitFor(() => h.server.station('ERR-1')?.connected === false, 5000, 'disconnect seen');
  const gone = await http(h.port, 'POST', '/api/v1/ChargePoint/ERR-1/ClearCache', { json: {} });
  assert.equal(gone.status, 409);
  assert.equal(gone.body.error.details.reason, 'STATION_NOT_CONNECTED');
  const asyncGone = await http(h.port, 'POST', '/api/v1/ChargePoint/NOBODY/ClearCache?async=true', { json: {} });
  assert.equal(asyncGone.status, 404);
});

test('ChargePointList (both paths) in the ocpp-cs shape with boot info and connector statuses; station list with filters and paging', async (t) => {
  const h = await startTestServer();
  t.after(() => h.stop());
  const stations: TestStation[] = [];
  t.after(() => Promise.all(stations.map((s) => s.close())));
  for (let i = 0; i < 5; i++) {
    const version = i < 3 ? 'ocpp1.6' : 'ocpp2.0.1';
    const s = await TestStation.connect(h.url(`LIST-${i}`), [version]);
    stations.push(s);
    if (version === 'ocpp1.6') {
      await s.call('BootNotification', { chargePointVendor: 'V', chargePointModel: `M${i}` });
      await s.call('StatusNotification', { connectorId: 1, status: i === 0 ? 'Charging' : 'Available', errorCode: 'NoError' });
    }
  }
  await stations[4]!.close();
  // Shards batch status events to the control plane, each on its own clock: wait for every station's.
  await waitFor(() => h.server.station('LIST-4')?.connected === false && [0, 1, 2].every((i) => h.server.station(`LIST-${i}`)?.connectors['1'] !== undefined), 5000, 'registry up to date');
  for (const path of ['/api/v1/ChargePointList', '/api/v1/CentralSystem/ChargePointList']) {
    const list = await http(h.port, 'GET', path);
    assert.equal(list.status, 200);
    const items = list.body.ChargePointList as Array<Record<string, any>>;
    assert.equal(items.length, 5);
    const first = items.find((x) => x.Identity === 'LIST-0')!;
    assert.equal(first.Address, '127.0.0.1');
    assert.equal(first.Connection.IP, '127.0.0.1');
    assert.equal(typeof first.Connection.Socket, 'number');
    assert.equal(first.Connected, true);
    assert.equal(first.Version, 'ocpp1.6');
    assert.deepEqual(first.BootNotification, { chargePointVendor: 'V', chargePointModel: 'M0' });
    assert.equal(first.BootStatus, 'Accepted');
    assert.equal(first.Connectors['1'].status, 'Charging');
    const gone = items.find((x) => x.Identity === 'LIST-4')!;
    assert.equal(gone.Connected, false);
    assert.equal(gone.Connection, null);
  }
  // The list is cached until the registry changes: a new station shows at once.
  const late = await TestStation.connect(h.url('LIST-5'), ['ocpp1.6']);
  await waitFor(() => h.server.station('LIST-5')?.connected === true, 5000, 'LIST-5 registered');
  const relisted = (await http(h.port, 'GET', '/api/v1/ChargePointList')).body.ChargePointList as Array<Record<string, any>>;
  assert.deepEqual(relisted.map((x) => x.Identity).sort(), ['LIST-0', 'LIST-1', 'LIST-2', 'LIST-3', 'LIST-4', 'LIST-5']);
  await late.close();
  await waitFor(() => h.server.station('LIST-5')?.connected === false, 5000, 'LIST-5 gone');
  const afterClose = (await http(h.port, 'GET', '/api/v1/ChargePointList')).body.ChargePointList as Array<Record<string, any>>;
  assert.equal(afterClose.find((x) => x.Identity === 'LIST-5')!.Connected, false);
  const connected = await http(h.port, 'GET', '/api/v1/stations?connected=true');
  assert.equal(connected.body.total, 4);
  assert.deepEqual(connected.body.stations.map((s: { identity: string }) => s.identity), ['LIST-0', 'LIST-1', 'LIST-2', 'LIST-3']);
  assert.equal((await http(h.port, 'GET', '/api/v1/stations?version=ocpp2.0.1')).body.total, 2);
  assert.equal((await http(h.port, 'GET', '/api/v1/stations?status=Available')).body.total, 2);
  assert.equal((await http(h.port, 'GET', '/api/v1/stations?transport=ws&connected=false')).body.total, 2);
  const page1 = await http(h.port, 'GET', '/api/v1/stations?limit=2');
  assert.equal(page1.body.total, 6);
  assert.equal(page1.body.count, 2);
  const page2 = await http(h.port, 'GET', `/api/v1/stations?limit=2&cursor=${page1.body.nextCursor}`);
  assert.deepEqual(page2.body.stations.map((s: { identity: string }) => s.identity), ['LIST-2', 'LIST-3']);
  const page3 = await http(h.port, 'GET', `/api/v1/stations?limit=2&cursor=${page2.body.nextCursor}`);
  assert.deepEqual(page3.body.stations.map((s: { identity: string }) => s.identity), ['LIST-4', 'LIST-5']);
  assert.equal(page3.body.nextCursor, null);
  assert.deepEqual((await http(h.port, 'GET', '/api/v1/stations?limit=2&offset=3')).body.stations.map((s: { identity: string }) => s.identity), ['LIST-3', 'LIST-4']);
  const bad = await http(h.port, 'GET', '/api/v1/stations?limit=0&connected=maybe');
  assert.equal(bad.status, 400);
  assert.equal(bad.body.error.details.problems.length, 2);
  const one = await http(h.port, 'GET', '/api/v1/stations/LIST-1');
  assert.equal(one.body.identity, 'LIST-1');
  assert.equal(one.body.boot.payload.chargePointModel, 'M1');
  assert.equal((await http(h.port, 'GET', '/api/v1/stations/NOPE')).status, 404);
  const wrongMethod = await http(h.port, 'DELETE', '/api/v1/stations');
  assert.equal(wrongMethod.status, 405);
  assert.equal(wrongMethod.headers.get('allow'), 'GET');
});

test('bulk commands: identities or filter, a result per station, bounded concurrency; async mode with a command id', async (t) => {
  const h = await startTestServer({ api: { bulk: { concurrency: 2 } } });
  t.after(() => h.stop());
  const all = await Promise.all(['B-1', 'B-2', 'B-3'].map((id) => station(h, id, 'ocpp1.6')));
  const v2 = await station(h, 'B-4', 'ocpp2.0.1');
  t.after(() => Promise.all([...all, v2].map((x) => x.s.close())));
  let inFlight = 0;
  let maxInFlight = 0;
  for (const { s } of [...all, v2]) {
    s.onCall = (action, payload, id) => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      setTimeout(() => {
        inFlight--;
        s.ws.send(JSON.stringify([3, id, { status: 'Accepted' }]));
      }, 30);
      return null;
    };
  }
  const bulk = await http(h.port, 'POST', '/api/v1/commands', { json: { identities: ['B-1', 'B-2', 'B-3', 'B-4', 'NOBODY'], action: 'Reset', payload: { type: 'Soft' } } });
  assert.equal(bulk.status, 200, bulk.text);
  assert.equal(bulk.body.total, 5);
  assert.equal(bulk.body.succeeded, 4, 'B-4 (2.0.1) gets the translated Reset');
  const byId = Object.fromEntries(bulk.body.results.map((r: { identity: string }) => [r.identity, r]));
  assert.deepEqual(byId['B-1'].payload, { status: 'Accepted' });
  assert.equal(byId['B-4'].action, 'Reset');
  assert.equal(byId['B-4'].translatedFrom, 'ocpp1.6 Reset');
  assert.equal(byId.NOBODY.status, 404);
  assert.ok(maxInFlight <= 2, `concurrency bounded (saw ${maxInFlight})`);

  const filtered = await http(h.port, 'POST', '/api/v1/commands', { json: { filter: { version: 'ocpp1.6' }, action: 'ClearCache' } });
  assert.equal(filtered.body.total, 3);
  assert.deepEqual(filtered.body.results.map((r: { identity: string }) => r.identity).sort(), ['B-1', 'B-2', 'B-3']);
  const bad = await http(h.port, 'POST', '/api/v1/commands', { json: { identities: [], filter: {}, action: '' } });
  assert.equal(bad.status, 400);
  assert.ok(bad.body.error.details.problems.length >= 2);

  const accepted = await http(h.port, 'POST', '/api/v1/commands?async=true', { json: { identities: ['B-1', 'B-2'], action: 'ClearCache', payload: {} } });
  assert.equal(accepted.status, 202);
  assert.equal(accepted.body.status, 'pending');
  assert.equal(accepted.headers.get('location'), `/api/v1/commands/${accepted.body.id}`);
  const done = await waitFor(async () => {
    const r = await http(h.port, 'GET', `/api/v1/commands/${accepted.body.id}`);
    return r.body.status === 'done' ? r.body : null;
  }, 5000, 'async bulk done');
  assert.equal(done.kind, 'bulk');
  assert.equal(done.result.succeeded, 2);

  const single = await http(h.port, 'POST', '/api/v1/ChargePoint/B-3/ClearCache?async=1', { json: {} });
  assert.equal(single.status, 202);
  const singleDone = await waitFor(async () => {
    const r = await http(h.port, 'GET', `/api/v1/commands/${single.body.id}`);
    return r.body.status === 'done' ? r.body : null;
  }, 5000, 'async single done');
  assert.deepEqual(singleDone.result, { identity: 'B-3', action: 'ClearCache', status: 200, payload: { status: 'Accepted' } });
  const invalidAsync = await http(h.port, 'POST', '/api/v1/ChargePoint/B-3/Reset?async=true', { json: { type: 'Sideways' } });
  assert.equal(invalidAsync.status, 400, 'validation errors come at once, not in the result');
  assert.equal((await http(h.port, 'GET', '/api/v1/commands/00000000-0000-0000-0000-000000000000')).status, 404);
});
