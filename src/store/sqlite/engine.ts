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

/** A prepared statement taking any list of parameters. */
type Statement = { run(...params: unknown[]): { changes: number | bigint }; all(...params: unknown[]): unknown[] };

const DIALECT: Dialect = { json: '', bool: (v) => (v ? 1 : 0) };
const METER_INSERT = `INSERT INTO meter_values (${METER_COLUMNS.join(', ')}) VALUES (${METER_COLUMNS.map(() => '?').join(', ')})`;

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

  async write(batch: readonly StoreWrite[]): Promise<void> {
    const db = this.#conn;
    const now = Date.now();
    db.exec('BEGIN');
    try {
      for (const w of batch) {
        if (w.k === 'meter') continue;
        for (const [sql, params] of writeSteps(w, DIALECT, now)) this.#prepare(sql).run(...params.map(withoutNul));
      }
      // One prepared single-row INSERT per sampled value: inside one transaction SQLite takes ~200k of them a second.
      const insertMeter = this.#prepare(METER_INSERT);
      for (const row of meterRows(batch)) insertMeter.run(...row.map(withoutNul));
      db.exec('COMMIT');
    } catch (error) {
      if (db.inTransaction) db.exec('ROLLBACK');
      throw error;
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
