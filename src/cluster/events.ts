/**
 * The fleet's events on JetStream (`cluster.events`), published by each shard for its own stations: every station
 * message in and out (CALL, CALLRESULT, CALLERROR, and 2.1's SEND and CALLRESULTERROR; by action through
 * `actions` / `exclude`), connects and disconnects, and the results of central-system CALLs. Subjects:
 * `<prefix>.events.<node>.<identity>.<action or kind>` (identity and names as subject tokens, subjects.ts); the
 * kinds are `StationConnected`, `StationDisconnected` and `CommandResult`, and a message whose action is not one
 * of the OCPP schemas' goes under `_unknown` (a station cannot invent subjects).
 *
 * The frame path only appends an object to a batch. The batch goes out at the end of the event-loop turn: plain
 * publishes on the stream's subjects and one acknowledged publish last, whose acknowledgement confirms the group
 * (see #publish); at most `maxPending` events unconfirmed. When NATS is away, the stream is not ready, a publish fails or too
 * many are pending, the publisher turns to its durable spool (a DurableLog on disk): everything still unconfirmed is
 * written there in order, and so is every later event until the spool is published (./outbox.ts) and empty again;
 * then events go straight out again. An event the spool cannot take (full) is dropped and counted.
 *
 * Each event carries `Nats-Msg-Id` `<node>.<run>.<seq>.<connId>.<direction><type>.<uniqueId>` (run: random per shard
 * start, seq: per shard), kept with the event in the spool, so a retry of something the stream already has is
 * dropped by the stream (within its duplicate window, 2 minutes by default).
 */
import type { JetStreamClient } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Config } from '../config/types.js';
import type { DurableLog, LogEntry } from '../store/durable-log.js';
import { MESSAGE_TYPE_NAMES, MessageType, OCPP_VERSIONS } from '../protocol/versions.js';
import { actionsFor } from '../protocol/actions.js';
import type { NatsMetrics } from '../metrics/nats-metrics.js';
import { encodeToken, type Subjects } from './subjects.js';
import { JetStreamOutbox, publishWithMsgId, type OutboxMessage } from './outbox.js';
import type { LinkLog } from './connection.js';

export type EventsConfig = Config['cluster']['events'];

/** What an event says about the station (an RpcSession or an OCPP-S session is one). */
export interface EventStation {
  readonly identity: string;
  readonly account: string | null;
  readonly version: string;
  readonly connId: number;
  readonly transport: 'ws' | 'soap';
}

export const EVENT_KINDS = { connected: 'StationConnected', disconnected: 'StationDisconnected', commandResult: 'CommandResult' } as const;
/** The subject token of a message whose action is in no schema set. */
export const UNKNOWN_ACTION = '_unknown';
const KNOWN_ACTIONS: ReadonlySet<string> = new Set(OCPP_VERSIONS.flatMap((v) => actionsFor(v)));
const PUBLISH_TIMEOUT_MS = 5000;
const DRAIN_WINDOW = 256;
const LOG_EVERY_MS = 10_000;
const encoder = new TextEncoder();

interface Captured {
  station: EventStation;
  /** Subject token after the identity: an action, `_unknown`, or a kind. */
  name: string;
  /** Nats-Msg-Id after `<node>.<run>.<seq>.<connId>.`: this, then `.<uniqueId token>` when `idRef` is set. */
  idKind: string;
  idRef: string | null;
  at: number;
  fields: Record<string, unknown>;
}

interface Ready {
  subject: string;
  msgId: string;
  event: Record<string, unknown>;
  at: number;
}

interface InFlight {
  ready: Ready;
  /** Written to the spool when the publisher turned to it while this one was unconfirmed. */
  moved: boolean;
  entry: LogEntry | null;
}

