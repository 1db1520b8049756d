/**
 * Property-based fuzzing of the API body parsers (docs/fuzzing.md):
 *  - form bodies (src/protocol/commands/form-body.ts) and command preparation (prepare.ts) as functions: any body
 *    text is a tree or a refusal with a message; any tree and any JSON body for any operation of any version is a
 *    payload that validates, or a refusal listing the violations;
 *  - the REST API handler (src/api/) of a real router with a station of each version connected: any body, content
 *    type, query and path to the routes that read bodies gets a 2xx, or a 4xx with the error body
 *    `{"error":{"code":N,"message":"…"}}` — never a thrown error, never a 500. A station that answers a command
 *    wrongly may make it a 502 (with the error body too).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseForm } from '../src/protocol/commands/form-body.js';
import { prepareCommand, isRefusal, type CommandBody } from '../src/protocol/commands/prepare.js';
import { CATALOGUE_VERSIONS, centralOperations, commandValidators } from '../src/protocol/commands/catalogue.js';
import { valueExceedsDepth } from '../src/protocol/json-depth.js';
import type { StationVersion } from '../src/protocol/versions.js';
import { createApi } from '../src/api/index.js';
import type { WebRequest, WebResponse } from '../src/http/types.js';
import { startTestServer, TestStation, waitFor } from './helpers/server.js';
import { sampleRequest, sampleResponse, type SampleVersion } from './helpers/schema-samples.js';
import { fuzzParams, fuzzTestOptions } from './helpers/fuzz.js';

const MAX_DEPTH = 32;

/** Form keys: plain, bracketed, odd. */
const formKey = fc.oneof(
  fc.string({ maxLength: 12 }),
  fc.tuple(fc.constantFrom('type', 'idTag', 'connectorId', 'key', 'csChargingProfiles', 'a', '__proto__', 'constructor'), fc.array(fc.constantFrom('[]', '[0]', '[1]', '[a]', '[__proto__]', '[constructor]', '[99999]', '[10001]', '[-1]', '[', ']', '[[x]]', '[ ]'), { maxLength: 5 })).map(([k, parts]) => k + parts.join('')),
);
const formValue = fc.oneof(fc.string({ maxLength: 20 }), fc.constantFrom('1', '-1', '1e400', 'true', '0', 'Hard', 'Accepted', '{"a":1}', '[1,2]', '{', '[', '{"chargingProfileId":1}', ' '), fc.json({ maxDepth: 3 }));
const formBody = fc.oneof(
  fc.array(fc.tuple(formKey, formValue), { maxLength: 8 }).map((pairs) => pairs.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&')),
  fc.string({ maxLength: 80 }),
  fc.array(fc.constantFrom('a=1', '&', '=', '==', 'a', '%', '%zz', '+', 'a[]=1', 'a[0]=x', 'a[x]=y', 'a=1&a[b]=2', 'a[b]=1&a=2', 'a[]=1&a[x]=2'), { maxLength: 6 }).map((p) => p.join('&')),
);

/** A JSON body for `operation`: its sample, mutated, or anything. */
function jsonBody(version: StationVersion, operation: string): fc.Arbitrary<Record<string, unknown>> {
  let base: Record<string, unknown> = {};
  try {
    if (version !== 'ocpp1.5') base = sampleRequest(version as SampleVersion, operation);
  } catch {
    // no schema
  }
  const keys = Object.keys(base);
  return fc.oneof(
    fc.tuple(fc.nat(keys.length), fc.constantFrom('drop', 'replace', 'add', 'keep'), fc.jsonValue({ maxDepth: 3 }), fc.string({ maxLength: 8 })).map(([i, how, v, k]) => {
      const out: Record<string, unknown> = { ...base };
      const key = keys[i];
      if (how === 'drop' && key !== undefined) delete out[key];
      else if (how === 'replace' && key !== undefined) out[key] = v;
      else if (how === 'add') out[k] = v;
      return out;
    }),
    fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 4 }),
    fc.integer({ min: MAX_DEPTH - 2, max: 200 }).map((n) => ({ ...base, data: JSON.parse('['.repeat(n) + ']'.repeat(n)) as unknown })),
  );
}

const versionArb = fc.constantFrom(...CATALOGUE_VERSIONS);
const operationArb = (version: StationVersion): fc.Arbitrary<string> =>
  fc.oneof({ weight: 6, arbitrary: fc.constantFrom(...centralOperations(version), 'RemoteStartTransaction', 'RemoteStopTransaction') }, { weight: 1, arbitrary: fc.constantFrom('constructor', '__proto__', 'toString', 'hasOwnProperty', 'Heartbeat', '', '../ocpp1.6/Reset', 'reset') }, { weight: 1, arbitrary: fc.string({ maxLength: 12 }) });

