/**
 * Validators for OCPP-S stations. 1.6 uses the OCA JSON schemas (the same validators as OCPP-J, with the
 * configured quirks); 1.5 uses validators generated at build time from JSON schemas derived from the 1.5
 * WSDL's XSD types (scripts/build-soap-schemas.mjs), wrapped the same way, so violations map to the same
 * OCPP error codes.
 */
import { createPayloadValidator } from '../validation/registry.js';
import type { ValidatorLookup } from '../validation/registry.js';
import type { ActionValidators } from '../validation/types.js';
import { initiators15, validators15 } from './generated/soap-tables.js';
import { service, type SoapVersion } from './codec.js';

const TABLE_15: ReadonlyMap<string, ActionValidators> = new Map(
  Object.entries(validators15).map(([action, fns]) => [
    action,
    Object.freeze({ action, initiator: initiators15[action]!, request: createPayloadValidator(fns.request), response: createPayloadValidator(fns.response) }),
  ]),
);

/** The 1.5 validators of `action`, or undefined. */
export function lookup15(action: string): ActionValidators | undefined {
  return TABLE_15.get(action);
}

/** Every OCPP 1.5 action (both services), sorted. */
export const ACTIONS_15: readonly string[] = Object.freeze([...TABLE_15.keys()].sort());

/**
 * A lookup for SOAP stations: 1.5 from the derived schemas, 1.6 from `base` restricted to the actions the 1.6
 * WSDLs define (the security extension is JSON only).
 */
export function soapLookup(base: ValidatorLookup): ValidatorLookup {
  const cs16 = service('ocpp1.6', 'cs').actions;
  const cp16 = service('ocpp1.6', 'cp').actions;
  return (version, action) => {
    if (version === 'ocpp1.5') return TABLE_15.get(action);
    if (version !== 'ocpp1.6' || (!Object.hasOwn(cs16, action) && !Object.hasOwn(cp16, action))) return undefined;
    return base('ocpp1.6', action);
  };
}

/** True for a version OCPP-S speaks. */
export function isSoapVersion(value: unknown): value is SoapVersion {
  return value === 'ocpp1.5' || value === 'ocpp1.6';
}
