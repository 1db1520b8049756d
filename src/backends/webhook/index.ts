/**
 * The webhook backend (shard side): every station CALL POSTed to the operator's receiver and its answer relayed,
 * the ocpp-cs contract (./envelope.ts), batched over pooled connections (./http-client.ts, ./backend.ts), with the
 * built-in responder as the fallback whose answers wait in the control plane's durable spool (src/control/webhook/).
 */
import type { Config } from '../../config/types.js';

export { WebhookBackend, type SyncBackend } from './backend.js';
export { WebhookClient, WebhookFailure, SIGNATURE_HEADER, IDEMPOTENCY_HEADER } from './http-client.js';
export * from './envelope.js';

/** Whether `config` asks for the webhook (and can have it: `url` set); `enable: null` = on when a URL is set. */
export function webhookActive(config: Config): boolean {
  return config.webhook.enable !== false && config.webhook.url !== null;
}
