/**
 * One outbound request in flight per peer, the others waiting in a bounded FIFO, each with a timeout; the ids
 * of calls that timed out are remembered for a while, so a late answer is told apart from an unknown one.
 *
 * OCPP-J 1.6 §4.1.1 and errata §3.5, 2.0.1 Part 4 §4.1.1: a sender has at most one CALL outstanding per
 * connection. OCPP 1.5/1.6 SOAP §4.1: a party SHOULD NOT send a request before the previous one is answered.
 *
 * Used by the OCPP-J session (commands to a station), the OCPP-S station channel (commands to a SOAP station)
 * and the emulator (a station's own CALLs). The owner decides what "send" and "answer" mean; the queue keeps the
 * discipline. Timeouts either run on a timer per call in flight (`timers: 'own'`) or are checked by the owner
 * (`expire(now)`, for an emulator that has one timer wheel for thousands of stations instead of a timer each).
 */

/** What the queue needs of a call; owners extend it with their own fields. */
export interface OutboundCall {
  /** Assigned when the call is dispatched. */
  id: string;
  timeoutMs: number;
  /** performance.now() (or the owner's clock) when dispatched; 0 while waiting. */
  sentAt: number;
}

export interface OutboundHost<C extends OutboundCall> {
  /** Most calls waiting behind the one in flight (read on each submit: follows configuration reloads). */
  maxQueued(): number;
  /** The id of a call about to go out. */
  nextId(call: C): string;
  /** Puts the call on the wire. It is in flight already; a failure is the owner's to settle (`answer`). */
  transmit(call: C): void;
  /** The call in flight timed out (own timers only); it is no longer in flight and its id is remembered as late. */
  timedOut?(call: C): void;
  /** Whether `next` may go out now (default: always). The owner calls `pump()` when that changes. */
  ready?(next: C): boolean;
}

/** Ids of calls that timed out recently, to tell a late answer from an unknown one. */
const LATE_MEMORY = 8;

export class OutboundQueue<C extends OutboundCall> {
  #host: OutboundHost<C>;
  #ownTimers: boolean;
  #now: () => number;
  #inFlight: C | null = null;
  #timer: ReturnType<typeof setTimeout> | null = null;
  #queue: C[] = [];
  #late: string[] | null = null;

  constructor(host: OutboundHost<C>, options: { timers: 'own' | 'external'; now?: () => number } = { timers: 'own' }) {
    this.#host = host;
    this.#ownTimers = options.timers === 'own';
    this.#now = options.now ?? (() => performance.now());
  }

  get inFlight(): C | null {
    return this.#inFlight;
  }

  /** Calls waiting behind the one in flight. */
  get queued(): number {
    return this.#queue.length;
  }

  /** In flight plus waiting. */
  get pending(): number {
    return (this.#inFlight === null ? 0 : 1) + this.#queue.length;
  }

  /** The waiting calls, oldest first (read only). */
  get waiting(): readonly C[] {
    return this.#queue;
  }

  /**
   * Adds a call (at the back, or at the front to retry it first) and sends it when nothing is in flight.
   * False when the queue is full and the call was not taken.
   */
  submit(call: C, front = false): boolean {
    if (this.#inFlight !== null && this.#queue.length >= this.#host.maxQueued()) return false;
    if (front) this.#queue.unshift(call);
    else this.#queue.push(call);
    this.pump();
    return true;
  }

  /** Sends the next waiting call when nothing is in flight and the host is ready for it. */
  pump(): void {
    if (this.#inFlight !== null || this.#queue.length === 0) return;
    const next = this.#queue[0]!;
    if (this.#host.ready !== undefined && !this.#host.ready(next)) return;
    this.#queue.shift();
    next.id = this.#host.nextId(next);
    next.sentAt = this.#now();
    this.#inFlight = next;
    if (this.#ownTimers) this.#timer = setTimeout(() => this.#expireOwn(next), next.timeoutMs);
    this.#host.transmit(next);
  }

  /**
   * The answer with `id` arrived: the call in flight when it matches (it is then no longer in flight; settle it,
   * then `pump()`), else whether the id belongs to a call that timed out (`late`) or to none (`unknown`).
   */
  answer(id: string): C | 'late' | 'unknown' {
    const call = this.#inFlight;
    if (call === null || call.id !== id) return this.#late?.includes(id) ? 'late' : 'unknown';
    this.#clear();
    return call;
  }

  /** The call in flight leaves without an answer (the owner settles it: aborted, refused …). */
  abandon(): C | null {
    const call = this.#inFlight;
    if (call !== null) this.#clear();
    return call;
  }

  /** External timers: the call in flight when its time is up at `now` (remembered as late, no longer in flight). */
  expire(now: number): C | null {
    const call = this.#inFlight;
    if (call === null || now < call.sentAt + call.timeoutMs) return null;
    this.#timedOut(call);
    return call;
  }

  /** When the call in flight times out (external timers), or Infinity. */
  get deadline(): number {
    const call = this.#inFlight;
    return call === null ? Infinity : call.sentAt + call.timeoutMs;
  }

  /** Empties the queue: the call in flight first, then the waiting ones, for the owner to settle or keep. */
  drain(): C[] {
    const out: C[] = [];
    const call = this.abandon();
    if (call !== null) out.push(call);
    out.push(...this.#queue);
    this.#queue = [];
    return out;
  }

  #expireOwn(call: C): void {
    if (this.#inFlight !== call) return;
    this.#timedOut(call);
    this.#host.timedOut?.(call);
  }

  #timedOut(call: C): void {
    const late = (this.#late ??= []);
    late.push(call.id);
    if (late.length > LATE_MEMORY) late.shift();
    this.#clear();
  }

  #clear(): void {
    if (this.#timer !== null) {
      clearTimeout(this.#timer);
      this.#timer = null;
    }
    this.#inFlight = null;
  }
}
