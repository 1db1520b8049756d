import { test } from 'node:test';
import assert from 'node:assert/strict';
import { actionsFor, canInitiate, centralActions, initiatorOf, isSendOnly, stationActions } from '../src/protocol/actions.js';
import { defaultRegistry } from '../src/protocol/validation/registry.js';
import { OCPP_VERSIONS } from '../src/protocol/versions.js';
import { schemaFile } from './helpers/schema-samples.js';

// Lists copied from ../shared/ocpp/README.md §4 (1.6 WSDLs, 1.6 security whitepaper, 2.0.1 via ocpp-go).
const V16_STATION = 'Authorize BootNotification DataTransfer DiagnosticsStatusNotification FirmwareStatusNotification Heartbeat MeterValues StartTransaction StatusNotification StopTransaction'.split(' ');
const V16_CENTRAL = 'CancelReservation ChangeAvailability ChangeConfiguration ClearCache ClearChargingProfile DataTransfer GetCompositeSchedule GetConfiguration GetDiagnostics GetLocalListVersion RemoteStartTransaction RemoteStopTransaction ReserveNow Reset SendLocalList SetChargingProfile TriggerMessage UnlockConnector UpdateFirmware'.split(' ');
const V16_SEC_STATION = 'LogStatusNotification SecurityEventNotification SignCertificate SignedFirmwareStatusNotification'.split(' ');
const V16_SEC_CENTRAL = 'CertificateSigned DeleteCertificate ExtendedTriggerMessage GetInstalledCertificateIds GetLog InstallCertificate SignedUpdateFirmware'.split(' ');
const V201_STATION = 'Authorize BootNotification ClearedChargingLimit DataTransfer FirmwareStatusNotification Get15118EVCertificate GetCertificateStatus Heartbeat LogStatusNotification MeterValues NotifyChargingLimit NotifyCustomerInformation NotifyDisplayMessages NotifyEVChargingNeeds NotifyEVChargingSchedule NotifyEvent NotifyMonitoringReport NotifyReport PublishFirmwareStatusNotification ReportChargingProfiles ReservationStatusUpdate SecurityEventNotification SignCertificate StatusNotification TransactionEvent'.split(' ');
const V201_CENTRAL = 'CancelReservation CertificateSigned ChangeAvailability ClearCache ClearChargingProfile ClearDisplayMessage ClearVariableMonitoring CostUpdated CustomerInformation DataTransfer DeleteCertificate GetBaseReport GetChargingProfiles GetCompositeSchedule GetDisplayMessages GetInstalledCertificateIds GetLocalListVersion GetLog GetMonitoringReport GetReport GetTransactionStatus GetVariables InstallCertificate PublishFirmware RequestStartTransaction RequestStopTransaction ReserveNow Reset SendLocalList SetChargingProfile SetDisplayMessage SetMonitoringBase SetMonitoringLevel SetNetworkProfile SetVariableMonitoring SetVariables TriggerMessage UnlockConnector UnpublishFirmware UpdateFirmware'.split(' ');
// 2.1 additions (source in src/protocol/actions.ts).
const V21_NEW_STATION = 'BatterySwap ClosePeriodicEventStream GetCertificateChainStatus NotifyDERAlarm NotifyDERStartStop NotifyPeriodicEventStream NotifyPriorityCharging NotifySettlement OpenPeriodicEventStream PullDynamicScheduleUpdate ReportDERControl VatNumberValidation'.split(' ');
const V21_NEW_CENTRAL = 'AFRRSignal AdjustPeriodicEventStream ChangeTransactionTariff ClearDERControl ClearTariffs GetDERControl GetPeriodicEventStream GetTariffs NotifyAllowedEnergyTransfer NotifyWebPaymentStarted RequestBatterySwap SetDERControl SetDefaultTariff UpdateDynamicSchedule UsePriorityCharging'.split(' ');

const sorted = (xs: readonly string[]): string[] => [...new Set(xs)].sort();

test('1.6 directions match the WSDLs and the security whitepaper (README §4)', () => {
  assert.deepEqual(stationActions('ocpp1.6'), sorted([...V16_STATION, ...V16_SEC_STATION]));
  assert.deepEqual(centralActions('ocpp1.6'), sorted([...V16_CENTRAL, ...V16_SEC_CENTRAL]));
  assert.equal(actionsFor('ocpp1.6').length, 28 + 11);
  assert.equal(initiatorOf('ocpp1.6', 'DataTransfer'), 'both');
  assert.equal(initiatorOf('ocpp1.6', 'Heartbeat'), 'station');
  assert.equal(initiatorOf('ocpp1.6', 'Reset'), 'central');
  assert.equal(initiatorOf('ocpp1.6', 'SignCertificate'), 'station');
  assert.equal(initiatorOf('ocpp1.6', 'ExtendedTriggerMessage'), 'central');
});

