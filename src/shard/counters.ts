/**
 * Plain per-shard event counters (bad frames by kind, refusals by reason, …): one Map increment per
 * event. The control plane sums them over shards; the metrics layer reads the same snapshot.
 */
export class ShardCounters {
  #values = new Map<string, number>();

  inc(name: string, by = 1): void {
    this.#values.set(name, (this.#values.get(name) ?? 0) + by);
  }

  get(name: string): number {
    return this.#values.get(name) ?? 0;
  }

  snapshot(): Record<string, number> {
    return Object.fromEntries(this.#values);
  }
}
