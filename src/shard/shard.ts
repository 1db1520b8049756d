/**
 * A shard owns its stations end to end: sockets, sessions, pending calls. It runs on a worker thread with its
 * own listener (uWS App under Node, Bun.serve under Bun: deps.createServer) on the shared port (SO_REUSEPORT lets the kernel spread connections), and wires the parts:
 *   station-endpoint.ts  upgrade rules, one RpcSession per connection, newest wins
 *   soap-endpoint.ts     OCPP-S requests (POST /Ocpp…), RpcSessions of their own
 *   session-hooks.ts     counters, metrics, live log and registry events of every session
 *   reports.ts           what the control plane hears, batched
 *   http-gateway.ts      HTTP answered here (docs, UI, ping) or forwarded to the control plane
 * The control plane talks to it through worker.ts (notifications, and requests through a RequestPort).
 */
import { randomBytes } from 'node:crypto';
import { getHeapStatistics } from 'node:v8';
import type { Logger } from 'pino';
import type { Config } from '../config/types.js';
import type { MainToShard, ShardStats, ShardToMain } from '../ipc/messages.js';
import { OCPP_VERSIONS } from '../protocol/versions.js';
import { actionsFor } from '../protocol/actions.js';
import type { Backend } from '../protocol/backend.js';
import { ErrorCode, RouterError } from '../protocol/errors.js';
import type { SessionContext, SessionOptions } from '../protocol/ocpp-j/rpc-session.js';
import type { CallKeeper } from '../protocol/ocpp-j/session-context.js';
import type { ActionValidators } from '../protocol/validation/types.js';
import { CloseCode } from '../protocol/ocpp-j/close-codes.js';
import { rateLimitOptions } from '../protocol/ocpp-j/rate-limit.js';
import type { OcppVersion } from '../protocol/versions.js';
import { ShardMetrics } from '../metrics/shard-metrics.js';
import type { MetricJson } from '../metrics/metric-json.js';
import { errorResponse, type HttpService, type WebHandler, type WebRequest, type WebResponse } from '../http/types.js';
import { tlsListenerOptions } from '../config/tls-files.js';
import type { LogClient, LogEndpointHandler, StationServer, StationServerFactory, TlsListenerOptions } from '../transport/types.js';
import { shardRoutes, uiRoutes } from '../web/static-routes.js';
import { createHttpGateway } from './http-gateway.js';
import { ShardCounters } from './counters.js';
import { ShardReports } from './reports.js';
import { createSessionHooks, type EventTap } from './session-hooks.js';
import { StationEndpoint, type StationData } from './station-endpoint.js';
import { SoapEndpoint, isSoapPath } from './soap-endpoint.js';

export type { StationData } from './station-endpoint.js';

export interface ShardDeps {
  shardId: number;
  shards: number;
  config: Config;
  counters: SharedArrayBuffer;
  logger: Logger;
  post(message: ShardToMain): void;
  /** Forwards an HTTP request to the control plane (the REST API). */
  forwardHttp(request: WebRequest): Promise<WebResponse>;
  backend: Backend;
  lookup(version: OcppVersion, action: string): ActionValidators | undefined;
  /** Applies a reloaded configuration to the backend. */
  reconfigureBackend(config: Config): void;
  /** Decides whether a live-log client may connect (the API's access rules); null accepts. */
  authorizeLog?: LogEndpointHandler['authorize'];
  /** Builds the listeners: the runtime's transport (src/transport/runtime.ts loadTransport). */
  createServer: StationServerFactory;
  /** The built-in mTLS front's per-process secret (absent: no front). */
  frontSecret?: string | null;
  /** Keeps what stations send before it is acknowledged (the store); absent when the store is off. */
  keeper?: CallKeeper;
  /** Where the JetStream events go (cluster.events; src/cluster/events.ts), set once the shard's NATS started. */
  events?: EventTap;
  /** The operator's id-tag list changed (for the responder). */
  setIdTags?(tags: ReadonlyArray<readonly [string, string, number | null]>): void;
}

