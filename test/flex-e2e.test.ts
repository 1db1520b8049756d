/**
 * Flexibility prequalification end to end, offline and real: a private nats-server with JetStream, a ganache chain
 * with the ERC-1056 registry deployed from the published artifact, an in-process router with flexibility on, a
 * station that booted, and an issuer played by this test (its own key, signing claims with signClaimToken).
 * Checks: a request over NATS reaches the issuer signed by the asset with OCPP evidence; the issued claim ends as a
 * service entry that ethr-did-resolver shows; the same request or claim twice does nothing twice; a forged claim and
 * an untrusted issuer are dead-lettered and recorded failed; a request sent while the router is down is handled
 * after it starts; a claim a crash left `issued` is published once at the next start and a restart republishes
 * nothing (no new transaction); no private key in any log line or API answer.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { connect, type Msg, type NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { JsonRpcProvider } from 'ethers';
import { loadConfig } from '../src/config/load.js';
import { RouterServer } from '../src/control/router.js';
import { createApi } from '../src/api/index.js';
import { generateAssetKey, openPrivateKey } from '../src/flex/keys.js';
import { didFor } from '../src/flex/did.js';
import { claimTokenPayload, sha256Hex, signClaimToken, verifyClaimToken } from '../src/flex/token.js';
import { DidRegistryClient } from '../src/flex/registry.js';
import { privateNats } from './helpers/nats.js';
import { startTestChain } from './helpers/chain.js';
import { TestStation, waitFor } from './helpers/server.js';

const KEK = 'e2e-key-encryption-key-0123456789';
const CLAIM_TYPE = 'ev.prequalification.role.tso.ewc';

test('flexibility prequalification over NATS JetStream, a local chain and an issuer played by the test', { timeout: 120_000 }, async (t) => {
  const nats = await privateNats(t);
  const chain = await startTestChain();
  t.after(() => chain.stop());
  const issuer = generateAssetKey();
  const issuerDid = didFor(issuer.address, chain.network);
  const stranger = generateAssetKey();
  const dataDir = await mkdtemp(join(tmpdir(), 'ocpp-router-flex-e2e-'));
  t.after(() => rm(dataDir, { recursive: true, force: true }));

  const logs: string[] = [];
  const sink = new Writable({ write: (chunk, _enc, done) => (logs.push(String(chunk)), done()) });
  const config = loadConfig({
    env: {},
    overrides: {
      server: { listen: '127.0.0.1', port: 0, workers: 1, shutdownTimeoutMs: 2000 },
      dataDir,
      log: { level: 'debug' },
      flexibility: {
        enable: true,
        keyEncryptionKey: KEK,
        chain: { rpcUrl: chain.rpcUrl, chainId: chain.chainId, network: chain.network, registryAddress: chain.registryAddress, operatorPrivateKey: chain.operatorPrivateKey, timeoutMs: 10_000 },
        nats: { servers: [nats.url] },
        maxDeliver: 3,
        ackWaitMs: 5000,
        backoffMs: [200],
        trustedIssuers: [issuerDid],
      },
    },
  });
  let server: RouterServer | null = null;
  const start = async (): Promise<RouterServer> => {
    server = await RouterServer.start({ config, logger: pino({ level: 'debug' }, sink), http: createApi });
    await waitFor(() => server!.flex!.ready, 15_000, 'the flexibility service consuming');
    return server;
  };
  const stop = async (): Promise<void> => {
    await server?.stop('fast');
    server = null;
  };
  t.after(stop);
  const answers: string[] = [];
  const api = async (method: string, path: string, body?: unknown): Promise<{ status: number; body: Record<string, unknown> }> => {
    const response = await fetch(`http://127.0.0.1:${server!.port}${path}`, { method, headers: { 'content-type': 'application/json' }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
    const text = await response.text();
    answers.push(text);
    return { status: response.status, body: JSON.parse(text) as Record<string, unknown> };
  };

  // The issuer's side and the dead letters, on a connection of the test's own.
  const nc: NatsConnection = await connect({ servers: nats.url });
  t.after(() => nc.close());
  const requests: Array<Record<string, unknown>> = [];
  const dead: Msg[] = [];
  nc.subscribe('flex.v1.claim.request', { callback: (_e, m) => void requests.push(m.json()) });
  nc.subscribe('flex.v1.deadletter', { callback: (_e, m) => void dead.push(m) });
  await nc.flush();
  const js = jetstream(nc);
  const jsm = await jetstreamManager(nc);
  const provider = new JsonRpcProvider(chain.rpcUrl);
  t.after(() => provider.destroy());
  /** Every consumer of the stream has nothing pending or unacknowledged: the service finished what it was given. */
  let lastInfo: string[] = [];
  t.after(() => (process.exitCode ? console.log(lastInfo.join('\n')) : undefined));
  const drained = async (): Promise<boolean> => {
    lastInfo = [];
    for await (const c of jsm.consumers.list(config.flexibility.stream)) lastInfo.push(`${c.name}: pending ${c.num_pending}, unacked ${c.num_ack_pending}, redelivered ${c.num_redelivered}`);
    return lastInfo.every((line) => / pending 0, unacked 0,/.test(line));
  };

  await start();
  const station = await TestStation.connect(`ws://127.0.0.1:${server!.port}/ocpp/FLEX-1`);
  t.after(() => station.close());
  await station.call('BootNotification', { chargePointVendor: 'Acme', chargePointModel: 'Volt-22', chargePointSerialNumber: 'SN-42', firmwareVersion: '1.2.3' });
  await station.call('StatusNotification', { connectorId: 1, errorCode: 'NoError', status: 'Available' });

  // An asset: a key and a did, no key material in the answer.
  const bad = await api('POST', '/api/v1/flexibility/assets', { identity: 'FLEX-1', evseId: 'one' });
  assert.equal(bad.status, 400);
  const created = await api('POST', '/api/v1/flexibility/assets', { identity: 'FLEX-1', evseId: 1, connectorId: 1 });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const did = created.body.did as string;
  assert.match(did, new RegExp(`^did:ethr:${chain.network}:0x[0-9a-fA-F]{40}$`));
  assert.equal((created.body.metadata as Record<string, unknown>).vendor, 'Acme');
  assert.equal((await api('POST', '/api/v1/flexibility/assets', { identity: 'FLEX-1', evseId: 1, connectorId: 1 })).status, 200, 'the same EVSE again: the same asset');
  const [keyRow] = await server!.store!.flex('assetKeys', { did });
  const assetPrivateKey = await openPrivateKey(keyRow!.sealedKey, KEK, keyRow!.address);

  // A request over NATS (reference subject): a claim request signed by the asset, with OCPP evidence.
  await js.publish('acme.prequalification.exchange', JSON.stringify({ did, requestId: 'r1' }));
  await waitFor(() => requests.length === 1, 10_000, 'the claim request at the issuer');
  const request = requests[0]!;
  const verified = verifyClaimToken(request.token as string);
  assert.equal(verified.signer, keyRow!.address, 'signed by the asset key');
  const claimData = verified.payload.claimData as { claimType: string; fields: Array<{ key: string; value: string }> };
  assert.equal(claimData.claimType, CLAIM_TYPE);
  const field = (key: string): string | undefined => claimData.fields.find((f) => f.key === key)?.value;
  assert.equal(field('vendor'), 'Acme');
  assert.equal(field('serialNumber'), 'SN-42');
  assert.equal(field('connectorStatus'), 'Available');
  const claimId = request.claimId as string;

  // The same request again (modern subject): nothing done twice.
  await js.publish('flex.v1.prequalification.request', JSON.stringify({ did, requestId: 'r1' }));
  await waitFor(drained, 10_000, 'the duplicate handled');
  assert.equal(requests.length, 1, 'one claim request for one request');
  assert.equal(server!.flex!.handlers.counters.requests.duplicate, 1);

  // The issuer signs the claim; the service publishes it in the DID document.
  const issuedToken = await signClaimToken(claimTokenPayload({ issuer: issuerDid, subject: did, claimType: CLAIM_TYPE, claimTypeVersion: '1', extra: { claimId } }), issuer.privateKey);
  const blockBefore = await provider.getBlockNumber();
  await js.publish('tso.claim.exchange', JSON.stringify({ did, issuedToken }));
  const published = await waitFor(async () => {
    const claims = (await api('GET', `/api/v1/flexibility/assets/${encodeURIComponent(did)}`)).body.claims as Array<Record<string, unknown>>;
    return claims.find((c) => c.claimId === claimId && c.state === 'published');
  }, 15_000, 'the claim published');
  assert.equal(published.tokenHash, sha256Hex(issuedToken));
  assert.match(String(published.cid), /^bafk/);
  assert.deepEqual((published.history as Array<{ state: string }>).map((h) => h.state), ['requested', 'issued', 'published']);
  const resolver = new DidRegistryClient({ rpcUrl: chain.rpcUrl, registryAddress: chain.registryAddress, operatorPrivateKey: chain.operatorPrivateKey, network: chain.network, chainId: chain.chainId });
  t.after(() => resolver.close());
  const { didDocument } = await resolver.resolve(did);
  const services = (didDocument?.service ?? []) as Array<Record<string, unknown>>;
  const entry = services.find((s) => String(s.type) === 'PrequalificationClaim');
  assert.ok(entry, `a PrequalificationClaim service in ${JSON.stringify(didDocument)}`);
  assert.ok(JSON.stringify(entry.serviceEndpoint).includes(sha256Hex(issuedToken)), 'the endpoint carries the token hash');
  assert.ok(JSON.stringify(entry.serviceEndpoint).includes(String(published.cid)), 'and its CID');
  const blockAfterPublish = await provider.getBlockNumber();
  assert.equal(blockAfterPublish, blockBefore + 1, 'one transaction');

  // The same issued claim again: no second transaction.
  await js.publish('flex.v1.claim.issued', JSON.stringify({ issuedToken }));
  await waitFor(drained, 10_000, 'the duplicate claim handled');
  assert.equal(await provider.getBlockNumber(), blockAfterPublish);
  assert.equal(server!.flex!.handlers.counters.claims.duplicate, 1);

  // A forged claim (payload altered after signing) and one from an untrusted issuer: dead letters, recorded failed.
  const [h, p, s] = issuedToken.split('.') as [string, string, string];
  const altered = { ...JSON.parse(Buffer.from(p, 'base64url').toString()), claimData: { claimType: CLAIM_TYPE, claimTypeVersion: '2' } };
  const forged = `${h}.${Buffer.from(JSON.stringify(altered)).toString('base64url')}.${s}`;
  await js.publish('tso.claim.exchange', JSON.stringify({ did, issuedToken: forged }));
  const untrusted = await signClaimToken(claimTokenPayload({ issuer: didFor(stranger.address, chain.network), subject: did, claimType: CLAIM_TYPE, claimTypeVersion: '1' }), stranger.privateKey);
  await js.publish('tso.claim.exchange', JSON.stringify({ did, issuedToken: untrusted }));
  await js.publish('tso.claim.exchange', '{"not": "a claim"');
  await waitFor(() => dead.length === 3, 10_000, 'three dead letters');
  assert.deepEqual(dead.map((m) => m.headers?.get('Flex-Reason')).sort(), ['forged-token', 'malformed', 'untrusted-issuer']);
  const failed = ((await api('GET', `/api/v1/flexibility/assets/${encodeURIComponent(did)}`)).body.claims as Array<Record<string, unknown>>).filter((c) => c.state === 'failed');
  assert.deepEqual(failed.map((c) => String(c.error).split(':')[0]).sort(), ['forged-token', 'untrusted-issuer']);
  assert.equal(await provider.getBlockNumber(), blockAfterPublish, 'no transaction for refused claims');

  // A crash between "issued" and "published": a claim left issued is published once at the next start.
  const second = await signClaimToken(claimTokenPayload({ issuer: issuerDid, subject: did, claimType: CLAIM_TYPE, claimTypeVersion: '1' }), issuer.privateKey);
  const leftId = sha256Hex(`left-issued:${did}`);
  await server!.store!.flex('claimTransition', { claimId: leftId, did, claimType: CLAIM_TYPE, to: 'issued', from: [null], fields: { issuedToken: second, issuedHash: sha256Hex(second) }, detail: 'issued (test: crash before publish)', at: Date.now() });

  // Down: a request sent now waits in the stream.
  await stop();
  await js.publish('acme.prequalification.exchange', JSON.stringify({ did, requestId: 'while-down' }));
  await start();
  await waitFor(() => requests.some((r) => r.requestId === 'while-down'), 10_000, 'the request sent while down at the issuer');
  const afterReconcile = await waitFor(async () => {
    const claims = (await api('GET', `/api/v1/flexibility/assets/${encodeURIComponent(did)}`)).body.claims as Array<Record<string, unknown>>;
    return claims.find((c) => c.claimId === leftId && c.state === 'published');
  }, 15_000, 'the claim left issued published by reconciliation');
  assert.ok(afterReconcile.txHash);
  const blockAfterReconcile = await provider.getBlockNumber();
  assert.equal(blockAfterReconcile, blockAfterPublish + 1, 'reconciliation: one transaction');

  // Another restart: nothing republished.
  await stop();
  await start();
  await waitFor(drained, 10_000, 'the consumers idle').catch((error: Error) => assert.fail(`${error.message}: ${lastInfo.join('; ')}`));
  assert.equal(await provider.getBlockNumber(), blockAfterReconcile, 'a restart writes nothing to the chain');
  assert.equal(requests.filter((r) => r.requestId === 'r1').length, 1);

  // No private key anywhere it must not be.
  const secrets = [assetPrivateKey, assetPrivateKey.slice(2), KEK];
  const listed = await api('GET', '/api/v1/flexibility/assets');
  assert.equal((listed.body.assets as unknown[]).length, 1);
  for (const secret of secrets) {
    assert.ok(!logs.some((line) => line.includes(secret)), 'no key material in the logs');
    assert.ok(!answers.some((text) => text.includes(secret)), 'no key material in API answers');
  }
  assert.ok(logs.some((line) => line.includes('claim published')), 'the logs were captured');
});
