/**
 * Charging on an emulated station: connector statuses (StatusNotification), sessions (Authorize when needed,
 * then 1.6 StartTransaction / StopTransaction or 2.x TransactionEvent Started / Updated / Ended), the energy
 * register and its meter values (MeterValueSampleInterval), reservations that expire. Sessions and
 * reservations run on while the station is offline: their transaction messages queue up (./rpc.ts).
 */
import { randomUUID } from 'node:crypto';
import type { Payload } from '../../protocol/ocpp-j/frames.js';
import type { Connector, Session, SessionOptions } from './connector.js';
import { StationBoot } from './boot.js';

function isoNow(now = Date.now()): string {
  return new Date(now).toISOString();
}

export abstract class StationCharging extends StationBoot {
  #txCounter = 0;

  /** A session ended on `c` (the scenario may plan the next arrival). */
  protected abstract sessionEnded(c: Connector, now: number): void;

  /** Boot accepted: the current statuses (1.6: connector 0 first). */
  protected booted(_now: number): void {
    if (this.v16) this.sendStatus(null);
    for (const c of this.connectors) this.sendStatus(c);
  }

  protected stopSessions(reason: string): void {
    for (const c of this.connectors) if (c.session !== null) this.stopSession(c, reason);
  }

  // --- status, meter values ---

  /** StatusNotification for a connector (null: 1.6 connector 0, the whole station). */
  sendStatus(c: Connector | null): void {
    if (this.state !== 'accepted') return;
    const now = isoNow();
    if (this.v16) {
      this.send('StatusNotification', { connectorId: c === null ? 0 : c.connectorId, errorCode: c === null ? 'NoError' : c.errorCode, status: c === null ? 'Available' : c.status, timestamp: now });
    } else if (c !== null) {
      this.send('StatusNotification', { timestamp: now, connectorStatus: v2Status(c.status), evseId: c.evseId, connectorId: c.connectorId });
    }
  }

  setStatus(c: Connector, status: string): void {
    if (c.status === status) return;
    c.status = status;
    this.sendStatus(c);
  }

