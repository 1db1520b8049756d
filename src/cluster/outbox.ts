/**
 * Publishes what waits in a durable log (src/store/durable-log.ts) to JetStream, oldest first: the events spool
 * (events NATS could not take when they happened) and the NATS backend's fallback records (requests the built-in
 * responder answered). Rounds of up to `window` entries are read from disk in one go, published with acks
 * (pipelined, each with its `Nats-Msg-Id`, so a retry of something the stream already has is dropped by the
 * stream), and acked in the log once JetStream confirmed them. With `connection` (the events: many, small), a
 * round is plain publishes and one acknowledged publish last, whose acknowledgement confirms the round (the stream
 * stores one connection's messages in order), as the events publisher does: a spool drains several times faster
 * than one acknowledgement per entry would let it, so a publisher that fell behind catches up. A round with a failure is retried from its
 * first unconfirmed entry after a backoff (0.5 s doubling to 30 s), or as soon as the connection is up again.
 *
 * Order: entries are published in log order; only an entry whose publish failed while later ones of its round
 * were stored comes after them (the events carry a sequence number for consumers that need the exact order).
 */
import type { JetStreamClient } from '@nats-io/jetstream';
import { headers, type NatsConnection } from '@nats-io/transport-node';
import type { DurableLog, LogEntry } from '../store/durable-log.js';
import { backoffMs } from '../protocol/backoff.js';
import type { LinkLog } from './connection.js';

export interface OutboxMessage {
  subject: string;
  msgId: string;
  data: Uint8Array;
}

export interface OutboxOptions {
  /** What the log holds, for messages (`events spool`, `fallback spool`). */
  name: string;
  log: DurableLog;
  /** The JetStream client while NATS is up and the stream exists; null otherwise (the outbox waits for kick()). */
  client(): JetStreamClient | null;
  /** The core connection under `client`: rounds confirmed by one acknowledgement (see the header). */
  connection?(): NatsConnection | null;
  /** The message of a log body; null for a body that cannot be one (dropped, counted as unusable). */
  toMessage(body: Record<string, unknown>): OutboxMessage | null;
  /** Entries per round. */
  window: number;
  publishTimeoutMs: number;
  /** Whether a round may start now (the events publisher: none of its direct publishes is still unsettled). */
  canStart?(): boolean;
  /** The log became empty after publishing. */
  onEmpty?(): void;
  published(count: number): void;
  failed(count: number): void;
  /** Entries dropped: unreadable on disk, or not a message. */
  unusable(count: number): void;
  logger: LinkLog;
}

type Outcome = 'stored' | 'duplicate' | 'unusable';

/**
 * A plain (unacknowledged) publish on a stream's subject with its `Nats-Msg-Id`, so the stream deduplicates it like
 * an acknowledged one: the group's acknowledged last publish confirms it (the events publisher and the spool).
 */
export function publishWithMsgId(nc: NatsConnection, subject: string, data: Uint8Array, msgId: string): void {
  const h = headers();
  h.set('Nats-Msg-Id', msgId);
  nc.publish(subject, data, { headers: h });
}

const RETRY_INITIAL_MS = 500;
const RETRY_MAX_MS = 30_000;
const LOG_EVERY_MS = 10_000;

export class JetStreamOutbox {
  #o: OutboxOptions;
  #running: Promise<void> | null = null;
  #closed = false;
  #failuresInRow = 0;
  #retryAt = 0;
  #retryTimer: NodeJS.Timeout | null = null;
  #lastLog = 0;

  constructor(options: OutboxOptions) {
    this.#o = options;
  }

  get log(): DurableLog {
    return this.#o.log;
  }

  /** True while a round is running. */
  get busy(): boolean {
    return this.#running !== null;
  }

