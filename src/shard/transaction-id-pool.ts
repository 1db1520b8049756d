/**
 * Transaction ids inside a shard thread. `next()` is synchronous (the responder's hot path has no
 * promises): it takes ids from the current block, and when fewer than `lowWater` ids are left it asks the
 * control plane for the next block in the background (`requestBlock`, typically a postMessage round trip
 * to the main thread's TransactionIdStore, which persists before answering).
 *
 * If the pool truly runs dry (the prefetch is not back yet, or failed) `next()` throws a RouterError
 * (INTERNAL, details.reason 'transactionIdsExhausted') instead of inventing an id: the responder turns it
 * into CALLERROR InternalError and the charge point retries StartTransaction later. A duplicate id would
 * corrupt billing; a retried call does not.
 */
import { ErrorCode, RouterError } from '../protocol/errors.js';
import type { TransactionIdSource } from '../backends/responder/context.js';

/** Ids `start`..`end`, both included (same contract as the control plane's TransactionIdStore). */
export interface IdBlock {
  start: number;
  end: number;
}

export interface TransactionIdPoolOptions {
  /** Asks the control plane for a new block. Called at most once at a time. */
  requestBlock: () => Promise<IdBlock>;
  /** Prefetch when fewer ids than this are left (current + queued block). Default 64. */
  lowWater?: number;
  /** Told about a failed or invalid block request (the pool retries on the next `next()`). */
  onError?: (error: unknown) => void;
}

const MAX_ID = 2 ** 31 - 1;

export class TransactionIdPool implements TransactionIdSource {
  readonly #requestBlock: () => Promise<IdBlock>;
  readonly #lowWater: number;
  readonly #onError: (error: unknown) => void;
  /** Next id to hand out, and the last id of the current block (next > end: block used up). */
  #next = 1;
  #end = 0;
  /** At most one block waiting behind the current one. */
  #queued: IdBlock | null = null;
  #inflight: Promise<void> | null = null;
  #lastError: unknown = undefined;
  #closed = false;

  constructor(options: TransactionIdPoolOptions) {
    if (typeof options?.requestBlock !== 'function') throw new TypeError('options.requestBlock must be a function');
    const lowWater = options.lowWater ?? 64;
    if (!Number.isInteger(lowWater) || lowWater < 0) throw new TypeError('options.lowWater must be an integer >= 0');
    this.#requestBlock = options.requestBlock;
    this.#lowWater = lowWater;
    this.#onError = options.onError ?? (() => {});
  }

  /** Fetches the first block; resolves when ids are available (rejects if the request failed). */
  async start(): Promise<void> {
    this.#prefetch();
    if (this.#inflight !== null) await this.#inflight;
    if (this.available === 0) {
      throw new RouterError(ErrorCode.INTERNAL, 'transaction id pool could not get a first block', {
        cause: this.#lastError,
        details: { reason: 'transactionIdsExhausted' },
      });
    }
  }

  /** Ids that can be handed out without waiting. */
  get available(): number {
    const current = this.#end - this.#next + 1;
    const queued = this.#queued === null ? 0 : this.#queued.end - this.#queued.start + 1;
    return (current > 0 ? current : 0) + queued;
  }

  /** Whether a block request is in flight. */
  get fetching(): boolean {
    return this.#inflight !== null;
  }

  next(): number {
    if (this.#next > this.#end) {
      const queued = this.#queued;
      if (queued === null) {
        this.#prefetch();
        throw new RouterError(ErrorCode.INTERNAL, 'no transaction id available: the next id block has not arrived yet', {
          details: { reason: 'transactionIdsExhausted' },
        });
      }
      this.#queued = null;
      this.#next = queued.start;
      this.#end = queued.end;
    }
    const id = this.#next++;
    if (this.#inflight === null && this.available < this.#lowWater) this.#prefetch();
    return id;
  }

  /** Resolves when no block request is in flight (tests, shutdown). Never rejects. */
  async idle(): Promise<void> {
    while (this.#inflight !== null) await this.#inflight;
  }

  /** Stops prefetching; a request in flight is awaited and its block dropped. */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#inflight !== null) await this.#inflight;
  }

  #prefetch(): void {
    if (this.#inflight !== null || this.#closed || this.#queued !== null) return;
    this.#inflight = this.#fetch();
  }

  async #fetch(): Promise<void> {
    try {
      const block = await this.#requestBlock();
      if (!isValidBlock(block)) {
        throw new RouterError(ErrorCode.INTERNAL, 'invalid transaction id block', { details: { block } });
      }
      if (this.#closed) return;
      if (this.#next > this.#end) {
        this.#next = block.start;
        this.#end = block.end;
      } else {
        this.#queued = { start: block.start, end: block.end };
      }
      this.#lastError = undefined;
    } catch (error) {
      this.#lastError = error;
      this.#onError(error);
    } finally {
      this.#inflight = null;
    }
    // A small block may leave the pool below the low-water mark still: ask again.
    if (!this.#closed && this.#lastError === undefined && this.#queued === null && this.available < this.#lowWater) {
      this.#prefetch();
    }
  }
}

function isValidBlock(block: unknown): block is IdBlock {
  if (block === null || typeof block !== 'object') return false;
  const { start, end } = block as Partial<IdBlock>;
  return (
    Number.isInteger(start) && Number.isInteger(end) && (start as number) >= 1 && (end as number) >= (start as number) && (end as number) <= MAX_ID
  );
}
