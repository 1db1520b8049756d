/**
 * The frames the emulator's WebSocket client writes (RFC 6455 §5.2): every client frame is masked with a fresh
 * 32-bit key from a CSPRNG pool (§5.3), the payload XORed a 32-bit word at a time, the whole frame written into
 * a per-thread slab so that it costs one Buffer view; close payloads (§5.5.1) and the close codes a peer may
 * send (§7.4), read back from a close frame.
 */
import { isUtf8 } from 'node:buffer';
import { randomFillSync } from 'node:crypto';

// Masking keys: a CSPRNG pool, 4 bytes per frame, refilled when used up (§5.3: unpredictable per frame).
const MASK_POOL = Buffer.allocUnsafeSlow(8192);
const MASK_WORDS = new Int32Array(MASK_POOL.buffer, MASK_POOL.byteOffset, MASK_POOL.length >> 2);
let maskIndex = MASK_WORDS.length;

function nextMask(): number {
  if (maskIndex === MASK_WORDS.length) {
    randomFillSync(MASK_POOL);
    maskIndex = 0;
  }
  return maskIndex++;
}

// Outgoing frames are written into a per-thread slab (as Node's Buffer pool does) so that a frame costs one
// Buffer view and no other allocation: the header, the payload (UTF-8 written in place) and the masking, done a
// 32-bit word at a time through one Int32Array over the slab (each payload starts on a 4-byte boundary). A slab
// is replaced when full; the old one lives on while frames written from it are still queued in sockets.
const SLAB_SIZE = 64 * 1024;
/** Frames bigger than this get their own buffer. */
const SLAB_MAX_FRAME = 8 * 1024;
let slab = newSlab();
let slabOffset = 0;

function newSlab(): { buf: Buffer; words: Int32Array } {
  const ab = new ArrayBuffer(SLAB_SIZE);
  return { buf: Buffer.from(ab), words: new Int32Array(ab) };
}

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/**
 * One masked frame with FIN set: `opcode` and a payload of `code` (a close status code, 2 bytes; -1: none)
 * followed by `text` (UTF-8) or `data`.
 */
export function buildFrame(opcode: number, text: string | null, data: Uint8Array | null, code = -1): Buffer {
  const prefix = code >= 0 ? 2 : 0;
  let len: number;
  let hdr: number;
  if (text !== null) {
    // The header size follows from bounds on the UTF-8 length (chars ≤ bytes ≤ 3 · chars) when they agree:
    // then the text is written without measuring it first.
    const lo = prefix + text.length;
    const hi = prefix + 3 * text.length;
    if (hi < 126) hdr = 6;
    else if (lo >= 126 && hi < 65536) hdr = 8;
    else hdr = -1;
    len = hdr === -1 ? prefix + Buffer.byteLength(text) : hi; // an upper bound until written
    if (hdr === -1) hdr = len < 126 ? 6 : len < 65536 ? 8 : 14;
  } else {
    len = prefix + (data !== null ? data.length : 0);
    hdr = len < 126 ? 6 : len < 65536 ? 8 : 14;
  }
  let buf: Buffer;
  let words: Int32Array | null;
  let at: number;
  if (hdr + len + 3 <= SLAB_MAX_FRAME) {
    if (slabOffset + hdr + len + 3 > SLAB_SIZE) {
      slab = newSlab();
      slabOffset = 0;
    }
    buf = slab.buf;
    words = slab.words;
    at = slabOffset + ((4 - ((slabOffset + hdr) & 3)) & 3);
  } else {
    buf = Buffer.allocUnsafe(hdr + len + 3);
    at = (4 - ((buf.byteOffset + hdr) & 3)) & 3;
    words = null;
  }
  const p = at + hdr;
  if (code >= 0) {
    buf[p] = code >>> 8;
    buf[p + 1] = code & 0xff;
  }
  if (text !== null) len = prefix + buf.write(text, p + prefix, 'utf8');
  else if (data !== null) buf.set(data, p + prefix);
  buf[at] = 0x80 | opcode;
  if (hdr === 6) buf[at + 1] = 0x80 | len;
  else if (hdr === 8) {
    buf[at + 1] = 0x80 | 126;
    buf[at + 2] = len >>> 8;
    buf[at + 3] = len & 0xff;
  } else {
    buf[at + 1] = 0x80 | 127;
    buf.writeUInt32BE(Math.floor(len / 0x1_0000_0000), at + 2);
    buf.writeUInt32BE(len >>> 0, at + 6);
  }
  // Masking key: 4 fresh bytes from the pool, in the header and as a word in the platform's byte order.
  const mo = nextMask() << 2;
  const m0 = MASK_POOL[mo]!;
  const m1 = MASK_POOL[mo + 1]!;
  const m2 = MASK_POOL[mo + 2]!;
  const m3 = MASK_POOL[mo + 3]!;
  buf[p - 4] = m0;
  buf[p - 3] = m1;
  buf[p - 2] = m2;
  buf[p - 1] = m3;
  const nWords = len >> 2;
  if (nWords > 0) {
    const m = LITTLE_ENDIAN ? m0 | (m1 << 8) | (m2 << 16) | (m3 << 24) : (m0 << 24) | (m1 << 16) | (m2 << 8) | m3;
    const view = words ?? new Int32Array(buf.buffer, buf.byteOffset + p, nWords);
    const w0 = words === null ? 0 : (buf.byteOffset + p) >> 2;
    const w1 = w0 + nWords;
    for (let i = w0; i < w1; i++) view[i]! ^= m;
  }
  for (let i = nWords << 2; i < len; i++) buf[p + i]! ^= MASK_POOL[mo + (i & 3)]!;
  const total = hdr + len;
  if (words === null) return buf.subarray(at, at + total);
  slabOffset = at + total;
  return Buffer.from(buf.buffer, buf.byteOffset + at, total);
}

