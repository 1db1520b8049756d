/**
 * API access: loopback only while auth is off (a real non-loopback client gets 403; allowRemote opens it),
 * off/basic/bearer for the API and the live log, ping/time/health/metrics/docs open, CORS, docs served.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { networkInterfaces } from 'node:os';
import WebSocket from 'ws';
import { startTestServer, TestStation, waitFor } from './helpers/server.js';
import { hashPassword } from '../src/config/password-hash.js';
import { loadConfig } from '../src/config/load.js';
import { isLoopback } from '../src/http/ip-address.js';
import { http } from './api-helpers.js';
import { httpFrom, logConnect as logFrom } from './helpers/access.js';

function logConnect(port: number, headers: Record<string, string> = {}, protocols: string[] = []): Promise<{ ws: WebSocket } | { status: number; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/ws/log`, protocols, { headers });
    ws.once('open', () => resolve({ ws }));
    ws.once('unexpected-response', (_req, res) => resolve({ status: res.statusCode!, headers: res.headers }));
    ws.once('error', reject);
  });
}

/**
 * This machine's own non-loopback addresses (not link-local: those need a zone). A connection from this
 * machine to one of them has it as its source address, so the router sees a real non-loopback client.
 */
function nonLoopbackAddresses(): string[] {
  const out: string[] = [];
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (!a.internal && !isLoopback(a.address) && !a.address.toLowerCase().startsWith('fe80:')) out.push(a.address);
  }
  return out;
}

const TOKEN = 'test-token-0123456789';

test('auth off (default): loopback clients (127.0.0.1, 127.0.0.2, ::1) get everything, the log too', async (t) => {
  // Listening on `::`: IPv4 clients arrive as IPv4-mapped IPv6 in uWS's long form (0000:…:ffff:7f00:0001).
  const h = await startTestServer({ server: { listen: '::' } });
  t.after(() => h.stop());
  assert.equal((await http(h.port, 'GET', '/api/v1/ChargePointList')).status, 200);
  assert.equal((await httpFrom(h.port, 'GET', '/api/v1/stations', { localAddress: '127.0.0.2' })).status, 200, 'from 127.0.0.2');
  assert.equal((await httpFrom(h.port, 'GET', '/api/v1/stations', { host: '::1' })).status, 200, 'from ::1');
  assert.equal((await httpFrom(h.port, 'POST', '/api/v1/ChargePoint/NOPE/ClearCache', { host: '::1', json: {} })).status, 404, 'the operator role: the command is tried');
  const log = await logConnect(h.port);
  assert.ok('ws' in log);
  log.ws.close();
  const log6 = await logFrom(`ws://[::1]:${h.port}/ws/log`);
  assert.ok('ws' in log6);
  log6.ws.close();
});

test('auth off: a client on a non-loopback address gets 403 saying how to turn auth on (API and live log); open routes stay open; allowRemote opens it', async (t) => {
  const remote = nonLoopbackAddresses();
  if (remote.length === 0) {
    t.skip('this machine has no non-loopback interface address to connect from');
    return;
  }
  const base = { server: { listen: '::', port: 0, workers: 2, shutdownTimeoutMs: 2000 }, log: { level: 'silent' as const } };
  const h = await startTestServer(base);
  t.after(() => h.stop());
  const s = await TestStation.connect(h.url('REMOTE-1'), ['ocpp1.6']);
  t.after(() => s.close());
  let calls = 0;
  s.onCall = () => {
    calls++;
    return { status: 'Accepted' };
  };
  await waitFor(() => h.server.station('REMOTE-1')?.connected, 5000, 'registered');
  for (const address of remote) {
    const host = address.includes(':') ? `[${address}]` : address;
    const list = await httpFrom(h.port, 'GET', '/api/v1/stations', { host: address });
    assert.equal(list.status, 403, `${address}: ${list.text}`);
    const error = list.body.error!;
    assert.equal(error.code, 403);
    assert.equal(error.details!.reason, 'LOOPBACK_ONLY');
    assert.equal(isLoopback(String(error.details!.remoteAddress)), false, `the router saw ${String(error.details!.remoteAddress)}`);
    // It says how to turn authentication on: the configuration keys and the environment variables.
    for (const hint of ['api.auth.mode', 'api.auth.tokens', 'api.auth.users', 'api.auth.allowRemote', 'API_AUTH', 'API_TOKENS', 'API_ALLOW_REMOTE']) assert.ok(error.message.includes(hint), `${hint} in "${error.message}"`);
    const command = await httpFrom(h.port, 'POST', '/api/v1/ChargePoint/REMOTE-1/Reset', { host: address, json: { type: 'Hard' } });
    assert.equal(command.status, 403);
    const log = await logFrom(`ws://${host}:${h.port}/ws/log`);
    assert.ok('status' in log && log.status === 403, `${address}: live log refused`);
    assert.equal((JSON.parse((log as { body: string }).body) as { error: { details: { reason: string } } }).error.details.reason, 'LOOPBACK_ONLY');
    // Open: reachability, time, health, metrics, the documentation.
    for (const [path, status] of [['/api/v1/ping', 200], ['/api/v1/time', 200], ['/health/live', 200], ['/health/ready', 200], ['/metrics', 200], ['/api.yaml', 200], ['/docs/', 200]] as const) {
      assert.equal((await httpFrom(h.port, 'GET', path, { host: address })).status, status, `${address} ${path}`);
    }
  }
  assert.equal(calls, 0, 'no command reached the station');
  const metrics = (await httpFrom(h.port, 'GET', '/metrics')).text;
  assert.equal(Number(/^ocpp_api_refusals_total\{reason="loopbackOnly"\} (\d+)/m.exec(metrics)?.[1]), remote.length * 3);

  // api.auth.allowRemote (reloaded, as on HUP): the same clients are answered, without credentials.
  h.server.reload(loadConfig({ env: {}, overrides: { ...base, dataDir: h.dataDir, api: { auth: { allowRemote: true } } } }));
  for (const address of remote) {
    const host = address.includes(':') ? `[${address}]` : address;
    assert.equal((await httpFrom(h.port, 'GET', '/api/v1/stations', { host: address })).status, 200, address);
    const log = await logFrom(`ws://${host}:${h.port}/ws/log`);
    assert.ok('ws' in log, `${address}: live log open`);
    log.ws.close();
  }
  assert.equal((await httpFrom(h.port, 'POST', '/api/v1/ChargePoint/REMOTE-1/Reset', { host: remote[0]!, json: { type: 'Hard' } })).status, 200);
  assert.equal(calls, 1);
});

