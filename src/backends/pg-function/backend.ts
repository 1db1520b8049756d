/**
 * The `ocpp-cs` function mode (`backend: "pgFunction"`): every station CALL is answered by the operator's SQL,
 * `ocpp.Parse(identity, uniqueId, action, payload jsonb, account[, version])`, whose JSON result is relayed
 * exactly as `ocpp-cs` does: `{"messageTypeId": "CallResult", "payload": …}` (or no messageTypeId) becomes the
 * CALLRESULT, `{"messageTypeId": "CallError", "errorCode", "errorDescription", "errorDetails"}` the CALLERROR. The
 * answer goes through the webhook's reply parser (same contract) and then the response schema, like any backend's.
 * The arity (5, or 6 with the OCPP version) is read from the catalog at start. Each shard has a small pool.
 * Contract and example: docs/postgres.md, conf/postgres/ocpp-example.sql.
 */
import postgres from 'postgres';
import type { Logger } from 'pino';
import type { Config } from '../../config/types.js';
import type { Backend, BackendReply, InboundCall } from '../../protocol/backend.js';
import { internalError, parseReply } from '../webhook/envelope.js';

export interface PgFunctionOptions {
  config: Config['pgFunction'];
  /** Used when `pgFunction.url` is null: the store's database (`store.postgres.url`), else the `PG*` variables. */
  fallbackUrl: string | null;
  maxPayloadDepth(): number;
  logger: Logger;
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

export class PgFunctionBackend implements Backend {
  readonly name = 'pgFunction';
  #options: PgFunctionOptions;
  #sql: ReturnType<typeof postgres>;
  /** The SQL of the call, once the arity is known; null until then (or when the function is missing). */
  #statement: Promise<string | null>;
  #lastError = 0;

  constructor(options: PgFunctionOptions) {
    const c = options.config;
    if (!IDENTIFIER.test(c.schema)) throw new TypeError(`pgFunction.schema must be an SQL identifier, got ${c.schema}`);
    this.#options = options;
    const url = c.url ?? options.fallbackUrl;
    // timeoutMs bounds both connecting and the function's run (statement_timeout): a hung function costs one CALL.
    const settings = { max: c.poolSize, connect_timeout: Math.ceil(c.timeoutMs / 1000), idle_timeout: 60, onnotice: () => undefined, connection: { statement_timeout: c.timeoutMs } };
    this.#sql = url === null ? postgres(settings) : postgres(url, settings);
    this.#statement = this.#detect();
  }

  /** `ocpp.Parse` with 5 or 6 arguments, from pg_proc (the function name is folded to lower case, as unquoted SQL). */
  async #detect(): Promise<string | null> {
    const schema = this.#options.config.schema;
    try {
      const rows = await this.#sql`SELECT p.pronargs AS n FROM pg_proc p JOIN pg_namespace ns ON ns.oid = p.pronamespace WHERE ns.nspname = ${schema.toLowerCase()} AND p.proname = 'parse' ORDER BY p.pronargs DESC`;
      const arity = rows.map((r) => Number(r.n)).find((n) => n === 6 || n === 5);
      if (arity === undefined) {
        this.#options.logger.error({ schema }, `pgFunction: no ${schema}.Parse with 5 or 6 arguments in the database; every CALL gets InternalError`);
        return null;
      }
      return arity === 6 ? `SELECT ${schema}.Parse($1, $2, $3, $4::text::jsonb, $5, $6) AS r` : `SELECT ${schema}.Parse($1, $2, $3, $4::text::jsonb, $5) AS r`;
    } catch (error) {
      this.#logRateLimited(error, 'pgFunction: cannot read the function catalog (will retry)');
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
      this.#logRateLimited(error, `pgFunction: ${this.#options.config.schema}.Parse failed`);
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

  #logRateLimited(error: unknown, message: string): void {
    const now = Date.now();
    if (now - this.#lastError < 10_000) return;
    this.#lastError = now;
    this.#options.logger.error({ err: error }, message);
  }

  async close(): Promise<void> {
    await this.#sql.end({ timeout: 5 });
  }
}
