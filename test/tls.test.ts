/**
 * The TLS listener (tls.*): wss:// and https:// beside plain ws://, TLS 1.2 minimum, configured ciphers, TLS only.
 * Real clients: `ws` over wss with the test CA, node:https, and `openssl s_client` for protocol versions.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { request } from 'node:https';
import { readFileSync } from 'node:fs';
import { connect as tlsConnect } from 'node:tls';
import { makeCerts, makeServerCert, type CertFiles } from './helpers/certs.js';
import { startTestServer, TestStation, waitFor, type TestServer } from './helpers/server.js';
import { loadConfig } from '../src/config/load.js';
import { isBun } from '../src/transport/runtime.js';

const LIMIT = { timeout: 60_000 };

let certs: CertFiles;
test.before(async () => {
  certs = await makeCerts();
});
test.after(() => certs.remove());

function tlsOverrides(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { enable: true, port: 0, certFile: certs.serverCert, keyFile: certs.serverKey, ...extra };
}

function wssUrl(h: TestServer, identity: string): string {
  return `wss://127.0.0.1:${h.server.ports.tls}${h.config.ocpp.path}/${encodeURIComponent(identity)}`;
}

/** `openssl s_client` against the TLS port: the protocol and cipher negotiated, or null when the handshake failed. */
function sClient(port: number, args: string[]): { protocol: string | null; cipher: string | null; output: string } {
  const run = spawnSync('/usr/bin/openssl', ['s_client', '-connect', `127.0.0.1:${port}`, '-CAfile', certs.caCert, ...args], { input: '', encoding: 'utf8', timeout: 10_000 });
  const output = `${run.stdout}\n${run.stderr}`;
  const cipher = /Cipher is (\S+)/.exec(output)?.[1] ?? null;
  const protocol = /^New, (TLSv[\d.]+|\(NONE\))/m.exec(output)?.[1] ?? null;
  return { protocol: cipher === null || cipher === '(NONE)' ? null : protocol, cipher: cipher === '(NONE)' ? null : cipher, output };
}

function httpsGet(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, ca: readFileSync(certs.caCert) }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('wss:// and https:// on the TLS port beside plain ws:// on the plain port', LIMIT, async (t) => {
  const h = await startTestServer({ tls: tlsOverrides() } as never);
  t.after(() => h.stop());
  assert.ok(h.server.ports.tls > 0);
  assert.notEqual(h.server.ports.tls, h.port);
  const secure = await TestStation.connect(wssUrl(h, 'CP-TLS'), ['ocpp1.6'], { ca: readFileSync(certs.caCert) });
  t.after(() => secure.close());
  const boot = await secure.call('BootNotification', { chargePointVendor: 'V', chargePointModel: 'M' });
  assert.equal(boot[0], 3);
  assert.equal((boot[2] as { status: string }).status, 'Accepted');
  const plain = await TestStation.connect(h.url('CP-PLAIN'), ['ocpp1.6']);
  t.after(() => plain.close());
  assert.equal((await plain.call('Heartbeat', {}))[0], 3);
  const ping = await httpsGet(h.server.ports.tls, '/api/v1/ping');
  assert.equal(ping.status, 200);
  // A client that does not trust the CA fails the handshake.
  await assert.rejects(TestStation.connect(wssUrl(h, 'CP-UNTRUSTING'), ['ocpp1.6']), (e: NodeJS.ErrnoException) => e.code === 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' || e.code === 'SELF_SIGNED_CERT_IN_CHAIN');
});

test('TLS 1.0 and 1.1 are refused with alert protocol_version; TLS 1.2 and 1.3 are served', LIMIT, async (t) => {
  const h = await startTestServer({ tls: tlsOverrides() } as never);
  t.after(() => h.stop());
  // SECLEVEL=0 so that the local OpenSSL 3 would offer TLS 1.0/1.1 at all: the refusal must come from the server.
  for (const version of ['-tls1', '-tls1_1']) {
    const old = sClient(h.server.ports.tls, [version, '-cipher', 'DEFAULT:@SECLEVEL=0']);
    assert.equal(old.cipher, null, `${version} must not be negotiated:\n${old.output}`);
    assert.match(old.output, /alert protocol version/);
  }
  assert.equal(sClient(h.server.ports.tls, ['-tls1_2']).protocol, 'TLSv1.2');
  assert.equal(sClient(h.server.ports.tls, ['-tls1_3']).protocol, 'TLSv1.3');
});

test('tls.ciphers limits the TLS 1.2 suites (under Bun, which has no cipher list, the start is refused saying so)', LIMIT, async (t) => {
  if (isBun) {
    await assert.rejects(startTestServer({ tls: tlsOverrides({ ciphers: 'ECDHE-ECDSA-AES128-GCM-SHA256' }) } as never), /tls\.ciphers is not supported under Bun/);
    return;
  }
  const h = await startTestServer({ tls: tlsOverrides({ ciphers: 'ECDHE-ECDSA-AES128-GCM-SHA256' }) } as never);
  t.after(() => h.stop());
  assert.equal(sClient(h.server.ports.tls, ['-tls1_2']).cipher, 'ECDHE-ECDSA-AES128-GCM-SHA256');
  const other = sClient(h.server.ports.tls, ['-tls1_2', '-cipher', 'ECDHE-ECDSA-AES256-GCM-SHA384']);
  assert.equal(other.cipher, null, other.output);
});

test('server.plain false: only the TLS listener runs', LIMIT, async (t) => {
  const h = await startTestServer({ server: { plain: false }, tls: tlsOverrides() } as never);
  t.after(() => h.stop());
  assert.equal(h.server.port, 0);
  const secure = await TestStation.connect(wssUrl(h, 'CP-ONLY-TLS'), ['ocpp1.6'], { ca: readFileSync(certs.caCert) });
  t.after(() => secure.close());
  assert.equal((await secure.call('Heartbeat', {}))[0], 3);
});

test('a key that does not match the certificate is a configuration problem (start, check-config, HUP)', LIMIT, async () => {
  await assert.rejects(startTestServer({ tls: tlsOverrides({ keyFile: certs.client('good').key }) } as never), (e: { code?: string; details?: Array<{ path: string }> }) => e.code === 'CONFIG_INVALID' && e.details?.[0]?.path === 'tls.certFile');
});

/** The subject CN of the certificate the TLS port presents to a new connection. */
function presentedCn(port: number, client?: { cert: string; key: string }): Promise<string> {
  const own = client === undefined ? {} : { cert: readFileSync(client.cert), key: readFileSync(client.key) };
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: '127.0.0.1', port, ca: readFileSync(certs.caCert), servername: 'localhost', ...own }, () => {
      const cn = socket.getPeerCertificate().subject.CN;
      socket.end();
      resolve(Array.isArray(cn) ? cn.join(',') : (cn ?? ''));
    });
    socket.on('error', reject);
  });
}

