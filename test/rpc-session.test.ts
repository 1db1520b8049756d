/** RpcSession without sockets: a fake transport, a scriptable backend, the real validators. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RpcSession, type SessionContext, type SessionHooks, type SessionOptions, type SessionTransport } from '../src/protocol/ocpp-j/rpc-session.js';
import { createValidatorLookup } from '../src/protocol/validation/registry.js';
import type { Backend, BackendReply, InboundCall } from '../src/protocol/backend.js';
import { RouterError, ErrorCode } from '../src/protocol/errors.js';
import type { OcppVersion } from '../src/protocol/versions.js';
import { sampleRequest, sampleResponse, type SampleVersion } from './helpers/schema-samples.js';

class FakeTransport implements SessionTransport {
  sent: unknown[][] = [];
  closes: Array<{ code: number; reason: string }> = [];
  open = true;
  send(text: string): boolean {
    if (!this.open) return false;
    this.sent.push(JSON.parse(text) as unknown[]);
    return true;
  }
  close(code: number, reason: string): void {
    this.closes.push({ code, reason });
    this.open = false;
  }
}

/** A backend whose answer per call is decided by the test; records every call it gets. */
class FakeBackend implements Backend {
  readonly name = 'fake';
  calls: InboundCall[] = [];
  reply: (call: InboundCall) => BackendReply | Promise<BackendReply> = (call) => ({ kind: 'result', payload: sampleResponse(call.station.version as SampleVersion, call.action) });
  handleCall(call: InboundCall): BackendReply | Promise<BackendReply> {
    this.calls.push(call);
    return this.reply(call);
  }
}

type Event = [string, ...unknown[]];

function setup(version: OcppVersion, options: Partial<SessionOptions> = {}) {
  const transport = new FakeTransport();
  const backend = new FakeBackend();
  const events: Event[] = [];
  const hooks: SessionHooks = {
    badFrame: (_s, f) => events.push(['badFrame', f.kind]),
    callRejected: (_s, action, code, reason) => events.push(['callRejected', action, code, reason]),
    invalidReply: (_s, action, issues) => events.push(['invalidReply', action, issues.length > 0]),
    outboundDone: (_s, action, outcome) => events.push(['outboundDone', action, outcome]),
    strayResult: (_s, kind) => events.push(['strayResult', kind]),
    closedForPolicy: (_s, reason) => events.push(['closedForPolicy', reason]),
  };
  let n = 0;
  const ctx: SessionContext = {
    options: { maxPayloadDepth: 32, inboundQueueMax: 10, outboundQueueMax: 10, callTimeoutMs: 30_000, maxBadMessagesInRow: 5, rejectCallsBeforeAccepted: true, ...options },
    backend,
    lookup: createValidatorLookup(),
    hooks,
    nextMessageId: () => `out-${++n}`,
  };
  const session = new RpcSession(ctx, transport, { identity: 'CP1', account: null, version, connId: 1, remoteAddress: '127.0.0.1' });
  const of = (name: string): Event[] => events.filter((e) => e[0] === name);
  return { session, transport, backend, events, of, ctx };
}

function deferred<T>(): { promise: Promise<T>; resolve(v: T): void } {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

const flush = (): Promise<void> => new Promise((r) => setImmediate(r));

function rejectsWith(promise: Promise<unknown>, code: ErrorCode): Promise<void> {
  return assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof RouterError, String(error));
    assert.equal(error.code, code);
    return true;
  });
}

