/**
 * The shard's observer of every session (OCPP-J and OCPP-S alike): counters, metrics, the live log, the
 * registry events that boots and status notifications produce, and the fleet's events on JetStream when
 * `cluster.events.enable` (src/cluster/events.ts). One object per shard, never per session.
 */
import type { Logger } from 'pino';
import { MESSAGE_TYPE_NAMES, MessageType, isV2, type StationVersion } from '../protocol/versions.js';
import type { ObservedSession, SessionHooks } from '../protocol/ocpp-j/rpc-session.js';
import type { BackendReply } from '../protocol/backend.js';
import type { ConnectorStatus, RegistryEvent } from '../ipc/messages.js';
import type { ShardMetrics } from '../metrics/shard-metrics.js';
import type { ShardCounters } from './counters.js';
import type { ShardReports } from './reports.js';
import type { EventPublisher } from '../cluster/events.js';

/** Where the JetStream events go: set once the shard's NATS started (and on reloads); null publishes nothing. */
export interface EventTap {
  publisher: EventPublisher | null;
}

/** Connector status from a StatusNotification (1.5/1.6: connectorId/status/errorCode; 2.x: evseId/connectorId/connectorStatus). */
export function connectorStatus(version: StationVersion, payload: Record<string, unknown>, at: number): ConnectorStatus {
  if (!isV2(version)) {
    return { connector: String(payload.connectorId), status: String(payload.status), errorCode: String(payload.errorCode), at };
  }
  return { connector: `${payload.evseId}/${payload.connectorId}`, status: String(payload.connectorStatus), at };
}

/** The registry event a completed station CALL produces (BootNotification, StatusNotification), or null. */
export function registryEventOf(session: ObservedSession, action: string, request: Record<string, unknown>, reply: BackendReply): RegistryEvent | null {
  if (reply.kind !== 'result') return null;
  if (action === 'BootNotification') return { t: 'boot', identity: session.identity, connId: session.connId, payload: request, status: String(reply.payload.status), at: Date.now() };
  if (action === 'StatusNotification') return { t: 'status', identity: session.identity, connId: session.connId, status: connectorStatus(session.version, request, Date.now()) };
  return null;
}

export function createSessionHooks(counters: ShardCounters, metrics: ShardMetrics, reports: ShardReports, logger: Logger, events: EventTap = { publisher: null }): SessionHooks {
  return {
    frame: (session, direction, type, id, action, payload) => {
      metrics.frame(direction, type, action);
      if (direction === 'out' && type === MessageType.CALLERROR) counters.inc(`callErrorsSent.${(payload as { code: string }).code}`);
      if (reports.logActive) reports.log({ ts: Date.now(), identity: session.identity, direction, messageType: MESSAGE_TYPE_NAMES[type] ?? String(type), uniqueId: id, action, payload });
      events.publisher?.message(session, direction, type, id, action, payload);
    },
    badFrame(_session, frame) {
      counters.inc(`badFrames.${frame.kind}`);
    },
    callRejected(session, action, code, reason) {
      counters.inc(`callsRejected.${code}`);
      if (reason === 'validation') metrics.validationFailure(session.version, action, 'request');
      logger.debug({ identity: session.identity, action, code }, 'call rejected');
    },
    invalidReply(session, action, issues) {
      counters.inc('invalidBackendReplies');
      metrics.validationFailure(session.version, action, 'reply');
      logger.error({ identity: session.identity, action, issues: issues.slice(0, 5) }, `backend reply to ${action} is invalid: ${issues[0]?.message}`);
    },
    callHandled(_session, action, ok, ms) {
      metrics.callHandled(action, ok, ms);
    },
    stationCallCompleted(session, action, request, reply) {
      const event = registryEventOf(session, action, request, reply);
      if (event !== null) reports.registry(event);
    },
    outboundDone(session, action, outcome, ms, id) {
      counters.inc(`outbound.${outcome}`);
      metrics.outbound(action, outcome, ms);
      if (outcome === 'invalid') metrics.validationFailure(session.version, action, 'response');
      events.publisher?.commandResult(session, action, id, outcome, ms);
    },
    opened(session, remoteAddress) {
      events.publisher?.connected(session, remoteAddress);
    },
    closed(session, code, reason) {
      events.publisher?.disconnected(session, code, reason);
    },
    strayResult(_session, kind) {
      counters.inc(`strayResults.${kind}`);
    },
    closedForPolicy(_session, reason) {
      counters.inc(`policyCloses.${reason}`);
    },
    rateLimited(_session, answered) {
      counters.inc(answered ? 'rateLimited.call' : 'rateLimited.other');
    },

  };
}
