/**
 * Sustained meter-value ingest into PostgreSQL through the store, beside a raw COPY of the same rows into the same
 * table of the same server, in one run.
 *
 *   node dist/bench/store-ingest.js [--duration-s 15] [--warmup-s 3] [--samples 10] [--producers 2]
 *                                   [--in-flight 500] [--journal true] [--url postgres://postgres@127.0.0.1:5432/postgres]
 *                                   [--no-save]
 *
 * The store path is the real one: the store thread (StoreHost) with its group-committing writer and the PostgreSQL
 * engine; `--producers` StoreKeepers (what each shard runs: records derived from the CALL and its answer, the
 * records of one event-loop turn posted in one message) on their own MessagePorts, each keeping `--in-flight`
 * MeterValues CALLs outstanding (stations waiting for their CALLRESULT), every CALL with `--samples` sampled values
 * (energy, power, currents and voltages per phase, SoC, temperature). The journal (one `messages` row per CALL) is
 * on unless `--journal false` (the default configuration leaves MeterValues out of it: `store.journalExcept`).
 * Then COPY: the same number of meter rows, built the same way, streamed with `COPY meter_values FROM STDIN`.
 * Both write into a database created for the run (dropped at the end).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import postgres from 'postgres';
import { loadConfig } from '../src/config/load.js';
import { StoreHost } from '../src/store/host.js';
import { StoreClient } from '../src/store/client.js';
import { StoreKeeper } from '../src/shard/store-keeper.js';
import { deriveRecords } from '../src/store/derive.js';
import { METER_COLUMNS, meterRows } from '../src/store/sql-writes.js';
import type { ObservedSession } from '../src/protocol/ocpp-j/session-context.js';
import { processCpuSplit } from './proc.js';
import { fmt, machine, save, sleep, table } from './harness.js';

function flag(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && i + 1 < process.argv.length ? process.argv[i + 1]! : fallback;
}

const durationS = Number(flag('duration-s', '15'));
const warmupS = Number(flag('warmup-s', '3'));
const samples = Math.min(10, Math.max(1, Number(flag('samples', '10'))));
const producers = Number(flag('producers', '2'));
const inFlight = Number(flag('in-flight', '500'));
const journal = flag('journal', 'true') !== 'false';
const adminUrl = flag('url', 'postgres://postgres@127.0.0.1:5432/postgres');
const noSave = process.argv.includes('--no-save');

const SAMPLE_SET = [
  { measurand: 'Energy.Active.Import.Register', unit: 'Wh' },
  { measurand: 'Power.Active.Import', unit: 'W' },
  { measurand: 'Current.Import', phase: 'L1', unit: 'A' },
  { measurand: 'Current.Import', phase: 'L2', unit: 'A' },
  { measurand: 'Current.Import', phase: 'L3', unit: 'A' },
  { measurand: 'Voltage', phase: 'L1-N', unit: 'V' },
  { measurand: 'Voltage', phase: 'L2-N', unit: 'V' },
  { measurand: 'Voltage', phase: 'L3-N', unit: 'V' },
  { measurand: 'SoC', unit: 'Percent', location: 'EV' },
  { measurand: 'Temperature', unit: 'Celsius', location: 'Body' },
];

/** One MeterValues CALL of station `station`, its n-th. */
function meterValues(station: number, n: number): Record<string, unknown> {
  return {
    connectorId: 1,
    transactionId: 100_000 + station,
    meterValue: [{ timestamp: new Date().toISOString(), sampledValue: SAMPLE_SET.slice(0, samples).map((s, i) => ({ ...s, value: String(i === 0 ? n * 10 : 230 + (n % 7)), context: 'Sample.Periodic' })) }],
  };
}

/** COPY text format: tab-separated, \N for null, backslash escapes. */
function copyLine(row: unknown[]): string {
  return `${row.map((v) => (v === null || v === undefined ? '\\N' : String(v).replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n'))).join('\t')}\n`;
}

