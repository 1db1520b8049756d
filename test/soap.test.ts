/**
 * OCPP-S end to end, against independent WSDL-driven peers built by the `soap` package from the official
 * WSDLs in schemas/wsdl/:
 *  - station → central system: a soap client (CentralSystemService WSDL) sends every station-initiated
 *    operation of 1.5 and 1.6; the router's live log must show the same JSON payload an OCPP-J station
 *    would send, and the client must read the answer;
 *  - central system → station: a soap server (ChargePointService WSDL, soap.listen on 127.0.0.1) plays the
 *    station; every central-system operation goes through `server.call` and through the HTTP API.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import WebSocket from 'ws';
import soap from 'soap';
import { startTestServer, TestStation, waitFor, type TestServer } from './helpers/server.js';
import { SCHEMAS_DIR, sampleFromSchema, samplePayload, type JsonSchema } from './helpers/schema-samples.js';
import { schemas15, codecs } from '../src/protocol/soap/generated/soap-tables.js';
import type { LogEntry } from '../src/ipc/messages.js';

type Version = 'ocpp1.5' | 'ocpp1.6';
const WSDL = {
  'ocpp1.5': { cs: 'ocpp_centralsystemservice_1.5_final.wsdl', cp: 'ocpp_chargepointservice_1.5_final.wsdl' },
  'ocpp1.6': { cs: 'OCPP_CentralSystemService_1.6.wsdl', cp: 'OCPP_ChargePointService_1.6.wsdl' },
} as const;
const wsdlPath = (version: Version, svc: 'cs' | 'cp'): string => join(SCHEMAS_DIR, 'wsdl', WSDL[version][svc]);
const WSA = 'http://www.w3.org/2005/08/addressing';

function sample(version: Version, action: string, kind: 'request' | 'response'): Record<string, unknown> {
  if (version === 'ocpp1.6') return samplePayload('ocpp1.6', action, kind, { full: true });
  const schema = schemas15[action]![kind] as JsonSchema;
  return sampleFromSchema(schema, schema, { full: true }) as Record<string, unknown>;
}

/** node-soap writes an element with attributes from { attributes, $value }: 1.5 MeterValue/value. */
function toSoapArgs(value: unknown, path = ''): unknown {
  if (Array.isArray(value)) return value.map((v) => toSoapArgs(v, path));
  if (value === null || typeof value !== 'object') return value;
  const obj = value as Record<string, unknown>;
  if (path.endsWith('/values/value')) {
    const { value: text, ...attributes } = obj;
    return { attributes, $value: text };
  }
  return Object.fromEntries(Object.entries(obj).map(([k, v]) => [k, toSoapArgs(v, `${path}/${k}`)]));
}

async function csClient(h: TestServer, version: Version, path = '/Ocpp/CentralSystemService'): Promise<soap.Client> {
  return soap.createClientAsync(wsdlPath(version, 'cs'), { forceSoap12Headers: true, endpoint: `http://127.0.0.1:${h.port}${path}` });
}

function setHeaders(client: soap.Client, version: Version, identity: string, action: string, from: string | null): string {
  const ns = codecs[version].cs.ns;
  const messageId = `urn:uuid:${randomUUID()}`;
  client.clearSoapHeaders();
  client.addSoapHeader(`<chargeBoxIdentity xmlns="${ns}">${identity}</chargeBoxIdentity>`);
  client.addSoapHeader(`<wsa:MessageID xmlns:wsa="${WSA}">${messageId}</wsa:MessageID>`);
  client.addSoapHeader(`<wsa:Action xmlns:wsa="${WSA}">/${action}</wsa:Action>`);
  client.addSoapHeader(`<wsa:To xmlns:wsa="${WSA}">http://127.0.0.1/Ocpp/CentralSystemService</wsa:To>`);
  if (from !== null) client.addSoapHeader(`<wsa:From xmlns:wsa="${WSA}"><wsa:Address>${from}</wsa:Address></wsa:From>`);
  return messageId;
}

async function invoke(client: soap.Client, action: string, args: unknown): Promise<{ result: Record<string, unknown>; raw: string }> {
  const [result, raw] = (await (client as unknown as Record<string, (a: unknown) => Promise<[Record<string, unknown>, string]>>)[`${action}Async`]!(args));
  return { result: result ?? {}, raw };
}

