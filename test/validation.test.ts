import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { actionsFor, isSendOnly } from '../src/protocol/actions.js';
import { canonicalErrorCode, wireErrorCode } from '../src/protocol/rpc-error-codes.js';
import type { RpcErrorCode } from '../src/protocol/rpc-error-codes.js';
import { mapAjvErrors } from '../src/protocol/validation/ajv-errors.js';
import { isZonelessDateTime, normalizeQuirks } from '../src/protocol/validation/quirks.js';
import {
  createValidationRegistry,
  createValidatorLookup,
  getActionValidators,
  getGeneratedValidator,
  validatePayload,
} from '../src/protocol/validation/registry.js';
import type { PayloadValidator, ValidationResult } from '../src/protocol/validation/types.js';
import { OCPP_VERSIONS } from '../src/protocol/versions.js';
import type { OcppVersion } from '../src/protocol/versions.js';
import { deref, loadSchema, sampleFromSchema, samplePayload, SCHEMAS_DIR } from './helpers/schema-samples.js';
import type { JsonSchema, SampleKind } from './helpers/schema-samples.js';

const KINDS: readonly SampleKind[] = ['request', 'response'];

function validatorFor(version: OcppVersion, action: string, kind: SampleKind): PayloadValidator {
  const entry = getActionValidators(version, action);
  assert.ok(entry, `${version} ${action} has validators`);
  const fn = kind === 'request' ? entry.request : entry.response;
  assert.ok(fn, `${version} ${action} has a ${kind} validator`);
  return fn;
}

function kindsOf(version: OcppVersion, action: string): readonly SampleKind[] {
  return isSendOnly(version, action) ? ['request'] : KINDS;
}

function firstIssue(result: ValidationResult, context: string): { code: RpcErrorCode; path: string; keyword: string } {
  assert.equal(result.ok, false, `${context}: expected a failure`);
  if (result.ok) throw new Error('unreachable');
  assert.ok(result.issues.length > 0, context);
  return result.issues[0]!;
}

// ---------------------------------------------------------------------------------------------------------
// 1. Every action of every version, both directions: valid samples pass, simple invalid variants fail.
// ---------------------------------------------------------------------------------------------------------

test('every action, every version: minimal and full samples are valid', () => {
  let checked = 0;
  for (const version of OCPP_VERSIONS) {
    for (const action of actionsFor(version)) {
      for (const kind of kindsOf(version, action)) {
        const validate = validatorFor(version, action, kind);
        for (const full of [false, true]) {
          const payload = samplePayload(version, action, kind, { full });
          const result = validate(payload);
          assert.deepEqual(result, { ok: true }, `${version} ${action} ${kind} full=${full}: ${JSON.stringify(result)}`);
          checked++;
        }
      }
    }
  }
  assert.equal(checked, 2 * (39 * 2 + 64 * 2 + 91 * 2 - 1));
});

test('every action, every version: structural violations give the exact code', () => {
  for (const version of OCPP_VERSIONS) {
    for (const action of actionsFor(version)) {
      for (const kind of kindsOf(version, action)) {
        const ctx = `${version} ${action} ${kind}`;
        const validate = validatorFor(version, action, kind);
        const schema = loadSchema(version, action, kind);

        // Not an object at all: not the PDU structure.
        for (const notObject of [[], 'x', 42, null, true]) {
          const issue = firstIssue(validate(notObject), `${ctx} ${JSON.stringify(notObject)}`);
          assert.equal(issue.code, 'FormatViolation', ctx);
          assert.equal(issue.keyword, 'type', ctx);
          assert.equal(issue.path, '', ctx);
        }

        // Unknown property at the root (every OCA root schema has additionalProperties: false).
        assert.equal(schema.additionalProperties, false, `${ctx} root additionalProperties`);
        const extra = { ...samplePayload(version, action, kind), __unknown: 1 };
        const issue = firstIssue(validate(extra), ctx);
        assert.deepEqual([issue.code, issue.keyword, issue.path], ['FormatViolation', 'additionalProperties', '/__unknown'], ctx);

        // Each required root property missing.
        for (const name of (schema.required as string[] | undefined) ?? []) {
          const payload = samplePayload(version, action, kind);
          delete payload[name];
          const missing = firstIssue(validate(payload), `${ctx} without ${name}`);
          assert.deepEqual([missing.code, missing.keyword, missing.path], ['OccurrenceConstraintViolation', 'required', `/${name}`], ctx);
        }
      }
    }
  }
});

