/**
 * Failed API logins per client (src/http/ip-address.ts clientKey: an IPv4 address or an IPv6 /64): a token
 * bucket of `burst` failures that refills at `perMinute`. While a client's bucket is empty, its logins are
 * refused with 429 before any password is checked (no scrypt spent on a guesser), whatever credentials it
 * sends; other clients are unaffected. At most `maxAddresses` buckets are kept (least recently used
 * dropped first), so a flood of addresses costs bounded memory.
 */

export interface LoginLimiterOptions {
  /** Failed logins a client may make in a row. */
  burst: number;
  /** Failed logins a client gets back per minute. */
  perMinute: number;
  /** Clients remembered at most. */
  maxAddresses: number;
}

interface Bucket {
  tokens: number;
  at: number;
}

export class LoginLimiter {
  readonly #burst: number;
  /** Tokens per millisecond. */
  readonly #rate: number;
  readonly #max: number;
  /** Insertion order is recency order (a touched bucket is moved to the end). */
  readonly #buckets = new Map<string, Bucket>();

  constructor(options: LoginLimiterOptions) {
    for (const name of ['burst', 'perMinute', 'maxAddresses'] as const) {
      const v = options[name];
      if (!Number.isInteger(v) || v < 1) throw new RangeError(`options.${name} must be an integer >= 1`);
    }
    this.#burst = options.burst;
    this.#rate = options.perMinute / 60_000;
    this.#max = options.maxAddresses;
  }

  get size(): number {
    return this.#buckets.size;
  }

  #refilled(key: string, now: number): Bucket | undefined {
    const b = this.#buckets.get(key);
    if (b === undefined) return undefined;
    b.tokens = Math.min(this.#burst, b.tokens + (now - b.at) * this.#rate);
    b.at = now;
    if (b.tokens >= this.#burst) {
      // Full again: nothing left to remember.
      this.#buckets.delete(key);
      return undefined;
    }
    return b;
  }

  /** 0 when `key` may try to log in; otherwise the seconds until it may (for Retry-After). */
  retryAfterS(key: string, now = Date.now()): number {
    const b = this.#refilled(key, now);
    if (b === undefined || b.tokens >= 1) return 0;
    return Math.max(1, Math.ceil((1 - b.tokens) / this.#rate / 1000));
  }

  /** Counts one failed login of `key`. */
  failed(key: string, now = Date.now()): void {
    const b = this.#refilled(key, now) ?? { tokens: this.#burst, at: now };
    b.tokens = Math.max(0, b.tokens - 1);
    this.#buckets.delete(key);
    this.#buckets.set(key, b);
    if (this.#buckets.size > this.#max) this.#buckets.delete(this.#buckets.keys().next().value!);
  }
}
