/**
 * The control plane: starts the shards on one port, keeps the station directory and registry, hands out
 * transaction id blocks, routes commands to the shard that holds a station, reloads configuration and
 * stops everything. `main.ts` drives it from signals; tests drive it directly.
 */
import { availableParallelism } from 'node:os';
import type { Logger } from 'pino';
import type { Config } from '../config/types.js';
import type { ShardToMain, ShardStats, RegistryEvent } from './messages.js';
import type { MetricJson } from '../metrics/metric-json.js';
import { ControlMetrics } from '../metrics/control-metrics.js';
import { ShardSupervisor } from './shard-supervisor.js';
import { StationRegistry, type StationRecord } from './station-registry.js';
import { TransactionIdStore } from './transaction-id-store.js';
import { RouterError, ErrorCode } from '../protocol/errors.js';
import { createSharedCounters } from '../shard/admission.js';
import { errorResponse, type WebHandler, type WebResponse } from '../http/types.js';
// --- OCPP-S (SOAP) commands and station presence (src/soap/) ---
import { SoapCommandClient } from '../soap/command-client.js';
import { SoapControlMetrics } from '../metrics/soap-metrics.js';
import { soapLookup, isSoapVersion } from '../protocol/soap/validators.js';
import { createValidatorLookup } from '../protocol/validation/registry.js';
import { actionsFor } from '../protocol/actions.js';
import { OCPP_VERSIONS } from '../protocol/versions.js';
import { ACTIONS_15 } from '../protocol/soap/validators.js';
// --- webhook spool and events (src/control/webhook-control.ts) ---
import { WebhookControl, type WebhookEventName } from './webhook-control.js';
import { webhookActive } from '../backends/webhook/index.js';
import { logLine, type SpoolInput } from './messages.js';

const TX_BLOCK_SIZE = 256;
const REGISTRY_SAVE_MS = 5000;

export interface RouterServerOptions {
  config: Config;
  logger: Logger;
  /** Honour test-only control messages (crash a shard). */
  testHooks?: boolean;
  /**
   * Builds the handler of the HTTP requests shards forward (the REST API). Installed before the first shard
   * listens, so no request ever meets a router without its API.
   */
  http?: (server: RouterServer) => WebHandler;
}

/**
 * Where the router is in its life. Until `running` (at start, while a reload swaps the shard set, while stopping)
 * forwarded HTTP requests get 503 with Retry-After, except the health probes, which always answer.
 */
export type RouterPhase = 'starting' | 'running' | 'swapping' | 'stopping';

const PHASE_MESSAGES: Record<Exclude<RouterPhase, 'running'>, string> = {
  starting: 'the router is starting; retry shortly',
  swapping: 'the router is restarting its listeners (configuration reload); retry shortly',
  stopping: 'the router is shutting down',
};

interface PendingRequest<T> {
  shard: number;
  resolve(value: T): void;
  reject(error: RouterError): void;
}

export class RouterServer {
  readonly registry = new StationRegistry();
  #config: Config;
  #logger: Logger;
  #supervisor!: ShardSupervisor;
  #txStore!: TransactionIdStore;
  #counters = createSharedCounters();
  #nextReq = 1;
  #calls = new Map<number, PendingRequest<Record<string, unknown>>>();
  #stats = new Map<number, PendingRequest<ShardStats>>();
  #metricRequests = new Map<number, PendingRequest<MetricJson[]>>();
  #metrics: ControlMetrics | null = null;
  #saveTimer: NodeJS.Timeout | null = null;
  /** Live-log clients per shard. */
  #logClients: number[] = [];
  #stopped: Promise<void> | null = null;
  /** The shard-set swap in progress (reload with new listeners), chained. */
  #relistening: Promise<void> = Promise.resolve();
  readonly testHooks: boolean;
  #phase: RouterPhase = 'starting';
  /** Serves HTTP requests the shards forward (API, metrics); set by the API layer. */
  #httpHandler: WebHandler = (request) => errorResponse(404, `no route for ${request.method} ${request.path}`);
  /** Webhook spool and events; null while the webhook is off and no spool exists (opened on demand). */
  #webhook: WebhookControl | null = null;
  #webhookOpening: Promise<WebhookControl> | null = null;