// ---------------------------------------------------------------------------------------------------------
// 2. Keyword → code mapping, at every place each keyword occurs in every schema of every version.
// ---------------------------------------------------------------------------------------------------------

interface Site {
  pointer: string;
  schema: JsonSchema;
}

/** Every value position of the full sample with its (dereferenced) schema. */
function* sitesOf(root: JsonSchema, schema: JsonSchema, value: unknown, pointer: string): Generator<Site> {
  const node = deref(root, schema);
  yield { pointer, schema: node };
  if (Array.isArray(value)) {
    if (value.length > 0 && node.items !== undefined && !Array.isArray(node.items)) {
      yield* sitesOf(root, node.items as JsonSchema, value[0], `${pointer}/0`);
    }
  } else if (value !== null && typeof value === 'object') {
    const properties = (node.properties ?? {}) as Record<string, JsonSchema>;
    for (const [name, child] of Object.entries(properties)) {
      if (name in (value as object)) yield* sitesOf(root, child, (value as Record<string, unknown>)[name], `${pointer}/${name}`);
    }
  }
}

function getAt(payload: unknown, pointer: string): unknown {
  let node = payload;
  for (const token of pointer.split('/').slice(1)) node = (node as Record<string, unknown>)[token];
  return node;
}

function setAt(payload: unknown, pointer: string, value: unknown): void {
  const tokens = pointer.split('/').slice(1);
  const last = tokens.pop()!;
  (getAt(payload, tokens.length === 0 ? '' : `/${tokens.join('/')}`) as Record<string, unknown>)[last] = value;
}

function wrongTypeValue(type: unknown): unknown {
  return type === 'string' ? 12 : 'somestring';
}

interface Mutation {
  keyword: string;
  code: RpcErrorCode;
  /** Applies the mutation to `payload` at `site`; returns the JSON pointer the issue must name, or undefined if n/a. */
  apply(payload: unknown, site: Site): string | undefined;
}

const MUTATIONS: readonly Mutation[] = [
  {
    keyword: 'type',
    code: 'TypeConstraintViolation',
    apply(payload, site) {
      if (site.pointer === '' || typeof site.schema.type !== 'string') return undefined;
      setAt(payload, site.pointer, wrongTypeValue(site.schema.type));
      return site.pointer;
    },
  },
  {
    keyword: 'maxLength',
    code: 'TypeConstraintViolation',
    apply(payload, site) {
      if (typeof site.schema.maxLength !== 'number' || site.schema.enum !== undefined || site.schema.format !== undefined) return undefined;
      setAt(payload, site.pointer, 'x'.repeat(site.schema.maxLength + 1));
      return site.pointer;
    },
  },
  {
    keyword: 'format',
    code: 'TypeConstraintViolation',
    apply(payload, site) {
      if (site.schema.format === 'date-time') setAt(payload, site.pointer, '2025-01-01 noon');
      else if (site.schema.format === 'uri') setAt(payload, site.pointer, 'not a uri');
      else return undefined;
      return site.pointer;
    },
  },
  {
    keyword: 'enum',
    code: 'PropertyConstraintViolation',
    apply(payload, site) {
      if (!Array.isArray(site.schema.enum) || site.schema.type !== 'string') return undefined;
      setAt(payload, site.pointer, '~');
      return site.pointer;
    },
  },
  {
    keyword: 'minimum',
    code: 'PropertyConstraintViolation',
    apply(payload, site) {
      if (typeof site.schema.minimum !== 'number') return undefined;
      setAt(payload, site.pointer, site.schema.minimum - 1);
      return site.pointer;
    },
  },
  {
    keyword: 'maximum',
    code: 'PropertyConstraintViolation',
    apply(payload, site) {
      if (typeof site.schema.maximum !== 'number') return undefined;
      setAt(payload, site.pointer, site.schema.maximum + 1);
      return site.pointer;
    },
  },
  {
    keyword: 'multipleOf',
    code: 'PropertyConstraintViolation',
    apply(payload, site) {
      if (typeof site.schema.multipleOf !== 'number') return undefined;
      setAt(payload, site.pointer, (typeof site.schema.minimum === 'number' ? site.schema.minimum : 0) + site.schema.multipleOf / 2);
      return site.pointer;
    },
  },
  {
    keyword: 'maxItems',
    code: 'OccurrenceConstraintViolation',
    apply(payload, site) {
      if (typeof site.schema.maxItems !== 'number') return undefined;
      const first = (getAt(payload, site.pointer) as unknown[])[0];
      setAt(payload, site.pointer, Array.from({ length: site.schema.maxItems + 1 }, () => structuredClone(first)));
      return site.pointer;
    },
  },
  {
    keyword: 'minItems',
    code: 'OccurrenceConstraintViolation',
    apply(payload, site) {
      if (typeof site.schema.minItems !== 'number' || site.schema.minItems < 1) return undefined;
      setAt(payload, site.pointer, []);
      return site.pointer;
    },
  },
  {
    keyword: 'required',
    code: 'OccurrenceConstraintViolation',
    apply(payload, site) {
      const required = site.schema.required;
      if (site.schema.type !== 'object' || !Array.isArray(required) || required.length === 0) return undefined;
      const name = required[required.length - 1] as string;
      delete (getAt(payload, site.pointer) as Record<string, unknown>)[name];
      return `${site.pointer}/${name}`;
    },
  },
  {
    keyword: 'additionalProperties',
    code: 'FormatViolation',
    apply(payload, site) {
      if (site.schema.type !== 'object' || site.schema.additionalProperties !== false) return undefined;
      (getAt(payload, site.pointer) as Record<string, unknown>).vendorExtra = 1;
      return `${site.pointer}/vendorExtra`;
    },
  },
];

