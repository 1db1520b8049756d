/**
 * The production engine: PostgreSQL through postgres.js, a bounded pool in the store thread, migrations applied at
 * start under an advisory lock (several router nodes may start together), and batched ingest: the high-volume
 * records of a batch (meter values, the journal, status history) go in one `INSERT … SELECT FROM unnest(…)` per
 * table, whatever their number; the others are pipelined in the same transaction (no round trip each).
 *
 * JSON travels as text and is cast with `::jsonb` on the server: postgres.js would send a JS string bound to a
 * jsonb parameter as a JSON string scalar, silently.
 */
import postgres from 'postgres';
import type { StoreEngine, StoreQueries, StoreWrite } from '../engine.js';
import { StoreUnavailable } from '../engine.js';
import { migrations, migrationsTable, RETENTION } from '../schema.js';
import { METER_COLUMNS, meterRows, withoutNul, writeSteps, type Dialect } from '../sql-writes.js';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { readQueries, type Rows } from '../sql-reads.js';
import { runFlexOp, type FlexOps } from '../flex-sql.js';

// `::text::jsonb`: a JSON text parameter cast straight to jsonb would be sent by postgres.js as a JSON string scalar.
const DIALECT: Dialect = { json: '::text::jsonb', bool: (v) => v };
/** Any number that fits: migrations of every router node take this lock. */
const MIGRATION_LOCK = 0x0c99_0001;

/** Error codes that mean "the database is not reachable now", not "this write is wrong". */
const UNAVAILABLE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'CONNECT_TIMEOUT', 'CONNECTION_CLOSED', 'CONNECTION_ENDED', 'CONNECTION_DESTROYED', '57P01', '57P02', '57P03', '53300']);

function unavailable(error: unknown): boolean {
  const code = String((error as { code?: unknown })?.code ?? '');
  return UNAVAILABLE_CODES.has(code) || code.startsWith('08');
}

/** `?` placeholders → `$1, $2 …` (our SQL has no other question marks). */
const numberedCache = new Map<string, string>();
function numbered(sql: string): string {
  let out = numberedCache.get(sql);
  if (out === undefined) {
    let n = 0;
    out = sql.replace(/\?/g, () => `$${++n}`);
    numberedCache.set(sql, out);
  }
  return out;
}

export interface PostgresOptions {
  url: string | null;
  poolSize: number;
  connectTimeoutS: number;
}

type Sql = ReturnType<typeof postgres>;


export class PostgresEngine implements StoreEngine {
  readonly name = 'postgres' as const;
  #options: PostgresOptions;
  #sql: Sql | null = null;

  constructor(options: PostgresOptions) {
    this.#options = options;
  }

  get #db(): Sql {
    if (this.#sql === null) throw new Error('the PostgreSQL store is not open');
    return this.#sql;
  }

