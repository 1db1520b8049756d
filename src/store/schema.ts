/**
 * The store's tables, as versioned migrations per engine. A migration runs once, inside a transaction, and is
 * recorded in `schema_migrations` (version, name, applied_at); starting the router applies the missing ones
 * (idempotent). Never edit a released migration: add the next one.
 *
 * Times are epoch milliseconds (INTEGER / BIGINT) so both engines compare and page them the same way; JSON is
 * TEXT in SQLite and JSONB in PostgreSQL (JSON for the journal, which is mostly written).
 */
import { flexMigration } from './flex-sql.js';

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

type Dialect = 'sqlite' | 'postgres';

/** The DDL of the first version, with the few words that differ per dialect. */
function v1(d: Dialect): string {
  const id = d === 'sqlite' ? 'INTEGER PRIMARY KEY' : 'BIGSERIAL PRIMARY KEY';
  const json = d === 'sqlite' ? 'TEXT' : 'JSONB';
  // The journal is written far more than it is queried: JSON (kept as sent, checked) costs the server much less
  // to ingest than JSONB (parsed into its binary form).
  const journalJson = d === 'sqlite' ? 'TEXT' : 'JSON';
  const bool = d === 'sqlite' ? 'INTEGER' : 'BOOLEAN';
  const big = d === 'sqlite' ? 'INTEGER' : 'BIGINT';
  const real = d === 'sqlite' ? 'REAL' : 'DOUBLE PRECISION';
  return `
CREATE TABLE stations (
  identity TEXT PRIMARY KEY,
  account TEXT,
  version TEXT NOT NULL,
  transport TEXT NOT NULL,
  callback_url TEXT,
  connected ${bool} NOT NULL,
  remote_address TEXT NOT NULL,
  connected_at ${big},
  disconnected_at ${big},
  last_disconnect ${json},
  last_message_at ${big},
  boot ${json},
  connectors ${json} NOT NULL,
  updated_at ${big} NOT NULL
);
CREATE TABLE status_history (
  id ${id},
  identity TEXT NOT NULL,
  connector TEXT NOT NULL,
  status TEXT NOT NULL,
  error_code TEXT,
  info TEXT,
  at ${big} NOT NULL
);
CREATE INDEX status_history_station ON status_history (identity, at);
CREATE INDEX status_history_at ON status_history (at);
CREATE TABLE boot_notifications (
  id ${id},
  identity TEXT NOT NULL,
  payload ${json} NOT NULL,
  status TEXT NOT NULL,
  at ${big} NOT NULL
);
CREATE INDEX boot_notifications_station ON boot_notifications (identity, at);
CREATE TABLE transactions (
  id ${id},
  identity TEXT NOT NULL,
  station_tx_id TEXT NOT NULL,
  connector TEXT,
  id_tag TEXT,
  meter_start ${real},
  meter_stop ${real},
  started_at ${big},
  stopped_at ${big},
  stop_reason TEXT,
  charging_state TEXT,
  auth_status TEXT,
  reservation_id ${big},
  last_seq_no ${big},
  open ${bool} NOT NULL,
  updated_at ${big} NOT NULL,
  UNIQUE (identity, station_tx_id)
);
CREATE INDEX transactions_started ON transactions (started_at);
CREATE INDEX transactions_open ON transactions (identity, open);
CREATE INDEX transactions_id_tag ON transactions (id_tag);
CREATE TABLE transaction_events (
  id ${id},
  identity TEXT NOT NULL,
  station_tx_id TEXT NOT NULL,
  event_type TEXT NOT NULL,
  trigger_reason TEXT NOT NULL,
  seq_no ${big} NOT NULL,
  payload ${json} NOT NULL,
  at ${big} NOT NULL
);
CREATE INDEX transaction_events_tx ON transaction_events (identity, station_tx_id, seq_no);
CREATE TABLE meter_values (
  id ${id},
  identity TEXT NOT NULL,
  connector TEXT,
  station_tx_id TEXT,
  ts ${big} NOT NULL,
  measurand TEXT NOT NULL,
  phase TEXT,
  unit TEXT,
  context TEXT,
  location TEXT,
  value ${real},
  value_text TEXT
);
CREATE INDEX meter_values_tx ON meter_values (identity, station_tx_id, ts);
CREATE INDEX meter_values_ts ON meter_values (ts);
CREATE TABLE station_events (
  id ${id},
  identity TEXT NOT NULL,
  kind TEXT NOT NULL,
  status TEXT NOT NULL,
  payload ${json} NOT NULL,
  at ${big} NOT NULL
);
CREATE INDEX station_events_station ON station_events (identity, at);
CREATE INDEX station_events_at ON station_events (at);
CREATE TABLE messages (
  id ${id},
  identity TEXT NOT NULL,
  unique_id TEXT NOT NULL,
  action TEXT NOT NULL,
  payload ${journalJson} NOT NULL,
  reply ${journalJson},
  at ${big} NOT NULL
);
CREATE INDEX messages_station ON messages (identity, id);
CREATE INDEX messages_at ON messages (at);
CREATE TABLE id_tags (
  id_tag TEXT PRIMARY KEY,
  status TEXT,
  expiry ${big},
  parent_id_tag TEXT,
  note TEXT,
  listed ${bool} NOT NULL,
  last_status TEXT,
  last_used_at ${big},
  updated_at ${big} NOT NULL
);
CREATE TABLE reservations (
  id ${big} NOT NULL,
  identity TEXT NOT NULL,
  connector TEXT,
  id_tag TEXT,
  expiry ${big},
  status TEXT NOT NULL,
  created_at ${big} NOT NULL,
  updated_at ${big} NOT NULL,
  PRIMARY KEY (identity, id)
);
CREATE TABLE commands (
  id ${id},
  identity TEXT NOT NULL,
  action TEXT NOT NULL,
  request ${json} NOT NULL,
  outcome TEXT NOT NULL,
  response ${json},
  requested_at ${big} NOT NULL,
  answered_at ${big} NOT NULL
);
CREATE INDEX commands_station ON commands (identity, id);
CREATE INDEX commands_at ON commands (requested_at);
`;
}

export function migrations(dialect: Dialect): Migration[] {
  return [
    { version: 1, name: 'stations, transactions, meter values, events, journal, id tags, reservations, commands', sql: v1(dialect) },
    { version: 2, name: 'flexibility assets, prequalification claims and their history', sql: flexMigration(dialect) },
  ];
}

/** The table that records applied migrations (created before any migration runs). */
export function migrationsTable(dialect: Dialect): string {
  const big = dialect === 'sqlite' ? 'INTEGER' : 'BIGINT';
  return `CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at ${big} NOT NULL)`;
}

/** Tables pruned by `store.retentionDays`, with their time column. */
export const RETENTION: ReadonlyArray<[table: string, column: string]> = [
  ['meter_values', 'ts'],
  ['status_history', 'at'],
  ['station_events', 'at'],
  ['messages', 'at'],
  ['transaction_events', 'at'],
  ['boot_notifications', 'at'],
  ['commands', 'requested_at'],
];
