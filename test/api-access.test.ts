/** API access: auth off/basic/bearer for the API and the live log, ping/time open, CORS, docs served. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { startTestServer, TestStation, waitFor } from './helpers/server.js';
import { hashPassword } from '../src/config/password-hash.js';
import { http } from './api-helpers.js';

function logConnect(port: number, headers: Record<string, string> = {}, protocols: string[] = []): Promise<{ ws: WebSocket } | { status: number; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/ws/log`, protocols, { headers });
    ws.once('open', () => resolve({ ws }));
    ws.once('unexpected-response', (_req, res) => resolve({ status: res.statusCode!, headers: res.headers }));
    ws.once('error', reject);
  });
}

const TOKEN = 'test-token-0123456789';

test('auth off (default): everything open, the log too', async (t) => {
  const h = await startTestServer();
  t.after(() => h.stop());
  assert.equal((await http(h.port, 'GET', '/api/v1/ChargePointList')).status, 200);
  const log = await logConnect(h.port);
  assert.ok('ws' in log);
  log.ws.close();
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
