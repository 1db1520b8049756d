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
import type { Logger } from 'pino';
import type { Config } from '../config/types.js';
import { FRONT_HEADERS } from '../transport/uws-server.js';

/** Largest request head the front reads before it forwards (a WebSocket upgrade is far smaller). */
const MAX_HEAD_BYTES = 16 * 1024;
const HEAD_END = Buffer.from('\r\n\r\n');
/** How long a client may take to send its request head after the handshake. */
const HEAD_TIMEOUT_MS = 30_000;
const DROPPED = new Set<string>(Object.values(FRONT_HEADERS));

function contextOptions(tls: Config['tls']): SecureContextOptions {
  return {
    cert: readFileSync(tls.certFile!),
    key: readFileSync(tls.keyFile!),
    ca: readFileSync(tls.clientCaFile!),
    ...(tls.passphrase === null ? {} : { passphrase: tls.passphrase }),
    ...(tls.ciphers === null ? {} : { ciphers: tls.ciphers }),
    ...(tls.dhParamsFile === null ? {} : { dhparam: readFileSync(tls.dhParamsFile) }),
    minVersion: 'TLSv1.2',
  };
}

/** The loopback address of the shards' plain listener. */
function targetHost(config: Config): string {
  const listen = config.server.listen;
  if (!config.server.plain || listen === '0.0.0.0') return '127.0.0.1';
  if (listen === '::') return '::1';
  return listen;
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
  #logger: Logger;

  private constructor(server: Server, logger: Logger) {
    this.#server = server;
    this.#logger = logger;
  }

  /** Listens on tls.front.port (0: any) in front of the plain listener at `plainPort()`. */
  static async start(options: { config: Config; secret: string; plainPort: () => number; logger: Logger }): Promise<MtlsFront> {
    const { config, secret, logger } = options;
    const server = createServer({ ...contextOptions(config.tls), requestCert: true, rejectUnauthorized: true });
    const front = new MtlsFront(server, logger);
    const host = targetHost(config);
    server.on('secureConnection', (socket) => front.#forward(socket, secret, host, options.plainPort()));
    server.on('tlsClientError', (error) => logger.debug({ err: error }, 'mTLS front: handshake refused'));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(config.tls.front.port, config.server.listen, () => {
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

  #forward(socket: TLSSocket, secret: string, host: string, port: number): void {
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
      const head = rewriteHead(buffered.subarray(0, end).toString('latin1'), secret, cert, address);
      const rest = buffered.subarray(end);
      const upstream = connect({ host, port });
      this.#sockets.add(upstream);
      upstream.once('close', () => {
        this.#sockets.delete(upstream);
        socket.destroy();
      });
      upstream.on('error', (error) => {
        this.#logger.warn({ err: error }, 'mTLS front: the plain listener cannot be reached');
        socket.destroy();
      });
      socket.once('close', () => upstream.destroy());
      upstream.setNoDelay(true);
      upstream.write(Buffer.concat([Buffer.from(head, 'latin1'), rest]));
      socket.pipe(upstream);
      upstream.pipe(socket);
      socket.resume();
    };
    socket.on('data', onData);
  }

  /** HUP: new certificate, key and CA for new connections. Throws (nothing changed) if the files cannot be used. */
  reload(config: Config): void {
    this.#server.setSecureContext(contextOptions(config.tls));
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
