/**
 * The station directory: which node holds each connected station, in a JetStream KV bucket (identity token →
 * `{node, since, at}`), so that any node can reach any station and the newest connection wins across nodes.
 *
 * Every write is a compare-and-set on the key's last revision, so each write knows exactly which entry it replaced:
 *  - a node that takes a station (connect) writes its entry and tells the node it took it from, which closes its
 *    older connection (4000 "replaced") when that one is older;
 *  - `since` is the KV revision of the connection's first write: the order of connections across the cluster. A
 *    renewal keeps it, so renewing never looks like a new connection;
 *  - a disconnect deletes the entry only if it is still this node's (a newer owner's entry is never removed);
 *  - a lookup ignores the entry of a node that is not alive (no heartbeat within `nodeTtlS`, node-service.ts), so a
 *    dead node's stations are free again within seconds, with no per-station traffic while all is well;
 *  - entries expire `ttlS` after their last write (the bucket's max age, default an hour): a node renews each of its
 *    own every third of it, spread over time (a few per second, not all at once), so the entries of stations that
 *    were on a dead node and never came back do not stay forever.
 * Writes for one station run in order (connect before disconnect); stations run side by side, bounded. While NATS
 * is away nothing is written; when it is back every station this node holds is written again (re-registered).
 */
import { Kvm, type KV } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Config } from '../config/types.js';
import type { LinkLog, NatsLink } from './connection.js';
import { directoryKey } from './subjects.js';

export interface DirectoryEntry {
  node: string;
  /** The OCPP version the station speaks on that node (commands are prepared for it). */
  version: string;
  /** The KV revision of the connection's first write: later is newer, across every node. */
  since: number;
  /** When it was last written (epoch ms). */
  at: number;
}

interface Held {
  /** Our entry's current revision (0: not written yet). */
  revision: number;
  /** When our entry was last written (epoch ms; 0: not yet). */
  writtenAt: number;
  since: number;
  version: string;
}

export interface DirectoryEvents {
  /** A newer connection of `identity` is on `node`: close ours (4000 "replaced"). */
  replaced(identity: string, node: string): void;
  /** Tell `node` that it lost `identity` to a connection with order `since` (it closes an older one). */
  notify(node: string, identity: string, since: number): void;
  /** Whether `node` is alive (its heartbeat within `nodeTtlS`). */
  alive(node: string): Promise<boolean>;
}

/** How often the entries due for renewal are looked for. */
const RENEW_TICK_MS = 1000;

export class Directory {
  #link: NatsLink;
  #config: Config['cluster']['directory'];
  #node: string;
  #log: LinkLog;
  #events: DirectoryEvents;
  #kv: KV | null = null;
  #opening: Promise<KV> | null = null;
  /** The stations this node holds now. */
  #held = new Map<string, Held>();
  /** Per station, the tail of its chain of writes. */
  #chains = new Map<string, Promise<void>>();
  #running = 0;
  #waiting: Array<() => void> = [];
  #renewTimer: ReturnType<typeof setInterval> | null = null;
  readonly stats = { writes: 0, conflicts: 0, failures: 0, replacedHere: 0, replacedThere: 0 };

