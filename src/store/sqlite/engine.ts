/**
 * The embedded engine (the default: `npm start` needs nothing else): SQLite in one file under `dataDir`, through
 * `libsql` (better-sqlite3's API, prebuilt binaries from the npm registry, runs on Node and Bun). WAL mode, so
 * readers never wait for the writer; `synchronous` NORMAL by default: a committed batch survives a killed
 * process (kill -9), FULL also a power loss. The driver is synchronous: only the store thread calls it.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'libsql';
import type { StoreEngine, StoreQueries, StoreWrite } from '../engine.js';
import { migrations, migrationsTable, RETENTION } from '../schema.js';
import { METER_COLUMNS, meterRows, withoutNul, writeSteps, type Dialect } from '../sql-writes.js';
import { readQueries, type Rows } from '../sql-reads.js';
import { runFlexOp, type FlexOps, type FlexTx } from '../flex-sql.js';

/** A prepared statement taking any list of parameters. */
type Statement = { run(...params: unknown[]): { changes: number | bigint }; all(...params: unknown[]): unknown[] };

const DIALECT: Dialect = { json: '', bool: (v) => (v ? 1 : 0) };
/** Rows per multi-row INSERT (11 meter columns × 64 rows stays far below SQLite's 32,766 parameters). */
const BULK_ROWS = 64;
const MESSAGE_COLUMNS = ['identity', 'unique_id', 'action', 'payload', 'reply', 'at'] as const;
const STATUS_COLUMNS = ['identity', 'connector', 'status', 'error_code', 'info', 'at'] as const;

export interface SqliteOptions {
  file: string;
  synchronous: 'OFF' | 'NORMAL' | 'FULL';
}

export class SqliteEngine implements StoreEngine {
  readonly name = 'sqlite' as const;
  #options: SqliteOptions;
  #db: InstanceType<typeof Database> | null = null;
  #statements = new Map<string, Statement>();

  constructor(options: SqliteOptions) {
    this.#options = options;
  }

  get #conn(): InstanceType<typeof Database> {
    if (this.#db === null) throw new Error('the SQLite store is not open');
    return this.#db;
  }

  #prepare(sql: string): Statement {
    let statement = this.#statements.get(sql);
    if (statement === undefined) {
      statement = this.#conn.prepare(sql) as unknown as Statement;
      this.#statements.set(sql, statement);
    }
    return statement;
  }

  async open(): Promise<void> {
    mkdirSync(dirname(this.#options.file), { recursive: true });
    const db = new Database(this.#options.file);
    this.#db = db;
    db.exec('PRAGMA journal_mode = WAL');
    db.exec(`PRAGMA synchronous = ${this.#options.synchronous}`);
    db.exec('PRAGMA busy_timeout = 5000');
    // Per-station indexes take random inserts: a cache that holds their hot pages saves a read per insert.
    db.exec('PRAGMA cache_size = -65536');
    db.exec('PRAGMA mmap_size = 268435456');
    db.exec('PRAGMA wal_autocheckpoint = 10000');
    db.exec(migrationsTable('sqlite'));
    const applied = new Set(((db.prepare('SELECT version FROM schema_migrations') as unknown as Statement).all() as Array<{ version: number }>).map((r) => Number(r.version)));
    for (const m of migrations('sqlite')) {
      if (applied.has(m.version)) continue;
      db.exec('BEGIN');
      try {
        db.exec(m.sql);
        (db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)') as unknown as Statement).run(m.version, m.name, Date.now());
        db.exec('COMMIT');
      } catch (error) {
        db.exec('ROLLBACK');
        throw error;
      }
    }
  }

  /** Writes and flexibility operations one at a time: a flexibility transaction awaits between statements. */
  #turn: Promise<unknown> = Promise.resolve();

  #exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#turn.then(fn, fn);
    this.#turn = run.catch(() => undefined);
    return run;
  }

  write(batch: readonly StoreWrite[]): Promise<void> {
    return this.#exclusive(async () => this.#write(batch));
  }

  flex<K extends keyof FlexOps>(op: K, args: FlexOps[K][0]): Promise<FlexOps[K][1]> {
    return this.#exclusive(async () => {
      const db = this.#conn;
      const tx: FlexTx = {
        dialect: 'sqlite',
        all: async (sql, params) => this.#prepare(sql).all(...params) as Array<Record<string, unknown>>,
        run: async (sql, params) => Number(this.#prepare(sql).run(...params).changes),
      };
      db.exec('BEGIN IMMEDIATE');
      try {
        const result = await runFlexOp(tx, op, args);
        db.exec('COMMIT');
        return result;
      } catch (error) {
        if (db.inTransaction) db.exec('ROLLBACK');
        throw error;
      }
    });
  }

  #write(batch: readonly StoreWrite[]): void {
    const db = this.#conn;
    const now = Date.now();
    const messages: unknown[][] = [];
    const statuses: unknown[][] = [];
    db.exec('BEGIN');
    try {
      for (const w of batch) {
        if (w.k === 'meter') continue;
        if (w.k === 'message') messages.push([w.identity, w.uniqueId, w.action, w.payload, w.reply, w.at]);
        else if (w.k === 'status') statuses.push([w.identity, w.connector, w.status, w.errorCode, w.info, w.at]);
        else for (const [sql, params] of writeSteps(w, DIALECT, now)) this.#prepare(sql).run(...params.map(withoutNul));
      }
      // The many-row tables by multi-row INSERTs: one statement per BULK_ROWS rows, not one per row.
      this.#bulk('messages', MESSAGE_COLUMNS, messages);
      this.#bulk('status_history', STATUS_COLUMNS, statuses);
      this.#bulk('meter_values', METER_COLUMNS, meterRows(batch));
      db.exec('COMMIT');
    } catch (error) {
      if (db.inTransaction) db.exec('ROLLBACK');
      throw error;
    }
  }

  #bulk(table: string, columns: readonly string[], rows: unknown[][]): void {
    for (let i = 0; i < rows.length; i += BULK_ROWS) {
      const chunk = rows.length - i >= BULK_ROWS ? BULK_ROWS : rows.length - i;
      const key = `${table}:${chunk}`;
      let statement = this.#statements.get(key);
      if (statement === undefined) {
        const tuple = `(${columns.map(() => '?').join(', ')})`;
        statement = this.#conn.prepare(`INSERT INTO ${table} (${columns.join(', ')}) VALUES ${Array.from({ length: chunk }, () => tuple).join(', ')}`) as unknown as Statement;
        this.#statements.set(key, statement);
      }
      const params: unknown[] = [];
      for (let r = i; r < i + chunk; r++) for (const v of rows[r]!) params.push(withoutNul(v));
      statement.run(...params);
    }
  }

  async query<K extends keyof StoreQueries>(kind: K, args: StoreQueries[K][0]): Promise<StoreQueries[K][1]> {
    const run: Rows = async (sql, params) => this.#prepare(sql).all(...params.map(withoutNul)) as Array<Record<string, unknown>>;
    return (await readQueries(run, 'sqlite')[kind](args as never)) as StoreQueries[K][1];
  }

  async prune(before: number, max: number): Promise<number> {
    let removed = 0;
    for (const [table, column] of RETENTION) {
      if (removed >= max) break;
      const r = this.#prepare(`DELETE FROM ${table} WHERE id IN (SELECT id FROM ${table} WHERE ${column} < ? LIMIT ?)`).run(before, max - removed);
      removed += Number(r.changes);
    }
    return removed;
  }

  async close(): Promise<void> {
    this.#statements.clear();
    this.#db?.close();
    this.#db = null;
  }
}
