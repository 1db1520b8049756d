/**
 * The store's read pool (`store.sqlite.readPool`): piscina threads on the control plane's side, each with its own
 * read-only connection to the SQLite file (./read-worker.ts). The control plane's StoreClient sends the long reads
 * here (isLongRead) and everything else to the store thread, so an export never stalls group commit.
 *
 * A pool thread that dies (killed, out of memory) fails only the read it was running, with a 503 the API passes on;
 * piscina starts a new thread in its place (minThreads). PostgreSQL has no pool: its driver is asynchronous already.
 *
 * A pool thread is never terminated while it reads: a thread terminated inside libsql's native call makes its
 * binding (neon) panic, which aborts the whole process. So the pool is closed gracefully (running reads finish,
 * queued ones fail) and a replaced pool is retired the same way.
 */
import type { Worker } from 'node:worker_threads';
import { Piscina } from 'piscina';
import { ErrorCode, RouterError } from '../../protocol/errors.js';
import type { StoreQueries, TransactionFilter } from '../engine.js';

export type ReadTask = { [K in keyof StoreQueries]: { kind: K; args: StoreQueries[K][0] } }[keyof StoreQueries] | { kind: 'transactionsCsv'; args: TransactionFilter };

/** Rows above which a transaction list leaves the store thread (the API's largest page is 1000). */
export const LONG_LIST_ROWS = 1000;

/** The reads that go to the pool: the whole station list and transaction lists longer than a page. */
export function isLongRead(task: ReadTask): boolean {
  if (task.kind === 'stations' || task.kind === 'transactionsCsv') return true;
  return task.kind === 'transactions' && task.args.limit > LONG_LIST_ROWS;
}

const WORKER_FILE = new URL('./read-worker.js', import.meta.url).href;

/** Longest wait at close for reads still running (an export of months takes seconds). */
const CLOSE_TIMEOUT_MS = 30_000;

/** Least time between two replacements of a pool that gave up (a thread that cannot start must not spin). */
const REPLACE_EVERY_MS = 1000;

export class StoreReadPool {
  #file: string;
  #threads: number;
  #pool: Piscina<ReadTask, unknown>;
  #closed = false;
  #replacing: ReturnType<typeof setTimeout> | null = null;
  #replacedAt = 0;

  #workerFile: string;

  /** `workerFile`: the pool thread's module (tests give one that dies mid-read). */
  constructor(file: string, threads: number, workerFile: string = WORKER_FILE) {
    this.#file = file;
    this.#threads = threads;
    this.#workerFile = workerFile;
    this.#pool = this.#create();
  }

  #create(): Piscina<ReadTask, unknown> {
    const pool = new Piscina<ReadTask, unknown>({
      filename: this.#workerFile,
      workerData: { file: this.#file },
      minThreads: this.#threads,
      maxThreads: this.#threads,
      // The threads live as long as the pool: a connection's page cache is worth keeping warm.
      idleTimeout: 2 ** 31 - 1,
      name: 'default',
      closeTimeout: CLOSE_TIMEOUT_MS,
    });
    // A thread that fails with no read running would otherwise surface as an unhandled 'error' event.
    pool.on('error', () => undefined);
    // piscina replaces a dead thread, except one that died before it was ready: then it starts none again and the
    // queued reads would wait forever. Such a pool is replaced whole (its queued reads fail with a 503).
    pool.on('workerDestroy', () => setImmediate(() => this.#checkThreads(pool)));
    return pool;
  }

  #checkThreads(pool: Piscina<ReadTask, unknown>): void {
    if (this.#closed || pool !== this.#pool || this.#replacing !== null || pool.threads.length >= this.#threads) return;
    this.#replacing = setTimeout(() => {
      this.#replacing = null;
      if (this.#closed || pool !== this.#pool || pool.threads.length >= this.#threads) return;
      this.#replacedAt = Date.now();
      this.#pool = this.#create();
      void pool.close({ force: true });
    }, Math.max(0, this.#replacedAt + REPLACE_EVERY_MS - Date.now()));
  }

  /** Runs a read in a pool thread; a failure is a PERSISTENCE RouterError saying so (the API answers 503). */
  async run<R>(task: ReadTask): Promise<R> {
    if (this.#closed) throw new RouterError(ErrorCode.SHUTTING_DOWN, 'the store is closed');
    try {
      return (await this.#pool.run(task)) as R;
    } catch (error) {
      if (this.#closed) throw new RouterError(ErrorCode.SHUTTING_DOWN, 'the store closed during the read', { cause: error });
      throw new RouterError(ErrorCode.PERSISTENCE, `the store's read pool failed this read (${task.kind}): ${error instanceof Error ? error.message : String(error)}`, { cause: error, details: { reason: 'STORE_READ_FAILED' } });
    }
  }

  /** The pool's threads (tests kill one to see the pool recover). */
  get threads(): readonly Worker[] {
    return this.#pool.threads;
  }

  /** Ends the threads once the reads they run are done (at most CLOSE_TIMEOUT_MS); queued reads are refused. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#replacing !== null) clearTimeout(this.#replacing);
    await this.#pool.close({ force: true });
  }
}
