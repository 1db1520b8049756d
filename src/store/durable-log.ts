/**
 * A durable, ordered log of entries on disk, for what must survive a crash until it is delivered: the webhook's
 * spool (requests answered by the fallback while the receiver was down, events) and the store's spool (records
 * written while the database was unavailable, `store.onFailure: "spool"`).
 *
 * On disk: append-only segment files `0000000001.seg`, `0000000002.seg` …, one JSON record per line:
 *   add  `{"s":<seq>,"q":<queue>,"n":<kind>,"k":<key>,"t":<ms>,"b":<body>}`
 *   ack  `{"a":<seq>}`  (delivered, or given up)
 * Records appended in one event-loop turn go out in one append followed by one fdatasync (with `fsync` on): group
 * commit. `flushed()` resolves once everything appended so far is on disk, and rejects if writing it failed, so a
 * caller that answers only after `flushed()` never acknowledges something that was not kept.
 *
 * Bodies stay on disk: memory holds each pending entry's place (segment, offset, length), not its body, so a long
 * outage fills the disk up to `maxBytes`, never the heap; `read(entry)` fetches a body when it is needed. A segment
 * is deleted once every entry in it and in every older segment is acked (acks of old entries go to newer
 * segments, so deleting only from the oldest end keeps every pending add with its acks). Opening replays every
 * segment: adds without an ack are pending again, in sequence order; a torn last line (crash mid-write) is
 * ignored. The open always starts a fresh segment. Bounded: an entry that would take the files over `maxBytes`
 * is refused (the caller decides what that means); acks are always written.
 */
