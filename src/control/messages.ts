/**
 * Messages between the control plane (main thread) and the shard threads. Plain data only: errors cross
 * as SerializedError (postMessage drops an Error's class and code).
 */
import type { Config } from '../config/types.js';
import type { OcppVersion } from '../protocol/versions.js';
import type { SerializedError } from '../protocol/errors.js';
import type { WebRequest, WebResponse } from '../http/types.js';
import type { MetricJson } from '../metrics/metric-json.js';

export interface ShardInit {
  shardId: number;
  shards: number;
  /** Ports to try in order: the configured one, or for port 0 random candidates (shard 0 only). */
  ports: number[];
  config: Config;
  /** Counters every shard shares (see shard/admission.ts). */
  counters: SharedArrayBuffer;
  /** Test hooks (crash on command) are honoured only when set. */
  testHooks: boolean;
}

export interface ConnectorStatus {
  /** 1.6: connectorId (0 = whole station). 2.x: `${evseId}/${connectorId}`. */
  connector: string;
  status: string;
  errorCode?: string;
  at: number;
}

export type MainToShard =
  | { t: 'call'; reqId: number; identity: string; action: string; payload: Record<string, unknown>; timeoutMs?: number }
  | { t: 'replace'; identity: string; connId: number }
  | { t: 'txBlock'; reqId: number; start?: number; end?: number; error?: SerializedError }
  | { t: 'config'; config: Config }
  | { t: 'stop'; mode: 'graceful' | 'fast'; deadlineMs: number }
  | { t: 'stats'; reqId: number }
  | { t: 'metrics'; reqId: number }
  | { t: 'httpReply'; reqId: number; response: WebResponse }
  /** Whether any shard has a live-log client: shards produce log entries only then. */
  | { t: 'logActive'; active: boolean }
  | { t: 'log'; entries: LogLine[] }
  | { t: 'crash' };

export type ShardToMain =
  | { t: 'listening'; ok: true; port: number }
  | { t: 'listening'; ok: false; error: string }
  | { t: 'connected'; identity: string; account: string | null; version: OcppVersion; remoteAddress: string; connId: number; at: number }
  | { t: 'disconnected'; identity: string; connId: number; code: number; reason: string; at: number }
  | { t: 'boot'; identity: string; connId: number; payload: Record<string, unknown>; status: string; at: number }
  | { t: 'status'; identity: string; connId: number; status: ConnectorStatus }
  | { t: 'seen'; entries: Array<[identity: string, at: number]> }
  /** Boot and status events batched per shard (one postMessage per 50 ms, not one per StatusNotification). */
  | { t: 'registryEvents'; events: RegistryEvent[] }
  | { t: 'callResult'; reqId: number; ok: true; payload: Record<string, unknown> }
  | { t: 'callResult'; reqId: number; ok: false; error: SerializedError }
  | { t: 'txBlockRequest'; reqId: number }
  | { t: 'http'; reqId: number; request: WebRequest }
  | { t: 'logClients'; count: number }
  | { t: 'log'; entries: LogLine[] }
  | { t: 'stats'; reqId: number; stats: ShardStats }
  | { t: 'metrics'; reqId: number; metrics: MetricJson[] }
  | { t: 'stopped' }
  // --- webhook spool (src/control/webhook-control.ts) ---
  /** Requests answered by the fallback responder, for the durable spool (delivered in order per queue). */
  | { t: 'webhookSpool'; entries: SpoolInput[] }
  // --- OCPP-S (SOAP) stations (src/soap/endpoint.ts) ---
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

// --- webhook spool (src/backends/webhook/, src/control/webhook-*.ts) ---

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
