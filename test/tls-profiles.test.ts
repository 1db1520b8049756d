/**
 * OCPP security profiles per station (security.defaultProfile, security.profiles): profile 2 refused on plain ws://
 * and Basic auth required over TLS; profile 3 through the built-in mTLS front (Node TLS, client certificates good,
 * expired, of another CA, with another CN) and through a trusted proxy's certificate header. Real clients: `ws`
 * over wss with ca/cert/key, and ocpp-rpc (an independent OCPP-J implementation) through the front.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import WebSocket from 'ws';
import { RPCClient } from 'ocpp-rpc';
import { makeCerts, type CertFiles } from './helpers/certs.js';
import { startTestServer, TestStation, waitFor, type TestServer } from './helpers/server.js';
import { http } from './api-helpers.js';
import { hashPassword } from '../src/config/password-hash.js';

const LIMIT = { timeout: 60_000 };

let certs: CertFiles;
let hash: string;
test.before(async () => {
  certs = await makeCerts();
  hash = await hashPassword('s3cret');
});
test.after(() => certs.remove());

const basic = (user: string, password = 's3cret'): string => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

function tls(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { enable: true, port: 0, certFile: certs.serverCert, keyFile: certs.serverKey, clientCaFile: certs.caCert, ...extra };
}

interface Outcome {
  status: number;
  body: { error?: { code: number; message: string } } | null;
  error?: string;
}

/** Opens a WebSocket and reports how the upgrade ended: 101, an HTTP refusal with its JSON body, or a TLS error. */
function attempt(url: string, options: WebSocket.ClientOptions = {}): Promise<Outcome> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, ['ocpp1.6'], options);
    ws.once('open', () => {
      ws.close();
      resolve({ status: 101, body: null });
    });
    ws.once('unexpected-response', (_req, res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text === '' ? null : (JSON.parse(text) as Outcome['body']) }));
    });
    ws.once('error', (error: NodeJS.ErrnoException) => resolve({ status: 0, body: null, error: error.code ?? error.message }));
  });
}

const ca = (): Buffer => readFileSync(certs.caCert);
const clientTls = (name: string): WebSocket.ClientOptions => ({ ca: ca(), cert: readFileSync(certs.client(name).cert), key: readFileSync(certs.client(name).key) });
const pemHeader = (name: string): string => encodeURIComponent(readFileSync(certs.client(name).cert, 'utf8'));

function plainUrl(h: TestServer, id: string): string {
  return h.url(id);
}
function wssUrl(h: TestServer, id: string, port = h.server.ports.tls): string {
  return `wss://127.0.0.1:${port}${h.config.ocpp.path}/${encodeURIComponent(id)}`;
}

test('profile 2: refused with 403 on plain ws://, Basic auth required over wss://', LIMIT, async (t) => {
  const h = await startTestServer({ tls: tls({ clientCaFile: null }), security: { profiles: { 'CP-P2': 2 }, basicAuth: { passwords: { 'CP-P2': hash, 'CP-P1': hash } } } } as never);
  t.after(() => h.stop());
  const plain = await attempt(plainUrl(h, 'CP-P2'), { headers: { authorization: basic('CP-P2') } });
  assert.equal(plain.status, 403);
  assert.equal(plain.body?.error?.code, 403);
  assert.match(plain.body?.error?.message ?? '', /security profile 2: connect with wss:\/\//);
  assert.equal(await h.server.counter('upgradesRefused.profile'), 1);
  // basicAuth.enable is off, yet profile 2 needs it.
  assert.equal((await attempt(wssUrl(h, 'CP-P2'), { ca: ca() })).status, 401);
  assert.equal((await attempt(wssUrl(h, 'CP-P2'), { ca: ca(), headers: { authorization: basic('CP-P2', 'wrong') } })).status, 401);
  assert.equal((await attempt(wssUrl(h, 'CP-P2'), { ca: ca(), headers: { authorization: basic('CP-P2') } })).status, 101);
  // A profile 1 station (the default) still connects on plain ws:// without Basic auth (basicAuth.enable off).
  assert.equal((await attempt(plainUrl(h, 'CP-P1'))).status, 101);
});

test('profile 2: a SecurityEventNotification is answered and kept (API over https://)', LIMIT, async (t) => {
  const h = await startTestServer({ tls: tls({ clientCaFile: null }), security: { defaultProfile: 2, basicAuth: { passwords: { 'CP-SEC': hash } } } } as never);
  t.after(() => h.stop());
  const station = await TestStation.connect(wssUrl(h, 'CP-SEC'), ['ocpp1.6'], { ca: ca(), headers: { authorization: basic('CP-SEC') } });
  t.after(() => station.close());
  await station.call('BootNotification', { chargePointVendor: 'V', chargePointModel: 'M' });
  const answer = await station.call('SecurityEventNotification', { type: 'InvalidCentralSystemCertificate', timestamp: new Date().toISOString(), techInfo: 'test' });
  assert.deepEqual(answer.slice(0, 1), [3]);
  const kept = await waitFor(async () => {
    const res = await fetchJson(h.server.ports.tls, `/api/v1/stations/CP-SEC/messages`);
    const list = JSON.stringify(res);
    return list.includes('SecurityEventNotification') && list.includes('InvalidCentralSystemCertificate') ? res : null;
  }, 10_000, 'the SecurityEventNotification in the store');
  assert.ok(kept);
  // The station at profile 2 cannot come back on plain ws://.
  assert.equal((await attempt(plainUrl(h, 'CP-SEC'), { headers: { authorization: basic('CP-SEC') } })).status, 403);
});

async function fetchJson(port: number, path: string): Promise<unknown> {
  const { request } = await import('node:https');
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, ca: ca() }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve(JSON.parse(body)));
    });
    req.on('error', reject);
    req.end();
  });
}

