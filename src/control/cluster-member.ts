/**
 * This node's membership of the cluster (`cluster.enable`), as the control plane uses it: the directory learns of
 * every connect and disconnect of this node's stations; a command for a station held by another node goes there
 * (NodeChannel, one NATS request; the holding node's session keeps the one-in-flight discipline); the other nodes'
 * station lists are gathered for the API; transaction ids come from the cluster's counter. While NATS is away this
 * node serves its own stations and says so (health, metrics); cross-node commands answer 503.
 */
import type { Logger } from 'pino';
import type { Config } from '../config/types.js';
import { ErrorCode, RouterError } from '../protocol/errors.js';
import type { StationVersion } from '../protocol/versions.js';
import type { StationRow } from '../store/records.js';
import { NatsLink } from '../cluster/connection.js';
import { Directory, type DirectoryEntry } from '../cluster/directory.js';
import { NodeService, type NodeInfo } from '../cluster/node-service.js';
import { Subjects } from '../cluster/subjects.js';
import { nodeIdOf } from '../cluster/node-id.js';
import { ClusterTransactionIds } from '../cluster/transaction-ids.js';
import { clusterMetrics } from '../metrics/cluster-metrics.js';
import type { MetricJson } from '../metrics/metric-json.js';
import type { CallOptions, Payload, StationChannel } from './channels/station-channel.js';
import { NodeChannel, type NodeCall } from './channels/node-channel.js';
import { toRow, type StationRecord } from './station-registry.js';

/** What the member needs of the router. */
export interface MemberHost {
  /** Every station this node knows (for the other nodes' lists). */
  records(): Iterable<StationRecord>;
  /** A CALL to a station this node holds (no cluster lookup: that is the asking node's job). */
  callLocal(identity: string, action: string, payload: Payload, options: CallOptions): Promise<Payload>;
  /** A CALL to a station anywhere (the operator's `<prefix>.cmd.…`). */
  call(identity: string, action: string, payload: Payload, options: CallOptions): Promise<Payload>;
  /** Closes this node's connection of `identity` (a newer one is on another node). */
  closeReplaced(identity: string): void;
  port(): number;
}

/** A station as the cluster-wide lists show it: the store row, the shard on its node, and the node. */
export type ClusterStation = StationRow & { shard: number | null; node: string };

const LIST_CACHE_MS = 2000;

export class ClusterMember {
  readonly node: string;
  readonly link: NatsLink;
  readonly directory: Directory;
  readonly service: NodeService;
  readonly transactionIds: ClusterTransactionIds;
  #config: Config;
  #host: MemberHost;
  #startedAt = Date.now();
  #remote: { at: number; value: Promise<{ stations: ClusterStation[]; partial: string[] }> } | null = null;

