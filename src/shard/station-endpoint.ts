/**
 * The OCPP-J station endpoint of a shard: the upgrade rules (path and identity, subprotocol, admission limits,
 * Basic auth), one RpcSession per connection, newest-wins replacement, and the reports of connects and
 * disconnects. The transport (src/transport/uws-server.ts under Node, bun-server.ts under Bun) calls it; it never sees either.
 */
import type { Config } from '../config/types.js';
import type { OcppVersion } from '../protocol/versions.js';
import { RpcSession, type SessionContext } from '../protocol/ocpp-j/rpc-session.js';
import { CloseCode } from '../protocol/ocpp-j/close-codes.js';
import { parseStationPath, isRefusal, selectSubprotocol } from '../protocol/ocpp-j/handshake.js';
import type { ShardToMain } from '../ipc/messages.js';
import { disconnectReason } from '../metrics/catalog.js';
import type { StationEndpointHandler, StationSocket, TransportViolation, UpgradeDecision, UpgradeInfo } from '../transport/types.js';
import { ConnectionSequence } from '../ipc/shared-counters.js';
import { Admission, isAdmissionRefusal, type AdmissionOptions, type AdmissionTicket } from './admission.js';
import { StationAuth, type AuthOutcome } from './station-auth.js';
import { StationSecurity, type SecurityDecision } from './station-security.js';
import type { ShardCounters } from './counters.js';
import type { ShardReports } from './reports.js';

export interface StationData {
  identity: string;
  account: string | null;
  version: OcppVersion;
  remoteAddress: string;
  connId: number;
  session: RpcSession | null;
  /** What admission reserved for this connection (given back on close); null: nothing (no subprotocol). */
  ticket: AdmissionTicket | null;
}

const REPLACED_REASON = 'replaced by a newer connection of the same identity';
const BASIC_CHALLENGE = { 'WWW-Authenticate': 'Basic realm="ocpp-router", charset="UTF-8"' };

function admissionOptions(config: Config, shards: number): AdmissionOptions {
  return { ...config.admission, shards, maxStationsPerAddress: config.limits.maxStationsPerAddress };
}

/** How often connections are checked for a missing BootNotification: a quarter of the timeout, 0.25–10 s. */
function bootSweepMs(bootTimeoutS: number): number {
  return Math.min(10_000, Math.max(250, (bootTimeoutS * 1000) / 4));
}

export interface StationEndpointDeps {
  shards: number;
  counters: SharedArrayBuffer;
  config(): Config;
  ctx: SessionContext;
  post(message: ShardToMain): void;
  reports: ShardReports;
  shardCounters: ShardCounters;
  stopping(): boolean;
  logError(message: string): void;
  /** The built-in mTLS front's per-process secret (null: no front). */
  frontSecret: string | null;
  /** A security event (a station refused for its security profile or certificate), logged by the shard. */
  securityEvent(event: { identity: string; profile: number; arrival: string; reason: string; remoteAddress: string }, message: string): void;
}

export class StationEndpoint implements StationEndpointHandler<StationData> {
  #deps: StationEndpointDeps;
  #admission: Admission;
  #auth: StationAuth;
  #security: StationSecurity;
  /** Connection ids: one sequence over every shard, taken when an upgrade is accepted (newest = highest). */
  #sequence: ConnectionSequence;
  /** Current session per identity on this shard. */
  readonly sessions = new Map<string, RpcSession>();
  #bootSweep: ReturnType<typeof setInterval> | null = null;
  #bootSweepMs = 0;

  constructor(deps: StationEndpointDeps) {
    this.#deps = deps;
    const config = deps.config();
    this.#admission = new Admission(deps.counters, admissionOptions(config, deps.shards));
    this.#auth = new StationAuth(config.security.basicAuth, deps.logError);
    this.#security = new StationSecurity(config, deps.frontSecret, deps.logError);
    this.#sequence = new ConnectionSequence(deps.counters);
    this.#armBootSweep(config.limits.bootTimeoutS);
  }

  configure(config: Config): void {
    this.#admission.configure(admissionOptions(config, this.#deps.shards));
    this.#auth.configure(config.security.basicAuth, this.#deps.logError);
    this.#security.configure(config, this.#deps.logError);
    this.#armBootSweep(config.limits.bootTimeoutS);
  }

  /** Stops the boot-timeout sweep (the shard is stopping). */
  stop(): void {
    this.#armBootSweep(0);
  }

  // --- limits.bootTimeoutS ---

