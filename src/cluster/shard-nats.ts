/**
 * A shard's use of NATS: one connection (NatsLink) shared by the events publisher (./events.ts) and the NATS
 * backend (src/backends/nats/), opened only while one of them is on or a spool still holds something. It owns
 * the shard's two durable spools under `<dataDir>/nats/`:
 *   events/shard-<n>/    events NATS could not take yet (published later, in order)
 *   fallback/shard-<n>/  requests the built-in responder answered for the NATS backend, kept before the answer
 * At every (re)connect it creates or updates the streams (./streams.ts) and then lets the spools publish.
 * A node restarted with fewer shards leaves spools of shards that no longer exist: shard 0 publishes those too.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { jetstream, type JetStreamClient } from '@nats-io/jetstream';
import { RequestError, TimeoutError, type NatsConnection } from '@nats-io/transport-node';
import type { Config } from '../config/types.js';
import type { NatsFailureReason, NatsMetrics } from '../metrics/nats-metrics.js';
import { DurableLog, type LogEntry } from '../store/durable-log.js';
import { NatsLink, type LinkLog } from './connection.js';
import { Subjects } from './subjects.js';
import { ensureStream } from './streams.js';
import { backoffMs } from '../protocol/backoff.js';
import { EventPublisher, eventMessage } from './events.js';
import { JetStreamOutbox } from './outbox.js';

const MIB = 1024 * 1024;
/** Retries of a stream that could not be created or updated (JetStream still starting, limits refused …). */
const ENSURE_RETRY = { initialMs: 250, maxMs: 10_000, jitter: [0.75, 1.25] as const };
const CLOSE_WAIT_MS = 2000;

/** Why a request got no reply. */
export class NatsRequestFailure extends Error {
  readonly reason: NatsFailureReason;
  constructor(reason: NatsFailureReason, message: string) {
    super(message);
    this.reason = reason;
  }
}

/** A fallback record for the spool: published on `subject` with `msgId`. */
export interface FallbackRecord {
  subject: string;
  msgId: string;
  at: number;
  record: Record<string, unknown>;
}

export interface ShardNatsOptions {
  shardId: number;
  shards: number;
  config: Config;
  logger: LinkLog;
  metrics: NatsMetrics;
  /** The events publisher changed (created when `cluster.events.enable` turns on, gone when it turns off). */
  onPublisher?(publisher: EventPublisher | null): void;
}

type Kind = 'events' | 'fallback';

/** Waits for `promise`, at most `ms`. */
const within = (promise: Promise<unknown>, ms: number): Promise<unknown> => Promise.race([promise, new Promise((r) => setTimeout(r, ms).unref())]);

const spoolDir = (config: Config, kind: Kind, shard: number): string => join(config.dataDir, 'nats', kind, `shard-${shard}`);

/** Spool size per shard: the node's budget shared out (at least 1 MiB each). */
function spoolOptions(maxBytes: number, shards: number, fsync: boolean): { maxBytes: number; segmentBytes: number; fsync: boolean } {
  const share = Math.max(MIB, Math.floor(maxBytes / shards));
  return { maxBytes: share, segmentBytes: Math.max(64 * 1024, Math.min(16 * MIB, Math.floor(share / 4))), fsync };
}

export class ShardNats {
  #o: ShardNatsOptions;
  #config: Config;
  #nodeId = '';
  readonly #runToken: string;
  #subjects: Subjects;
  #link: NatsLink | null = null;
  #linkKey = '';
  #js: JetStreamClient | null = null;
  #ready = { events: false, fallback: false };
  #ensureTimer: NodeJS.Timeout | null = null;
  #ensureFailures = 0;
  #events: EventPublisher | null = null;
  #eventsLog: DurableLog | null = null;
  #fallbackLog: DurableLog | null = null;
  /** Outboxes without a live producer: the fallback spool, leftovers of events, spools of shards gone. */
  #outboxes: Array<{ kind: Kind; outbox: JetStreamOutbox; dir: string | null }> = [];
  #ops: Promise<void> = Promise.resolve();
  #opened = false;
  #closed = false;

