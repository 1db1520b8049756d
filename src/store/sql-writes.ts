/**
 * The SQL of every write, shared by both engines (SQLite and PostgreSQL understand the same `INSERT … ON CONFLICT
 * … DO UPDATE`); parameters are `?` here, and the PostgreSQL engine numbers them. One function per record kind
 * turns a record into [sql, parameters]; JSON travels as text (PostgreSQL casts it to JSONB).
 *
 * Transactions are folded: 1.x StartTransaction / StopTransaction and 2.x TransactionEvent Started / Updated /
 * Ended each upsert the one row of (identity, station transaction id). Events may arrive out of order (a station
 * replaying offline messages): a closed transaction is never reopened, times and meter readings are kept where
 * they were first known, and the charging state follows the highest sequence number.
 */
import type { StoreWrite } from './engine.js';
import type { StationRow } from './records.js';

export type SqlStep = [sql: string, params: unknown[]];

/** PostgreSQL casts: the JSON columns and booleans; SQLite ignores nothing, so the engine strips them. */
export interface Dialect {
  json: string;
  bool(value: boolean): unknown;
}

function stationParams(row: StationRow, d: Dialect, now: number): unknown[] {
  return [
    row.identity,
    row.account,
    row.version,
    row.transport,
    row.callbackUrl,
    d.bool(row.connected),
    row.remoteAddress,
    row.connectedAt,
    row.disconnectedAt,
    row.lastDisconnect === null ? null : JSON.stringify(row.lastDisconnect),
    row.lastMessageAt,
    row.boot === null ? null : JSON.stringify(row.boot),
    JSON.stringify(row.connectors),
    now,
  ];
}

