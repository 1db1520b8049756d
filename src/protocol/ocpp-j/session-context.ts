/**
 * What an RpcSession is given and tells: its transport, the shard-wide context every session shares (options,
 * backend, validators, hooks, message ids) and the hooks through which a shard observes its sessions.
 */
import type { StationVersion } from '../versions.js';
import type { RpcErrorCode } from '../rpc-error-codes.js';
import type { ActionValidators, ValidationIssue } from '../validation/types.js';
import type { Backend, BackendReply } from '../backend.js';
import type { BadFrame, Payload } from './frames.js';
import type { RateLimitOptions } from './rate-limit.js';

/** How a session talks to its socket; the only transport dependency. */
export interface SessionTransport {
  /** Sends a text frame; false when the socket is gone. */
  send(text: string): boolean;
  close(code: number, reason: string): void;
}

export type Direction = 'in' | 'out';

/** What the hooks see of a session (RpcSession implements it; an OCPP-S session is one too). */
export interface ObservedSession {
  readonly identity: string;
  readonly account: string | null;
  readonly version: StationVersion;
  readonly connId: number;
  readonly transport: 'ws' | 'soap';
}

/** Shard-wide observer of session events: registry updates, metrics, live log. Never per-session. */
export interface SessionHooks {
  /** A well-formed frame, after parsing (in) or before sending (out). */
  frame?(session: ObservedSession, direction: Direction, messageType: number, id: string, action: string | null, payload: unknown): void;
  badFrame?(session: ObservedSession, frame: BadFrame): void;
  /** An inbound CALL was rejected before reaching the backend (unknown action, schema, boot state). */
  callRejected?(session: ObservedSession, action: string, code: RpcErrorCode, reason: 'unknownAction' | 'notSupported' | 'validation' | 'security'): void;
  /** The backend's reply did not validate against the response schema. */
  invalidReply?(session: ObservedSession, action: string, issues: ValidationIssue[]): void;
  /** An inbound CALL was answered; handlingMs from receipt to reply sent (performance.now() clock). */
  callHandled?(session: ObservedSession, action: string, ok: boolean, handlingMs: number): void;
  /** A CALL this station answered (CALLRESULT) — BootNotification, StatusNotification etc. */
  stationCallCompleted?(session: ObservedSession, action: string, request: Payload, reply: BackendReply): void;
  /** Outbound call outcomes (`id`: the CALL's message id). */
  outboundDone?(session: ObservedSession, action: string, outcome: 'result' | 'error' | 'timeout' | 'invalid' | 'aborted', roundTripMs: number, id: string): void;
  /** A station's WebSocket connection opened (its session is the newest of the identity on this shard). */
  opened?(session: ObservedSession, remoteAddress: string): void;
  /** A station's WebSocket connection closed. */
  closed?(session: ObservedSession, code: number, reason: string): void;
  /** A CALLRESULT/CALLERROR with an id we are not waiting for: late (after timeout) or unknown. */
  strayResult?(session: ObservedSession, kind: 'late' | 'unknown'): void;
  closedForPolicy?(session: ObservedSession, reason: PolicyCloseReason): void;
  /** A frame over the station's message rate limit: answered with a CALLERROR (a CALL) or dropped (any other). */
  rateLimited?(session: ObservedSession, answered: boolean): void;
}

/** Why a session closed its station with 1008 (docs/limits.md, docs/errors.md). */
export type PolicyCloseReason = 'badMessages' | 'inboundQueueFull' | 'rateLimited' | 'bootTimeout';

export interface SessionOptions {
  /** Deepest nesting of a payload in either direction (json-depth.ts); deeper frames are a FormatViolation. */
  maxPayloadDepth: number;
  inboundQueueMax: number;
  outboundQueueMax: number;
  callTimeoutMs: number;
  maxBadMessagesInRow: number;
  rejectCallsBeforeAccepted: boolean;
  /** The per-station message rate limit (`limits`, rate-limit.ts); absent or null: off. */
  rateLimit?: RateLimitOptions | null;
}

/**
 * Keeps what a CALLRESULT acknowledges before it is sent (the store). `null`: nothing to keep, send now; a
 * promise: send when it resolves `true`; `false` (or a rejection): the station gets InternalError instead.
 */
export interface CallKeeper {
  keep(session: ObservedSession, uniqueId: string, action: string, request: Payload, reply: Payload): Promise<boolean> | null;
}

/** Everything sessions of one shard share; one object per shard keeps each session small. */
export interface SessionContext {
  options: SessionOptions;
  backend: Backend;
  lookup(version: StationVersion, action: string): ActionValidators | undefined;
  hooks: SessionHooks;
  /** Keeps what is acknowledged before the acknowledgement goes out; absent: nothing is kept. */
  keeper?: CallKeeper | null;
  /** Unique message ids for outgoing CALLs (unique beyond one WebSocket: 2.1 Part 4 §4.1.4). */
  nextMessageId(): string;
}

