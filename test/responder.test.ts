import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { createResponder, responderActions } from '../src/backends/responder/index.js';
import type { ResponderConfig } from '../src/backends/responder/index.js';
import type { BackendReply, InboundCall } from '../src/protocol/backend.js';
import type { TransactionIdSource } from '../src/backends/responder/index.js';
import type { OcppVersion } from '../src/protocol/versions.js';
import { isSendOnly, stationActions } from '../src/protocol/actions.js';
import { RouterError, ErrorCode } from '../src/protocol/errors.js';
import { sampleRequest, schemaFile } from './helpers/schema-samples.js';

// ajv packages are CommonJS; load them through require to get their runtime shapes without interop guesses.
const require = createRequire(import.meta.url);
type ValidateFn = ((data: unknown) => boolean) & { errors?: unknown };
interface AjvLike {
  compile(schema: object): ValidateFn;
  addMetaSchema(schema: object): unknown;
}
type AjvCtor = new (opts: object) => AjvLike;
const AjvDraft07 = (require('ajv') as { Ajv: AjvCtor }).Ajv;
const AjvDraft04 = (require('ajv-draft-04') as { default: AjvCtor }).default;
const addFormats = (require('ajv-formats') as { default: (ajv: AjvLike) => void }).default;

// strict: false tolerates the OCA's non-standard keywords (javaType, comment, additionalProperties on enums).
const ajvOptions = { strict: false, allErrors: true, validateFormats: true };
const ajv04 = new AjvDraft04(ajvOptions);
addFormats(ajv04);
const ajv06 = new AjvDraft07(ajvOptions);
ajv06.addMetaSchema(require('ajv/dist/refs/json-schema-draft-06.json') as object);
addFormats(ajv06);

const validators = new Map<string, ValidateFn>();
function responseValidator(version: OcppVersion, action: string): ValidateFn {
  const file = schemaFile(version, action, 'response');
  assert.ok(file, `no response schema for ${version} ${action}`);
  let validate = validators.get(file);
  if (validate === undefined) {
    const schema = JSON.parse(readFileSync(file, 'utf8')) as { $schema?: string };
    // OCPP-J 1.6 errata §3.8: the 1.6 core files are draft-04; the security extension and 2.x are draft-06.
    validate = (schema.$schema ?? '').includes('draft-04') ? ajv04.compile(schema) : ajv06.compile(schema);
    validators.set(file, validate);
  }
  return validate;
}

const CONFIG: ResponderConfig = Object.freeze({
  bootStatus: 'Accepted',
  heartbeatIntervalS: 300,
  authorize: { policy: 'acceptAll', idTags: [] },
  dataTransfer: { status: 'Rejected' },
}) as ResponderConfig;

const FIXED_NOW = new Date('2030-05-06T07:08:09.123Z');

function counter(start = 1): TransactionIdSource & { issued: number[] } {
  let next = start;
  const issued: number[] = [];
  return {
    issued,
    next() {
      issued.push(next);
      return next++;
    },
  };
}

function call(version: OcppVersion, action: string, payload: Record<string, unknown>): InboundCall {
  return { station: { identity: 'CP1', account: null, version }, uniqueId: 'u1', action, payload };
}

function result(reply: BackendReply): Record<string, unknown> {
  assert.equal(reply.kind, 'result', `expected a result, got ${JSON.stringify(reply)}`);
  return (reply as { payload: Record<string, unknown> }).payload;
}

