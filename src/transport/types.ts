/**
 * What the shard sees of a transport, whichever runtime serves it: uWebSockets.js under Node
 * (src/transport/uws-server.ts) or Bun.serve under Bun (src/transport/bun-server.ts). Neither module is imported
 * from here, so loading these types never loads a transport (src/transport/runtime.ts picks one).
 */
import type { HttpService, WebResponse } from '../http/types.js';

/** What the upgrade request carries, read synchronously before any await (uWS invalidates `req`). */
export interface UpgradeInfo {
  url: string;
  subprotocols: string;
  authorization: string;
  remoteAddress: string;
  /** True on the TLS listener (wss://). */
  secure: boolean;
  /** The value of `EndpointOptions.clientCertHeader` ('' when absent or not configured). */
  clientCert: string;
  /** The built-in mTLS front's headers (FRONT_HEADERS; '' when absent): its secret, the verified certificate, the peer. */
  front: string;
  frontCert: string;
  frontAddress: string;
  /** X-Forwarded-Proto ('' when absent): how a proxy's client reached it (believed only from trusted proxies). */
  forwardedProto: string;
}

/** Headers the built-in mTLS front (src/transport/mtls-front.ts) adds; it drops any a client sent itself. */
export const FRONT_HEADERS = {
  secret: 'x-ocpp-router-front',
  cert: 'x-ocpp-router-client-cert',
  address: 'x-ocpp-router-remote-address',
} as const;

export type UpgradeDecision<T> =
  | { accept: true; userData: T; subprotocol: string; closeAfterOpen?: { code: number; reason: string }; release?: () => void }
  | { accept: false; status: number; message: string; headers?: Record<string, string> };

export type TransportViolation = 'binary' | 'oversize' | 'invalidUtf8';

/** RFC 6455 §7.4.1: "data within a message that was not consistent with the type of the message". */
export const CLOSE_INVALID_PAYLOAD = 1007;

/** A station connection as the session sees it (send text, close); guards against use after close. */
export interface StationSocket {
  readonly open: boolean;
  /** False when the frame was dropped (backpressure limit reached, or closed). */
  send(text: string): boolean;
  close(code: number, reason: string): void;
  /** Drops the connection without a close frame. */
  terminate(): void;
}

/**
 * The open/closed bookkeeping both transports' station sockets share: nothing is sent or closed twice once the
 * connection is closing or gone. Subclasses make the runtime's calls (one subclass per process: the call stays
 * monomorphic on the frame path).
 */
export abstract class GuardedStationSocket implements StationSocket {
  #open = true;

  get open(): boolean {
    return this.#open;
  }

  send(text: string): boolean {
    return this.#open && this.sendFrame(text);
  }

