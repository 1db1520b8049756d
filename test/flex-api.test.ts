/**
 * The flexibility routes (src/api/flex-routes.ts) on a real router: 503 FLEX_OFF when the service is off; with it on
 * (NATS and the chain unreachable: the router starts anyway), roles (read lists and views, operator creates and
 * requests), bad bodies and DIDs (400), unknown station or asset (404), a request the issuer cannot get now (503 with
 * Retry-After; the claim recorded failed with why), and no sealed or private key in any answer.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, TestStation } from './helpers/server.js';
import { freePort } from './helpers/postgres.js';

const OP = 'operator-token-0123456789';
const READ = 'reader-token-0123456789';

test('flexibility routes answer 503 FLEX_OFF while the service is off', async (t) => {
  const h = await startTestServer({ server: { workers: 1 } });
  t.after(() => h.stop());
  const r = await fetch(`http://127.0.0.1:${h.port}/api/v1/flexibility/assets`);
  assert.equal(r.status, 503);
  assert.equal(((await r.json()) as { error: { details: { reason: string } } }).error.details.reason, 'FLEX_OFF');
});

test('flexibility routes: roles, bad input, unknown things, issuer unreachable', { timeout: 60_000 }, async (t) => {
  const h = await startTestServer({
    server: { workers: 1 },
    api: { auth: { mode: 'bearer', tokens: [OP], readTokens: [READ] } },
    flexibility: {
      enable: true,
      keyEncryptionKey: 'api-test-key-encryption-key',
      chain: { rpcUrl: `http://127.0.0.1:${await freePort()}`, chainId: 1337, network: '0x539', registryAddress: `0x${'11'.repeat(20)}`, operatorPrivateKey: `0x${'22'.repeat(32)}` },
      nats: { servers: [`nats://127.0.0.1:${await freePort()}`] },
      trustedIssuers: [`did:ethr:0x539:0x${'33'.repeat(20)}`],
    },
  });
  t.after(() => h.stop());
  const texts: string[] = [];
  const call = async (token: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: Record<string, unknown>; headers: Headers }> => {
    const r = await fetch(`http://127.0.0.1:${h.port}${path}`, { method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }) });
    const text = await r.text();
    texts.push(text);
    return { status: r.status, body: JSON.parse(text) as Record<string, unknown>, headers: r.headers };
  };
  const station = await TestStation.connect(h.url('API-1'), ['ocpp1.6'], { headers: {} });
  t.after(() => station.close());
  await station.call('BootNotification', { chargePointVendor: 'Acme', chargePointModel: 'M' });

  const assets = '/api/v1/flexibility/assets';
  assert.equal((await call(READ, 'POST', assets, { identity: 'API-1', evseId: 1, connectorId: 1 })).status, 403, 'a reader cannot create');
  assert.equal((await call(OP, 'POST', assets, '{not json')).status, 400);
  const bad = await call(OP, 'POST', assets, { identity: '', evseId: -1, connectorId: 1.5 });
  assert.equal(bad.status, 400);
  assert.match(String((bad.body.error as { message: string }).message), /identity .*; connectorId .*; evseId/);
  assert.equal((await call(OP, 'POST', assets, { identity: 'NOBODY', evseId: 1, connectorId: 1 })).status, 404);
  const created = await call(OP, 'POST', assets, { identity: 'API-1', evseId: 1, connectorId: 1 });
  assert.equal(created.status, 201);
  const did = created.body.did as string;
  const listed = await call(READ, 'GET', `${assets}?identity=API-1`);
  assert.equal(listed.status, 200);
  assert.deepEqual((listed.body.assets as Array<{ did: string; state: unknown }>).map((a) => [a.did, a.state]), [[did, null]]);
  assert.equal((await call(READ, 'GET', `${assets}/not-a-did`)).status, 400);
  assert.equal((await call(READ, 'GET', `${assets}/${encodeURIComponent(`did:ethr:0x539:0x${'44'.repeat(20)}`)}`)).status, 404);
  assert.equal((await call(READ, 'GET', `${assets}/${encodeURIComponent(did)}`)).status, 200);

  const pq = `${assets}/${encodeURIComponent(did)}/prequalification`;
  assert.equal((await call(READ, 'POST', pq, {})).status, 403, 'a reader cannot request');
  assert.equal((await call(OP, 'POST', pq, { requestId: 7 })).status, 400);
  assert.equal((await call(OP, 'POST', `${assets}/${encodeURIComponent(`did:ethr:0x539:0x${'44'.repeat(20)}`)}/prequalification`, {})).status, 404);
  const down = await call(OP, 'POST', pq, { requestId: 'x' });
  assert.equal(down.status, 503, 'NATS is away: the issuer cannot get it now');
  assert.equal(down.headers.get('retry-after'), '5');
  assert.equal((down.body.error as { details: { reason: string } }).details.reason, 'nats');
  const view = await call(READ, 'GET', `${assets}/${encodeURIComponent(did)}`);
  const claims = view.body.claims as Array<{ state: string; error: string; history: Array<{ state: string }> }>;
  assert.deepEqual(claims.map((c) => [c.state, c.error.split(':')[0]]), [['failed', 'nats']], 'recorded failed with why, never requested');
  assert.deepEqual(claims[0]!.history.map((e) => e.state), ['failed']);
  assert.ok(!texts.some((t) => /sealed|privateKey|"ct"/.test(t)), 'no key material in any answer');
});
