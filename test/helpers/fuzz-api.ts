/**
 * Generators of API request bodies for the fuzz tests (test/fuzz-api.test.ts, test/fuzz-e2e.test.ts): form bodies
 * (bracket keys, odd keys), JSON command bodies (schema samples mutated, anything, deep), operations.
 */
import fc from 'fast-check';
import { CATALOGUE_VERSIONS, centralOperations } from '../../src/protocol/commands/catalogue.js';
import type { StationVersion } from '../../src/protocol/versions.js';
import { sampleRequest, type SampleVersion } from './schema-samples.js';

export const MAX_DEPTH = 32;

/** Form keys: plain, bracketed, odd. */
const formKey = fc.oneof(
  fc.string({ maxLength: 12 }),
  fc.tuple(fc.constantFrom('type', 'idTag', 'connectorId', 'key', 'csChargingProfiles', 'a', '__proto__', 'constructor'), fc.array(fc.constantFrom('[]', '[0]', '[1]', '[a]', '[__proto__]', '[constructor]', '[99999]', '[10001]', '[-1]', '[', ']', '[[x]]', '[ ]'), { maxLength: 5 })).map(([k, parts]) => k + parts.join('')),
);
const formValue = fc.oneof(fc.string({ maxLength: 20 }), fc.constantFrom('1', '-1', '1e400', 'true', '0', 'Hard', 'Accepted', '{"a":1}', '[1,2]', '{', '[', '{"chargingProfileId":1}', ' '), fc.json({ maxDepth: 3 }));
export const formBody = fc.oneof(
  fc.array(fc.tuple(formKey, formValue), { maxLength: 8 }).map((pairs) => pairs.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&')),
  fc.string({ maxLength: 80 }),
  fc.array(fc.constantFrom('a=1', '&', '=', '==', 'a', '%', '%zz', '+', 'a[]=1', 'a[0]=x', 'a[x]=y', 'a=1&a[b]=2', 'a[b]=1&a=2', 'a[]=1&a[x]=2'), { maxLength: 6 }).map((p) => p.join('&')),
);

/** A JSON body for `operation`: its sample, mutated, or anything. */
export function jsonBody(version: StationVersion, operation: string): fc.Arbitrary<Record<string, unknown>> {
  let base: Record<string, unknown> = {};
  try {
    if (version !== 'ocpp1.5') base = sampleRequest(version as SampleVersion, operation);
  } catch {
    // no schema
  }
  const keys = Object.keys(base);
  return fc.oneof(
    fc.tuple(fc.nat(keys.length), fc.constantFrom('drop', 'replace', 'add', 'keep'), fc.jsonValue({ maxDepth: 3 }), fc.string({ maxLength: 8 })).map(([i, how, v, k]) => {
      const out: Record<string, unknown> = { ...base };
      const key = keys[i];
      if (how === 'drop' && key !== undefined) delete out[key];
      else if (how === 'replace' && key !== undefined) out[key] = v;
      else if (how === 'add') out[k] = v;
      return out;
    }),
    fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 4 }),
    fc.integer({ min: MAX_DEPTH - 2, max: 200 }).map((n) => ({ ...base, data: JSON.parse('['.repeat(n) + ']'.repeat(n)) as unknown })),
  );
}

export const versionArb = fc.constantFrom(...CATALOGUE_VERSIONS);
export const operationArb = (version: StationVersion): fc.Arbitrary<string> =>
  fc.oneof({ weight: 6, arbitrary: fc.constantFrom(...centralOperations(version), 'RemoteStartTransaction', 'RemoteStopTransaction') }, { weight: 1, arbitrary: fc.constantFrom('constructor', '__proto__', 'toString', 'hasOwnProperty', 'Heartbeat', '', '../ocpp1.6/Reset', 'reset') }, { weight: 1, arbitrary: fc.string({ maxLength: 12 }) });