  constructor(config: Config, localHighWater: number, host: MemberHost, logger: Logger) {
    this.#config = config;
    this.#host = host;
    this.node = nodeIdOf(config, config.server.port);
    const c = config.cluster;
    const log = logger.child({ cluster: this.node });
    const subjects = new Subjects(c.subjectPrefix);
    this.link = new NatsLink(c.nats, `ocpp-router ${this.node}`, log);
    this.service = new NodeService(this.link, subjects, this.node, { ttlS: c.nodeTtlS, log, info: () => ({ startedAt: this.#startedAt, stations: this.directory.size, port: host.port() }) });
    this.directory = new Directory(this.link, c.directory, this.node, log, {
      replaced: (identity) => host.closeReplaced(identity),
      notify: (node, identity, since) => this.service.tell(node, 'replaced', { identity, node: this.node, since }),
      alive: (node) => this.service.alive(node),
    });
    this.transactionIds = new ClusterTransactionIds(this.link, c.subjectPrefix, localHighWater);
    this.service.handle('call', (body) => {
      const b = body as { identity: string; action: string; payload: Payload; timeoutMs?: number; validated?: boolean };
      return host.callLocal(b.identity, b.action, b.payload, { ...(b.timeoutMs !== undefined ? { timeoutMs: b.timeoutMs } : {}), validated: b.validated === true });
    });
    this.service.handle('replaced', (body) => {
      const b = body as { identity: string; node: string; since: number };
      this.directory.takenBy(b.identity, b.node, b.since);
      return null;
    });
    this.service.handleStream('stations', () => this.#localStations());
    if (c.commands) {
      this.service.handleCommands((identity, action, payload) => host.call(identity, action, (payload ?? {}) as Payload, {}));
    }
  }

  *#localStations(): Iterable<string> {
    for (const record of this.#host.records()) yield JSON.stringify({ ...toRow(record), shard: record.shard, node: this.node } satisfies ClusterStation);
  }

  connected(identity: string, version: StationVersion): void {
    this.directory.connected(identity, version);
  }

  disconnected(identity: string): void {
    this.directory.disconnected(identity);
  }

  /** Where `identity` is connected in the cluster (CLUSTER_UNAVAILABLE while NATS is away). */
  async locate(identity: string): Promise<DirectoryEntry | null> {
    if (!this.link.up) throw new RouterError(ErrorCode.CLUSTER_UNAVAILABLE, 'NATS is unreachable: stations on other nodes cannot be reached now');
    return this.directory.lookup(identity);
  }

  /** The channel to `identity` on another node, or why there is none. */
  async channel(identity: string): Promise<StationChannel | RouterError> {
    const entry = await this.locate(identity).catch((error: unknown) => (error instanceof RouterError ? error : new RouterError(ErrorCode.CLUSTER_UNAVAILABLE, String(error))));
    if (entry instanceof RouterError) return entry;
    if (entry === null) return new RouterError(ErrorCode.STATION_NOT_CONNECTED, `${identity} is not connected to any node`);
    const margin = 2000;
    const send: NodeCall = (body) => this.service.request(entry.node, 'call', body, (body.timeoutMs ?? this.#config.ocpp.callTimeoutMs) + margin) as Promise<Payload>;
    return new NodeChannel(send, identity, entry.version as StationVersion, entry.node);
  }

  /** The other nodes' stations (cached for 2 s); `partial` names the nodes that did not answer. */
  remoteStations(): Promise<{ stations: ClusterStation[]; partial: string[] }> {
    const now = Date.now();
    if (this.#remote !== null && now - this.#remote.at < LIST_CACHE_MS) return this.#remote.value;
    const value = this.#gather();
    this.#remote = { at: now, value };
    value.catch(() => (this.#remote = null));
    return value;
  }

  async #gather(): Promise<{ stations: ClusterStation[]; partial: string[] }> {
    if (!this.link.up) return { stations: [], partial: ['(NATS unreachable)'] };
    const nodes = (await this.service.nodes()).filter((n) => n.node !== this.node);
    const partial: string[] = [];
    const lists = await Promise.all(
      nodes.map((n) =>
        this.service.requestStream(n.node, 'stations', null, this.#config.cluster.requestTimeoutMs).catch(() => {
          partial.push(n.node);
          return [];
        }),
      ),
    );
    return { stations: lists.flat() as ClusterStation[], partial };
  }

  /** What /health/ready says (no request to NATS: a probe must not wait for it). */
  health(): { node: string; nats: 'up' | 'down'; server: string | null; lastError: string | null; stations: number } {
    return { node: this.node, nats: this.link.up ? 'up' : 'down', server: this.link.server, lastError: this.link.lastError, stations: this.directory.size };
  }

  /** What /api/v1/cluster says: this node, NATS, and the nodes alive. */
  async status(): Promise<{ node: string; nats: 'up' | 'down'; server: string | null; lastError: string | null; stations: number; nodes: NodeInfo[] | null }> {
    const nodes = this.link.up ? await this.service.nodes().catch(() => null) : null;
    return { ...this.health(), nodes };
  }

  metrics(): MetricJson[] {
    return clusterMetrics({ node: this.node, natsUp: this.link.up, stations: this.directory.size, nodes: this.service.aliveNodes, directory: this.directory.stats, requests: this.service.stats });
  }

  async close(): Promise<void> {
    await this.directory.close();
    await this.service.close();
    await this.link.close();
  }
}
