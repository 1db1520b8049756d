/**
 * The webhook contract (docs/webhook.md), compatible with the C++ ocpp-cs:
 * request envelope `{identity, uniqueId, action, payload, account}` plus `ocppVersion`, `transport` and
 * `idempotencyKey`; reply `{identity, uniqueId, action, payload}` (CallResult) or with
 * `messageTypeId: "CallError"`, `errorCode`, `errorDescription`, `errorDetails` (CallError).
 * A reply without `messageTypeId` is a CallResult.
 */
import type { BackendReply, InboundCall } from '../../protocol/backend.js';
import { RpcErrorCode, canonicalErrorCode } from '../../protocol/rpc-error-codes.js';
import { isV2, type StationVersion } from '../../protocol/versions.js';
import { valueExceedsDepth } from '../../protocol/json-depth.js';

export interface WebhookEnvelope {
  identity: string;
  uniqueId: string;
  action: string;
  payload: Record<string, unknown>;
  /** The account segment of the station URL (`/ocpp/<account>/<identity>`), null without one. */
  account: string | null;
  ocppVersion: StationVersion;
  /** `ws` (OCPP-J over WebSocket); `soap` is reserved for OCPP-S. */
  transport: 'ws' | 'soap';
  /** Stable per request: the same on the live POST and on every redelivery from the spool. */
  idempotencyKey: string;
}

/** A spooled request: the envelope plus what the station was answered while the webhook was down. */
export interface ReplayedEnvelope extends WebhookEnvelope {
  replay: true;
  answeredBy: 'responder';
  answer: WebhookReplyJson;
  receivedAt: string;
}

/** The reply format, as a receiver writes it (and as the spool reports the fallback's answer). */
export interface WebhookReplyJson {
  identity?: string;
  uniqueId?: string;
  action?: string;
  messageTypeId?: 'CallResult' | 'CallError';
  payload?: Record<string, unknown>;
  errorCode?: string;
  errorDescription?: string;
  errorDetails?: Record<string, unknown>;
}

export function buildEnvelope(call: InboundCall, idempotencyKey: string): WebhookEnvelope {
  return {
    identity: call.station.identity,
    uniqueId: call.uniqueId,
    action: call.action,
    payload: call.payload,
    account: call.station.account,
    ocppVersion: call.station.version,
    transport: call.station.transport ?? 'ws',
    idempotencyKey,
  };
}

/** A BackendReply in the reply format (the spool reports the fallback's answers this way). */
export function replyToJson(envelope: WebhookEnvelope, reply: BackendReply): WebhookReplyJson {
  const head = { identity: envelope.identity, uniqueId: envelope.uniqueId, action: envelope.action };
  if (reply.kind === 'result') return { ...head, messageTypeId: 'CallResult', payload: reply.payload };
  return { ...head, messageTypeId: 'CallError', errorCode: reply.code, errorDescription: reply.description, errorDetails: reply.details ?? {} };
}

/** Error codes a receiver may use per version (OCPP-J 1.6 §4.2.3 Table 7 with its spellings; 2.x Part 4 §4.3). */
const V16_ONLY_MISSING: ReadonlySet<string> = new Set(['RpcFrameworkError', 'MessageTypeNotSupported']);

/** Why a reply cannot be used, naming the field at fault. */
export interface ReplyProblem {
  field: string;
  message: string;
}

export type ParsedReply = { ok: true; reply: BackendReply } | { ok: false; problem: ReplyProblem };

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/**
 * Reads one reply object for a station of `version`. `prefix` names its place in a batch (`[3].`). What goes on
 * to the station (payload, errorDetails) may nest at most `maxDepth` levels, like anything a station sends.
 */
export function parseReply(value: unknown, version: StationVersion, prefix = '', maxDepth = Infinity): ParsedReply {
  const bad = (field: string, message: string): ParsedReply => ({ ok: false, problem: { field: prefix + field, message } });
  if (!isObject(value)) return bad('(root)', 'reply must be a JSON object');
  const type = value.messageTypeId;
  if (type === undefined || type === null || type === 'CallResult' || type === 3) {
    const payload = value.payload;
    if (!isObject(payload)) return bad('payload', 'payload must be a JSON object');
    if (valueExceedsDepth(payload, maxDepth)) return bad('payload', `payload is nested deeper than ${maxDepth} levels`);
    return { ok: true, reply: { kind: 'result', payload } };
  }
  if (type === 'CallError' || type === 4) {
    const wire = value.errorCode;
    if (typeof wire !== 'string') return bad('errorCode', 'errorCode must be a string');
    const code = canonicalErrorCode(version, wire);
    if (code === undefined || (!isV2(version) && V16_ONLY_MISSING.has(wire))) {
      return bad('errorCode', `errorCode ${JSON.stringify(wire.slice(0, 64))} is not an RPC error code of ${version}`);
    }
    const description = value.errorDescription ?? '';
    if (typeof description !== 'string') return bad('errorDescription', 'errorDescription must be a string');
    const details = value.errorDetails ?? {};
    if (!isObject(details)) return bad('errorDetails', 'errorDetails must be a JSON object');
    if (valueExceedsDepth(details, maxDepth)) return bad('errorDetails', `errorDetails is nested deeper than ${maxDepth} levels`);
    // 2.0.1 Part 4 §4.2.3: errorDescription is at most 255 characters.
    return { ok: true, reply: { kind: 'error', code, description: description.slice(0, 255), details } };
  }
  return bad('messageTypeId', `messageTypeId must be "CallResult" or "CallError", got ${JSON.stringify(type).slice(0, 64)}`);
}

/** A reply that is not a usable answer: the station gets InternalError (or the fallback answers). */
export function internalError(description: string): BackendReply {
  return { kind: 'error', code: RpcErrorCode.InternalError, description: description.slice(0, 255) };
}

/** The matching key of a batch entry. */
export function batchKey(identity: string, uniqueId: string): string {
  return `${identity}\u0000${uniqueId}`;
}
