/**
 * The transport under Node: the station WebSocket endpoint and the HTTP fallback on a uWebSockets.js App (with
 * uws-http.ts and log-endpoint.ts the only modules importing uWebSockets.js; src/transport/runtime.ts loads it only
 * under Node). Everything protocol-related is delegated to the handler the shard passes in (types.ts).
 */
import uWS from 'uWebSockets.js';
import type { AppOptions, HttpRequest, HttpResponse, TemplatedApp, us_listen_socket, WebSocket, us_socket_context_t } from 'uWebSockets.js';
import { addLogEndpoint } from './log-endpoint.js';
import type { HttpService, WebRequest, WebResponse } from '../http/types.js';
import { decideUpgrade, refuse, writeResponse } from './uws-http.js';
import {
  CLOSE_INVALID_PAYLOAD,
  FRONT_HEADERS,
  GuardedStationSocket,
  idleTimeoutFor,
  type EndpointOptions,
  type LogEndpointHandler,
  type StationEndpointHandler,
  type StationServer,
  type StationServerFactory,
  type TlsListenerOptions,
  type UpgradeDecision,
  type UpgradeInfo,
} from './types.js';

/** The close message uWS gives (with code 1006) when it dropped a connection for a text frame with invalid UTF-8. */
const UWS_INVALID_UTF8 = 'Received invalid UTF-8';

/** Per-connection data uWS keeps; `socket` is filled on open. */
export interface ConnectionData<T> {
  station: T;
  socket: UwsStationSocket | null;
  closeAfterOpen?: { code: number; reason: string } | undefined;
}

export function sslAppOptions(tls: TlsListenerOptions): AppOptions {
  const options: AppOptions = { cert_file_name: tls.certFile, key_file_name: tls.keyFile };
  if (tls.passphrase !== null) options.passphrase = tls.passphrase;
  if (tls.ciphers !== null) options.ssl_ciphers = tls.ciphers;
  if (tls.dhParamsFile !== null) options.dh_params_file_name = tls.dhParamsFile;
  if (tls.clientCaFile !== null) options.ca_file_name = tls.clientCaFile;
  return options;
}

/** A station connection over a uWS WebSocket. */
class UwsStationSocket extends GuardedStationSocket {
  #ws: WebSocket<ConnectionData<unknown>>;

  constructor(ws: WebSocket<ConnectionData<unknown>>) {
    super();
    this.#ws = ws;
  }

  protected sendFrame(text: string): boolean {
    return this.#ws.send(text, false) !== 2;
  }

  protected endWithClose(code: number, reason: string): void {
    this.#ws.end(code, reason);
  }

  protected abort(): void {
    this.#ws.close();
  }
}

/** Shared decoder: about twice as fast as Buffer.from(ab).toString() and allocates no Buffer. uWS has
 *  already checked that text frames are valid UTF-8. */
const utf8 = new TextDecoder();

/**
 * Serves one HTTP request through a transport-neutral handler: headers are read before anything async
 * (uWS invalidates `req` when the handler returns), the body is collected up to a limit, and nothing is
 * written after the client went away. Refusals made here (body too large, handler failure) are worded by the
 * service, so an OCPP-S client gets a SOAP Fault and an API client a JSON error.
 */
