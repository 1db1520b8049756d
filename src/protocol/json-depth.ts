/**
 * Nesting depth of JSON, bounded. The schemas let `customData` (2.x) and `DataTransfer.data` hold anything, so
 * a valid payload may nest arbitrarily deep; V8's structured clone (postMessage) and JSON.stringify recurse and
 * throw RangeError near 5,000 levels, JSON.parse does not. Every payload a peer sends is therefore checked once,
 * where it enters, against `ocpp.maxPayloadDepth`; everything after that point (thread messages, live log,
 * webhook, store) only ever sees payloads within the bound.
 *
 * Depth counts containers: `{}` and `[]` are 1, `{"a":[1]}` is 2, a scalar is 0.
 */

const OPEN_BRACE = 123; // {
const OPEN_BRACKET = 91; // [
const CLOSE_BRACE = 125; // }
const CLOSE_BRACKET = 93; // ]
const QUOTE = 34; // "
const BACKSLASH = 92; // \

/** Counts `ch` in `text`, stopping once the count passes `limit` (indexOf runs natively: no per-char JS loop). */
function countUpTo(text: string, ch: string, limit: number): number {
  let n = 0;
  for (let i = text.indexOf(ch); i !== -1 && n <= limit; i = text.indexOf(ch, i + 1)) n++;
  return n;
}

/**
 * True when the JSON text nests containers deeper than `maxDepth`. The text need not be valid JSON (the caller
 * parses it anyway); brackets inside strings are not counted. Fast path: a text with at most `maxDepth` opening
 * brackets in all (every usual OCPP frame) cannot be deeper, and is decided by two native `indexOf` scans.
 */
export function jsonTextExceedsDepth(text: string, maxDepth: number): boolean {
  const braces = countUpTo(text, '{', maxDepth);
  if (braces + countUpTo(text, '[', maxDepth - braces) <= maxDepth) return false;
  let depth = 0;
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      // Skip the string: the next quote not preceded by an odd number of backslashes.
      for (i++; i < n; i++) {
        const s = text.charCodeAt(i);
        if (s === BACKSLASH) i++;
        else if (s === QUOTE) break;
      }
    } else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      if (++depth > maxDepth) return true;
    } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
      depth--;
    }
  }
  return false;
}

/**
 * True when a parsed value nests containers deeper than `maxDepth`. Iterative (an explicit stack), so it is safe
 * on values of any depth; it stops at the first container beyond the bound. For values that did not come from
 * JSON text (MessagePack bodies, form bodies, values built by code).
 */
export function valueExceedsDepth(value: unknown, maxDepth: number): boolean {
  if (value === null || typeof value !== 'object') return false;
  const stack: Array<{ v: object; d: number }> = [{ v: value, d: 1 }];
  while (stack.length > 0) {
    const { v, d } = stack.pop()!;
    if (d > maxDepth) return true;
    const children = Array.isArray(v) ? v : Object.values(v);
    for (let i = 0; i < children.length; i++) {
      const child: unknown = children[i];
      if (child !== null && typeof child === 'object') stack.push({ v: child, d: d + 1 });
    }
  }
  return false;
}
