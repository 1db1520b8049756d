/**
 * A shard owns its stations end to end: sockets, sessions, pending calls. It runs on a worker thread with
 * its own uWS App on the shared port (SO_REUSEPORT lets the kernel spread connections).
 */
import { randomBytes } from 'node:crypto';
import { getHeapStatistics } from 'node:v8';
import type { Logger } from 'pino';
import type { Config } from '../config/types.js';
import { logLine, type MainToShard, type ShardToMain, type ConnectorStatus, type LogLine, type ShardStats, type RegistryEvent } from '../control/messages.js';
import type { LogClient, LogEndpointHandler } from '../transport/log-endpoint.js';
import { MESSAGE_TYPE_NAMES, MessageType, OCPP_VERSIONS, isV2, type StationVersion } from '../protocol/versions.js';
import { actionsFor } from '../protocol/actions.js';
import { ShardMetrics } from '../metrics/shard-metrics.js';
import { disconnectReason } from '../metrics/catalog.js';
import type { MetricJson } from '../metrics/metric-json.js';
import type { Backend, BackendReply } from '../protocol/backend.js';
import type { OcppVersion } from '../protocol/versions.js';
import { RpcSession, type SessionContext, type SessionHooks, type SessionOptions } from '../protocol/ocpp-j/rpc-session.js';
import { CloseCode } from '../protocol/ocpp-j/close-codes.js';
import { parseStationPath, isRefusal, selectSubprotocol } from '../protocol/ocpp-j/handshake.js';
import { UwsServer, type StationSocket, type TransportViolation, type UpgradeDecision, type UpgradeInfo } from '../transport/uws-server.js';
import { errorResponse, type HttpService, type WebHandler, type WebRequest, type WebResponse } from '../http/types.js';
import { createHttpGateway } from './http-gateway.js';
import { shardRoutes, uiRoutes } from '../api/shard-routes.js';
import { serializeError, RouterError, ErrorCode } from '../protocol/errors.js';
import { Admission, ConnectionSequence } from './admission.js';
import { StationAuth } from './station-auth.js';
import { ShardCounters } from './counters.js';
import type { ActionValidators } from '../protocol/validation/types.js';
// OCPP-S (SOAP) endpoint: POST /Ocpp[/…], served here (src/soap/endpoint.ts)
import { SoapEndpoint, isSoapPath } from '../soap/endpoint.js';

export interface StationData {
  identity: string;
  account: string | null;
  version: OcppVersion;
  remoteAddress: string;
  connId: number;
  session: RpcSession | null;
}

export interface ShardDeps {
  shardId: number;
  shards: number;
  config: Config;
  counters: SharedArrayBuffer;
  logger: Logger;
  post(message: ShardToMain): void;
  backend: Backend;
  lookup(version: OcppVersion, action: string): ActionValidators | undefined;
  /** Applies a reloaded configuration to the backend. */
  reconfigureBackend(config: Config): void;
  /** Decides whether a live-log client may connect (API authentication); null accepts. */
  authorizeLog?: LogEndpointHandler['authorize'];
}

const SEEN_FLUSH_MS = 1000;
/** Largest HTTP request body (commands, bulk commands); a station has its own frame limit. */
const HTTP_BODY_MAX = 1024 * 1024;
/** How long a stop waits for stations to answer our close frame before cutting the sockets. */
const CLOSE_HANDSHAKE_MS = 1000;
/** Live-log entries are batched for this long before crossing to the control plane. */
const LOG_FLUSH_MS = 50;
/** Boot and status events are batched for this long: a postMessage per StatusNotification cost ~19 µs. */
const REGISTRY_FLUSH_MS = 50;
export const LOG_PATH = '/ws/log';
const REPLACED_REASON = 'replaced by a newer connection of the same identity';
/** Every action of every version: metrics label an action only if it is one of these (else `unknown`). */
const KNOWN_ACTIONS: ReadonlySet<string> = new Set(OCPP_VERSIONS.flatMap((v) => actionsFor(v)));

function sessionOptions(config: Config): SessionOptions {
  const o = config.ocpp;
  return {
    maxPayloadDepth: o.maxPayloadDepth,
    inboundQueueMax: o.inboundQueueMax,
    outboundQueueMax: o.outboundQueueMax,
    callTimeoutMs: o.callTimeoutMs,
    maxBadMessagesInRow: o.maxBadMessagesInRow,
    rejectCallsBeforeAccepted: o.rejectCallsBeforeAccepted,
  };
}

