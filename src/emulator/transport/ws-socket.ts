/**
 * The TCP / TLS socket under a client of ./ws-client.ts, with no closures per connection: the listeners are
 * module functions that find their owner through a symbol on the socket, and `ws://` reads through
 * `net.connect({ onread })` into one buffer shared by every connection of the thread (onread callbacks run one
 * at a time and the owner copies whatever it has to keep): no per-read Buffer, no stream machinery on the read
 * path. `wss://` uses `tls.connect` and its `data` events.
 */
import { connect as netConnect, isIP, type Socket } from 'node:net';
import { connect as tlsConnect, createSecureContext, type SecureContext } from 'node:tls';
import type { WsTlsOptions } from './ws-types.js';

/**
 * One SecureContext per (ca, cert, key): stations sharing a CA (or a certificate) share its parsed form instead of
 * parsing PEM again for every connection and reconnection. Bounded: a fleet has one entry per distinct certificate.
 */
const contexts = new Map<string, SecureContext>();
function contextFor(tls: WsTlsOptions): SecureContext {
  const key = `${tls.ca ?? ''}\0${tls.cert ?? ''}\0${tls.key ?? ''}`;
  let context = contexts.get(key);
  if (context === undefined) {
    context = createSecureContext({ ...(tls.ca === undefined ? {} : { ca: tls.ca }), ...(tls.cert === undefined ? {} : { cert: tls.cert }), ...(tls.key === undefined ? {} : { key: tls.key }) });
    contexts.set(key, context);
  }
  return context;
}

/** What the listeners call. */
export interface SocketOwner {
  /** Bytes read: `buf[0 … n)` (`buf` may be the thread's shared read buffer: copy what is kept). */
  feed(buf: Buffer, n: number): void;
  socketError(error: Error): void;
  socketClosed(): void;
  handshakeTimedOut(): void;
  terminate(): void;
}

const OWNER = Symbol('wsClient');
type OwnedSocket = Socket & { [OWNER]: SocketOwner };

const READ_BUFFER = Buffer.allocUnsafeSlow(64 * 1024);

// Module-level socket listeners: `this` is the socket.
function onReadCallback(this: Socket, nread: number, buf: Buffer): boolean {
  (this as OwnedSocket)[OWNER].feed(buf, nread);
  return true;
}
function onData(this: Socket, chunk: Buffer): void {
  (this as OwnedSocket)[OWNER].feed(chunk, chunk.length);
}
function onSocketError(this: Socket, error: Error): void {
  (this as OwnedSocket)[OWNER].socketError(error);
}
function onSocketClose(this: Socket): void {
  (this as OwnedSocket)[OWNER].socketClosed();
}
const ON_READ = { buffer: READ_BUFFER, callback: onReadCallback };

/** Timer callbacks (setTimeout(fn, ms, owner)): no closure per timer either. */
export function onHandshakeTimeout(owner: SocketOwner): void {
  owner.handshakeTimedOut();
}
export function onCloseTimeout(owner: SocketOwner): void {
  owner.terminate();
}

/** Opens the connection of `owner` (no delay: frames go out as written). */
export function openSocket(owner: SocketOwner, secure: boolean, host: string, port: number, localAddress: string | undefined, tls?: WsTlsOptions): Socket {
  const socket = (
    secure
      ? tlsConnect({ host, port, ...(isIP(host) === 0 ? { servername: host } : {}), ...(localAddress === undefined ? {} : { localAddress }), ...(tls === undefined ? {} : { secureContext: contextFor(tls) }) })
      : netConnect({ host, port, onread: ON_READ, ...(localAddress === undefined ? {} : { localAddress }) })
  ) as OwnedSocket;
  socket[OWNER] = owner;
  if (secure) socket.on('data', onData);
  socket.on('error', onSocketError);
  socket.on('close', onSocketClose);
  socket.setNoDelay(true);
  return socket;
}
