/**
 * One store interface, two engines: SQLite in a file under `dataDir` (the default, ./sqlite/) and PostgreSQL for
 * production (./postgres/). The store thread (./worker.ts) owns the engine; everything else talks to it through
 * a StoreClient. An engine writes a batch of records in one transaction and answers the queries below.
 */
import type { SampleRow, StationRow, StoreRecord } from './records.js';
import type { FlexOps } from './flex-sql.js';

/** A transaction as the API shows it. Energy in Wh; times epoch ms. */
export interface TransactionView {
  id: number;
  identity: string;
  transactionId: string;
  connector: string | null;
  idTag: string | null;
  meterStart: number | null;
  meterStop: number | null;
  /** Stop − start; without a stop reading, the last energy reading − start (energy so far). */
  energyWh: number | null;
  /** Running transactions: the last power reading (W) and when the last sample was taken (epoch ms). */
  powerW: number | null;
  lastMeterAt: number | null;
  startedAt: number | null;
  stoppedAt: number | null;
  stopReason: string | null;
  chargingState: string | null;
  authStatus: string | null;
  reservationId: number | null;
  open: boolean;
}

/** A meter value as the queries return it: the row as derived. */
export type MeterValueView = SampleRow;

export interface TransactionDetail extends TransactionView {
  meterValues: MeterValueView[];
  events: Array<{ eventType: string; triggerReason: string; seqNo: number; at: number }>;
}

export interface TransactionFilter {
  identity?: string;
  idTag?: string;
  /** Started at or after (epoch ms). */
  from?: number;
  /** Started before. */
  to?: number;
  open?: boolean;
  limit: number;
  /** Newest first: ids below this one. */
  before?: number;
}

export interface IdTagView {
  idTag: string;
  /** Accepted, Blocked, Expired, Invalid: the operator's list (null: only seen, not listed). */
  status: string | null;
  expiry: number | null;
  parentIdTag: string | null;
  note: string | null;
  listed: boolean;
  lastStatus: string | null;
  lastUsedAt: number | null;
  updatedAt: number;
}

export interface ReservationView {
  id: number;
  identity: string;
  connector: string | null;
  idTag: string | null;
  expiry: number | null;
  status: string;
  createdAt: number;
  updatedAt: number;
}

export interface MessageView {
  id: number;
  uniqueId: string;
  action: string;
  payload: unknown;
  reply: unknown;
  at: number;
}

/** Queries: `kind → [arguments, answer]`. */
export type StoreQueries = {
  /** Every station row, as one JSON array text of StationRow (see sql-reads.ts: why a string). */
  stations: [null, string];
  transactions: [TransactionFilter, { items: TransactionView[]; nextBefore: number | null }];
  /** `since`: only the meter values sampled after it (epoch ms), for a view that follows a running transaction. */
  transaction: [{ id: number; since?: number }, TransactionDetail | null];
  reservations: [{ identity?: string; from?: number; to?: number; limit: number }, ReservationView[]];
  idTags: [{ listedOnly: boolean }, IdTagView[]];
  idTag: [{ idTag: string }, IdTagView | null];
  messages: [{ identity: string; limit: number }, MessageView[]];
  counts: [null, Record<string, number>];
};

/** Changes that are not station records but must be ordered with them (the writer serializes both). */
export type StoreMutation =
  | { k: 'idTagPut'; idTag: string; status: string; expiry: number | null; parentIdTag: string | null; note: string | null; at: number }
  | { k: 'idTagDelete'; idTag: string }
  | { k: 'reservation'; id: number; identity: string; connector: string | null; idTag: string | null; expiry: number | null; status: string; at: number };

export type StoreWrite = StoreRecord | StoreMutation;

export interface StoreEngine {
  readonly name: 'sqlite' | 'postgres';
  /** Connects and applies the missing migrations. */
  open(): Promise<void>;
  /** Writes the batch in one transaction; rejects (and keeps nothing of it) on failure. */
  write(batch: readonly StoreWrite[]): Promise<void>;
  query<K extends keyof StoreQueries>(kind: K, args: StoreQueries[K][0]): Promise<StoreQueries[K][1]>;
  /** One flexibility operation in its own transaction, committed when it resolves (./flex-sql.ts). */
  flex<K extends keyof FlexOps>(op: K, args: FlexOps[K][0]): Promise<FlexOps[K][1]>;
  /** Deletes up to `max` rows older than `before` from the pruned tables; resolves with how many. */
  prune(before: number, max: number): Promise<number>;
  close(): Promise<void>;
}

/** The store cannot be reached now (connection refused, database restarting): worth retrying later. */
export class StoreUnavailable extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StoreUnavailable';
  }
}
