/**
 * The station's own CALLs and what comes back. One CALL in flight, the others waiting in order (OCPP-J 1.6
 * §4.1.1, 2.0.1 Part 4 §4.1.1; OCPP 1.5/1.6 §4.1: a charge point SHOULD NOT send a request before the previous
 * one is answered), kept by the shared OutboundQueue (../../protocol/outbound-queue.ts) with external timers:
 * the fleet's TimerWheel runs `expireCalls`, the queue holds no timer of its own. Transaction messages survive
 * a lost link and are replayed in order, one per `replayIntervalMs`, once the boot is accepted; a transaction
 * message without an answer is sent again (three attempts). Before the boot is accepted only the
 * BootNotification goes out.
 *
 * Memory: the queue exists while something is in flight or waiting; an idle station holds none.
 *
 * Incoming (OCPP-J): CALLRESULT / CALLERROR settle the call in flight; a CALL of the central system goes to
 * `handleCommand` (the station class) and its answer is written here. OCPP-S answers come from the SoapHub
 * (`soapResult`, `soapFault`, `soapFailed`).
 */
import { parseFrame, isBadFrame, serializeCall, serializeCallResult, serializeCallError, type Payload } from '../../protocol/ocpp-j/frames.js';
import { MessageType } from '../../protocol/versions.js';
import { OutboundQueue, type OutboundCall, type OutboundHost } from '../../protocol/outbound-queue.js';
import type { CommandResult } from '../commands/types.js';
import type { Session } from './connector.js';
import { StationLink } from './link.js';

export interface OutCall extends OutboundCall {
  action: string;
  payload: Payload;
  /** Transaction message: kept while offline, replayed in order. */
  tx: boolean;
  /** Queued while offline (replayed, throttled). */
  offline: boolean;
  session?: Session;
  attempts: number;
  then?: (payload: Payload) => void;
  fail?: () => void;
}

export interface CallOptions {
  then?: (payload: Payload) => void;
  fail?: () => void;
  /** The session of a transaction message (1.6: its transactionId is filled in when it goes out). */
  session?: Session;
}

const TX_ACTIONS = new Set(['StartTransaction', 'StopTransaction', 'MeterValues', 'TransactionEvent']);
/** Attempts of a transaction message that gets no answer (the first one included). */
const TX_ATTEMPTS = 3;
/** The wheel checks timeouts (`expireCalls`); one shared options object, no closure per queue. */
const QUEUE_OPTIONS = { timers: 'external', now: Date.now } as const;

export abstract class StationRpc extends StationLink implements OutboundHost<OutCall> {
  #calls: OutboundQueue<OutCall> | null = null;
  #seq = 0;
  #replayAt = 0;

  /**
   * A command of the central system (OCPP-J CALL or OCPP-S request): the answer to write, then `after` to run.
   * The station class (./index.ts) implements it with the handlers of ../commands/.
   */
  abstract handleCommand(action: string, payload: Payload): CommandResult;
  /** A CALL went out (any message resets the heartbeat clock). */
  protected abstract messageSent(): void;

  /** Transaction messages waiting (offline or queued). */
  get queuedTransactionMessages(): number {
    const q = this.#calls;
    if (q === null) return 0;
    let n = q.inFlight?.tx === true ? 1 : 0;
    for (const c of q.waiting) if (c.tx) n++;
    return n;
  }

  /** Queues a CALL; transaction messages survive disconnects. */
  send(action: string, payload: Payload, options?: CallOptions): void {
    const tx = TX_ACTIONS.has(action);
    if (!tx && this.state !== 'accepted' && this.state !== 'resetting') {
      this.ctx.stats.droppedOffline++;
      options?.fail?.();
      return;
    }
    const call = this.#call(action, payload, tx, !this.online || this.state !== 'accepted');
    if (options !== undefined) {
      if (options.then !== undefined) call.then = options.then;
      if (options.fail !== undefined) call.fail = options.fail;
      if (options.session !== undefined) call.session = options.session;
    }
    this.#queue().submit(call);
  }

  /** The BootNotification: ahead of whatever waits, the only CALL that goes before the boot is accepted. */
  protected sendBoot(payload: Payload, then: (payload: Payload) => void, fail: () => void): void {
    const call = this.#call('BootNotification', payload, false, false);
    call.then = then;
    call.fail = fail;
    this.#queue().submit(call, true);
  }