test('bearer: 401 with WWW-Authenticate and nothing executed; ping/time open; the log needs the token too', async (t) => {
  const h = await startTestServer({ api: { auth: { mode: 'bearer', tokens: [TOKEN] } } });
  t.after(() => h.stop());
  const s = await TestStation.connect(h.url('AUTH-1'), ['ocpp1.6']);
  t.after(() => s.close());
  let calls = 0;
  s.onCall = () => {
    calls++;
    return {};
  };
  await waitFor(() => h.server.station('AUTH-1')?.connected, 5000, 'registered');
  assert.equal((await http(h.port, 'GET', '/api/v1/ping')).status, 200);
  assert.equal((await http(h.port, 'GET', '/api/v1/time')).status, 200);
  const none = await http(h.port, 'POST', '/api/v1/ChargePoint/AUTH-1/ClearCache', { json: {} });
  assert.equal(none.status, 401);
  assert.equal(none.body.error.code, 401);
  assert.match(none.headers.get('www-authenticate')!, /^Bearer realm=/);
  const wrong = await http(h.port, 'POST', '/api/v1/ChargePoint/AUTH-1/ClearCache', { json: {}, headers: { Authorization: 'Bearer nope-nope-nope-nope' } });
  assert.equal(wrong.status, 401);
  assert.match(wrong.headers.get('www-authenticate')!, /error="invalid_token"/);
  assert.equal((await http(h.port, 'GET', '/api/v1/stations', { headers: { Authorization: 'Basic dXNlcjpwYXNz' } })).status, 401);
  assert.equal(calls, 0, 'nothing executed');
  s.onCall = () => {
    calls++;
    return { status: 'Accepted' };
  };
  const ok = await http(h.port, 'POST', '/api/v1/ChargePoint/AUTH-1/ClearCache', { json: {}, headers: { Authorization: `Bearer ${TOKEN}` } });
  assert.equal(ok.status, 200);
  assert.equal(calls, 1);
  const refused = await logConnect(h.port);
  assert.ok('status' in refused && refused.status === 401);
  const wrongLog = await logConnect(h.port, { Authorization: 'Bearer nope-nope-nope-nope' });
  assert.ok('status' in wrongLog && wrongLog.status === 401);
  const log = await logConnect(h.port, { Authorization: `Bearer ${TOKEN}` });
  assert.ok('ws' in log);
  log.ws.close();
  // Browsers cannot set headers on a WebSocket: the token may come as the subprotocol bearer.<base64url>,
  // offered next to `log`; the server answers `log` and never echoes the token.
  const b64 = (token: string): string => Buffer.from(token).toString('base64url');
  const viaProtocol = await logConnect(h.port, {}, ['log', `bearer.${b64(TOKEN)}`]);
  assert.ok('ws' in viaProtocol);
  assert.equal(viaProtocol.ws.protocol, 'log');
  viaProtocol.ws.close();
  const wrongProtocol = await logConnect(h.port, {}, ['log', `bearer.${b64('nope-nope-nope-nope')}`]);
  assert.ok('status' in wrongProtocol && wrongProtocol.status === 401);
});

