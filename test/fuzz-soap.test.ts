/**
 * Property-based fuzzing of the OCPP-S reader (src/protocol/soap/xml.ts, envelope.ts, codec.ts) and of the
 * shard's SOAP endpoint that uses it (docs/fuzzing.md): arbitrary XML-ish text, valid envelopes of every
 * CentralSystemService action mutated (text inserted, cut, repeated; entity and character references, CDATA,
 * comments, DTDs, deep nesting, element names like `__proto__`), never an exception: the parser says "not XML"
 * with an XmlError, the envelope reader with a SoapFault, and the endpoint answers every request with a SOAP
 * envelope: the operation's response (200) or a Fault (4xx/5xx) that is itself a readable envelope.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseXml, XmlError } from '../src/protocol/soap/xml.js';
import { parseEnvelope, envelope, SoapFault, WSA_NS, WSA_2004_NS, type SoapProtocol } from '../src/protocol/soap/envelope.js';
import { writeBody, type SoapVersion } from '../src/protocol/soap/codec.js';
import { readOperation } from '../src/protocol/soap/operation.js';
import { codecs, schemas15 } from '../src/protocol/soap/generated/soap-tables.js';
import { SoapEndpoint } from '../src/shard/soap-endpoint.js';
import { SoapShardMetrics } from '../src/metrics/soap-metrics.js';
import { createValidatorLookup } from '../src/protocol/validation/registry.js';
import { createResponder, type Responder } from '../src/backends/responder/index.js';
import type { SessionContext } from '../src/protocol/ocpp-j/rpc-session.js';
import type { WebResponse } from '../src/http/types.js';
import { sampleFromSchema, samplePayload, type JsonSchema } from './helpers/schema-samples.js';
import { fuzzParams, fuzzTestOptions, heapUsed } from './helpers/fuzz.js';

const VERSIONS: SoapVersion[] = ['ocpp1.5', 'ocpp1.6'];

function sample(version: SoapVersion, action: string): Record<string, unknown> {
  if (version === 'ocpp1.6') return samplePayload('ocpp1.6', action, 'request', { full: true });
  const schema = schemas15[action]!.request as JsonSchema;
  return sampleFromSchema(schema, schema, { full: true }) as Record<string, unknown>;
}

/** A valid request envelope for `action` (what a conforming charger sends). */
function validEnvelope(version: SoapVersion, action: string, protocol: SoapProtocol, wsaNs: string): string {
  const svc = codecs[version].cs;
  return envelope(protocol, { wsaNs, action: `/${action}`, messageId: 'urn:uuid:fuzz', identity: 'FUZZ1', identityNs: svc.ns, from: 'http://127.0.0.1:9/cp' }, writeBody(svc, action, 'request', sample(version, action)));
}

const validArb = fc
  .tuple(fc.constantFrom(...VERSIONS), fc.constantFrom<SoapProtocol>('1.1', '1.2'), fc.constantFrom(WSA_NS, WSA_2004_NS))
  .chain(([version, protocol, wsa]) => fc.constantFrom(...Object.keys(codecs[version].cs.actions)).map((action) => validEnvelope(version, action, protocol, wsa)));

const nest = (n: number, name = 'a'): string => `<${name}>`.repeat(n) + `</${name}>`.repeat(n);

/** Snippets that XML readers have stumbled over. */
const snippet = fc.oneof(
  fc.string({ maxLength: 20 }),
  fc.constantFrom(
    '<', '>', '&', '"', "'", '</', '/>', '<a', '&amp;', '&lt;', '&gt;', '&quot;', '&apos;', '&#60;', '&#x3C;', '&#0;', '&#x0;', '&#xD800;', '&#x110000;',
    '&#99999999999999999999;', '&#x;', '&nbsp;', '&lol;', '&amp;#60;', '<![CDATA[<x>&amp;]]>', '<!-- c -->', '<!-- -- -->', '<?pi x?>', '<?xml version="1.0"?>',
    '<!DOCTYPE x>', '<!doctype x []>', '<!ENTITY a "b">', '<!DoCtYpE x>', '<!ELEMENT a ANY>', '<__proto__>1</__proto__>', '<__proto__><a>1</a></__proto__>', '<constructor>1</constructor>',
    '<toString/>', '<hasOwnProperty>x</hasOwnProperty>', '<valueOf><a/></valueOf>', ' xmlns="urn:x"', ' xmlns:s="urn:other"', ' xmlns:a=""', ' a="1"', ' a="1" a="2"', ' __proto__="x"',
    '<x:y xmlns:x="urn://Ocpp/Cs/2015/10/">1</x:y>', '<s:Body/>', '<s:Header/>', '<s:Envelope>', '</s:Envelope>', '\u0000', '\uFFFE', '\uD800', '😀', '\r\n', ' ',
  ),
  fc.integer({ min: 1, max: 3000 }).map((n) => nest(n)),
  fc.integer({ min: 1, max: 200 }).map((n) => '<a>'.repeat(n)),
  fc.integer({ min: 1, max: 2000 }).map((n) => 'x'.repeat(n)),
  fc.integer({ min: 1, max: 500 }).map((n) => '&amp;'.repeat(n)),
  fc.integer({ min: 1, max: 300 }).map((n) => ` a${n}="v"`.repeat(1) + ' b="c"'.repeat(n)),
);

