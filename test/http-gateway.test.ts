/** HTTP through the shards: local routes, forwarding to the control plane, body limits. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer } from './helpers/server.js';
import { jsonResponse } from '../src/http/types.js';

test('ping and time are answered by the shard; other paths reach the control plane with their body', async (t) => {
  const h = await startTestServer();
  t.after(() => h.stop());
  const base = `http://127.0.0.1:${h.port}`;
  const ping = await fetch(`${base}/api/v1/ping`);
  assert.equal(ping.status, 200);
  assert.deepEqual(await ping.json(), {});
  const before = Date.now();
  const time = (await (await fetch(`${base}/api/v1/time`)).json()) as { serverTime: number };
  assert.ok(time.serverTime >= before - 1000 && time.serverTime <= Date.now() + 1000);

  const missing = await fetch(`${base}/nowhere?x=1`);
  assert.equal(missing.status, 404);
  assert.deepEqual(await missing.json(), { error: { code: 404, message: 'no route for GET /nowhere' } });

  const seen: unknown[] = [];
  h.server.setHttpHandler((request) => {
    seen.push({ method: request.method, path: request.path, query: request.query, body: request.body, type: request.headers['content-type'] });
    return jsonResponse(201, { ok: true });
  });
  const posted = await fetch(`${base}/api/v1/echo?a=b`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ x: 'é'.repeat(3000) }) });
  assert.equal(posted.status, 201);
  assert.deepEqual(await posted.json(), { ok: true });
  assert.deepEqual(seen, [{ method: 'POST', path: '/api/v1/echo', query: 'a=b', body: JSON.stringify({ x: 'é'.repeat(3000) }), type: 'application/json' }]);

  const huge = await fetch(`${base}/api/v1/echo`, { method: 'POST', body: 'x'.repeat(1024 * 1024 + 1) });
  assert.equal(huge.status, 413);
  assert.equal(seen.length, 1, 'an oversized body never reaches the handler');
});
