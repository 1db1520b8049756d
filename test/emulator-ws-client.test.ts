/**
 * The emulator's RFC 6455 client (src/emulator/ws-client.ts) against real servers: the router (uWebSockets.js)
 * and a `ws` WebSocketServer (which rejects unmasked client frames, so every frame it reads proves the masking),
 * plus raw TCP servers for answers and frames no conforming server sends.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { createHash, randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { startTestServer, waitFor } from './helpers/server.js';
import { hashPassword } from '../src/config/password-hash.js';
import { WsClient, WS_CLOSED, WS_CONNECTING, WS_OPEN, type WsClientOptions, type WsError, type WsHandler } from '../src/emulator/transport/index.js';

/** Records every event of one client. */
class Recorder implements WsHandler {
  readonly messages: string[] = [];
  readonly binaries: Buffer[] = [];
  readonly errors: WsError[] = [];
  readonly states: number[] = [];
  opened = false;
  closed: { code: number; reason: string } | null = null;
  closeCount = 0;
  client!: WsClient;
  onMessage: ((text: string) => void) | null = null;
  wsOpen(ws: WsClient): void {
    assert.equal(ws, this.client);
    this.opened = true;
  }
  wsMessage(_ws: WsClient, text: string): void {
    this.messages.push(text);
    this.onMessage?.(text);
  }
  wsBinary(_ws: WsClient, data: Buffer): void {
    this.binaries.push(Buffer.from(data));
  }
  wsClose(_ws: WsClient, code: number, reason: string): void {
    this.closeCount++;
    this.closed = { code, reason };
  }
  wsError(ws: WsClient, error: WsError): void {
    this.states.push(ws.readyState);
    this.errors.push(error);
  }
  async waitOpen(): Promise<void> {
    await waitFor(() => this.opened || this.closed !== null, 5000);
    assert.ok(this.opened, `not open: ${this.errors.map((e) => `${e.code} ${e.message}`).join('; ')}`);
  }
  async waitClosed(): Promise<{ code: number; reason: string }> {
    await waitFor(() => this.closed !== null, 5000);
    return this.closed!;
  }
}

function open(url: string, protocols: string[] = ['ocpp1.6'], options: WsClientOptions = {}): Recorder {
  const r = new Recorder();
  r.client = new WsClient(url, protocols, r, options);
  return r;
}

async function wsServer(t: TestContext, options: ConstructorParameters<typeof WebSocketServer>[0] = {}): Promise<{ wss: WebSocketServer; port: number; next: () => Promise<WebSocket> }> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, ...options });
  await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
  t.after(() => new Promise<void>((resolve) => {
    for (const c of wss.clients) c.terminate();
    wss.close(() => resolve());
  }));
  const waiting: WebSocket[] = [];
  wss.on('connection', (ws) => waiting.push(ws));
  return {
    wss,
    port: (wss.address() as AddressInfo).port,
    next: async () => {
      await waitFor(() => waiting.length > 0, 5000);
      return waiting.shift()!;
    },
  };
}

