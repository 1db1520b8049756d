/**
 * The built-in mTLS front for OCPP security profile 3: a Node `tls.Server` in the main thread that requires a client
 * certificate chaining to `tls.clientCaFile` (requestCert, rejectUnauthorized), then forwards the connection to the
 * shards' plain listener on loopback. Into the first request head it writes the verified certificate, the peer's
 * address and the process's secret (FRONT_HEADERS; any the client sent itself are dropped first), so a shard can
 * tell a connection of the front from anyone else's and bind the certificate's subject to the station identity
 * (src/shard/station-security.ts). It exists because this uWS build cannot read client certificates.
 *
 * Cost: the TLS stream of these stations is encrypted and decrypted by Node on the main thread and crosses one more
 * loopback socket, instead of uSockets' OpenSSL in the shards (bench scenario heartbeat-tls, docs/security.md).
 * HUP reloads its certificate, key and CA with setSecureContext: open connections keep theirs.
 */
import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { createServer, type Server, type TLSSocket, type SecureContextOptions } from 'node:tls';
import { FRONT_HEADERS, type TlsListenerOptions } from './types.js';

/** What the front logs (a pino logger fits). */
export interface FrontLog {
  debug(fields: object, message: string): void;
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
}

export interface MtlsFrontOptions {
  /** Address and port the front listens on (port 0: any). */
  host: string;
  port: number;
  /** Certificate, key, ciphers … of the TLS listener; `clientCaFile` is required here. */
  tls: TlsListenerOptions;
  /** The per-process secret the shards check. */
  secret: string;
  /** Where the shards' plain listener is (read for every connection: it may move on a listener reload), and the
   *  station endpoint's path prefix (`ocpp.path`): the only requests the front forwards. */
  target(): { host: string; port: number; stationPath: string };
  log: FrontLog;
}

/** Largest request head the front reads before it forwards (a WebSocket upgrade is far smaller). */
const MAX_HEAD_BYTES = 16 * 1024;
const HEAD_END = Buffer.from('\r\n\r\n');
/** How long a client may take to send its request head after the handshake. */
const HEAD_TIMEOUT_MS = 30_000;
const DROPPED = new Set<string>(Object.values(FRONT_HEADERS));

function contextOptions(tls: TlsListenerOptions): SecureContextOptions {
  return {
    cert: readFileSync(tls.certFile),
    key: readFileSync(tls.keyFile),
    ca: readFileSync(tls.clientCaFile ?? ''),
    ...(tls.passphrase === null ? {} : { passphrase: tls.passphrase }),
    ...(tls.ciphers === null ? {} : { ciphers: tls.ciphers }),
    ...(tls.dhParamsFile === null ? {} : { dhparam: readFileSync(tls.dhParamsFile) }),
    minVersion: 'TLSv1.2',
  };
}

/** The address to reach the shards' plain listener at: loopback when it listens on every interface or only there. */
export function plainTarget(listen: string, plain: boolean): string {
  if (!plain || listen === '0.0.0.0') return '127.0.0.1';
  if (listen === '::') return '::1';
  return listen;
}

/**
 * Whether a request head is a WebSocket upgrade to the station endpoint, the only thing the front forwards. Anything
 * else (the API, the live log, the UI) would reach the plain listener from loopback, where the API's loopback rule
 * (api.auth.mode off) would take it for a local client: those go to the TLS listener (tls.port) instead.
 */
export function isStationUpgrade(head: string, stationPath: string): boolean {
  const lineEnd = head.indexOf('\r\n');
  const requestLine = lineEnd < 0 ? head : head.slice(0, lineEnd);
  const match = /^GET (\S+) HTTP\/1\.1$/.exec(requestLine);
  if (match === null) return false;
  const prefix = stationPath === '/' ? '/' : `${stationPath}/`;
  if (!match[1]!.startsWith(prefix)) return false;
  return /\r\nupgrade:[ \t]*websocket[ \t]*(\r\n|$)/i.test(head);
}

const NOT_A_STATION_UPGRADE = JSON.stringify({
  error: { code: 421, message: 'the mTLS front serves station WebSocket upgrades (OCPP security profile 3) only; use the TLS listener (tls.port) for the API and the UI' },
});

/** The status code of a response head's first line (0 when it is not one). */
function responseStatus(chunk: Buffer): number {
  const match = /^HTTP\/1\.[01] (\d{3})/.exec(chunk.subarray(0, 16).toString('latin1'));
  return match === null ? 0 : Number(match[1]);
}

/** The head with the front's headers in place of any the client sent. */
function rewriteHead(head: string, secret: string, cert: string, address: string): string {
  const lines = head.split('\r\n');
  const kept = lines.filter((line, i) => {
    if (i === 0) return true;
    const colon = line.indexOf(':');
    return colon < 0 || !DROPPED.has(line.slice(0, colon).trim().toLowerCase());
  });
  kept.push(`${FRONT_HEADERS.secret}: ${secret}`, `${FRONT_HEADERS.cert}: ${cert}`, `${FRONT_HEADERS.address}: ${address}`);
  return kept.join('\r\n');
}

