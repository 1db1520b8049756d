/**
 * The API over the store: the ocpp-cs lists (`POST /CentralSystem/TransactionList`, `/ReservationList` with
 * `{identity, dateFrom, dateTo}`), transactions with filters, paging and CSV, one transaction with its meter values,
 * the editable id-tag list, a station's recent messages, and removing a station that is gone. Every answer comes
 * from the store thread (src/store/); with `store.engine: "off"` these routes answer 503.
 */
import type { RouterServer } from '../control/router.js';
import type { StoreClient } from '../store/client.js';
import type { TransactionFilter, TransactionView } from '../store/engine.js';
import { errorResponse, jsonResponse, type WebRequest, type WebResponse } from '../http/types.js';
import { parseForm } from '../protocol/commands/form-body.js';
import type { Route, RouteContext } from './route-table.js';
import { csvText, iso } from '../store/export-csv.js';
import { ErrorCode, RouterError } from '../protocol/errors.js';

const LIST_MAX = 10_000;
const PAGE_DEFAULT = 100;
const PAGE_MAX = 1000;
const CSV_MAX_ROWS = 1_000_000;
const TAG_STATUSES = ['Accepted', 'Blocked', 'Expired', 'Invalid'] as const;

function storeOff(): WebResponse {
  return errorResponse(503, 'the store is off (store.engine: "off"): nothing is kept to list', { reason: 'STORE_OFF' });
}

type Fields = { ok: true; value: Record<string, unknown> } | { ok: false; response: WebResponse };

