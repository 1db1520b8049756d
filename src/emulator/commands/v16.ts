/**
 * OCPP 1.6 (and the 1.6 security extension) commands answered by an emulated charge point. Section numbers:
 * OCPP 1.6 edition 2 §5 (operations initiated by the central system) and the whitepaper "Improved security for
 * OCPP 1.6-J".
 */
import type { Payload } from '../../protocol/ocpp-j/frames.js';
import type { Connector } from '../station/connector.js';
import type { CommandHandler, CommandStation } from './types.js';
import { cancelReservation, compositeLimit, fileReply, isoNow, ok } from './shared.js';

const h = new Map<string, CommandHandler>();

// §5.1 CancelReservation
h.set('CancelReservation', cancelReservation);

// §5.2 ChangeAvailability: connector 0 = the whole station; Scheduled while a transaction runs.
h.set('ChangeAvailability', (st, p) => {
  const operative = p.type === 'Operative';
  const id = p.connectorId as number;
  const targets = id === 0 ? st.connectors : [st.findConnector(id)].filter((c): c is Connector => c !== undefined);
  if (targets.length === 0) return ok({ status: 'Rejected' });
  let scheduled = false;
  for (const c of targets) if (c.session !== null) scheduled = true;
  return ok({ status: scheduled ? 'Scheduled' : 'Accepted' }, () => {
    for (const c of targets) {
      if (c.session !== null) c.pendingOperative = operative;
      else st.setStatus(c, operative ? 'Available' : 'Unavailable');
    }
  });
});

// §5.3 ChangeConfiguration: NotSupported for unknown keys, Rejected for read-only ones.
h.set('ChangeConfiguration', (st, p) => {
  const key = p.key as string;
  const entry = st.spec.keys.get(key);
  if (entry === undefined) return ok({ status: 'NotSupported' });
  if (entry.readonly) return ok({ status: 'Rejected' });
  if (/Interval$/.test(key) && !/^\d+$/.test(p.value as string)) return ok({ status: 'Rejected' });
  st.setKey(key, p.value as string);
  return ok({ status: key === 'CentralSystemURL' ? 'RebootRequired' : 'Accepted' });
});

// §5.4 ClearCache
h.set('ClearCache', (st) => {
  if (st.key('AuthorizationCacheEnabled') !== 'true') return ok({ status: 'Rejected' });
  st.authCache = null;
  return ok({ status: 'Accepted' });
});

// §5.5 ClearChargingProfile: by id, or by connector / purpose / stack level.
h.set('ClearChargingProfile', (st, p) => {
  const profiles = st.chargingProfiles;
  let removed = 0;
  if (profiles !== null) {
    for (const [id, entry] of profiles) {
      const prof = entry.profile;
      if (p.id !== undefined && p.id !== id) continue;
      if (p.connectorId !== undefined && p.connectorId !== entry.evseId) continue;
      if (p.chargingProfilePurpose !== undefined && p.chargingProfilePurpose !== prof.chargingProfilePurpose) continue;
      if (p.stackLevel !== undefined && p.stackLevel !== prof.stackLevel) continue;
      profiles.delete(id);
      removed++;
    }
  }
  return ok({ status: removed > 0 ? 'Accepted' : 'Unknown' });
});

// §5.6 DataTransfer: a DataTransfer.json reply file wins (ocpp-cs); else Accepted with the data echoed (ocpp-cs).
h.set('DataTransfer', (st, p) => {
  const file = fileReply(st, 'DataTransfer');
  if (file !== undefined) return ok(file);
  const reply: Payload = { status: 'Accepted' };
  if (typeof p.data === 'string') reply.data = p.data;
  return ok(reply);
});

// §5.7 GetCompositeSchedule: the lowest first-period limit of the installed profiles, else the connector power.
h.set('GetCompositeSchedule', (st, p) => {
  const id = p.connectorId as number;
  if (id !== 0 && st.findConnector(id) === undefined) return ok({ status: 'Rejected' });
  const unit = (p.chargingRateUnit as string | undefined) ?? 'W';
  const period = compositeLimit(st, id, unit);
  return ok({
    status: 'Accepted',
    connectorId: id,
    scheduleStart: isoNow(),
    chargingSchedule: { duration: p.duration as number, chargingRateUnit: unit, chargingSchedulePeriod: [{ startPeriod: 0, limit: period }] },
  });
});

// §5.8 GetConfiguration: every key, or the ones asked for with unknownKey.
h.set('GetConfiguration', (st, p) => {
  const wanted = Array.isArray(p.key) && p.key.length > 0 ? (p.key as string[]) : null;
  const configurationKey: Payload[] = [];
  const unknownKey: string[] = [];
  if (wanted === null) {
    for (const [key, e] of st.keyEntries()) configurationKey.push({ key, readonly: e.readonly, value: e.value.slice(0, 500) });
  } else {
    for (const key of wanted) {
      const e = st.spec.keys.get(key);
      if (e === undefined) unknownKey.push(key);
      else configurationKey.push({ key, readonly: e.readonly, value: e.value.slice(0, 500) });
    }
  }
  const reply: Payload = { configurationKey };
  if (unknownKey.length > 0) reply.unknownKey = unknownKey;
  return ok(reply);
});

