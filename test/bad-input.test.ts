/**
 * Bad input against the real router (2 shards, real sockets): every malformed frame gets the exact answer the
 * OCPP-J version prescribes (message type, id, wire error code) or none, every transport violation the exact close
 * code, and every refused handshake the exact HTTP status, with the counters the shard keeps.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import WebSocket from 'ws';
import { startTestServer, TestStation, waitFor, type TestServer } from './helpers/server.js';
import { sampleRequest } from './helpers/schema-samples.js';
import { hashPassword } from '../src/config/password-hash.js';
import type { OcppVersion } from '../src/protocol/versions.js';
import { isBun } from '../src/transport/runtime.js';

/** A missing answer fails the test instead of hanging the run. */
const LIMIT = { timeout: 30_000 };

const VERSIONS: OcppVersion[] = ['ocpp1.6', 'ocpp2.0.1', 'ocpp2.1'];

/** Wire spellings per version (OCPP-J 1.6 Table 7 with its misspellings; 2.0.1/2.1 Part 4 §4.3). */
function wire(version: OcppVersion) {
  const v16 = version === 'ocpp1.6';
  return {
    framework: v16 ? 'FormationViolation' : 'RpcFrameworkError',
    format: v16 ? 'FormationViolation' : 'FormatViolation',
    occurrence: v16 ? 'OccurenceConstraintViolation' : 'OccurrenceConstraintViolation',
    type: 'TypeConstraintViolation',
    property: 'PropertyConstraintViolation',
  };
}

let seq = 0;
function identityFor(prefix: string): string {
  return `${prefix}-${process.pid}-${++seq}`;
}

async function connect(h: TestServer, version: OcppVersion, t: { after(fn: () => unknown): void }, prefix = 'bad'): Promise<TestStation> {
  const station = await TestStation.connect(h.url(identityFor(prefix)), [version]);
  t.after(() => station.close());
  assert.equal(station.ws.protocol, version);
  return station;
}

/** Asserts `frame` is exactly a CALLERROR [4, id, code, description, details]. */
function assertCallError(frame: unknown, id: string, code: string, what: string): void {
  assert.ok(Array.isArray(frame), `${what}: answer is an array`);
  assert.equal(frame.length, 5, `${what}: CALLERROR has 5 elements`);
  assert.equal(frame[0], 4, `${what}: message type`);
  assert.equal(frame[1], id, `${what}: message id`);
  assert.equal(frame[2], code, `${what}: error code`);
  assert.equal(typeof frame[3], 'string', `${what}: description`);
  assert.ok((frame[3] as string).length <= 255, `${what}: description ≤ 255`);
  assert.ok(frame[4] !== null && typeof frame[4] === 'object' && !Array.isArray(frame[4]), `${what}: details object`);
}

/**
 * Sends `text` and then a valid Heartbeat probe: the first frame that comes back must be the probe's answer,
 * which proves `text` got no answer (a station's frames are handled in arrival order).
 */
async function assertNoAnswer(station: TestStation, text: string, what: string): Promise<void> {
  const first = station.next();
  const probeId = `probe-${++seq}`;
  station.ws.send(text);
  const probe = station.call('Heartbeat', {}, probeId);
  const frame = (await first) as unknown[];
  assert.equal(frame[1], probeId, `${what}: no answer before the probe's (got ${JSON.stringify(frame)})`);
  assert.equal(frame[0], 3, `${what}: probe answered with CALLRESULT`);
  await probe;
}

/** Counter deltas around `fn`. */
async function counting<T>(h: TestServer, names: string[], fn: () => Promise<T>): Promise<Record<string, number>> {
  const before = await Promise.all(names.map((n) => h.server.counter(n)));
  await fn();
  const after = await Promise.all(names.map((n) => h.server.counter(n)));
  return Object.fromEntries(names.map((n, i) => [n, after[i]! - before[i]!]));
}

// --- frames that cannot be read as an RPC message ---

