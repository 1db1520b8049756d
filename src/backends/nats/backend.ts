/**
 * The NATS backend (`backend: "nats"`) of one shard: each station CALL is a NATS request on
 * `<prefix>.in.<version>.<action>` (version as a token: `ocpp1_6`, `ocpp2_0_1`, `ocpp2_1`, `ocpp1_5`) carrying the
 * webhook's envelope as JSON (`{identity, uniqueId, action, payload, account, ocppVersion, transport,
 * idempotencyKey}`); the operator's workers subscribe, in a queue group to share the work, and reply with the
 * webhook's reply format (a CallResult, or `messageTypeId: "CallError"`), which is parsed with the webhook's
 * parser and validated against the response schema like any backend reply.
 *
 * No usable answer (NATS down, no worker subscribed, timeout `nats.timeoutMs`, a reply that is not the format)
 * follows `nats.onFailure`: `error` answers CALLERROR InternalError saying why; `responder` lets the built-in
 * responder answer, and the station gets that answer only once the request and the answer are on disk in the
 * shard's fallback spool (src/cluster/shard-nats.ts), from where they are published to JetStream on
 * `<prefix>.fallback.<version>.<action>` with `Nats-Msg-Id` = the idempotency key. If the record cannot be kept
 * (spool full, disk failure) the station gets InternalError, so nothing it saw acknowledged is lost.
 */
import type { Logger } from 'pino';
import type { Config } from '../../config/types.js';
import type { Backend, BackendReply, InboundCall } from '../../protocol/backend.js';
import type { StationVersion } from '../../protocol/versions.js';
import type { NatsFailureReason, NatsMetrics } from '../../metrics/nats-metrics.js';
import { NatsRequestFailure, type ShardNats } from '../../cluster/shard-nats.js';
import { buildEnvelope, internalError, parseReply, replyToJson, type ReplayedEnvelope, type WebhookEnvelope } from '../webhook/envelope.js';
import type { SyncBackend } from '../webhook/backend.js';

/** What the backend uses of the shard's NATS (src/cluster/shard-nats.ts). */
export type NatsAccess = Pick<ShardNats, 'subjects' | 'request' | 'keepFallback'>;

export interface NatsBackendOptions {
  config(): Config['nats'];
  /** The shard's NATS; null before it started (then every CALL fails as `down`). */
  nats(): NatsAccess | null;
  fallback: SyncBackend;
  metrics(): NatsMetrics;
  logger: Logger;
  /** Unique per shard start: idempotency keys are `<prefix><counter>`. */
  keyPrefix: string;
  /** `ocpp.maxPayloadDepth` (read on each reply: it follows reloads). */
  maxPayloadDepth(): number;
}

/** A station version as one subject token: `ocpp1.6` → `ocpp1_6`. */
export function versionToken(version: StationVersion): string {
  return version.replace(/\./g, '_');
}

/** The fallback record: the envelope, what the responder answered, and why the workers did not. */
export interface NatsFallbackRecord extends ReplayedEnvelope {
  failure: NatsFailureReason;
}

const LOG_EVERY_MS = 10_000;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

export class NatsBackend implements Backend {
  readonly name = 'nats';
  #o: NatsBackendOptions;
  #counter = 0;
  #inFlight = 0;
  #idle: Array<() => void> = [];
  #lastLog = 0;

  constructor(options: NatsBackendOptions) {
    this.#o = options;
  }