/** Live-log entries of inbound CALLs, as OCPP-J stations produce them. */
async function liveLog(t: { after(fn: () => void): void }, h: TestServer): Promise<LogEntry[]> {
  const entries: LogEntry[] = [];
  const ws = new WebSocket(`ws://127.0.0.1:${h.port}/ws/log`);
  ws.on('message', (data) => entries.push(JSON.parse(data.toString()) as LogEntry));
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  t.after(() => ws.close());
  // The control plane tells the shards that a log client exists: until they know, nothing is logged. Wait until
  // a probe station's DataTransfer shows up (the tests look entries up by identity and count Heartbeats).
  const probe = await TestStation.connect(h.url('SOAP-LOG-PROBE'), ['ocpp1.6']);
  await waitFor(async () => {
    await probe.call('DataTransfer', { vendorId: 'probe' });
    return entries.some((e) => e.identity === 'SOAP-LOG-PROBE');
  }, 5000, 'the live log flowing');
  await probe.close();
  return entries;
}

for (const version of ['ocpp1.6', 'ocpp1.5'] as const) {
  test(`${version} SOAP: every station-initiated operation from a WSDL-driven client`, async (t) => {
    const h = await startTestServer();
    t.after(() => h.stop());
    const log = await liveLog(t, h);
    const client = await csClient(h, version);
    const identity = `SOAP-${version}`;
    const actions = Object.keys(codecs[version].cs.actions).sort((a, b) => (a === 'BootNotification' ? -1 : b === 'BootNotification' ? 1 : a.localeCompare(b)));
    assert.equal(actions.length, 10);
    for (const action of actions) {
      const payload = sample(version, action, 'request');
      const messageId = setHeaders(client, version, identity, action, 'http://127.0.0.1:1/ChargePointService');
      const { result, raw } = await invoke(client, action, toSoapArgs(payload));
      // Response envelope: RelatesTo our MessageID, the response Action, the identity.
      assert.match(raw, new RegExp(`<a:RelatesTo>${messageId}</a:RelatesTo>`), action);
      assert.match(raw, new RegExp(`<a:Action>/${action}Response</a:Action>`), action);
      assert.match(raw, new RegExp(`<chargeBoxIdentity xmlns="${codecs[version].cs.ns}">${identity}</chargeBoxIdentity>`), action);
      if (action === 'BootNotification') {
        assert.equal(result.status, 'Accepted');
        assert.equal(Number(result[version === 'ocpp1.5' ? 'heartbeatInterval' : 'interval']), 300);
        // Sequence order of the WSDL: status, currentTime, interval/heartbeatInterval.
        assert.match(raw, /<status>Accepted<\/status><currentTime>[^<]+<\/currentTime><(interval|heartbeatInterval)>300</);
      }
      if (action === 'StartTransaction') assert.ok(Number.isInteger(Number(result.transactionId)) && (result.idTagInfo as { status: string }).status === 'Accepted');
      if (action === 'Heartbeat') assert.ok(!Number.isNaN(Date.parse(String(result.currentTime instanceof Date ? result.currentTime.toISOString() : result.currentTime))));
      // The router saw the JSON payload an OCPP-J station would send.
      const entry = await waitFor(() => log.find((e) => e.direction === 'in' && e.action === action && e.identity === identity), 3000, `${action} in the live log`);
      assert.deepEqual(entry.payload, payload, `${version} ${action} payload`);
      const out = await waitFor(() => log.find((e) => e.direction === 'out' && e.action === action && e.identity === identity), 3000, `${action} answer in the live log`);
      assert.equal(out.messageType, 'CALLRESULT', action);
    }
    // Registered as an OCPP-S station with its callback address, boot and connector status.
    const record = await waitFor(() => h.server.station(identity));
    assert.equal(record.transport, 'soap');
    assert.equal(record.version, version);
    assert.equal(record.callbackUrl, 'http://127.0.0.1:1/ChargePointService');
    assert.equal(record.boot?.status, 'Accepted');
    assert.ok(record.connectors['0'] !== undefined || Object.keys(record.connectors).length === 1);
    await waitFor(() => (h.server.station(identity)?.lastMessageAt ?? 0) > 0);
    const metrics = (await h.server.metricsText()).body;
    assert.match(metrics, new RegExp(`ocpp_stations_connected\\{version="${version}",transport="soap"\\} 1`));
    assert.match(metrics, new RegExp(`ocpp_soap_requests_total\\{version="${version}",outcome="response"\\} 10`));
    assert.match(metrics, /ocpp_messages_total\{direction="in",message_type="CALL",action="Heartbeat"\} 1/);
  });
}

