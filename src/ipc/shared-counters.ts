/**
 * The memory every shard of a process shares with the others and the control plane (a SharedArrayBuffer):
 * the count of connected stations (admission limits over all shards), the connection sequence and the count of
 * stations per remote address.
 */
export const SHARED_COUNTERS = {
  /** Stations connected, or reserved by an upgrade in progress, over all shards (an Int32 at byte 0). */
  connected: 0,
  length: 1,
} as const;

/** Byte offset of the connection sequence (a BigInt64, 8-byte aligned) in the shared buffer. */
const SEQUENCE_OFFSET = 8;

/**
 * The per-address connection table (src/shard/address-table.ts, docs/limits.md) follows: a lock, a count of used
 * slots, then ADDRESS_SLOTS slots of three Int32 each (two hash words of the address, its connection count).
 */
export const ADDRESS_TABLE_OFFSET = SEQUENCE_OFFSET + 8;
/** Slots of the address table: a power of two; kept at most 3/4 full (about 196,000 addresses). 3 MiB. */
export const ADDRESS_SLOTS = 1 << 18;
/** Int32 words of the address table: lock, used, then the slots. */
export const ADDRESS_TABLE_WORDS = 2 + ADDRESS_SLOTS * 3;

/** The buffer every shard of a process shares: the connected counter, the connection sequence, the address table. */
export function createSharedCounters(): SharedArrayBuffer {
  return new SharedArrayBuffer(ADDRESS_TABLE_OFFSET + ADDRESS_TABLE_WORDS * 4);
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

