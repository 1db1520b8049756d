/**
 * Crash tests of the store: a fleet charges with frequent meter values against the router as a real process,
 * which is killed with SIGKILL mid-run (and, with PostgreSQL, loses its database mid-run) and started again.
 * Every CALL a station saw acknowledged (a CALLRESULT arrived) must be in the store afterwards, with its meter
 * values, and transaction ids stay unique across the restart. The store is read with the engines directly, not
 * through the router. The same for the webhook's responder fallback: what a station saw answered while the receiver
 * was down reaches the receiver after a kill -9 and a restart.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TestStation, waitFor } from './helpers/server.js';
import { spawnRouter, type RouterProcess } from './helpers/router-process.js';
import { freePort, privatePostgres } from './helpers/postgres.js';
import { SqliteEngine } from '../src/store/sqlite/engine.js';
import { PostgresEngine } from '../src/store/postgres/engine.js';
import type { StoreEngine } from '../src/store/engine.js';

const LIMIT = { timeout: 180_000 };
const STATIONS = 12;

interface Acked {
  identity: string;
  uniqueId: string;
  action: string;
  txId: number | null;
  /** The marker value of a MeterValues (unique per station). */
  meter: number | null;
}

/** What the fleet saw: CALLs acknowledged, CALLERRORs, and the transaction ids it was given. */
interface FleetLog {
  acked: Acked[];
  errors: Map<string, number>;
}

/** Sends a CALL; resolves with the answer frame, or null when the connection closed first. */
function callOrClosed(station: TestStation, action: string, payload: Record<string, unknown>, id: string): Promise<unknown[] | null> {
  if (station.ws.readyState !== station.ws.OPEN) return Promise.resolve(null);
  return Promise.race([station.call(action, payload, id), station.closed.then(() => null)]);
}

/**
 * One station charging in a loop until `until()` or its connection goes: Start, MeterValues every turn (a
 * unique increasing register value), Stop after five. Returns when its connection is gone or time is up.
 */
async function charge(port: number, identity: string, round: number, log: FleetLog, until: () => boolean): Promise<void> {
  let station: TestStation;
  try {
    station = await TestStation.connect(`ws://127.0.0.1:${port}/ocpp/${identity}`, ['ocpp1.6']);
  } catch {
    return;
  }
  let seq = 0;
  let meter = round * 1_000_000;
  const send = async (action: string, payload: Record<string, unknown>): Promise<Record<string, unknown> | null> => {
    const uniqueId = `${identity}-r${round}-${++seq}`;
    const frame = await callOrClosed(station, action, payload, uniqueId);
    if (frame === null) return null;
    if (frame[0] === 4) {
      log.errors.set(String(frame[2]), (log.errors.get(String(frame[2])) ?? 0) + 1);
      return null;
    }
    const reply = frame[2] as Record<string, unknown>;
    log.acked.push({ identity, uniqueId, action, txId: action === 'StartTransaction' ? (reply.transactionId as number) : ((payload.transactionId as number | undefined) ?? null), meter: action === 'MeterValues' ? meter : null });
    return reply;
  };
  try {
    await send('BootNotification', { chargePointVendor: 'Crash', chargePointModel: 'Test' });
    while (!until() && station.ws.readyState === station.ws.OPEN) {
      const start = await send('StartTransaction', { connectorId: 1, idTag: 'CRASH', meterStart: meter, timestamp: new Date().toISOString() });
      if (start === null) continue;
      const txId = start.transactionId as number;
      for (let i = 0; i < 5 && !until(); i++) {
        meter += 10;
        await send('MeterValues', { connectorId: 1, transactionId: txId, meterValue: [{ timestamp: new Date().toISOString(), sampledValue: [{ value: String(meter), measurand: 'Energy.Active.Import.Register', unit: 'Wh' }, { value: '7400', measurand: 'Power.Active.Import', unit: 'W' }] }] });
      }
      await send('StopTransaction', { transactionId: txId, meterStop: meter, timestamp: new Date().toISOString(), reason: 'Local' });
    }
  } finally {
    station.ws.terminate();
  }
}

