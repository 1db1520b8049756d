/**
 * Asset keys (secp256k1) and their encryption at rest. A private key is sealed with AES-256-GCM under a key
 * derived by scrypt from the key-encryption key (KEK) with a salt of its own; the asset address is the
 * additional authenticated data, so a sealed key copied onto another asset's row does not open. The envelope is
 * self-describing text (JSON: version, kdf parameters, salt, iv, tag, ciphertext) so the parameters can be raised
 * later without breaking old rows. No message of this module ever contains key material.
 */
import { createCipheriv, createDecipheriv, randomBytes, scrypt, createHash } from 'node:crypto';
import { SigningKey, Wallet, computeAddress, getAddress } from 'ethers';
import { parseDid } from './did.js';

export interface AssetKey {
  address: string;
  publicKey: string;
  privateKey: string;
}

export class KeyError extends Error {
  override name = 'KeyError';
}

interface ScryptParams {
  N: number;
  r: number;
  p: number;
}

/** 2^15 × 8 × 128 B = 32 MiB and ~0.1 s a derivation: costly for a guesser, cheap once per asset. */
const SEAL_PARAMS: ScryptParams = { N: 1 << 15, r: 8, p: 1 };
/** Envelopes are read from disk or from a backup file: bounded so a crafted one cannot ask for gigabytes. */
const MAX_N = 1 << 20;
const MAX_R = 16;
const MAX_P = 4;
const ENVELOPE_V = 1;
const BUNDLE_FORMAT = 'ocpp-router-asset-keys';
const BUNDLE_AAD = Buffer.from(`${BUNDLE_FORMAT}/v1`);
const MAX_ENVELOPE_CHARS = 4096;
const MAX_BUNDLE_CHARS = 64 * 1024 * 1024;

const PRIVATE_KEY_RE = /^0x[0-9a-fA-F]{64}$/;

export function generateAssetKey(): AssetKey {
  const wallet = Wallet.createRandom();
  return assetKeyFromPrivate(wallet.privateKey);
}

export function assetKeyFromPrivate(privateKey: string): AssetKey {
  if (typeof privateKey !== 'string' || !PRIVATE_KEY_RE.test(privateKey)) {
    throw new KeyError('invalid private key: expected 0x followed by 64 hex digits');
  }
  let publicKey: string;
  const normalized = privateKey.toLowerCase();
  try {
    // The public key is computed lazily by ethers: that is where a bad scalar throws.
    publicKey = new SigningKey(normalized).publicKey;
  } catch {
    // Zero or ≥ the curve order: not a secp256k1 scalar.
    throw new KeyError('invalid private key: not a valid secp256k1 scalar');
  }
  return { address: computeAddress(publicKey), publicKey, privateKey: normalized };
}

/** Derived keys by (KEK, salt, params): each asset's envelope costs one scrypt per process, not one per use. */
const derivedCache = new Map<string, Buffer>();
const DERIVED_CACHE_MAX = 4096;

/** Forgets every derived key (tests and benchmarks measure a cold open; an operator may call it after a KEK change). */
export function clearDerivedKeyCache(): void {
  derivedCache.clear();
}

function deriveKey(secret: string, salt: Buffer, params: ScryptParams): Promise<Buffer> {
  const cacheKey = createHash('sha256').update(secret).update('\0').update(salt).update(`\0${params.N}/${params.r}/${params.p}`).digest('hex');
  const hit = derivedCache.get(cacheKey);
  if (hit !== undefined) return Promise.resolve(hit);
  return new Promise((resolve, reject) => {
    scrypt(secret, salt, 32, { ...params, maxmem: 256 * params.N * params.r + 1024 * 1024 }, (err, key) => {
      if (err) {
        reject(new KeyError(`key derivation failed: ${err.message}`));
        return;
      }
      if (derivedCache.size >= DERIVED_CACHE_MAX) derivedCache.delete(derivedCache.keys().next().value as string);
      derivedCache.set(cacheKey, key);
      resolve(key);
    });
  });
}