  #call(action: string, payload: Payload, tx: boolean, offline: boolean): OutCall {
    return { id: '', timeoutMs: this.ctx.timings.callTimeoutMs, sentAt: 0, action, payload, tx, offline, attempts: 0 };
  }

  #queue(): OutboundQueue<OutCall> {
    return (this.#calls ??= new OutboundQueue<OutCall>(this, QUEUE_OPTIONS));
  }

  /** Sends the next call if it may go; an empty queue is let go. */
  protected pumpCalls(): void {
    const q = this.#calls;
    if (q === null) return;
    q.pump();
    if (q.pending === 0 && this.#calls === q) this.#calls = null;
  }

  /** Nothing in flight, nothing waiting. */
  protected get callsIdle(): boolean {
    const q = this.#calls;
    return q === null || q.pending === 0;
  }

  /** A CALL is in flight. */
  protected get calling(): boolean {
    const q = this.#calls;
    return q !== null && q.inFlight !== null;
  }

  /** The boot is accepted: the messages kept offline go first, throttled from now on. */
  protected startReplay(now: number): void {
    this.#replayAt = now;
  }

  /** When the call in flight times out, or the next throttled replay may go (Infinity: neither). */
  protected get callsDue(): number {
    const q = this.#calls;
    if (q === null) return Infinity;
    if (q.inFlight !== null) return q.deadline;
    if (q.queued > 0 && this.online && (this.state === 'accepted' || this.state === 'resetting')) return this.#replayAt;
    return Infinity;
  }

  /** The call in flight without an answer at `now`: a transaction message is tried again, any other fails. */
  protected expireCalls(now: number): void {
    const q = this.#calls;
    const call = q === null ? null : q.expire(now);
    if (call === null) return;
    this.ctx.stats.callTimeouts++;
    const retry = call.tx && ++call.attempts < TX_ATTEMPTS;
    if (!retry) call.fail?.();
    // OCPP-S: no answer in time means the central system is unreachable (as a refused or reset POST).
    if (this.soapAlive) this.soapUnreachable();
    if (retry) {
      if (!this.online) call.offline = true;
      this.#queue().submit(call, true);
    }
  }

  // --- OutboundHost (the queue's questions) ---

  /** @internal No bound: transaction messages pile up while offline (the sessions run on). */
  maxQueued(): number {
    return Infinity;
  }

  /** @internal */
  nextId(): string {
    return String(++this.#seq);
  }

  /** @internal Online; before the boot is accepted only the BootNotification; offline messages throttled. */
  ready(next: OutCall): boolean {
    if (!this.online) return false;
    if (this.state !== 'accepted' && this.state !== 'resetting') return next.action === 'BootNotification';
    if (next.offline && Date.now() < this.#replayAt) {
      this.reschedule();
      return false;
    }
    return true;
  }

  /** @internal `call` is in flight: on the wire, or settled at once (dropped, refused). */
  transmit(call: OutCall): void {
    if (call.offline) this.#replayAt = Date.now() + this.ctx.timings.replayIntervalMs;
    // 1.6: a transaction message written before StartTransaction.conf gets the id now.
    if (this.v16 && call.session !== undefined && call.action !== 'StartTransaction') {
      if (call.session.id === undefined) {
        this.ctx.stats.droppedOffline++;
        this.#calls?.abandon();
        this.pumpCalls();
        return;
      }
      call.payload.transactionId = call.session.id;
    }
    if (call.offline) this.ctx.stats.replayed++;
    if (this.soapLink) this.#transmitSoap(call);
    else this.#transmitJson(call);
  }

  #transmitJson(call: OutCall): void {
    if (!this.jsonOpen) {
      this.#calls?.abandon();
      call.fail?.();
      return;
    }
    if (this.ctx.validate) {
      const r = this.validators(call.action)?.request(call.payload);
      if (r === undefined || !r.ok) {
        this.#refuse(call, `invalid ${call.action}: ${r === undefined ? 'unknown action' : r.issues[0]?.message}`);
        return;
      }
    }
    this.writeText(serializeCall(call.id, call.action, call.payload));
    this.#sent(call, call.payload);
  }

  /** OCPP-S: the CALL as an HTTP POST through the thread's SoapHub (1.5: the 1.5 payload, validated as such). */
  #transmitSoap(call: OutCall): void {
    const hub = this.ctx.soap;
    if (hub === null || !this.soapAlive) {
      this.#calls?.abandon();
      call.fail?.();
      return;
    }
    const version = this.soapVersion();
    const wire = hub.wirePayload(version, call.action, call.payload);
    let problem: string | null = wire === null ? `${call.action} is not a CentralSystemService operation of OCPP-S ${version.slice(4)}` : null;
    if (wire !== null && this.ctx.validate) {
      const r = this.validators(call.action)?.request(wire);
      if (r === undefined || !r.ok) problem = `invalid ${call.action}: ${r === undefined ? 'unknown action' : r.issues[0]?.message}`;
    }
    if (wire === null || problem !== null) {
      this.#refuse(call, problem!);
      return;
    }
    hub.post(this, call.id, version, call.action, wire);
    this.#sent(call, wire);
  }

  /** A CALL that cannot go out as built: counted, said, failed; the queue moves on. */
  #refuse(call: OutCall, problem: string): void {
    this.ctx.stats.invalidOutgoing++;
    this.ctx.warn(`${this.identity}: not sending ${problem}`);
    this.#calls?.abandon();
    call.fail?.();
    queueMicrotask(() => this.pumpCalls());
  }

  /** After a CALL went out: the counters, the event, the heartbeat clock, the wheel. */
  #sent(call: OutCall, wire: Payload): void {
    const stats = this.ctx.stats;
    stats.callsSent++;
    stats.framesOut++;
    if (this.ctx.onEvent !== null) this.ctx.onEvent({ type: 'sent', identity: this.identity, id: call.id, action: call.action, payload: wire, replay: call.offline });
    this.messageSent();
    this.reschedule();
  }

  /**
   * The link is gone: transaction messages stay (the one in flight back at the front), the others are dropped
   * and failed. The call in flight that is not a transaction message is forgotten: its answer cannot come any
   * more, and a BootNotification is sent again on reconnect. Calls queued by the fail callbacks are sorted the
   * same way.
   */
  protected linkLost(): void {
    const q = this.#calls;
    if (q === null) return;
    const flying = q.inFlight;
    const kept: OutCall[] = [];
    for (let batch = q.drain(); batch.length > 0; batch = q.drain()) {
      for (const c of batch) {
        if (c.tx) kept.push(c);
        else if (c !== flying) {
          this.ctx.stats.droppedOffline++;
          c.fail?.();
        }
      }
    }
    // Offline now: they wait for the next accepted boot.
    for (const c of kept) {
      c.offline = true;
      q.submit(c);
    }
    if (q.pending === 0 && this.#calls === q) this.#calls = null;
  }

  // --- receiving (OCPP-J) ---

  protected received(text: string): void {
    const version = this.jsonVersion();
    const frame = parseFrame(text, version);
    if (isBadFrame(frame)) {
      this.ctx.stats.commandErrors++;
      if (frame.code !== null && frame.messageType === MessageType.CALL) this.#reply(serializeCallError(version, frame.id, frame.code, frame.message));
      return;
    }
    switch (frame.type) {
      case MessageType.CALL:
        this.#onCall(frame.id, frame.action, frame.payload);
        return;
      case MessageType.SEND:
        return;
      case MessageType.CALLRESULT:
        this.#onResult(frame.id, frame.payload, frame.payload);
        return;
      default:
        this.#onCallError(frame.id, frame.code, frame.description);
    }
  }

  /** The answer to the CALL in flight (`payload` for the station logic; `wire` as received, for the event). */
  #onResult(id: string, payload: Payload, wire: Payload): void {
    const call = this.#calls?.answer(id);
    if (call === undefined || typeof call === 'string') return; // late or unknown: ignored
    this.ctx.stats.resultsReceived++;
    if (this.ctx.onEvent !== null) this.ctx.onEvent({ type: 'result', identity: this.identity, id, action: call.action, payload: wire });
    call.then?.(payload);
    this.pumpCalls();
    this.reschedule();
  }

  #onCallError(id: string, code: string, description: string): void {
    const call = this.#calls?.answer(id);
    if (call === undefined || typeof call === 'string') return;
    this.ctx.stats.callErrorsReceived++;
    if (this.ctx.onEvent !== null) this.ctx.onEvent({ type: 'callError', identity: this.identity, id, action: call.action, code, description });
    call.fail?.();
    this.pumpCalls();
    this.reschedule();
  }

  #onCall(id: string, action: string, payload: Payload): void {
    const result = this.handleCommand(action, payload);
    if ('error' in result) {
      this.#reply(serializeCallError(this.jsonVersion(), id, result.error, result.description));
      return;
    }
    this.#reply(serializeCallResult(id, result.reply));
    result.after?.();
  }

  #reply(text: string): void {
    if (this.writeText(text)) this.ctx.stats.framesOut++;
  }

  // --- OCPP-S answers (called by the SoapHub) ---

  /** @internal The central system answered CALL `id`: `payload` in the 1.6 shape, `wire` as received (1.5 differs). */
  soapResult(id: string, payload: Payload, wire: Payload): void {
    if (this.#answered(id)) this.#onResult(id, payload, wire);
  }

  /** @internal The central system answered CALL `id` with a SOAP Fault (`code`: the OCPP subcode, else the SOAP code). */
  soapFault(id: string, code: string, description: string): void {
    if (this.#answered(id)) this.#onCallError(id, code, description);
  }

  /** @internal The POST of CALL `id` failed (refused, reset, timeout): the central system is unreachable. */
  soapFailed(id: string): void {
    if (this.state === 'stopped' || !this.soapAlive) return;
    if (this.#calls?.inFlight?.id !== id) return;
    this.soapUnreachable();
  }

  /** An HTTP answer arrived: counts it, brings a connecting link up; true when it answers the CALL in flight. */
  #answered(id: string): boolean {
    if (this.state === 'stopped' || !this.soapAlive) return false;
    this.ctx.stats.framesIn++;
    if (this.#calls?.inFlight?.id !== id) return false;
    this.soapAnswered();
    return true;
  }
}