/** Keywords each schema set uses (from the files), so every used keyword must have been exercised. */
function keywordsUsed(version: OcppVersion): Set<string> {
  const used = new Set<string>();
  for (const action of actionsFor(version)) {
    for (const kind of kindsOf(version, action)) {
      const text = JSON.stringify(loadSchema(version, action, kind));
      for (const m of MUTATIONS) if (text.includes(`"${m.keyword}":`)) used.add(m.keyword);
    }
  }
  return used;
}

for (const version of OCPP_VERSIONS) {
  test(`${version}: every keyword at every site maps to its OCPP code`, () => {
    const exercised = new Map<string, number>();
    for (const action of actionsFor(version)) {
      for (const kind of kindsOf(version, action)) {
        const validate = validatorFor(version, action, kind);
        const schema = loadSchema(version, action, kind);
        const full = sampleFromSchema(schema, schema, { full: true });
        for (const site of sitesOf(schema, schema, full, '')) {
          for (const m of MUTATIONS) {
            const payload = structuredClone(full);
            const path = m.apply(payload, site);
            if (path === undefined) continue;
            const ctx = `${version} ${action} ${kind} ${m.keyword} at '${site.pointer}'`;
            const issue = firstIssue(validate(payload), ctx);
            assert.deepEqual([issue.code, issue.keyword, issue.path], [m.code, m.keyword, path], ctx);
            exercised.set(m.keyword, (exercised.get(m.keyword) ?? 0) + 1);
          }
        }
      }
    }
    for (const keyword of keywordsUsed(version)) assert.ok((exercised.get(keyword) ?? 0) > 0, `${version}: ${keyword} exercised`);
    for (const keyword of ['type', 'required', 'additionalProperties', 'enum', 'maxLength', 'format']) {
      assert.ok((exercised.get(keyword) ?? 0) > 0, `${version}: ${keyword} exercised`);
    }
  });
}

test('1.6 multipleOf 0.1 accepts decimal limits despite float division (10.3, 0.3)', () => {
  const validate = validatorFor('ocpp1.6', 'SetChargingProfile', 'request');
  const payload = samplePayload('ocpp1.6', 'SetChargingProfile', 'request', { full: true });
  const periods = (payload.csChargingProfiles as { chargingSchedule: { chargingSchedulePeriod: { limit: number }[] } }).chargingSchedule.chargingSchedulePeriod;
  for (const limit of [10.3, 0.3, 16.1, 32]) {
    periods[0]!.limit = limit;
    assert.deepEqual(validate(payload), { ok: true }, String(limit));
  }
  periods[0]!.limit = 10.35;
  assert.equal(firstIssue(validate(payload), '10.35').code, 'PropertyConstraintViolation');
});

