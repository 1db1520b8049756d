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
import { parseEnvelope, SoapFault, WSA_NS } from '../src/protocol/soap/envelope.js';
import { readOperation } from '../src/protocol/soap/operation.js';
import { codecs } from '../src/protocol/soap/generated/soap-tables.js';
import { SoapEndpoint } from '../src/shard/soap-endpoint.js';
import { SoapShardMetrics } from '../src/metrics/soap-metrics.js';
import { createValidatorLookup } from '../src/protocol/validation/registry.js';
import { createResponder, type Responder } from '../src/backends/responder/index.js';
import type { SessionContext } from '../src/protocol/ocpp-j/rpc-session.js';
import type { WebResponse } from '../src/http/types.js';
import { VERSIONS, nest, validEnvelope, xmlish } from './helpers/fuzz-soap.js';
import { fuzzParams, fuzzTestOptions, heapUsed } from './helpers/fuzz.js';

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
    fuzzParams(200),
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
    fuzzParams(150),
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

test('SoapEndpoint: large and deep bodies leave the heap bounded', fuzzTestOptions(1), async (t) => {
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
    fuzzParams(8, 0.8),
  );
  const grown = heapUsed() - start;
  assert.ok(grown < 64 * 1024 * 1024, `heap grew by ${(grown / 1048576).toFixed(1)} MiB`);
});
