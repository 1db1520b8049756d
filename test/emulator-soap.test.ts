/**
 * The emulator's OCPP-S (SOAP) stations, 1.6 and 1.5, against the real router (its /Ocpp endpoint and its SOAP
 * command client): boot, statuses and heartbeats in the station registry (transport soap), a session started
 * through the REST API, configuration keys, Reset as a simulated reboot, an offline period with transaction
 * messages replayed after the router is back, the ChargePointService's Faults, worker threads; and the
 * emulated ChargePointService driven by an independent peer, a WSDL client of the `soap` package built from
 * the official WSDLs.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import soap from 'soap';
import { startTestServer, waitFor, type TestServer } from './helpers/server.js';
import { FAST_TIMINGS, startEmulatorSetup, type EmuSetup, type Sent } from './helpers/emulator.js';
import { SCHEMAS_DIR } from './helpers/schema-samples.js';
import { startFleet, templateStations, type StationEvent, type StartFleetOptions } from '../src/emulator/index.js';
import { CP_ACTIONS_15 } from '../src/emulator/commands/v15.js';
import { codecs } from '../src/protocol/soap/generated/soap-tables.js';

type Version = 'ocpp1.5' | 'ocpp1.6';

const FAST = FAST_TIMINGS;
const S12 = 'http://www.w3.org/2003/05/soap-envelope';
const WSA = 'http://www.w3.org/2005/08/addressing';
const CP_WSDL = { 'ocpp1.5': 'ocpp_chargepointservice_1.5_final.wsdl', 'ocpp1.6': 'OCPP_ChargePointService_1.6.wsdl' } as const;

interface SoapSetup extends EmuSetup {
  /** The station's ChargePointService address. */
  address: string;
}

function soapUrl(port: number): string {
  return `http://127.0.0.1:${port}/Ocpp/CentralSystemService`;
}

async function setup(t: TestContext, version: Version, extra: Partial<StartFleetOptions> = {}, server: { keepDataDir?: boolean } = {}): Promise<SoapSetup> {
  const s = await startEmulatorSetup(t, { version, url: soapUrl, prefix: `S${version.replace(/\D/g, '')}-`, bootedConnector: '2', extra, serverOptions: server });
  return { ...s, address: `${s.fleet.chargePointServices[0]}/${s.id}` };
}