test('inbound CALLs with an async backend: one at a time, answered in arrival order', async () => {
  const { session, transport, backend } = setup('ocpp1.6');
  const pending: Array<{ resolve(v: BackendReply): void }> = [];
  backend.reply = () => {
    const d = deferred<BackendReply>();
    pending.push(d);
    return d.promise;
  };
  for (const id of ['a', 'b', 'c']) session.receive(JSON.stringify([2, id, 'Heartbeat', {}]));
  assert.deepEqual(backend.calls.map((c) => c.uniqueId), ['a'], 'only the first CALL reaches the backend');
  assert.equal(session.busy, true);
  pending[0]!.resolve({ kind: 'result', payload: { currentTime: '2025-01-01T00:00:00Z' } });
  await flush();
  assert.deepEqual(transport.sent.map((f) => f[1]), ['a']);
  assert.deepEqual(backend.calls.map((c) => c.uniqueId), ['a', 'b']);
  // A frame that arrives while b is handled queues behind c.
  session.receive(JSON.stringify([2, 'd', 'Heartbeat', {}]));
  pending[1]!.resolve({ kind: 'result', payload: { currentTime: '2025-01-01T00:00:00Z' } });
  await flush();
  pending[2]!.resolve({ kind: 'error', code: 'GenericError', description: 'no' });
  await flush();
  pending[3]!.resolve({ kind: 'result', payload: { currentTime: '2025-01-01T00:00:00Z' } });
  await flush();
  assert.deepEqual(transport.sent.map((f) => [f[0], f[1]]), [[3, 'a'], [3, 'b'], [4, 'c'], [3, 'd']]);
  assert.equal(session.busy, false);
});

test('a synchronous backend answers each CALL before the next frame is read', () => {
  const { session, transport } = setup('ocpp2.0.1');
  for (let i = 0; i < 20; i++) session.receive(JSON.stringify([2, `m${i}`, 'Heartbeat', {}]));
  assert.deepEqual(transport.sent.map((f) => f[1]), Array.from({ length: 20 }, (_, i) => `m${i}`));
  assert.equal(session.busy, false);
});

test('inbound queue bound: one over inboundQueueMax closes with 1008', async () => {
  const { session, transport, backend, of } = setup('ocpp1.6', { inboundQueueMax: 2 });
  backend.reply = () => new Promise(() => {});
  for (const id of ['a', 'b', 'c']) session.receive(JSON.stringify([2, id, 'Heartbeat', {}]));
  assert.equal(transport.closes.length, 0, 'one in the backend + 2 queued is within the bound');
  session.receive(JSON.stringify([2, 'd', 'Heartbeat', {}]));
  assert.equal(transport.closes.length, 1);
  assert.equal(transport.closes[0]!.code, 1008);
  assert.deepEqual(of('closedForPolicy'), [['closedForPolicy', 'inboundQueueFull']]);
  assert.equal(session.closed, true);
  // Nothing more is read or sent after the close.
  session.receive(JSON.stringify([2, 'e', 'Heartbeat', {}]));
  assert.equal(backend.calls.length, 1);
  assert.deepEqual(transport.sent, []);
});

test('inboundQueueMax 0: any CALL while one is handled closes with 1008', () => {
  const { session, transport, backend } = setup('ocpp2.1', { inboundQueueMax: 0 });
  backend.reply = () => new Promise(() => {});
  session.receive(JSON.stringify([2, 'a', 'Heartbeat', {}]));
  session.receive(JSON.stringify([2, 'b', 'Heartbeat', {}]));
  assert.deepEqual(transport.closes.map((c) => c.code), [1008]);
});

test('bad frames: counted in a row, reset by a good frame, close 1008 at the limit', () => {
  const { session, transport, of } = setup('ocpp2.0.1', { maxBadMessagesInRow: 3 });
  session.receive('x');
  session.receive('x');
  session.receive('[3,"nobody",{}]'); // well-formed: resets
  session.receive('x');
  session.receive('x');
  assert.equal(transport.closes.length, 0);
  session.receive('x');
  assert.deepEqual(transport.closes.map((c) => c.code), [1008]);
  assert.deepEqual(of('closedForPolicy'), [['closedForPolicy', 'badMessages']]);
  assert.equal(of('badFrame').length, 5);
  assert.deepEqual(transport.sent.map((f) => [f[0], f[1], f[2]]), Array(5).fill([4, '-1', 'RpcFrameworkError']));
  // Transport violations count toward the same limit.
  const other = setup('ocpp1.6', { maxBadMessagesInRow: 2 });
  assert.equal(other.session.noteTransportViolation(), false);
  assert.equal(other.session.noteTransportViolation(), true);
});