test('SOAP 1.1 envelope, WS-A 2004/08 and a lower-case /ocpp path are accepted', async (t) => {
  const h = await startTestServer();
  t.after(() => h.stop());
  const body = `<?xml version="1.0"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:wsa="http://schemas.xmlsoap.org/ws/2004/08/addressing" xmlns:cs="urn://Ocpp/Cs/2015/10/">
  <soapenv:Header><cs:chargeBoxIdentity>CP11</cs:chargeBoxIdentity><wsa:MessageID>m-1</wsa:MessageID><wsa:Action>/Heartbeat</wsa:Action></soapenv:Header>
  <soapenv:Body><cs:heartbeatRequest/></soapenv:Body></soapenv:Envelope>`;
  const r = await fetch(`http://127.0.0.1:${h.port}/ocpp/cs`, { method: 'POST', headers: { 'content-type': 'text/xml' }, body });
  const text = await r.text();
  assert.equal(r.status, 200, text);
  assert.match(r.headers.get('content-type')!, /^text\/xml/);
  assert.match(text, /xmlns:s="http:\/\/schemas.xmlsoap.org\/soap\/envelope\/"/);
  assert.match(text, /xmlns:a="http:\/\/schemas.xmlsoap.org\/ws\/2004\/08\/addressing"/);
  assert.match(text, /<a:RelatesTo>m-1<\/a:RelatesTo>/);
  assert.match(text, /<heartbeatResponse xmlns="urn:\/\/Ocpp\/Cs\/2015\/10\/"><currentTime>/);
});

// --- central system → station ---

interface FakeStation {
  url: string;
  calls: Array<{ op: string; args: Record<string, unknown>; headers: unknown }>;
  server: Server;
}

async function fakeStation(version: Version, delayMs = 0): Promise<FakeStation> {
  const calls: FakeStation['calls'] = [];
  const ops: Record<string, (args: Record<string, unknown>, cb: unknown, headers: unknown) => unknown> = {};
  for (const op of Object.keys(codecs[version].cp.actions)) {
    ops[op] = (args, _cb, headers) => {
      calls.push({ op, args, headers });
      const answer = toSoapArgs(sample(version, op, 'response'));
      return delayMs > 0 ? new Promise((r) => setTimeout(() => r(answer), delayMs)) : answer;
    };
  }
  const server = createServer((_req, res) => {
    res.statusCode = 404;
    res.end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  const service = { ChargePointService: { ChargePointServiceSoap12: ops } };
  soap.listen(server, '/ChargePointService', service, readFileSync(wsdlPath(version, 'cp'), 'utf8'));
  return { url: `http://127.0.0.1:${port}/ChargePointService`, calls, server };
}

/** Boots a SOAP station whose ChargePointService is `station.url`. */
async function bootSoapStation(h: TestServer, version: Version, identity: string, station: FakeStation): Promise<void> {
  const client = await csClient(h, version, '/Ocpp');
  setHeaders(client, version, identity, 'BootNotification', station.url);
  await invoke(client, 'BootNotification', sample(version, 'BootNotification', 'request'));
  await waitFor(() => h.server.station(identity)?.callbackUrl === station.url);
}

/** What node-soap hands its handlers: strings for numbers and booleans; compare as text. */
function asText(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(asText);
  if (value instanceof Date) return value.toISOString();
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value as Record<string, unknown>).filter(([k]) => k !== 'attributes').map(([k, v]) => [k, asText(v)]));
  return String(value);
}

