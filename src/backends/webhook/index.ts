/**
 * Backend selection for a shard: the built-in responder, or the webhook (with the responder as its
 * fallback). A HUP reload may switch between them or change the webhook's settings; CALLs already handed
 * to the old webhook backend finish there (it drains, then closes its pool).
 */
import type { Logger } from 'pino';
import type { Config } from '../../config/types.js';
import type { SpoolInput } from '../../ipc/messages.js';
import type { WebhookMetrics } from '../../metrics/webhook-metrics.js';
import type { Backend, BackendReply, InboundCall } from '../../protocol/backend.js';
import { WebhookBackend, type SyncBackend } from './backend.js';

export { WebhookBackend } from './backend.js';
export { WebhookClient, WebhookFailure, SIGNATURE_HEADER, IDEMPOTENCY_HEADER } from './http-client.js';
export * from './envelope.js';

export interface BackendSwitchOptions {
  config: Config;
  responder: SyncBackend & Backend;
  metrics(): WebhookMetrics;
  spool(entries: SpoolInput[]): Promise<void>;
  logger: Logger;
  keyPrefix: string;
}

/** Whether `config` asks for the webhook (and can have it: `url` set); `enable: null` = on when a URL is set. */
export function webhookActive(config: Config): boolean {
  return config.webhook.enable !== false && config.webhook.url !== null;
}

export class BackendSwitch implements Backend {
  readonly name = 'switch';
  #options: BackendSwitchOptions;
  #webhook: WebhookBackend | null = null;
  #current: Backend;
  #generation = 0;
  #maxPayloadDepth = Infinity;

  constructor(options: BackendSwitchOptions) {
    this.#options = options;
    this.#current = options.responder;
    this.configure(options.config);
  }

  /** The backend answering now: `responder` or `webhook`. */
  get active(): string {
    return this.#current.name;
  }

  handleCall(call: InboundCall): BackendReply | Promise<BackendReply> {
    return this.#current.handleCall(call);
  }

  configure(config: Config): void {
    this.#maxPayloadDepth = config.ocpp.maxPayloadDepth;
    if (config.webhook.enable === true && config.webhook.url === null) {
      this.#options.logger.error('webhook.enable is set but webhook.url is not: the built-in responder answers');
    }
    if (!webhookActive(config)) {
      if (this.#webhook !== null) void this.#webhook.close();
      this.#webhook = null;
      this.#current = this.#options.responder;
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
    await this.#webhook?.close();
  }
}