  private constructor(options: RouterServerOptions) {
    this.#config = options.config;
    this.#logger = options.logger;
    this.testHooks = options.testHooks ?? false;
    if (options.http !== undefined) this.#httpHandler = options.http(this);
  }

  get phase(): RouterPhase {
    return this.#phase;
  }

  static async start(options: RouterServerOptions): Promise<RouterServer> {
    const server = new RouterServer(options);
    await server.#start();
    return server;
  }

  get port(): number {
    return this.#supervisor.port;
  }

  get config(): Config {
    return this.#config;
  }

  get shards(): number {
    return this.#supervisor.shards;
  }

  get supervisor(): ShardSupervisor {
    return this.#supervisor;
  }

  async #start(): Promise<void> {
    const config = this.#config;
    this.#txStore = await TransactionIdStore.open(config.dataDir, { log: this.#logger });
    try {
      await this.registry.load(config.dataDir);
    } catch (error) {
      this.#logger.error({ err: error }, 'station registry file unreadable; starting with an empty registry');
    }
    if (WebhookControl.wanted(config)) await this.#webhookOpen();
    await this.#startShards(config);
    this.#saveTimer = setInterval(() => void this.#saveRegistry(), REGISTRY_SAVE_MS);
    this.#saveTimer.unref();
    this.#soapStart(); // OCPP-S presence sweep
    if (this.#phase === 'starting') this.#phase = 'running';
    this.#logger.info({ listen: config.server.listen, port: this.port, shards: this.#supervisor.shards, path: config.ocpp.path, subprotocols: config.ocpp.subprotocols }, `ocpp-router listening on ${config.server.listen}:${this.port}`);
  }

  /** Starts a set of shards with `config` (at start, and when a reload changes what they listen with). */
  async #startShards(config: Config, port = config.server.port): Promise<void> {
    const shards = config.server.workers > 0 ? config.server.workers : availableParallelism();
    const supervisor = new ShardSupervisor({ shards, config, port, counters: this.#counters, logger: this.#logger, testHooks: this.testHooks });
    this.#supervisor = supervisor;
    this.#logClients = [];
    supervisor.on('message', (shard, message) => this.#onShardMessage(shard, message));
    supervisor.on('lost', (shard, code) => this.#onShardLost(shard, code));
    supervisor.on('ready', (shard) => {
      // A restarted shard must know whether to produce live-log entries.
      if (this.#logClients.some((n) => n > 0)) supervisor.send(shard, { t: 'logActive', active: true });
    });
    try {
      await supervisor.start();
    } catch (error) {
      await supervisor.stop('fast', 0);
      throw error;
    }
  }

  #onShardMessage(shard: number, message: ShardToMain): void {
    switch (message.t) {
      case 'connected': {
        const { replaced, stale } = this.registry.connected(message, shard);
        if (stale) {
          // A newer connection of this identity was already reported (from another shard): this one lost.
          this.#supervisor.send(shard, { t: 'replace', identity: message.identity, connId: message.connId });
          this.#logger.info({ identity: message.identity, shard, connId: message.connId }, 'station connected, but a newer connection exists: closing this one');
          return;
        }
        if (replaced !== null && replaced.shard !== shard) {
          // Newest wins, whichever shard holds the old connection (the same shard already closed it).
          this.#supervisor.send(replaced.shard, { t: 'replace', identity: message.identity, connId: replaced.connId });
        }
        this.#logger.info({ identity: message.identity, account: message.account, version: message.version, remote: message.remoteAddress, shard, replaced: replaced !== null }, 'station connected');
        this.#webhook?.event('StationConnected', message, { remoteAddress: message.remoteAddress, replaced: replaced !== null }, message.at); // webhook event
        return;
      }
      case 'disconnected':
        if (this.registry.disconnected(message)) {
          this.#logger.info({ identity: message.identity, code: message.code, reason: message.reason || undefined, shard }, 'station disconnected');
          this.#webhookStationEvent('StationDisconnected', message.identity, { code: message.code, reason: message.reason }, message.at); // webhook event
        }
        return;
      case 'boot':
      case 'status':
        this.#registryEvent(message);
        return;
      case 'registryEvents':
        for (const event of message.events) this.#registryEvent(event);
        return;
      case 'seen':
        this.registry.seen(message.entries);
        return;
      case 'http':
        this.#serveHttp(shard, message.reqId, message.request);
        return;
      case 'logClients': {
        const wasActive = this.#logClients.some((n) => n > 0);
        this.#logClients[shard] = message.count;
        const active = this.#logClients.some((n) => n > 0);
        if (active !== wasActive) this.#supervisor.broadcast({ t: 'logActive', active });
        return;
      }
      case 'log':
        this.#logClients.forEach((count, target) => {
          if (count > 0) this.#supervisor.send(target, message);
        });
        return;
      case 'txBlockRequest':
        this.#txStore.allocateBlock(TX_BLOCK_SIZE).then(
          (block) => this.#supervisor.send(shard, { t: 'txBlock', reqId: message.reqId, start: block.start, end: block.end }),
          (error) => this.#supervisor.send(shard, { t: 'txBlock', reqId: message.reqId, error: RouterError.prototype.toJSON.call(asRouterError(error)) }),
        );
        return;
      case 'callResult': {
        const pending = this.#calls.get(message.reqId);
        if (pending === undefined) return;
        this.#calls.delete(message.reqId);
        if (message.ok) pending.resolve(message.payload);
        else pending.reject(RouterError.fromJSON(message.error));
        return;
      }
      case 'stats': {
        const pending = this.#stats.get(message.reqId);
        this.#stats.delete(message.reqId);
        pending?.resolve(message.stats);
        return;
      }
      case 'metrics': {
        const pending = this.#metricRequests.get(message.reqId);
        this.#metricRequests.delete(message.reqId);
        pending?.resolve(message.metrics);
        return;
      }
      case 'webhookSpool':
        this.#webhookEnqueue(message.entries);
        return;
      // --- OCPP-S (SOAP) stations ---
      case 'soapStation':
        this.registry.soapStation(message);
        this.#logger.debug({ identity: message.identity, version: message.version, callbackUrl: message.callbackUrl, remote: message.remoteAddress, shard }, 'OCPP-S station seen');
        return;
      case 'soapSeen':
        this.registry.soapSeen(message.entries);
        return;
      default:
        return;
    }
  }