test('1.6 examples: BootNotification vendor too long, bad enum, integer as string', () => {
  const boot = validatorFor('ocpp1.6', 'BootNotification', 'request');
  const long = firstIssue(boot({ chargePointVendor: 'x'.repeat(21), chargePointModel: 'm' }), 'long vendor');
  assert.deepEqual([long.code, long.path, long.keyword], ['TypeConstraintViolation', '/chargePointVendor', 'maxLength']);
  assert.equal(wireErrorCode('ocpp1.6', long.code), 'TypeConstraintViolation');
  const status = validatorFor('ocpp1.6', 'StatusNotification', 'request');
  const bad = firstIssue(status({ connectorId: 1, errorCode: 'Broken', status: 'Available' }), 'enum');
  assert.deepEqual([bad.code, bad.path], ['PropertyConstraintViolation', '/errorCode']);
  const asString = firstIssue(status({ connectorId: '1', errorCode: 'NoError', status: 'Available' }), 'type');
  assert.deepEqual([asString.code, asString.path], ['TypeConstraintViolation', '/connectorId']);
  const fraction = firstIssue(status({ connectorId: 1.5, errorCode: 'NoError', status: 'Available' }), 'integer');
  assert.deepEqual([fraction.code, fraction.keyword], ['TypeConstraintViolation', 'type']);
});

// ---------------------------------------------------------------------------------------------------------
// 3. Ordering and the mapping function itself.
// ---------------------------------------------------------------------------------------------------------

test('issues are ordered Format < Occurrence < Type < Property, then by path, whatever the key order', () => {
  const validate = validatorFor('ocpp2.0.1', 'BootNotification', 'request');
  const a = { zExtra: 1, reason: 'NotAReason', chargingStation: { model: 'x'.repeat(21), vendorName: 5 }, aExtra: 2 };
  const b = { aExtra: 2, chargingStation: { vendorName: 5, model: 'x'.repeat(21) }, reason: 'NotAReason', zExtra: 1 };
  const ra = validate(a);
  const rb = validate(b);
  assert.deepEqual(ra, rb);
  if (ra.ok) throw new Error('expected failure');
  assert.deepEqual(
    ra.issues.map((i) => [i.code, i.path]),
    [
      ['FormatViolation', '/aExtra'],
      ['FormatViolation', '/zExtra'],
      ['TypeConstraintViolation', '/chargingStation/model'],
      ['TypeConstraintViolation', '/chargingStation/vendorName'],
      ['PropertyConstraintViolation', '/reason'],
    ],
  );
  const missing = validate({ reason: 'PowerUp', chargingStation: {} });
  assert.equal(firstIssue(missing, 'nested required').path, '/chargingStation/model');
});

test('mapAjvErrors: codes, pointers, escaping, duplicates, empty input', () => {
  const issues = mapAjvErrors([
    { instancePath: '/a', keyword: 'enum', params: { allowedValues: ['X', 'Y'] }, message: 'must be equal to one of the allowed values' },
    { instancePath: '', keyword: 'required', params: { missingProperty: 'a/b~c' }, message: "must have required property 'a/b~c'" },
    { instancePath: '/n', keyword: 'type', params: { type: 'integer' }, message: 'must be integer' },
    { instancePath: '/n', keyword: 'type', params: { type: 'integer' }, message: 'must be integer' },
    { instancePath: '/q', keyword: 'someFutureKeyword', params: {}, message: 'nope' },
  ]);
  assert.deepEqual(
    issues.map((i) => [i.code, i.path, i.keyword]),
    [
      ['FormatViolation', '/q', 'someFutureKeyword'],
      ['OccurrenceConstraintViolation', '/a~1b~0c', 'required'],
      ['TypeConstraintViolation', '/n', 'type'],
      ['PropertyConstraintViolation', '/a', 'enum'],
    ],
  );
  assert.match(issues[3]!.message, /^\/a .*X, Y/);
  assert.deepEqual(mapAjvErrors([{ instancePath: '', keyword: 'type', params: {}, message: 'must be object' }])[0]!.code, 'FormatViolation');
  assert.equal(mapAjvErrors(null).length, 1);
  assert.equal(mapAjvErrors([])[0]!.code, 'FormatViolation');
});

test('lookups: unknown actions, prototype keys, SEND-only response', () => {
  assert.equal(getActionValidators('ocpp1.6', 'TransactionEvent'), undefined);
  assert.equal(getActionValidators('ocpp2.1', 'constructor'), undefined);
  assert.equal(getActionValidators('ocpp2.1', '__proto__'), undefined);
  assert.equal(getGeneratedValidator('ocpp2.1', 'toString', 'request'), undefined);
  const send = getActionValidators('ocpp2.1', 'NotifyPeriodicEventStream');
  assert.ok(send);
  assert.equal(send.initiator, 'station');
  assert.equal(send.response, undefined);
  assert.equal(getGeneratedValidator('ocpp2.1', 'NotifyPeriodicEventStream', 'response'), undefined);
  assert.deepEqual(send.request({ id: 1, pending: 0, basetime: '2025-01-01T00:00:00Z', data: [{ t: 0, v: '1' }] }), { ok: true });
  // 1.6 security actions live under ocpp1.6.
  assert.equal(getActionValidators('ocpp1.6', 'SignCertificate')?.initiator, 'station');
});