/** A raw TCP server; `onSocket` gets every connection and its first bytes (the HTTP request). */
async function rawServer(t: TestContext, onSocket: (socket: Socket, request: string) => void): Promise<number> {
  const server: Server = createServer((socket) => {
    let head = '';
    const onData = (chunk: Buffer): void => {
      head += chunk.toString('latin1');
      if (head.includes('\r\n\r\n')) {
        socket.off('data', onData);
        onSocket(socket, head);
      }
    };
    socket.on('data', onData);
    socket.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  t.after(() => {
    server.close();
    // Connections still open end with the test process.
  });
  return (server.address() as AddressInfo).port;
}

function acceptFor(request: string): string {
  const key = /sec-websocket-key: (.+)\r\n/i.exec(request)![1]!.trim();
  return createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
}

function upgradeAnswer(request: string, protocol = 'ocpp1.6'): string {
  return `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${acceptFor(request)}\r\nSec-WebSocket-Protocol: ${protocol}\r\n\r\n`;
}

/** An unmasked server frame. */
function serverFrame(opcode: number, payload: Buffer | string, fin = true): Buffer {
  const data = typeof payload === 'string' ? Buffer.from(payload) : payload;
  const len = data.length;
  const head = len < 126 ? Buffer.from([(fin ? 0x80 : 0) | opcode, len]) : len < 65536 ? Buffer.from([(fin ? 0x80 : 0) | opcode, 126, len >> 8, len & 0xff]) : Buffer.concat([Buffer.from([(fin ? 0x80 : 0) | opcode, 127]), (() => { const b = Buffer.alloc(8); b.writeBigUInt64BE(BigInt(len)); return b; })()]);
  return Buffer.concat([head, data]);
}

/** A WebSocket peer over a raw socket that upgrades and then never answers anything (not even pings). */
async function silentPeer(port: number, path: string): Promise<{ closed: boolean; pings: number }> {
  const state = { closed: false, pings: 0, upgraded: false };
  const socket = connect({ host: '127.0.0.1', port });
  socket.on('error', () => {});
  socket.on('close', () => (state.closed = true));
  let buffered = Buffer.alloc(0);
  socket.on('data', (chunk: Buffer) => {
    buffered = Buffer.concat([buffered, chunk]);
    if (!state.upgraded) {
      const end = buffered.indexOf('\r\n\r\n');
      if (end < 0) return;
      state.upgraded = buffered.subarray(0, end).toString().startsWith('HTTP/1.1 101');
      buffered = buffered.subarray(end + 4);
    }
    // Server frames are unmasked; a ping is opcode 9 (RFC 6455 §5.5.2).
    while (buffered.length >= 2 && (buffered[1]! & 0x7f) < 126 && buffered.length >= 2 + (buffered[1]! & 0x7f)) {
      if ((buffered[0]! & 0x0f) === 0x9) state.pings++;
      buffered = buffered.subarray(2 + (buffered[1]! & 0x7f));
    }
  });
  socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: ocpp1.6\r\n\r\n`);
  await waitFor(() => state.upgraded || state.closed, 5000, 'the silent peer upgraded');
  assert.ok(state.upgraded, 'the silent peer upgraded');
  return state;
}

test('router: opens with the subprotocol, exchanges OCPP-J frames, answers pings, closes with a code', async (t) => {
  const h = await startTestServer({ ocpp: { pingIntervalS: 1 } });
  t.after(() => h.stop());
  const r = open(h.url('WSC-1'), ['ocpp1.6'], { localAddress: '127.0.0.1' });
  await r.waitOpen();
  assert.equal(r.client.protocol, 'ocpp1.6');
  assert.equal(r.client.readyState, WS_OPEN);
  const boot = JSON.stringify([2, 'b1', 'BootNotification', { chargePointVendor: 'V', chargePointModel: 'M' }]);
  assert.equal(r.client.send(boot), true);
  await waitFor(() => r.messages.length > 0, 5000);
  const [type, id, payload] = JSON.parse(r.messages[0]!) as [number, string, { status: string }];
  assert.deepEqual([type, id, payload.status], [3, 'b1', 'Accepted']);
  // The router pings every second and drops a peer silent for two intervals: the automatic pongs keep it open.
  // Beside it, a raw peer that never answers a ping: once the router has dropped that one, the client has lived
  // through the same pings and must still be open.
  const silent = await silentPeer(h.port, new URL(h.url('WSC-SILENT')).pathname);
  await waitFor(() => silent.closed, 10_000, 'the router drops the peer that does not answer its pings');
  assert.ok(silent.pings >= 1, `the silent peer was pinged (${silent.pings})`);
  assert.equal(r.client.readyState, WS_OPEN);
  assert.equal(r.closed, null);
  r.client.send(JSON.stringify([2, 'h1', 'Heartbeat', {}]));
  await waitFor(() => r.messages.length > 1, 5000);
  assert.equal((JSON.parse(r.messages[1]!) as unknown[])[0], 3);
  r.client.close(1000, 'bye');
  const closed = await r.waitClosed();
  assert.equal(closed.code, 1000);
  assert.equal(r.client.readyState, WS_CLOSED);
  assert.equal(r.closeCount, 1);
  assert.deepEqual(r.errors, []);
});

test('router: HTTP Basic auth header; a wrong password is a HANDSHAKE_STATUS 401 error, then close 1006', async (t) => {
  const hash = await hashPassword('secret-1234');
  const h = await startTestServer({ security: { basicAuth: { enable: true, passwords: { 'WSC-A': hash } } } });
  t.after(() => h.stop());
  const basic = (pw: string): Record<string, string> => ({ authorization: `Basic ${Buffer.from(`WSC-A:${pw}`).toString('base64')}` });
  const good = open(h.url('WSC-A'), ['ocpp1.6'], { headers: basic('secret-1234') });
  await good.waitOpen();
  good.client.close(1000);
  await good.waitClosed();
  const bad = open(h.url('WSC-A'), ['ocpp1.6'], { headers: basic('wrong') });
  const closed = await bad.waitClosed();
  assert.equal(bad.opened, false);
  assert.equal(closed.code, 1006);
  assert.equal(bad.errors.length, 1);
  assert.equal(bad.errors[0]!.code, 'HANDSHAKE_STATUS');
  assert.equal(bad.errors[0]!.status, 401);
  assert.deepEqual(bad.states, [WS_CONNECTING]);
});

test('router: a subprotocol it does not speak is refused or fails as SUBPROTOCOL, never opens', async (t) => {
  const h = await startTestServer();
  t.after(() => h.stop());
  const r = open(h.url('WSC-2'), ['ocpp9.9']);
  await r.waitClosed();
  assert.equal(r.opened, false);
  assert.equal(r.errors.length, 1);
  assert.ok(['SUBPROTOCOL', 'HANDSHAKE_STATUS'].includes(r.errors[0]!.code), r.errors[0]!.message);
});

test('ws server: masked frames of every length class arrive intact (the server rejects unmasked frames) and echo back', async (t) => {
  const s = await wsServer(t, { handleProtocols: (p) => (p.has('ocpp2.0.1') ? 'ocpp2.0.1' : false), maxPayload: 4 << 20 });
  const r = open(`ws://127.0.0.1:${s.port}/ocpp/X`, ['ocpp1.6', 'ocpp2.0.1'], { maxPayload: 4 << 20 });
  const peer = await s.next();
  await r.waitOpen();
  assert.equal(r.client.protocol, 'ocpp2.0.1');
  const received: string[] = [];
  peer.on('message', (data, isBinary) => {
    if (isBinary) return;
    received.push(data.toString());
    peer.send(data.toString());
  });
  const sizes = [0, 1, 3, 4, 5, 7, 8, 31, 124, 125, 126, 127, 1000, 65535, 65536, 65537, 300_001, 2_000_000];
  // Multi-byte characters too (lengths are in bytes): 'é€ab' is 7 bytes.
  const texts = sizes.map((n) => 'é€ab'.repeat(Math.floor(n / 7)) + 'x'.repeat(n % 7));
  for (const text of texts) assert.equal(r.client.send(text), true);
  await waitFor(() => r.messages.length === texts.length, 10_000);
  assert.deepEqual(received.map((x) => Buffer.byteLength(x)), sizes);
  assert.deepEqual(received, texts);
  assert.deepEqual(r.messages, texts);
  // Binary both ways.
  const bin = Buffer.from([0, 1, 2, 3, 250, 251, 252, 253, 254, 255]);
  const binEcho = new Promise<Buffer>((resolve) => peer.once('message', (data) => resolve(data as Buffer)));
  r.client.sendBinary(bin);
  assert.deepEqual(await binEcho, bin);
  peer.send(bin, { binary: true });
  await waitFor(() => r.binaries.length === 1, 5000);
  assert.deepEqual(r.binaries[0], bin);
});

test('raw server: masks are fresh per frame (no two of 2000 frames share a key), payloads unmask exactly', async (t) => {
  const keys = new Set<string>();
  let frames = 0;
  const port = await rawServer(t, (socket, request) => {
    socket.write(upgradeAnswer(request));
    let buf = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      while (buf.length >= 6) {
        assert.equal(buf[1]! & 0x80, 0x80, 'client frames are masked');
        const len = buf[1]! & 0x7f;
        assert.ok(len < 126);
        if (buf.length < 6 + len) break;
        const mask = buf.subarray(2, 6);
        keys.add(mask.toString('hex'));
        const text = Buffer.from(buf.subarray(6, 6 + len).map((b, i) => b ^ mask[i & 3]!)).toString();
        assert.equal(text, `m${frames}-${'p'.repeat(frames % 113)}`);
        frames++;
        buf = buf.subarray(6 + len);
      }
    });
  });
  const r = open(`ws://127.0.0.1:${port}/`);
  await r.waitOpen();
  // About 120 KB of frames: the sender's 64 KB slabs roll over twice.
  for (let i = 0; i < 2000; i++) r.client.send(`m${i}-${'p'.repeat(i % 113)}`);
  await waitFor(() => frames === 2000, 5000);
  assert.ok(keys.size >= 1995, `${keys.size} distinct keys`); // 32-bit random keys: a collision is possible, rarely
  r.client.terminate();
  await r.waitClosed();
});

