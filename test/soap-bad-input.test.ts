/**
 * OCPP-S bad input: every refused request gets a SOAP Fault with the exact code (SOAP Code, OCPP Subcode)
 * and HTTP status, and the router keeps serving. XML parsing never expands entities.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from './helpers/server.js';

const S12 = 'http://www.w3.org/2003/05/soap-envelope';
const WSA = 'http://www.w3.org/2005/08/addressing';
const CS16 = 'urn://Ocpp/Cs/2015/10/';

function envelope(opts: { ns?: string; identity?: string | null; action?: string | null; messageId?: string | null; body?: string; envNs?: string; identityNs?: string } = {}): string {
  const ns = opts.ns ?? CS16;
  const header = [
    opts.identity === null ? '' : `<chargeBoxIdentity xmlns="${opts.identityNs ?? ns}">${opts.identity ?? 'BAD1'}</chargeBoxIdentity>`,
    opts.action === null ? '' : `<a:Action>${opts.action ?? '/Heartbeat'}</a:Action>`,
    opts.messageId === null ? '' : `<a:MessageID>${opts.messageId ?? 'urn:uuid:1'}</a:MessageID>`,
  ].join('');
  return `<?xml version="1.0" encoding="UTF-8"?><s:Envelope xmlns:s="${opts.envNs ?? S12}" xmlns:a="${WSA}"><s:Header>${header}</s:Header><s:Body>${opts.body ?? `<heartbeatRequest xmlns="${ns}"/>`}</s:Body></s:Envelope>`;
}

async function post(h: TestServer, body: string, path = '/Ocpp/CentralSystemService'): Promise<{ status: number; text: string }> {
  const r = await fetch(`http://127.0.0.1:${h.port}${path}`, { method: 'POST', headers: { 'content-type': 'application/soap+xml; charset=utf-8' }, body });
  return { status: r.status, text: await r.text() };
}

function fault(text: string): { code: string | undefined; subcode: string | undefined; reason: string | undefined } {
  return {
    code: /<s:Code><s:Value>s:(\w+)<\/s:Value>/.exec(text)?.[1],
    subcode: /<s:Subcode><s:Value[^>]*>o:(\w+)<\/s:Value>/.exec(text)?.[1],
    reason: /<s:Text xml:lang="en">([^<]*)<\/s:Text>/.exec(text)?.[1],
  };
}

const CASES: Array<{ name: string; body: string; status: number; code: string; subcode?: string; reason: RegExp }> = [
  { name: 'malformed XML (mismatched tags)', body: '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body></s:Envelope>', status: 400, code: 'Sender', subcode: 'FormationViolation', reason: /malformed XML/ },
  { name: 'not XML at all', body: '{"hello":"json"}', status: 400, code: 'Sender', subcode: 'FormationViolation', reason: /malformed XML/ },
  {
    name: 'XXE (external entity)',
    body: `<?xml version="1.0"?><!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>${envelope({ body: `<heartbeatRequest xmlns="${CS16}">&xxe;</heartbeatRequest>` })}`,
    status: 400,
    code: 'Sender',
    subcode: 'FormationViolation',
    reason: /Document Type Declaration/,
  },
  {
    name: 'billion laughs',
    body: `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;"><!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]><lolz>&lol3;</lolz>`,
    status: 400,
    code: 'Sender',
    subcode: 'FormationViolation',
    reason: /Document Type Declaration/,
  },
  { name: 'not a SOAP envelope', body: '<Envelope><Body/></Envelope>', status: 500, code: 'VersionMismatch', reason: /not a SOAP 1.2 or 1.1 Envelope/ },
  { name: 'missing chargeBoxIdentity', body: envelope({ identity: null }), status: 400, code: 'Sender', subcode: 'ProtocolError', reason: /chargeBoxIdentity header is missing/ },
  { name: 'chargeBoxIdentity in the wrong namespace', body: envelope({ identityNs: 'urn://Ocpp/Cs/2012/06/' }), status: 400, code: 'Sender', subcode: 'ProtocolError', reason: /chargeBoxIdentity header is in namespace/ },
  // The identity rule of the WebSocket handshake (src/protocol/identity.ts): a SOAP station must be addressable too.
  { name: 'chargeBoxIdentity ".."', body: envelope({ identity: '..' }), status: 400, code: 'Sender', subcode: 'ProtocolError', reason: /dot segments/ },
  { name: 'chargeBoxIdentity "."', body: envelope({ identity: '.' }), status: 400, code: 'Sender', subcode: 'ProtocolError', reason: /dot segments/ },
  { name: 'chargeBoxIdentity with a space', body: envelope({ identity: 'CP 1' }), status: 400, code: 'Sender', subcode: 'ProtocolError', reason: /characters outside/ },
  { name: 'chargeBoxIdentity with a slash', body: envelope({ identity: 'CP/1' }), status: 400, code: 'Sender', subcode: 'ProtocolError', reason: /characters outside/ },
  { name: 'chargeBoxIdentity longer than maxIdentityLength', body: envelope({ identity: 'x'.repeat(49) }), status: 400, code: 'Sender', subcode: 'ProtocolError', reason: /longer than 48/ },
  { name: 'nesting beyond the XML parser bound', body: envelope({ action: '/DataTransfer', body: `<dataTransferRequest xmlns="${CS16}"><vendorId>v</vendorId><data>${'<a>'.repeat(500)}${'</a>'.repeat(500)}</data></dataTransferRequest>` }), status: 400, code: 'Sender', subcode: 'FormationViolation', reason: /nested tags/ },
  { name: 'missing WS-A Action', body: envelope({ action: null }), status: 400, code: 'Sender', subcode: 'ProtocolError', reason: /Action header is missing/ },
  { name: 'missing WS-A MessageID', body: envelope({ messageId: null }), status: 400, code: 'Sender', subcode: 'ProtocolError', reason: /MessageID header is missing/ },
  { name: 'unknown namespace', body: envelope({ ns: 'urn://Example/Cs/' }), status: 400, code: 'Sender', subcode: 'ProtocolError', reason: /unknown body namespace/ },
  { name: 'OCPP 1.2 namespace', body: envelope({ ns: 'urn://Ocpp/Cs/2010/08/' }), status: 400, code: 'Sender', subcode: 'NotSupported', reason: /1\.2/ },
  { name: 'ChargePointService namespace', body: envelope({ ns: 'urn://Ocpp/Cp/2015/10/' }), status: 400, code: 'Sender', subcode: 'ProtocolError', reason: /ChargePointService namespace/ },
  { name: 'unknown action', body: envelope({ action: '/Reset', body: `<resetRequest xmlns="${CS16}"><type>Hard</type></resetRequest>` }), status: 400, code: 'Sender', subcode: 'NotImplemented', reason: /not a CentralSystemService operation/ },
  { name: 'action and body disagree', body: envelope({ action: '/Heartbeat', body: `<authorizeRequest xmlns="${CS16}"><idTag>A</idTag></authorizeRequest>` }), status: 400, code: 'Sender', subcode: 'ProtocolError', reason: /needs body element heartbeatRequest/ },
  { name: 'child element in another namespace', body: envelope({ action: '/Authorize', body: `<authorizeRequest xmlns="${CS16}"><x:idTag xmlns:x="urn:other">A</x:idTag></authorizeRequest>` }), status: 400, code: 'Sender', subcode: 'FormationViolation', reason: /namespace/ },
  { name: 'schema: wrong type', body: envelope({ action: '/StatusNotification', body: `<statusNotificationRequest xmlns="${CS16}"><connectorId>one</connectorId><status>Available</status><errorCode>NoError</errorCode></statusNotificationRequest>` }), status: 400, code: 'Sender', subcode: 'TypeConstraintViolation', reason: /connectorId/ },
  { name: 'schema: missing required field', body: envelope({ action: '/Authorize', body: `<authorizeRequest xmlns="${CS16}"/>` }), status: 400, code: 'Sender', subcode: 'OccurenceConstraintViolation', reason: /idTag/ },
  { name: 'schema: enum value', body: envelope({ action: '/StatusNotification', body: `<statusNotificationRequest xmlns="${CS16}"><connectorId>1</connectorId><status>Sleeping</status><errorCode>NoError</errorCode></statusNotificationRequest>` }), status: 400, code: 'Sender', subcode: 'PropertyConstraintViolation', reason: /status/ },
  { name: 'empty Body', body: envelope({ body: '' }), status: 400, code: 'Sender', subcode: 'FormationViolation', reason: /Body is empty/ },
];

test('OCPP-S bad input: SOAP Faults with exact codes', async (t) => {
  const h = await startTestServer({ ocpp: { maxFrameBytes: 4096 } });
  t.after(() => h.stop());
  for (const c of CASES) {
    const r = await post(h, c.body);
    assert.equal(r.status, c.status, `${c.name}: ${r.text}`);
    const f = fault(r.text);
    assert.equal(f.code, c.code, c.name);
    assert.equal(f.subcode, c.subcode, c.name);
    assert.match(f.reason ?? '', c.reason, c.name);
    assert.match(r.text, /<a:Action>http:\/\/www.w3.org\/2005\/08\/addressing\/soap\/fault<\/a:Action>/, c.name);
  }
  // Oversized body: 413 with a fault, whatever it contains.
  const big = await post(h, envelope({ action: '/DataTransfer', body: `<dataTransferRequest xmlns="${CS16}"><vendorId>v</vendorId><data>${'x'.repeat(5000)}</data></dataTransferRequest>` }));
  assert.equal(big.status, 413);
  assert.equal(fault(big.text).subcode, 'ProtocolError');
  // Far over every limit (5 MB): refused by the HTTP layer, still as a SOAP Fault (not a JSON error).
  const huge = await post(h, envelope({ action: '/DataTransfer', body: `<dataTransferRequest xmlns="${CS16}"><vendorId>v</vendorId><data>${'x'.repeat(5 * 1024 * 1024)}</data></dataTransferRequest>` }));
  assert.equal(huge.status, 413);
  assert.equal(fault(huge.text).code, 'Sender');
  assert.equal(fault(huge.text).subcode, 'ProtocolError');
  assert.match(huge.text, /^<\?xml/);
  // Not POST.
  const get = await fetch(`http://127.0.0.1:${h.port}/Ocpp/CentralSystemService`);
  assert.equal(get.status, 405);
  // The fault carries RelatesTo when the MessageID could be read.
  const related = await post(h, envelope({ messageId: 'urn:uuid:rel-1', action: '/Authorize', body: `<authorizeRequest xmlns="${CS16}"/>` }));
  assert.match(related.text, /<a:RelatesTo>urn:uuid:rel-1<\/a:RelatesTo>/);
  // Predefined entities and character references are decoded, nothing else is expanded.
  const ok = await post(h, envelope({ action: '/DataTransfer', body: `<dataTransferRequest xmlns="${CS16}"><vendorId>a&amp;b&#x41;&#66;</vendorId><data>&lt;x&gt;</data></dataTransferRequest>` }));
  assert.equal(ok.status, 200, ok.text);
  // Still serving after all of that.
  const hb = await post(h, envelope());
  assert.equal(hb.status, 200);
  assert.match(hb.text, /<heartbeatResponse xmlns="urn:\/\/Ocpp\/Cs\/2015\/10\/"><currentTime>/);
  const metrics = (await h.server.metricsText()).body;
  assert.match(metrics, /ocpp_soap_faults_total\{reason="dtd"\} 2/);
  assert.match(metrics, /ocpp_soap_faults_total\{reason="tooLarge"\} 2/);
  assert.match(metrics, /ocpp_soap_faults_total\{reason="badIdentity"\} 5/);
  assert.match(metrics, /ocpp_soap_faults_total\{reason="missingHeader"\} 3/);
});
