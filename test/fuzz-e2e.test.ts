/**
 * Fuzzing against one real router (two shard threads, the built-in responder, the SQLite store; docs/fuzzing.md):
 *  - end to end, few runs: fuzzed OCPP-J frames over real WebSockets, fuzzed OCPP-S envelopes and API requests
 *    over real HTTP. Each frame gets the answer the spec gives it (test/helpers/fuzz-frames.ts), each SOAP request
 *    a SOAP envelope, each API request a 2xx or a 4xx with the error body;
 *  - the REST API handler (src/api/) called in-process, more runs, with a station of each version connected: any
 *    body, content type, query and path to the routes that read bodies gets a 2xx, or a 4xx with the error body
 *    `{"error":{"code":N,"message":"…"}}` — never a thrown error, never a 500 (a command a station answers
 *    wrongly may be a 502, with the error body too).
 * Afterwards no shard was restarted and the router is ready.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { startTestServer, TestStation, waitFor, type TestServer } from './helpers/server.js';
import { createApi } from '../src/api/index.js';
import type { WebRequest, WebResponse } from '../src/http/types.js';
import { loadSchema, sampleResponse, type SampleVersion } from './helpers/schema-samples.js';
import { formBody, jsonBody, operationArb, versionArb as catalogueVersionArb } from './helpers/fuzz-api.js';
import type { StationVersion } from '../src/protocol/versions.js';
import { fuzzParams, fuzzTestOptions } from './helpers/fuzz.js';
import { anyFrame, codesOf, expectedAnswer, schemaValue, versionArb, type Expected } from './helpers/fuzz-frames.js';
import { stationActions, isSendOnly } from '../src/protocol/actions.js';
import { xmlish } from './helpers/fuzz-soap.js';
import { parseEnvelope } from '../src/protocol/soap/envelope.js';

const MAX_DEPTH = 32;

async function assertUnharmed(h: TestServer): Promise<void> {
  for (let shard = 0; shard < h.server.shards; shard++) assert.equal(h.server.supervisor.restarts(shard), 0, `shard ${shard} was never restarted`);
  assert.equal((await fetch(`http://127.0.0.1:${h.port}/health/ready`)).status, 200);
}

let h: TestServer;
before(async () => {
  h = await startTestServer({ ocpp: { maxBadMessagesInRow: 1_000_000 }, api: { commandTimeoutMs: 2000 } });
});
after(async () => {
  await assertUnharmed(h);
  await h.stop();
});

test('end to end: fuzzed frames over real WebSockets, SOAP envelopes and API bodies over HTTP: the router answers each and survives', fuzzTestOptions(2), async () => {
  let n = 0;

  await fc.assert(
    fc.asyncProperty(versionArb.chain((version) => fc.tuple(fc.constant(version), fc.array(anyFrame({ version, maxDepth: MAX_DEPTH }), { minLength: 1, maxLength: 15 }))), async ([version, frames]) => {
      const station = await TestStation.connect(h.url(`E2E-${++n}`), [version]);
      try {
        const expected: Expected[] = frames.map((f) => expectedAnswer(f, version, MAX_DEPTH));
        for (const f of frames) station.ws.send(f);
        // A last well-formed CALL: once it and every expected answer are in, the batch is done.
        const sentinel = `sentinel-${n}`;
        station.ws.send(JSON.stringify([2, sentinel, 'Heartbeat', {}]));
        const answers = (): unknown[][] => station.received.filter((f): f is unknown[] => Array.isArray(f) && (f[0] === 3 || f[0] === 4));
        const want = expected.filter((e) => e.kind === 'answer' || e.kind === 'error').length + 1;
        await waitFor(() => answers().length >= want && answers().some((f) => f[1] === sentinel), 30_000, `${want} answers (${version})`);
        const got = answers().map((f) => f[1] as string).sort();
        const ids = [...expected.flatMap((e) => (e.kind === 'answer' || e.kind === 'error' ? [e.id] : [])), sentinel].sort();
        assert.deepEqual(got, ids, `${version}: one answer per CALL-shaped frame`);
        for (const f of answers()) if (f[0] === 4) assert.ok(codesOf(version).includes(f[2] as string), `code ${String(f[2])}`);
        for (const e of expected) {
          if (e.kind !== 'error') continue;
          const match = answers().filter((f) => f[1] === e.id && f[0] === 4 && f[2] === e.code);
          assert.ok(match.length > 0, `${version}: CALLERROR ${e.code} for ${e.id}`);
        }
      } finally {
        await station.close();
      }
    }),
    fuzzParams(3, 0.8),
  );

  await fc.assert(
    fc.asyncProperty(xmlish, async (body) => {
      const r = await fetch(`http://127.0.0.1:${h.port}/Ocpp/CentralSystemService`, { method: 'POST', headers: { 'content-type': 'application/soap+xml; charset=utf-8' }, body });
      const text = await r.text();
      const env = parseEnvelope(text);
      if (r.status === 200) assert.equal(env.fault, null);
      else assert.ok(r.status >= 400 && r.status < 600 && env.fault !== null, `${r.status}: ${text.slice(0, 200)}`);
    }),
    fuzzParams(6, 0.4),
  );

  const apiBody = fc.oneof(fc.json({ maxDepth: 3 }), fc.string({ maxLength: 60 }), fc.constantFrom('{"type":"Hard"}', 'type=Hard', 'a[b]=1&a=2', '{"__proto__":{"x":1}}'));
  await fc.assert(
    fc.asyncProperty(fc.constantFrom('/api/v1/ChargePoint/E2E-1/Reset', '/api/v1/ChargePoint/NOBODY/Reset', '/api/v1/commands', '/api/v1/CentralSystem/TransactionList', '/api/v1/idtags/TAG1'), apiBody, fc.constantFrom('application/json', 'application/x-www-form-urlencoded', 'text/plain'), async (path, body, type) => {
      const r = await fetch(`http://127.0.0.1:${h.port}${path}`, { method: path.includes('idtags') ? 'PUT' : 'POST', headers: { 'content-type': type }, body });
      const text = await r.text();
      if (r.status >= 200 && r.status < 300) return;
      assert.ok(r.status >= 400 && r.status < 500, `${r.status} for ${path} ${body}: ${text.slice(0, 200)}`);
      const parsed = JSON.parse(text) as { error: { code: number; message: string } };
      assert.equal(parsed.error.code, r.status);
      assert.equal(typeof parsed.error.message, 'string');
    }),
    fuzzParams(6, 0.4),
  );
  await assertUnharmed(h);
});


const CONTENT_TYPES = ['application/json', 'application/json; charset=utf-8', 'application/x-www-form-urlencoded', 'text/plain', '', 'application/merge-patch+json', 'multipart/form-data; boundary=x', 'APPLICATION/JSON'];

/** The response is 2xx, or 4xx (502 from a station) with the error body. */
function checkApiResponse(response: WebResponse, what: string): void {
  assert.ok(Number.isInteger(response.status), what);
  if (response.status >= 200 && response.status < 300) return;
  assert.ok((response.status >= 400 && response.status < 500) || response.status === 502, `status ${response.status} for ${what}: ${String(response.body).slice(0, 300)}`);
  const body = JSON.parse(String(response.body)) as { error?: { code?: unknown; message?: unknown } };
  assert.equal(body.error?.code, response.status, `error.code for ${what}`);
  assert.equal(typeof body.error?.message, 'string');
}

