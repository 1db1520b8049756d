import type { OcppVersion } from './versions.js';
import type { Initiator } from './validation/types.js';

/**
 * Who sends the CALL of every action, per OCPP version: 'station' (charge point → central system),
 * 'central' (central system → charge point) or 'both' (DataTransfer). Built once at module load; every lookup
 * is a Map get.
 *
 * Sources (see ../shared/ocpp/README.md §4 for the first three):
 *  - 1.6 core: the wsdl:portType operations of the OCPP 1.6 WSDLs (CentralSystemService / ChargePointService).
 *  - 1.6 security extension: OCA whitepaper "Improved security for OCPP 1.6-J" ed. 2, §5 ("…sent by the …").
 *  - 2.0.1: lorenzodonini/ocpp-go @607009a2 CSMSHandler / ChargingStationHandler interfaces, cross-checked with
 *    the "Request PDU sent by X to Y" sentences quoted by codelabsab/rust-ocpp.
 *  - 2.1: 2.0.1 plus the 26 new actions below. The schemas carry no direction; the split comes from the OCPP 2.1
 *    work in lorenzodonini/ocpp-go (ocpp2_test mock handlers: MockCSMS*Handler = received by the CSMS,
 *    MockChargingStation*Handler = received by the station; the DER package's CSMSHandler says "OnNotifyDERAlarm
 *    is called on the CSMS whenever a NotifyDERAlarmRequest is received from a charging station"),
 *    cross-checked with OpenChargingCloud/WWCP_OCPP WWCP_OCPPv2.1 NetworkingNode/OCPPAdapter/Outgoing/Charging/
 *    README.md (NotifyAllowedEnergyTransfer, UpdateDynamicSchedule, UsePriorityCharging: CSMS → CS) and with
 *    the 2.1 message descriptions quoted by Rust 2.1 crates ("AdjustPeriodicEventStream … used by the CSMS to
 *    tell the Charging Station"; the station opens a stream with OpenPeriodicEventStream). The OCA Part 2 PDF
 *    was not available to check against.
 */

const V16_STATION = [
  'Authorize',
  'BootNotification',
  'DiagnosticsStatusNotification',
  'FirmwareStatusNotification',
  'Heartbeat',
  'MeterValues',
  'StartTransaction',
  'StatusNotification',
  'StopTransaction',
  // 1.6 security extension
  'LogStatusNotification',
  'SecurityEventNotification',
  'SignCertificate',
  'SignedFirmwareStatusNotification',
] as const;

const V16_CENTRAL = [
  'CancelReservation',
  'ChangeAvailability',
  'ChangeConfiguration',
  'ClearCache',
  'ClearChargingProfile',
  'GetCompositeSchedule',
  'GetConfiguration',
  'GetDiagnostics',
  'GetLocalListVersion',
  'RemoteStartTransaction',
  'RemoteStopTransaction',
  'ReserveNow',
  'Reset',
  'SendLocalList',
  'SetChargingProfile',
  'TriggerMessage',
  'UnlockConnector',
  'UpdateFirmware',
  // 1.6 security extension
  'CertificateSigned',
  'DeleteCertificate',
  'ExtendedTriggerMessage',
  'GetInstalledCertificateIds',
  'GetLog',
  'InstallCertificate',
  'SignedUpdateFirmware',
] as const;

const V201_STATION = [
  'Authorize',
  'BootNotification',
  'ClearedChargingLimit',
  'FirmwareStatusNotification',
  'Get15118EVCertificate',
  'GetCertificateStatus',
  'Heartbeat',
  'LogStatusNotification',
  'MeterValues',
  'NotifyChargingLimit',
  'NotifyCustomerInformation',
  'NotifyDisplayMessages',
  'NotifyEVChargingNeeds',
  'NotifyEVChargingSchedule',
  'NotifyEvent',
  'NotifyMonitoringReport',
  'NotifyReport',
  'PublishFirmwareStatusNotification',
  'ReportChargingProfiles',
  'ReservationStatusUpdate',
  'SecurityEventNotification',
  'SignCertificate',
  'StatusNotification',
  'TransactionEvent',
] as const;

const V201_CENTRAL = [
  'CancelReservation',
  'CertificateSigned',
  'ChangeAvailability',
  'ClearCache',
  'ClearChargingProfile',
  'ClearDisplayMessage',
  'ClearVariableMonitoring',
  'CostUpdated',
  'CustomerInformation',
  'DeleteCertificate',
  'GetBaseReport',
  'GetChargingProfiles',
  'GetCompositeSchedule',
  'GetDisplayMessages',
  'GetInstalledCertificateIds',
  'GetLocalListVersion',
  'GetLog',
  'GetMonitoringReport',
  'GetReport',
  'GetTransactionStatus',
  'GetVariables',
  'InstallCertificate',
  // Addressed to a Local Controller (2.0.1 Part 2, quoted by rust-ocpp).
  'PublishFirmware',
  'RequestStartTransaction',
  'RequestStopTransaction',
  'ReserveNow',
  'Reset',
  'SendLocalList',
  'SetChargingProfile',
  'SetDisplayMessage',
  'SetMonitoringBase',
  'SetMonitoringLevel',
  'SetNetworkProfile',
  'SetVariableMonitoring',
  'SetVariables',
  'TriggerMessage',
  'UnlockConnector',
  'UnpublishFirmware',
  'UpdateFirmware',
] as const;