import { mkdir, open, readdir, readFile, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';

export interface DurableLogOptions {
  maxBytes: number;
  segmentBytes: number;
  fsync: boolean;
}

export interface LogInput {
  /** Order is kept per queue by the consumer (a station identity, or a fixed name). */
  queue: string;
  kind: string;
  /** Stable key of the entry (idempotency key). */
  key: string;
  at: number;
  body: Record<string, unknown>;
}

export interface LogEntry {
  seq: number;
  queue: string;
  kind: string;
  key: string;
  at: number;
  /** Delivery attempts so far (this process). */
  attempts: number;
  segment: number;
  offset: number;
  length: number;
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
  /** The entry's sequence number for an add (its text is in #unwritten until written); null for an ack. */
  seq: number | null;
}

export interface LogWarnings {
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
  info(fields: object, message: string): void;
}

const SEGMENT_RE = /^(\d{10})\.seg$/;
const segmentName = (id: number): string => `${String(id).padStart(10, '0')}.seg`;

export class DurableLog {
  readonly dir: string;
  #options: DurableLogOptions;
  #log: LogWarnings;
  /** Pending entries in sequence order (Map keeps insertion order; the first is the oldest). */
  #entries = new Map<number, LogEntry>();
  /** Texts appended but not yet written, by sequence number (read() serves them from here). */
  #unwritten = new Map<number, string>();
  #segments = new Map<number, Segment>();
  #active!: Segment;
  #nextSeq = 1;
  #bytes = 0;
  #buffer: Pending[] = [];
  #writing: Promise<void> | null = null;
  #scheduled = false;
  #file: { id: number; handle: FileHandle } | null = null;
  #closed = false;
  #waiters: Array<{ resolve(): void; reject(error: Error): void }> = [];
  #writeError: Error | null = null;

  private constructor(dir: string, options: DurableLogOptions, log: LogWarnings) {
    this.dir = dir;
    this.#options = options;
    this.#log = log;
  }

  /** Opens (creating the folder) and replays the segments found there. */
  static async open(dir: string, options: DurableLogOptions, log: LogWarnings): Promise<DurableLog> {
    const spool = new DurableLog(dir, options, log);
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
      const data = await readFile(join(this.dir, segmentName(id)));
      const segment: Segment = { id, bytes: data.length, adds: 0, acks: 0 };
      this.#segments.set(id, segment);
      this.#bytes += segment.bytes;
      let offset = 0;
      while (offset < data.length) {
        let end = data.indexOf(10, offset);
        if (end < 0) end = data.length;
        const length = end - offset;
        const line = data.toString('utf8', offset, end);
        const at = offset;
        offset = end + 1;
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
        this.#entries.set(record.s, { seq: record.s, queue: String(record.q), kind: String(record.n), key: String(record.k), at: Number(record.t), attempts: 0, segment: id, offset: at, length });
      }
    }
    if (torn > 0) this.#log.warn({ dir: this.dir, lines: torn }, 'spool: unreadable records skipped (a write cut short by a crash)');
    // Acks and adds may be out of sequence order across segments; keep the map in sequence order.
    this.#entries = new Map([...this.#entries].sort((a, b) => a[0] - b[0]));
    const nextId = ids.length === 0 ? 1 : ids[ids.length - 1]! + 1;
    this.#active = { id: nextId, bytes: 0, adds: 0, acks: 0 };
    this.#segments.set(nextId, this.#active);
    await this.#compact();
    if (this.#entries.size > 0) this.#log.info({ dir: this.dir, entries: this.#entries.size, bytes: this.#bytes }, 'spool: undelivered entries loaded');
  }

  configure(options: DurableLogOptions): void {
    this.#options = options;
  }

  /** Pending entries in sequence order. */
  pending(): IterableIterator<LogEntry> {
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

  /** Appends an entry; null when the log is full (`maxBytes`) or closed. Durable once `flushed()` resolves. */
  add(input: LogInput): LogEntry | null {
    if (this.#closed) return null;
    const seq = this.#nextSeq;
    const text = `${JSON.stringify({ s: seq, q: input.queue, n: input.kind, k: input.key, t: input.at, b: input.body })}\n`;
    const size = Buffer.byteLength(text);
    if (this.#bytes + size > this.#options.maxBytes) return null;
    this.#nextSeq++;
    if (this.#active.bytes > 0 && this.#active.bytes + size > this.#options.segmentBytes) this.#rotate();
    const entry: LogEntry = { seq, queue: input.queue, kind: input.kind, key: input.key, at: input.at, attempts: 0, segment: this.#active.id, offset: this.#active.bytes, length: size - 1 };
    this.#entries.set(seq, entry);
    this.#unwritten.set(seq, text);
    this.#active.adds++;
    this.#append(text, size, seq);
    return entry;
  }

  /** The body of a pending entry (from memory while it is not yet written, else from its segment). */
  async read(entry: LogEntry): Promise<Record<string, unknown>> {
    const text = this.#unwritten.get(entry.seq);
    if (text !== undefined) return (JSON.parse(text) as { b: Record<string, unknown> }).b;
    const handle = await open(join(this.dir, segmentName(entry.segment)), 'r');
    try {
      const buffer = Buffer.alloc(entry.length);
      await handle.read(buffer, 0, entry.length, entry.offset);
      return (JSON.parse(buffer.toString('utf8')) as { b: Record<string, unknown> }).b;
    } finally {
      await handle.close();
    }
  }

  /** The bodies of pending entries, in their order: a run of entries of one segment costs one read, not one each. */
  async readMany(entries: readonly LogEntry[]): Promise<Array<Record<string, unknown>>> {
    const out: Array<Record<string, unknown>> = new Array(entries.length);
    const body = (text: string): Record<string, unknown> => (JSON.parse(text) as { b: Record<string, unknown> }).b;
    let i = 0;
    while (i < entries.length) {
      const first = entries[i]!;
      const text = this.#unwritten.get(first.seq);
      if (text !== undefined) {
        out[i++] = body(text);
        continue;
      }
      let j = i + 1;
      while (j < entries.length && entries[j]!.segment === first.segment && entries[j]!.offset > entries[j - 1]!.offset && !this.#unwritten.has(entries[j]!.seq)) j++;
      const last = entries[j - 1]!;
      const buffer = Buffer.alloc(last.offset + last.length - first.offset);
      const handle = await open(join(this.dir, segmentName(first.segment)), 'r');
      try {
        await handle.read(buffer, 0, buffer.length, first.offset);
      } finally {
        await handle.close();
      }
      for (; i < j; i++) {
        const e = entries[i]!;
        out[i] = body(buffer.toString('utf8', e.offset - first.offset, e.offset - first.offset + e.length));
      }
    }
    return out;
  }

  /** The entry is done (delivered or given up): it will not be loaded again. */
  ack(entry: LogEntry): void {
    if (!this.#entries.delete(entry.seq)) return;
    this.#segments.get(entry.segment)!.acks++;
    const text = `{"a":${entry.seq}}\n`;
    const size = text.length;
    if (this.#active.bytes + size > this.#options.segmentBytes) this.#rotate();
    this.#append(text, size, null);
  }

  #rotate(): void {
    const id = this.#active.id + 1;
    this.#active = { id, bytes: 0, adds: 0, acks: 0 };
    this.#segments.set(id, this.#active);
  }

  #append(text: string, size: number, seq: number | null): void {
    this.#active.bytes += size;
    this.#bytes += size;
    this.#buffer.push({ segment: this.#active.id, text, seq });
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
      if (this.#buffer.length > 0) {
        this.#startWriting();
        return;
      }
      const waiters = this.#waiters;
      const error = this.#writeError;
      this.#waiters = [];
      this.#writeError = null;
      for (const w of waiters) {
        if (error === null) w.resolve();
        else w.reject(error);
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
        for (const item of items) if (item.seq !== null) this.#unwritten.delete(item.seq);
        await this.#compact();
      } catch (error) {
        // Whoever waits for these records learns that they were not kept; the entries stay in memory only.
        this.#writeError = error instanceof Error ? error : new Error(String(error));
        this.#log.error({ err: error, dir: this.dir }, 'spool: write failed');
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
        if (error.code !== 'ENOENT') this.#log.error({ err: error }, 'spool: cannot delete a delivered segment');
      });
    }
  }

  /** Resolves when every record appended so far is written (and synced, with fsync on); rejects if that failed. */
  flushed(): Promise<void> {
    if (this.#buffer.length === 0 && this.#writing === null && !this.#scheduled) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.#waiters.push({ resolve, reject });
      if (this.#writing === null && !this.#scheduled) this.#startWriting();
    });
  }

  async close(): Promise<void> {
    await this.flushed().catch(() => undefined);
    this.#closed = true;
    const file = this.#file;
    this.#file = null;
    if (file !== null) await file.handle.close();
  }
}