/** [name, text, id answered, code key, counter kind] for frames answered with a CALLERROR in every version. */
const MALFORMED: Array<[string, string, string, 'framework' | 'format', string]> = [
  ['non-JSON', '[2,"a","Heartbeat",{}', '-1', 'framework', 'notJson'],
  ['JSON object, not an array', '{"id":"a"}', '-1', 'framework', 'notArray'],
  ['JSON string, not an array', '"hello"', '-1', 'framework', 'notArray'],
  ['JSON null', 'null', '-1', 'framework', 'notArray'],
  ['empty array', '[]', '-1', 'framework', 'badMessageType'],
  ['message type is a string', '["2","a1","Heartbeat",{}]', 'a1', 'framework', 'badMessageType'],
  ['message type is not an integer', '[2.5,"a2","Heartbeat",{}]', 'a2', 'framework', 'badMessageType'],
  ['message id is a number', '[2,123,"Heartbeat",{}]', '-1', 'framework', 'badMessageId'],
  ['message id is null', '[2,null,"Heartbeat",{}]', '-1', 'framework', 'badMessageId'],
  ['message id is empty', '[2,"","Heartbeat",{}]', '-1', 'framework', 'badMessageId'],
  ['message id is 37 characters', `[2,"${'i'.repeat(37)}","Heartbeat",{}]`, '-1', 'framework', 'badMessageId'],
  ['CALL with 3 elements', '[2,"a3","Heartbeat"]', 'a3', 'framework', 'badLength'],
  ['CALL with 5 elements', '[2,"a4","Heartbeat",{},{}]', 'a4', 'framework', 'badLength'],
  ['action is a number', '[2,"a5",5,{}]', 'a5', 'framework', 'badAction'],
  ['action is empty', '[2,"a6","",{}]', 'a6', 'framework', 'badAction'],
  ['payload is an array', '[2,"a7","Heartbeat",[]]', 'a7', 'format', 'badPayload'],
  ['payload is a string', '[2,"a8","Heartbeat","{}"]', 'a8', 'format', 'badPayload'],
  ['payload is null', '[2,"a9","Heartbeat",null]', 'a9', 'format', 'badPayload'],
];

test('malformed frames: exact CALLERROR per version, counted by kind', LIMIT, async (t) => {
  const h = await startTestServer();
  t.after(() => h.stop());
  for (const version of VERSIONS) {
    await t.test(version, async (t) => {
      const station = await connect(h, version, t);
      const codes = wire(version);
      for (const [name, text, id, codeKey, kind] of MALFORMED) {
        const delta = await counting(h, [`badFrames.${kind}`], async () => {
          const answer = await station.sendRaw(text, id);
          assertCallError(answer, id, codes[codeKey], `${version} ${name}`);
          // A good frame after each bad one keeps the bad-in-a-row count below the limit.
          assert.equal((await station.call('Heartbeat', {}))[0], 3);
        });
        assert.deepEqual(delta, { [`badFrames.${kind}`]: 1 }, `${version} ${name} counted`);
      }
      assert.equal(station.ws.readyState, WebSocket.OPEN);
    });
  }
});

test('id of exactly 36 characters is accepted', LIMIT, async (t) => {
  const h = await startTestServer();
  t.after(() => h.stop());
  for (const version of VERSIONS) {
    const station = await connect(h, version, t);
    const id = 'i'.repeat(36);
    const answer = await station.call('Heartbeat', {}, id);
    assert.equal(answer[0], 3, version);
    assert.equal(answer[1], id, version);
  }
});

test('unknown message types: 2.x answers MessageTypeNotSupported with the id; 1.6 ignores them', LIMIT, async (t) => {
  const h = await startTestServer();
  t.after(() => h.stop());
  await t.test('ocpp1.6 ignores 0, 1, 5, 6, 7, 99', async (t) => {
    const station = await connect(h, 'ocpp1.6', t);
    for (const type of [0, 1, 5, 6, 7, 99]) {
      const delta = await counting(h, ['badFrames.unsupportedMessageType'], () =>
        assertNoAnswer(station, JSON.stringify([type, `u${type}`, 'Heartbeat', {}]), `1.6 type ${type}`),
      );
      assert.deepEqual(delta, { 'badFrames.unsupportedMessageType': 1 });
    }
  });
  const cases: Array<[OcppVersion, number[]]> = [
    ['ocpp2.0.1', [0, 1, 5, 6, 7, 99]],
    ['ocpp2.1', [0, 1, 7, 99]],
  ];
  for (const [version, types] of cases) {
    await t.test(`${version} answers ${types.join(', ')}`, async (t) => {
      const station = await connect(h, version, t);
      for (const type of types) {
        const id = `u${type}`;
        const answer = await station.sendRaw(JSON.stringify([type, id, 'Heartbeat', {}]), id);
        assertCallError(answer, id, 'MessageTypeNotSupported', `${version} type ${type}`);
      }
      // Unreadable id with an unknown type: answered with "-1".
      assertCallError(await station.sendRaw('[9,42]', '-1'), '-1', 'MessageTypeNotSupported', `${version} type 9 id 42`);
      assert.equal(await h.server.counter('badFrames.unsupportedMessageType') >= types.length + 1, true);
    });
  }
});

// --- well-formed CALLs the router cannot accept ---

interface SchemaCase {
  name: string;
  action: string;
  payload: Record<string, unknown>;
  code: keyof ReturnType<typeof wire>;
}

