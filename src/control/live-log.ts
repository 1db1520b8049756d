/**
 * The live log's hub in the control plane: which shards hold log clients, whether any does (shards build log
 * entries only then), and the fan-out of log lines (already serialized by the thread that saw the message) to
 * the shards with clients. Lines of OCPP-S commands, which the control plane sends itself, enter here too.
 */
import { logLine, type LogEntry, type LogLine } from '../ipc/messages.js';
import type { ShardSet } from './shard-set.js';

export class LiveLogHub {
  #shards: () => ShardSet;
  /** Log clients per shard. */
  #clients: number[] = [];

  constructor(shards: () => ShardSet) {
    this.#shards = shards;
  }

  get active(): boolean {
    return this.#clients.some((n) => n > 0);
  }

  /** A shard reports how many log clients it holds. */
  clients(shard: number, count: number): void {
    const was = this.active;
    this.#clients[shard] = count;
    if (this.active !== was) this.#shards().broadcast({ t: 'logActive', active: this.active });
  }

  /** A shard (re)started: it must know whether to produce entries. */
  shardReady(shard: number): void {
    if (this.active) this.#shards().send(shard, { t: 'logActive', active: true });
  }

  /** A shard is gone with its clients. */
  shardGone(shard: number): void {
    if ((this.#clients[shard] ?? 0) > 0) this.clients(shard, 0);
  }

  /** A new shard set: nobody listens yet. */
  reset(): void {
    this.#clients = [];
  }

  /** Lines from a shard, to every shard with clients. */
  lines(entries: LogLine[]): void {
    const message = { t: 'log' as const, entries };
    this.#clients.forEach((count, shard) => {
      if (count > 0) this.#shards().send(shard, message);
    });
  }

  /** An entry produced by the control plane itself. */
  publish(entry: LogEntry): void {
    if (!this.active) return;
    const line = logLine(entry);
    if (line !== null) this.lines([line]);
  }
}
