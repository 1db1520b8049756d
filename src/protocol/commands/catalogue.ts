/**
 * The command catalogue: per station version (OCPP-J 1.6, 2.0.1, 2.1 and OCPP-S 1.5), the operations a central
 * system may send, the request schema of each (as data, for form coercion and the UI's forms) and its validators.
 * The API, the web UI and the emulator read this instead of checking versions themselves.
 *
 *  - 1.6, 2.0.1, 2.1: the central-system actions of src/protocol/actions.ts; schemas are the official OCA files,
 *    validators the generated ones.
 *  - 1.5 (OCPP-S only): the ChargePointService operations of the 1.5 WSDL; schemas and validators derived from
 *    the WSDL's XSD types at build time (scripts/build-soap-schemas.mjs).
 *  - 1.6 over SOAP uses the 1.6 entries; the SOAP channel refuses the JSON-only security-extension operations.
 */
import { centralActions } from '../actions.js';
import { getActionValidators } from '../validation/registry.js';
import type { ActionValidators } from '../validation/types.js';
import { OCPP_VERSIONS, type StationVersion } from '../versions.js';
import { lookup15 } from '../soap/validators.js';
import { schemas15 } from '../soap/generated/soap-tables.js';
import { service } from '../soap/codec.js';
import { requestSchema, type JsonSchema } from './request-schemas.js';
import { RENAMED_FOR_V2 } from './translate.js';

export type { JsonSchema } from './request-schemas.js';

/** Every version with a command catalogue, OCPP-J first. */
export const CATALOGUE_VERSIONS: readonly StationVersion[] = Object.freeze([...OCPP_VERSIONS, 'ocpp1.5']);

let operations15: readonly string[] | null = null;

/** The operations a central system may send to a station of `version`, sorted. */
export function centralOperations(version: StationVersion): readonly string[] {
  if (version !== 'ocpp1.5') return centralActions(version);
  return (operations15 ??= Object.freeze(Object.keys(service('ocpp1.5', 'cp').actions).sort()));
}

/** Whether `operation` is one of them. */
export function isCentralOperation(version: StationVersion, operation: string): boolean {
  return centralOperations(version).includes(operation);
}

/** The request schema of (version, operation) as data, or null. */
export function commandSchema(version: StationVersion, operation: string): JsonSchema | null {
  if (version === 'ocpp1.5') return Object.hasOwn(schemas15, operation) ? (schemas15[operation]!.request as JsonSchema) : null;
  return requestSchema(version, operation);
}

/** The validators of (version, operation) with every quirk off (commands are ours: no tolerance needed). */
export function commandValidators(version: StationVersion, operation: string): ActionValidators | undefined {
  return version === 'ocpp1.5' ? lookup15(operation) : getActionValidators(version, operation);
}

/**
 * The 2.x operation a 1.6 operation name stands for on a station of `version` (RemoteStartTransaction →
 * RequestStartTransaction …), or the name itself.
 */
export function targetOperation(version: StationVersion, operation: string): string {
  if (version === 'ocpp1.6' || version === 'ocpp1.5') return operation;
  return RENAMED_FOR_V2[operation] ?? operation;
}