function schemaCases(version: OcppVersion): SchemaCase[] {
  if (version === 'ocpp1.6') {
    const boot = { chargePointVendor: 'v', chargePointModel: 'm' };
    return [
      { name: 'missing required property', action: 'BootNotification', payload: { chargePointVendor: 'v' }, code: 'occurrence' },
      { name: 'wrong type', action: 'BootNotification', payload: { ...boot, chargePointVendor: 5 }, code: 'type' },
      { name: 'additional property', action: 'BootNotification', payload: { ...boot, extra: 1 }, code: 'format' },
      { name: 'string too long (CiString20)', action: 'BootNotification', payload: { ...boot, chargePointVendor: 'x'.repeat(21) }, code: 'type' },
      { name: 'bad enum value', action: 'StatusNotification', payload: { connectorId: 0, errorCode: 'NoError', status: 'Bogus' }, code: 'property' },
      { name: 'bad date-time', action: 'StatusNotification', payload: { connectorId: 0, errorCode: 'NoError', status: 'Available', timestamp: 'yesterday' }, code: 'type' },
    ];
  }
  const boot = { reason: 'PowerUp', chargingStation: { model: 'm', vendorName: 'v' } };
  return [
    { name: 'missing required property', action: 'BootNotification', payload: { reason: 'PowerUp' }, code: 'occurrence' },
    { name: 'wrong type', action: 'BootNotification', payload: { ...boot, chargingStation: { model: 5, vendorName: 'v' } }, code: 'type' },
    { name: 'additional property', action: 'BootNotification', payload: { ...boot, extra: 1 }, code: 'format' },
    { name: 'string too long (string[0..20])', action: 'BootNotification', payload: { ...boot, chargingStation: { model: 'x'.repeat(21), vendorName: 'v' } }, code: 'type' },
    { name: 'bad enum value', action: 'BootNotification', payload: { ...boot, reason: 'Bogus' }, code: 'property' },
    { name: 'bad date-time', action: 'StatusNotification', payload: { timestamp: 'yesterday', connectorStatus: 'Available', evseId: 1, connectorId: 1 }, code: 'type' },
  ];
}

test('well-formed CALLs that are refused: unknown action, central-system action, schema violations', LIMIT, async (t) => {
  const h = await startTestServer();
  t.after(() => h.stop());
  for (const version of VERSIONS) {
    await t.test(version, async (t) => {
      const station = await connect(h, version, t);
      const codes = wire(version);
      const delta = await counting(h, ['callsRejected.NotImplemented', 'callsRejected.NotSupported'], async () => {
        assertCallError(await station.call('FooBar', {}, 'c1'), 'c1', 'NotImplemented', `${version} unknown action`);
        // Reset is sent by the central system in every version.
        assertCallError(await station.call('Reset', { type: version === 'ocpp1.6' ? 'Soft' : 'Immediate' }, 'c2'), 'c2', 'NotSupported', `${version} central action`);
        // Action names are case-sensitive.
        assertCallError(await station.call('heartbeat', {}, 'c3'), 'c3', 'NotImplemented', `${version} lower-case action`);
      });
      assert.deepEqual(delta, { 'callsRejected.NotImplemented': 2, 'callsRejected.NotSupported': 1 });
      for (const c of schemaCases(version)) {
        const id = `s-${++seq}`;
        assertCallError(await station.call(c.action, c.payload, id), id, codes[c.code], `${version} ${c.name}`);
      }
      // Schema violations are well-formed frames: they never count toward the bad-in-a-row limit.
      assert.equal(station.ws.readyState, WebSocket.OPEN);
      const boot = await station.call('BootNotification', sampleRequest(version, 'BootNotification'));
      assert.equal(boot[0], 3);
    });
  }
});

// --- answers the router is not waiting for ---

test('CALLRESULT / CALLERROR with an unknown id: no answer, counted as strayResults.unknown', LIMIT, async (t) => {
  const h = await startTestServer();
  t.after(() => h.stop());
  for (const version of VERSIONS) {
    await t.test(version, async (t) => {
      const station = await connect(h, version, t);
      const delta = await counting(h, ['strayResults.unknown'], async () => {
        await assertNoAnswer(station, '[3,"nobody-asked",{}]', `${version} CALLRESULT`);
        await assertNoAnswer(station, '[4,"nobody-asked","GenericError","",{}]', `${version} CALLERROR`);
      });
      assert.deepEqual(delta, { 'strayResults.unknown': 2 });
    });
  }
});