/** Largest HTTP request body (commands, bulk commands); a station has its own frame limit. */
const HTTP_BODY_MAX = 1024 * 1024;
/** How long a stop waits for stations to answer our close frame before cutting the sockets. */
const CLOSE_HANDSHAKE_MS = 1000;
/** How often a shard looks for TLS Apps of earlier certificates whose last station left (HUP reload). */
const TLS_PRUNE_INTERVAL_MS = 30_000;
export const LOG_PATH = '/ws/log';
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
    rateLimit: rateLimitOptions(config.limits),
  };
}

export class Shard {
  readonly id: number;
  readonly counters = new ShardCounters();
  readonly metrics: ShardMetrics;
  #deps: ShardDeps;
  #config: Config;
  /** The plain listener (server.plain), null when it is off. */
  #plain: StationServer | null;
  /** The TLS listener (tls.enable): the current one first; older ones (before a certificate reload) keep their stations. */
  #tls: StationServer[] = [];
  /** While Apps of earlier certificates remain: looks for empty ones to close. */
  #pruneTimer: NodeJS.Timeout | null = null;
  #tlsPort = 0;
  #http: HttpService | null = null;
  #ctx: SessionContext;
  #reports: ShardReports;
  #stations: StationEndpoint;
  #soap: SoapEndpoint;
  #logClients = new Set<LogClient>();
  #stopping = false;

