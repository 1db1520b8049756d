import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  MAX_TRANSACTION_ID,
  STATE_FILE_NAME,
  TransactionIdStore,
  openTransactionIdStore,
} from '../src/control/transaction-id-store.js';
import type { IdBlock } from '../src/control/transaction-id-store.js';
import { TransactionIdPool } from '../src/shard/transaction-id-pool.js';
import { ErrorCode, RouterError } from '../src/protocol/errors.js';

async function tempDir(t: { after(fn: () => Promise<void>): void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'ocpp-router-txids-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

const isPersistenceError = (error: unknown): boolean => error instanceof RouterError && error.code === ErrorCode.PERSISTENCE;

/** A promise with its resolve/reject exposed, to control when a block request completes. */
function deferred<T>(): { promise: Promise<T>; resolve(value: T): void; reject(error: unknown): void } {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

test('store: blocks are contiguous, start at 1, and the folder is created', async (t) => {
  const dir = join(await tempDir(t), 'nested', 'data');
  const store = await TransactionIdStore.open(dir);
  assert.equal(store.highWater, 0);
  assert.deepEqual(await store.allocateBlock(10), { start: 1, end: 10 });
  assert.deepEqual(await store.allocateBlock(5), { start: 11, end: 15 });
  const state = JSON.parse(await readFile(join(dir, STATE_FILE_NAME), 'utf8')) as { highWater: number };
  assert.equal(state.highWater, 15, 'persisted before the block was returned');
  // no temp files left behind
  assert.deepEqual((await readdir(dir)).sort(), [STATE_FILE_NAME]);
  await store.close();
});

test('store: persistence across re-open (restart) never reuses ids', async (t) => {
  const dir = await tempDir(t);
  const first = await openTransactionIdStore(dir);
  const a = await first.allocateBlock(100);
  // simulate a crash: no close(), the shard used only part of the block
  const second = await openTransactionIdStore(dir);
  const b = await second.allocateBlock(100);
  assert.ok(b.start > a.end, `after restart ${JSON.stringify(b)} must be above ${JSON.stringify(a)}`);
  await second.close();
  const third = await openTransactionIdStore(dir);
  assert.equal(third.highWater, b.end);
  assert.deepEqual(await third.allocateBlock(1), { start: b.end + 1, end: b.end + 1 });
});

test('store: concurrent allocations are serialized and never overlap', async (t) => {
  const dir = await tempDir(t);
  const store = await TransactionIdStore.open(dir);
  const sizes = Array.from({ length: 40 }, (_, i) => 1 + (i % 7));
  const blocks = await Promise.all(sizes.map((n) => store.allocateBlock(n)));
  // in call order, contiguous
  let expected = 1;
  for (let i = 0; i < blocks.length; i++) {
    assert.deepEqual(blocks[i], { start: expected, end: expected + sizes[i]! - 1 });
    expected += sizes[i]!;
  }
  const reopened = await TransactionIdStore.open(dir);
  assert.equal(reopened.highWater, expected - 1);
});

test('store: invalid sizes are refused', async (t) => {
  const store = await TransactionIdStore.open(await tempDir(t));
  for (const size of [0, -1, 1.5, Number.NaN]) await assert.rejects(store.allocateBlock(size), TypeError);
  assert.deepEqual(await store.allocateBlock(1), { start: 1, end: 1 }, 'a refused call does not consume ids');
});

test('store: a corrupted state file is a clear PERSISTENCE error, and it is not overwritten', async (t) => {
  const cases = ['{"format":1,"highWater":12', 'null', '{"format":1,"highWater":-3,"wraps":0}', '{"format":1,"highWater":"7","wraps":0}', '{"format":99,"highWater":7,"wraps":0}', ''];
  for (const content of cases) {
    const dir = await tempDir(t);
    await writeFile(join(dir, STATE_FILE_NAME), content);
    await assert.rejects(TransactionIdStore.open(dir), (error: unknown) => {
      assert.ok(isPersistenceError(error), String(error));
      assert.equal(((error as RouterError).details as { path: string }).path, join(dir, STATE_FILE_NAME));
      return true;
    }, JSON.stringify(content));
    assert.equal(await readFile(join(dir, STATE_FILE_NAME), 'utf8'), content, 'left for the operator to inspect');
  }
});

test('store: ids stay positive 32-bit; at the top the block is cut and the next one wraps to 1 with a warning', async (t) => {
  const dir = await tempDir(t);
  assert.equal(MAX_TRANSACTION_ID, 2147483647);
  await writeFile(join(dir, STATE_FILE_NAME), JSON.stringify({ format: 1, highWater: MAX_TRANSACTION_ID - 3, wraps: 0 }));
  const warnings: object[] = [];
  const store = await TransactionIdStore.open(dir, { log: { warn: (obj) => warnings.push(obj) } });
  assert.deepEqual(await store.allocateBlock(10), { start: MAX_TRANSACTION_ID - 2, end: MAX_TRANSACTION_ID });
  assert.equal(warnings.length, 0);
  assert.deepEqual(await store.allocateBlock(10), { start: 1, end: 10 });
  assert.equal(warnings.length, 1);
  const state = JSON.parse(await readFile(join(dir, STATE_FILE_NAME), 'utf8')) as { highWater: number; wraps: number };
  assert.deepEqual([state.highWater, state.wraps], [10, 1]);
});

test('pool: next() is synchronous, prefetches below the low-water mark, ids unique and increasing', async (t) => {
  const dir = await tempDir(t);
  const store = await TransactionIdStore.open(dir);
  let requests = 0;
  const pool = new TransactionIdPool({
    lowWater: 5,
    requestBlock: () => {
      requests++;
      return store.allocateBlock(10);
    },
  });
  t.after(() => pool.close());
  await pool.start();
  assert.equal(requests, 1);
  assert.equal(pool.available, 10);
  const ids: number[] = [];
  for (let i = 0; i < 5; i++) ids.push(pool.next());
  assert.equal(pool.fetching, false, 'still at the low-water mark: no prefetch yet');
  ids.push(pool.next()); // 4 left < 5 → prefetch
  assert.equal(pool.fetching, true);
  assert.equal(requests, 2);
  for (let i = 0; i < 4; i++) ids.push(pool.next()); // drains block 1 while the prefetch is in flight
  await pool.idle();
  for (let i = 0; i < 25; i++) {
    ids.push(pool.next());
    if (pool.fetching) await pool.idle(); // the shard's event loop turns between calls
  }
  assert.deepEqual(ids, Array.from({ length: 35 }, (_, i) => i + 1));
});

test('pool: runs dry while the prefetch is not back → RouterError, no duplicate; recovers when it arrives', async () => {
  const pending: Array<ReturnType<typeof deferred<IdBlock>>> = [];
  const pool = new TransactionIdPool({
    lowWater: 2,
    requestBlock: () => {
      const d = deferred<IdBlock>();
      pending.push(d);
      return d.promise;
    },
  });
  const started = pool.start();
  pending[0]!.resolve({ start: 100, end: 102 });
  await started;
  assert.equal(pool.next(), 100);
  assert.equal(pool.next(), 101); // 1 left < 2 → prefetch #2 in flight
  assert.equal(pending.length, 2);
  assert.equal(pool.next(), 102);
  for (let i = 0; i < 3; i++) {
    assert.throws(
      () => pool.next(),
      (error: unknown) =>
        error instanceof RouterError &&
        error.code === ErrorCode.INTERNAL &&
        (error.details as { reason: string }).reason === 'transactionIdsExhausted',
    );
  }
  assert.equal(pending.length, 2, 'a dry pool does not pile up requests');
  pending[1]!.resolve({ start: 500, end: 509 });
  await pool.idle();
  assert.equal(pool.next(), 500);
  await pool.close();
});

test('pool: a failed block request is reported and retried on the next call', async () => {
  const errors: unknown[] = [];
  let attempt = 0;
  const pool = new TransactionIdPool({
    lowWater: 1,
    onError: (error) => errors.push(error),
    requestBlock: async () => {
      attempt++;
      if (attempt === 1) throw new RouterError(ErrorCode.PERSISTENCE, 'disk full');
      if (attempt === 2) return { start: 0, end: 5 } as IdBlock; // invalid: ids are >= 1
      return { start: 7, end: 9 };
    },
  });
  await assert.rejects(pool.start(), (error: unknown) => error instanceof RouterError && error.code === ErrorCode.INTERNAL);
  assert.equal(errors.length, 1);
  assert.throws(() => pool.next(), RouterError); // triggers attempt 2 (invalid block)
  await pool.idle();
  assert.equal(errors.length, 2);
  assert.throws(() => pool.next(), RouterError); // triggers attempt 3
  await pool.idle();
  assert.equal(pool.next(), 7);
  await pool.close();
});

test('pool + store: ids unique across a simulated restart of the whole process', async (t) => {
  const dir = await tempDir(t);
  const seen = new Set<number>();
  for (let run = 0; run < 3; run++) {
    const store = await TransactionIdStore.open(dir);
    const pool = new TransactionIdPool({ lowWater: 3, requestBlock: () => store.allocateBlock(8) });
    await pool.start();
    for (let i = 0; i < 5; i++) {
      const id = pool.next();
      assert.ok(!seen.has(id), `id ${id} reused in run ${run}`);
      seen.add(id);
      if (pool.fetching) await pool.idle();
    }
    await pool.close(); // the rest of the prefetched blocks is lost: a gap, never a reuse
  }
});
