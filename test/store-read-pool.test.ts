/**
 * The SQLite store's read pool (src/store/sqlite/read-pool.ts): long reads answered by piscina threads with their
 * own read-only connections give the same answers as the store thread; a write committed just before a read is in
 * it; the store thread keeps committing while a large export runs; a pool thread that dies fails its read with a
 * clear error (503 through the API) and the pool answers again afterwards; closing waits for a running export.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../src/config/load.js';
import { StoreHost } from '../src/store/host.js';
import { StoreClient } from '../src/store/client.js';
import { deriveRecords } from '../src/store/derive.js';
import { transactionsCsv } from '../src/store/export-csv.js';
import { RouterError } from '../src/protocol/errors.js';
import { storeRoutes } from '../src/api/store-routes.js';
import type { RouterServer } from '../src/control/router.js';
import { isLongRead, StoreReadPool, type ReadTask } from '../src/store/sqlite/read-pool.js';
import { MessageChannel } from 'node:worker_threads';
import { waitFor } from './helpers/server.js';
import { prefillSqliteStore } from '../bench/prefill.js';

const STATIONS = 2000;
const TRANSACTIONS = 120_000;

/** Prefilled once; each test works on its own copy. */
let template: Promise<string> | null = null;
function prefilled(): Promise<string> {
  if (template === null) {
    const dir = mkdtempSync(join(tmpdir(), 'ocpp-router-readpool-template-'));
    process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, 'store.db');
    template = prefillSqliteStore(file, { stations: STATIONS, transactions: TRANSACTIONS }).then(() => file);
  }
  return template;
}

async function store(t: { after(fn: () => unknown): void }, threads = 1): Promise<{ host: StoreHost; direct: StoreClient }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'ocpp-router-readpool-'));
  t.after(() => rmSync(dataDir, { recursive: true, force: true }));
  const config = loadConfig({ env: {}, overrides: { dataDir, log: { level: 'warn' }, store: { engine: 'sqlite', sqlite: { readPool: { threads } } } } });
  copyFileSync(await prefilled(), config.store.sqlite.file);
  const host = (await StoreHost.start(config))!;
  t.after(() => host.stop());
  // A client without the pool: every query on the store thread (what a shard's client does).
  const direct = new StoreClient(host.connect());
  t.after(() => direct.close());
  return { host, direct };
}

let seq = 0;
/** A StartTransaction's records for a new transaction of `identity`. */
function start(identity: string): { records: ReturnType<typeof deriveRecords>; txId: string } {
  const txId = String(9_000_000 + ++seq);
  const at = Date.now();
  return { txId, records: deriveRecords(identity, `u${seq}`, 'StartTransaction', { connectorId: 1, idTag: 'RYW', meterStart: 5, timestamp: new Date(at).toISOString() }, { transactionId: Number(txId), idTagInfo: { status: 'Accepted' } }, at, false) };
}

test('the pool answers long reads exactly as the store thread does (transactions, CSV, stations); small pages stay on the store thread', async (t) => {
  const { host, direct } = await store(t);
  assert.ok(host.readPool !== null);
  assert.equal(host.readPool.threads.length, 1);
  assert.equal(isLongRead({ kind: 'transactions', args: { limit: 1000 } }), false, 'a page stays on the store thread');
  assert.equal(isLongRead({ kind: 'transactions', args: { limit: 1001 } }), true);
  assert.equal(isLongRead({ kind: 'transaction', args: { id: 1 } }), false);
  assert.equal(isLongRead({ kind: 'transactionsCsv', args: { limit: 1 } }), true, 'exports always');
  const filter = { limit: 5000, from: Date.now() - 30 * 86_400_000 };
  const [pooled, threaded] = await Promise.all([host.client.query('transactions', filter), direct.query('transactions', filter)]);
  assert.equal(pooled.items.length, 5000);
  assert.deepEqual(pooled, threaded);
  const csvFilter = { limit: 1_000_000, idTag: 'TAG-7' };
  assert.equal(await host.client.transactionsCsv(csvFilter), transactionsCsv((await direct.query('transactions', csvFilter)).items));
  const stations = await host.client.query('stations', null);
  assert.equal(stations, await direct.query('stations', null));
  assert.equal((JSON.parse(stations) as unknown[]).length, STATIONS);
});

