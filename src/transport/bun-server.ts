/**
 * The transport under Bun: one Bun.serve per listener (Bun's server is built on uWebSockets too) serving station
 * WebSockets, the live log and HTTP on one port, with the same behaviour as uws-server.ts behind the same
 * interface (types.ts). runtime.ts loads it only under Bun. What differs from the uWS transport:
 *  - Bun resolves dot segments of the request path (`/ocpp/a/../b` arrives as `/ocpp/b`); uWS gives it raw.
 *  - Bun has one WebSocket configuration per server, so the live log shares the stations' frame limit and idle
 *    timeout (uWS: 4 KiB and 120 s for the log).
 *  - TLS: Bun.serve has no cipher list (tls.ciphers is refused at start: runtime.ts unsupportedSettings), and
 *    the shard's TLS listener asks for no client certificate (see bunTlsOptions); the mTLS front checks them.
 */
import { readFileSync } from 'node:fs';
import type { HttpService, WebRequest, WebResponse } from '../http/types.js';
import { errorResponse } from '../http/types.js';
import type { BunRuntime, BunServer, BunServerWebSocket, BunTlsOptions } from './bun.js';
import {
  CLOSE_INVALID_PAYLOAD,
  FRONT_HEADERS,
  GuardedLogClient,
  GuardedStationSocket,
  idleTimeoutFor,
  logSubprotocol,
  type EndpointOptions,
  type LogEndpointHandler,
  type StationEndpointHandler,
  type StationServer,
  type StationServerFactory,
  type TlsListenerOptions,
  type UpgradeDecision,
  type UpgradeInfo,
} from './types.js';

const bun = (globalThis as unknown as { Bun: BunRuntime }).Bun;

/** The close reason Bun (as uWS) gives with code 1006 after it dropped a text frame with invalid UTF-8 (it sent 1007). */
const INVALID_UTF8_REASON = 'Received invalid UTF-8';

interface StationData<T> {
  kind: 'station';
  station: T;
  socket: BunStationSocket | null;
  closeAfterOpen?: { code: number; reason: string } | undefined;
}

interface LogData {
  kind: 'log';
  identity: string | null;
  client: BunLogClient | null;
}

type SocketData<T> = StationData<T> | LogData;

class BunStationSocket extends GuardedStationSocket {
  #ws: BunServerWebSocket<unknown>;

  constructor(ws: BunServerWebSocket<unknown>) {
    super();
    this.#ws = ws;
  }

  protected sendFrame(text: string): boolean {
    return this.#ws.send(text, false) !== 0;
  }

  protected endWithClose(code: number, reason: string): void {
    this.#ws.close(code, reason);
  }

  protected abort(): void {
    this.#ws.terminate();
  }
}

class BunLogClient extends GuardedLogClient {
  #ws: BunServerWebSocket<unknown>;

  constructor(ws: BunServerWebSocket<unknown>, identity: string | null) {
    super(identity);
    this.#ws = ws;
  }

  protected bufferedBytes(): number {
    return this.#ws.getBufferedAmount();
  }

  protected sendFrame(text: string): boolean {
    return this.#ws.send(text, false) !== 0;
  }
}

/** Path (raw, not decoded) and query (without '?') of a request URL `scheme://host/path?query`. */
function splitUrl(url: string): { path: string; query: string } {
  const start = url.indexOf('/', url.indexOf('//') + 2);
  if (start < 0) return { path: '/', query: '' };
  const q = url.indexOf('?', start);
  return q < 0 ? { path: url.slice(start), query: '' } : { path: url.slice(start, q), query: url.slice(q + 1) };
}

function headersOf(request: Request): Record<string, string> {
  const headers: Record<string, string> = {};
  request.headers.forEach((value, name) => {
    headers[name] = value;
  });
  return headers;
}