test('broken CALLRESULT / CALLERROR frames are never answered with a CALLERROR (2.1: CALLRESULTERROR)', LIMIT, async (t) => {
  const h = await startTestServer();
  t.after(() => h.stop());
  for (const version of VERSIONS) {
    await t.test(version, async (t) => {
      const station = await connect(h, version, t);
      const broken = ['[4,"e1","GenericError"]', '[4,"e2",5,"",{}]', '[4,"e3","GenericError","",[]]', '[4,123,"GenericError","",{}]'];
      for (const text of broken) await assertNoAnswer(station, text, `${version} ${text}`);
      const brokenResults = ['[3,"r1"]', '[3,"r2",[]]', '[3,123,{}]'];
      if (version === 'ocpp2.1') {
        // 2.1 Part 4 §4.2.4: a CALLRESULT that cannot be read is answered with CALLRESULTERROR (type 5).
        const a = (await station.sendRaw(brokenResults[0]!, 'r1')) as unknown[];
        assert.deepEqual([a[0], a[1], a[2], a.length], [5, 'r1', 'RpcFrameworkError', 5]);
        const b = (await station.sendRaw(brokenResults[1]!, 'r2')) as unknown[];
        assert.deepEqual([b[0], b[1], b[2], b.length], [5, 'r2', 'FormatViolation', 5]);
        // Unreadable id: "-1", as for a CALLERROR (2.1 Part 4 §4.2.3).
        const c = (await station.sendRaw(brokenResults[2]!, '-1')) as unknown[];
        assert.deepEqual([c[0], c[1], c[2], c.length], [5, '-1', 'RpcFrameworkError', 5]);
      } else {
        for (const text of brokenResults) await assertNoAnswer(station, text, `${version} ${text}`);
      }
    });
  }
});

test('2.1 SEND (type 6): never answered; CALLRESULTERROR from the station is not answered', LIMIT, async (t) => {
  const h = await startTestServer();
  t.after(() => h.stop());
  const station = await connect(h, 'ocpp2.1', t);
  const stream = sampleRequest('ocpp2.1', 'NotifyPeriodicEventStream');
  const delta = await counting(h, ['framesIn.6', 'callsRejected.NotSupported', 'callsRejected.OccurrenceConstraintViolation', 'badFrames.badLength'], async () => {
    await assertNoAnswer(station, JSON.stringify([6, 'send1', 'NotifyPeriodicEventStream', stream]), 'valid SEND');
    // A CALL action sent as SEND: rejected (NotSupported) but a SEND is never answered.
    await assertNoAnswer(station, JSON.stringify([6, 'send2', 'Heartbeat', {}]), 'Heartbeat as SEND');
    // Schema violation in a SEND: not answered either.
    await assertNoAnswer(station, JSON.stringify([6, 'send3', 'NotifyPeriodicEventStream', {}]), 'invalid SEND');
    // A malformed SEND gets no CALLERROR.
    await assertNoAnswer(station, JSON.stringify([6, 'send4', 'NotifyPeriodicEventStream']), 'SEND with 3 elements');
    await assertNoAnswer(station, '[5,"cre1","GenericError","bad result",{}]', 'CALLRESULTERROR from the station');
  });
  assert.deepEqual(delta, {
    'framesIn.6': 3,
    'callsRejected.NotSupported': 1,
    'callsRejected.OccurrenceConstraintViolation': 1,
    'badFrames.badLength': 1,
  });
  // The SEND-only message sent as CALL is refused with NotSupported.
  assertCallError(await station.call('NotifyPeriodicEventStream', stream, 'c-send'), 'c-send', 'NotSupported', 'SEND-only action as CALL');
});

// --- transport violations and policy closes ---

test('binary frame → close 1003', LIMIT, async (t) => {
  const h = await startTestServer();
  t.after(() => h.stop());
  for (const version of VERSIONS) {
    const station = await connect(h, version, t);
    const delta = await counting(h, ['badFrames.binary'], async () => {
      station.ws.send(Buffer.from(JSON.stringify([2, 'b', 'Heartbeat', {}])), { binary: true });
      assert.equal((await station.closed).code, 1003, version);
    });
    assert.deepEqual(delta, { 'badFrames.binary': 1 });
  }
});