/** Connector status from a StatusNotification (1.6: connectorId/status/errorCode; 2.x: evseId/connectorId/connectorStatus). */
function connectorStatus(version: StationVersion, payload: Record<string, unknown>, at: number): ConnectorStatus {
  // 1.5 (OCPP-S) and 1.6: connectorId, status, errorCode; 2.x: evseId/connectorId, connectorStatus.
  if (!isV2(version)) {
    return { connector: String(payload.connectorId), status: String(payload.status), errorCode: String(payload.errorCode), at };
  }
  return { connector: `${payload.evseId}/${payload.connectorId}`, status: String(payload.connectorStatus), at };
}

export class Shard {
  readonly id: number;
  readonly counters = new ShardCounters();
  readonly metrics: ShardMetrics;
  #deps: ShardDeps;
  #config: Config;
  #server: UwsServer<StationData>;
  #admission: Admission;
  #auth: StationAuth;
  #ctx: SessionContext;
  /** Current session per identity on this shard. */
  #sessions = new Map<string, RpcSession>();
  /** Connection ids: one sequence over every shard, taken when an upgrade is accepted (newest = highest). */
  #sequence: ConnectionSequence;
  #idPrefix: string;
  #idCounter = 0;
  /** Sessions that received something since the last flush (each once: RpcSession.seenQueued). */
  #seen: RpcSession[] = [];
  #seenTimer: NodeJS.Timeout;
  #stopping = false;
  #httpRequests = new Map<number, (response: WebResponse) => void>();
  #logClients = new Set<LogClient>();
  /** True while some shard has a live-log client: only then are entries built. */
  #logActive = false;
  #logBuffer: LogLine[] = [];
  #logTimer: NodeJS.Timeout | null = null;
  #registryEvents: RegistryEvent[] = [];
  #registryTimer: NodeJS.Timeout | null = null;
  #nextHttpReq = 1;
  /** OCPP-S (SOAP) stations of this shard (src/soap/endpoint.ts). */
  #soap: SoapEndpoint;