  #armBootSweep(bootTimeoutS: number): void {
    const every = bootTimeoutS > 0 ? bootSweepMs(bootTimeoutS) : 0;
    if (every === this.#bootSweepMs) return;
    if (this.#bootSweep !== null) clearInterval(this.#bootSweep);
    this.#bootSweep = null;
    this.#bootSweepMs = every;
    if (every === 0) return;
    this.#bootSweep = setInterval(() => this.#closeUnbooted(), every);
    this.#bootSweep.unref();
  }

  /**
   * Closes (1008) the connections that have no answered BootNotification after limits.bootTimeoutS. OCPP-J 1.6
   * errata §3.10 and 2.0.1 B02/B03: a station's messages before its boot is accepted may be refused; one that never
   * boots holds a socket for nothing. One pass over the shard's sessions per sweep, no timer per connection.
   */
  #closeUnbooted(): void {
    const timeoutS = this.#deps.config().limits.bootTimeoutS;
    if (timeoutS === 0) return;
    const cutoff = Date.now() - timeoutS * 1000;
    for (const session of this.sessions.values()) {
      if (session.bootState !== 'unknown' || session.connectedAt > cutoff || session.closed) continue;
      this.#deps.ctx.hooks.closedForPolicy?.(session, 'bootTimeout');
      session.close(CloseCode.POLICY_VIOLATION, `no BootNotification within ${timeoutS} s of connecting`);
    }
  }

  /** The TLS port, named in the refusal of a profile 2/3 station on the plain listener. */
  set tlsPort(port: number) {
    this.#security.tlsPort = port;
  }

  // --- upgrade ---

  upgrade(info: UpgradeInfo): UpgradeDecision<StationData> | Promise<UpgradeDecision<StationData>> {
    const config = this.#deps.config();
    const o = config.ocpp;
    if (this.#deps.stopping()) return this.#refuse('shutdown', 503, 'server is shutting down', { 'Retry-After': String(config.admission.retryAfterS) });
    const path = parseStationPath(info.url, o.path, o.maxIdentityLength);
    if (isRefusal(path)) return this.#refuse(path.reason, path.status, path.message);
    const security = this.#security.decide(path.identity, info);
    if (!security.ok) return this.#refuseSecurity(path.identity, security);
    const protocol = selectSubprotocol(info.subprotocols, o.subprotocols, o.defaultVersion);
    if (protocol === null) {
      // OCPP-J 1.6 §3.1.2 / RFC 6455 §4.2.2: complete the handshake without a subprotocol, then close.
      // The connection never becomes a station, so it takes no admission slot.
      this.#deps.shardCounters.inc('upgradesRefused.subprotocol');
      const station: StationData = { identity: path.identity, account: path.account, version: o.subprotocols[0]!, remoteAddress: security.remoteAddress, connId: 0, session: null, ticket: null };
      return { accept: true, userData: station, subprotocol: '', closeAfterOpen: { code: CloseCode.PROTOCOL_ERROR, reason: 'no supported OCPP subprotocol offered' } };
    }
    const admit = this.#admission.admit(security.remoteAddress);
    if (isAdmissionRefusal(admit)) {
      const message =
        admit.reason === 'limit' ? 'too many stations connected'
        : admit.reason === 'address' ? `too many stations connected from this address (limit ${config.limits.maxStationsPerAddress})`
        : 'too many connection attempts, retry later';
      return this.#refuse(admit.reason, 503, message, { 'Retry-After': String(admit.retryAfterS) });
    }
    if (admit.tableFull) this.#deps.shardCounters.inc('addressTableFull');
    const ticket = admit;
    const station: StationData = { identity: path.identity, account: path.account, version: protocol.version, remoteAddress: security.remoteAddress, connId: 0, session: null, ticket };
    const release = (): void => this.#admission.release(ticket);
    const accept = (): UpgradeDecision<StationData> => {
      // Taken here, right before uWS upgrades and opens the connection: the order of ids is the order of upgrades.
      station.connId = this.#sequence.next();
      return { accept: true, userData: station, subprotocol: protocol.header, release };
    };
    const refuseAuth = (message: string): UpgradeDecision<StationData> => {
      release();
      return this.#refuse('auth', 401, message, BASIC_CHALLENGE);
    };
    const auth = this.#auth.check(path.identity, info.authorization, security.basicAuth);
    if (!(auth instanceof Promise)) return auth.ok ? accept() : refuseAuth(auth.message);
    return this.#decideBefore(auth, config.limits.upgradeTimeoutMs, config.admission.retryAfterS, accept, refuseAuth, release);
  }

  /**
   * The asynchronous part of an upgrade (Basic auth: scrypt on libuv's pool, which a burst of attempts can queue
   * up) has `limits.upgradeTimeoutMs`: past it the client gets 503 with Retry-After and the slot is given back at
   * once, whatever the check says later. A check that fails answers 500, also giving the slot back.
   */
  #decideBefore(
    auth: Promise<AuthOutcome>,
    timeoutMs: number,
    retryAfterS: number,
    accept: () => UpgradeDecision<StationData>,
    refuseAuth: (message: string) => UpgradeDecision<StationData>,
    release: () => void,
  ): Promise<UpgradeDecision<StationData>> {
    return new Promise((resolve) => {
      let settled = false;
      const timer = timeoutMs > 0
        ? setTimeout(() => {
          settled = true;
          release();
          resolve(this.#refuse('timeout', 503, `the upgrade was not decided within ${timeoutMs} ms, retry later`, { 'Retry-After': String(retryAfterS) }));
        }, timeoutMs)
        : null;
      auth.then(
        (outcome) => {
          if (settled) return;
          settled = true;
          if (timer !== null) clearTimeout(timer);
          resolve(outcome.ok ? accept() : refuseAuth(outcome.message));
        },
        (error: unknown) => {
          if (settled) return;
          settled = true;
          if (timer !== null) clearTimeout(timer);
          release();
          resolve({ accept: false, status: 500, message: `authentication failed: ${error instanceof Error ? error.message : String(error)}` });
        },
      );
    });
  }

  /** 403 before the upgrade, counted (`profile`, `certificate`) and logged as a security event. */
  #refuseSecurity(identity: string, d: Extract<SecurityDecision, { ok: false }>): UpgradeDecision<StationData> {
    this.#deps.securityEvent({ identity, profile: d.profile, arrival: d.arrival, reason: d.reason, remoteAddress: d.remoteAddress }, d.message);
    return this.#refuse(d.reason, d.status, d.message);
  }

