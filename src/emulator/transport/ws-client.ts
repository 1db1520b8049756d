/**
 * A minimal RFC 6455 WebSocket client over `net.Socket` for the emulator: thousands of idle connections per
 * thread at the lowest CPU cost. The opening handshake is in ./ws-handshake.ts, the frame writer (masking,
 * per-thread slab) in ./ws-frames.ts, the socket and its listeners in ./ws-socket.ts; this file reads frames
 * and runs the connection.
 *
 * - Frames (§5): text and binary messages, fragmented messages reassembled (§5.4), control frames interleaved;
 *   a ping is answered by a pong with the same payload at once (§5.5.2/5.5.3); close frames with code and
 *   reason both ways (§5.5.1, §7); a maximum message size (close 1009); protocol violations fail the
 *   connection with close 1002, invalid UTF-8 in text with 1007 (the check can be skipped).
 * - Reads arrive in a buffer shared by the thread (ws://): bytes of an incomplete frame are copied into the
 *   connection's own buffer until the frame is complete.
 * - No per-connection closures: events go to one handler object (the station) with the client as first
 *   argument.
 */
import { isUtf8 } from 'node:buffer';
import type { Socket } from 'node:net';
import { buildFrame, closeFrame, frameSize, isValidCloseCode, maskedFrame, readClosePayload } from './ws-frames.js';
import { handshakeRequest, readHandshake } from './ws-handshake.js';
import { onCloseTimeout, onHandshakeTimeout, openSocket, type SocketOwner } from './ws-socket.js';
import { WS_CLOSED, WS_CLOSING, WS_CONNECTING, WS_OPEN, WsError, type WsClientOptions, type WsErrorCode, type WsReadyState } from './ws-types.js';

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

// Parser flags.
const F_FRAGMENTED_TEXT = 1;
const F_CLOSE_SENT = 2;
const F_CLOSE_RECEIVED = 4;
const F_SKIP_UTF8 = 8;
const F_ERROR_EMITTED = 16;

export class WsClient implements SocketOwner {
  #socket: Socket;
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
    const { secure, host, port, request, accept, offered } = handshakeRequest(url, protocols, options);
    this.#handler = handler;
    this.#maxPayload = options.maxPayload ?? 1 << 20;
    this.#closeTimeoutMs = options.closeTimeoutMs ?? 30_000;
    if (options.skipUtf8Validation === true) this.#flags |= F_SKIP_UTF8;
    this.#offered = offered;
    this.#accept = accept;
    const socket = openSocket(this, secure, host, port, options.localAddress, options.tls);
    this.#socket = socket;
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
      // The whole frame, when a new one starts here and its header is known.
      const want = this.#state === WS_OPEN && this.#pendingLen === 0 ? frameSize(src, start, end, this.#maxPayload) : 0;
      if (want > cap) cap = want;
      const grown = Buffer.allocUnsafe(cap);
      if (p !== null && this.#pendingLen > 0) p.copy(grown, 0, 0, this.#pendingLen);
      this.#pending = p = grown;
    }
    src.copy(p, this.#pendingLen, start, end);
    this.#pendingLen = need;
  }

  /** Reads the handshake answer in `data[0 … end)`; returns the offset after it, or -1 (incomplete / failed). */
  #handshake(data: Buffer, end: number): number {
    const answer = readHandshake(data, end, this.#accept!, this.#offered);
    if (answer === null) return -1;
    if ('error' in answer) {
      this.#abort(answer.error);
      return -1;
    }
    if (this.#timer !== null) {
      clearTimeout(this.#timer);
      this.#timer = null;
    }
    this.#protocol = answer.protocol;
    this.#accept = null;
    this.#state = WS_OPEN;
    this.#handler.wsOpen(this);
    return answer.end;
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
    const close = readClosePayload(data, start, stop);
    if ('problem' in close) {
      this.#fail(close.closeCode, close.errorCode, close.problem);
      return;
    }
    const { code, reason } = close;
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