test('text frame with invalid UTF-8: counted as a bad frame, recorded as 1007 (not as an abnormal loss)', LIMIT, async (t) => {
  const h = await startTestServer();
  t.after(() => h.stop());
  const delta = await counting(h, ['badFrames.invalidUtf8', 'disconnects.invalidPayload', 'disconnects.abnormal'], async () => {
    const station = await TestStation.connect(h.url('UTF8-BAD'), ['ocpp1.6']);
    // A text frame whose bytes are not UTF-8 ("[\xff\xfe]"); ws sends the bytes as they are.
    station.ws.send(Buffer.from([0x5b, 0xff, 0xfe, 0x5d]), { binary: false });
    await station.closed;
    await waitFor(() => h.server.station('UTF8-BAD')?.connected === false, 5000, 'disconnect recorded');
  });
  assert.deepEqual(delta, { 'badFrames.invalidUtf8': 1, 'disconnects.invalidPayload': 1, 'disconnects.abnormal': 0 });
  assert.deepEqual(h.server.station('UTF8-BAD')!.lastDisconnect, { code: 1007, reason: 'text frame with invalid UTF-8' });
});

test('frame over maxFrameBytes → close 1009; a frame at the limit is accepted', LIMIT, async (t) => {
  const h = await startTestServer({ ocpp: { maxFrameBytes: 2048 } });
  t.after(() => h.stop());
  for (const version of VERSIONS) {
    const station = await connect(h, version, t);
    // DataTransfer (both directions, free-form data) padded to exactly 2048 bytes.
    const base = version === 'ocpp1.6' ? { vendorId: 'v', data: '' } : { vendorId: 'v', data: '' };
    const frame = (pad: number): string => JSON.stringify([2, 'big', 'DataTransfer', { ...base, data: 'x'.repeat(pad) }]);
    const empty = Buffer.byteLength(frame(0));
    const atLimit = frame(2048 - empty);
    assert.equal(Buffer.byteLength(atLimit), 2048);
    const answer = (await station.sendRaw(atLimit, 'big')) as unknown[];
    assert.equal(answer[0], 3, `${version} frame of exactly maxFrameBytes is handled`);
    const delta = await counting(h, ['badFrames.oversize'], async () => {
      station.ws.send(frame(2049 - empty));
      assert.equal((await station.closed).code, 1009, version);
    });
    assert.deepEqual(delta, { 'badFrames.oversize': 1 });
  }
});

test('maxBadMessagesInRow bad frames in a row → close 1008; a good frame in between resets the count', LIMIT, async (t) => {
  const h = await startTestServer({ ocpp: { maxBadMessagesInRow: 3 } });
  t.after(() => h.stop());
  for (const version of VERSIONS) {
    await t.test(version, async (t) => {
      const station = await connect(h, version, t);
      const codes = wire(version);
      // bad, bad, good, bad, bad, good: never 3 in a row.
      for (let round = 0; round < 2; round++) {
        for (let i = 0; i < 2; i++) assertCallError(await station.sendRaw('not json'), '-1', codes.framework, `${version} round ${round}`);
        assert.equal((await station.call('Heartbeat', {}))[0], 3);
      }
      // A schema violation is a good frame too (well-formed RPC): it resets the count.
      for (let i = 0; i < 2; i++) await station.sendRaw('not json');
      assertCallError(await station.call('BootNotification', {}, 'sv'), 'sv', codes.occurrence, version);
      assert.equal(station.ws.readyState, WebSocket.OPEN);
      const delta = await counting(h, ['policyCloses.badMessages'], async () => {
        for (let i = 0; i < 3; i++) station.ws.send('not json');
        assert.equal((await station.closed).code, 1008);
      });
      assert.deepEqual(delta, { 'policyCloses.badMessages': 1 });
      // The three bad frames were answered before the close.
      const errors = station.received.filter((f) => Array.isArray(f) && f[0] === 4 && f[1] === '-1');
      assert.equal(errors.length, 2 * 2 + 2 + 3);
    });
  }
  await t.test('ocpp1.6: ignored unknown message types count as bad frames too', async (t) => {
    const station = await connect(h, 'ocpp1.6', t);
    for (let i = 0; i < 3; i++) station.ws.send(`[7,"x${i}",{}]`);
    assert.equal((await station.closed).code, 1008);
    assert.deepEqual(station.received, []);
  });
});

test('CALLs pipelined without waiting are answered one at a time, in arrival order', LIMIT, async (t) => {
  const h = await startTestServer();
  t.after(() => h.stop());
  for (const version of VERSIONS) {
    const station = await connect(h, version, t);
    const ids = Array.from({ length: 50 }, (_, i) => `p${i}`);
    const answers = Promise.all(ids.map((id, i) => {
      // Mix actions so the order is not an artefact of one handler.
      const text = i % 3 === 0 ? JSON.stringify([2, id, 'FooBar', {}]) : JSON.stringify([2, id, 'Heartbeat', {}]);
      return station.sendRaw(text, id);
    }));
    await answers;
    const order = station.received.filter((f): f is unknown[] => Array.isArray(f)).map((f) => f[1]);
    assert.deepEqual(order, ids, `${version} answer order`);
    const types = station.received.map((f) => (f as unknown[])[0]);
    assert.deepEqual(types, ids.map((_, i) => (i % 3 === 0 ? 4 : 3)));
  }
});