for (const version of ['ocpp1.6', 'ocpp1.5'] as const) {
  test(`${version} SOAP: every central-system operation reaches a WSDL-driven station (server.call and HTTP API)`, async (t) => {
    const h = await startTestServer();
    t.after(() => h.stop());
    const station = await fakeStation(version);
    t.after(() => station.server.close());
    const identity = `CPS-${version}`;
    await bootSoapStation(h, version, identity, station);
    const ops = Object.keys(codecs[version].cp.actions).sort();
    assert.equal(ops.length, version === 'ocpp1.6' ? 19 : 15);
    for (const op of ops) {
      const payload = sample(version, op, 'request');
      const expected = sample(version, op, 'response');
      const answer = await h.server.call(identity, op, payload);
      assert.deepEqual(answer, expected, `${op} via server.call`);
      const got = station.calls.at(-1)!;
      assert.equal(got.op, op);
      assert.deepEqual(asText(got.args ?? {}), asText(payload), `${op} request at the station`);
      const r = await fetch(`http://127.0.0.1:${h.port}/api/v1/ChargePoint/${identity}/${op}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(payload) });
      const body = await r.json();
      assert.equal(r.status, 200, `${op} via the API: ${JSON.stringify(body)}`);
      assert.deepEqual(body, expected, `${op} via the API`);
    }
    // Validation before sending, unknown operations, and the metrics of the outbound path.
    await assert.rejects(h.server.call(identity, 'Reset', { type: 'Sideways' }), { code: 'PAYLOAD_INVALID' });
    const bad = await fetch(`http://127.0.0.1:${h.port}/api/v1/ChargePoint/${identity}/GetLog`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    assert.equal(bad.status, 400);
    const metrics = (await h.server.metricsText()).body;
    assert.match(metrics, new RegExp(`ocpp_outbound_calls_total\\{outcome="result"\\} ${2 * ops.length}`));
    assert.match(metrics, /ocpp_command_duration_seconds_count\{action="Reset",outcome="result"\} 2/);
  });
}

test('SOAP commands: one in flight per station, timeout, fault → 502, unreachable → 409', async (t) => {
  const h = await startTestServer();
  t.after(() => h.stop());
  const slow = await fakeStation('ocpp1.6', 150);
  t.after(() => slow.server.close());
  await bootSoapStation(h, 'ocpp1.6', 'SLOW', slow);
  // Three at once: the station sees them one after the other (never two in flight).
  let inFlight = 0;
  let maxInFlight = 0;
  slow.server.prependListener('request', (_req, res) => {
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    res.on('finish', () => inFlight--);
  });
  const answers = await Promise.all([1, 2, 3].map(() => h.server.call('SLOW', 'ClearCache', {})));
  assert.equal(answers.length, 3);
  assert.equal(maxInFlight, 1);
  await assert.rejects(h.server.call('SLOW', 'ClearCache', {}, 50), { code: 'CALL_TIMEOUT' });

  // A station answering with a SOAP Fault.
  const faulty = createServer((_req, res) => {
    res.writeHead(500, { 'content-type': 'application/soap+xml' });
    res.end('<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body><s:Fault><s:Code><s:Value>s:Receiver</s:Value><s:Subcode><s:Value xmlns:o="urn://Ocpp/Cp/2015/10/">o:NotSupported</s:Value></s:Subcode></s:Code><s:Reason><s:Text xml:lang="en">no</s:Text></s:Reason></s:Fault></s:Body></s:Envelope>');
  });
  await new Promise<void>((r) => faulty.listen(0, '127.0.0.1', r));
  t.after(() => faulty.close());
  await bootSoapStation(h, 'ocpp1.6', 'FAULTY', { url: `http://127.0.0.1:${(faulty.address() as { port: number }).port}/cp`, calls: [], server: faulty });
  const r = await fetch(`http://127.0.0.1:${h.port}/api/v1/ChargePoint/FAULTY/ClearCache`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
  const body = (await r.json()) as { error: { details: { errorCode: string } } };
  assert.equal(r.status, 502);
  assert.equal(body.error.details.errorCode, 'NotSupported');

  // A station whose address does not answer at all.
  await bootSoapStation(h, 'ocpp1.6', 'GONE', { url: 'http://127.0.0.1:1/cp', calls: [], server: faulty });
  await assert.rejects(h.server.call('GONE', 'ClearCache', {}), { code: 'STATION_NOT_CONNECTED' });
});