/** The fleet charges until `stopAfterMs` or until its connections go (the router was killed). */
function fleet(port: number, round: number, log: FleetLog, stopAfterMs: number): Promise<void> {
  const deadline = Date.now() + stopAfterMs;
  return Promise.all(Array.from({ length: STATIONS }, (_, i) => charge(port, `CRASH-${i}`, round, log, () => Date.now() > deadline))).then(() => undefined);
}

/** Every acknowledged CALL is in the journal, every acknowledged meter value is kept, transaction ids are unique. */
async function assertKept(engine: StoreEngine, log: FleetLog): Promise<void> {
  assert.ok(log.acked.length > STATIONS * 10, `traffic before the kill: ${log.acked.length} acknowledged CALLs`);
  for (let i = 0; i < STATIONS; i++) {
    const identity = `CRASH-${i}`;
    const journal = new Set((await engine.query('messages', { identity, limit: 1_000_000 })).map((m) => m.uniqueId));
    const mine = log.acked.filter((a) => a.identity === identity);
    // MeterValues are left out of the journal by default (store.journalExcept): their samples are checked below.
    const missing = mine.filter((a) => a.action !== 'MeterValues' && !journal.has(a.uniqueId));
    assert.deepEqual(missing, [], `${identity}: acknowledged but not kept`);
    const txs = await engine.query('transactions', { identity, limit: 1_000_000 });
    const byTxId = new Map(txs.items.map((x) => [x.transactionId, x]));
    for (const a of mine.filter((x) => x.action === 'StartTransaction')) assert.ok(byTxId.has(String(a.txId)), `${identity}: transaction ${a.txId} kept`);
    for (const a of mine.filter((x) => x.action === 'StopTransaction')) assert.equal(byTxId.get(String(a.txId))?.open, false, `${identity}: transaction ${a.txId} closed`);
    // Meter values: every acknowledged register value is among the transaction's samples.
    const meters = mine.filter((x) => x.action === 'MeterValues');
    const perTx = new Map<number, number[]>();
    for (const m of meters) perTx.set(m.txId!, [...(perTx.get(m.txId!) ?? []), m.meter!]);
    for (const [txId, values] of perTx) {
      const detail = await engine.query('transaction', { id: byTxId.get(String(txId))!.id });
      const kept = new Set(detail!.meterValues.filter((v) => v.measurand === 'Energy.Active.Import.Register').map((v) => v.value));
      for (const v of values) assert.ok(kept.has(v), `${identity}: meter value ${v} of transaction ${txId} kept`);
    }
  }
  const ids = log.acked.filter((a) => a.action === 'StartTransaction').map((a) => a.txId);
  assert.equal(new Set(ids).size, ids.length, 'transaction ids unique across the restart');
}

