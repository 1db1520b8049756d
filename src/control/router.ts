/**
 * The control plane (main thread, or the control worker: control-thread.ts): starts the store, the shard set and the
 * mTLS front, keeps the station registry, hands out transaction id blocks, reaches any station through its
 * StationChannel, serves the HTTP requests the shards forward (the REST API), reloads configuration and stops
 * everything; `commands.ts` drives it from signals, tests directly. Its parts: shard-set.ts, station-registry.ts and
 * registry-store.ts, channels/, live-log.ts, soap-stations.ts, webhook/, id-tags.ts, transaction-id-store.ts, front-host.ts;
 * ../flex/ (prequalification).
 */
import { warnUnlimitedYoungGeneration } from './control-thread.js';
import { availableParallelism } from 'node:os';
import type { Logger } from 'pino';
import type { Config } from '../config/types.js';
import type { ShardStats } from '../ipc/messages.js';
import type { MetricJson } from '../metrics/metric-json.js';
import { ControlMetrics } from '../metrics/control-metrics.js';
import { RouterError, ErrorCode } from '../protocol/errors.js';
import { createSharedCounters } from '../ipc/shared-counters.js';
import { errorResponse, type WebHandler, type WebRequest, type WebResponse } from '../http/types.js';
import { ShardSet } from './shard-set.js';
import type { ShardSupervisor } from './shard-supervisor.js';
import { StationRegistry, type StationRecord } from './station-registry.js';
import { TransactionIdStore } from './transaction-id-store.js';
import { LiveLogHub } from './live-log.js';
import { SoapStations } from './soap-stations.js';
import { ShardChannel } from './channels/shard-channel.js';
import type { CallOptions, StationChannel } from './channels/station-channel.js';
import { WebhookService } from './webhook/events.js';
import { StoreHost } from '../store/host.js';
import type { StoreClient } from '../store/client.js';
import { RegistryStore } from './registry-store.js';
import { keepCommand } from './command-records.js';
import { IdTagList } from './id-tags.js';
import { StationPresence } from './station-presence.js';
import { onShardNotification } from './shard-notifications.js';
import { ClusterMember, type MemberHost } from './cluster-member.js';
import { clusterMetrics } from '../metrics/cluster-metrics.js';
import type { WebhookControl, WebhookEventName } from './webhook/delivery.js';
import { FrontHost } from './front-host.js';
import type { FlexService } from '../flex/service.js';
import { flexMetrics } from '../flex/metrics.js';
import { listeningOn, LISTENER_SETTINGS, PHASE_MESSAGES, runtimeVersion, type RouterPhase } from './phase.js';

export type { RouterPhase } from './phase.js';

const TX_BLOCK_SIZE = 256;

export interface RouterServerOptions {
  config: Config;
  logger: Logger;
  /** Honour test-only control messages (crash a shard). */
  testHooks?: boolean;
  /** Builds the handler of the HTTP requests shards forward (the REST API); installed before the first shard listens. */
  http?: (server: RouterServer) => WebHandler;
}

export class RouterServer {
  readonly registry = new StationRegistry();
  readonly testHooks: boolean;
  #config: Config;
  #logger: Logger;
  #shards!: ShardSet;
  #txStore!: TransactionIdStore;
  #counters = createSharedCounters();
  #metrics: ControlMetrics | null = null;
  #store: StoreHost | null = null;
  #registryStore: RegistryStore | null = null;
  #idTagList: IdTagList | null = null;
  #cluster: ClusterMember | null = null;
  /** Flexibility prequalification (src/flex/), set at start when `flexibility.enable`; loaded only then (ethers, Helia). */
  flex: FlexService | null = null;
  #stopped: Promise<void> | null = null;
  /** The shard-set swap in progress (reload with new listeners), chained. */
  #relistening: Promise<void> = Promise.resolve();
  /** The built-in mTLS front (tls.front; docs/security.md). */
  readonly #front = new FrontHost();
  #phase: RouterPhase = 'starting';
  /** Serves HTTP requests the shards forward (API, metrics); set by the API layer. */
  #httpHandler: WebHandler = (request) => errorResponse(404, `no route for ${request.method} ${request.path}`);
  readonly #log = new LiveLogHub(() => this.#shards);
  readonly #soap: SoapStations;
  readonly #webhook: WebhookService;
  readonly #presence: StationPresence;

