/**
 * What a shard tells the control plane about its stations, batched so that no message of a station costs a
 * postMessage of its own: boot and status events (every 50 ms; one postMessage per StatusNotification cost
 * ~19 µs), last-message times (once a second, from a list of the sessions heard, never a walk over every
 * session), and live-log lines (every 50 ms, serialized once here, and only while some shard has a log client).
 */
import { logLine, type LogEntry, type LogLine, type RegistryEvent, type ShardToMain } from '../ipc/messages.js';
import type { RpcSession } from '../protocol/ocpp-j/rpc-session.js';
import type { ShardCounters } from './counters.js';

const SEEN_FLUSH_MS = 1000;
/** Live-log entries are batched for this long before crossing to the control plane. */
const LOG_FLUSH_MS = 50;
/** Boot and status events are batched for this long. */
const REGISTRY_FLUSH_MS = 50;

export class ShardReports {
  #post: (message: ShardToMain) => void;
  #counters: ShardCounters;
  /** Sessions that received something since the last flush (each once: RpcSession.seenQueued). */
  #seen: RpcSession[] = [];
  #seenTimer: ReturnType<typeof setInterval>;
  #registryEvents: RegistryEvent[] = [];
  #registryTimer: ReturnType<typeof setTimeout> | null = null;
  /** True while some shard has a live-log client: only then are entries built. */
  logActive = false;
  #logBuffer: LogLine[] = [];
  #logTimer: ReturnType<typeof setTimeout> | null = null;

  constructor(post: (message: ShardToMain) => void, counters: ShardCounters) {
    this.#post = post;
    this.#counters = counters;
    this.#seenTimer = setInterval(() => this.flushSeen(), SEEN_FLUSH_MS);
    this.#seenTimer.unref();
  }

  /** A station was heard (its last-message time is reported with the next flush). */
  heard(session: RpcSession): void {
    if (!session.seenQueued) {
      session.seenQueued = true;
      this.#seen.push(session);
    }
  }

  registry(event: RegistryEvent): void {
    this.#registryEvents.push(event);
    this.#registryTimer ??= setTimeout(() => this.flushRegistry(), REGISTRY_FLUSH_MS);
  }

  /** Sends the pending boot and status events now (before a connect or disconnect report: order matters). */
  flushRegistry(): void {
    if (this.#registryTimer !== null) {
      clearTimeout(this.#registryTimer);
      this.#registryTimer = null;
    }
    if (this.#registryEvents.length === 0) return;
    const events = this.#registryEvents;
    this.#registryEvents = [];
    this.#post({ t: 'registryEvents', events });
  }

  flushSeen(): void {
    const seen = this.#seen;
    if (seen.length === 0) return;
    this.#seen = [];
    const entries: Array<[string, number]> = new Array(seen.length);
    for (let i = 0; i < seen.length; i++) {
      const session = seen[i]!;
      session.seenQueued = false;
      entries[i] = [session.identity, session.lastSeenAt];
    }
    this.#post({ t: 'seen', entries });
  }

  setLogActive(active: boolean): void {
    this.logActive = active;
    if (!active) this.#logBuffer = [];
  }

  log(entry: LogEntry): void {
    const line = logLine(entry);
    if (line === null) {
      this.#counters.inc('threadMessagesDropped.liveLog');
      return;
    }
    this.#logBuffer.push(line);
    this.#logTimer ??= setTimeout(() => this.#flushLog(), LOG_FLUSH_MS);
  }

  #flushLog(): void {
    this.#logTimer = null;
    if (this.#logBuffer.length === 0) return;
    const entries = this.#logBuffer;
    this.#logBuffer = [];
    this.#post({ t: 'log', entries });
  }

  /** Last reports before the shard stops. */
  close(): void {
    clearInterval(this.#seenTimer);
    this.flushSeen();
    this.flushRegistry();
  }
}
