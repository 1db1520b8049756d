/**
 * Requests between the nodes of a cluster, over NATS request/reply:
 *  - each node answers on `<prefix>.node.<node>.<kind>` (a command for a station it holds, its station list, "you
 *    lost this station") and asks the others the same way;
 *  - long answers (a node's station list) come as chunks ending with an empty message, so no message approaches
 *    NATS's payload limit;
 *  - the operator's commands on `<prefix>.cmd.<identity>.<action>` reach one node of the queue group, which routes
 *    them to the station wherever it is;
 *  - the nodes bucket (KV, max age `nodeTtlS`) says which nodes are alive: each writes its own key every third of
 *    it; `alive(node)` answers from what the last heartbeat read (one KV get for a node it did not see alive), so a
 *    lookup in the directory can ignore a dead node's entries without any per-station renewal.
 * Answers are `{ok: true, value}` or `{ok: false, error: {code, message, details}}` (RouterError across nodes).
 */
import { Kvm, type KV } from '@nats-io/kv';
import { errors, type Msg, type NatsConnection, type Subscription } from '@nats-io/transport-node';
import { ErrorCode, RouterError, serializeError, type SerializedError } from '../protocol/errors.js';
import type { LinkLog, NatsLink } from './connection.js';
import type { Subjects } from './subjects.js';

type Answer = { ok: true; value: unknown } | { ok: false; error: SerializedError };
export type NodeHandler = (body: unknown) => unknown;
export type StreamHandler = (body: unknown) => Iterable<string>;
export type CommandHandler = (identity: string, action: string, payload: unknown) => Promise<unknown>;

export interface NodeInfo {
  node: string;
  startedAt: number;
  at: number;
  /** Stations it holds (when it last wrote). */
  stations: number;
  /** Where its HTTP API listens (port), for operators. */
  port: number;
}

const CHUNK_BYTES = 256 * 1024;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

export class NodeService {
  readonly node: string;
  #link: NatsLink;
  #subjects: Subjects;
  #log: LinkLog;
  #ttlMs: number;
  #handlers = new Map<string, NodeHandler>();
  #streams = new Map<string, StreamHandler>();
  #command: CommandHandler | null = null;
  #subscribed: NatsConnection | null = null;
  #subscriptions: Subscription[] = [];
  #nodes: KV | null = null;
  #info: () => Omit<NodeInfo, 'node' | 'at'>;
  #timer: ReturnType<typeof setInterval>;
  readonly stats = { requestsIn: 0, requestsOut: 0, failuresOut: 0 };
  /** Nodes alive at the last heartbeat (null before the first). */
  aliveNodes: number | null = null;
  /** Per node, when its heartbeat was last written (epoch ms), as last read. */
  #lastSeen = new Map<string, number>();

