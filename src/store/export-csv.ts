/**
 * CSV exports of the store's lists, built wherever the rows are: on the control plane from a store-thread answer,
 * or in a read-pool thread (./sqlite/read-worker.ts) so that a million-row export crosses to the control plane
 * as one string (a memcpy) instead of a million objects to clone and format on its event loop.
 */
import type { TransactionView } from './engine.js';

export const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

export function csvCell(v: unknown): string {
  if (v === null || v === undefined) return '';
  const s = String(v);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** Header line and rows, CRLF line ends (RFC 4180), a final CRLF. */
export function csvText(header: readonly string[], rows: readonly unknown[][]): string {
  let out = header.join(',') + '\r\n';
  for (const r of rows) out += r.map(csvCell).join(',') + '\r\n';
  return out;
}

const TRANSACTION_COLUMNS: ReadonlyArray<keyof TransactionView> = ['id', 'identity', 'transactionId', 'connector', 'idTag', 'startedAt', 'stoppedAt', 'meterStart', 'meterStop', 'energyWh', 'powerW', 'stopReason', 'open'];

/** `GET /transactions?format=csv`: times as ISO 8601. */
export function transactionsCsv(items: readonly TransactionView[]): string {
  return csvText(
    TRANSACTION_COLUMNS as string[],
    items.map((t) => TRANSACTION_COLUMNS.map((c) => (c === 'startedAt' || c === 'stoppedAt' ? iso(t[c] as number | null) : t[c]))),
  );
}
