/**
 * Roles and failed logins: every route of api.yaml has an access level, the same in the route table; read-only
 * credentials (basic users and bearer tokens) read but get 403 on commands, the live log included; failed
 * logins are limited per client address (429 + Retry-After, counted in ocpp_api_refusals_total) while a
 * client at another address logs in.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { packageRoot, loadConfig } from '../src/config/load.js';
import { ErrorCode, RouterError } from '../src/protocol/errors.js';
import { createApi } from '../src/api/index.js';
import { shardRoutes, uiRoutes } from '../src/web/static-routes.js';
import { ROUTE_ACCESS } from '../src/http/api-auth.js';
import type { RouterServer } from '../src/control/router.js';
import { hashPassword } from '../src/config/password-hash.js';
import { startTestServer, TestStation, waitFor } from './helpers/server.js';
import { httpFrom, logConnect } from './helpers/access.js';

const doc = parse(readFileSync(join(packageRoot(), 'api.yaml'), 'utf8')) as { paths: Record<string, Record<string, { 'x-access'?: string; responses?: Record<string, unknown> }>> };
const METHODS = new Set(['get', 'post', 'put', 'delete', 'patch']);

test('every operation of api.yaml has an access level, the same as in the route table; no route is without one', () => {
  const api = createApi({ config: loadConfig({ env: {} }) } as unknown as RouterServer);
  const table = new Map(api.routes.map((r) => [`${r.method} ${r.path}`, r.access]));
  const shardServed = new Set([...shardRoutes(loadConfig({ env: {} })), ...uiRoutes()].map((r) => `${r.method} ${r.path}`));
  let checked = 0;
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(item)) {
      if (!METHODS.has(method)) continue;
      // The station endpoints (OCPP-J upgrade) use station authentication (security.basicAuth), not API access.
      if (path.startsWith('/ocpp/')) continue;
      const key = `${method.toUpperCase()} ${path}`;
      const documented = op['x-access'];
      assert.ok(documented !== undefined && (ROUTE_ACCESS as readonly string[]).includes(documented), `${key}: x-access is one of ${ROUTE_ACCESS.join(', ')}`);
      const access = table.get(key);
      if (access === undefined) {
        // Served by the shards themselves (documentation, ping, time): open by construction.
        assert.equal(documented, 'open', `${key} is not in the route table, so it must be open`);
        assert.ok([...shardServed].some((s) => s.startsWith(`${method.toUpperCase()} `)), key);
      } else {
        assert.equal(access, documented, `${key}: route table ${access}, api.yaml ${documented}`);
      }
      // Every route that needs credentials documents the refusals.
      if (documented !== 'open') for (const code of ['401', '403', '429']) assert.ok(op.responses?.[code] !== undefined, `${key} documents ${code}`);
      checked++;
    }
  }
  assert.ok(checked >= 25, `${checked} operations checked`);
  for (const route of api.routes) {
    assert.ok((ROUTE_ACCESS as readonly string[]).includes(route.access), `${route.method} ${route.path} has an access level`);
    assert.ok(doc.paths[route.path]?.[route.method.toLowerCase()] !== undefined, `${route.method} ${route.path} is in api.yaml`);
  }
  // What changes state is operator-only; what only reads is not.
  for (const route of api.routes) {
    if (route.method === 'PUT' || route.method === 'DELETE') assert.equal(route.access, 'operator', `${route.method} ${route.path}`);
  }
  assert.equal(table.get('POST /api/v1/ChargePoint/{identity}/{Operation}'), 'operator');
  assert.equal(table.get('POST /api/v1/commands'), 'operator');
  assert.equal(table.get('GET /ws/log'), 'read');
});

test('config: a user or token in both the operator and the read-only list is refused; bearer with read tokens only loads', async () => {
  const hash = await hashPassword('pw-pw-pw');
  const problems = (f: () => unknown): string[] => {
    try {
      f();
    } catch (error) {
      assert.ok(error instanceof RouterError && error.code === ErrorCode.CONFIG_INVALID, String(error));
      return (error.details as Array<{ path: string }>).map((p) => p.path).sort();
    }
    return [];
  };
  assert.deepEqual(
    problems(() => loadConfig({ env: {}, overrides: { api: { auth: { mode: 'basic', users: { ann: hash }, readUsers: { ann: hash }, tokens: ['t'.repeat(16)], readTokens: ['r'.repeat(16), 't'.repeat(16)] } } } })),
    ['api.auth.readTokens.1', 'api.auth.readUsers.ann'],
  );
  assert.equal(loadConfig({ env: {}, overrides: { api: { auth: { mode: 'bearer', readTokens: ['r'.repeat(16)] } } } }).api.auth.readTokens.length, 1);
  assert.equal(loadConfig({ env: { API_AUTH: 'basic' }, overrides: { api: { auth: { readUsers: { viewer: hash } } } } }).api.auth.mode, 'basic');
  assert.deepEqual(problems(() => loadConfig({ env: { API_AUTH: 'bearer' } })), ['api.auth.tokens']);
});

const OP_TOKEN = 'operator-token-0123456789';
const READ_TOKEN = 'readonly-token-0123456789';

test('bearer roles: a read-only token reads and watches the log, gets 403 on commands (nothing executed); an operator token commands', async (t) => {
  const h = await startTestServer({ api: { auth: { mode: 'bearer', tokens: [OP_TOKEN], readTokens: [READ_TOKEN] } } });
  t.after(() => h.stop());
  const s = await TestStation.connect(h.url('ROLE-1'), ['ocpp1.6']);
  t.after(() => s.close());
  let calls = 0;
  s.onCall = () => {
    calls++;
    return { status: 'Accepted' };
  };
  await waitFor(() => h.server.station('ROLE-1')?.connected, 5000, 'registered');
  const read = { Authorization: `Bearer ${READ_TOKEN}` };
  const op = { Authorization: `Bearer ${OP_TOKEN}` };
  assert.equal((await httpFrom(h.port, 'GET', '/api/v1/stations', { headers: read })).status, 200);
  assert.equal((await httpFrom(h.port, 'GET', '/api/v1/ChargePointList', { headers: read })).status, 200);
  assert.equal((await httpFrom(h.port, 'GET', '/api/v1/stations/ROLE-1', { headers: read })).status, 200);
  const denied = await httpFrom(h.port, 'POST', '/api/v1/ChargePoint/ROLE-1/Reset', { headers: read, json: { type: 'Soft' } });
  assert.equal(denied.status, 403);
  assert.equal(denied.body.error!.code, 403);
  assert.deepEqual(denied.body.error!.details, { reason: 'ROLE_REQUIRED', required: 'operator', role: 'read' });
  assert.match(denied.body.error!.message, /operator role/);
  const bulk = await httpFrom(h.port, 'POST', '/api/v1/commands', { headers: read, json: { action: 'ClearCache', identities: ['ROLE-1'] } });
  assert.equal(bulk.status, 403);
  assert.equal((await httpFrom(h.port, 'PUT', '/api/v1/idtags/TAG1', { headers: read, json: { status: 'Accepted' } })).status, 403);
  assert.equal((await httpFrom(h.port, 'DELETE', '/api/v1/stations/ROLE-1', { headers: read })).status, 403);
  assert.equal(calls, 0, 'nothing reached the station');
  const ok = await httpFrom(h.port, 'POST', '/api/v1/ChargePoint/ROLE-1/Reset', { headers: op, json: { type: 'Soft' } });
  assert.equal(ok.status, 200);
  assert.equal(calls, 1);
  // The live log: the read role is enough, by header or by the bearer subprotocol; nothing is not.
  const log = await logConnect(`ws://127.0.0.1:${h.port}/ws/log`, { protocols: ['log', `bearer.${Buffer.from(READ_TOKEN).toString('base64url')}`] });
  assert.ok('ws' in log, 'read token opens the log');
  t.after(() => log.ws.close());
  const entries: string[] = [];
  log.ws.on('message', (d) => entries.push(d.toString()));
  await waitFor(async () => {
    await s.call('Heartbeat', {});
    return entries.length > 0;
  }, 10_000, 'log entries reach the read-only client');
  const none = await logConnect(`ws://127.0.0.1:${h.port}/ws/log`);
  assert.ok('status' in none && none.status === 401);
  // A plain GET of the log path (no upgrade) is told to use a WebSocket, after the same checks.
  assert.equal((await httpFrom(h.port, 'GET', '/ws/log')).status, 401);
  assert.equal((await httpFrom(h.port, 'GET', '/ws/log', { headers: read })).status, 426);
});

test('basic roles: readUsers read, users command; the role is kept with the remembered password', async (t) => {
  const h = await startTestServer({ api: { auth: { mode: 'basic', users: { ops: await hashPassword('op-secret') }, readUsers: { viewer: await hashPassword('view-secret') } } } });
  t.after(() => h.stop());
  const basic = (u: string, p: string): Record<string, string> => ({ Authorization: `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}` });
  for (let i = 0; i < 2; i++) {
    // The second round hits the remembered (user, password digest): the role must come with it.
    assert.equal((await httpFrom(h.port, 'GET', '/api/v1/idtags', { headers: basic('viewer', 'view-secret') })).status, 200, `read ${i}`);
    const put = await httpFrom(h.port, 'PUT', '/api/v1/idtags/TAG-R', { headers: basic('viewer', 'view-secret'), json: { status: 'Accepted' } });
    assert.equal(put.status, 403, `viewer put ${i}`);
    assert.equal(put.body.error!.details!.reason, 'ROLE_REQUIRED');
    const opPut = await httpFrom(h.port, 'PUT', '/api/v1/idtags/TAG-R', { headers: basic('ops', 'op-secret'), json: { status: 'Accepted' } });
    assert.ok(opPut.status === 200, `ops put ${i}: ${opPut.status} ${opPut.text}`);
  }
  const log = await logConnect(`ws://127.0.0.1:${h.port}/ws/log`, { headers: basic('viewer', 'view-secret') });
  assert.ok('ws' in log, 'a read-only user opens the log');
  log.ws.close();
  assert.equal((await httpFrom(h.port, 'GET', '/api/v1/idtags', { headers: basic('viewer', 'op-secret') })).status, 401, "another user's password");
});

test('failed logins: 429 with Retry-After per address past the burst (even with the right token), counted; another address logs in', async (t) => {
  const h = await startTestServer({ api: { auth: { mode: 'bearer', tokens: [OP_TOKEN], failedLogins: { burst: 3, perMinute: 1, maxAddresses: 100 } } } });
  t.after(() => h.stop());
  const wrong = { Authorization: 'Bearer wrong-token-wrong-token' };
  // No credentials at all is not a failed login (a browser asks first, then signs in).
  for (let i = 0; i < 5; i++) assert.equal((await httpFrom(h.port, 'GET', '/api/v1/stations')).status, 401);
  for (let i = 0; i < 3; i++) assert.equal((await httpFrom(h.port, 'GET', '/api/v1/stations', { headers: wrong })).status, 401, `failure ${i + 1}`);
  const limited = await httpFrom(h.port, 'GET', '/api/v1/stations', { headers: wrong });
  assert.equal(limited.status, 429);
  assert.equal(limited.body.error!.code, 429);
  assert.equal(limited.body.error!.details!.reason, 'LOGIN_RATE_LIMITED');
  const retry = Number(limited.headers['retry-after']);
  assert.ok(retry >= 1 && retry <= 60, `Retry-After ${retry}`);
  // The right token from the same address waits too (a guesser learns nothing), and so does the live log.
  assert.equal((await httpFrom(h.port, 'GET', '/api/v1/stations', { headers: { Authorization: `Bearer ${OP_TOKEN}` } })).status, 429);
  const log = await logConnect(`ws://127.0.0.1:${h.port}/ws/log`, { headers: { Authorization: `Bearer ${OP_TOKEN}` } });
  assert.ok('status' in log && log.status === 429 && log.headers['retry-after'] !== undefined, 'the live log is limited too');
  // Open routes stay open.
  assert.equal((await httpFrom(h.port, 'GET', '/api/v1/ping')).status, 200);
  // Another address (127.0.0.2: loopback, but another client) is unaffected.
  const other = await httpFrom(h.port, 'GET', '/api/v1/stations', { localAddress: '127.0.0.2', headers: { Authorization: `Bearer ${OP_TOKEN}` } });
  assert.equal(other.status, 200);
  const otherLog = await logConnect(`ws://127.0.0.1:${h.port}/ws/log`, { localAddress: '127.0.0.2', headers: { Authorization: `Bearer ${OP_TOKEN}` } });
  assert.ok('ws' in otherLog);
  otherLog.ws.close();
  const metrics = (await httpFrom(h.port, 'GET', '/metrics')).text;
  const value = (reason: string): number => Number(new RegExp(`^ocpp_api_refusals_total\\{reason="${reason}"\\} (\\d+)`, 'm').exec(metrics)?.[1] ?? NaN);
  assert.equal(value('rateLimited'), 3, 'two API requests and one log upgrade refused with 429');
  assert.equal(value('credentials'), 8, '5 without and 3 with wrong credentials');
  assert.equal(value('role'), 0);
});