interface Envelope {
  v: number;
  kdf: 'scrypt';
  N: number;
  r: number;
  p: number;
  salt: string;
  iv: string;
  tag: string;
  ct: string;
}

function checkSecret(secret: string, what: string, minLength: number): void {
  if (typeof secret !== 'string' || secret.length < minLength) {
    throw new KeyError(`${what} missing or too short (at least ${minLength} characters)`);
  }
}

async function sealBytes(plain: Buffer, secret: string, aad: Buffer): Promise<Envelope> {
  const salt = randomBytes(16);
  const iv = randomBytes(12);
  const key = await deriveKey(secret, salt, SEAL_PARAMS);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(aad);
  const ct = Buffer.concat([cipher.update(plain), cipher.final()]);
  return {
    v: ENVELOPE_V,
    kdf: 'scrypt',
    ...SEAL_PARAMS,
    salt: salt.toString('base64'),
    iv: iv.toString('base64'),
    tag: cipher.getAuthTag().toString('base64'),
    ct: ct.toString('base64'),
  };
}

function parseEnvelope(value: unknown, what: string): Envelope {
  const e = value as Partial<Envelope> | null;
  const isInt = (x: unknown, max: number): boolean => Number.isInteger(x) && (x as number) >= 1 && (x as number) <= max;
  if (e === null || typeof e !== 'object' || e.v !== ENVELOPE_V || e.kdf !== 'scrypt') throw new KeyError(`${what}: unknown format or version`);
  if (!isInt(e.N, MAX_N) || ((e.N as number) & ((e.N as number) - 1)) !== 0 || !isInt(e.r, MAX_R) || !isInt(e.p, MAX_P)) {
    throw new KeyError(`${what}: scrypt parameters out of range`);
  }
  for (const field of ['salt', 'iv', 'tag', 'ct'] as const) {
    if (typeof e[field] !== 'string') throw new KeyError(`${what}: field ${field} missing`);
  }
  if (Buffer.from(e.iv as string, 'base64').length !== 12 || Buffer.from(e.tag as string, 'base64').length !== 16) {
    throw new KeyError(`${what}: bad iv or tag length`);
  }
  return e as Envelope;
}

async function openBytes(env: Envelope, secret: string, aad: Buffer, failure: string): Promise<Buffer> {
  const key = await deriveKey(secret, Buffer.from(env.salt, 'base64'), { N: env.N, r: env.r, p: env.p });
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(env.iv, 'base64'));
    decipher.setAAD(aad);
    decipher.setAuthTag(Buffer.from(env.tag, 'base64'));
    return Buffer.concat([decipher.update(Buffer.from(env.ct, 'base64')), decipher.final()]);
  } catch {
    throw new KeyError(failure);
  }
}

function aadFor(address: string): Buffer {
  try {
    return Buffer.from(getAddress(address).toLowerCase());
  } catch {
    throw new KeyError('invalid address for the sealed key');
  }
}

export async function sealPrivateKey(privateKey: string, kek: string, address: string): Promise<string> {
  checkSecret(kek, 'key-encryption key', 16);
  const key = assetKeyFromPrivate(privateKey);
  if (key.address !== getAddress(address)) throw new KeyError('private key does not belong to the given address');
  const env = await sealBytes(Buffer.from(key.privateKey.slice(2), 'hex'), kek, aadFor(address));
  return JSON.stringify(env);
}