// Independent of src/protocol/actions.ts: shared/ocpp/README.md §4 plus the 2.1 additions.
const EXPECTED: Record<OcppVersion, string[]> = {
  'ocpp1.6': [
    'Authorize', 'BootNotification', 'DataTransfer', 'DiagnosticsStatusNotification', 'FirmwareStatusNotification',
    'Heartbeat', 'MeterValues', 'StartTransaction', 'StatusNotification', 'StopTransaction',
    'LogStatusNotification', 'SecurityEventNotification', 'SignCertificate', 'SignedFirmwareStatusNotification',
  ],
  'ocpp2.0.1': [
    'Authorize', 'BootNotification', 'ClearedChargingLimit', 'DataTransfer', 'FirmwareStatusNotification',
    'Get15118EVCertificate', 'GetCertificateStatus', 'Heartbeat', 'LogStatusNotification', 'MeterValues',
    'NotifyChargingLimit', 'NotifyCustomerInformation', 'NotifyDisplayMessages', 'NotifyEVChargingNeeds',
    'NotifyEVChargingSchedule', 'NotifyEvent', 'NotifyMonitoringReport', 'NotifyReport',
    'PublishFirmwareStatusNotification', 'ReportChargingProfiles', 'ReservationStatusUpdate',
    'SecurityEventNotification', 'SignCertificate', 'StatusNotification', 'TransactionEvent',
  ],
  'ocpp2.1': [],
};
EXPECTED['ocpp2.1'] = [
  ...EXPECTED['ocpp2.0.1'],
  'BatterySwap', 'ClosePeriodicEventStream', 'GetCertificateChainStatus', 'NotifyDERAlarm', 'NotifyDERStartStop',
  'NotifyPriorityCharging', 'NotifySettlement', 'OpenPeriodicEventStream', 'PullDynamicScheduleUpdate',
  'ReportDERControl', 'VatNumberValidation',
];

const VERSIONS: OcppVersion[] = ['ocpp1.6', 'ocpp2.0.1', 'ocpp2.1'];

test('the responder answers exactly the station-initiated actions of each version', () => {
  for (const version of VERSIONS) {
    assert.deepEqual(responderActions(version), [...EXPECTED[version]].sort(), version);
    // Cross-check with the router's direction table (SEND-only messages get no reply, so no handler).
    const fromTable = stationActions(version).filter((a) => !isSendOnly(version, a));
    assert.deepEqual(responderActions(version), [...fromTable].sort(), `${version} vs src/protocol/actions.ts`);
  }
});

test('the schema validators reject wrong answers (negative control)', () => {
  assert.equal(responseValidator('ocpp1.6', 'BootNotification')({ status: 'Nope', currentTime: 'x', interval: 1 }), false);
  assert.equal(responseValidator('ocpp1.6', 'Heartbeat')({ currentTime: 'not a date' }), false);
  assert.equal(responseValidator('ocpp1.6', 'LogStatusNotification')({ extra: 1 }), false);
  assert.equal(responseValidator('ocpp2.0.1', 'Heartbeat')({}), false);
  assert.equal(responseValidator('ocpp2.1', 'GetCertificateChainStatus')({ certificateStatus: [] }), false);
  assert.equal(responseValidator('ocpp2.1', 'NotifyEvent')({ extra: 1 }), false);
});

for (const version of VERSIONS) {
  test(`every ${version} answer validates against its response schema`, () => {
    for (const policy of ['acceptAll', 'list'] as const) {
      const responder = createResponder({
        config: { ...CONFIG, authorize: { policy, idTags: ['x'] } },
        transactionIds: counter(),
        now: () => FIXED_NOW,
      });
      for (const action of responderActions(version)) {
        for (const full of [false, true]) {
          const payload = sampleRequest(version, action, { full });
          const answer = result(responder.handleCall(call(version, action, payload)));
          const validate = responseValidator(version, action);
          assert.ok(
            validate(answer),
            `${version} ${action} (${policy}, full=${full}): ${JSON.stringify(answer)} → ${JSON.stringify(validate.errors)}`,
          );
          // A reply must survive serialization unchanged (no undefined, no Date objects).
          assert.deepEqual(JSON.parse(JSON.stringify(answer)), answer);
        }
      }
    }
  });
}

test('BootNotification: status and interval from config, currentTime now in UTC with Z', () => {
  const responder = createResponder({
    config: { ...CONFIG, bootStatus: 'Pending', heartbeatIntervalS: 42 },
    transactionIds: counter(),
    now: () => FIXED_NOW,
  });
  const v16 = result(responder.handleCall(call('ocpp1.6', 'BootNotification', sampleRequest('ocpp1.6', 'BootNotification'))));
  assert.deepEqual(v16, { status: 'Pending', currentTime: '2030-05-06T07:08:09.123Z', interval: 42 });
  const v2 = result(responder.handleCall(call('ocpp2.0.1', 'BootNotification', sampleRequest('ocpp2.0.1', 'BootNotification'))));
  assert.deepEqual(v2, { currentTime: '2030-05-06T07:08:09.123Z', interval: 42, status: 'Pending' });
  const hb = result(responder.handleCall(call('ocpp2.1', 'Heartbeat', {})));
  assert.deepEqual(hb, { currentTime: '2030-05-06T07:08:09.123Z' });
});