test('ws server: fragmented messages with pings between the fragments; pongs carry the ping payload', async (t) => {
  const s = await wsServer(t, { handleProtocols: () => 'ocpp1.6' });
  const r = open(`ws://127.0.0.1:${s.port}/`);
  const peer = await s.next();
  await r.waitOpen();
  const pongs: string[] = [];
  peer.on('pong', (data) => pongs.push(data.toString()));
  peer.ping('p0');
  peer.send('Hel', { fin: false });
  peer.ping('p1');
  peer.send('lo, wö', { fin: false });
  peer.ping(Buffer.alloc(125, 0x61));
  peer.send('rld', { fin: true });
  peer.send('single');
  const big = 'y'.repeat(200_000);
  peer.send(big.slice(0, 70_000), { fin: false });
  peer.send(big.slice(70_000), { fin: true });
  await waitFor(() => r.messages.length === 3 && pongs.length === 3, 5000);
  assert.deepEqual(r.messages.slice(0, 2), ['Hello, wörld', 'single']);
  assert.equal(r.messages[2], big);
  assert.deepEqual(pongs, ['p0', 'p1', 'a'.repeat(125)]);
  // Our own ping: the server answers with a pong (ignored), the connection stays open.
  r.client.ping('x');
  r.client.send('after');
  const after = new Promise<string>((resolve) => peer.once('message', (d) => resolve(d.toString())));
  assert.equal(await after, 'after');
});