  constructor(options: ShardNatsOptions) {
    this.#o = options;
    this.#config = options.config;
    this.#runToken = `${options.shardId.toString(36)}${randomBytes(4).toString('hex')}`;
    this.#subjects = new Subjects(options.config.cluster.subjectPrefix);
    options.metrics.view = () => ({
      connected: this.#link?.up === true ? 1 : 0,
      eventsPending: this.#events?.pending ?? 0,
      eventsSpoolEntries: (this.#eventsLog?.size ?? 0) + this.#orphanSize('events', 'size'),
      eventsSpoolBytes: (this.#eventsLog?.bytes ?? 0) + this.#orphanSize('events', 'bytes'),
      fallbackSpoolEntries: (this.#fallbackLog?.size ?? 0) + this.#orphanSize('fallback', 'size'),
    });
  }

  #orphanSize(kind: Kind, what: 'size' | 'bytes'): number {
    let n = 0;
    for (const o of this.#outboxes) if (o.kind === kind && o.dir !== null) n += o.outbox.log[what];
    return n;
  }

  /** Opens the spools this configuration needs or that hold something (before the shard listens: file I/O). */
  open(): Promise<void> {
    return this.#serial(async () => {
      await this.#openSpools(this.#config, true);
      if (this.#o.shardId === 0) await this.#adoptOrphans(this.#config, this.#o.shards);
      this.#opened = true;
    });
  }

  /** A node that uses no NATS gets no spool folders; one left from earlier is opened (and published). */
  async #openSpools(config: Config, atStart: boolean): Promise<void> {
    const { shardId, shards } = this.#o;
    const eventsDir = spoolDir(config, 'events', shardId);
    if (this.#eventsLog === null && (config.cluster.events.enable || (atStart && existsSync(eventsDir)))) {
      this.#eventsLog = await DurableLog.open(eventsDir, spoolOptions(config.cluster.events.spool.maxBytes, shards, false), this.#o.logger);
    }
    const fallbackDir = spoolDir(config, 'fallback', shardId);
    if (this.#fallbackLog === null && (config.backend === 'nats' || (atStart && existsSync(fallbackDir)))) {
      this.#fallbackLog = await DurableLog.open(fallbackDir, spoolOptions(config.nats.fallback.spoolMaxBytes, shards, true), this.#o.logger);
      this.#outboxes.push({ kind: 'fallback', outbox: this.#outbox('fallback spool', 'fallback', this.#fallbackLog, null), dir: null });
    }
  }

  /**
   * Starts publishing and connects, as this configuration needs; `nodeId` names this node in subjects. Called
   * right after the shard listens: no I/O happens before the publisher exists, so no station's first events
   * are missed.
   */
  begin(nodeId: string): void {
    this.#nodeId = nodeId;
    void this.#serial(() => this.#apply(this.#config));
  }

  /** Spools of shard numbers this node no longer has (restarted with fewer shards): published by shard 0, then removed. */
  async #adoptOrphans(config: Config, shards: number): Promise<void> {
    for (const kind of ['events', 'fallback'] as const) {
      let names: string[] = [];
      try {
        names = readdirSync(join(config.dataDir, 'nats', kind));
      } catch {
        continue;
      }
      for (const name of names) {
        const m = /^shard-(\d+)$/.exec(name);
        if (m === null || Number(m[1]) < shards) continue;
        const dir = join(config.dataDir, 'nats', kind, name);
        const log = await DurableLog.open(dir, { maxBytes: 2 ** 50, segmentBytes: 16 * MIB, fsync: kind === 'fallback' }, this.#o.logger);
        if (log.size === 0) {
          await log.close();
          rmSync(dir, { recursive: true, force: true });
          continue;
        }
        this.#o.logger.info({ dir, entries: log.size }, `publishing the ${kind} spool of a shard this node no longer runs`);
        this.#outboxes.push({ kind, outbox: this.#outbox(`${kind} spool of ${name}`, kind, log, dir), dir });
      }
    }
  }

  /** An outbox of `log`; `dir`: a spool of a shard gone, removed once published. */
  #outbox(name: string, kind: Kind, log: DurableLog, dir: string | null): JetStreamOutbox {
    const m = this.#o.metrics;
    const counters = kind === 'events'
      ? { published: (n: number) => (m.events.published += n), failed: (n: number) => (m.events.failed += n), unusable: (n: number) => (m.events.dropped += n) }
      : { published: (n: number) => (m.fallback.published += n), failed: () => undefined, unusable: () => undefined };
    const onEmpty = dir === null ? undefined : () => {
      const i = this.#outboxes.findIndex((o) => o.outbox.log === log);
      if (i >= 0) this.#outboxes.splice(i, 1);
      void log.close().then(() => log.size === 0 && rmSync(dir, { recursive: true, force: true }));
      this.#o.logger.info({ dir }, `the ${kind} spool of a shard this node no longer runs is published; removed`);
    };
    // Events: rounds confirmed by one acknowledgement; fallback records (few, each a station's answer): one each.
    const connection = kind === 'events' ? { connection: () => this.#link?.connection ?? null } : {};
    return new JetStreamOutbox({ name, log, client: () => this.#client(kind), ...connection, toMessage: eventMessage, window: 256, publishTimeoutMs: 5000, ...counters, ...(onEmpty === undefined ? {} : { onEmpty }), logger: this.#o.logger });
  }

  #client(kind: Kind): JetStreamClient | null {
    return this.#link?.up === true && this.#ready[kind] ? this.#js : null;
  }

  /** A reloaded configuration: filters at once; the connection, the publisher and the streams as needed. */
  configure(config: Config): void {
    this.#config = config;
    this.#events?.configure(config.cluster.events);
    void this.#serial(() => this.#apply(config));
  }

  #serial(fn: () => Promise<void>): Promise<void> {
    const next = this.#ops.then(fn, fn);
    this.#ops = next.catch((error: unknown) => this.#o.logger.error({ err: error }, 'NATS setup failed'));
    return next;
  }

  async #apply(config: Config): Promise<void> {
    if (this.#closed || !this.#opened || this.#nodeId === '') return;
    this.#subjects = new Subjects(config.cluster.subjectPrefix);
    // Turned on by a reload: the spools are opened now (a begin() after open() finds them open: no I/O).
    await this.#openSpools(config, false);
    const events = config.cluster.events.enable;
    if (events && this.#events === null && this.#eventsLog !== null) {
      await this.#dropOutbox(this.#eventsLog);
      this.#events = new EventPublisher({
        nodeId: this.#nodeId,
        shardId: this.#o.shardId,
        runToken: this.#runToken,
        subjects: () => this.#subjects,
        config: config.cluster.events,
        spool: this.#eventsLog,
        client: () => this.#client('events'),
        connection: () => this.#link?.connection ?? null,
        metrics: this.#o.metrics,
        logger: this.#o.logger,
      });
      this.#o.onPublisher?.(this.#events);
    } else if (!events && this.#events !== null) {
      const publisher = this.#events;
      this.#events = null;
      this.#o.onPublisher?.(null);
      await publisher.close(CLOSE_WAIT_MS);
    }
    // Events left in the spool while the publisher is off are still published.
    const eventsLog = this.#eventsLog;
    if (this.#events === null && eventsLog !== null && eventsLog.size > 0 && !this.#outboxes.some((o) => o.outbox.log === eventsLog)) {
      this.#outboxes.push({ kind: 'events', outbox: this.#outbox('events spool', 'events', eventsLog, null), dir: null });
    }
    const needed = events || config.backend === 'nats' || (eventsLog?.size ?? 0) > 0 || this.#outboxes.some((o) => o.outbox.log.size > 0);
    const key = JSON.stringify(config.cluster.nats);
    if (this.#link !== null && (!needed || key !== this.#linkKey)) {
      const link = this.#link;
      this.#link = null;
      this.#js = null;
      this.#ready = { events: false, fallback: false };
      await link.close();
    }
    if (needed && this.#link === null) {
      this.#linkKey = key;
      const link = new NatsLink(config.cluster.nats, `ocpp-router ${this.#nodeId} shard ${this.#o.shardId}`, this.#o.logger);
      this.#link = link;
      link.onUp((nc) => this.#up(link, nc));
      link.onDown(() => {
        this.#ready = { events: false, fallback: false };
        this.#events?.down();
      });
    } else if (this.#link !== null && this.#link.connection !== null) {
      // A reload: streams created or updated to the new settings (publishing goes on meanwhile).
      void this.#ensure(this.#link, this.#link.connection, true);
    }
  }

  async #dropOutbox(log: DurableLog): Promise<void> {
    const i = this.#outboxes.findIndex((o) => o.outbox.log === log);
    if (i < 0) return;
    const [gone] = this.#outboxes.splice(i, 1);
    await gone!.outbox.close();
  }

