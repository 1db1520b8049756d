/**
 * The webhook's durable spool: one per process, in the control plane, under `<dataDir>/spool/`.
 *
 * On disk: append-only segment files `0000000001.seg`, `0000000002.seg` …, one JSON record per line:
 *   add  `{"s":<seq>,"q":<queue>,"n":"request"|"event","k":<idempotency key>,"t":<ms>,"b":<body>}`
 *   ack  `{"a":<seq>}`  (delivered, or dropped after retry.maxAttempts)
 * Records are grouped per event-loop turn into one append, followed by one fdatasync when `spool.fsync`
 * is on (group commit: a crash loses at most the records of the turn being written; with fsync off, what
 * the OS had not written back). A new segment starts when the current one reaches `segmentBytes`, and a
 * segment is deleted once every entry in it and in every older segment is acked (acks of old entries are
 * written to newer segments, so deleting only from the oldest end keeps every pending add with its acks).
 * Opening replays every segment: adds without an ack are pending again, in sequence order; a torn last
 * line (crash mid-write) is ignored. The open always starts a fresh segment.
 *
 * Bounded: when the files would exceed `maxBytes`, new entries are refused (the caller counts and logs
 * them); acks are always written.
 */
import { mkdir, open, readdir, readFile, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { SpoolInput } from '../../ipc/messages.js';

export interface SpoolOptions {
  maxBytes: number;
  segmentBytes: number;
  fsync: boolean;
}

export interface SpoolEntry extends SpoolInput {
  seq: number;
  /** Delivery attempts so far (this process). */
  attempts: number;
  segment: number;
}

interface Segment {
  id: number;
  bytes: number;
  adds: number;
  acks: number;
}

interface Pending {
  segment: number;
  text: string;
}

const SEGMENT_RE = /^(\d{10})\.seg$/;
const segmentName = (id: number): string => `${String(id).padStart(10, '0')}.seg`;

export class WebhookSpool {
  readonly dir: string;
  #options: SpoolOptions;
  #logger: Logger;
  /** Pending entries in sequence order (Map keeps insertion order; the first is the oldest). */
  #entries = new Map<number, SpoolEntry>();
  #segments = new Map<number, Segment>();
  #active!: Segment;
  #nextSeq = 1;
  #bytes = 0;
  #buffer: Pending[] = [];
  #writing: Promise<void> | null = null;
  #scheduled = false;
  #file: { id: number; handle: FileHandle } | null = null;
  #closed = false;
  #stored: Array<() => void> = [];

  private constructor(dir: string, options: SpoolOptions, logger: Logger) {
    this.dir = dir;
    this.#options = options;
    this.#logger = logger;
  }

  /** Opens (creating the folder) and replays the segments found there. */
  static async open(dir: string, options: SpoolOptions, logger: Logger): Promise<WebhookSpool> {
    const spool = new WebhookSpool(dir, options, logger);
    await spool.#load();
    return spool;
  }

  async #load(): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    const ids = (await readdir(this.dir))
      .map((name) => SEGMENT_RE.exec(name))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => Number(m[1]))
      .sort((a, b) => a - b);
    let torn = 0;
    for (const id of ids) {
      const text = await readFile(join(this.dir, segmentName(id)), 'utf8');
      const segment: Segment = { id, bytes: Buffer.byteLength(text), adds: 0, acks: 0 };
      this.#segments.set(id, segment);
      this.#bytes += segment.bytes;
      const lines = text.split('\n');
      for (let i = 0; i < lines.length; i++) {
        const line = lines[i]!;
        if (line === '') continue;
        let record: Record<string, unknown>;
        try {
          record = JSON.parse(line) as Record<string, unknown>;
        } catch {
          torn++;
          continue;
        }
        if (typeof record.a === 'number') {
          const entry = this.#entries.get(record.a);
          if (entry !== undefined) {
            this.#entries.delete(record.a);
            this.#segments.get(entry.segment)!.acks++;
          }
          continue;
        }
        if (typeof record.s !== 'number') continue;
        segment.adds++;
        this.#nextSeq = Math.max(this.#nextSeq, record.s + 1);
        this.#entries.set(record.s, {
          seq: record.s,
          queue: String(record.q),
          kind: record.n === 'event' ? 'event' : 'request',
          key: String(record.k),
          at: Number(record.t),
          body: record.b as Record<string, unknown>,
          attempts: 0,
          segment: id,
        });
      }
    }
    if (torn > 0) this.#logger.warn({ dir: this.dir, lines: torn }, 'webhook spool: unreadable records skipped (a write cut short by a crash)');
    // Acks and adds may be out of sequence order across segments; keep the map in sequence order.
    this.#entries = new Map([...this.#entries].sort((a, b) => a[0] - b[0]));
    const nextId = ids.length === 0 ? 1 : ids[ids.length - 1]! + 1;
    this.#active = { id: nextId, bytes: 0, adds: 0, acks: 0 };
    this.#segments.set(nextId, this.#active);
    await this.#compact();
    if (this.#entries.size > 0) this.#logger.info({ dir: this.dir, entries: this.#entries.size, bytes: this.#bytes }, 'webhook spool: undelivered entries loaded');
  }

  configure(options: SpoolOptions): void {
    this.#options = options;
  }

  /** Pending entries in sequence order. */
  pending(): IterableIterator<SpoolEntry> {
    return this.#entries.values();
  }

  get size(): number {
    return this.#entries.size;
  }

  get bytes(): number {
    return this.#bytes;
  }

  /** When the oldest pending entry was added (ms), or null. */
  get oldestAt(): number | null {
    for (const entry of this.#entries.values()) return entry.at;
    return null;
  }

  /** Appends an entry; null when the spool is full (spool.maxBytes). */
  add(input: SpoolInput): SpoolEntry | null {
    if (this.#closed) return null;
    const seq = this.#nextSeq;
    const text = `${JSON.stringify({ s: seq, q: input.queue, n: input.kind, k: input.key, t: input.at, b: input.body })}\n`;
    const size = Buffer.byteLength(text);
    if (this.#bytes + size > this.#options.maxBytes) return null;
    this.#nextSeq++;
    if (this.#active.bytes > 0 && this.#active.bytes + size > this.#options.segmentBytes) this.#rotate();
    const entry: SpoolEntry = { ...input, seq, attempts: 0, segment: this.#active.id };
    this.#entries.set(seq, entry);
    this.#active.adds++;
    this.#append(text, size);
    return entry;
  }

  /** The entry is done (delivered or given up): it will not be loaded again. */
  ack(entry: SpoolEntry): void {
    if (!this.#entries.delete(entry.seq)) return;
    this.#segments.get(entry.segment)!.acks++;
    const text = `{"a":${entry.seq}}\n`;
    const size = text.length;
    if (this.#active.bytes + size > this.#options.segmentBytes) this.#rotate();
    this.#append(text, size);
  }

  #rotate(): void {
    const id = this.#active.id + 1;
    this.#active = { id, bytes: 0, adds: 0, acks: 0 };
    this.#segments.set(id, this.#active);
  }

  #append(text: string, size: number): void {
    this.#active.bytes += size;
    this.#bytes += size;
    this.#buffer.push({ segment: this.#active.id, text });
    if (this.#writing === null && !this.#scheduled) {
      this.#scheduled = true;
      setImmediate(() => {
        this.#scheduled = false;
        this.#startWriting();
      });
    }
  }

  #startWriting(): void {
    if (this.#writing !== null) return;
    this.#writing = this.#drain().finally(() => {
      this.#writing = null;
      if (this.#buffer.length > 0) this.#startWriting();
      else {
        const waiters = this.#stored;
        this.#stored = [];
        for (const resolve of waiters) resolve();
      }
    });
  }

  async #drain(): Promise<void> {
    while (this.#buffer.length > 0) {
      const items = this.#buffer;
      this.#buffer = [];
      try {
        let i = 0;
        let handle: FileHandle | null = null;
        while (i < items.length) {
          const id = items[i]!.segment;
          const parts: string[] = [];
          while (i < items.length && items[i]!.segment === id) parts.push(items[i++]!.text);
          handle = await this.#handleFor(id);
          await handle.appendFile(parts.join(''));
        }
        if (this.#options.fsync && handle !== null) await handle.datasync();
        await this.#compact();
      } catch (error) {
        this.#logger.error({ err: error, dir: this.dir }, 'webhook spool: write failed (entries stay in memory until delivered)');
      }
    }
  }

  async #handleFor(id: number): Promise<FileHandle> {
    if (this.#file !== null && this.#file.id === id) return this.#file.handle;
    if (this.#file !== null) {
      // Segments only move forward: the previous one is complete.
      if (this.#options.fsync) await this.#file.handle.datasync();
      await this.#file.handle.close();
    }
    const handle = await open(join(this.dir, segmentName(id)), 'a');
    this.#file = { id, handle };
    return handle;
  }

  /** Deletes fully acked segments from the oldest end (never the one being written). */
  async #compact(): Promise<void> {
    for (const segment of this.#segments.values()) {
      if (segment === this.#active || segment.id === this.#file?.id || segment.acks < segment.adds) break;
      if (this.#buffer.some((p) => p.segment === segment.id)) break;
      this.#segments.delete(segment.id);
      this.#bytes -= segment.bytes;
      await unlink(join(this.dir, segmentName(segment.id))).catch((error: NodeJS.ErrnoException) => {
        if (error.code !== 'ENOENT') this.#logger.error({ err: error }, 'webhook spool: cannot delete a delivered segment');
      });
    }
  }

  /** Resolves when every record appended so far is written (and synced, with fsync on). */
  flushed(): Promise<void> {
    if (this.#buffer.length === 0 && this.#writing === null && !this.#scheduled) return Promise.resolve();
    return new Promise((resolve) => {
      this.#stored.push(resolve);
      if (this.#writing === null && !this.#scheduled) this.#startWriting();
    });
  }

  async close(): Promise<void> {
    await this.flushed();
    this.#closed = true;
    const file = this.#file;
    this.#file = null;
    if (file !== null) await file.handle.close();
  }
}