// §5.9 GetDiagnostics: a file name, then DiagnosticsStatusNotification Uploading → Uploaded (simulated; nothing
// is uploaded).
h.set('GetDiagnostics', (st) => {
  const fileName = `diagnostics-${st.identity}-${Date.now()}.log`.slice(0, 255);
  return ok({ fileName }, () =>
    st.sendSteps([
      ['DiagnosticsStatusNotification', { status: 'Uploading' }],
      ['DiagnosticsStatusNotification', { status: 'Uploaded' }],
    ]),
  );
});

// §5.10 GetLocalListVersion: 0 = no list installed, -1 = not supported.
h.set('GetLocalListVersion', (st) => {
  if (st.key('LocalAuthListEnabled') === 'false') return ok({ listVersion: -1 });
  return ok({ listVersion: st.localList?.version ?? 0 });
});

// §5.11 RemoteStartTransaction: starts a session (Authorize first when AuthorizeRemoteTxRequests is true).
h.set('RemoteStartTransaction', (st, p) => {
  if (st.state !== 'accepted') return ok({ status: 'Rejected' });
  const idTag = p.idTag as string;
  let c: Connector | undefined;
  if (typeof p.connectorId === 'number') {
    c = st.findConnector(p.connectorId);
    if (c !== undefined && (c.session !== null || !(c.status === 'Available' || (c.status === 'Reserved' && c.reservation?.idTag === idTag)))) c = undefined;
  } else c = st.freeConnector(idTag);
  if (c === undefined) return ok({ status: 'Rejected' });
  const connector = c;
  if (p.chargingProfile !== undefined) {
    const profile = p.chargingProfile as Payload;
    (st.chargingProfiles ??= new Map()).set(profile.chargingProfileId as number, { evseId: connector.connectorId, profile });
  }
  return ok({ status: 'Accepted' }, () => st.startSession(connector, idTag, { remote: true }));
});

// §5.12 RemoteStopTransaction
h.set('RemoteStopTransaction', (st, p) => {
  const c = st.findSession(p.transactionId as number);
  if (c === undefined) return ok({ status: 'Rejected' });
  return ok({ status: 'Accepted' }, () => st.stopSession(c, 'Remote'));
});

// §5.13 ReserveNow
h.set('ReserveNow', (st, p) => {
  const id = p.connectorId as number;
  if (id === 0) return ok({ status: st.key('ReserveConnectorZeroSupported') === 'true' ? 'Accepted' : 'Rejected' });
  const c = st.findConnector(id);
  if (c === undefined) return ok({ status: 'Rejected' });
  if (c.status === 'Faulted') return ok({ status: 'Faulted' });
  if (c.status === 'Unavailable') return ok({ status: 'Unavailable' });
  if (c.session !== null || (c.status !== 'Available' && !(c.status === 'Reserved' && c.reservation?.id === p.reservationId))) return ok({ status: 'Occupied' });
  c.reservation = { id: p.reservationId as number, idTag: p.idTag as string, expiresAt: Date.parse(p.expiryDate as string) || Date.now() + 900_000 };
  return ok({ status: 'Accepted' }, () => st.setStatus(c, 'Reserved'));
});

// §5.14 Reset: simulated reboot (stop transactions, close, reconnect, boot). Never touches the host.
h.set('Reset', (st, p) => {
  const hard = p.type === 'Hard';
  return ok({ status: 'Accepted' }, () => st.reboot(hard ? 'HardReset' : 'SoftReset'));
});

// §5.15 SendLocalList
h.set('SendLocalList', (st, p) => {
  if (st.key('LocalAuthListEnabled') === 'false') return ok({ status: 'NotSupported' });
  const list = (p.localAuthorizationList as Payload[] | undefined) ?? [];
  const current = st.localList;
  if (p.updateType === 'Full' || current === null) {
    st.localList = { version: p.listVersion as number, tags: new Map(list.map((e) => [e.idTag as string, e.idTagInfo])) };
  } else {
    if ((p.listVersion as number) <= current.version) return ok({ status: 'VersionMismatch' });
    for (const e of list) {
      if (e.idTagInfo === undefined) current.tags.delete(e.idTag as string);
      else current.tags.set(e.idTag as string, e.idTagInfo);
    }
    current.version = p.listVersion as number;
  }
  return ok({ status: 'Accepted' });
});

