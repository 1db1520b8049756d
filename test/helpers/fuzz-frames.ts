/**
 * Generators and the spec oracle for OCPP-J frames (test/fuzz-frames.test.ts, test/fuzz-e2e.test.ts).
 *
 * The oracle says how a central system must answer one text frame, from the facts in ../shared/ocpp/README.md
 * (message types, error codes per version) and OCPP-J 1.6 §4, 2.0.1/2.1 Part 4 §4: it is written from those
 * rules, not from src/protocol/ocpp-j/frames.ts, so the two can disagree.
 */
import fc from 'fast-check';
import { stationActions, centralActions } from '../../src/protocol/actions.js';
import type { OcppVersion } from '../../src/protocol/versions.js';
import { sampleRequest } from './schema-samples.js';

/** OCPP-J 1.6 Table 7 (with its misspellings). */
export const CODES_1_6: readonly string[] = ['FormationViolation', 'GenericError', 'InternalError', 'NotImplemented', 'NotSupported', 'OccurenceConstraintViolation', 'PropertyConstraintViolation', 'ProtocolError', 'SecurityError', 'TypeConstraintViolation'];
/** 2.0.1 Part 4 Table 8; 2.1 Part 4 Table 9 is the same list. */
export const CODES_2: readonly string[] = ['FormatViolation', 'GenericError', 'InternalError', 'MessageTypeNotSupported', 'NotImplemented', 'NotSupported', 'OccurrenceConstraintViolation', 'PropertyConstraintViolation', 'ProtocolError', 'RpcFrameworkError', 'SecurityError', 'TypeConstraintViolation'];

export function codesOf(version: OcppVersion): readonly string[] {
  return version === 'ocpp1.6' ? CODES_1_6 : CODES_2;
}

/** The wire code for "not a valid RPC frame" / "payload syntactically wrong" (1.6 has one name for both). */
function framework(version: OcppVersion): string {
  return version === 'ocpp1.6' ? 'FormationViolation' : 'RpcFrameworkError';
}
function format(version: OcppVersion): string {
  return version === 'ocpp1.6' ? 'FormationViolation' : 'FormatViolation';
}

/** What the central system must send back for one frame. */
export type Expected =
  /** Nothing (a CALLRESULT/CALLERROR, a SEND, a type 1.6 does not know). */
  | { kind: 'none' }
  /** 2.1 only: nothing, or a CALLRESULTERROR (a broken CALLRESULT, Part 4 §4.2.4). */
  | { kind: 'noneOrResultError' }
  /** A CALLERROR with this id and this wire code. */
  | { kind: 'error'; id: string; code: string }
  /** A well-formed CALL: exactly one CALLRESULT or CALLERROR (any code of the version's list) with its id. */
  | { kind: 'answer'; id: string };

/** Nesting depth of a parsed JSON value (containers; iterative). */
export function depthOf(value: unknown): number {
  let max = 0;
  const stack: Array<[unknown, number]> = [[value, 0]];
  while (stack.length > 0) {
    const [v, d] = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    const depth = d + 1;
    if (depth > max) max = depth;
    for (const child of Array.isArray(v) ? v : Object.values(v)) if (child !== null && typeof child === 'object') stack.push([child, depth]);
  }
  return max;
}

const isObject = (v: unknown): boolean => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The spec's answer to `text` from a station speaking `version`, payloads limited to `maxDepth` levels. */
export function expectedAnswer(text: string, version: OcppVersion, maxDepth: number): Expected {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    return { kind: 'error', id: '-1', code: framework(version) };
  }
  if (!Array.isArray(data)) return { kind: 'error', id: '-1', code: framework(version) };
  const [type, rawId] = data;
  const idOk = typeof rawId === 'string' && rawId.length >= 1 && rawId.length <= 36;
  const id = idOk ? rawId : '-1';
  if (typeof type !== 'number' || !Number.isInteger(type)) return { kind: 'error', id, code: framework(version) };
  const v21 = version === 'ocpp2.1';
  const known = type === 2 || type === 3 || type === 4 || (v21 && (type === 5 || type === 6));
  if (!known) return version === 'ocpp1.6' ? { kind: 'none' } : { kind: 'error', id, code: 'MessageTypeNotSupported' };
  // Answers are never answered, except a broken CALLRESULT in 2.1; a SEND never is.
  if (type === 3) return v21 ? { kind: 'noneOrResultError' } : { kind: 'none' };
  if (type !== 2) return { kind: 'none' };
  if (!idOk) return { kind: 'error', id: '-1', code: framework(version) };
  if (depthOf(data) > maxDepth + 1) return { kind: 'error', id, code: format(version) };
  if (data.length !== 4) return { kind: 'error', id, code: framework(version) };
  if (typeof data[2] !== 'string' || data[2] === '') return { kind: 'error', id, code: framework(version) };
  if (!isObject(data[3])) return { kind: 'error', id, code: format(version) };
  return { kind: 'answer', id };
}

// ─── generators ──────────────────────────────────────────────────────────────────────────────────────────

