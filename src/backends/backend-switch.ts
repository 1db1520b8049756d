/**
 * What answers a station's CALL, chosen per shard from the configuration (`backend`, and on every HUP reload):
 * the built-in responder (responder/), the webhook with the responder as its fallback (webhook/), the
 * operator's SQL function (pg-function/), or the operator's NATS workers (nats/). CALLs already handed to a backend that is switched away finish there
 * (it drains, then closes its pool).
 */
import type { Logger } from 'pino';
import type { Config } from '../config/types.js';
import type { SpoolInput } from '../ipc/messages.js';
import type { WebhookMetrics } from '../metrics/webhook-metrics.js';
import type { Backend, BackendReply, InboundCall } from '../protocol/backend.js';
import { WebhookBackend, webhookActive, type SyncBackend } from './webhook/index.js';
import { PgFunctionBackend } from './pg-function/backend.js';
import { NatsBackend, type NatsAccess } from './nats/backend.js';
import type { NatsMetrics } from '../metrics/nats-metrics.js';

/** The backend `config` asks for: `auto` is the webhook when it has a URL, else the responder. */
export function backendOf(config: Config): 'responder' | 'webhook' | 'pgFunction' | 'nats' {
  if (config.backend === 'auto') return webhookActive(config) ? 'webhook' : 'responder';
  if (config.backend === 'webhook' && !webhookActive(config)) return 'responder';
  return config.backend;
}

export interface BackendSwitchOptions {
  config: Config;
  responder: SyncBackend & Backend;
  metrics(): WebhookMetrics;
  spool(entries: SpoolInput[]): Promise<void>;
  logger: Logger;
  keyPrefix: string;
  /** The shard's NATS (src/cluster/shard-nats.ts), for `backend: "nats"`; null until it started. */
  nats?(): NatsAccess | null;
  natsMetrics?(): NatsMetrics;
}

export class BackendSwitch implements Backend {
  readonly name = 'switch';
  #options: BackendSwitchOptions;
  #webhook: WebhookBackend | null = null;
  #pg: PgFunctionBackend | null = null;
  #nats: NatsBackend | null = null;
  #natsConfig: Config['nats'] | null = null;
  #current: Backend;
  #generation = 0;
  #maxPayloadDepth = Infinity;

  constructor(options: BackendSwitchOptions) {
    this.#options = options;
    this.#current = options.responder;
    this.configure(options.config);
  }

  /** The backend answering now: `responder`, `webhook`, `pgFunction` or `nats`. */
  get active(): string {
    return this.#current.name;
  }

  handleCall(call: InboundCall): BackendReply | Promise<BackendReply> {
    return this.#current.handleCall(call);
  }

  configure(config: Config): void {
    this.#maxPayloadDepth = config.ocpp.maxPayloadDepth;
    const wanted = backendOf(config);
    if (wanted !== 'pgFunction' && this.#pg !== null) {
      void this.#pg.close();
      this.#pg = null;
    }
    if (wanted !== 'nats' && this.#nats !== null) {
      void this.#nats.close();
      this.#nats = null;
    }
    if (wanted !== 'webhook' && this.#webhook !== null) {
      void this.#webhook.close();
      this.#webhook = null;
    }
    if (wanted === 'responder') {
      this.#current = this.#options.responder;
      return;
    }
    if (wanted === 'pgFunction') {
      this.#pg ??= new PgFunctionBackend({ config: config.pgFunction, fallbackUrl: config.store.postgres.url, maxPayloadDepth: () => this.#maxPayloadDepth, logger: this.#options.logger });
      this.#current = this.#pg;
      return;
    }
    if (wanted === 'nats') {
      this.#natsConfig = config.nats;
      this.#nats ??= new NatsBackend({
        config: () => this.#natsConfig!,
        nats: () => this.#options.nats?.() ?? null,
        fallback: this.#options.responder,
        metrics: () => this.#options.natsMetrics!(),
        logger: this.#options.logger,
        keyPrefix: `${this.#options.keyPrefix}${(this.#generation++).toString(36)}-`,
        maxPayloadDepth: () => this.#maxPayloadDepth,
      });
      this.#current = this.#nats;
      return;
    }
    if (this.#webhook === null) {
      this.#webhook = new WebhookBackend({
        config: config.webhook,
        fallback: this.#options.responder,
        metrics: this.#options.metrics,
        spool: this.#options.spool,
        logger: this.#options.logger,
        // A new generation per backend object: keys never repeat within a shard's life.
        keyPrefix: `${this.#options.keyPrefix}${(this.#generation++).toString(36)}-`,
        maxPayloadDepth: () => this.#maxPayloadDepth,
      });
    } else {
      this.#webhook.updateConfig(config.webhook);
    }
    this.#current = this.#webhook;
  }

  async close(): Promise<void> {
    await Promise.all([this.#webhook?.close(), this.#pg?.close(), this.#nats?.close()]);
  }
}