test('2.0.1 directions match README §4 (25 station, 40 central, DataTransfer both)', () => {
  assert.deepEqual(stationActions('ocpp2.0.1'), sorted(V201_STATION));
  assert.deepEqual(centralActions('ocpp2.0.1'), sorted(V201_CENTRAL));
  assert.equal(V201_STATION.length, 25);
  assert.equal(V201_CENTRAL.length, 40);
  assert.equal(actionsFor('ocpp2.0.1').length, 64);
  // README warns about third-party tables that get these wrong.
  for (const a of ['Get15118EVCertificate', 'GetCertificateStatus', 'SignCertificate', 'ClearedChargingLimit']) {
    assert.equal(initiatorOf('ocpp2.0.1', a), 'station', a);
  }
});

test('2.1 = 2.0.1 + 26 new actions + the SEND NotifyPeriodicEventStream', () => {
  assert.equal(V21_NEW_STATION.length + V21_NEW_CENTRAL.length, 27);
  assert.deepEqual(stationActions('ocpp2.1'), sorted([...V201_STATION, ...V21_NEW_STATION]));
  assert.deepEqual(centralActions('ocpp2.1'), sorted([...V201_CENTRAL, ...V21_NEW_CENTRAL]));
  assert.equal(actionsFor('ocpp2.1').length, 64 + 27);
  for (const a of V201_STATION.concat(V201_CENTRAL)) assert.equal(initiatorOf('ocpp2.1', a), initiatorOf('ocpp2.0.1', a), a);
  assert.equal(isSendOnly('ocpp2.1', 'NotifyPeriodicEventStream'), true);
  assert.equal(isSendOnly('ocpp2.1', 'OpenPeriodicEventStream'), false);
  assert.equal(isSendOnly('ocpp2.0.1', 'NotifyPeriodicEventStream'), false);
});

test('every version: the action table equals the set of schema files, request and response', () => {
  for (const version of OCPP_VERSIONS) {
    assert.deepEqual(actionsFor(version), defaultRegistry.actions(version), version);
    for (const action of actionsFor(version)) {
      assert.ok(schemaFile(version, action, 'request'), `${version} ${action} request schema`);
      const response = schemaFile(version, action, 'response');
      assert.equal(response === undefined, isSendOnly(version, action), `${version} ${action} response schema`);
      const validators = defaultRegistry.get(version, action);
      assert.ok(validators);
      assert.equal(validators.initiator, initiatorOf(version, action));
      assert.equal(validators.response === undefined, isSendOnly(version, action));
    }
  }
});

test('lists are sorted, disjoint apart from DataTransfer, and cover every action', () => {
  for (const version of OCPP_VERSIONS) {
    const all = actionsFor(version);
    assert.deepEqual(all, [...all].sort());
    const station = new Set(stationActions(version));
    const central = new Set(centralActions(version));
    const both = [...station].filter((a) => central.has(a));
    assert.deepEqual(both, ['DataTransfer'], version);
    assert.equal(station.size + central.size - 1, all.length, version);
  }
});

test('canInitiate / initiatorOf on unknown actions', () => {
  assert.equal(initiatorOf('ocpp1.6', 'TransactionEvent'), undefined);
  assert.equal(initiatorOf('ocpp2.0.1', 'StartTransaction'), undefined);
  assert.equal(initiatorOf('ocpp2.0.1', 'AFRRSignal'), undefined);
  assert.equal(initiatorOf('ocpp2.1', 'constructor'), undefined);
  assert.equal(canInitiate('ocpp1.6', 'Heartbeat', 'station'), true);
  assert.equal(canInitiate('ocpp1.6', 'Heartbeat', 'central'), false);
  assert.equal(canInitiate('ocpp1.6', 'DataTransfer', 'central'), true);
  assert.equal(canInitiate('ocpp2.1', 'RequestBatterySwap', 'central'), true);
  assert.equal(canInitiate('ocpp2.1', 'BatterySwap', 'central'), false);
  assert.equal(canInitiate('ocpp2.1', 'NoSuchAction', 'station'), false);
});
