/**
 * What the control plane does with each notification a shard sends (ipc/messages.ts ShardNotification): connects
 * and disconnects decide the newest connection and reach the presence fan-out (log, webhook, SQL presence, the
 * cluster's directory); boots, statuses and last-message times go to the registry; live-log clients and lines to
 * the live log; OCPP-S stations to the registry.
 */
import type { Logger } from 'pino';
import type { LiveLogHub } from './live-log.js';
import type { ShardNotification, ShardSet } from './shard-set.js';
import type { StationPresence } from './station-presence.js';
import type { StationRegistry } from './station-registry.js';

export interface NotificationContext {
  registry: StationRegistry;
  shards: ShardSet;
  presence: StationPresence;
  log: LiveLogHub;
  logger: Logger;
}

export function onShardNotification(ctx: NotificationContext, shard: number, message: ShardNotification): void {
  switch (message.t) {
    case 'connected': {
      const { replaced, stale } = ctx.registry.connected(message, shard);
      if (stale) {
        // A newer connection of this identity was already reported (from another shard): this one lost.
        ctx.shards.send(shard, { t: 'replace', identity: message.identity, connId: message.connId });
        ctx.logger.info({ identity: message.identity, shard, connId: message.connId }, 'station connected, but a newer connection exists: closing this one');
        return;
      }
      if (replaced !== null && replaced.shard !== shard) {
        // Newest wins, whichever shard holds the old connection (the same shard already closed it).
        ctx.shards.send(replaced.shard, { t: 'replace', identity: message.identity, connId: replaced.connId });
      }
      ctx.presence.connected(message, shard, replaced !== null);
      return;
    }
    case 'disconnected':
      if (ctx.registry.disconnected(message)) ctx.presence.disconnected(message, ctx.registry.get(message.identity), shard);
      return;
    case 'registryEvents':
      ctx.registry.apply(message.events);
      return;
    case 'seen':
      ctx.registry.seen(message.entries);
      return;
    case 'logClients':
      ctx.log.clients(shard, message.count);
      return;
    case 'log':
      ctx.log.lines(message.entries);
      return;
    case 'soapStation':
      ctx.registry.soapStation(message);
      ctx.logger.debug({ identity: message.identity, version: message.version, callbackUrl: message.callbackUrl, remote: message.remoteAddress, shard }, 'OCPP-S station seen');
      return;
    case 'soapSeen':
      ctx.registry.soapSeen(message.entries);
      return;
    default:
      return;
  }
}
