/**
 * Boot, heartbeat and reboot of a station. On every new link the BootNotification goes first (1.6 §4.2,
 * 2.0.1 B01); Pending or Rejected retries it after the interval given (B01.FR.06 / B02), a CALLERROR or no
 * answer after `bootRetryDefaultS`. Accepted: the heartbeat interval (any message sent resets the heartbeat
 * clock), the replay of the transaction messages kept offline, then the layers above (`booted`: statuses,
 * scenario). A Reset is a simulated reboot: sessions end, the queue gets 2 s to drain, the link closes, the
 * station reconnects after `rebootDelayMs` and boots again with the reason given.
 */
import type { Payload } from '../../protocol/ocpp-j/frames.js';
import { StationRpc } from './rpc.js';

export abstract class StationBoot extends StationRpc {
  bootCount = 0;
  /** Heartbeat interval given by the central system (s). */
  heartbeatIntervalS = 0;
  #bootRetryAt = 0;
  #heartbeatAt = 0;
  #bootReason = 'PowerUp';
  #resetWhenIdle: string | null = null;

  /** The boot is accepted: what the layers above send and plan then. */
  protected abstract booted(now: number): void;
  /** A reboot ends the running sessions with this 1.6 Reason. */
  protected abstract stopSessions(reason: string): void;

  protected linkReady(): void {
    this.#sendBoot();
  }

  /** HeartbeatInterval changed while booted: the next heartbeat follows the new interval. */
  override setKey(name: string, value: string): void {
    super.setKey(name, value);
    if (name === 'HeartbeatInterval' && this.state === 'accepted') {
      const s = Number(value);
      if (Number.isFinite(s) && s > 0) {
        this.heartbeatIntervalS = s;
        this.#heartbeatAt = Date.now() + s * 1000;
        this.reschedule();
      }
    }
  }

  sendHeartbeat(): void {
    this.send('Heartbeat', {});
  }

  protected messageSent(): void {
    if (this.state === 'accepted' && this.heartbeatIntervalS > 0) this.#heartbeatAt = Date.now() + this.heartbeatIntervalS * 1000;
  }

  #bootPayload(): Payload {
    const s = this.spec;
    const file = s.files?.BootNotification;
    if (file !== undefined) return file;
    if (this.v16) {
      const p: Payload = { chargePointVendor: s.vendor.slice(0, 20), chargePointModel: s.model.slice(0, 20) };
      if (s.serialNumber !== undefined) p.chargePointSerialNumber = s.serialNumber.slice(0, 25);
      if (s.firmwareVersion !== undefined) p.firmwareVersion = s.firmwareVersion.slice(0, 50);
      return p;
    }
    const cs: Payload = { model: s.model.slice(0, 20), vendorName: s.vendor.slice(0, 50) };
    if (s.serialNumber !== undefined) cs.serialNumber = s.serialNumber.slice(0, 25);
    if (s.firmwareVersion !== undefined) cs.firmwareVersion = s.firmwareVersion.slice(0, 50);
    return { reason: this.#bootReason, chargingStation: cs };
  }

  #sendBoot(): void {
    this.sendBoot(
      this.#bootPayload(),
      (p) => this.#onBootResult(p),
      () => {
        // A CALLERROR / Fault or no answer: try again later, as after Pending (only BootNotification is sent).
        if (this.state === 'booting' || this.state === 'pending') {
          if (this.state === 'booting') {
            this.state = 'pending';
            this.emitState();
          }
          this.#retryBoot(this.ctx.timings.bootRetryDefaultS);
        }
      },
    );
  }

  #onBootResult(p: Payload): void {
    const interval = typeof p.interval === 'number' ? p.interval : 0;
    if (p.status === 'Accepted') {
      this.state = 'accepted';
      this.bootCount++;
      this.ctx.stats.booted++;
      this.resetBackoff();
      this.#bootReason = 'Unknown';
      this.heartbeatIntervalS = interval > 0 ? interval : Number(this.key('HeartbeatInterval') ?? 300) || 300;
      const now = Date.now();
      this.#heartbeatAt = now + this.heartbeatIntervalS * 1000;
      this.emitState();
      // Replay first (the queue holds only transaction messages now), then the current statuses.
      this.startReplay(now);
      this.booted(now);
      this.pumpCalls();
    } else {
      // Pending / Rejected: retry after the interval (1.6 §4.2, 2.0.1 B01.FR.06 / B02).
      this.state = 'pending';
      this.emitState();
      this.#retryBoot(interval > 0 ? interval : this.ctx.timings.bootRetryDefaultS);
    }
    this.reschedule();
  }

  #retryBoot(seconds: number): void {
    this.#bootRetryAt = Date.now() + seconds * 1000;
    this.reschedule();
  }

  /** A simulated reboot (Reset): finish sessions, close, reconnect after rebootDelayMs, boot again. */
  reboot(stopReason: string, bootReason = 'RemoteReset'): void {
    this.#bootReason = bootReason;
    this.stopSessions(stopReason);
    this.state = 'resetting';
    this.emitState();
    // Give the queue (StopTransaction, …) up to 2 s to drain, then close.
    this.addJob(Date.now() + 2000, () => this.#closeForReset());
    this.pumpCalls();
  }

  #closeForReset(): void {
    if (this.state === 'resetting') this.resetLink();
  }

  /** Reset "OnIdle"/scheduled: reboot once no session runs. */
  rebootWhenIdle(bootReason: string): void {
    this.#resetWhenIdle = bootReason;
  }

  /** A session ended: a reset waiting for idle connectors runs now if none is busy. */
  protected resetIfIdle(): void {
    if (this.#resetWhenIdle !== null && this.connectors.every((x) => x.session === null)) {
      const reason = this.#resetWhenIdle;
      this.#resetWhenIdle = null;
      this.reboot('SoftReset', reason);
    }
  }

  /** Pending: the BootNotification again once its retry time has come and nothing is in flight. */
  protected wakeBoot(now: number): void {
    if (this.state === 'pending' && this.#bootRetryAt !== 0 && now >= this.#bootRetryAt && !this.calling) {
      this.#bootRetryAt = 0;
      this.#sendBoot();
    }
  }

  /** Accepted: a Heartbeat when its time has come and the station has nothing else to say. */
  protected wakeHeartbeat(now: number): void {
    if (this.#heartbeatAt !== 0 && now >= this.#heartbeatAt && this.callsIdle) this.sendHeartbeat();
  }

  /** Resetting: close once the queue is empty (or when the 2 s job runs). */
  protected wakeReset(): void {
    if (this.state === 'resetting' && this.callsIdle) this.#closeForReset();
  }

  /** When the boot retry or the heartbeat is due, or now for a reset that can close (Infinity: none). */
  protected get bootDue(): number {
    let due = Infinity;
    if (this.state === 'pending' && this.#bootRetryAt !== 0) due = this.#bootRetryAt;
    if (this.state === 'resetting' && !this.calling) due = Math.min(due, Date.now());
    if (this.state === 'accepted' && this.#heartbeatAt !== 0) due = Math.min(due, this.#heartbeatAt);
    return due;
  }
}
