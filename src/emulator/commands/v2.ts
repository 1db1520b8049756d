/**
 * OCPP 2.0.1 / 2.1 commands answered by an emulated charging station (2.0.1 Part 2 use cases in the comments).
 * 2.1-only functions (DER control, tariffs, periodic event streams, battery swap, …) have no handler: the
 * station answers NotSupported, which is the honest answer of a station without those features. The device
 * model (variables and reports) is in ./v2-device-model.ts.
 */
import type { Payload } from '../../protocol/ocpp-j/frames.js';
import { RpcErrorCode } from '../../protocol/rpc-error-codes.js';
import type { Connector } from '../station/connector.js';
import type { CommandHandler, CommandResult } from './types.js';
import { cancelReservation, compositeLimit, fileReply, isoNow, ok } from './shared.js';
import { DEVICE_MODEL_HANDLERS } from './v2-device-model.js';

const h = new Map<string, CommandHandler>(DEVICE_MODEL_HANDLERS);

// --- availability, reset, connectors ---

// G03 / G04 ChangeAvailability
h.set('ChangeAvailability', (st, p) => {
  const operative = p.operationalStatus === 'Operative';
  const evse = p.evse as Payload | undefined;
  const targets = evse === undefined ? st.connectors : st.connectors.filter((c) => c.evseId === evse.id && (evse.connectorId === undefined || c.connectorId === evse.connectorId));
  if (targets.length === 0) return ok({ status: 'Rejected' });
  const scheduled = targets.some((c) => c.session !== null);
  return ok({ status: scheduled ? 'Scheduled' : 'Accepted' }, () => {
    for (const c of targets) {
      if (c.session !== null) c.pendingOperative = operative;
      else st.setStatus(c, operative ? 'Available' : 'Unavailable');
    }
  });
});

// B11 / B12 Reset: Immediate ends transactions and reboots; OnIdle waits for them ("Scheduled").
h.set('Reset', (st, p) => {
  if (p.evseId !== undefined) return ok({ status: 'Rejected' });
  const busy = st.connectors.some((c) => c.session !== null);
  if (p.type === 'OnIdle' && busy) return ok({ status: 'Scheduled' }, () => st.rebootWhenIdle('ScheduledReset'));
  return ok({ status: 'Accepted' }, () => st.reboot('SoftReset', 'RemoteReset'));
});

// F05 UnlockConnector
h.set('UnlockConnector', (st, p) => {
  const c = st.connectors.find((x) => x.evseId === p.evseId && x.connectorId === p.connectorId);
  if (c === undefined) return ok({ status: 'UnknownConnector' });
  if (c.session !== null) return ok({ status: 'OngoingAuthorizedTransaction' });
  return ok({ status: 'Unlocked' });
});

// H01 ReserveNow / H02 CancelReservation
h.set('ReserveNow', (st, p) => {
  const evseId = p.evseId as number | undefined;
  const idToken = (p.idToken as Payload).idToken as string;
  let c: Connector | undefined;
  if (evseId !== undefined && evseId !== 0) {
    c = st.connectors.find((x) => x.evseId === evseId);
    if (c === undefined) return ok({ status: 'Rejected' });
    if (c.status === 'Faulted') return ok({ status: 'Faulted' });
    if (c.status === 'Unavailable') return ok({ status: 'Unavailable' });
    if (c.session !== null || c.status !== 'Available') return ok({ status: 'Occupied' });
  } else {
    c = st.freeConnector();
    if (c === undefined) return ok({ status: 'Occupied' });
  }
  const connector = c;
  connector.reservation = { id: p.id as number, idTag: idToken, expiresAt: Date.parse(p.expiryDateTime as string) || Date.now() + 900_000 };
  return ok({ status: 'Accepted' }, () => st.setStatus(connector, 'Reserved'));
});

h.set('CancelReservation', cancelReservation);

// --- transactions ---

// F01 / F02 RequestStartTransaction
h.set('RequestStartTransaction', (st, p) => {
  if (st.state !== 'accepted') return ok({ status: 'Rejected' });
  const token = p.idToken as Payload;
  const idTag = token.idToken as string;
  let c: Connector | undefined;
  if (typeof p.evseId === 'number') {
    c = st.connectors.find((x) => x.evseId === p.evseId);
    if (c !== undefined && (c.session !== null || !(c.status === 'Available' || (c.status === 'Reserved' && c.reservation?.idTag === idTag)))) c = undefined;
  } else c = st.freeConnector(idTag);
  if (c === undefined) return ok({ status: 'Rejected' });
  const connector = c;
  if (p.chargingProfile !== undefined) {
    const profile = p.chargingProfile as Payload;
    (st.chargingProfiles ??= new Map()).set(profile.id as number, { evseId: connector.evseId, profile });
  }
  return ok({ status: 'Accepted' }, () => st.startSession(connector, idTag, { remote: true, remoteStartId: p.remoteStartId as number, idTokenType: token.type as string }));
});

// F03 RequestStopTransaction
h.set('RequestStopTransaction', (st, p) => {
  const c = st.findSession(p.transactionId as string);
  if (c === undefined) return ok({ status: 'Rejected' });
  return ok({ status: 'Accepted' }, () => st.stopSession(c, 'Remote'));
});

