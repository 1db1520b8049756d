/**
 * The emulator as a fleet: the shipped conf/cp examples, offline queueing and in-order replay across a server
 * restart, boot Pending, scenarios, and 1,000 stations on worker threads.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startTestServer, waitFor } from './helpers/server.js';
import { loadStationsDir, parseStationConfig, startFleet, templateStations, type StationEvent } from '../src/emulator/index.js';
import { packageRoot } from '../src/config/load.js';
import type { OcppVersion } from '../src/protocol/versions.js';

type Sent = Extract<StationEvent, { type: 'sent' }>;

const FAST = { statusStepMs: 20, rebootDelayMs: 100, reconnectMinMs: 100, reconnectMaxMs: 500, replayIntervalMs: 20 };

test('the shipped conf/cp examples load (both ocpp-cs styles, OCPP-J and OCPP-S) and boot against the router', async (t) => {
  const specs = loadStationsDir(join(packageRoot(), 'conf', 'cp'));
  const byId = new Map(specs.map((s) => [s.identity, s]));
  assert.deepEqual([...byId.keys()].sort(), ['CP1', 'CP2', 'CP201', 'CP210', 'CPS1']);
  assert.equal(byId.get('CP1')!.version, 'ocpp1.6');
  assert.equal(byId.get('CP1')!.transport, 'ocpp-j');
  assert.equal(byId.get('CPS1')!.version, 'ocpp1.6');
  assert.equal(byId.get('CPS1')!.transport, 'ocpp-s');
  assert.equal(byId.get('CPS1')!.url, 'http://localhost:9220/Ocpp/CentralSystemService');
  assert.deepEqual(byId.get('CP1')!.connectors.map((c) => [c.connectorId, c.powerW]), [[1, 50000], [2, 22000]]);
  assert.equal(byId.get('CP1')!.keys.get('ChargePointModel')?.readonly, true);
  assert.equal(byId.get('CP201')!.version, 'ocpp2.0.1');
  assert.deepEqual(byId.get('CP201')!.connectors.map((c) => [c.evseId, c.connectorId, c.powerW]), [[1, 1, 7400], [2, 1, 22000]]);
  assert.equal(byId.get('CP210')!.version, 'ocpp2.1');

  const h = await startTestServer();
  const url = `ws://127.0.0.1:${h.port}/ocpp`;
  // One override per transport: ws:// for the OCPP-J folders, http:// for the OCPP-S one.
  const soapUrl = `http://127.0.0.1:${h.port}/Ocpp/CentralSystemService`;
  const fleet = await startFleet({ stations: loadStationsDir(join(packageRoot(), 'conf', 'cp'), { urlOverride: [url, soapUrl] }), threads: 0, summaryIntervalMs: 0, timings: FAST });
  t.after(async () => {
    await fleet.stop();
    await h.stop();
  });
  await waitFor(() => ['CP1', 'CP2', 'CP201', 'CP210', 'CPS1'].every((id) => h.server.station(id)?.boot?.status === 'Accepted'), 10_000, 'all examples booted');
  assert.equal(h.server.station('CPS1')!.transport, 'soap');
  assert.equal(h.server.station('CPS1')!.callbackUrl, `${fleet.chargePointServices[0]}/CPS1`);
  assert.equal(h.server.station('CP1')!.transport, 'ws');
  assert.equal(h.server.station('CP1')!.boot!.payload.chargePointModel, 'EMU-DC50');
  assert.equal((h.server.station('CP201')!.boot!.payload.chargingStation as Record<string, unknown>).model, 'EMU-201-DC');
  // CP1 answers DataTransfer from its DataTransfer.json (the ocpp-cs reply-file convention).
  assert.deepEqual(await h.server.call('CP1', 'DataTransfer', { vendorId: 'x' }), { status: 'Accepted', data: 'reply read from conf/cp/CP1/DataTransfer.json' });
});

test('configuration parsing: bare connector ids, StationIdentity, missing URL is an error', () => {
  const spec = parseStationConfig({ connectorId: [3, { id: 4 }], configurationKey: [{ key: 'CentralSystemURL', value: 'ws://h/ocpp' }, { key: 'StationIdentity', value: 'EM-1' }] }, 'folder');
  assert.equal(spec.identity, 'EM-1');
  assert.deepEqual(spec.connectors.map((c) => c.connectorId), [3, 4]);
  assert.throws(() => parseStationConfig({ connectorId: [1], configurationKey: [] }, 'x'), /CentralSystemURL/);
  assert.throws(() => parseStationConfig({ OcppVersion: '3.0', CentralSystemURL: 'ws://h' }, 'x'), /unsupported OCPP version/);
  // The transport follows the URL; 1.5 exists only over SOAP, 2.x only over WebSocket.
  const soap15 = parseStationConfig({ OcppVersion: '1.5', connectorId: [1], configurationKey: [{ key: 'CentralSystemURL', value: 'http://h/Ocpp/CentralSystemService' }] }, 'S15');
  assert.deepEqual([soap15.transport, soap15.version, soap15.keys.has('SupportedFeatureProfiles')], ['ocpp-s', 'ocpp1.5', false]);
  assert.throws(() => parseStationConfig({ OcppVersion: '1.5', connectorId: [1], configurationKey: [{ key: 'CentralSystemURL', value: 'ws://h/ocpp' }] }, 'x'), /OCPP 1.5 has no OCPP-J/);
  assert.throws(() => parseStationConfig({ OcppVersion: '2.0.1', CentralSystemURL: 'http://h/Ocpp' }, 'x'), /OCPP-S .* 1.5 and 1.6 only/);
  assert.throws(() => parseStationConfig({ connectorId: [1], configurationKey: [{ key: 'CentralSystemURL', value: 'h:9220/ocpp' }] }, 'x'), /must start with ws/);
  assert.throws(() => templateStations({ stations: 1, url: 'ws://h/ocpp', version: 'ocpp1.5' }), /OCPP 1.5 has no OCPP-J/);
  // An override replaces the URLs of its own transport only.
  const j = parseStationConfig({ connectorId: [1], configurationKey: [{ key: 'CentralSystemURL', value: 'ws://a/ocpp' }] }, 'J', { urlOverride: 'http://b/Ocpp' });
  assert.equal(j.url, 'ws://a/ocpp');
  assert.equal(parseStationConfig({ connectorId: [1], configurationKey: [{ key: 'CentralSystemURL', value: 'ws://a/ocpp' }] }, 'J', { urlOverride: ['http://b/Ocpp', 'wss://c/ocpp'] }).url, 'wss://c/ocpp');
});

for (const version of ['ocpp1.6', 'ocpp2.0.1'] as OcppVersion[]) {
  test(`${version}: transaction messages are queued while offline and replayed in order after the server restarts`, async (t) => {
    const h1 = await startTestServer({}, { keepDataDir: true });
    const port = h1.port;
    const events: StationEvent[] = [];
    const fleet = await startFleet({
      stations: templateStations({ stations: 1, url: `ws://127.0.0.1:${port}/ocpp`, version, prefix: 'OFF-', keys: { MeterValueSampleInterval: '1' } }),
      threads: 0,
      summaryIntervalMs: 0,
      timings: FAST,
      onEvent: (e) => events.push(e),
    });
    let h2: Awaited<ReturnType<typeof startTestServer>> | null = null;
    t.after(async () => {
      await fleet.stop();
      await h1.stop();
      await h2?.stop();
    });
    const st = fleet.local!.stations[0]!;
    await waitFor(() => st.state === 'accepted', 5000, 'boot');
    const start = version === 'ocpp1.6' ? await h1.server.call(st.identity, 'RemoteStartTransaction', { connectorId: 1, idTag: 'OFF' }) : await h1.server.call(st.identity, 'RequestStartTransaction', { evseId: 1, remoteStartId: 1, idToken: { idToken: 'OFF', type: 'ISO14443' } });
    assert.equal(start.status, 'Accepted');
    const txAction = version === 'ocpp1.6' ? 'StartTransaction' : 'TransactionEvent';
    await waitFor(() => events.some((e) => e.type === 'result' && e.action === txAction), 5000, 'transaction started');

    await h1.stop('fast');
    await waitFor(() => st.state !== 'accepted', 5000, 'offline');
    // Offline: meter values accumulate, then the session ends locally.
    await waitFor(() => st.queuedTransactionMessages >= 2, 5000, 'meter values queued');
    st.stopSession(st.connectors[0]!, 'Local');
    const queued = st.queuedTransactionMessages;
    assert.ok(queued >= 3, `queued ${queued}`);
    assert.equal(fleet.stats().connected, 0);

    h2 = await startTestServer({ server: { port } }, { dataDir: h1.dataDir });
    await waitFor(() => st.queuedTransactionMessages === 0 && st.state === 'accepted', 10_000, 'replayed');
    const replayed = events.filter((e): e is Sent => e.type === 'sent' && e.replay);
    assert.equal(replayed.length, queued);
    // In order: the periodic samples, then the end of the transaction.
    const last = replayed.at(-1)!;
    if (version === 'ocpp1.6') {
      assert.equal(last.action, 'StopTransaction');
      assert.equal(last.payload.reason, 'Local');
      assert.ok(replayed.slice(0, -1).every((e) => e.action === 'MeterValues'));
      const stamps = replayed.map((e) => Date.parse(((e.payload.meterValue ?? e.payload.transactionData) as Array<{ timestamp: string }>)[0]!.timestamp));
      assert.deepEqual(stamps, [...stamps].sort((a, b) => a - b));
    } else {
      assert.equal(last.payload.eventType, 'Ended');
      assert.ok(replayed.every((e) => e.action === 'TransactionEvent' && e.payload.offline === true));
      const seq = events.filter((e): e is Sent => e.type === 'sent' && e.action === 'TransactionEvent').map((e) => e.payload.seqNo as number);
      assert.deepEqual(seq, seq.map((_, i) => i));
    }
    // Every replayed message was answered by the new server, after the new boot.
    const results = events.filter((e) => e.type === 'result' && replayed.some((r) => r.id === e.id && r.action === e.action));
    assert.ok(results.length >= replayed.length);
    let bootIdx = -1;
    events.forEach((e, i) => {
      if (e.type === 'sent' && e.action === 'BootNotification') bootIdx = i;
    });
    assert.ok(events.indexOf(replayed[0]!) > bootIdx);
    assert.ok((await h2.server.counter('callsAnswered')) >= queued + 1);
    assert.equal(h2.server.station(st.identity)?.connected, true);
  });
}

test('boot Pending: BootNotification is retried at the interval the central system gave', async (t) => {
  const h = await startTestServer({ responder: { bootStatus: 'Pending', heartbeatIntervalS: 1 } });
  const events: StationEvent[] = [];
  const fleet = await startFleet({ stations: templateStations({ stations: 1, url: `ws://127.0.0.1:${h.port}/ocpp`, prefix: 'PEND-' }), threads: 0, summaryIntervalMs: 0, timings: FAST, onEvent: (e) => events.push(e) });
  t.after(async () => {
    await fleet.stop();
    await h.stop();
  });
  const boots = () => events.filter((e): e is Sent => e.type === 'sent' && e.action === 'BootNotification');
  await waitFor(() => boots().length >= 2, 5000, 'second boot');
  const st = fleet.local!.stations[0]!;
  assert.equal(st.state, 'pending');
  assert.ok(!events.some((e) => e.type === 'sent' && e.action !== 'BootNotification'), 'nothing but BootNotification before Accepted');
});

test('scenarios: random arrivals and a fixed schedule produce sessions with Authorize, start, meter values, stop', async (t) => {
  const h = await startTestServer();
  const url = `ws://127.0.0.1:${h.port}/ocpp`;
  const events: StationEvent[] = [];
  const random = await startFleet({ stations: templateStations({ stations: 3, url, prefix: 'RND-', keys: { MeterValueSampleInterval: '1' } }), scenario: { kind: 'random', meanArrivalS: 0.3, meanDurationS: 1.2 }, threads: 0, summaryIntervalMs: 0, timings: FAST, onEvent: (e) => events.push(e) });
  const sched = await startFleet({ stations: templateStations({ stations: 1, url, prefix: 'SCH-', version: 'ocpp2.0.1' }), scenario: { kind: 'schedule', sessions: [{ startS: 0.2, durationS: 0.5, idTag: 'SCHED' }] }, threads: 0, summaryIntervalMs: 0, timings: FAST, onEvent: (e) => events.push(e) });
  t.after(async () => {
    await random.stop();
    await sched.stop();
    await h.stop();
  });
  await waitFor(() => random.stats().sessionsStopped >= 3, 15_000, 'random sessions');
  const rnd = events.filter((e): e is Sent => e.type === 'sent' && e.identity.startsWith('RND-'));
  for (const action of ['Authorize', 'StartTransaction', 'StopTransaction']) assert.ok(rnd.some((e) => e.action === action), action);
  assert.ok(rnd.some((e) => e.action === 'StopTransaction' && e.payload.reason === 'EVDisconnected'));
  await waitFor(() => events.some((e) => e.type === 'sent' && e.identity.startsWith('SCH-') && e.action === 'TransactionEvent' && e.payload.eventType === 'Ended'), 5000, 'scheduled session ended');
  const sch = events.filter((e): e is Sent => e.type === 'sent' && e.identity.startsWith('SCH-') && e.action === 'TransactionEvent');
  assert.equal((sch[0]!.payload.idToken as Record<string, unknown>).idToken, 'SCHED');
  assert.equal(random.stats().invalidOutgoing + sched.stats().invalidOutgoing, 0);
});

test('1,000 stations on two worker threads boot against the router', async (t) => {
  const h = await startTestServer();
  const lines: string[] = [];
  const fleet = await startFleet({ stations: templateStations({ stations: 1000, url: `ws://127.0.0.1:${h.port}/ocpp`, prefix: 'K-' }), threads: 2, connectRatePerS: 2000, summaryIntervalMs: 1000, log: (l) => lines.push(l) });
  t.after(async () => {
    await fleet.stop();
    await h.stop();
  });
  assert.equal(fleet.threads, 2);
  await waitFor(() => fleet.stats().booted === 1000, 30_000, '1000 booted');
  await waitFor(() => h.server.registry.connectedCount() === 1000, 10_000, 'server sees 1000');
  const final = await fleet.stop();
  assert.equal(final.stations, 1000);
  assert.equal(final.invalidOutgoing, 0);
  assert.ok(lines.some((l) => /stations 1000 connected \d+ booted/.test(l)));
  assert.match(lines.at(-1)!, /\(final, /);
});
