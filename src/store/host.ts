/**
 * The store as the control plane runs it: starts the store thread, hands every shard (and itself) a MessagePort
 * to it, stops it last. With `store.engine: "off"` there is no thread and no client.
 */
import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import type { Config } from '../config/types.js';
import { ErrorCode, RouterError } from '../protocol/errors.js';
import { StoreClient } from './client.js';
import type { FromStoreThread, ToStoreThread } from './protocol.js';
import { storeMetrics } from '../metrics/store-metrics.js';
import type { MetricJson } from '../metrics/metric-json.js';
import { isLongRead, StoreReadPool } from './sqlite/read-pool.js';

const WORKER_FILE = new URL('./worker.js', import.meta.url);

export class StoreHost {
  readonly client: StoreClient;
  /** The long reads' threads (SQLite with `store.sqlite.readPool.threads` > 0), else null. */
  readonly readPool: StoreReadPool | null;
  #worker: Worker;

  private constructor(worker: Worker, readPool: StoreReadPool | null) {
    this.#worker = worker;
    this.readPool = readPool;
    const longReads = readPool === null ? null : { isLong: isLongRead, run: <R>(task: Parameters<typeof isLongRead>[0]) => readPool.run<R>(task) };
    this.client = new StoreClient(this.connect(), longReads);
  }

  /** Starts the store thread and waits until its engine is open (migrations applied). Null when the store is off. */
  static async start(config: Config): Promise<StoreHost | null> {
    if (config.store.engine === 'off') return null;
    const worker = new Worker(WORKER_FILE, { workerData: { config }, name: 'store' });
    await new Promise<void>((resolve, reject) => {
      const onMessage = (message: FromStoreThread): void => {
        if (message.t === 'ready') {
          worker.off('message', onMessage);
          resolve();
        } else if (message.t === 'failed') {
          worker.off('message', onMessage);
          void worker.terminate();
          reject(new RouterError(ErrorCode.PERSISTENCE, `the store (${config.store.engine}) cannot open: ${message.error}`));
        }
      };
      worker.on('message', onMessage);
      worker.once('error', reject);
      worker.once('exit', (code) => reject(new RouterError(ErrorCode.PERSISTENCE, `the store thread exited with code ${code} before it was ready`)));
    });
    // Started once the store thread has applied the migrations: the pool's connections only read.
    const threads = config.store.sqlite.readPool.threads;
    return new StoreHost(worker, config.store.engine === 'sqlite' && threads > 0 ? new StoreReadPool(config.store.sqlite.file, threads) : null);
  }

  /** A new port to the store thread (for a shard, at each spawn: a restarted shard gets a new one). */
  connect(): MessagePort {
    const { port1, port2 } = new MessageChannel();
    this.#worker.postMessage({ t: 'attach', port: port2 } satisfies ToStoreThread, [port2]);
    return port1;
  }

  /** The store's metrics for a scrape (none when the store thread does not answer in time). */
  metrics(): Promise<MetricJson[]> {
    return this.client.status().then(storeMetrics, () => []);
  }

  /** Ends the read pool (reads still running fail), commits what waits, closes the engine, ends the thread. */
  async stop(): Promise<void> {
    await this.readPool?.close();
    const stopped = new Promise<void>((resolve) => this.#worker.once('exit', () => resolve()));
    this.#worker.postMessage({ t: 'stop' } satisfies ToStoreThread);
    const timer = setTimeout(() => void this.#worker.terminate(), 15_000);
    await stopped;
    clearTimeout(timer);
    this.client.close();
  }
}
