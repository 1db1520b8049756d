/**
 * Property-based fuzzing of the OCPP-J frame parser and the RPC session (fast-check; docs/fuzzing.md).
 * The session runs with the real validators and the real built-in responder, on a transport that records what
 * it is given (as test/rpc-session.test.ts does). Properties:
 *  - parseFrame never throws, whatever the text;
 *  - every frame gets the answer the spec gives it (test/helpers/fuzz-frames.ts): exactly one answer to a
 *    CALL-shaped frame, with the frame's id (or "-1"), a code from the version's list; nothing for answers;
 *  - random sequences over an asynchronous backend: each CALL answered exactly once, in arrival order;
 *  - the inbound queue is bounded: the session closes (1008) exactly when a station exceeds it;
 *  - a command in flight is settled exactly once, whatever the station answers; the outbound queue is bounded;
 *  - large inputs leave the heap where it was.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseFrame, isBadFrame } from '../src/protocol/ocpp-j/frames.js';
import { RpcSession, type SessionContext, type SessionTransport } from '../src/protocol/ocpp-j/rpc-session.js';
import { createValidatorLookup } from '../src/protocol/validation/registry.js';
import { createResponder, type Responder } from '../src/backends/responder/index.js';
import type { Backend, BackendReply, InboundCall } from '../src/protocol/backend.js';
import { RpcErrorCode } from '../src/protocol/rpc-error-codes.js';
import { RouterError } from '../src/protocol/errors.js';
import type { OcppVersion } from '../src/protocol/versions.js';
import { fuzzParams, fuzzTestOptions, heapUsed } from './helpers/fuzz.js';
import { anyFrame, anyText, CODES_1_6, CODES_2, codesOf, expectedAnswer, nested, versionArb, type Expected } from './helpers/fuzz-frames.js';

const MAX_DEPTH = 32;
const CODES_ANY = [...new Set([...CODES_1_6, ...CODES_2])];
const lookup = createValidatorLookup();

class RecordingTransport implements SessionTransport {
  sent: string[] = [];
  closes: Array<{ code: number; reason: string }> = [];
  send(text: string): boolean {
    if (this.closes.length > 0) return false;
    this.sent.push(text);
    return true;
  }
  close(code: number, reason: string): void {
    this.closes.push({ code, reason });
  }
}

function responder(): Responder {
  let n = 0;
  return createResponder({
    config: { bootStatus: 'Accepted', heartbeatIntervalS: 300, authorize: { policy: 'acceptAll', idTags: [] }, dataTransfer: { status: 'Rejected' } } as Responder['config'],
    transactionIds: { next: () => ++n },
  });
}

/** The responder's answer, given later (after `delays[i]` turns of the event loop): calls overlap. */
class LaterBackend implements Backend {
  readonly name = 'later';
  #inner = responder();
  #delays: number[];
  #i = 0;
  pending = 0;
  constructor(delays: number[]) {
    this.#delays = delays;
  }
  handleCall(call: InboundCall): Promise<BackendReply> {
    const turns = this.#delays[this.#i++ % this.#delays.length] ?? 0;
    this.pending++;
    return new Promise((resolve) => {
      const step = (left: number): void => {
        if (left <= 0) {
          this.pending--;
          resolve(this.#inner.handleCall(call));
        } else setImmediate(step, left - 1);
      };
      step(turns);
    });
  }
}

function session(version: OcppVersion, backend: Backend, options: Partial<SessionContext['options']> = {}) {
  const transport = new RecordingTransport();
  let n = 0;
  const ctx: SessionContext = {
    options: { maxPayloadDepth: MAX_DEPTH, inboundQueueMax: 1000, outboundQueueMax: 10, callTimeoutMs: 30_000, maxBadMessagesInRow: 1_000_000, rejectCallsBeforeAccepted: true, ...options },
    backend,
    lookup,
    hooks: {},
    nextMessageId: () => `out-${++n}`,
  };
  const s = new RpcSession(ctx, transport, { identity: 'FUZZ', account: null, version, connId: 1, remoteAddress: '127.0.0.1' });
  return { session: s, transport };
}

/** Checks one sent frame against what was expected of it; returns an error text or null. */
function checkAnswer(version: OcppVersion, expected: Expected, sent: string[]): string | null {
  const frames = sent.map((t) => JSON.parse(t) as unknown[]);
  for (const f of frames) {
    if (f[0] === 4 || f[0] === 5) {
      if (f.length !== 5) return `CALLERROR of ${f.length} elements`;
      if (!codesOf(version).includes(f[2] as string)) return `code ${String(f[2])} is not in the ${version} list`;
      if (typeof f[3] !== 'string' || (f[3] as string).length > 255) return 'errorDescription not a string of at most 255 characters';
      if (typeof f[4] !== 'object' || f[4] === null || Array.isArray(f[4])) return 'errorDetails not an object';
    }
  }
  switch (expected.kind) {
    case 'none':
      return frames.length === 0 ? null : `expected no answer, got ${sent.join(' ')}`;
    case 'noneOrResultError':
      return frames.length === 0 || (frames.length === 1 && frames[0]![0] === 5) ? null : `expected nothing or a CALLRESULTERROR, got ${sent.join(' ')}`;
    case 'error':
      if (frames.length !== 1) return `expected one CALLERROR, got ${frames.length} frames`;
      if (frames[0]![0] !== 4 || frames[0]![1] !== expected.id || frames[0]![2] !== expected.code) return `expected [4,${JSON.stringify(expected.id)},${expected.code}], got ${sent[0]!.slice(0, 200)}`;
      return null;
    case 'answer':
      if (frames.length !== 1) return `expected one answer, got ${frames.length} frames`;
      if ((frames[0]![0] !== 3 && frames[0]![0] !== 4) || frames[0]![1] !== expected.id) return `expected an answer to ${JSON.stringify(expected.id)}, got ${sent[0]!.slice(0, 200)}`;
      if (frames[0]![0] === 3 && (frames[0]!.length !== 3 || typeof frames[0]![2] !== 'object')) return `malformed CALLRESULT ${sent[0]}`;
      return null;
  }
}

test('parseFrame: any text, any version, any depth bound: a frame or a BadFrame, never an exception', fuzzTestOptions(), () => {
  const codes = new Set<string>(Object.values(RpcErrorCode));
  fc.assert(
    fc.property(fc.oneof(anyText, anyFrame({ version: 'ocpp2.1', maxDepth: 8 })), versionArb, fc.oneof(fc.constant(Infinity), fc.integer({ min: 0, max: 64 })), (text, version, depth) => {
      const frame = parseFrame(text, version, depth);
      if (isBadFrame(frame)) {
        assert.ok(frame.code === null || codes.has(frame.code), `code ${frame.code}`);
        assert.ok(frame.id === '-1' || (frame.id.length >= 1 && frame.id.length <= 36));
      } else {
        assert.ok([2, 3, 4, 5, 6].includes(frame.type));
      }
    }),
    fuzzParams(1000),
  );
});

test('RpcSession: every frame gets the answer the spec gives it (exactly one for a CALL)', fuzzTestOptions(), () => {
  fc.assert(
    fc.property(versionArb.chain((version) => fc.tuple(fc.constant(version), fc.array(anyFrame({ version, maxDepth: MAX_DEPTH }), { minLength: 1, maxLength: 12 }))), ([version, frames]) => {
      const { session: s, transport } = session(version, responder());
      for (const text of frames) {
        const before = transport.sent.length;
        s.receive(text);
        const problem = checkAnswer(version, expectedAnswer(text, version, MAX_DEPTH), transport.sent.slice(before));
        assert.equal(problem, null, `${version} frame ${text.slice(0, 300)}`);
      }
      assert.equal(transport.closes.length, 0);
    }),
    fuzzParams(200, 0.5),
  );
});

test('RpcSession: frame sequences over an asynchronous backend: each CALL answered once, in arrival order', fuzzTestOptions(), async () => {
  await fc.assert(
    fc.asyncProperty(
      versionArb.chain((version) => fc.tuple(fc.constant(version), fc.array(anyFrame({ version, maxDepth: MAX_DEPTH }), { minLength: 1, maxLength: 20 }))),
      fc.array(fc.nat(3), { minLength: 1, maxLength: 5 }),
      fc.array(fc.boolean(), { minLength: 1, maxLength: 5 }),
      async ([version, frames], delays, yieldBetween) => {
        const backend = new LaterBackend(delays);
        const { session: s, transport } = session(version, backend);
        const expected: Expected[] = [];
        for (let i = 0; i < frames.length; i++) {
          expected.push(expectedAnswer(frames[i]!, version, MAX_DEPTH));
          s.receive(frames[i]!);
          if (yieldBetween[i % yieldBetween.length]) await new Promise((r) => setImmediate(r));
        }
        // Settle: until the backend is idle and the session has nothing queued.
        for (let guard = 0; (backend.pending > 0 || s.busy) && guard < 10_000; guard++) await new Promise((r) => setImmediate(r));
        assert.equal(s.busy, false, 'the session settles');
        const sent = transport.sent.map((t) => JSON.parse(t) as unknown[]);
        // The answers to well-formed CALLs (CALLRESULT or CALLERROR with their ids) come in arrival order, once each.
        const wanted = expected.flatMap((e) => (e.kind === 'answer' ? [e.id] : []));
        const errors = expected.flatMap((e) => (e.kind === 'error' ? [e.id] : []));
        const answered = sent.filter((f) => f[0] === 3 || f[0] === 4).map((f) => f[1] as string);
        assert.equal(answered.length, wanted.length + errors.length, `${version}: ${answered.length} answers for ${wanted.length} CALLs and ${errors.length} broken frames`);
        const errorSet = new Set(errors);
        const inOrder = answered.filter((id) => !errorSet.has(id));
        if (wanted.every((id) => !errorSet.has(id))) assert.deepEqual(inOrder, wanted);
        for (const f of sent) if (f[0] === 4) assert.ok(codesOf(version).includes(f[2] as string), String(f[2]));
      },
    ),
    fuzzParams(60, 0.5),
  );
});

test('RpcSession: the inbound queue is bounded: closed with 1008 exactly when a station exceeds it', fuzzTestOptions(), () => {
  fc.assert(
    fc.property(
      versionArb.chain((version) => fc.tuple(fc.constant(version), fc.array(anyFrame({ version, maxDepth: MAX_DEPTH }), { maxLength: 30 }))),
      fc.integer({ min: 0, max: 12 }),
      ([version, frames], queueMax) => {
        // A backend that never answers: the first Heartbeat stays in it, every CALL after it queues.
        const hung: Backend = { name: 'hung', handleCall: () => new Promise<BackendReply>(() => {}) };
        const { session: s, transport } = session(version, hung, { inboundQueueMax: queueMax });
        s.receive('[2,"first","Heartbeat",{}]');
        let queued = 0;
        let shouldClose = false;
        for (const text of frames) {
          const parsed = parseFrame(text, version, MAX_DEPTH);
          if (!shouldClose && !isBadFrame(parsed) && (parsed.type === 2 || parsed.type === 6)) {
            if (queued === queueMax) shouldClose = true;
            else queued++;
          }
          s.receive(text);
        }
        assert.equal(s.closed, shouldClose, `${queued} queued, bound ${queueMax}`);
        assert.deepEqual(transport.closes.map((c) => c.code), shouldClose ? [1008] : []);
      },
    ),
    fuzzParams(150, 0.4),
  );
});

test('RpcSession: bad frames in a row close the session (1008) at the limit, and nothing is sent after', fuzzTestOptions(), () => {
  fc.assert(
    fc.property(
      versionArb.chain((version) => fc.tuple(fc.constant(version), fc.array(anyFrame({ version, maxDepth: MAX_DEPTH }), { minLength: 1, maxLength: 30 }))),
      fc.integer({ min: 1, max: 6 }),
      ([version, frames], limit) => {
        const { session: s, transport } = session(version, responder(), { maxBadMessagesInRow: limit });
        let inRow = 0;
        let closedAt = -1;
        for (let i = 0; i < frames.length; i++) {
          if (closedAt < 0) {
            inRow = isBadFrame(parseFrame(frames[i]!, version, MAX_DEPTH)) ? inRow + 1 : 0;
            if (inRow >= limit) closedAt = i;
          }
          const before = transport.sent.length;
          s.receive(frames[i]!);
          if (closedAt >= 0 && i > closedAt) assert.equal(transport.sent.length, before, 'nothing sent once closed');
        }
        assert.equal(s.closed, closedAt >= 0);
        assert.deepEqual(transport.closes.map((c) => c.code), closedAt >= 0 ? [1008] : []);
      },
    ),
    fuzzParams(150, 0.4),
  );
});

test('RpcSession: large inputs (megabyte strings, 100,000-deep nesting, wide arrays) leave the heap bounded', fuzzTestOptions(1), () => {
  const big = fc.oneof(
    fc.integer({ min: 10_000, max: 200_000 }).map((n) => `[2,"deep","DataTransfer",{"vendorId":"v","data":${nested(n)}}]`),
    fc.integer({ min: 100_000, max: 2_000_000 }).map((n) => `[2,"long","DataTransfer",{"vendorId":"v","data":"${'x'.repeat(n)}"}]`),
    fc.integer({ min: 1000, max: 50_000 }).map((n) => `[2,"wide","DataTransfer",{"vendorId":"v","data":[${Array(n).fill('{"a":1}').join(',')}]}]`),
    fc.integer({ min: 100_000, max: 1_000_000 }).map((n) => '['.repeat(n)),
    fc.integer({ min: 1000, max: 100_000 }).map((n) => `[2,${JSON.stringify('i'.repeat(n))},"Heartbeat",{}]`),
  );
  const sessions = { 'ocpp1.6': session('ocpp1.6', responder()), 'ocpp2.0.1': session('ocpp2.0.1', responder()), 'ocpp2.1': session('ocpp2.1', responder()) };
  const start = heapUsed();
  fc.assert(
    fc.property(versionArb, big, (version, text) => {
      const { session: s, transport } = sessions[version];
      const before = transport.sent.length;
      s.receive(text);
      assert.equal(transport.sent.length, before + 1, 'one answer');
      transport.sent.length = 0;
    }),
    fuzzParams(12, 0.8),
  );
  const grown = heapUsed() - start;
  // Nothing of a frame is kept once it is answered: growth stays far below one frame's size times the runs.
  assert.ok(grown < 64 * 1024 * 1024, `heap grew by ${(grown / 1048576).toFixed(1)} MiB`);
});

test('RpcSession: a command in flight is settled exactly once by any answer a station sends for it', fuzzTestOptions(), async () => {
  // Answers to [2,"out-1","Reset",{...}]: CALLRESULTs with mutated payloads, CALLERRORs with any code, broken frames.
  const answer = fc.oneof(
    fc.oneof(fc.jsonValue({ maxDepth: 3 }), fc.constantFrom({ status: 'Accepted' }, { status: 'Rejected' }, { status: 'Nope' }, {}, { status: 'Accepted', extra: 1 })).map((p) => `[3,"out-1",${JSON.stringify(p)}]`),
    fc.tuple(fc.oneof(fc.constantFrom(...CODES_ANY), fc.string({ maxLength: 20 })), fc.string({ maxLength: 300 }), fc.jsonValue({ maxDepth: 2 })).map(([c, d, x]) => `[4,"out-1",${JSON.stringify(c)},${JSON.stringify(d)},${JSON.stringify(x)}]`),
    fc.constantFrom('[3,"out-1"]', '[4,"out-1","GenericError"]', '[3,"out-1",{},1]', '[5,"out-1","x","y",{}]', '[3,"out-2",{}]', `[3,"out-1",{"d":${nested(100)}}]`),
  );
  await fc.assert(
    fc.asyncProperty(versionArb, fc.array(answer, { minLength: 1, maxLength: 4 }), async (version, answers) => {
      const { session: s, transport } = session(version, responder(), { callTimeoutMs: 60_000 });
      const payload = version === 'ocpp1.6' ? { type: 'Hard' } : { type: 'Immediate' };
      let settled = 0;
      const done = s.call('Reset', payload).then(
        () => settled++,
        (error: unknown) => {
          assert.ok(error instanceof RouterError, String(error));
          assert.ok(['CALL_ERROR', 'PAYLOAD_INVALID', 'STATION_NOT_CONNECTED'].includes(error.code), error.code);
          settled++;
        },
      );
      assert.deepEqual(JSON.parse(transport.sent[0]!).slice(0, 3), [2, 'out-1', 'Reset']);
      // The first answer with the call's id (well-formed or broken) settles it; the later ones are strays.
      const settles = answers.some((a) => {
        const f = parseFrame(a, version, MAX_DEPTH);
        return isBadFrame(f) ? f.id === 'out-1' && f.messageType !== null && [3, 4].includes(f.messageType) && f.kind !== 'unsupportedMessageType' : f.id === 'out-1' && (f.type === 3 || f.type === 4);
      });
      for (const a of answers) s.receive(a);
      await new Promise((r) => setImmediate(r));
      assert.equal(settled, settles ? 1 : 0, `settled ${settled} times`);
      s.onClosed();
      await done;
      assert.equal(settled, 1, 'settled once in all (by an answer or by the close)');
    }),
    fuzzParams(150),
  );
});

test('RpcSession: the outbound queue is bounded: calls beyond outboundQueueMax are refused with CALL_QUEUE_FULL', fuzzTestOptions(), async () => {
  await fc.assert(
    fc.asyncProperty(versionArb, fc.integer({ min: 0, max: 8 }), fc.integer({ min: 1, max: 30 }), async (version, max, calls) => {
      const { session: s, transport } = session(version, responder(), { outboundQueueMax: max, callTimeoutMs: 60_000 });
      const outcomes: string[] = [];
      const all = Array.from({ length: calls }, () => s.call('ClearCache', {}).then(() => 'ok', (e: RouterError) => e.code));
      // The station never answers: one in flight, `max` queued, the rest refused at once.
      await new Promise((r) => setImmediate(r));
      assert.equal(transport.sent.length, 1, 'one CALL in flight');
      assert.ok(s.pendingOutbound <= max + 1, `${s.pendingOutbound} pending, bound ${max} + 1`);
      s.onClosed();
      for (const o of await Promise.all(all)) outcomes.push(o);
      const refused = outcomes.filter((o) => o === 'CALL_QUEUE_FULL').length;
      assert.equal(refused, Math.max(0, calls - (max + 1)), outcomes.join(','));
      assert.equal(outcomes.filter((o) => o === 'STATION_NOT_CONNECTED').length, calls - refused);
    }),
    fuzzParams(100, 0.4),
  );
});