/** The statements of one write. */
export function writeSteps(w: StoreWrite, d: Dialect, now: number): SqlStep[] {
  const j = d.json;
  switch (w.k) {
    case 'message':
      return [[`INSERT INTO messages (identity, unique_id, action, payload, reply, at) VALUES (?, ?, ?, ?${j}, ?${j}, ?)`, [w.identity, w.uniqueId, w.action, w.payload, w.reply, w.at]]];
    case 'boot':
      return [[`INSERT INTO boot_notifications (identity, payload, status, at) VALUES (?, ?${j}, ?, ?)`, [w.identity, w.payload, w.status, w.at]]];
    case 'status':
      return [['INSERT INTO status_history (identity, connector, status, error_code, info, at) VALUES (?, ?, ?, ?, ?, ?)', [w.identity, w.connector, w.status, w.errorCode, w.info, w.at]]];
    case 'txStart':
      return [
        [
          `INSERT INTO transactions (identity, station_tx_id, connector, id_tag, meter_start, started_at, auth_status, reservation_id, open, updated_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT (identity, station_tx_id) DO UPDATE SET connector = excluded.connector, id_tag = excluded.id_tag,
             meter_start = excluded.meter_start, started_at = excluded.started_at, auth_status = excluded.auth_status,
             reservation_id = excluded.reservation_id, updated_at = excluded.updated_at`,
          [w.identity, w.txId, w.connector, w.idTag, w.meterStart, w.at, w.authStatus, w.reservationId, d.bool(true), now],
        ],
      ];
    case 'txStop':
      return [
        [
          `INSERT INTO transactions (identity, station_tx_id, id_tag, meter_stop, stopped_at, stop_reason, open, updated_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT (identity, station_tx_id) DO UPDATE SET meter_stop = excluded.meter_stop, stopped_at = excluded.stopped_at,
             stop_reason = excluded.stop_reason, id_tag = COALESCE(transactions.id_tag, excluded.id_tag), open = excluded.open, updated_at = excluded.updated_at`,
          [w.identity, w.txId, w.idTag, w.meterStop, w.at, w.reason, d.bool(false), now],
        ],
      ];
    case 'txEvent': {
      const started = w.eventType === 'Started';
      const ended = w.eventType === 'Ended';
      return [
        [
          `INSERT INTO transaction_events (identity, station_tx_id, event_type, trigger_reason, seq_no, payload, at) VALUES (?, ?, ?, ?, ?, ?${j}, ?)`,
          [w.identity, w.txId, w.eventType, w.triggerReason, w.seqNo, w.payload, w.at],
        ],
        [
          `INSERT INTO transactions (identity, station_tx_id, connector, id_tag, meter_start, meter_stop, started_at, stopped_at, stop_reason, charging_state, last_seq_no, open, updated_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT (identity, station_tx_id) DO UPDATE SET
             connector = COALESCE(transactions.connector, excluded.connector),
             id_tag = COALESCE(excluded.id_tag, transactions.id_tag),
             meter_start = COALESCE(transactions.meter_start, excluded.meter_start),
             meter_stop = COALESCE(excluded.meter_stop, transactions.meter_stop),
             started_at = COALESCE(transactions.started_at, excluded.started_at),
             stopped_at = COALESCE(excluded.stopped_at, transactions.stopped_at),
             stop_reason = COALESCE(excluded.stop_reason, transactions.stop_reason),
             charging_state = CASE WHEN excluded.last_seq_no >= COALESCE(transactions.last_seq_no, -1) THEN COALESCE(excluded.charging_state, transactions.charging_state) ELSE transactions.charging_state END,
             last_seq_no = CASE WHEN excluded.last_seq_no > COALESCE(transactions.last_seq_no, -1) THEN excluded.last_seq_no ELSE transactions.last_seq_no END,
             open = CASE WHEN excluded.open = ${d.bool(false) === false ? 'false' : '0'} THEN excluded.open ELSE transactions.open END,
             updated_at = excluded.updated_at`,
          [w.identity, w.txId, w.connector, w.idTag, started ? w.energyWh : null, ended ? w.energyWh : null, started ? w.at : null, ended ? w.at : null, w.stoppedReason, w.chargingState, w.seqNo, d.bool(!ended), now],
        ],
      ];
    }
    case 'meter':
      // Many rows: the engines insert these in bulk (see meterRows); here only for completeness of the switch.
      return [];
    case 'event': {
      const steps: SqlStep[] = [[`INSERT INTO station_events (identity, kind, status, payload, at) VALUES (?, ?, ?, ?${j}, ?)`, [w.identity, w.kind, w.status, w.payload, w.at]]];
      if (w.kind === 'reservation') {
        const id = (JSON.parse(w.payload) as { reservationId?: unknown }).reservationId;
        if (typeof id === 'number') steps.push(['UPDATE reservations SET status = ?, updated_at = ? WHERE identity = ? AND id = ?', [w.status, now, w.identity, id]]);
      }
      return steps;
    }
    case 'idTagUsed':
      return [
        [
          `INSERT INTO id_tags (id_tag, listed, last_status, last_used_at, updated_at) VALUES (?, ?, ?, ?, ?)
           ON CONFLICT (id_tag) DO UPDATE SET last_status = excluded.last_status, last_used_at = excluded.last_used_at`,
          [w.idTag, d.bool(false), w.status, w.at, now],
        ],
      ];
    case 'command':
      return [[`INSERT INTO commands (identity, action, request, outcome, response, requested_at, answered_at) VALUES (?, ?, ?${j}, ?, ?${j}, ?, ?)`, [w.identity, w.action, w.request, w.outcome, w.response, w.requestedAt, w.answeredAt]]];
    case 'station':
      return [
        [
          `INSERT INTO stations (identity, account, version, transport, callback_url, connected, remote_address, connected_at, disconnected_at, last_disconnect, last_message_at, boot, connectors, updated_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?${j}, ?, ?${j}, ?${j}, ?)
           ON CONFLICT (identity) DO UPDATE SET account = excluded.account, version = excluded.version, transport = excluded.transport,
             callback_url = excluded.callback_url, connected = excluded.connected, remote_address = excluded.remote_address,
             connected_at = excluded.connected_at, disconnected_at = excluded.disconnected_at, last_disconnect = excluded.last_disconnect,
             last_message_at = excluded.last_message_at, boot = excluded.boot, connectors = excluded.connectors, updated_at = excluded.updated_at`,
          stationParams(w.row, d, now),
        ],
      ];
    case 'stationDeleted':
      return [['DELETE FROM stations WHERE identity = ?', [w.identity]]];
    case 'idTagPut':
      return [
        [
          `INSERT INTO id_tags (id_tag, status, expiry, parent_id_tag, note, listed, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT (id_tag) DO UPDATE SET status = excluded.status, expiry = excluded.expiry, parent_id_tag = excluded.parent_id_tag,
             note = excluded.note, listed = excluded.listed, updated_at = excluded.updated_at`,
          [w.idTag, w.status, w.expiry, w.parentIdTag, w.note, d.bool(true), w.at],
        ],
      ];
    case 'idTagDelete':
      return [[`UPDATE id_tags SET listed = ?, status = NULL, updated_at = ? WHERE id_tag = ?`, [d.bool(false), now, w.idTag]]];
    case 'reservation':
      return [
        [
          `INSERT INTO reservations (id, identity, connector, id_tag, expiry, status, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT (identity, id) DO UPDATE SET connector = COALESCE(excluded.connector, reservations.connector),
             id_tag = COALESCE(excluded.id_tag, reservations.id_tag), expiry = COALESCE(excluded.expiry, reservations.expiry),
             status = excluded.status, updated_at = excluded.updated_at`,
          [w.id, w.identity, w.connector, w.idTag, w.expiry, w.status, w.at, w.at],
        ],
      ];
  }
}

/** The meter-value rows of a batch, flattened: [identity, connector, txId, ts, measurand, phase, unit, context, location, value, text]. */
export function meterRows(batch: readonly StoreWrite[]): unknown[][] {
  const out: unknown[][] = [];
  for (const w of batch) {
    if (w.k !== 'meter') continue;
    for (const r of w.rows) out.push([w.identity, w.connector, w.txId, r.ts, r.measurand, r.phase, r.unit, r.context, r.location, r.value, r.text]);
  }
  return out;
}

export const METER_COLUMNS = ['identity', 'connector', 'station_tx_id', 'ts', 'measurand', 'phase', 'unit', 'context', 'location', 'value', 'value_text'] as const;

const NUL_ESCAPE = /(?<!\\)((?:\\\\)*)\\u0000/g;

/**
 * JSON allows U+0000 in any string a station sends, but PostgreSQL's text and jsonb refuse it (the whole commit
 * would fail) and SQLite's driver cuts text at it when reading: in both engines a NUL character, and the JSON
 * escape of one, are stored as U+FFFD. Applied to every parameter at the engine's boundary.
 */
export function withoutNul(value: unknown): unknown {
  if (typeof value !== 'string' || (!value.includes('\0') && !value.includes('\\u0000'))) return value;
  return value.replaceAll('\0', '\uFFFD').replace(NUL_ESCAPE, '$1\\ufffd');
}
