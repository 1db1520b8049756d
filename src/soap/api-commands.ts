/**
 * API commands to OCPP 1.5 stations (OCPP-S only). 1.6 SOAP stations take the normal path of
 * src/api/commands.ts (1.6 schemas; the SOAP client refuses the JSON-only security-extension operations);
 * 1.5 has its own operations and schemas (derived from the 1.5 WSDL at build time), so it is prepared here
 * with the same outcome shapes.
 */
import type { RouterServer } from '../control/router-server.js';
import { RouterError, ErrorCode } from '../protocol/errors.js';
import { coerceForm } from '../api/form-body.js';
import { statusOf, type CommandBody, type CommandOutcome, type PreparedCommand } from '../api/commands.js';
import { lookup15 } from '../protocol/soap/validators.js';
import { schemas15 } from '../protocol/soap/generated/soap-tables.js';
import { service } from '../protocol/soap/codec.js';
import { valueExceedsDepth } from '../protocol/json-depth.js';

function fail(identity: string, action: string, status: number, message: string, details?: Record<string, unknown>): CommandOutcome {
  return { identity, status, action, error: details === undefined ? { code: status, message } : { code: status, message, details } };
}

/** The 1.5 ChargePointService operations. */
export function central15(): string[] {
  return Object.keys(service('ocpp1.5', 'cp').actions).sort();
}

export function prepareCommand15(identity: string, operation: string, body: CommandBody, maxDepth = Infinity): PreparedCommand | CommandOutcome {
  const operations = central15();
  if (!operations.includes(operation)) {
    return fail(identity, operation, 400, `${operation} is not a central-system operation of ocpp1.5`, { reason: ErrorCode.UNKNOWN_ACTION, version: 'ocpp1.5', operations });
  }
  const payload = body.kind === 'json' ? body.value : coerceForm(body.tree, schemas15[operation]!.request);
  if (valueExceedsDepth(payload, maxDepth)) {
    return fail(identity, operation, 400, `${operation} payload is nested deeper than ${maxDepth} levels (ocpp.maxPayloadDepth)`, { reason: ErrorCode.PAYLOAD_INVALID, version: 'ocpp1.5', issues: [{ path: '', keyword: 'maxDepth', message: `payload is nested deeper than ${maxDepth} levels` }] });
  }
  const check = lookup15(operation)!.request(payload);
  if (check.ok) return { action: operation, payload };
  const issues = check.issues.map(({ path, keyword, message }) => ({ path, keyword, message }));
  return fail(identity, operation, 400, `${operation} payload is invalid for ocpp1.5: ${issues.length} violation${issues.length === 1 ? '' : 's'}`, {
    reason: ErrorCode.PAYLOAD_INVALID,
    version: 'ocpp1.5',
    issues,
  });
}

export async function sendCommand15(server: RouterServer, identity: string, operation: string, body: CommandBody, options: { timeoutMs: number }): Promise<CommandOutcome> {
  const prepared = prepareCommand15(identity, operation, body, server.config.ocpp.maxPayloadDepth);
  if ('status' in prepared) return prepared;
  try {
    const payload = await server.call(identity, prepared.action, prepared.payload, options.timeoutMs);
    return { identity, action: prepared.action, status: 200, payload };
  } catch (error) {
    const e = error instanceof RouterError ? error : new RouterError(ErrorCode.INTERNAL, error instanceof Error ? error.message : String(error));
    const status = statusOf(e);
    const extra = (e.details ?? {}) as Record<string, unknown>;
    const details: Record<string, unknown> = { reason: e.code };
    if (e.code === ErrorCode.CALL_ERROR) Object.assign(details, { errorCode: extra.errorCode, errorDescription: extra.errorDescription, errorDetails: extra.errorDetails });
    else Object.assign(details, extra);
    return { identity, action: prepared.action, status, error: { code: status, message: e.message, details } };
  }
}
