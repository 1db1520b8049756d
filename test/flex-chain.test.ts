/**
 * The DID registry client (src/flex/registry.ts) against a real local chain (ganache on loopback, the published
 * EthereumDIDRegistry deployed by test/helpers/chain.ts): an asset with no funds gets a service entry through the
 * operator, an independent ethr-did-resolver sees it, the contract refuses a wrong key, a dead or silent RPC
 * endpoint fails clearly within the timeout.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { Contract, JsonRpcProvider, SigningKey, Wallet, keccak256, solidityPacked } from 'ethers';
import { Resolver } from 'did-resolver';
import { getResolver } from 'ethr-did-resolver';
import { DidRegistryClient, RegistryError } from '../src/flex/registry.js';
import { generateAssetKey } from '../src/flex/keys.js';
import { didFor } from '../src/flex/did.js';
import { sha256Hex } from '../src/flex/token.js';
import { registryArtifact, startTestChain } from './helpers/chain.js';

function claimEndpoint(claimId: string): Record<string, unknown> {
  return { cid: 'bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4', hash: sha256Hex(claimId), hashAlg: 'SHA256', claimType: 'ev.prequalification', claimId };
}

test('a fresh asset with zero balance gets service entries relayed by the operator; ethr-did-resolver shows them', async (t) => {
  const chain = await startTestChain();
  t.after(() => chain.stop());
  const client = new DidRegistryClient({ ...chain, timeoutMs: 5000 });
  t.after(() => client.close());
  const provider = new JsonRpcProvider(chain.rpcUrl, chain.chainId, { staticNetwork: true });
  t.after(() => provider.destroy());

  const asset = generateAssetKey();
  const did = didFor(asset.address, chain.network);
  assert.equal(client.didOf(asset.address), did);
  assert.equal(await provider.getBalance(asset.address), 0n);
  const operatorBefore = await provider.getBalance(client.operatorAddress);

  const first = await client.setServiceSigned(asset.privateKey, { type: 'PrequalificationClaim', endpoint: claimEndpoint('claim-1') }, 3600);
  assert.match(first.txHash, /^0x[0-9a-f]{64}$/);
  assert.ok(first.blockNumber > 0);
  const second = await client.setServiceSigned(asset.privateKey, { type: 'PrequalificationClaim', endpoint: claimEndpoint('claim-2') }, 3600);
  assert.ok(second.blockNumber > first.blockNumber);
  assert.equal(await provider.getBalance(asset.address), 0n, 'the asset paid nothing');
  assert.ok((await provider.getBalance(client.operatorAddress)) < operatorBefore, 'the operator paid the gas');

  // An independent resolver, configured from the RPC URL only.
  const independent = new Resolver(getResolver({ networks: [{ name: chain.network, chainId: chain.chainId, rpcUrl: chain.rpcUrl, registry: chain.registryAddress }] }));
  const resolved = await independent.resolve(did);
  assert.equal(resolved.didResolutionMetadata.error, undefined, JSON.stringify(resolved.didResolutionMetadata));
  assert.deepEqual(resolved.didDocument?.service, [
    { id: `${did}#service-1`, type: 'PrequalificationClaim', serviceEndpoint: claimEndpoint('claim-1') },
    { id: `${did}#service-2`, type: 'PrequalificationClaim', serviceEndpoint: claimEndpoint('claim-2') },
  ]);

  const mine = await client.resolve(did);
  assert.equal(mine.error, undefined);
  assert.deepEqual((mine.didDocument as { service: unknown }).service, resolved.didDocument?.service);
  assert.ok(await client.hasService(did, (s) => (s.serviceEndpoint as { claimId?: string }).claimId === 'claim-2'));
  assert.ok(!(await client.hasService(did, (s) => (s.serviceEndpoint as { claimId?: string }).claimId === 'claim-3')));
  // Another asset's document has no service.
  const other = didFor(generateAssetKey().address, chain.network);
  assert.ok(!(await client.hasService(other, () => true)));

  // A plain string endpoint stays a string; concurrent writes for one asset are ordered (no nonce clash).
  const writes = await Promise.all(
    ['https://a.example/1', 'https://a.example/2', 'https://a.example/3'].map((endpoint) => client.setServiceSigned(asset.privateKey, { type: 'Docs', endpoint }, 60)),
  );
  assert.equal(new Set(writes.map((w) => w.txHash)).size, 3);
  const after = (await client.resolve(did)).didDocument as { service: Array<{ type: string; serviceEndpoint: unknown }> };
  assert.deepEqual(after.service.filter((s) => s.type === 'Docs').map((s) => s.serviceEndpoint).sort(), ['https://a.example/1', 'https://a.example/2', 'https://a.example/3']);

  // Concurrent writes for different assets share the operator's transaction nonces without a clash.
  const many = Array.from({ length: 6 }, () => generateAssetKey());
  await Promise.all(many.map((k, i) => client.setServiceSigned(k.privateKey, { type: 'PrequalificationClaim', endpoint: claimEndpoint(`m-${i}`) }, 3600)));
  for (const [i, k] of many.entries()) {
    assert.ok(await client.hasService(didFor(k.address, chain.network), (s) => (s.serviceEndpoint as { claimId?: string }).claimId === `m-${i}`), `asset ${i}`);
  }

  await assert.rejects(client.setServiceSigned(asset.privateKey, { type: 'bad type!', endpoint: 'x' }, 60), /service type/);
  await assert.rejects(client.setServiceSigned(asset.privateKey, { type: 'Docs', endpoint: 'x'.repeat(5000) }, 60), /service endpoint/);
  await assert.rejects(client.setServiceSigned(asset.privateKey, { type: 'Docs', endpoint: 'x' }, 0), /validity/);
  await assert.rejects(client.setServiceSigned('0x12', { type: 'Docs', endpoint: 'x' }, 60), /invalid private key/);
});

test('a write signed by a key that does not own the identity is refused by the contract; the next write goes through; a rotated owner key', async (t) => {
  const chain = await startTestChain();
  t.after(() => chain.stop());
  const client = new DidRegistryClient({ ...chain, timeoutMs: 5000 });
  t.after(() => client.close());
  const asset = generateAssetKey();
  const intruder = generateAssetKey();
  await assert.rejects(
    client.setServiceSignedAs(asset.address, intruder.privateKey, { type: 'PrequalificationClaim', endpoint: claimEndpoint('forged') }, 3600),
    (e: unknown) => e instanceof RegistryError && /setAttributeSigned: the registry contract refused the call: bad_signature/.test(e.message) && !e.message.includes(intruder.privateKey.slice(2)),
  );
  // The refused send left no gap in the operator's transaction nonces.
  const ok = await client.setServiceSigned(asset.privateKey, { type: 'PrequalificationClaim', endpoint: claimEndpoint('real') }, 3600);
  assert.ok(ok.blockNumber > 0);
  const doc = (await client.resolve(didFor(asset.address, chain.network))).didDocument as { service: Array<{ serviceEndpoint: { claimId: string } }> };
  assert.deepEqual(doc.service.map((s) => s.serviceEndpoint.claimId), ['real']);

  // The asset hands its DID to a new owner key (changeOwnerSigned, relayed here by the operator).
  const provider = new JsonRpcProvider(chain.rpcUrl, chain.chainId, { staticNetwork: true, cacheTimeout: -1 });
  t.after(() => provider.destroy());
  const registry = new Contract(chain.registryAddress, registryArtifact().abi as never, new Wallet(chain.operatorPrivateKey, provider));
  const newOwner = generateAssetKey();
  const nonce = (await registry.getFunction('nonce')(asset.address)) as bigint;
  const hash = keccak256(
    solidityPacked(['bytes1', 'bytes1', 'address', 'uint256', 'address', 'string', 'address'], ['0x19', '0x00', chain.registryAddress, nonce, asset.address, 'changeOwner', newOwner.address]),
  );
  const sig = new SigningKey(asset.privateKey).sign(hash);
  await (await registry.getFunction('changeOwnerSigned')(asset.address, sig.v, sig.r, sig.s, newOwner.address)).wait();
  // The old key is refused before anything is sent; the new owner's key writes for the identity.
  await assert.rejects(
    client.setServiceSigned(asset.privateKey, { type: 'PrequalificationClaim', endpoint: claimEndpoint('after-rotation') }, 3600),
    (e: unknown) => e instanceof RegistryError && e.message.includes(`is now owned by ${newOwner.address}`),
  );
  await client.setServiceSignedAs(asset.address, newOwner.privateKey, { type: 'PrequalificationClaim', endpoint: claimEndpoint('rotated') }, 3600);
  assert.ok(await client.hasService(didFor(asset.address, chain.network), (s) => (s.serviceEndpoint as { claimId?: string }).claimId === 'rotated'));
});

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as { port: number }).port;
}

test('an RPC endpoint that refuses connections or never answers gives a clear error within the timeout', async (t) => {
  const asset = generateAssetKey();
  const base = { registryAddress: '0xdca7ef03e98e0dc2b855be647c39abe984fcf21b', operatorPrivateKey: generateAssetKey().privateKey, network: '0x539', chainId: 1337, timeoutMs: 800 };
  const did = didFor(asset.address, '0x539');
  const service = { type: 'PrequalificationClaim', endpoint: claimEndpoint('c') };

  // Nothing listens: a port taken and released.
  const closed = createServer();
  const closedPort = await listen(closed);
  await new Promise<void>((resolve) => closed.close(() => resolve()));
  const refused = new DidRegistryClient({ ...base, rpcUrl: `http://127.0.0.1:${closedPort}` });
  t.after(() => refused.close());
  let started = Date.now();
  await assert.rejects(refused.setServiceSigned(asset.privateKey, service, 60), (e: unknown) => e instanceof RegistryError && /identityOwner: the JSON-RPC endpoint (is unreachable|did not answer)/.test(e.message));
  assert.ok(Date.now() - started < 3000, `refused in ${Date.now() - started} ms`);
  const r = await refused.resolve(did);
  assert.equal(r.didDocument, null);
  assert.match(r.error ?? '', /notFound|reachable/);
  await assert.rejects(refused.hasService(did, () => true), /cannot resolve/);

  // Accepts the connection, never answers.
  const sockets = new Set<import('node:net').Socket>();
  const silent = createServer((socket) => sockets.add(socket));
  const silentPort = await listen(silent);
  t.after(() => {
    for (const s of sockets) s.destroy();
    silent.close();
  });
  const hanging = new DidRegistryClient({ ...base, rpcUrl: `http://127.0.0.1:${silentPort}` });
  t.after(() => hanging.close());
  started = Date.now();
  await assert.rejects(hanging.setServiceSigned(asset.privateKey, service, 60), (e: unknown) => e instanceof RegistryError && /did not answer/.test(e.message));
  const elapsed = Date.now() - started;
  assert.ok(elapsed >= 700 && elapsed < 3000, `timed out after ${elapsed} ms`);
  started = Date.now();
  await assert.rejects(hanging.hasService(did, () => true), /cannot resolve|did not answer/);
  assert.ok(Date.now() - started < 3000);

  assert.throws(() => new DidRegistryClient({ ...base, rpcUrl: 'ftp://x' }), /rpcUrl/);
  assert.throws(() => new DidRegistryClient({ ...base, rpcUrl: 'http://127.0.0.1:1', chainId: 0 }), /chainId/);
  assert.throws(() => new DidRegistryClient({ ...base, rpcUrl: 'http://127.0.0.1:1', registryAddress: 'nope' }), /registryAddress/);
});