  constructor(deps: ShardDeps) {
    this.#deps = deps;
    this.id = deps.shardId;
    this.#config = deps.config;
    this.metrics = new ShardMetrics({ enabled: deps.config.metrics.enable, knownActions: KNOWN_ACTIONS, thread: `shard-${deps.shardId}` });
    this.#sequence = new ConnectionSequence(deps.counters);
    // Message ids: random per shard start + counter, unique beyond one WebSocket (2.1 Part 4 §4.1.4).
    this.#idPrefix = randomBytes(6).toString('hex') + deps.shardId.toString(36) + '-';
    this.#admission = new Admission(deps.counters, { ...deps.config.admission, shards: deps.shards });
    this.#auth = new StationAuth(deps.config.security.basicAuth, (m) => deps.logger.error(m));
    this.#ctx = {
      options: sessionOptions(deps.config),
      backend: deps.backend,
      lookup: deps.lookup,
      hooks: this.#hooks(),
      nextMessageId: () => this.#idPrefix + (this.#idCounter++).toString(36),
    };
    // OCPP-S: SOAP stations get RpcSessions of their own on the same context (validators, backend, hooks).
    this.#soap = new SoapEndpoint({
      ctx: () => this.#ctx,
      hooks: this.#ctx.hooks,
      post: (m) => this.#deps.post(m),
      metrics: this.metrics.soap,
      maxBodyBytes: () => this.#config.ocpp.maxFrameBytes,
      maxIdentityLength: () => this.#config.ocpp.maxIdentityLength,
      stopping: () => this.#stopping,
    });
    const o = deps.config.ocpp;
    this.#server = new UwsServer<StationData>(
      { path: o.path, maxFrameBytes: o.maxFrameBytes, pingIntervalS: o.pingIntervalS, maxHttpBodyBytes: HTTP_BODY_MAX, logPath: LOG_PATH },
      {
        upgrade: (info) => this.#upgrade(info),
        open: (socket, station) => this.#open(socket, station),
        message: (_socket, station, text) => {
          const session = station.session;
          if (session === null) return;
          if (!session.seenQueued) {
            session.seenQueued = true;
            this.#seen.push(session);
          }
          session.receive(text);
        },
        violation: (socket, station, kind, bytes) => this.#violation(socket, station, kind, bytes),
        close: (_socket, station, code, reason) => this.#closed(station, code, reason),
      },
      this.#httpService(),
      {
        authorize: (headers, query) => deps.authorizeLog?.(headers, query) ?? null,
        open: (client) => this.#logClientsChanged(client, true),
        close: (client) => this.#logClientsChanged(client, false),
      },
    );
    this.#seenTimer = setInterval(() => this.#flushSeen(), SEEN_FLUSH_MS);
    this.#seenTimer.unref();
  }

  #httpService(): HttpService {
    const gateway = this.#httpGateway();
    // OCPP-S: any path whose first segment is `Ocpp` is a SOAP request from a station, answered in this shard.
    const soap = this.#soap;
    return {
      handle: (request) => (isSoapPath(request.path) ? soap.handle(request) : gateway(request)),
      refuse: (request, status, message) => (isSoapPath(request.path) ? soap.refuse(request, status, message) : errorResponse(status, message)),
    };
  }

  #httpGateway(): WebHandler {
    return createHttpGateway({
      local: [
        // Answered here: they need no state of the control plane (ocpp-cs shapes): ping, time, and the
        // static documentation (/api.yaml, Swagger UI at /docs/), so static bytes never cross threads.
        ...shardRoutes(this.#config),
        // The web UI: www/ at / and the request schemas of its command forms (src/api/shard-routes.ts, docs/ui.md).
        ...uiRoutes(),
      ],
      forward: (request) => this.#forwardHttp(request),
      // Longer than any command the API may wait for, so the API answers its own 504 first.
      forwardTimeoutMs: Math.max(this.#config.ocpp.callTimeoutMs, this.#config.api.commandTimeoutMs) + 5000,
    });
  }

  // --- live log ---

  #logClientsChanged(client: LogClient, added: boolean): void {
    if (added) this.#logClients.add(client);
    else this.#logClients.delete(client);
    this.#deps.post({ t: 'logClients', count: this.#logClients.size });
  }

  #logFrame(identity: string, direction: 'in' | 'out', type: number, id: string, action: string | null, payload: unknown): void {
    const line = logLine({ ts: Date.now(), identity, direction, messageType: MESSAGE_TYPE_NAMES[type] ?? String(type), uniqueId: id, action, payload });
    if (line === null) {
      this.counters.inc('threadMessagesDropped.liveLog');
      return;
    }
    this.#logBuffer.push(line);
    this.#logTimer ??= setTimeout(() => this.#flushLog(), LOG_FLUSH_MS);
  }

  #flushLog(): void {
    this.#logTimer = null;
    if (this.#logBuffer.length === 0) return;
    const entries = this.#logBuffer;
    this.#logBuffer = [];
    this.#deps.post({ t: 'log', entries });
  }

  /** Entries from every shard (already serialized), fanned out by the control plane to shards with log clients. */
  #deliverLog(entries: LogLine[]): void {
    for (const entry of entries) {
      for (const client of this.#logClients) {
        if (client.identity !== null && client.identity !== entry.identity) continue;
        if (!client.send(entry.text)) this.counters.inc('liveLogDropped');
      }
    }
  }

  #forwardHttp(request: WebRequest): Promise<WebResponse> {
    const reqId = this.#nextHttpReq++;
    return new Promise((resolve) => {
      this.#httpRequests.set(reqId, resolve);
      this.#deps.post({ t: 'http', reqId, request });
    });
  }

  /** Resolves with the port bound, or null when listening failed. */
  listen(port: number): Promise<number | null> {
    return this.#server.listen(this.#config.server.listen, port);
  }

  get connectionCount(): number {
    return this.#sessions.size;
  }

  // --- upgrade ---

  #upgrade(info: UpgradeInfo): UpgradeDecision<StationData> | Promise<UpgradeDecision<StationData>> {
    const o = this.#config.ocpp;
    if (this.#stopping) return this.#refuse('shutdown', 503, 'server is shutting down', { 'Retry-After': String(this.#config.admission.retryAfterS) });
    const path = parseStationPath(info.url, o.path, o.maxIdentityLength);
    if (isRefusal(path)) return this.#refuse(path.reason, path.status, path.message);
    const protocol = selectSubprotocol(info.subprotocols, o.subprotocols, o.defaultVersion);
    if (protocol === null) {
      // OCPP-J 1.6 §3.1.2 / RFC 6455 §4.2.2: complete the handshake without a subprotocol, then close.
      // The connection never becomes a station, so it takes no admission slot.
      this.counters.inc('upgradesRefused.subprotocol');
      const station: StationData = { identity: path.identity, account: path.account, version: o.subprotocols[0]!, remoteAddress: info.remoteAddress, connId: 0, session: null };
      return { accept: true, userData: station, subprotocol: '', closeAfterOpen: { code: CloseCode.PROTOCOL_ERROR, reason: 'no supported OCPP subprotocol offered' } };
    }
    const admit = this.#admission.admit();
    if (admit !== null) {
      return this.#refuse(admit.reason, 503, admit.reason === 'limit' ? 'too many stations connected' : 'too many connection attempts, retry later', {
        'Retry-After': String(admit.retryAfterS),
      });
    }
    const station: StationData = {
      identity: path.identity,
      account: path.account,
      version: protocol.version,
      remoteAddress: info.remoteAddress,
      connId: 0,
      session: null,
    };
    const accept = (): UpgradeDecision<StationData> => {
      // Taken here, right before uWS upgrades and opens the connection: the order of ids is the order of upgrades.
      station.connId = this.#sequence.next();
      return { accept: true, userData: station, subprotocol: protocol.header, release: () => this.#admission.release() };
    };
    const auth = this.#auth.check(path.identity, info.authorization);
    if (!(auth instanceof Promise)) {
      if (auth.ok) return accept();
      this.#admission.release();
      return this.#refuse('auth', 401, auth.message, { 'WWW-Authenticate': 'Basic realm="ocpp-router", charset="UTF-8"' });
    }
    return auth.then((outcome): UpgradeDecision<StationData> => {
      if (outcome.ok) return accept();
      this.#admission.release();
      return this.#refuse('auth', 401, outcome.message, { 'WWW-Authenticate': 'Basic realm="ocpp-router", charset="UTF-8"' });
    });
  }

  #refuse(reason: string, status: number, message: string, headers?: Record<string, string>): UpgradeDecision<StationData> {
    this.counters.inc(`upgradesRefused.${reason}`);
    return headers === undefined ? { accept: false, status, message } : { accept: false, status, message, headers };
  }

  // --- connection lifecycle ---

  #open(socket: StationSocket, station: StationData): void {
    const session = new RpcSession(this.#ctx, socket, station);
    station.session = session;
    const previous = this.#sessions.get(station.identity);
    if (previous !== undefined && previous.connId > station.connId) {
      // Not expected (ids are taken right before the open), but the newer connection always wins.
      this.counters.inc('connectionsReplaced');
      session.close(CloseCode.REPLACED, REPLACED_REASON);
      return;
    }
    this.#sessions.set(station.identity, session);
    if (previous !== undefined) {
      this.counters.inc('connectionsReplaced');
      previous.close(CloseCode.REPLACED, REPLACED_REASON);
    }
    this.counters.inc('connects');
    this.#flushRegistry();
    this.#deps.post({
      t: 'connected',
      identity: station.identity,
      account: station.account,
      version: station.version,
      remoteAddress: station.remoteAddress,
      connId: station.connId,
      at: session.connectedAt,
    });
  }

  #violation(socket: StationSocket, station: StationData, kind: TransportViolation, bytes: number): void {
    this.counters.inc(`badFrames.${kind}`);
    const session = station.session;
    if (kind === 'invalidUtf8') return; // uWS already dropped the connection; `close` follows
    if (kind === 'binary') {
      // OCPP-J uses text frames only (OCPP-J 1.6 §4.1.2, 2.0.1 Part 4 §4.1.2).
      session?.close(CloseCode.UNSUPPORTED_DATA, 'binary frames are not supported') ?? socket.close(CloseCode.UNSUPPORTED_DATA, 'binary frames are not supported');
    } else {
      const reason = `frame of ${bytes} bytes exceeds the ${this.#config.ocpp.maxFrameBytes}-byte limit`;
      session?.close(CloseCode.MESSAGE_TOO_BIG, reason) ?? socket.close(CloseCode.MESSAGE_TOO_BIG, reason);
    }
  }

  #closed(station: StationData, code: number, reason: string): void {
    this.#admission.release();
    const session = station.session;
    if (session === null) return;
    session.onClosed();
    if (this.#sessions.get(station.identity) === session) this.#sessions.delete(station.identity);
    this.counters.inc(`disconnects.${disconnectReason(code)}`);
    // Pending boot/status events of this connection go first: the registry ignores events of a gone connection.
    this.#flushRegistry();
    this.#deps.post({ t: 'disconnected', identity: station.identity, connId: station.connId, code, reason, at: Date.now() });
  }

  #queueRegistry(event: RegistryEvent): void {
    this.#registryEvents.push(event);
    this.#registryTimer ??= setTimeout(() => this.#flushRegistry(), REGISTRY_FLUSH_MS);
  }

  #flushRegistry(): void {
    if (this.#registryTimer !== null) {
      clearTimeout(this.#registryTimer);
      this.#registryTimer = null;
    }
    if (this.#registryEvents.length === 0) return;
    const events = this.#registryEvents;
    this.#registryEvents = [];
    this.#deps.post({ t: 'registryEvents', events });
  }

  /** Last-message times of the stations that talked since the last flush (not a walk over every session). */
  #flushSeen(): void {
    const seen = this.#seen;
    if (seen.length === 0) return;
    this.#seen = [];
    const entries: Array<[string, number]> = new Array(seen.length);
    for (let i = 0; i < seen.length; i++) {
      const session = seen[i]!;
      session.seenQueued = false;
      entries[i] = [session.identity, session.lastSeenAt];
    }
    this.#deps.post({ t: 'seen', entries });
  }

  // --- session hooks: counters and registry events ---

  #hooks(): SessionHooks {
    const counters = this.counters;
    const logger = this.#deps.logger;
    const metrics = this.metrics;
    return {
      frame: (session, direction, type, id, action, payload) => {
        metrics.frame(direction, type, action);
        if (direction === 'out' && type === MessageType.CALLERROR) counters.inc(`callErrorsSent.${(payload as { code: string }).code}`);
        if (this.#logActive) this.#logFrame(session.identity, direction, type, id, action, payload);
      },
      badFrame(_session, frame) {
        counters.inc(`badFrames.${frame.kind}`);
      },
      callRejected(session, action, code, reason) {
        counters.inc(`callsRejected.${code}`);
        if (reason === 'validation') metrics.validationFailure(session.version, action, 'request');
        logger.debug({ identity: session.identity, action, code }, 'call rejected');
      },
      invalidReply(session, action, issues) {
        counters.inc('invalidBackendReplies');
        metrics.validationFailure(session.version, action, 'reply');
        logger.error({ identity: session.identity, action, issues: issues.slice(0, 5) }, `backend reply to ${action} is invalid: ${issues[0]?.message}`);
      },
      callHandled(_session, action, ok, ms) {
        metrics.callHandled(action, ok, ms);
      },
      stationCallCompleted: (session: RpcSession, action: string, request: Record<string, unknown>, reply: BackendReply) => {
        if (reply.kind !== 'result') return;
        if (action === 'BootNotification') {
          this.#queueRegistry({ t: 'boot', identity: session.identity, connId: session.connId, payload: request, status: String(reply.payload.status), at: Date.now() });
        } else if (action === 'StatusNotification') {
          this.#queueRegistry({ t: 'status', identity: session.identity, connId: session.connId, status: connectorStatus(session.version, request, Date.now()) });
        }
      },
      outboundDone(session, action, outcome, ms) {
        counters.inc(`outbound.${outcome}`);
        metrics.outbound(action, outcome, ms);
        if (outcome === 'invalid') metrics.validationFailure(session.version, action, 'response');
      },
      strayResult(_session, kind) {
        counters.inc(`strayResults.${kind}`);
      },
      closedForPolicy(_session, reason) {
        counters.inc(`policyCloses.${reason}`);
      },
    };
  }

  // --- control plane messages ---

  handle(message: MainToShard): void {
    switch (message.t) {
      case 'call':
        this.#call(message.reqId, message.identity, message.action, message.payload, message.timeoutMs);
        return;
      case 'replace': {
        const session = this.#sessions.get(message.identity);
        if (session !== undefined && session.connId === message.connId) {
          this.counters.inc('connectionsReplaced');
          session.close(CloseCode.REPLACED, REPLACED_REASON);
        }
        return;
      }
      case 'config':
        this.#reconfigure(message.config);
        return;
      case 'metrics':
        this.#deps.post({ t: 'metrics', reqId: message.reqId, metrics: this.metricsJson() });
        return;
      case 'logActive':
        this.#logActive = message.active;
        if (!message.active) this.#logBuffer = [];
        return;
      case 'log':
        this.#deliverLog(message.entries);
        return;
      case 'httpReply': {
        const resolve = this.#httpRequests.get(message.reqId);
        this.#httpRequests.delete(message.reqId);
        resolve?.(message.response);
        return;
      }
      case 'stats':
        this.#deps.post({ t: 'stats', reqId: message.reqId, stats: this.#stats() });
        return;
      default:
        return;
    }
  }

  /** This shard's metrics as prom-client JSON (the control plane aggregates over shards). */
  metricsJson(): MetricJson[] {
    const sessions = this.#sessions.values();
    const views = (function* () {
      for (const s of sessions) yield { version: s.version, pendingOutbound: s.pendingOutbound, outboundInFlight: s.outboundInFlight };
    })();
    return this.metrics.toJson(this.id, this.counters.snapshot(), views);
  }

  #stats(): ShardStats {
    const heap = getHeapStatistics();
    return {
      shardId: this.id,
      connections: this.#sessions.size,
      counters: { ...this.counters.snapshot(), ...this.metrics.derivedCounters() },
      heap: { used: heap.used_heap_size, total: heap.total_heap_size, external: heap.external_memory },
    };
  }

  #call(reqId: number, identity: string, action: string, payload: Record<string, unknown>, timeoutMs?: number): void {
    const session = this.#sessions.get(identity);
    if (session === undefined) {
      this.#deps.post({ t: 'callResult', reqId, ok: false, error: new RouterError(ErrorCode.STATION_NOT_CONNECTED, `${identity} is not connected to shard ${this.id}`).toJSON() });
      return;
    }
    session.call(action, payload, timeoutMs).then(
      (result) => this.#deps.post({ t: 'callResult', reqId, ok: true, payload: result }),
      (error) => this.#deps.post({ t: 'callResult', reqId, ok: false, error: serializeError(error) }),
    );
  }

  #reconfigure(config: Config): void {
    this.#config = config;
    this.#ctx.options = sessionOptions(config);
    this.#admission.configure({ ...config.admission, shards: this.#deps.shards });
    this.#auth.configure(config.security.basicAuth, (m) => this.#deps.logger.error(m));
    this.#deps.reconfigureBackend(config);
    this.#deps.logger.level = config.log.level;
    this.metrics.enabled = config.metrics.enable;
  }

  /**
   * Graceful: stop accepting, let in-flight work finish up to the deadline, then close stations with 1001.
   * Fast: close everything now.
   */
  async stop(mode: 'graceful' | 'fast', deadlineMs: number): Promise<void> {
    this.#stopping = true;
    this.#server.stopListening();
    clearInterval(this.#seenTimer);
    if (mode === 'graceful') {
      const deadline = Date.now() + deadlineMs;
      while (Date.now() < deadline && ([...this.#sessions.values()].some((s) => s.busy) || this.#soap.busy)) {
        await new Promise((r) => setTimeout(r, 20));
      }
      await this.#deps.backend.close?.();
    }
    this.#flushSeen();
    this.#soap.close(); // OCPP-S: waiting requests get a fault, last-seen times are posted
    this.#server.closeAll(CloseCode.GOING_AWAY, mode === 'graceful' ? 'server is shutting down' : 'server stopped');
    // Give close handshakes a moment, then cut whatever is left (late peers, keep-alive HTTP).
    const closeDeadline = Date.now() + CLOSE_HANDSHAKE_MS;
    while (this.#server.connectionCount > 0 && Date.now() < closeDeadline) await new Promise((r) => setTimeout(r, 10));
    this.#server.shutdown();
  }

  /** Last resort before the thread dies (uncaught error): uWS sockets must be closed or the process aborts. */
  emergencyClose(): void {
    this.#stopping = true;
    this.#server.closeAll(CloseCode.INTERNAL_ERROR, 'shard failure', true);
    this.#server.shutdown();
  }
}