export class MtlsFront {
  #server: Server;
  #sockets = new Set<Socket>();
  #port = 0;
  #log: FrontLog;

  private constructor(server: Server, log: FrontLog) {
    this.#server = server;
    this.#log = log;
  }

  /** Listens on `options.port` (0: any) in front of the plain listener at `options.target()`. */
  static async start(options: MtlsFrontOptions): Promise<MtlsFront> {
    const { secret, log } = options;
    const server = createServer({ ...contextOptions(options.tls), requestCert: true, rejectUnauthorized: true });
    const front = new MtlsFront(server, log);
    server.on('secureConnection', (socket) => {
      const target = options.target();
      front.#forward(socket, secret, target.host, target.port, target.stationPath);
    });
    server.on('tlsClientError', (error) => log.debug({ err: error }, 'mTLS front: handshake refused'));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port, options.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    front.#port = (server.address() as { port: number }).port;
    return front;
  }

  get port(): number {
    return this.#port;
  }

  #forward(socket: TLSSocket, secret: string, host: string, port: number, stationPath: string): void {
    this.#sockets.add(socket);
    socket.once('close', () => this.#sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    const peer = socket.getPeerX509Certificate();
    if (peer === undefined) {
      socket.destroy();
      return;
    }
    const cert = encodeURIComponent(peer.toString());
    const address = socket.remoteAddress ?? '';
    let buffered = Buffer.alloc(0);
    socket.setTimeout(HEAD_TIMEOUT_MS, () => socket.destroy());
    const onData = (chunk: Buffer): void => {
      buffered = Buffer.concat([buffered, chunk]);
      const end = buffered.indexOf(HEAD_END);
      if (end < 0) {
        if (buffered.length > MAX_HEAD_BYTES) socket.end('HTTP/1.1 431 Request Header Fields Too Large\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
        return;
      }
      socket.off('data', onData);
      socket.setTimeout(0);
      socket.pause();
      const original = buffered.subarray(0, end).toString('latin1');
      if (!isStationUpgrade(original, stationPath)) {
        socket.end(`HTTP/1.1 421 Misdirected Request\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(NOT_A_STATION_UPGRADE)}\r\nConnection: close\r\n\r\n${NOT_A_STATION_UPGRADE}`);
        return;
      }
      const head = rewriteHead(original, secret, cert, address);
      const rest = buffered.subarray(end);
      const upstream = connect({ host, port });
      this.#sockets.add(upstream);
      let refused = false;
      upstream.once('close', () => {
        this.#sockets.delete(upstream);
        if (!refused) socket.destroy();
      });
      upstream.on('error', (error) => {
        this.#log.warn({ err: error }, 'mTLS front: the plain listener cannot be reached');
        socket.destroy();
      });
      socket.once('close', () => upstream.destroy());
      upstream.setNoDelay(true);
      // The head alone: whatever the client sent after it waits (paused) until the upgrade is accepted.
      upstream.write(Buffer.concat([Buffer.from(head, 'latin1'), rest.subarray(0, HEAD_END.length)]));
      const after = rest.subarray(HEAD_END.length);
      upstream.once('data', (first: Buffer) => {
        // A refused upgrade (401, 403, 503 …) ends the connection: on a kept-alive connection the client's next
        // request would reach the plain listener without the front's headers, as a loopback client.
        if (responseStatus(first) !== 101) {
          refused = true;
          socket.end(first);
          upstream.destroy();
          return;
        }
        socket.write(first);
        if (after.length > 0) upstream.write(after);
        upstream.pipe(socket);
        socket.pipe(upstream);
        socket.resume();
      });
    };
    socket.on('data', onData);
  }

  /** HUP: new certificate, key and CA for new connections; files that cannot be used are logged and the old ones kept. */
  reload(tls: TlsListenerOptions): void {
    try {
      this.#server.setSecureContext(contextOptions(tls));
    } catch (error) {
      this.#log.error({ err: error }, 'HUP: the mTLS front keeps its certificate (the new files cannot be used)');
    }
  }

  #closed: Promise<void> | null = null;

  /** Stops accepting; open connections go on (the shards close them with 1001 on a graceful stop). */
  stopAccepting(): Promise<void> {
    this.#closed ??= new Promise<void>((resolve) => this.#server.close(() => resolve()));
    return this.#closed;
  }

  /** Stops accepting and cuts what is left. */
  async close(): Promise<void> {
    const closed = this.stopAccepting();
    for (const socket of this.#sockets) socket.destroy();
    await closed;
  }
}
