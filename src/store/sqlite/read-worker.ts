/**
 * A thread of the store's read pool (./read-pool.ts, piscina): its own connection to the SQLite file, with
 * `query_only` so it can never write, answering the long reads (exports, long lists, the whole station list) that
 * would otherwise hold the store thread's synchronous driver for seconds while writes wait. WAL mode: this reader
 * sees every transaction committed before its read began and never blocks the writer (nor is blocked by it).
 */
import { workerData } from 'node:worker_threads';
import Database from 'libsql';
import { readQueries, type Rows } from '../sql-reads.js';
import { withoutNul } from '../sql-writes.js';
import { transactionsCsv } from '../export-csv.js';
import type { ReadTask } from './read-pool.js';

type Statement = { all(...params: unknown[]): unknown[] };

const { file } = workerData as { file: string };
const db = new Database(file);
db.exec('PRAGMA query_only = 1');
db.exec('PRAGMA busy_timeout = 5000');
db.exec('PRAGMA mmap_size = 268435456');
db.exec('PRAGMA cache_size = -16384');
const statements = new Map<string, Statement>();

const run: Rows = async (sql, params) => {
  let statement = statements.get(sql);
  if (statement === undefined) {
    statement = db.prepare(sql) as unknown as Statement;
    statements.set(sql, statement);
  }
  return statement.all(...params.map(withoutNul)) as Array<Record<string, unknown>>;
};
const queries = readQueries(run, 'sqlite');

/** One read in one read transaction: a consistent snapshot even for the reads made of several queries. */
export default async function read(task: ReadTask): Promise<unknown> {
  db.exec('BEGIN');
  try {
    if (task.kind === 'transactionsCsv') return transactionsCsv((await queries.transactions(task.args)).items);
    return await queries[task.kind](task.args as never);
  } finally {
    db.exec('COMMIT');
  }
}
