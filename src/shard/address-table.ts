/**
 * Stations connected per remote address over every shard of the process (limits.maxStationsPerAddress,
 * docs/limits.md): an open-addressing hash table (linear probing) in the SharedArrayBuffer the shards share
 * (src/ipc/shared-counters.ts), so the kernel may spread one address's connections over any shards and the count
 * stays one. Only upgrades and disconnects touch it, never the frame path, so every operation runs under a spin
 * lock in the same memory (a few hundred nanoseconds of work; a disconnect deletes by backward shift, so no
 * tombstones pile up). An address is keyed by two 32-bit FNV-1a hashes of its text (a 64-bit key: two addresses
 * share a count only if both hashes collide).
 */
import { ADDRESS_SLOTS, ADDRESS_TABLE_OFFSET, ADDRESS_TABLE_WORDS } from '../ipc/shared-counters.js';

/** An address as the table keys it (both words never 0 together: 0/0 marks an empty slot). */
export interface AddressKey {
  hi: number;
  lo: number;
}

const LOCK = 0;
const USED = 1;
const SLOTS_AT = 2;
const MASK = ADDRESS_SLOTS - 1;
/** Most slots in use: beyond it new addresses are admitted uncounted (probe chains stay short). */
const MAX_USED = (ADDRESS_SLOTS * 3) >>> 2;

export function addressKey(address: string): AddressKey {
  let hi = 0x811c9dc5;
  let lo = 0x01000193 ^ 0x5bd1e995;
  for (let i = 0; i < address.length; i++) {
    const c = address.charCodeAt(i);
    hi = Math.imul(hi ^ c, 0x01000193);
    lo = Math.imul(lo ^ c, 0x01000193) ^ (lo >>> 15);
  }
  hi |= 0;
  lo |= 0;
  if (hi === 0 && lo === 0) lo = 1;
  return { hi, lo };
}

export type AddressOutcome = 'counted' | 'over' | 'full';

export class AddressTable {
  #t: Int32Array;

  constructor(shared: SharedArrayBuffer) {
    this.#t = new Int32Array(shared, ADDRESS_TABLE_OFFSET, ADDRESS_TABLE_WORDS);
  }

  #lock(): void {
    const t = this.#t;
    while (Atomics.compareExchange(t, LOCK, 0, 1) !== 0) {
      // Held by another shard for a few hundred nanoseconds at most: spin.
    }
  }

  #unlock(): void {
    Atomics.store(this.#t, LOCK, 0);
  }

  /** Slot index of `key`, or of the empty slot where it would go. */
  #find(key: AddressKey): number {
    const t = this.#t;
    let i = key.lo & MASK;
    for (;;) {
      const at = SLOTS_AT + i * 3;
      const hi = t[at]!;
      const lo = t[at + 1]!;
      if ((hi === key.hi && lo === key.lo) || (hi === 0 && lo === 0)) return i;
      i = (i + 1) & MASK;
    }
  }

  /** Adds one station for `key` unless `max` are connected from it already ('over'), or the table is full ('full', not counted). */
  acquire(key: AddressKey, max: number): AddressOutcome {
    const t = this.#t;
    this.#lock();
    try {
      const at = SLOTS_AT + this.#find(key) * 3;
      if (t[at] === 0 && t[at + 1] === 0) {
        if (t[USED]! >= MAX_USED) return 'full';
        t[at] = key.hi;
        t[at + 1] = key.lo;
        t[at + 2] = 1;
        t[USED]!++;
        return 'counted';
      }
      if (t[at + 2]! >= max) return 'over';
      t[at + 2]!++;
      return 'counted';
    } finally {
      this.#unlock();
    }
  }

  /** Gives back one station of `key` (counted by `acquire`); the slot is emptied when it was the last. */
  release(key: AddressKey): void {
    const t = this.#t;
    this.#lock();
    try {
      let i = this.#find(key);
      let at = SLOTS_AT + i * 3;
      if (t[at] === 0 && t[at + 1] === 0) return; // not counted: nothing to give back
      if (--t[at + 2]! > 0) return;
      // Backward-shift deletion (linear probing): move later entries of the chain into the hole when their home
      // slot is not cyclically after the hole, so every entry stays reachable from its home without tombstones.
      let j = i;
      for (;;) {
        j = (j + 1) & MASK;
        const next = SLOTS_AT + j * 3;
        if (t[next] === 0 && t[next + 1] === 0) break;
        const home = t[next + 1]! & MASK;
        const stays = i <= j ? i < home && home <= j : i < home || home <= j;
        if (stays) continue;
        t[at] = t[next]!;
        t[at + 1] = t[next + 1]!;
        t[at + 2] = t[next + 2]!;
        i = j;
        at = next;
      }
      t[at] = 0;
      t[at + 1] = 0;
      t[at + 2] = 0;
      t[USED]!--;
    } finally {
      this.#unlock();
    }
  }

  /** Stations counted for `key` now (tests, diagnostics). */
  count(key: AddressKey): number {
    const t = this.#t;
    this.#lock();
    try {
      const at = SLOTS_AT + this.#find(key) * 3;
      return t[at + 2]!;
    } finally {
      this.#unlock();
    }
  }

  /** Distinct addresses counted now. */
  get addresses(): number {
    return Atomics.load(this.#t, USED);
  }
}
