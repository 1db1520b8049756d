/**
 * Admission control for reconnect storms: a cap on stations connected over all shards (a counter in a
 * SharedArrayBuffer every shard sees) and an accept-rate limit (a token bucket per shard, each with its
 * share of the configured rate).
 */
import { SHARED_COUNTERS } from '../ipc/shared-counters.js';

export interface AdmissionOptions {
  maxStations: number;
  acceptRatePerS: number;
  acceptBurst: number;
  retryAfterS: number;
  shards: number;
}

export type AdmissionRefusal = { reason: 'limit' | 'rate'; retryAfterS: number };

export class Admission {
  #counters: Int32Array;
  #options: AdmissionOptions;
  #tokens: number;
  #ratePerMs: number;
  #burst: number;
  #lastRefill = performance.now();

  constructor(shared: SharedArrayBuffer, options: AdmissionOptions) {
    this.#counters = new Int32Array(shared);
    this.#options = options;
    this.#ratePerMs = 0;
    this.#burst = 0;
    this.#tokens = 0;
    this.configure(options);
  }

  configure(options: AdmissionOptions): void {
    this.#options = options;
    this.#ratePerMs = options.acceptRatePerS / options.shards / 1000;
    this.#burst = Math.max(1, Math.ceil(options.acceptBurst / options.shards));
    this.#tokens = this.#burst;
  }

  /**
   * Takes an accept token and reserves a station slot (atomically, so shards cannot overshoot the cap
   * together), or says why not. A reserved slot is given back with `release()` when the upgrade fails or
   * the station disconnects.
   */
  admit(): AdmissionRefusal | null {
    const { maxStations, acceptRatePerS, retryAfterS } = this.#options;
    if (acceptRatePerS > 0) {
      const now = performance.now();
      this.#tokens = Math.min(this.#burst, this.#tokens + (now - this.#lastRefill) * this.#ratePerMs);
      this.#lastRefill = now;
      if (this.#tokens < 1) return { reason: 'rate', retryAfterS: Math.max(1, Math.ceil((1 - this.#tokens) / this.#ratePerMs / 1000)) };
    }
    const before = Atomics.add(this.#counters, SHARED_COUNTERS.connected, 1);
    if (maxStations > 0 && before >= maxStations) {
      Atomics.sub(this.#counters, SHARED_COUNTERS.connected, 1);
      return { reason: 'limit', retryAfterS };
    }
    if (acceptRatePerS > 0) this.#tokens -= 1;
    return null;
  }

  release(): void {
    Atomics.sub(this.#counters, SHARED_COUNTERS.connected, 1);
  }

  static connectedCount(shared: SharedArrayBuffer): number {
    return Atomics.load(new Int32Array(shared), SHARED_COUNTERS.connected);
  }
}