  #refuse(reason: string, status: number, message: string, headers?: Record<string, string>): UpgradeDecision<StationData> {
    this.#deps.shardCounters.inc(`upgradesRefused.${reason}`);
    return headers === undefined ? { accept: false, status, message } : { accept: false, status, message, headers };
  }

  // --- connection lifecycle ---

  open(socket: StationSocket, station: StationData): void {
    const counters = this.#deps.shardCounters;
    const session = new RpcSession(this.#deps.ctx, socket, station);
    station.session = session;
    const previous = this.sessions.get(station.identity);
    if (previous !== undefined && previous.connId > station.connId) {
      // Not expected (ids are taken right before the open), but the newer connection always wins.
      counters.inc('connectionsReplaced');
      session.close(CloseCode.REPLACED, REPLACED_REASON);
      return;
    }
    this.sessions.set(station.identity, session);
    if (previous !== undefined) {
      counters.inc('connectionsReplaced');
      previous.close(CloseCode.REPLACED, REPLACED_REASON);
    }
    counters.inc('connects');
    this.#deps.ctx.hooks.opened?.(session, station.remoteAddress);
    this.#deps.reports.flushRegistry();
    this.#deps.post({ t: 'connected', identity: station.identity, account: station.account, version: station.version, remoteAddress: station.remoteAddress, connId: station.connId, at: session.connectedAt });
  }

  message(_socket: StationSocket, station: StationData, text: string): void {
    const session = station.session;
    if (session === null) return;
    this.#deps.reports.heard(session);
    session.receive(text);
  }

  violation(socket: StationSocket, station: StationData, kind: TransportViolation, bytes: number): void {
    this.#deps.shardCounters.inc(`badFrames.${kind}`);
    if (kind === 'invalidUtf8') return; // uWS already dropped the connection; `close` follows
    const session = station.session;
    const [code, reason] = kind === 'binary'
      ? // OCPP-J uses text frames only (OCPP-J 1.6 §4.1.2, 2.0.1 Part 4 §4.1.2).
        [CloseCode.UNSUPPORTED_DATA, 'binary frames are not supported']
      : [CloseCode.MESSAGE_TOO_BIG, `frame of ${bytes} bytes exceeds the ${this.#deps.config().ocpp.maxFrameBytes}-byte limit`];
    if (session !== null) session.close(code, reason);
    else socket.close(code, reason);
  }

  close(_socket: StationSocket, station: StationData, code: number, reason: string): void {
    if (station.ticket !== null) this.#admission.release(station.ticket);
    const session = station.session;
    if (session === null) return;
    session.onClosed();
    if (this.sessions.get(station.identity) === session) this.sessions.delete(station.identity);
    this.#deps.shardCounters.inc(`disconnects.${disconnectReason(code)}`);
    this.#deps.ctx.hooks.closed?.(session, code, reason);
    // Pending boot/status events of this connection go first: the registry ignores events of a gone connection.
    this.#deps.reports.flushRegistry();
    this.#deps.post({ t: 'disconnected', identity: station.identity, connId: station.connId, code, reason, at: Date.now() });
  }

  /** The control plane decided a connection lost to a newer one (on another shard, or reported late). */
  replace(identity: string, connId: number): void {
    const session = this.sessions.get(identity);
    if (session !== undefined && session.connId === connId) {
      this.#deps.shardCounters.inc('connectionsReplaced');
      session.close(CloseCode.REPLACED, REPLACED_REASON);
    }
  }

  /** True while some station has work in progress (graceful stop waits for it). */
  get busy(): boolean {
    for (const s of this.sessions.values()) if (s.busy) return true;
    return false;
  }
}