  /** Brings the energy register of `c` up to `now` (charging at the connector's power). */
  #advanceMeter(c: Connector, now: number): void {
    if (c.session !== null && !c.session.ended && c.meterAt > 0) c.meterWh += (c.powerW * (now - c.meterAt)) / 3_600_000;
    c.meterAt = now;
  }

  meterValue(c: Connector, now: number, context: string): Payload {
    this.#advanceMeter(c, now);
    const charging = c.session !== null && !c.session.ended;
    const wh = Math.round(c.meterWh);
    const w = charging ? c.powerW : 0;
    if (this.v16) {
      return {
        timestamp: isoNow(now),
        sampledValue: [
          { value: String(wh), context, measurand: 'Energy.Active.Import.Register', unit: 'Wh' },
          { value: String(w), context, measurand: 'Power.Active.Import', unit: 'W' },
        ],
      };
    }
    return {
      timestamp: isoNow(now),
      sampledValue: [
        { value: wh, context, measurand: 'Energy.Active.Import.Register', unitOfMeasure: { unit: 'Wh' } },
        { value: w, context, measurand: 'Power.Active.Import', unitOfMeasure: { unit: 'W' } },
      ],
    };
  }

  sendMeterValues(c: Connector, context = 'Sample.Periodic'): void {
    const now = Date.now();
    const s = c.session;
    if (this.v16) {
      const payload: Payload = { connectorId: c.connectorId, meterValue: [this.meterValue(c, now, context)] };
      if (s !== null && s.id !== undefined) payload.transactionId = s.id;
      if (s !== null) this.send('MeterValues', payload, { session: s });
      else this.send('MeterValues', payload);
    } else if (s !== null && !s.ended) {
      this.#transactionEvent(c, s, 'Updated', context === 'Trigger' ? 'Trigger' : 'MeterValuePeriodic', [this.meterValue(c, now, context)]);
    } else {
      this.send('MeterValues', { evseId: c.evseId, meterValue: [this.meterValue(c, now, context)] });
    }
  }

  findConnector(id: number): Connector | undefined {
    return this.connectors.find((c) => (this.v16 ? c.connectorId === id : c.evseId === id));
  }

  findSession(id: number | string): Connector | undefined {
    return this.connectors.find((c) => c.session !== null && !c.session.ended && c.session.id === id);
  }

  /** A free connector for a new session (reserved for `idTag` is fine). */
  freeConnector(idTag?: string): Connector | undefined {
    return this.connectors.find((c) => c.session === null && (c.status === 'Available' || (c.status === 'Reserved' && c.reservation?.idTag === idTag)));
  }

  /**
   * Starts a session on `c`: Preparing, Authorize when needed, StartTransaction (1.6) / TransactionEvent
   * Started (2.x), then Charging. `durationS` 0 charges until stopped.
   */
  startSession(c: Connector, idTag: string, options: SessionOptions = {}): Session {
    const now = Date.now();
    const remote = options.remote === true;
    const session: Session = { id: undefined, idTag, startWh: 0, startedAt: now, lastSampleAt: now, stopAt: options.durationS !== undefined && options.durationS > 0 ? now + options.durationS * 1000 : 0, seqNo: 0, remote, ended: false };
    if (options.remoteStartId !== undefined) session.remoteStartId = options.remoteStartId;
    if (c.reservation !== null && c.reservation.idTag === idTag) {
      session.reservationId = c.reservation.id;
      c.reservation = null;
    }
    c.session = session;
    c.nextArrivalAt = 0;
    this.ctx.stats.sessionsStarted++;
    this.setStatus(c, 'Preparing');
    const authorize = !remote || this.key('AuthorizeRemoteTxRequests') === 'true';
    const begin = (): void => {
      if (session.ended) return;
      this.#advanceMeter(c, Date.now());
      session.startWh = Math.round(c.meterWh);
      session.startedAt = Date.now();
      session.lastSampleAt = session.startedAt;
      if (this.v16) {
        const p: Payload = { connectorId: c.connectorId, idTag, meterStart: session.startWh, timestamp: isoNow(session.startedAt) };
        if (session.reservationId !== undefined) p.reservationId = session.reservationId;
        this.send('StartTransaction', p, {
          session,
          then: (r) => {
            if (typeof r.transactionId === 'number') session.id = r.transactionId;
            const status = (r.idTagInfo as Payload | undefined)?.status;
            if (status !== undefined && status !== 'Accepted' && !session.ended) this.stopSession(c, 'DeAuthorized');
          },
        });
      } else {
        session.id = `${randomUUID()}`;
        const extra: Payload = { idToken: { idToken: idTag, type: options.idTokenType ?? 'ISO14443' } };
        if (session.reservationId !== undefined) extra.reservationId = session.reservationId;
        this.#transactionEvent(c, session, 'Started', remote ? 'RemoteStart' : 'Authorized', [this.meterValue(c, session.startedAt, 'Transaction.Begin')], extra);
      }
      if (!session.ended) this.setStatus(c, 'Charging');
      this.reschedule();
    };
    if (authorize && this.online && this.state === 'accepted') {
      const payload: Payload = this.v16 ? { idTag } : { idToken: { idToken: idTag, type: options.idTokenType ?? 'ISO14443' } };
      this.send('Authorize', payload, {
        then: (r) => {
          const status = ((this.v16 ? r.idTagInfo : r.idTokenInfo) as Payload | undefined)?.status;
          if (status === 'Accepted') begin();
          else this.#abortSession(c);
        },
        fail: () => this.#abortSession(c),
      });
    } else {
      begin();
    }
    return session;
  }

  #abortSession(c: Connector): void {
    if (c.session === null) return;
    c.session.ended = true;
    c.session = null;
    this.ctx.stats.sessionsStopped++;
    this.setStatus(c, 'Available');
    this.#afterSession(c);
  }

  /** Ends the session on `c` with a 1.6 Reason (Local, Remote, EVDisconnected, DeAuthorized, …). */
  stopSession(c: Connector, reason: string): void {
    const s = c.session;
    if (s === null || s.ended) return;
    const now = Date.now();
    const mv = this.meterValue(c, now, 'Transaction.End');
    s.ended = true;
    this.ctx.stats.sessionsStopped++;
    if (this.v16) {
      const p: Payload = { idTag: s.idTag, meterStop: Math.round(c.meterWh), timestamp: isoNow(now), reason, transactionData: [mv] };
      if (s.id !== undefined) p.transactionId = s.id;
      this.send('StopTransaction', p, { session: s });
      this.setStatus(c, 'Finishing');
    } else {
      const trigger = reason === 'Remote' ? 'RemoteStop' : reason === 'EVDisconnected' ? 'EVDeparted' : reason === 'DeAuthorized' ? 'Deauthorized' : reason === 'UnlockCommand' ? 'UnlockCommand' : reason.endsWith('Reset') ? 'ResetCommand' : 'StopAuthorized';
      this.#transactionEvent(c, s, 'Ended', trigger, [mv], {}, v2StoppedReason(reason));
    }
    c.session = null;
    this.setStatus(c, 'Available');
    this.#afterSession(c);
  }

  #afterSession(c: Connector): void {
    if (c.pendingOperative !== null) {
      const operative = c.pendingOperative;
      c.pendingOperative = null;
      this.setStatus(c, operative ? 'Available' : 'Unavailable');
    }
    this.resetIfIdle();
    this.sessionEnded(c, Date.now());
    this.reschedule();
  }

  #transactionEvent(c: Connector, s: Session, eventType: string, triggerReason: string, meterValue: Payload[], extra: Payload = {}, stoppedReason?: string): void {
    const info: Payload = { transactionId: s.id as string };
    if (eventType !== 'Ended') info.chargingState = 'Charging';
    if (stoppedReason !== undefined) info.stoppedReason = stoppedReason;
    if (s.remoteStartId !== undefined && eventType === 'Started') info.remoteStartId = s.remoteStartId;
    const p: Payload = { eventType, timestamp: isoNow(), triggerReason, seqNo: s.seqNo++, transactionInfo: info, meterValue, ...extra };
    if (eventType === 'Started') p.evse = { id: c.evseId, connectorId: c.connectorId };
    if (!this.online || this.state !== 'accepted') p.offline = true;
    this.send('TransactionEvent', p, {
      session: s,
      then: (r) => {
        const status = (r.idTokenInfo as Payload | undefined)?.status;
        if (status !== undefined && status !== 'Accepted' && !s.ended && c.session === s) this.stopSession(c, 'DeAuthorized');
      },
    });
  }

  /** 2.x transaction id counter for ids made by the station (unused by 1.6). */
  nextLocalId(): number {
    return ++this.#txCounter;
  }

  // --- the wheel ---

  /** Sessions that end or sample at `now`, reservations that expire. */
  protected wakeSessions(now: number): void {
    let sampleMs = -1; // read from the keys only when a session runs
    for (const c of this.connectors) {
      const s = c.session;
      if (s !== null && !s.ended) {
        if (sampleMs < 0) sampleMs = this.sampleIntervalMs();
        if (s.stopAt !== 0 && now >= s.stopAt) this.stopSession(c, s.remote ? 'Remote' : 'EVDisconnected');
        else if (sampleMs > 0 && now >= s.lastSampleAt + sampleMs) {
          s.lastSampleAt = now;
          this.sendMeterValues(c);
        }
      }
      if (c.reservation !== null && now >= c.reservation.expiresAt) {
        const id = c.reservation.id;
        c.reservation = null;
        if (!this.v16) this.send('ReservationStatusUpdate', { reservationId: id, reservationUpdateStatus: 'Expired' });
        if (c.status === 'Reserved') this.setStatus(c, 'Available');
      }
    }
  }

  /** When a session next ends or samples, or a reservation expires (Infinity: none). */
  protected get sessionsDue(): number {
    let due = Infinity;
    let sampleMs = -1;
    for (const c of this.connectors) {
      const s = c.session;
      if (s !== null && !s.ended) {
        if (sampleMs < 0) sampleMs = this.sampleIntervalMs();
        if (s.stopAt !== 0) due = Math.min(due, s.stopAt);
        if (sampleMs > 0) due = Math.min(due, s.lastSampleAt + sampleMs);
      }
      if (c.reservation !== null) due = Math.min(due, c.reservation.expiresAt);
    }
    return due;
  }
}

/** 1.6 ChargePointStatus → 2.x ConnectorStatusEnumType. */
export function v2Status(status: string): string {
  switch (status) {
    case 'Available':
    case 'Reserved':
    case 'Unavailable':
    case 'Faulted':
      return status;
    default:
      return 'Occupied';
  }
}

/** 1.6 Reason → 2.x ReasonEnumType (stoppedReason). */
function v2StoppedReason(reason: string): string {
  switch (reason) {
    case 'HardReset':
    case 'SoftReset':
      return 'ImmediateReset';
    case 'EmergencyStop':
    case 'EVDisconnected':
    case 'Local':
    case 'Other':
    case 'PowerLoss':
    case 'Reboot':
    case 'Remote':
    case 'DeAuthorized':
      return reason;
    default:
      return 'Other';
  }
}
