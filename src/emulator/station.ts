/**
 * One emulated charge point over OCPP-J (1.6, 2.0.1, 2.1) or OCPP-S (1.5, 1.6): connection with reconnect
 * backoff and jitter, boot, heartbeat, one CALL in flight with a FIFO queue (OCPP-J 1.6 §4.1.1, 2.0.1 Part 4
 * §4.1.1; OCPP 1.5/1.6 §4.1: a charge point SHOULD NOT send a request before the previous one is answered),
 * transaction messages kept while offline and replayed in order (throttled), charging sessions with meter
 * values, and the answers to the central system's commands (./commands-v16.ts, ./commands-v15.ts,
 * ./commands-v2.ts).
 *
 * Transports. The station logic is shared; the wire is one of:
 *  - OCPP-J: the station's own WsClient, whose event handler the station is (no closures per connection or
 *    message). This is the hot path of large fleets: nothing below adds work or allocations to it;
 *  - OCPP-S: the fleet thread's SoapHub (./soap-hub.ts, loaded only by fleets with SOAP stations): each CALL is
 *    an HTTP POST of a SOAP envelope; the response (or Fault) comes back through `soapResult` / `soapFault`, a
 *    network failure or timeout through `soapFailed` (the link goes down as a closed WebSocket would), and the
 *    central system's commands arrive at the hub's ChargePointService, which runs `handleCommand`. "Connecting"
 *    is the next BootNotification attempt: the link is up once the central system answers anything.
 *
 * Memory: a station is a handful of fields, its connectors and a socket. Timers are not per station: the
 * station tells the shared TimerWheel when it next needs to run (`#reschedule`). Queues and maps are created on
 * first use. Stations made from one template share their key map until one of them changes a key.
 */
import { randomUUID } from 'node:crypto';
import { WsClient, WS_CONNECTING, WS_OPEN, type WsClientOptions, type WsError, type WsHandler } from './ws-client.js';
import { parseFrame, isBadFrame, serializeCall, serializeCallResult, serializeCallError } from '../protocol/ocpp-j/frames.js';
import type { Payload } from '../protocol/ocpp-j/frames.js';
import { MessageType, type OcppVersion } from '../protocol/versions.js';
import { RpcErrorCode } from '../protocol/rpc-error-codes.js';
import { getActionValidators } from '../protocol/validation/registry.js';
import type { ActionValidators } from '../protocol/validation/types.js';
import type { SoapVersion } from '../protocol/soap/codec.js';
import type { TimerWheel, WheelClient } from './wheel.js';
import type { FleetStats } from './stats.js';
import type { SoapHub } from './soap-hub.js';
import type { ConfigKey, EmulatorTimings, Scenario, StationEvent, StationSpec, StationState } from './types.js';
import { handlersFor, type CommandResult } from './commands.js';

/** What a station shares with its fleet (one per thread). */
export interface StationContext {
  wheel: TimerWheel;
  stats: FleetStats;
  timings: EmulatorTimings;
  scenario: Scenario;
  /** Default connector power (W). */
  powerW: number;
  /** Validate every payload the station sends (default true). */
  validate: boolean;
  onEvent: ((event: StationEvent) => void) | null;
  warn(message: string): void;
  /** OCPP-S client and ChargePointService of this thread; set by the fleet before its SOAP stations start. */
  soap: SoapHub | null;
}

export interface Session {
  /** 1.6: the central system's transactionId (undefined until StartTransaction.conf); 2.x: ours. */
  id: number | string | undefined;
  idTag: string;
  startWh: number;
  startedAt: number;
  lastSampleAt: number;
  /** Planned end (0: until stopped). */
  stopAt: number;
  seqNo: number;
  remote: boolean;
  remoteStartId?: number;
  reservationId?: number;
  ended: boolean;
}

export class Connector {
  status = 'Available';
  errorCode = 'NoError';
  meterWh = 0;
  meterAt = 0;
  session: Session | null = null;
  reservation: { id: number; idTag: string; expiresAt: number } | null = null;
  /** Next random arrival (0: none planned). */
  nextArrivalAt = 0;
  /** Availability change waiting for the session to end (ChangeAvailability "Scheduled"). */
  pendingOperative: boolean | null = null;
  constructor(readonly evseId: number, readonly connectorId: number, readonly powerW: number) {}
}

interface OutCall {
  action: string;
  payload: Payload;
  /** Transaction message: kept while offline, replayed in order. */
  tx: boolean;
  /** Queued while offline (replayed, throttled). */
  offline: boolean;
  session?: Session;
  attempts: number;
  then?: (payload: Payload) => void;
  fail?: () => void;
}

