/**
 * The per-station message rate limit (docs/limits.md): its options, the bucket each RpcSession keeps
 * (MessageBucket: a few arithmetic operations per frame, no allocation), and what runs only for a frame that is
 * over the limit (the CALLERROR, the close reason, the cheap reading of the frame's message id).
 */
import { MessageType } from '../versions.js';
import { RpcErrorCode } from '../rpc-error-codes.js';

export interface RateLimitOptions {
  /** Tokens (frames) added per millisecond; > 0. */
  ratePerMs: number;
  /** The same per second, as configured (for the CALLERROR's description). */
  ratePerS: number;
  /** Bucket size: frames a station may send at once. */
  burst: number;
  /** Limited frames within `windowMs` after which the session is closed with 1008; 0 = never. */
  maxLimited: number;
  windowMs: number;
}

/** Rate, burst and close rule from the `limits` configuration; null when the limit is off. */
export function rateLimitOptions(limits: { messageRatePerS: number; messageBurst: number; maxRateLimited: number; rateLimitWindowS: number }): RateLimitOptions | null {
  if (limits.messageRatePerS <= 0) return null;
  return { ratePerMs: limits.messageRatePerS / 1000, ratePerS: limits.messageRatePerS, burst: limits.messageBurst, maxLimited: limits.maxRateLimited, windowMs: limits.rateLimitWindowS * 1000 };
}

/**
 * The error code a rate-limited CALL is answered with: RpcFrameworkError in 2.0.1/2.1 (Part 4 §4.3: "the content
 * of the call is a valid RPC frame but could not be processed by the framework"); 1.6 has no RpcFrameworkError
 * (OCPP-J 1.6 §4.2.3, Table 7), so GenericError there.
 */
export function rateLimitedCode(v2: boolean): RpcErrorCode {
  return v2 ? RpcErrorCode.RpcFrameworkError : RpcErrorCode.GenericError;
}

/**
 * The token bucket of one connection, and the count of its frames over the limit in the current window. One per
 * session; `take` is a few arithmetic operations and allocates nothing. Time is the caller's `Date.now()` (the
 * wall clock: a step backwards refills nothing instead of taking tokens away, and starts a new window).
 */
export class MessageBucket {
  /** Clamped to the burst on the first frame. */
  #tokens = Infinity;
  #at: number;
  #limited = 0;
  #since = 0;

  constructor(now: number) {
    this.#at = now;
  }

  /** Takes a token for a frame at `now`; false when there is none (the frame is over the limit). */
  take(now: number, limit: RateLimitOptions): boolean {
    const elapsed = now - this.#at;
    let tokens = elapsed > 0 ? this.#tokens + elapsed * limit.ratePerMs : this.#tokens;
    this.#at = now;
    if (tokens > limit.burst) tokens = limit.burst;
    if (tokens < 1) {
      this.#tokens = tokens;
      return false;
    }
    this.#tokens = tokens - 1;
    return true;
  }

  /** Counts a frame over the limit; true when `maxLimited` of them fell within the window (close the socket). */
  persists(now: number, limit: RateLimitOptions): boolean {
    if (limit.maxLimited === 0) return false;
    if (now - this.#since > limit.windowMs || now < this.#since) {
      this.#since = now;
      this.#limited = 0;
    }
    return ++this.#limited >= limit.maxLimited;
  }
}

/** The description of the CALLERROR a limited CALL gets. */
export function rateLimitedDescription(limit: RateLimitOptions): string {
  return `rate limited: over ${limit.ratePerS} messages/s (burst ${limit.burst}); slow down`;
}

/** The reason of the 1008 close when it persists. */
export function rateLimitedCloseReason(limit: RateLimitOptions): string {
  return `${limit.maxLimited} frames over the message rate limit within ${limit.windowMs / 1000} s`;
}

/** Longest message id (OCPP-J 1.6 §4.1.3, 2.0.1 Part 4 §4.1.3: 36 characters). */
const MAX_ID = 36;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/**
 * The message id of a CALL frame `[2,"<id>",…` read from its first characters only (a limited frame is not
 * parsed: a flood of large frames must not cost a JSON.parse each). Null when the frame does not start like a CALL
 * with a plain id (whitespace allowed where JSON allows it; an id with escapes is not read): such a frame is
 * dropped unanswered, as any other frame over the limit.
 */
export function peekCallId(text: string): string | null {
  let i = skipSpace(text, 0);
  if (text.charCodeAt(i) !== 0x5b /* [ */) return null;
  i = skipSpace(text, i + 1);
  if (text.charCodeAt(i) !== 0x30 + MessageType.CALL) return null;
  i = skipSpace(text, i + 1);
  if (text.charCodeAt(i) !== 0x2c /* , */) return null;
  i = skipSpace(text, i + 1);
  if (text.charCodeAt(i) !== QUOTE) return null;
  const start = i + 1;
  const limit = Math.min(text.length, start + MAX_ID + 1);
  for (let j = start; j < limit; j++) {
    const c = text.charCodeAt(j);
    if (c === BACKSLASH || c < 0x20) return null;
    if (c === QUOTE) return j === start ? null : text.slice(start, j);
  }
  return null;
}

function skipSpace(text: string, i: number): number {
  for (;;) {
    const c = text.charCodeAt(i);
    if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) return i;
    i++;
  }
}
