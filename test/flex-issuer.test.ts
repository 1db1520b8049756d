/**
 * Delivery of claim requests to an HTTP issuer (src/flex/issuer.ts): a 5xx is retried within the delivery, a 2xx
 * ends it, a 4xx fails at once as a transient failure (the request message comes back later), an unreachable issuer
 * too; the body is the documented JSON. Over NATS without a connection: transient, never a crash.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { issuerDelivery } from '../src/flex/issuer.js';
import { TransientFailure } from '../src/flex/messages.js';
import { freePort } from './helpers/postgres.js';

const OUT = { did: 'did:ethr:volta:0x1111111111111111111111111111111111111111', claimId: 'c', requestId: 'r', claimType: 't', claimTypeVersion: '1', token: 'a.b.c' };

test('HTTP issuer: retried on 5xx, transient on 4xx and when unreachable; NATS without a connection: transient', async (t) => {
  const statuses = [503, 200, 400];
  const bodies: unknown[] = [];
  const server = createServer((req, res) => {
    let text = '';
    req.on('data', (c) => (text += c));
    req.on('end', () => {
      bodies.push(JSON.parse(text));
      res.statusCode = statuses.shift() ?? 500;
      res.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => server.close());
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/claims`;
  const deliver = issuerDelivery({ deliver: 'http', subject: 'x', url, did: null }, () => null);
  await deliver(OUT);
  assert.equal(bodies.length, 2, 'one retry after the 503');
  assert.deepEqual(bodies[1], OUT);
  await assert.rejects(deliver(OUT), (e: unknown) => e instanceof TransientFailure && e.reason === 'issuer' && /HTTP 400/.test(e.message));
  assert.equal(bodies.length, 3, 'a 400 is not retried at once');
  const down = issuerDelivery({ deliver: 'http', subject: 'x', url: `http://127.0.0.1:${await freePort()}/`, did: null }, () => null);
  await assert.rejects(down(OUT), (e: unknown) => e instanceof TransientFailure && e.reason === 'issuer');
  await assert.rejects(issuerDelivery({ deliver: 'nats', subject: 'flex.v1.claim.request', url: null, did: null }, () => null)(OUT), (e: unknown) => e instanceof TransientFailure && e.reason === 'nats');
});
