/**
 * The flexibility prequalification service (control plane, main thread; docs/flexibility.md): the asset-operator
 * server of Energy Web's reference, without its defects. It connects to NATS in the background (the router starts
 * and serves stations without it), makes sure the JetStream stream over the request and claim subjects exists,
 * consumes them through durable pull consumers, and at every (re)connect first publishes the claims a crash left
 * `issued` (reconciliation, idempotent: the chain is asked before any write).
 */
import { readFileSync } from 'node:fs';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import type { Config } from '../config/types.js';
import type { StoreClient } from '../store/client.js';
import { NatsLink } from '../cluster/connection.js';
import { ensureStream } from '../cluster/streams.js';
import type { MetricJson } from '../metrics/metric-json.js';
import { flexMetrics } from './metrics.js';
import { AssetBook, type StationInfo } from './assets.js';
import { normalizeDid } from './did.js';
import { FlexConsumer, type Settled } from './consumer.js';
import { PrequalificationHandlers, type ChainRegistry } from './handlers.js';
import { issuerDelivery } from './issuer.js';
import { ContentStore } from './content-store.js';
import { DidRegistryClient } from './registry.js';

/** Messages handled at once per consumer. */
const CONCURRENCY = 8;

export interface FlexServiceOptions {
  config: Config;
  store: StoreClient;
  station: (identity: string) => StationInfo | undefined;
  logger: Logger;
}

/** The operator's key: from its file (trimmed) or the config. */
function operatorKey(chain: Config['flexibility']['chain']): string {
  const raw = chain.operatorKeyFile !== null ? readFileSync(chain.operatorKeyFile, 'utf8').trim() : chain.operatorPrivateKey!;
  return raw.startsWith('0x') ? raw : `0x${raw}`;
}

export class FlexService {
  readonly assets: AssetBook;
  readonly handlers: PrequalificationHandlers;
  readonly #config: Config;
  readonly #log: Logger;
  readonly #link: NatsLink;
  readonly #content: ContentStore;
  readonly #registry: DidRegistryClient;
  #consumers: FlexConsumer[] = [];
  #starting: Promise<void> | null = null;
  #closed = false;
  #ready = false;
  #lastError: string | null = null;
  #reconciled = { published: 0, failed: 0 };

