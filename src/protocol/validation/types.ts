import type { RpcErrorCode } from '../rpc-error-codes.js';

/** One schema violation, mapped to the OCPP RPC error code the spec gives for it. */
export interface ValidationIssue {
  /** Canonical error code for this violation (wire spelling is chosen when serialized). */
  code: RpcErrorCode;
  /** JSON pointer of the offending value inside the payload, '' for the root. */
  path: string;
  /** The JSON-Schema keyword that failed (type, required, additionalProperties, maxLength, enum …). */
  keyword: string;
  /** Human-readable text, e.g. "/chargePointVendor must NOT have more than 20 characters". */
  message: string;
}

export type ValidationResult = { ok: true } | { ok: false; issues: ValidationIssue[] };

/** Validates one payload; returns ok or every issue found. */
export type PayloadValidator = (payload: unknown) => ValidationResult;

/** Who sends the CALL of an action. */
export type Initiator = 'station' | 'central' | 'both';

export interface ActionValidators {
  action: string;
  initiator: Initiator;
  request: PayloadValidator;
  /** Absent for SEND-only messages (2.1 NotifyPeriodicEventStream). */
  response?: PayloadValidator;
}
