/**
 * Asset keys sealed at rest, key bundles, did:ethr parsing and the Energy Web claim token (src/flex/keys.ts,
 * did.ts, token.ts): round trips and every way an adversary or a typo can get them wrong.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SigningKey, computeAddress, concat, getBytes, keccak256, toUtf8Bytes } from 'ethers';
import {
  KeyError,
  assetKeyFromPrivate,
  exportKeyBundle,
  generateAssetKey,
  importKeyBundle,
  openPrivateKey,
  sealPrivateKey,
} from '../src/flex/keys.js';
import { DidError, didFor, normalizeDid, parseDid } from '../src/flex/did.js';
import { MAX_TOKEN_CHARS, TokenError, claimTokenPayload, sha256Hex, signClaimToken, tokenSignerMatches, verifyClaimToken } from '../src/flex/token.js';

const KEK = 'kek-for-tests-0123456789abcdef';
const OTHER_KEK = 'another-kek-for-tests-0123456789';

test('generated keys are consistent secp256k1 keys; a bad private key is refused without echoing it', () => {
  const k = generateAssetKey();
  assert.match(k.privateKey, /^0x[0-9a-f]{64}$/);
  assert.match(k.publicKey, /^0x04[0-9a-f]{128}$/);
  assert.equal(k.address, computeAddress(k.publicKey));
  assert.deepEqual(assetKeyFromPrivate(k.privateKey), k);
  assert.deepEqual(assetKeyFromPrivate(k.privateKey.toUpperCase().replace('0X', '0x')), k);
  assert.notEqual(generateAssetKey().privateKey, k.privateKey);
  const bad = ['', '0x', '0x1234', k.privateKey.slice(2), `${k.privateKey}00`, `0x${'0'.repeat(64)}`, `0x${'f'.repeat(64)}`, `0x${'g'.repeat(64)}`];
  for (const b of bad) {
    assert.throws(() => assetKeyFromPrivate(b), (e: unknown) => e instanceof KeyError && (b.length < 8 || !e.message.includes(b.slice(2))), b);
  }
});

test('seal/open round trip; wrong KEK, other address (AAD), tampering and garbage all fail with KeyError', async () => {
  const k = generateAssetKey();
  const sealed = await sealPrivateKey(k.privateKey, KEK, k.address);
  assert.ok(!sealed.includes(k.privateKey.slice(2)), 'the envelope does not contain the key in clear');
  const env = JSON.parse(sealed) as Record<string, unknown>;
  assert.deepEqual(Object.keys(env).sort(), ['N', 'ct', 'iv', 'kdf', 'p', 'r', 'salt', 'tag', 'v']);
  assert.equal(await openPrivateKey(sealed, KEK, k.address), k.privateKey);
  assert.equal(await openPrivateKey(sealed, KEK, k.address.toLowerCase()), k.privateKey, 'address case does not matter');
  // Sealing twice gives different envelopes (fresh salt and iv).
  assert.notEqual(await sealPrivateKey(k.privateKey, KEK, k.address), sealed);

  const isDecryptError = (e: unknown): boolean =>
    e instanceof KeyError && e.message === 'cannot decrypt: wrong key-encryption key or tampered' && !e.message.includes(k.privateKey.slice(2));
  await assert.rejects(openPrivateKey(sealed, OTHER_KEK, k.address), isDecryptError);
  const other = generateAssetKey();
  await assert.rejects(openPrivateKey(sealed, KEK, other.address), isDecryptError, 'AAD binds the address');
  for (const field of ['ct', 'tag', 'iv', 'salt'] as const) {
    const b = Buffer.from(env[field] as string, 'base64');
    b[0] = (b[0] as number) ^ 1;
    await assert.rejects(openPrivateKey(JSON.stringify({ ...env, [field]: b.toString('base64') }), KEK, k.address), isDecryptError, field);
  }
  await assert.rejects(openPrivateKey('not json', KEK, k.address), /not valid JSON/);
  await assert.rejects(openPrivateKey(JSON.stringify({ ...env, v: 2 }), KEK, k.address), /unknown format or version/);
  await assert.rejects(openPrivateKey(JSON.stringify({ ...env, N: 1 << 30 }), KEK, k.address), /scrypt parameters out of range/);
  await assert.rejects(openPrivateKey(JSON.stringify({ ...env, N: 1000 }), KEK, k.address), /scrypt parameters out of range/);
  await assert.rejects(openPrivateKey(JSON.stringify({ ...env, iv: 'AA==' }), KEK, k.address), /bad iv or tag length/);
  await assert.rejects(openPrivateKey('x'.repeat(5000), KEK, k.address), /too long/);
  await assert.rejects(openPrivateKey(sealed, KEK, 'nonsense'), /invalid address/);
  await assert.rejects(sealPrivateKey(k.privateKey, 'short', k.address), /key-encryption key missing or too short/);
  await assert.rejects(sealPrivateKey(k.privateKey, KEK, other.address), /does not belong/);
});

test('key bundle: export under a passphrase, import under another KEK; wrong passphrase and tampering refused', async () => {
  const keys = [generateAssetKey(), generateAssetKey(), generateAssetKey()];
  const entries = await Promise.all(
    keys.map(async (k, i) => ({ did: didFor(k.address, i === 0 ? '' : 'volta'), address: k.address, sealed: await sealPrivateKey(k.privateKey, KEK, k.address) })),
  );
  const passphrase = 'correct horse battery staple';
  const bundle = await exportKeyBundle(entries, KEK, passphrase);
  for (const k of keys) assert.ok(!bundle.includes(k.privateKey.slice(2)), 'no key in clear in the bundle');
  assert.equal((JSON.parse(bundle) as { count: number }).count, 3);

  const restored = await importKeyBundle(bundle, passphrase, OTHER_KEK);
  assert.deepEqual(restored.map((r) => [r.did, r.address]), entries.map((e) => [e.did, e.address]));
  for (const [i, r] of restored.entries()) assert.equal(await openPrivateKey(r.sealed, OTHER_KEK, r.address), keys[i]?.privateKey);
  await assert.rejects(openPrivateKey(restored[0]!.sealed, KEK, restored[0]!.address), KeyError, 'resealed under the new KEK only');

  await assert.rejects(importKeyBundle(bundle, 'wrong passphrase here', OTHER_KEK), (e: unknown) => e instanceof KeyError && /wrong passphrase or tampered/.test(e.message));
  const env = JSON.parse(bundle) as Record<string, string>;
  const ct = Buffer.from(env.ct as string, 'base64');
  ct[5] = (ct[5] as number) ^ 0x40;
  await assert.rejects(importKeyBundle(JSON.stringify({ ...env, ct: ct.toString('base64') }), passphrase, OTHER_KEK), /wrong passphrase or tampered/);
  await assert.rejects(importKeyBundle(JSON.stringify({ ...env, format: 'x' }), passphrase, OTHER_KEK), /not an ocpp-router-asset-keys file/);
  await assert.rejects(importKeyBundle('{', passphrase, OTHER_KEK), /not valid JSON/);
  await assert.rejects(exportKeyBundle(entries, KEK, 'short'), /passphrase missing or too short/);
  await assert.rejects(exportKeyBundle(entries, OTHER_KEK, passphrase), /cannot decrypt/, 'export needs the right KEK');
  await assert.rejects(exportKeyBundle([{ ...entries[0]!, did: entries[1]!.did }], KEK, passphrase), /does not match/);
});

test('did:ethr build and parse; malformed DIDs give DidError with a reason', () => {
  const k = generateAssetKey();
  const lower = k.address.toLowerCase();
  assert.equal(didFor(lower, ''), `did:ethr:${k.address}`);
  assert.equal(didFor(k.address, 'volta'), `did:ethr:volta:${k.address}`);
  assert.equal(didFor(k.address, '0x539'), `did:ethr:0x539:${k.address}`);
  assert.deepEqual(parseDid(`did:ethr:${lower}`), { network: '', address: k.address });
  assert.deepEqual(parseDid(`did:ethr:volta:${k.address}`), { network: 'volta', address: k.address });
  assert.deepEqual(parseDid(`did:ethr:mainnet:${k.address}`), { network: '', address: k.address });
  assert.equal(normalizeDid(`did:ethr:0x1:${lower}`), `did:ethr:${k.address}`);
  const badChecksum = k.address.replace(/[a-f]/, (c) => c.toUpperCase()) === k.address ? k.address.replace(/[A-F]/, (c) => c.toLowerCase()) : k.address.replace(/[a-f]/, (c) => c.toUpperCase());
  const cases: Array<[string, RegExp]> = [
    ['', /not a DID/],
    ['did:ethr', /not a DID/],
    [`did:web:${lower}`, /only did:ethr/],
    [`DID:ethr:${lower}`, /not a DID/],
    [`did:ethr:${lower.slice(0, 41)}`, /40 hex digits/],
    [`did:ethr:${lower}00`, /40 hex digits/],
    [`did:ethr:0x${'z'.repeat(40)}`, /40 hex digits/],
    [`did:ethr:${badChecksum}`, /EIP-55/],
    [`did:ethr:Volta:${lower}`, /network/],
    [`did:ethr:a:b:${lower}`, /at most one network/],
    [`did:ethr:0x${'02'.repeat(33)}`, /public-key/],
    [`did:ethr:volta:${lower}${'x'.repeat(200)}`, /longer than/],
  ];
  for (const [did, re] of cases) assert.throws(() => parseDid(did), (e: unknown) => e instanceof DidError && re.test(e.message), did);
  assert.throws(() => parseDid(42 as unknown as string), DidError);
  assert.throws(() => didFor('0x1234', ''), DidError);
  assert.throws(() => didFor(k.address, 'has space'), DidError);
});

/** The Energy Web recovery, written out from its parts: keccak of the text, then the EIP-191 prefix for 32 bytes. */
function ewRecover(token: string): string {
  const [h, p, s] = token.split('.') as [string, string, string];
  const digest = getBytes(keccak256(toUtf8Bytes(`${h}.${p}`)));
  const prefixed = keccak256(concat([toUtf8Bytes('\x19Ethereum Signed Message:\n32'), digest]));
  const sigHex = Buffer.from(s, 'base64url').toString('utf8');
  return computeAddress(SigningKey.recoverPublicKey(prefixed, sigHex));
}

