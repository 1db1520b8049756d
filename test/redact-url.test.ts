/**
 * Credentials in the webhook and NATS URLs never reach the logs (src/http/redact-url.ts): unit cases, and a real
 * router process whose webhook receiver is unreachable logging the failure without the password or the token.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { redactUrl } from '../src/http/redact-url.js';
import { spawnRouter } from './helpers/router-process.js';
import { TestStation, waitFor } from './helpers/server.js';

test('redactUrl hides user, password and query values, keeps scheme, host, port and path', () => {
  assert.equal(redactUrl('http://user:sekrit@hooks.example:8080/ocpp/in?token=abc&x=1&token=d'), 'http://***:***@hooks.example:8080/ocpp/in?token=***&x=***');
  assert.equal(redactUrl('nats://alice:pw@127.0.0.1:4222'), 'nats://***:***@127.0.0.1:4222');
  assert.equal(redactUrl('https://hooks.example/in'), 'https://hooks.example/in');
  assert.equal(redactUrl('tls://token@nats.example:4443'), 'tls://***@nats.example:4443');
  // Not a URL the parser takes: the credentials-looking parts are hidden anyway.
  assert.equal(redactUrl('127.0.0.1:4222'), '127.0.0.1:4222');
  assert.equal(redactUrl('::bad//u:p@h?k=v'), '::bad//***@h?***');
});

test('a router whose webhook receiver is down logs the failure without the URL credentials', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'ocpp-router-redact-'));
  t.after(() => rmSync(dataDir, { recursive: true, force: true }));
  // Port 9 on loopback: nothing listens (connection refused at once).
  const router = await spawnRouter(t, { dataDir, env: { WEBHOOK_URL: 'http://hookuser:Sekrit-Pass@127.0.0.1:9/in?token=Tok-123', WORKERS: '1', STORE_ENGINE: 'off', LOG_LEVEL: 'trace' } });
  const station = await TestStation.connect(`ws://127.0.0.1:${router.port}/ocpp/R-1`);
  t.after(() => station.close());
  const answer = await station.call('BootNotification', { chargePointVendor: 'V', chargePointModel: 'M' });
  assert.equal(answer[0], 4, 'no receiver: InternalError (webhook.onFailure error)');
  const line = await waitFor(() => router.lines.find((l) => l.includes('webhook request failed')) ?? null, 10_000, 'the failure logged');
  assert.match(line, /127\.0\.0\.1:9\/in/);
  const all = router.lines.join('\n');
  for (const secret of ['Sekrit-Pass', 'hookuser', 'Tok-123']) assert.ok(!all.includes(secret), `${secret} in the log`);
});
