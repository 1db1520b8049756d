/**
 * The station's link to the central system, over either wire:
 *  - OCPP-J: the station's own WsClient (../transport/ws-client.ts), whose event handler the station is (no
 *    closures per connection or message). This is the hot path of large fleets: nothing here adds work or
 *    allocations to it;
 *  - OCPP-S: no connection; "connecting" is posting the BootNotification through the thread's SoapHub, and the
 *    link is up once the central system answers anything. A failed POST or a CALL without an answer in time
 *    takes it down, as a closed WebSocket would.
 * A lost link is reconnected after an exponential backoff with jitter (../../protocol/backoff.ts); a
 * simulated reboot reconnects after `rebootDelayMs`. The layers above hear of it through three hooks:
 * `linkReady` (boot), `received` (a text message) and `linkLost` (keep the transaction messages).
 */
import { backoffMs } from '../../protocol/backoff.js';
import { WsClient, WS_CONNECTING, WS_OPEN, type WsClientOptions, type WsError, type WsHandler } from '../transport/index.js';
import type { StationSpec } from '../types.js';
import type { StationContext } from './context.js';
import { StationBase } from './base.js';

/** OCPP-S link states (`#link`). */
const LINK_NONE = -1; // an OCPP-J station
const LINK_DOWN = 0;
const LINK_CONNECTING = 1; // BootNotification posted, no answer from the central system yet
const LINK_UP = 2;

/** Reconnect delays are spread over [0.5, 1.5) times the backoff, so that stations that fell together do not return together. */
const RECONNECT_JITTER = [0.5, 1.5] as const;

export abstract class StationLink extends StationBase implements WsHandler {
  #ws: WsClient | null = null;
  /** OCPP-S link state; LINK_NONE for OCPP-J stations. */
  #link: number;
  #reconnectAt = 0;
  #reconnectAttempts = 0;

  constructor(spec: StationSpec, ctx: StationContext) {
    super(spec, ctx);
    this.#link = spec.transport === 'ocpp-s' ? LINK_DOWN : LINK_NONE;
  }

  /** The link can carry a BootNotification: an open WebSocket, or an OCPP-S link about to connect. */
  protected abstract linkReady(): void;
  /** A text message from the central system (OCPP-J). */
  protected abstract received(text: string): void;
  /** The link is gone (the state is not changed yet): keep what must survive, drop the rest. */
  protected abstract linkLost(): void;

  get online(): boolean {
    const ws = this.#ws;
    if (ws !== null) return ws.readyState === WS_OPEN;
    return this.#link > LINK_DOWN;
  }

  /** OCPP-S station. */
  protected get soapLink(): boolean {
    return this.#link !== LINK_NONE;
  }

  /** OCPP-S: the link is connecting or up (answers may come). */
  protected get soapAlive(): boolean {
    return this.#link > LINK_DOWN;
  }

  /** OCPP-J: the WebSocket is open. */
  protected get jsonOpen(): boolean {
    return this.#ws !== null && this.#ws.readyState === WS_OPEN;
  }

  /** OCPP-J: writes a text message; false when the WebSocket is not open. */
  protected writeText(text: string): boolean {
    const ws = this.#ws;
    if (ws === null || ws.readyState !== WS_OPEN) return false;
    ws.send(text);
    return true;
  }

  // --- connecting ---

  /** Connects at `atMs`. */
  protected connectAt(atMs: number): void {
    this.state = 'offline';
    this.#reconnectAt = atMs;
  }

  /** Connects when the reconnect time has come. */
  protected wakeLink(now: number): void {
    if (this.state === 'offline' && this.#reconnectAt !== 0 && now >= this.#reconnectAt) {
      this.#reconnectAt = 0;
      this.#connect();
    }
  }

  /** When the next connection attempt is due (Infinity: none planned). */
  protected get reconnectDue(): number {
    return this.state === 'offline' && this.#reconnectAt !== 0 ? this.#reconnectAt : Infinity;
  }

  /** The boot was accepted: the next loss starts the backoff from its first step. */
  protected resetBackoff(): void {
    this.#reconnectAttempts = 0;
  }