async function dataDir(t: { after(fn: () => unknown): void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'ocpp-router-crash-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

test('SQLite: kill -9 mid-run loses nothing a station saw acknowledged; ids stay unique after the restart', LIMIT, async (t) => {
  const dir = await dataDir(t);
  const log: FleetLog = { acked: [], errors: new Map() };
  const first = await spawnRouter(t, { dataDir: dir });
  const running = fleet(first.port, 1, log, 20_000);
  await waitAcked(log, 400);
  await first.kill9();
  await running;
  const before = log.acked.length;
  // Started again on the same data: the fleet charges on (new transactions), then everything is checked.
  const second = await spawnRouter(t, { dataDir: dir });
  await fleet(second.port, 2, log, 1500);
  assert.ok(log.acked.length > before, 'the fleet charged after the restart');
  second.child.kill('SIGTERM');
  await second.exited;
  const engine = new SqliteEngine({ file: join(dir, 'ocpp-router.db'), synchronous: 'NORMAL' });
  await engine.open();
  t.after(() => engine.close());
  await assertKept(engine, log);
});

/** Resolves once the fleet has `n` acknowledged CALLs (bounded by 30 s). */
async function waitAcked(log: FleetLog, n: number): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (log.acked.length < n) {
    if (Date.now() > deadline) throw new Error(`only ${log.acked.length} acknowledged CALLs after 30 s`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

for (const onFailure of ['error', 'spool'] as const) {
  test(`PostgreSQL restarted mid-run, then kill -9 (store.onFailure ${onFailure}): every acknowledged CALL kept`, LIMIT, async (t) => {
    const pg = await privatePostgres(t);
    const dir = await dataDir(t);
    const env = { STORE_ENGINE: 'postgres', DATABASE_URL: pg.url, STORE_ON_FAILURE: onFailure };
    const log: FleetLog = { acked: [], errors: new Map() };
    let router: RouterProcess = await spawnRouter(t, { dataDir: dir, env });
    const running = fleet(router.port, 1, log, 30_000);
    await waitAcked(log, 300);
    // The database goes away under load.
    pg.stop();
    const atStop = log.acked.length;
    // Until the outage shows: "error" refuses stations (InternalError), "spool" answers them from the spool.
    await waitFor(() => (onFailure === 'error' ? (log.errors.get('InternalError') ?? 0) > 0 : log.acked.length - atStop > STATIONS * 5), 15_000, `the outage seen by the stations (${onFailure})`);
    if (onFailure === 'error') {
      assert.ok((log.errors.get('InternalError') ?? 0) > 0, 'stations were refused while the database was away');
      assert.ok(log.acked.length - atStop < STATIONS * 2, `at most the CALLs committed as it went down were acknowledged (${log.acked.length - atStop})`);
      await pg.start();
      await waitAcked(log, log.acked.length + 200);
    } else {
      assert.ok(log.acked.length - atStop > STATIONS * 5, `stations were answered from the spool (${log.acked.length - atStop})`);
    }
    // kill -9: with "spool", while the database is still away and the spool holds what was acknowledged.
    await router.kill9();
    await running;
    if (onFailure === 'spool') await pg.start();
    router = await spawnRouter(t, { dataDir: dir, env });
    await fleet(router.port, 2, log, 1500);
    // The spool of the killed run replays into the database that is back (new writes queue behind it).
    await waitFor(async () => /^ocpp_store_available\{engine="postgres"\} 1$/m.test(await (await fetch(`http://127.0.0.1:${router.port}/metrics`)).text()), 60_000, 'the store spool to drain');
    router.child.kill('SIGTERM');
    await router.exited;
    const engine = new PostgresEngine({ url: pg.url, poolSize: 1, connectTimeoutS: 5 });
    await engine.open();
    t.after(() => engine.close());
    await assertKept(engine, log);
  });
}

test('webhook fallback: answered by the responder while the receiver is down, kill -9, restart: every answered CALL is delivered', LIMIT, async (t) => {
  const dir = await dataDir(t);
  const hookPort = await freePort();
  const config = join(dir, 'webhook.json');
  await writeFile(config, JSON.stringify({ webhook: { url: `http://127.0.0.1:${hookPort}/hook`, onFailure: 'responder', timeoutMs: 500, retry: { initialDelayMs: 100, maxDelayMs: 500 } } }));
  const log: FleetLog = { acked: [], errors: new Map() };
  // Nothing listens on the receiver's port: every CALL falls back to the responder and is spooled.
  const first = await spawnRouter(t, { dataDir: join(dir, 'data'), config });
  const running = fleet(first.port, 1, log, 20_000);
  await waitAcked(log, 300);
  await first.kill9();
  await running;
  assert.equal(log.errors.size, 0, `every CALL was answered: ${JSON.stringify([...log.errors])}`);

  const delivered = new Set<string>();
  const receiver = createServer((req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString()) as unknown;
      for (const m of (Array.isArray(body) ? body : [body]) as Array<{ identity?: string; uniqueId?: string }>) if (m.uniqueId !== undefined) delivered.add(`${m.identity}/${m.uniqueId}`);
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => receiver.listen(hookPort, '127.0.0.1', resolve));
  t.after(() => new Promise((r) => receiver.close(r)));
  await spawnRouter(t, { dataDir: join(dir, 'data'), config });
  const want = log.acked.map((a) => `${a.identity}/${a.uniqueId}`);
  await waitFor(() => want.every((k) => delivered.has(k)), 60_000, `all ${want.length} answered CALLs delivered (${delivered.size} so far)`);
});
