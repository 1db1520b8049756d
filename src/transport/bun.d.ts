/**
 * The few parts of Bun's API that src/transport/bun-server.ts uses (Bun 1.4: Bun.serve with WebSockets), declared
 * here rather than through a types package. Only valid when `isBun` (src/transport/runtime.ts) is true.
 */
export interface BunSocketAddress {
  address: string;
  family: string;
  port: number;
}

export interface BunServerWebSocket<D> {
  data: D;
  readonly remoteAddress: string;
  /** Bytes written (> 0), -1 queued past the backpressure limit, 0 dropped. */
  send(data: string | Uint8Array, compress?: boolean): number;
  close(code?: number, reason?: string): void;
  /** Drops the connection without a close frame. */
  terminate(): void;
  getBufferedAmount(): number;
}

export interface BunServer {
  readonly port: number;
  /** Answers 101 and opens the WebSocket (`open` runs before it returns); false when the request cannot be upgraded. */
  upgrade<D>(request: Request, options: { data: D; headers?: Record<string, string> }): boolean;
  requestIP(request: Request): BunSocketAddress | null;
  /** false: stop listening, open connections stay; true: close them too. */
  stop(closeActiveConnections?: boolean): Promise<void>;
}

export interface BunTlsOptions {
  cert: string;
  key: string;
  passphrase?: string;
  dhParamsFile?: string;
}

export interface BunWebSocketHandler<D> {
  maxPayloadLength: number;
  /** Seconds; 0: none. */
  idleTimeout: number;
  sendPings: boolean;
  backpressureLimit: number;
  closeOnBackpressureLimit: boolean;
  perMessageDeflate: boolean;
  open(ws: BunServerWebSocket<D>): void;
  /** A string for a text frame, a Buffer for a binary one. */
  message(ws: BunServerWebSocket<D>, message: string | Buffer): void;
  close(ws: BunServerWebSocket<D>, code: number, reason: string): void;
}

export interface BunServeOptions<D> {
  hostname: string;
  port: number;
  /** SO_REUSEPORT: every shard thread listens on the same port, the kernel spreads connections. */
  reusePort: boolean;
  tls?: BunTlsOptions;
  maxRequestBodySize?: number;
  fetch(request: Request, server: BunServer): Response | undefined | Promise<Response | undefined>;
  error?(error: Error): Response;
  websocket: BunWebSocketHandler<D>;
}

export interface BunRuntime {
  readonly version: string;
  serve<D>(options: BunServeOptions<D>): BunServer;
}
