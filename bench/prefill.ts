/**
 * A large registry for the scale scenarios: `stations.json` in the format of earlier versions
 * (`ocpp-router/stations@1`, what a router before the store kept and what one with the store imports once),
 * with `count` stations `BENCH-0 …` (the load generator's identities come first, so the connecting fleet is part
 * of it). Each record is what a booted station leaves: boot payload, two connectors, last close (~700 B).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

export function writeLegacyStations(dataDir: string, count: number): number {
  const now = Date.now();
  const stations = Array.from({ length: count }, (_, n) => ({
    identity: `BENCH-${n}`,
    account: null,
    version: 'ocpp1.6',
    transport: 'ws',
    connected: false,
    remoteAddress: `127.0.0.${2 + (n % 200)}`,
    connectedAt: now - 86_400_000,
    disconnectedAt: now - 60_000,
    lastDisconnect: { code: 1006, reason: '' },
    lastMessageAt: now - 60_000,
    boot: {
      payload: { chargePointVendor: 'BenchVendor', chargePointModel: 'BenchModel-22kW', chargePointSerialNumber: `SN-${1_000_000 + n}`, chargeBoxSerialNumber: `CB-${n}`, firmwareVersion: '1.8.4-build.2231', iccid: '8944500102198304826', imsi: '234500010239482', meterType: 'DZG DVH4014', meterSerialNumber: `M-${n}` },
      status: 'Accepted',
      at: now - 86_400_000,
    },
    connectors: {
      '0': { connector: '0', status: 'Available', errorCode: 'NoError', at: now - 86_400_000 },
      '1': { connector: '1', status: 'Available', errorCode: 'NoError', at: now - 3_600_000 },
      '2': { connector: '2', status: 'Charging', errorCode: 'NoError', at: now - 600_000 },
    },
    shard: null,
    connId: null,
  }));
  const text = JSON.stringify({ format: 'ocpp-router/stations@1', savedAt: now, stations });
  writeFileSync(join(dataDir, 'stations.json'), text);
  return text.length;
}

/**
 * A SQLite store file with `stations` station rows (`BENCH-0 …`, ~700 B each) and `transactions` finished
 * transactions spread over the last `days` days (one in 50 still open), written with multi-row INSERTs through a
 * connection of its own (the migrations are applied first by the engine). For the export benchmark and tests.
 */
export async function prefillSqliteStore(file: string, counts: { stations: number; transactions: number; days?: number }): Promise<void> {
  const { SqliteEngine } = await import('../src/store/sqlite/engine.js');
  const engine = new SqliteEngine({ file, synchronous: 'OFF' });
  await engine.open();
  await engine.close();
  const { default: Database } = await import('libsql');
  const db = new Database(file);
  const now = Date.now();
  const span = (counts.days ?? 90) * 86_400_000;
  const insert = (table: string, columns: string[], rows: unknown[][]): void => {
    const tuple = `(${columns.map(() => '?').join(',')})`;
    for (let i = 0; i < rows.length; i += 500) {
      const chunk = rows.slice(i, i + 500);
      db.prepare(`INSERT INTO ${table} (${columns.join(',')}) VALUES ${chunk.map(() => tuple).join(',')}`).run(...chunk.flat());
    }
  };
  db.exec('BEGIN');
  const boot = (n: number): string => JSON.stringify({ payload: { chargePointVendor: 'BenchVendor', chargePointModel: 'BenchModel-22kW', chargePointSerialNumber: `SN-${1_000_000 + n}`, firmwareVersion: '1.8.4-build.2231', meterSerialNumber: `M-${n}` }, status: 'Accepted', at: now - 86_400_000 });
  const connectors = JSON.stringify({ '0': { connector: '0', status: 'Available', errorCode: 'NoError', at: now - 86_400_000 }, '1': { connector: '1', status: 'Available', errorCode: 'NoError', at: now - 3_600_000 }, '2': { connector: '2', status: 'Charging', errorCode: 'NoError', at: now - 600_000 } });
  for (let from = 0; from < counts.stations; from += 10_000) {
    const rows: unknown[][] = [];
    for (let n = from; n < Math.min(counts.stations, from + 10_000); n++) rows.push([`BENCH-${n}`, null, 'ocpp1.6', 'ws', null, 0, `127.0.0.${2 + (n % 200)}`, now - 86_400_000, now - 60_000, '{"code":1006,"reason":""}', now - 60_000, boot(n), connectors, now]);
    insert('stations', ['identity', 'account', 'version', 'transport', 'callback_url', 'connected', 'remote_address', 'connected_at', 'disconnected_at', 'last_disconnect', 'last_message_at', 'boot', 'connectors', 'updated_at'], rows);
  }
  for (let from = 0; from < counts.transactions; from += 10_000) {
    const rows: unknown[][] = [];
    for (let n = from; n < Math.min(counts.transactions, from + 10_000); n++) {
      const started = now - span + Math.floor((n / counts.transactions) * span);
      const open = n % 50 === 49;
      rows.push([`BENCH-${n % Math.max(1, counts.stations)}`, String(100_000 + n), '1', `TAG-${n % 5000}`, n * 10, open ? null : n * 10 + 22_000, started, open ? null : started + 3_600_000, open ? null : 'Local', open ? 'Charging' : null, 'Accepted', null, 0, open ? 1 : 0, started]);
    }
    insert('transactions', ['identity', 'station_tx_id', 'connector', 'id_tag', 'meter_start', 'meter_stop', 'started_at', 'stopped_at', 'stop_reason', 'charging_state', 'auth_status', 'reservation_id', 'last_seq_no', 'open', 'updated_at'], rows);
  }
  db.exec('COMMIT');
  db.exec('PRAGMA wal_checkpoint(TRUNCATE)');
  db.close();
}