  private constructor(options: RouterServerOptions) {
    this.#config = options.config;
    this.#logger = options.logger;
    this.testHooks = options.testHooks ?? false;
    this.#soap = new SoapStations(() => this.#config, this.registry, this.#log);
    this.#webhook = new WebhookService(() => this.#config, options.logger);
    this.#presence = new StationPresence(options.config, this.#webhook, options.logger);
    if (options.http !== undefined) this.#httpHandler = options.http(this);
  }

  static async start(options: RouterServerOptions): Promise<RouterServer> {
    const server = new RouterServer(options);
    try {
      await server.#start();
    } catch (error) {
      await server.flex?.close().catch(() => undefined);
      await server.#soap.close();
      await server.#presence.close();
      await server.#registryStore?.close().catch(() => undefined);
      await server.#store?.stop().catch(() => undefined);
      throw error;
    }
    return server;
  }

  /** The store (null with `store.engine: "off"`): transactions, meter values, id tags … for the API. */
  get store(): StoreClient | null {
    return this.#store?.client ?? null;
  }

  get phase(): RouterPhase {
    return this.#phase;
  }

  /** The plain listener's port; `ports` has every listener's (docs/security.md), 0 for one that is off. */
  get port(): number {
    return this.#shards.port;
  }

  get ports(): { plain: number; tls: number; front: number } {
    return { plain: this.#shards.port, tls: this.#config.tls.enable ? this.#shards.tlsPort : 0, front: this.#front.port };
  }

  get config(): Config {
    return this.#config;
  }

  get shards(): number {
    return this.#shards.shards;
  }

  get supervisor(): ShardSupervisor {
    return this.#shards.supervisor;
  }

  /** Ready when running and every shard listens (orchestrators' readiness probe). */
  get ready(): boolean {
    return this.#phase === 'running' && this.#shards.allListening;
  }

  async #start(): Promise<void> {
    const config = this.#config;
    this.#txStore = await TransactionIdStore.open(config.dataDir, { log: this.#logger });
    // The store first: the registry comes from it, and every shard gets a port to it.
    this.#store = await StoreHost.start(config);
    if (this.#store !== null) {
      this.#idTagList = new IdTagList(this.#store.client, () => this.#shards);
      this.#registryStore = new RegistryStore(this.registry, this.#store.client, this.#logger);
      await this.#registryStore.start(config.dataDir);
      if (config.flexibility.enable) this.flex = await (await import('../flex/service.js')).FlexService.start({ config, store: this.#store.client, station: (identity) => this.registry.get(identity), logger: this.#logger });
    }
    await this.#webhook.start();
    // Before the shards: in a cluster every transaction id block comes from the cluster's counter.
    if (config.cluster.enable) this.#presence.cluster = this.#cluster = new ClusterMember(config, this.#txStore.highWater, this.#memberHost(), this.#logger);
    await this.#startShards(config);
    await this.#front.start(config, () => ({ config: this.#config, port: this.port }), this.#logger);
    await this.#idTagList?.load();
    if (this.#phase === 'starting') this.#phase = 'running';
    this.#logger.info({ listen: config.server.listen, port: this.port, tlsPort: this.ports.tls, shards: this.#shards.shards, path: config.ocpp.path, subprotocols: config.ocpp.subprotocols, runtime: runtimeVersion() }, `ocpp-router listening on ${listeningOn(config, this.port, this.ports.tls)}`);
    warnUnlimitedYoungGeneration(this.#logger);
  }

  /** Starts a set of shards with `config` (at start, and when a reload changes what they listen with). */
  async #startShards(config: Config, port = config.server.port, tlsPort = config.tls.port): Promise<void> {
    const shards = new ShardSet({
      shards: config.server.workers > 0 ? config.server.workers : availableParallelism(),
      config,
      port,
      tlsPort,
      frontSecret: this.#front.secretFor(this.#config),
      counters: this.#counters,
      logger: this.#logger,
      testHooks: this.testHooks,
      connectStore: () => this.#store?.connect() ?? null,
      handlers: {
        http: (request) => this.#serveHttp(request),
        txBlock: () => (this.#cluster?.transactionIds ?? this.#txStore).allocateBlock(TX_BLOCK_SIZE),
        webhookSpool: (entries) => this.#webhook.enqueue(entries).then(() => null),
      },
    });
    this.#shards = shards;
    this.#log.reset();
    shards.on('message', (shard, message) => onShardNotification({ registry: this.registry, shards, presence: this.#presence, log: this.#log, logger: this.#logger }, shard, message));
    shards.on('lost', (shard, code) => {
      const lost = this.#shardGone(shard, 'shard restarted');
      this.#logger.error({ shard, exitCode: code, stations: lost }, 'shard lost; its stations are disconnected and may reconnect at once');
    });
    shards.on('ready', (shard) => (this.#log.shardReady(shard), this.#idTagList?.sendTo(shard)));
    await shards.start();
  }

  /** Installs the handler for HTTP requests that shards forward to the control plane. */
  setHttpHandler(handler: WebHandler): void {
    this.#httpHandler = handler;
  }

  async #serveHttp(request: WebRequest): Promise<WebResponse> {
    const phase = this.#phase;
    if (phase !== 'running' && !request.path.startsWith('/health/')) {
      return errorResponse(503, PHASE_MESSAGES[phase], { reason: 'NOT_READY', phase }, { 'Retry-After': '1' });
    }
    try {
      return await this.#httpHandler(request);
    } catch (error) {
      this.#logger.error({ err: error, path: request.path }, 'HTTP handler failed');
      return errorResponse(500, error instanceof Error ? error.message : String(error));
    }
  }

  /** A shard is gone (crashed, or stopped for new listeners): its stations. Returns their number. */
  #shardGone(shard: number, reason: string): number {
    this.#log.shardGone(shard);
    const lost = this.registry.shardLost(shard, Date.now(), reason);
    for (const record of lost) this.#presence.disconnected({ identity: record.identity, code: 1006, reason, at: record.disconnectedAt ?? Date.now() }, record, shard, false);
    return lost.length;
  }

  /** Stations, connected or not. */
  stations(): StationRecord[] {
    return [...this.registry.all()];
  }

  station(identity: string): StationRecord | undefined {
    return this.registry.get(identity);
  }

  /** The channel that reaches a station now, or why there is none (STATION_NOT_FOUND, STATION_NOT_CONNECTED). */
  channel(identity: string): StationChannel | RouterError {
    const record = this.registry.get(identity);
    if (record === undefined) return new RouterError(ErrorCode.STATION_NOT_FOUND, `unknown station ${identity}`);
    if (record.transport === 'soap') return this.#soap.channel(record);
    if (!record.connected || record.shard === null) return new RouterError(ErrorCode.STATION_NOT_CONNECTED, `${identity} is not connected`);
    return new ShardChannel({ callOnShard: (shard, request) => this.#shards.request(shard, 'call', request) }, identity, record.version, record.shard);
  }

  /**
   * A CALL to a station, however it is reached: its CALLRESULT payload, or STATION_NOT_FOUND, STATION_NOT_CONNECTED,
   * CALL_TIMEOUT, CALL_ERROR, PAYLOAD_INVALID … The answer is a webhook CommandResult event when events are on.
   */
  call(identity: string, action: string, payload: Record<string, unknown>, options?: number | CallOptions): Promise<Record<string, unknown>> {
    const opts = typeof options === 'number' ? { timeoutMs: options } : options;
    const channel = this.channel(identity);
    // Not held here: in a cluster, the node that holds it.
    if (channel instanceof RouterError && this.#cluster === null) return Promise.reject(channel);
    const answer = channel instanceof RouterError ? this.#cluster!.channel(identity).then((c) => (c instanceof RouterError ? Promise.reject(c) : c.call(action, payload, opts))) : channel.call(action, payload, opts);
    const record = this.registry.get(identity);
    this.#webhook.commandResult({ identity, account: record?.account ?? null, version: record?.version ?? null }, action, payload, answer);
    // Kept: the command, what came of it, and the reservations it made or cancelled.
    const store = this.#store?.client;
    if (store !== undefined) keepCommand(store, identity, action, payload, answer, (error) => this.#logger.warn({ err: error, identity, action }, 'cannot keep a command in the store'));
    return answer;
  }

  /** What the cluster member asks of this node: its stations, a CALL to one it holds, closing a replaced one. */
  #memberHost(): MemberHost {
    return {
      records: () => this.registry.all(),
      callLocal: (identity, action, payload, options) => {
        const channel = this.channel(identity);
        return channel instanceof RouterError ? Promise.reject(channel) : channel.call(action, payload, options);
      },
      call: (identity, action, payload, options) => this.call(identity, action, payload, options),
      closeReplaced: (identity) => {
        const record = this.registry.get(identity);
        if (record?.connected === true && record.shard !== null) this.#shards.send(record.shard, { t: 'replace', identity, connId: record.connId! });
      },
      port: () => this.port,
    };
  }

  /** This node's membership of the cluster (null unless `cluster.enable`). */
  get cluster(): ClusterMember | null {
    return this.#cluster;
  }

  /** Counters and connection counts from every shard (zeros for a shard that is restarting). */
  shardStats(): Promise<ShardStats[]> {
    const none = (shard: number): ShardStats => ({ shardId: shard, connections: 0, counters: {}, heap: { used: 0, total: 0, external: 0 } });
    return Promise.all(Array.from({ length: this.#shards.shards }, (_, shard) => this.#shards.request(shard, 'stats', null).catch(() => none(shard))));
  }

  /** Prometheus text over the main thread and every shard (a restarting shard's counters restart at 0: a reset for rate()). */
  async metricsText(): Promise<{ contentType: string; body: string }> {
    const metrics = (this.#metrics ??= new ControlMetrics({
      stationsKnown: () => this.registry.size,
      shardsReady: () => Array.from({ length: this.#shards.shards }, (_, i) => this.#shards.isListening(i)).filter(Boolean).length,
      shardRestarts: () => Array.from({ length: this.#shards.shards }, (_, i) => this.#shards.restarts(i)),
      webhook: () => this.#webhook.metrics(),
      soap: () => this.#soap.metricsJson(),
      store: () => this.#store?.metrics() ?? Promise.resolve([]),
      cluster: () => this.#cluster?.metrics() ?? clusterMetrics(null),
      flex: () => this.flex?.metrics() ?? flexMetrics(null),
      // The REST API (src/api/index.ts) counts its refusals.
      api: () => (this.#httpHandler as WebHandler & { metricsJson?: () => MetricJson[] }).metricsJson?.() ?? [],
    }));
    const shards = await Promise.all(Array.from({ length: this.#shards.shards }, (_, shard) => this.#shards.request(shard, 'metrics', null).catch((): MetricJson[] => [])));
    return { contentType: metrics.contentType, body: await metrics.render(shards) };
  }

  /** Sum of a counter over shards. */
  async counter(name: string): Promise<number> {
    return (await this.shardStats()).reduce((sum, s) => sum + (s.counters[name] ?? 0), 0);
  }

  /**
   * Applies a new configuration. Settings the running shards take on the fly are sent to them; a change of what they
   * listen with (address, port, shard count, path, frame limit, ping interval) starts a new set of shards (see
   * #relisten); `dataDir` needs a process restart and is returned.
   */
  reload(config: Config): { needRestart: string[]; relisten: string[]; done: Promise<void> } {
    const old = this.#config;
    const relisten = LISTENER_SETTINGS.filter(([, get]) => get(config) !== get(old)).map(([name]) => name);
    const needRestart = [...(config.dataDir !== old.dataDir ? ['dataDir'] : []), ...(JSON.stringify(config.cluster) !== JSON.stringify(old.cluster) ? ['cluster'] : []), ...(JSON.stringify(config.tls.front) !== JSON.stringify(old.tls.front) ? ['tls.front'] : []), ...(JSON.stringify(config.flexibility) !== JSON.stringify(old.flexibility) ? ['flexibility'] : [])];
    this.#front.reload(config);
    this.#config = config;
    this.#logger.level = config.log.level;
    this.#webhook.reload(config);
    this.#presence.reload(config);
    if (relisten.length === 0) {
      this.#shards.updateConfig(config);
      return { needRestart, relisten, done: Promise.resolve() };
    }
    // One shard-set swap at a time; a reload during one waits for it. The API says so from now on.
    if (this.#phase === 'running') this.#phase = 'swapping';
    const done = (this.#relistening = this.#relistening.catch(() => undefined).then(() => this.#relisten(config, old, relisten)));
    return { needRestart, relisten, done };
  }

  /**
   * New listeners: the running shards stop as on TERM (in-flight work finishes, stations are closed with 1001 and
   * reconnect), then a new set starts with the new configuration. The API and the stations are unreachable in between
   * (typically well under a second plus the in-flight work); if the new set cannot start, the previous ones come back.
   */
  async #relisten(config: Config, previous: Config, changed: string[]): Promise<void> {
    if (this.#stopped !== null) return;
    const old = this.#shards;
    // Port 0 means "any": the new shards keep the port the old ones had, unless the configured port changed.
    const port = config.server.port === 0 && previous.server.port === 0 ? old.port : config.server.port;
    const tlsPort = config.tls.port === 0 && previous.tls.port === 0 ? old.tlsPort : config.tls.port;
    this.#logger.warn({ changed }, 'configuration changes the listeners: restarting the shards');
    if (this.#phase === 'running') this.#phase = 'swapping';
    try {
      await old.stop('graceful', config.server.shutdownTimeoutMs, new RouterError(ErrorCode.SHARD_UNAVAILABLE, 'shards restarted for a configuration reload'));
      for (let shard = 0; shard < old.shards; shard++) this.#shardGone(shard, 'shards restarted for a configuration reload');
      if (this.#stopped !== null) return;
      // The newest configuration: a reload without listener changes that came in meanwhile is part of it.
      const current = this.#config;
      try {
        await this.#startShards(current, port, tlsPort);
        this.#logger.info({ listen: current.server.listen, port: this.port, tlsPort: this.ports.tls, shards: this.#shards.shards, path: current.ocpp.path }, `ocpp-router listening on ${listeningOn(current, this.port, this.ports.tls)}`);
      } catch (error) {
        this.#logger.error({ err: error }, 'the new listeners cannot start; going back to the previous ones');
        // The shards run the new settings they can take on the fly; only the listener settings go back.
        const back = { ...current, tls: previous.tls, server: { ...current.server, listen: previous.server.listen, port: previous.server.port, plain: previous.server.plain, workers: previous.server.workers }, ocpp: { ...current.ocpp, path: previous.ocpp.path, maxFrameBytes: previous.ocpp.maxFrameBytes, pingIntervalS: previous.ocpp.pingIntervalS } };
        this.#config = back;
        await this.#startShards(back, previous.server.port === 0 ? old.port : previous.server.port, previous.tls.port === 0 ? old.tlsPort : previous.tls.port);
      }
    } finally {
      if (this.#phase === 'swapping') this.#phase = 'running';
    }
  }

  /** Graceful (QUIT/TERM) or fast (INT) stop; idempotent. */
  stop(mode: 'graceful' | 'fast' = 'graceful'): Promise<void> {
    this.#stopped ??= (async () => {
      this.#phase = 'stopping';
      const deadlineMs = mode === 'graceful' ? this.#config.server.shutdownTimeoutMs : 0;
      this.#logger.info({ mode, deadlineMs }, 'stopping');
      // A shard-set swap in progress finishes first (it starts no new set once it sees the stop).
      await this.#relistening.catch(() => undefined);
      this.#front.stopAccepting();
      await this.#shards.stop(mode, deadlineMs);
      await this.#front.close();
      for (const record of this.registry.all()) {
        if (!record.connected) continue;
        const closed = { identity: record.identity, connId: record.connId!, code: 1001, reason: 'server stopped', at: Date.now() };
        this.registry.disconnected(closed);
        this.#presence.disconnected(closed, record, null, false);
      }
      await this.#presence.close();
      await this.#cluster?.close();
      await this.flex?.close();
      await this.#registryStore?.close();
      // After the shards: their last spool entries arrived before they stopped.
      await this.#webhook.close();
      await this.#soap.close();
      await this.#txStore.close?.();
      // Last: everything above may still write to it.
      await this.#store?.stop();
      this.#logger.info('stopped');
    })();
    return this.#stopped;
  }

  /** The operator's id-tag list (null with the store off). */
  get idTags(): IdTagList | null {
    return this.#idTagList;
  }

  /** Removes a station that is gone (the API refuses a connected one): from the registry and the store. */
  async removeStation(identity: string): Promise<void> {
    if (this.registry.remove(identity)) await this.#registryStore?.flush(false);
  }

  /** The webhook's spool and delivery state (null while it is off and no spool was ever opened). */
  get webhook(): WebhookControl | null {
    return this.#webhook.control;
  }

  /** Posts an event about a station (or about none: the API's async command results). */
  webhookEvent(name: WebhookEventName, identity: string | null, data: Record<string, unknown>, at?: number): void {
    const record = identity === null ? undefined : this.registry.get(identity);
    this.#webhook.event(name, identity === null ? null : { identity, account: record?.account ?? null, version: record?.version ?? null }, data, at);
  }
}
