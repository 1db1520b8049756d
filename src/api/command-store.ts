/**
 * Asynchronous commands (`async=true`): an id now, the result later at `GET /api/v1/commands/{id}`. Bounded:
 * finished results expire after `ttlS`; over `max` entries the oldest finished ones are dropped, and when
 * every entry is still pending a new command is refused (the caller answers 503).
 */
import { randomUUID } from 'node:crypto';

export interface CommandRecord {
  id: string;
  kind: 'single' | 'bulk';
  action: string;
  status: 'pending' | 'done';
  createdAt: number;
  finishedAt: number | null;
  /** Single: the outcome for the station. Bulk: the summary with one result per station. */
  result: unknown;
}

export class CommandStore {
  /** Insertion order = creation order (Map keeps it), which the eviction walks. */
  #records = new Map<string, CommandRecord>();
  #ttlMs: number;
  #max: number;
  #pending = 0;

  constructor(options: { ttlS: number; max: number }) {
    this.#ttlMs = options.ttlS * 1000;
    this.#max = options.max;
  }

  configure(options: { ttlS: number; max: number }): void {
    this.#ttlMs = options.ttlS * 1000;
    this.#max = options.max;
  }

  get size(): number {
    return this.#records.size;
  }

  /** A new pending record, or null when the store is full of pending commands. */
  create(kind: CommandRecord['kind'], action: string): CommandRecord | null {
    this.#sweep(Date.now());
    if (this.#records.size >= this.#max) {
      for (const [id, record] of this.#records) {
        if (record.status === 'done') {
          this.#records.delete(id);
          if (this.#records.size < this.#max) break;
        }
      }
      if (this.#records.size >= this.#max) return null;
    }
    const record: CommandRecord = { id: randomUUID(), kind, action, status: 'pending', createdAt: Date.now(), finishedAt: null, result: null };
    this.#records.set(record.id, record);
    this.#pending++;
    return record;
  }

  finish(record: CommandRecord, result: unknown): void {
    if (record.status === 'done') return;
    record.status = 'done';
    record.finishedAt = Date.now();
    record.result = result;
    this.#pending--;
    // Moved to the end, so the eviction order is by finish time.
    if (this.#records.delete(record.id)) this.#records.set(record.id, record);
  }

  get(id: string): CommandRecord | undefined {
    this.#sweep(Date.now());
    return this.#records.get(id);
  }

  get pending(): number {
    return this.#pending;
  }

  /** Finished records are ordered by finish time after the pending ones of their time: stop at the first fresh one. */
  #sweep(now: number): void {
    for (const [id, record] of this.#records) {
      if (record.status !== 'done') continue;
      if (now - record.finishedAt! < this.#ttlMs) break;
      this.#records.delete(id);
    }
  }
}
