import { MessageType, MESSAGE_TYPE_NAMES, isV2, type StationVersion } from '../versions.js';
import { RpcErrorCode, canonicalErrorCode, wireErrorCode } from '../rpc-error-codes.js';
import type { ActionValidators, ValidationIssue } from '../validation/types.js';
import { backendFailure, type Backend, type BackendReply, type StationContext } from '../backend.js';
import { RouterError, ErrorCode } from '../errors.js';
import { valueExceedsDepth } from '../json-depth.js';
import { OutboundQueue, type OutboundCall as QueuedCall, type OutboundHost } from '../outbound-queue.js';
import { parseFrame, isBadFrame, BadFrameKind, serializeCall, serializeCallResult, serializeCallError, type BadFrame, type CallFrame, type Payload } from './frames.js';
import { CloseCode } from './close-codes.js';
import { MessageBucket, peekCallId, rateLimitedCloseReason, rateLimitedCode, rateLimitedDescription } from './rate-limit.js';
import type { ObservedSession, SessionContext, SessionTransport } from './session-context.js';

export type { Direction, ObservedSession, PolicyCloseReason, SessionContext, SessionHooks, SessionOptions, SessionTransport } from './session-context.js';

interface OutboundCall extends QueuedCall {
  action: string;
  payload: Payload;
  resolve(payload: Payload): void;
  reject(error: RouterError): void;
}

export type BootState = 'unknown' | 'Accepted' | 'Pending' | 'Rejected';

/**
 * One station's OCPP-J RPC state: incoming CALLs one at a time in arrival order (queued, bounded),
 * outgoing CALLs one in flight with a bounded queue and a timeout (OCPP-J 1.6 §4.1.1 and errata §3.5;
 * 2.0.1 Part 4 §4.1.1).
 */
export class RpcSession implements StationContext, ObservedSession {
  readonly identity: string;
  readonly account: string | null;
  readonly version: StationVersion;
  readonly connId: number;
  readonly connectedAt: number;
  lastSeenAt: number;
  bootState: BootState = 'unknown';
  /** Opaque slot for the shard (e.g. remote address); not used by the session. */
  remoteAddress: string;
  /** The shard's mark: this session is in its list of stations heard since the last last-seen flush. */
  seenQueued = false;

  #ctx: SessionContext;
  #transport: SessionTransport;
  #closed = false;
  #badInRow = 0;
  #busy = false;
  #inQueue: CallFrame[] | null = null;
  /** Commands to the station: created by the first one (most stations never get any). */
  #outbound: OutboundQueue<OutboundCall> | null = null;
  #callReceivedAt = 0;
  readonly #bucket = new MessageBucket(Date.now()); // the message rate limit of this connection (docs/limits.md)