test('HUP reloads the certificate: a connected wss:// station stays, a new connection sees the new certificate', LIMIT, async (t) => {
  const h = await startTestServer({ tls: tlsOverrides({ clientCaFile: certs.caCert, front: { enable: true, port: 0 } }) } as never);
  t.after(() => h.stop());
  assert.equal(await presentedCn(h.server.ports.tls), 'localhost');
  assert.equal(await presentedCn(h.server.ports.front, certs.client('good')), 'localhost');
  const station = await TestStation.connect(wssUrl(h, 'CP-STAYS'), ['ocpp1.6'], { ca: readFileSync(certs.caCert) });
  t.after(() => station.close());
  await station.call('BootNotification', { chargePointVendor: 'V', chargePointModel: 'M' });
  const next = await makeServerCert(certs, 'server2', 'reloaded.localhost');
  const config = loadConfig({ env: {}, overrides: { ...h.config, tls: { ...h.config.tls, certFile: next.cert, keyFile: next.key } } as never });
  const { relisten, done } = h.server.reload(config);
  assert.deepEqual(relisten, []);
  await done;
  // A connection that lands in the old listen socket's accept queue the instant it closes is reset by the kernel
  // (SO_REUSEPORT; docs/security.md): such an attempt counts as "not yet".
  await waitFor(async () => (await presentedCn(h.server.ports.tls).catch(() => '')) === 'reloaded.localhost', 10_000, 'the new certificate on new connections');
  // The mTLS front took it too (setSecureContext, at once).
  assert.equal(await presentedCn(h.server.ports.front, certs.client('good')), 'reloaded.localhost');
  // The station of the old certificate is still connected and served.
  assert.equal(station.ws.readyState, 1);
  assert.equal((await station.call('Heartbeat', {}))[0], 3);
  const fresh = await TestStation.connect(wssUrl(h, 'CP-NEW'), ['ocpp1.6'], { ca: readFileSync(certs.caCert) });
  t.after(() => fresh.close());
  assert.equal((await fresh.call('Heartbeat', {}))[0], 3);
  // A reload whose files cannot be used is refused as a configuration problem; the running certificate stays.
  assert.throws(() => loadConfig({ env: {}, overrides: { ...h.config, tls: { ...h.config.tls, keyFile: certs.client('good').key } } as never }), /tls\.certFile/);
  assert.equal(await presentedCn(h.server.ports.tls), 'reloaded.localhost');
});
