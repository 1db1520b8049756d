/**
 * The store's writer against a real PostgreSQL that goes away: a private server (its own port and data folder)
 * is stopped with `-m immediate` and started again. Group commit joins concurrent requests; with
 * `onFailure: "error"` an outage refuses writes and nothing is half-kept; with `"spool"` every request is
 * answered once on disk, replayed in order when the server is back (also after a restart of the writer), and a
 * spooled record the database refuses is set aside in a file rather than blocking the spool.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PostgresEngine } from '../src/store/postgres/engine.js';
import { StoreUnavailable, type StoreWrite } from '../src/store/engine.js';
import { StoreWriter } from '../src/store/writer.js';
import { DurableLog } from '../src/store/durable-log.js';
import { deriveRecords } from '../src/store/derive.js';
import { privatePostgres } from './helpers/postgres.js';
import { waitFor } from './helpers/server.js';

const LIMIT = { timeout: 120_000 };
const quiet = { warn: () => undefined, error: () => undefined, info: () => undefined };

function status(identity: string, n: number): StoreWrite[] {
  return deriveRecords(identity, `s${n}`, 'StatusNotification', { connectorId: 1, errorCode: 'NoError', status: n % 2 === 0 ? 'Available' : 'Charging', info: String(n) }, {}, Date.now(), true);
}

function tempDir(t: { after(fn: () => unknown): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'ocpp-router-writer-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function journalInfos(engine: PostgresEngine, identity: string): Promise<string[]> {
  const rows = await engine.query('messages', { identity, limit: 1000 });
  // Newest first from the query; back to the order they were kept.
  return rows.reverse().map((m) => String((m.payload as { info: string }).info));
}

test('group commit joins the requests of one turn; onFailure "error": an outage refuses, the server back accepts', LIMIT, async (t) => {
  const pg = await privatePostgres(t);
  const engine = new PostgresEngine({ url: pg.url, poolSize: 2, connectTimeoutS: 2 });
  await engine.open();
  t.after(() => engine.close());
  const writer = new StoreWriter(engine, { maxBatch: 5000, commitDelayMs: 0, onFailure: 'error', spool: null, log: quiet });

  const outcomes = await Promise.all(Array.from({ length: 200 }, (_, i) => writer.submit(status('GC', i))));
  assert.ok(outcomes.every((o) => o === 'committed'));
  assert.ok(writer.stats.commits <= 3, `200 requests in ${writer.stats.commits} commits`);
  assert.deepEqual(await journalInfos(engine, 'GC'), Array.from({ length: 200 }, (_, i) => String(i)), 'in submission order');

  // commitDelayMs: requests a few milliseconds apart wait for each other and share one commit.
  const delayed = new StoreWriter(engine, { maxBatch: 5000, commitDelayMs: 50, onFailure: 'error', spool: null, log: quiet });
  const trickle: Promise<unknown>[] = [];
  for (let i = 0; i < 5; i++) {
    trickle.push(delayed.submit(status('GD', i)));
    await new Promise((r) => setTimeout(r, 5));
  }
  await Promise.all(trickle);
  assert.equal(delayed.stats.commits, 1, 'five requests 5 ms apart in one commit');
  await delayed.close();

  pg.stop();
  await assert.rejects(writer.submit(status('GC', 200)), StoreUnavailable);
  assert.equal(writer.mode, 'ok', 'error mode never spools');
  await pg.start();
  await waitFor(async () => (await writer.submit(status('GC', 201)).catch(() => null)) === 'committed', 30_000, 'a commit after the restart');
  const infos = await journalInfos(engine, 'GC');
  assert.ok(!infos.includes('200'), 'the refused request was not kept');
  assert.equal(infos.at(-1), '201');
  await writer.close();
});

test('onFailure "spool": acknowledged during an outage, replayed in order, across a writer restart; a refused record is set aside', LIMIT, async (t) => {
  const pg = await privatePostgres(t);
  const dir = tempDir(t);
  const engine = new PostgresEngine({ url: pg.url, poolSize: 2, connectTimeoutS: 2 });
  await engine.open();
  t.after(() => engine.close());
  const openSpool = (): Promise<DurableLog> => DurableLog.open(join(dir, 'spool'), { maxBytes: 64 * 1024 * 1024, segmentBytes: 1024 * 1024, fsync: true }, quiet);
  let spool = await openSpool();
  let writer = new StoreWriter(engine, { maxBatch: 5000, commitDelayMs: 0, onFailure: 'spool', spool, log: quiet });

  for (let i = 0; i < 10; i++) assert.equal(await writer.submit(status('SP', i)), 'committed');
  pg.stop();
  // Concurrent requests during the outage: each answered only once its records are on disk.
  const during = await Promise.all(Array.from({ length: 50 }, (_, i) => writer.submit(status('SP', 10 + i))));
  assert.ok(during.every((o) => o === 'spooled'));
  assert.equal(writer.mode, 'spooling');
  // A record the database will refuse (NOT NULL), spooled among the others.
  assert.equal(await writer.submit([{ k: 'txStop', identity: 'SP', txId: null as unknown as string, meterStop: 1, reason: null, idTag: null, at: Date.now() }]), 'spooled');
  for (let i = 60; i < 70; i++) assert.equal(await writer.submit(status('SP', i)), 'spooled', 'after the first failure everything spools, in order');

  // The writer stops (a router restart) with the spool full of acknowledged records.
  await writer.close();
  await spool.close();
  spool = await openSpool();
  assert.equal(spool.size, 61);
  await pg.start();
  writer = new StoreWriter(engine, { maxBatch: 5000, commitDelayMs: 0, onFailure: 'spool', spool, log: quiet });
  t.after(() => writer.close().then(() => spool.close()));
  assert.equal(writer.mode, 'spooling', 'a spool left by the previous run goes first');
  // New writes while the old ones replay land behind them.
  const late = writer.submit(status('SP', 70));
  await waitFor(() => writer.mode === 'ok', 60_000, 'the spool to drain');
  await late;
  assert.deepEqual(await journalInfos(engine, 'SP'), Array.from({ length: 71 }, (_, i) => String(i)), 'every acknowledged record, in order');
  const rejected = join(dir, 'spool', 'rejected.jsonl');
  assert.ok(existsSync(rejected));
  const lines = readFileSync(rejected, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { error: string; writes: StoreWrite[] });
  assert.equal(lines.length, 1);
  assert.equal(lines[0]!.writes[0]!.k, 'txStop');
  assert.match(lines[0]!.error, /null value/);
  assert.equal(writer.stats.rejected, 1);
  assert.equal(spool.size, 0);
});