export async function openPrivateKey(sealed: string, kek: string, address: string): Promise<string> {
  checkSecret(kek, 'key-encryption key', 1);
  if (typeof sealed !== 'string' || sealed.length > MAX_ENVELOPE_CHARS) throw new KeyError('sealed key: not a string or too long');
  let parsed: unknown;
  try {
    parsed = JSON.parse(sealed);
  } catch {
    throw new KeyError('sealed key: not valid JSON');
  }
  const env = parseEnvelope(parsed, 'sealed key');
  const plain = await openBytes(env, kek, aadFor(address), 'cannot decrypt: wrong key-encryption key or tampered');
  if (plain.length !== 32) throw new KeyError('cannot decrypt: wrong key-encryption key or tampered');
  const key = assetKeyFromPrivate(`0x${plain.toString('hex')}`);
  plain.fill(0);
  // GCM already binds the address through the AAD; this also catches a row whose address column was edited.
  if (key.address !== getAddress(address)) throw new KeyError('cannot decrypt: wrong key-encryption key or tampered');
  return key.privateKey;
}

interface BundleEntry {
  did: string;
  address: string;
  privateKey: string;
}

/**
 * A backup: every key opened with the KEK and the whole list sealed once under the passphrase (one scrypt for
 * the bundle, however many keys), so the bundle restores on a machine with another KEK.
 */
export async function exportKeyBundle(entries: Array<{ did: string; address: string; sealed: string }>, kek: string, passphrase: string): Promise<string> {
  checkSecret(passphrase, 'backup passphrase', 12);
  const plainEntries: BundleEntry[] = [];
  for (const e of entries) {
    const parsed = parseDid(e.did);
    if (getAddress(parsed.address) !== getAddress(e.address)) throw new KeyError(`export: ${e.did} does not match address ${e.address}`);
    plainEntries.push({ did: e.did, address: getAddress(e.address), privateKey: await openPrivateKey(e.sealed, kek, e.address) });
  }
  const env = await sealBytes(Buffer.from(JSON.stringify(plainEntries)), passphrase, BUNDLE_AAD);
  return JSON.stringify({ format: BUNDLE_FORMAT, count: plainEntries.length, created: new Date().toISOString(), ...env });
}

export async function importKeyBundle(bundle: string, passphrase: string, kek: string): Promise<Array<{ did: string; address: string; sealed: string }>> {
  checkSecret(kek, 'key-encryption key', 16);
  if (typeof bundle !== 'string' || bundle.length > MAX_BUNDLE_CHARS) throw new KeyError('key bundle: not a string or too large');
  let parsed: { format?: unknown } & Record<string, unknown>;
  try {
    parsed = JSON.parse(bundle) as typeof parsed;
  } catch {
    throw new KeyError('key bundle: not valid JSON');
  }
  if (parsed === null || typeof parsed !== 'object' || parsed.format !== BUNDLE_FORMAT) throw new KeyError(`key bundle: not an ${BUNDLE_FORMAT} file`);
  const env = parseEnvelope(parsed, 'key bundle');
  const plain = await openBytes(env, passphrase, BUNDLE_AAD, 'cannot decrypt key bundle: wrong passphrase or tampered');
  let list: unknown;
  try {
    list = JSON.parse(plain.toString('utf8'));
  } catch {
    throw new KeyError('key bundle: decrypted content is not JSON');
  }
  if (!Array.isArray(list)) throw new KeyError('key bundle: decrypted content is not a list');
  const out: Array<{ did: string; address: string; sealed: string }> = [];
  for (const [i, item] of list.entries()) {
    const e = item as Partial<BundleEntry> | null;
    if (e === null || typeof e !== 'object' || typeof e.did !== 'string' || typeof e.address !== 'string' || typeof e.privateKey !== 'string') {
      throw new KeyError(`key bundle: entry ${i} is malformed`);
    }
    const key = assetKeyFromPrivate(e.privateKey);
    if (key.address !== getAddress(e.address) || getAddress(parseDid(e.did).address) !== key.address) {
      throw new KeyError(`key bundle: entry ${i} (${e.did}): key, address and DID do not match`);
    }
    out.push({ did: e.did, address: key.address, sealed: await sealPrivateKey(key.privateKey, kek, key.address) });
  }
  return out;
}
