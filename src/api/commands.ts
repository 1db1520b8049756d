/**
 * Commands to stations from the API: the body is prepared once for the station's version by the command
 * catalogue (src/protocol/commands/: form coercion, 1.6 → 2.x translation, validation with every violation
 * listed), sent through the station's channel (whatever reaches it: a shard's WebSocket, OCPP-S …) without
 * being validated again, and the outcome mapped to HTTP.
 */
import type { RouterServer } from '../control/router.js';
import { RouterError, ErrorCode } from '../protocol/errors.js';
import { prepareCommand, isRefusal, type CommandBody, type PreparedCommand } from '../protocol/commands/prepare.js';
import type { StationVersion } from '../protocol/versions.js';

export type { CommandBody, PreparedCommand } from '../protocol/commands/prepare.js';

type Payload = Record<string, unknown>;

export interface ApiError {
  code: number;
  message: string;
  details?: unknown;
}

/** What one command to one station came to (also the per-station item of bulk and async results). */
export type CommandOutcome =
  | { identity: string; status: 200; action: string; translatedFrom?: string; payload: Payload }
  | { identity: string; status: number; action: string; translatedFrom?: string; error: ApiError };

function fail(identity: string, action: string, status: number, message: string, details?: unknown): CommandOutcome {
  const error: ApiError = { code: status, message };
  if (details !== undefined) error.details = details;
  return { identity, status, action, error };
}

/** HTTP status for a RouterError from a station channel. */
export function statusOf(error: RouterError): number {
  switch (error.code) {
    case ErrorCode.STATION_NOT_FOUND:
      return 404;
    case ErrorCode.STATION_NOT_CONNECTED:
      return 409;
    case ErrorCode.UNKNOWN_ACTION:
    case ErrorCode.PAYLOAD_INVALID:
      return 400;
    case ErrorCode.CALL_QUEUE_FULL:
      return 429;
    case ErrorCode.CALL_TIMEOUT:
      return 504;
    case ErrorCode.CALL_ERROR:
    case ErrorCode.CALL_ABORTED:
    case ErrorCode.CALL_REJECTED:
      return 502;
    case ErrorCode.SHARD_UNAVAILABLE:
    case ErrorCode.CLUSTER_UNAVAILABLE:
    case ErrorCode.NODE_UNAVAILABLE:
    case ErrorCode.SHUTTING_DOWN:
      return 503;
    default:
      return 500;
  }
}

/** Error details for the HTTP body: the router's code, and the station's CALLERROR fields for 502. */
function detailsOf(error: RouterError): Record<string, unknown> {
  const details: Record<string, unknown> = { reason: error.code };
  const extra = error.details as Record<string, unknown> | undefined;
  if (error.code === ErrorCode.CALL_ERROR && extra !== undefined) {
    details.errorCode = extra.errorCode;
    details.errorDescription = extra.errorDescription;
    details.errorDetails = extra.errorDetails;
  } else if (extra !== undefined) {
    Object.assign(details, extra);
  }
  return details;
}

/**
 * The prepared command for a known station, or the outcome that ends it here (404 unknown station, 400 with
 * every violation).
 */
export async function prepareFor(server: RouterServer, identity: string, operation: string, body: CommandBody): Promise<PreparedCommand | CommandOutcome> {
  const version = await versionOf(server, identity);
  if (version instanceof RouterError) return fail(identity, operation, statusOf(version), version.message, { reason: version.code });
  if (version === null) return fail(identity, operation, 404, `unknown station ${identity}`, { reason: ErrorCode.STATION_NOT_FOUND });
  const prepared = prepareCommand(version, operation, body, server.config.ocpp.maxPayloadDepth);
  if (isRefusal(prepared)) return fail(identity, prepared.action, 400, prepared.message, prepared.details);
  return prepared;
}

/**
 * The version a command is prepared for: the station's on this node when it is connected here; in a cluster, the
 * version it speaks on the node that holds it; else the last one known here (the command then finds it offline).
 */
async function versionOf(server: RouterServer, identity: string): Promise<StationVersion | RouterError | null> {
  const record = server.station(identity);
  if (record?.connected === true || server.cluster === null) return record?.version ?? null;
  const entry = await server.cluster.locate(identity).catch((error: unknown) => (error instanceof RouterError ? error : null));
  if (entry instanceof RouterError) return record?.version ?? entry;
  return (entry?.version as StationVersion | undefined) ?? record?.version ?? null;
}

export function isOutcome(value: PreparedCommand | CommandOutcome): value is CommandOutcome {
  return 'status' in value;
}

/** Sends a prepared command (not validated again) and maps the answer; never rejects. */
export async function sendPrepared(server: RouterServer, identity: string, prepared: PreparedCommand, options: { timeoutMs: number }): Promise<CommandOutcome> {
  const base = prepared.translatedFrom === undefined ? { identity, action: prepared.action } : { identity, action: prepared.action, translatedFrom: prepared.translatedFrom };
  try {
    const payload = await server.call(identity, prepared.action, prepared.payload, { timeoutMs: options.timeoutMs, validated: true });
    return { ...base, status: 200, payload };
  } catch (error) {
    const e = error instanceof RouterError ? error : new RouterError(ErrorCode.INTERNAL, error instanceof Error ? error.message : String(error));
    const status = statusOf(e);
    return { ...base, status, error: { code: status, message: e.message, details: detailsOf(e) } };
  }
}

/** Looks the station up, prepares the payload and sends it; never rejects. */
export async function sendCommand(server: RouterServer, identity: string, operation: string, body: CommandBody, options: { timeoutMs: number }): Promise<CommandOutcome> {
  const prepared = await prepareFor(server, identity, operation, body);
  return isOutcome(prepared) ? prepared : sendPrepared(server, identity, prepared, options);
}

/**
 * Runs `task` for every item with at most `concurrency` in flight; items not started before `deadline`
 * (epoch ms) get `late(item)` instead.
 */
export async function fanOut<T, R>(items: readonly T[], concurrency: number, task: (item: T) => Promise<R>, deadline: number, late: (item: T) => R): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      const item = items[index]!;
      results[index] = Date.now() >= deadline ? late(item) : await task(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  return results;
}
