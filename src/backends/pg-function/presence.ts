/**
 * `ocpp.SetChargePointConnected(identity, connected boolean, metadata jsonb)`: the `ocpp-cs` function mode's
 * presence call, made by the control plane (which alone knows when a station's newest connection opens or
 * closes) on every connect and disconnect while `backend` is `pgFunction`. Calls for one station run in the order
 * the events happened; calls for different stations run side by side on a small pool. The function is optional:
 * when the schema has none, nothing is called (logged once). The calls are best effort (one attempt each, failures
 * logged at most every 10 s) and bounded: past `MAX_PENDING` waiting calls the oldest are dropped and counted.
 */
import type { Logger } from 'pino';
import type { Config } from '../../config/types.js';
import { functionArity, functionPool, rateLimitedError, type Sql } from './pg.js';

const MAX_PENDING = 50_000;

export interface PresenceEvent {
  identity: string;
  connected: boolean;
  /** Sent as the jsonb third argument: transport, protocol, remote address, account, close code and reason, time. */
  metadata: Record<string, unknown>;
}

export class PgPresence {
  #sql: Sql;
  #schema: string;
  #logger: Logger;
  /** The SQL of the call; null when the function is missing. */
  #statement: Promise<string | null>;
  /** Per station: the tail of its chain of calls, so that a disconnect never overtakes its connect. */
  #chains = new Map<string, Promise<void>>();
  #pending = 0;
  #dropped = 0;
  #calls = 0;
  #failures = 0;
  #fail: (error: unknown, message: string) => void;

  constructor(config: Config['pgFunction'], fallbackUrl: string | null, logger: Logger) {
    this.#schema = config.schema;
    this.#logger = logger;
    this.#sql = functionPool(config, fallbackUrl, 2);
    this.#fail = rateLimitedError(logger);
    this.#statement = this.#detect();
  }

  async #detect(): Promise<string | null> {
    try {
      if ((await functionArity(this.#sql, this.#schema, 'SetChargePointConnected', [3])) === null) {
        this.#logger.warn({ schema: this.#schema }, `pgFunction: no ${this.#schema}.SetChargePointConnected(identity, connected, metadata) in the database; connects and disconnects are not reported`);
        return null;
      }
      return `SELECT ${this.#schema}.SetChargePointConnected($1, $2, $3::text::jsonb)`;
    } catch (error) {
      this.#fail(error, 'pgFunction: cannot read the function catalog for SetChargePointConnected (will retry)');
      setTimeout(() => {
        this.#statement = this.#detect();
      }, 1000).unref();
      return null;
    }
  }

  /** Queues the call for this event behind the station's earlier ones. */
  report(event: PresenceEvent): void {
    if (this.#pending >= MAX_PENDING) {
      this.#dropped++;
      this.#fail(new Error(`${this.#dropped} presence calls dropped`), 'pgFunction: too many SetChargePointConnected calls waiting; dropping');
      return;
    }
    this.#pending++;
    const previous = this.#chains.get(event.identity) ?? Promise.resolve();
    const next = previous.then(() => this.#call(event)).finally(() => {
      this.#pending--;
      if (this.#chains.get(event.identity) === next) this.#chains.delete(event.identity);
    });
    this.#chains.set(event.identity, next);
  }

  async #call(event: PresenceEvent): Promise<void> {
    const statement = await this.#statement;
    if (statement === null) return;
    try {
      await this.#sql.unsafe(statement, [event.identity, event.connected, JSON.stringify(event.metadata)]);
      this.#calls++;
    } catch (error) {
      this.#failures++;
      this.#fail(error, `pgFunction: ${this.#schema}.SetChargePointConnected failed`);
    }
  }

  /** Calls made, failed and dropped since start (for tests and logs). */
  stats(): { calls: number; failures: number; dropped: number; pending: number } {
    return { calls: this.#calls, failures: this.#failures, dropped: this.#dropped, pending: this.#pending };
  }

  /** Lets the waiting calls finish (at most `timeoutMs`), then closes the pool. */
  async close(timeoutMs = 5000): Promise<void> {
    const all = Promise.allSettled([...this.#chains.values()]);
    await Promise.race([all, new Promise((resolve) => setTimeout(resolve, timeoutMs).unref())]);
    await this.#sql.end({ timeout: 5 });
  }
}