  async open(): Promise<void> {
    const settings = { max: this.#options.poolSize, connect_timeout: this.#options.connectTimeoutS, onnotice: () => undefined, idle_timeout: 60, prepare: true };
    this.#sql = this.#options.url === null ? postgres(settings) : postgres(this.#options.url, settings);
    await this.#guard(() =>
      this.#db.begin(async (tx) => {
        await tx.unsafe('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
        await tx.unsafe(migrationsTable('postgres'));
        const applied = new Set((await tx.unsafe('SELECT version FROM schema_migrations')).map((r) => Number(r.version)));
        for (const m of migrations('postgres')) {
          if (applied.has(m.version)) continue;
          await tx.unsafe(m.sql);
          await tx.unsafe('INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)', [m.version, m.name, Date.now()]);
        }
      }),
    );
  }

  /** Runs `fn`; connection trouble becomes StoreUnavailable (the writer may spool and retry). */
  async #guard<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (error) {
      if (unavailable(error)) throw new StoreUnavailable(`PostgreSQL is unavailable: ${(error as Error).message}`, { cause: error });
      throw error;
    }
  }

  async write(batch: readonly StoreWrite[]): Promise<void> {
    const now = Date.now();
    const messages: unknown[][] = [[], [], [], [], [], []];
    const statuses: unknown[][] = [[], [], [], [], [], []];
    const steps: Array<[string, unknown[]]> = [];
    for (const w of batch) {
      if (w.k === 'message') {
        [w.identity, w.uniqueId, w.action, w.payload, w.reply, w.at].forEach((v, i) => messages[i]!.push(withoutNul(v)));
      } else if (w.k === 'status') {
        [w.identity, w.connector, w.status, w.errorCode, w.info, w.at].forEach((v, i) => statuses[i]!.push(withoutNul(v)));
      } else if (w.k !== 'meter') {
        for (const [sql, params] of writeSteps(w, DIALECT, now)) steps.push([sql, params.map(withoutNul)]);
      }
    }
    const meter = meterRows(batch);
    await this.#guard(() =>
      this.#db.begin(async (tx) => {
        // Pipelined: every statement is sent without waiting for the previous answer.
        const queries = steps.map(([sql, params]) => tx.unsafe(numbered(sql), params as never[]));
        if (statuses[0]!.length > 0) {
          queries.push(tx.unsafe('INSERT INTO status_history (identity, connector, status, error_code, info, at) SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[])', statuses as never[]));
        }
        // The bulk tables by COPY in the same transaction: the server's fastest path for many rows.
        if (messages[0]!.length > 0) await copyRows(tx, 'messages (identity, unique_id, action, payload, reply, at)', columnsToRows(messages));
        if (meter.length > 0) await copyRows(tx, `meter_values (${METER_COLUMNS.join(', ')})`, meter);
        await Promise.all(queries);
      }),
    );
  }

  async query<K extends keyof StoreQueries>(kind: K, args: StoreQueries[K][0]): Promise<StoreQueries[K][1]> {
    const run: Rows = async (sql, params) => (await this.#db.unsafe(numbered(sql), params.map(withoutNul) as never[])) as unknown as Array<Record<string, unknown>>;
    return this.#guard(async () => (await readQueries(run, 'postgres')[kind](args as never)) as StoreQueries[K][1]);
  }

  flex<K extends keyof FlexOps>(op: K, args: FlexOps[K][0]): Promise<FlexOps[K][1]> {
    return this.#guard(() =>
      this.#db.begin((sql) =>
        runFlexOp(
          {
            dialect: 'postgres',
            all: async (text, params) => (await sql.unsafe(numbered(text), params as never[])) as unknown as Array<Record<string, unknown>>,
            run: async (text, params) => (await sql.unsafe(numbered(text), params as never[])).count,
          },
          op,
          args,
        ),
      ) as Promise<FlexOps[K][1]>,
    );
  }

  async prune(before: number, max: number): Promise<number> {
    let removed = 0;
    for (const [table, column] of RETENTION) {
      if (removed >= max) break;
      const r = await this.#guard(() => this.#db.unsafe(`DELETE FROM ${table} WHERE id IN (SELECT id FROM ${table} WHERE ${column} < $1 LIMIT $2)`, [before, max - removed]));
      removed += r.count;
    }
    return removed;
  }

  async close(): Promise<void> {
    await this.#sql?.end({ timeout: 5 });
    this.#sql = null;
  }
}

/** Columns (one array per column) to rows. */
function columnsToRows(columns: unknown[][]): unknown[][] {
  return columns[0]!.map((_, r) => columns.map((c) => c[r]));
}

/** COPY text format: tab-separated, \N for null, backslash escapes (NUL already replaced). */
function copyText(rows: unknown[][]): string {
  let out = '';
  for (const row of rows) {
    for (let i = 0; i < row.length; i++) {
      const v = row[i];
      if (i > 0) out += '\t';
      if (v === null || v === undefined) out += '\\N';
      else if (typeof v === 'number') out += String(v);
      else out += String(withoutNul(v)).replace(/[\\\t\n\r]/g, (c) => (c === '\\' ? '\\\\' : c === '\t' ? '\\t' : c === '\n' ? '\\n' : '\\r'));
    }
    out += '\n';
  }
  return out;
}

async function copyRows(tx: postgres.TransactionSql, target: string, rows: unknown[][]): Promise<void> {
  const stream = await tx.unsafe(`COPY ${target} FROM STDIN`).writable();
  await pipeline(Readable.from([copyText(rows)]), stream);
}