test('raw server: frames split at every byte and coalesced in one write are parsed the same', async (t) => {
  const frames = Buffer.concat([
    serverFrame(0x1, 'first'),
    serverFrame(0x9, 'pp'),
    serverFrame(0x1, 'x'.repeat(300)),
    serverFrame(0x1, 'frag-', false),
    serverFrame(0x0, 'ment'),
    serverFrame(0x1, 'z'.repeat(70_000)),
  ]);
  const expected = ['first', 'x'.repeat(300), 'frag-ment', 'z'.repeat(70_000)];
  for (const mode of ['bytewise', 'with-handshake'] as const) {
    const port = await rawServer(t, (socket, request) => {
      if (mode === 'with-handshake') {
        // Answer and every frame in one write: the frames follow the HTTP header in the same read.
        socket.write(Buffer.concat([Buffer.from(upgradeAnswer(request)), frames]));
        return;
      }
      socket.write(upgradeAnswer(request));
      let i = 0;
      const drip = (): void => {
        // Small pieces, each its own write, for the first 400 bytes; then bigger ones.
        if (i >= frames.length) return;
        const n = i < 400 ? 1 : 4096;
        socket.write(frames.subarray(i, i + n));
        i += n;
        setImmediate(drip);
      };
      drip();
    });
    const r = open(`ws://127.0.0.1:${port}/`);
    await waitFor(() => r.messages.length === expected.length, 10_000);
    assert.deepEqual(r.messages, expected, mode);
    r.client.terminate();
    assert.equal((await r.waitClosed()).code, 1006);
  }
});

