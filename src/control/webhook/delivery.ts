/**
 * The control plane's side of the webhook: the durable spool (webhook-spool.ts) and its delivery, plus the
 * events (station connected / disconnected, command answers, async command results).
 *
 * Delivery keeps order per queue (a station identity, whichever shard the station is on): one entry of a
 * queue in flight at a time, the next only after a 2xx. Queues are served concurrently up to
 * `pool.connections`. A failed delivery pauses all deliveries for a backoff (`retry.initialDelayMs`,
 * doubling per failure in a row, at most `retry.maxDelayMs`, with jitter), then the same entry is tried
 * again with the same `Idempotency-Key`. Each POST carries one entry (the single-message contract).
 */
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Config } from '../../config/types.js';
import type { StationVersion } from '../../protocol/versions.js';
import type { SpoolInput } from '../../ipc/messages.js';
import type { MetricJson } from '../../metrics/metric-json.js';
import { WebhookMetrics, type SpoolView } from '../../metrics/webhook-metrics.js';
import { IDEMPOTENCY_HEADER, WebhookClient, WebhookFailure, clientOptions } from '../../backends/webhook/http-client.js';
import { webhookActive } from '../../backends/webhook/index.js';
import { WebhookSpool, type SpoolEntry } from './spool.js';
import { backoffMs } from '../../protocol/backoff.js';

export const SPOOL_DIR = 'spool';
const LOG_EVERY_MS = 10_000;

/** Event names posted with `"type": "event"` (docs/webhook.md). */
export type WebhookEventName = 'StationConnected' | 'StationDisconnected' | 'CommandResult' | 'AsyncCommandResult';

export interface EventStation {
  identity: string;
  account?: string | null;
  version?: StationVersion | null;
}

export class WebhookControl {
  #config: Config;
  #logger: Logger;
  #spool: WebhookSpool;
  #queues = new Map<string, SpoolEntry[]>();
  #ready = new Set<string>();
  #inFlight = 0;
  #pausedUntil = 0;
  #pauseTimer: NodeJS.Timeout | null = null;
  #failuresInRow = 0;
  #requests: WebhookClient | null = null;
  #events: WebhookClient | null = null;
  #closing = false;
  #idle: Array<() => void> = [];
  #lastLog = 0;
  readonly #metrics = new WebhookMetrics('spool');
  readonly #stats = { retries: 0, delivered: { request: 0, event: 0 }, dropped: { full: 0, attempts: 0 } };

  private constructor(config: Config, logger: Logger, spool: WebhookSpool) {
    this.#config = config;
    this.#logger = logger;
    this.#spool = spool;
  }

  /** Whether the control plane should open the spool at start: the webhook is on, or entries wait on disk. */
  static wanted(config: Config): boolean {
    return webhookActive(config) || existsSync(join(config.dataDir, SPOOL_DIR));
  }

  static async open(config: Config, logger: Logger): Promise<WebhookControl> {
    const spool = await WebhookSpool.open(join(config.dataDir, SPOOL_DIR), config.webhook.spool, logger);
    const control = new WebhookControl(config, logger, spool);
    for (const entry of spool.pending()) control.#queue(entry);
    control.configure(config);
    return control;
  }

  get spool(): WebhookSpool {
    return this.#spool;
  }

  /** Whether deliveries run: the webhook is enabled and has a URL. */
  get #active(): boolean {
    return webhookActive(this.#config) && !this.#closing;
  }

