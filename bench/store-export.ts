/**
 * Large exports from the embedded SQLite store, with and without the read pool (`store.sqlite.readPool`), in one
 * run: the control plane's event-loop delay (perf_hooks.monitorEventLoopDelay on the thread that holds the
 * StoreClient and receives the export, as the API does) and the store thread's ingest latency (time for a batch of
 * MeterValues records, written by a shard-like thread over its own port, to commit) while the exports run.
 *
 *   node dist/bench/store-export.js [--stations 100000] [--transactions 300000] [--exports 1] [--batch-calls 10]
 *                                   [--interval-ms 10] [--idle-s 3] [--modes 0,1,0,1] [--no-save]
 *
 * Per mode (pool threads; 0 = every read on the store thread): a copy of one prefilled file (bench/prefill.ts), the
 * store started, an idle window (ingest alone), then `--exports` rounds of: the whole transaction list as CSV
 * (`GET /transactions?format=csv` without filters) and the whole station list as the JSON text the registry loads at
 * start (not parsed here: only the read and its crossing). Modes alternate (0,1,0,1) so a change in the machine's
 * load during the run (other processes) does not fall on one mode only.
 */
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
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
  const exports = num('exports', 1);
  const batchCalls = num('batch-calls', 10);
  const intervalMs = num('interval-ms', 10);
  const idleS = num('idle-s', 3);
  const modes = (flags.get('modes') ?? '0,1,0,1').split(',').map(Number);

  const dir = mkdtempSync(join(tmpdir(), 'ocpp-router-export-'));
  const template = join(dir, 'template.db');
  const p0 = performance.now();
  await prefillSqliteStore(template, { stations, transactions });
  console.log(`prefilled ${stations} stations, ${transactions} transactions in ${((performance.now() - p0) / 1000).toFixed(1)} s`);
  const rows: Record<string, unknown>[] = [];
  try {
    for (const threads of modes) {
      const dataDir = join(dir, `mode-${rows.length}`);
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
      // Exports: the CSV and the station list measured apart (each its own delay histogram and ingest window).
      // One histogram per phase and round, enabled once: a histogram enabled again after a pause counts the pause.
      const eldCsv: IntervalHistogram[] = [];
      const eldStations: IntervalHistogram[] = [];
      const phase = (list: IntervalHistogram[]): IntervalHistogram => {
        const h = monitorEventLoopDelay({ resolution: 10 });
        h.enable();
        list.push(h);
        return h;
      };
      const exportMs: number[] = [];
      const stationsMs: number[] = [];
      const duringCsv: number[] = [];
      const duringStations: number[] = [];
      let csvS = 0;
      let bytes = 0;
      let stationBytes = 0;
      for (let r = 0; r < exports; r++) {
        let h = phase(eldCsv);
        let t0 = performance.now();
        const csv = await host.client.transactionsCsv({ limit: 1_000_000 });
        exportMs.push(performance.now() - t0);
        // The histogram records a stall when its timer runs after it: give it that turn before disabling.
        await sleep(30);
        h.disable();
        duringCsv.push(...(await take()));
        bytes = csv.length;
        h = phase(eldStations);
        t0 = performance.now();
        stationBytes = (await host.client.query('stations', null)).length;
        stationsMs.push(performance.now() - t0);
        await sleep(30);
        h.disable();
        duringStations.push(...(await take()));
      }
      csvS = exportMs.reduce((a, b) => a + b, 0) / 1000;
      const during = duringCsv.sort((a, b) => a - b);
      const duringSt = duringStations.sort((a, b) => a - b);
      ingest.postMessage({ t: 'stop' });
      await host.stop();
      const ms = (ns: number): number => +(ns / 1e6).toFixed(1);
      const avg = (xs: number[]): number => Math.round(xs.reduce((a, b) => a + b, 0) / xs.length);
      const row = {
        pool: threads === 0 ? 'off' : `${threads} thread${threads > 1 ? 's' : ''}`,
        csvMB: +(bytes / 1e6).toFixed(1),
        csvMs: avg(exportMs),
        csvEldP99: ms(Math.max(...eldCsv.map((e) => e.percentile(99)))),
        csvEldMax: ms(Math.max(...eldCsv.map((e) => e.max))),
        csvIngestP50: +pct(during, 50).toFixed(1),
        csvIngestP99: +pct(during, 99).toFixed(1),
        csvIngestMax: +(during.at(-1) ?? NaN).toFixed(1),
        csvIngestPerS: +(during.length / csvS).toFixed(1),
        stationsMB: +(stationBytes / 1e6).toFixed(1),
        stationsMs: avg(stationsMs),
        stEldP99: ms(Math.max(...eldStations.map((e) => e.percentile(99)))),
        stEldMax: ms(Math.max(...eldStations.map((e) => e.max))),
        stIngestMax: +(duringSt.at(-1) ?? NaN).toFixed(1),
        idleEldP99: ms(eldIdle.percentile(99)),
        idleIngestP50: +pct(idle, 50).toFixed(1),
        idleIngestP99: +pct(idle, 99).toFixed(1),
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
