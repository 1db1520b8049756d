/**
 * Group commit in the store thread: every write request that arrives while a commit runs waits for the next one,
 * which takes them all in one database transaction; each request is answered when its records are committed.
 * Nothing is answered before that, so a station's CALLRESULT (sent only after the answer) never describes data
 * that a crash could lose.
 *
 * When the database fails:
 *  - `onFailure: "error"` (default): the requests of the failed commit are refused (the stations get
 *    InternalError and send again later). A batch that fails for another reason than an unreachable database
 *    is retried one request at a time, so one bad request cannot fail the others.
 *  - `onFailure: "spool"`: the records go to a durable local spool (fdatasync'd before the requests are
 *    answered) and are replayed in order once the database answers again; until the spool is empty every new
 *    write goes there too, so order per station holds.
 */
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { backoffMs } from '../protocol/backoff.js';
import { FastHistogram, LATENCY_BUCKETS_S } from '../metrics/histogram.js';
import type { DurableLog, LogEntry } from './durable-log.js';
import { StoreUnavailable, type StoreEngine, type StoreWrite } from './engine.js';

export type WriteOutcome = 'committed' | 'spooled';

export interface WriterOptions {
  /** Most records in one transaction (a larger backlog is committed in several). */
  maxBatch: number;
  /**
   * How long the oldest waiting request may wait for others before its commit starts (ms; 0: at once). Every
   * commit has a fixed cost (a transaction, WAL pages of every table and index it touches): at a steady trickle
   * of requests a few milliseconds turn many tiny commits into a few larger ones.
   */
  commitDelayMs: number;
  onFailure: 'error' | 'spool';
  /** Required with `onFailure: "spool"`. */
  spool: DurableLog | null;
  log: { warn(fields: object, message: string): void; error(fields: object, message: string): void; info(fields: object, message: string): void };
}

interface Request {
  writes: readonly StoreWrite[];
  /** When it arrived (performance.now()). */
  at: number;
  resolve(outcome: WriteOutcome): void;
  reject(error: Error): void;
}

const REPLAY_BATCH = 200;

export class StoreWriter {
  #engine: StoreEngine;
  #options: WriterOptions;
  #pending: Request[] = [];
  #busy = false;
  #scheduled = false;
  /** True while records wait in the spool (the database failed, or the spool is being replayed). */
  #spooling = false;
  #replayTimer: ReturnType<typeof setTimeout> | null = null;
  #replayFailures = 0;
  #closed = false;
  #idle: Array<() => void> = [];
  /** Records committed, spooled and replayed; commits and failed commits. */
  readonly stats = { commits: 0, records: 0, spooled: 0, replayed: 0, failedCommits: 0, rejected: 0 };
  readonly commitSeconds = new FastHistogram(LATENCY_BUCKETS_S);
  /** After a replay batch failed for another reason than the database being away: one entry at a time. */
  #replayOne = false;

  constructor(engine: StoreEngine, options: WriterOptions) {
    this.#engine = engine;
    this.#options = options;
    if (options.spool !== null && options.spool.size > 0) {
      // Records left in the spool by a previous run: they go first.
      this.#spooling = true;
      this.#scheduleReplay(0);
    }
  }

  /** 'ok', or 'spooling' while the database is (or was until the spool drains) unavailable. */
  get mode(): 'ok' | 'spooling' {
    return this.#spooling ? 'spooling' : 'ok';
  }

  get waiting(): number {
    return this.#pending.length;
  }

  #waitingRecords(): number {
    let n = 0;
    for (const r of this.#pending) {
      n += r.writes.length;
      if (n >= this.#options.maxBatch) break;
    }
    return n;
  }