test('updateConfig replaces the configuration at runtime and rejects an invalid one', () => {
  const responder = createResponder({ config: CONFIG, transactionIds: counter(), now: () => FIXED_NOW });
  responder.updateConfig({ ...CONFIG, bootStatus: 'Rejected', heartbeatIntervalS: 7, dataTransfer: { status: 'Accepted' } });
  const boot = result(responder.handleCall(call('ocpp1.6', 'BootNotification', sampleRequest('ocpp1.6', 'BootNotification'))));
  assert.equal(boot.status, 'Rejected');
  assert.equal(boot.interval, 7);
  assert.deepEqual(result(responder.handleCall(call('ocpp2.1', 'DataTransfer', { vendorId: 'v' }))), { status: 'Accepted' });
  assert.throws(
    () => responder.updateConfig({ ...CONFIG, bootStatus: 'Maybe' as 'Accepted' }),
    (error: unknown) => error instanceof RouterError && error.code === ErrorCode.CONFIG_INVALID,
  );
  assert.equal(responder.config.bootStatus, 'Rejected', 'a rejected update keeps the old config');
});

test('DataTransfer answers the configured status', () => {
  const responder = createResponder({ config: CONFIG, transactionIds: counter() });
  assert.deepEqual(result(responder.handleCall(call('ocpp1.6', 'DataTransfer', { vendorId: 'v' }))), { status: 'Rejected' });
});

test('Authorize policy list: only listed id tags (case-insensitive) are Accepted, others Invalid', () => {
  const responder = createResponder({
    config: { ...CONFIG, authorize: { policy: 'list', idTags: ['TAG-1', 'abc'] } },
    transactionIds: counter(),
  });
  const v16 = (idTag: string) => result(responder.handleCall(call('ocpp1.6', 'Authorize', { idTag })));
  assert.deepEqual(v16('TAG-1'), { idTagInfo: { status: 'Accepted' } });
  assert.deepEqual(v16('tag-1'), { idTagInfo: { status: 'Accepted' } });
  assert.deepEqual(v16('ABC'), { idTagInfo: { status: 'Accepted' } });
  assert.deepEqual(v16('other'), { idTagInfo: { status: 'Invalid' } });

  const v2 = (idToken: Record<string, unknown>) =>
    result(responder.handleCall(call('ocpp2.0.1', 'Authorize', { idToken })));
  assert.deepEqual(v2({ idToken: 'abc', type: 'ISO14443' }), { idTokenInfo: { status: 'Accepted' } });
  assert.deepEqual(v2({ idToken: 'nope', type: 'ISO14443' }), { idTokenInfo: { status: 'Invalid' } });
  assert.deepEqual(v2({ idToken: '', type: 'NoAuthorization' }), { idTokenInfo: { status: 'Accepted' } });

  // StartTransaction and StopTransaction follow the same policy; StopTransaction without idTag → {}.
  const start = result(
    responder.handleCall(call('ocpp1.6', 'StartTransaction', { connectorId: 1, idTag: 'x', meterStart: 0, timestamp: FIXED_NOW.toISOString() })),
  );
  assert.deepEqual(start.idTagInfo, { status: 'Invalid' });
  const stopWith = { transactionId: 1, idTag: 'abc', meterStop: 1, timestamp: FIXED_NOW.toISOString() };
  assert.deepEqual(result(responder.handleCall(call('ocpp1.6', 'StopTransaction', stopWith))), { idTagInfo: { status: 'Accepted' } });
  const stopWithout = { transactionId: 1, meterStop: 1, timestamp: FIXED_NOW.toISOString() };
  assert.deepEqual(result(responder.handleCall(call('ocpp1.6', 'StopTransaction', stopWithout))), {});

  // TransactionEvent: idTokenInfo only when an idToken is present.
  const event = sampleRequest('ocpp2.1', 'TransactionEvent');
  assert.deepEqual(result(responder.handleCall(call('ocpp2.1', 'TransactionEvent', event))), {});
  const withToken = { ...event, idToken: { idToken: 'nope', type: 'ISO14443' } };
  assert.deepEqual(result(responder.handleCall(call('ocpp2.1', 'TransactionEvent', withToken))), {
    idTokenInfo: { status: 'Invalid' },
  });
});

