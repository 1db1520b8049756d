/**
 * The webhook backend of one shard: forwards each station CALL to the operator's receiver and relays its
 * answer. With `batch.maxSize` 1 every CALL is one POST of one envelope (the ocpp-cs format); above 1,
 * CALLs arriving within `batch.maxDelayMs` share a POST (a JSON array of envelopes) and the receiver
 * answers with an array of replies matched by identity + uniqueId, in any order.
 *
 * Failures (non-2xx, unparseable or unusable body, refused connection, timeout) answer the station with
 * CALLERROR InternalError, or with `onFailure: "responder"` let the built-in responder answer and spool the
 * request (with that answer) for delivery by the control plane once the receiver is back.
 *
 * A circuit breaker keeps an outage from costing every station `timeoutMs`: after a request fails for a
 * reason that means "receiver down" (connect, timeout, 5xx, 429), CALLs fail at once (`circuitOpen`) for
 * `retry.initialDelayMs`, doubling per failure in a row up to `retry.maxDelayMs`; then requests go through
 * again and the first success closes it.
 */
import type { Logger } from 'pino';
import type { Config } from '../../config/types.js';
import type { SpoolInput } from '../../ipc/messages.js';
import type { WebhookFailureReason, WebhookMetrics } from '../../metrics/webhook-metrics.js';
import type { Backend, BackendReply, InboundCall } from '../../protocol/backend.js';
import { batchKey, buildEnvelope, internalError, parseReply, replyToJson, type ReplayedEnvelope, type WebhookEnvelope } from './envelope.js';
import { IDEMPOTENCY_HEADER, WebhookClient, WebhookFailure, clientOptions } from './http-client.js';
import { backoffMs } from '../../protocol/backoff.js';
import { redactUrl } from '../../http/redact-url.js';

/** A backend that answers synchronously: the built-in responder. */
export interface SyncBackend {
  handleCall(call: InboundCall): BackendReply;
}

export interface WebhookBackendOptions {
  config: Config['webhook'];
  fallback: SyncBackend;
  /** Where live-request metrics go (the shard's, attached after the shard exists). */
  metrics(): WebhookMetrics;
  /** Hands entries to the control plane's spool; resolves once they are on disk there (rejects if not kept). */
  spool(entries: SpoolInput[]): Promise<void>;
  logger: Logger;
  /** Unique per shard start: idempotency keys are `<prefix><counter>`. */
  keyPrefix: string;
  /** `ocpp.maxPayloadDepth`: replies nested deeper are unusable (read on each reply: it follows reloads). */
  maxPayloadDepth(): number;
}

interface Pending {
  call: InboundCall;
  envelope: WebhookEnvelope;
  receivedAt: number;
  resolve(reply: BackendReply | Promise<BackendReply>): void;
}

const DOWN_STATUSES = new Set([429, 502, 503, 504]);
const LOG_EVERY_MS = 10_000;

export class WebhookBackend implements Backend {
  readonly name = 'webhook';
  #options: WebhookBackendOptions;
  #config: Config['webhook'];
  #client: WebhookClient;
  #queue: Pending[] = [];
  #timer: NodeJS.Timeout | null = null;
  #immediate: NodeJS.Immediate | null = null;
  #counter = 0;
  #inFlight = 0;
  #failuresInRow = 0;
  #openUntil = 0;
  #spoolBuffer: Array<{ entry: SpoolInput; done(ok: boolean): void }> = [];
  #spoolScheduled = false;
  /** Spool batches handed over and not yet acknowledged (close waits for them). */
  #spooling = new Set<Promise<unknown>>();
  #lastFailureLog = 0;
  #closing: Promise<void> | null = null;
  #idle: Array<() => void> = [];

  constructor(options: WebhookBackendOptions) {
    if (options.config.url === null) throw new TypeError('webhook.url must be set when the webhook is enabled');
    this.#options = options;
    this.#config = options.config;
    this.#client = new WebhookClient(clientOptions(options.config, options.config.url));
  }

  get config(): Config['webhook'] {
    return this.#config;
  }

  updateConfig(config: Config['webhook']): void {
    if (config.url === null) throw new TypeError('webhook.url must be set when the webhook is enabled');
    this.#config = config;
    this.#client.configure(clientOptions(config, config.url));
  }

