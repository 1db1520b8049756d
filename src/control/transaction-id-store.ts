/**
 * Transaction ids unique across restarts (main thread). The control plane hands out blocks of ids to the
 * shards; the high-water mark (the last id that may have been handed out) is persisted BEFORE a block is
 * returned, so after a crash or restart allocation resumes above it: ids are never reused, gaps are fine.
 * (The original `ocpp-cs` restarted at 1; DESIGN.md §6.)
 *
 * State file `<dataDir>/transaction-ids.json`: `{"format":1,"highWater":N,"wraps":W,"updatedAt":"…"}`,
 * written atomically: temp file in the same folder → fsync → rename → fsync of the folder.
 *
 * Range: 1.6 StartTransaction.conf transactionId is a JSON integer that most charge points hold in an
 * int32, so ids stay within 1..2^31-1. Near the top a block is cut at 2^31-1; the next block wraps to 1,
 * increments `wraps` and logs a warning. Wrapping is chosen over refusing: an error would stop every new
 * transaction of the fleet, while ids 2^31 transactions old are long closed on any real system.
 *
 * A corrupt state file is never silently replaced (that would restart at 1 and reuse ids): `open` fails
 * with PERSISTENCE and the path; the operator fixes or removes the file knowingly.
 */
import { mkdir, open as openFile, readFile, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { ErrorCode, RouterError } from '../protocol/errors.js';

/** Largest transaction id: 1.6 transactionId fits a signed 32-bit integer. */
export const MAX_TRANSACTION_ID = 2 ** 31 - 1;
export const STATE_FILE_NAME = 'transaction-ids.json';
const FORMAT = 1;

/** Ids `start`..`end`, both included (inclusive, so the last block can end at exactly 2^31-1). */
export interface IdBlock {
  start: number;
  end: number;
}

export interface TransactionIdStoreOptions {
  /** Warnings (wrap-around); pino-compatible. Default: process.emitWarning. */
  log?: { warn(obj: object, msg: string): void };
  /** Highest id (tests use a small one to reach the wrap). Default MAX_TRANSACTION_ID. */
  maxId?: number;
}

interface State {
  format: number;
  highWater: number;
  wraps: number;
  updatedAt: string;
}

function corrupt(path: string, reason: string, cause?: unknown): RouterError {
  return new RouterError(
    ErrorCode.PERSISTENCE,
    `transaction id state file ${path} is corrupt (${reason}); refusing to start so that no id is reused: ` +
      'restore it or set "highWater" above the last transaction id in use',
    { cause, details: { path, reason } },
  );
}

function parseState(path: string, text: string, maxId: number): State {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw corrupt(path, 'not JSON', error);
  }
  if (data === null || typeof data !== 'object' || Array.isArray(data)) throw corrupt(path, 'not an object');
  const record = data as Record<string, unknown>;
  if (record.format !== FORMAT) throw corrupt(path, `unknown format ${JSON.stringify(record.format)}`);
  const { highWater, wraps } = record;
  if (typeof highWater !== 'number' || !Number.isInteger(highWater) || highWater < 0 || highWater > maxId) {
    throw corrupt(path, `highWater must be an integer in 0..${maxId}`);
  }
  if (typeof wraps !== 'number' || !Number.isInteger(wraps) || wraps < 0) throw corrupt(path, 'wraps must be an integer >= 0');
  return { format: FORMAT, highWater, wraps, updatedAt: String(record.updatedAt ?? '') };
}

export class TransactionIdStore {
  readonly #dir: string;
  readonly #path: string;
  readonly #maxId: number;
  readonly #log: { warn(obj: object, msg: string): void };
  #state: State;
  /** Tail of the allocation chain: allocations run one at a time, in call order. */
  #tail: Promise<unknown> = Promise.resolve();
  #tmpSeq = 0;
  #closed = false;

  private constructor(dir: string, state: State, options: Required<TransactionIdStoreOptions>) {
    this.#dir = dir;
    this.#path = join(dir, STATE_FILE_NAME);
    this.#state = state;
    this.#maxId = options.maxId;
    this.#log = options.log;
  }

