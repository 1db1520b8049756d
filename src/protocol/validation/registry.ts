/**
 * Lookup (version, action) → precompiled payload validators (DESIGN.md §2 "check").
 *
 * The validators are ajv standalone code generated at build time by scripts/build-validators.mjs from the OCA
 * schemas (../../generated/validators-<version>.js). The tables here are built once, when a registry is created
 * (the default registry at module load); validating a payload is one Map lookup by the caller plus the
 * generated function. Errors are mapped to OCPP codes only on the failure path (./ajv-errors.ts).
 *
 * Vendor quirks (./quirks.ts) are chosen when a registry is created:
 *   const registry = createValidationRegistry({ quirks: { dateTimeWithoutTimezone: true } });
 *   registry.get('ocpp1.6', 'BootNotification')?.request(payload)
 * `getActionValidators(version, action)` uses the default registry, which has every quirk off. A registry with
 * quirks may rewrite a failing payload in place (see quirks.ts) before it validates it again.
 */
import * as v16 from '../../generated/validators-ocpp1.6.js';
import * as v201 from '../../generated/validators-ocpp2.0.1.js';
import * as v21 from '../../generated/validators-ocpp2.1.js';
import type { GeneratedValidateFunction } from '../../generated/validators-ocpp1.6.js';
import { initiatorOf } from '../actions.js';
import type { OcppVersion, StationVersion } from '../versions.js';
import { OCPP_VERSIONS } from '../versions.js';
import { mapAjvErrors } from './ajv-errors.js';
import { anyQuirk, applyQuirks, normalizeQuirks } from './quirks.js';
import type { ValidationQuirks } from './quirks.js';
import type { ActionValidators, PayloadValidator, ValidationResult } from './types.js';

export { mapAjvErrors } from './ajv-errors.js';
export type { AjvErrorLike } from './ajv-errors.js';
export type { ValidationQuirks } from './quirks.js';

type GeneratedTable = Readonly<Record<string, { readonly request: GeneratedValidateFunction; readonly response?: GeneratedValidateFunction | undefined }>>;

const GENERATED: Readonly<Record<OcppVersion, GeneratedTable>> = {
  'ocpp1.6': v16.validators,
  'ocpp2.0.1': v201.validators,
  'ocpp2.1': v21.validators,
};

const OK: ValidationResult = Object.freeze({ ok: true });

/**
 * Runs a generated validator on `payload` and maps its errors. With quirks, failures that a quirk tolerates are
 * repaired in `payload` and the payload is validated again. Valid payloads never reach the quirk code.
 */
export function validatePayload(validate: GeneratedValidateFunction, payload: unknown, quirks?: ValidationQuirks): ValidationResult {
  if (validate(payload)) return OK;
  const q = normalizeQuirks(quirks);
  if (anyQuirk(q)) return tolerate(validate, payload, q);
  return { ok: false, issues: mapAjvErrors(validate.errors) };
}

function tolerate(validate: GeneratedValidateFunction, payload: unknown, quirks: Readonly<Required<ValidationQuirks>>): ValidationResult {
  const errors = validate.errors ?? [];
  if (applyQuirks(payload, errors, quirks) && validate(payload)) return OK;
  return { ok: false, issues: mapAjvErrors(validate.errors) };
}

/** Wraps a generated function as a PayloadValidator; the quirks are fixed at creation (no per-call work). */
export function createPayloadValidator(validate: GeneratedValidateFunction, quirks?: ValidationQuirks): PayloadValidator {
  const q = normalizeQuirks(quirks);
  if (!anyQuirk(q)) {
    return (payload) => (validate(payload) ? OK : { ok: false, issues: mapAjvErrors(validate.errors) });
  }
  return (payload) => (validate(payload) ? OK : tolerate(validate, payload, q));
}

export interface ValidationRegistryOptions {
  /** Vendor quirks, all off by default (see quirks.ts). */
  quirks?: ValidationQuirks;
}

export interface ValidationRegistry {
  /** Validators of `action` in `version`, undefined when the version has no such action. */
  get(version: OcppVersion, action: string): ActionValidators | undefined;
  /** Every action of `version` that has validators, sorted. */
  actions(version: OcppVersion): readonly string[];
  /** The quirks this registry applies. */
  readonly quirks: Readonly<Required<ValidationQuirks>>;
}

/** Builds the lookup tables for every version once. Throws if a generated action has no known initiator. */
export function createValidationRegistry(options: ValidationRegistryOptions = {}): ValidationRegistry {
  const quirks = normalizeQuirks(options.quirks, 'options.quirks');
  const tables = new Map<OcppVersion, ReadonlyMap<string, ActionValidators>>();
  const actionLists = new Map<OcppVersion, readonly string[]>();
  for (const version of OCPP_VERSIONS) {
    const table = new Map<string, ActionValidators>();
    for (const [action, fns] of Object.entries(GENERATED[version])) {
      const initiator = initiatorOf(version, action);
      if (initiator === undefined) throw new Error(`validation registry: ${version} ${action} has a schema but no initiator in actions.ts`);
      const entry: ActionValidators = { action, initiator, request: createPayloadValidator(fns.request, quirks) };
      if (fns.response !== undefined) entry.response = createPayloadValidator(fns.response, quirks);
      table.set(action, Object.freeze(entry));
    }
    tables.set(version, table);
    actionLists.set(version, Object.freeze([...table.keys()].sort()));
  }
  return Object.freeze({
    quirks,
    get(version: OcppVersion, action: string): ActionValidators | undefined {
      return tables.get(version)?.get(action);
    },
    actions(version: OcppVersion): readonly string[] {
      return actionLists.get(version) ?? [];
    },
  });
}

/** The default registry (no quirks), built at module load. */
export const defaultRegistry: ValidationRegistry = createValidationRegistry();

/** Validators of (version, action) from the default registry (no quirks); undefined for an unknown action. */
export function getActionValidators(version: OcppVersion, action: string): ActionValidators | undefined {
  return defaultRegistry.get(version, action);
}

/** The generated validate function itself (for callers that want `validatePayload` with their own quirks). */
export function getGeneratedValidator(version: OcppVersion, action: string, kind: 'request' | 'response'): GeneratedValidateFunction | undefined {
  const table = GENERATED[version];
  if (!Object.hasOwn(table, action)) return undefined;
  const fns = table[action]!;
  return kind === 'request' ? fns.request : fns.response;
}

/** A bound lookup (version, action) → validators, as the shard wants it (OCPP-S 1.5: see protocol/soap/validators.ts). */
export type ValidatorLookup = (version: StationVersion, action: string) => ActionValidators | undefined;

/**
 * A lookup function over a registry with the given quirks. With every quirk off it reuses the default registry,
 * so calling this on each config reload is cheap; otherwise it builds a new registry (once per call, not per
 * message).
 */
export function createValidatorLookup(quirks?: ValidationQuirks): ValidatorLookup {
  const q = normalizeQuirks(quirks, 'quirks');
  const registry = anyQuirk(q) ? createValidationRegistry({ quirks: q }) : defaultRegistry;
  // The OCA JSON schemas exist for the OCPP-J versions; 1.5 has WSDL-derived validators of its own.
  return (version, action) => (version === 'ocpp1.5' ? undefined : registry.get(version, action));
}
