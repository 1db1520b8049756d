/**
 * The `ocpp-cs` function mode (`backend: "pgFunction"`): every station CALL is answered by the operator's SQL,
 * `ocpp.Parse(identity, uniqueId, action, payload jsonb, account[, version])`, whose JSON result is relayed
 * exactly as `ocpp-cs` does: `{"messageTypeId": "CallResult", "payload": …}` (or no messageTypeId) becomes the
 * CALLRESULT, `{"messageTypeId": "CallError", "errorCode", "errorDescription", "errorDetails"}` the CALLERROR. The
 * answer goes through the webhook's reply parser (same contract) and then the response schema, like any backend's.
 * The arity (5, or 6 with the OCPP version) is read from the catalog at start. Each shard has a small pool.
 * Contract and example: docs/postgres.md, conf/postgres/ocpp-example.sql.
 */
import type { Logger } from 'pino';
import type { Config } from '../../config/types.js';
import type { Backend, BackendReply, InboundCall } from '../../protocol/backend.js';
import { internalError, parseReply } from '../webhook/envelope.js';
import { functionArity, functionPool, rateLimitedError, type Sql } from './pg.js';

export interface PgFunctionOptions {
  config: Config['pgFunction'];
  /** Used when `pgFunction.url` is null: the store's database (`store.postgres.url`), else the `PG*` variables. */
  fallbackUrl: string | null;
  maxPayloadDepth(): number;
  logger: Logger;
}

export class PgFunctionBackend implements Backend {
  readonly name = 'pgFunction';
  #options: PgFunctionOptions;
  #sql: Sql;
  /** The SQL of the call, once the arity is known; null until then (or when the function is missing). */
  #statement: Promise<string | null>;
  #logError: (error: unknown, message: string) => void;

  constructor(options: PgFunctionOptions) {
    this.#options = options;
    this.#sql = functionPool(options.config, options.fallbackUrl, options.config.poolSize);
    this.#logError = rateLimitedError(options.logger);
    this.#statement = this.#detect();
  }

  /** `ocpp.Parse` with 5 or 6 arguments, from the catalog (6 when both exist). */
  async #detect(): Promise<string | null> {
    const schema = this.#options.config.schema;
    try {
      const arity = await functionArity(this.#sql, schema, 'Parse', [6, 5]);
      if (arity === null) {
        this.#options.logger.error({ schema }, `pgFunction: no ${schema}.Parse with 5 or 6 arguments in the database; every CALL gets InternalError`);
        return null;
      }
      return arity === 6 ? `SELECT ${schema}.Parse($1, $2, $3, $4::text::jsonb, $5, $6) AS r` : `SELECT ${schema}.Parse($1, $2, $3, $4::text::jsonb, $5) AS r`;
    } catch (error) {
      this.#logError(error, 'pgFunction: cannot read the function catalog (will retry)');
      // Try again with the next CALL.
      setTimeout(() => {
        this.#statement = this.#detect();
      }, 1000).unref();
      return null;
    }
  }

  async handleCall(call: InboundCall): Promise<BackendReply> {
    const statement = await this.#statement;
    if (statement === null) return internalError(`the central system's ${this.#options.config.schema}.Parse is not available`);
    const s = call.station;
    const params = [s.identity, call.uniqueId, call.action, JSON.stringify(call.payload), s.account ?? null];
    if (statement.includes('$6')) params.push(s.version);
    let result: unknown;
    try {
      const rows = await this.#sql.unsafe(statement, params as never[]);
      result = rows[0]?.r;
    } catch (error) {
      this.#logError(error, `pgFunction: ${this.#options.config.schema}.Parse failed`);
      return internalError(`the central system's function failed: ${(error as Error).message}`);
    }
    // jsonb comes back parsed; a json or text result as text.
    if (typeof result === 'string') {
      try {
        result = JSON.parse(result) as unknown;
      } catch {
        return internalError(`${this.#options.config.schema}.Parse returned text that is not JSON`);
      }
    }
    const parsed = parseReply(result, s.version, '', this.#options.maxPayloadDepth());
    if (!parsed.ok) {
      this.#options.logger.error({ identity: s.identity, action: call.action, field: parsed.problem.field }, `pgFunction: unusable answer: ${parsed.problem.message}`);
      return internalError(`the central system's function answered badly: ${parsed.problem.field}: ${parsed.problem.message}`);
    }
    return parsed.reply;
  }

  async close(): Promise<void> {
    await this.#sql.end({ timeout: 5 });
  }
}