/** The REST API of the router: POST /api/v1/ChargePoint/{id}/{Operation}. */
async function api(h: TestServer, id: string, op: string, payload: Record<string, unknown>): Promise<{ status: number; body: Record<string, unknown> }> {
  const r = await fetch(`http://127.0.0.1:${h.port}/api/v1/ChargePoint/${encodeURIComponent(id)}/${op}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(payload) });
  return { status: r.status, body: (await r.json()) as Record<string, unknown> };
}

for (const version of ['ocpp1.6', 'ocpp1.5'] as const) {
  const busy = version === 'ocpp1.6' ? 'Charging' : 'Occupied';

  test(`${version} SOAP station: boot, statuses and heartbeats in the registry as transport soap; configuration keys`, async (t) => {
    const e = await setup(t, version);
    const rec = e.h.server.station(e.id)!;
    assert.equal(rec.transport, 'soap');
    assert.equal(rec.version, version);
    assert.equal(rec.callbackUrl, e.address);
    assert.match(e.address, /^http:\/\/127\.0\.0\.1:\d+\/Ocpp\/ChargePointService\/S1\d-1$/);
    assert.equal(rec.boot?.status, 'Accepted');
    assert.deepEqual(Object.keys(rec.connectors).sort(), ['0', '1', '2']);
    assert.equal(e.connectorStatus('1'), 'Available');
    assert.equal(e.station.state, 'accepted');
    // 1.5 BootNotification.conf carries heartbeatInterval (1.6: interval): both reach the station logic.
    assert.equal(e.station.heartbeatIntervalS, 60);
    const boot = e.events.find((x) => x.type === 'result' && x.action === 'BootNotification') as Extract<StationEvent, { type: 'result' }>;
    assert.equal(boot.payload[version === 'ocpp1.5' ? 'heartbeatInterval' : 'interval'], 60);
    const stats = e.fleet.stats();
    assert.deepEqual([stats.connected, stats.booted, stats.connects, stats.connectFailures], [1, 1, 1, 0]);

    // Get/ChangeConfiguration through the router's SOAP command client.
    const some = await e.h.server.call(e.id, 'GetConfiguration', { key: ['NumberOfConnectors', 'NoSuchKey'] });
    assert.deepEqual(some, { configurationKey: [{ key: 'NumberOfConnectors', readonly: true, value: '2' }], unknownKey: ['NoSuchKey'] });
    assert.deepEqual(await e.h.server.call(e.id, 'ChangeConfiguration', { key: 'NumberOfConnectors', value: '4' }), { status: 'Rejected' });
    assert.deepEqual(await e.h.server.call(e.id, 'ChangeConfiguration', { key: 'NoSuchKey', value: '1' }), { status: 'NotSupported' });
    // HeartbeatInterval applies at once: a Heartbeat follows within the second.
    const seen = e.h.server.station(e.id)!.lastMessageAt ?? 0;
    assert.deepEqual(await e.h.server.call(e.id, 'ChangeConfiguration', { key: 'HeartbeatInterval', value: '1' }), { status: 'Accepted' });
    await waitFor(() => e.events.some((x) => x.type === 'result' && x.action === 'Heartbeat'), 4000, 'heartbeat answered');
    await waitFor(() => (e.h.server.station(e.id)?.lastMessageAt ?? 0) > seen, 3000, 'the router saw the heartbeat');
    const all = await e.h.server.call(e.id, 'GetConfiguration', {});
    assert.ok((all.configurationKey as Array<{ key: string; value: string }>).some((k) => k.key === 'HeartbeatInterval' && k.value === '1'));
    if (version === 'ocpp1.5') {
      // 1.6-only operations do not exist in the 1.5 ChargePointService.
      await assert.rejects(e.h.server.call(e.id, 'TriggerMessage', { requestedMessage: 'Heartbeat' }), { code: 'UNKNOWN_ACTION' });
      assert.deepEqual(await e.h.server.call(e.id, 'UnlockConnector', { connectorId: 1 }), { status: 'Accepted' });
    } else {
      assert.deepEqual(await e.h.server.call(e.id, 'TriggerMessage', { requestedMessage: 'StatusNotification', connectorId: 2 }), { status: 'Accepted' });
      assert.deepEqual(await e.h.server.call(e.id, 'UnlockConnector', { connectorId: 1 }), { status: 'Unlocked' });
    }
  });

  test(`${version} SOAP station: a session started and stopped through the REST API`, async (t) => {
    const e = await setup(t, version);
    await e.h.server.call(e.id, 'ChangeConfiguration', { key: 'MeterValueSampleInterval', value: '1' });
    const start = await api(e.h, e.id, 'RemoteStartTransaction', { connectorId: 1, idTag: 'TAG-S' });
    assert.equal(start.status, 200, JSON.stringify(start.body));
    assert.deepEqual(start.body, { status: 'Accepted' });
    // The command's effect comes after its answer: StartTransaction, then Charging (1.5: Occupied).
    const started = await waitFor(() => e.events.find((x) => x.type === 'result' && x.action === 'StartTransaction'), 5000, 'StartTransaction answered');
    const txId = (started as Extract<StationEvent, { type: 'result' }>).payload.transactionId as number;
    assert.ok(Number.isInteger(txId));
    assert.equal(e.sent('StartTransaction')[0]!.payload.idTag, 'TAG-S');
    await waitFor(() => e.connectorStatus('1') === busy, 5000, busy);
    const mv = await e.waitSent('MeterValues', (p) => p.transactionId === txId, 4000);
    if (version === 'ocpp1.5') {
      // 1.5 MeterValues: values[] of { timestamp, value[] } with unit and measurand as attributes.
      const values = mv.payload.values as Array<{ value: Array<Record<string, unknown>> }>;
      assert.deepEqual(values[0]!.value.map((v) => [v.measurand, v.unit]), [['Energy.Active.Import.Register', 'Wh'], ['Power.Active.Import', 'W']]);
    } else {
      assert.ok(Array.isArray(mv.payload.meterValue));
    }
    await waitFor(() => e.events.some((x) => x.type === 'result' && x.action === 'MeterValues'), 3000, 'MeterValues answered');
    assert.deepEqual((await api(e.h, e.id, 'RemoteStartTransaction', { connectorId: 1, idTag: 'TAG-2' })).body, { status: 'Rejected' });
    const stop = await api(e.h, e.id, 'RemoteStopTransaction', { transactionId: txId });
    assert.deepEqual(stop.body, { status: 'Accepted' });
    const stopped = await e.waitSent('StopTransaction');
    assert.equal(stopped.payload.transactionId, txId);
    if (version === 'ocpp1.5') {
      assert.equal(stopped.payload.reason, undefined);
      assert.ok(Array.isArray((stopped.payload.transactionData as Array<{ values: unknown[] }>)[0]!.values));
    } else assert.equal(stopped.payload.reason, 'Remote');
    await waitFor(() => e.events.some((x) => x.type === 'result' && x.action === 'StopTransaction'), 3000, 'StopTransaction answered');
    await waitFor(() => e.connectorStatus('1') === 'Available', 5000, 'Available again');
    assert.equal(e.fleet.stats().callErrorsReceived, 0);
  });

  test(`${version} SOAP station: Reset is a simulated reboot (stop sending, wait, boot again)`, async (t) => {
    const e = await setup(t, version);
    assert.deepEqual(await e.h.server.call(e.id, 'RemoteStartTransaction', { connectorId: 2, idTag: 'TAG-R' }), { status: 'Accepted' });
    await waitFor(() => e.events.some((x) => x.type === 'result' && x.action === 'StartTransaction'), 5000, 'session');
    const mark = e.events.length;
    assert.deepEqual(await e.h.server.call(e.id, 'Reset', { type: 'Hard' }), { status: 'Accepted' });
    const stop = await e.waitSent('StopTransaction');
    if (version === 'ocpp1.6') assert.equal(stop.payload.reason, 'HardReset');
    await waitFor(() => e.station.bootCount === 2 && e.station.state === 'accepted', 5000, 'second boot');
    const states = e.events.slice(mark).filter((x): x is Extract<StationEvent, { type: 'state' }> => x.type === 'state').map((x) => x.state);
    assert.deepEqual(states.slice(0, 5), ['resetting', 'offline', 'connecting', 'booting', 'accepted']);
    // Nothing was sent between the end of the reset and the new BootNotification.
    const after = e.events.slice(mark);
    const offlineAt = after.findIndex((x) => x.type === 'state' && x.state === 'offline');
    const nextSent = after.slice(offlineAt).find((x): x is Sent => x.type === 'sent');
    assert.equal(nextSent?.action, 'BootNotification');
    await waitFor(() => e.h.server.station(e.id)?.boot?.status === 'Accepted' && e.connectorStatus('2') === 'Available', 5000, 'statuses after the reboot');
    assert.equal(e.fleet.stats().disconnects, 1);
  });

  test(`${version} SOAP station: transaction messages are kept while the router is down and replayed in order`, async (t) => {
    const h1 = await startTestServer({}, { keepDataDir: true });
    const port = h1.port;
    const events: StationEvent[] = [];
    const fleet = await startFleet({
      stations: templateStations({ stations: 1, url: soapUrl(port), version, prefix: `OFFS${version.replace(/\D/g, '')}-`, keys: { MeterValueSampleInterval: '1' } }),
      threads: 0,
      summaryIntervalMs: 0,
      timings: FAST,
      onEvent: (x) => events.push(x),
    });
    let h2: TestServer | null = null;
    t.after(async () => {
      await fleet.stop();
      await h1.stop();
      await h2?.stop();
    });
    const st = fleet.local!.stations[0]!;
    await waitFor(() => st.state === 'accepted', 5000, 'boot');
    assert.deepEqual(await h1.server.call(st.identity, 'RemoteStartTransaction', { connectorId: 1, idTag: 'OFF' }), { status: 'Accepted' });
    await waitFor(() => events.some((x) => x.type === 'result' && x.action === 'StartTransaction'), 5000, 'transaction started');

    await h1.stop('fast');
    // The next POST (a sample) is refused: the link goes down and reconnects with backoff.
    await waitFor(() => st.state !== 'accepted', 5000, 'offline');
    await waitFor(() => st.queuedTransactionMessages >= 2, 5000, 'meter values queued');
    st.stopSession(st.connectors[0]!, 'Local');
    const queued = st.queuedTransactionMessages;
    assert.ok(queued >= 3, `queued ${queued}`);
    assert.equal(fleet.stats().connected, 0);
    assert.ok(fleet.stats().connectFailures >= 1, 'failed boot attempts while the router is down');

    h2 = await startTestServer({ server: { port } }, { dataDir: h1.dataDir });
    await waitFor(() => st.queuedTransactionMessages === 0 && st.state === 'accepted', 10_000, 'replayed');
    const replayed = events.filter((x): x is Sent => x.type === 'sent' && x.replay);
    assert.equal(replayed.length, queued);
    const last = replayed.at(-1)!;
    assert.equal(last.action, 'StopTransaction');
    if (version === 'ocpp1.6') assert.equal(last.payload.reason, 'Local');
    assert.ok(replayed.slice(0, -1).every((x) => x.action === 'MeterValues'));
    const stampOf = (x: Sent): number => {
      const list = (version === 'ocpp1.6' ? (x.payload.meterValue ?? x.payload.transactionData) : (x.payload.values ?? (x.payload.transactionData as Array<{ values: unknown }>)[0]!.values)) as Array<{ timestamp: string }>;
      return Date.parse(list[0]!.timestamp);
    };
    const stamps = replayed.map(stampOf);
    assert.deepEqual(stamps, [...stamps].sort((a, b) => a - b));
    // Every replayed message was answered by the new router, after the new boot.
    await waitFor(() => replayed.every((r) => events.some((x) => x.type === 'result' && x.id === r.id && x.action === r.action)), 5000, 'replayed messages answered');
    let bootIdx = -1;
    events.forEach((x, i) => {
      if (x.type === 'sent' && x.action === 'BootNotification') bootIdx = i;
    });
    assert.ok(events.indexOf(replayed[0]!) > bootIdx);
    const rec = h2.server.station(st.identity)!;
    assert.equal(rec.transport, 'soap');
    assert.equal(rec.connected, true);
    assert.equal(fleet.stats().invalidOutgoing, 0);
  });

  test(`${version} SOAP station: its ChargePointService driven by a WSDL client of the soap package`, async (t) => {
    const e = await setup(t, version);
    const ns = codecs[version].cp.ns;
    const client = await soap.createClientAsync(join(SCHEMAS_DIR, 'wsdl', CP_WSDL[version]), { forceSoap12Headers: true, endpoint: e.address });
    const invoke = async (action: string, args: unknown): Promise<{ result: Record<string, unknown>; raw: string }> => {
      const messageId = `urn:uuid:${randomUUID()}`;
      client.clearSoapHeaders();
      client.addSoapHeader(`<chargeBoxIdentity xmlns="${ns}">${e.id}</chargeBoxIdentity>`);
      client.addSoapHeader(`<wsa:MessageID xmlns:wsa="${WSA}">${messageId}</wsa:MessageID>`);
      client.addSoapHeader(`<wsa:Action xmlns:wsa="${WSA}">/${action}</wsa:Action>`);
      client.addSoapHeader(`<wsa:To xmlns:wsa="${WSA}">${e.address}</wsa:To>`);
      const [result, raw] = await (client as unknown as Record<string, (a: unknown) => Promise<[Record<string, unknown> | null, string]>>)[`${action}Async`]!(args);
      // The response envelope: RelatesTo our MessageID, the response Action, the identity.
      assert.match(raw, new RegExp(`<a:RelatesTo>${messageId}</a:RelatesTo>`), action);
      assert.match(raw, new RegExp(`<a:Action>/${action}Response</a:Action>`), action);
      assert.match(raw, new RegExp(`<chargeBoxIdentity xmlns="${ns}">${e.id}</chargeBoxIdentity>`), action);
      return { result: result ?? {}, raw };
    };
    const cfg = await invoke('GetConfiguration', { key: ['NumberOfConnectors', 'Nope'] });
    const keys = cfg.result.configurationKey as Record<string, unknown> | Array<Record<string, unknown>>;
    const first = Array.isArray(keys) ? keys[0]! : keys;
    assert.equal(first.key, 'NumberOfConnectors');
    assert.equal(String(first.value), '2');
    assert.match(cfg.raw, /<unknownKey>Nope<\/unknownKey>/);
    assert.equal((await invoke('ChangeConfiguration', { key: 'MeterValueSampleInterval', value: '30' })).result.status, 'Accepted');
    assert.equal(e.station.key('MeterValueSampleInterval'), '30');
    // SendLocalList: 1.5 spells the list localAuthorisationList.
    const listKey = version === 'ocpp1.5' ? 'localAuthorisationList' : 'localAuthorizationList';
    const sendList = await invoke('SendLocalList', { listVersion: 3, [listKey]: [{ idTag: 'LOCAL-1', idTagInfo: { status: 'Accepted' } }], updateType: 'Full' });
    assert.equal(sendList.result.status, 'Accepted');
    assert.equal(e.station.localList?.tags.has('LOCAL-1'), true);
    assert.equal(Number((await invoke('GetLocalListVersion', {})).result.listVersion), 3);
    assert.equal((await invoke('UnlockConnector', { connectorId: 2 })).result.status, version === 'ocpp1.5' ? 'Accepted' : 'Unlocked');
    assert.equal((await invoke('DataTransfer', { vendorId: 'peer', data: 'hello' })).result.data, 'hello');
    // A remote start answered to the peer runs afterwards: the router sees the StartTransaction.
    assert.equal((await invoke('RemoteStartTransaction', { connectorId: 1, idTag: 'PEER' })).result.status, 'Accepted');
    await waitFor(() => e.connectorStatus('1') === busy, 5000, `${busy} after the peer's remote start`);
    // A request the schema refuses: a SOAP Fault the WSDL client reports as an error.
    await assert.rejects(invoke('ChangeAvailability', { connectorId: 1, type: 'Sideways' }), (error: Error & { root?: unknown }) => {
      assert.match(JSON.stringify(error.root ?? error.message), /Sender|PropertyConstraintViolation|FormationViolation|TypeConstraintViolation/);
      return true;
    });
    assert.ok(e.events.some((x) => x.type === 'command' && x.action === 'SendLocalList'));
  });
}