// --- handshake refusals ---

interface UpgradeOutcome {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /**
   * For a 101 without a subprotocol: the close code the server sent first, or null when the socket ended without
   * one. null for a 101 with a subprotocol (the connection is dropped at once).
   */
  closeCode: number | null;
}

/** A raw WebSocket upgrade (node:http), so refusals and protocol-less 101s can be inspected exactly. */
function rawUpgrade(port: number, path: string, headers: Record<string, string> = {}): Promise<UpgradeOutcome> {
  return new Promise((resolve, reject) => {
    const req = request({
      host: '127.0.0.1',
      port,
      path,
      headers: { Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Version': '13', 'Sec-WebSocket-Key': randomBytes(16).toString('base64'), ...headers },
    });
    req.on('error', reject);
    req.on('response', (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, closeCode: null }));
    });
    req.on('upgrade', (res, socket: Socket, head: Buffer) => {
      let data = head;
      const done = (code: number | null): void => {
        socket.destroy();
        resolve({ status: res.statusCode!, headers: res.headers, closeCode: code });
      };
      const check = (): void => {
        // Server frames are unmasked: [0x88, len, code hi, code lo, reason...].
        if (data.length >= 4 && data[0] === 0x88) done(data.readUInt16BE(2));
        else if (data.length >= 2 && data[0] !== 0x88) done(-data[0]!);
      };
      socket.on('data', (chunk: Buffer) => {
        data = Buffer.concat([data, chunk]);
        check();
      });
      socket.on('end', () => done(null));
      // Accepted with a subprotocol: the server keeps the connection; nothing more to wait for.
      if (res.headers['sec-websocket-protocol'] !== undefined) done(null);
      else check();
    });
    req.end();
  });
}

test('handshake: bad identity → 400, wrong path → 404, before the upgrade', LIMIT, async (t) => {
  const h = await startTestServer();
  t.after(() => h.stop());
  const p = h.config.ocpp.path;
  const offer = { 'Sec-WebSocket-Protocol': 'ocpp1.6' };
  const badIdentity: Array<[string, string]> = [
    ['space', `${p}/CP%201`],
    ['slash encoded', `${p}/CP%2F1`],
    ['colon (Basic auth separator)', `${p}/CP%3A1`],
    ['non-ASCII', `${p}/CP%C3%A91`],
    ['invalid percent-encoding', `${p}/CP%ZZ`],
    ['longer than maxIdentityLength (48)', `${p}/${'a'.repeat(49)}`],
    ['empty identity', `${p}/`],
    ['empty identity (double slash)', `${p}//`],
    ['empty identity after an account', `${p}/acme//`],
    ['bad account', `${p}/ac%20me/CP1`],
    // URL dot segments: no API URL can address them (clients resolve them away).
    ['dot-dot after an account', `${p}/CP1/..`],
    ['dot-dot', `${p}/..`],
    ['dot-dot percent-encoded', `${p}/%2e%2e`],
    ['dot-dot percent-encoded, upper case', `${p}/%2E%2E`],
    ['dot', `${p}/.`],
    ['dot percent-encoded', `${p}/%2e`],
    ['dot as the account', `${p}/./CP1`],
    ['dot-dot as the account', `${p}/%2e%2e/CP1`],
  ];
  // Bun resolves dot segments (also %2e) before the router sees the path (docs/architecture.md, transport
  // adapters): `/ocpp/./CP1` arrives as `/ocpp/CP1`, so no identity can be a dot segment there either.
  for (const [name, path] of badIdentity.filter(([name]) => !(isBun && name.startsWith('dot')))) {
    const delta = await counting(h, ['upgradesRefused.badIdentity'], async () => {
      const outcome = await rawUpgrade(h.port, path, offer);
      assert.equal(outcome.status, 400, name);
    });
    assert.deepEqual(delta, { 'upgradesRefused.badIdentity': 1 }, name);
  }
  // The longest allowed identity (48) and every allowed special character connect.
  for (const identity of ['a'.repeat(48), 'A-z_0.9*=+|@', '...', '.a', 'a..']) {
    const outcome = await rawUpgrade(h.port, `${p}/${encodeURIComponent(identity)}`, offer);
    assert.equal(outcome.status, 101, identity);
  }
  const badPath = await counting(h, ['upgradesRefused.badPath'], async () => {
    assert.equal((await rawUpgrade(h.port, `${p}/a/b/c`, offer)).status, 404, 'three segments');
  });
  assert.deepEqual(badPath, { 'upgradesRefused.badPath': 1 });
  assert.equal((await rawUpgrade(h.port, '/other/CP1', offer)).status, 404, 'outside the station path');
  assert.equal((await rawUpgrade(h.port, `${p}x/CP1`, offer)).status, 404, 'prefix of the path only');
});