  /** Starts publishing when there is something to publish and nothing runs yet. */
  kick(): void {
    if (this.#closed || this.#running !== null || this.#o.log.size === 0) return;
    this.#running = this.#run().finally(() => {
      this.#running = null;
    });
  }

  async #run(): Promise<void> {
    const o = this.#o;
    while (!this.#closed) {
      if (o.log.size === 0) {
        o.onEmpty?.();
        if (o.log.size === 0) return;
        continue;
      }
      const wait = this.#retryAt - Date.now();
      if (wait > 0) {
        this.#retryTimer ??= setTimeout(() => {
          this.#retryTimer = null;
          this.kick();
        }, wait);
        return;
      }
      const js = o.client();
      // Not connected, or direct publishes still unsettled: kick() again when that changes.
      if (js === null || !(o.canStart?.() ?? true)) return;
      await this.#round(js);
    }
  }

  async #round(js: JetStreamClient): Promise<void> {
    const o = this.#o;
    const batch: LogEntry[] = [];
    for (const entry of o.log.pending()) {
      batch.push(entry);
      if (batch.length >= o.window) break;
    }
    let bodies: Array<Record<string, unknown>>;
    try {
      bodies = await o.log.readMany(batch);
    } catch (error) {
      // A segment that cannot be read will not become readable: give its entries up, loudly.
      o.logger.error({ err: error, spool: o.name, entries: batch.length }, `${o.name}: entries unreadable on disk; dropped`);
      for (const entry of batch) o.log.ack(entry);
      o.unusable(batch.length);
      return;
    }
    const messages = bodies.map((body) => o.toMessage(body));
    const nc = o.connection?.() ?? null;
    const results = nc === null ? await this.#eachAcknowledged(js, messages) : await this.#oneAcknowledgement(js, nc, messages);
    let published = 0;
    let unusable = 0;
    let failed = 0;
    let firstError: unknown = null;
    results.forEach((result, i) => {
      if (result.status === 'rejected') {
        failed++;
        firstError ??= result.reason;
        return;
      }
      o.log.ack(batch[i]!);
      if (result.value === 'stored') published++;
      else if (result.value === 'unusable') unusable++;
    });
    if (published > 0) o.published(published);
    if (unusable > 0) {
      o.unusable(unusable);
      o.logger.error({ spool: o.name, entries: unusable }, `${o.name}: entries that are not messages; dropped`);
    }
    if (failed === 0) {
      this.#failuresInRow = 0;
      return;
    }
    o.failed(failed);
    this.#failuresInRow++;
    this.#retryAt = Date.now() + backoffMs(this.#failuresInRow, { initialMs: RETRY_INITIAL_MS, maxMs: RETRY_MAX_MS, jitter: [0.75, 1.25] });
    const now = Date.now();
    if (now - this.#lastLog >= LOG_EVERY_MS) {
      this.#lastLog = now;
      o.logger.warn({ err: firstError, spool: o.name, failed, waiting: o.log.size, failuresInRow: this.#failuresInRow }, `${o.name}: publishing to JetStream failed; retrying`);
    }
  }

  /** Every message with its own acknowledgement, pipelined. */
  #eachAcknowledged(js: JetStreamClient, messages: Array<OutboxMessage | null>): Promise<Array<PromiseSettledResult<Outcome>>> {
    return Promise.allSettled(
      messages.map((message) => {
        if (message === null) return Promise.resolve('unusable' as const);
        // A duplicate: the stream had it already (an earlier attempt whose acknowledgement was lost).
        return js.publish(message.subject, message.data, { msgID: message.msgId, timeout: this.#o.publishTimeoutMs }).then((ack) => (ack.duplicate ? ('duplicate' as const) : ('stored' as const)));
      }),
    );
  }

  /** All but the last as plain publishes, the last acknowledged: its outcome is every message's. */
  async #oneAcknowledgement(js: JetStreamClient, nc: NatsConnection, messages: Array<OutboxMessage | null>): Promise<Array<PromiseSettledResult<Outcome>>> {
    let last = messages.length - 1;
    while (last >= 0 && messages[last] === null) last--;
    if (last < 0) return messages.map(() => ({ status: 'fulfilled', value: 'unusable' }));
    let outcome: PromiseSettledResult<Outcome>;
    try {
      for (let i = 0; i < last; i++) {
        const m = messages[i];
        if (m === null || m === undefined) continue;
        publishWithMsgId(nc, m.subject, m.data, m.msgId);
      }
      const m = messages[last]!;
      await js.publish(m.subject, m.data, { msgID: m.msgId, timeout: this.#o.publishTimeoutMs });
      outcome = { status: 'fulfilled', value: 'stored' };
    } catch (error) {
      outcome = { status: 'rejected', reason: error };
    }
    return messages.map((m) => (m === null ? { status: 'fulfilled', value: 'unusable' } : outcome));
  }

  /** The connection is (back) up: retry now rather than at the end of the backoff. */
  retryNow(): void {
    this.#retryAt = 0;
    if (this.#retryTimer !== null) {
      clearTimeout(this.#retryTimer);
      this.#retryTimer = null;
    }
    this.kick();
  }

  /** Stops after the round in flight (bounded by the publish timeout); what is left stays in the log. */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#retryTimer !== null) clearTimeout(this.#retryTimer);
    await this.#running;
  }
}