// ---------------------------------------------------------------------------------------------------------
// 4. Vendor quirks.
// ---------------------------------------------------------------------------------------------------------

test('quirk dateTimeWithoutTimezone: off rejects, on accepts and rewrites to UTC', () => {
  const off = validatorFor('ocpp1.6', 'Heartbeat', 'response');
  const zoneless = { currentTime: '2025-03-01T12:30:00.123' };
  const issue = firstIssue(off({ ...zoneless }), 'off');
  assert.deepEqual([issue.code, issue.keyword, issue.path], ['TypeConstraintViolation', 'format', '/currentTime']);

  const registry = createValidationRegistry({ quirks: { dateTimeWithoutTimezone: true } });
  const on = registry.get('ocpp1.6', 'Heartbeat')!.response!;
  const payload = { ...zoneless };
  assert.deepEqual(on(payload), { ok: true });
  assert.equal(payload.currentTime, '2025-03-01T12:30:00.123Z');
  assert.equal(new Date(payload.currentTime).toISOString(), '2025-03-01T12:30:00.123Z');

  // Nested, inside arrays (2.0.1 TransactionEvent meterValue[0].timestamp and the root timestamp).
  const tx = registry.get('ocpp2.0.1', 'TransactionEvent')!.request;
  const event = samplePayload('ocpp2.0.1', 'TransactionEvent', 'request', { full: true }) as Record<string, unknown> & { meterValue: { timestamp: string }[] };
  event.timestamp = '2025-03-01T12:30:00';
  event.meterValue[0]!.timestamp = '2025-03-01 12:31:00';
  assert.deepEqual(tx(event), { ok: true });
  assert.equal(event.timestamp, '2025-03-01T12:30:00Z');
  assert.equal(event.meterValue[0]!.timestamp, '2025-03-01 12:31:00Z');

  // Still rejected with the quirk on: not a date-time at all, impossible dates, and other issues.
  for (const bad of ['2025-13-01T00:00:00', '2025-02-29T00:00:00', '2025-03-01T24:00:00', 'yesterday', '2025-03-01']) {
    const r = on({ currentTime: bad });
    assert.equal(firstIssue(r, bad).code, 'TypeConstraintViolation', bad);
  }
  const both = on({ currentTime: '2025-03-01T12:30:00', extra: 1 });
  assert.deepEqual(firstIssue(both, 'extra').keyword, 'additionalProperties');
  assert.ok(isZonelessDateTime('2024-02-29T23:59:60'));
  assert.ok(!isZonelessDateTime('2024-02-29T23:59:60Z'));
});

test('quirk ignoreAdditionalProperties: off rejects, on drops the extra properties', () => {
  const off = validatorFor('ocpp1.6', 'BootNotification', 'request');
  const input = () => ({ chargePointVendor: 'v', chargePointModel: 'm', vendorFlag: true });
  assert.equal(firstIssue(off(input()), 'off').code, 'FormatViolation');

  const lookup = createValidatorLookup({ ignoreAdditionalProperties: true });
  const on = lookup('ocpp1.6', 'BootNotification')!.request;
  const payload = input();
  assert.deepEqual(on(payload), { ok: true });
  assert.deepEqual(payload, { chargePointVendor: 'v', chargePointModel: 'm' });

  // Nested extras in arrays (1.6 MeterValues sampledValue) are removed too.
  const meter = lookup('ocpp1.6', 'MeterValues')!.request;
  const mv = { connectorId: 1, meterValue: [{ timestamp: '2025-01-01T00:00:00Z', sampledValue: [{ value: '5', raw: 5 }], note: 'x' }] };
  assert.deepEqual(meter(mv), { ok: true });
  assert.deepEqual(mv, { connectorId: 1, meterValue: [{ timestamp: '2025-01-01T00:00:00Z', sampledValue: [{ value: '5' }] }] });

  // The nonconformant 1.5-style BootNotification.conf still fails: 'interval' is missing.
  const conf = { status: 'Accepted', currentTime: '2013-02-01T20:53:32.486Z', heartbeatInterval: 300 };
  const r = lookup('ocpp1.6', 'BootNotification')!.response!(conf);
  assert.deepEqual(firstIssue(r, 'nonconformant'), {
    code: 'OccurrenceConstraintViolation',
    path: '/interval',
    keyword: 'required',
    message: "payload must have required property 'interval'",
  });
  if (!r.ok) assert.equal(r.issues.length, 1);
});