test('profile 3 through the built-in mTLS front: the certificate must chain to the CA, be valid and name the station', LIMIT, async (t) => {
  const h = await startTestServer({ tls: tls({ front: { enable: true, port: 0 } }), security: { profiles: { 'CP-GOOD': 3, 'CP-EXPIRED': 3, 'CP-OTHER': 3, 'CP-WRONG': 3 } } } as never);
  t.after(() => h.stop());
  const port = h.server.ports.front;
  assert.ok(port > 0);
  const good = await TestStation.connect(wssUrl(h, 'CP-GOOD', port), ['ocpp1.6'], clientTls('good'));
  t.after(() => good.close());
  assert.equal(((await good.call('BootNotification', { chargePointVendor: 'V', chargePointModel: 'M' }))[2] as { status: string }).status, 'Accepted');
  await waitFor(() => h.server.station('CP-GOOD')?.connected === true, 5000, 'CP-GOOD registered');
  // Expired and other-CA certificates: Node refuses the handshake (rejectUnauthorized), so no HTTP answer at all.
  const expired = await attempt(wssUrl(h, 'CP-EXPIRED', port), clientTls('expired'));
  assert.equal(expired.status, 0, JSON.stringify(expired));
  const other = await attempt(wssUrl(h, 'CP-OTHER', port), clientTls('otherCa'));
  assert.equal(other.status, 0, JSON.stringify(other));
  // No certificate at all: refused at the handshake too.
  assert.equal((await attempt(wssUrl(h, 'CP-GOOD', port), { ca: ca() })).status, 0);
  // A valid certificate of another station: 403 before the upgrade.
  const wrong = await attempt(wssUrl(h, 'CP-WRONG', port), clientTls('wrongCn'));
  assert.equal(wrong.status, 403);
  assert.match(wrong.body?.error?.message ?? '', /subject CN \(SOMEONE-ELSE\) is not the station identity/);
  assert.equal(await h.server.counter('upgradesRefused.certificate'), 1);
  // The front's headers cannot be forged on the plain listener: without the secret it is plain ws:// → profile refusal.
  const forged = await attempt(plainUrl(h, 'CP-GOOD'), { headers: { 'x-ocpp-router-front': 'guess', 'x-ocpp-router-client-cert': pemHeader('good') } });
  assert.equal(forged.status, 403);
  // Nor through the front itself: a client's own copy is dropped and replaced by the verified one.
  const smuggled = await attempt(wssUrl(h, 'CP-GOOD', port), { ...clientTls('wrongCn'), headers: { 'x-ocpp-router-client-cert': pemHeader('good') } });
  assert.equal(smuggled.status, 403);
  // Profile 3 on the uWS TLS listener: it cannot read client certificates, so it refuses with a clear message.
  const direct = await attempt(wssUrl(h, 'CP-GOOD'), clientTls('good'));
  assert.equal(direct.status, 403);
  assert.match(direct.body?.error?.message ?? '', /mTLS front or a trusted TLS proxy/);
});

test('profile 3 through the mTLS front with ocpp-rpc (independent OCPP-J client) over wss:// with a client certificate', LIMIT, async (t) => {
  const h = await startTestServer({ tls: tls({ front: { enable: true, port: 0 } }), security: { defaultProfile: 3 } } as never);
  t.after(() => h.stop());
  const client = new RPCClient({
    endpoint: `wss://127.0.0.1:${h.server.ports.front}${h.config.ocpp.path}`,
    identity: 'CP-GOOD',
    protocols: ['ocpp1.6'],
    strictMode: true,
    reconnect: false,
    wsOpts: clientTls('good'),
  } as unknown as ConstructorParameters<typeof RPCClient>[0]);
  await client.connect();
  t.after(() => client.close({ force: true }));
  const boot = (await client.call('BootNotification', { chargePointVendor: 'V', chargePointModel: 'M' })) as { status: string };
  assert.equal(boot.status, 'Accepted');
  await waitFor(() => h.server.station('CP-GOOD')?.connected === true, 5000, 'CP-GOOD registered');
  // A central-system command reaches it through the front.
  client.handle('Reset', async () => ({ status: 'Accepted' }));
  const reset = await http(h.port, 'POST', '/api/v1/ChargePoint/CP-GOOD/Reset', { json: { type: 'Soft' } });
  assert.equal(reset.status, 200, reset.text);
});