/** A body as JSON or form fields (ocpp-cs clients send either). */
function readFields(request: WebRequest): Fields {
  const type = (request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (request.body.trim() === '') return { ok: true, value: {} };
  if (type === 'application/x-www-form-urlencoded') {
    try {
      return { ok: true, value: parseForm(request.body) as Record<string, unknown> };
    } catch (error) {
      return { ok: false, response: errorResponse(400, `form body: ${(error as Error).message}`) };
    }
  }
  try {
    const value = JSON.parse(request.body) as unknown;
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return { ok: false, response: errorResponse(400, 'body must be a JSON object') };
    return { ok: true, value: value as Record<string, unknown> };
  } catch (error) {
    return { ok: false, response: errorResponse(400, `body is not JSON: ${(error as Error).message}`) };
  }
}

/** An ISO 8601 date or epoch milliseconds → epoch ms; undefined when absent; a problem text when malformed. */
function time(name: string, raw: unknown, problems: string[]): number | undefined {
  if (raw === undefined || raw === null || raw === '') return undefined;
  const value = typeof raw === 'number' ? raw : /^\d{1,15}$/.test(String(raw)) ? Number(raw) : Date.parse(String(raw));
  if (!Number.isFinite(value)) {
    problems.push(`${name} must be an ISO 8601 date-time or epoch milliseconds`);
    return undefined;
  }
  return value;
}


/** The ocpp-cs TransactionList item (plus `transactionId`, the station's id, and `open`). */
function ocppCsTransaction(t: TransactionView): Record<string, unknown> {
  const connector = t.connector === null ? null : Number(t.connector.split('/')[0]);
  return {
    id: t.id,
    transactionId: t.transactionId,
    idTag: t.idTag,
    identity: t.identity,
    connectorId: Number.isFinite(connector) ? connector : null,
    meterStart: t.meterStart,
    meterStop: t.meterStop,
    value: t.energyWh,
    reservationId: t.reservationId,
    reason: t.stopReason,
    dateStart: iso(t.startedAt),
    dateStop: iso(t.stoppedAt),
    open: t.open,
  };
}

function csv(header: string[], rows: unknown[][], filename: string): WebResponse {
  return csvBody(csvText(header, rows), filename);
}

function csvBody(body: string, filename: string): WebResponse {
  return { status: 200, headers: { 'Content-Type': 'text/csv; charset=utf-8', 'Content-Disposition': `attachment; filename="${filename}"` }, body };
}

function wantsCsv(ctx: RouteContext): boolean {
  return ctx.query.get('format') === 'csv' || (ctx.request.headers.accept ?? '').split(',')[0]!.trim().startsWith('text/csv');
}

export function storeRoutes(server: RouterServer, prefix: string): Route[] {
  const withStore = (fn: (store: StoreClient, ctx: RouteContext) => Promise<WebResponse> | WebResponse) => (ctx: RouteContext): Promise<WebResponse> | WebResponse => {
    const store = server.store;
    if (store === null) return storeOff();
    // A long read whose pool thread died (or failed) is a 503 saying so; the pool has replaced the thread.
    const readFailed = (error: unknown): WebResponse => {
      const details = error instanceof RouterError && error.code === ErrorCode.PERSISTENCE ? (error.details as { reason?: string } | undefined) : undefined;
      if (details?.reason === 'STORE_READ_FAILED') return errorResponse(503, (error as Error).message, { reason: 'STORE_READ_FAILED' });
      throw error;
    };
    try {
      const result = fn(store, ctx);
      return result instanceof Promise ? result.catch(readFailed) : result;
    } catch (error) {
      return readFailed(error);
    }
  };

  const ocppCsList = (kind: 'TransactionList' | 'ReservationList') =>
    withStore(async (store, { request }) => {
      const fields = readFields(request);
      if (!fields.ok) return fields.response;
      const body = fields.value;
      const problems: string[] = [];
      const identity = typeof body.identity === 'string' && body.identity !== '' ? body.identity : null;
      if (identity === null) problems.push('identity is required');
      const from = time('dateFrom', body.dateFrom, problems);
      const to = time('dateTo', body.dateTo, problems);
      if (problems.length > 0) return errorResponse(400, `bad ${kind} request`, { problems });
      if (kind === 'TransactionList') {
        const filter: TransactionFilter = { identity: identity!, limit: LIST_MAX };
        if (from !== undefined) filter.from = from;
        if (to !== undefined) filter.to = to;
        const { items } = await store.query('transactions', filter);
        return jsonResponse(200, { TransactionList: items.map(ocppCsTransaction) });
      }
      const reservations = await store.query('reservations', { identity: identity!, ...(from === undefined ? {} : { from }), ...(to === undefined ? {} : { to }), limit: LIST_MAX });
      return jsonResponse(200, {
        ReservationList: reservations.map((r) => ({ id: r.id, idTag: r.idTag, identity: r.identity, connectorId: r.connector === null ? null : Number(r.connector), expiryDate: iso(r.expiry), status: r.status, dateStart: iso(r.createdAt), dateStop: r.status === 'Accepted' ? null : iso(r.updatedAt) })),
      });
    });

  const transactions = withStore(async (store, ctx) => {
    const q = ctx.query;
    const problems: string[] = [];
    const csvMode = wantsCsv(ctx);
    const limitRaw = q.get('limit');
    const limit = limitRaw === null ? (csvMode ? CSV_MAX_ROWS : PAGE_DEFAULT) : /^\d{1,7}$/.test(limitRaw) ? Number(limitRaw) : NaN;
    if (!(limit >= 1 && limit <= (csvMode ? CSV_MAX_ROWS : PAGE_MAX))) problems.push(`limit must be an integer from 1 to ${csvMode ? CSV_MAX_ROWS : PAGE_MAX}`);
    const filter: TransactionFilter = { limit };
    const identity = q.get('identity');
    if (identity !== null && identity !== '') filter.identity = identity;
    const idTag = q.get('idTag');
    if (idTag !== null && idTag !== '') filter.idTag = idTag;
    const from = time('from', q.get('from'), problems);
    if (from !== undefined) filter.from = from;
    const to = time('to', q.get('to'), problems);
    if (to !== undefined) filter.to = to;
    const open = q.get('open');
    if (open !== null) {
      if (open === 'true' || open === 'false') filter.open = open === 'true';
      else problems.push('open must be true or false');
    }
    const before = q.get('before');
    if (before !== null) {
      if (/^\d{1,15}$/.test(before)) filter.before = Number(before);
      else problems.push('before must be a transaction id (the nextBefore of the previous page)');
    }
    if (problems.length > 0) return errorResponse(400, 'bad query', { problems });
    if (csvMode) return csvBody(await store.transactionsCsv(filter), 'transactions.csv');
    const page = await store.query('transactions', filter);
    return jsonResponse(200, { items: page.items, nextBefore: page.nextBefore });
  });

  const transaction = withStore(async (store, ctx) => {
    const raw = ctx.params.id!;
    if (!/^\d{1,15}$/.test(raw)) return errorResponse(400, 'a transaction id is a number', { reason: 'BAD_ID' });
    const problems: string[] = [];
    const since = time('since', ctx.query.get('since'), problems);
    if (problems.length > 0) return errorResponse(400, 'bad query', { problems });
    const detail = await store.query('transaction', { id: Number(raw), ...(since !== undefined ? { since } : {}) });
    if (detail === null) return errorResponse(404, `unknown transaction ${raw}`, { reason: 'TRANSACTION_NOT_FOUND' });
    if (wantsCsv(ctx)) {
      return csv(['ts', 'measurand', 'phase', 'unit', 'context', 'location', 'value', 'text'], detail.meterValues.map((m) => [iso(m.ts), m.measurand, m.phase, m.unit, m.context, m.location, m.value, m.text]), `transaction-${detail.id}-meter-values.csv`);
    }
    return jsonResponse(200, detail);
  });

  const idTags = withStore(async (store, ctx) => jsonResponse(200, { items: await store.query('idTags', { listedOnly: ctx.query.get('listed') === 'true' }) }));

  const putIdTag = withStore(async (store, ctx) => {
    const idTag = ctx.params.idTag!;
    const fields = readFields(ctx.request);
    if (!fields.ok) return fields.response;
    const body = fields.value;
    const problems: string[] = [];
    if (idTag.length > 36) problems.push('an id tag is at most 36 characters (1.6: 20)');
    const status = body.status ?? 'Accepted';
    if (!(TAG_STATUSES as readonly unknown[]).includes(status)) problems.push(`status must be one of ${TAG_STATUSES.join(', ')}`);
    const expiry = time('expiryDate', body.expiryDate, problems) ?? null;
    const parent = body.parentIdTag ?? null;
    if (parent !== null && (typeof parent !== 'string' || parent.length > 36)) problems.push('parentIdTag must be a string of at most 36 characters');
    const note = body.note ?? null;
    if (note !== null && (typeof note !== 'string' || note.length > 1000)) problems.push('note must be a string of at most 1000 characters');
    if (problems.length > 0) return errorResponse(400, 'bad id tag', { problems });
    await server.idTags!.put({ idTag, status: status as string, expiry, parentIdTag: parent as string | null, note: note as string | null });
    return jsonResponse(200, await store.query('idTag', { idTag }));
  });

  const deleteIdTag = withStore(async (store, ctx) => {
    const idTag = ctx.params.idTag!;
    const found = await store.query('idTag', { idTag });
    if (found === null || !found.listed) return errorResponse(404, `${idTag} is not on the list`, { reason: 'ID_TAG_NOT_FOUND' });
    await server.idTags!.remove(idTag);
    return { status: 204 };
  });

  const messages = withStore(async (store, ctx) => {
    const identity = ctx.params.identity!;
    if (server.station(identity) === undefined) return errorResponse(404, `unknown station ${identity}`, { reason: 'STATION_NOT_FOUND' });
    const raw = ctx.query.get('limit');
    const limit = raw === null ? 50 : /^\d{1,4}$/.test(raw) ? Number(raw) : NaN;
    if (!(limit >= 1 && limit <= 1000)) return errorResponse(400, 'limit must be an integer from 1 to 1000');
    return jsonResponse(200, { items: await store.query('messages', { identity, limit }) });
  });

  const deleteStation = ({ params }: RouteContext): WebResponse | Promise<WebResponse> => {
    const identity = params.identity!;
    const record = server.station(identity);
    if (record === undefined) return errorResponse(404, `unknown station ${identity}`, { reason: 'STATION_NOT_FOUND' });
    if (record.connected) return errorResponse(409, `${identity} is connected: it can be removed once it is gone`, { reason: 'STATION_CONNECTED' });
    return server.removeStation(identity).then(() => ({ status: 204 }));
  };

  return [
    { method: 'POST', path: `${prefix}/CentralSystem/TransactionList`, access: 'read', handle: ocppCsList('TransactionList') },
    { method: 'POST', path: `${prefix}/CentralSystem/ReservationList`, access: 'read', handle: ocppCsList('ReservationList') },
    { method: 'GET', path: `${prefix}/transactions`, access: 'read', handle: transactions },
    { method: 'GET', path: `${prefix}/transactions/{id}`, access: 'read', handle: transaction },
    { method: 'GET', path: `${prefix}/idtags`, access: 'read', handle: idTags },
    { method: 'PUT', path: `${prefix}/idtags/{idTag}`, access: 'operator', handle: putIdTag },
    { method: 'DELETE', path: `${prefix}/idtags/{idTag}`, access: 'operator', handle: deleteIdTag },
    { method: 'GET', path: `${prefix}/stations/{identity}/messages`, access: 'read', handle: messages },
    { method: 'DELETE', path: `${prefix}/stations/{identity}`, access: 'operator', handle: deleteStation },
  ];
}