async function main(): Promise<void> {
  const dbName = `ocpp_router_ingest_${process.pid}`;
  const admin = postgres(adminUrl, { max: 1, onnotice: () => undefined });
  await admin.unsafe(`DROP DATABASE IF EXISTS ${dbName}`);
  await admin.unsafe(`CREATE DATABASE ${dbName}`);
  const url = new URL(adminUrl);
  url.pathname = `/${dbName}`;
  const dataDir = mkdtempSync(join(tmpdir(), 'ocpp-router-ingest-'));
  const results: Record<string, unknown>[] = [];
  try {
    const config = loadConfig({ env: {}, overrides: { dataDir, log: { level: 'warn' }, store: { engine: 'postgres', journal, journalExcept: [], postgres: { url: url.toString() } } } });
    const host = await StoreHost.start(config);
    if (host === null) throw new Error('the store did not start');
    // ── the store path
    let phase = 'warmup' as 'warmup' | 'measure' | 'stop';
    let calls = 0;
    let refused = 0;
    const keepers = Array.from({ length: producers }, () => new StoreKeeper(new StoreClient(host.connect()), { journal: () => journal, onFailure: () => undefined }));
    const loops: Promise<void>[] = [];
    for (let p = 0; p < producers; p++) {
      for (let k = 0; k < inFlight; k++) {
        const station = p * inFlight + k;
        const session = { identity: `INGEST-${station}` } as ObservedSession;
        loops.push(
          (async () => {
            for (let n = 0; phase !== 'stop'; n++) {
              const kept = await keepers[p]!.keep(session, `m${n}`, 'MeterValues', meterValues(station, n), {});
              if (kept !== true) refused++;
              else if (phase === 'measure') calls++;
            }
          })(),
        );
      }
    }
    await sleep(warmupS * 1000);
    phase = 'measure';
    const cpu0 = processCpuSplit(process.pid);
    const t0 = performance.now();
    await sleep(durationS * 1000);
    const elapsedS = (performance.now() - t0) / 1000;
    const cpu1 = processCpuSplit(process.pid);
    const measuredCalls = calls;
    phase = 'stop';
    await Promise.all(loops);
    const status = await host.client.status();
    await host.stop();
    const storeRows = measuredCalls * samples;
    const storeCpuS = cpu1.userS + cpu1.systemS - cpu0.userS - cpu0.systemS;
    results.push({ path: 'store', rows: storeRows, calls: measuredCalls, seconds: +elapsedS.toFixed(2), rowsPerS: Math.round(storeRows / elapsedS), callsPerS: Math.round(measuredCalls / elapsedS), commits: status.stats.commits, recordsPerCommit: +(status.stats.records / Math.max(1, status.stats.commits)).toFixed(1), refused, routerCpuUsPerRow: +((storeCpuS * 1e6) / Math.max(1, storeRows)).toFixed(2) });

    // ── raw COPY of as many rows, built the same way, into the same table
    const sql = postgres(url.toString(), { max: 1, onnotice: () => undefined });
    const copyCalls = measuredCalls;
    // Built before the clock starts: COPY is timed for the server's work alone.
    const chunks: string[] = [];
    let chunk = '';
    for (let c = 0; c < copyCalls; c++) {
      const station = c % (producers * inFlight);
      for (const row of meterRows(deriveRecords(`INGEST-${station}`, `c${c}`, 'MeterValues', meterValues(station, c), {}, Date.now(), false))) chunk += copyLine(row);
      if (chunk.length > 256 * 1024) {
        chunks.push(chunk);
        chunk = '';
      }
    }
    if (chunk.length > 0) chunks.push(chunk);
    const c0 = performance.now();
    const writable = await sql.unsafe(`COPY meter_values (${METER_COLUMNS.join(', ')}) FROM STDIN`).writable();
    await pipeline(Readable.from(chunks), writable);
    const copyS = (performance.now() - c0) / 1000;
    const count = Number((await sql`SELECT count(*)::bigint AS n FROM meter_values`)[0]!.n);
    await sql.end();
    results.push({ path: 'COPY', rows: copyCalls * samples, seconds: +copyS.toFixed(2), rowsPerS: Math.round((copyCalls * samples) / copyS), tableRowsAfter: count });
  } finally {
    await admin.unsafe(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
    await admin.end();
    rmSync(dataDir, { recursive: true, force: true });
  }

  const facts = machine();
  const store = results[0] as { rowsPerS: number };
  const copy = results[1] as { rowsPerS: number };
  const ratio = store.rowsPerS / copy.rowsPerS;
  const conditions = `store-ingest: PostgreSQL ${adminUrl.replace(/\/\/[^@]*@/, '//')}, ${producers} producers × ${inFlight} MeterValues CALLs in flight, ${samples} sampled values per CALL, journal ${journal ? 'on' : 'off'}, window ${durationS} s after ${warmupS} s | ${String(facts.cpuModel)}, ${String(facts.cores)} cores, Node ${String(facts.node)}, git ${String(facts.gitRev)}${facts.gitDirty === true ? '+dirty' : ''}`;
  process.stdout.write(`\n${conditions}\n`);
  process.stdout.write(
    `${table(
      ['path', 'meter rows', 'seconds', 'rows/s', 'CALLs/s', 'records/commit', 'router CPU µs/row'],
      results.map((r) => [String(r.path), Number(r.rows), fmt(Number(r.seconds)), Number(r.rowsPerS), r.callsPerS === undefined ? '-' : Number(r.callsPerS), r.recordsPerCommit === undefined ? '-' : Number(r.recordsPerCommit), r.routerCpuUsPerRow === undefined ? '-' : Number(r.routerCpuUsPerRow)]),
    )}\n`,
  );
  process.stdout.write(`store/COPY: ${fmt(ratio)}× (target ≥ 0.5×, and ≥ 20,000 meter values/s: ${store.rowsPerS >= 20_000 ? 'met' : 'NOT met'})\n`);
  save(noSave, { scenario: 'store-ingest', kind: 'store-ingest', params: { durationS, warmupS, samples, producers, inFlight, journal }, ...facts, results, ratios: { storeOverCopy: +ratio.toFixed(3) }, note: 'meter rows committed per second through the store thread (group commit, unnest bulk insert, the journal row of each CALL in the same transaction) versus COPY of the same rows into the same table' });
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
