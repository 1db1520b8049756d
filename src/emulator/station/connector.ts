/**
 * A connector of an emulated station and the charging session on it: plain state, read and changed by the
 * station (./charging.ts) and by the command handlers (../commands/), which import only this leaf.
 */

export interface Session {
  /** 1.6: the central system's transactionId (undefined until StartTransaction.conf); 2.x: ours. */
  id: number | string | undefined;
  idTag: string;
  startWh: number;
  startedAt: number;
  lastSampleAt: number;
  /** Planned end (0: until stopped). */
  stopAt: number;
  seqNo: number;
  remote: boolean;
  remoteStartId?: number;
  reservationId?: number;
  ended: boolean;
}

/** How a session starts (`durationS` 0 or absent: until stopped). */
export interface SessionOptions {
  remote?: boolean;
  remoteStartId?: number;
  durationS?: number;
  idTokenType?: string;
}

export class Connector {
  status = 'Available';
  errorCode = 'NoError';
  meterWh = 0;
  meterAt = 0;
  session: Session | null = null;
  reservation: { id: number; idTag: string; expiresAt: number } | null = null;
  /** Next random arrival (0: none planned). */
  nextArrivalAt = 0;
  /** Availability change waiting for the session to end (ChangeAvailability "Scheduled"). */
  pendingOperative: boolean | null = null;
  constructor(readonly evseId: number, readonly connectorId: number, readonly powerW: number) {}
}
