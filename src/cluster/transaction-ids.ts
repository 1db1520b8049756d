/**
 * Transaction ids unique across the nodes of a cluster: one counter in a JetStream KV bucket (`<prefix>_cluster`,
 * key `transaction-ids`), advanced by compare-and-set a block at a time, so no two nodes ever hand out the same id.
 * The counter starts above the highest id any node handed out before it joined (its local high-water mark), and
 * wraps at 2^31 − 1 like the single-node store. While NATS is away no block can be taken: the shards use the ids
 * they hold (each keeps the next block in reserve) and then answer StartTransaction with InternalError rather than
 * invent an id that may collide.
 */
import { Kvm, type KV } from '@nats-io/kv';
import { ErrorCode, RouterError } from '../protocol/errors.js';
import type { NatsLink } from './connection.js';

const KEY = 'transaction-ids';
/** Largest transaction id: 1.6 transactionId fits a signed 32-bit integer. */
const MAX_ID = 2 ** 31 - 1;

interface Counter {
  highWater: number;
  wraps: number;
}

export class ClusterTransactionIds {
  #link: NatsLink;
  #bucketName: string;
  #localHighWater: number;
  #kv: KV | null = null;
  #tail: Promise<unknown> = Promise.resolve();

  constructor(link: NatsLink, prefix: string, localHighWater: number) {
    this.#link = link;
    this.#bucketName = `${prefix.replace(/\./g, '_')}_cluster`;
    this.#localHighWater = localHighWater;
    link.onDown(() => (this.#kv = null));
  }

  async #bucket(): Promise<KV> {
    if (this.#kv !== null) return this.#kv;
    const nc = this.#link.connection;
    if (nc === null) throw new RouterError(ErrorCode.CLUSTER_UNAVAILABLE, 'NATS is unreachable: no transaction id block can be taken from the cluster now');
    this.#kv = await new Kvm(nc).create(this.#bucketName, { history: 1 });
    return this.#kv;
  }

  /** Ids `start`..`end` (both included) that no other node will ever hand out. Calls are serialized. */
  allocateBlock(size: number): Promise<{ start: number; end: number }> {
    const result = this.#tail.then(() => this.#allocate(size));
    this.#tail = result.catch(() => undefined);
    return result;
  }

  async #allocate(size: number): Promise<{ start: number; end: number }> {
    const kv = await this.#bucket();
    for (let attempt = 0; attempt < 50; attempt++) {
      const entry = await kv.get(KEY);
      const current: Counter = entry === null || entry.operation !== 'PUT' ? { highWater: this.#localHighWater, wraps: 0 } : entry.json<Counter>();
      // A node that joins with a higher local mark (ids handed out before it joined) lifts the counter above it.
      let start = Math.max(current.highWater, entry === null ? 0 : this.#localHighWater) + 1;
      let wraps = current.wraps;
      if (start > MAX_ID) {
        start = 1;
        wraps++;
      }
      const end = Math.min(start - 1 + size, MAX_ID);
      const next = JSON.stringify({ highWater: end, wraps } satisfies Counter);
      try {
        if (entry === null) await kv.create(KEY, next);
        else await kv.update(KEY, next, entry.revision);
        this.#localHighWater = 0;
        return { start, end };
      } catch {
        // Another node took a block in between: read again.
        await new Promise((r) => setTimeout(r, Math.random() * 5 * (attempt + 1)));
      }
    }
    throw new RouterError(ErrorCode.CLUSTER_UNAVAILABLE, 'could not take a transaction id block: the counter kept changing');
  }
}
