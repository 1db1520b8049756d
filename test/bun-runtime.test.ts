/**
 * The router as a process on each runtime, Node (uWebSockets.js) and Bun (Bun.serve: src/transport/bun-server.ts),
 * driven by the same Node clients with the same assertions: the transport behaves alike on both. Under Bun the
 * uWebSockets.js package must never load (it falls back to a JS shim that hangs on wildcard routes), so its
 * warning must not appear. Bun comes from scripts/find-bun.mjs; without it these cases are skipped, except under
 * CI=true where a missing Bun is a failure.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import WebSocket from 'ws';
import { packageRoot } from '../src/config/load.js';
import { spawnRouter } from './helpers/router-process.js';
import { TestStation } from './helpers/server.js';

const finder = (await import(pathToFileURL(join(packageRoot(), 'scripts', 'find-bun.mjs')).href)) as { findBun(): string | null; MISSING: string };
const bun = finder.findBun();
if (bun === null && process.env.CI === 'true') throw new Error(`CI=true: ${finder.MISSING}`);

const RUNTIMES: Array<{ name: string; runtime: string | undefined; skip: string | false }> = [
  { name: 'node', runtime: undefined, skip: false },
  { name: 'bun', runtime: bun ?? undefined, skip: bun === null ? finder.MISSING : false },
];

/** A raw masked client frame (RFC 6455 §5.2), for what the `ws` client refuses to send (invalid UTF-8 text). */
function rawFrame(opcode: number, payload: Buffer): Buffer {
  const mask = Buffer.from([0x11, 0x22, 0x33, 0x44]);
  const masked = Buffer.from(payload.map((b, i) => b ^ mask[i % 4]!));
  return Buffer.concat([Buffer.from([0x80 | opcode, 0x80 | payload.length]), mask, masked]);
}

for (const { name, runtime, skip } of RUNTIMES) {
  test(`${name}: handshake, frames, violations, HTTP and a graceful stop behave as on the other runtime`, { skip, timeout: 60_000 }, async (t) => {
    const dataDir = await mkdtemp(join(tmpdir(), `ocpp-router-${name}-`));
    t.after(() => rm(dataDir, { recursive: true, force: true }));
    const router = await spawnRouter(t, { dataDir, env: { MAX_FRAME_BYTES: '4096' }, ...(runtime === undefined ? {} : { runtime }) });
    const listening = JSON.parse(router.lines.find((l) => l.includes('ocpp-router listening'))!) as { runtime: string };
    assert.match(listening.runtime, new RegExp(`^${name} `), 'the listening line names the runtime');
    const url = (identity: string): string => `ws://127.0.0.1:${router.port}/ocpp/${identity}`;

    // Subprotocol choice among the offered ones, and a BootNotification answered.
    const station = await TestStation.connect(url('RT-1'), ['ocpp1.6', 'ocpp2.0.1']);
    assert.equal(station.ws.protocol, 'ocpp2.0.1');
    const boot = await station.call('BootNotification', { reason: 'PowerUp', chargingStation: { model: 'X1', vendorName: 'Acme' } });
    assert.equal(boot[0], 3);
    assert.equal((boot[2] as { status: string }).status, 'Accepted');

    // An identity over ocpp.maxIdentityLength is refused with 400 before any upgrade.
    const refused = await new Promise<number>((resolve) => {
      const ws = new WebSocket(url('X'.repeat(100)), ['ocpp1.6']);
      ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.on('open', () => resolve(101));
      ws.on('error', () => undefined);
    });
    assert.equal(refused, 400);

    // A binary frame: 1003; a frame over maxFrameBytes: 1009; invalid UTF-8 in a text frame: 1007.
    const binary = await TestStation.connect(url('RT-BIN'));
    binary.ws.send(Buffer.from([1, 2, 3]), { binary: true });
    assert.equal((await binary.closed).code, 1003);
    const big = await TestStation.connect(url('RT-BIG'));
    big.ws.send(JSON.stringify([2, '1', 'Heartbeat', { pad: 'x'.repeat(5000) }]));
    assert.equal((await big.closed).code, 1009);
    const utf8 = await TestStation.connect(url('RT-UTF8'));
    const socket = (utf8.ws as unknown as { _socket: { write(b: Buffer): void } })._socket;
    socket.write(rawFrame(0x1, Buffer.from([0x5b, 0xff, 0xfe, 0x5d])));
    // Both drop the connection; Bun sends the close frame 1007 first, uWS does not (the client sees 1006). The
    // shard records 1007 on both (badFrames.invalidUtf8).
    assert.equal((await utf8.closed).code, name === 'bun' ? 1007 : 1006);

    // HTTP on the same port: a local route, a body over the limit (413), an unknown route (404).
    const ping = await fetch(`http://127.0.0.1:${router.port}/api/v1/ping`);
    assert.equal(ping.status, 200);
    const tooLarge = await fetch(`http://127.0.0.1:${router.port}/api/v1/commands`, { method: 'POST', body: 'x'.repeat(1024 * 1024 + 1), headers: { 'content-type': 'application/json' } });
    assert.equal(tooLarge.status, 413);
    assert.match(await tooLarge.text(), /request body over/);
    assert.equal((await fetch(`http://127.0.0.1:${router.port}/no-such-route`)).status, 404);

    // SIGTERM: graceful stop, the station gets 1001, the process exits 0.
    router.child.kill('SIGTERM');
    assert.equal((await station.closed).code, 1001);
    assert.equal(await router.exited, 0);
    const output = router.lines.join('\n');
    assert.doesNotMatch(output, /µWS is not compatible|Falling back to a NodeJS implementation/, 'uWebSockets.js was never loaded under Bun');
  });
}
