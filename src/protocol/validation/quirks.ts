import type { AjvErrorLike } from './ajv-errors.js';

/**
 * Named tolerances for known vendor deviations. All are off by default and are applied only after a payload
 * has FAILED validation, so a valid payload costs nothing extra.
 *
 * - `dateTimeWithoutTimezone`: a `format: date-time` failure whose value is an RFC 3339 date-time without the
 *   zone designator ("2024-05-01T10:00:00" or "…10:00:00.123") is accepted and read as UTC: the value in the
 *   payload is rewritten with a trailing 'Z' (JavaScript's Date would otherwise read it as local time).
 * - `ignoreAdditionalProperties`: additionalProperties failures are dropped and the extra properties are
 *   deleted from the payload, so the backends only ever see schema-conformant objects.
 *
 * Both rewrite the payload in place; the payload is then validated again, so any other issue still fails.
 */
export interface ValidationQuirks {
  dateTimeWithoutTimezone?: boolean;
  ignoreAdditionalProperties?: boolean;
}

export const QUIRK_NAMES = ['dateTimeWithoutTimezone', 'ignoreAdditionalProperties'] as const;
export type QuirkName = (typeof QUIRK_NAMES)[number];

/** Validates a quirks option once; throws with every problem listed. */
export function normalizeQuirks(quirks: ValidationQuirks | undefined, name = 'options.quirks'): Readonly<Required<ValidationQuirks>> {
  const out = { dateTimeWithoutTimezone: false, ignoreAdditionalProperties: false };
  if (quirks === undefined) return Object.freeze(out);
  if (quirks === null || typeof quirks !== 'object') throw new TypeError(`${name} must be an object`);
  const problems: string[] = [];
  for (const [key, value] of Object.entries(quirks)) {
    if (!(QUIRK_NAMES as readonly string[]).includes(key)) problems.push(`${name}.${key} is not a known quirk (${QUIRK_NAMES.join(', ')})`);
    else if (value !== undefined && typeof value !== 'boolean') problems.push(`${name}.${key} must be a boolean`);
    else out[key as QuirkName] = value === true;
  }
  if (problems.length > 0) throw new TypeError(problems.join('; '));
  return Object.freeze(out);
}

export function anyQuirk(quirks: Readonly<Required<ValidationQuirks>>): boolean {
  return quirks.dateTimeWithoutTimezone || quirks.ignoreAdditionalProperties;
}

/** RFC 3339 §5.6 date-time minus time-offset (ajv-formats accepts 't' and ' ' as separator too). */
const ZONELESS_DATE_TIME = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(?:\.\d+)?$/;
const DAYS = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** True for a zone-less RFC 3339 date-time whose fields are in range (the same checks as ajv-formats full mode). */
export function isZonelessDateTime(value: string): boolean {
  if (!ZONELESS_DATE_TIME.test(value)) return false;
  const year = Number(value.slice(0, 4));
  const month = Number(value.slice(5, 7));
  const day = Number(value.slice(8, 10));
  const hour = Number(value.slice(11, 13));
  const minute = Number(value.slice(14, 16));
  const second = Number(value.slice(17, 19));
  if (month < 1 || month > 12 || day < 1) return false;
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  if (day > (month === 2 && !leap ? 28 : DAYS[month - 1]!)) return false;
  // Leap second 23:59:60 is only valid in UTC, which is how the value will be read.
  if (hour > 23 || minute > 59 || second > 60 || (second === 60 && (hour !== 23 || minute !== 59))) return false;
  return true;
}

function unescapeToken(token: string): string {
  return token.replace(/~1/g, '/').replace(/~0/g, '~');
}

/** The value at JSON pointer `pointer` ('' = the root); undefined when the path does not exist. */
function valueAt(root: unknown, pointer: string): unknown {
  if (pointer === '') return root;
  let node: unknown = root;
  for (const token of pointer.slice(1).split('/')) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<string, unknown>)[unescapeToken(token)];
  }
  return node;
}

/** The container of the value at `pointer` and its key; undefined when the path does not exist. */
function locate(root: unknown, pointer: string): { parent: Record<string, unknown> | unknown[]; key: string } | undefined {
  if (pointer === '') return undefined;
  const tokens = pointer.slice(1).split('/').map(unescapeToken);
  let node: unknown = root;
  for (let i = 0; i < tokens.length - 1; i++) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<string, unknown>)[tokens[i]!];
  }
  if (node === null || typeof node !== 'object') return undefined;
  return { parent: node as Record<string, unknown>, key: tokens[tokens.length - 1]! };
}

/**
 * Applies the enabled quirks to `payload` for the given ajv errors. Returns true when at least one error was
 * tolerated (the payload changed and must be validated again), false when no quirk applies.
 */
export function applyQuirks(payload: unknown, errors: readonly AjvErrorLike[], quirks: Readonly<Required<ValidationQuirks>>): boolean {
  let changed = false;
  for (const error of errors) {
    if (quirks.ignoreAdditionalProperties && error.keyword === 'additionalProperties') {
      const extra = error.params.additionalProperty;
      const object = valueAt(payload, error.instancePath);
      if (typeof extra === 'string' && object !== null && typeof object === 'object' && !Array.isArray(object) && Object.hasOwn(object, extra)) {
        delete (object as Record<string, unknown>)[extra];
        changed = true;
      }
    } else if (quirks.dateTimeWithoutTimezone && error.keyword === 'format' && error.params.format === 'date-time') {
      const at = locate(payload, error.instancePath);
      if (at === undefined) continue;
      const value = (at.parent as Record<string, unknown>)[at.key];
      if (typeof value === 'string' && isZonelessDateTime(value)) {
        (at.parent as Record<string, unknown>)[at.key] = `${value}Z`;
        changed = true;
      }
    }
  }
  return changed;
}