/** Raw JSON number texts JSON.parse reads oddly: huge, tiny, negative zero, exponents. */
const oddNumber = fc.constantFrom('1e999', '-1e999', '2.0', '2e0', '20e-1', '-0', '0.0', '1e-400', '18446744073709551617', '2.0000000000000001', '3.0', '6', '5', '1', '7', '-2');

/** Any JSON value as text (bounded size). */
export const jsonText = fc.oneof(
  fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)),
  oddNumber,
);

/** Any text, biased to JSON's alphabet. */
export const anyText = fc.oneof(
  fc.string({ maxLength: 200 }),
  fc.string({ unit: 'binary', maxLength: 100 }),
  fc.string({ unit: fc.constantFrom(...'[]{}",:0123456789-.eE tfrueanl\\u'.split('')), maxLength: 80 }),
  fc.json({ maxDepth: 5 }),
);

/** `n` nested arrays, as text. */
export const nested = (n: number): string => '['.repeat(n) + ']'.repeat(n);

export interface FrameArbOptions {
  version: OcppVersion;
  maxDepth: number;
}

const idArb = fc.oneof(
  { weight: 12, arbitrary: fc.string({ minLength: 1, maxLength: 36 }).map((s) => JSON.stringify(s)) },
  { weight: 1, arbitrary: fc.string({ minLength: 37, maxLength: 64 }).map((s) => JSON.stringify(s)) },
  { weight: 1, arbitrary: fc.constantFrom('""', '"-1"', '1', 'null', '{}', '[]', 'true', JSON.stringify('x'.repeat(36)), JSON.stringify('é'.repeat(36)), JSON.stringify('😀'.repeat(18))) },
  { weight: 1, arbitrary: jsonText },
);

const typeArb = fc.oneof(
  { weight: 16, arbitrary: fc.constant('2') },
  { weight: 3, arbitrary: fc.integer({ min: -3, max: 9 }).map(String) },
  { weight: 2, arbitrary: oddNumber },
  { weight: 1, arbitrary: jsonText },
);

/** A payload as text for `action`: its schema sample, mutated (key removed, replaced, added) or replaced whole. */
function payloadArb(version: OcppVersion, action: string, maxDepth: number): fc.Arbitrary<string> {
  let base: Record<string, unknown> = {};
  try {
    base = sampleRequest(version, action);
  } catch {
    // no schema for this name: an empty object
  }
  const keys = Object.keys(base);
  const mutated = fc.tuple(fc.nat(Math.max(0, keys.length)), fc.constantFrom('drop', 'replace', 'add', 'keep'), fc.jsonValue({ maxDepth: 3 }), fc.string({ maxLength: 12 })).map(([i, how, value, key]) => {
    const out: Record<string, unknown> = { ...base };
    const k = keys[i];
    if (how === 'drop' && k !== undefined) delete out[k];
    else if (how === 'replace' && k !== undefined) out[k] = value;
    else if (how === 'add') out[key] = value;
    return JSON.stringify(out);
  });
  return fc.oneof(
    { weight: 6, arbitrary: mutated },
    { weight: 1, arbitrary: jsonText },
    // Deep: around the bound, and far beyond it.
    { weight: 1, arbitrary: fc.integer({ min: Math.max(0, maxDepth - 3), max: maxDepth + 2 }).map((n) => `{"vendorId":"v","data":${nested(n)}}`) },
    { weight: 1, arbitrary: fc.integer({ min: 1000, max: 20_000 }).map((n) => `{"data":${nested(n)}}`) },
    // Brackets inside strings are text, not nesting.
    { weight: 1, arbitrary: fc.integer({ min: 1, max: 5000 }).map((n) => `{"vendorId":"v","data":${JSON.stringify('['.repeat(n))}}`) },
  );
}

/** A frame that has the shape of a CALL with one or more fields mutated (the near-valid frames). */
export function nearValidFrame({ version, maxDepth }: FrameArbOptions): fc.Arbitrary<string> {
  const actions = [...stationActions(version), ...centralActions(version).slice(0, 5), 'NoSuchAction', 'heartbeat', ''];
  return fc.constantFrom(...actions).chain((action) =>
    fc.tuple(
      typeArb,
      idArb,
      fc.oneof({ weight: 8, arbitrary: fc.constant(JSON.stringify(action)) }, { weight: 1, arbitrary: jsonText }),
      payloadArb(version, action, maxDepth),
      fc.constantFrom('exact', 'exact', 'exact', 'exact', 'exact', 'exact', 'drop', 'extra', 'short'),
      jsonText,
    ).map(([type, id, act, payload, length, extra]) => {
      const parts = [type, id, act, payload];
      if (length === 'drop') parts.pop();
      else if (length === 'extra') parts.push(extra);
      else if (length === 'short') parts.splice(2);
      return `[${parts.join(',')}]`;
    }),
  );
}