/** Posts raw text to a ChargePointService address; returns status, SOAP code, OCPP subcode and reason. */
async function postRaw(url: string, body: string, contentType = 'application/soap+xml; charset=utf-8'): Promise<{ status: number; code?: string; subcode?: string; reason?: string; text: string }> {
  const r = await fetch(url, { method: 'POST', headers: { 'content-type': contentType }, body });
  const text = await r.text();
  return {
    status: r.status,
    code: /<s:Code><s:Value>s:(\w+)<\/s:Value>/.exec(text)?.[1],
    subcode: /<s:Subcode><s:Value[^>]*>o:(\w+)<\/s:Value>/.exec(text)?.[1],
    reason: /<s:Text xml:lang="en">([^<]*)<\/s:Text>/.exec(text)?.[1],
    text,
  };
}

function cpEnvelope(opts: { ns?: string; identity?: string | null; action?: string; messageId?: string; body?: string }): string {
  const ns = opts.ns ?? 'urn://Ocpp/Cp/2015/10/';
  const identity = opts.identity === null ? '' : `<chargeBoxIdentity xmlns="${ns}">${opts.identity ?? 'X'}</chargeBoxIdentity>`;
  return `<?xml version="1.0" encoding="UTF-8"?><s:Envelope xmlns:s="${S12}" xmlns:a="${WSA}"><s:Header>${identity}<a:Action>${opts.action ?? '/ClearCache'}</a:Action><a:MessageID>${opts.messageId ?? 'urn:uuid:m-1'}</a:MessageID></s:Header><s:Body>${opts.body ?? `<clearCacheRequest xmlns="${ns}"/>`}</s:Body></s:Envelope>`;
}

