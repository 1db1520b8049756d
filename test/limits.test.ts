/**
 * Limits per station and per source address (docs/limits.md) against the real router (real shard threads, real
 * sockets): the message rate limit (CALLERROR per version, then 1008), the per-address connection cap over all
 * shards (503 with Retry-After, given back on disconnect and on failed upgrades), the deadline of an asynchronous
 * upgrade decision, the boot timeout, and the outbound queue bound as the API caller sees it (429).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { randomBytes } from 'node:crypto';
import { connect as tcpConnect, type Socket } from 'node:net';
import { startTestServer, TestStation, waitFor, type TestServer } from './helpers/server.js';
import { http } from './api-helpers.js';
import { hashPassword } from '../src/config/password-hash.js';
import type { OcppVersion } from '../src/protocol/versions.js';

const LIMIT = { timeout: 60_000 };

let seq = 0;
function identityFor(prefix: string): string {
  return `${prefix}-${process.pid}-${++seq}`;
}

interface UpgradeOutcome {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One upgrade request over a raw HTTP client (optionally from another loopback address); the socket is dropped after. */
function rawUpgrade(port: number, path: string, headers: Record<string, string> = {}, localAddress?: string): Promise<UpgradeOutcome> {
  return new Promise((resolve, reject) => {
    const req = request({
      host: '127.0.0.1',
      port,
      path,
      ...(localAddress === undefined ? {} : { localAddress }),
      headers: { Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Version': '13', 'Sec-WebSocket-Key': randomBytes(16).toString('base64'), 'Sec-WebSocket-Protocol': 'ocpp1.6', ...headers },
    });
    req.on('error', reject);
    req.on('response', (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on('upgrade', (res, socket: Socket) => {
      socket.destroy();
      resolve({ status: res.statusCode!, headers: res.headers, body: '' });
    });
    req.end();
  });
}

async function connect(h: TestServer, t: { after(fn: () => unknown): void }, version: OcppVersion = 'ocpp1.6', options: { localAddress?: string; prefix?: string } = {}): Promise<TestStation> {
  const station = await TestStation.connect(h.url(identityFor(options.prefix ?? 'lim')), [version], options.localAddress === undefined ? {} : { localAddress: options.localAddress });
  t.after(() => station.close());
  return station;
}

// --- per-station message rate limit ---

for (const [version, code] of [['ocpp1.6', 'GenericError'], ['ocpp2.0.1', 'RpcFrameworkError'], ['ocpp2.1', 'RpcFrameworkError']] as const) {
  test(`rate limit (${version}): a CALL over it gets ${code} saying so; when it persists the socket is closed with 1008`, LIMIT, async (t) => {
    // 1 frame/s after a burst of 3; the 5th limited frame within 60 s closes.
    const h = await startTestServer({ limits: { messageRatePerS: 1, messageBurst: 3, maxRateLimited: 5, rateLimitWindowS: 60 } });
    t.after(() => h.stop());
    const station = await connect(h, t, version);
    for (let i = 0; i < 3; i++) assert.equal((await station.call('Heartbeat', {}))[0], 3, `frame ${i + 1} of the burst is answered`);
    // Over the burst: the next CALL gets the error (a token may come back meanwhile: at most one a second).
    let limited: unknown[] | null = null;
    for (let i = 0; i < 5 && limited === null; i++) {
      const answer = await station.call('Heartbeat', {}, `over-${i}`);
      if (answer[0] === 4) limited = answer;
    }
    assert.ok(limited !== null, 'a CALL over the limit is answered with a CALLERROR');
    assert.equal(limited[2], code);
    assert.match(String(limited[3]), /rate limited/);
    assert.deepEqual(limited[4], {});
    // A frame that is not a CALL (a CALLRESULT nobody waits for) is dropped over the limit, unanswered.
    station.ws.send(JSON.stringify([3, 'nobody-asked', {}]));
    await waitFor(async () => (await h.server.counter('rateLimited.other')) >= 1, 5000, 'the dropped non-CALL frame counted');
    // It persists: the socket is closed with 1008 and a reason.
    for (let i = 0; i < 10 && station.ws.readyState === station.ws.OPEN; i++) station.ws.send(JSON.stringify([2, `flood-${i}`, 'Heartbeat', {}]));
    const closed = await station.closed;
    assert.equal(closed.code, 1008);
    assert.match(closed.reason, /rate limit/);
    await waitFor(async () => (await h.server.counter('policyCloses.rateLimited')) === 1, 5000, 'policy close counted');
    assert.ok((await h.server.counter('rateLimited.call')) >= 1);
    assert.equal(await h.server.counter('disconnects.policy'), 1);
    const metrics = await (await fetch(`http://127.0.0.1:${h.port}/metrics`)).text();
    assert.match(metrics, /ocpp_rate_limited_frames_total\{kind="call"\} [1-9]/);
    assert.match(metrics, /ocpp_policy_closes_total\{reason="rateLimited"\} 1/);
  });
}

test('rate limit at its defaults never throttles a reconnect storm: BootNotification, a StatusNotification per connector, MeterValues at once', LIMIT, async (t) => {
  const h = await startTestServer();
  t.after(() => h.stop());
  assert.ok(h.config.limits.messageRatePerS > 0, 'the limit is on by default');
  const station = await connect(h, t);
  const now = new Date().toISOString();
  const frames: Array<Promise<unknown[]>> = [station.call('BootNotification', { chargePointVendor: 'V', chargePointModel: 'M' })];
  // A site with 40 connectors, all sent without waiting (stations that pipeline are common; inboundQueueMax 100).
  for (let c = 0; c <= 40; c++) frames.push(station.call('StatusNotification', { connectorId: c, status: 'Available', errorCode: 'NoError', timestamp: now }));
  for (let c = 1; c <= 40; c++) frames.push(station.call('MeterValues', { connectorId: c, meterValue: [{ timestamp: now, sampledValue: [{ value: '1' }] }] }));
  const answers = await Promise.all(frames);
  for (const answer of answers) assert.equal(answer[0], 3, JSON.stringify(answer));
  assert.equal(await h.server.counter('rateLimited.call'), 0);
  assert.equal(station.ws.readyState, station.ws.OPEN);
});

test('rate limit applies to OCPP-S requests too: over it a request gets a GenericError fault saying so', LIMIT, async (t) => {
  const h = await startTestServer({ limits: { messageRatePerS: 1, messageBurst: 2, maxRateLimited: 0 } });
  t.after(() => h.stop());
  const heartbeat = (n: number): Promise<Response> => fetch(`http://127.0.0.1:${h.port}/Ocpp/CentralSystemService`, {
    method: 'POST',
    headers: { 'content-type': 'application/soap+xml' },
    body: `<?xml version="1.0"?><s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://www.w3.org/2005/08/addressing" xmlns:cs="urn://Ocpp/Cs/2015/10/">
  <s:Header><cs:chargeBoxIdentity>SOAP-LIM</cs:chargeBoxIdentity><a:MessageID>m-${n}</a:MessageID><a:Action>/Heartbeat</a:Action></s:Header>
  <s:Body><cs:heartbeatRequest/></s:Body></s:Envelope>`,
  });
  for (let n = 1; n <= 2; n++) assert.equal((await heartbeat(n)).status, 200, `request ${n} of the burst`);
  let fault: string | null = null;
  for (let n = 3; n <= 6 && fault === null; n++) {
    const r = await heartbeat(n);
    const text = await r.text();
    if (r.status !== 200) fault = text;
  }
  assert.ok(fault !== null, 'a request over the limit gets a fault');
  assert.match(fault, /GenericError/);
  assert.match(fault, /rate limited/);
  assert.ok((await h.server.counter('rateLimited.call')) >= 1);
});

// --- per-source-address connection limit ---

test('maxStationsPerAddress: over all shards, 503 with Retry-After and a JSON body; other addresses unaffected; freed on disconnect', LIMIT, async (t) => {
  const h = await startTestServer({ limits: { maxStationsPerAddress: 2 }, admission: { retryAfterS: 9 } });
  t.after(() => h.stop());
  const p = h.config.ocpp.path;
  const a = await connect(h, t);
  await connect(h, t);
  // Several attempts: whichever shard the kernel picks sees the shared count.
  for (let i = 0; i < 4; i++) {
    const outcome = await rawUpgrade(h.port, `${p}/${identityFor('addr')}`);
    assert.equal(outcome.status, 503);
    assert.equal(outcome.headers['retry-after'], '9');
    const body = JSON.parse(outcome.body) as { error: { code: number; message: string } };
    assert.equal(body.error.code, 503);
    assert.match(body.error.message, /too many stations connected from this address/);
  }
  assert.equal(await h.server.counter('upgradesRefused.address'), 4);
  // Another address (127.0.0.2 is loopback too on Linux) has its own count.
  const other = await connect(h, t, 'ocpp1.6', { localAddress: '127.0.0.2' });
  assert.equal(other.ws.readyState, other.ws.OPEN);
  // A disconnect gives the slot back.
  await a.close();
  const c = await waitFor(async () => {
    const outcome = await rawUpgrade(h.port, `${p}/${identityFor('addr')}`);
    return outcome.status === 101 ? outcome : null;
  }, 5000, 'a free slot after a disconnect');
  assert.equal(c.status, 101);
});

test('maxStationsPerAddress: failed upgrades (401) give the address count back', LIMIT, async (t) => {
  const hash = await hashPassword('s3cret-Passw0rd');
  const h = await startTestServer({ limits: { maxStationsPerAddress: 1 }, security: { basicAuth: { enable: true, passwords: { CPA: hash, CPB: hash } } } });
  t.after(() => h.stop());
  const p = h.config.ocpp.path;
  const basic = (user: string, password: string): Record<string, string> => ({ Authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` });
  for (let i = 0; i < 3; i++) assert.equal((await rawUpgrade(h.port, `${p}/CPA`, basic('CPA', 'wrong'))).status, 401);
  const station = await TestStation.connect(h.url('CPA'), ['ocpp1.6'], { headers: basic('CPA', 's3cret-Passw0rd') });
  t.after(() => station.close());
  // The one slot of the address is taken by CPA now.
  assert.equal((await rawUpgrade(h.port, `${p}/CPB`, basic('CPB', 's3cret-Passw0rd'))).status, 503);
  await station.close();
  await waitFor(async () => (await rawUpgrade(h.port, `${p}/CPB`, basic('CPB', 's3cret-Passw0rd'))).status === 101, 10_000, 'CPB connects once CPA left');
});

// --- handshake deadlines ---

test('upgradeTimeoutMs: an upgrade whose decision (scrypt) is late gets 503 with Retry-After; its slots are given back', LIMIT, async (t) => {
  const hash = await hashPassword('s3cret-Passw0rd');
  // 1 ms: far less than one scrypt verification. One station at most, one per address: a leaked slot would refuse the next.
  const h = await startTestServer({
    limits: { upgradeTimeoutMs: 1, maxStationsPerAddress: 1 },
    admission: { maxStations: 1, retryAfterS: 3 },
    security: { basicAuth: { enable: true, passwords: { CPT: hash } } },
  });
  t.after(() => h.stop());
  const auth = { Authorization: `Basic ${Buffer.from('CPT:s3cret-Passw0rd').toString('base64')}` };
  const first = await rawUpgrade(h.port, `${h.config.ocpp.path}/CPT`, auth);
  assert.equal(first.status, 503);
  assert.equal(first.headers['retry-after'], '3');
  assert.match((JSON.parse(first.body) as { error: { message: string } }).error.message, /not decided within 1 ms/);
  assert.equal(await h.server.counter('upgradesRefused.timeout'), 1);
  // The verification finished meanwhile and is cached: the next upgrade is decided at once and gets the slots back.
  const next = await waitFor(async () => {
    const outcome = await rawUpgrade(h.port, `${h.config.ocpp.path}/CPT`, auth);
    return outcome.status === 101 ? outcome : null;
  }, 10_000, 'an upgrade decided from the cache');
  assert.equal(next.status, 101);
});

test('bootTimeoutS: a connection without BootNotification is closed with 1008; one that booted stays', LIMIT, async (t) => {
  const h = await startTestServer({ limits: { bootTimeoutS: 1 } });
  t.after(() => h.stop());
  const booted = await connect(h, t, 'ocpp2.0.1');
  const boot = await booted.call('BootNotification', { reason: 'PowerUp', chargingStation: { model: 'M', vendorName: 'V' } });
  assert.equal(boot[0], 3);
  const silent = await connect(h, t, 'ocpp2.0.1');
  const chatty = await connect(h, t, 'ocpp1.6');
  assert.equal((await chatty.call('Heartbeat', {}))[0], 3, 'a Heartbeat is not a boot');
  const started = Date.now();
  for (const station of [silent, chatty]) {
    const closed = await station.closed;
    assert.equal(closed.code, 1008);
    assert.match(closed.reason, /no BootNotification within 1 s/);
  }
  const elapsed = Date.now() - started;
  assert.ok(elapsed < 5000, `closed within the timeout plus one sweep (${elapsed} ms)`);
  // The booted one connected before both and was swept with them: still open.
  assert.equal(booted.ws.readyState, booted.ws.OPEN);
  assert.equal((await booted.call('Heartbeat', {}))[0], 3);
  assert.equal(await h.server.counter('policyCloses.bootTimeout'), 2);
});

test('slow handshakes: a socket that sends nothing, or its request headers byte by byte, is closed by uWS itself', LIMIT, async (t) => {
  const h = await startTestServer();
  t.after(() => h.stop());
  const started = Date.now();
  /** Opens a TCP connection, lets `feed` write to it, resolves with the ms until the server closed it. */
  const closedAfter = (feed: (socket: Socket) => void): Promise<number> => new Promise((resolve, reject) => {
    const socket = tcpConnect(h.port, '127.0.0.1', () => feed(socket));
    socket.on('error', () => {}); // a reset is a close too
    socket.on('close', () => resolve(Date.now() - started));
    setTimeout(() => {
      socket.destroy();
      reject(new Error('the server kept the socket open for 30 s'));
    }, 30_000).unref();
  });
  const request = `GET ${h.config.ocpp.path}/SLOW HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: ocpp1.6\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nX-Pad: ${'a'.repeat(200)}`;
  const [silent, slowloris] = await Promise.all([
    closedAfter(() => {}),
    closedAfter((socket) => {
      let i = 0;
      const timer = setInterval(() => (socket.destroyed ? clearInterval(timer) : socket.write(request[i++ % request.length]!)), 250);
      socket.on('close', () => clearInterval(timer));
    }),
  ]);
  // uWS closes an HTTP connection after 10 s without a complete request (its timer ticks every 4 s), and partial
  // data does not restart the timer: measured 12.0 s for both.
  t.diagnostic(`silent socket closed after ${silent} ms, byte-by-byte headers after ${slowloris} ms`);
  for (const ms of [silent, slowloris]) assert.ok(ms >= 8000 && ms <= 20_000, `closed by the HTTP idle timeout (${ms} ms)`);
});

// --- outbound queue bound ---

test('outboundQueueMax: one command too many answers the API caller 429 with a JSON error, and is counted', LIMIT, async (t) => {
  const h = await startTestServer({ ocpp: { outboundQueueMax: 1 } });
  t.after(() => h.stop());
  const identity = identityFor('outq');
  const station = await TestStation.connect(h.url(identity), ['ocpp1.6']);
  t.after(() => station.close());
  await waitFor(() => h.server.station(identity)?.connected === true, 5000, 'station registered');
  // The station never answers: one command in flight, one waiting, the third has no room.
  const path = `/api/v1/ChargePoint/${identity}/ClearCache?timeoutMs=2000`;
  const inFlight = http(h.port, 'POST', path, { json: {} });
  await waitFor(() => station.received.length >= 1, 5000, 'the first command reached the station');
  const queued = http(h.port, 'POST', path, { json: {} });
  const metricsText = async (): Promise<string> => (await fetch(`http://127.0.0.1:${h.port}/metrics`)).text();
  await waitFor(async () => /^ocpp_outbound_calls_queued 1$/m.test(await metricsText()), 5000, 'the second command waiting');
  const refused = await http(h.port, 'POST', path, { json: {} });
  assert.equal(refused.status, 429);
  assert.equal(refused.body.error.code, 429);
  assert.match(refused.body.error.message, /calls queued/);
  assert.equal(refused.body.error.details.reason, 'CALL_QUEUE_FULL');
  assert.ok((await h.server.counter('outboundQueueFull')) >= 1);
  assert.match(await metricsText(), /ocpp_outbound_queue_full_total [1-9]/);
  // The two accepted ones time out as the station never answers (504), not 429.
  assert.equal((await inFlight).status, 504);
  assert.equal((await queued).status, 504);
});
