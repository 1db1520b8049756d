/**
 * What the control plane tells the outside when a station's newest connection opens or closes: the log line,
 * the webhook's StationConnected / StationDisconnected events, and with `backend: "pgFunction"` the operator's
 * `SetChargePointConnected` (backends/pg-function/presence.ts), which follows the backend across reloads.
 */
import type { Logger } from 'pino';
import type { Config } from '../config/types.js';
import type { ShardNotification } from './shard-set.js';
import { backendOf } from '../backends/backend-switch.js';
import { PgPresence } from '../backends/pg-function/presence.js';
import type { StationRecord } from './station-registry.js';
import type { WebhookService } from './webhook/events.js';
import type { ClusterMember } from './cluster-member.js';

type Connected = Extract<ShardNotification, { t: 'connected' }>;
type Disconnected = Extract<ShardNotification, { t: 'disconnected' }>;

export class StationPresence {
  #webhook: WebhookService;
  #logger: Logger;
  #pg: PgPresence | null = null;
  /** The cluster's directory learns of this node's connects and disconnects (null outside a cluster). */
  cluster: ClusterMember | null = null;

  constructor(config: Config, webhook: WebhookService, logger: Logger) {
    this.#webhook = webhook;
    this.#logger = logger;
    this.reload(config);
  }

  /** Opens or closes the SQL presence calls as `backend` turns to or away from `pgFunction`. */
  reload(config: Config): void {
    const wanted = backendOf(config) === 'pgFunction';
    if (wanted && this.#pg === null) this.#pg = new PgPresence(config.pgFunction, config.store.postgres.url, this.#logger);
    if (!wanted && this.#pg !== null) {
      void this.#pg.close();
      this.#pg = null;
    }
  }

  connected(message: Connected, shard: number, replaced: boolean): void {
    this.#logger.info({ identity: message.identity, account: message.account, version: message.version, remote: message.remoteAddress, shard, replaced }, 'station connected');
    this.#webhook.event('StationConnected', message, { remoteAddress: message.remoteAddress, replaced }, message.at);
    this.cluster?.connected(message.identity, message.version);
    this.#pg?.report({ identity: message.identity, connected: true, metadata: { transport: 'websocket', protocol: message.version, remoteAddress: message.remoteAddress, account: message.account, replaced, at: new Date(message.at).toISOString() } });
  }

  /** The newest connection of `record`'s station closed (already marked in the registry). */
  disconnected(message: Pick<Disconnected, 'identity' | 'code' | 'reason' | 'at'>, record: StationRecord | undefined, shard: number | null, webhook = true): void {
    const station = { identity: message.identity, account: record?.account ?? null, version: record?.version ?? null };
    this.cluster?.disconnected(message.identity);
    if (webhook) {
      this.#logger.info({ identity: message.identity, code: message.code, reason: message.reason || undefined, shard }, 'station disconnected');
      this.#webhook.event('StationDisconnected', station, { code: message.code, reason: message.reason }, message.at);
    }
    this.#pg?.report({ identity: message.identity, connected: false, metadata: { transport: 'websocket', protocol: station.version, account: station.account, code: message.code, reason: message.reason, at: new Date(message.at).toISOString() } });
  }

  /** The SQL presence calls made so far (null unless `backend` is `pgFunction`). */
  get sqlCalls(): ReturnType<PgPresence['stats']> | null {
    return this.#pg?.stats() ?? null;
  }

  async close(): Promise<void> {
    await this.#pg?.close();
    this.#pg = null;
  }
}