test('claim token: Energy Web layout, round trip, signer recovered independently', async () => {
  const asset = generateAssetKey();
  const did = didFor(asset.address, 'volta');
  const payload = claimTokenPayload({ issuer: did, subject: did, claimType: 'ev.prequalification', claimTypeVersion: '1', fields: [{ key: 'vendor', value: 'ACME' }] });
  const token = await signClaimToken(payload, asset.privateKey);
  const [h, p, s] = token.split('.') as [string, string, string];
  assert.deepEqual(JSON.parse(Buffer.from(h, 'base64url').toString()), { alg: 'ES256K', typ: 'JWT' });
  const decoded = JSON.parse(Buffer.from(p, 'base64url').toString()) as Record<string, unknown>;
  assert.equal(decoded.iss, did);
  assert.equal(decoded.sub, did);
  assert.deepEqual(decoded.claimData, { claimType: 'ev.prequalification', claimTypeVersion: '1', fields: [{ key: 'vendor', value: 'ACME' }] });
  assert.ok(typeof decoded.iat === 'number' && Math.abs((decoded.iat as number) - Date.now()) < 60_000, 'iat in milliseconds');
  assert.match(Buffer.from(s, 'base64url').toString(), /^0x[0-9a-f]{130}$/, 'signature segment is base64url of the hex text');
  assert.equal(ewRecover(token), asset.address);

  const v = verifyClaimToken(token);
  assert.equal(v.signer, asset.address);
  assert.deepEqual(v.payload, decoded);
  assert.ok(tokenSignerMatches(v, did));
  assert.ok(tokenSignerMatches(v, `did:ethr:${asset.address.toLowerCase()}`));
  assert.ok(!tokenSignerMatches(v, didFor(generateAssetKey().address, 'volta')));
  assert.ok(!tokenSignerMatches(v, 'garbage'));
  // A plain-JWS signature encoding (65 raw bytes) of the same signature verifies too.
  const raw = Buffer.from(Buffer.from(s, 'base64url').toString().slice(2), 'hex').toString('base64url');
  assert.equal(verifyClaimToken(`${h}.${p}.${raw}`).signer, asset.address);
  assert.equal(sha256Hex('abc'), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
});

test('claim token: forged payload, other signer, bad alg, expiry, oversized and garbage refused with TokenError', async () => {
  const issuer = generateAssetKey();
  const issuerDid = didFor(issuer.address, 'volta');
  const subject = didFor(generateAssetKey().address, 'volta');
  const token = await signClaimToken(claimTokenPayload({ issuer: issuerDid, subject, claimType: 't', claimTypeVersion: '1' }), issuer.privateKey);
  const [h, p, s] = token.split('.') as [string, string, string];
  const payload = JSON.parse(Buffer.from(p, 'base64url').toString()) as Record<string, unknown>;
  const enc = (o: unknown): string => Buffer.from(JSON.stringify(o)).toString('base64url');
  const rejects = (t: string, re: RegExp, why: string): void => {
    assert.throws(() => verifyClaimToken(t), (e: unknown) => e instanceof TokenError && re.test(e.message), why);
  };

  rejects(`${h}.${enc({ ...payload, sub: didFor(generateAssetKey().address, 'volta') })}.${s}`, /not signed by the key of iss/, 'payload changed after signing');
  // Signed properly, but by a key other than the one iss names.
  const intruder = generateAssetKey();
  rejects(await signClaimToken(payload, intruder.privateKey), /not signed by the key of iss/, 'signed by another key');
  // The intruder's own iss verifies, and tokenSignerMatches tells it is not the issuer the caller expects.
  const own = verifyClaimToken(await signClaimToken({ ...payload, iss: didFor(intruder.address, 'volta') }, intruder.privateKey));
  assert.ok(!tokenSignerMatches(own, issuerDid));

  rejects(`${enc({ alg: 'none', typ: 'JWT' })}.${p}.${s}`, /unsupported alg/, 'alg none');
  rejects(`${enc({ alg: 'HS256' })}.${p}.${s}`, /unsupported alg/, 'alg HS256');
  rejects(`${enc({ alg: 'ES256K', typ: 'JWE' })}.${p}.${s}`, /unsupported typ/, 'typ');
  rejects(`${h}.${p}.${enc('0x' + '00'.repeat(65))}`, /bad signature|neither/, 'zero signature');
  rejects(`${h}.${p}.${Buffer.from('short').toString('base64url')}`, /neither/, 'short signature');
  rejects(`${h}.${p}`, /three base64url segments/, 'two segments');
  rejects(`${token}.x`, /three base64url segments/, 'four segments');
  rejects(`${h}..${s}`, /three base64url segments/, 'empty payload');
  rejects(`${h}.${p}+/=.${s}`, /three base64url segments/, 'not base64url');
  rejects(`${h}.${Buffer.from('not json').toString('base64url')}.${s}`, /payload is not base64url JSON/, 'payload not JSON');
  rejects(`${h}.${enc([1, 2])}.${s}`, /payload is not a JSON object/, 'payload array');
  rejects(`${h}.${enc('x'.repeat(MAX_TOKEN_CHARS))}.${s}`, /longer than/, 'oversized');
  rejects(42 as unknown as string, /not a string/, 'not a string');

  const { iss: _drop, ...noIss } = payload;
  rejects(await signClaimToken(noIss, issuer.privateKey), /no iss/, 'no iss');
  rejects(await signClaimToken({ ...payload, iss: 'did:web:example.com' }, issuer.privateKey), /iss is not a usable did:ethr/, 'iss other method');
  rejects(await signClaimToken({ ...payload, exp: Math.floor(Date.now() / 1000) - 10 }, issuer.privateKey), /expired/, 'expired');
  assert.equal(verifyClaimToken(await signClaimToken({ ...payload, exp: Math.floor(Date.now() / 1000) + 600 }, issuer.privateKey)).signer, issuer.address);
  await assert.rejects(signClaimToken(payload, '0x1234'), KeyError);
});
