import { isV2, type StationVersion } from './versions.js';

/**
 * RPC error codes, canonical (2.x) spelling. Code inside the router always uses these; the wire spelling
 * for a version is chosen only when a CALLERROR is serialized (DESIGN.md §5).
 */
export const RpcErrorCode = {
  FormatViolation: 'FormatViolation',
  GenericError: 'GenericError',
  InternalError: 'InternalError',
  MessageTypeNotSupported: 'MessageTypeNotSupported',
  NotImplemented: 'NotImplemented',
  NotSupported: 'NotSupported',
  OccurrenceConstraintViolation: 'OccurrenceConstraintViolation',
  PropertyConstraintViolation: 'PropertyConstraintViolation',
  ProtocolError: 'ProtocolError',
  RpcFrameworkError: 'RpcFrameworkError',
  SecurityError: 'SecurityError',
  TypeConstraintViolation: 'TypeConstraintViolation',
} as const;
export type RpcErrorCode = (typeof RpcErrorCode)[keyof typeof RpcErrorCode];

/**
 * OCPP-J 1.6 Table 7 keeps two misspellings that the 2025-04 errata (§5.1, §5.2) say will not be fixed, and
 * has no RpcFrameworkError / MessageTypeNotSupported: a frame that is not a valid RPC structure is a
 * FormationViolation ("not conform the PDU structure") in 1.6, and an unknown message type is ignored
 * there (OCPP-J 1.6 §4.1.3), so its mapping is used only if a caller insists on answering.
 */
const WIRE_1_6: Record<RpcErrorCode, string> = {
  FormatViolation: 'FormationViolation',
  GenericError: 'GenericError',
  InternalError: 'InternalError',
  MessageTypeNotSupported: 'NotSupported',
  NotImplemented: 'NotImplemented',
  NotSupported: 'NotSupported',
  OccurrenceConstraintViolation: 'OccurenceConstraintViolation',
  PropertyConstraintViolation: 'PropertyConstraintViolation',
  ProtocolError: 'ProtocolError',
  RpcFrameworkError: 'FormationViolation',
  SecurityError: 'SecurityError',
  TypeConstraintViolation: 'TypeConstraintViolation',
};

/** The spelling of `code` on the wire for `version`. */
export function wireErrorCode(version: StationVersion, code: RpcErrorCode): string {
  return isV2(version) ? code : WIRE_1_6[code];
}

const FROM_WIRE_1_6: Record<string, RpcErrorCode> = {
  FormationViolation: 'FormatViolation',
  OccurenceConstraintViolation: 'OccurrenceConstraintViolation',
};

/** Reads an error code received from a peer into the canonical spelling; unknown codes give undefined. */
export function canonicalErrorCode(version: StationVersion, wire: string): RpcErrorCode | undefined {
  if (!isV2(version) && Object.hasOwn(FROM_WIRE_1_6, wire)) return FROM_WIRE_1_6[wire];
  return Object.hasOwn(RpcErrorCode, wire) ? (wire as RpcErrorCode) : undefined;
}