/** Any frame: arbitrary text, arbitrary JSON, or a near-valid CALL (most). */
export function anyFrame(options: FrameArbOptions): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 1, arbitrary: anyText },
    { weight: 1, arbitrary: fc.array(jsonText, { maxLength: 6 }).map((parts) => `[${parts.join(',')}]`) },
    { weight: 6, arbitrary: nearValidFrame(options) },
  );
}

export const versionArb = fc.constantFrom<OcppVersion>('ocpp1.6', 'ocpp2.0.1', 'ocpp2.1');

// ─── schema-valid payloads with extreme values ───────────────────────────────────────────────────────────

type Schema = { [key: string]: unknown };

/** Date-times the schema's `date-time` format accepts, from the edges of the calendar and of time zones. */
const extremeDateTime = fc.constantFrom(
  '0000-01-01T00:00:00Z', '0001-01-01T00:00:00.000Z', '1970-01-01T00:00:00Z', '1969-12-31T23:59:59.999Z', '2038-01-19T03:14:08Z',
  '9999-12-31T23:59:59.999Z', '2024-02-29T12:00:00+14:00', '2024-02-29T12:00:00-12:00', '2025-06-30T23:59:60Z', '2025-01-01T00:00:00.123456789Z',
);
const stringChars = fc.constantFrom('x', 'é', '😀', '"', '\\', '\u0000', ' ', '<', '&', '\u2028', '{', '[');

/**
 * Payloads valid against `schema` (draft-04/06 subset the OCA files use), with values at the edges: numbers at
 * their bounds or huge, strings at their maximum length in any script, arrays at their bounds, every optional
 * property sometimes.
 */
export function schemaValue(root: Schema, schema: Schema, depth = 0): fc.Arbitrary<unknown> {
  let node = schema;
  for (let i = 0; typeof node.$ref === 'string' && i < 32; i++) {
    node = (node.$ref as string).slice(2).split('/').reduce<unknown>((n, k) => (n as Schema)[k], root) as Schema;
  }
  if (Array.isArray(node.enum) && node.enum.length > 0) return fc.constantFrom(...(node.enum as unknown[]));
  const t = Array.isArray(node.type) ? (node.type as string[]).find((x) => x !== 'null') : (node.type as string | undefined) ?? (node.properties !== undefined ? 'object' : node.items !== undefined ? 'array' : undefined);
  switch (t) {
    case 'object': {
      const props = (node.properties ?? {}) as Record<string, Schema>;
      const required = new Set((node.required ?? []) as string[]);
      const entries = Object.entries(props).filter(([name]) => required.has(name) || depth < 4);
      const record: Record<string, fc.Arbitrary<unknown>> = {};
      for (const [name, child] of entries) record[name] = schemaValue(root, child, depth + 1);
      return fc.record(record, { requiredKeys: entries.map(([n]) => n).filter((n) => required.has(n)) });
    }
    case 'array': {
      const min = typeof node.minItems === 'number' ? node.minItems : 0;
      const max = Math.min(typeof node.maxItems === 'number' ? node.maxItems : 3, min + 3, 4);
      return fc.array(schemaValue(root, (node.items ?? {}) as Schema, depth + 1), { minLength: min, maxLength: Math.max(min, max) });
    }
    case 'string': {
      if (node.format === 'date-time') return extremeDateTime;
      if (node.format === 'uri') return fc.constantFrom('https://example.com/', 'ftp://a', 'urn:x:y', `https://e.com/${'a'.repeat(400)}`);
      const max = typeof node.maxLength === 'number' ? node.maxLength : 2000;
      const min = typeof node.minLength === 'number' ? node.minLength : 0;
      return fc.oneof(fc.string({ unit: stringChars, minLength: min, maxLength: Math.min(max, 40) }), fc.constant('x'.repeat(Math.max(min, max))), fc.constant('é'.repeat(Math.max(min, max))));
    }
    case 'integer': {
      const min = typeof node.minimum === 'number' ? node.minimum : -(2 ** 53) + 1;
      const max = typeof node.maximum === 'number' ? node.maximum : 2 ** 53 - 1;
      const edges = [min, max, 0, 1, -1, 2 ** 31, 2 ** 31 - 1, -(2 ** 31), 1e15].filter((v) => v >= min && v <= max && Number.isInteger(v));
      return fc.oneof(fc.constantFrom(...edges), fc.integer({ min: Math.max(min, -(2 ** 31)), max: Math.min(max, 2 ** 31 - 1) }));
    }
    case 'number': {
      const min = typeof node.minimum === 'number' ? node.minimum : -1.7976931348623157e308;
      const max = typeof node.maximum === 'number' ? node.maximum : 1.7976931348623157e308;
      const edges = [min, max, 0, -0, 0.1, 1e-300, 1e300, -1e300, 5e-324, 123456789.123456789].filter((v) => v >= min && v <= max);
      return fc.oneof(fc.constantFrom(...edges), fc.double({ min, max, noNaN: true, noDefaultInfinity: true }));
    }
    case 'boolean':
      return fc.boolean();
    default:
      return fc.jsonValue({ maxDepth: 2 });
  }
}
