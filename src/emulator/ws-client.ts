/**
 * A minimal RFC 6455 WebSocket client over `net.Socket` for the emulator: thousands of idle connections per
 * thread at the lowest CPU cost.
 *
 * - Opening handshake (§4.1): HTTP/1.1 GET with Upgrade, a random Sec-WebSocket-Key whose Sec-WebSocket-Accept is
 *   checked, the offered subprotocols (the answer must be one of them, and present when some were offered), no
 *   extensions (a server that answers with one is refused), optional extra headers (HTTP Basic auth), a source
 *   address and a handshake timeout.
 * - Frames (§5): every client frame is masked with a fresh 32-bit key from a CSPRNG pool (§5.3), the payload is
 *   XORed a 32-bit word at a time; text and binary messages, fragmented messages reassembled (§5.4), control
 *   frames interleaved; a ping is answered by a pong with the same payload at once (§5.5.2/5.5.3); close frames
 *   with code and reason both ways (§5.5.1, §7); a maximum message size (close 1009); protocol violations fail
 *   the connection with close 1002, invalid UTF-8 in text with 1007 (the check can be skipped).
 * - `ws://` reads through `net.connect({ onread })` into one buffer shared by every connection of the thread:
 *   no per-read Buffer, no stream machinery on the read path. Bytes of an incomplete frame are copied into the
 *   connection's own buffer until the frame is complete. `wss://` uses `tls.connect` and its `data` events.
 * - No per-connection closures: the socket listeners are module functions that find their client through a
 *   symbol on the socket, and events go to one handler object (the station) with the client as first argument.
 */