  #connect(): void {
    if (this.#link !== LINK_NONE) {
      // OCPP-S: no connection to open; connecting is posting BootNotification (the link is up once answered).
      this.state = 'connecting';
      this.emitState();
      this.#link = LINK_CONNECTING;
      this.linkReady();
      return;
    }
    const spec = this.spec;
    const url = `${spec.url.replace(/\/+$/, '')}/${encodeURIComponent(spec.identity)}`;
    const options: WsClientOptions = { skipUtf8Validation: true, handshakeTimeoutMs: 30_000, maxPayload: 1 << 20 };
    if (spec.localAddress !== undefined) options.localAddress = spec.localAddress;
    if (spec.tls !== undefined) options.tls = spec.tls;
    if (spec.password !== undefined) options.headers = { authorization: `Basic ${Buffer.from(`${spec.identity}:${spec.password}`).toString('base64')}` };
    this.state = 'connecting';
    this.emitState();
    let ws: WsClient;
    try {
      ws = new WsClient(url, [this.jsonVersion()], this, options);
    } catch (error) {
      this.ctx.stats.connectFailures++;
      this.ctx.warn(`${spec.identity}: cannot connect to ${url}: ${(error as Error).message}`);
      this.#scheduleReconnect();
      return;
    }
    this.#ws = ws;
  }

  #scheduleReconnect(): void {
    // A central system with several nodes: the next attempt goes to one of the other nodes, chosen at random, so the
    // stations of a node that died spread over the rest instead of all landing on its neighbour.
    const urls = this.spec.urls;
    if (urls !== undefined && urls.length > 1) {
      const others = urls.filter((u) => u !== this.spec.url);
      this.spec.url = others[Math.floor(Math.random() * others.length)] ?? urls[0]!;
    }
    const t = this.ctx.timings;
    const delay = backoffMs(++this.#reconnectAttempts, { initialMs: t.reconnectMinMs, maxMs: t.reconnectMaxMs, jitter: RECONNECT_JITTER });
    this.state = 'offline';
    this.#reconnectAt = Date.now() + delay;
    this.reschedule();
  }

  #opened(): void {
    this.ctx.stats.connected++;
    this.ctx.stats.connects++;
    this.state = 'booting';
    this.emitState();
  }

  // --- closing ---

  /** Closes for good (the station stops): close 1000; an OCPP-S link just goes down (late answers are ignored). */
  protected closeLink(): void {
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
      if (this.#link === LINK_UP) this.ctx.stats.connected--;
      this.#link = LINK_DOWN;
    }
  }

  /** Drops the connection without a close handshake (tests: simulate a network loss; OCPP-S: the link goes down). */
  dropConnection(): void {
    if (this.#link > LINK_DOWN) this.#linkDown();
    else this.#ws?.terminate();
  }

  /** A simulated reboot closes the link; the station reconnects `rebootDelayMs` later. */
  protected resetLink(): void {
    if (this.#ws !== null) this.#ws.close(1000, 'reset');
    else if (this.#link > LINK_DOWN) this.#linkDown();
    else {
      this.state = 'offline';
      this.#reconnectAt = Date.now() + this.ctx.timings.rebootDelayMs;
      this.reschedule();
    }
  }

  /** OCPP-S: the central system is unreachable (refused, reset, timeout) or a simulated reboot stops sending. */
  protected soapUnreachable(): void {
    this.#linkDown();
  }

  /** OCPP-S: the central system answered something: a connecting link is up. */
  protected soapAnswered(): void {
    if (this.#link === LINK_CONNECTING) {
      this.#link = LINK_UP;
      this.#opened();
    }
  }

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
    this.linkLost();
    if (this.state === 'stopped') return;
    if (this.state === 'resetting') {
      this.state = 'offline';
      this.#reconnectAt = Date.now() + this.ctx.timings.rebootDelayMs;
      this.emitState();
      this.reschedule();
      return;
    }
    this.state = 'offline';
    this.emitState();
    this.#scheduleReconnect();
  }

  // --- WebSocket events (WsHandler: the station is the handler of its own client, no closures) ---

  /** @internal */
  wsMessage(ws: WsClient, text: string): void {
    if (this.#ws !== ws) return;
    this.ctx.stats.framesIn++;
    this.received(text);
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
    this.linkReady();
  }

  /** @internal */
  wsClose(ws: WsClient): void {
    if (this.#ws !== ws) return;
    this.#ws = null;
    this.#closed(this.state !== 'connecting');
  }
}
