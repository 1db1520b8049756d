/**
 * A command body (JSON or form fields, as an operator wrote it) → the payload to send to a station of a given
 * version, validated once, with every violation listed when it is not valid. 1.6-style bodies are translated for
 * 2.x stations where the meaning is clear (./translate.ts). The API prepares every command here, once: what the
 * station channel sends is never validated again.
 */
import { ErrorCode } from '../errors.js';
import { valueExceedsDepth } from '../json-depth.js';
import type { ValidationIssue } from '../validation/types.js';
import type { StationVersion } from '../versions.js';
import { centralOperations, commandSchema, commandValidators, targetOperation } from './catalogue.js';
import { coerceForm, type parseForm } from './form-body.js';
import { isTranslatable, translateTo2x } from './translate.js';

type Payload = Record<string, unknown>;

/** A command body before it meets a schema. */
export type CommandBody = { kind: 'json'; value: Payload } | { kind: 'form'; tree: ReturnType<typeof parseForm> };

export interface PreparedCommand {
  action: string;
  payload: Payload;
  /** `ocpp1.6 <Operation>` when a 1.6 body was translated. */
  translatedFrom?: string;
}

/** Why a command cannot be sent (HTTP 400), with `details.reason` UNKNOWN_ACTION or PAYLOAD_INVALID. */
export interface CommandRefusal {
  refused: true;
  action: string;
  message: string;
  details: Record<string, unknown>;
}

function validate(version: StationVersion, action: string, payload: Payload, maxDepth: number): ValidationIssue[] | null {
  // Before the schema: a payload deeper than a station may send is refused (json-depth.ts).
  if (valueExceedsDepth(payload, maxDepth)) return [{ code: 'FormatViolation', path: '', keyword: 'maxDepth', message: `payload is nested deeper than ${maxDepth} levels (ocpp.maxPayloadDepth)` }];
  const validators = commandValidators(version, action);
  if (validators === undefined) return [{ code: 'NotImplemented', path: '', keyword: 'action', message: `${action} is not known in ${version}` }];
  const result = validators.request(payload);
  return result.ok ? null : result.issues;
}

function payloadFor(body: CommandBody, version: StationVersion, action: string): Payload {
  return body.kind === 'json' ? body.value : coerceForm(body.tree, commandSchema(version, action));
}

/**
 * The payload to send for `operation` to a station of `version`, or the refusal listing every violation.
 * Translation: a 1.6 name (RemoteStartTransaction) expects a 1.6 body and falls back to a body already in the 2.x
 * shape; a 2.x name tries the 2.x body first, then a translatable 1.6 body.
 */
export function prepareCommand(version: StationVersion, operation: string, body: CommandBody, maxDepth = Infinity): PreparedCommand | CommandRefusal {
  const operations = centralOperations(version);
  const target = targetOperation(version, operation);
  if (!operations.includes(target)) {
    return { refused: true, action: operation, message: `${operation} is not a central-system operation of ${version}`, details: { reason: ErrorCode.UNKNOWN_ACTION, version, operations } };
  }
  const direct = (): PreparedCommand | ValidationIssue[] => {
    const payload = payloadFor(body, version, target);
    const issues = validate(version, target, payload, maxDepth);
    return issues === null ? { action: target, payload } : issues;
  };
  const translated = (): PreparedCommand | ValidationIssue[] => {
    const p16 = payloadFor(body, 'ocpp1.6', operation);
    const issues = validate('ocpp1.6', operation, p16, maxDepth);
    if (issues !== null) return issues;
    const payload = translateTo2x(operation, p16);
    if (payload === null) return [{ code: 'PropertyConstraintViolation', path: '', keyword: 'translation', message: `this 1.6 ${operation} has no clear ${version} meaning` }];
    const issues2 = validate(version, target, payload, maxDepth);
    return issues2 === null ? { action: target, payload, translatedFrom: `ocpp1.6 ${operation}` } : issues2;
  };
  let outcome: PreparedCommand | ValidationIssue[];
  if (version === 'ocpp1.6' || version === 'ocpp1.5' || !isTranslatable(operation)) outcome = direct();
  else if (target !== operation) {
    outcome = translated();
    if (Array.isArray(outcome)) {
      const second = direct();
      if (!Array.isArray(second)) outcome = second;
    }
  } else {
    outcome = direct();
    if (Array.isArray(outcome)) {
      const second = translated();
      if (!Array.isArray(second)) outcome = second;
    }
  }
  if (!Array.isArray(outcome)) return outcome;
  const issues = outcome.map(({ path, keyword, message }) => ({ path, keyword, message }));
  const deep = issues.length === 1 && issues[0]!.keyword === 'maxDepth';
  return {
    refused: true,
    action: target,
    message: deep ? `${target} payload is nested deeper than ${maxDepth} levels (ocpp.maxPayloadDepth)` : `${target} payload is invalid for ${version}: ${issues.length} violation${issues.length === 1 ? '' : 's'}`,
    details: { reason: ErrorCode.PAYLOAD_INVALID, version, issues },
  };
}

export function isRefusal(value: PreparedCommand | CommandRefusal): value is CommandRefusal {
  return 'refused' in value;
}