test('inbound CALL rejections: unknown action, central action, SEND/CALL mismatch, schema', () => {
  const { session, transport, backend, of } = setup('ocpp2.1');
  session.receive('[2,"u","Nope",{}]');
  session.receive('[2,"c","Reset",{"type":"Immediate"}]');
  session.receive(JSON.stringify([2, 's', 'NotifyPeriodicEventStream', sampleRequest('ocpp2.1', 'NotifyPeriodicEventStream')]));
  session.receive('[6,"h","Heartbeat",{}]');
  session.receive('[2,"v","BootNotification",{}]');
  session.receive('[6,"w","NotifyPeriodicEventStream",{}]');
  assert.equal(backend.calls.length, 0);
  assert.deepEqual(transport.sent.map((f) => [f[0], f[1], f[2]]), [
    [4, 'u', 'NotImplemented'],
    [4, 'c', 'NotSupported'],
    [4, 's', 'NotSupported'],
    [4, 'v', 'OccurrenceConstraintViolation'],
  ]);
  assert.deepEqual(of('callRejected').map((e) => e.slice(2)), [
    ['NotImplemented', 'unknownAction'],
    ['NotSupported', 'notSupported'],
    ['NotSupported', 'notSupported'],
    ['NotSupported', 'notSupported'],
    ['OccurrenceConstraintViolation', 'validation'],
    ['OccurrenceConstraintViolation', 'validation'],
  ]);
  // The schema CALLERROR carries the issue paths in its details.
  const details = transport.sent[3]![4] as { issues: Array<{ path: string; keyword: string }> };
  assert.ok(details.issues.some((i) => i.keyword === 'required'));
  // A valid SEND reaches the backend and is never answered, whatever the backend says.
  session.receive(JSON.stringify([6, 'ok', 'NotifyPeriodicEventStream', sampleRequest('ocpp2.1', 'NotifyPeriodicEventStream')]));
  assert.equal(backend.calls.length, 1);
  assert.equal(transport.sent.length, 4);
});

test('BootNotification Rejected: other CALLs get SecurityError until a later boot is accepted', () => {
  const { session, transport, backend, of } = setup('ocpp1.6');
  let status = 'Rejected';
  backend.reply = (call) =>
    call.action === 'BootNotification'
      ? { kind: 'result', payload: { status, currentTime: '2025-01-01T00:00:00Z', interval: 60 } }
      : { kind: 'result', payload: sampleResponse('ocpp1.6', call.action) };
  session.receive(JSON.stringify([2, 'b1', 'BootNotification', sampleRequest('ocpp1.6', 'BootNotification')]));
  assert.equal(session.bootState, 'Rejected');
  session.receive('[2,"h1","Heartbeat",{}]');
  assert.deepEqual(transport.sent.at(-1)!.slice(0, 3), [4, 'h1', 'SecurityError']);
  assert.deepEqual(of('callRejected').at(-1), ['callRejected', 'Heartbeat', 'SecurityError', 'security']);
  assert.equal(backend.calls.length, 1, 'the Heartbeat never reached the backend');
  status = 'Accepted';
  session.receive(JSON.stringify([2, 'b2', 'BootNotification', sampleRequest('ocpp1.6', 'BootNotification')]));
  assert.equal(session.bootState, 'Accepted');
  session.receive('[2,"h2","Heartbeat",{}]');
  assert.deepEqual(transport.sent.at(-1)!.slice(0, 2), [3, 'h2']);

  // Switched off: CALLs pass even when Rejected.
  const lenient = setup('ocpp2.0.1', { rejectCallsBeforeAccepted: false });
  lenient.backend.reply = (call) =>
    call.action === 'BootNotification'
      ? { kind: 'result', payload: { status: 'Rejected', currentTime: '2025-01-01T00:00:00Z', interval: 60 } }
      : { kind: 'result', payload: sampleResponse('ocpp2.0.1', call.action) };
  lenient.session.receive(JSON.stringify([2, 'b', 'BootNotification', sampleRequest('ocpp2.0.1', 'BootNotification')]));
  lenient.session.receive('[2,"h","Heartbeat",{}]');
  assert.deepEqual(lenient.transport.sent.map((f) => [f[0], f[1]]), [[3, 'b'], [3, 'h']]);
});