import { createHash, randomFillSync } from 'node:crypto';
import { isUtf8 } from 'node:buffer';
import { connect as netConnect, isIP, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';

export const WS_CONNECTING = 0;
export const WS_OPEN = 1;
export const WS_CLOSING = 2;
export const WS_CLOSED = 3;
export type WsReadyState = 0 | 1 | 2 | 3;

export type WsErrorCode =
  /** TCP/TLS connect or socket error (see `cause`). */
  | 'SOCKET'
  /** No complete handshake answer within `handshakeTimeoutMs`. */
  | 'HANDSHAKE_TIMEOUT'
  /** The server answered with another status than 101 (`status`). */
  | 'HANDSHAKE_STATUS'
  /** A malformed answer, a wrong Sec-WebSocket-Accept or Upgrade/Connection header, an extension. */
  | 'HANDSHAKE_INVALID'
  /** The server chose a subprotocol that was not offered, or none when some were. */
  | 'SUBPROTOCOL'
  /** A frame that breaks RFC 6455 (close 1002 sent). */
  | 'PROTOCOL'
  /** A message over `maxPayload` (close 1009 sent). */
  | 'MESSAGE_TOO_BIG'
  /** A text message that is not UTF-8 (close 1007 sent). */
  | 'INVALID_UTF8'
  /** close() or terminate() before the handshake finished. */
  | 'ABORTED';

export class WsError extends Error {
  constructor(
    message: string,
    readonly code: WsErrorCode,
    /** HTTP status of a refused handshake. */
    readonly status?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'WsError';
  }
}

/** Receives the events of one or many clients; each call names the client. */
export interface WsHandler {
  /** Handshake done; `ws.protocol` is the subprotocol chosen. */
  wsOpen(ws: WsClient): void;
  /** A complete text message. */
  wsMessage(ws: WsClient, text: string): void;
  /** A complete binary message (dropped when absent). The buffer may be reused after the call: copy to keep. */
  wsBinary?(ws: WsClient, data: Buffer): void;
  /**
   * Always the last event, exactly once: the code and reason of the server's close frame (1005: it had no code),
   * the code this client failed the connection with (1002, 1007, 1009), else 1006 (no close frame).
   */
  wsClose(ws: WsClient, code: number, reason: string): void;
  /** A failure; `wsClose` follows. `ws.readyState` is still CONNECTING for a failed handshake. */
  wsError(ws: WsClient, error: WsError): void;
}

export interface WsClientOptions {
  /** Extra request headers, e.g. `{ authorization: 'Basic …' }`. */
  headers?: Record<string, string>;
  /** Source address of the TCP connection. */
  localAddress?: string;
  /** Default 30000 ms. */
  handshakeTimeoutMs?: number;
  /** Largest message accepted, in bytes (default 1 MiB); a bigger one fails the connection with 1009. */
  maxPayload?: number;
  /** Do not check that text messages are UTF-8 (default false: checked, natively). */
  skipUtf8Validation?: boolean;
  /** How long to wait for the server's close frame / TCP close after ours (default 30000 ms). */
  closeTimeoutMs?: number;
}

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
const OWNER = Symbol('wsClient');
const MAX_HANDSHAKE = 16 * 1024;

// One read buffer for every ws:// connection of the thread (onread callbacks run one at a time and the
// parser copies whatever it has to keep).
const READ_BUFFER = Buffer.allocUnsafeSlow(64 * 1024);

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
function buildFrame(opcode: number, text: string | null, data: Uint8Array | null, code = -1): Buffer {
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

function closeFrame(code: number | undefined, reason: string): Buffer {
  return code === undefined ? buildFrame(0x8, null, null) : buildFrame(0x8, reason, null, code);
}

/** Close codes a peer may send (RFC 6455 §7.4, IANA registry; 1004-1006 and 1015 never on the wire). */
export function isValidCloseCode(code: number): boolean {
  return (code >= 1000 && code <= 1014 && code !== 1004 && code !== 1005 && code !== 1006) || (code >= 3000 && code <= 4999);
}

// Module-level socket listeners (no closures per connection): `this` is the socket.
function onReadCallback(this: Socket, nread: number, buf: Buffer): boolean {
  (this as SocketWithOwner)[OWNER].feed(buf, nread);
  return true;
}
function onData(this: Socket, chunk: Buffer): void {
  (this as SocketWithOwner)[OWNER].feed(chunk, chunk.length);
}
function onSocketError(this: Socket, error: Error): void {
  (this as SocketWithOwner)[OWNER].socketError(error);
}
function onSocketClose(this: Socket): void {
  (this as SocketWithOwner)[OWNER].socketClosed();
}
function onHandshakeTimeout(client: WsClient): void {
  client.handshakeTimedOut();
}
function onCloseTimeout(client: WsClient): void {
  client.terminate();
}
const ON_READ = { buffer: READ_BUFFER, callback: onReadCallback };

type SocketWithOwner = Socket & { [OWNER]: WsClient };

// Parser flags.
const F_FRAGMENTED_TEXT = 1;
const F_CLOSE_SENT = 2;
const F_CLOSE_RECEIVED = 4;
const F_SKIP_UTF8 = 8;
const F_ERROR_EMITTED = 16;

export class WsClient {
  #socket: SocketWithOwner;
  #handler: WsHandler;
  #state: WsReadyState = WS_CONNECTING;
  #flags = 0;
  #protocol = '';
  /** CONNECTING: the expected Sec-WebSocket-Accept, then the offered subprotocols joined by ", ". */
  #accept: string | null;
  #offered: string;
  /** Bytes kept between reads (an incomplete handshake answer or frame): #pending[0 … #pendingLen). */
  #pending: Buffer | null = null;
  #pendingLen = 0;
  /** Fragments of a message being reassembled. */
  #fragments: Buffer[] | null = null;
  #fragmentsLen = 0;
  #maxPayload: number;
  #timer: NodeJS.Timeout | null = null;
  #closeTimeoutMs: number;
  #closeCode = 1006;
  #closeReason = '';

  /**
   * Connects to `url` (`ws://` or `wss://`), offering `protocols`. Events go to `handler`. Throws a TypeError
   * for a bad URL (nothing is opened then).
   */
  constructor(url: string | URL, protocols: readonly string[], handler: WsHandler, options: WsClientOptions = {}) {
    const u = typeof url === 'string' ? new URL(url) : url;
    const secure = u.protocol === 'wss:';
    if (!secure && u.protocol !== 'ws:') throw new TypeError(`unsupported WebSocket URL scheme ${u.protocol}`);
    if (u.hash !== '') throw new TypeError('a WebSocket URL has no fragment');
    for (const p of protocols) if (!/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(p) || protocols.indexOf(p) !== protocols.lastIndexOf(p)) throw new TypeError(`invalid subprotocol ${JSON.stringify(p)}`);
    this.#handler = handler;
    this.#maxPayload = options.maxPayload ?? 1 << 20;
    this.#closeTimeoutMs = options.closeTimeoutMs ?? 30_000;
    if (options.skipUtf8Validation === true) this.#flags |= F_SKIP_UTF8;
    this.#offered = protocols.join(', ');
    const key = randomFillSync(Buffer.allocUnsafe(16)).toString('base64');
    this.#accept = createHash('sha1').update(key + GUID).digest('base64');
    const host = u.hostname.startsWith('[') ? u.hostname.slice(1, -1) : u.hostname;
    const port = u.port !== '' ? Number(u.port) : secure ? 443 : 80;
    let request = `GET ${u.pathname}${u.search} HTTP/1.1\r\nHost: ${u.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n`;
    if (protocols.length > 0) request += `Sec-WebSocket-Protocol: ${this.#offered}\r\n`;
    if (u.username !== '' && options.headers?.authorization === undefined && options.headers?.Authorization === undefined) {
      request += `Authorization: Basic ${Buffer.from(`${decodeURIComponent(u.username)}:${decodeURIComponent(u.password)}`).toString('base64')}\r\n`;
    }
    for (const [name, value] of Object.entries(options.headers ?? {})) {
      if (/[\r\n]/.test(name) || /[\r\n]/.test(value)) throw new TypeError(`invalid header ${name}`);
      request += `${name}: ${value}\r\n`;
    }
    request += '\r\n';
    const localAddress = options.localAddress;
    const socket = (
      secure
        ? tlsConnect({ host, port, ...(isIP(host) === 0 ? { servername: host } : {}), ...(localAddress === undefined ? {} : { localAddress }) })
        : netConnect({ host, port, onread: ON_READ, ...(localAddress === undefined ? {} : { localAddress }) })
    ) as SocketWithOwner;
    socket[OWNER] = this;
    this.#socket = socket;
    if (secure) socket.on('data', onData);
    socket.on('error', onSocketError);
    socket.on('close', onSocketClose);
    socket.setNoDelay(true);
    socket.write(request);
    this.#timer = setTimeout(onHandshakeTimeout, options.handshakeTimeoutMs ?? 30_000, this);
  }

  get readyState(): WsReadyState {
    return this.#state;
  }

  /** The subprotocol the server chose ('' before the handshake or when none was offered). */
  get protocol(): string {
    return this.#protocol;
  }

  /** Bytes waiting in the socket's write buffer. */
  get bufferedAmount(): number {
    return this.#socket.writableLength;
  }

  /** Sends a text message (one frame); false when the connection is not open. */
  send(text: string): boolean {
    if (this.#state !== WS_OPEN) return false;
    this.#socket.write(buildFrame(0x1, text, null));
    return true;
  }

  /** Sends a binary message (one frame); false when the connection is not open. */
  sendBinary(data: Uint8Array): boolean {
    if (this.#state !== WS_OPEN) return false;
    this.#socket.write(maskedFrame(0x2, data));
    return true;
  }

  /** Sends a ping (payload ≤ 125 bytes); false when the connection is not open. */
  ping(data: string | Uint8Array = ''): boolean {
    if (this.#state !== WS_OPEN) return false;
    if ((typeof data === 'string' ? Buffer.byteLength(data) : data.length) > 125) throw new RangeError('a ping payload is at most 125 bytes');
    this.#socket.write(maskedFrame(0x9, data));
    return true;
  }

  /**
   * Starts the closing handshake (§7.1.2) with `code` (1000, 1001, … or 3000-4999; none: no status) and a
   * reason of at most 123 bytes; the socket is destroyed if the server does not finish it in time. Before the
   * handshake finished: aborts (error ABORTED, then close 1006).
   */
  close(code?: number, reason = ''): void {
    if (code !== undefined && (!isValidCloseCode(code) || code === 1015)) throw new RangeError(`invalid close code ${code}`);
    if (Buffer.byteLength(reason) > 123) throw new RangeError('a close reason is at most 123 bytes');
    if (code === undefined && reason !== '') throw new TypeError('a close reason needs a code');
    if (this.#state === WS_CONNECTING) {
      this.#abort(new WsError('closed before the handshake finished', 'ABORTED'));
      return;
    }
    if (this.#state !== WS_OPEN) return;
    this.#state = WS_CLOSING;
    this.#flags |= F_CLOSE_SENT;
    this.#socket.write(closeFrame(code, reason));
    this.#timer = setTimeout(onCloseTimeout, this.#closeTimeoutMs, this);
  }

  /** Destroys the connection at once (no close frame): close 1006 follows. */
  terminate(): void {
    if (this.#state === WS_CLOSED) return;
    if (this.#state === WS_CONNECTING) {
      this.#abort(new WsError('terminated before the handshake finished', 'ABORTED'));
      return;
    }
    this.#state = WS_CLOSING;
    this.#socket.destroy();
  }

  // --- socket events (called by the module-level listeners) ---

  /** @internal */
  socketError(error: Error): void {
    if (this.#state === WS_CONNECTING) this.#emitError(new WsError(`cannot connect: ${error.message}`, 'SOCKET', undefined, { cause: error }));
    else if (this.#state === WS_OPEN) this.#emitError(new WsError(`socket error: ${error.message}`, 'SOCKET', undefined, { cause: error }));
    // 'close' follows.
  }

  /** @internal */
  socketClosed(): void {
    if (this.#timer !== null) {
      clearTimeout(this.#timer);
      this.#timer = null;
    }
    this.#state = WS_CLOSED;
    this.#pending = null;
    this.#fragments = null;
    const code = (this.#flags & F_CLOSE_RECEIVED) !== 0 ? this.#closeCode : 1006;
    this.#handler.wsClose(this, code, code === 1006 ? '' : this.#closeReason);
  }

  /** @internal */
  handshakeTimedOut(): void {
    this.#timer = null;
    if (this.#state === WS_CONNECTING) this.#abort(new WsError('no handshake answer in time', 'HANDSHAKE_TIMEOUT'));
  }

  /** @internal Bytes read: `buf[0 … n)` (`buf` may be the thread's shared read buffer: copy what is kept). */
  feed(buf: Buffer, n: number): void {
    if (this.#state === WS_CLOSED || (this.#flags & F_CLOSE_RECEIVED) !== 0) return;
    let data = buf;
    let end = n;
    if (this.#pendingLen > 0) {
      this.#append(buf, 0, n);
      data = this.#pending!;
      end = this.#pendingLen;
    }
    let pos = 0;
    if (this.#state === WS_CONNECTING) {
      pos = this.#handshake(data, end);
      if (pos < 0) {
        // Incomplete answer: keep it (unless it already is in #pending).
        if (this.#state === WS_CONNECTING && data !== this.#pending) this.#append(data, 0, end);
        return;
      }
      if (this.#gone()) return;
    }
    pos = this.#frames(data, pos, end);
    if (pos < 0) return; // connection failed, closed by the server or terminated
    if (data === this.#pending) {
      if (pos === end) {
        this.#pendingLen = 0;
        // Drop big buffers, keep small ones for the next partial frame.
        if (this.#pending.length > 4096) this.#pending = null;
      } else if (pos > 0) {
        this.#pending.copy(this.#pending, 0, pos, end);
        this.#pendingLen = end - pos;
      }
    } else if (pos < end) {
      this.#append(data, pos, end);
    }
  }

  /** Closed, or destroyed by terminate(): nothing more to parse. */
  #gone(): boolean {
    return this.#state === WS_CLOSED || this.#socket.destroyed || (this.#flags & F_CLOSE_RECEIVED) !== 0;
  }

  /** Appends `src[start … end)` to #pending, growing it (at least to the size of the frame being read). */
  #append(src: Buffer, start: number, end: number): void {
    const n = end - start;
    const need = this.#pendingLen + n;
    let p = this.#pending;
    if (p === null || p.length < need) {
      let cap = Math.max(need, p === null ? 256 : p.length * 2);
      const want = this.#wantedBytes(src, start, end);
      if (want > cap) cap = want;
      const grown = Buffer.allocUnsafe(cap);
      if (p !== null && this.#pendingLen > 0) p.copy(grown, 0, 0, this.#pendingLen);
      this.#pending = p = grown;
    }
    src.copy(p, this.#pendingLen, start, end);
    this.#pendingLen = need;
  }

  /** The size of the frame that starts the pending bytes, when its header is known (0 otherwise). */
  #wantedBytes(src: Buffer, start: number, end: number): number {
    if (this.#state !== WS_OPEN || this.#pendingLen > 0 || end - start < 2) return 0;
    const l = src[start + 1]! & 0x7f;
    if (l < 126) return 2 + l;
    if (l === 126) return end - start >= 4 ? 4 + src.readUInt16BE(start + 2) : 0;
    if (end - start < 10) return 0;
    const size = src.readUInt32BE(start + 2) * 0x1_0000_0000 + src.readUInt32BE(start + 6);
    return size <= this.#maxPayload ? 10 + size : 0;
  }

  /** Parses the handshake answer in `data[0 … end)`; returns the offset after it, or -1 (incomplete / failed). */
  #handshake(data: Buffer, end: number): number {
    const at = data.indexOf('\r\n\r\n', 0, 'latin1');
    if (at < 0 || at >= end) {
      if (end > MAX_HANDSHAKE) this.#abort(new WsError('handshake answer too long', 'HANDSHAKE_INVALID'));
      return -1;
    }
    const lines = data.toString('latin1', 0, at).split('\r\n');
    const status = /^HTTP\/1\.1 (\d{3})(?: |$)/.exec(lines[0]!);
    if (status === null) {
      this.#abort(new WsError(`invalid handshake answer ${JSON.stringify(lines[0]!.slice(0, 80))}`, 'HANDSHAKE_INVALID'));
      return -1;
    }
    if (status[1] !== '101') {
      const code = Number(status[1]);
      this.#abort(new WsError(`unexpected server response: ${code}`, 'HANDSHAKE_STATUS', code));
      return -1;
    }
    const headers = new Map<string, string>();
    for (let i = 1; i < lines.length; i++) {
      const line = lines[i]!;
      const colon = line.indexOf(':');
      if (colon <= 0) {
        this.#abort(new WsError(`invalid handshake header line ${JSON.stringify(line.slice(0, 80))}`, 'HANDSHAKE_INVALID'));
        return -1;
      }
      const name = line.slice(0, colon).trim().toLowerCase();
      const value = line.slice(colon + 1).trim();
      const prev = headers.get(name);
      headers.set(name, prev === undefined ? value : `${prev}, ${value}`);
    }
    let problem: string | null = null;
    let code: WsErrorCode = 'HANDSHAKE_INVALID';
    if (headers.get('upgrade')?.toLowerCase() !== 'websocket') problem = 'Upgrade header is not "websocket"';
    else if (!(headers.get('connection') ?? '').toLowerCase().split(',').some((t) => t.trim() === 'upgrade')) problem = 'Connection header has no "Upgrade"';
    else if (headers.get('sec-websocket-accept') !== this.#accept) problem = 'invalid Sec-WebSocket-Accept';
    else if (headers.has('sec-websocket-extensions')) problem = `server chose an extension that was not offered: ${headers.get('sec-websocket-extensions')}`;
    else {
      const chosen = headers.get('sec-websocket-protocol');
      const offered = this.#offered === '' ? [] : this.#offered.split(', ');
      code = 'SUBPROTOCOL';
      if (chosen === undefined) {
        if (offered.length > 0) problem = `server chose no subprotocol (offered ${this.#offered})`;
      } else if (!offered.includes(chosen)) problem = `server chose subprotocol ${JSON.stringify(chosen)}, not offered (${this.#offered === '' ? 'none' : this.#offered})`;
      else this.#protocol = chosen;
    }
    if (problem !== null) {
      this.#abort(new WsError(problem, code));
      return -1;
    }
    if (this.#timer !== null) {
      clearTimeout(this.#timer);
      this.#timer = null;
    }
    this.#accept = null;
    this.#state = WS_OPEN;
    this.#handler.wsOpen(this);
    return at + 4;
  }

  /**
   * Parses frames in `data[pos … end)`; returns the offset of the first incomplete frame, or -1 when the
   * connection failed or the handler closed it.
   */
  #frames(data: Buffer, pos: number, end: number): number {
    while (end - pos >= 2) {
      const b0 = data[pos]!;
      const b1 = data[pos + 1]!;
      const opcode = b0 & 0x0f;
      const fin = (b0 & 0x80) !== 0;
      let len = b1 & 0x7f;
      let hdr = 2;
      if ((b0 & 0x70) !== 0) return this.#fail(1002, 'PROTOCOL', 'RSV bits set without an extension');
      if ((b1 & 0x80) !== 0) return this.#fail(1002, 'PROTOCOL', 'a server frame is masked');
      if (len === 126) {
        if (end - pos < 4) break;
        len = (data[pos + 2]! << 8) | data[pos + 3]!;
        hdr = 4;
        if (len < 126) return this.#fail(1002, 'PROTOCOL', 'length not in minimal form');
      } else if (len === 127) {
        if (end - pos < 10) break;
        const high = data.readUInt32BE(pos + 2);
        len = high * 0x1_0000_0000 + data.readUInt32BE(pos + 6);
        hdr = 10;
        if (high >= 0x8000_0000) return this.#fail(1002, 'PROTOCOL', 'length with the most significant bit set');
        if (len < 65536) return this.#fail(1002, 'PROTOCOL', 'length not in minimal form');
      }
      if (opcode >= 0x8) {
        if (!fin) return this.#fail(1002, 'PROTOCOL', 'a fragmented control frame');
        if (len > 125) return this.#fail(1002, 'PROTOCOL', 'a control frame over 125 bytes');
      } else if (len > this.#maxPayload || this.#fragmentsLen + len > this.#maxPayload) {
        return this.#fail(1009, 'MESSAGE_TOO_BIG', `message over ${this.#maxPayload} bytes`);
      }
      if (end - pos < hdr + len) break;
      const start = pos + hdr;
      const stop = start + len;
      pos = stop;
      switch (opcode) {
        case 0x1:
        case 0x2: {
          if (this.#fragments !== null) return this.#fail(1002, 'PROTOCOL', 'a new message inside a fragmented one');
          if (fin) {
            if (!this.#deliver(opcode === 0x1, data, start, stop)) return -1;
          } else {
            this.#fragments = [Buffer.from(data.subarray(start, stop))];
            this.#fragmentsLen = len;
            if (opcode === 0x1) this.#flags |= F_FRAGMENTED_TEXT;
            else this.#flags &= ~F_FRAGMENTED_TEXT;
          }
          break;
        }
        case 0x0: {
          const frags = this.#fragments;
          if (frags === null) return this.#fail(1002, 'PROTOCOL', 'a continuation frame without a message');
          frags.push(Buffer.from(data.subarray(start, stop)));
          this.#fragmentsLen += len;
          if (fin) {
            const whole = Buffer.concat(frags, this.#fragmentsLen);
            this.#fragments = null;
            this.#fragmentsLen = 0;
            if (!this.#deliver((this.#flags & F_FRAGMENTED_TEXT) !== 0, whole, 0, whole.length)) return -1;
          }
          break;
        }
        case 0x8:
          this.#onCloseFrame(data, start, stop);
          return -1;
        case 0x9: {
          // Pong with the same payload, at once (§5.5.3).
          if (this.#state === WS_OPEN) this.#socket.write(maskedFrame(0xa, data.subarray(start, stop)));
          break;
        }
        case 0xa:
          break;
        default:
          return this.#fail(1002, 'PROTOCOL', `unknown opcode ${opcode}`);
      }
    }
    return pos;
  }

  /** Hands a message to the handler; false when parsing must stop (failed, closed or terminated). */
  #deliver(text: boolean, data: Buffer, start: number, stop: number): boolean {
    if (text) {
      if ((this.#flags & F_SKIP_UTF8) === 0 && !isUtf8(data.subarray(start, stop))) {
        this.#fail(1007, 'INVALID_UTF8', 'a text message that is not UTF-8');
        return false;
      }
      this.#handler.wsMessage(this, data.toString('utf8', start, stop));
    } else if (this.#handler.wsBinary !== undefined) {
      this.#handler.wsBinary(this, data.subarray(start, stop));
    }
    return !this.#gone();
  }

  #onCloseFrame(data: Buffer, start: number, stop: number): void {
    const len = stop - start;
    let code = 1005;
    let reason = '';
    if (len === 1) {
      this.#fail(1002, 'PROTOCOL', 'a close frame with a 1-byte payload');
      return;
    }
    if (len >= 2) {
      code = (data[start]! << 8) | data[start + 1]!;
      if (!isValidCloseCode(code)) {
        this.#fail(1002, 'PROTOCOL', `invalid close code ${code}`);
        return;
      }
      if (len > 2) {
        if (!isUtf8(data.subarray(start + 2, stop))) {
          this.#fail(1007, 'INVALID_UTF8', 'a close reason that is not UTF-8');
          return;
        }
        reason = data.toString('utf8', start + 2, stop);
      }
    }
    this.#flags |= F_CLOSE_RECEIVED;
    this.#closeCode = code;
    this.#closeReason = reason;
    this.#pendingLen = 0;
    this.#fragments = null;
    if ((this.#flags & F_CLOSE_SENT) === 0) {
      // Echo the code (§5.5.1), then let the server close TCP first (§7.1.1); we end our side now.
      this.#flags |= F_CLOSE_SENT;
      this.#state = WS_CLOSING;
      this.#socket.end(closeFrame(code === 1005 ? undefined : code, ''));
      if (this.#timer === null) this.#timer = setTimeout(onCloseTimeout, this.#closeTimeoutMs, this);
    } else {
      this.#socket.end();
    }
  }

  /** Fails the connection (§7.1.7): close frame with `code`, error event, end of the socket. Returns -1. */
  #fail(code: number, errorCode: WsErrorCode, message: string): -1 {
    this.#pendingLen = 0;
    this.#fragments = null;
    this.#emitError(new WsError(message, errorCode));
    if (this.#state === WS_OPEN) {
      this.#state = WS_CLOSING;
      this.#flags |= F_CLOSE_SENT | F_CLOSE_RECEIVED;
      this.#closeCode = code;
      this.#closeReason = '';
      this.#socket.end(closeFrame(code, ''));
      if (this.#timer === null) this.#timer = setTimeout(onCloseTimeout, this.#closeTimeoutMs, this);
    }
    return -1;
  }

  /** Handshake failure: error event, socket destroyed, close 1006 follows. */
  #abort(error: WsError): void {
    if (this.#timer !== null) {
      clearTimeout(this.#timer);
      this.#timer = null;
    }
    this.#emitError(error);
    this.#state = WS_CLOSING;
    this.#socket.destroy();
  }

  #emitError(error: WsError): void {
    if ((this.#flags & F_ERROR_EMITTED) !== 0) return;
    this.#flags |= F_ERROR_EMITTED;
    this.#handler.wsError(this, error);
  }
}