test('the API handler: any body, content type and query to the routes that read them is a 2xx or a 4xx with the error body', fuzzTestOptions(2), async (t) => {
  const api = createApi(h.server);
  const versions: SampleVersion[] = ['ocpp1.6', 'ocpp2.0.1', 'ocpp2.1'];
  for (const version of versions) {
    const station = await TestStation.connect(h.url(`FUZZ-${version}`), [version]);
    station.onCall = (action) => sampleResponse(version, action);
    t.after(() => station.close());
  }
  await waitFor(() => versions.every((v) => h.server.station(`FUZZ-${v}`)?.connected === true), 5000, 'stations registered');
  const identity = fc.constantFrom(...versions.map((v) => `FUZZ-${v}`), 'NOBODY', '%2e%2e', 'a%00b', '');
  const text = fc.oneof(fc.string({ maxLength: 60 }), fc.json({ maxDepth: 4 }), formBody, fc.constantFrom('{}', '[]', 'null', '1', '"x"', '{"__proto__":{"polluted":1}}', '{"a":1}{', '\uFEFF{}', ' '));
  const bodyFor = (version: StationVersion, operation: string): fc.Arbitrary<string> => fc.oneof(text, jsonBody(version, operation).map((v) => JSON.stringify(v)));
  const query = fc.oneof(fc.constant(''), fc.array(fc.tuple(fc.constantFrom('timeoutMs', 'async', 'limit', 'offset', 'cursor', 'status', 'connected', 'version', 'transport', 'account', 'identity', 'from', 'to', 'open', 'before', 'since', 'format', 'listed', 'x'), fc.oneof(fc.string({ maxLength: 8 }), fc.constantFrom('1', '0', '-1', 'true', 'false', '1e400', '99999999999', '2030-01-01T00:00:00Z', 'csv', 'ocpp1.6'))), { maxLength: 4 }).map((ps) => ps.map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join('&')));
  const dateish = fc.oneof(fc.constantFrom(1e300, -1e300, 8.64e15 + 1, -8.64e15 - 1, 1e20, 0, -1, 1.5, '2030-01-01T00:00:00Z', '+275760-09-13T00:00:00.001Z', '', 'x', null, true, [], {}), fc.double(), fc.integer());
  const storeBody = fc.record({ identity: fc.oneof(identity, fc.jsonValue({ maxDepth: 1 })), dateFrom: dateish, dateTo: dateish, status: fc.oneof(fc.constantFrom('Accepted', 'Blocked', 'Expired', 'Invalid', 'x'), fc.jsonValue({ maxDepth: 1 })), expiryDate: dateish, parentIdTag: fc.oneof(fc.string({ maxLength: 40 }), fc.jsonValue({ maxDepth: 1 })), note: fc.oneof(fc.string({ maxLength: 20 }), fc.jsonValue({ maxDepth: 1 })) }, { requiredKeys: [] }).map((o) => JSON.stringify(o));
  const bulkBody = fc.record({ action: fc.oneof(fc.constantFrom('Reset', 'ClearCache', 'GetConfiguration', 'TriggerMessage'), fc.jsonValue({ maxDepth: 1 })), payload: fc.oneof(fc.constantFrom({}, { type: 'Hard' }, { type: 'Immediate' }), fc.jsonValue({ maxDepth: 2 })), identities: fc.oneof(fc.array(identity, { maxLength: 4 }), fc.jsonValue({ maxDepth: 1 })), filter: fc.oneof(fc.record({ connected: fc.jsonValue({ maxDepth: 1 }), version: fc.constantFrom('ocpp1.6', 'x', 1) }, { requiredKeys: [] }), fc.jsonValue({ maxDepth: 1 })), timeoutMs: fc.oneof(fc.constantFrom(1, 500, 0, -1, 1e300, '100', 'x', null), fc.jsonValue({ maxDepth: 0 })), async: fc.jsonValue({ maxDepth: 0 }) }, { requiredKeys: [] }).map((o) => JSON.stringify(o));
  const request = fc.oneof(
    // Commands to one station.
    { weight: 4, arbitrary: fc.tuple(identity, catalogueVersionArb).chain(([id, version]) => operationArb(version).chain((op) => fc.tuple(fc.constant(`/api/v1/ChargePoint/${id}/${encodeURIComponent(op)}`), fc.constant('POST'), bodyFor(version, op), fc.constantFrom(...CONTENT_TYPES), query))) },
    { weight: 2, arbitrary: fc.tuple(fc.constant('/api/v1/commands'), fc.constant('POST'), fc.oneof(bulkBody, text), fc.constantFrom(...CONTENT_TYPES), query) },
    { weight: 2, arbitrary: fc.tuple(fc.constantFrom('/api/v1/CentralSystem/TransactionList', '/api/v1/CentralSystem/ReservationList'), fc.constant('POST'), fc.oneof(storeBody, text), fc.constantFrom(...CONTENT_TYPES), query) },
    { weight: 2, arbitrary: fc.tuple(fc.string({ unit: fc.constantFrom(...'AB12-_x%'.split('')), minLength: 1, maxLength: 40 }).map((tag) => `/api/v1/idtags/${tag}`), fc.constantFrom('PUT', 'DELETE'), fc.oneof(storeBody, text), fc.constantFrom(...CONTENT_TYPES), query) },
    { weight: 2, arbitrary: fc.tuple(fc.constantFrom('/api/v1/stations', '/api/v1/transactions', '/api/v1/transactions/1', '/api/v1/transactions/x', '/api/v1/idtags', '/api/v1/stations/FUZZ-ocpp1.6/messages', '/api/v1/commands/x', '/api/v1/ChargePointList', '/api/v1/stations/NOBODY'), fc.constant('GET'), fc.constant(''), fc.constant(''), query) },
    { weight: 1, arbitrary: fc.tuple(fc.string({ maxLength: 40 }).map((p) => `/api/v1/${p}`), fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD'), text, fc.constantFrom(...CONTENT_TYPES), query) },
  );
  await fc.assert(
    fc.asyncProperty(request, async ([path, method, body, type, q]) => {
      const req: WebRequest = { method, path, query: q, headers: type === '' ? {} : { 'content-type': type }, body, remoteAddress: '127.0.0.1' };
      let response: WebResponse;
      try {
        response = await api(req);
      } catch (error) {
        assert.fail(`${method} ${path}?${q} threw ${String((error as Error)?.stack ?? error)} for body ${body.slice(0, 200)}`);
      }
      checkApiResponse(response, `${method} ${path}?${q} ${type} ${body.slice(0, 200)}`);
      assert.equal(({} as Record<string, unknown>).polluted, undefined);
    }),
    fuzzParams(60, 1),
  );
  // The router is unharmed: no shard restarted, stations still served.
  for (let shard = 0; shard < h.server.shards; shard++) assert.equal(h.server.supervisor.restarts(shard), 0);
  checkApiResponse(await api({ method: 'GET', path: '/api/v1/ping', query: '', headers: {}, body: '', remoteAddress: '127.0.0.1' }), 'ping');
});

/** One raw WebSocket upgrade request: the status, and the subprotocol answered on a 101. */
function upgrade(port: number, path: string, headers: Record<string, string>): Promise<{ status: number; protocol: string | null } | null> {
  return new Promise((resolve, reject) => {
    let req;
    try {
      req = httpRequest({ host: '127.0.0.1', port, path, headers: { Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Version': '13', 'Sec-WebSocket-Key': randomBytes(16).toString('base64'), ...headers } });
    } catch {
      resolve(null); // a path or header value Node's client refuses to send: nothing reaches the router
      return;
    }
    req.on('upgrade', (res, socket) => {
      socket.destroy();
      resolve({ status: res.statusCode ?? 0, protocol: (res.headers['sec-websocket-protocol'] as string | undefined) ?? null });
    });
    req.on('response', (res) => {
      res.resume();
      resolve({ status: res.statusCode ?? 0, protocol: null });
    });
    req.on('error', reject);
    req.end();
  });
}

test('end to end: fuzzed WebSocket upgrades (path, subprotocols, Authorization): accepted with an offered subprotocol, or refused with a status', fuzzTestOptions(2), async () => {
  const segment = fc.oneof(fc.string({ unit: fc.constantFrom(...'AZaz09*-_=+|@.%2F'.split('')), minLength: 0, maxLength: 20 }), fc.constantFrom('.', '..', '%2e%2E', '%zz', '%00', 'x'.repeat(49), 'CP-1'), fc.string({ maxLength: 10 }).map(encodeURIComponent));
  const path = fc.tuple(fc.constantFrom('/ocpp/', '/ocpp', '/OCPP/', '/', '/api/v1/', '/ocpp//'), fc.array(segment, { maxLength: 3 })).map(([p, segs]) => p + segs.join('/'));
  const protocols = fc.oneof(fc.constant(undefined), fc.array(fc.constantFrom('ocpp1.6', 'ocpp2.0.1', 'ocpp2.1', 'ocpp1.5', 'OCPP1.6', 'x', ''), { maxLength: 4 }).map((p) => p.join(', ')), fc.string({ unit: 'grapheme-ascii', maxLength: 30 }));
  const authorization = fc.oneof(fc.constant(undefined), fc.string({ unit: 'grapheme-ascii', maxLength: 40 }), fc.base64String({ maxLength: 40 }).map((b) => `Basic ${b}`));
  await fc.assert(
    fc.asyncProperty(path, protocols, authorization, async (p, protocol, auth) => {
      const headers: Record<string, string> = {};
      if (protocol !== undefined) headers['Sec-WebSocket-Protocol'] = protocol;
      if (auth !== undefined) headers.Authorization = auth;
      const result = await upgrade(h.port, p, headers);
      if (result === null) return;
      if (result.status === 101) {
        // OCPP-J 1.6 §3.1.2: exactly one of the offered subprotocols, or none (and the server then closes).
        const offered = (protocol ?? '').split(',').map((s) => s.trim());
        assert.ok(result.protocol === null || offered.includes(result.protocol), `answered ${result.protocol} to ${protocol}`);
      } else if (p.startsWith('/ocpp/')) {
        // A station URL that is refused: a status that says why (400 identity, 401 auth, 404 path, 503 busy).
        assert.ok(result.status >= 400 && result.status < 600, `status ${result.status} for ${p}`);
      } else {
        // Other paths (the UI, the API, OCPP-S) answer as they answer any GET.
        assert.ok(result.status >= 200 && result.status < 600, `status ${result.status} for ${p}`);
      }
    }),
    fuzzParams(30, 1),
  );
});

test('end to end: schema-valid CALLs with extreme values (bounds, huge numbers, calendar edges, long strings) are answered once each, kept, and readable through the API', fuzzTestOptions(2), async () => {
  let n = 0;
  const callArb = versionArb.chain((version) =>
    fc.tuple(
      fc.constant(version),
      fc.array(
        fc.constantFrom(...stationActions(version).filter((a) => !isSendOnly(version, a))).chain((action) => {
          const schema = loadSchema(version, action, 'request');
          return schemaValue(schema, schema).map((payload) => [action, payload] as const);
        }),
        { minLength: 1, maxLength: 8 },
      ),
    ),
  );
  await fc.assert(
    fc.asyncProperty(callArb, async ([version, calls]) => {
      const identity = `EXT-${++n}`;
      const station = await TestStation.connect(h.url(identity), [version]);
      try {
        for (let i = 0; i < calls.length; i++) {
          const [action, payload] = calls[i]!;
          const answer = await station.call(action, payload as Record<string, unknown>, `x${i}`);
          assert.ok(answer[0] === 3 || (answer[0] === 4 && codesOf(version).includes(answer[2] as string)), `${version} ${action}: ${JSON.stringify(answer).slice(0, 300)}`);
        }
      } finally {
        await station.close();
      }
      // What was kept can be read back.
      for (const path of ['/api/v1/transactions?limit=1000', `/api/v1/transactions?identity=${identity}&format=csv`, `/api/v1/stations/${identity}/messages`, '/api/v1/stations', '/api/v1/ChargePointList', `/api/v1/stations/${identity}`]) {
        const r = await fetch(`http://127.0.0.1:${h.port}${path}`);
        assert.equal(r.status, 200, `${path}: ${(await r.text()).slice(0, 300)}`);
        await r.arrayBuffer().catch(() => undefined);
      }
      const list = (await (await fetch(`http://127.0.0.1:${h.port}/api/v1/transactions?identity=${identity}`)).json()) as { items: Array<{ id: number }> };
      for (const t of list.items) {
        for (const suffix of ['', '?format=csv']) {
          const r = await fetch(`http://127.0.0.1:${h.port}/api/v1/transactions/${t.id}${suffix}`);
          assert.equal(r.status, 200, `transaction ${t.id}${suffix}: ${(await r.text()).slice(0, 300)}`);
        }
      }
      const tl = await fetch(`http://127.0.0.1:${h.port}/api/v1/CentralSystem/TransactionList`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ identity }) });
      assert.equal(tl.status, 200, (await tl.text()).slice(0, 300));
    }),
    fuzzParams(6, 1),
  );
});
