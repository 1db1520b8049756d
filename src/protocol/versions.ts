/** OCPP-J versions this router speaks. The subprotocol name doubles as the version id (OCPP-J 1.6 Table 1,
 *  2.0.1 Part 4 Table 1, 2.1 Part 4 Table 1). */
export const OCPP_VERSIONS = ['ocpp1.6', 'ocpp2.0.1', 'ocpp2.1'] as const;
export type OcppVersion = (typeof OCPP_VERSIONS)[number];

export function isOcppVersion(value: unknown): value is OcppVersion {
  return typeof value === 'string' && (OCPP_VERSIONS as readonly string[]).includes(value);
}

/**
 * Every OCPP version a station may speak here, over either transport: the OCPP-J subprotocols above, and 1.5,
 * which exists only as OCPP-S (SOAP; 1.6 is both). Sessions, the registry and the backends carry this type; the
 * WebSocket handshake, the OCA JSON schemas and OCPP-J framing take OcppVersion. The RPC rules of 1.5 (one
 * request at a time, the 1.6 error codes) are those of 1.6.
 */
export type StationVersion = OcppVersion | 'ocpp1.5';

/** Versions whose RPC framework is the 2.x one (RpcFrameworkError, MessageTypeNotSupported, "-1" ids). */
export function isV2(version: StationVersion): boolean {
  return version === 'ocpp2.0.1' || version === 'ocpp2.1';
}

/** Message type numbers (OCPP-J 1.6 §4.1.3, 2.0.1 Part 4 §4.1.3, 2.1 Part 4 §4.1.3). */
export const MessageType = {
  CALL: 2,
  CALLRESULT: 3,
  CALLERROR: 4,
  /** 2.1 only: an error in reply to a CALLRESULT. */
  CALLRESULTERROR: 5,
  /** 2.1 only: unconfirmed message, no reply. */
  SEND: 6,
} as const;
export type MessageTypeId = (typeof MessageType)[keyof typeof MessageType];

export const MESSAGE_TYPE_NAMES: Record<number, string> = {
  2: 'CALL',
  3: 'CALLRESULT',
  4: 'CALLERROR',
  5: 'CALLRESULTERROR',
  6: 'SEND',
};

/** Message types a peer may send for a version. */
export function supportsMessageType(version: StationVersion, type: number): boolean {
  if (type >= 2 && type <= 4) return true;
  return version === 'ocpp2.1' && (type === 5 || type === 6);
}
