/**
 * The parts of the limits (docs/limits.md) that need no socket: the token bucket of RpcSession on a controlled
 * clock, the cheap reading of a limited frame's id, and the per-address table in shared memory, including
 * several threads taking and giving back slots of the same address at once.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import { RpcSession, type SessionContext, type SessionTransport } from '../src/protocol/ocpp-j/rpc-session.js';
import { peekCallId, rateLimitOptions } from '../src/protocol/ocpp-j/rate-limit.js';
import { createValidatorLookup } from '../src/protocol/validation/registry.js';
import { AddressTable, addressKey } from '../src/shard/address-table.js';
import { Admission, isAdmissionRefusal } from '../src/shard/admission.js';
import { createSharedCounters, ADDRESS_SLOTS } from '../src/ipc/shared-counters.js';
import type { OcppVersion } from '../src/protocol/versions.js';

// --- peekCallId ---

test('peekCallId reads the id of a CALL from its first characters only', () => {
  assert.equal(peekCallId('[2,"abc","Heartbeat",{}]'), 'abc');
  assert.equal(peekCallId(' \n[ 2 ,\t"id-1" ,"X",{}]'), 'id-1');
  assert.equal(peekCallId(`[2,"${'i'.repeat(36)}","X",{}]`), 'i'.repeat(36));
  // The rest of the frame is never read: a broken payload does not matter.
  assert.equal(peekCallId('[2,"x","Heartbeat",{{{{'), 'x');
  for (const text of ['[3,"a",{}]', '[4,"a","E","",{}]', '[6,"a","X",{}]', '[2,a]', '[2,""]', `[2,"${'i'.repeat(37)}"]`, '[2,"a\\"b"]', '[2,"ab', '', '[', '{"a":1}', '[22,"a"]', '[2"a"]']) {
    assert.equal(peekCallId(text), null, text);
  }
});

// --- the session's token bucket ---

class Transport implements SessionTransport {
  sent: unknown[][] = [];
  closes: Array<{ code: number; reason: string }> = [];
  send(text: string): boolean {
    this.sent.push(JSON.parse(text) as unknown[]);
    return true;
  }
  close(code: number, reason: string): void {
    this.closes.push({ code, reason });
  }
}

function session(version: OcppVersion, limits: { messageRatePerS: number; messageBurst: number; maxRateLimited: number; rateLimitWindowS: number }) {
  const transport = new Transport();
  const events: string[] = [];
  const ctx: SessionContext = {
    options: { maxPayloadDepth: 32, inboundQueueMax: 10, outboundQueueMax: 10, callTimeoutMs: 30_000, maxBadMessagesInRow: 5, rejectCallsBeforeAccepted: true, rateLimit: rateLimitOptions(limits) },
    backend: { name: 'fixed', handleCall: () => ({ kind: 'result', payload: { currentTime: new Date().toISOString() } }) },
    lookup: createValidatorLookup(),
    hooks: {
      rateLimited: (_s, answered) => events.push(answered ? 'limited:call' : 'limited:other'),
      closedForPolicy: (_s, reason) => events.push(`closed:${reason}`),
    },
    nextMessageId: () => 'x',
  };
  return { s: new RpcSession(ctx, transport, { identity: 'CP', account: null, version, connId: 1, remoteAddress: '' }), transport, events };
}

test('token bucket: the burst passes, then one frame per 1/rate; limited CALLs get the version\'s code; the window rule closes with 1008', (t) => {
  let now = 1_000_000;
  t.mock.method(Date, 'now', () => now);
  const { s, transport, events } = session('ocpp1.6', { messageRatePerS: 2, messageBurst: 3, maxRateLimited: 3, rateLimitWindowS: 10 });
  const hb = (id: string): void => s.receive(`[2,"${id}","Heartbeat",{}]`);
  hb('a');
  hb('b');
  hb('c');
  assert.deepEqual(transport.sent.map((f) => f[0]), [3, 3, 3], 'the burst');
  hb('d');
  assert.deepEqual(transport.sent[3]!.slice(0, 3), [4, 'd', 'GenericError']);
  assert.match(String(transport.sent[3]![3]), /rate limited: over 2 messages\/s \(burst 3\)/);
  now += 499; // 0.998 token: still limited
  hb('e');
  assert.equal(transport.sent[4]![0], 4);
  now += 2; // one token back (2 per second)
  hb('f');
  assert.equal(transport.sent[5]![0], 3);
  // A non-CALL over the limit is dropped unanswered.
  s.receive('[3,"nobody",{}]');
  assert.equal(transport.sent.length, 6);
  assert.deepEqual(events, ['limited:call', 'limited:call', 'limited:other', 'closed:rateLimited']);
  assert.deepEqual(transport.closes, [{ code: 1008, reason: '3 frames over the message rate limit within 10 s' }]);
  assert.ok(s.closed);
});

test('token bucket: limited frames spread wider than the window never close; a long pause refills only up to the burst', (t) => {
  let now = 5_000_000;
  t.mock.method(Date, 'now', () => now);
  const { s, transport, events } = session('ocpp2.0.1', { messageRatePerS: 1, messageBurst: 2, maxRateLimited: 2, rateLimitWindowS: 1 });
  const hb = (id: string): void => s.receive(`[2,"${id}","Heartbeat",{}]`);
  hb('a');
  hb('b');
  hb('c'); // limited, window starts
  assert.deepEqual(transport.sent[2]!.slice(0, 3), [4, 'c', 'RpcFrameworkError']);
  now += 1001; // window over (and one token back)
  hb('d');
  hb('e'); // limited: first of a new window
  assert.deepEqual(transport.sent.map((f) => f[0]), [3, 3, 4, 3, 4]);
  assert.equal(transport.closes.length, 0);
  now += 3_600_000; // an hour: the bucket holds the burst, not 3600 tokens
  for (const id of ['f', 'g', 'h']) hb(id);
  assert.deepEqual(transport.sent.slice(5).map((f) => f[0]), [3, 3, 4]);
  assert.deepEqual(events, ['limited:call', 'limited:call', 'limited:call']);
});

test('token bucket: a wall clock that steps backwards takes no tokens away', (t) => {
  let now = 9_000_000;
  t.mock.method(Date, 'now', () => now);
  const { s, transport } = session('ocpp1.6', { messageRatePerS: 10, messageBurst: 2, maxRateLimited: 0, rateLimitWindowS: 1 });
  s.receive('[2,"a","Heartbeat",{}]');
  now -= 3_600_000; // NTP steps the clock back an hour
  s.receive('[2,"b","Heartbeat",{}]');
  assert.deepEqual(transport.sent.map((f) => f[0]), [3, 3], 'the second token of the burst is still there');
  s.receive('[2,"c","Heartbeat",{}]');
  assert.equal(transport.sent[2]![0], 4, 'the bucket is empty now');
  now += 100; // one token back at 10/s
  s.receive('[2,"d","Heartbeat",{}]');
  assert.equal(transport.sent[3]![0], 3);
});

test('rate limit off (messageRatePerS 0): no bucket at all', () => {
  assert.equal(rateLimitOptions({ messageRatePerS: 0, messageBurst: 1, maxRateLimited: 1, rateLimitWindowS: 1 }), null);
  const { s, transport } = session('ocpp1.6', { messageRatePerS: 0, messageBurst: 1, maxRateLimited: 1, rateLimitWindowS: 1 });
  for (let i = 0; i < 1000; i++) s.receive(`[2,"m${i}","Heartbeat",{}]`);
  assert.equal(transport.sent.filter((f) => f[0] === 3).length, 1000);
});

// --- the per-address table ---

test('address table: counts per address up to the limit, gives back, empties the slot after the last', () => {
  const table = new AddressTable(createSharedCounters());
  const a = addressKey('192.0.2.1');
  const b = addressKey('2001:db8::1');
  assert.notDeepEqual(a, b);
  assert.equal(table.acquire(a, 2), 'counted');
  assert.equal(table.acquire(a, 2), 'counted');
  assert.equal(table.acquire(a, 2), 'over');
  assert.equal(table.acquire(b, 2), 'counted');
  assert.equal(table.count(a), 2);
  assert.equal(table.addresses, 2);
  table.release(a);
  assert.equal(table.acquire(a, 2), 'counted');
  table.release(a);
  table.release(a);
  table.release(b);
  assert.equal(table.count(a), 0);
  assert.equal(table.addresses, 0);
  table.release(a); // not counted: nothing happens
  assert.equal(table.addresses, 0);
});

test('address table: colliding home slots stay reachable after deletions (backward shift, wrapping around the end)', () => {
  const table = new AddressTable(createSharedCounters());
  // Keys whose home is one of the last slots, so chains wrap to slot 0.
  const homes = [ADDRESS_SLOTS - 2, ADDRESS_SLOTS - 2, ADDRESS_SLOTS - 1, ADDRESS_SLOTS - 2, 0, ADDRESS_SLOTS - 1, 1];
  const keys = homes.map((home, i) => ({ hi: i + 1, lo: home + ADDRESS_SLOTS * (i + 1) }));
  keys.forEach((k, i) => {
    for (let n = 0; n <= i; n++) assert.equal(table.acquire(k, 100), 'counted');
  });
  keys.forEach((k, i) => assert.equal(table.count(k), i + 1));
  // Delete in an order that shifts entries across the wrap, checking every other key after each deletion.
  const gone = new Set<number>();
  for (const victim of [0, 3, 2, 5, 1, 6, 4]) {
    for (let n = 0; n <= victim; n++) table.release(keys[victim]!);
    gone.add(victim);
    keys.forEach((k, i) => assert.equal(table.count(k), gone.has(i) ? 0 : i + 1, `key ${i} after deleting ${[...gone].join(',')}`));
  }
  assert.equal(table.addresses, 0);
});

test('admission: the per-address cap refuses with reason address and gives the station slot back; off means untouched', () => {
  const shared = createSharedCounters();
  const base = { maxStations: 10, acceptRatePerS: 0, acceptBurst: 1, retryAfterS: 4, shards: 2 };
  const admission = new Admission(shared, { ...base, maxStationsPerAddress: 1 });
  const first = admission.admit('198.51.100.7');
  assert.ok(!isAdmissionRefusal(first) && first.address !== null);
  assert.deepEqual(admission.admit('198.51.100.7'), { reason: 'address', retryAfterS: 4 });
  assert.equal(Admission.connectedCount(shared), 1, 'the refused upgrade took no station slot');
  admission.release(first);
  assert.equal(Admission.connectedCount(shared), 0);
  assert.equal(admission.stationsFrom('198.51.100.7'), 0);
  admission.configure({ ...base, maxStationsPerAddress: 0 });
  const off = admission.admit('198.51.100.7');
  assert.ok(!isAdmissionRefusal(off) && off.address === null);
  assert.equal(admission.stationsFrom('198.51.100.7'), 0);
  admission.release(off);
});

test('address table: four threads taking and giving back slots of the same addresses never exceed the cap (2) and end at zero', { timeout: 60_000 }, async () => {
  const shared = createSharedCounters();
  const holders = new SharedArrayBuffer(4 * 4); // per address: stations held right now (Int32), checked by every thread
  const start = new SharedArrayBuffer(8); // [go, threads ready]
  const startView = new Int32Array(start);
  const module = new URL('../src/shard/address-table.js', import.meta.url).href;
  const code = `
    const { workerData, parentPort } = require('node:worker_threads');
    import(workerData.module).then(({ AddressTable, addressKey }) => {
      const table = new AddressTable(workerData.shared);
      const held = new Int32Array(workerData.holders);
      const keys = ['10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.4'].map(addressKey);
      const mine = [];
      let over = 0, counted = 0, maxSeen = 0;
      // All threads start together (a barrier in shared memory), so that they really run at once.
      const start = new Int32Array(workerData.start);
      Atomics.add(start, 1, 1);
      Atomics.wait(start, 0, 0);
      for (let i = 0; i < 200000; i++) {
        const k = (i * 7 + workerData.seed) % 4;
        if (mine.length > 0 && (i % 3 === 0 || mine.length > 9)) {
          const j = mine.pop();
          Atomics.sub(held, j, 1);
          table.release(keys[j]);
          continue;
        }
        const outcome = table.acquire(keys[k], 2);
        if (outcome === 'counted') {
          counted++;
          const now = Atomics.add(held, k, 1) + 1;
          if (now > maxSeen) maxSeen = now;
          mine.push(k);
        } else over++;
      }
      for (const j of mine) { Atomics.sub(held, j, 1); table.release(keys[j]); }
      parentPort.postMessage({ over, counted, maxSeen });
    });
  `;
  const done = Promise.all([0, 1, 2, 3].map((seed) => new Promise<{ over: number; counted: number; maxSeen: number }>((resolve, reject) => {
    const worker = new Worker(code, { eval: true, workerData: { shared, holders, module, seed, start } });
    worker.once('message', resolve);
    worker.once('error', reject);
  })));
  while (Atomics.load(startView, 1) < 4) await new Promise((r) => setTimeout(r, 5));
  Atomics.store(startView, 0, 1);
  Atomics.notify(startView, 0);
  const results = await done;
  const table = new AddressTable(shared);
  for (const r of results) assert.ok(r.maxSeen <= 2, `never more than 2 held per address (saw ${r.maxSeen})`);
  // Each thread alone holds up to 10 over 4 addresses: it meets the cap of 2 even when the threads never overlap.
  assert.ok(results.every((r) => r.over > 0), 'the cap was reached');
  for (const address of ['10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.4']) assert.equal(table.count(addressKey(address)), 0, address);
  assert.equal(table.addresses, 0);
});
