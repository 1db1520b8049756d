/**
 * A JetStream durable pull consumer that hands each message to a handler and settles it only afterwards: acked
 * (and the ack confirmed) once the handler resolved, which it does only after its state is committed; nak'ed with
 * a growing delay on a transient failure; terminated and copied to the dead-letter subject on a permanent one or on
 * the last allowed delivery. Durable: messages published while the service is down wait in the stream.
 *
 * One consumer per subject: nats-server before 2.10 takes a single filter subject per consumer. The durable name
 * carries a hash of the subject, so reordering the configured subjects keeps each consumer's position.
 */
import { createHash } from 'node:crypto';
import { headers, nanos, type NatsConnection } from '@nats-io/transport-node';
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager, type ConsumerConfig, type ConsumerMessages, type JsMsg } from '@nats-io/jetstream';
import { PermanentFailure, TransientFailure, type FailureReason } from './messages.js';

export interface ConsumerSpec {
  stream: string;
  durableBase: string;
  subject: string;
  maxDeliver: number;
  ackWaitMs: number;
  backoffMs: readonly number[];
  deadLetterSubject: string;
  /** Messages handled at once by this consumer. */
  concurrency: number;
}

export interface Settled {
  outcome: 'ack' | 'retry' | 'dead';
  reason: FailureReason | null;
  error: Error | null;
  /** The delivery was the last one allowed (a transient failure turned final). */
  final: boolean;
}

export type MessageHandler = (data: Uint8Array, subject: string, meta: { deliveryCount: number; streamSeq: number }) => Promise<void>;

export function durableName(base: string, subject: string): string {
  return `${base}_${createHash('sha256').update(subject).digest('hex').slice(0, 10)}`;
}

/** Creates the durable consumer, or brings an existing one to the configured limits. */
export async function ensureConsumer(nc: NatsConnection, spec: ConsumerSpec): Promise<string> {
  const jsm = await jetstreamManager(nc, { timeout: 5000 });
  const name = durableName(spec.durableBase, spec.subject);
  const config: Partial<ConsumerConfig> = {
    durable_name: name,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    filter_subject: spec.subject,
    // One more than ours: the last delivery is ours to dead-letter, not the server's to drop silently.
    max_deliver: spec.maxDeliver + 1,
    ack_wait: nanos(spec.ackWaitMs),
  };
  try {
    await jsm.consumers.info(spec.stream, name);
    await jsm.consumers.update(spec.stream, name, { max_deliver: config.max_deliver!, ack_wait: config.ack_wait! });
  } catch (error) {
    if (!/not found/i.test((error as Error).message)) throw error;
    await jsm.consumers.add(spec.stream, config);
  }
  return name;
}

export class FlexConsumer {
  readonly #nc: NatsConnection;
  readonly #spec: ConsumerSpec;
  readonly #handle: MessageHandler;
  readonly #settled: (result: Settled, data: Uint8Array, subject: string) => void;
  /** The pull loop ended on an error (consumer deleted, stream gone …): the owner sets up again. */
  onLoopError: (error: Error) => void = () => undefined;
  #messages: ConsumerMessages | null = null;
  #inFlight = new Set<Promise<void>>();
  #closed = false;

  constructor(nc: NatsConnection, spec: ConsumerSpec, handle: MessageHandler, settled: (result: Settled, data: Uint8Array, subject: string) => void) {
    this.#nc = nc;
    this.#spec = spec;
    this.#handle = handle;
    this.#settled = settled;
  }

  /** Starts pulling; resolves once the consumer exists and the first pull is out. */
  async start(): Promise<void> {
    const name = await ensureConsumer(this.#nc, this.#spec);
    const consumer = await jetstream(this.#nc).consumers.get(this.#spec.stream, name);
    this.#messages = await consumer.consume({ max_messages: Math.max(this.#spec.concurrency, 1) * 2 });
    void this.#loop(this.#messages);
  }

  async #loop(messages: ConsumerMessages): Promise<void> {
    try {
      for await (const m of messages) {
        if (this.#closed) break;
        const job = this.#one(m).finally(() => this.#inFlight.delete(job));
        this.#inFlight.add(job);
        if (this.#inFlight.size >= this.#spec.concurrency) await Promise.race(this.#inFlight);
      }
    } catch (error) {
      if (!this.#closed) this.onLoopError(error instanceof Error ? error : new Error(String(error)));
    }
  }

  /** Never rejects: a failure to settle (NATS gone mid-way) leaves the message to be redelivered after ackWait. */
  async #one(m: JsMsg): Promise<void> {
    try {
      await this.#handleAndSettle(m);
    } catch (error) {
      this.#settled({ outcome: 'retry', reason: 'nats', error: error instanceof Error ? error : new Error(String(error)), final: false }, m.data, m.subject);
    }
  }

  async #handleAndSettle(m: JsMsg): Promise<void> {
    const deliveryCount = m.info.deliveryCount;
    let result: Settled;
    try {
      await this.#handle(m.data, m.subject, { deliveryCount, streamSeq: m.seq });
      await m.ackAck().catch(() => undefined);
      result = { outcome: 'ack', reason: null, error: null, final: false };
    } catch (caught) {
      const error = caught instanceof Error ? caught : new Error(String(caught));
      const permanent = error instanceof PermanentFailure;
      const final = !permanent && deliveryCount >= this.#spec.maxDeliver;
      const reason: FailureReason = permanent || error instanceof TransientFailure ? (error as PermanentFailure | TransientFailure).reason : 'internal';
      if (permanent || final) {
        await this.#deadLetter(m, final ? 'max-deliveries' : reason, error.message);
        // No reason text: nats-server before 2.10.4 does not take "+TERM <reason>" as a termination.
        m.term();
        result = { outcome: 'dead', reason: final ? 'max-deliveries' : reason, error, final };
      } else {
        const backoff = this.#spec.backoffMs;
        m.nak(backoff[Math.min(deliveryCount - 1, backoff.length - 1)]);
        result = { outcome: 'retry', reason, error, final: false };
      }
    }
    this.#settled(result, m.data, m.subject);
  }

  async #deadLetter(m: JsMsg, reason: string, detail: string): Promise<void> {
    const h = headers();
    h.set('Flex-Reason', reason);
    // Header values: printable ASCII only (a DID or token error text may carry anything).
    h.set('Flex-Detail', detail.replace(/[^\x20-\x7e]/g, '?').slice(0, 500));
    h.set('Flex-Subject', m.subject);
    h.set('Flex-Stream-Seq', String(m.seq));
    h.set('Flex-Deliveries', String(m.info.deliveryCount));
    this.#nc.publish(this.#spec.deadLetterSubject, m.data, { headers: h });
    await this.#nc.flush().catch(() => undefined);
  }

  /** Stops pulling and waits for the messages in hand (their acks or naks go out). */
  async close(): Promise<void> {
    this.#closed = true;
    await this.#messages?.close().catch(() => undefined);
    await Promise.allSettled([...this.#inFlight]);
  }
}
