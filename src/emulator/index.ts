/**
 * Library API of the charge point emulator.
 *
 *   const fleet = await startFleet({ stations: templateStations({ stations: 5000, url: 'ws://127.0.0.1:9220/ocpp' }) });
 *   …  fleet.stats()  …
 *   await fleet.stop();
 *
 * `threads: 0` runs the stations in the calling thread (their objects are then in `fleet.local`); otherwise
 * they are spread over worker threads (default: one per 5000 stations, at most the CPU count).
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { Fleet, validateFleetOptions, type FleetOptions } from './fleet.js';
import { addStats, emptyStats, formatSummary, type FleetStats } from './stats.js';
import type { WorkerIn, WorkerOut } from './worker.js';

export { Fleet, type FleetOptions } from './fleet.js';
export { EmulatedStation, Connector } from './station/index.js';
export { loadStationsDir, loadStationDir, parseStationConfig, templateStations, loopbackAddresses, transportOf, EmulatorConfigError } from './config.js';
export type { StationSpec, Scenario, StationEvent, EmulatorTimings, ConfigKey, ConnectorSpec, EmulatorVersion, StationTransport, ChargePointServiceOptions } from './types.js';
export { formatSummary, type FleetStats } from './stats.js';

export interface StartFleetOptions extends FleetOptions {
  /** Worker threads (0: this thread). Default: ceil(stations / 5000), at most the CPU count, 0 under 1000 stations. */
  threads?: number;
  /** Summary line every this many ms (0: none; default 5000). */
  summaryIntervalMs?: number;
  /** Where summary lines and warnings go (default stderr). */
  log?: (line: string) => void;
}

export interface FleetHandle {
  /** The fleet of the calling thread when threads is 0 (stations reachable for tests), else null. */
  readonly local: Fleet | null;
  readonly threads: number;
  /** ChargePointService base address of each thread with OCPP-S stations (`http://host:port/path`; a station's is + `/identity`). */
  readonly chargePointServices: readonly string[];
  /** Counters summed over threads (worker figures are at most a second old). */
  stats(): FleetStats;
  /** Stops every station and thread; resolves with the final counters (also logged as a summary). */
  stop(): Promise<FleetStats>;
}

export function defaultThreads(stations: number): number {
  if (stations < 1000) return 0;
  return Math.max(1, Math.min(availableParallelism(), Math.ceil(stations / 5000)));
}

export async function startFleet(options: StartFleetOptions): Promise<FleetHandle> {
  validateFleetOptions(options);
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const threads = options.threads ?? defaultThreads(options.stations.length);
  if (!Number.isInteger(threads) || threads < 0) throw new Error('options.threads must be an integer >= 0');
  const started = Date.now();
  let local: Fleet | null = null;
  const workers: Array<{ worker: Worker; stats: FleetStats; done: Promise<FleetStats>; ready: Promise<string | null> }> = [];
  const chargePointServices: string[] = [];
  if (threads === 0) {
    local = new Fleet({ ...options, warn: options.warn ?? log }).start();
    try {
      await local.ready();
    } catch (error) {
      await local.stop();
      throw new Error(`emulator: the ChargePointService cannot listen: ${(error as Error).message}`, { cause: error });
    }
    if (local.chargePointService !== null) chargePointServices.push(local.chargePointService);
  } else {
    const { stations, onEvent: _e, warn: _w, log: _l, threads: _t, summaryIntervalMs: _s, ...rest } = options;
    const cp = rest.chargePointService;
    for (let i = 0; i < threads; i++) {
      const share = stations.filter((_, j) => j % threads === i);
      const rate = rest.connectRatePerS === undefined ? undefined : rest.connectRatePerS / threads;
      // Threads cannot share a port (no SO_REUSEPORT for node:http on Node 20): thread i listens on port + i.
      const cpi = cp?.port !== undefined && cp.port > 0 ? { chargePointService: { ...cp, port: cp.port + i } } : {};
      const worker = new Worker(new URL('./worker.js', import.meta.url), { workerData: { ...rest, ...cpi, ...(rate === undefined ? {} : { connectRatePerS: rate }), stations: share } });
      const entry = { worker, stats: emptyStats(), done: null as unknown as Promise<FleetStats>, ready: null as unknown as Promise<string | null> };
      let ready: (url: string | null) => void = () => undefined;
      let failed: (error: Error) => void = () => undefined;
      entry.ready = new Promise<string | null>((resolve, reject) => {
        ready = resolve;
        failed = reject;
      });
      entry.ready.catch(() => undefined);
      entry.done = new Promise<FleetStats>((resolve) => {
        worker.on('message', (m: WorkerOut) => {
          if (m.t === 'warn') log(m.message);
          else if (m.t === 'ready') ready(m.chargePointService);
          else if (m.t === 'error') failed(new Error(`emulator: worker ${i}: the ChargePointService cannot listen: ${m.message}`));
          else {
            entry.stats = m.stats;
            if (m.t === 'stopped') resolve(m.stats);
          }
        });
        worker.on('error', (error) => {
          failed(error);
          log(`emulator: worker ${i} failed: ${error.stack ?? error.message}`);
        });
        worker.on('exit', () => {
          failed(new Error(`emulator: worker ${i} exited`));
          resolve(entry.stats);
        });
      });
      workers.push(entry);
    }
    // OCPP-S stations need their thread's ChargePointService: wait until every one listens.
    if (stations.some((s) => s.transport === 'ocpp-s')) {
      try {
        for (const w of workers) {
          const url = await w.ready;
          if (url !== null) chargePointServices.push(url);
        }
      } catch (error) {
        await Promise.all(workers.map((w) => w.worker.terminate()));
        throw error;
      }
    }
  }
  const total = (): FleetStats => {
    if (local !== null) return { ...local.stats };
    const sum = emptyStats();
    for (const w of workers) addStats(sum, w.stats);
    return sum;
  };
  let prev: FleetStats | null = null;
  let prevAt = started;
  const interval = options.summaryIntervalMs ?? 5000;
  if (interval > 0 && chargePointServices.length > 0) log(`emulator: ChargePointService of the OCPP-S stations at ${chargePointServices.map((u) => `${u}/<identity>`).join(', ')}`);
  const timer =
    interval > 0
      ? setInterval(() => {
          const now = Date.now();
          const s = total();
          log(formatSummary(s, prev, now - prevAt));
          prev = s;
          prevAt = now;
        }, interval)
      : null;
  timer?.unref();
  let stopping: Promise<FleetStats> | null = null;
  return {
    local,
    threads,
    chargePointServices,
    stats: total,
    stop() {
      stopping ??= (async () => {
        if (timer !== null) clearInterval(timer);
        if (local !== null) await local.stop();
        for (const w of workers) w.worker.postMessage({ t: 'stop' } satisfies WorkerIn);
        await Promise.all(workers.map((w) => w.done));
        await Promise.all(workers.map((w) => w.worker.terminate()));
        const s = total();
        if (interval > 0) log(`${formatSummary(s, null, Date.now() - started)} (final, ${((Date.now() - started) / 1000).toFixed(1)} s)`);
        return s;
      })();
      return stopping;
    },
  };
}