test('invalid backend reply → InternalError and the invalidReply hook; throwing/rejecting backends → InternalError', async () => {
  const { session, transport, backend, of } = setup('ocpp2.0.1');
  backend.reply = () => ({ kind: 'result', payload: { currentTime: 'not a date' } });
  session.receive('[2,"a","Heartbeat",{}]');
  assert.deepEqual(transport.sent.at(-1)!.slice(0, 3), [4, 'a', 'InternalError']);
  assert.deepEqual(of('invalidReply'), [['invalidReply', 'Heartbeat', true]]);
  backend.reply = () => {
    throw new Error('boom');
  };
  session.receive('[2,"b","Heartbeat",{}]');
  assert.deepEqual(transport.sent.at(-1)!.slice(0, 3), [4, 'b', 'InternalError']);
  backend.reply = () => Promise.reject(new Error('async boom'));
  session.receive('[2,"c","Heartbeat",{}]');
  await flush();
  assert.deepEqual(transport.sent.at(-1)!.slice(0, 3), [4, 'c', 'InternalError']);
  // A backend error reply keeps its code, spelled for the version.
  const v16 = setup('ocpp1.6');
  v16.backend.reply = () => ({ kind: 'error', code: 'OccurrenceConstraintViolation', description: 'x', details: { why: 1 } });
  v16.session.receive('[2,"d","Heartbeat",{}]');
  assert.deepEqual(v16.transport.sent, [[4, 'd', 'OccurenceConstraintViolation', 'x', { why: 1 }]]);
});

test('outbound: one in flight, the rest queued; results resolve in order', async () => {
  const { session, transport, of } = setup('ocpp1.6');
  const first = session.call('Reset', { type: 'Soft' });
  const second = session.call('ClearCache', {});
  assert.deepEqual(transport.sent, [[2, 'out-1', 'Reset', { type: 'Soft' }]], 'the second waits for the first');
  assert.equal(session.pendingOutbound, 2);
  session.receive('[3,"out-1",{"status":"Accepted"}]');
  assert.deepEqual(await first, { status: 'Accepted' });
  assert.deepEqual(transport.sent.at(-1), [2, 'out-2', 'ClearCache', {}]);
  session.receive('[3,"out-2",{"status":"Rejected"}]');
  assert.deepEqual(await second, { status: 'Rejected' });
  assert.equal(session.pendingOutbound, 0);
  assert.deepEqual(of('outboundDone').map((e) => e[2]), ['result', 'result']);
});

test('outbound: queue bound, request validation, unknown or station actions', async () => {
  const { session, transport } = setup('ocpp2.0.1', { outboundQueueMax: 1 });
  const inFlight = session.call('ClearCache', {});
  const queued = session.call('ClearCache', {});
  await rejectsWith(session.call('ClearCache', {}), ErrorCode.CALL_QUEUE_FULL);
  await rejectsWith(session.call('Nope', {}), ErrorCode.UNKNOWN_ACTION);
  await rejectsWith(session.call('Heartbeat', {}), ErrorCode.UNKNOWN_ACTION);
  await rejectsWith(session.call('Reset', { type: 'Sometime' }), ErrorCode.PAYLOAD_INVALID);
  assert.equal(transport.sent.length, 1);
  session.receive('[3,"out-1",{"status":"Accepted"}]');
  session.receive('[3,"out-2",{"status":"Accepted"}]');
  await inFlight;
  await queued;
  // 2.1 SEND-only actions cannot be called.
  await rejectsWith(setup('ocpp2.1').session.call('NotifyPeriodicEventStream', sampleRequest('ocpp2.1', 'NotifyPeriodicEventStream')), ErrorCode.UNKNOWN_ACTION);
});

test('outbound: timeout, then a late result is "late" and an unknown id "unknown"', async () => {
  const { session, transport, of } = setup('ocpp1.6');
  const slow = session.call('ClearCache', {}, 20);
  const next = session.call('ClearCache', {});
  await rejectsWith(slow, ErrorCode.CALL_TIMEOUT);
  assert.deepEqual(transport.sent.map((f) => f[1]), ['out-1', 'out-2'], 'the queued call goes out after the timeout');
  session.receive('[3,"out-1",{"status":"Accepted"}]');
  session.receive('[4,"out-1","GenericError","late",{}]');
  session.receive('[3,"never-sent",{"status":"Accepted"}]');
  session.receive('[4,"never-sent","GenericError","",{}]');
  assert.deepEqual(of('strayResult').map((e) => e[1]), ['late', 'late', 'unknown', 'unknown']);
  // Stray answers are not answered.
  assert.equal(transport.sent.length, 2);
  session.receive('[3,"out-2",{"status":"Accepted"}]');
  assert.deepEqual(await next, { status: 'Accepted' });
  assert.deepEqual(of('outboundDone').map((e) => e[2]), ['timeout', 'result']);
});

