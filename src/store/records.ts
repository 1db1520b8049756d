/**
 * What the store keeps, as records a thread hands to the store writer: plain data, small, cloneable. A shard
 * derives them from a station's CALL and its answer (./derive.ts) and waits for their commit before it answers
 * the station; the control plane writes station state and the commands it sent. Times are epoch milliseconds.
 */

/** One sampled value of a meter value (1.5 `value`, 1.6 `sampledValue`, 2.x `sampledValue`). */
export interface SampleRow {
  /** When it was sampled (the MeterValue's timestamp), epoch ms. */
  ts: number;
  measurand: string;
  phase: string | null;
  unit: string | null;
  context: string | null;
  location: string | null;
  /** The value as a number (2.x: times 10^multiplier), null when it is not one (1.x SignedData …). */
  value: number | null;
  /** The value as sent when it is not a plain number (signed data, odd text). */
  text: string | null;
}

export type StoreRecord =
  /** A station CALL and the answer it got: the journal ("Recent messages", the crash test's proof). */
  | { k: 'message'; identity: string; uniqueId: string; action: string; payload: string; reply: string | null; at: number }
  | { k: 'boot'; identity: string; payload: string; status: string; at: number }
  /** A connector's status: `connector` 1.x connectorId (0 = the station), 2.x `${evseId}/${connectorId}`. */
  | { k: 'status'; identity: string; connector: string; status: string; errorCode: string | null; info: string | null; at: number }
  /** 1.x StartTransaction and its answer: `txId` the central system's transactionId, as text. */
  | { k: 'txStart'; identity: string; txId: string; connector: string; idTag: string; meterStart: number; reservationId: number | null; at: number; authStatus: string | null }
  | { k: 'txStop'; identity: string; txId: string; meterStop: number; reason: string | null; idTag: string | null; at: number }
  /** 2.x TransactionEvent: folded into one transaction row (`txId` the station's transactionId) plus the event. */
  | {
      k: 'txEvent';
      identity: string;
      txId: string;
      eventType: 'Started' | 'Updated' | 'Ended';
      triggerReason: string;
      seqNo: number;
      connector: string | null;
      idTag: string | null;
      chargingState: string | null;
      stoppedReason: string | null;
      /** First and last energy register reading of the event, Wh (meter start on Started, stop on Ended). */
      energyWh: number | null;
      payload: string;
      at: number;
    }
  /** Sampled values: `txId` the transaction they belong to (1.x id or 2.x transactionId), if any. */
  | { k: 'meter'; identity: string; connector: string | null; txId: string | null; rows: SampleRow[] }
  /** Firmware, diagnostics, log, security, reservation events (`kind`), with the status or type they report. */
  | { k: 'event'; identity: string; kind: StationEventKind; status: string; payload: string; at: number }
  /** An id tag was used (Authorize, transactions): its last use and the status it was answered with. */
  | { k: 'idTagUsed'; idTag: string; status: string | null; at: number }
  /** A command sent through the API (or by code) and what came of it. */
  | { k: 'command'; identity: string; action: string; request: string; outcome: 'result' | 'error' | 'timeout' | 'refused'; response: string | null; requestedAt: number; answeredAt: number }
  /** Station state from the control plane's registry (upsert; `deleted` removes the station). */
  | { k: 'station'; row: StationRow }
  | { k: 'stationDeleted'; identity: string };

export type StationEventKind = 'firmware' | 'signedFirmware' | 'publishFirmware' | 'diagnostics' | 'log' | 'security' | 'reservation';

/** A station as the store keeps it (the registry's record without its live connection). */
export interface StationRow {
  identity: string;
  account: string | null;
  version: string;
  transport: string;
  callbackUrl: string | null;
  connected: boolean;
  remoteAddress: string;
  connectedAt: number | null;
  disconnectedAt: number | null;
  lastDisconnect: { code: number; reason: string } | null;
  lastMessageAt: number | null;
  boot: { payload: Record<string, unknown>; status: string; at: number } | null;
  connectors: Record<string, { connector: string; status: string; errorCode?: string; at: number }>;
}
