/**
 * One set of shard threads as the control plane sees it: the supervisor (start, restart with backoff, stop) and
 * a request port per shard slot (src/ipc/port.ts). Notifications from the shards come out as `message` events;
 * requests from the shards (HTTP, transaction id blocks) go to the handlers given at construction. A reload that
 * changes the listeners replaces the whole set (src/control/router.ts).
 */
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import type { Config } from '../config/types.js';
import { ErrorCode, RouterError } from '../protocol/errors.js';
import { RequestPort, type Handlers } from '../ipc/port.js';
import type { ControlRequests, MainToShard, ShardRequests, ShardToMain } from '../ipc/messages.js';
import { ShardSupervisor } from './shard-supervisor.js';

/** A notification from a shard (the port's envelopes are handled inside). */
export type ShardNotification = Exclude<ShardToMain, { t: 'req' } | { t: 'res' } | { t: 'listening' }>;

export interface ShardSetEvents {
  message: [shard: number, message: ShardNotification];
  /** A shard died (not during stop): its stations are gone, its requests failed. */
  lost: [shard: number, exitCode: number];
  /** A shard listens (first start or restart). */
  ready: [shard: number];
}

export interface ShardSetOptions {
  shards: number;
  config: Config;
  port: number;
  /** The TLS listener's port (0: pick one; ignored when tls is off). */
  tlsPort: number;
  /** The built-in mTLS front's per-process secret (null: no front). */
  frontSecret: string | null;
  counters: SharedArrayBuffer;
  logger: Logger;
  testHooks: boolean;
  /** A port to the store thread for a shard being started (null: the store is off). */
  connectStore?: () => import('node:worker_threads').MessagePort | null;
  /** Answers the shards' requests. */
  handlers: Handlers<ControlRequests>;
}

export class ShardSet extends EventEmitter<ShardSetEvents> {
  readonly supervisor: ShardSupervisor;
  #ports: Array<RequestPort<ShardRequests, ControlRequests>>;

  constructor(options: ShardSetOptions) {
    super();
    const supervisor = new ShardSupervisor({ shards: options.shards, config: options.config, port: options.port, tlsPort: options.tlsPort, frontSecret: options.frontSecret, counters: options.counters, logger: options.logger, testHooks: options.testHooks, ...(options.connectStore === undefined ? {} : { connectStore: options.connectStore }) });
    this.supervisor = supervisor;
    this.#ports = Array.from(
      { length: options.shards },
      (_, shard) =>
        new RequestPort<ShardRequests, ControlRequests>({
          post: (message) => supervisor.send(shard, message),
          handlers: options.handlers,
          unavailable: () => new RouterError(ErrorCode.SHARD_UNAVAILABLE, `shard ${shard} is restarting`),
        }),
    );
    supervisor.on('message', (shard, message) => {
      if (this.#ports[shard]!.receive(message)) return;
      this.emit('message', shard, message as ShardNotification);
    });
    supervisor.on('lost', (shard, code) => {
      this.#ports[shard]!.close(new RouterError(ErrorCode.SHARD_UNAVAILABLE, `shard ${shard} stopped before answering`));
      this.emit('lost', shard, code);
    });
    supervisor.on('ready', (shard) => this.emit('ready', shard));
  }

  get shards(): number {
    return this.supervisor.shards;
  }

  get port(): number {
    return this.supervisor.port;
  }

  get tlsPort(): number {
    return this.supervisor.tlsPort;
  }

  async start(): Promise<void> {
    try {
      await this.supervisor.start();
    } catch (error) {
      await this.stop('fast', 0);
      throw error;
    }
  }

  /** Asks shard `shard`; rejects with SHARD_UNAVAILABLE when it is not running or dies first. */
  request<K extends keyof ShardRequests & string>(shard: number, kind: K, body: ShardRequests[K][0]): Promise<ShardRequests[K][1]> {
    const port = this.#ports[shard];
    if (port === undefined) return Promise.reject(new RouterError(ErrorCode.SHARD_UNAVAILABLE, `no shard ${shard}`));
    return port.request(kind, body);
  }

  send(shard: number, message: MainToShard): boolean {
    return this.supervisor.send(shard, message);
  }

  broadcast(message: MainToShard): void {
    this.supervisor.broadcast(message);
  }

  isListening(shard: number): boolean {
    return this.supervisor.isListening(shard);
  }

  get allListening(): boolean {
    return this.supervisor.allListening;
  }

  restarts(shard: number): number {
    return this.supervisor.restarts(shard);
  }

  updateConfig(config: Config): void {
    this.supervisor.updateConfig(config);
  }

  /** Stops every shard; requests still waiting fail with `error` (default SHUTTING_DOWN). */
  async stop(mode: 'graceful' | 'fast', deadlineMs: number, error = new RouterError(ErrorCode.SHUTTING_DOWN, 'server stopped')): Promise<void> {
    await this.supervisor.stop(mode, deadlineMs);
    for (const port of this.#ports) port.close(error);
  }
}