  constructor(link: NatsLink, subjects: Subjects, node: string, options: { ttlS: number; log: LinkLog; info(): Omit<NodeInfo, 'node' | 'at'> }) {
    this.node = node;
    this.#link = link;
    this.#subjects = subjects;
    this.#log = options.log;
    this.#ttlMs = options.ttlS * 1000;
    this.#info = options.info;
    link.onUp((nc) => {
      this.#subscribe(nc);
      void this.#heartbeat();
    });
    link.onDown(() => (this.#nodes = null));
    this.#timer = setInterval(() => void this.#heartbeat(), this.#ttlMs / 3);
    this.#timer.unref();
  }

  /** Answers `<prefix>.node.<this node>.<kind>` with what `handler` returns (or throws: a RouterError). */
  handle(kind: string, handler: NodeHandler): void {
    this.#handlers.set(kind, handler);
  }

  /** Answers `kind` with the chunks `handler` yields, then an empty message. */
  handleStream(kind: string, handler: StreamHandler): void {
    this.#streams.set(kind, handler);
  }

  /** Serves the operator's commands (`<prefix>.cmd.<identity>.<action>`, one node of the queue group each). */
  handleCommands(handler: CommandHandler): void {
    this.#command = handler;
    // Subscribed already (NATS was up at construction): again, with the command subscription.
    const nc = this.#subscribed;
    this.#subscribed = null;
    if (nc !== null && this.#link.connection === nc) this.#subscribe(nc);
  }

  #subscribe(nc: NatsConnection): void {
    if (this.#subscribed === nc) return;
    for (const sub of this.#subscriptions) sub.unsubscribe();
    this.#subscribed = nc;
    this.#subscriptions = [nc.subscribe(this.#subjects.node(this.node, '*'), { callback: (error, msg) => {
      if (error === null) void this.#serve(msg);
    } })];
    if (this.#command !== null) {
      this.#subscriptions.push(nc.subscribe(this.#subjects.commands, { queue: 'ocpp-router', callback: (error, msg) => {
        if (error === null) void this.#serveCommand(msg);
      } }));
    }
  }

  async #serve(msg: Msg): Promise<void> {
    this.stats.requestsIn++;
    const kind = msg.subject.slice(msg.subject.lastIndexOf('.') + 1);
    let body: unknown;
    try {
      body = msg.data.length === 0 ? null : JSON.parse(decoder.decode(msg.data));
    } catch {
      this.#reply(msg, { ok: false, error: { code: ErrorCode.PAYLOAD_INVALID, message: 'the request is not JSON' } });
      return;
    }
    const stream = this.#streams.get(kind);
    if (stream !== undefined) {
      try {
        let chunk = '';
        for (const part of stream(body)) {
          chunk += chunk === '' ? part : `,${part}`;
          if (chunk.length >= CHUNK_BYTES) {
            msg.respond(encoder.encode(`[${chunk}]`));
            chunk = '';
          }
        }
        if (chunk !== '') msg.respond(encoder.encode(`[${chunk}]`));
      } catch (error) {
        this.#log.error({ err: error, kind }, 'cluster: a node request failed');
      }
      msg.respond(new Uint8Array(0));
      return;
    }
    const handler = this.#handlers.get(kind);
    if (handler === undefined) {
      this.#reply(msg, { ok: false, error: { code: ErrorCode.UNKNOWN_ACTION, message: `no node request ${kind}` } });
      return;
    }
    try {
      this.#reply(msg, { ok: true, value: (await handler(body)) ?? null });
    } catch (error) {
      this.#reply(msg, { ok: false, error: serializeError(error) });
    }
  }

  async #serveCommand(msg: Msg): Promise<void> {
    const parsed = this.#subjects.parseCommand(msg.subject);
    if (parsed === null) return this.#reply(msg, { ok: false, error: { code: ErrorCode.UNKNOWN_ACTION, message: 'not a command subject' } });
    let payload: unknown;
    try {
      payload = msg.data.length === 0 ? {} : JSON.parse(decoder.decode(msg.data));
    } catch {
      return this.#reply(msg, { ok: false, error: { code: ErrorCode.PAYLOAD_INVALID, message: 'the command payload is not JSON' } });
    }
    try {
      this.#reply(msg, { ok: true, value: await this.#command!(parsed.identity, parsed.action, payload) });
    } catch (error) {
      this.#reply(msg, { ok: false, error: serializeError(error) });
    }
  }

  #reply(msg: Msg, answer: Answer): void {
    if (msg.reply === undefined || msg.reply === '') return;
    msg.respond(encoder.encode(JSON.stringify(answer)));
  }

  #connection(): NatsConnection {
    const nc = this.#link.connection;
    if (nc === null) throw new RouterError(ErrorCode.CLUSTER_UNAVAILABLE, 'NATS is unreachable: other nodes cannot be asked now');
    return nc;
  }

  /** Asks `node`; resolves with its value, rejects with its RouterError, NODE_UNAVAILABLE or CLUSTER_UNAVAILABLE. */
  async request(node: string, kind: string, body: unknown, timeoutMs: number): Promise<unknown> {
    const nc = this.#connection();
    this.stats.requestsOut++;
    let msg: Msg;
    try {
      msg = await nc.request(this.#subjects.node(node, kind), encoder.encode(JSON.stringify(body)), { timeout: timeoutMs });
    } catch (error) {
      this.stats.failuresOut++;
      throw this.#requestError(node, error, timeoutMs);
    }
    const answer = JSON.parse(decoder.decode(msg.data)) as Answer;
    if (answer.ok) return answer.value;
    throw RouterError.fromJSON(answer.error);
  }

  /** Asks `node` for a chunked answer; resolves with every item of every chunk. */
  async requestStream(node: string, kind: string, body: unknown, timeoutMs: number): Promise<unknown[]> {
    const nc = this.#connection();
    this.stats.requestsOut++;
    const items: unknown[] = [];
    try {
      const replies = await nc.requestMany(this.#subjects.node(node, kind), encoder.encode(JSON.stringify(body)), { strategy: 'sentinel', maxWait: timeoutMs });
      for await (const msg of replies) {
        if (msg.data.length === 0) break;
        for (const item of JSON.parse(decoder.decode(msg.data)) as unknown[]) items.push(item);
      }
    } catch (error) {
      this.stats.failuresOut++;
      throw this.#requestError(node, error, timeoutMs);
    }
    return items;
  }

  /** Tells `node` something, expecting no answer. */
  tell(node: string, kind: string, body: unknown): void {
    const nc = this.#link.connection;
    if (nc !== null) nc.publish(this.#subjects.node(node, kind), encoder.encode(JSON.stringify(body)));
  }

  #requestError(node: string, error: unknown, timeoutMs: number): RouterError {
    if (error instanceof errors.NoRespondersError || (error as Error)?.cause instanceof errors.NoRespondersError) {
      return new RouterError(ErrorCode.NODE_UNAVAILABLE, `node ${node} does not answer (stopped or unreachable)`, { details: { node } });
    }
    if (error instanceof errors.TimeoutError || (error as Error)?.name === 'TimeoutError') {
      return new RouterError(ErrorCode.NODE_UNAVAILABLE, `node ${node} did not answer within ${timeoutMs} ms`, { details: { node } });
    }
    if (!this.#link.up) return new RouterError(ErrorCode.CLUSTER_UNAVAILABLE, 'NATS is unreachable: other nodes cannot be asked now');
    return new RouterError(ErrorCode.NODE_UNAVAILABLE, `node ${node}: ${(error as Error)?.message ?? String(error)}`, { details: { node } });
  }

  async #bucket(): Promise<KV> {
    if (this.#nodes !== null) return this.#nodes;
    const kv = await new Kvm(this.#connection()).create(`${this.#subjects.prefix.replace(/\./g, '_')}_nodes`, { ttl: this.#ttlMs, history: 1 });
    this.#nodes = kv;
    return kv;
  }

  async #heartbeat(): Promise<void> {
    if (!this.#link.up) return;
    try {
      const info: NodeInfo = { node: this.node, at: Date.now(), ...this.#info() };
      await (await this.#bucket()).put(this.node, JSON.stringify(info));
      const nodes = await this.nodes();
      this.aliveNodes = nodes.length;
      this.#lastSeen = new Map(nodes.map((n) => [n.node, n.at]));
    } catch (error) {
      this.#log.warn({ err: error }, 'cluster: cannot write this node\'s heartbeat');
    }
  }

  /** The nodes alive (their last heartbeat within the ttl), this one included. */
  async nodes(): Promise<NodeInfo[]> {
    const kv = await this.#bucket();
    const out: NodeInfo[] = [];
    for await (const key of await kv.keys()) {
      const entry = await kv.get(key);
      // The key of a node that stopped heartbeating stays until the bucket's max age removes it.
      if (entry === null || entry.operation !== 'PUT' || Date.now() - entry.created.getTime() > this.#ttlMs) continue;
      out.push(entry.json<NodeInfo>());
    }
    return out.sort((a, b) => (a.node < b.node ? -1 : a.node > b.node ? 1 : 0));
  }

  /**
   * Whether `node` wrote its heartbeat within `nodeTtlS`. From the last heartbeat's read when that says so; else one
   * KV get (a node that joined since, or one that may have died): never a false "dead" for a node that just started.
   */
  async alive(node: string): Promise<boolean> {
    if (node === this.node) return true;
    const seen = this.#lastSeen.get(node);
    if (seen !== undefined && Date.now() - seen < this.#ttlMs) return true;
    const entry = await (await this.#bucket()).get(node);
    if (entry === null || entry.operation !== 'PUT') return false;
    const at = entry.created.getTime();
    this.#lastSeen.set(node, at);
    return Date.now() - at < this.#ttlMs;
  }

  /** Leaves the cluster: this node's heartbeat key goes, subscriptions end. */
  async close(): Promise<void> {
    clearInterval(this.#timer);
    for (const sub of this.#subscriptions) sub.unsubscribe();
    this.#subscriptions = [];
    if (this.#link.up) await (await this.#bucket().catch(() => null))?.delete(this.node).catch(() => undefined);
  }
}