  configure(config: Config): void {
    this.#config = config;
    const w = config.webhook;
    this.#spool.configure(w.spool);
    const eventsUrl = w.events.url ?? w.url;
    this.#requests = this.#client(this.#requests, w.url);
    this.#events = eventsUrl === w.url ? null : this.#client(this.#events, eventsUrl);
    if (!this.#active && this.#spool.size > 0) this.#logger.warn({ entries: this.#spool.size }, 'webhook is off: spooled entries wait on disk until it is on again');
    this.#pump();
  }

  #client(current: WebhookClient | null, url: string | null): WebhookClient | null {
    if (url === null) {
      void current?.close();
      return null;
    }
    // Spool deliveries use the webhook's settings; one POST per entry.
    const options = clientOptions(this.#config.webhook, url);
    if (current === null) return new WebhookClient(options);
    current.configure(options);
    return current;
  }

  /**
   * Entries from the shards (requests answered by the fallback) and events. Resolves once they are on disk;
   * rejects when one was refused (the spool is full) or could not be written: a shard answers its station only
   * after this resolved, so nothing acknowledged is kept in memory only.
   */
  enqueue(inputs: SpoolInput[]): Promise<void> {
    let refused = 0;
    for (const input of inputs) {
      const entry = this.#spool.add(input);
      if (entry === null) {
        refused++;
        this.#stats.dropped.full++;
        this.#logRateLimited('error', { queue: input.queue, kind: input.kind, key: input.key, maxBytes: this.#config.webhook.spool.maxBytes }, 'webhook spool is full (webhook.spool.maxBytes): entry refused');
        continue;
      }
      this.#queue(entry);
    }
    this.#pump();
    const stored = this.#spool.flushed();
    if (refused === 0) return stored;
    return stored.then(() => Promise.reject(new Error(`webhook spool is full (webhook.spool.maxBytes): ${refused} entr${refused === 1 ? 'y' : 'ies'} refused`)));
  }

  /** Posts an event (when `webhook.events.enable`), through the spool. */
  event(name: WebhookEventName, station: EventStation | null, data: Record<string, unknown>, at = Date.now()): void {
    const w = this.#config.webhook;
    if (!webhookActive(this.#config) || !w.events.enable) return;
    const key = randomUUID();
    const body: Record<string, unknown> = {
      type: 'event',
      event: name,
      identity: station?.identity ?? null,
      account: station?.account ?? null,
      ocppVersion: station?.version ?? null,
      transport: station === null ? null : 'ws',
      at: new Date(at).toISOString(),
      idempotencyKey: key,
      data,
    };
    this.enqueue([{ queue: station?.identity ?? 'api', kind: 'event', key, at, body }]).catch(() => undefined); // refusals are counted and logged
  }

  #queue(entry: SpoolEntry): void {
    let queue = this.#queues.get(entry.queue);
    if (queue === undefined) {
      queue = [];
      this.#queues.set(entry.queue, queue);
      this.#ready.add(entry.queue);
    }
    queue.push(entry);
  }

  #pump(): void {
    if (!this.#active) return;
    const now = Date.now();
    if (now < this.#pausedUntil) {
      this.#pauseTimer ??= setTimeout(() => {
        this.#pauseTimer = null;
        this.#pump();
      }, this.#pausedUntil - now);
      return;
    }
    const max = this.#config.webhook.pool.connections;
    for (const name of this.#ready) {
      if (this.#inFlight >= max) break;
      this.#ready.delete(name);
      const entry = this.#queues.get(name)?.[0];
      if (entry !== undefined) void this.#deliver(name, entry);
    }
  }

  async #deliver(name: string, entry: SpoolEntry): Promise<void> {
    const client = entry.kind === 'event' ? (this.#events ?? this.#requests) : this.#requests;
    if (client === null) {
      // Not reachable while active (the requests client exists whenever webhook.url is set).
      setImmediate(() => this.#ready.add(name));
      return;
    }
    this.#inFlight++;
    entry.attempts++;
    if (entry.attempts > 1) this.#stats.retries++;
    const started = performance.now();
    let failure: WebhookFailure | null = null;
    // Bodies wait on disk, not in memory: read when delivered. One that cannot be read is given up (logged).
    let body: Record<string, unknown>;
    try {
      body = await this.#spool.read(entry);
    } catch (error) {
      this.#inFlight--;
      this.#logger.error({ err: error, queue: name, key: entry.key }, 'webhook spool entry unreadable; dropped');
      this.#done(name, entry);
      this.#pump();
      return;
    }
    try {
      await client.post(body, { [IDEMPOTENCY_HEADER]: entry.key, 'x-ocpp-delivery': 'spool', 'x-ocpp-attempt': String(entry.attempts) });
    } catch (error) {
      failure = error instanceof WebhookFailure ? error : new WebhookFailure('connect', String(error));
    }
    this.#metrics.request(performance.now() - started, 1);
    this.#inFlight--;
    if (failure === null) {
      this.#failuresInRow = 0;
      this.#stats.delivered[entry.kind === 'event' ? 'event' : 'request']++;
      this.#done(name, entry);
    } else {
      this.#metrics.failure(failure.reason);
      this.#failuresInRow++;
      const { initialDelayMs, maxDelayMs, maxAttempts } = this.#config.webhook.retry;
      const delay = backoffMs(this.#failuresInRow, { initialMs: initialDelayMs, maxMs: maxDelayMs, jitter: [0.75, 1] });
      this.#pausedUntil = Math.max(this.#pausedUntil, Date.now() + delay);
      this.#logRateLimited('warn', { reason: failure.reason, status: failure.status, failuresInRow: this.#failuresInRow, waiting: this.#spool.size }, `webhook spool delivery failed: ${failure.message}`);
      if (maxAttempts > 0 && entry.attempts >= maxAttempts) {
        this.#stats.dropped.attempts++;
        this.#logger.error({ queue: name, kind: entry.kind, key: entry.key, attempts: entry.attempts }, 'webhook spool entry dropped after retry.maxAttempts');
        this.#done(name, entry);
      } else {
        this.#ready.add(name);
      }
    }
    if (this.#inFlight === 0) {
      const idle = this.#idle;
      this.#idle = [];
      for (const resolve of idle) resolve();
    }
    this.#pump();
  }

  #done(name: string, entry: SpoolEntry): void {
    this.#spool.ack(entry);
    const queue = this.#queues.get(name)!;
    queue.shift();
    if (queue.length === 0) this.#queues.delete(name);
    else this.#ready.add(name);
  }

  #logRateLimited(level: 'warn' | 'error', fields: Record<string, unknown>, message: string): void {
    const now = Date.now();
    if (now - this.#lastLog < LOG_EVERY_MS) return;
    this.#lastLog = now;
    this.#logger[level](fields, message);
  }

  /** Spool state for metrics and tests. */
  view(): SpoolView {
    const oldest = this.#spool.oldestAt;
    return {
      entries: this.#spool.size,
      bytes: this.#spool.bytes,
      oldestAgeS: oldest === null ? 0 : Math.max(0, (Date.now() - oldest) / 1000),
      dropped: { ...this.#stats.dropped },
      retries: this.#stats.retries,
      delivered: { ...this.#stats.delivered },
    };
  }

  metrics(): MetricJson[] {
    return this.#metrics.toJson(this.view());
  }

  /** Metrics with zero values, when no spool is open. */
  static idleMetrics(): MetricJson[] {
    return new WebhookMetrics('spool').toJson({ entries: 0, bytes: 0, oldestAgeS: 0, dropped: { full: 0, attempts: 0 }, retries: 0, delivered: { request: 0, event: 0 } });
  }

  /** Stops delivering, waits for deliveries in flight (each bounded by timeoutMs), writes what is pending. */
  async close(): Promise<void> {
    this.#closing = true;
    if (this.#pauseTimer !== null) clearTimeout(this.#pauseTimer);
    if (this.#inFlight > 0) await new Promise<void>((resolve) => this.#idle.push(resolve));
    await this.#spool.close();
    await Promise.all([this.#requests?.close(), this.#events?.close()]);
  }
}
