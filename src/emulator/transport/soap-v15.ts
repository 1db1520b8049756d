/**
 * OCPP 1.5 payloads of the CentralSystemService, from and to the 1.6 shapes the station logic builds. An OCPP
 * 1.5 station (OCPP-S only) runs the 1.6 logic; what the 1.5 WSDL (ocpp_centralsystemservice_1.5_final.wsdl)
 * declares differently is converted here, at the edge, and the result is validated with the 1.5 validators
 * before it is sent:
 *  - StatusNotification: ChargePointStatus has Available, Occupied, Faulted, Unavailable, Reserved (1.6
 *    Preparing, Charging, SuspendedEV(SE), Finishing → Occupied); ChargePointErrorCode has Mode3Error (1.6
 *    EVCommunicationError) and no InternalError / LocalListConflict (→ OtherError);
 *  - MeterValues: `values` of MeterValue { timestamp, value[] } where a value is text with the attributes
 *    context, format, measurand, location, unit (1.6 `meterValue` of { timestamp, sampledValue[] }); units
 *    `Amp` and `Volt` (1.6 `A`, `V`);
 *  - StopTransaction: no `reason`; `transactionData` is a list of { values: MeterValue[] };
 *  - BootNotification.conf: `heartbeatInterval` (1.6 `interval`).
 * Authorize, StartTransaction, Heartbeat, DataTransfer and the firmware / diagnostics notifications have the
 * same fields (their 1.5 status enums are smaller: the 1.5 command handlers send only 1.5 statuses).
 */
import type { Payload } from '../../protocol/ocpp-j/frames.js';

const STATUS_15: Record<string, string> = {
  Available: 'Available',
  Preparing: 'Occupied',
  Charging: 'Occupied',
  SuspendedEV: 'Occupied',
  SuspendedEVSE: 'Occupied',
  Finishing: 'Occupied',
  Reserved: 'Reserved',
  Unavailable: 'Unavailable',
  Faulted: 'Faulted',
};

const ERROR_15: Record<string, string> = {
  EVCommunicationError: 'Mode3Error',
  InternalError: 'OtherError',
  LocalListConflict: 'OtherError',
};

const UNIT_15: Record<string, string> = { A: 'Amp', V: 'Volt' };

/** A 1.6 MeterValue { timestamp, sampledValue[] } as a 1.5 MeterValue { timestamp, value[] }. */
function meterValue15(mv: Payload): Payload {
  const samples = Array.isArray(mv.sampledValue) ? (mv.sampledValue as Payload[]) : [];
  return {
    timestamp: mv.timestamp,
    value: samples.map((s) => {
      const v: Payload = { value: s.value };
      if (s.context !== undefined) v.context = s.context;
      if (s.format !== undefined) v.format = s.format;
      if (s.measurand !== undefined) v.measurand = s.measurand;
      if (s.location !== undefined) v.location = s.location;
      if (s.unit !== undefined) v.unit = UNIT_15[s.unit as string] ?? s.unit;
      return v;
    }),
  };
}

function meterValues15(list: unknown): Payload[] {
  return Array.isArray(list) ? (list as Payload[]).map(meterValue15) : [];
}

/** The 1.5 wire payload of a station → central system CALL built in the 1.6 shape. */
export function toWire15(action: string, p: Payload): Payload {
  switch (action) {
    case 'StatusNotification': {
      const out: Payload = { ...p, status: STATUS_15[p.status as string] ?? p.status };
      if (typeof p.errorCode === 'string' && Object.hasOwn(ERROR_15, p.errorCode)) out.errorCode = ERROR_15[p.errorCode];
      return out;
    }
    case 'MeterValues': {
      const out: Payload = { connectorId: p.connectorId };
      if (p.transactionId !== undefined) out.transactionId = p.transactionId;
      out.values = meterValues15(p.meterValue);
      return out;
    }
    case 'StopTransaction': {
      const out: Payload = { transactionId: p.transactionId };
      if (p.idTag !== undefined) out.idTag = p.idTag;
      out.timestamp = p.timestamp;
      out.meterStop = p.meterStop;
      if (Array.isArray(p.transactionData) && p.transactionData.length > 0) out.transactionData = [{ values: meterValues15(p.transactionData) }];
      return out;
    }
    default:
      return p;
  }
}

/** A 1.5 CALLRESULT payload in the 1.6 shape the station logic reads. */
export function fromWire15(action: string, p: Payload): Payload {
  if (action === 'BootNotification' && p.interval === undefined && p.heartbeatInterval !== undefined) return { ...p, interval: p.heartbeatInterval };
  return p;
}
