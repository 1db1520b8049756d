/**
 * Starts the shard threads and keeps them running: a shard that dies is restarted with exponential
 * backoff (reset after it stays up for a while); the others are not disturbed.
 */
import { Worker, type MessagePort } from 'node:worker_threads';
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import type { Config } from '../config/types.js';
import type { MainToShard, ShardInit, ShardToMain } from '../ipc/messages.js';
import { backoffMs } from '../protocol/backoff.js';
import { unsupportedSettings } from '../transport/runtime.js';

const WORKER_FILE = new URL('../shard/worker.js', import.meta.url);
const BACKOFF_MIN_MS = 100;
const BACKOFF_MAX_MS = 10_000;
/** A shard that stays up this long is healthy again: its next crash restarts at the minimum backoff. */
const STABLE_AFTER_MS = 30_000;
/**
 * A shard's V8 young generation. Left to V8, it grows to 32 MB during a reconnect storm and stays there,
 * about 1.7 KB of RSS per station at 19,000 idle stations; 8 MB keeps it small at no measurable CPU cost
 * for the frame path (bench/README.md: Heartbeat CPU per message and idle RSS per station).
 */
const SHARD_YOUNG_GENERATION_MB = 8;

interface ShardSlot {
  id: number;
  worker: Worker | null;
  listening: boolean;
  startedAt: number;
  /** Crashes since the shard last stayed up for STABLE_AFTER_MS. */
  crashesInRow: number;
  restarts: number;
  restartTimer: NodeJS.Timeout | null;
}

export interface SupervisorEvents {
  message: [shardId: number, message: ShardToMain];
  /** A shard died (not during stop); its stations are gone. */
  lost: [shardId: number, exitCode: number];
  /** A shard listens (first start or restart). */
  ready: [shardId: number];
}

/**
 * Port 0: SO_REUSEPORT cannot join a port the kernel handed out for a bind to port 0, so shard 0 tries random
 * fixed ports instead, below Linux's ephemeral range (32768–60999) so outgoing connections never hold them;
 * the other shards then join the port shard 0 got.
 */
function randomPorts(count = 32, low = 20_000, high = 32_767): number[] {
  return Array.from({ length: count }, () => low + Math.floor(Math.random() * (high - low + 1)));
}

export class ShardSupervisor extends EventEmitter<SupervisorEvents> {
  readonly shards: number;
  #slots: ShardSlot[];
  #config: Config;
  #port: number;
  #tlsPort: number;
  #frontSecret: string | null;
  #counters: SharedArrayBuffer;
  #logger: Logger;
  #testHooks: boolean;
  #stopping = false;

  #connectStore: (() => MessagePort | null) | undefined;