test('handshake: no acceptable subprotocol → 101 without the header, then close 1002', LIMIT, async (t) => {
  const h = await startTestServer();
  t.after(() => h.stop());
  const p = h.config.ocpp.path;
  const cases: Array<[string, Record<string, string>]> = [
    ['none offered', {}],
    ['only unsupported ones', { 'Sec-WebSocket-Protocol': 'ocpp1.5, ocpp2.0' }],
    ['empty header', { 'Sec-WebSocket-Protocol': '' }],
  ];
  for (const [name, headers] of cases) {
    const delta = await counting(h, ['upgradesRefused.subprotocol', 'connects'], async () => {
      const outcome = await rawUpgrade(h.port, `${p}/${identityFor('np')}`, headers);
      assert.equal(outcome.status, 101, name);
      assert.equal(outcome.headers['sec-websocket-protocol'], undefined, `${name}: no protocol header`);
      assert.equal(outcome.closeCode, 1002, name);
    });
    assert.deepEqual(delta, { 'upgradesRefused.subprotocol': 1, connects: 0 }, name);
  }
});

test('handshake: defaultVersion accepts a client without subprotocol; server preference picks the version', LIMIT, async (t) => {
  const h = await startTestServer({ ocpp: { defaultVersion: 'ocpp1.6' } });
  t.after(() => h.stop());
  const identity = identityFor('def');
  const plain = await TestStation.connect(h.url(identity), []);
  t.after(() => plain.close());
  assert.equal(plain.ws.protocol, '');
  // A 1.6-only payload is valid: the session speaks 1.6.
  const boot = await plain.call('BootNotification', { chargePointVendor: 'v', chargePointModel: 'm' });
  assert.equal(boot[0], 3);
  await waitFor(() => h.server.station(identity)?.version === 'ocpp1.6', 5000, 'registry version');
  // An unsupported-only offer is still refused even with a default version.
  const outcome = await rawUpgrade(h.port, `${h.config.ocpp.path}/${identityFor('def')}`, { 'Sec-WebSocket-Protocol': 'ocpp1.5' });
  assert.equal(outcome.closeCode, 1002);

  // Default preference is ocpp2.1, ocpp2.0.1, ocpp1.6, whatever order the client lists them in.
  for (const [offer, expected] of [
    [['ocpp1.6', 'ocpp2.1'], 'ocpp2.1'],
    [['ocpp1.6', 'ocpp2.0.1'], 'ocpp2.0.1'],
    [['ocpp1.5', 'ocpp1.6'], 'ocpp1.6'],
  ] as const) {
    const station = await TestStation.connect(h.url(identityFor('pref')), [...offer]);
    t.after(() => station.close());
    assert.equal(station.ws.protocol, expected, offer.join(','));
  }
});

test('handshake: configured preference order wins', LIMIT, async (t) => {
  const h = await startTestServer({ ocpp: { subprotocols: ['ocpp1.6', 'ocpp2.1'] } });
  t.after(() => h.stop());
  const station = await TestStation.connect(h.url(identityFor('pref')), ['ocpp2.1', 'ocpp1.6']);
  t.after(() => station.close());
  assert.equal(station.ws.protocol, 'ocpp1.6');
  // 2.0.1 is not configured: refused.
  const outcome = await rawUpgrade(h.port, `${h.config.ocpp.path}/${identityFor('pref')}`, { 'Sec-WebSocket-Protocol': 'ocpp2.0.1' });
  assert.equal(outcome.closeCode, 1002);
});