/** A spooled event as a message: the log body is `{s: subject, m: msgId, e: event}`. */
export function eventMessage(body: Record<string, unknown>): OutboxMessage | null {
  const { s, m, e } = body as { s?: unknown; m?: unknown; e?: unknown };
  if (typeof s !== 'string' || typeof m !== 'string' || e === null || typeof e !== 'object') return null;
  return { subject: s, msgId: m, data: encoder.encode(JSON.stringify(e)) };
}

export interface EventPublisherOptions {
  nodeId: string;
  shardId: number;
  /** Random per shard start: ids never repeat across restarts. */
  runToken: string;
  /** The subjects of the current `cluster.subjectPrefix` (it may change on a reload). */
  subjects(): Subjects;
  config: EventsConfig;
  spool: DurableLog;
  /** The JetStream client while NATS is up and the stream is ready; null otherwise. */
  client(): JetStreamClient | null;
  /** The core connection under it (the events of one turn but the last are plain publishes: see #flush). */
  connection(): NatsConnection | null;
  metrics: NatsMetrics;
  logger: LinkLog;
}

export class EventPublisher {
  #o: EventPublisherOptions;
  #actions: ReadonlySet<string>;
  #exclude: ReadonlySet<string>;
  #maxPending: number;
  #batch: Captured[] = [];
  #scheduled = false;
  #seq = 0;
  #inFlight = new Map<number, InFlight>();
  /** True from the first spooled event until the spool is published: order means everything goes through it. */
  #spooling: boolean;
  readonly #outbox: JetStreamOutbox;
  #lastLog = 0;
  #closed = false;