  constructor(options: { shards: number; config: Config; port: number; tlsPort: number; frontSecret: string | null; counters: SharedArrayBuffer; logger: Logger; testHooks: boolean; connectStore?: () => MessagePort | null }) {
    super();
    this.#connectStore = options.connectStore;
    this.shards = options.shards;
    this.#config = options.config;
    this.#port = options.port;
    this.#tlsPort = options.tlsPort;
    this.#frontSecret = options.frontSecret;
    this.#counters = options.counters;
    this.#logger = options.logger;
    this.#testHooks = options.testHooks;
    this.#slots = Array.from({ length: options.shards }, (_, id) => ({
      id,
      worker: null,
      listening: false,
      startedAt: 0,
      crashesInRow: 0,
      restarts: 0,
      restartTimer: null,
    }));
  }

  /** The port every shard listens on (the configured one, or the one shard 0 got for port 0). */
  get port(): number {
    return this.#port;
  }

  /** The port of the TLS listener (tls.enable; the configured one, or the one shard 0 got for port 0); 0 when off. */
  get tlsPort(): number {
    return this.#tlsPort;
  }

  /**
   * Starts every shard; resolves when all listen, rejects if one cannot. Shard 0 binds first (for port 0 it
   * finds a free one, see randomPorts) and the others join its port with SO_REUSEPORT, so no other socket can
   * take the port in between, as it could if the port were probed and released first.
   */
  async start(): Promise<void> {
    // Refused with its reason here rather than as shards that cannot listen.
    const unsupported = unsupportedSettings(this.#config.tls);
    if (unsupported !== null) throw new Error(unsupported);
    const [first, ...rest] = this.#slots;
    await this.#spawn(first!);
    await Promise.all(rest.map((slot) => this.#spawn(slot)));
  }

  #spawn(slot: ShardSlot): Promise<void> {
    const init: ShardInit = { shardId: slot.id, shards: this.shards, ports: this.#port === 0 ? randomPorts() : [this.#port], tlsPorts: this.#tlsPort === 0 ? randomPorts() : [this.#tlsPort], frontSecret: this.#frontSecret, config: this.#config, counters: this.#counters, testHooks: this.#testHooks };
    // A new port to the store thread for every start of the shard (the old one died with it).
    const storePort = this.#connectStore?.() ?? null;
    if (storePort !== null) init.storePort = storePort;
    const worker = new Worker(WORKER_FILE, { workerData: init, transferList: storePort === null ? [] : [storePort], name: `shard-${slot.id}`, resourceLimits: { maxYoungGenerationSizeMb: SHARD_YOUNG_GENERATION_MB } });
    slot.worker = worker;
    slot.listening = false;
    slot.startedAt = Date.now();
    return new Promise<void>((resolve, reject) => {
      let settled = false;
      worker.on('message', (message: ShardToMain) => {
        if (message.t === 'listening') {
          settled = true;
          if (message.ok) {
            this.#port = message.port;
            this.#tlsPort = message.tlsPort;
            slot.listening = true;
            this.emit('ready', slot.id);
            resolve();
          } else {
            reject(new Error(`shard ${slot.id}: ${message.error}`));
          }
          return;
        }
        this.emit('message', slot.id, message);
      });
      worker.on('error', (error) => {
        this.#logger.error({ err: error, shard: slot.id }, 'shard error');
      });
      worker.on('exit', (code) => {
        const wasListening = slot.listening;
        slot.worker = null;
        slot.listening = false;
        if (!settled) {
          settled = true;
          reject(new Error(`shard ${slot.id} exited with code ${code} before listening`));
        }
        if (this.#stopping) return;
        this.emit('lost', slot.id, code);
        if (wasListening) this.#scheduleRestart(slot, code);
      });
    });
  }

  #scheduleRestart(slot: ShardSlot, code: number): void {
    if (Date.now() - slot.startedAt > STABLE_AFTER_MS) slot.crashesInRow = 0;
    slot.crashesInRow++;
    const delay = backoffMs(slot.crashesInRow, { initialMs: BACKOFF_MIN_MS, maxMs: BACKOFF_MAX_MS });
    slot.restarts++;
    this.#logger.warn({ shard: slot.id, exitCode: code, restartInMs: delay, restarts: slot.restarts }, 'shard died; restarting');
    slot.restartTimer = setTimeout(() => {
      slot.restartTimer = null;
      if (this.#stopping) return;
      this.#spawn(slot).catch((error) => {
        this.#logger.error({ err: error, shard: slot.id }, 'shard restart failed');
        if (!this.#stopping && slot.worker === null) this.#scheduleRestart(slot, -1);
      });
    }, delay);
  }

  /** Posts to one shard; false when it is not running or the message cannot be cloned (logged). */
  send(shardId: number, message: MainToShard): boolean {
    const worker = this.#slots[shardId]?.worker;
    if (worker === null || worker === undefined) return false;
    try {
      worker.postMessage(message);
    } catch (error) {
      this.#logger.error({ err: error, shard: shardId, kind: message.t }, 'a message to a shard could not be sent; dropped');
      return false;
    }
    return true;
  }

  broadcast(message: MainToShard): void {
    for (const slot of this.#slots) if (slot.worker !== null) this.send(slot.id, message);
  }

  isListening(shardId: number): boolean {
    return this.#slots[shardId]?.listening ?? false;
  }

  get allListening(): boolean {
    return this.#slots.every((s) => s.listening);
  }

  restarts(shardId: number): number {
    return this.#slots[shardId]?.restarts ?? 0;
  }

  updateConfig(config: Config): void {
    this.#config = config;
    this.broadcast({ t: 'config', config });
  }

  /** Stops every shard (graceful or fast) and waits for the threads to end, up to the deadline plus a margin. */
  async stop(mode: 'graceful' | 'fast', deadlineMs: number): Promise<void> {
    this.#stopping = true;
    const exits: Promise<void>[] = [];
    for (const slot of this.#slots) {
      if (slot.restartTimer !== null) clearTimeout(slot.restartTimer);
      const worker = slot.worker;
      if (worker === null) continue;
      exits.push(
        new Promise<void>((resolve) => {
          const timer = setTimeout(() => {
            this.#logger.warn({ shard: slot.id }, 'shard did not stop in time; terminating');
            void worker.terminate();
          }, deadlineMs + 2000);
          worker.once('exit', () => {
            clearTimeout(timer);
            resolve();
          });
          worker.postMessage({ t: 'stop', mode, deadlineMs } satisfies MainToShard);
        }),
      );
    }
    await Promise.all(exits);
  }
}