test('handshake: Basic auth (security profile 1)', LIMIT, async (t) => {
  const hash = await hashPassword('s3cret-Passw0rd');
  const h = await startTestServer({ security: { basicAuth: { enable: true, passwords: { CP1: hash, CP2: hash } } } });
  t.after(() => h.stop());
  const p = h.config.ocpp.path;
  const basic = (user: string, password: string): Record<string, string> => ({
    'Sec-WebSocket-Protocol': 'ocpp1.6',
    Authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`,
  });
  const refusals: Array<[string, string, Record<string, string>]> = [
    ['missing', `${p}/CP1`, { 'Sec-WebSocket-Protocol': 'ocpp1.6' }],
    ['wrong password', `${p}/CP1`, basic('CP1', 'wrong')],
    ['user is another station', `${p}/CP1`, basic('CP2', 's3cret-Passw0rd')],
    ['unknown station', `${p}/CP3`, basic('CP3', 's3cret-Passw0rd')],
    ['not Basic', `${p}/CP1`, { 'Sec-WebSocket-Protocol': 'ocpp1.6', Authorization: 'Bearer abc' }],
    ['no colon', `${p}/CP1`, { 'Sec-WebSocket-Protocol': 'ocpp1.6', Authorization: `Basic ${Buffer.from('CP1').toString('base64')}` }],
  ];
  for (const [name, path, headers] of refusals) {
    const delta = await counting(h, ['upgradesRefused.auth'], async () => {
      const outcome = await rawUpgrade(h.port, path, headers);
      assert.equal(outcome.status, 401, name);
      assert.match(String(outcome.headers['www-authenticate']), /^Basic realm=/, name);
    });
    assert.deepEqual(delta, { 'upgradesRefused.auth': 1 }, name);
  }
  // The right password connects (twice: the second time from the verified cache).
  for (let i = 0; i < 2; i++) {
    const station = await TestStation.connect(h.url('CP1'), ['ocpp1.6'], { headers: { Authorization: basic('CP1', 's3cret-Passw0rd').Authorization! } });
    assert.equal(station.ws.protocol, 'ocpp1.6');
    assert.equal((await station.call('Heartbeat', {}))[0], 3);
    await station.close();
  }
  // ws builds the header itself from user:password in the URL.
  const viaUrl = await TestStation.connect(`ws://CP2:s3cret-Passw0rd@127.0.0.1:${h.port}${p}/CP2`, ['ocpp1.6']);
  await viaUrl.close();
  // A refused upgrade gives its admission slot back: no slot leaks after the refusals above.
  await waitFor(async () => (await h.server.counter('connects')) === 3, 5000, 'three connects');
});

test('admission: maxStations → 503 with Retry-After; a slot frees when a station leaves', LIMIT, async (t) => {
  const h = await startTestServer({ admission: { maxStations: 2, retryAfterS: 7 } });
  t.after(() => h.stop());
  const p = h.config.ocpp.path;
  const a = await TestStation.connect(h.url(identityFor('adm')), ['ocpp1.6']);
  const b = await TestStation.connect(h.url(identityFor('adm')), ['ocpp1.6']);
  t.after(() => a.close());
  t.after(() => b.close());
  // Several attempts: both shards see the shared cap.
  for (let i = 0; i < 4; i++) {
    const delta = await counting(h, ['upgradesRefused.limit'], async () => {
      const outcome = await rawUpgrade(h.port, `${p}/${identityFor('adm')}`, { 'Sec-WebSocket-Protocol': 'ocpp1.6' });
      assert.equal(outcome.status, 503);
      assert.equal(outcome.headers['retry-after'], '7');
    });
    assert.deepEqual(delta, { 'upgradesRefused.limit': 1 });
  }
  // Protocol-less connections never take a slot.
  assert.equal((await rawUpgrade(h.port, `${p}/${identityFor('adm')}`)).closeCode, 1002);
  await a.close();
  const c = await waitFor(async () => {
    try {
      return await TestStation.connect(h.url(identityFor('adm')), ['ocpp1.6']);
    } catch (error) {
      if ((error as { statusCode?: number }).statusCode === 503) return null;
      throw error;
    }
  }, 5000, 'a free slot after a disconnect');
  t.after(() => c.close());
  assert.equal(c.ws.protocol, 'ocpp1.6');
});

test('admission: acceptRatePerS → 503 with reason rate and Retry-After', LIMIT, async (t) => {
  // 1 upgrade/s over 2 shards, burst 2: each shard accepts one at once, then one every 2 s.
  const h = await startTestServer({ admission: { acceptRatePerS: 1, acceptBurst: 2 } });
  t.after(() => h.stop());
  const p = h.config.ocpp.path;
  const outcomes = await Promise.all(Array.from({ length: 6 }, () => rawUpgrade(h.port, `${p}/${identityFor('rate')}`, { 'Sec-WebSocket-Protocol': 'ocpp1.6' })));
  const refused = outcomes.filter((o) => o.status === 503);
  const accepted = outcomes.filter((o) => o.status === 101);
  assert.equal(refused.length + accepted.length, 6);
  assert.ok(accepted.length >= 1 && accepted.length <= 2, `accepted ${accepted.length}`);
  for (const o of refused) {
    const retry = Number(o.headers['retry-after']);
    assert.ok(Number.isInteger(retry) && retry >= 1, `Retry-After ${o.headers['retry-after']}`);
  }
  assert.equal(await h.server.counter('upgradesRefused.rate'), refused.length);
  assert.equal(await h.server.counter('upgradesRefused.limit'), 0);
});
