/**
 * The queries of the store, shared by both engines (`?` parameters; the PostgreSQL engine numbers them). Rows are
 * mapped to the API's views here, so both engines answer the same shapes: booleans (SQLite 0/1), JSON (SQLite
 * text, PostgreSQL already parsed) and BIGINTs (postgres.js gives text for int8) are normalized.
 */
import type { IdTagView, MessageView, ReservationView, StoreQueries, TransactionDetail, TransactionView } from './engine.js';
import type { StationRow } from './records.js';

type Row = Record<string, unknown>;
export type Rows = (sql: string, params: unknown[]) => Promise<Row[]>;

const n = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));
const s = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));
const b = (v: unknown): boolean => v === true || v === 1 || v === '1' || v === 't';
const json = (v: unknown): unknown => (typeof v === 'string' ? JSON.parse(v) : (v ?? null));

const TX_COLUMNS = 'id, identity, station_tx_id, connector, id_tag, meter_start, meter_stop, started_at, stopped_at, stop_reason, charging_state, auth_status, reservation_id, open';

/** The last total (no phase) sample of a measurand of the transaction `t` (found by the index on identity, transaction, time). */
const lastSample = (measurand: string, expr: string): string =>
  `(SELECT ${expr} FROM meter_values m WHERE m.identity = t.identity AND m.station_tx_id = t.station_tx_id AND m.measurand = '${measurand}' AND m.phase IS NULL AND m.value IS NOT NULL ORDER BY m.ts DESC, m.id DESC LIMIT 1)`;

/**
 * A transaction's row, and for one without a stop reading (running, or a 2.x transaction that ended without a
 * register value) its last energy reading; for a running one its last power reading and sample time.
 */
function txSelect(open: string): string {
  const cols = TX_COLUMNS.split(', ').map((c) => `t.${c}`).join(', ');
  const ifNoStop = (q: string): string => `CASE WHEN t.meter_stop IS NULL THEN ${q} END`;
  const ifOpen = (q: string): string => `CASE WHEN t.open = ${open} THEN ${q} END`;
  return `SELECT ${cols}, ${ifNoStop(lastSample('Energy.Active.Import.Register', "CASE WHEN m.unit = 'kWh' THEN m.value * 1000 ELSE m.value END"))} AS last_energy, ${ifOpen(lastSample('Power.Active.Import', "CASE WHEN m.unit = 'kW' THEN m.value * 1000 ELSE m.value END"))} AS last_power, ${ifOpen('(SELECT max(m.ts) FROM meter_values m WHERE m.identity = t.identity AND m.station_tx_id = t.station_tx_id)')} AS last_meter_at FROM transactions t`;
}

function transaction(r: Row): TransactionView {
  const start = n(r.meter_start);
  const stop = n(r.meter_stop);
  const lastEnergy = n(r.last_energy);
  return {
    id: Number(r.id),
    identity: String(r.identity),
    transactionId: String(r.station_tx_id),
    connector: s(r.connector),
    idTag: s(r.id_tag),
    meterStart: start,
    meterStop: stop,
    energyWh: start !== null && stop !== null ? stop - start : start !== null && lastEnergy !== null ? lastEnergy - start : null,
    powerW: n(r.last_power),
    lastMeterAt: n(r.last_meter_at),
    startedAt: n(r.started_at),
    stoppedAt: n(r.stopped_at),
    stopReason: s(r.stop_reason),
    chargingState: s(r.charging_state),
    authStatus: s(r.auth_status),
    reservationId: n(r.reservation_id),
    open: b(r.open),
  };
}

/**
 * A station row as JSON text (a StationRow). Its JSON columns are spliced in as stored, never parsed here: the whole
 * registry crosses to the control plane as one string (100,000 stations as objects take seconds to copy between
 * threads; as one string, a memcpy and one JSON.parse there).
 */
function stationJson(r: Row): string {
  const text = (v: unknown): string => (v === null || v === undefined ? 'null' : String(v));
  const str = (v: unknown): string => JSON.stringify(v === undefined ? null : v);
  return `{"identity":${str(String(r.identity))},"account":${str(s(r.account))},"version":${str(String(r.version))},"transport":${str(String(r.transport))},"callbackUrl":${str(s(r.callback_url))},"connected":${b(r.connected)},"remoteAddress":${str(String(r.remote_address))},"connectedAt":${str(n(r.connected_at))},"disconnectedAt":${str(n(r.disconnected_at))},"lastDisconnect":${text(r.last_disconnect)},"lastMessageAt":${str(n(r.last_message_at))},"boot":${text(r.boot)},"connectors":${r.connectors === null || r.connectors === undefined ? '{}' : String(r.connectors)}}`;
}

function idTag(r: Row): IdTagView {
  return {
    idTag: String(r.id_tag),
    status: s(r.status),
    expiry: n(r.expiry),
    parentIdTag: s(r.parent_id_tag),
    note: s(r.note),
    listed: b(r.listed),
    lastStatus: s(r.last_status),
    lastUsedAt: n(r.last_used_at),
    updatedAt: Number(r.updated_at),
  };
}