  handleCall(call: InboundCall): BackendReply | Promise<BackendReply> {
    const envelope = buildEnvelope(call, this.#o.keyPrefix + (this.#counter++).toString(36));
    const receivedAt = Date.now();
    const nats = this.#o.nats();
    if (nats === null) return this.#failed(call, envelope, receivedAt, 'down', 'NATS is not connected', null);
    let data: Uint8Array;
    try {
      data = encoder.encode(JSON.stringify(envelope));
    } catch (error) {
      return this.#failed(call, envelope, receivedAt, 'error', `the request cannot be serialized: ${String(error)}`, nats);
    }
    const subject = nats.subjects.inbound(versionToken(call.station.version), call.action);
    const metrics = this.#o.metrics();
    const started = performance.now();
    this.#inFlight++;
    return nats.request(subject, data, this.#o.config().timeoutMs).then(
      (reply) => {
        metrics.request(performance.now() - started);
        this.#done();
        return this.#answer(call, envelope, receivedAt, reply, nats);
      },
      (error: unknown) => {
        metrics.request(performance.now() - started);
        this.#done();
        const failure = error instanceof NatsRequestFailure ? error : new NatsRequestFailure('error', String(error));
        return this.#failed(call, envelope, receivedAt, failure.reason, failure.message, nats);
      },
    );
  }

  #answer(call: InboundCall, envelope: WebhookEnvelope, receivedAt: number, data: Uint8Array, nats: NatsAccess): BackendReply | Promise<BackendReply> {
    let value: unknown;
    try {
      value = JSON.parse(decoder.decode(data));
    } catch {
      this.#logInvalid(envelope, '(root)', 'the reply is not JSON');
      return this.#failed(call, envelope, receivedAt, 'invalid', 'the worker\'s reply is not JSON', nats);
    }
    const parsed = parseReply(value, call.station.version, '', this.#o.maxPayloadDepth());
    if (!parsed.ok) {
      this.#logInvalid(envelope, parsed.problem.field, parsed.problem.message);
      return this.#failed(call, envelope, receivedAt, 'invalid', `worker reply field ${parsed.problem.field}: ${parsed.problem.message}`, nats);
    }
    const requests = this.#o.metrics().requests;
    if (parsed.reply.kind === 'result') requests.result++;
    else requests.callError++;
    return parsed.reply;
  }

  #logInvalid(envelope: WebhookEnvelope, field: string, message: string): void {
    this.#o.logger.error({ identity: envelope.identity, action: envelope.action, uniqueId: envelope.uniqueId, field }, `NATS worker reply is unusable: field ${field}: ${message}`);
  }

  /** No usable answer: InternalError, or the responder's answer once the record is on disk (`onFailure`). */
  #failed(call: InboundCall, envelope: WebhookEnvelope, receivedAt: number, reason: NatsFailureReason, message: string, nats: NatsAccess | null): BackendReply | Promise<BackendReply> {
    const metrics = this.#o.metrics();
    const config = this.#o.config();
    metrics.failure(reason);
    metrics.requests.failed++;
    const now = Date.now();
    if (now - this.#lastLog >= LOG_EVERY_MS) {
      this.#lastLog = now;
      this.#o.logger.warn({ reason, action: call.action, onFailure: config.onFailure }, `NATS backend request failed: ${message}`);
    }
    const description = `NATS backend: ${message}`;
    if (config.onFailure !== 'responder') return internalError(description);
    const reply = this.#o.fallback.handleCall(call);
    metrics.fallbackAnswers++;
    if (nats === null) return internalError(`${description}; the fallback answer could not be kept`);
    const record: NatsFallbackRecord = { ...envelope, replay: true, answeredBy: 'responder', answer: replyToJson(envelope, reply), receivedAt: new Date(receivedAt).toISOString(), failure: reason };
    const version = versionToken(call.station.version);
    return nats
      .keepFallback({ subject: nats.subjects.fallback(version, call.action), msgId: envelope.idempotencyKey, at: receivedAt, record: record as unknown as Record<string, unknown> })
      .then((kept) => (kept ? reply : internalError(`${description}; the fallback answer could not be kept`)));
  }

  #done(): void {
    if (--this.#inFlight > 0) return;
    const idle = this.#idle;
    this.#idle = [];
    for (const resolve of idle) resolve();
  }

  /** Waits for the requests in flight (each bounded by `nats.timeoutMs`). */
  async close(): Promise<void> {
    if (this.#inFlight > 0) await new Promise<void>((resolve) => this.#idle.push(resolve));
  }
}
