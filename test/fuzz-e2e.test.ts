/**
 * End-to-end fuzzing (few runs; docs/fuzzing.md): fuzzed OCPP-J frames over real WebSockets, fuzzed OCPP-S
 * envelopes and API requests over real HTTP, to a real router (two shard threads, the built-in responder, the
 * SQLite store). Each frame gets the answer the spec gives it (test/helpers/fuzz-frames.ts), each SOAP request a
 * SOAP envelope, each API request a 2xx or a 4xx with the error body; afterwards no shard was restarted and the
 * router is ready.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { startTestServer, TestStation, waitFor, type TestServer } from './helpers/server.js';
import { fuzzParams, fuzzTestOptions } from './helpers/fuzz.js';
import { anyFrame, codesOf, expectedAnswer, versionArb, type Expected } from './helpers/fuzz-frames.js';
import { xmlish } from './helpers/fuzz-soap.js';
import { parseEnvelope } from '../src/protocol/soap/envelope.js';

const MAX_DEPTH = 32;

async function assertUnharmed(h: TestServer): Promise<void> {
  for (let shard = 0; shard < h.server.shards; shard++) assert.equal(h.server.supervisor.restarts(shard), 0, `shard ${shard} was never restarted`);
  assert.equal((await fetch(`http://127.0.0.1:${h.port}/health/ready`)).status, 200);
}

test('end to end: fuzzed frames over real WebSockets, SOAP envelopes and API bodies over HTTP: the router answers each and survives', fuzzTestOptions(4), async (t) => {
  const h = await startTestServer({ ocpp: { maxBadMessagesInRow: 1_000_000 } });
  t.after(() => h.stop());
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
        await waitFor(() => answers().length >= want && answers().some((f) => f[1] === sentinel), 10_000, `${want} answers (${version})`);
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
    fuzzParams(8, 4),
  );

  await fc.assert(
    fc.asyncProperty(xmlish, async (body) => {
      const r = await fetch(`http://127.0.0.1:${h.port}/Ocpp/CentralSystemService`, { method: 'POST', headers: { 'content-type': 'application/soap+xml; charset=utf-8' }, body });
      const text = await r.text();
      const env = parseEnvelope(text);
      if (r.status === 200) assert.equal(env.fault, null);
      else assert.ok(r.status >= 400 && r.status < 600 && env.fault !== null, `${r.status}: ${text.slice(0, 200)}`);
    }),
    fuzzParams(15, 2),
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
    fuzzParams(15, 2),
  );
  await assertUnharmed(h);
});
