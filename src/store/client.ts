/**
 * A thread's side of the store: writes that resolve when committed (or spooled), and typed queries. Every shard
 * and the control plane hold one, each over its own MessagePort to the store thread.
 */
import type { MessagePort } from 'node:worker_threads';
import { ErrorCode, RouterError } from '../protocol/errors.js';
import { RequestPort } from '../ipc/port.js';
import type { StoreQueries, StoreWrite, TransactionFilter } from './engine.js';
import { transactionsCsv } from './export-csv.js';
import type { ReadTask } from './sqlite/read-pool.js';
import type { NoRequests, StoreRequests, StoreStatus } from './protocol.js';
import type { WriteOutcome } from './writer.js';
import type { FlexOps } from './flex-sql.js';

/** Where the long reads go instead of the store thread (the control plane's StoreReadPool). */
export interface LongReads {
  isLong(task: ReadTask): boolean;
  run<R>(task: ReadTask): Promise<R>;
}

export class StoreClient {
  #port: RequestPort<StoreRequests, NoRequests>;
  #raw: MessagePort;
  #longReads: LongReads | null;

  constructor(port: MessagePort, longReads: LongReads | null = null) {
    this.#raw = port;
    this.#longReads = longReads;
    this.#port = new RequestPort<StoreRequests, NoRequests>({
      post: (message) => port.postMessage(message),
      handlers: {},
      unavailable: () => new RouterError(ErrorCode.PERSISTENCE, 'the store thread cannot be reached'),
    });
    port.on('message', (message) => this.#port.receive(message));
    // A client must not keep its thread alive on its own.
    port.unref();
  }

  write(writes: StoreWrite[]): Promise<WriteOutcome> {
    return this.#port.request('write', writes);
  }

  async query<K extends keyof StoreQueries>(kind: K, args: StoreQueries[K][0]): Promise<StoreQueries[K][1]> {
    const task = { kind, args } as ReadTask;
    if (this.#longReads !== null && this.#longReads.isLong(task)) return this.#longReads.run<StoreQueries[K][1]>(task);
    return (await this.#port.request('query', { kind, args })) as StoreQueries[K][1];
  }

  /** A flexibility operation, resolved once committed (src/store/flex-sql.ts). */
  async flex<K extends keyof FlexOps>(op: K, args: FlexOps[K][0]): Promise<FlexOps[K][1]> {
    return (await this.#port.request('flex', { op, args })) as FlexOps[K][1];
  }

  /** The transactions as CSV text: built in a read-pool thread when there is one, else here from the store thread's rows. */
  async transactionsCsv(filter: TransactionFilter): Promise<string> {
    if (this.#longReads !== null) return this.#longReads.run<string>({ kind: 'transactionsCsv', args: filter });
    return transactionsCsv((await this.query('transactions', filter)).items);
  }

  status(): Promise<StoreStatus> {
    return this.#port.request('status', null);
  }

  close(): void {
    this.#port.close(new RouterError(ErrorCode.SHUTTING_DOWN, 'the store is closed'));
    this.#raw.close();
  }
}