interface Job {
  at: number;
  run: () => void;
}

const TX_ACTIONS = new Set(['StartTransaction', 'StopTransaction', 'MeterValues', 'TransactionEvent']);

/** OCPP-S link states (`#link`). */
const LINK_NONE = -1; // an OCPP-J station
const LINK_DOWN = 0;
const LINK_CONNECTING = 1; // BootNotification posted, no answer from the central system yet
const LINK_UP = 2;

function isoNow(now = Date.now()): string {
  return new Date(now).toISOString();
}

/** Exponential random variable with the given mean. */
export function expRandom(mean: number): number {
  return -Math.log(1 - Math.random()) * mean;
}

export class EmulatedStation implements WheelClient, WsHandler {
  readonly spec: StationSpec;
  readonly ctx: StationContext;
  readonly connectors: Connector[];
  wheelSlot = -1;
  state: StationState = 'idle';
  bootCount = 0;
  /** Heartbeat interval given by the central system (s). */
  heartbeatIntervalS = 0;
  #ws: WsClient | null = null;
  /** OCPP-S link state; LINK_NONE for OCPP-J stations. */
  #link: number;
  #keysOwned = false;
  #seq = 0;
  #inflight: { id: string; call: OutCall; sentAt: number } | null = null;
  #queue: OutCall[] | null = null;
  #jobs: Job[] | null = null;
  #reconnectAt = 0;
  #reconnectAttempts = 0;
  #bootRetryAt = 0;
  #heartbeatAt = 0;
  #replayAt = 0;
  #bootReason = 'PowerUp';
  #scheduleBase = 0;
  #scheduleNext = 0;
  #resetWhenIdle: string | null = null;
  /** Lazily created stores of the commands. */
  localList: { version: number; tags: Map<string, unknown> } | null = null;
  authCache: Map<string, unknown> | null = null;
  chargingProfiles: Map<number, { evseId: number; profile: Payload }> | null = null;
  #txCounter = 0;

  constructor(spec: StationSpec, ctx: StationContext) {
    this.spec = spec;
    this.ctx = ctx;
    this.connectors = spec.connectors.map((c) => new Connector(c.evseId, c.connectorId, c.powerW ?? ctx.powerW));
    this.#link = spec.transport === 'ocpp-s' ? LINK_DOWN : LINK_NONE;
    ctx.stats.stations++;
  }

  get identity(): string {
    return this.spec.identity;
  }

  get version(): StationSpec['version'] {
    return this.spec.version;
  }

  /** 1.6 or 1.5 (OCPP-S): connectors by connectorId, connector 0 is the station, the 1.6 message set. */
  get v16(): boolean {
    const v = this.spec.version;
    return v === 'ocpp1.6' || v === 'ocpp1.5';
  }

  get online(): boolean {
    const ws = this.#ws;
    if (ws !== null) return ws.readyState === WS_OPEN;
    return this.#link > LINK_DOWN;
  }