  submit(writes: readonly StoreWrite[]): Promise<WriteOutcome> {
    if (this.#closed) return Promise.reject(new StoreUnavailable('the store is closing'));
    return new Promise<WriteOutcome>((resolve, reject) => {
      this.#pending.push({ writes, at: performance.now(), resolve, reject });
      this.#schedule();
    });
  }

  #schedule(): void {
    if (this.#busy || this.#scheduled) return;
    this.#scheduled = true;
    // What arrives in this event-loop turn joins the commit.
    setImmediate(() => {
      this.#scheduled = false;
      void this.#run();
    });
  }

  async #run(): Promise<void> {
    if (this.#busy) return;
    this.#busy = true;
    try {
      while (this.#pending.length > 0) {
        // Group commit: let the oldest request wait up to commitDelayMs for company, unless a batch is full.
        const wait = this.#options.commitDelayMs - (performance.now() - this.#pending[0]!.at);
        if (wait >= 1 && !this.#spooling && this.#waitingRecords() < this.#options.maxBatch) await new Promise((r) => setTimeout(r, wait));
        const batch: Request[] = [];
        let records = 0;
        while (this.#pending.length > 0 && (batch.length === 0 || records + this.#pending[0]!.writes.length <= this.#options.maxBatch)) {
          const r = this.#pending.shift()!;
          batch.push(r);
          records += r.writes.length;
        }
        await (this.#spooling ? this.#spoolBatch(batch) : this.#commit(batch));
      }
    } finally {
      this.#busy = false;
      const idle = this.#idle;
      this.#idle = [];
      for (const resolve of idle) resolve();
    }
  }

  async #commit(batch: Request[]): Promise<void> {
    const writes = batch.length === 1 ? batch[0]!.writes : batch.flatMap((r) => r.writes);
    const started = performance.now();
    try {
      await this.#engine.write(writes);
      this.commitSeconds.observe((performance.now() - started) / 1000);
      this.stats.commits++;
      this.stats.records += writes.length;
      for (const r of batch) r.resolve('committed');
      return;
    } catch (error) {
      this.stats.failedCommits++;
      const unavailable = error instanceof StoreUnavailable;
      if (unavailable && this.#options.onFailure === 'spool' && this.#options.spool !== null) {
        this.#options.log.warn({ err: error }, 'store unavailable: spooling records until it is back');
        this.#spooling = true;
        await this.#spoolBatch(batch);
        this.#scheduleReplay();
        return;
      }
      if (unavailable || batch.length === 1) {
        this.#options.log.error({ err: error, requests: batch.length, records: writes.length }, 'store write failed: the requests are refused');
        for (const r of batch) r.reject(error instanceof Error ? error : new Error(String(error)));
        return;
      }
    }
    // A failure that is not the database being away: one request at a time, so only the faulty one fails.
    for (const r of batch) await this.#commit([r]);
  }

  async #spoolBatch(batch: Request[]): Promise<void> {
    const spool = this.#options.spool!;
    let refused = 0;
    for (const r of batch) {
      if (spool.add({ queue: 'store', kind: 'writes', key: '', at: Date.now(), body: { w: r.writes } }) === null) refused++;
    }
    try {
      await spool.flushed();
    } catch (error) {
      for (const r of batch) r.reject(error instanceof Error ? error : new Error(String(error)));
      return;
    }
    if (refused > 0) {
      // The spool is full: nothing more can be kept safely, so nothing more is acknowledged.
      this.#options.log.error({ refused }, 'store spool is full (store.spool.maxBytes): requests refused');
      for (const r of batch) r.reject(new StoreUnavailable('the store is unavailable and its spool is full'));
      return;
    }
    for (const r of batch) this.stats.spooled += r.writes.length;
    for (const r of batch) r.resolve('spooled');
  }

  #scheduleReplay(delayMs = backoffMs(this.#replayFailures, { initialMs: 500, maxMs: 10_000, jitter: [0.75, 1] })): void {
    if (this.#replayTimer !== null || this.#closed) return;
    this.#replayTimer = setTimeout(() => {
      this.#replayTimer = null;
      void this.#replay();
    }, delayMs);
  }

  /** Writes the spooled records to the database in order; back to normal once the spool is empty. */
  async #replay(): Promise<void> {
    const spool = this.#options.spool!;
    while (!this.#closed) {
      const entries: LogEntry[] = [];
      for (const e of spool.pending()) {
        entries.push(e);
        if (entries.length >= (this.#replayOne ? 1 : REPLAY_BATCH)) break;
      }
      if (entries.length === 0) break;
      const writes: StoreWrite[] = [];
      try {
        for (const e of entries) writes.push(...((await spool.read(e)).w as StoreWrite[]));
        await this.#engine.write(writes);
      } catch (error) {
        if (!(error instanceof StoreUnavailable)) {
          if (!this.#replayOne) {
            // One bad record must not hold the spool: find it by replaying one entry at a time.
            this.#replayOne = true;
            continue;
          }
          // This entry alone is refused by a database that answers: set it aside in a file, never lose it silently.
          this.#reject(entries[0]!, writes, error);
          spool.ack(entries[0]!);
          this.#replayOne = false;
          continue;
        }
        this.#replayFailures++;
        this.#scheduleReplay();
        return;
      }
      for (const e of entries) spool.ack(e);
      this.stats.replayed += writes.length;
    }
    // Writes that arrived meanwhile went to the spool behind the replayed ones: empty it before going back.
    if (spool.size === 0 && !this.#busy && this.#pending.length === 0) {
      this.#spooling = false;
      this.#replayOne = false;
      this.#replayFailures = 0;
      this.#options.log.info({ replayed: this.stats.replayed }, 'store available again: the spool is empty');
    } else if (!this.#closed) this.#scheduleReplay(0);
  }

  /** A spooled entry the database refuses: appended to `rejected.jsonl` beside the spool, logged, counted. */
  #reject(entry: LogEntry, writes: StoreWrite[], error: unknown): void {
    const file = join(this.#options.spool!.dir, 'rejected.jsonl');
    appendFileSync(file, JSON.stringify({ at: entry.at, error: error instanceof Error ? error.message : String(error), writes }) + '\n');
    this.stats.rejected += writes.length;
    this.#options.log.error({ err: error, file, records: writes.length }, 'the database refuses spooled records: set aside in the rejected file');
  }

  /** Commits what is waiting, then refuses new writes. */
  async close(): Promise<void> {
    if (this.#busy || this.#pending.length > 0) await new Promise<void>((resolve) => this.#idle.push(resolve));
    this.#closed = true;
    if (this.#replayTimer !== null) clearTimeout(this.#replayTimer);
  }
}