type Mutation = { at: number; len: number; how: 'insert' | 'cut' | 'repeat' | 'replace'; text: string };
const mutation = fc.record({ at: fc.nat(), len: fc.nat(60), how: fc.constantFrom<Mutation['how']>('insert', 'cut', 'repeat', 'replace'), text: snippet });

function mutate(xml: string, mutations: Mutation[]): string {
  let out = xml;
  for (const m of mutations) {
    const at = m.at % (out.length + 1);
    const end = Math.min(out.length, at + m.len);
    if (m.how === 'insert') out = out.slice(0, at) + m.text + out.slice(at);
    else if (m.how === 'cut') out = out.slice(0, at) + out.slice(end);
    else if (m.how === 'repeat') out = out.slice(0, end) + out.slice(at, end) + out.slice(end);
    else out = out.slice(0, at) + m.text + out.slice(end);
  }
  return out;
}

const mutatedArb = fc.tuple(validArb, fc.array(mutation, { minLength: 1, maxLength: 4 })).map(([xml, ms]) => mutate(xml, ms));
/** Element names: a well-formed envelope whose body holds odd children (still valid XML). */
const oddChildArb = fc
  .tuple(fc.constantFrom(...VERSIONS), fc.constantFrom('__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf', '#text', 'x', 'idTag', 'meterValue', 'value'), fc.oneof(fc.constant(''), fc.string({ unit: fc.constantFrom(...'abc<>&1 '.split('')), maxLength: 10 })), fc.nat(3))
  .map(([version, name, text, n]) => {
    const svc = codecs[version].cs;
    const safeName = /^[A-Za-z_][\w.-]*$/.test(name) ? name : 'x';
    const inner = Array(n + 1).fill(`<${safeName}>${text.replace(/&/g, '&amp;').replace(/</g, '&lt;')}</${safeName}>`).join('');
    const body = `<authorizeRequest xmlns="${svc.ns}"><idTag>A</idTag>${inner}</authorizeRequest>`;
    return envelope('1.2', { wsaNs: WSA_NS, action: '/Authorize', messageId: 'urn:uuid:1', identity: 'FUZZ2', identityNs: svc.ns }, body);
  });

const xmlish = fc.oneof(
  { weight: 1, arbitrary: fc.string({ maxLength: 200 }) },
  { weight: 1, arbitrary: fc.array(snippet, { maxLength: 12 }).map((s) => s.join('')) },
  { weight: 4, arbitrary: mutatedArb },
  { weight: 1, arbitrary: oddChildArb },
  { weight: 1, arbitrary: validArb },
);

test('parseXml / parseEnvelope / readOperation: XML-ish text gives a document or an XmlError / SoapFault, nothing else', fuzzTestOptions(), () => {
  fc.assert(
    fc.property(xmlish, (text) => {
      try {
        parseXml(text);
      } catch (error) {
        assert.ok(error instanceof XmlError, `parseXml threw ${String(error)}`);
      }
      let env;
      try {
        env = parseEnvelope(text);
      } catch (error) {
        assert.ok(error instanceof SoapFault, `parseEnvelope threw ${String(error)}`);
        return;
      }
      if (env.body === null) return;
      for (const version of VERSIONS) {
        try {
          readOperation(env, codecs[version].cs, 'CentralSystemService', version, null);
        } catch (error) {
          assert.ok(error instanceof SoapFault, `readOperation threw ${String(error)}`);
        }
      }
    }),
    fuzzParams(400),
  );
});