// E14 GetTransactionStatus
h.set('GetTransactionStatus', (st, p) => {
  const reply: Payload = { messagesInQueue: st.queuedTransactionMessages > 0 };
  if (typeof p.transactionId === 'string') reply.ongoingIndicator = st.findSession(p.transactionId) !== undefined;
  return ok(reply);
});

// F06 TriggerMessage
h.set('TriggerMessage', (st, p) => {
  const evse = p.evse as Payload | undefined;
  const targets = evse === undefined ? st.connectors : st.connectors.filter((c) => c.evseId === evse.id && (evse.connectorId === undefined || c.connectorId === evse.connectorId));
  if (evse !== undefined && targets.length === 0) return ok({ status: 'Rejected' });
  switch (p.requestedMessage) {
    case 'BootNotification':
      // F06.FR.17: a station whose boot was accepted rejects a triggered BootNotification.
      return ok({ status: 'Rejected' });
    case 'Heartbeat':
      return ok({ status: 'Accepted' }, () => st.sendHeartbeat());
    case 'StatusNotification':
      return ok({ status: 'Accepted' }, () => {
        for (const c of targets) st.sendStatus(c);
      });
    case 'MeterValues':
      return ok({ status: 'Accepted' }, () => {
        for (const c of targets) st.sendMeterValues(c, 'Trigger');
      });
    case 'TransactionEvent':
      return ok({ status: 'Accepted' }, () => {
        for (const c of targets) if (c.session !== null) st.sendMeterValues(c, 'Trigger');
      });
    case 'LogStatusNotification':
      return ok({ status: 'Accepted' }, () => st.send('LogStatusNotification', { status: 'Idle' }));
    case 'FirmwareStatusNotification':
      return ok({ status: 'Accepted' }, () => st.send('FirmwareStatusNotification', { status: 'Idle' }));
    default:
      return ok({ status: 'NotImplemented' });
  }
});

// --- smart charging ---

// K01 SetChargingProfile
h.set('SetChargingProfile', (st, p) => {
  const evseId = p.evseId as number;
  const profile = p.chargingProfile as Payload;
  if (evseId !== 0 && !st.connectors.some((c) => c.evseId === evseId)) return ok({ status: 'Rejected' });
  if (profile.chargingProfilePurpose === 'TxProfile') {
    const c = st.connectors.find((x) => x.evseId === evseId);
    if (c?.session == null || (profile.transactionId !== undefined && profile.transactionId !== c.session.id)) return ok({ status: 'Rejected' });
  }
  (st.chargingProfiles ??= new Map()).set(profile.id as number, { evseId, profile });
  return ok({ status: 'Accepted' });
});

// K10 ClearChargingProfile
h.set('ClearChargingProfile', (st, p) => {
  const criteria = (p.chargingProfileCriteria as Payload | undefined) ?? {};
  let removed = 0;
  for (const [id, entry] of st.chargingProfiles ?? []) {
    if (p.chargingProfileId !== undefined && p.chargingProfileId !== id) continue;
    if (criteria.evseId !== undefined && criteria.evseId !== entry.evseId) continue;
    if (criteria.chargingProfilePurpose !== undefined && criteria.chargingProfilePurpose !== entry.profile.chargingProfilePurpose) continue;
    if (criteria.stackLevel !== undefined && criteria.stackLevel !== entry.profile.stackLevel) continue;
    st.chargingProfiles!.delete(id);
    removed++;
  }
  return ok({ status: removed > 0 ? 'Accepted' : 'Unknown' });
});

// K09 GetChargingProfiles → ReportChargingProfiles per EVSE
h.set('GetChargingProfiles', (st, p) => {
  const crit = p.chargingProfile as Payload;
  const ids = crit.chargingProfileId as number[] | undefined;
  const byEvse = new Map<number, Payload[]>();
  for (const [id, entry] of st.chargingProfiles ?? []) {
    if (p.evseId !== undefined && p.evseId !== entry.evseId) continue;
    if (ids !== undefined && !ids.includes(id)) continue;
    if (crit.chargingProfilePurpose !== undefined && crit.chargingProfilePurpose !== entry.profile.chargingProfilePurpose) continue;
    if (crit.stackLevel !== undefined && crit.stackLevel !== entry.profile.stackLevel) continue;
    const list = byEvse.get(entry.evseId) ?? [];
    list.push(entry.profile);
    byEvse.set(entry.evseId, list);
  }
  if (byEvse.size === 0) return ok({ status: 'NoProfiles' });
  return ok({ status: 'Accepted' }, () => {
    const groups = [...byEvse];
    groups.forEach(([evseId, chargingProfile], i) => st.send('ReportChargingProfiles', { requestId: p.requestId, chargingLimitSource: 'CSO', evseId, chargingProfile, tbc: i < groups.length - 1 }));
  });
});

