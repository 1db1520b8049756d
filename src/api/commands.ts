/**
 * Commands to stations through `RouterServer.call` (which reaches the shard holding the station and keeps
 * its one-in-flight discipline): body → payload of the station's version (form coercion, 1.6 → 2.x
 * translation), validation with every violation listed, and the mapping of outcomes to HTTP.
 */
import type { RouterServer } from '../control/router-server.js';
import { RouterError, ErrorCode } from '../protocol/errors.js';
import { centralActions } from '../protocol/actions.js';
import { getActionValidators } from '../protocol/validation/registry.js';
import type { ValidationIssue } from '../protocol/validation/types.js';
import type { OcppVersion } from '../protocol/versions.js';
import { coerceForm, parseForm } from './form-body.js';
import { requestSchema } from './request-schemas.js';
import { RENAMED_FOR_V2, isTranslatable, translateTo2x } from './translate.js';
import { valueExceedsDepth } from '../protocol/json-depth.js';

type Payload = Record<string, unknown>;

/** A command body before it meets a schema. */
export type CommandBody = { kind: 'json'; value: Payload } | { kind: 'form'; tree: ReturnType<typeof parseForm> };

export interface ApiError {
  code: number;
  message: string;
  details?: unknown;
}

/** What one command to one station came to (also the per-station item of bulk and async results). */
export type CommandOutcome =
  | { identity: string; status: 200; action: string; translatedFrom?: string; payload: Payload }
  | { identity: string; status: number; action: string; translatedFrom?: string; error: ApiError };

export interface PreparedCommand {
  action: string;
  payload: Payload;
  translatedFrom?: string;
}

function fail(identity: string, action: string, status: number, message: string, details?: unknown): CommandOutcome {
  const error: ApiError = { code: status, message };
  if (details !== undefined) error.details = details;
  return { identity, status, action, error };
}

function validate(version: OcppVersion, action: string, payload: Payload, maxDepth: number): ValidationIssue[] | null {
  // Before the schema: a payload deeper than a station may send is refused (json-depth.ts).
  if (valueExceedsDepth(payload, maxDepth)) return [{ code: 'FormatViolation', path: '', keyword: 'maxDepth', message: `payload is nested deeper than ${maxDepth} levels (ocpp.maxPayloadDepth)` }];
  const validators = getActionValidators(version, action);
  if (validators === undefined) return [{ code: 'NotImplemented', path: '', keyword: 'action', message: `${action} is not known in ${version}` } as ValidationIssue];
  const result = validators.request(payload);
  return result.ok ? null : result.issues;
}

function payloadFor(body: CommandBody, version: OcppVersion, action: string): Payload {
  return body.kind === 'json' ? body.value : coerceForm(body.tree, requestSchema(version, action));
}

/**
 * The payload to send for `operation` to a station of `version`, or the 400 outcome listing every
 * violation. See translate.ts for the 1.6 → 2.x rules.
 */
export function prepareCommand(identity: string, version: OcppVersion, operation: string, body: CommandBody, maxDepth = Infinity): PreparedCommand | CommandOutcome {
  const central = centralActions(version);
  const renamed = version === 'ocpp1.6' ? undefined : RENAMED_FOR_V2[operation];
  const target = renamed ?? operation;
  if (!central.includes(target)) {
    return fail(identity, operation, 400, `${operation} is not a central-system operation of ${version}`, { reason: ErrorCode.UNKNOWN_ACTION, version, operations: central });
  }
  const direct = (): PreparedCommand | ValidationIssue[] => {
    const payload = payloadFor(body, version, target);
    const issues = validate(version, target, payload, maxDepth);
    return issues === null ? { action: target, payload } : issues;
  };
  const translated = (): PreparedCommand | ValidationIssue[] => {
    const p16 = payloadFor(body, 'ocpp1.6', operation);
    const issues = validate('ocpp1.6', operation, p16, maxDepth);
    if (issues !== null) return issues;
    const payload = translateTo2x(operation, p16);
    if (payload === null) return [{ code: 'PropertyConstraintViolation', path: '', keyword: 'translation', message: `this 1.6 ${operation} has no clear ${version} meaning` } as ValidationIssue];
    const issues2 = validate(version, target, payload, maxDepth);
    return issues2 === null ? { action: target, payload, translatedFrom: `ocpp1.6 ${operation}` } : issues2;
  };
  let outcome: PreparedCommand | ValidationIssue[];
  if (version === 'ocpp1.6' || !isTranslatable(operation)) outcome = direct();
  else if (renamed !== undefined) {
    // A 1.6 name: the 1.6 body is expected; a body already in the 2.x shape is sent as it is.
    outcome = translated();
    if (Array.isArray(outcome)) {
      const second = direct();
      if (!Array.isArray(second)) outcome = second;
    }
  } else {
    outcome = direct();
    if (Array.isArray(outcome)) {
      const second = translated();
      if (!Array.isArray(second)) outcome = second;
    }
  }
  if (!Array.isArray(outcome)) return outcome;
  const issues = outcome.map(({ path, keyword, message }) => ({ path, keyword, message }));
  return fail(identity, target, 400, `${target} payload is invalid for ${version}: ${issues.length} violation${issues.length === 1 ? '' : 's'}`, {
    reason: ErrorCode.PAYLOAD_INVALID,
    version,
    issues,
  });
}

/** HTTP status for a RouterError from `RouterServer.call`. */
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

export interface SendOptions {
  timeoutMs: number;
}

/** Looks the station up, prepares the payload and sends it; never rejects. */
export async function sendCommand(server: RouterServer, identity: string, operation: string, body: CommandBody, options: SendOptions): Promise<CommandOutcome> {
  const record = server.station(identity);
  if (record === undefined) return fail(identity, operation, 404, `unknown station ${identity}`, { reason: ErrorCode.STATION_NOT_FOUND });
  // OCPP 1.5 exists only as OCPP-S, with schemas of its own: src/soap/api-commands.ts sends its commands.
  if (record.version === 'ocpp1.5') return fail(identity, operation, 500, `${identity} speaks OCPP 1.5: its commands go through the OCPP-S command path`, { reason: ErrorCode.INTERNAL });
  const prepared = prepareCommand(identity, record.version, operation, body, server.config.ocpp.maxPayloadDepth);
  if ('status' in prepared) return prepared;
  const base = prepared.translatedFrom === undefined ? { identity, action: prepared.action } : { identity, action: prepared.action, translatedFrom: prepared.translatedFrom };
  try {
    const payload = await server.call(identity, prepared.action, prepared.payload, options.timeoutMs);
    return { ...base, status: 200, payload };
  } catch (error) {
    const e = error instanceof RouterError ? error : new RouterError(ErrorCode.INTERNAL, error instanceof Error ? error.message : String(error));
    const status = statusOf(e);
    return { ...base, status, error: { code: status, message: e.message, details: detailsOf(e) } };
  }
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
