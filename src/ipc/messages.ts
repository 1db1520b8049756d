/**
 * The messages between the control plane (main thread) and the shard threads: notifications (a station
 * connected, a batch of registry events …) as plain objects, and requests with answers through one RequestPort
 * per shard (./port.ts): `ShardRequests` the control plane asks a shard, `ControlRequests` a shard asks the
 * control plane. Plain data only: errors cross as SerializedError (postMessage drops an Error's class and code).
 */
import type { MessagePort } from 'node:worker_threads';
import type { Config } from '../config/types.js';
import type { OcppVersion } from '../protocol/versions.js';
import type { PortEnvelope } from './port.js';
import type { WebRequest, WebResponse } from '../http/types.js';
import type { MetricJson } from '../metrics/metric-json.js';

export interface ShardInit {
  shardId: number;
  shards: number;
  /** Ports to try in order: the configured one, or for port 0 random candidates (shard 0 only). */
  ports: number[];
  /** The same for the TLS listener (tls.enable); ignored when TLS is off. */
  tlsPorts: number[];
  /** The built-in mTLS front's per-process secret (null: no front). */
  frontSecret: string | null;
  config: Config;
  /** Counters every shard shares (see shard/admission.ts). */
  counters: SharedArrayBuffer;
  /** Test hooks (crash on command) are honoured only when set. */
  testHooks: boolean;
  /** This shard's port to the store thread (src/store/), absent when the store is off. */
  storePort?: MessagePort;
}

export interface ConnectorStatus {
  /** 1.6: connectorId (0 = whole station). 2.x: `${evseId}/${connectorId}`. */
  connector: string;
  status: string;
  errorCode?: string;
  at: number;
}

/** Requests the control plane sends a shard: `kind → [body, answer]`. */
export type ShardRequests = {
  /** A CALL to a station of the shard; `validated`: the payload was validated by the sender (the API) already. */
  call: [{ identity: string; action: string; payload: Record<string, unknown>; timeoutMs?: number; validated?: boolean }, Record<string, unknown>];
  stats: [null, ShardStats];
  metrics: [null, MetricJson[]];
};

/** Requests a shard sends the control plane. */
export type ControlRequests = {
  /** An HTTP request the shard cannot answer alone (registry, commands, metrics). */
  http: [WebRequest, WebResponse];
  /** The next block of transaction ids (persisted before it is handed out). */
  txBlock: [null, { start: number; end: number }];
  /** Requests the webhook's fallback answered, for the durable spool: answered once they are on disk. */
  webhookSpool: [SpoolInput[], null];
};

export type MainToShard =
  | PortEnvelope
  | { t: 'replace'; identity: string; connId: number }
  | { t: 'config'; config: Config }
  | { t: 'stop'; mode: 'graceful' | 'fast'; deadlineMs: number }
  /** Whether any shard has a live-log client: shards produce log entries only then. */
  | { t: 'logActive'; active: boolean }
  | { t: 'log'; entries: LogLine[] }
  /** The operator's id-tag list (the store's `id_tags` that are listed), for the responder. */
  | { t: 'idTags'; tags: IdTagEntry[] }
  | { t: 'crash' };

/** [id tag, status (Accepted, Blocked, Expired, Invalid), expiry epoch ms or null]. */
export type IdTagEntry = [idTag: string, status: string, expiry: number | null];

export type ShardToMain =
  | PortEnvelope
  /** `port`: the plain listener's (0 when server.plain is off); `tlsPort`: the TLS listener's (0 when tls is off). */
  | { t: 'listening'; ok: true; port: number; tlsPort: number }
  | { t: 'listening'; ok: false; error: string }
  | { t: 'connected'; identity: string; account: string | null; version: OcppVersion; remoteAddress: string; connId: number; at: number }
  | { t: 'disconnected'; identity: string; connId: number; code: number; reason: string; at: number }
  | { t: 'seen'; entries: Array<[identity: string, at: number]> }
  /** Boot and status events batched per shard (one postMessage per 50 ms, not one per StatusNotification). */
  | { t: 'registryEvents'; events: RegistryEvent[] }
  | { t: 'logClients'; count: number }
  | { t: 'log'; entries: LogLine[] }
  | { t: 'stopped' }
  | SoapShardToMain;

/**
 * OCPP-S: a SOAP station seen by a shard for the first time, or with a new version, callback address or
 * remote address; and the last-request times of SOAP stations, batched once a second.
 */
export type SoapShardToMain =
  | { t: 'soapStation'; identity: string; version: 'ocpp1.5' | 'ocpp1.6'; callbackUrl: string | null; remoteAddress: string; at: number }
  | { t: 'soapSeen'; entries: Array<[identity: string, at: number]> };

/** One OCPP message in or out, as the live log shows it. */
export interface LogEntry {
  ts: number;
  identity: string;
  direction: 'in' | 'out';
  messageType: string;
  uniqueId: string;
  action: string | null;
  payload: unknown;
}

/**
 * A live-log entry as it crosses threads: serialized once, by the thread that saw the message, so neither the
 * control plane nor the shards that hold log clients stringify it again; `identity` is kept for the filter.
 */
export interface LogLine {
  identity: string;
  text: string;
}

/** Serializes a live-log entry; null when it cannot be (never expected: payloads are depth-bounded). */
export function logLine(entry: LogEntry): LogLine | null {
  try {
    return { identity: entry.identity, text: JSON.stringify(entry) };
  } catch {
    return null;
  }
}

/** A registry update from a station's CALL (batched by the shard; sent alone by the SOAP endpoint). */
export type RegistryEvent =
  | { t: 'boot'; identity: string; connId: number; payload: Record<string, unknown>; status: string; at: number }
  | { t: 'status'; identity: string; connId: number; status: ConnectorStatus };

export interface ShardStats {
  shardId: number;
  connections: number;
  counters: Record<string, number>;
  /** V8 heap of the shard's isolate, in bytes. */
  heap: { used: number; total: number; external: number };
}

// --- webhook spool (src/backends/webhook/ produces entries, src/control/webhook/ keeps and delivers them) ---

/** One entry for the control plane's durable spool. */
export interface SpoolInput {
  /** Delivery order is kept per queue: the station identity (or `api` for results without one). */
  queue: string;
  /** `request` goes to `webhook.url`, `event` to `webhook.events.url` (or `webhook.url`). */
  kind: 'request' | 'event';
  /** Stable idempotency key: the `Idempotency-Key` header and the body's `idempotencyKey`. */
  key: string;
  /** When it happened (ms since the epoch). */
  at: number;
  body: Record<string, unknown>;
}
