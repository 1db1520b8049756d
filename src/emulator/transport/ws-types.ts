/**
 * The vocabulary of the emulator's WebSocket client (./ws-client.ts): ready states, errors and options.
 */

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


export interface WsTlsOptions {
  ca?: string;
  cert?: string;
  key?: string;
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
  /** wss://: PEM texts of the CA to trust (instead of the system's), and of a client certificate and key (security profile 3). */
  tls?: WsTlsOptions;
  /** How long to wait for the server's close frame / TCP close after ours (default 30000 ms). */
  closeTimeoutMs?: number;
}