  handleCall(call: InboundCall): BackendReply | Promise<BackendReply> {
    const envelope = buildEnvelope(call, this.#options.keyPrefix + (this.#counter++).toString(36));
    const receivedAt = Date.now();
    if (this.#openUntil > receivedAt) return this.#failed(call, envelope, receivedAt, 'circuitOpen', 'webhook circuit open after failures');
    // (#failed answers at once with InternalError, or with the fallback's answer once the request is spooled.)
    return new Promise<BackendReply>((resolve) => {
      this.#queue.push({ call, envelope, receivedAt, resolve });
      const { maxSize, maxDelayMs } = this.#config.batch;
      if (this.#queue.length >= maxSize || maxDelayMs === 0) this.#flush();
      else this.#scheduleFlush();
    });
  }

  /**
   * When no POST is in flight, what arrived in this event-loop turn goes at once (no added wait at light
   * load); otherwise CALLs gather until `maxSize` is reached, `maxDelayMs` passes, or nothing is in flight
   * any more, whichever is first. (Sending on every free connection instead makes many small batches and
   * costs most of the throughput batching is for: measured 7.8k vs 56k msg/s, bench/webhook-bench.ts.)
   */
  #scheduleFlush(): void {
    if (this.#inFlight === 0) this.#immediate ??= setImmediate(() => this.#flush());
    else this.#timer ??= setTimeout(() => this.#flush(), this.#config.batch.maxDelayMs);
  }

  #flush(): void {
    if (this.#timer !== null) {
      clearTimeout(this.#timer);
      this.#timer = null;
    }
    if (this.#immediate !== null) {
      clearImmediate(this.#immediate);
      this.#immediate = null;
    }
    const maxSize = this.#config.batch.maxSize;
    while (this.#queue.length > 0) {
      const batch = this.#queue.length <= maxSize ? this.#queue.splice(0) : this.#queue.splice(0, maxSize);
      void this.#send(batch, maxSize > 1);
    }
  }

  async #send(batch: Pending[], asArray: boolean): Promise<void> {
    const metrics = this.#options.metrics();
    this.#inFlight++;
    const started = performance.now();
    let value: unknown;
    try {
      const body = asArray ? batch.map((p) => p.envelope) : batch[0]!.envelope;
      value = await this.#client.post(body, asArray ? undefined : { [IDEMPOTENCY_HEADER]: batch[0]!.envelope.idempotencyKey });
    } catch (error) {
      metrics.request(performance.now() - started, batch.length);
      const failure = error instanceof WebhookFailure ? error : new WebhookFailure('connect', String(error));
      this.#requestFailed(failure);
      for (const p of batch) p.resolve(this.#failed(p.call, p.envelope, p.receivedAt, failure.reason, failure.message));
      this.#done();
      return;
    }
    metrics.request(performance.now() - started, batch.length);
    this.#failuresInRow = 0;
    this.#openUntil = 0;
    if (!asArray) {
      this.#answer(batch[0]!, value, '');
    } else if (!Array.isArray(value)) {
      this.#logInvalid('(root)', 'a batch reply must be a JSON array of replies');
      for (const p of batch) p.resolve(this.#failed(p.call, p.envelope, p.receivedAt, 'invalid', 'webhook batch reply is not an array'));
    } else {
      const byKey = new Map<string, { value: unknown; index: number }>();
      value.forEach((item, index) => {
        if (item !== null && typeof item === 'object' && typeof (item as { identity?: unknown }).identity === 'string' && typeof (item as { uniqueId?: unknown }).uniqueId === 'string') {
          const r = item as { identity: string; uniqueId: string };
          byKey.set(batchKey(r.identity, r.uniqueId), { value: item, index });
        }
      });
      for (const p of batch) {
        const found = byKey.get(batchKey(p.envelope.identity, p.envelope.uniqueId));
        if (found === undefined) p.resolve(this.#failed(p.call, p.envelope, p.receivedAt, 'missing', `webhook batch reply has no entry for ${p.envelope.identity} ${p.envelope.uniqueId}`));
        else this.#answer(p, found.value, `[${found.index}].`);
      }
    }
    this.#done();
  }

  #answer(p: Pending, value: unknown, prefix: string): void {
    const parsed = parseReply(value, p.call.station.version, prefix, this.#options.maxPayloadDepth());
    const metrics = this.#options.metrics();
    if (parsed.ok) {
      if (parsed.reply.kind === 'result') metrics.messages.result++;
      else metrics.messages.callError++;
      p.resolve(parsed.reply);
      return;
    }
    this.#logInvalid(parsed.problem.field, parsed.problem.message, p.envelope);
    p.resolve(this.#failed(p.call, p.envelope, p.receivedAt, 'invalid', `webhook reply field ${parsed.problem.field}: ${parsed.problem.message}`));
  }

  #logInvalid(field: string, message: string, envelope?: WebhookEnvelope): void {
    this.#options.logger.error({ identity: envelope?.identity, action: envelope?.action, uniqueId: envelope?.uniqueId, field }, `webhook reply is unusable: field ${field}: ${message}`);
  }

  #requestFailed(failure: WebhookFailure): void {
    const down = failure.reason === 'connect' || failure.reason === 'timeout' || (failure.reason === 'status' && (failure.status! >= 500 || DOWN_STATUSES.has(failure.status!)));
    const now = Date.now();
    if (down) {
      this.#failuresInRow++;
      const { initialDelayMs, maxDelayMs } = this.#config.retry;
      const delay = backoffMs(this.#failuresInRow, { initialMs: initialDelayMs, maxMs: maxDelayMs });
      this.#openUntil = now + delay;
    }
    if (now - this.#lastFailureLog >= LOG_EVERY_MS) {
      this.#lastFailureLog = now;
      this.#options.logger.warn({ reason: failure.reason, status: failure.status, failuresInRow: this.#failuresInRow, url: redactUrl(this.#client.url), onFailure: this.#config.onFailure }, `webhook request failed: ${failure.message}`);
    }
  }

  /**
   * The receiver gave no usable answer. `onFailure: "error"`: InternalError now. `"responder"`: the built-in
   * responder answers, and the station gets that answer only once the request (with the answer) is on disk in
   * the control plane's spool; if it cannot be kept (spool full, disk failure) the station gets InternalError
   * instead, so nothing it saw acknowledged is lost.
   */
  #failed(call: InboundCall, envelope: WebhookEnvelope, receivedAt: number, reason: WebhookFailureReason, message: string): BackendReply | Promise<BackendReply> {
    const metrics = this.#options.metrics();
    metrics.failure(reason);
    metrics.messages.failed++;
    if (this.#config.onFailure !== 'responder') return internalError(message);
    const reply = this.#options.fallback.handleCall(call);
    metrics.fallbackAnswers++;
    const body: ReplayedEnvelope = { ...envelope, replay: true, answeredBy: 'responder', answer: replyToJson(envelope, reply), receivedAt: new Date(receivedAt).toISOString() };
    return new Promise<BackendReply>((resolve) => {
      this.#spoolBuffer.push({
        entry: { queue: envelope.identity, kind: 'request', key: envelope.idempotencyKey, at: receivedAt, body: body as unknown as Record<string, unknown> },
        done: (ok) => resolve(ok ? reply : internalError(`${message}; the fallback answer could not be spooled`)),
      });
      if (this.#spoolScheduled) return;
      this.#spoolScheduled = true;
      setImmediate(() => this.#flushSpool());
    });
  }

  /** What failed in one event-loop turn goes to the spool in one request. */
  #flushSpool(): void {
    this.#spoolScheduled = false;
    if (this.#spoolBuffer.length === 0) return;
    const items = this.#spoolBuffer;
    this.#spoolBuffer = [];
    const sent = this.#options.spool(items.map((i) => i.entry)).then(
      () => true,
      (error: unknown) => {
        this.#options.logger.error({ err: error, entries: items.length }, 'webhook fallback answers could not be spooled: the stations get InternalError');
        return false;
      },
    );
    this.#spooling.add(sent);
    void sent.then((ok) => {
      this.#spooling.delete(sent);
      for (const item of items) item.done(ok);
    });
  }

  #done(): void {
    this.#inFlight--;
    // Nothing in flight any more: what waits for a batch goes now.
    if (this.#inFlight === 0 && this.#queue.length > 0) this.#immediate ??= setImmediate(() => this.#flush());
    if (this.#inFlight === 0 && this.#queue.length === 0) {
      const idle = this.#idle;
      this.#idle = [];
      for (const resolve of idle) resolve();
    }
  }

  /** Sends what is batched, waits for requests in flight, hands the last spool entries over, closes the pool. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#flush();
      if (this.#inFlight > 0) await new Promise<void>((resolve) => this.#idle.push(resolve));
      this.#flushSpool();
      await Promise.all([...this.#spooling]);
      await this.#client.close();
    })();
    return this.#closing;
  }
}
