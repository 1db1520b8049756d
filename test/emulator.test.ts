/**
 * The emulator against the real router (startTestServer): boot, every central-system command per version
 * answered with the expected payload and effect, sessions, Reset.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, waitFor } from './helpers/server.js';
import { FAST_TIMINGS, startEmulatorSetup, type EmuSetup } from './helpers/emulator.js';
import type { StartFleetOptions } from '../src/emulator/index.js';
import type { OcppVersion } from '../src/protocol/versions.js';

// --- setup: a real router and an in-thread fleet whose events are recorded (test/helpers/emulator.ts) ---

const FAST = FAST_TIMINGS;

function setup(t: TestContext, version: OcppVersion, extra: Partial<StartFleetOptions> = {}, serverOverrides: Record<string, unknown> = {}): Promise<EmuSetup> {
  return startEmulatorSetup(t, {
    version,
    url: (port) => `ws://127.0.0.1:${port}/ocpp`,
    prefix: `E${version.replace(/\D/g, '')}-`,
    bootedConnector: version === 'ocpp1.6' ? '2' : '2/1',
    extra,
    serverOverrides,
  });
}

const PROFILE_16 = {
  chargingProfileId: 7,
  stackLevel: 0,
  chargingProfilePurpose: 'TxDefaultProfile',
  chargingProfileKind: 'Absolute',
  chargingSchedule: { chargingRateUnit: 'A', chargingSchedulePeriod: [{ startPeriod: 0, limit: 16 }] },
};

test('1.6: boot, statuses of connector 0 and every connector, heartbeat interval from the central system', async (t) => {
  const e = await setup(t, 'ocpp1.6');
  const rec = e.h.server.station(e.id)!;
  assert.equal(rec.boot?.status, 'Accepted');
  assert.equal(rec.version, 'ocpp1.6');
  assert.deepEqual(Object.keys(rec.connectors).sort(), ['0', '1', '2']);
  assert.equal(e.connectorStatus('1'), 'Available');
  assert.equal(e.station.heartbeatIntervalS, 60);
  assert.equal(e.station.state, 'accepted');
});

test('1.6: configuration keys (GetConfiguration, ChangeConfiguration)', async (t) => {
  const e = await setup(t, 'ocpp1.6');
  const all = await e.h.server.call(e.id, 'GetConfiguration', {});
  const keys = (all.configurationKey as Array<{ key: string }>).map((k) => k.key);
  assert.ok(keys.includes('HeartbeatInterval') && keys.includes('NumberOfConnectors'));
  const some = await e.h.server.call(e.id, 'GetConfiguration', { key: ['NumberOfConnectors', 'NoSuchKey'] });
  assert.deepEqual(some, { configurationKey: [{ key: 'NumberOfConnectors', readonly: true, value: '2' }], unknownKey: ['NoSuchKey'] });
  assert.deepEqual(await e.h.server.call(e.id, 'ChangeConfiguration', { key: 'MeterValueSampleInterval', value: '30' }), { status: 'Accepted' });
  assert.deepEqual(await e.h.server.call(e.id, 'ChangeConfiguration', { key: 'NumberOfConnectors', value: '4' }), { status: 'Rejected' });
  assert.deepEqual(await e.h.server.call(e.id, 'ChangeConfiguration', { key: 'NoSuchKey', value: '1' }), { status: 'NotSupported' });
  const after = await e.h.server.call(e.id, 'GetConfiguration', { key: ['MeterValueSampleInterval'] });
  assert.deepEqual(after, { configurationKey: [{ key: 'MeterValueSampleInterval', readonly: false, value: '30' }] });
});

test('1.6: RemoteStartTransaction starts a session the server sees; meter values; RemoteStopTransaction stops it', async (t) => {
  const e = await setup(t, 'ocpp1.6');
  await e.h.server.call(e.id, 'ChangeConfiguration', { key: 'MeterValueSampleInterval', value: '1' });
  assert.deepEqual(await e.h.server.call(e.id, 'RemoteStartTransaction', { connectorId: 1, idTag: 'TAG-1' }), { status: 'Accepted' });
  await waitFor(() => e.connectorStatus('1') === 'Charging', 5000, 'Charging');
  const start = e.sent('StartTransaction')[0]!;
  assert.equal(start.payload.connectorId, 1);
  assert.equal(start.payload.idTag, 'TAG-1');
  const result = await waitFor(() => e.events.find((x) => x.type === 'result' && x.action === 'StartTransaction'));
  const txId = (result as unknown as { payload: { transactionId: number } }).payload.transactionId;
  assert.equal(typeof txId, 'number');
  const mv = await e.waitSent('MeterValues', (p) => p.transactionId === txId, 4000);
  assert.equal(mv.payload.connectorId, 1);
  // Busy connector: a second remote start on it is refused.
  assert.deepEqual(await e.h.server.call(e.id, 'RemoteStartTransaction', { connectorId: 1, idTag: 'TAG-2' }), { status: 'Rejected' });
  assert.deepEqual(await e.h.server.call(e.id, 'RemoteStopTransaction', { transactionId: 999_999 }), { status: 'Rejected' });
  assert.deepEqual(await e.h.server.call(e.id, 'RemoteStopTransaction', { transactionId: txId }), { status: 'Accepted' });
  const stop = await e.waitSent('StopTransaction');
  assert.equal(stop.payload.transactionId, txId);
  assert.equal(stop.payload.reason, 'Remote');
  assert.ok((stop.payload.meterStop as number) >= (start.payload.meterStart as number));
  await waitFor(() => e.connectorStatus('1') === 'Available', 5000, 'Available again');
});

test('1.6: AuthorizeRemoteTxRequests=true makes a remote start Authorize first', async (t) => {
  const e = await setup(t, 'ocpp1.6');
  await e.h.server.call(e.id, 'ChangeConfiguration', { key: 'AuthorizeRemoteTxRequests', value: 'true' });
  await e.h.server.call(e.id, 'RemoteStartTransaction', { idTag: 'TAG-A' });
  await waitFor(() => e.connectorStatus('1') === 'Charging');
  const actions = e.sent().map((x) => x.action);
  assert.ok(actions.indexOf('Authorize') >= 0 && actions.indexOf('Authorize') < actions.indexOf('StartTransaction'));
});

test('1.6: availability, unlock, reservations', async (t) => {
  const e = await setup(t, 'ocpp1.6');
  const call = (action: string, payload: Record<string, unknown>) => e.h.server.call(e.id, action, payload);
  assert.deepEqual(await call('ChangeAvailability', { connectorId: 2, type: 'Inoperative' }), { status: 'Accepted' });
  await waitFor(() => e.connectorStatus('2') === 'Unavailable');
  assert.deepEqual(await call('ChangeAvailability', { connectorId: 2, type: 'Operative' }), { status: 'Accepted' });
  await waitFor(() => e.connectorStatus('2') === 'Available');
  assert.deepEqual(await call('ChangeAvailability', { connectorId: 9, type: 'Operative' }), { status: 'Rejected' });
  assert.deepEqual(await call('UnlockConnector', { connectorId: 1 }), { status: 'Unlocked' });
  assert.deepEqual(await call('UnlockConnector', { connectorId: 9 }), { status: 'NotSupported' });
  const expiryDate = new Date(Date.now() + 60_000).toISOString();
  assert.deepEqual(await call('ReserveNow', { connectorId: 1, expiryDate, idTag: 'R1', reservationId: 5 }), { status: 'Accepted' });
  await waitFor(() => e.connectorStatus('1') === 'Reserved');
  assert.deepEqual(await call('ReserveNow', { connectorId: 1, expiryDate, idTag: 'R2', reservationId: 6 }), { status: 'Occupied' });
  assert.deepEqual(await call('ReserveNow', { connectorId: 0, expiryDate, idTag: 'R2', reservationId: 6 }), { status: 'Rejected' });
  assert.deepEqual(await call('CancelReservation', { reservationId: 5 }), { status: 'Accepted' });
  await waitFor(() => e.connectorStatus('1') === 'Available');
  assert.deepEqual(await call('CancelReservation', { reservationId: 5 }), { status: 'Rejected' });
  // Changing availability during a transaction is Scheduled and applied when it ends.
  await call('RemoteStartTransaction', { connectorId: 1, idTag: 'T' });
  await waitFor(() => e.connectorStatus('1') === 'Charging');
  assert.deepEqual(await call('ChangeAvailability', { connectorId: 1, type: 'Inoperative' }), { status: 'Scheduled' });
  assert.deepEqual(await call('UnlockConnector', { connectorId: 1 }), { status: 'Unlocked' });
  const stop = await e.waitSent('StopTransaction');
  assert.equal(stop.payload.reason, 'UnlockCommand');
  await waitFor(() => e.connectorStatus('1') === 'Unavailable');
});

test('1.6: local list, cache, charging profiles, composite schedule, data transfer', async (t) => {
  const e = await setup(t, 'ocpp1.6');
  const call = (action: string, payload: Record<string, unknown>) => e.h.server.call(e.id, action, payload);
  assert.deepEqual(await call('GetLocalListVersion', {}), { listVersion: 0 });
  assert.deepEqual(await call('SendLocalList', { listVersion: 3, updateType: 'Full', localAuthorizationList: [{ idTag: 'A', idTagInfo: { status: 'Accepted' } }] }), { status: 'Accepted' });
  assert.deepEqual(await call('GetLocalListVersion', {}), { listVersion: 3 });
  assert.deepEqual(await call('SendLocalList', { listVersion: 2, updateType: 'Differential' }), { status: 'VersionMismatch' });
  assert.deepEqual(await call('ClearCache', {}), { status: 'Accepted' });
  assert.deepEqual(await call('SetChargingProfile', { connectorId: 1, csChargingProfiles: PROFILE_16 }), { status: 'Accepted' });
  assert.deepEqual(await call('SetChargingProfile', { connectorId: 9, csChargingProfiles: PROFILE_16 }), { status: 'Rejected' });
  const composite = await call('GetCompositeSchedule', { connectorId: 1, duration: 3600, chargingRateUnit: 'A' });
  assert.equal(composite.status, 'Accepted');
  assert.deepEqual((composite.chargingSchedule as Record<string, unknown>).chargingSchedulePeriod, [{ startPeriod: 0, limit: 16 }]);
  const watts = await call('GetCompositeSchedule', { connectorId: 2, duration: 60 });
  assert.deepEqual((watts.chargingSchedule as Record<string, unknown>).chargingSchedulePeriod, [{ startPeriod: 0, limit: 11000 }]);
  assert.deepEqual(await call('ClearChargingProfile', { id: 7 }), { status: 'Accepted' });
  assert.deepEqual(await call('ClearChargingProfile', { id: 7 }), { status: 'Unknown' });
  assert.deepEqual(await call('DataTransfer', { vendorId: 'acme', messageId: 'x', data: 'hello' }), { status: 'Accepted', data: 'hello' });
});

test('1.6: TriggerMessage sends the triggered message', async (t) => {
  const e = await setup(t, 'ocpp1.6');
  const call = (action: string, payload: Record<string, unknown>) => e.h.server.call(e.id, action, payload);
  const beats = e.sent('Heartbeat').length;
  assert.deepEqual(await call('TriggerMessage', { requestedMessage: 'Heartbeat' }), { status: 'Accepted' });
  await waitFor(() => e.sent('Heartbeat').length > beats);
  const statuses = e.sent('StatusNotification').length;
  assert.deepEqual(await call('TriggerMessage', { requestedMessage: 'StatusNotification', connectorId: 2 }), { status: 'Accepted' });
  const sn = await waitFor(() => e.sent('StatusNotification')[statuses]);
  assert.equal(sn.payload.connectorId, 2);
  assert.deepEqual(await call('TriggerMessage', { requestedMessage: 'MeterValues', connectorId: 1 }), { status: 'Accepted' });
  await e.waitSent('MeterValues');
  assert.deepEqual(await call('TriggerMessage', { requestedMessage: 'BootNotification' }), { status: 'Accepted' });
  await waitFor(() => e.sent('BootNotification').length === 2);
  assert.deepEqual(await call('TriggerMessage', { requestedMessage: 'Heartbeat', connectorId: 9 }), { status: 'Rejected' });
  assert.deepEqual(await call('ExtendedTriggerMessage', { requestedMessage: 'SignChargePointCertificate' }), { status: 'NotImplemented' });
});

test('1.6: diagnostics, firmware, logs and their status notifications; certificates refused', async (t) => {
  const e = await setup(t, 'ocpp1.6');
  const call = (action: string, payload: Record<string, unknown>) => e.h.server.call(e.id, action, payload);
  const diag = await call('GetDiagnostics', { location: 'ftp://example.com/' });
  assert.match(diag.fileName as string, /^diagnostics-/);
  await e.waitSent('DiagnosticsStatusNotification', (p) => p.status === 'Uploaded');
  assert.deepEqual(e.sent('DiagnosticsStatusNotification').map((x) => x.payload.status), ['Uploading', 'Uploaded']);
  assert.deepEqual(await call('UpdateFirmware', { location: 'https://example.com/fw.bin', retrieveDate: new Date().toISOString() }), {});
  await e.waitSent('FirmwareStatusNotification', (p) => p.status === 'Installed');
  assert.deepEqual(e.sent('FirmwareStatusNotification').map((x) => x.payload.status), ['Downloading', 'Downloaded', 'Installing', 'Installed']);
  const log = await call('GetLog', { logType: 'DiagnosticsLog', requestId: 4, log: { remoteLocation: 'https://example.com/' } });
  assert.equal(log.status, 'Accepted');
  await e.waitSent('LogStatusNotification', (p) => p.status === 'Uploaded' && p.requestId === 4);
  assert.deepEqual(await call('GetInstalledCertificateIds', { certificateType: 'CentralSystemRootCertificate' }), { status: 'NotFound' });
  assert.deepEqual(await call('CertificateSigned', { certificateChain: 'x' }), { status: 'Rejected' });
});

test('1.6: Reset is a simulated reboot: sessions stopped, reconnect, boot again', async (t) => {
  const e = await setup(t, 'ocpp1.6');
  await e.h.server.call(e.id, 'RemoteStartTransaction', { connectorId: 1, idTag: 'T' });
  await waitFor(() => e.connectorStatus('1') === 'Charging');
  assert.deepEqual(await e.h.server.call(e.id, 'Reset', { type: 'Soft' }), { status: 'Accepted' });
  const stop = await e.waitSent('StopTransaction');
  assert.equal(stop.payload.reason, 'SoftReset');
  await waitFor(() => e.station.bootCount === 2 && e.station.state === 'accepted', 5000, 'second boot');
  assert.equal(e.sent('BootNotification').length, 2);
  assert.equal(e.h.server.station(e.id)?.connected, true);
  assert.ok(e.events.some((x) => x.type === 'state' && x.state === 'resetting'));
});

// --- 2.0.1 ---

test('2.0.1: boot, statuses per EVSE connector, variables (GetVariables, SetVariables)', async (t) => {
  const e = await setup(t, 'ocpp2.0.1');
  assert.equal(e.h.server.station(e.id)?.boot?.status, 'Accepted');
  assert.equal(e.connectorStatus('1/1'), 'Available');
  const boot = e.sent('BootNotification')[0]!;
  assert.equal(boot.payload.reason, 'PowerUp');
  const get = await e.h.server.call(e.id, 'GetVariables', {
    getVariableData: [
      { component: { name: 'OCPPCommCtrlr' }, variable: { name: 'HeartbeatInterval' } },
      { component: { name: 'OCPPCommCtrlr' }, variable: { name: 'NoSuchVariable' } },
      { component: { name: 'NoSuchComponent' }, variable: { name: 'X' } },
      { component: { name: 'OCPPCommCtrlr' }, variable: { name: 'HeartbeatInterval' }, attributeType: 'MaxSet' },
    ],
  });
  assert.deepEqual(
    (get.getVariableResult as Array<Record<string, unknown>>).map((r) => [r.attributeStatus, r.attributeValue]),
    [
      ['Accepted', '300'],
      ['UnknownVariable', undefined],
      ['UnknownComponent', undefined],
      ['NotSupportedAttributeType', undefined],
    ],
  );
  const set = await e.h.server.call(e.id, 'SetVariables', {
    setVariableData: [
      { component: { name: 'OCPPCommCtrlr' }, variable: { name: 'HeartbeatInterval' }, attributeValue: '120' },
      { component: { name: 'OCPPCommCtrlr' }, variable: { name: 'HeartbeatInterval' }, attributeValue: 'abc' },
      { component: { name: 'ChargingStation' }, variable: { name: 'Nope' }, attributeValue: '1' },
    ],
  });
  assert.deepEqual((set.setVariableResult as Array<Record<string, unknown>>).map((r) => r.attributeStatus), ['Accepted', 'Rejected', 'UnknownVariable']);
  assert.equal(e.station.heartbeatIntervalS, 120);
});

test('2.0.1: GetBaseReport and GetReport are followed by NotifyReport', async (t) => {
  const e = await setup(t, 'ocpp2.0.1');
  assert.deepEqual(await e.h.server.call(e.id, 'GetBaseReport', { requestId: 11, reportBase: 'FullInventory' }), { status: 'Accepted' });
  const report = await e.waitSent('NotifyReport', (p) => p.requestId === 11);
  const data = report.payload.reportData as Array<{ component: { name: string }; variable: { name: string } }>;
  assert.ok(data.some((d) => d.component.name === 'OCPPCommCtrlr' && d.variable.name === 'HeartbeatInterval'));
  assert.ok(data.some((d) => d.component.name === 'Connector' && d.variable.name === 'AvailabilityState'));
  assert.equal(report.payload.tbc, false);
  assert.deepEqual(await e.h.server.call(e.id, 'GetReport', { requestId: 12, componentVariable: [{ component: { name: 'OCPPCommCtrlr' }, variable: { name: 'HeartbeatInterval' } }] }), { status: 'Accepted' });
  const one = await e.waitSent('NotifyReport', (p) => p.requestId === 12);
  assert.equal((one.payload.reportData as unknown[]).length, 1);
  assert.deepEqual(await e.h.server.call(e.id, 'GetReport', { requestId: 13, componentVariable: [{ component: { name: 'Nothing' } }] }), { status: 'EmptyResultSet' });
});

test('2.0.1: RequestStartTransaction → TransactionEvent Started (Occupied), RequestStopTransaction → Ended', async (t) => {
  const e = await setup(t, 'ocpp2.0.1');
  await e.h.server.call(e.id, 'SetVariables', { setVariableData: [{ component: { name: 'SampledDataCtrlr' }, variable: { name: 'MeterValueSampleInterval' }, attributeValue: '1' }] });
  const start = await e.h.server.call(e.id, 'RequestStartTransaction', { evseId: 1, remoteStartId: 42, idToken: { idToken: 'TOKEN-1', type: 'ISO14443' } });
  assert.equal(start.status, 'Accepted');
  await waitFor(() => e.connectorStatus('1/1') === 'Occupied', 5000, 'Occupied');
  const started = await e.waitSent('TransactionEvent', (p) => p.eventType === 'Started');
  const info = started.payload.transactionInfo as Record<string, unknown>;
  assert.equal(info.remoteStartId, 42);
  assert.equal(started.payload.triggerReason, 'RemoteStart');
  assert.deepEqual(started.payload.evse, { id: 1, connectorId: 1 });
  await e.waitSent('TransactionEvent', (p) => p.eventType === 'Updated', 4000);
  const status = await e.h.server.call(e.id, 'GetTransactionStatus', { transactionId: info.transactionId });
  assert.equal(status.ongoingIndicator, true);
  assert.deepEqual(await e.h.server.call(e.id, 'RequestStopTransaction', { transactionId: 'nope' }), { status: 'Rejected' });
  assert.deepEqual(await e.h.server.call(e.id, 'RequestStopTransaction', { transactionId: info.transactionId }), { status: 'Accepted' });
  const ended = await e.waitSent('TransactionEvent', (p) => p.eventType === 'Ended');
  assert.equal((ended.payload.transactionInfo as Record<string, unknown>).stoppedReason, 'Remote');
  assert.equal(ended.payload.triggerReason, 'RemoteStop');
  const seqNos = e.sent('TransactionEvent').map((x) => x.payload.seqNo);
  assert.deepEqual(seqNos, seqNos.map((_, i) => i));
  await waitFor(() => e.connectorStatus('1/1') === 'Available');
});

test('2.0.1: availability, unlock, reservations, reset, trigger, local list, smart charging, firmware, logs', async (t) => {
  const e = await setup(t, 'ocpp2.0.1');
  const call = (action: string, payload: Record<string, unknown>) => e.h.server.call(e.id, action, payload);
  assert.deepEqual(await call('ChangeAvailability', { operationalStatus: 'Inoperative', evse: { id: 2 } }), { status: 'Accepted' });
  await waitFor(() => e.connectorStatus('2/1') === 'Unavailable');
  assert.deepEqual(await call('ChangeAvailability', { operationalStatus: 'Operative', evse: { id: 2 } }), { status: 'Accepted' });
  await waitFor(() => e.connectorStatus('2/1') === 'Available');
  assert.deepEqual(await call('UnlockConnector', { evseId: 1, connectorId: 1 }), { status: 'Unlocked' });
  assert.deepEqual(await call('UnlockConnector', { evseId: 7, connectorId: 1 }), { status: 'UnknownConnector' });
  const expiryDateTime = new Date(Date.now() + 60_000).toISOString();
  assert.deepEqual(await call('ReserveNow', { id: 3, expiryDateTime, idToken: { idToken: 'R', type: 'Central' }, evseId: 1 }), { status: 'Accepted' });
  await waitFor(() => e.connectorStatus('1/1') === 'Reserved');
  assert.deepEqual(await call('CancelReservation', { reservationId: 3 }), { status: 'Accepted' });
  await waitFor(() => e.connectorStatus('1/1') === 'Available');
  assert.deepEqual(await call('CancelReservation', { reservationId: 3 }), { status: 'Rejected' });
  assert.deepEqual(await call('TriggerMessage', { requestedMessage: 'BootNotification' }), { status: 'Rejected' });
  const beats = e.sent('Heartbeat').length;
  assert.deepEqual(await call('TriggerMessage', { requestedMessage: 'Heartbeat' }), { status: 'Accepted' });
  await waitFor(() => e.sent('Heartbeat').length > beats);
  assert.deepEqual(await call('TriggerMessage', { requestedMessage: 'SignV2GCertificate' }), { status: 'NotImplemented' });
  assert.deepEqual(await call('SendLocalList', { versionNumber: 5, updateType: 'Full', localAuthorizationList: [{ idToken: { idToken: 'A', type: 'ISO14443' }, idTokenInfo: { status: 'Accepted' } }] }), { status: 'Accepted' });
  assert.deepEqual(await call('GetLocalListVersion', {}), { versionNumber: 5 });
  assert.deepEqual(await call('ClearCache', {}), { status: 'Accepted' });
  const profile = { id: 9, stackLevel: 0, chargingProfilePurpose: 'TxDefaultProfile', chargingProfileKind: 'Absolute', chargingSchedule: [{ id: 1, chargingRateUnit: 'W', chargingSchedulePeriod: [{ startPeriod: 0, limit: 7000 }] }] };
  assert.deepEqual(await call('SetChargingProfile', { evseId: 1, chargingProfile: profile }), { status: 'Accepted' });
  const composite = await call('GetCompositeSchedule', { duration: 600, evseId: 1, chargingRateUnit: 'W' });
  assert.equal(composite.status, 'Accepted');
  assert.deepEqual((composite.schedule as Record<string, unknown>).chargingSchedulePeriod, [{ startPeriod: 0, limit: 7000 }]);
  assert.deepEqual(await call('GetChargingProfiles', { requestId: 8, chargingProfile: { chargingProfilePurpose: 'TxDefaultProfile' } }), { status: 'Accepted' });
  await e.waitSent('ReportChargingProfiles', (p) => p.requestId === 8);
  assert.deepEqual(await call('ClearChargingProfile', { chargingProfileId: 9 }), { status: 'Accepted' });
  assert.deepEqual(await call('GetChargingProfiles', { requestId: 9, chargingProfile: { chargingProfilePurpose: 'TxDefaultProfile' } }), { status: 'NoProfiles' });
  assert.deepEqual(await call('DataTransfer', { vendorId: 'acme', data: { a: 1 } }), { status: 'Accepted', data: { a: 1 } });
  assert.deepEqual(await call('UpdateFirmware', { requestId: 2, firmware: { location: 'https://example.com/fw', retrieveDateTime: new Date().toISOString() } }), { status: 'Accepted' });
  await e.waitSent('FirmwareStatusNotification', (p) => p.status === 'Installed' && p.requestId === 2);
  const log = await call('GetLog', { logType: 'DiagnosticsLog', requestId: 3, log: { remoteLocation: 'https://example.com/' } });
  assert.equal(log.status, 'Accepted');
  await e.waitSent('LogStatusNotification', (p) => p.status === 'Uploaded' && p.requestId === 3);
  assert.deepEqual(await call('CustomerInformation', { requestId: 1, report: true, clear: false, idToken: { idToken: 'A', type: 'ISO14443' } }), { status: 'Accepted' });
  await e.waitSent('NotifyCustomerInformation');
  assert.deepEqual(await call('InstallCertificate', { certificateType: 'CSMSRootCertificate', certificate: 'x' }), { status: 'Rejected' });
  assert.deepEqual(await call('SetMonitoringBase', { monitoringBase: 'All' }), { status: 'NotSupported' });
  await assert.rejects(call('PublishFirmware', { location: 'https://example.com/', checksum: 'abc', requestId: 1 }), (err: { code: string; details: { errorCode: string } }) => err.code === 'CALL_ERROR' && err.details.errorCode === 'NotSupported');
  assert.deepEqual(await call('Reset', { type: 'Immediate' }), { status: 'Accepted' });
  await waitFor(() => e.station.bootCount === 2 && e.station.state === 'accepted', 5000, 'second boot');
  assert.equal(e.sent('BootNotification')[1]!.payload.reason, 'RemoteReset');
});

// --- 2.1 basics ---

test('2.1: boot, variables, remote start/stop; functions it lacks are NotSupported', async (t) => {
  const e = await setup(t, 'ocpp2.1');
  assert.equal(e.h.server.station(e.id)?.version, 'ocpp2.1');
  const get = await e.h.server.call(e.id, 'GetVariables', { getVariableData: [{ component: { name: 'OCPPCommCtrlr' }, variable: { name: 'HeartbeatInterval' } }] });
  assert.equal((get.getVariableResult as Array<Record<string, unknown>>)[0]!.attributeValue, '300');
  const start = await e.h.server.call(e.id, 'RequestStartTransaction', { evseId: 2, remoteStartId: 1, idToken: { idToken: 'T', type: 'ISO14443' } });
  assert.equal(start.status, 'Accepted');
  await waitFor(() => e.connectorStatus('2/1') === 'Occupied');
  const started = await e.waitSent('TransactionEvent', (p) => p.eventType === 'Started');
  const txId = (started.payload.transactionInfo as Record<string, unknown>).transactionId;
  assert.deepEqual(await e.h.server.call(e.id, 'RequestStopTransaction', { transactionId: txId }), { status: 'Accepted' });
  await e.waitSent('TransactionEvent', (p) => p.eventType === 'Ended');
  await assert.rejects(e.h.server.call(e.id, 'ClearTariffs', {}), (err: { code: string; details: { errorCode: string } }) => err.code === 'CALL_ERROR' && err.details.errorCode === 'NotSupported');
});