test('basic: scrypt-hashed users for the API and the log', async (t) => {
  const h = await startTestServer({ api: { auth: { mode: 'basic', users: { ops: await hashPassword('s3cret') } } } });
  t.after(() => h.stop());
  const good = `Basic ${Buffer.from('ops:s3cret').toString('base64')}`;
  const bad = `Basic ${Buffer.from('ops:wrong').toString('base64')}`;
  const none = await http(h.port, 'GET', '/api/v1/stations');
  assert.equal(none.status, 401);
  assert.match(none.headers.get('www-authenticate')!, /^Basic realm="ocpp-router API"/);
  assert.equal((await http(h.port, 'GET', '/api/v1/stations', { headers: { Authorization: bad } })).status, 401);
  assert.equal((await http(h.port, 'GET', '/api/v1/stations', { headers: { Authorization: `Basic ${Buffer.from('eve:s3cret').toString('base64')}` } })).status, 401);
  assert.equal((await http(h.port, 'GET', '/api/v1/stations', { headers: { Authorization: good } })).status, 200);
  assert.equal((await http(h.port, 'GET', '/api/v1/stations', { headers: { Authorization: good } })).status, 200, 'cached');
  const refused = await logConnect(h.port, { Authorization: bad });
  assert.ok('status' in refused && refused.status === 401);
  const log = await logConnect(h.port, { Authorization: good });
  assert.ok('ws' in log);
  log.ws.close();
});

test('CORS: preflight and headers for allowed origins only, ping included', async (t) => {
  const h = await startTestServer({ api: { cors: { origins: ['https://ops.example'], maxAgeS: 120 }, auth: { mode: 'bearer', tokens: [TOKEN] } } });
  t.after(() => h.stop());
  const pre = await http(h.port, 'OPTIONS', '/api/v1/ChargePoint/X/Reset', {
    headers: { Origin: 'https://ops.example', 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'authorization, content-type' },
  });
  assert.equal(pre.status, 204, 'a preflight needs no credentials');
  assert.equal(pre.headers.get('access-control-allow-origin'), 'https://ops.example');
  assert.match(pre.headers.get('access-control-allow-methods')!, /POST/);
  assert.match(pre.headers.get('access-control-allow-headers')!, /Authorization/);
  assert.equal(pre.headers.get('access-control-max-age'), '120');
  const get = await http(h.port, 'GET', '/api/v1/stations', { headers: { Origin: 'https://ops.example', Authorization: `Bearer ${TOKEN}` } });
  assert.equal(get.headers.get('access-control-allow-origin'), 'https://ops.example');
  assert.equal(get.headers.get('vary'), 'Origin');
  const denied = await http(h.port, 'GET', '/api/v1/stations', { headers: { Origin: 'https://evil.example', Authorization: `Bearer ${TOKEN}` } });
  assert.equal(denied.headers.get('access-control-allow-origin'), null);
  const unauth = await http(h.port, 'GET', '/api/v1/stations', { headers: { Origin: 'https://ops.example' } });
  assert.equal(unauth.status, 401);
  assert.equal(unauth.headers.get('access-control-allow-origin'), 'https://ops.example', 'a browser can read the 401');
  const ping = await http(h.port, 'GET', '/api/v1/ping', { headers: { Origin: 'https://ops.example' } });
  assert.equal(ping.headers.get('access-control-allow-origin'), 'https://ops.example');
});

test('Swagger UI at /docs/ and api.yaml are served by the shards, without a CDN', async (t) => {
  const h = await startTestServer();
  t.after(() => h.stop());
  const yaml = await http(h.port, 'GET', '/api.yaml');
  assert.equal(yaml.status, 200);
  assert.match(yaml.headers.get('content-type')!, /yaml/);
  assert.match(yaml.text, /^openapi: 3\.1/m);
  const index = await http(h.port, 'GET', '/docs/');
  assert.equal(index.status, 200);
  assert.match(index.text, /swagger-ui-bundle\.js/);
  assert.doesNotMatch(index.text, /https?:\/\//, 'no external URL');
  const init = await http(h.port, 'GET', '/docs/swagger-initializer.js');
  // The document inlined (api.yaml as JSON): Swagger UI renders without fetching and parsing it (docs/ui.md).
  assert.match(init.text, /spec: \{"openapi":"3\.1/);
  for (const file of ['swagger-ui-bundle.js', 'swagger-ui-standalone-preset.js', 'swagger-ui.css']) {
    const r = await http(h.port, 'GET', `/docs/${file}`);
    assert.equal(r.status, 200, file);
    assert.ok(r.text.length > 1000, file);
  }
  const redirect = await http(h.port, 'GET', '/docs');
  assert.equal(redirect.status, 301);
  assert.equal(redirect.headers.get('location'), '/docs/');
});