/** A masked frame ready to write. */
export function maskedFrame(opcode: number, payload: string | Uint8Array): Buffer {
  return typeof payload === 'string' ? buildFrame(opcode, payload, null) : buildFrame(opcode, null, payload);
}

/** A close frame with `code` and `reason` (no code: an empty payload). */
export function closeFrame(code: number | undefined, reason: string): Buffer {
  return code === undefined ? buildFrame(0x8, null, null) : buildFrame(0x8, reason, null, code);
}

/** Close codes a peer may send (RFC 6455 §7.4, IANA registry; 1004-1006 and 1015 never on the wire). */
export function isValidCloseCode(code: number): boolean {
  return (code >= 1000 && code <= 1014 && code !== 1004 && code !== 1005 && code !== 1006) || (code >= 3000 && code <= 4999);
}

/** A close frame's payload (§5.5.1): its code (1005: none) and reason, or the problem that fails the connection. */
export type ClosePayload = { code: number; reason: string } | { problem: string; errorCode: 'PROTOCOL' | 'INVALID_UTF8'; closeCode: 1002 | 1007 };

export function readClosePayload(data: Buffer, start: number, stop: number): ClosePayload {
  const len = stop - start;
  if (len === 0) return { code: 1005, reason: '' };
  if (len === 1) return { problem: 'a close frame with a 1-byte payload', errorCode: 'PROTOCOL', closeCode: 1002 };
  const code = (data[start]! << 8) | data[start + 1]!;
  if (!isValidCloseCode(code)) return { problem: `invalid close code ${code}`, errorCode: 'PROTOCOL', closeCode: 1002 };
  if (len === 2) return { code, reason: '' };
  if (!isUtf8(data.subarray(start + 2, stop))) return { problem: 'a close reason that is not UTF-8', errorCode: 'INVALID_UTF8', closeCode: 1007 };
  return { code, reason: data.toString('utf8', start + 2, stop) };
}

/** The size of the server frame whose header starts at `src[start]`, when the header is complete (0 otherwise or over `maxPayload`). */
export function frameSize(src: Buffer, start: number, end: number, maxPayload: number): number {
  if (end - start < 2) return 0;
  const l = src[start + 1]! & 0x7f;
  if (l < 126) return 2 + l;
  if (l === 126) return end - start >= 4 ? 4 + src.readUInt16BE(start + 2) : 0;
  if (end - start < 10) return 0;
  const size = src.readUInt32BE(start + 2) * 0x1_0000_0000 + src.readUInt32BE(start + 6);
  return size <= maxPayload ? 10 + size : 0;
}