test('outbound: invalid CALLRESULT → PAYLOAD_INVALID; 2.1 also sends CALLRESULTERROR', async () => {
  for (const version of ['ocpp1.6', 'ocpp2.0.1', 'ocpp2.1'] as const) {
    const { session, transport, of } = setup(version);
    const call = session.call('ClearCache', {});
    session.receive('[3,"out-1",{"status":"Maybe"}]');
    await rejectsWith(call, ErrorCode.PAYLOAD_INVALID);
    assert.deepEqual(of('outboundDone').map((e) => e[2]), ['invalid']);
    if (version === 'ocpp2.1') {
      assert.equal(transport.sent.length, 2);
      assert.deepEqual(transport.sent[1]!.slice(0, 3), [5, 'out-1', 'PropertyConstraintViolation']);
    } else {
      assert.equal(transport.sent.length, 1, `${version}: an answer is never answered`);
    }
  }
});

test('outbound: CALLERROR → CALL_ERROR with the wire code and the canonical code', async () => {
  const cases: Array<[OcppVersion, string, string | null]> = [
    ['ocpp1.6', 'FormationViolation', 'FormatViolation'],
    ['ocpp1.6', 'OccurenceConstraintViolation', 'OccurrenceConstraintViolation'],
    ['ocpp2.0.1', 'NotSupported', 'NotSupported'],
    ['ocpp2.0.1', 'FormationViolation', null],
    ['ocpp2.1', 'VendorSpecificError', null],
  ];
  for (const [version, wireCode, canonical] of cases) {
    const { session } = setup(version);
    const call = session.call('ClearCache', {});
    session.receive(JSON.stringify([4, 'out-1', wireCode, 'nope', { a: 1 }]));
    await assert.rejects(call, (error: unknown) => {
      assert.ok(error instanceof RouterError);
      assert.equal(error.code, ErrorCode.CALL_ERROR);
      assert.deepEqual(error.details, { errorCode: wireCode, canonicalCode: canonical, errorDescription: 'nope', errorDetails: { a: 1 } });
      return true;
    }, `${version} ${wireCode}`);
  }
});

test('close fails the in-flight and queued calls with STATION_NOT_CONNECTED and drops queued inbound CALLs', async () => {
  const { session, transport, backend, of } = setup('ocpp2.0.1');
  const inFlight = session.call('ClearCache', {});
  const queued = session.call('ClearCache', {});
  backend.reply = () => new Promise(() => {});
  session.receive('[2,"a","Heartbeat",{}]');
  session.receive('[2,"b","Heartbeat",{}]');
  session.onClosed();
  await rejectsWith(inFlight, ErrorCode.STATION_NOT_CONNECTED);
  await rejectsWith(queued, ErrorCode.STATION_NOT_CONNECTED);
  await rejectsWith(session.call('ClearCache', {}), ErrorCode.STATION_NOT_CONNECTED);
  assert.deepEqual(of('outboundDone').map((e) => e[2]), ['aborted']);
  assert.equal(backend.calls.length, 1);
  assert.equal(session.closed, true);
  assert.deepEqual(transport.closes, [], 'onClosed reports a close, it does not close');
  // close() closes the transport once and is idempotent.
  const other = setup('ocpp1.6');
  other.session.close(1000, 'bye');
  other.session.close(1000, 'again');
  assert.deepEqual(other.transport.closes, [{ code: 1000, reason: 'bye' }]);
});

test('outbound: a send on a dead transport rejects at once with STATION_NOT_CONNECTED', async () => {
  const { session, transport, of } = setup('ocpp1.6');
  transport.open = false;
  await rejectsWith(session.call('ClearCache', {}), ErrorCode.STATION_NOT_CONNECTED);
  assert.deepEqual(of('outboundDone').map((e) => e[2]), ['aborted']);
  assert.equal(session.pendingOutbound, 0);
});