test('ws server: a message over maxPayload fails the connection with 1009 (MESSAGE_TOO_BIG)', async (t) => {
  const s = await wsServer(t, { handleProtocols: () => 'ocpp1.6' });
  const r = open(`ws://127.0.0.1:${s.port}/`, ['ocpp1.6'], { maxPayload: 1000 });
  const peer = await s.next();
  await r.waitOpen();
  const peerClosed = new Promise<number>((resolve) => peer.on('close', (code) => resolve(code)));
  peer.send('a'.repeat(1000));
  await waitFor(() => r.messages.length === 1, 5000);
  peer.send('b'.repeat(600), { fin: false });
  peer.send('c'.repeat(600), { fin: true });
  assert.equal(await peerClosed, 1009);
  const closed = await r.waitClosed();
  assert.equal(closed.code, 1009);
  assert.deepEqual(r.errors.map((e) => e.code), ['MESSAGE_TOO_BIG']);
  assert.deepEqual(r.states, [WS_OPEN]);
});

test('ws server: close codes and reasons both ways', async (t) => {
  const s = await wsServer(t, { handleProtocols: () => 'ocpp1.6' });
  // Server-initiated: we see its code and reason, it sees its code echoed.
  const a = open(`ws://127.0.0.1:${s.port}/`);
  const pa = await s.next();
  await a.waitOpen();
  const echoed = new Promise<number>((resolve) => pa.on('close', (code) => resolve(code)));
  pa.close(4001, 'bye now');
  assert.deepEqual(await a.waitClosed(), { code: 4001, reason: 'bye now' });
  assert.equal(await echoed, 4001);
  // Client-initiated.
  const b = open(`ws://127.0.0.1:${s.port}/`);
  const pb = await s.next();
  await b.waitOpen();
  const seen = new Promise<[number, string]>((resolve) => pb.on('close', (code, reason) => resolve([code, reason.toString()])));
  b.client.close(3001, 'emulator stopped ü');
  assert.equal(b.client.readyState, 2);
  assert.equal(b.client.send('late'), false);
  assert.deepEqual(await seen, [3001, 'emulator stopped ü']);
  assert.deepEqual(await b.waitClosed(), { code: 3001, reason: 'emulator stopped ü' });
  // No status code: 1005.
  const c = open(`ws://127.0.0.1:${s.port}/`);
  const pc = await s.next();
  await c.waitOpen();
  pc.close();
  assert.equal((await c.waitClosed()).code, 1005);
  // Invalid codes are refused locally.
  const d = open(`ws://127.0.0.1:${s.port}/`);
  await d.waitOpen();
  assert.throws(() => d.client.close(1006), RangeError);
  assert.throws(() => d.client.close(1000, 'r'.repeat(124)), RangeError);
  d.client.terminate();
  assert.equal((await d.waitClosed()).code, 1006);
  for (const x of [a, b, c, d]) assert.equal(x.closeCount, 1);
  assert.deepEqual([...a.errors, ...b.errors, ...c.errors, ...d.errors], []);
});

