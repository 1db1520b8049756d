/**
 * 1.6-style command bodies for 2.0.1 / 2.1 stations, translated where the meaning is clear (as ocpp-cs v2
 * does), so clients written for 1.6 keep working against newer stations. A translation is used only when
 * the body is a valid 1.6 request and not already a valid 2.x one.
 *
 *   Reset {type: Hard|Soft}                       → Reset {type: Immediate|OnIdle}
 *   RemoteStartTransaction {idTag, connectorId?}  → RequestStartTransaction {idToken:{idToken, type:ISO14443},
 *                                                   remoteStartId (generated), evseId?}   (no chargingProfile)
 *   RemoteStopTransaction {transactionId}         → RequestStopTransaction {transactionId: as text}
 *   ChangeAvailability {connectorId, type}        → ChangeAvailability {operationalStatus, evse?:{id}} (0: station)
 *   UnlockConnector {connectorId}                 → UnlockConnector {evseId: connectorId, connectorId: 1}
 *   TriggerMessage {requestedMessage, connectorId?} → TriggerMessage {requestedMessage, evse?:{id}}
 *                                                   (messages that exist in 2.x: BootNotification, Heartbeat,
 *                                                   MeterValues, StatusNotification, FirmwareStatusNotification)
 *   ReserveNow {connectorId, expiryDate, idTag, reservationId, parentIdTag?}
 *                                                 → ReserveNow {id, expiryDateTime, idToken, evseId?, groupIdToken?}
 * 1.6 connector ids become 2.x EVSE ids (a 1.6 connector is what 2.x calls an EVSE with one connector).
 */

/** 2.x action that a 1.6 action name stands for, when the names differ. */
export const RENAMED_FOR_V2: Readonly<Record<string, string>> = Object.freeze({
  RemoteStartTransaction: 'RequestStartTransaction',
  RemoteStopTransaction: 'RequestStopTransaction',
});

type Payload = Record<string, unknown>;
type Translator = (p: Payload) => Payload | null;

const TOKEN_TYPE = 'ISO14443';
const TRIGGERABLE = new Set(['BootNotification', 'Heartbeat', 'MeterValues', 'StatusNotification', 'FirmwareStatusNotification']);

/** remoteStartId for translated RemoteStartTransaction: seconds since epoch at start, then counting. */
let nextRemoteStartId = Math.floor(Date.now() / 1000) % 1_000_000_000;

function evse(connectorId: unknown): Payload {
  return typeof connectorId === 'number' && connectorId > 0 ? { id: connectorId } : {};
}

const TRANSLATORS: Readonly<Record<string, Translator>> = {
  Reset: (p) => ({ type: p.type === 'Hard' ? 'Immediate' : 'OnIdle' }),
  RemoteStartTransaction: (p) => {
    if (p.chargingProfile !== undefined) return null; // 1.6 and 2.x profiles differ too much to translate
    const out: Payload = { idToken: { idToken: p.idTag, type: TOKEN_TYPE }, remoteStartId: nextRemoteStartId++ };
    if (typeof p.connectorId === 'number' && p.connectorId > 0) out.evseId = p.connectorId;
    return out;
  },
  RemoteStopTransaction: (p) => ({ transactionId: String(p.transactionId) }),
  ChangeAvailability: (p) => {
    const e = evse(p.connectorId);
    return { operationalStatus: p.type, ...(e.id === undefined ? {} : { evse: e }) };
  },
  UnlockConnector: (p) => (typeof p.connectorId === 'number' && p.connectorId > 0 ? { evseId: p.connectorId, connectorId: 1 } : null),
  TriggerMessage: (p) => {
    if (!TRIGGERABLE.has(String(p.requestedMessage))) return null;
    const e = evse(p.connectorId);
    return { requestedMessage: p.requestedMessage, ...(e.id === undefined ? {} : { evse: e }) };
  },
  ReserveNow: (p) => {
    const out: Payload = { id: p.reservationId, expiryDateTime: p.expiryDate, idToken: { idToken: p.idTag, type: TOKEN_TYPE } };
    if (typeof p.connectorId === 'number' && p.connectorId > 0) out.evseId = p.connectorId;
    if (typeof p.parentIdTag === 'string') out.groupIdToken = { idToken: p.parentIdTag, type: TOKEN_TYPE };
    return out;
  },
};

/** True when a 1.6 body of `action16` may be translated for a 2.x station. */
export function isTranslatable(action16: string): boolean {
  return Object.hasOwn(TRANSLATORS, action16);
}

/** The 2.x payload for a valid 1.6 payload of `action16`, or null when its meaning is not clear. */
export function translateTo2x(action16: string, payload: Payload): Payload | null {
  const translate = TRANSLATORS[action16];
  return translate === undefined ? null : translate(payload);
}
