/**
 * A station's CALL and the CALLRESULT it got → the records to keep, for every version and transport (OCPP-S 1.5
 * and 1.6 payloads arrive as JSON like OCPP-J ones). Pure: the shard calls it between computing the answer and
 * sending it, and answers only once these records are committed.
 *
 *  - 1.6: StartTransaction / StopTransaction (§6.45, §6.49; StopTransaction.transactionData), MeterValues (§6.33,
 *    `sampledValue[].value` is text), StatusNotification (§6.47), the status notifications of firmware (§6.27),
 *    diagnostics (§6.19), and of the security extension (log, signed firmware, security events).
 *  - 1.5: the same messages with `values[].value[]` for sampled values (1.5 WSDL MeterValue).
 *  - 2.0.1 / 2.1: TransactionEvent (E01–E15, folded into one transaction per transactionId), MeterValues (J01),
 *    StatusNotification (G01), firmware / log / security / reservation notifications.
 */
import type { SampleRow, StationEventKind, StoreRecord } from './records.js';

type Payload = Record<string, unknown>;

/** Actions whose CALL is never kept (nothing in them to keep: the last-message time is kept with the station). */
const NOT_KEPT: ReadonlySet<string> = new Set(['Heartbeat']);

const EVENTS: Readonly<Record<string, [StationEventKind, string]>> = {
  FirmwareStatusNotification: ['firmware', 'status'],
  SignedFirmwareStatusNotification: ['signedFirmware', 'status'],
  PublishFirmwareStatusNotification: ['publishFirmware', 'status'],
  DiagnosticsStatusNotification: ['diagnostics', 'status'],
  LogStatusNotification: ['log', 'status'],
  SecurityEventNotification: ['security', 'type'],
  ReservationStatusUpdate: ['reservation', 'reservationUpdateStatus'],
};

export function isKept(action: string): boolean {
  return !NOT_KEPT.has(action);
}

function time(value: unknown, fallback: number): number {
  if (typeof value !== 'string') return fallback;
  const t = Date.parse(value);
  return Number.isFinite(t) ? t : fallback;
}

function str(value: unknown): string | null {
  return typeof value === 'string' ? value : typeof value === 'number' ? String(value) : null;
}

function num(value: unknown): number | null {
  if (typeof value === 'number') return Number.isFinite(value) ? value : null;
  if (typeof value === 'string' && /^\s*-?\d+(\.\d+)?([eE][-+]?\d+)?\s*$/.test(value)) return Number(value);
  return null;
}

/** Sampled values of MeterValue objects: 1.6/2.x `sampledValue`, 1.5 `value`; `values` (1.5) or `meterValue`. */
export function samples(meterValues: unknown, at: number): SampleRow[] {
  const rows: SampleRow[] = [];
  if (!Array.isArray(meterValues)) return rows;
  for (const mv of meterValues as Payload[]) {
    // 1.5 StopTransaction.transactionData is a list of {values: MeterValue[]}.
    if (Array.isArray(mv.values) && mv.timestamp === undefined) {
      rows.push(...samples(mv.values, at));
      continue;
    }
    const ts = time(mv.timestamp, at);
    const list = (mv.sampledValue ?? mv.value) as Payload[] | undefined;
    if (!Array.isArray(list)) continue;
    for (const sv of list) {
      const unitOfMeasure = sv.unitOfMeasure as { unit?: unknown; multiplier?: unknown } | undefined;
      const multiplier = typeof unitOfMeasure?.multiplier === 'number' ? unitOfMeasure.multiplier : 0;
      const raw = num(sv.value);
      const signed = sv.format === 'SignedData';
      rows.push({
        ts,
        // OCPP 1.6 §7.31 / 2.0.1 SampledValueType: the default measurand is Energy.Active.Import.Register.
        measurand: str(sv.measurand) ?? 'Energy.Active.Import.Register',
        phase: str(sv.phase),
        unit: str(unitOfMeasure?.unit) ?? str(sv.unit) ?? (sv.measurand === undefined ? 'Wh' : null),
        context: str(sv.context),
        location: str(sv.location),
        value: raw === null || signed ? null : multiplier === 0 ? raw : raw * 10 ** multiplier,
        text: raw === null || signed ? str(sv.value) : null,
      });
    }
  }
  return rows;
}

/** The energy register reading (Wh) among `rows`: the first, or the last. */
function energyWh(rows: SampleRow[], which: 'first' | 'last'): number | null {
  const list = which === 'first' ? rows : [...rows].reverse();
  for (const r of list) {
    if (r.measurand !== 'Energy.Active.Import.Register' || r.value === null) continue;
    return r.unit === 'kWh' ? r.value * 1000 : r.value;
  }
  return null;
}