  close(code: number, reason: string): void {
    if (!this.#open) return;
    this.#open = false;
    this.endWithClose(code, reason);
  }

  terminate(): void {
    if (!this.#open) return;
    this.#open = false;
    this.abort();
  }

  /** The transport saw the connection end: nothing more goes out. */
  markClosed(): void {
    this.#open = false;
  }

  /** False when the runtime dropped the frame (backpressure limit). */
  protected abstract sendFrame(text: string): boolean;
  /** A close frame with `code` and `reason`, then the end of the connection. */
  protected abstract endWithClose(code: number, reason: string): void;
  /** The end of the connection without a close frame. */
  protected abstract abort(): void;
}

export interface StationEndpointHandler<T> {
  upgrade(info: UpgradeInfo): UpgradeDecision<T> | Promise<UpgradeDecision<T>>;
  open(socket: StationSocket, station: T): void;
  message(socket: StationSocket, station: T, text: string): void;
  /**
   * A frame the transport rejected: binary, larger than maxFrameBytes, or a text frame with invalid UTF-8 (the
   * transport has then already dropped the connection; `close` follows with 1007).
   */
  violation(socket: StationSocket, station: T, kind: TransportViolation, bytes: number): void;
  close(socket: StationSocket, station: T, code: number, reason: string): void;
}

export interface EndpointOptions {
  path: string;
  maxFrameBytes: number;
  pingIntervalS: number;
  /** Largest HTTP request body; larger ones get 413. */
  maxHttpBodyBytes: number;
  /** Path of the live-log WebSocket route. */
  logPath: string;
  /** Header (lower case) a TLS-terminating proxy puts the client certificate in; null: not read. */
  clientCertHeader?: string | null;
}

/**
 * TLS settings of the listener. Under uWS (uSockets/OpenSSL) TLS 1.2 is the minimum protocol version; with
 * `clientCaFile` the client is asked for a certificate and one that does not chain to that CA fails the
 * handshake, while a client without one is still let in (docs/security.md). Bun.serve: see bun-server.ts.
 */
export interface TlsListenerOptions {
  certFile: string;
  keyFile: string;
  passphrase: string | null;
  ciphers: string | null;
  dhParamsFile: string | null;
  clientCaFile: string | null;
}

/** A live-log client: only receives. */
export interface LogClient {
  /** Only entries of this station, or all when null. */
  readonly identity: string | null;
  /** Sends one text frame; false when it was dropped because the client is slow or gone. */
  send(text: string): boolean;
}

/** What both transports' live-log clients share: a slow or gone client gets nothing (dropped, never queued). */
export abstract class GuardedLogClient implements LogClient {
  readonly identity: string | null;
  #open = true;

  constructor(identity: string | null) {
    this.identity = identity;
  }

  send(text: string): boolean {
    return this.#open && this.bufferedBytes() <= SLOW_LOG_CLIENT_BYTES && this.sendFrame(text);
  }

  markClosed(): void {
    this.#open = false;
  }

  /** Bytes the runtime still holds for this client. */
  protected abstract bufferedBytes(): number;
  /** False when the runtime dropped the frame. */
  protected abstract sendFrame(text: string): boolean;
}

export interface LogEndpointHandler {
  /**
   * null accepts; otherwise the HTTP answer of the refusal. May be asynchronous (password hashes are checked off
   * the loop). `remoteAddress` as the transport gives it (src/http/ip-address.ts).
   */
  authorize(headers: Record<string, string>, query: string, remoteAddress: string): WebResponse | null | Promise<WebResponse | null>;
  open(client: LogClient): void;
  close(client: LogClient): void;
}

/** The subprotocol live-log clients may offer (see src/http/api-auth.ts logAuthHeaders for the bearer one). */
export const LOG_SUBPROTOCOL = 'log';
/** Above this many buffered bytes a log client is considered slow and frames to it are dropped. */
export const SLOW_LOG_CLIENT_BYTES = 256 * 1024;

/** One listener of a shard: station WebSockets, the live log and HTTP on one port (shared by every shard). */
export interface StationServer {
  /** Listens (SO_REUSEPORT: every shard on the same port); resolves with the bound port, or null. */
  listen(host: string, port: number): Promise<number | null>;
  /** Stops accepting new connections; open ones stay. */
  stopListening(): void;
  readonly connectionCount: number;
  /** Closes every socket at once (listener, WebSockets, keep-alive HTTP); the thread may exit after it. */
  shutdown(): void;
  /** Closes every WebSocket with a close frame (or cuts it when `terminate`). */
  closeAll(code: number, reason: string, terminate?: boolean): void;
}

/** Builds a listener; `tls` present: wss:// and https://. Throws when the TLS files cannot be used. */
export type StationServerFactory = <T>(options: EndpointOptions, handler: StationEndpointHandler<T>, http: HttpService, log: LogEndpointHandler, tls?: TlsListenerOptions) => StationServer;

/** Answers one subprotocol of the live log, `log`, if offered (never echoes the others: one may carry a bearer token). */
export function logSubprotocol(offered: string | null | undefined): string {
  return (offered ?? '').split(',').some((p) => p.trim() === LOG_SUBPROTOCOL) ? LOG_SUBPROTOCOL : '';
}

/** uWS (and Bun's server, built on it) want idleTimeout 0 or a multiple of 4 of at least 8 seconds (max 960). */
export function idleTimeoutFor(pingIntervalS: number): number {
  if (pingIntervalS <= 0) return 0;
  return Math.min(960, Math.max(8, Math.ceil(pingIntervalS / 4) * 4));
}
