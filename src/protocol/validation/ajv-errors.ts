import type { RpcErrorCode } from '../rpc-error-codes.js';
import type { ValidationIssue } from './types.js';

/** The fields of an ajv error object that the mapping reads (ajv's ErrorObject is assignable to it). */
export interface AjvErrorLike {
  instancePath: string;
  keyword: string;
  params: Record<string, unknown>;
  message?: string;
}

/**
 * ajv keyword → OCPP RPC error code. The OCPP-J definitions (1.6 §4.2.3 Table 7, 2.0.1/2.1 Part 4 §4.3):
 *  - FormatViolation: "Payload for Action is syntactically incorrect or not conform the PDU structure for Action"
 *  - OccurrenceConstraintViolation: "…at least one of the fields violates occurrence constraints"
 *  - TypeConstraintViolation: "…at least one of the fields violates data type constraints (e.g. "somestring": 12)"
 *  - PropertyConstraintViolation: "Payload is syntactically correct but at least one field contains an invalid value"
 *
 * So the schema keywords fall in four groups:
 *  - structure of the PDU → FormatViolation: a property the PDU does not have (additionalProperties), a payload
 *    that is not a JSON object at all (root `type`), any keyword not listed here;
 *  - cardinality → OccurrenceConstraintViolation: required, minItems, maxItems, additionalItems, min/maxProperties;
 *  - the OCPP data type of a field → TypeConstraintViolation: `type`, and the parts of the OCPP data types that the
 *    schemas express as keywords: CiStringNType / string[0..N] (maxLength, minLength) and dateTime / anyURI
 *    (format);
 *  - the value inside a valid type → PropertyConstraintViolation: enum, const, minimum, maximum,
 *    exclusiveMinimum/Maximum, multipleOf, pattern.
 * Compared with the libraries: mobilityhouse/ocpp (ocpp/messages.py) agrees on type, additionalProperties and
 * maxLength, but sends ProtocolError for required and FormatViolation for everything else; mikuso/ocpp-rpc
 * (lib/validator.js) maps min/max and lengths to FormatViolation, additionalProperties to
 * PropertyConstraintViolation and falls back to FormatViolation for enum and format. We follow the spec text
 * where the libraries disagree with it (enum and numeric limits are "invalid values", a missing field is an
 * occurrence violation, a length limit is part of the CiString data type).
 */
export const KEYWORD_CODES: Readonly<Record<string, RpcErrorCode>> = Object.freeze({
  additionalProperties: 'FormatViolation',
  propertyNames: 'FormatViolation',
  required: 'OccurrenceConstraintViolation',
  dependencies: 'OccurrenceConstraintViolation',
  minItems: 'OccurrenceConstraintViolation',
  maxItems: 'OccurrenceConstraintViolation',
  additionalItems: 'OccurrenceConstraintViolation',
  uniqueItems: 'OccurrenceConstraintViolation',
  minProperties: 'OccurrenceConstraintViolation',
  maxProperties: 'OccurrenceConstraintViolation',
  type: 'TypeConstraintViolation',
  format: 'TypeConstraintViolation',
  maxLength: 'TypeConstraintViolation',
  minLength: 'TypeConstraintViolation',
  enum: 'PropertyConstraintViolation',
  const: 'PropertyConstraintViolation',
  minimum: 'PropertyConstraintViolation',
  maximum: 'PropertyConstraintViolation',
  exclusiveMinimum: 'PropertyConstraintViolation',
  exclusiveMaximum: 'PropertyConstraintViolation',
  multipleOf: 'PropertyConstraintViolation',
  pattern: 'PropertyConstraintViolation',
});

/**
 * Order of issues when a payload has several (the caller answers with the first one's code): the coarsest
 * problem first. A payload that is not the PDU (wrong or unknown fields) makes the field-level complaints
 * secondary; a missing field comes before a field of the wrong type, which comes before a bad value. Within a
 * code, issues sort by JSON pointer and then keyword, so the order does not depend on the payload's key order.
 */
export const CODE_RANK: Readonly<Record<RpcErrorCode, number>> = Object.freeze({
  RpcFrameworkError: 0,
  ProtocolError: 0,
  FormatViolation: 1,
  OccurrenceConstraintViolation: 2,
  TypeConstraintViolation: 3,
  PropertyConstraintViolation: 4,
  GenericError: 5,
  InternalError: 5,
  MessageTypeNotSupported: 5,
  NotImplemented: 5,
  NotSupported: 5,
  SecurityError: 5,
});

/** RFC 6901 escaping of one reference token. */
export function escapePointerToken(token: string): string {
  return token.replace(/~/g, '~0').replace(/\//g, '~1');
}

/** The OCPP code for one ajv error. */
export function codeForAjvError(error: AjvErrorLike): RpcErrorCode {
  // A payload that is not even an object does not conform to the PDU structure (OCPP-J 1.6 §4.2.3).
  if (error.keyword === 'type' && error.instancePath === '') return 'FormatViolation';
  return KEYWORD_CODES[error.keyword] ?? 'FormatViolation';
}

/** JSON pointer of the offending value: for required/additionalProperties the property itself, not its parent. */
export function issuePath(error: AjvErrorLike): string {
  if (error.keyword === 'required' && typeof error.params.missingProperty === 'string') {
    return `${error.instancePath}/${escapePointerToken(error.params.missingProperty)}`;
  }
  if (error.keyword === 'additionalProperties' && typeof error.params.additionalProperty === 'string') {
    return `${error.instancePath}/${escapePointerToken(error.params.additionalProperty)}`;
  }
  return error.instancePath;
}

function issueMessage(error: AjvErrorLike): string {
  const where = error.instancePath === '' ? 'payload' : error.instancePath;
  let text = error.message ?? `failed ${error.keyword}`;
  if (error.keyword === 'additionalProperties' && typeof error.params.additionalProperty === 'string') {
    text += ` ('${error.params.additionalProperty}')`;
  } else if (error.keyword === 'enum' && Array.isArray(error.params.allowedValues)) {
    text += `: ${error.params.allowedValues.join(', ')}`;
  }
  return `${where} ${text}`;
}

function compareIssues(a: ValidationIssue, b: ValidationIssue): number {
  const rank = CODE_RANK[a.code] - CODE_RANK[b.code];
  if (rank !== 0) return rank;
  if (a.path !== b.path) return a.path < b.path ? -1 : 1;
  if (a.keyword !== b.keyword) return a.keyword < b.keyword ? -1 : 1;
  return a.message < b.message ? -1 : a.message > b.message ? 1 : 0;
}

/**
 * Turns ajv errors into issues with OCPP codes, sorted (see CODE_RANK) and without duplicates. Runs only on
 * the failure path.
 */
export function mapAjvErrors(errors: readonly AjvErrorLike[] | null | undefined): ValidationIssue[] {
  if (errors == null || errors.length === 0) {
    // ajv always reports at least one error on failure; keep the contract "ok:false has issues" anyway.
    return [{ code: 'FormatViolation', path: '', keyword: 'schema', message: 'payload does not match the schema' }];
  }
  const issues: ValidationIssue[] = [];
  const seen = new Set<string>();
  for (const error of errors) {
    const issue: ValidationIssue = {
      code: codeForAjvError(error),
      path: issuePath(error),
      keyword: error.keyword,
      message: issueMessage(error),
    };
    const key = `${issue.path}\u0000${issue.keyword}\u0000${issue.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    issues.push(issue);
  }
  return issues.sort(compareIssues);
}