function serveHttp(res: HttpResponse, req: HttpRequest, service: HttpService, maxBodyBytes: number): void {
  const headers: Record<string, string> = {};
  req.forEach((name, value) => {
    headers[name] = value;
  });
  const request: WebRequest = {
    method: req.getCaseSensitiveMethod().toUpperCase(),
    path: req.getUrl(),
    query: req.getQuery() ?? '',
    headers,
    body: '',
    remoteAddress: Buffer.from(res.getRemoteAddressAsText()).toString(),
  };
  let aborted = false;
  let answered = false;
  res.onAborted(() => {
    aborted = true;
  });
  const respond = (response: WebResponse): void => {
    if (aborted || answered) return;
    answered = true;
    writeResponse(res, response);
  };
  const failed = (error: unknown): void => respond(service.refuse(request, 500, error instanceof Error ? error.message : String(error)));
  const run = (): void => {
    let result: WebResponse | Promise<WebResponse>;
    try {
      result = service.handle(request);
    } catch (error) {
      failed(error);
      return;
    }
    if (result instanceof Promise) result.then(respond, failed);
    else respond(result);
  };
  const tooLarge = (): void => respond(service.refuse(request, 413, `request body over ${maxBodyBytes} bytes`));
  const declared = Number(headers['content-length'] ?? '0');
  if (declared > maxBodyBytes) {
    tooLarge();
    return;
  }
  if (request.method === 'GET' || request.method === 'HEAD' || (declared === 0 && headers['transfer-encoding'] === undefined)) {
    run();
    return;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  let tooLargeSeen = false;
  res.onData((chunk, isLast) => {
    if (tooLargeSeen) return;
    size += chunk.byteLength;
    if (size > maxBodyBytes) {
      tooLargeSeen = true;
      tooLarge();
      return;
    }
    // The chunk is only valid during this callback: copy it.
    chunks.push(Buffer.from(new Uint8Array(chunk).slice()));
    if (isLast) {
      request.body = Buffer.concat(chunks).toString('utf8');
      run();
    }
  });
}

export class UwsServer<T> implements StationServer {
  readonly app: TemplatedApp;
  #listenSocket: us_listen_socket | null = null;
  #sockets = new Set<WebSocket<ConnectionData<T>>>();
  #closeLogClients: () => void;
  #secure: boolean;
  #clientCertHeader: string | null;

  /** `tls`: an SSLApp with these settings (wss://, https://); absent: a plain App. */
  constructor(options: EndpointOptions, handler: StationEndpointHandler<T>, http: HttpService, log: LogEndpointHandler, tls?: TlsListenerOptions) {
    const path = options.path.replace(/\/+$/, '');
    this.#secure = tls !== undefined;
    this.#clientCertHeader = options.clientCertHeader ?? null;
    this.app = tls === undefined ? uWS.App() : uWS.SSLApp(sslAppOptions(tls));
    this.app.ws<ConnectionData<T>>(`${path}/*`, {
      compression: uWS.DISABLED,
      // uWS drops a frame over maxPayloadLength without a close frame; frames up to 4× the limit reach
      // us so we can answer 1009, beyond that the connection is cut as a defence.
      maxPayloadLength: Math.max(options.maxFrameBytes * 4, 16 * 1024),
      idleTimeout: idleTimeoutFor(options.pingIntervalS),
      sendPingsAutomatically: options.pingIntervalS > 0,
      maxBackpressure: 1024 * 1024,
      closeOnBackpressureLimit: 1,
      upgrade: (res, req, context) => this.#upgrade(res, req, context, handler),
      open: (ws) => {
        this.#sockets.add(ws);
        const data = ws.getUserData();
        const socket = new UwsStationSocket(ws as WebSocket<ConnectionData<unknown>>);
        data.socket = socket;
        if (data.closeAfterOpen !== undefined) {
          socket.close(data.closeAfterOpen.code, data.closeAfterOpen.reason);
          return;
        }
        handler.open(socket, data.station);
      },
      message: (ws, message, isBinary) => {
        const data = ws.getUserData();
        if (data.socket === null || !data.socket.open) return;
        if (isBinary) handler.violation(data.socket, data.station, 'binary', message.byteLength);
        else if (message.byteLength > options.maxFrameBytes) handler.violation(data.socket, data.station, 'oversize', message.byteLength);
        else handler.message(data.socket, data.station, utf8.decode(message));
      },
      close: (ws, code, message) => {
        this.#sockets.delete(ws);
        const data = ws.getUserData();
        if (data.socket === null) return;
        data.socket.markClosed();
        if (data.closeAfterOpen !== undefined) return;
        const reason = Buffer.from(message).toString('utf8');
        if (code === 1006 && reason === UWS_INVALID_UTF8) {
          // RFC 6455 §8.1 wants close 1007 here; uWS cut the connection without a close frame, so it is recorded
          // as what it was (a bad frame), not as an abnormal network loss.
          handler.violation(data.socket, data.station, 'invalidUtf8', 0);
          handler.close(data.socket, data.station, CLOSE_INVALID_PAYLOAD, 'text frame with invalid UTF-8');
          return;
        }
        handler.close(data.socket, data.station, code, reason);
      },
    });
    this.#closeLogClients = addLogEndpoint(this.app, options.logPath, log);
    this.app.any('/*', (res, req) => serveHttp(res, req, http, options.maxHttpBodyBytes));
  }

  #upgrade(res: HttpResponse, req: HttpRequest, context: us_socket_context_t, handler: StationEndpointHandler<T>): void {
    const info: UpgradeInfo = {
      url: req.getUrl(),
      subprotocols: req.getHeader('sec-websocket-protocol'),
      authorization: req.getHeader('authorization'),
      remoteAddress: Buffer.from(res.getRemoteAddressAsText()).toString(),
      secure: this.#secure,
      clientCert: this.#clientCertHeader === null ? '' : req.getHeader(this.#clientCertHeader),
      front: req.getHeader(FRONT_HEADERS.secret),
      frontCert: req.getHeader(FRONT_HEADERS.cert),
      frontAddress: req.getHeader(FRONT_HEADERS.address),
      forwardedProto: req.getHeader('x-forwarded-proto'),
    };
    const key = req.getHeader('sec-websocket-key');
    const extensions = req.getHeader('sec-websocket-extensions');
    const finish = (decision: UpgradeDecision<T>): void => {
      if (!decision.accept) {
        refuse(res, decision);
        return;
      }
      const data: ConnectionData<T> = { station: decision.userData, socket: null, closeAfterOpen: decision.closeAfterOpen };
      res.cork(() => res.upgrade(data, key, decision.subprotocol, extensions, context));
    };
    // The client may leave while we authenticate: give back what an accepting decision reserved.
    decideUpgrade(res, () => handler.upgrade(info), finish, (d) => {
      if (d.accept) d.release?.();
    });
  }

  /** Listens (SO_REUSEPORT: every shard on the same port); resolves with the bound port, or null. */
  listen(host: string, port: number): Promise<number | null> {
    return new Promise((resolve) => {
      this.app.listen(host, port, (socket) => {
        this.#listenSocket = socket || null;
        resolve(socket === false ? null : uWS.us_socket_local_port(socket as unknown as Parameters<typeof uWS.us_socket_local_port>[0]));
      });
    });
  }

  /** Stops accepting new connections; open ones stay. */
  stopListening(): void {
    if (this.#listenSocket !== null) {
      uWS.us_listen_socket_close(this.#listenSocket);
      this.#listenSocket = null;
    }
  }

  get connectionCount(): number {
    return this.#sockets.size;
  }

  /**
   * Forcefully closes every socket the App has: listeners, WebSockets, keep-alive HTTP connections.
   * Required before the thread exits (open uWS sockets abort the process). `App.close()` exists in this
   * uWS build but is missing from its typings.
   */
  shutdown(): void {
    this.#listenSocket = null;
    (this.app as unknown as { close(): void }).close();
  }

  /** Closes every WebSocket with a close frame (or cuts it when `terminate`). */
  closeAll(code: number, reason: string, terminate = false): void {
    this.stopListening();
    this.#closeLogClients();
    for (const ws of [...this.#sockets]) {
      const socket = ws.getUserData().socket;
      if (socket === null) ws.close();
      else if (terminate) socket.terminate();
      else socket.close(code, reason);
    }
  }
}


/** The factory runtime.ts hands the shard under Node. */
export const createServer: StationServerFactory = (options, handler, http, log, tls) => new UwsServer(options, handler, http, log, tls);