test('parseForm: any body text is a tree of strings or an Error with a message', fuzzTestOptions(), () => {
  fc.assert(
    fc.property(formBody, (text) => {
      let tree: unknown;
      try {
        tree = parseForm(text);
      } catch (error) {
        assert.ok(error instanceof Error && error.message.length > 0, String(error));
        return;
      }
      assert.equal(Object.getPrototypeOf(tree), Object.prototype);
      assert.equal(({} as Record<string, unknown>).polluted, undefined);
    }),
    fuzzParams(2000),
  );
});

test('prepareCommand: any body for any operation of any version is a payload that validates, or a refusal listing why', fuzzTestOptions(), () => {
  const input = versionArb.chain((version) =>
    operationArb(version).chain((operation) =>
      fc.tuple(
        fc.constant(version),
        fc.constant(operation),
        fc.oneof(
          jsonBody(version, operation).map((value): CommandBody => ({ kind: 'json', value })),
          formBody.chain((text) => {
            try {
              return fc.constant<CommandBody>({ kind: 'form', tree: parseForm(text) });
            } catch {
              return fc.constant<CommandBody>({ kind: 'form', tree: {} });
            }
          }),
        ),
      ),
    ),
  );
  fc.assert(
    fc.property(input, ([version, operation, body]) => {
      const prepared = prepareCommand(version, operation, body, MAX_DEPTH);
      if (isRefusal(prepared)) {
        assert.equal(typeof prepared.message, 'string');
        assert.ok(['UNKNOWN_ACTION', 'PAYLOAD_INVALID'].includes(prepared.details.reason as string), String(prepared.details.reason));
        // The refusal is plain data: it goes into a JSON error body.
        JSON.stringify(prepared);
        return;
      }
      assert.ok(centralOperations(version).includes(prepared.action), `${prepared.action} is an operation of ${version}`);
      assert.equal(valueExceedsDepth(prepared.payload, MAX_DEPTH), false);
      assert.equal(commandValidators(version, prepared.action)!.request(prepared.payload).ok, true, 'the payload validates');
    }),
    fuzzParams(600),
  );
});

// ─── the API handler of a real router ─────────────────────────────────────────────────────────────────────

const CONTENT_TYPES = ['application/json', 'application/json; charset=utf-8', 'application/x-www-form-urlencoded', 'text/plain', '', 'application/merge-patch+json', 'multipart/form-data; boundary=x', 'APPLICATION/JSON'];

/** The response is 2xx, or 4xx (502 from a station) with the error body. */
function checkResponse(response: WebResponse, what: string): void {
  assert.ok(Number.isInteger(response.status), what);
  if (response.status >= 200 && response.status < 300) return;
  assert.ok((response.status >= 400 && response.status < 500) || response.status === 502, `status ${response.status} for ${what}: ${String(response.body).slice(0, 300)}`);
  const body = JSON.parse(String(response.body)) as { error?: { code?: unknown; message?: unknown } };
  assert.equal(body.error?.code, response.status, `error.code for ${what}`);
  assert.equal(typeof body.error?.message, 'string');
}

test('the API: any body, content type and query to the routes that read them is a 2xx or a 4xx with the error body', fuzzTestOptions(4), async (t) => {
  const h = await startTestServer({ api: { commandTimeoutMs: 2000 } });
  t.after(() => h.stop());
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
    { weight: 4, arbitrary: fc.tuple(identity, versionArb).chain(([id, version]) => operationArb(version).chain((op) => fc.tuple(fc.constant(`/api/v1/ChargePoint/${id}/${encodeURIComponent(op)}`), fc.constant('POST'), bodyFor(version, op), fc.constantFrom(...CONTENT_TYPES), query))) },
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
      checkResponse(response, `${method} ${path}?${q} ${type} ${body.slice(0, 200)}`);
      assert.equal(({} as Record<string, unknown>).polluted, undefined);
    }),
    fuzzParams(150, 4),
  );
  // The router is unharmed: no shard restarted, stations still served.
  for (let shard = 0; shard < h.server.shards; shard++) assert.equal(h.server.supervisor.restarts(shard), 0);
  checkResponse(await api({ method: 'GET', path: '/api/v1/ping', query: '', headers: {}, body: '', remoteAddress: '127.0.0.1' }), 'ping');
});