  /** Opens (creating the folder if needed) the store in `dataDir`. A missing file starts at 1. */
  static async open(dataDir: string, options: TransactionIdStoreOptions = {}): Promise<TransactionIdStore> {
    if (typeof dataDir !== 'string' || dataDir === '') throw new TypeError('dataDir must be a non-empty string');
    const maxId = options.maxId ?? MAX_TRANSACTION_ID;
    if (!Number.isInteger(maxId) || maxId < 1 || maxId > MAX_TRANSACTION_ID) {
      throw new TypeError(`options.maxId must be an integer in 1..${MAX_TRANSACTION_ID}`);
    }
    const log = options.log ?? {
      warn: (obj: object, msg: string) => process.emitWarning(`${msg} ${JSON.stringify(obj)}`, 'TransactionIdWarning'),
    };
    try {
      await mkdir(dataDir, { recursive: true });
    } catch (error) {
      throw new RouterError(ErrorCode.PERSISTENCE, `cannot create dataDir ${dataDir}`, { cause: error, details: { path: dataDir } });
    }
    const path = join(dataDir, STATE_FILE_NAME);
    let text: string | undefined;
    try {
      text = await readFile(path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
        throw new RouterError(ErrorCode.PERSISTENCE, `cannot read ${path}`, { cause: error, details: { path } });
      }
    }
    const state: State =
      text === undefined ? { format: FORMAT, highWater: 0, wraps: 0, updatedAt: '' } : parseState(path, text, maxId);
    return new TransactionIdStore(dataDir, state, { maxId, log });
  }

  /** The last id that may have been handed out (0 before the first allocation). */
  get highWater(): number {
    return this.#state.highWater;
  }

  get path(): string {
    return this.#path;
  }

  /**
   * Reserves `size` ids and persists the new high-water mark before resolving. Calls are serialized.
   * The block may be shorter than `size` when it reaches the top of the range (the next one wraps to 1).
   */
  allocateBlock(size: number): Promise<IdBlock> {
    if (!Number.isInteger(size) || size < 1 || size > this.#maxId) {
      return Promise.reject(new TypeError(`size must be an integer in 1..${this.#maxId}`));
    }
    if (this.#closed) return Promise.reject(new RouterError(ErrorCode.SHUTTING_DOWN, 'transaction id store is closed'));
    const result = this.#tail.then(() => this.#allocate(size));
    this.#tail = result.catch(() => undefined);
    return result;
  }

  async #allocate(size: number): Promise<IdBlock> {
    const current = this.#state;
    let start = current.highWater + 1;
    let wraps = current.wraps;
    if (start > this.#maxId) {
      start = 1;
      wraps += 1;
      this.#log.warn(
        { previousHighWater: current.highWater, maxId: this.#maxId, wraps },
        'transaction ids reached the top of the 32-bit range; wrapping to 1',
      );
    }
    const end = Math.min(start - 1 + size, this.#maxId);
    const next: State = { format: FORMAT, highWater: end, wraps, updatedAt: new Date().toISOString() };
    await this.#persist(next); // throws: the in-memory state stays, nothing was handed out
    this.#state = next;
    return { start, end };
  }

  async #persist(state: State): Promise<void> {
    const tmp = join(this.#dir, `.${STATE_FILE_NAME}.${process.pid}.${++this.#tmpSeq}.tmp`);
    try {
      const handle = await openFile(tmp, 'w', 0o600);
      try {
        await handle.writeFile(`${JSON.stringify(state)}\n`, 'utf8');
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(tmp, this.#path);
      await syncDir(this.#dir);
    } catch (error) {
      await unlink(tmp).catch(() => undefined);
      throw new RouterError(ErrorCode.PERSISTENCE, `cannot persist transaction ids to ${this.#path}`, {
        cause: error,
        details: { path: this.#path },
      });
    }
  }

  /** Waits for in-flight allocations; later calls are refused. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.#tail;
  }
}

/** fsync of the folder makes the rename durable (Linux); not supported everywhere, so errors are ignored. */
async function syncDir(dir: string): Promise<void> {
  let handle;
  try {
    handle = await openFile(dir, 'r');
    await handle.sync();
  } catch {
    // EISDIR/EPERM/EINVAL on some platforms and file systems: the rename is still atomic.
  } finally {
    await handle?.close();
  }
}

/** Same as `TransactionIdStore.open`. */
export function openTransactionIdStore(dataDir: string, options?: TransactionIdStoreOptions): Promise<TransactionIdStore> {
  return TransactionIdStore.open(dataDir, options);
}
