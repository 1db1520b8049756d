/**
 * The opening handshake of the emulator's WebSocket client (RFC 6455 §4.1): the HTTP/1.1 Upgrade request with
 * a random Sec-WebSocket-Key, the offered subprotocols and extra headers, and the check of the server's answer
 * (101, Upgrade and Connection headers, Sec-WebSocket-Accept, no extension, a subprotocol that was offered).
 * Runs once per connection, never per message.
 */
import { createHash, randomFillSync } from 'node:crypto';
import { WsError, type WsClientOptions, type WsErrorCode } from './ws-types.js';

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
/** Longest handshake answer read before giving up. */
const MAX_HANDSHAKE = 16 * 1024;

export interface HandshakeRequest {
  secure: boolean;
  host: string;
  port: number;
  /** The HTTP request to write. */
  request: string;
  /** The Sec-WebSocket-Accept the answer must carry. */
  accept: string;
  /** The offered subprotocols joined by ", " ('' when none). */
  offered: string;
}

/** The request for `url` (`ws://` or `wss://`); throws a TypeError for a bad URL, subprotocol or header. */
export function handshakeRequest(url: string | URL, protocols: readonly string[], options: WsClientOptions): HandshakeRequest {
  const u = typeof url === 'string' ? new URL(url) : url;
  const secure = u.protocol === 'wss:';
  if (!secure && u.protocol !== 'ws:') throw new TypeError(`unsupported WebSocket URL scheme ${u.protocol}`);
  if (u.hash !== '') throw new TypeError('a WebSocket URL has no fragment');
  for (const p of protocols) if (!/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(p) || protocols.indexOf(p) !== protocols.lastIndexOf(p)) throw new TypeError(`invalid subprotocol ${JSON.stringify(p)}`);
  const offered = protocols.join(', ');
  const key = randomFillSync(Buffer.allocUnsafe(16)).toString('base64');
  const accept = createHash('sha1').update(key + GUID).digest('base64');
  const host = u.hostname.startsWith('[') ? u.hostname.slice(1, -1) : u.hostname;
  const port = u.port !== '' ? Number(u.port) : secure ? 443 : 80;
  let request = `GET ${u.pathname}${u.search} HTTP/1.1\r\nHost: ${u.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n`;
  if (protocols.length > 0) request += `Sec-WebSocket-Protocol: ${offered}\r\n`;
  if (u.username !== '' && options.headers?.authorization === undefined && options.headers?.Authorization === undefined) {
    request += `Authorization: Basic ${Buffer.from(`${decodeURIComponent(u.username)}:${decodeURIComponent(u.password)}`).toString('base64')}\r\n`;
  }
  for (const [name, value] of Object.entries(options.headers ?? {})) {
    if (/[\r\n]/.test(name) || /[\r\n]/.test(value)) throw new TypeError(`invalid header ${name}`);
    request += `${name}: ${value}\r\n`;
  }
  request += '\r\n';
  return { secure, host, port, request, accept, offered };
}

/** The server's answer: the offset after it and the chosen subprotocol, or the error that fails the handshake. */
export type HandshakeAnswer = { end: number; protocol: string } | { error: WsError };

/** Reads the answer in `data[0 … end)`; null while it is incomplete. */
export function readHandshake(data: Buffer, end: number, accept: string, offered: string): HandshakeAnswer | null {
  const at = data.indexOf('\r\n\r\n', 0, 'latin1');
  if (at < 0 || at >= end) {
    if (end > MAX_HANDSHAKE) return { error: new WsError('handshake answer too long', 'HANDSHAKE_INVALID') };
    return null;
  }
  const lines = data.toString('latin1', 0, at).split('\r\n');
  const status = /^HTTP\/1\.1 (\d{3})(?: |$)/.exec(lines[0]!);
  if (status === null) return { error: new WsError(`invalid handshake answer ${JSON.stringify(lines[0]!.slice(0, 80))}`, 'HANDSHAKE_INVALID') };
  if (status[1] !== '101') {
    const code = Number(status[1]);
    return { error: new WsError(`unexpected server response: ${code}`, 'HANDSHAKE_STATUS', code) };
  }
  const headers = new Map<string, string>();
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    const colon = line.indexOf(':');
    if (colon <= 0) return { error: new WsError(`invalid handshake header line ${JSON.stringify(line.slice(0, 80))}`, 'HANDSHAKE_INVALID') };
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    const prev = headers.get(name);
    headers.set(name, prev === undefined ? value : `${prev}, ${value}`);
  }
  let problem: string | null = null;
  let code: WsErrorCode = 'HANDSHAKE_INVALID';
  let protocol = '';
  if (headers.get('upgrade')?.toLowerCase() !== 'websocket') problem = 'Upgrade header is not "websocket"';
  else if (!(headers.get('connection') ?? '').toLowerCase().split(',').some((t) => t.trim() === 'upgrade')) problem = 'Connection header has no "Upgrade"';
  else if (headers.get('sec-websocket-accept') !== accept) problem = 'invalid Sec-WebSocket-Accept';
  else if (headers.has('sec-websocket-extensions')) problem = `server chose an extension that was not offered: ${headers.get('sec-websocket-extensions')}`;
  else {
    const chosen = headers.get('sec-websocket-protocol');
    const list = offered === '' ? [] : offered.split(', ');
    code = 'SUBPROTOCOL';
    if (chosen === undefined) {
      if (list.length > 0) problem = `server chose no subprotocol (offered ${offered})`;
    } else if (!list.includes(chosen)) problem = `server chose subprotocol ${JSON.stringify(chosen)}, not offered (${offered === '' ? 'none' : offered})`;
    else protocol = chosen;
  }
  if (problem !== null) return { error: new WsError(problem, code) };
  return { end: at + 4, protocol };
}