function responder(): Responder {
  let n = 0;
  return createResponder({
    config: { bootStatus: 'Accepted', heartbeatIntervalS: 300, authorize: { policy: 'acceptAll', idTags: [] }, dataTransfer: { status: 'Rejected' } } as Responder['config'],
    transactionIds: { next: () => ++n },
  });
}

function endpoint(): SoapEndpoint {
  let n = 0;
  const ctx: SessionContext = {
    options: { maxPayloadDepth: 32, inboundQueueMax: 100, outboundQueueMax: 10, callTimeoutMs: 30_000, maxBadMessagesInRow: 10, rejectCallsBeforeAccepted: true },
    backend: responder(),
    lookup: createValidatorLookup(),
    hooks: {},
    nextMessageId: () => `soap-${++n}`,
  };
  return new SoapEndpoint({ ctx: () => ctx, post: () => {}, metrics: new SoapShardMetrics(), maxBodyBytes: () => 65_536, maxIdentityLength: () => 48, stopping: () => false });
}

/** The response is a SOAP envelope: the answer (200) or a Fault with a 4xx/5xx status. */
function checkResponse(response: WebResponse, request: string): void {
  const body = response.body;
  assert.equal(typeof body, 'string');
  const env = parseEnvelope(body as string);
  if (response.status === 200) assert.equal(env.fault, null, `200 with a Fault for ${request.slice(0, 300)}`);
  else {
    assert.ok(response.status >= 400 && response.status < 600, String(response.status));
    assert.notEqual(env.fault, null, `status ${response.status} without a Fault`);
  }
  assert.match(response.headers?.['Content-Type'] ?? '', /^(application\/soap\+xml|text\/xml)/);
}

test('SoapEndpoint: every request body is answered with a SOAP envelope (response or Fault), never an exception', fuzzTestOptions(), async (t) => {
  const ep = endpoint();
  t.after(() => ep.close());
  await fc.assert(
    fc.asyncProperty(xmlish, fc.constantFrom('application/soap+xml; charset=utf-8', 'text/xml', 'application/soap+xml; action="/Heartbeat"', ''), async (body, type) => {
      const response = await ep.handle({ method: 'POST', path: '/Ocpp/CentralSystemService', query: '', headers: { 'content-type': type }, body, remoteAddress: '127.0.0.1' });
      checkResponse(response, body);
    }),
    fuzzParams(300),
  );
});

test('SoapEndpoint: the valid envelope of every action is answered 200 (the control for the property above)', async (t) => {
  const ep = endpoint();
  t.after(() => ep.close());
  for (const version of VERSIONS) {
    for (const action of Object.keys(codecs[version].cs.actions)) {
      const response = await ep.handle({ method: 'POST', path: '/Ocpp', query: '', headers: { 'content-type': 'application/soap+xml' }, body: validEnvelope(version, action, '1.2', WSA_NS), remoteAddress: '127.0.0.1' });
      assert.equal(response.status, 200, `${version} ${action}: ${String(response.body).slice(0, 400)}`);
    }
  }
});

test('SoapEndpoint: large and deep bodies leave the heap bounded', fuzzTestOptions(2), async (t) => {
  const ep = endpoint();
  t.after(() => ep.close());
  const big = fc.oneof(
    fc.integer({ min: 1000, max: 60_000 }).map((n) => validEnvelope('ocpp1.6', 'Heartbeat', '1.2', WSA_NS).replace('<heartbeatRequest', nest(n, 'x') + '<heartbeatRequest')),
    fc.integer({ min: 10_000, max: 60_000 }).map((n) => validEnvelope('ocpp1.6', 'DataTransfer', '1.2', WSA_NS).replace('</dataTransferRequest>', `<data>${'&amp;'.repeat(n / 5)}</data></dataTransferRequest>`)),
    fc.integer({ min: 100_000, max: 2_000_000 }).map((n) => '<'.repeat(n)),
  );
  const start = heapUsed();
  await fc.assert(
    fc.asyncProperty(big, async (body) => {
      checkResponse(await ep.handle({ method: 'POST', path: '/Ocpp', query: '', headers: { 'content-type': 'application/soap+xml' }, body, remoteAddress: '127.0.0.1' }), body);
    }),
    fuzzParams(20, 2),
  );
  const grown = heapUsed() - start;
  assert.ok(grown < 64 * 1024 * 1024, `heap grew by ${(grown / 1048576).toFixed(1)} MiB`);
});