  constructor(
    ctx: SessionContext,
    transport: SessionTransport,
    station: { identity: string; account: string | null; version: StationVersion; connId: number; remoteAddress: string },
  ) {
    this.#ctx = ctx;
    this.#transport = transport;
    this.identity = station.identity;
    this.account = station.account;
    this.version = station.version;
    this.connId = station.connId;
    this.remoteAddress = station.remoteAddress;
    this.connectedAt = this.lastSeenAt = Date.now();
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** A getter, not a field: no per-session memory; the SOAP session overrides it. */
  get transport(): 'ws' | 'soap' {
    return 'ws';
  }

  /** True while an inbound CALL is being handled or queued, or an outbound CALL is in flight. */
  get busy(): boolean {
    return this.#busy || (this.#outbound?.pending ?? 0) > 0;
  }

  get outboundInFlight(): boolean {
    return (this.#outbound?.inFlight ?? null) !== null;
  }

  get pendingOutbound(): number {
    return this.#outbound?.pending ?? 0;
  }

  /** Handles one text frame from the station. */
  receive(text: string): void {
    if (this.#closed) return;
    const now = (this.lastSeenAt = Date.now());
    const limit = this.#ctx.options.rateLimit;
    if (limit != null && !this.#bucket.take(now, limit)) {
      // Over the limit (docs/limits.md), not parsed: a CALL gets a CALLERROR, anything else is dropped; 1008 if it persists.
      const id = peekCallId(text);
      this.#ctx.hooks.rateLimited?.(this, id !== null);
      if (id !== null) this.#sendError(id, rateLimitedCode(isV2(this.version)), rateLimitedDescription(limit), {}, null);
      if (!this.#bucket.persists(now, limit)) return;
      this.#ctx.hooks.closedForPolicy?.(this, 'rateLimited');
      this.close(CloseCode.POLICY_VIOLATION, rateLimitedCloseReason(limit));
      return;
    }
    const frame = parseFrame(text, this.version, this.#ctx.options.maxPayloadDepth);
    if (isBadFrame(frame)) {
      this.#onBadFrame(frame);
      return;
    }
    this.#badInRow = 0;
    const hooks = this.#ctx.hooks;
    switch (frame.type) {
      case MessageType.CALL:
      case MessageType.SEND:
        hooks.frame?.(this, 'in', frame.type, frame.id, frame.action, frame.payload);
        if (this.#busy) this.#enqueue(frame);
        else this.#handleCall(frame);
        return;
      case MessageType.CALLRESULT:
        hooks.frame?.(this, 'in', frame.type, frame.id, this.#actionInFlight(frame.id), frame.payload);
        this.#onResult(frame.id, frame.payload);
        return;
      case MessageType.CALLERROR:
        hooks.frame?.(this, 'in', frame.type, frame.id, this.#actionInFlight(frame.id), frame);
        this.#onError(frame.id, frame.code, frame.description, frame.details);
        return;
      case MessageType.CALLRESULTERROR:
        // 2.1 Part 4 §4.2.4: the station says our CALLRESULT was bad. Nothing to retry; it is observed.
        hooks.frame?.(this, 'in', frame.type, frame.id, null, frame);
        return;
    }
  }

  /** Counts a frame the transport rejected before parsing (binary, oversized) toward the bad-in-a-row limit. */
  noteTransportViolation(): boolean {
    return ++this.#badInRow >= this.#ctx.options.maxBadMessagesInRow;
  }

  #onBadFrame(frame: BadFrame): void {
    this.#ctx.hooks.badFrame?.(this, frame);
    if (frame.code !== null) {
      const type = frame.messageType;
      // A type this version does not define (5 in 2.0.1) is not an answer: it gets MessageTypeNotSupported below.
      const isAnswer = frame.kind !== BadFrameKind.unsupportedMessageType &&
        (type === MessageType.CALLRESULT || type === MessageType.CALLERROR || type === MessageType.CALLRESULTERROR);
      if (isAnswer) {
        // An answer to an answer is not allowed, except that 2.1 answers a broken CALLRESULT with
        // CALLRESULTERROR (2.1 Part 4 §4.2.4).
        if (type === MessageType.CALLRESULT && this.version === 'ocpp2.1') {
          this.#send(serializeCallError(this.version, frame.id, frame.code, frame.message, {}, MessageType.CALLRESULTERROR), MessageType.CALLRESULTERROR, frame.id, null, null);
        }
        // A broken answer to the call in flight settles it now (the caller learns why) instead of at its timeout.
        if (type !== MessageType.CALLRESULTERROR && this.#actionInFlight(frame.id) !== null) {
          const call = this.#outbound!.answer(frame.id) as OutboundCall;
          this.#settle(call, 'invalid', new RouterError(ErrorCode.PAYLOAD_INVALID, `${this.identity} answered ${call.action} with a broken frame: ${frame.message}`, { details: { kind: frame.kind } }));
        }
      } else if (type !== MessageType.SEND || frame.kind === BadFrameKind.unsupportedMessageType) {
        this.#sendError(frame.id, frame.code, frame.message, {}, null);
      }
    }
    if (++this.#badInRow >= this.#ctx.options.maxBadMessagesInRow) {
      this.#ctx.hooks.closedForPolicy?.(this, 'badMessages');
      this.close(CloseCode.POLICY_VIOLATION, `${this.#badInRow} bad messages in a row`);
    }
  }

  #enqueue(frame: CallFrame): void {
    const queue = (this.#inQueue ??= []);
    if (queue.length >= this.#ctx.options.inboundQueueMax) {
      // The station broke the one-CALL-at-a-time rule far beyond reason. Closing loses nothing: every
      // queued CALL is unanswered, so the station sends it again after reconnecting.
      this.#ctx.hooks.closedForPolicy?.(this, 'inboundQueueFull');
      this.close(CloseCode.POLICY_VIOLATION, 'too many CALLs waiting for an answer');
      return;
    }
    queue.push(frame);
  }

  #handleCall(frame: CallFrame): void {
    this.#busy = true;
    this.#callReceivedAt = performance.now();
    const validators = this.#ctx.lookup(this.version, frame.action);
    const isSend = frame.type === MessageType.SEND;
    if (validators === undefined) {
      this.#reject(frame, RpcErrorCode.NotImplemented, `action ${frame.action} is not known in ${this.version}`, 'unknownAction');
      return;
    }
    if (validators.initiator === 'central' || (isSend !== (validators.response === undefined))) {
      this.#reject(frame, RpcErrorCode.NotSupported, `${frame.action} is not sent by a charging station as ${isSend ? 'SEND' : 'CALL'}`, 'notSupported');
      return;
    }
    if (this.bootState === 'Rejected' && this.#ctx.options.rejectCallsBeforeAccepted && frame.action !== 'BootNotification') {
      // OCPP-J 1.6 errata §3.10; 2.0.1 B03.FR.xx: only BootNotification until accepted.
      this.#reject(frame, RpcErrorCode.SecurityError, 'BootNotification was not accepted', 'security');
      return;
    }
    const check = validators.request(frame.payload);
    if (!check.ok) {
      const first = check.issues[0]!;
      this.#reject(frame, first.code, first.message, 'validation', { issues: check.issues.slice(0, 8).map((i) => ({ path: i.path, keyword: i.keyword })) });
      return;
    }
    let reply: BackendReply | Promise<BackendReply>;
    try {
      reply = this.#ctx.backend.handleCall({ station: this, uniqueId: frame.id, action: frame.action, payload: frame.payload });
    } catch (error) {
      reply = backendFailure(error);
    }
    if (reply instanceof Promise) {
      reply.then(
        (r) => this.#complete(frame, validators, r),
        (error) => this.#complete(frame, validators, backendFailure(error)),
      );
    } else {
      this.#complete(frame, validators, reply);
    }
  }

  #reject(frame: CallFrame, code: RpcErrorCode, description: string, reason: 'unknownAction' | 'notSupported' | 'validation' | 'security', details: Payload = {}): void {
    this.#ctx.hooks.callRejected?.(this, frame.action, code, reason);
    if (frame.type === MessageType.CALL) this.#sendError(frame.id, code, description, details, frame.action);
    this.#finishCall(frame.action, false);
  }

  #complete(frame: CallFrame, validators: ActionValidators, reply: BackendReply): void {
    if (this.#closed) return;
    if (frame.type === MessageType.SEND) {
      // 2.1 SEND gets no answer whatever the backend says.
      this.#finishCall(frame.action, reply.kind === 'result');
      return;
    }
    if (reply.kind === 'result') {
      const check = validators.response!(reply.payload);
      if (!check.ok) {
        // Never put an invalid frame on the wire: the station gets InternalError, the operator a hook.
        this.#ctx.hooks.invalidReply?.(this, frame.action, check.issues);
        this.#sendError(frame.id, RpcErrorCode.InternalError, 'the central system produced an invalid response', {}, frame.action);
        this.#finishCall(frame.action, false);
        return;
      }
      let text: string;
      try {
        text = serializeCallResult(frame.id, reply.payload);
      } catch (error) {
        // A reply that cannot be serialized (a backend bug) never takes the thread down: the station gets InternalError.
        this.#ctx.hooks.invalidReply?.(this, frame.action, [{ code: RpcErrorCode.InternalError, path: '', keyword: 'serialize', message: String(error) }]);
        this.#sendError(frame.id, RpcErrorCode.InternalError, 'the central system produced a response it cannot serialize', {}, frame.action);
        this.#finishCall(frame.action, false);
        return;
      }
      // What the answer acknowledges is kept first (the store): the CALLRESULT goes out only once it is.
      const keeping = this.#ctx.keeper?.keep(this, frame.id, frame.action, frame.payload, reply.payload) ?? null;
      if (keeping === null) this.#acknowledge(frame, reply, text, true);
      else keeping.then((kept) => this.#acknowledge(frame, reply, text, kept), () => this.#acknowledge(frame, reply, text, false));
    } else {
      this.#sendError(frame.id, reply.code, reply.description, reply.details ?? {}, frame.action);
      this.#finishCall(frame.action, false);
    }
  }

  /** Sends the CALLRESULT (or, when what it acknowledges could not be kept, InternalError: the station sends again). */
  #acknowledge(frame: CallFrame, reply: BackendReply & { kind: 'result' }, text: string, kept: boolean): void {
    if (!kept) {
      this.#sendError(frame.id, RpcErrorCode.InternalError, 'the central system could not keep this message; send it again later', {}, frame.action);
      this.#finishCall(frame.action, false);
      return;
    }
    if (frame.action === 'BootNotification') this.bootState = (reply.payload.status as BootState) ?? 'unknown';
    this.#ctx.hooks.stationCallCompleted?.(this, frame.action, frame.payload, reply);
    this.#send(text, MessageType.CALLRESULT, frame.id, frame.action, reply.payload);
    this.#finishCall(frame.action, true);
  }

  #finishCall(action: string, ok: boolean): void {
    this.#ctx.hooks.callHandled?.(this, action, ok, performance.now() - this.#callReceivedAt);
    if (this.#closed || this.#inQueue === null || this.#inQueue.length === 0) {
      this.#busy = false;
      return;
    }
    // Stay busy so a frame arriving meanwhile queues behind; run the next CALL once this stack unwinds
    // (arrival order, no recursion however long the queue).
    queueMicrotask(() => this.#runNext());
  }

  #runNext(): void {
    const next = this.#inQueue?.shift();
    if (next === undefined || this.#closed) {
      this.#busy = false;
      return;
    }
    this.#handleCall(next);
  }

  #sendError(id: string, code: RpcErrorCode, description: string, details: Payload, action: string | null): void {
    // Observers see the frame as it goes on the wire: the version's spelling of the code.
    this.#send(serializeCallError(this.version, id, code, description, details), MessageType.CALLERROR, id, action, { code: wireErrorCode(this.version, code), description, details });
  }

  #send(text: string, type: number, id: string, action: string | null, payload: unknown): boolean {
    if (this.#closed) return false;
    this.#ctx.hooks.frame?.(this, 'out', type, id, action, payload);
    return this.#transport.send(text);
  }

  // --- outgoing CALLs (central system → station) ---

  /**
   * Sends a CALL to the station and resolves with its CALLRESULT payload. The request payload is validated
   * against the version's request schema first (unless `validated`); the answer against the response schema.
   */
  call(action: string, payload: Payload, timeoutMs = this.#ctx.options.callTimeoutMs, validated = false): Promise<Payload> {
    if (this.#closed) return Promise.reject(new RouterError(ErrorCode.STATION_NOT_CONNECTED, `${this.identity} is not connected`));
    const validators = this.#ctx.lookup(this.version, action);
    if (validators === undefined) {
      return Promise.reject(new RouterError(ErrorCode.UNKNOWN_ACTION, `action ${action} is not known in ${this.version}`));
    }
    if (validators.initiator === 'station' || validators.response === undefined) {
      return Promise.reject(new RouterError(ErrorCode.UNKNOWN_ACTION, `${action} is not sent by a central system in ${this.version}`));
    }
    // `validated`: the sender prepared the payload against this version's schema already (the API does, once).
    if (!validated) {
      const maxDepth = this.#ctx.options.maxPayloadDepth;
      if (valueExceedsDepth(payload, maxDepth)) {
        return Promise.reject(new RouterError(ErrorCode.PAYLOAD_INVALID, `${action} payload is nested deeper than ${maxDepth} levels`));
      }
      const check = validators.request(payload);
      if (!check.ok) {
        return Promise.reject(new RouterError(ErrorCode.PAYLOAD_INVALID, `${action} payload is invalid: ${check.issues[0]!.message}`, { details: { issues: check.issues } }));
      }
    }
    const outbound = (this.#outbound ??= new OutboundQueue<OutboundCall>(this.#outboundHost()));
    return new Promise<Payload>((resolve, reject) => {
      const call: OutboundCall = { id: '', action, payload, timeoutMs, resolve, reject, sentAt: 0 };
      if (!outbound.submit(call)) reject(new RouterError(ErrorCode.CALL_QUEUE_FULL, `${this.identity} has ${this.#ctx.options.outboundQueueMax} calls queued`));
    });
  }

  /** The action of the call in flight when `id` is its id, else null. */
  #actionInFlight(id: string): string | null {
    const call = this.#outbound?.inFlight ?? null;
    return call !== null && call.id === id ? call.action : null;
  }

  #outboundHost(): OutboundHost<OutboundCall> {
    return {
      maxQueued: () => this.#ctx.options.outboundQueueMax,
      nextId: () => this.#ctx.nextMessageId(),
      transmit: (call) => {
        if (!this.#send(serializeCall(call.id, call.action, call.payload), MessageType.CALL, call.id, call.action, call.payload)) {
          this.#outbound!.abandon();
          this.#settle(call, 'aborted', new RouterError(ErrorCode.STATION_NOT_CONNECTED, `${this.identity} is not connected`));
        }
      },
      timedOut: (call) => this.#settle(call, 'timeout', new RouterError(ErrorCode.CALL_TIMEOUT, `${this.identity} did not answer ${call.action} within ${call.timeoutMs} ms`)),
    };
  }

  #onResult(id: string, payload: Payload): void {
    const call = this.#outbound?.answer(id) ?? 'unknown';
    if (typeof call === 'string') {
      this.#ctx.hooks.strayResult?.(this, call);
      return;
    }
    const check = this.#ctx.lookup(this.version, call.action)!.response!(payload);
    if (!check.ok) {
      if (this.version === 'ocpp2.1') {
        const first = check.issues[0]!;
        this.#send(serializeCallError(this.version, id, first.code, first.message, {}, MessageType.CALLRESULTERROR), MessageType.CALLRESULTERROR, id, call.action, null);
      }
      this.#settle(call, 'invalid', new RouterError(ErrorCode.PAYLOAD_INVALID, `${this.identity} answered ${call.action} with an invalid payload: ${check.issues[0]!.message}`, { details: { issues: check.issues, payload } }));
      return;
    }
    this.#settle(call, 'result', payload);
  }

  #onError(id: string, code: string, description: string, details: Payload): void {
    const call = this.#outbound?.answer(id) ?? 'unknown';
    if (typeof call === 'string') {
      this.#ctx.hooks.strayResult?.(this, call);
      return;
    }
    const canonical = canonicalErrorCode(this.version, code);
    this.#settle(call, 'error', new RouterError(ErrorCode.CALL_ERROR, `${this.identity} answered ${call.action} with ${code}: ${description}`, {
      details: { errorCode: code, canonicalCode: canonical ?? null, errorDescription: description, errorDetails: details },
    }));
  }

  /** The call is no longer in flight: observers, the caller, then the next call. */
  #settle(call: OutboundCall, outcome: 'result' | 'error' | 'timeout' | 'invalid' | 'aborted', value: Payload | RouterError): void {
    this.#ctx.hooks.outboundDone?.(this, call.action, outcome, call.sentAt === 0 ? 0 : performance.now() - call.sentAt, call.id);
    if (value instanceof RouterError) call.reject(value);
    else call.resolve(value);
    if (!this.#closed) this.#outbound?.pump();
  }

  /** Closes the socket (the transport reports back through `onClosed`). */
  close(code: number, reason: string): void {
    if (this.#closed) return;
    this.#transport.close(code, reason);
    this.onClosed();
  }

  /** The socket is gone: fail pending outbound calls; drop queued inbound ones (unanswered, so the station resends). */
  onClosed(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#inQueue = null;
    const outbound = this.#outbound;
    if (outbound === null) return;
    const error = new RouterError(ErrorCode.STATION_NOT_CONNECTED, `${this.identity} disconnected`);
    const inFlight = outbound.inFlight;
    for (const call of outbound.drain()) {
      if (call === inFlight) this.#ctx.hooks.outboundDone?.(this, call.action, 'aborted', performance.now() - call.sentAt, call.id);
      call.reject(error);
    }
  }
}

export { MESSAGE_TYPE_NAMES };