// §5.16 SetChargingProfile: stored per profile id (connector 0 = the whole station).
h.set('SetChargingProfile', (st, p) => {
  const id = p.connectorId as number;
  if (id !== 0 && st.findConnector(id) === undefined) return ok({ status: 'Rejected' });
  const profile = p.csChargingProfiles as Payload;
  if (profile.chargingProfilePurpose === 'TxProfile' && (id === 0 || st.findConnector(id)?.session == null)) return ok({ status: 'Rejected' });
  (st.chargingProfiles ??= new Map()).set(profile.chargingProfileId as number, { evseId: id, profile });
  return ok({ status: 'Accepted' });
});

// §5.17 TriggerMessage: Accepted, then the message itself.
h.set('TriggerMessage', (st, p) => triggerV16(st, p.requestedMessage as string, p.connectorId as number | undefined, false));

function triggerV16(st: CommandStation, message: string, connectorId: number | undefined, extended: boolean): ReturnType<CommandHandler> {
  const c = connectorId === undefined || connectorId === 0 ? undefined : st.findConnector(connectorId);
  if (connectorId !== undefined && connectorId !== 0 && c === undefined) return ok({ status: 'Rejected' });
  const targets = c === undefined ? st.connectors : [c];
  switch (message) {
    case 'BootNotification':
      return ok({ status: 'Accepted' }, () => st.send('BootNotification', { chargePointVendor: st.spec.vendor.slice(0, 20), chargePointModel: st.spec.model.slice(0, 20) }));
    case 'Heartbeat':
      return ok({ status: 'Accepted' }, () => st.sendHeartbeat());
    case 'StatusNotification':
      return ok({ status: 'Accepted' }, () => {
        if (c === undefined) st.sendStatus(null);
        for (const x of targets) st.sendStatus(x);
      });
    case 'MeterValues':
      return ok({ status: 'Accepted' }, () => {
        for (const x of targets) st.sendMeterValues(x, 'Trigger');
      });
    case 'DiagnosticsStatusNotification':
      return ok({ status: 'Accepted' }, () => st.send('DiagnosticsStatusNotification', { status: 'Idle' }));
    case 'FirmwareStatusNotification':
      return ok({ status: 'Accepted' }, () => st.send('FirmwareStatusNotification', { status: 'Idle' }));
    case 'LogStatusNotification':
      return ok({ status: 'Accepted' }, () => st.send('LogStatusNotification', { status: 'Idle' }));
    default:
      // 1.6 §5.17: "NotImplemented" for a message the station cannot send (extended: SignChargePointCertificate).
      void extended;
      return ok({ status: 'NotImplemented' });
  }
}

// §5.18 UnlockConnector: a running transaction is stopped first (reason UnlockCommand).
h.set('UnlockConnector', (st, p) => {
  const c = st.findConnector(p.connectorId as number);
  if (c === undefined) return ok({ status: 'NotSupported' });
  return ok({ status: 'Unlocked' }, () => {
    if (c.session !== null) st.stopSession(c, 'UnlockCommand');
  });
});

// §5.19 UpdateFirmware: FirmwareStatusNotification Downloading → Downloaded → Installing → Installed (simulated).
h.set('UpdateFirmware', (st) =>
  ok({}, () =>
    st.sendSteps([
      ['FirmwareStatusNotification', { status: 'Downloading' }],
      ['FirmwareStatusNotification', { status: 'Downloaded' }],
      ['FirmwareStatusNotification', { status: 'Installing' }],
      ['FirmwareStatusNotification', { status: 'Installed' }],
    ]),
  ),
);

// --- 1.6 security extension (no PKI in the emulator: certificate operations are refused honestly) ---

h.set('CertificateSigned', () => ok({ status: 'Rejected' }));
h.set('DeleteCertificate', () => ok({ status: 'NotFound' }));
h.set('GetInstalledCertificateIds', () => ok({ status: 'NotFound' }));
h.set('InstallCertificate', () => ok({ status: 'Rejected' }));
h.set('ExtendedTriggerMessage', (st, p) => {
  const msg = p.requestedMessage as string;
  if (msg === 'SignChargePointCertificate') return ok({ status: 'NotImplemented' });
  return triggerV16(st, msg, p.connectorId as number | undefined, true);
});
h.set('GetLog', (st, p) => {
  const requestId = p.requestId as number;
  const filename = `${String(p.logType).toLowerCase()}-${st.identity}-${Date.now()}.log`.slice(0, 255);
  return ok({ status: 'Accepted', filename }, () =>
    st.sendSteps([
      ['LogStatusNotification', { status: 'Uploading', requestId }],
      ['LogStatusNotification', { status: 'Uploaded', requestId }],
    ]),
  );
});
h.set('SignedUpdateFirmware', (st, p) => {
  const requestId = p.requestId as number;
  return ok({ status: 'Accepted' }, () =>
    st.sendSteps(['Downloading', 'Downloaded', 'SignatureVerified', 'Installing', 'Installed'].map((status) => ['SignedFirmwareStatusNotification', { status, requestId }])),
  );
});

export const V16_HANDLERS: ReadonlyMap<string, CommandHandler> = h;
