/**
 * The Energy Web claim token, byte for byte as @ew-did-registry/jwt (JWTEIP191) makes it:
 *   header  = {"alg":"ES256K","typ":"JWT"}
 *   digest  = keccak256(utf8(base64url(header) + "." + base64url(payload)))
 *   sig     = EIP-191 personal_sign over the 32 digest bytes ("\x19Ethereum Signed Message:\n32" + digest)
 *   token   = base64url(header).base64url(payload).base64url(utf8 of the "0x…" 65-byte signature hex)
 * `iat` is in milliseconds (Date.now(), as that library sets it), `exp` in seconds. Verification recovers the
 * signer's address and requires it to be the payload's `iss` DID, so a payload edited after signing (which
 * recovers to some other address) is refused here; whether that signer is *trusted* is the caller's question.
 */
import { createHash } from 'node:crypto';
import { Wallet, getBytes, hexlify, keccak256, toUtf8Bytes, verifyMessage } from 'ethers';
import { DidError, parseDid } from './did.js';
import { assetKeyFromPrivate } from './keys.js';

export class TokenError extends Error {
  override name = 'TokenError';
}

export interface VerifiedToken {
  header: Record<string, unknown>;
  payload: Record<string, unknown>;
  signer: string;
}

export const MAX_TOKEN_CHARS = 64 * 1024;
/** ES256 is what older @ew-did-registry/jwt (createSignWithEthersSigner) wrote on the same EIP-191 signature. */
const ACCEPTED_ALGS = new Set(['ES256K', 'ES256']);
const HEADER = { alg: 'ES256K', typ: 'JWT' };
const SEGMENT_RE = /^[A-Za-z0-9_-]+$/;

function b64url(bytes: Uint8Array | string): string {
  return Buffer.from(bytes).toString('base64url');
}

function signingDigest(encodedHeader: string, encodedPayload: string): Uint8Array {
  return getBytes(keccak256(toUtf8Bytes(`${encodedHeader}.${encodedPayload}`)));
}

export async function signClaimToken(payload: Record<string, unknown>, privateKey: string): Promise<string> {
  const key = assetKeyFromPrivate(privateKey);
  const body: Record<string, unknown> = { ...payload };
  if (body.iat === undefined) body.iat = Date.now();
  const encodedHeader = b64url(JSON.stringify(HEADER));
  const encodedPayload = b64url(JSON.stringify(body));
  const signature = new Wallet(key.privateKey).signMessageSync(signingDigest(encodedHeader, encodedPayload));
  return `${encodedHeader}.${encodedPayload}.${b64url(signature)}`;
}

function decodeJsonObject(segment: string, what: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
  } catch {
    throw new TokenError(`${what} is not base64url JSON`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new TokenError(`${what} is not a JSON object`);
  return value as Record<string, unknown>;
}

function decodeSignature(segment: string): string {
  const raw = Buffer.from(segment, 'base64url');
  // Energy Web form: the hex text of the signature; a plain JWS would carry the 65 bytes themselves.
  const text = raw.toString('latin1');
  if (raw.length === 132 && /^0x[0-9a-fA-F]{130}$/.test(text)) return text.toLowerCase();
  if (raw.length === 65) return hexlify(raw);
  throw new TokenError('signature segment is neither a 0x-hex nor a 65-byte secp256k1 signature');
}

export function verifyClaimToken(token: string): VerifiedToken {
  if (typeof token !== 'string') throw new TokenError('token is not a string');
  if (token.length > MAX_TOKEN_CHARS) throw new TokenError(`token longer than ${MAX_TOKEN_CHARS} characters`);
  const parts = token.split('.');
  if (parts.length !== 3 || !parts.every((p) => SEGMENT_RE.test(p))) throw new TokenError('token is not three base64url segments (header.payload.signature)');
  const [encodedHeader, encodedPayload, encodedSignature] = parts as [string, string, string];
  const header = decodeJsonObject(encodedHeader, 'header');
  if (typeof header.alg !== 'string' || !ACCEPTED_ALGS.has(header.alg)) throw new TokenError(`unsupported alg ${JSON.stringify(header.alg)}: expected ES256K (EIP-191)`);
  if (header.typ !== undefined && header.typ !== 'JWT') throw new TokenError(`unsupported typ ${JSON.stringify(header.typ)}`);
  const payload = decodeJsonObject(encodedPayload, 'payload');
  const signature = decodeSignature(encodedSignature);
  let signer: string;
  try {
    signer = verifyMessage(signingDigest(encodedHeader, encodedPayload), signature);
  } catch {
    throw new TokenError('bad signature: no key recovers from it');
  }
  if (typeof payload.iss !== 'string') throw new TokenError('payload has no iss: cannot tell who should have signed');
  let issAddress: string;
  try {
    issAddress = parseDid(payload.iss).address;
  } catch (err) {
    throw new TokenError(`iss is not a usable did:ethr: ${err instanceof DidError ? err.message : 'malformed'}`);
  }
  if (issAddress !== signer) throw new TokenError('bad signature: not signed by the key of iss (forged or altered token)');
  if (typeof payload.exp === 'number' && payload.exp * 1000 < Date.now()) throw new TokenError('token expired');
  return { header, payload, signer };
}

export function tokenSignerMatches(verified: VerifiedToken, did: string): boolean {
  try {
    return parseDid(did).address === verified.signer;
  } catch {
    return false;
  }
}

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/** The payload layout of iam-client-lib's IClaimToken: { did, signer, claimData, iss, sub }. */
export interface ClaimTokenFields {
  issuer: string;
  subject: string;
  claimType: string;
  claimTypeVersion: string;
  fields?: Array<{ key: string; value: string }>;
  extra?: Record<string, unknown>;
}

export function claimTokenPayload(c: ClaimTokenFields): Record<string, unknown> {
  for (const did of [c.issuer, c.subject]) parseDid(did);
  const claimData: Record<string, unknown> = { claimType: c.claimType, claimTypeVersion: c.claimTypeVersion };
  if (c.fields !== undefined) claimData.fields = c.fields;
  return { ...c.extra, did: c.subject, signer: c.issuer, claimData, iss: c.issuer, sub: c.subject };
}