  constructor(options: EventPublisherOptions) {
    this.#o = options;
    this.#actions = new Set(options.config.actions);
    this.#exclude = new Set(options.config.exclude);
    this.#maxPending = options.config.maxPending;
    this.#spooling = options.spool.size > 0;
    const metrics = options.metrics.events;
    this.#outbox = new JetStreamOutbox({
      name: 'events spool',
      log: options.spool,
      client: options.client,
      connection: options.connection,
      toMessage: eventMessage,
      window: DRAIN_WINDOW,
      publishTimeoutMs: PUBLISH_TIMEOUT_MS,
      canStart: () => this.#inFlight.size === 0,
      onEmpty: () => {
        this.#spooling = false;
      },
      published: (n) => (metrics.published += n),
      failed: (n) => (metrics.failed += n),
      unusable: (n) => (metrics.dropped += n),
      logger: options.logger,
    });
  }

  configure(config: EventsConfig): void {
    this.#actions = new Set(config.actions);
    this.#exclude = new Set(config.exclude);
    this.#maxPending = config.maxPending;
  }

  /** Publishes awaiting their acknowledgement. */
  get pending(): number {
    return this.#inFlight.size;
  }

  get spool(): DurableLog {
    return this.#o.spool;
  }

  // --- what the shard reports (the frame path: a filter check and an append) ---

  message(station: EventStation, direction: 'in' | 'out', type: number, uniqueId: string, action: string | null, payload: unknown): void {
    const name = action ?? '';
    if ((this.#actions.size > 0 && !this.#actions.has(name)) || this.#exclude.has(name)) return;
    const fields: Record<string, unknown> = { direction, messageType: MESSAGE_TYPE_NAMES[type] ?? String(type), uniqueId, action };
    if (type === MessageType.CALLERROR || type === MessageType.CALLRESULTERROR) {
      const e = (payload ?? {}) as { code?: unknown; description?: unknown; details?: unknown };
      fields.error = { code: e.code ?? null, description: e.description ?? '', details: e.details ?? {} };
    } else {
      fields.payload = payload;
    }
    this.#capture(station, action !== null && KNOWN_ACTIONS.has(action) ? action : UNKNOWN_ACTION, `${direction}${type}`, uniqueId, fields);
  }

  connected(station: EventStation, remoteAddress: string): void {
    if (this.#exclude.has(EVENT_KINDS.connected)) return;
    this.#capture(station, EVENT_KINDS.connected, 'open', null, { remoteAddress });
  }

  disconnected(station: EventStation, code: number, reason: string): void {
    if (this.#exclude.has(EVENT_KINDS.disconnected)) return;
    this.#capture(station, EVENT_KINDS.disconnected, 'close', null, { code, reason });
  }

  commandResult(station: EventStation, action: string, uniqueId: string, outcome: string, roundTripMs: number): void {
    if (this.#exclude.has(EVENT_KINDS.commandResult)) return;
    this.#capture(station, EVENT_KINDS.commandResult, 'result', uniqueId, { action, uniqueId, outcome, roundTripMs: Math.round(roundTripMs * 1000) / 1000 });
  }

  #capture(station: EventStation, name: string, idKind: string, idRef: string | null, fields: Record<string, unknown>): void {
    if (this.#closed) return;
    this.#batch.push({ station, name, idKind, idRef, at: Date.now(), fields });
    // Bounded: a turn that produces more than maxPending events hands them on at once (never blocks either way).
    if (this.#batch.length >= this.#maxPending) this.#flush();
    else if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(() => this.#flush());
    }
  }

  // --- publishing ---

  #flush(): void {
    this.#scheduled = false;
    if (this.#batch.length === 0) return;
    const batch = this.#batch;
    this.#batch = [];
    const o = this.#o;
    const js = this.#spooling ? null : o.client();
    const nc = js === null ? null : o.connection();
    const subjects = o.subjects();
    const group: Array<{ seq: number; ready: Ready }> = [];
    for (const c of batch) {
      const seq = ++this.#seq;
      const s = c.station;
      const ready: Ready = {
        subject: subjects.event(o.nodeId, s.identity, c.name),
        msgId: `${o.nodeId}.${o.runToken}.${seq}.${s.connId}.${c.idKind}${c.idRef === null ? '' : `.${encodeToken(c.idRef)}`}`,
        event: { type: c.name, node: o.nodeId, shard: o.shardId, seq, at: new Date(c.at).toISOString(), identity: s.identity, account: s.account, ocppVersion: s.version, transport: s.transport, connId: s.connId, ...c.fields },
        at: c.at,
      };
      if (!this.#spooling && js !== null && nc !== null && this.#inFlight.size + group.length < this.#maxPending) group.push({ seq, ready });
      else {
        if (!this.#spooling) this.#turnToSpool(js === null ? 'NATS or the stream not ready' : 'too many publishes pending');
        if (this.#add(ready) === null) this.#o.metrics.events.dropped++;
      }
    }
    if (group.length > 0) this.#publish(js!, nc!, group);
  }

  /**
   * One turn's events: all but the last as plain publishes on the stream's subjects, the last with JetStream's
   * acknowledgement. The stream stores a connection's messages in the order they arrive, so the last one's
   * acknowledgement confirms the whole group; without it the whole group goes to the spool (a duplicate the stream
   * already holds is dropped there by its Nats-Msg-Id). One acknowledgement per turn instead of one per event: a
   * JetStream publish costs the client a request, a reply subscription and a timer.
   */
  #publish(js: JetStreamClient, nc: NatsConnection, group: Array<{ seq: number; ready: Ready }>): void {
    const flights: Array<{ seq: number; flight: InFlight; data: Uint8Array }> = [];
    for (const { seq, ready } of group) {
      try {
        flights.push({ seq, flight: { ready, moved: false, entry: null }, data: encoder.encode(JSON.stringify(ready.event)) });
      } catch (error) {
        // Not expected (payloads are parsed JSON, depth-bounded); never lets a station's message take the shard down.
        this.#o.metrics.events.dropped++;
        this.#logRateLimited('error', { err: error, subject: ready.subject }, 'an event could not be serialized; dropped');
      }
    }
    if (flights.length === 0) return;
    for (const f of flights) this.#inFlight.set(f.seq, f.flight);
    const last = flights[flights.length - 1]!;
    try {
      for (let i = 0; i < flights.length - 1; i++) {
        const f = flights[i]!;
        publishWithMsgId(nc, f.flight.ready.subject, f.data, f.flight.ready.msgId);
      }
    } catch (error) {
      // The connection closed under us: the group is settled as failed below, through the acknowledged publish.
      this.#logRateLimited('warn', { err: error }, 'events: a plain publish failed');
    }
    const metrics = this.#o.metrics.events;
    js.publish(last.flight.ready.subject, last.data, { msgID: last.flight.ready.msgId, timeout: PUBLISH_TIMEOUT_MS }).then(
      () => {
        metrics.published += flights.length;
        for (const f of flights) {
          // Confirmed after all: its spool copy need not be published again.
          if (f.flight.entry !== null) this.#o.spool.ack(f.flight.entry);
          this.#settled(f.seq);
        }
      },
      (error: unknown) => {
        metrics.failed += flights.length;
        if (!this.#spooling) this.#turnToSpool(`publish failed: ${(error as Error).message}`);
        for (const f of flights) {
          if (f.flight.moved && f.flight.entry === null) metrics.dropped++;
          this.#settled(f.seq);
        }
      },
    );
  }

  #settled(seq: number): void {
    this.#inFlight.delete(seq);
    if (this.#inFlight.size > 0) return;
    // Every event moved to the spool was confirmed after all: nothing left to publish from it.
    if (this.#spooling && this.#o.spool.size === 0 && this.#batch.length === 0) this.#spooling = false;
    else this.#outbox.kick();
  }

  /** From now on events go to the spool; the unconfirmed ones go first, in their order. */
  #turnToSpool(why: string): void {
    this.#spooling = true;
    for (const flight of this.#inFlight.values()) {
      if (flight.moved) continue;
      flight.moved = true;
      flight.entry = this.#add(flight.ready);
    }
    this.#logRateLimited('warn', { pending: this.#inFlight.size, spooled: this.#o.spool.size }, `events go to the spool: ${why}`);
    this.#outbox.kick();
  }

  #add(ready: Ready): LogEntry | null {
    const entry = this.#o.spool.add({ queue: 'events', kind: 'event', key: ready.msgId, at: ready.at, body: { s: ready.subject, m: ready.msgId, e: ready.event } });
    if (entry === null) this.#logRateLimited('error', { maxBytes: this.#o.config.spool.maxBytes }, 'the events spool is full (cluster.events.spool.maxBytes): events dropped');
    else this.#o.metrics.events.spooled++;
    return entry;
  }

  #logRateLimited(level: 'warn' | 'error', fields: object, message: string): void {
    const now = Date.now();
    if (now - this.#lastLog < LOG_EVERY_MS) return;
    this.#lastLog = now;
    this.#o.logger[level](fields, message);
  }

  /** NATS and the stream are ready (again): publish what the spool holds. */
  ready(): void {
    this.#outbox.retryNow();
  }

  /** NATS went away: what is unconfirmed goes to the spool now, ahead of what follows. */
  down(): void {
    if (!this.#spooling && this.#inFlight.size > 0) this.#turnToSpool('NATS unreachable');
  }

  /**
   * Hands the last events on, waits up to `deadlineMs` for the acknowledgements, then writes what is still
   * unconfirmed to the spool (published at the next start). The spool itself is closed by its owner.
   */
  async close(deadlineMs: number): Promise<void> {
    this.#flush();
    this.#closed = true;
    const deadline = Date.now() + deadlineMs;
    while (this.#inFlight.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    if (this.#inFlight.size > 0) this.#turnToSpool('stopping');
    // A round of the spool in flight is given what is left of the deadline; what it does not confirm stays on disk.
    await Promise.race([this.#outbox.close(), new Promise((r) => setTimeout(r, Math.max(50, deadline - Date.now())).unref())]);
  }
}
