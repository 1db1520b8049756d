/**
 * Large exports from the embedded SQLite store, with and without the read pool (`store.sqlite.readPool`), in one
 * run: the control plane's event-loop delay (perf_hooks.monitorEventLoopDelay on the thread that holds the
 * StoreClient and receives the export, as the API does) and the store thread's ingest latency (time for a batch of
 * MeterValues records, written by a shard-like thread over its own port, to commit) while the exports run.
 *
 *   node dist/bench/store-export.js [--stations 100000] [--transactions 300000] [--exports 3] [--batch-calls 10]
 *                                   [--interval-ms 10] [--idle-s 3] [--modes 1,0] [--no-save]
 *
 * Per mode (pool threads; 0 = every read on the store thread): a copy of one prefilled file (bench/prefill.ts), the
 * store started, an idle window (ingest alone), then `--exports` rounds of: the whole transaction list as CSV
 * (`GET /transactions?format=csv` without filters) and the whole station list (the registry load at start).
 */
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { isMainThread, parentPort, Worker, workerData, type MessagePort } from 'node:worker_threads';
import { loadConfig } from '../src/config/load.js';
import { StoreHost } from '../src/store/host.js';
import { StoreClient } from '../src/store/client.js';
import { deriveRecords } from '../src/store/derive.js';
import { prefillSqliteStore } from './prefill.js';
import { machine, save, sleep, table } from './harness.js';

const pct = (sorted: number[], p: number): number => (sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!);

if (!isMainThread) {
  // The ingest side: a shard's StoreClient writing `batchCalls` MeterValues (10 samples each) every `intervalMs`.
  const { port, batchCalls, intervalMs } = workerData as { port: MessagePort; batchCalls: number; intervalMs: number };
  const client = new StoreClient(port);
  const latencies: { window: number[] | null } = { window: null };
  parentPort!.on('message', (m: { t: 'start' } | { t: 'take' } | { t: 'stop' }) => {
    if (m.t === 'start') latencies.window = [];
    else if (m.t === 'take') {
      parentPort!.postMessage(latencies.window ?? []);
      latencies.window = [];
    } else if (m.t === 'stop') process.exit(0);
  });
  const samples = ['Energy.Active.Import.Register', 'Power.Active.Import', 'Current.Import', 'Voltage', 'SoC', 'Temperature', 'Frequency', 'Power.Factor', 'Current.Offered', 'Power.Offered'];
  void (async () => {
    for (let n = 0; ; n++) {
      const at = Date.now();
      const records = [];
      for (let c = 0; c < batchCalls; c++) {
        const payload = { connectorId: 1, transactionId: 1 + c, meterValue: [{ timestamp: new Date(at).toISOString(), sampledValue: samples.map((measurand, i) => ({ value: String(i === 0 ? n * 10 : 230), measurand })) }] };
        records.push(...deriveRecords(`ING-${c}`, `m${n}`, 'MeterValues', payload, {}, at, false));
      }
      const t0 = performance.now();
      await client.write(records);
      latencies.window?.push(performance.now() - t0);
      await new Promise((r) => setTimeout(r, intervalMs));
    }
  })();
} else {
  const flags = new Map<string, string>();
  for (let i = 2; i < process.argv.length; i++) if (process.argv[i]!.startsWith('--')) flags.set(process.argv[i]!.slice(2), process.argv[i + 1]?.startsWith('--') === false ? process.argv[++i]! : 'true');
  const num = (name: string, dflt: number): number => Number(flags.get(name) ?? dflt);
  const stations = num('stations', 100_000);
  const transactions = num('transactions', 300_000);
  const exports = num('exports', 3);
  const batchCalls = num('batch-calls', 10);
  const intervalMs = num('interval-ms', 10);
  const idleS = num('idle-s', 3);
  const modes = (flags.get('modes') ?? '1,0').split(',').map(Number);

  const dir = mkdtempSync(join(tmpdir(), 'ocpp-router-export-'));
  const template = join(dir, 'template.db');
  const p0 = performance.now();
  await prefillSqliteStore(template, { stations, transactions });
  console.log(`prefilled ${stations} stations, ${transactions} transactions in ${((performance.now() - p0) / 1000).toFixed(1)} s`);
  const rows: Record<string, unknown>[] = [];
  try {
    for (const threads of modes) {
      const dataDir = join(dir, `mode-${threads}`);
      const config = loadConfig({ env: {}, overrides: { dataDir, log: { level: 'warn' }, store: { engine: 'sqlite', retentionDays: 0, sqlite: { readPool: { threads } } } } });
      mkdirSync(dataDir, { recursive: true });
      copyFileSync(template, config.store.sqlite.file);
      const host = (await StoreHost.start(config))!;
      const port = host.connect();
      const ingest = new Worker(new URL(import.meta.url), { workerData: { port, batchCalls, intervalMs }, transferList: [port] });
      const take = (): Promise<number[]> => new Promise((resolve) => {
        ingest.once('message', resolve);
        ingest.postMessage({ t: 'take' });
      });
      ingest.postMessage({ t: 'start' });
      await sleep(1000);
      await take();
      // Idle: ingest alone.
      const eldIdle = monitorEventLoopDelay({ resolution: 10 });
      eldIdle.enable();
      await sleep(idleS * 1000);
      eldIdle.disable();
      const idle = (await take()).sort((a, b) => a - b);
      // Exports.
      const eld = monitorEventLoopDelay({ resolution: 10 });
      eld.enable();
      const exportMs: number[] = [];
      const stationsMs: number[] = [];
      let bytes = 0;
      const e0 = performance.now();
      for (let r = 0; r < exports; r++) {
        let t0 = performance.now();
        const csv = await host.client.transactionsCsv({ limit: 1_000_000 });
        exportMs.push(performance.now() - t0);
        bytes = csv.length;
        t0 = performance.now();
        JSON.parse(await host.client.query('stations', null));
        stationsMs.push(performance.now() - t0);
      }
      const exportWindowS = (performance.now() - e0) / 1000;
      eld.disable();
      const during = (await take()).sort((a, b) => a - b);
      ingest.postMessage({ t: 'stop' });
      await host.stop();
      const ms = (ns: number): number => +(ns / 1e6).toFixed(1);
      const row = {
        pool: threads === 0 ? 'off (store thread)' : `${threads} thread${threads > 1 ? 's' : ''}`,
        csvMB: +(bytes / 1e6).toFixed(1),
        csvExportMs: Math.round(exportMs.reduce((a, b) => a + b, 0) / exportMs.length),
        stationsMs: Math.round(stationsMs.reduce((a, b) => a + b, 0) / stationsMs.length),
        cpEldP99Ms: ms(eld.percentile(99)),
        cpEldMaxMs: ms(eld.max),
        cpEldIdleP99Ms: ms(eldIdle.percentile(99)),
        ingestIdleP50Ms: +pct(idle, 50).toFixed(1),
        ingestIdleP99Ms: +pct(idle, 99).toFixed(1),
        ingestP50Ms: +pct(during, 50).toFixed(1),
        ingestP99Ms: +pct(during, 99).toFixed(1),
        ingestMaxMs: +(during.at(-1) ?? NaN).toFixed(1),
        ingestBatches: during.length,
        ingestBatchesPerS: +(during.length / exportWindowS).toFixed(1),
      };
      rows.push(row);
      console.log(JSON.stringify(row));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const keys = Object.keys(rows[0]!);
  console.log(table(keys, rows.map((r) => keys.map((k) => r[k] as string | number))));
  save(flags.has('no-save'), { bench: 'store-export', stations, transactions, exports, batchCalls, intervalMs, machine: machine(), rows });
}
