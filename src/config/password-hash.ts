/**
 * Station password hashes for HTTP Basic auth (OCPP security profile 1):
 * `scrypt$<N>$<r>$<p>$<saltB64>$<hashB64>` made with node:crypto scrypt (RFC 7914).
 *
 * Cost: N = 2^14, r = 8, p = 1 (16 MiB, some tens of ms per hash) — the usual interactive-login setting.
 * Verifying costs the same, so callers that verify on every reconnect should cache successful results
 * per (identity, password) for a while.
 */
import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

export const SCRYPT_DEFAULTS = Object.freeze({ N: 16384, r: 8, p: 1, saltBytes: 16, keyBytes: 32 });

/** Bounds on parameters read from a stored hash, so a hostile hash file cannot exhaust memory or CPU. */
const MAX_LOG2_N = 20;
const MAX_R = 32;
const MAX_P = 16;
const MAX_MEMORY_BYTES = 256 * 1024 * 1024;

const B64 = /^[A-Za-z0-9+/]+={0,2}$/;
const DIGITS = /^[0-9]{1,8}$/;

interface ParsedHash {
  N: number;
  r: number;
  p: number;
  salt: Buffer;
  hash: Buffer;
}

function scryptAsync(password: string | Buffer, salt: Buffer, keylen: number, options: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(password, salt, keylen, options, (error, key) => (error ? reject(error) : resolve(key)));
  });
}

function memoryFor(N: number, r: number, p: number): number {
  // scrypt needs about 128 * N * r bytes (V) + 128 * r * p (B); leave room for the rest.
  return 128 * N * r + 128 * r * p + 1024 * 1024;
}

function parseHash(stored: unknown): ParsedHash | null {
  if (typeof stored !== 'string' || stored.length > 1024) return null;
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return null;
  const [, nText, rText, pText, saltText, hashText] = parts as [string, string, string, string, string, string];
  if (!DIGITS.test(nText) || !DIGITS.test(rText) || !DIGITS.test(pText)) return null;
  const N = Number(nText);
  const r = Number(rText);
  const p = Number(pText);
  // N a power of two, 2 ≤ N ≤ 2^MAX_LOG2_N (RFC 7914 §2).
  if (N < 2 || N > 2 ** MAX_LOG2_N || (N & (N - 1)) !== 0) return null;
  if (r < 1 || r > MAX_R || p < 1 || p > MAX_P) return null;
  if (memoryFor(N, r, p) > MAX_MEMORY_BYTES) return null;
  if (!B64.test(saltText) || !B64.test(hashText)) return null;
  const salt = Buffer.from(saltText, 'base64');
  const hash = Buffer.from(hashText, 'base64');
  if (salt.length < 8 || salt.length > 64 || hash.length < 16 || hash.length > 128) return null;
  return { N, r, p, salt, hash };
}

/** True when `stored` is a well-formed hash this module can verify against. */
export function isPasswordHash(stored: unknown): stored is string {
  return parseHash(stored) !== null;
}

/** Hashes `plain` with a fresh random salt. */
export async function hashPassword(plain: string): Promise<string> {
  if (typeof plain !== 'string') throw new TypeError('password must be a string');
  const { N, r, p, saltBytes, keyBytes } = SCRYPT_DEFAULTS;
  const salt = randomBytes(saltBytes);
  const key = await scryptAsync(plain.normalize('NFC'), salt, keyBytes, { N, r, p, maxmem: memoryFor(N, r, p) });
  return `scrypt$${N}$${r}$${p}$${salt.toString('base64')}$${key.toString('base64')}`;
}

/**
 * Checks `plain` against `stored` in constant time. A malformed or unsupported `stored`, or a non-string
 * `plain`, gives false; it never throws.
 */
export async function verifyPassword(plain: unknown, stored: unknown): Promise<boolean> {
  if (typeof plain !== 'string') return false;
  const parsed = parseHash(stored);
  if (parsed === null) return false;
  const { N, r, p, salt, hash } = parsed;
  try {
    const key = await scryptAsync(plain.normalize('NFC'), salt, hash.length, { N, r, p, maxmem: memoryFor(N, r, p) });
    return key.length === hash.length && timingSafeEqual(key, hash);
  } catch {
    return false;
  }
}

/**
 * Parses a password file: one `identity:hash` per line, `#` starts a comment line, blank lines are
 * skipped, blanks around identity and hash are ignored. The identity ends at the first `:` (RFC 7617
 * user-ids contain none). A later line for the same identity wins and is reported.
 */
export function parsePasswordFile(text: string): { entries: Record<string, string>; problems: string[] } {
  const entries: Record<string, string> = Object.create(null) as Record<string, string>;
  const problems: string[] = [];
  const lines = String(text).replace(/^\uFEFF/, '').split(/\r\n|\n|\r/);
  lines.forEach((rawLine, index) => {
    const line = rawLine.trim();
    const at = `line ${index + 1}`;
    if (line === '' || line.startsWith('#')) return;
    const colon = line.indexOf(':');
    if (colon < 0) {
      problems.push(`${at}: expected identity:hash`);
      return;
    }
    const identity = line.slice(0, colon).trim();
    const hash = line.slice(colon + 1).trim();
    if (identity === '') {
      problems.push(`${at}: empty identity`);
      return;
    }
    if (!isPasswordHash(hash)) {
      problems.push(`${at}: malformed password hash for ${JSON.stringify(identity)} (expected scrypt$N$r$p$salt$hash)`);
      return;
    }
    if (Object.hasOwn(entries, identity)) problems.push(`${at}: duplicate identity ${JSON.stringify(identity)}, this line wins`);
    entries[identity] = hash;
  });
  return { entries: { ...entries }, problems };
}