type Queries = { [K in keyof StoreQueries]: (args: StoreQueries[K][0]) => Promise<StoreQueries[K][1]> };

export function readQueries(run: Rows, dialect: 'sqlite' | 'postgres'): Queries {
  const truth = dialect === 'sqlite' ? 1 : true;
  return {
    async stations() {
      const rows = await run('SELECT identity, account, version, transport, callback_url, connected, remote_address, connected_at, disconnected_at, CAST(last_disconnect AS TEXT) AS last_disconnect, last_message_at, CAST(boot AS TEXT) AS boot, CAST(connectors AS TEXT) AS connectors FROM stations ORDER BY identity', []);
      return `[${rows.map(stationJson).join(',')}]`;
    },
    async transactions(f) {
      const where: string[] = [];
      const params: unknown[] = [];
      if (f.identity !== undefined) (where.push('identity = ?'), params.push(f.identity));
      if (f.idTag !== undefined) (where.push('id_tag = ?'), params.push(f.idTag));
      if (f.from !== undefined) (where.push('started_at >= ?'), params.push(f.from));
      if (f.to !== undefined) (where.push('started_at < ?'), params.push(f.to));
      if (f.open !== undefined) (where.push('open = ?'), params.push(f.open ? truth : dialect === 'sqlite' ? 0 : false));
      if (f.before !== undefined) (where.push('id < ?'), params.push(f.before));
      params.push(f.limit + 1);
      const rows = await run(`${txSelect(String(truth).toUpperCase())} ${where.length > 0 ? `WHERE ${where.map((w) => `t.${w}`).join(' AND ')}` : ''} ORDER BY t.id DESC LIMIT ?`, params);
      const items = rows.slice(0, f.limit).map(transaction);
      return { items, nextBefore: rows.length > f.limit ? items[items.length - 1]!.id : null };
    },
    async transaction({ id, since }) {
      const [row] = await run(`${txSelect(String(truth).toUpperCase())} WHERE t.id = ?`, [id]);
      if (row === undefined) return null;
      const tx = transaction(row);
      const meterValues = (await run('SELECT ts, measurand, phase, unit, context, location, value, value_text FROM meter_values WHERE identity = ? AND station_tx_id = ? AND ts > ? ORDER BY ts, id', [tx.identity, tx.transactionId, since ?? -1])).map((r) => ({
        ts: Number(r.ts),
        measurand: String(r.measurand),
        phase: s(r.phase),
        unit: s(r.unit),
        context: s(r.context),
        location: s(r.location),
        value: n(r.value),
        text: s(r.value_text),
      }));
      const events = (await run('SELECT event_type, trigger_reason, seq_no, at FROM transaction_events WHERE identity = ? AND station_tx_id = ? ORDER BY seq_no, id', [tx.identity, tx.transactionId])).map((r) => ({
        eventType: String(r.event_type),
        triggerReason: String(r.trigger_reason),
        seqNo: Number(r.seq_no),
        at: Number(r.at),
      }));
      const detail: TransactionDetail = { ...tx, meterValues, events };
      return detail;
    },
    async reservations(f) {
      const where: string[] = [];
      const params: unknown[] = [];
      if (f.identity !== undefined) (where.push('identity = ?'), params.push(f.identity));
      if (f.from !== undefined) (where.push('created_at >= ?'), params.push(f.from));
      if (f.to !== undefined) (where.push('created_at < ?'), params.push(f.to));
      params.push(f.limit);
      const rows = await run(`SELECT * FROM reservations ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at DESC LIMIT ?`, params);
      return rows.map(
        (r): ReservationView => ({
          id: Number(r.id),
          identity: String(r.identity),
          connector: s(r.connector),
          idTag: s(r.id_tag),
          expiry: n(r.expiry),
          status: String(r.status),
          createdAt: Number(r.created_at),
          updatedAt: Number(r.updated_at),
        }),
      );
    },
    async idTags({ listedOnly }) {
      return (await run(`SELECT * FROM id_tags ${listedOnly ? 'WHERE listed = ?' : ''} ORDER BY id_tag`, listedOnly ? [truth] : [])).map(idTag);
    },
    async idTag({ idTag: tag }) {
      const [row] = await run('SELECT * FROM id_tags WHERE id_tag = ?', [tag]);
      return row === undefined ? null : idTag(row);
    },
    async messages({ identity, limit }) {
      const rows = await run('SELECT id, unique_id, action, payload, reply, at FROM messages WHERE identity = ? ORDER BY id DESC LIMIT ?', [identity, limit]);
      return rows.map((r): MessageView => ({ id: Number(r.id), uniqueId: String(r.unique_id), action: String(r.action), payload: json(r.payload), reply: json(r.reply), at: Number(r.at) }));
    },
    async counts() {
      const out: Record<string, number> = {};
      for (const table of ['stations', 'transactions', 'meter_values', 'messages', 'status_history', 'station_events', 'commands', 'id_tags', 'reservations']) {
        const [row] = await run(`SELECT COUNT(*) AS c FROM ${table}`, []);
        out[table] = Number(row?.c ?? 0);
      }
      return out;
    },
  };
}