// K08 GetCompositeSchedule
h.set('GetCompositeSchedule', (st, p) => {
  const evseId = p.evseId as number;
  if (evseId !== 0 && !st.connectors.some((c) => c.evseId === evseId)) return ok({ status: 'Rejected' });
  const unit = (p.chargingRateUnit as string | undefined) ?? 'W';
  return ok({
    status: 'Accepted',
    schedule: { evseId, duration: p.duration, scheduleStart: isoNow(), chargingRateUnit: unit, chargingSchedulePeriod: [{ startPeriod: 0, limit: compositeLimit(st, evseId, unit) }] },
  });
});

// --- local authorization ---

h.set('ClearCache', (st) => {
  if (st.key('AuthorizationCacheEnabled') === 'false') return ok({ status: 'Rejected' });
  st.authCache = null;
  return ok({ status: 'Accepted' });
});

h.set('GetLocalListVersion', (st) => ok({ versionNumber: st.localList?.version ?? 0 }));

// D01 SendLocalList
h.set('SendLocalList', (st, p) => {
  if (st.key('LocalAuthListEnabled') === 'false') return ok({ status: 'Failed' });
  const list = (p.localAuthorizationList as Payload[] | undefined) ?? [];
  const current = st.localList;
  const token = (e: Payload): string => (e.idToken as Payload).idToken as string;
  if (p.updateType === 'Full' || current === null) {
    st.localList = { version: p.versionNumber as number, tags: new Map(list.map((e) => [token(e), e.idTokenInfo])) };
  } else {
    if ((p.versionNumber as number) <= current.version) return ok({ status: 'VersionMismatch' });
    for (const e of list) {
      if (e.idTokenInfo === undefined) current.tags.delete(token(e));
      else current.tags.set(token(e), e.idTokenInfo);
    }
    current.version = p.versionNumber as number;
  }
  return ok({ status: 'Accepted' });
});

// --- data transfer, firmware, logs, customer information ---

h.set('DataTransfer', (st, p) => {
  const file = fileReply(st, 'DataTransfer');
  if (file !== undefined) return ok(file);
  const reply: Payload = { status: 'Accepted' };
  if (p.data !== undefined) reply.data = p.data;
  return ok(reply);
});

h.set('GetLog', (st, p) => {
  const requestId = p.requestId as number;
  const filename = `${String(p.logType).toLowerCase()}-${Date.now()}.log`;
  return ok({ status: 'Accepted', filename }, () =>
    st.sendSteps([
      ['LogStatusNotification', { status: 'Uploading', requestId }],
      ['LogStatusNotification', { status: 'Uploaded', requestId }],
    ]),
  );
});

h.set('UpdateFirmware', (st, p) => {
  const requestId = p.requestId as number;
  return ok({ status: 'Accepted' }, () => st.sendSteps(['Downloading', 'Downloaded', 'Installing', 'Installed'].map((status) => ['FirmwareStatusNotification', { status, requestId }])));
});

h.set('CustomerInformation', (st, p) =>
  ok({ status: 'Accepted' }, () => {
    if (p.report === true) st.send('NotifyCustomerInformation', { data: 'no customer data stored', seqNo: 0, generatedAt: isoNow(), requestId: p.requestId, tbc: false });
  }),
);

h.set('CostUpdated', () => ok({}));

// --- what an emulated station without a PKI, display or monitoring honestly refuses ---

h.set('CertificateSigned', () => ok({ status: 'Rejected' }));
h.set('InstallCertificate', () => ok({ status: 'Rejected' }));
h.set('DeleteCertificate', () => ok({ status: 'NotFound' }));
h.set('GetInstalledCertificateIds', () => ok({ status: 'NotFound' }));
h.set('SetNetworkProfile', () => ok({ status: 'Rejected' }));
h.set('SetDisplayMessage', () => ok({ status: 'Rejected' }));
h.set('GetDisplayMessages', () => ok({ status: 'Unknown' }));
h.set('ClearDisplayMessage', () => ok({ status: 'Unknown' }));
h.set('SetMonitoringBase', () => ok({ status: 'NotSupported' }));
h.set('SetMonitoringLevel', () => ok({ status: 'Rejected' }));
h.set('GetMonitoringReport', () => ok({ status: 'NotSupported' }));
h.set('SetVariableMonitoring', (_st, p) =>
  ok({ setMonitoringResult: (p.setMonitoringData as Payload[]).map((d) => ({ status: 'Rejected', type: d.type, severity: d.severity, component: d.component, variable: d.variable })) }),
);
h.set('ClearVariableMonitoring', (_st, p) => ok({ clearMonitoringResult: (p.id as number[]).map((id) => ({ status: 'NotFound', id })) }));
// A station is not a Local Controller (L03 / L04).
const notLocalController = (): CommandResult => ({ error: RpcErrorCode.NotSupported, description: 'this station is not a local controller' });
h.set('PublishFirmware', notLocalController);
h.set('UnpublishFirmware', notLocalController);

export const V2_HANDLERS: ReadonlyMap<string, CommandHandler> = h;
/** 2.1: the 2.0.1 handlers; its new functions are answered NotSupported (no handler). */
export const V21_HANDLERS: ReadonlyMap<string, CommandHandler> = new Map(h);