  /** (Re)connected: the streams first, then the spools. */
  #up(link: NatsLink, nc: NatsConnection): void {
    if (this.#link !== link || this.#closed) return;
    this.#js = jetstream(nc, { timeout: 5000 });
    void this.#ensure(link, nc);
  }

  async #ensure(link: NatsLink, nc: NatsConnection, again = false): Promise<void> {
    if (this.#ensureTimer !== null) {
      clearTimeout(this.#ensureTimer);
      this.#ensureTimer = null;
    }
    const config = this.#config;
    const c = config.cluster;
    const wants = {
      events: c.events.enable || (this.#eventsLog?.size ?? 0) > 0 || this.#outboxes.some((o) => o.kind === 'events' && o.outbox.log.size > 0),
      fallback: config.backend === 'nats' || this.#outboxes.some((o) => o.kind === 'fallback' && o.outbox.log.size > 0),
    };
    let failed = false;
    for (const kind of ['events', 'fallback'] as const) {
      if (!wants[kind] || (this.#ready[kind] && !again)) continue;
      const spec = kind === 'events'
        ? { name: c.events.stream, subjects: [`${c.subjectPrefix}.events.>`], maxAgeS: c.events.maxAgeS, maxBytes: c.events.maxBytes, replicas: c.events.replicas }
        : { name: config.nats.fallback.stream, subjects: [`${c.subjectPrefix}.fallback.>`], maxAgeS: config.nats.fallback.maxAgeS, maxBytes: 0, replicas: c.events.replicas };
      try {
        const outcome = await ensureStream(nc, spec);
        if (this.#link !== link || !link.up) return;
        if (outcome !== 'unchanged') this.#o.logger.info({ stream: spec.name, subjects: spec.subjects }, `JetStream stream ${outcome}`);
        this.#ready[kind] = true;
      } catch (error) {
        failed = true;
        if (this.#ensureFailures % 10 === 0) this.#o.logger.error({ err: error, stream: spec.name }, `cannot create or update the JetStream stream ${spec.name}; ${kind} wait in the spool (retrying)`);
      }
    }
    this.#ensureFailures = failed ? this.#ensureFailures + 1 : 0;
    if (failed && !this.#closed) this.#ensureTimer = setTimeout(() => link.connection !== null && void this.#ensure(link, link.connection), backoffMs(this.#ensureFailures, ENSURE_RETRY));
    if (this.#ready.events) this.#events?.ready();
    for (const o of this.#outboxes) if (this.#ready[o.kind]) o.outbox.retryNow();
  }

  // --- for the shard and the NATS backend ---

  get events(): EventPublisher | null {
    return this.#events;
  }

  get subjects(): Subjects {
    return this.#subjects;
  }

  get connected(): boolean {
    return this.#link?.up === true;
  }

  /** A request with a reply (the NATS backend); rejects with NatsRequestFailure. */
  async request(subject: string, data: Uint8Array, timeoutMs: number): Promise<Uint8Array> {
    const nc = this.#link?.connection ?? null;
    if (nc === null) throw new NatsRequestFailure('down', 'NATS is not connected');
    try {
      return (await nc.request(subject, data, { timeout: timeoutMs })).data;
    } catch (error) {
      if (error instanceof TimeoutError) throw new NatsRequestFailure('timeout', `no reply within ${timeoutMs} ms`);
      if (error instanceof RequestError && error.isNoResponders()) throw new NatsRequestFailure('noResponders', `no worker subscribes to ${subject}`);
      throw new NatsRequestFailure(this.#link?.up === true ? 'error' : 'down', (error as Error).message);
    }
  }

  /**
   * Keeps a fallback record on disk; resolves true once it is written (and synced), false when it cannot be
   * kept (spool full or a write failure). It is published to the fallback stream afterwards.
   */
  keepFallback(record: FallbackRecord): Promise<boolean> {
    const log = this.#fallbackLog;
    const m = this.#o.metrics.fallback;
    const entry: LogEntry | null = log === null ? null : log.add({ queue: 'fallback', kind: 'request', key: record.msgId, at: record.at, body: { s: record.subject, m: record.msgId, e: record.record } });
    if (log === null || entry === null) {
      m.refused++;
      this.#o.logger.error({ maxBytes: this.#config.nats.fallback.spoolMaxBytes }, log === null ? 'the fallback spool is not open' : 'the fallback spool is full (nats.fallback.spoolMaxBytes)');
      return Promise.resolve(false);
    }
    return log.flushed().then(
      () => {
        m.kept++;
        this.#outboxes.find((o) => o.outbox.log === log)?.outbox.kick();
        return true;
      },
      () => {
        m.refused++;
        return false;
      },
    );
  }

  /**
   * Last events out (or into the spool), spools closed, connection drained: bounded, since the thread is
   * terminated if it takes too long (what is not confirmed by then is in the spool and published at the next start).
   */
  close(deadlineMs = CLOSE_WAIT_MS): Promise<void> {
    return this.#serial(async () => {
      if (this.#closed) return;
      this.#closed = true;
      if (this.#ensureTimer !== null) clearTimeout(this.#ensureTimer);
      await this.#events?.close(deadlineMs);
      await within(Promise.all(this.#outboxes.map((o) => o.outbox.close())), deadlineMs);
      for (const o of this.#outboxes) {
        if (o.dir === null) continue;
        await o.outbox.log.close();
        if (o.outbox.log.size === 0) rmSync(o.dir, { recursive: true, force: true });
      }
      await this.#eventsLog?.close();
      await this.#fallbackLog?.close();
      if (this.#link !== null) await within(this.#link.close(), deadlineMs);
    });
  }

}