test('ws server: subprotocol mismatch, no subprotocol, extension, HTTP error: clear errors, never open', async (t) => {
  const other = await wsServer(t, { handleProtocols: () => 'ocpp2.1' });
  const none = await wsServer(t, { handleProtocols: () => false });
  const refused = await wsServer(t, { verifyClient: (_info, cb) => cb(false, 404, 'Not Found') });
  const cases: Array<[string, string, number?]> = [
    [`ws://127.0.0.1:${other.port}/`, 'SUBPROTOCOL'],
    [`ws://127.0.0.1:${none.port}/`, 'SUBPROTOCOL'],
    [`ws://127.0.0.1:${refused.port}/`, 'HANDSHAKE_STATUS', 404],
  ];
  for (const [url, code, status] of cases) {
    const r = open(url, ['ocpp1.6']);
    const closed = await r.waitClosed();
    assert.equal(r.opened, false, url);
    assert.equal(closed.code, 1006);
    assert.deepEqual(r.errors.map((e) => e.code), [code], r.errors[0]?.message);
    assert.equal(r.errors[0]!.status, status);
    assert.deepEqual(r.states, [WS_CONNECTING]);
  }
  // What a raw server can get wrong in the answer.
  const answers: Array<[string, (req: string) => string, string]> = [
    ['bad accept', () => 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: AAAA\r\nSec-WebSocket-Protocol: ocpp1.6\r\n\r\n', 'HANDSHAKE_INVALID'],
    ['extension', (req) => upgradeAnswer(req).replace('\r\n\r\n', '\r\nSec-WebSocket-Extensions: permessage-deflate\r\n\r\n'), 'HANDSHAKE_INVALID'],
    ['no upgrade', (req) => upgradeAnswer(req).replace('Upgrade: websocket\r\n', ''), 'HANDSHAKE_INVALID'],
    ['not http', () => 'SSH-2.0-OpenSSH\r\n\r\n', 'HANDSHAKE_INVALID'],
  ];
  for (const [name, answer, code] of answers) {
    const port = await rawServer(t, (socket, request) => socket.write(answer(request)));
    const r = open(`ws://127.0.0.1:${port}/`);
    await r.waitClosed();
    assert.equal(r.opened, false, name);
    assert.deepEqual(r.errors.map((e) => e.code), [code], `${name}: ${r.errors[0]?.message}`);
  }
});

test('raw server: masked server frames, reserved bits, bad opcodes, bad close codes fail with 1002 (PROTOCOL)', async (t) => {
  const bad: Array<[string, Buffer]> = [
    ['masked', Buffer.from([0x81, 0x82, 1, 2, 3, 4, 0x61 ^ 1, 0x62 ^ 2])],
    ['rsv1', Buffer.from([0xc1, 0x01, 0x61])],
    ['opcode 3', Buffer.from([0x83, 0x00])],
    ['fragmented ping', Buffer.from([0x09, 0x00])],
    ['continuation first', serverFrame(0x0, 'x')],
    ['close code 1005', serverFrame(0x8, Buffer.from([0x03, 0xed]))],
    ['text inside fragments', Buffer.concat([serverFrame(0x1, 'a', false), serverFrame(0x1, 'b')])],
  ];
  for (const [name, frame] of bad) {
    let clientClose: Buffer | null = null;
    const port = await rawServer(t, (socket, request) => {
      socket.write(upgradeAnswer(request));
      socket.write(frame);
      socket.on('data', (chunk: Buffer) => {
        clientClose ??= chunk;
        socket.end();
      });
    });
    const r = open(`ws://127.0.0.1:${port}/`);
    const closed = await r.waitClosed();
    assert.deepEqual(r.errors.map((e) => e.code), ['PROTOCOL'], `${name}: ${r.errors.map((e) => e.message).join()}`);
    assert.equal(closed.code, 1002, name);
    await waitFor(() => clientClose !== null, 5000);
    const c = clientClose!;
    const mask = c.subarray(2, 6);
    assert.equal(c[0], 0x88, name);
    assert.equal(((c[6]! ^ mask[0]!) << 8) | (c[7]! ^ mask[1]!), 1002, name);
  }
  // Invalid UTF-8 in a text message: 1007, unless the check is skipped.
  const port = await rawServer(t, (socket, request) => {
    socket.write(upgradeAnswer(request));
    socket.write(serverFrame(0x1, Buffer.from([0xc3, 0x28])));
  });
  const checked = open(`ws://127.0.0.1:${port}/`);
  assert.equal((await checked.waitClosed()).code, 1007);
  assert.deepEqual(checked.errors.map((e) => e.code), ['INVALID_UTF8']);
  const skipped = open(`ws://127.0.0.1:${port}/`, ['ocpp1.6'], { skipUtf8Validation: true });
  await waitFor(() => skipped.messages.length === 1, 5000);
  skipped.client.terminate();
  await skipped.waitClosed();
});

test('connection refused, handshake timeout, close/terminate while connecting: one error, then close 1006', async (t) => {
  // A port nothing listens on: bind one, close it.
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', () => resolve()));
  const deadPort = (probe.address() as AddressInfo).port;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  const refused = open(`ws://127.0.0.1:${deadPort}/`);
  assert.equal((await refused.waitClosed()).code, 1006);
  assert.deepEqual(refused.errors.map((e) => e.code), ['SOCKET']);
  assert.match(refused.errors[0]!.message, /ECONNREFUSED/);

  const silent = await rawServer(t, () => {});
  const slow = open(`ws://127.0.0.1:${silent}/`, ['ocpp1.6'], { handshakeTimeoutMs: 200 });
  assert.equal((await slow.waitClosed()).code, 1006);
  assert.deepEqual(slow.errors.map((e) => e.code), ['HANDSHAKE_TIMEOUT']);

  for (const how of ['close', 'terminate'] as const) {
    const r = open(`ws://127.0.0.1:${silent}/`);
    if (how === 'close') r.client.close(1000);
    else r.client.terminate();
    assert.equal((await r.waitClosed()).code, 1006);
    assert.deepEqual(r.errors.map((e) => e.code), ['ABORTED']);
    assert.equal(r.closeCount, 1);
  }
  assert.throws(() => open('http://127.0.0.1:1/'), TypeError);
  assert.throws(() => open('ws://127.0.0.1:1/', ['bad protocol']), TypeError);
});

test('ws server: the request carries the path, query, Host, subprotocols, extra headers and the source address', async (t) => {
  let seen: { url: string; headers: Record<string, string | string[] | undefined>; remote: string } | null = null;
  const s = await wsServer(t, { handleProtocols: () => 'ocpp1.6' });
  s.wss.on('connection', (_ws, req) => (seen = { url: req.url!, headers: req.headers, remote: req.socket.remoteAddress! }));
  const r = open(`ws://127.0.0.1:${s.port}/ocpp/CP%201?x=1`, ['ocpp1.6', 'ocpp2.0.1'], { headers: { authorization: 'Basic Q1A6cHc=' }, localAddress: '127.0.0.1' });
  await r.waitOpen();
  await waitFor(() => seen !== null, 5000);
  const v = seen!;
  assert.equal(v.url, '/ocpp/CP%201?x=1');
  assert.equal(v.headers.host, `127.0.0.1:${s.port}`);
  assert.equal(v.headers['sec-websocket-protocol'], 'ocpp1.6, ocpp2.0.1');
  assert.equal(v.headers.authorization, 'Basic Q1A6cHc=');
  assert.equal(v.headers['sec-websocket-extensions'], undefined);
  assert.equal(v.remote, '127.0.0.1');
  r.client.close(1000);
  await r.waitClosed();
});