/**
 * The records of one answered CALL (`reply` the CALLRESULT payload). `journal`: keep the message itself too.
 * `at` is when the central system received it.
 */
export function deriveRecords(identity: string, uniqueId: string, action: string, request: Payload, reply: Payload, at: number, journal: boolean): StoreRecord[] {
  const out: StoreRecord[] = [];
  if (journal && isKept(action)) out.push({ k: 'message', identity, uniqueId, action, payload: JSON.stringify(request), reply: JSON.stringify(reply), at });
  switch (action) {
    case 'BootNotification':
      out.push({ k: 'boot', identity, payload: JSON.stringify(request), status: String(reply.status), at });
      break;
    case 'StatusNotification':
      out.push(
        request.connectorStatus !== undefined
          ? { k: 'status', identity, connector: `${String(request.evseId)}/${String(request.connectorId)}`, status: String(request.connectorStatus), errorCode: null, info: null, at: time(request.timestamp, at) }
          : { k: 'status', identity, connector: String(request.connectorId), status: String(request.status), errorCode: str(request.errorCode), info: str(request.info), at: time(request.timestamp, at) },
      );
      break;
    case 'StartTransaction': {
      const txId = str(reply.transactionId);
      const auth = (reply.idTagInfo as Payload | undefined)?.status;
      if (txId !== null) out.push({ k: 'txStart', identity, txId, connector: String(request.connectorId), idTag: String(request.idTag), meterStart: Number(request.meterStart), reservationId: num(request.reservationId), at: time(request.timestamp, at), authStatus: str(auth) });
      out.push({ k: 'idTagUsed', idTag: String(request.idTag), status: str(auth), at });
      break;
    }
    case 'StopTransaction': {
      const txId = str(request.transactionId)!;
      out.push({ k: 'txStop', identity, txId, meterStop: Number(request.meterStop), reason: str(request.reason), idTag: str(request.idTag), at: time(request.timestamp, at) });
      const rows = samples(request.transactionData, at);
      if (rows.length > 0) out.push({ k: 'meter', identity, connector: null, txId, rows });
      if (typeof request.idTag === 'string') out.push({ k: 'idTagUsed', idTag: request.idTag, status: str((reply.idTagInfo as Payload | undefined)?.status), at });
      break;
    }
    case 'MeterValues': {
      const rows = samples(request.meterValue ?? request.values, at);
      const connector = request.evseId !== undefined ? String(request.evseId) : str(request.connectorId);
      if (rows.length > 0) out.push({ k: 'meter', identity, connector, txId: str(request.transactionId), rows });
      break;
    }
    case 'TransactionEvent': {
      const info = request.transactionInfo as Payload;
      const evse = request.evse as { id?: unknown; connectorId?: unknown } | undefined;
      const rows = samples(request.meterValue, at);
      const eventType = request.eventType as 'Started' | 'Updated' | 'Ended';
      const idToken = (request.idToken as { idToken?: unknown } | undefined)?.idToken;
      out.push({
        k: 'txEvent',
        identity,
        txId: String(info.transactionId),
        eventType,
        triggerReason: String(request.triggerReason),
        seqNo: Number(request.seqNo),
        connector: evse?.id === undefined ? null : evse.connectorId === undefined ? String(evse.id) : `${String(evse.id)}/${String(evse.connectorId)}`,
        idTag: str(idToken),
        chargingState: str(info.chargingState),
        stoppedReason: str(info.stoppedReason),
        energyWh: energyWh(rows, eventType === 'Ended' ? 'last' : 'first'),
        payload: JSON.stringify(request),
        at: time(request.timestamp, at),
      });
      if (rows.length > 0) out.push({ k: 'meter', identity, connector: evse?.id === undefined ? null : String(evse.id), txId: String(info.transactionId), rows });
      if (typeof idToken === 'string' && idToken !== '') out.push({ k: 'idTagUsed', idTag: idToken, status: str((reply.idTokenInfo as Payload | undefined)?.status), at });
      break;
    }
    case 'Authorize': {
      const tag = request.idTag ?? (request.idToken as { idToken?: unknown } | undefined)?.idToken;
      const status = ((reply.idTagInfo ?? reply.idTokenInfo) as Payload | undefined)?.status;
      if (typeof tag === 'string') out.push({ k: 'idTagUsed', idTag: tag, status: str(status), at });
      break;
    }
    default: {
      const event = EVENTS[action];
      if (event !== undefined) out.push({ k: 'event', identity, kind: event[0], status: String(request[event[1]] ?? ''), payload: JSON.stringify(request), at: time(request.timestamp, at) });
    }
  }
  return out;
}