  /** The OCPP-J version (never 1.5 on a WebSocket: the configuration and the fleet refuse it). */
  #jsonVersion(): OcppVersion {
    const v = this.spec.version;
    if (v === 'ocpp1.5') throw new Error(`${this.identity}: OCPP 1.5 has no OCPP-J binding`);
    return v;
  }

  /** The OCPP-S version (an OCPP-S station is 1.5 or 1.6: the configuration and the fleet refuse 2.x). */
  #soapVersion(): SoapVersion {
    const v = this.spec.version;
    if (v !== 'ocpp1.5' && v !== 'ocpp1.6') throw new Error(`${this.identity}: OCPP-S exists for 1.5 and 1.6 only, not ${v}`);
    return v;
  }

  /** Validators of `action` in the station's version (1.5: derived from the WSDL, loaded with the SOAP hub). */
  #validators(action: string): ActionValidators | undefined {
    const v = this.spec.version;
    if (v !== 'ocpp1.5') return getActionValidators(v, action);
    return this.ctx.soap?.validators15(action);
  }

  /** Transaction messages waiting (offline or queued). */
  get queuedTransactionMessages(): number {
    let n = this.#inflight?.call.tx === true ? 1 : 0;
    for (const c of this.#queue ?? []) if (c.tx) n++;
    return n;
  }

  // --- configuration keys ---

  key(name: string): string | undefined {
    return this.spec.keys.get(name)?.value;
  }

  keyEntries(): IterableIterator<[string, ConfigKey]> {
    return this.spec.keys.entries();
  }

  /** Sets a key (copy-on-write for keys shared by a template). */
  setKey(name: string, value: string): void {
    if (!this.#keysOwned) {
      this.spec.keys = new Map([...this.spec.keys].map(([k, v]) => [k, { ...v }]));
      this.#keysOwned = true;
    }
    const entry = this.spec.keys.get(name);
    if (entry === undefined) this.spec.keys.set(name, { value, readonly: false });
    else entry.value = value;
    if (name === 'HeartbeatInterval' && this.state === 'accepted') {
      const s = Number(value);
      if (Number.isFinite(s) && s > 0) {
        this.heartbeatIntervalS = s;
        this.#heartbeatAt = Date.now() + s * 1000;
        this.#reschedule();
      }
    }
  }

  sampleIntervalMs(): number {
    const s = Number(this.key('MeterValueSampleInterval') ?? 60);
    return Number.isFinite(s) && s > 0 ? s * 1000 : 0;
  }

  // --- lifecycle ---

  /** Connects at `atMs` (now by default). */
  start(atMs = Date.now()): void {
    if (this.state === 'stopped') return;
    this.state = 'offline';
    this.#reconnectAt = atMs;
    this.#reschedule();
  }

  /** Closes for good. */
  stop(): void {
    if (this.state === 'accepted' || this.state === 'resetting') this.ctx.stats.booted--;
    this.state = 'stopped';
    this.ctx.wheel.cancel(this);
    const ws = this.#ws;
    this.#ws = null;
    if (ws !== null) {
      // Its events are ignored from now on (#ws is no longer this client).
      if (ws.readyState === WS_OPEN) {
        this.ctx.stats.connected--;
        ws.close(1000, 'emulator stopped');
      } else ws.terminate();
    }
    if (this.#link > LINK_DOWN) {
      // OCPP-S: answers still on their way are ignored (state stopped).
      if (this.#link === LINK_UP) this.ctx.stats.connected--;
      this.#link = LINK_DOWN;
    }
    if (this.state === 'stopped') this.#emitState();
  }

  /** Drops the connection without a close handshake (tests: simulate a network loss; OCPP-S: the link goes down). */
  dropConnection(): void {
    if (this.#link > LINK_DOWN) this.#linkDown();
    else this.#ws?.terminate();
  }

  #connect(): void {
    if (this.#link !== LINK_NONE) {
      // OCPP-S: no connection to open; connecting is posting BootNotification (the link is up once answered).
      this.state = 'connecting';
      this.#emitState();
      this.#link = LINK_CONNECTING;
      this.#sendBoot();
      return;
    }
    const spec = this.spec;
    const url = `${spec.url.replace(/\/+$/, '')}/${encodeURIComponent(spec.identity)}`;
    const options: WsClientOptions = { skipUtf8Validation: true, handshakeTimeoutMs: 30_000, maxPayload: 1 << 20 };
    if (spec.localAddress !== undefined) options.localAddress = spec.localAddress;
    if (spec.password !== undefined) options.headers = { authorization: `Basic ${Buffer.from(`${spec.identity}:${spec.password}`).toString('base64')}` };
    this.state = 'connecting';
    this.#emitState();
    let ws: WsClient;
    try {
      ws = new WsClient(url, [this.#jsonVersion()], this, options);
    } catch (error) {
      this.ctx.stats.connectFailures++;
      this.ctx.warn(`${spec.identity}: cannot connect to ${url}: ${(error as Error).message}`);
      this.#scheduleReconnect();
      return;
    }
    this.#ws = ws;
  }

  // --- WebSocket events (WsHandler: the station is the handler of its own client, no closures) ---

  /** @internal */
  wsMessage(ws: WsClient, text: string): void {
    if (this.#ws !== ws) return;
    this.ctx.stats.framesIn++;
    this.#onText(text);
  }

  /** @internal Binary messages are counted and ignored (OCPP-J is text). */
  wsBinary(ws: WsClient): void {
    if (this.#ws === ws) this.ctx.stats.framesIn++;
  }

  /** @internal */
  wsError(ws: WsClient, error: WsError): void {
    if (this.#ws !== ws) return;
    if (ws.readyState === WS_CONNECTING) {
      this.ctx.stats.connectFailures++;
      // The central system does not speak this OCPP version: worth saying (a refused or lost connection is not).
      if (error.code === 'SUBPROTOCOL') this.ctx.warn(`${this.identity}: ${error.message}`);
    }
  }

  /** @internal */
  wsOpen(ws: WsClient): void {
    if (this.#ws !== ws) return;
    this.#opened();
    this.#sendBoot();
  }

  #opened(): void {
    this.ctx.stats.connected++;
    this.ctx.stats.connects++;
    this.state = 'booting';
    this.#emitState();
  }

  /** @internal */
  wsClose(ws: WsClient): void {
    if (this.#ws !== ws) return;
    this.#ws = null;
    this.#closed(this.state !== 'connecting');
  }

  /** OCPP-S: the central system is unreachable (refused, reset, timeout) or a simulated reboot stops sending. */
  #linkDown(): void {
    const wasUp = this.#link === LINK_UP;
    if (!wasUp) this.ctx.stats.connectFailures++;
    this.#link = LINK_DOWN;
    this.#closed(wasUp);
  }

  /** The connection (OCPP-J) or the link (OCPP-S) is gone: keep transaction messages, reconnect. */
  #closed(wasOpen: boolean): void {
    if (wasOpen) {
      this.ctx.stats.connected--;
      this.ctx.stats.disconnects++;
      if (this.state === 'accepted' || this.state === 'resetting') this.ctx.stats.booted--;
    }
    // Transaction messages stay (the one in flight goes back to the front); the rest is dropped.
    const keep: OutCall[] = [];
    if (this.#inflight !== null && this.#inflight.call.tx) keep.push(this.#inflight.call);
    this.#inflight = null;
    for (const c of this.#queue ?? []) {
      if (c.tx) keep.push(c);
      else {
        this.ctx.stats.droppedOffline++;
        c.fail?.();
      }
    }
    for (const c of keep) c.offline = true;
    this.#queue = keep.length > 0 ? keep : null;
    if (this.state === 'stopped') return;
    if (this.state === 'resetting') {
      this.state = 'offline';
      this.#reconnectAt = Date.now() + this.ctx.timings.rebootDelayMs;
      this.#emitState();
      this.#reschedule();
      return;
    }
    this.state = 'offline';
    this.#emitState();
    this.#scheduleReconnect();
  }

  #scheduleReconnect(): void {
    const t = this.ctx.timings;
    const base = Math.min(t.reconnectMaxMs, t.reconnectMinMs * 2 ** Math.min(this.#reconnectAttempts, 20));
    this.#reconnectAttempts++;
    this.state = 'offline';
    this.#reconnectAt = Date.now() + base * (0.5 + Math.random());
    this.#reschedule();
  }

  // --- boot ---

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
    const call: OutCall = {
      action: 'BootNotification',
      payload: this.#bootPayload(),
      tx: false,
      offline: false,
      attempts: 0,
      then: (p) => this.#onBootResult(p),
      fail: () => {
        // A CALLERROR / Fault or no answer: try again later, as after Pending (only BootNotification is sent).
        if (this.state === 'booting' || this.state === 'pending') {
          if (this.state === 'booting') {
            this.state = 'pending';
            this.#emitState();
          }
          this.#retryBoot(this.ctx.timings.bootRetryDefaultS);
        }
      },
    };
    this.#transmit(call);
  }

  #onBootResult(p: Payload): void {
    const interval = typeof p.interval === 'number' ? p.interval : 0;
    if (p.status === 'Accepted') {
      this.state = 'accepted';
      this.bootCount++;
      this.ctx.stats.booted++;
      this.#reconnectAttempts = 0;
      this.#bootReason = 'Unknown';
      this.heartbeatIntervalS = interval > 0 ? interval : Number(this.key('HeartbeatInterval') ?? 300) || 300;
      const now = Date.now();
      this.#heartbeatAt = now + this.heartbeatIntervalS * 1000;
      this.#emitState();
      // Replay first (the queue holds only transaction messages now), then the current statuses.
      this.#replayAt = now;
      if (this.v16) this.sendStatus(null);
      for (const c of this.connectors) this.sendStatus(c);
      if (this.#scheduleBase === 0) this.#scheduleBase = now;
      this.#planScenario(now);
      this.#pump();
    } else {
      // Pending / Rejected: retry after the interval (1.6 §4.2, 2.0.1 B01.FR.06 / B02).
      this.state = 'pending';
      this.#emitState();
      this.#retryBoot(interval > 0 ? interval : this.ctx.timings.bootRetryDefaultS);
    }
    this.#reschedule();
  }

  #retryBoot(seconds: number): void {
    this.#bootRetryAt = Date.now() + seconds * 1000;
    this.#reschedule();
  }

  /** A simulated reboot (Reset): finish sessions, close, reconnect after rebootDelayMs, boot again. */
  reboot(stopReason: string, bootReason = 'RemoteReset'): void {
    this.#bootReason = bootReason;
    for (const c of this.connectors) if (c.session !== null) this.stopSession(c, stopReason);
    this.state = 'resetting';
    this.#emitState();
    // Give the queue (StopTransaction, …) up to 2 s to drain, then close.
    this.addJob(Date.now() + 2000, () => this.#closeForReset());
    this.#pump();
  }

  #closeForReset(): void {
    if (this.state !== 'resetting') return;
    if (this.#ws !== null) this.#ws.close(1000, 'reset');
    else if (this.#link > LINK_DOWN) this.#linkDown();
    else {
      this.state = 'offline';
      this.#reconnectAt = Date.now() + this.ctx.timings.rebootDelayMs;
      this.#reschedule();
    }
  }

  /** Reset "OnIdle"/scheduled: reboot once no session runs. */
  rebootWhenIdle(bootReason: string): void {
    this.#resetWhenIdle = bootReason;
  }

  // --- sending ---

  /** Queues a CALL; transaction messages survive disconnects. */
  send(action: string, payload: Payload, options?: { then?: (p: Payload) => void; fail?: () => void; session?: Session }): void {
    const tx = TX_ACTIONS.has(action);
    if (!tx && this.state !== 'accepted' && this.state !== 'resetting') {
      this.ctx.stats.droppedOffline++;
      options?.fail?.();
      return;
    }
    const call: OutCall = { action, payload, tx, offline: !this.online || this.state !== 'accepted', attempts: 0 };
    if (options !== undefined) {
      if (options.then !== undefined) call.then = options.then;
      if (options.fail !== undefined) call.fail = options.fail;
      if (options.session !== undefined) call.session = options.session;
    }
    (this.#queue ??= []).push(call);
    this.#pump();
  }

  #pump(): void {
    if (this.#inflight !== null || this.#queue === null || !this.online) return;
    if (this.state !== 'accepted' && this.state !== 'resetting') return;
    const next = this.#queue[0]!;
    if (next.offline) {
      const now = Date.now();
      if (now < this.#replayAt) {
        this.#reschedule();
        return;
      }
      this.#replayAt = now + this.ctx.timings.replayIntervalMs;
    }
    this.#queue.shift();
    if (this.#queue.length === 0) this.#queue = null;
    // 1.6: a transaction message written before StartTransaction.conf gets the id now.
    if (this.v16 && next.session !== undefined && next.action !== 'StartTransaction') {
      if (next.session.id === undefined) {
        this.ctx.stats.droppedOffline++;
        this.#pump();
        return;
      }
      next.payload.transactionId = next.session.id;
    }
    if (next.offline) this.ctx.stats.replayed++;
    this.#transmit(next);
  }

  #transmit(call: OutCall): void {
    if (this.#link !== LINK_NONE) {
      this.#transmitSoap(call);
      return;
    }
    const ws = this.#ws;
    if (ws === null || ws.readyState !== WS_OPEN) {
      call.fail?.();
      return;
    }
    if (this.ctx.validate) {
      const r = this.#validators(call.action)?.request(call.payload);
      if (r === undefined || !r.ok) {
        this.#refuseOutgoing(call, `invalid ${call.action}: ${r === undefined ? 'unknown action' : r.issues[0]?.message}`);
        return;
      }
    }
    const id = this.#startCall(call);
    ws.send(serializeCall(id, call.action, call.payload));
    this.#callSent(call, id, call.payload);
  }

  /** A CALL that cannot go out as built: counted, said, failed; the queue moves on. */
  #refuseOutgoing(call: OutCall, problem: string): void {
    this.ctx.stats.invalidOutgoing++;
    this.ctx.warn(`${this.identity}: not sending ${problem}`);
    call.fail?.();
    queueMicrotask(() => this.#pump());
  }

  /** `call` is the one in flight from now on (either transport); returns its message id. */
  #startCall(call: OutCall): string {
    const id = String(++this.#seq);
    this.#inflight = { id, call, sentAt: Date.now() };
    this.ctx.stats.callsSent++;
    this.ctx.stats.framesOut++;
    return id;
  }

  /** After a CALL went out: the event, the heartbeat clock (any message counts), the wheel. */
  #callSent(call: OutCall, id: string, payload: Payload): void {
    if (this.ctx.onEvent !== null) this.ctx.onEvent({ type: 'sent', identity: this.identity, id, action: call.action, payload, replay: call.offline });
    if (this.state === 'accepted' && this.heartbeatIntervalS > 0) this.#heartbeatAt = Date.now() + this.heartbeatIntervalS * 1000;
    this.#reschedule();
  }

  /** OCPP-S: the CALL as an HTTP POST through the thread's SoapHub (1.5: the 1.5 payload, validated as such). */
  #transmitSoap(call: OutCall): void {
    const hub = this.ctx.soap;
    if (hub === null || this.#link === LINK_DOWN) {
      call.fail?.();
      return;
    }
    const version = this.#soapVersion();
    const wire = hub.wirePayload(version, call.action, call.payload);
    let problem: string | null = wire === null ? `${call.action} is not a CentralSystemService operation of OCPP-S ${version.slice(4)}` : null;
    if (wire !== null && this.ctx.validate) {
      const r = this.#validators(call.action)?.request(wire);
      if (r === undefined || !r.ok) problem = `invalid ${call.action}: ${r === undefined ? 'unknown action' : r.issues[0]?.message}`;
    }
    if (wire === null || problem !== null) {
      this.#refuseOutgoing(call, problem!);
      return;
    }
    const id = this.#startCall(call);
    hub.post(this, id, version, call.action, wire);
    this.#callSent(call, id, wire);
  }

  // --- receiving ---

  #onText(text: string): void {
    const version = this.#jsonVersion();
    const frame = parseFrame(text, version);
    if (isBadFrame(frame)) {
      this.ctx.stats.commandErrors++;
      if (frame.code !== null && frame.messageType === MessageType.CALL) this.#sendRaw(serializeCallError(version, frame.id, frame.code, frame.message));
      return;
    }
    switch (frame.type) {
      case MessageType.CALL:
        this.#onCall(frame.id, frame.action, frame.payload);
        return;
      case MessageType.SEND:
        return;
      case MessageType.CALLRESULT:
        this.#onResult(frame.id, frame.payload, frame.payload);
        return;
      default:
        this.#onCallError(frame.id, frame.code, frame.description);
    }
  }

  /** The answer to the CALL in flight (`payload` for the station logic; `wire` as received, for the event). */
  #onResult(id: string, payload: Payload, wire: Payload): void {
    const inflight = this.#inflight;
    if (inflight === null || inflight.id !== id) return;
    this.#inflight = null;
    this.ctx.stats.resultsReceived++;
    if (this.ctx.onEvent !== null) this.ctx.onEvent({ type: 'result', identity: this.identity, id, action: inflight.call.action, payload: wire });
    inflight.call.then?.(payload);
    this.#pump();
    this.#reschedule();
  }

  #onCallError(id: string, code: string, description: string): void {
    const inflight = this.#inflight;
    if (inflight === null || inflight.id !== id) return;
    this.#inflight = null;
    this.ctx.stats.callErrorsReceived++;
    if (this.ctx.onEvent !== null) this.ctx.onEvent({ type: 'callError', identity: this.identity, id, action: inflight.call.action, code, description });
    inflight.call.fail?.();
    this.#pump();
    this.#reschedule();
  }

  // --- OCPP-S answers (called by the SoapHub) ---

  /** @internal The central system answered CALL `id`: `payload` in the 1.6 shape, `wire` as received (1.5 differs). */
  soapResult(id: string, payload: Payload, wire: Payload): void {
    if (this.#answered(id)) this.#onResult(id, payload, wire);
  }

  /** @internal The central system answered CALL `id` with a SOAP Fault (`code`: the OCPP subcode, else the SOAP code). */
  soapFault(id: string, code: string, description: string): void {
    if (this.#answered(id)) this.#onCallError(id, code, description);
  }

  /** @internal The POST of CALL `id` failed (refused, reset, timeout): the central system is unreachable. */
  soapFailed(id: string): void {
    if (this.state === 'stopped' || this.#link <= LINK_DOWN) return;
    const inflight = this.#inflight;
    if (inflight === null || inflight.id !== id) return;
    this.#linkDown();
  }

  /** An HTTP answer arrived: counts it, brings a connecting link up; true when it answers the CALL in flight. */
  #answered(id: string): boolean {
    if (this.state === 'stopped' || this.#link <= LINK_DOWN) return false;
    this.ctx.stats.framesIn++;
    const inflight = this.#inflight;
    if (inflight === null || inflight.id !== id) return false;
    if (this.#link === LINK_CONNECTING) {
      this.#link = LINK_UP;
      this.#opened();
    }
    return true;
  }

  #sendRaw(text: string): void {
    const ws = this.#ws;
    if (ws === null || ws.readyState !== WS_OPEN) return;
    this.ctx.stats.framesOut++;
    ws.send(text);
  }

  #onCall(id: string, action: string, payload: Payload): void {
    const result = this.handleCommand(action, payload);
    if ('error' in result) {
      this.#sendRaw(serializeCallError(this.#jsonVersion(), id, result.error, result.description));
      return;
    }
    this.#sendRaw(serializeCallResult(id, result.reply));
    result.after?.();
  }

  /**
   * A command of the central system (OCPP-J CALL or OCPP-S request): request validation, the handler of the
   * station's version, reply validation (an invalid reply becomes InternalError and is counted). The caller
   * writes the answer, then runs `after` of a reply.
   */
  handleCommand(action: string, payload: Payload): CommandResult {
    const stats = this.ctx.stats;
    stats.commandsReceived++;
    const version = this.spec.version;
    const validators = this.#validators(action);
    let result: CommandResult;
    if (validators === undefined) {
      result = { error: RpcErrorCode.NotImplemented, description: `${action} is not an OCPP ${version} action` };
    } else if (validators.initiator === 'station') {
      result = { error: RpcErrorCode.NotSupported, description: `${action} is sent by the charging station, not to it` };
    } else {
      const check = validators.request(payload);
      if (!check.ok) {
        const issue = check.issues[0]!;
        result = { error: issue.code, description: issue.message };
      } else {
        const handler = handlersFor(version).get(action);
        if (handler === undefined) result = { error: RpcErrorCode.NotSupported, description: `this emulated station does not support ${action}` };
        else {
          try {
            result = handler(this, payload);
          } catch (error) {
            result = { error: RpcErrorCode.InternalError, description: (error as Error).message };
          }
        }
      }
    }
    if ('error' in result) {
      stats.commandErrors++;
      if (this.ctx.onEvent !== null) this.ctx.onEvent({ type: 'command', identity: this.identity, action, payload, reply: { error: result.error } });
      return result;
    }
    const reply = result.reply;
    if (this.ctx.validate && validators?.response !== undefined) {
      const check = validators.response(reply);
      if (!check.ok) {
        stats.invalidOutgoing++;
        this.ctx.warn(`${this.identity}: reply to ${action} is invalid: ${check.issues[0]?.message}`);
        return { error: RpcErrorCode.InternalError, description: `emulator built an invalid ${action} reply` };
      }
    }
    if (this.ctx.onEvent !== null) this.ctx.onEvent({ type: 'command', identity: this.identity, action, payload, reply });
    return result;
  }

  // --- status, heartbeat, meter values ---

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

  sendHeartbeat(): void {
    this.send('Heartbeat', {});
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

  // --- charging sessions ---

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
  startSession(c: Connector, idTag: string, options: { remote?: boolean; remoteStartId?: number; durationS?: number; idTokenType?: string } = {}): Session {
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
      this.#reschedule();
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
    if (this.#resetWhenIdle !== null && this.connectors.every((x) => x.session === null)) {
      const reason = this.#resetWhenIdle;
      this.#resetWhenIdle = null;
      this.reboot('SoftReset', reason);
    }
    this.#planArrival(c, Date.now());
    this.#reschedule();
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

  // --- scenarios ---

  #planScenario(now: number): void {
    const sc = this.ctx.scenario;
    if (sc.kind === 'random') for (const c of this.connectors) this.#planArrival(c, now);
  }

  #planArrival(c: Connector, now: number): void {
    const sc = this.ctx.scenario;
    if (sc.kind !== 'random' || c.session !== null || c.nextArrivalAt !== 0) return;
    c.nextArrivalAt = now + expRandom(sc.meanArrivalS) * 1000;
  }

  #runScenario(now: number): void {
    const sc = this.ctx.scenario;
    if (sc.kind === 'random') {
      for (const c of this.connectors) {
        if (c.nextArrivalAt !== 0 && now >= c.nextArrivalAt) {
          c.nextArrivalAt = 0;
          if (c.session === null && c.status === 'Available') {
            const tags = sc.idTags ?? ['EMU-TAG'];
            this.startSession(c, tags[Math.floor(Math.random() * tags.length)]!, { durationS: Math.max(1, expRandom(sc.meanDurationS)) });
          } else this.#planArrival(c, now);
        }
      }
    } else if (sc.kind === 'schedule') {
      for (;;) {
        const at = this.#scheduleDue(sc);
        if (at === 0 || now < at) break;
        const item = sc.sessions[this.#scheduleNext % sc.sessions.length]!;
        this.#scheduleNext++;
        const c = item.connectorId === undefined ? this.freeConnector(item.idTag) : this.findConnector(item.connectorId);
        if (c !== undefined && c.session === null && (c.status === 'Available' || c.status === 'Reserved')) this.startSession(c, item.idTag ?? 'EMU-TAG', { durationS: item.durationS });
      }
    }
  }

  #scheduleDue(sc: Extract<Scenario, { kind: 'schedule' }>): number {
    if (this.#scheduleBase === 0 || sc.sessions.length === 0) return 0;
    const n = sc.sessions.length;
    const cycle = Math.floor(this.#scheduleNext / n);
    if (cycle > 0 && (sc.everyS === undefined || sc.everyS <= 0)) return 0;
    return this.#scheduleBase + cycle * (sc.everyS ?? 0) * 1000 + sc.sessions[this.#scheduleNext % n]!.startS * 1000;
  }

  // --- delayed jobs and the wheel ---

  addJob(at: number, run: () => void): void {
    (this.#jobs ??= []).push({ at, run });
    this.#reschedule();
  }

  /** Sends `steps` one after another, `statusStepMs` apart (firmware, diagnostics and log uploads). */
  sendSteps(steps: Array<[action: string, payload: Payload]>): void {
    let at = Date.now();
    for (const [action, payload] of steps) {
      at += this.ctx.timings.statusStepMs;
      this.addJob(at, () => this.send(action, payload));
    }
  }

  wake(now: number): void {
    if (this.state === 'stopped') return;
    if (this.state === 'offline' && this.#reconnectAt !== 0 && now >= this.#reconnectAt) {
      this.#reconnectAt = 0;
      this.#connect();
    }
    if (this.state === 'pending' && this.#bootRetryAt !== 0 && now >= this.#bootRetryAt && this.#inflight === null) {
      this.#bootRetryAt = 0;
      this.#sendBoot();
    }
    const inflight = this.#inflight;
    if (inflight !== null && now >= inflight.sentAt + this.ctx.timings.callTimeoutMs) {
      this.#inflight = null;
      this.ctx.stats.callTimeouts++;
      const call = inflight.call;
      if (call.tx && ++call.attempts < 3) (this.#queue ??= []).unshift(call);
      else call.fail?.();
      // OCPP-S: no answer in time means the central system is unreachable (as a refused or reset POST).
      if (this.#link > LINK_DOWN) this.#linkDown();
    }
    if (this.#jobs !== null) {
      const due = this.#jobs.filter((j) => now >= j.at);
      if (due.length > 0) {
        this.#jobs = this.#jobs.filter((j) => now < j.at);
        if (this.#jobs.length === 0) this.#jobs = null;
        for (const j of due) j.run();
      }
    }
    // Sessions and reservations run on while offline (their transaction messages queue up).
    if (this.state !== 'idle' && this.state !== 'resetting') {
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
    if (this.state === 'accepted') {
      this.#runScenario(now);
      if (this.#heartbeatAt !== 0 && now >= this.#heartbeatAt && this.#inflight === null && this.#queue === null) this.sendHeartbeat();
    }
    this.#pump();
    if (this.state === 'resetting' && this.#inflight === null && this.#queue === null) this.#closeForReset();
    this.#reschedule();
  }

  #reschedule(): void {
    if (this.state === 'stopped') return;
    let due = Infinity;
    if (this.state === 'offline' && this.#reconnectAt !== 0) due = this.#reconnectAt;
    if (this.state === 'pending' && this.#bootRetryAt !== 0) due = Math.min(due, this.#bootRetryAt);
    if (this.#inflight !== null) due = Math.min(due, this.#inflight.sentAt + this.ctx.timings.callTimeoutMs);
    else if (this.#queue !== null && this.online && (this.state === 'accepted' || this.state === 'resetting')) due = Math.min(due, this.#replayAt);
    if (this.#jobs !== null) for (const j of this.#jobs) due = Math.min(due, j.at);
    if (this.state === 'resetting' && this.#inflight === null) due = Math.min(due, Date.now());
    if (this.state === 'accepted' && this.#heartbeatAt !== 0) due = Math.min(due, this.#heartbeatAt);
    if (this.state !== 'idle' && this.state !== 'resetting') {
      let sampleMs = -1;
      for (const c of this.connectors) {
        const s = c.session;
        if (s !== null && !s.ended) {
          if (sampleMs < 0) sampleMs = this.sampleIntervalMs();
          if (s.stopAt !== 0) due = Math.min(due, s.stopAt);
          if (sampleMs > 0) due = Math.min(due, s.lastSampleAt + sampleMs);
        }
        if (c.nextArrivalAt !== 0 && this.state === 'accepted') due = Math.min(due, c.nextArrivalAt);
        if (c.reservation !== null) due = Math.min(due, c.reservation.expiresAt);
      }
    }
    if (this.state === 'accepted') {
      const sc = this.ctx.scenario;
      if (sc.kind === 'schedule') {
        const at = this.#scheduleDue(sc);
        if (at !== 0) due = Math.min(due, at);
      }
    }
    if (due !== Infinity) this.ctx.wheel.schedule(this, due);
  }

  #emitState(): void {
    if (this.ctx.onEvent !== null) this.ctx.onEvent({ type: 'state', identity: this.identity, state: this.state });
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