test('profile 3 through a trusted proxy: the certificate header is believed only from tls.trustedProxies and checked', LIMIT, async (t) => {
  const h = await startTestServer({ tls: tls({ enable: false, clientCertHeader: 'X-SSL-Client-Cert', trustedProxies: ['127.0.0.1'] }), security: { defaultProfile: 3 } } as never);
  t.after(() => h.stop());
  const send = (id: string, name: string | null): Promise<Outcome> => attempt(plainUrl(h, id), { headers: { 'x-forwarded-proto': 'https', ...(name === null ? {} : { 'x-ssl-client-cert': pemHeader(name) }) } });
  assert.equal((await send('CP-GOOD', 'good')).status, 101);
  // Without X-Forwarded-Proto: https the proxy's client came over plain ws://: refused for its profile.
  const plainViaProxy = await attempt(plainUrl(h, 'CP-GOOD'), { headers: { 'x-ssl-client-cert': pemHeader('good') } });
  assert.equal(plainViaProxy.status, 403);
  assert.match(plainViaProxy.body?.error?.message ?? '', /connect with wss:\/\//);
  const cases: Array<[string, string | null, RegExp]> = [
    ['CP-EXPIRED', 'expired', /expired/],
    ['CP-OTHER', 'otherCa', /not issued by a CA of tls.clientCaFile/],
    ['CP-WRONG', 'wrongCn', /not the station identity/],
    ['CP-GOOD', null, /needs a TLS client certificate/],
  ];
  for (const [id, name, message] of cases) {
    const outcome = await send(id, name);
    assert.equal(outcome.status, 403, `${id} ${name}`);
    assert.match(outcome.body?.error?.message ?? '', message);
  }
  // Garbage in the header: refused, the shard goes on.
  const garbage = await attempt(plainUrl(h, 'CP-GOOD'), { headers: { 'x-forwarded-proto': 'https', 'x-ssl-client-cert': '-----BEGIN CERTIFICATE-----%%%' } });
  assert.equal(garbage.status, 403);
  assert.equal((await send('CP-GOOD', 'good')).status, 101);
});

test('profile 3: a certificate header from an address not in tls.trustedProxies is ignored', LIMIT, async (t) => {
  const h = await startTestServer({ tls: tls({ enable: false, clientCertHeader: 'x-ssl-client-cert', trustedProxies: ['192.0.2.1'] }), security: { defaultProfile: 3 } } as never);
  t.after(() => h.stop());
  const outcome = await attempt(plainUrl(h, 'CP-GOOD'), { headers: { 'x-forwarded-proto': 'https', 'x-ssl-client-cert': pemHeader('good') } });
  assert.equal(outcome.status, 403);
  assert.match(outcome.body?.error?.message ?? '', /security profile 3: connect with wss:\/\//);
});

/** Writes raw bytes over TLS with a client certificate and collects what comes back until the server closes. */
async function rawOverTls(port: number, name: string, data: string[]): Promise<string> {
  const { connect } = await import('node:tls');
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, ca: ca(), cert: readFileSync(certs.client(name).cert), key: readFileSync(certs.client(name).key), servername: 'localhost' });
    let text = '';
    socket.setEncoding('latin1');
    socket.on('data', (c: string) => (text += c));
    socket.once('secureConnect', () => {
      // The second write comes after the first answer: a kept-alive connection would carry it as a new request.
      socket.write(data[0]!);
      if (data[1] !== undefined) setImmediate(() => socket.write(data[1]!, () => undefined));
    });
    socket.once('close', () => resolve(text));
    socket.once('error', (error: NodeJS.ErrnoException) => (error.code === 'ECONNRESET' || error.code === 'EPIPE' ? resolve(text) : reject(error)));
    socket.setTimeout(15_000, () => socket.destroy(new Error('the front kept the connection open')));
  });
}

test('the mTLS front forwards station upgrades only: the API through it gets 421, a refused upgrade ends the connection', LIMIT, async (t) => {
  // API auth off: a request that reached the plain listener through the front would look like a loopback client.
  const h = await startTestServer({ tls: tls({ front: { enable: true, port: 0 } }), security: { profiles: { 'CP-WRONG': 3 } } } as never);
  t.after(() => h.stop());
  const port = h.server.ports.front;
  const api = await rawOverTls(port, 'good', ['GET /api/v1/ChargePointList HTTP/1.1\r\nHost: x\r\n\r\n']);
  assert.match(api, /^HTTP\/1\.1 421 /);
  assert.match(api, /station WebSocket upgrades/);
  const log = await rawOverTls(port, 'good', ['GET /ws/log HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n']);
  assert.match(log, /^HTTP\/1\.1 421 /);
  // A refused station upgrade (wrong CN: 403), then an API request on the same connection: never answered.
  const upgrade = `GET ${h.config.ocpp.path}/CP-WRONG HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: ocpp1.6\r\n\r\n`;
  const refused = await rawOverTls(port, 'wrongCn', [upgrade, 'GET /api/v1/ChargePointList HTTP/1.1\r\nHost: x\r\n\r\n']);
  assert.match(refused, /^HTTP\/1\.1 403 /);
  assert.equal(refused.match(/HTTP\/1\.1 /g)?.length, 1, refused);
});
