/**
 * Property-based fuzzing of the API body parsers as functions (docs/fuzzing.md): form bodies
 * (src/protocol/commands/form-body.ts) and command preparation (prepare.ts). Any body text is a tree or an Error
 * with a message; any tree and any JSON body for any operation of any version is a payload that validates, or a
 * refusal listing the violations. The API handler itself (src/api/) is fuzzed on a real router in
 * test/fuzz-e2e.test.ts with the generators exported here.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseForm } from '../src/protocol/commands/form-body.js';
import { prepareCommand, isRefusal, type CommandBody } from '../src/protocol/commands/prepare.js';
import { centralOperations, commandValidators } from '../src/protocol/commands/catalogue.js';
import { valueExceedsDepth } from '../src/protocol/json-depth.js';
import { fuzzParams, fuzzTestOptions, heapUsed } from './helpers/fuzz.js';
import { MAX_DEPTH, formBody, jsonBody, operationArb, versionArb } from './helpers/fuzz-api.js';


test('parseForm: any body text is a tree of strings or an Error with a message', fuzzTestOptions(), () => {
  fc.assert(
    fc.property(formBody, (text) => {
      let tree: unknown;
      try {
        tree = parseForm(text);
      } catch (error) {
        assert.ok(error instanceof Error && error.message.length > 0, String(error));
        return;
      }
      assert.equal(Object.getPrototypeOf(tree), Object.prototype);
      assert.equal(({} as Record<string, unknown>).polluted, undefined);
    }),
    fuzzParams(800),
  );
});

test('prepareCommand: any body for any operation of any version is a payload that validates, or a refusal listing why', fuzzTestOptions(), () => {
  const input = versionArb.chain((version) =>
    operationArb(version).chain((operation) =>
      fc.tuple(
        fc.constant(version),
        fc.constant(operation),
        fc.oneof(
          jsonBody(version, operation).map((value): CommandBody => ({ kind: 'json', value })),
          formBody.chain((text) => {
            try {
              return fc.constant<CommandBody>({ kind: 'form', tree: parseForm(text) });
            } catch {
              return fc.constant<CommandBody>({ kind: 'form', tree: {} });
            }
          }),
        ),
      ),
    ),
  );
  fc.assert(
    fc.property(input, ([version, operation, body]) => {
      const prepared = prepareCommand(version, operation, body, MAX_DEPTH);
      if (isRefusal(prepared)) {
        assert.equal(typeof prepared.message, 'string');
        assert.ok(['UNKNOWN_ACTION', 'PAYLOAD_INVALID'].includes(prepared.details.reason as string), String(prepared.details.reason));
        // The refusal is plain data: it goes into a JSON error body.
        JSON.stringify(prepared);
        return;
      }
      assert.ok(centralOperations(version).includes(prepared.action), `${prepared.action} is an operation of ${version}`);
      assert.equal(valueExceedsDepth(prepared.payload, MAX_DEPTH), false);
      assert.equal(commandValidators(version, prepared.action)!.request(prepared.payload).ok, true, 'the payload validates');
    }),
    fuzzParams(300),
  );
});

test('form bodies up to 256 KiB (many keys, high indices): the tree they make is small and quick to build', fuzzTestOptions(1), () => {
  const key = fc.tuple(fc.constantFrom('a', 'b', 'key', 'localAuthorizationList'), fc.array(fc.oneof(fc.integer({ min: 0, max: 10_000 }).map((i) => `[${i}]`), fc.constantFrom('[]', '[x]')), { minLength: 1, maxLength: 4 })).map(([k, parts]) => k + parts.join(''));
  const big = fc.tuple(fc.array(key, { minLength: 1, maxLength: 50 }), fc.integer({ min: 1000, max: 16_000 })).map(([keys, n]) => Array.from({ length: n }, (_, i) => `${keys[i % keys.length]!.replace(/\[(\d+)\]/, (_m, d: string) => `[${(Number(d) + i) % 10_001}]`)}=1`).join('&'));
  fc.assert(
    fc.property(big, (text) => {
      const before = heapUsed();
      const started = performance.now();
      let tree;
      try {
        tree = parseForm(text);
      } catch {
        return; // a key both a value and an object, or an index past 10,000: refused
      }
      const prepared = prepareCommand('ocpp1.6', 'SendLocalList', { kind: 'form', tree }, MAX_DEPTH);
      const ms = performance.now() - started;
      // Measured while the tree is alive: what one request holds on the control plane's thread.
      const retained = heapUsed() - before;
      assert.ok(retained < 32 * 1024 * 1024, `the tree of a ${(text.length / 1024).toFixed(0)} KiB body holds ${(retained / 1048576).toFixed(1)} MiB`);
      assert.ok(ms < 3000, `${ms.toFixed(0)} ms for a ${(text.length / 1024).toFixed(0)} KiB body`);
      assert.ok(tree !== null && prepared !== null);
    }),
    fuzzParams(8, 1),
  );
});