test('ChargePointService: Faults for malformed XML, unknown station, unknown action and wrong service; routing by header or path', async (t) => {
  const e = await setup(t, 'ocpp1.6');
  const base = e.fleet.chargePointServices[0]!;
  const cases: Array<{ name: string; url?: string; body: string; status: number; code: string; subcode: string; reason: RegExp }> = [
    { name: 'malformed XML', body: '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body></s:Envelope>', status: 400, code: 'Sender', subcode: 'FormationViolation', reason: /malformed XML/ },
    { name: 'a DTD', body: `<?xml version="1.0"?><!DOCTYPE x [<!ENTITY y "z">]>${cpEnvelope({ identity: e.id })}`, status: 400, code: 'Sender', subcode: 'FormationViolation', reason: /Document Type Declaration/ },
    { name: 'unknown station', url: base, body: cpEnvelope({ identity: 'NOBODY' }), status: 404, code: 'Sender', subcode: 'GenericError', reason: /no emulated OCPP-S station NOBODY/ },
    { name: 'unknown station in the path', url: `${base}/NOBODY`, body: cpEnvelope({ identity: null }), status: 404, code: 'Sender', subcode: 'GenericError', reason: /NOBODY/ },
    { name: 'identity header and path disagree', url: `${base}/OTHER`, body: cpEnvelope({ identity: e.id }), status: 400, code: 'Sender', subcode: 'ProtocolError', reason: /differs/ },
    { name: 'no identity at all', url: base, body: cpEnvelope({ identity: null }), status: 400, code: 'Sender', subcode: 'ProtocolError', reason: /no chargeBoxIdentity/ },
    { name: 'unknown action', body: cpEnvelope({ identity: e.id, action: '/Teleport' }), status: 400, code: 'Sender', subcode: 'NotImplemented', reason: /Teleport is not a ChargePointService operation/ },
    { name: 'a CentralSystemService request', body: cpEnvelope({ identity: e.id, ns: 'urn://Ocpp/Cs/2015/10/', action: '/Heartbeat', body: '<heartbeatRequest xmlns="urn://Ocpp/Cs/2015/10/"/>' }), status: 400, code: 'Sender', subcode: 'ProtocolError', reason: /CentralSystemService namespace/ },
    { name: 'a 1.5 request to a 1.6 station', body: cpEnvelope({ identity: e.id, ns: 'urn://Ocpp/Cp/2012/06/' }), status: 400, code: 'Sender', subcode: 'ProtocolError', reason: /speaks OCPP 1.6/ },
    { name: 'action and body disagree', body: cpEnvelope({ identity: e.id, action: '/Reset' }), status: 400, code: 'Sender', subcode: 'ProtocolError', reason: /needs body element resetRequest/ },
    { name: 'schema violation', body: cpEnvelope({ identity: e.id, action: '/Reset', body: '<resetRequest xmlns="urn://Ocpp/Cp/2015/10/"><type>Sideways</type></resetRequest>' }), status: 400, code: 'Sender', subcode: 'PropertyConstraintViolation', reason: /type/ },
  ];
  for (const c of cases) {
    const r = await postRaw(c.url ?? e.address, c.body);
    assert.equal(r.status, c.status, `${c.name}: ${r.text}`);
    assert.deepEqual([r.code, r.subcode], [c.code, c.subcode], c.name);
    assert.match(r.reason ?? '', c.reason, c.name);
    assert.match(r.text, /<a:Action>http:\/\/www.w3.org\/2005\/08\/addressing\/soap\/fault<\/a:Action>/, c.name);
  }
  // Not POST: 405.
  const get = await fetch(e.address);
  assert.equal(get.status, 405);
  assert.equal(get.headers.get('allow'), 'POST');
  // Routed by the path alone (no header), and by the header at the base address; RelatesTo the MessageID.
  const byPath = await postRaw(e.address, cpEnvelope({ identity: null, messageId: 'urn:uuid:by-path' }));
  assert.equal(byPath.status, 200, byPath.text);
  assert.match(byPath.text, /<a:RelatesTo>urn:uuid:by-path<\/a:RelatesTo><\/s:Header>|<a:RelatesTo>urn:uuid:by-path<\/a:RelatesTo>/);
  assert.match(byPath.text, /<clearCacheResponse xmlns="urn:\/\/Ocpp\/Cp\/2015\/10\/"><status>Accepted<\/status><\/clearCacheResponse>/);
  const byHeader = await postRaw(`${base}/`, cpEnvelope({ identity: e.id }));
  assert.equal(byHeader.status, 200, byHeader.text);
  // SOAP 1.1 is answered in SOAP 1.1.
  const s11 = `<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:wsa="${WSA}"><soapenv:Header><chargeBoxIdentity xmlns="urn://Ocpp/Cp/2015/10/">${e.id}</chargeBoxIdentity><wsa:MessageID>m11</wsa:MessageID><wsa:Action>/GetLocalListVersion</wsa:Action></soapenv:Header><soapenv:Body><getLocalListVersionRequest xmlns="urn://Ocpp/Cp/2015/10/"/></soapenv:Body></soapenv:Envelope>`;
  const r11 = await postRaw(e.address, s11, 'text/xml; charset=utf-8');
  assert.equal(r11.status, 200, r11.text);
  assert.match(r11.text, /xmlns:s="http:\/\/schemas.xmlsoap.org\/soap\/envelope\/"/);
  assert.match(r11.text, /<listVersion>0<\/listVersion>/);
  // The station kept working: the router's commands still get answers.
  assert.deepEqual(await e.h.server.call(e.id, 'ClearCache', {}), { status: 'Accepted' });
  assert.equal(e.station.state, 'accepted');
});