test('validatePayload with explicit quirks, and quirk option validation', () => {
  const fn = getGeneratedValidator('ocpp2.1', 'Heartbeat', 'response')!;
  assert.deepEqual(validatePayload(fn, { currentTime: '2025-01-01T00:00:00Z' }), { ok: true });
  assert.equal(firstIssue(validatePayload(fn, { currentTime: '2025-01-01T00:00:00' }), 'no quirks').code, 'TypeConstraintViolation');
  assert.deepEqual(validatePayload(fn, { currentTime: '2025-01-01T00:00:00' }, { dateTimeWithoutTimezone: true }), { ok: true });
  assert.deepEqual(validatePayload(fn, { currentTime: '2025-01-01T00:00:00Z', x: 1 }, { ignoreAdditionalProperties: true }), { ok: true });
  assert.throws(() => normalizeQuirks({ lenient: true } as never), /options\.quirks\.lenient is not a known quirk/);
  assert.throws(() => createValidationRegistry({ quirks: { dateTimeWithoutTimezone: 'yes' } as never }), /must be a boolean/);
  assert.deepEqual(normalizeQuirks(undefined), { dateTimeWithoutTimezone: false, ignoreAdditionalProperties: false });
  // A quirk-free lookup is the default registry; valid payloads are never modified.
  const payload = { currentTime: '2025-01-01T00:00:00Z' };
  assert.deepEqual(createValidatorLookup({ dateTimeWithoutTimezone: false })('ocpp2.1', 'Heartbeat')!.response!(payload), { ok: true });
  assert.deepEqual(payload, { currentTime: '2025-01-01T00:00:00Z' });
});

// ---------------------------------------------------------------------------------------------------------
// 5. Example frames from the specification and public implementations (test/fixtures/ocpp-examples/, sources
//    and licences in its README.md).
// ---------------------------------------------------------------------------------------------------------

const EXAMPLES_DIR = fileURLToPath(new URL('../../test/fixtures/ocpp-examples/', import.meta.url));

test('every frame in ocpp16-frames.jsonl validates', () => {
  const lines = readFileSync(join(EXAMPLES_DIR, 'ocpp16-frames.jsonl'), 'utf8').split('\n').filter((l) => l.trim() !== '');
  assert.equal(lines.length, 22);
  const callActions = new Map<string, string>();
  let calls = 0;
  let results = 0;
  let errors = 0;
  for (const line of lines) {
    const frame = JSON.parse(line) as unknown[];
    if (frame[0] === 2) {
      const [, id, action, payload] = frame as [2, string, string, unknown];
      callActions.set(id, action);
      assert.deepEqual(validatorFor('ocpp1.6', action, 'request')(payload), { ok: true }, line);
      calls++;
    } else if (frame[0] === 3) {
      const [, id, payload] = frame as [3, string, unknown];
      const action = callActions.get(id);
      assert.ok(action, `CALLRESULT ${id} follows its CALL`);
      assert.deepEqual(validatorFor('ocpp1.6', action, 'response')(payload), { ok: true }, line);
      results++;
    } else {
      assert.equal(frame[0], 4, line);
      assert.ok(canonicalErrorCode('ocpp1.6', frame[2] as string), line);
      errors++;
    }
  }
  assert.deepEqual([calls, results, errors], [13, 8, 1]);
});

test('the non-conformant spec frame fails as described', () => {
  const entries = JSON.parse(readFileSync(join(EXAMPLES_DIR, 'ocpp16-frames-nonconformant.json'), 'utf8')) as { raw: string }[];
  assert.equal(entries.length, 1);
  const frame = JSON.parse(entries[0]!.raw) as [3, string, Record<string, unknown>];
  assert.equal(frame[0], 3);
  // The CALL it answers is the spec's BootNotification (same id "19223201" in ocpp16-frames.jsonl).
  const result = validatorFor('ocpp1.6', 'BootNotification', 'response')(frame[2]);
  if (result.ok) throw new Error('expected failure');
  assert.deepEqual(
    result.issues.map((i) => [i.code, i.keyword, i.path]),
    [
      ['FormatViolation', 'additionalProperties', '/heartbeatInterval'],
      ['OccurrenceConstraintViolation', 'required', '/interval'],
    ],
  );
  assert.equal(wireErrorCode('ocpp1.6', result.issues[0]!.code), 'FormationViolation');
});