function toResponse(response: WebResponse): Response {
  return new Response(response.body ?? '', { status: response.status, headers: response.headers ?? {} });
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Reads the body up to `max` bytes; null when it is larger (the rest is not read). */
async function readBody(request: Request, max: number): Promise<string | null> {
  if (request.body === null) return '';
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > max) {
      void reader.cancel();
      return null;
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Bun's TLS options from the listener's settings; throws for what Bun.serve cannot do or files it cannot read. */
export function bunTlsOptions(tls: TlsListenerOptions): BunTlsOptions {
  if (tls.ciphers !== null) throw new Error('tls.ciphers is not supported under Bun (Bun.serve has no cipher list): unset it, or run on Node');
  const options: BunTlsOptions = { cert: readFileSync(tls.certFile, 'utf8'), key: readFileSync(tls.keyFile, 'utf8') };
  if (tls.passphrase !== null) options.passphrase = tls.passphrase;
  if (tls.dhParamsFile !== null) options.dhParamsFile = tls.dhParamsFile;
  // tls.clientCaFile is not used here: Bun can only require a valid client certificate (refusing the profile 2
  // stations this listener serves) or take any; uWS asks and refuses only a bad one, yet neither tells the shard.
  // Certificates are verified and bound to identities by the mTLS front (mtls-front.ts), on both runtimes.
  return options;
}

export class BunTransportServer<T> implements StationServer {
  #options: EndpointOptions;
  #handler: StationEndpointHandler<T>;
  #http: HttpService;
  #log: LogEndpointHandler;
  #tls: BunTlsOptions | undefined;
  #path: string;
  #server: BunServer | null = null;
  #stations = new Set<BunServerWebSocket<SocketData<T>>>();
  #logSockets = new Set<BunServerWebSocket<SocketData<T>>>();

  constructor(options: EndpointOptions, handler: StationEndpointHandler<T>, http: HttpService, log: LogEndpointHandler, tls?: TlsListenerOptions) {
    this.#options = options;
    this.#handler = handler;
    this.#http = http;
    this.#log = log;
    this.#path = options.path.replace(/\/+$/, '') + '/';
    // Read now, as uWS's SSLApp does: a certificate reload with unreadable files fails before it replaces anything.
    this.#tls = tls === undefined ? undefined : bunTlsOptions(tls);
  }

  listen(host: string, port: number): Promise<number | null> {
    const o = this.#options;
    try {
      this.#server = bun.serve<SocketData<T>>({
        hostname: host,
        port,
        reusePort: true,
        ...(this.#tls === undefined ? {} : { tls: this.#tls }),
        fetch: (request, server) => this.#fetch(request, server),
        error: (error) => toResponse(errorResponse(500, error.message)),
        websocket: {
          perMessageDeflate: false,
          // As under uWS: frames up to 4× the limit reach us so we can answer 1009; beyond, the connection is cut.
          maxPayloadLength: Math.max(o.maxFrameBytes * 4, 16 * 1024),
          idleTimeout: idleTimeoutFor(o.pingIntervalS),
          sendPings: o.pingIntervalS > 0,
          backpressureLimit: 1024 * 1024,
          closeOnBackpressureLimit: true,
          open: (ws) => this.#open(ws),
          message: (ws, data) => this.#message(ws, data),
          close: (ws, code, reason) => this.#close(ws, code, reason),
        },
      });
    } catch {
      return Promise.resolve(null);
    }
    return Promise.resolve(this.#server.port);
  }

  #fetch(request: Request, server: BunServer): Response | undefined | Promise<Response | undefined> {
    const { path, query } = splitUrl(request.url);
    const upgrade = request.headers.get('upgrade')?.toLowerCase() === 'websocket';
    if (upgrade && path.startsWith(this.#path)) return this.#upgradeStation(request, server, path);
    if (upgrade && path === this.#options.logPath) return this.#upgradeLog(request, server, query);
    return this.#serveHttp(request, server, path, query);
  }

  #upgradeStation(request: Request, server: BunServer, path: string): Response | undefined | Promise<Response | undefined> {
    const h = request.headers;
    const certHeader = this.#options.clientCertHeader ?? null;
    const info: UpgradeInfo = {
      url: path,
      subprotocols: h.get('sec-websocket-protocol') ?? '',
      authorization: h.get('authorization') ?? '',
      remoteAddress: server.requestIP(request)?.address ?? '',
      secure: this.#tls !== undefined,
      clientCert: certHeader === null ? '' : (h.get(certHeader) ?? ''),
      front: h.get(FRONT_HEADERS.secret) ?? '',
      frontCert: h.get(FRONT_HEADERS.cert) ?? '',
      frontAddress: h.get(FRONT_HEADERS.address) ?? '',
      forwardedProto: h.get('x-forwarded-proto') ?? '',
    };
    const finish = (decision: UpgradeDecision<T>): Response | undefined => {
      if (!decision.accept) return toResponse(errorResponse(decision.status, decision.message, undefined, decision.headers));
      const data: StationData<T> = { kind: 'station', station: decision.userData, socket: null, closeAfterOpen: decision.closeAfterOpen };
      // Always set: without it Bun answers the client's first offer; an empty value sends no header.
      if (server.upgrade<SocketData<T>>(request, { data, headers: { 'Sec-WebSocket-Protocol': decision.subprotocol } })) return undefined;
      // Not a valid WebSocket handshake, or the client left while it was decided: give back what was reserved.
      decision.release?.();
      return toResponse(errorResponse(400, 'the WebSocket handshake cannot be completed'));
    };
    let decision: UpgradeDecision<T> | Promise<UpgradeDecision<T>>;
    try {
      decision = this.#handler.upgrade(info);
    } catch (error) {
      return toResponse(errorResponse(500, message(error)));
    }
    if (!(decision instanceof Promise)) return finish(decision);
    return decision.then(finish, (error: unknown) => toResponse(errorResponse(500, message(error))));
  }

  async #upgradeLog(request: Request, server: BunServer, query: string): Promise<Response | undefined> {
    const headers = headersOf(request);
    let refusal: WebResponse | null;
    try {
      refusal = await this.#log.authorize(headers, query, server.requestIP(request)?.address ?? '');
    } catch (error) {
      return toResponse(errorResponse(500, message(error)));
    }
    if (refusal !== null) return toResponse(refusal);
    const identity = new URLSearchParams(query).get('identity');
    const data: LogData = { kind: 'log', identity: identity === null || identity === '' ? null : identity, client: null };
    const protocol = logSubprotocol(headers['sec-websocket-protocol']);
    const upgraded = server.upgrade<SocketData<T>>(request, { data, headers: { 'Sec-WebSocket-Protocol': protocol } });
    return upgraded ? undefined : toResponse(errorResponse(400, 'the WebSocket handshake cannot be completed'));
  }

  /** HTTP through the transport-neutral service; refusals made here (body too large, failure) are worded by it. */
  async #serveHttp(request: Request, server: BunServer, path: string, query: string): Promise<Response> {
    const webRequest: WebRequest = {
      method: request.method.toUpperCase(),
      path,
      query,
      headers: headersOf(request),
      body: '',
      remoteAddress: server.requestIP(request)?.address ?? '',
    };
    const max = this.#options.maxHttpBodyBytes;
    const tooLarge = (): Response => toResponse(this.#http.refuse(webRequest, 413, `request body over ${max} bytes`));
    try {
      if (Number(webRequest.headers['content-length'] ?? '0') > max) return tooLarge();
      if (webRequest.method !== 'GET' && webRequest.method !== 'HEAD') {
        const body = await readBody(request, max);
        if (body === null) return tooLarge();
        webRequest.body = body;
      }
      return toResponse(await this.#http.handle(webRequest));
    } catch (error) {
      return toResponse(this.#http.refuse(webRequest, 500, message(error)));
    }
  }

  #open(ws: BunServerWebSocket<SocketData<T>>): void {
    const data = ws.data;
    if (data.kind === 'log') {
      this.#logSockets.add(ws);
      data.client = new BunLogClient(ws, data.identity);
      this.#log.open(data.client);
      return;
    }
    this.#stations.add(ws);
    const socket = new BunStationSocket(ws);
    data.socket = socket;
    if (data.closeAfterOpen !== undefined) {
      socket.close(data.closeAfterOpen.code, data.closeAfterOpen.reason);
      return;
    }
    this.#handler.open(socket, data.station);
  }

  #message(ws: BunServerWebSocket<SocketData<T>>, frame: string | Buffer): void {
    const data = ws.data;
    if (data.kind === 'log') return; // log clients only listen
    const socket = data.socket;
    if (socket === null || !socket.open) return;
    if (typeof frame !== 'string') {
      this.#handler.violation(socket, data.station, 'binary', frame.byteLength);
      return;
    }
    const max = this.#options.maxFrameBytes;
    // UTF-16 length ≤ UTF-8 bytes ≤ 3 × UTF-16 length: the byte count is computed only near the limit.
    if (frame.length > max || (frame.length * 3 > max && Buffer.byteLength(frame) > max)) {
      this.#handler.violation(socket, data.station, 'oversize', Buffer.byteLength(frame));
      return;
    }
    this.#handler.message(socket, data.station, frame);
  }

  #close(ws: BunServerWebSocket<SocketData<T>>, code: number, reason: string): void {
    const data = ws.data;
    if (data.kind === 'log') {
      this.#logSockets.delete(ws);
      if (data.client !== null) {
        data.client.markClosed();
        this.#log.close(data.client);
      }
      return;
    }
    this.#stations.delete(ws);
    const socket = data.socket;
    if (socket === null) return;
    socket.markClosed();
    if (data.closeAfterOpen !== undefined) return;
    if (code === 1006 && reason === INVALID_UTF8_REASON) {
      // Bun sent the client 1007 and dropped the connection: recorded as the bad frame it was.
      this.#handler.violation(socket, data.station, 'invalidUtf8', 0);
      this.#handler.close(socket, data.station, CLOSE_INVALID_PAYLOAD, 'text frame with invalid UTF-8');
      return;
    }
    this.#handler.close(socket, data.station, code, reason);
  }

  stopListening(): void {
    if (this.#server !== null) void this.#server.stop(false);
  }

  get connectionCount(): number {
    return this.#stations.size;
  }

  shutdown(): void {
    const server = this.#server;
    this.#server = null;
    if (server !== null) void server.stop(true);
  }

  closeAll(code: number, reason: string, terminate = false): void {
    this.stopListening();
    for (const ws of [...this.#logSockets]) ws.close(1001, 'server stopping');
    for (const ws of [...this.#stations]) {
      const socket = (ws.data as StationData<T>).socket;
      if (socket === null) ws.terminate();
      else if (terminate) socket.terminate();
      else socket.close(code, reason);
    }
  }
}

/** The factory runtime.ts hands the shard under Bun. */
export const createServer: StationServerFactory = (options, handler, http, log, tls) => new BunTransportServer(options, handler, http, log, tls);
