/**
 * The control plane's side of the webhook, as the router uses it: the spool and its deliveries
 * (./delivery.ts, ./spool.ts), opened at start when the webhook is on or entries wait on disk, else on the first
 * entry; and the events posted through it (station connected and disconnected, command results).
 */
import type { Logger } from 'pino';
import type { Config } from '../../config/types.js';
import { ErrorCode, type RouterError } from '../../protocol/errors.js';
import type { SpoolInput } from '../../ipc/messages.js';
import type { MetricJson } from '../../metrics/metric-json.js';
import { webhookActive } from '../../backends/webhook/index.js';
import { WebhookControl, type EventStation, type WebhookEventName } from './delivery.js';

export class WebhookService {
  #config: () => Config;
  #logger: Logger;
  #control: WebhookControl | null = null;
  #opening: Promise<WebhookControl> | null = null;
  #closed = false;

  constructor(config: () => Config, logger: Logger) {
    this.#config = config;
    this.#logger = logger;
  }

  /** Opens the spool at start when it is wanted (the webhook is on, or entries wait on disk). */
  async start(): Promise<void> {
    if (WebhookControl.wanted(this.#config())) await this.#open();
  }

  /** The spool and its deliveries; null while the webhook is off and no spool was ever opened. */
  get control(): WebhookControl | null {
    return this.#control;
  }

  #open(): Promise<WebhookControl> {
    this.#opening ??= WebhookControl.open(this.#config(), this.#logger).then(
      (control) => {
        this.#control = control;
        return control;
      },
      (error) => {
        this.#opening = null;
        this.#logger.error({ err: error }, 'cannot open the webhook spool');
        throw error;
      },
    );
    return this.#opening;
  }

  /** Entries from a shard (requests answered by the fallback responder); resolves once they are on disk. */
  async enqueue(entries: SpoolInput[]): Promise<void> {
    if (this.#control !== null) return this.#control.enqueue(entries);
    if (this.#closed) throw new Error('the webhook spool is closed');
    return (await this.#open()).enqueue(entries);
  }

  reload(config: Config): void {
    if (this.#control !== null) this.#control.configure(config);
    else if (webhookActive(config)) void this.#open().then((control) => control.configure(this.#config()), () => undefined);
  }

  metrics(): MetricJson[] {
    return this.#control?.metrics() ?? WebhookControl.idleMetrics();
  }

  /** Posts an event about a station (or none: `station` null). */
  event(name: WebhookEventName, station: EventStation | null, data: Record<string, unknown>, at?: number): void {
    this.#control?.event(name, station, data, at);
  }

  /** Posts the station's answer to a command (result, CALLERROR or no answer) as a CommandResult event. */
  commandResult(station: EventStation, action: string, request: Record<string, unknown>, answer: Promise<Record<string, unknown>>): void {
    const config = this.#config();
    if (this.#control === null || !webhookActive(config) || !config.webhook.events.enable) return;
    answer.then(
      (payload) => this.event('CommandResult', station, { action, request, outcome: 'result', payload }),
      (error: RouterError) => {
        const outcome = error.code === ErrorCode.CALL_ERROR ? 'error' : error.code === ErrorCode.CALL_TIMEOUT ? 'timeout' : null;
        // Only what the station did (answered, or not in time); refusals before sending are not events.
        if (outcome !== null) this.event('CommandResult', station, { action, request, outcome, error: error.toJSON() });
      },
    );
  }

  async close(): Promise<void> {
    this.#closed = true;
    const control = this.#opening === null ? null : await this.#opening.catch(() => null);
    await control?.close().catch((error) => this.#logger.error({ err: error }, 'cannot close the webhook spool'));
  }
}
