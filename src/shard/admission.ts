/**
 * Admission control for reconnect storms and misbehaving sources: a cap on stations connected over all shards (a
 * counter in a SharedArrayBuffer every shard sees), a cap on stations per remote address over all shards (a table
 * in the same memory, address-table.ts), and an accept-rate limit (a token bucket per shard, each with its share
 * of the configured rate).
 */
import { SHARED_COUNTERS } from '../ipc/shared-counters.js';
import { AddressTable, addressKey, type AddressKey } from './address-table.js';

export interface AdmissionOptions {
  maxStations: number;
  acceptRatePerS: number;
  acceptBurst: number;
  retryAfterS: number;
  shards: number;
  /** limits.maxStationsPerAddress; 0 = unlimited (the table is then not touched). */
  maxStationsPerAddress: number;
}

export type AdmissionRefusal = { reason: 'limit' | 'rate' | 'address'; retryAfterS: number };

/** What an admitted upgrade holds until `release`: a station slot, and its address's count when it was counted. */
export interface AdmissionTicket {
  address: AddressKey | null;
  /** The address table was full: admitted without a per-address count. */
  tableFull: boolean;
}

const UNCOUNTED: AdmissionTicket = Object.freeze({ address: null, tableFull: false });
const TABLE_FULL: AdmissionTicket = Object.freeze({ address: null, tableFull: true });

export function isAdmissionRefusal(value: AdmissionRefusal | AdmissionTicket): value is AdmissionRefusal {
  return 'reason' in value;
}

export class Admission {
  #counters: Int32Array;
  #addresses: AddressTable;
  #options: AdmissionOptions;
  #tokens: number;
  #ratePerMs: number;
  #burst: number;
  #lastRefill = performance.now();

  constructor(shared: SharedArrayBuffer, options: AdmissionOptions) {
    this.#counters = new Int32Array(shared, 0, SHARED_COUNTERS.length);
    this.#addresses = new AddressTable(shared);
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
   * Takes an accept token, reserves a station slot and counts the station against its address (atomically, so
   * shards cannot overshoot a cap together), or says why not. What was reserved is given back with
   * `release(ticket)` when the upgrade fails or the station disconnects.
   */
  admit(remoteAddress: string): AdmissionRefusal | AdmissionTicket {
    const { maxStations, acceptRatePerS, retryAfterS, maxStationsPerAddress } = this.#options;
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
    let ticket = UNCOUNTED;
    if (maxStationsPerAddress > 0) {
      const key = addressKey(remoteAddress);
      const outcome = this.#addresses.acquire(key, maxStationsPerAddress);
      if (outcome === 'over') {
        Atomics.sub(this.#counters, SHARED_COUNTERS.connected, 1);
        return { reason: 'address', retryAfterS };
      }
      ticket = outcome === 'full' ? TABLE_FULL : { address: key, tableFull: false };
    }
    if (acceptRatePerS > 0) this.#tokens -= 1;
    return ticket;
  }

  release(ticket: AdmissionTicket): void {
    Atomics.sub(this.#counters, SHARED_COUNTERS.connected, 1);
    if (ticket.address !== null) this.#addresses.release(ticket.address);
  }

  /** Stations counted from `remoteAddress` now, over all shards (0 when the limit is off). */
  stationsFrom(remoteAddress: string): number {
    return this.#addresses.count(addressKey(remoteAddress));
  }

  static connectedCount(shared: SharedArrayBuffer): number {
    return Atomics.load(new Int32Array(shared, 0, SHARED_COUNTERS.length), SHARED_COUNTERS.connected);
  }
}