/** New in 2.1, sent by the charging station (11 CALLs + the SEND NotifyPeriodicEventStream). */
const V21_NEW_STATION = [
  'BatterySwap',
  'ClosePeriodicEventStream',
  'GetCertificateChainStatus',
  'NotifyDERAlarm',
  'NotifyDERStartStop',
  'NotifyPriorityCharging',
  'NotifySettlement',
  'OpenPeriodicEventStream',
  'PullDynamicScheduleUpdate',
  'ReportDERControl',
  'VatNumberValidation',
  // SEND (message type 6, 2.1 Part 4 §4.1.3): no response.
  'NotifyPeriodicEventStream',
] as const;

/** New in 2.1, sent by the CSMS (15 CALLs). */
const V21_NEW_CENTRAL = [
  'AFRRSignal',
  'AdjustPeriodicEventStream',
  'ChangeTransactionTariff',
  'ClearDERControl',
  'ClearTariffs',
  'GetDERControl',
  'GetPeriodicEventStream',
  'GetTariffs',
  'NotifyAllowedEnergyTransfer',
  'NotifyWebPaymentStarted',
  'RequestBatterySwap',
  'SetDERControl',
  'SetDefaultTariff',
  'UpdateDynamicSchedule',
  'UsePriorityCharging',
] as const;

/** 2.1 messages that are SEND-only (no CALLRESULT). */
const SEND_ONLY: Record<OcppVersion, readonly string[]> = {
  'ocpp1.6': [],
  'ocpp2.0.1': [],
  'ocpp2.1': ['NotifyPeriodicEventStream'],
};

function table(station: readonly string[], central: readonly string[], both: readonly string[]): ReadonlyMap<string, Initiator> {
  const map = new Map<string, Initiator>();
  const put = (action: string, initiator: Initiator): void => {
    if (map.has(action)) throw new Error(`actions: ${action} listed twice`);
    map.set(action, initiator);
  };
  for (const a of station) put(a, 'station');
  for (const a of central) put(a, 'central');
  for (const a of both) put(a, 'both');
  return new Map([...map].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

const TABLES: Record<OcppVersion, ReadonlyMap<string, Initiator>> = {
  'ocpp1.6': table(V16_STATION, V16_CENTRAL, ['DataTransfer']),
  'ocpp2.0.1': table(V201_STATION, V201_CENTRAL, ['DataTransfer']),
  'ocpp2.1': table([...V201_STATION, ...V21_NEW_STATION], [...V201_CENTRAL, ...V21_NEW_CENTRAL], ['DataTransfer']),
};

function freezeList(version: OcppVersion, pick: (i: Initiator) => boolean): readonly string[] {
  return Object.freeze([...TABLES[version]].filter(([, i]) => pick(i)).map(([a]) => a));
}

const ALL = mapVersions(() => true);
const STATION = mapVersions((i) => i !== 'central');
const CENTRAL = mapVersions((i) => i !== 'station');

function mapVersions(pick: (i: Initiator) => boolean): Record<OcppVersion, readonly string[]> {
  return {
    'ocpp1.6': freezeList('ocpp1.6', pick),
    'ocpp2.0.1': freezeList('ocpp2.0.1', pick),
    'ocpp2.1': freezeList('ocpp2.1', pick),
  };
}

/** Every action of `version`, sorted. */
export function actionsFor(version: OcppVersion): readonly string[] {
  return ALL[version];
}

/** Who sends the CALL of `action` in `version`; undefined for an action the version does not define. */
export function initiatorOf(version: OcppVersion, action: string): Initiator | undefined {
  return TABLES[version].get(action);
}

/** Actions a station may send as CALL (station-initiated and 'both'), sorted. */
export function stationActions(version: OcppVersion): readonly string[] {
  return STATION[version];
}

/** Actions the central system may send as CALL ('central' and 'both'), sorted. */
export function centralActions(version: OcppVersion): readonly string[] {
  return CENTRAL[version];
}

/** True when `from` may initiate `action` ('station' | 'central'); false for unknown actions. */
export function canInitiate(version: OcppVersion, action: string, from: 'station' | 'central'): boolean {
  const initiator = TABLES[version].get(action);
  return initiator === 'both' || (initiator !== undefined && initiator === from);
}

/** True for SEND-only messages (2.1 NotifyPeriodicEventStream): no CALLRESULT is expected. */
export function isSendOnly(version: OcppVersion, action: string): boolean {
  return SEND_ONLY[version].includes(action);
}