  private constructor(options: FlexServiceOptions, content: ContentStore, registry: DidRegistryClient) {
    const config = options.config;
    const flex = config.flexibility;
    this.#config = config;
    this.#log = options.logger.child({ component: 'flex' });
    this.#content = content;
    this.#registry = registry;
    this.assets = new AssetBook(options.store, flex.keyEncryptionKey!, flex.chain.network);
    const nats = config.cluster.enable ? config.cluster.nats : { ...config.cluster.nats, servers: flex.nats.servers };
    this.#link = new NatsLink(nats, `ocpp-router-flex-${config.cluster.nodeId ?? process.pid}`, this.#log, { retryFirstConnectHere: true });
    this.handlers = new PrequalificationHandlers({
      config: flex,
      store: options.store,
      assets: this.assets,
      station: options.station,
      registry: registry as ChainRegistry,
      content,
      deliver: issuerDelivery(flex.issuer, () => this.#link.connection),
      announce: (event) => {
        try {
          this.#link.connection?.publish(flex.subjects.events, JSON.stringify(event));
        } catch {
          // Best effort: the claim is published and recorded; the announcement is for dashboards.
        }
      },
      log: this.#log,
    });
    this.#link.onUp((nc) => {
      this.#starting ??= this.#consume(nc).finally(() => (this.#starting = null));
    });
  }

  /** Opens the content store and the chain client, starts connecting to NATS (never waits for it). */
  static async start(options: FlexServiceOptions): Promise<FlexService> {
    const flex = options.config.flexibility;
    const content = await ContentStore.open(flex.contentDir!);
    const chain = flex.chain;
    const registry = new DidRegistryClient({ rpcUrl: chain.rpcUrl!, registryAddress: chain.registryAddress!, operatorPrivateKey: operatorKey(chain), network: chain.network, chainId: chain.chainId, timeoutMs: chain.timeoutMs });
    return new FlexService(options, content, registry);
  }

  /** Consuming (stream and consumers in place). */
  get ready(): boolean {
    return this.#ready;
  }

  /** The stream, the consumers, reconciliation first; on failure retried at the next (re)connect or after a while. */
  async #consume(nc: NatsConnection): Promise<void> {
    if (this.#closed || this.#consumers.length > 0) return;
    const flex = this.#config.flexibility;
    try {
      await ensureStream(nc, { name: flex.stream, subjects: [...flex.subjects.prequalification, ...flex.subjects.claim], maxAgeS: flex.maxAgeS, maxBytes: 0, replicas: 1 });
      this.#reconciled = await this.handlers.reconcile();
      if (this.#reconciled.published + this.#reconciled.failed > 0) this.#log.info(this.#reconciled, 'flexibility: reconciliation of claims left issued');
      const spec = { stream: flex.stream, maxDeliver: flex.maxDeliver, ackWaitMs: flex.ackWaitMs, backoffMs: flex.backoffMs, deadLetterSubject: flex.deadLetterSubject, concurrency: CONCURRENCY };
      const consumers = [
        ...flex.subjects.prequalification.map((subject) => new FlexConsumer(nc, { ...spec, subject, durableBase: flex.consumers.requests }, (data, _s, meta) => this.handlers.request(data, 'nats', meta.deliveryCount >= flex.maxDeliver).then(() => undefined), (r, _d, s) => this.#settled(r, s))),
        ...flex.subjects.claim.map((subject) => new FlexConsumer(nc, { ...spec, subject, durableBase: flex.consumers.claims }, (data, _s, meta) => this.handlers.issued(data, meta.deliveryCount >= flex.maxDeliver).then(() => undefined), (r, _d, s) => this.#settled(r, s))),
      ];
      for (const c of consumers) c.onLoopError = (error) => this.#restartConsumers(error);
      for (const c of consumers) await c.start();
      if (this.#closed) {
        await Promise.all(consumers.map((c) => c.close()));
        return;
      }
      this.#consumers = consumers;
      this.#ready = true;
      this.#lastError = null;
      this.#log.info({ stream: flex.stream, consumers: consumers.length }, 'flexibility: consuming prequalification requests and issued claims');
    } catch (error) {
      this.#lastError = (error as Error).message;
      this.#log.error({ err: error }, 'flexibility: cannot set up the JetStream stream or consumers (will retry)');
      setTimeout(() => {
        const current = this.#link.connection;
        if (current !== null && !this.#closed) this.#starting ??= this.#consume(current).finally(() => (this.#starting = null));
      }, 2000).unref();
    }
  }

  /** A pull loop ended (consumer or stream deleted under us): everything is set up again shortly. */
  #restartConsumers(error: Error): void {
    if (this.#closed || !this.#ready) return;
    this.#ready = false;
    this.#lastError = error.message;
    this.#log.error({ err: error }, 'flexibility: a consumer stopped; setting the stream and consumers up again');
    const consumers = this.#consumers;
    this.#consumers = [];
    void Promise.all(consumers.map((c) => c.close())).then(() => {
      setTimeout(() => {
        const nc = this.#link.connection;
        if (nc !== null && !this.#closed) this.#starting ??= this.#consume(nc).finally(() => (this.#starting = null));
      }, 1000).unref();
    });
  }

  #settled(result: Settled, subject: string): void {
    if (result.outcome === 'ack') return;
    const fields = { subject, outcome: result.outcome, reason: result.reason, error: result.error?.message };
    if (result.outcome === 'dead') this.#log.warn(fields, 'flexibility: message dead-lettered');
    else this.#log.info(fields, 'flexibility: message will be redelivered');
  }

  /** A request from the API: the same path as one from NATS, answered with the claim. */
  requestFromApi(did: string, requestId: string | null): ReturnType<PrequalificationHandlers['request']> {
    return this.handlers.request(new TextEncoder().encode(JSON.stringify({ did, ...(requestId === null ? {} : { requestId }) })), 'api');
  }

  /** One spelling of a did:ethr (throws DidError on anything malformed). */
  normalizeDid(did: string): string {
    return normalizeDid(did);
  }

  status(): Record<string, unknown> {
    return { natsConnected: this.#link.up, consuming: this.#ready, lastError: this.#lastError ?? this.#link.lastError, reconciled: this.#reconciled };
  }

  metrics(): MetricJson[] {
    return flexMetrics(this.handlers.counters);
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.#starting?.catch(() => undefined);
    await Promise.all(this.#consumers.map((c) => c.close()));
    this.#consumers = [];
    this.#ready = false;
    await this.#link.close();
    this.#registry.close();
    await this.#content.close();
    this.assets.forget();
  }
}