  constructor(link: NatsLink, config: Config['cluster']['directory'], node: string, log: LinkLog, events: DirectoryEvents) {
    this.#link = link;
    this.#config = config;
    this.#node = node;
    this.#log = log;
    this.#events = events;
    link.onUp((nc) => void this.#reregister(nc));
    link.onDown(() => {
      this.#kv = null;
      this.#opening = null;
    });
    this.#renewTimer = setInterval(() => this.#renewDue(), RENEW_TICK_MS);
    this.#renewTimer.unref();
  }

  get size(): number {
    return this.#held.size;
  }

  async #bucket(): Promise<KV> {
    if (this.#kv !== null) return this.#kv;
    const nc = this.#link.connection;
    if (nc === null) throw new Error('NATS is unreachable');
    this.#opening ??= new Kvm(nc).create(this.#config.bucket, { ttl: this.#config.ttlS * 1000, history: 1 }).then((kv) => (this.#kv = kv));
    return this.#opening.catch((error: unknown) => {
      this.#opening = null;
      throw error;
    });
  }

  /** This node holds `identity` now (a new connection). */
  connected(identity: string, version: string): void {
    this.#held.set(identity, { revision: 0, writtenAt: 0, since: 0, version });
    this.#queue(identity, () => this.#claim(identity, true));
  }

  /** This node no longer holds `identity` (closed, replaced, lost with a shard). */
  disconnected(identity: string): void {
    const held = this.#held.get(identity);
    if (held === undefined) return;
    this.#held.delete(identity);
    this.#queue(identity, async () => {
      if (held.revision === 0) return;
      const kv = await this.#bucket();
      // Only if the entry is still ours: a newer owner's entry stays.
      await kv.delete(directoryKey(identity), { previousSeq: held.revision }).catch(() => undefined);
    });
  }

  /** Another node says it took `identity` with a connection of order `since`: ours goes if it is older. */
  takenBy(identity: string, node: string, since: number): void {
    const held = this.#held.get(identity);
    if (held === undefined || node === this.#node) return;
    // Ours is newer, or not written yet (a new connection, which wins when its write lands).
    if (held.since === 0 || held.since > since) return;
    this.#held.delete(identity);
    this.stats.replacedHere++;
    this.#events.replaced(identity, node);
  }

  /** Who holds `identity`, or null (not connected anywhere, or held by a node that is not alive). */
  async lookup(identity: string): Promise<DirectoryEntry | null> {
    const kv = await this.#bucket();
    const entry = await kv.get(directoryKey(identity));
    if (entry === null || entry.operation !== 'PUT') return null;
    const value = entry.json<DirectoryEntry>();
    // Not renewed within the ttl (the server removes it soon after), or its node is dead.
    if (Date.now() - entry.created.getTime() > this.#config.ttlS * 1000) return null;
    if (!(await this.#events.alive(value.node))) return null;
    return { ...value, since: value.since === 0 ? entry.revision : value.since };
  }

  /**
   * Writes our entry for `identity` over whatever is there (compare-and-set), and settles who keeps the station:
   * a newer connection elsewhere closes ours; an older one elsewhere is told to close.
   */
  async #claim(identity: string, fresh: boolean): Promise<void> {
    const kv = await this.#bucket();
    const key = directoryKey(identity);
    for (let attempt = 0; attempt < 5; attempt++) {
      const held = this.#held.get(identity);
      if (held === undefined) return;
      const current = await kv.get(key);
      let previous: DirectoryEntry | null = null;
      if (current !== null && current.operation === 'PUT') {
        const value = current.json<DirectoryEntry>();
        previous = { ...value, since: value.since === 0 ? current.revision : value.since };
      }
      if (previous !== null && previous.node !== this.#node && !fresh && held.since !== 0 && previous.since > held.since) {
        // A newer connection elsewhere wrote while ours was away (renewal after an outage): ours goes.
        this.takenBy(identity, previous.node, previous.since);
        return;
      }
      const value = JSON.stringify({ node: this.#node, version: held.version, since: held.since, at: Date.now() } satisfies DirectoryEntry);
      try {
        const revision = current === null ? await kv.create(key, value) : await kv.update(key, value, current.revision);
        this.stats.writes++;
        held.revision = revision;
        held.writtenAt = Date.now();
        if (held.since === 0) held.since = revision;
        if (previous !== null && previous.node !== this.#node) {
          this.stats.replacedThere++;
          this.#events.notify(previous.node, identity, held.since);
        }
        return;
      } catch {
        // Someone wrote in between: read again.
        this.stats.conflicts++;
      }
    }
    this.#log.warn({ identity }, 'directory: the entry kept changing; not written (will be renewed)');
  }

  /** Our entry again, keeping its order (renewal, or after NATS came back). */
  async #renew(identity: string): Promise<void> {
    const held = this.#held.get(identity);
    if (held === undefined) return;
    const kv = await this.#bucket();
    const value = JSON.stringify({ node: this.#node, version: held.version, since: held.since, at: Date.now() } satisfies DirectoryEntry);
    try {
      if (held.revision === 0) throw new Error('never written');
      held.revision = await kv.update(directoryKey(identity), value, held.revision);
      held.writtenAt = Date.now();
      this.stats.writes++;
    } catch {
      // Changed (or expired) since our last write: settle it like a new write that keeps its order.
      this.stats.conflicts++;
      await this.#claim(identity, false);
    }
  }

  /**
   * Entries written more than a third of the ttl ago (or never: a write that failed), renewed now; connects are
   * spread over time, so are these.
   */
  #renewDue(): void {
    if (!this.#link.up) return;
    const due = Date.now() - (this.#config.ttlS * 1000) / 3;
    for (const [identity, held] of this.#held) {
      if (held.writtenAt < due && !this.#chains.has(identity)) this.#queue(identity, () => this.#renew(identity));
    }
  }

  #renewAll(): void {
    if (!this.#link.up) return;
    for (const identity of this.#held.keys()) this.#queue(identity, () => this.#renew(identity));
  }

  async #reregister(_nc: NatsConnection): Promise<void> {
    if (this.#held.size > 0) this.#log.info({ stations: this.#held.size }, 'directory: writing this node\'s stations again');
    this.#renewAll();
  }

  /** Runs `work` after the station's earlier writes, at most `renewConcurrency` stations at a time. */
  #queue(identity: string, work: () => Promise<void>): void {
    const previous = this.#chains.get(identity) ?? Promise.resolve();
    const next = previous.then(() => this.#slot(work)).catch((error: unknown) => {
      this.stats.failures++;
      if (this.#link.up) this.#log.warn({ err: error, identity }, 'directory write failed (will be renewed)');
    });
    this.#chains.set(identity, next);
    void next.then(() => {
      if (this.#chains.get(identity) === next) this.#chains.delete(identity);
    });
  }

  async #slot(work: () => Promise<void>): Promise<void> {
    if (this.#running >= this.#config.renewConcurrency) await new Promise<void>((resolve) => this.#waiting.push(resolve));
    this.#running++;
    try {
      await work();
    } finally {
      this.#running--;
      this.#waiting.shift()?.();
    }
  }

  /** Removes this node's entries (graceful stop) and stops renewing. */
  async close(): Promise<void> {
    if (this.#renewTimer !== null) clearInterval(this.#renewTimer);
    for (const identity of [...this.#held.keys()]) this.disconnected(identity);
    await Promise.race([Promise.allSettled([...this.#chains.values()]), new Promise((r) => setTimeout(r, 2000).unref())]);
  }
}
