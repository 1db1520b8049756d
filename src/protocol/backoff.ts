/**
 * Exponential backoff: the delay before attempt `n + 1` after `n` failures in a row, doubling from `initialMs`
 * up to `maxMs`, optionally spread by a random factor so that many peers that failed together do not retry
 * together (OCPP 2.0.1 Part 2 B.xx RetryBackOffWaitMinimum / RetryBackOffRandomRange describe the same for a
 * station's reconnects). One formula for the shard supervisor, the webhook's circuit breaker and spool, and the
 * emulator's reconnects.
 */
export interface BackoffOptions {
  initialMs: number;
  maxMs: number;
  /** Multiply by a random factor in [low, high) (e.g. [0.5, 1.5]); none when absent. */
  jitter?: readonly [low: number, high: number];
}

/** Delay after `failures` failures in a row (0 or 1 → `initialMs`). */
export function backoffMs(failures: number, options: BackoffOptions): number {
  const exponent = Math.min(Math.max(failures - 1, 0), 30);
  const base = Math.min(options.maxMs, options.initialMs * 2 ** exponent);
  if (options.jitter === undefined) return base;
  const [low, high] = options.jitter;
  return Math.round(base * (low + Math.random() * (high - low)));
}
