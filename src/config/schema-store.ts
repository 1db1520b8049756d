/**
 * The configuration of the store (`store`, src/store/, docs/store.md) and of the `ocpp-cs` function mode
 * (`pgFunction`, docs/postgres.md): the parts of the schema about PostgreSQL and SQLite.
 */
import { MIB, bool, int, object, type SchemaNode } from './schema-nodes.js';

export const STORE_ENGINES = ['sqlite', 'postgres', 'off'] as const;
export const SQLITE_SYNCHRONOUS = ['OFF', 'NORMAL', 'FULL'] as const;
export const STORE_ON_FAILURE = ['error', 'spool'] as const;

export const pgFunctionSchema: SchemaNode = object('The `ocpp-cs` function mode (`backend: "pgFunction"`, docs/postgres.md).', {
  url: {
    type: ['string', 'null'],
    pattern: '^postgres(ql)?://',
    maxLength: 4096,
    default: null,
    description: 'Database with the `ocpp` functions; null: `store.postgres.url`, else the `PG*` variables.',
  },
  schema: { type: 'string', pattern: '^[A-Za-z_][A-Za-z0-9_]*$', maxLength: 63, default: 'ocpp', description: 'Schema of `Parse` and `SetChargePointConnected`.' },
  poolSize: int(1, 100, 4, 'Connections per shard.'),
  timeoutMs: int(100, 600_000, 10_000, 'Longest time to connect and to run Parse before the CALL gets InternalError (statement_timeout).', 'ms'),
});

export const storeSchema: SchemaNode = object('Where what stations send is kept: stations, transactions, meter values, status history, events, the journal of messages, id tags, reservations, commands.', {
  engine: {
    type: 'string',
    enum: STORE_ENGINES,
    default: 'sqlite',
    description: '`sqlite` (a file under `dataDir`, nothing to install), `postgres` (`store.postgres`), or `off` (nothing is kept: station list in memory only).',
  },
  sqlite: object('The embedded engine (SQLite through libsql, WAL mode).', {
    file: { type: 'string', minLength: 1, default: 'ocpp-router.db', description: 'Database file; relative paths are under `dataDir`.' },
    synchronous: {
      type: 'string',
      enum: SQLITE_SYNCHRONOUS,
      default: 'NORMAL',
      description: '`NORMAL`: a committed write survives a killed process; `FULL`: also a power loss (an fsync per commit); `OFF`: neither (tests, benchmarks).',
    },
    readPool: object('Long reads (CSV exports, transaction lists over 1000 rows, the whole station list) in a pool of threads (piscina), each with its own read-only connection to the file (WAL: readers never block the writer), so the store thread keeps committing while they run. Page-sized reads stay on the store thread.', {
      threads: int(0, 16, 1, 'Threads of the pool (each holds one connection); 0 = off: every read runs on the store thread.'),
    }),
  }),
  postgres: object('PostgreSQL (`store.engine: "postgres"`).', {
    url: {
      type: ['string', 'null'],
      pattern: '^postgres(ql)?://',
      maxLength: 4096,
      default: null,
      description: '`postgres://user:password@host:port/database` (env `DATABASE_URL`); null: the usual `PGHOST`, `PGPORT`, `PGUSER`, `PGPASSWORD`, `PGDATABASE` variables.',
    },
    poolSize: int(1, 100, 4, 'Connections of the store thread.'),
    connectTimeoutS: int(1, 600, 10, 'Time to connect before the database counts as unavailable.', 's'),
  }),
  onFailure: {
    type: 'string',
    enum: STORE_ON_FAILURE,
    default: 'error',
    description: 'When the database cannot take a write: `error` (the station gets CALLERROR InternalError and sends again later) or `spool` (the station is answered once its records are in a durable local spool under `dataDir`, replayed in order when the database is back).',
  },
  spool: object('The local spool of `onFailure: "spool"`.', {
    maxBytes: int(1024 * 1024, 2 ** 40, 1024 * MIB, 'Most bytes of spool files; beyond it writes are refused (InternalError).', 'bytes'),
  }),
  maxBatchRecords: int(1, 1_000_000, 5000, 'Most records in one commit (group commit takes whatever waits, up to this).'),
  commitDelayMs: int(0, 1000, 5, 'How long the oldest write may wait for others before its commit starts: fewer, larger commits at a steady trickle (the station\'s CALLRESULT waits as long). 0: commit at once.', 'ms'),
  retentionDays: int(0, 36_500, 90, 'Meter values, history, events and the journal older than this are pruned (in small batches, hourly); 0 keeps everything.', 'days'),
  journal: bool(true, 'Keep station CALLs with their answers (the journal: the station page\'s "Recent messages"), but Heartbeat and the actions of `journalExcept`.'),
  journalExcept: {
    type: 'array',
    items: { type: 'string', minLength: 1, maxLength: 64 },
    uniqueItems: true,
    default: ['MeterValues', 'StatusNotification'],
    description: 'Actions left out of the journal: their data is kept in full elsewhere (meter_values, status_history), and journaling them doubles the cost of the busiest messages. [] journals every CALL but Heartbeat.',
  },
});
