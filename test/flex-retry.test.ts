/**
 * Transient failures of flexibility prequalification (src/flex/consumer.ts, handlers.ts): with the chain unreachable,
 * an issued claim is recorded `issued`, nak'ed and redelivered with backoff, and on its last allowed delivery goes to
 * the dead-letter subject (`max-deliveries`) and is recorded `failed` with the chain's reason; the process goes on
 * and a request for the same asset is still served. Real nats-server, real SQLite store, no chain at all.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { connect, type Msg } from '@nats-io/transport-node';
import { jetstream } from '@nats-io/jetstream';
import { loadConfig } from '../src/config/load.js';
import { StoreHost } from '../src/store/host.js';
import { FlexService } from '../src/flex/service.js';
import { generateAssetKey } from '../src/flex/keys.js';
import { didFor } from '../src/flex/did.js';
import { claimTokenPayload, signClaimToken } from '../src/flex/token.js';
import { privateNats } from './helpers/nats.js';
import { freePort } from './helpers/postgres.js';
import { waitFor } from './helpers/server.js';

test('chain unreachable: an issued claim is retried with backoff, then dead-lettered and recorded failed', { timeout: 60_000 }, async (t) => {
  const nats = await privateNats(t);
  const dataDir = await mkdtemp(join(tmpdir(), 'ocpp-router-flex-retry-'));
  t.after(() => rm(dataDir, { recursive: true, force: true }));
  const issuer = generateAssetKey();
  const issuerDid = didFor(issuer.address, '0x539');
  const config = loadConfig({
    env: {},
    overrides: {
      dataDir,
      log: { level: 'silent' },
      flexibility: {
        enable: true,
        keyEncryptionKey: 'retry-key-encryption-key',
        chain: { rpcUrl: `http://127.0.0.1:${await freePort()}`, chainId: 1337, network: '0x539', registryAddress: `0x${'11'.repeat(20)}`, operatorPrivateKey: `0x${'22'.repeat(32)}`, timeoutMs: 1000 },
        nats: { servers: [nats.url] },
        maxDeliver: 3,
        backoffMs: [100, 300],
        trustedIssuers: [issuerDid],
      },
    },
  });
  const store = (await StoreHost.start(config))!;
  t.after(() => store.stop());
  const station = { account: null, version: 'ocpp1.6', connected: true, boot: { payload: { chargePointVendor: 'Acme' } }, connectors: {} };
  const service = await FlexService.start({ config, store: store.client, station: () => station, logger: pino({ level: 'silent' }) });
  t.after(() => service.close());
  const { asset } = await service.assets.create({ identity: 'RETRY-1', evseId: 1, connectorId: 1 }, station);
  await waitFor(() => service.ready, 15_000, 'the service consuming');

  const nc = await connect({ servers: nats.url });
  t.after(() => nc.close());
  const dead: Msg[] = [];
  const requests: unknown[] = [];
  nc.subscribe(config.flexibility.deadLetterSubject, { callback: (_e, m) => void dead.push(m) });
  nc.subscribe(config.flexibility.issuer.subject, { callback: (_e, m) => void requests.push(m.json()) });
  await nc.flush();
  const js = jetstream(nc);
  const token = await signClaimToken(claimTokenPayload({ issuer: issuerDid, subject: asset.did, claimType: config.flexibility.claim.type, claimTypeVersion: '1' }), issuer.privateKey);
  await js.publish('tso.claim.exchange', JSON.stringify({ issuedToken: token }));

  await waitFor(() => dead.length === 1, 30_000, 'the dead letter');
  assert.equal(dead[0]!.headers?.get('Flex-Reason'), 'max-deliveries');
  assert.equal(dead[0]!.headers?.get('Flex-Deliveries'), '3');
  assert.equal(JSON.parse(new TextDecoder().decode(dead[0]!.data)).issuedToken, token, 'the original message');
  const [claim] = await store.client.flex('claimsOf', { did: asset.did });
  assert.equal(claim!.state, 'failed');
  assert.match(claim!.error!, /^chain: /);
  assert.deepEqual(claim!.history.map((h) => h.state), ['issued', 'failed']);
  assert.equal(service.handlers.counters.failures.get('chain'), 1);

  // The service goes on: a request is still served (the request path does not need the chain).
  await js.publish('flex.v1.prequalification.request', JSON.stringify({ did: asset.did, requestId: 'after' }));
  await waitFor(() => requests.length === 1, 10_000, 'the claim request at the issuer');
});
