/**
 * The operator's id-tag list: kept in the store (`id_tags`, listed), handed to every shard's responder at start,
 * to a shard that restarts, and to all after each change, so Authorize and transactions answer the listed status.
 */
import type { IdTagEntry } from '../ipc/messages.js';
import type { StoreClient } from '../store/client.js';
import type { ShardSet } from './shard-set.js';

export class IdTagList {
  #store: StoreClient;
  #shards: () => ShardSet;
  #tags: IdTagEntry[] = [];

  constructor(store: StoreClient, shards: () => ShardSet) {
    this.#store = store;
    this.#shards = shards;
  }

  /** Reads the listed tags and hands them to every shard. */
  async load(): Promise<void> {
    const tags = await this.#store.query('idTags', { listedOnly: true });
    this.#tags = tags.map((t) => [t.idTag, t.status ?? 'Invalid', t.expiry]);
    this.#shards().broadcast({ t: 'idTags', tags: this.#tags });
  }

  /** A shard that (re)started gets the list. */
  sendTo(shard: number): void {
    if (this.#tags.length > 0) this.#shards().send(shard, { t: 'idTags', tags: this.#tags });
  }

  async put(tag: { idTag: string; status: string; expiry: number | null; parentIdTag: string | null; note: string | null }): Promise<void> {
    await this.#store.write([{ k: 'idTagPut', ...tag, at: Date.now() }]);
    await this.load();
  }

  async remove(idTag: string): Promise<void> {
    await this.#store.write([{ k: 'idTagDelete', idTag }]);
    await this.load();
  }
}
