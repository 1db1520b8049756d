/**
 * Conformance against an independent OCPP-J implementation: ocpp-rpc's RPCClient in strict mode validates every
 * response the router sends against its own copy of the OCA schemas, and the router validates what the client
 * answers to central-system calls.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RPCClient, createRPCError } from 'ocpp-rpc';
import { startTestServer, waitFor, type TestServer } from './helpers/server.js';
import { sampleRequest } from './helpers/schema-samples.js';
import { stationActions, isSendOnly } from '../src/protocol/actions.js';
import { RouterError, ErrorCode } from '../src/protocol/errors.js';
import type { OcppVersion } from '../src/protocol/versions.js';

type ClientOptions = ConstructorParameters<typeof RPCClient>[0];
type Handler = Parameters<RPCClient['handle']>[1];

interface StrictFailure {
  method: string;
  outbound: boolean;
  isCall: boolean;
  error: Error;
}

/** A strict ocpp-rpc client connected to the router; records every strict-mode validation failure. */
async function connectClient(h: TestServer, identity: string, protocol: OcppVersion): Promise<{ client: RPCClient; failures: StrictFailure[] }> {
  const client = new RPCClient({
    endpoint: `ws://127.0.0.1:${h.port}${h.config.ocpp.path}`,
    identity,
    protocols: [protocol],
    strictMode: true,
    reconnect: false,
  } as Partial<ClientOptions> as ClientOptions);
  const failures: StrictFailure[] = [];
  client.on('strictValidationFailure', (event: StrictFailure) => failures.push(event));
  await client.connect();
  assert.equal(client.protocol, protocol);
  // server.call routes through the station registry, which the shard updates asynchronously.
  await waitFor(() => h.server.station(identity)?.connected === true, 5000, `${identity} in the registry`);
  return { client, failures };
}

// ocpp-rpc 2.2.1 cannot run ocpp2.1 in strict mode: its 2.1 schemas have ids `urn:<Action>Request` while it looks
// them up as `urn:<Action>.req` (every call fails with ProtocolError "Schema … is missing"). 2.1 is covered with
// raw frames in bad-input.test.ts.
/** A missing answer fails the test instead of hanging the run. */
const LIMIT = { timeout: 30_000 };

const VERSIONS: OcppVersion[] = ['ocpp1.6', 'ocpp2.0.1'];

test('ocpp-rpc strict client: every station-initiated action gets a schema-valid answer', LIMIT, async (t) => {
  const h = await startTestServer();
  t.after(() => h.stop());
  for (const version of VERSIONS) {
    await t.test(version, async (t) => {
      const { client, failures } = await connectClient(h, `conf-${version.replace(/\./g, '')}`, version);
      t.after(() => client.close({ force: true }));
      const actions = stationActions(version).filter((a) => !isSendOnly(version, a));
      assert.ok(actions.length >= 10, `${version} has station actions`);
      // BootNotification first, so the station is Accepted for the rest.
      const ordered = ['BootNotification', ...actions.filter((a) => a !== 'BootNotification')];
      for (const action of ordered) {
        for (const full of [false, true]) {
          const payload = sampleRequest(version, action, { full });
          let result: unknown;
          try {
            result = await client.call(action, payload);
          } catch (error) {
            assert.fail(`${version} ${action} (full=${full}) was rejected: ${(error as { rpcErrorCode?: string }).rpcErrorCode ?? ''} ${(error as Error).message}`);
          }
          assert.equal(typeof result, 'object', `${version} ${action} answered with an object`);
        }
      }
      assert.deepEqual(failures.map((f) => `${f.method} ${f.error.message}`), []);
    });
  }
});

/** Central-system commands per version, with a valid sample answer the client gives. */
const COMMANDS: Record<OcppVersion, Array<{ action: string; payload: Record<string, unknown>; answer: Record<string, unknown> }>> = {
  'ocpp1.6': [
    { action: 'Reset', payload: { type: 'Soft' }, answer: { status: 'Accepted' } },
    { action: 'GetConfiguration', payload: { key: ['HeartbeatInterval'] }, answer: { configurationKey: [{ key: 'HeartbeatInterval', readonly: false, value: '300' }], unknownKey: [] } },
    { action: 'RemoteStartTransaction', payload: { idTag: 'TAG1', connectorId: 1 }, answer: { status: 'Accepted' } },
  ],
  'ocpp2.0.1': [
    { action: 'Reset', payload: { type: 'Immediate' }, answer: { status: 'Scheduled' } },
    {
      action: 'GetVariables',
      payload: { getVariableData: [{ component: { name: 'OCPPCommCtrlr' }, variable: { name: 'HeartbeatInterval' } }] },
      answer: { getVariableResult: [{ attributeStatus: 'Accepted', attributeValue: '300', component: { name: 'OCPPCommCtrlr' }, variable: { name: 'HeartbeatInterval' } }] },
    },
    { action: 'RequestStartTransaction', payload: { idToken: { idToken: 'TAG1', type: 'ISO14443' }, remoteStartId: 7 }, answer: { status: 'Accepted', transactionId: 'tx-1' } },
  ],
  'ocpp2.1': [],
};