  constructor(deps: ShardDeps) {
    this.#deps = deps;
    this.id = deps.shardId;
    this.#config = deps.config;
    this.metrics = new ShardMetrics({ enabled: deps.config.metrics.enable, knownActions: KNOWN_ACTIONS, thread: `shard-${deps.shardId}` });
    this.#reports = new ShardReports(deps.post, this.counters);
    // Message ids: random per shard start + counter, unique beyond one WebSocket (2.1 Part 4 §4.1.4).
    const idPrefix = randomBytes(6).toString('hex') + deps.shardId.toString(36) + '-';
    let idCounter = 0;
    this.#ctx = {
      options: sessionOptions(deps.config),
      backend: deps.backend,
      lookup: deps.lookup,
      hooks: createSessionHooks(this.counters, this.metrics, this.#reports, deps.logger, deps.events),
      keeper: deps.keeper ?? null,
      nextMessageId: () => idPrefix + (idCounter++).toString(36),
    };
    this.#stations = new StationEndpoint({
      shards: deps.shards,
      counters: deps.counters,
      config: () => this.#config,
      ctx: this.#ctx,
      post: deps.post,
      reports: this.#reports,
      shardCounters: this.counters,
      stopping: () => this.#stopping,
      logError: (m) => deps.logger.error(m),
      frontSecret: deps.frontSecret ?? null,
      securityEvent: (event, message) => deps.logger.warn({ securityEvent: 'StationRefused', ...event }, message),
    });
    // OCPP-S: SOAP stations get RpcSessions of their own on the same context (validators, backend, hooks).
    this.#soap = new SoapEndpoint({
      ctx: () => this.#ctx,
      post: deps.post,
      metrics: this.metrics.soap,
      maxBodyBytes: () => this.#config.ocpp.maxFrameBytes,
      maxIdentityLength: () => this.#config.ocpp.maxIdentityLength,
      stopping: () => this.#stopping,
    });
    // With plain off, the mTLS front still needs it: then it listens on loopback only (listen()).
    this.#plain = deps.config.server.plain || deps.config.tls.front.enable ? this.#newServer(deps.config) : null;
    if (deps.config.tls.enable) this.#tls.push(this.#newServer(deps.config, tlsListenerOptions(deps.config)));
  }

  #newServer(config: Config, tls?: TlsListenerOptions): StationServer {
    const o = config.ocpp;
    return this.#deps.createServer<StationData>(
      { path: o.path, maxFrameBytes: o.maxFrameBytes, pingIntervalS: o.pingIntervalS, maxHttpBodyBytes: HTTP_BODY_MAX, logPath: LOG_PATH, clientCertHeader: config.tls.clientCertHeader },
      this.#stations,
      (this.#http ??= this.#httpService()),
      {
        authorize: (headers, query, remoteAddress) => this.#deps.authorizeLog?.(headers, query, remoteAddress) ?? null,
        open: (client) => this.#logClientsChanged(client, true),
        close: (client) => this.#logClientsChanged(client, false),
      },
      tls,
    );
  }

  get #servers(): StationServer[] {
    return this.#plain === null ? this.#tls : [this.#plain, ...this.#tls];
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
        // The web UI: www/ at / and the request schemas of its command forms (src/web/static-routes.ts, docs/ui.md).
        ...uiRoutes(),
      ],
      forward: (request) => this.#deps.forwardHttp(request),
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

  /** Lines from every shard (already serialized), fanned out by the control plane to shards with log clients. */
  #deliverLog(entries: Array<{ identity: string; text: string }>): void {
    for (const entry of entries) {
      for (const client of this.#logClients) {
        if (client.identity !== null && client.identity !== entry.identity) continue;
        if (!client.send(entry.text)) this.counters.inc('liveLogDropped');
      }
    }
  }

  /** The plain listener on `port`: resolves with the port bound, or null when listening failed (or plain is off: 0). */
  listen(port: number): Promise<number | null> {
    if (this.#plain === null) return Promise.resolve(0);
    return this.#plain.listen(this.#config.server.plain ? this.#config.server.listen : '127.0.0.1', port);
  }

  /** The TLS listener on `port`: resolves with the port bound, or null when listening failed (or TLS is off: 0). */
  async listenTls(port: number): Promise<number | null> {
    const server = this.#tls[0];
    if (server === undefined) return 0;
    const bound = await server.listen(this.#config.server.listen, port);
    if (bound !== null) {
      this.#tlsPort = bound;
      this.#stations.tlsPort = bound;
    }
    return bound;
  }

  get connectionCount(): number {
    return this.#stations.sessions.size;
  }

  // --- the control plane's notifications and requests ---

  handle(message: Exclude<MainToShard, { t: 'req' } | { t: 'res' }>): void {
    switch (message.t) {
      case 'replace':
        this.#stations.replace(message.identity, message.connId);
        return;
      case 'config':
        this.#reconfigure(message.config);
        return;
      case 'logActive':
        this.#reports.setLogActive(message.active);
        return;
      case 'log':
        this.#deliverLog(message.entries);
        return;
      case 'idTags':
        this.#deps.setIdTags?.(message.tags);
        return;
      default:
        return;
    }
  }

  /** A CALL to a station of this shard (the control plane's `call` request). */
  call(request: { identity: string; action: string; payload: Record<string, unknown>; timeoutMs?: number; validated?: boolean }): Promise<Record<string, unknown>> {
    const session = this.#stations.sessions.get(request.identity);
    if (session === undefined) return Promise.reject(new RouterError(ErrorCode.STATION_NOT_CONNECTED, `${request.identity} is not connected to shard ${this.id}`));
    const answer = session.call(request.action, request.payload, request.timeoutMs, request.validated === true);
    // ocpp.outboundQueueMax reached: counted here (the API answers 429), once per refused command, off the frame path.
    answer.catch((error: unknown) => {
      if (error instanceof RouterError && error.code === ErrorCode.CALL_QUEUE_FULL) this.counters.inc('outboundQueueFull');
    });
    return answer;
  }

  /** This shard's metrics as prom-client JSON (the control plane aggregates over shards). */
  metricsJson(): MetricJson[] {
    const sessions = this.#stations.sessions.values();
    const views = (function* () {
      for (const s of sessions) yield { version: s.version, pendingOutbound: s.pendingOutbound, outboundInFlight: s.outboundInFlight };
    })();
    return this.metrics.toJson(this.id, this.counters.snapshot(), views);
  }

  stats(): ShardStats {
    const heap = getHeapStatistics();
    return {
      shardId: this.id,
      connections: this.#stations.sessions.size,
      counters: { ...this.counters.snapshot(), ...this.metrics.derivedCounters() },
      heap: { used: heap.used_heap_size, total: heap.total_heap_size, external: heap.external_memory },
    };
  }

  #reconfigure(config: Config): void {
    this.#config = config;
    void this.#reloadTls(config);
    this.#ctx.options = sessionOptions(config);
    this.#stations.configure(config);
    this.#deps.reconfigureBackend(config);
    this.#deps.logger.level = config.log.level;
    this.metrics.enabled = config.metrics.enable;
  }

  /**
   * HUP with TLS on: the certificate files are read again by a new SSLApp that joins the TLS port (SO_REUSEPORT)
   * before the previous one stops listening, so no connection attempt is refused in between. The previous App keeps
   * its stations (they stay connected on the old certificate) and is closed once the last of them is gone. A new
   * App that cannot listen (unreadable or mismatched files) is dropped and the running one kept (logged).
   */
  async #reloadTls(config: Config): Promise<void> {
    if (!config.tls.enable || this.#tls.length === 0 || this.#stopping) return;
    let next: StationServer;
    try {
      next = this.#newServer(config, tlsListenerOptions(config));
    } catch (error) {
      this.#deps.logger.error({ err: error }, 'HUP: the TLS certificate cannot be loaded; keeping the running one');
      return;
    }
    const bound = await next.listen(config.server.listen, this.#tlsPort);
    if (bound === null || this.#stopping) {
      next.shutdown();
      if (bound === null) this.#deps.logger.error({ port: this.#tlsPort }, 'HUP: the new TLS listener cannot start (tls.certFile/keyFile/passphrase/clientCaFile unreadable or not matching); keeping the running one');
      return;
    }
    for (const old of this.#tls) old.stopListening();
    this.#tls.unshift(next);
    this.#pruneTls();
    if (this.#tls.length > 1 && this.#pruneTimer === null) {
      this.#pruneTimer = setInterval(() => {
        this.#pruneTls();
        if (this.#tls.length <= 1) this.#stopPruning();
      }, TLS_PRUNE_INTERVAL_MS);
      this.#pruneTimer.unref();
    }
    this.#deps.logger.info({ port: bound, previousListeners: this.#tls.length - 1 }, 'HUP: TLS certificate reloaded');
  }

  #stopPruning(): void {
    if (this.#pruneTimer !== null) clearInterval(this.#pruneTimer);
    this.#pruneTimer = null;
  }

  /** Closes the TLS Apps of earlier certificates that have no connection left. */
  #pruneTls(): void {
    this.#tls = this.#tls.filter((server, i) => {
      if (i === 0 || server.connectionCount > 0) return true;
      server.shutdown();
      return false;
    });
  }

  /**
   * Graceful: stop accepting, let in-flight work finish up to the deadline, then close stations with 1001.
   * Fast: close everything now.
   */
  async stop(mode: 'graceful' | 'fast', deadlineMs: number): Promise<void> {
    this.#stopping = true;
    this.#stations.stop();
    this.#stopPruning();
    for (const server of this.#servers) server.stopListening();
    if (mode === 'graceful') {
      const deadline = Date.now() + deadlineMs;
      while (Date.now() < deadline && (this.#stations.busy || this.#soap.busy)) {
        await new Promise((r) => setTimeout(r, 20));
      }
      await this.#deps.backend.close?.();
    }
    this.#reports.close();
    this.#soap.close(); // OCPP-S: waiting requests get a fault, last-seen times are posted
    const servers = this.#servers;
    for (const server of servers) server.closeAll(CloseCode.GOING_AWAY, mode === 'graceful' ? 'server is shutting down' : 'server stopped');
    // Give close handshakes a moment, then cut whatever is left (late peers, keep-alive HTTP).
    const closeDeadline = Date.now() + CLOSE_HANDSHAKE_MS;
    while (servers.some((s) => s.connectionCount > 0) && Date.now() < closeDeadline) await new Promise((r) => setTimeout(r, 10));
    for (const server of servers) server.shutdown();
  }

  /** Last resort before the thread dies (uncaught error): uWS sockets must be closed or the process aborts. */
  emergencyClose(): void {
    this.#stopping = true;
    this.#stations.stop();
    this.#stopPruning();
    for (const server of this.#servers) {
      server.closeAll(CloseCode.INTERNAL_ERROR, 'shard failure', true);
      server.shutdown();
    }
  }
}
