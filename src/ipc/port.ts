/**
 * One request/response conversation over a thread's message channel: ids, the pending map, timeouts, and
 * errors that cross as plain `{ code, message, details }` (postMessage drops an Error's class and `code`).
 * Every thread pair uses it: the control plane asks a shard to send a command, for its counters or its
 * metrics; a shard asks the control plane to serve an HTTP request or for a block of transaction ids.
 *
 * Notifications that need no answer (a station connected, a batch of log lines) stay plain messages; the port
 * takes only its own envelopes (`t: 'req' | 'res'`) and tells the caller which messages were its.
 */
import { ErrorCode, RouterError, serializeError, type SerializedError } from '../protocol/errors.js';

/** Request kinds a side may send: `kind → [request body, answer]`. */
export type RequestMap = Record<string, [unknown, unknown]>;

export type PortEnvelope =
  | { t: 'req'; id: number; kind: string; body: unknown }
  | { t: 'res'; id: number; ok: true; value: unknown }
  | { t: 'res'; id: number; ok: false; error: SerializedError };

export type Handlers<In extends RequestMap> = { [K in keyof In]: (body: In[K][0]) => In[K][1] | Promise<In[K][1]> };

export interface RequestPortOptions<In extends RequestMap> {
  /** Posts one message to the peer; false (or a throw) when it cannot be delivered now. */
  post(message: PortEnvelope): boolean | void;
  /** Answers the peer's requests. */
  handlers: Handlers<In>;
  /** The error of a request that cannot be posted (the peer is gone or restarting). */
  unavailable(): RouterError;
}

interface Pending {
  resolve(value: unknown): void;
  reject(error: RouterError): void;
  timer: ReturnType<typeof setTimeout> | null;
}

export function isPortEnvelope(message: unknown): message is PortEnvelope {
  const t = (message as { t?: unknown } | null)?.t;
  return t === 'req' || t === 'res';
}

export class RequestPort<Out extends RequestMap, In extends RequestMap> {
  #options: RequestPortOptions<In>;
  #nextId = 1;
  #pending = new Map<number, Pending>();

  constructor(options: RequestPortOptions<In>) {
    this.#options = options;
  }

  /** Requests in flight. */
  get pending(): number {
    return this.#pending.size;
  }

  /**
   * Sends a request and resolves with the peer's answer. Rejects with the peer's error, with the `unavailable`
   * error when it cannot be posted or the port is closed meanwhile, or with `onTimeout()` after `timeoutMs`.
   */
  request<K extends keyof Out & string>(kind: K, body: Out[K][0], timeout?: { ms: number; error(): RouterError }): Promise<Out[K][1]> {
    const id = this.#nextId++;
    return new Promise<Out[K][1]>((resolve, reject) => {
      const pending: Pending = { resolve: resolve as (value: unknown) => void, reject, timer: null };
      this.#pending.set(id, pending);
      let posted: boolean | void;
      try {
        posted = this.#options.post({ t: 'req', id, kind, body });
      } catch {
        posted = false;
      }
      if (posted === false) {
        this.#pending.delete(id);
        reject(this.#options.unavailable());
        return;
      }
      if (timeout !== undefined) {
        pending.timer = setTimeout(() => {
          if (this.#pending.delete(id)) reject(timeout.error());
        }, timeout.ms);
      }
    });
  }

  /** Feeds a message from the peer; true when it was one of the port's envelopes (handled here). */
  receive(message: unknown): boolean {
    if (!isPortEnvelope(message)) return false;
    if (message.t === 'res') {
      const pending = this.#pending.get(message.id);
      if (pending === undefined) return true; // timed out or closed meanwhile
      this.#pending.delete(message.id);
      if (pending.timer !== null) clearTimeout(pending.timer);
      if (message.ok) pending.resolve(message.value);
      else pending.reject(RouterError.fromJSON(message.error));
      return true;
    }
    this.#serve(message.id, message.kind, message.body);
    return true;
  }

  #serve(id: number, kind: string, body: unknown): void {
    const reply = (envelope: PortEnvelope): void => {
      try {
        this.#options.post(envelope);
      } catch {
        // The peer is gone: nobody waits for this answer any more.
      }
    };
    const fail = (error: unknown): void => reply({ t: 'res', id, ok: false, error: serializeError(error) });
    const handler = (this.#options.handlers as Record<string, (body: unknown) => unknown>)[kind];
    if (handler === undefined) {
      fail(new RouterError(ErrorCode.INTERNAL, `no handler for request ${kind}`));
      return;
    }
    let result: unknown;
    try {
      result = handler(body);
    } catch (error) {
      fail(error);
      return;
    }
    if (result instanceof Promise) result.then((value) => reply({ t: 'res', id, ok: true, value }), fail);
    else reply({ t: 'res', id, ok: true, value: result });
  }

  /** Rejects every request in flight with `error` (the peer died or the process stops). */
  close(error: RouterError): void {
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    for (const p of pending) {
      if (p.timer !== null) clearTimeout(p.timer);
      p.reject(error);
    }
  }
}