test('StartTransaction: ids come from the TransactionIdSource, increasing and unique', () => {
  const ids = counter(1000);
  const responder = createResponder({ config: CONFIG, transactionIds: ids });
  const seen = new Set<number>();
  let previous = 0;
  for (let i = 0; i < 500; i++) {
    const reply = result(
      responder.handleCall(call('ocpp1.6', 'StartTransaction', { connectorId: 1, idTag: 't', meterStart: 0, timestamp: FIXED_NOW.toISOString() })),
    );
    const id = reply.transactionId as number;
    assert.ok(Number.isInteger(id) && id > previous, `id ${id} after ${previous}`);
    assert.ok(!seen.has(id));
    seen.add(id);
    previous = id;
  }
  assert.deepEqual([...seen], ids.issued);
});

test('StartTransaction when the id source is dry: CALLERROR InternalError, never a made-up id', () => {
  const dry: TransactionIdSource = {
    next() {
      throw new RouterError(ErrorCode.INTERNAL, 'no transaction id available', { details: { reason: 'transactionIdsExhausted' } });
    },
  };
  const responder = createResponder({ config: CONFIG, transactionIds: dry });
  const reply = responder.handleCall(call('ocpp1.6', 'StartTransaction', { connectorId: 1, idTag: 't', meterStart: 0, timestamp: FIXED_NOW.toISOString() }));
  assert.equal(reply.kind, 'error');
  assert.equal((reply as { code: string }).code, 'InternalError');
});

test('unknown or central-initiated action: NotImplemented', () => {
  const responder = createResponder({ config: CONFIG, transactionIds: counter() });
  for (const [version, action] of [
    ['ocpp1.6', 'Nope'],
    ['ocpp1.6', 'Reset'],
    ['ocpp2.0.1', 'BatterySwap'],
    ['ocpp2.1', 'NotifyWebPaymentStarted'],
  ] as const) {
    const reply = responder.handleCall(call(version, action, {}));
    assert.equal(reply.kind, 'error', `${version} ${action}`);
    assert.equal((reply as { code: string }).code, 'NotImplemented');
  }
});

test('answers a responder without a CA or OCSP gives honestly', () => {
  const responder = createResponder({ config: CONFIG, transactionIds: counter(), now: () => FIXED_NOW });
  assert.deepEqual(result(responder.handleCall(call('ocpp1.6', 'SignCertificate', { csr: 'x' }))), { status: 'Rejected' });
  assert.equal(result(responder.handleCall(call('ocpp2.0.1', 'SignCertificate', { csr: 'x' }))).status, 'Rejected');
  assert.equal(result(responder.handleCall(call('ocpp2.1', 'Get15118EVCertificate', sampleRequest('ocpp2.1', 'Get15118EVCertificate')))).status, 'Failed');
  assert.equal(result(responder.handleCall(call('ocpp2.0.1', 'GetCertificateStatus', sampleRequest('ocpp2.0.1', 'GetCertificateStatus')))).status, 'Failed');
  const chain = sampleRequest('ocpp2.1', 'GetCertificateChainStatus', { full: true });
  const requests = chain.certificateStatusRequests as Array<Record<string, unknown>>;
  const answer = result(responder.handleCall(call('ocpp2.1', 'GetCertificateChainStatus', chain)));
  const statuses = answer.certificateStatus as Array<Record<string, unknown>>;
  assert.equal(statuses.length, requests.length);
  for (let i = 0; i < statuses.length; i++) {
    assert.equal(statuses[i]!.status, 'Failed');
    assert.deepEqual(statuses[i]!.certificateHashData, requests[i]!.certificateHashData);
  }
  assert.equal(result(responder.handleCall(call('ocpp2.0.1', 'NotifyEVChargingNeeds', sampleRequest('ocpp2.0.1', 'NotifyEVChargingNeeds')))).status, 'Rejected');
  assert.equal(result(responder.handleCall(call('ocpp2.1', 'NotifyEVChargingNeeds', sampleRequest('ocpp2.1', 'NotifyEVChargingNeeds')))).status, 'NoChargingProfile');
});

test('handleCall is synchronous (no promise on the hot path)', () => {
  const responder = createResponder({ config: CONFIG, transactionIds: counter() });
  for (const version of VERSIONS) {
    for (const action of responderActions(version)) {
      const reply = responder.handleCall(call(version, action, sampleRequest(version, action)));
      assert.ok(!(reply instanceof Promise), `${version} ${action}`);
    }
  }
});