test('ocpp-rpc strict client answers central-system calls; the result comes back through server.call', LIMIT, async (t) => {
  const h = await startTestServer();
  t.after(() => h.stop());
  for (const version of VERSIONS) {
    await t.test(version, async (t) => {
      const identity = `cmd-${version.replace(/\./g, '')}`;
      const { client, failures } = await connectClient(h, identity, version);
      t.after(() => client.close({ force: true }));
      const seen: Array<{ method: string; params: unknown }> = [];
      for (const command of COMMANDS[version]) {
        client.handle(command.action, (({ method, params }: { method: string; params: unknown }) => {
          seen.push({ method, params });
          return command.answer;
        }) as unknown as Handler);
      }
      for (const command of COMMANDS[version]) {
        const result = await h.server.call(identity, command.action, command.payload);
        assert.deepEqual(result, command.answer, `${version} ${command.action} result`);
      }
      assert.deepEqual(
        seen,
        COMMANDS[version].map((c) => ({ method: c.action, params: c.payload })),
        'the client received exactly the payloads sent, in order',
      );
      // The client validated every inbound CALL strictly: a failure would have answered with a CALLERROR.
      assert.deepEqual(failures.map((f) => `${f.method} ${f.error.message}`), []);
    });
  }
});

test('a CALLERROR from the client surfaces as CALL_ERROR with the station error code', LIMIT, async (t) => {
  const h = await startTestServer();
  t.after(() => h.stop());
  const cases: Array<{ version: OcppVersion; action: string; payload: Record<string, unknown>; thrown: string; wire: string; canonical: string }> = [
    { version: 'ocpp1.6', action: 'Reset', payload: { type: 'Hard' }, thrown: 'NotSupported', wire: 'NotSupported', canonical: 'NotSupported' },
    // ocpp-rpc puts the 1.6 misspelling FormationViolation on the wire for FormatViolation; canonical in details.
    { version: 'ocpp1.6', action: 'ClearCache', payload: {}, thrown: 'FormatViolation', wire: 'FormationViolation', canonical: 'FormatViolation' },
    // …but it "corrects" OccurenceConstraintViolation to the 2.x spelling even in 1.6: the router must still read it.
    { version: 'ocpp1.6', action: 'UnlockConnector', payload: { connectorId: 1 }, thrown: 'OccurenceConstraintViolation', wire: 'OccurrenceConstraintViolation', canonical: 'OccurrenceConstraintViolation' },
    { version: 'ocpp2.0.1', action: 'Reset', payload: { type: 'OnIdle' }, thrown: 'SecurityError', wire: 'SecurityError', canonical: 'SecurityError' },
  ];
  for (const c of cases) {
    await t.test(`${c.version} ${c.action} → ${c.wire}`, async (t) => {
      const identity = `err-${c.version.replace(/\./g, '')}-${c.action}`;
      const { client } = await connectClient(h, identity, c.version);
      t.after(() => client.close({ force: true }));
      client.handle(c.action, (() => {
        throw createRPCError(c.thrown, 'refused by the test', { why: 'test' });
      }) as unknown as Handler);
      await assert.rejects(h.server.call(identity, c.action, c.payload), (error: unknown) => {
        assert.ok(error instanceof RouterError);
        assert.equal(error.code, ErrorCode.CALL_ERROR);
        const details = error.details as Record<string, unknown>;
        assert.equal(details.errorCode, c.wire);
        assert.equal(details.canonicalCode, c.canonical);
        assert.deepEqual(details.errorDetails, { why: 'test' });
        return true;
      });
    });
  }
});

test('a client handler that never answers → CALL_TIMEOUT, and the session stays usable', LIMIT, async (t) => {
  const h = await startTestServer();
  t.after(() => h.stop());
  for (const version of ['ocpp1.6', 'ocpp2.0.1'] as const) {
    await t.test(version, async (t) => {
      const identity = `timeout-${version.replace(/\./g, '')}`;
      const { client } = await connectClient(h, identity, version);
      t.after(() => client.close({ force: true }));
      client.handle('Reset', (() => new Promise(() => {})) as unknown as Handler);
      client.handle('ClearCache', (() => ({ status: 'Accepted' })) as unknown as Handler);
      const started = Date.now();
      await assert.rejects(h.server.call(identity, 'Reset', version === 'ocpp1.6' ? { type: 'Soft' } : { type: 'Immediate' }, 200), (error: unknown) => {
        assert.ok(error instanceof RouterError);
        assert.equal(error.code, ErrorCode.CALL_TIMEOUT);
        return true;
      });
      assert.ok(Date.now() - started >= 150, 'the timeout given to server.call applies');
      // The timed-out call no longer blocks the outbound slot.
      assert.deepEqual(await h.server.call(identity, 'ClearCache', {}), { status: 'Accepted' });
    });
  }
});