test('OCPP-S stations on two worker threads: one ChargePointService per thread, all booted; OCPP-J fleets have none', async (t) => {
  const h = await startTestServer();
  const fleet = await startFleet({ stations: templateStations({ stations: 20, url: soapUrl(h.port), prefix: 'WS-', version: 'ocpp1.5' }), threads: 2, connectRatePerS: 0, summaryIntervalMs: 0 });
  const wsFleet = await startFleet({ stations: templateStations({ stations: 1, url: `ws://127.0.0.1:${h.port}/ocpp`, prefix: 'WJ-' }), threads: 0, summaryIntervalMs: 0 });
  t.after(async () => {
    await fleet.stop();
    await wsFleet.stop();
    await h.stop();
  });
  assert.equal(fleet.chargePointServices.length, 2);
  assert.notEqual(fleet.chargePointServices[0], fleet.chargePointServices[1]);
  assert.deepEqual(wsFleet.chargePointServices, []);
  await waitFor(() => fleet.stats().booted === 20, 10_000, '20 booted');
  const rec = h.server.station('WS-02')!;
  assert.equal(rec.transport, 'soap');
  assert.equal(rec.version, 'ocpp1.5');
  // Commands reach the thread that holds the station.
  assert.deepEqual(await h.server.call('WS-02', 'ChangeConfiguration', { key: 'HeartbeatInterval', value: '120' }), { status: 'Accepted' });
  assert.deepEqual(await h.server.call('WS-01', 'GetLocalListVersion', {}), { listVersion: 0 });
  const final = await fleet.stop();
  assert.equal(final.invalidOutgoing, 0);
  assert.equal(final.commandsReceived, 2);
});

test('a fixed ChargePointService port that is taken is a clear startFleet error; 1.5 lists the WSDL operations', async (t) => {
  assert.deepEqual([...CP_ACTIONS_15].sort(), Object.keys(codecs['ocpp1.5'].cp.actions).sort());
  const first = await startFleet({ stations: templateStations({ stations: 1, url: 'http://127.0.0.1:1/Ocpp/CentralSystemService', prefix: 'P1-' }), threads: 0, summaryIntervalMs: 0 });
  t.after(() => first.stop());
  const port = Number(new URL(first.chargePointServices[0]!).port);
  await assert.rejects(startFleet({ stations: templateStations({ stations: 1, url: 'http://127.0.0.1:1/Ocpp/CentralSystemService', prefix: 'P2-' }), threads: 0, summaryIntervalMs: 0, chargePointService: { port } }), /ChargePointService cannot listen.*EADDRINUSE/);
  // Nothing answers at port 1: the station keeps trying (connect failures), it does not crash.
  await waitFor(() => first.stats().connectFailures >= 1, 5000, 'refused');
  assert.equal(first.local!.stations[0]!.state === 'offline' || first.local!.stations[0]!.state === 'connecting', true);
});