test('read-your-writes: a write that resolved is in the next pooled read, every time', async (t) => {
  const { host } = await store(t);
  for (let i = 0; i < 20; i++) {
    const { records, txId } = start('RYW-1');
    const outcome = await host.client.write(records);
    assert.equal(outcome, 'committed');
    const csv = await host.client.transactionsCsv({ identity: 'RYW-1', limit: 1_000_000 });
    assert.ok(csv.includes(`,RYW-1,${txId},`), `transaction ${txId} in the export after its write (round ${i})`);
  }
});

test('the store keeps committing while a large export runs in the pool', async (t) => {
  const { host } = await store(t);
  let exportDone = false;
  const started = performance.now();
  const exported = host.client.transactionsCsv({ limit: 1_000_000 }).then((csv) => {
    exportDone = true;
    return { csv, ms: performance.now() - started };
  });
  const latencies: number[] = [];
  while (!exportDone && latencies.length < 500) {
    const t0 = performance.now();
    await host.client.write(start('LIVE-1').records);
    latencies.push(performance.now() - t0);
  }
  const { csv, ms } = await exported;
  // The export's snapshot: the prefilled rows and the live writes committed before its read began.
  const rows = csv.split('\r\n').length - 2;
  assert.ok(rows >= TRANSACTIONS && rows <= TRANSACTIONS + latencies.length, `${rows} rows`);
  const worst = Math.max(...latencies);
  // Had the export run on the store thread, a write would wait for all of it.
  assert.ok(latencies.length >= 3, `${latencies.length} writes committed during a ${ms.toFixed(0)} ms export`);
  assert.ok(worst < ms / 2, `worst commit ${worst.toFixed(1)} ms during a ${ms.toFixed(0)} ms export`);
});

test('a pool thread that dies fails only its read, with a clear error (503 from the API), and the pool answers again', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'ocpp-router-readpool-'));
  t.after(() => rmSync(dataDir, { recursive: true, force: true }));
  const pool = new StoreReadPool(join(dataDir, 'unused.db'), 1, new URL('./helpers/dying-read-worker.js', import.meta.url).href);
  t.after(() => pool.close());
  assert.deepEqual(await pool.run({ kind: 'stations', args: null } as ReadTask), []); // the thread is up
  await assert.rejects(pool.run({ kind: 'transactionsCsv', args: { limit: 1_000_000 } } as ReadTask), (e: unknown) => e instanceof RouterError && e.code === 'PERSISTENCE' && /read pool failed/.test(e.message) && (e.details as { reason: string }).reason === 'STORE_READ_FAILED');
  // The API's answer for the same failure, through the store client's long-read path.
  const { port1 } = new MessageChannel();
  t.after(() => port1.close());
  const client = new StoreClient(port1, { isLong: isLongRead, run: <R>(task: ReadTask) => pool.run<R>(task) });
  const routes = storeRoutes({ store: client } as unknown as RouterServer, '/api');
  const list = routes.find((r) => r.method === 'GET' && r.path === '/api/transactions')!;
  const response = await list.handle({ request: { method: 'GET', path: '/api/transactions', query: 'format=csv', headers: {}, body: '', remoteAddress: '127.0.0.1' } as never, params: {}, query: new URLSearchParams('format=csv') });
  assert.equal(response.status, 503);
  assert.match(String(response.body), /STORE_READ_FAILED/);
  // A new thread took the dead one's place: the next read is answered.
  assert.deepEqual(await pool.run({ kind: 'stations', args: null } as ReadTask), []);
  await waitFor(() => pool.threads.length === 1, 5000, 'one thread again');
});

test('closing the pool lets a running export finish (never terminated inside libsql) and refuses new reads', async (t) => {
  const { host } = await store(t);
  const pool = host.readPool!;
  await host.client.query('stations', null); // the thread is up
  const reading = host.client.transactionsCsv({ limit: 1_000_000 });
  await new Promise((r) => setTimeout(r, 30));
  await pool.close();
  const csv = await reading;
  assert.ok(csv.split('\r\n').length - 2 >= TRANSACTIONS, 'the export finished whole');
  await assert.rejects(pool.run({ kind: 'stations', args: null } as ReadTask), (e: unknown) => e instanceof RouterError && e.code === 'SHUTTING_DOWN');
});
