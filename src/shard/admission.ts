/**
 * Admission control for reconnect storms: a cap on stations connected over all shards (a counter in a
 * SharedArrayBuffer every shard sees) and an accept-rate limit (a token bucket per shard, each with its
 * share of the configured rate).
 */
export const SHARED_COUNTERS = {
  /** Stations connected, or reserved by an upgrade in progress, over all shards (an Int32 at byte 0). */
  connected: 0,
  length: 1,
} as const;

/** Byte offset of the connection sequence (a BigInt64, 8-byte aligned) in the shared buffer. */
const SEQUENCE_OFFSET = 8;

/** The buffer every shard of a process shares: the connected counter and the connection sequence. */
export function createSharedCounters(): SharedArrayBuffer {
  return new SharedArrayBuffer(SEQUENCE_OFFSET + 8);
}

/**
 * The connection sequence: one number per accepted upgrade, strictly increasing over every shard of the process
 * (an atomic add on shared memory), taken when the upgrade is accepted. It is the connection's id everywhere
 * (`connId`), and it decides which of two connections of one identity is the newer, whatever order their
 * messages reach the control plane in. Safe as a JavaScript number up to 2^53 connections.
 */
export class ConnectionSequence {
  #cell: BigInt64Array;

  constructor(shared: SharedArrayBuffer) {
    this.#cell = new BigInt64Array(shared, SEQUENCE_OFFSET, 1);
  }

  next(): number {
    return Number(Atomics.add(this.#cell, 0, 1n) + 1n);
  }
}

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