  #registryEvent(event: RegistryEvent): void {
    if (event.t === 'boot') this.registry.boot(event.identity, event.connId, event.payload, event.status, event.at);
    else this.registry.status(event.identity, event.connId, event.status);
  }

  /** Installs the handler for HTTP requests that shards forward to the control plane. */
  setHttpHandler(handler: WebHandler): void {
    this.#httpHandler = handler;
  }

  #serveHttp(shard: number, reqId: number, request: Parameters<WebHandler>[0]): void {
    // The shard set that asked (a reload may swap it before the answer is ready).
    const supervisor = this.#supervisor;
    const reply = (response: WebResponse): void => {
      supervisor.send(shard, { t: 'httpReply', reqId, response });
    };
    const phase = this.#phase;
    if (phase !== 'running' && !request.path.startsWith('/health/')) {
      reply(errorResponse(503, PHASE_MESSAGES[phase], { reason: 'NOT_READY', phase }, { 'Retry-After': '1' }));
      return;
    }
    const fail = (error: unknown): void => {
      this.#logger.error({ err: error, path: request.path }, 'HTTP handler failed');
      reply(errorResponse(500, error instanceof Error ? error.message : String(error)));
    };
    try {
      const result = this.#httpHandler(request);
      if (result instanceof Promise) result.then(reply, fail);
      else reply(result);
    } catch (error) {
      fail(error);
    }
  }

  #onShardLost(shard: number, code: number): void {
    const lost = this.#shardGone(shard, 'shard restarted');
    this.#logger.error({ shard, exitCode: code, stations: lost }, 'shard lost; its stations are disconnected and may reconnect at once');
  }

  /** A shard is gone (crashed, or stopped for new listeners): its stations and pending requests. Returns the station count. */
  #shardGone(shard: number, reason: string): number {
    if ((this.#logClients[shard] ?? 0) > 0) {
      this.#logClients[shard] = 0;
      if (!this.#logClients.some((n) => n > 0)) this.#supervisor.broadcast({ t: 'logActive', active: false });
    }
    const lost = this.registry.shardLost(shard, Date.now(), reason);
    const error = new RouterError(ErrorCode.SHARD_UNAVAILABLE, `shard ${shard} stopped before answering`);
    for (const map of [this.#calls, this.#stats, this.#metricRequests] as Map<number, PendingRequest<unknown>>[]) {
      for (const [reqId, pending] of map) {
        if (pending.shard === shard) {
          map.delete(reqId);
          pending.reject(error);
        }
      }
    }
    return lost.length;
  }

  /** Stations, connected or not. */
  stations(): StationRecord[] {
    return [...this.registry.all()];
  }

  station(identity: string): StationRecord | undefined {
    return this.registry.get(identity);
  }

  /**
   * Sends a CALL to a station, whichever shard holds it, and resolves with its CALLRESULT payload.
   * Rejects with STATION_NOT_FOUND, STATION_NOT_CONNECTED, CALL_TIMEOUT, CALL_ERROR, PAYLOAD_INVALID …
   */
  call(identity: string, action: string, payload: Record<string, unknown>, timeoutMs?: number): Promise<Record<string, unknown>> {
    const record = this.registry.get(identity);
    if (record === undefined) return Promise.reject(new RouterError(ErrorCode.STATION_NOT_FOUND, `unknown station ${identity}`));
    if (record.transport === 'soap') return this.#soapCall(record, action, payload, timeoutMs);
    if (!record.connected || record.shard === null) return Promise.reject(new RouterError(ErrorCode.STATION_NOT_CONNECTED, `${identity} is not connected`));
    const reqId = this.#nextReq++;
    const shard = record.shard;
    const answer = new Promise<Record<string, unknown>>((resolve, reject) => {
      this.#calls.set(reqId, { shard, resolve, reject });
      const message = timeoutMs === undefined ? { t: 'call' as const, reqId, identity, action, payload } : { t: 'call' as const, reqId, identity, action, payload, timeoutMs };
      if (!this.#supervisor.send(shard, message)) {
        this.#calls.delete(reqId);
        reject(new RouterError(ErrorCode.SHARD_UNAVAILABLE, `shard ${shard} is restarting`));
      }
    });
    this.#webhookCommandEvent(identity, action, payload, answer);
    return answer;
  }

  /** Counters and connection counts from every shard. */
  async shardStats(): Promise<ShardStats[]> {
    const requests: Promise<ShardStats>[] = [];
    for (let shard = 0; shard < this.#supervisor.shards; shard++) {
      const reqId = this.#nextReq++;
      requests.push(
        new Promise<ShardStats>((resolve, reject) => {
          this.#stats.set(reqId, { shard, resolve, reject });
          if (!this.#supervisor.send(shard, { t: 'stats', reqId })) {
            this.#stats.delete(reqId);
            resolve({ shardId: shard, connections: 0, counters: {}, heap: { used: 0, total: 0, external: 0 } });
          }
        }),
      );
    }
    return Promise.all(requests);
  }

  /** Ready when every shard listens (orchestrators' readiness probe). */
  get ready(): boolean {
    return this.#phase === 'running' && this.#supervisor.allListening;
  }

  /**
   * The Prometheus text exposition over the main thread and every shard (a shard that is restarting is
   * missing from one scrape; its counters restart at 0, which Prometheus' rate() treats as a reset).
   */
  async metricsText(): Promise<{ contentType: string; body: string }> {
    const metrics = (this.#metrics ??= new ControlMetrics({
      stationsKnown: () => this.registry.size,
      shardsReady: () => Array.from({ length: this.#supervisor.shards }, (_, i) => this.#supervisor.isListening(i)).filter(Boolean).length,
      shardRestarts: () => Array.from({ length: this.#supervisor.shards }, (_, i) => this.#supervisor.restarts(i)),
      webhook: () => this.#webhook?.metrics() ?? WebhookControl.idleMetrics(),
      soap: () => this.#soapMetrics.toJson(this.registry.soapConnected()),
    }));
    const shards = await Promise.all(
      Array.from({ length: this.#supervisor.shards }, (_, shard) => {
        const reqId = this.#nextReq++;
        return new Promise<MetricJson[]>((resolve) => {
          // A shard that dies mid-scrape is left out of this scrape rather than failing it.
          this.#metricRequests.set(reqId, { shard, resolve, reject: () => resolve([]) });
          if (!this.#supervisor.send(shard, { t: 'metrics', reqId })) {
            this.#metricRequests.delete(reqId);
            resolve([]);
          }
        });
      }),
    );
    return { contentType: metrics.contentType, body: await metrics.render(shards) };
  }

  /** Sum of a counter over shards. */
  async counter(name: string): Promise<number> {
    return (await this.shardStats()).reduce((sum, s) => sum + (s.counters[name] ?? 0), 0);
  }

  /**
   * Applies a new configuration. Settings the running shards take on the fly are sent to them; a change of
   * what they listen with (address, port, shard count, path, frame limit, ping interval) starts a new set of
   * shards (see #relisten); `dataDir` needs a process restart and is returned.
   */
  reload(config: Config): { needRestart: string[]; relisten: string[]; done: Promise<void> } {
    const old = this.#config;
    const relisten: string[] = [];
    if (config.server.listen !== old.server.listen) relisten.push('server.listen');
    if (config.server.port !== old.server.port) relisten.push('server.port');
    if (config.server.workers !== old.server.workers) relisten.push('server.workers');
    if (config.ocpp.path !== old.ocpp.path) relisten.push('ocpp.path');
    if (config.ocpp.maxFrameBytes !== old.ocpp.maxFrameBytes) relisten.push('ocpp.maxFrameBytes');
    if (config.ocpp.pingIntervalS !== old.ocpp.pingIntervalS) relisten.push('ocpp.pingIntervalS');
    const needRestart = config.dataDir !== old.dataDir ? ['dataDir'] : [];
    this.#config = config;
    this.#logger.level = config.log.level;
    this.#webhookReload(config);
    if (relisten.length === 0) {
      this.#supervisor.updateConfig(config);
      return { needRestart, relisten, done: Promise.resolve() };
    }
    // One shard-set swap at a time; a reload during one waits for it. The API says so from now on.
    if (this.#phase === 'running') this.#phase = 'swapping';
    const done = (this.#relistening = this.#relistening.catch(() => undefined).then(() => this.#relisten(config, old, relisten)));
    return { needRestart, relisten, done };
  }

  /**
   * New listeners: the running shards stop as on TERM (in-flight work finishes, stations are closed with 1001
   * and reconnect), then a new set starts with the new configuration. The API and the stations are unreachable
   * in between (typically well under a second plus the in-flight work). If the new set cannot start (a port in
   * use), the previous listeners come back.
   */
  async #relisten(config: Config, previous: Config, changed: string[]): Promise<void> {
    if (this.#stopped !== null) return;
    const old = this.#supervisor;
    // Port 0 means "any": the new shards keep the port the old ones had, unless the configured port changed.
    const port = config.server.port === 0 && previous.server.port === 0 ? old.port : config.server.port;
    this.#logger.warn({ changed }, 'configuration changes the listeners: restarting the shards');
    if (this.#phase === 'running') this.#phase = 'swapping';
    try {
      await this.#swap(config, previous, old, port);
    } finally {
      if (this.#phase === 'swapping') this.#phase = 'running';
    }
  }

  async #swap(config: Config, previous: Config, old: ShardSupervisor, port: number): Promise<void> {
    await old.stop('graceful', config.server.shutdownTimeoutMs);
    for (let shard = 0; shard < old.shards; shard++) this.#shardGone(shard, 'shards restarted for a configuration reload');
    if (this.#stopped !== null) return;
    // The newest configuration: a reload without listener changes that came in meanwhile is part of it.
    config = this.#config;
    try {
      await this.#startShards(config, port);
      this.#logger.info({ listen: config.server.listen, port: this.port, shards: this.#supervisor.shards, path: config.ocpp.path }, `ocpp-router listening on ${config.server.listen}:${this.port}`);
    } catch (error) {
      this.#logger.error({ err: error }, 'the new listeners cannot start; going back to the previous ones');
      // The shards run the new settings they can take on the fly; only the listener settings go back.
      const back = { ...config, server: { ...config.server, listen: previous.server.listen, port: previous.server.port, workers: previous.server.workers }, ocpp: { ...config.ocpp, path: previous.ocpp.path, maxFrameBytes: previous.ocpp.maxFrameBytes, pingIntervalS: previous.ocpp.pingIntervalS } };
      this.#config = back;
      await this.#startShards(back, previous.server.port === 0 ? old.port : previous.server.port);
    }
  }

  async #saveRegistry(): Promise<void> {
    try {
      await this.registry.save();
    } catch (error) {
      this.#logger.error({ err: error }, 'cannot save the station registry');
    }
  }

  /** Graceful (QUIT/TERM) or fast (INT) stop; idempotent. */
  stop(mode: 'graceful' | 'fast' = 'graceful'): Promise<void> {
    this.#stopped ??= (async () => {
      this.#phase = 'stopping';
      if (this.#saveTimer !== null) clearInterval(this.#saveTimer);
      const deadlineMs = mode === 'graceful' ? this.#config.server.shutdownTimeoutMs : 0;
      this.#logger.info({ mode, deadlineMs }, 'stopping');
      // A shard-set swap in progress finishes first (it starts no new set once it sees the stop).
      await this.#relistening.catch(() => undefined);
      await this.#supervisor.stop(mode, deadlineMs);
      for (const map of [this.#calls, this.#stats, this.#metricRequests] as Map<number, PendingRequest<unknown>>[]) {
        for (const pending of map.values()) pending.reject(new RouterError(ErrorCode.SHUTTING_DOWN, 'server stopped'));
        map.clear();
      }
      for (const record of this.registry.all()) {
        if (record.connected) this.registry.disconnected({ identity: record.identity, connId: record.connId!, code: 1001, reason: 'server stopped', at: Date.now() });
      }
      await this.registry.save(true).catch((error) => this.#logger.error({ err: error }, 'cannot save the station registry'));
      // After the shards: their last spool entries arrived before they stopped.
      await this.#webhookClose();
      await this.#soapClose();
      await this.#txStore.close?.();
      this.#logger.info('stopped');
    })();
    return this.#stopped;
  }

  // --- OCPP-S (SOAP): commands to SOAP stations and their presence (src/soap/, docs/soap.md) ---

  #soapMetrics = new SoapControlMetrics(new Set([...OCPP_VERSIONS.flatMap((v) => actionsFor(v)), ...ACTIONS_15]));
  #soapClient: SoapCommandClient | null = null;
  #soapTimer: NodeJS.Timeout | null = null;

  /** A SOAP station counts as connected while it sent something within two heartbeat intervals + 60 s (≥ 120 s). */
  #soapPresenceMs(): number {
    return Math.max(120, 2 * this.#config.responder.heartbeatIntervalS + 60) * 1000;
  }

  #soapCall(record: StationRecord, action: string, payload: Record<string, unknown>, timeoutMs?: number): Promise<Record<string, unknown>> {
    if (!record.connected) return Promise.reject(new RouterError(ErrorCode.STATION_NOT_CONNECTED, `${record.identity} (OCPP-S) has not been heard from within ${this.#soapPresenceMs() / 1000} s`));
    if (!isSoapVersion(record.version)) return Promise.reject(new RouterError(ErrorCode.INTERNAL, `${record.identity}: OCPP-S station with version ${record.version}`));
    const client = (this.#soapClient ??= this.#soapOpen());
    const answer = client.call({ identity: record.identity, version: record.version, callbackUrl: record.callbackUrl ?? null }, action, payload, timeoutMs);
    this.#webhookCommandEvent(record.identity, action, payload, answer);
    return answer;
  }

  #soapOpen(): SoapCommandClient {
    let base = createValidatorLookup(this.#config.ocpp.quirks);
    let quirks = this.#config.ocpp.quirks;
    let lookup = soapLookup(base);
    return new SoapCommandClient({
      lookup: (version, action) => {
        if (this.#config.ocpp.quirks !== quirks) {
          quirks = this.#config.ocpp.quirks;
          base = createValidatorLookup(quirks);
          lookup = soapLookup(base);
        }
        return lookup(version, action);
      },
      callTimeoutMs: () => this.#config.ocpp.callTimeoutMs,
      outboundQueueMax: () => this.#config.ocpp.outboundQueueMax,
      metrics: this.#soapMetrics,
      log: (identity, direction, messageType, uniqueId, action, payload) => {
        if (!this.#logClients.some((n) => n > 0)) return;
        const line = logLine({ ts: Date.now(), identity, direction, messageType, uniqueId, action, payload });
        if (line === null) return;
        const message = { t: 'log' as const, entries: [line] };
        this.#logClients.forEach((count, target) => {
          if (count > 0) this.#supervisor.send(target, message);
        });
      },
    });
  }

  /** Starts the presence sweep of SOAP stations (called once the shards run). */
  #soapStart(): void {
    this.#soapTimer = setInterval(() => this.registry.soapExpire(Date.now(), this.#soapPresenceMs()), 10_000);
    this.#soapTimer.unref();
  }

  async #soapClose(): Promise<void> {
    if (this.#soapTimer !== null) clearInterval(this.#soapTimer);
    await this.#soapClient?.close();
  }

  // --- webhook spool and events (src/control/webhook-control.ts, docs/webhook.md) ---

  /** The webhook's spool and delivery state (null while it is off and no spool was ever opened). */
  get webhook(): WebhookControl | null {
    return this.#webhook;
  }

  #webhookOpen(): Promise<WebhookControl> {
    this.#webhookOpening ??= WebhookControl.open(this.#config, this.#logger).then(
      (control) => {
        this.#webhook = control;
        return control;
      },
      (error) => {
        this.#webhookOpening = null;
        this.#logger.error({ err: error }, 'cannot open the webhook spool');
        throw error;
      },
    );
    return this.#webhookOpening;
  }

  #webhookEnqueue(entries: SpoolInput[]): void {
    if (this.#webhook !== null) this.#webhook.enqueue(entries);
    else if (this.#stopped === null) this.#webhookOpen().then((control) => control.enqueue(entries), () => undefined);
  }

  #webhookReload(config: Config): void {
    if (this.#webhook !== null) this.#webhook.configure(config);
    else if (webhookActive(config)) void this.#webhookOpen().then((control) => control.configure(this.#config), () => undefined);
  }

  async #webhookClose(): Promise<void> {
    const control = this.#webhookOpening === null ? null : await this.#webhookOpening.catch(() => null);
    await control?.close().catch((error) => this.#logger.error({ err: error }, 'cannot close the webhook spool'));
  }

  #webhookStationEvent(name: WebhookEventName, identity: string, data: Record<string, unknown>, at?: number): void {
    if (this.#webhook === null) return;
    const record = this.registry.get(identity);
    this.#webhook.event(name, { identity, account: record?.account ?? null, version: record?.version ?? null }, data, at);
  }

  /** Posts the station's answer to a command (result, CALLERROR or no answer) as a CommandResult event. */
  #webhookCommandEvent(identity: string, action: string, request: Record<string, unknown>, answer: Promise<Record<string, unknown>>): void {
    const w = this.#config.webhook;
    if (this.#webhook === null || !webhookActive(this.#config) || !w.events.enable) return;
    answer.then(
      (payload) => this.#webhookStationEvent('CommandResult', identity, { action, request, outcome: 'result', payload }),
      (error: RouterError) => {
        const outcome = error.code === ErrorCode.CALL_ERROR ? 'error' : error.code === ErrorCode.CALL_TIMEOUT ? 'timeout' : null;
        // Only what the station did (answered, or not in time); refusals before sending are not events.
        if (outcome !== null) this.#webhookStationEvent('CommandResult', identity, { action, request, outcome, error: error.toJSON() });
      },
    );
  }

  /** Posts an event that belongs to no station shard message (the API's async command results). */
  webhookEvent(name: WebhookEventName, identity: string | null, data: Record<string, unknown>): void {
    if (identity === null) this.#webhook?.event(name, null, data);
    else this.#webhookStationEvent(name, identity, data);
  }
}

function asRouterError(error: unknown): RouterError {
  return error instanceof RouterError ? error : new RouterError(ErrorCode.PERSISTENCE, error instanceof Error ? error.message : String(error));
}
