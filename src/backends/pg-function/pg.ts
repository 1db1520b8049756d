/**
 * What the function mode's two callers share: the schema name check, a pool on the operator's database, and an
 * error log that says a failure once every 10 s rather than once per CALL.
 */
import postgres from 'postgres';
import type { Logger } from 'pino';
import type { Config } from '../../config/types.js';

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

export type Sql = ReturnType<typeof postgres>;

/** A pool of `max` connections to `pgFunction.url` (else `fallbackUrl`, else the `PG*` variables). */
export function functionPool(config: Config['pgFunction'], fallbackUrl: string | null, max: number): Sql {
  if (!IDENTIFIER.test(config.schema)) throw new TypeError(`pgFunction.schema must be an SQL identifier, got ${config.schema}`);
  const url = config.url ?? fallbackUrl;
  // timeoutMs bounds both connecting and a function's run (statement_timeout): a hung function costs one call.
  const settings = { max, connect_timeout: Math.ceil(config.timeoutMs / 1000), idle_timeout: 60, onnotice: () => undefined, connection: { statement_timeout: config.timeoutMs } };
  return url === null ? postgres(settings) : postgres(url, settings);
}

/** Does `schema.name` exist with one of `arities`? Resolves with the largest found, or null. */
export async function functionArity(sql: Sql, schema: string, name: string, arities: readonly number[]): Promise<number | null> {
  const rows = await sql`SELECT p.pronargs AS n FROM pg_proc p JOIN pg_namespace ns ON ns.oid = p.pronamespace WHERE ns.nspname = ${schema.toLowerCase()} AND p.proname = ${name.toLowerCase()} ORDER BY p.pronargs DESC`;
  return rows.map((r) => Number(r.n)).find((n) => arities.includes(n)) ?? null;
}

/** Logs an error at most once every 10 s. */
export function rateLimitedError(logger: Logger): (error: unknown, message: string) => void {
  let last = 0;
  return (error, message) => {
    const now = Date.now();
    if (now - last < 10_000) return;
    last = now;
    logger.error({ err: error }, message);
  };
}
