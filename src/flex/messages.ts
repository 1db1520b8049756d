/**
 * The messages of flexibility prequalification (docs/flexibility.md): what arrives on the request and claim subjects,
 * what goes to the issuer, the stable claim id, and the two kinds of failure the consumers tell apart: permanent
 * (the message can never succeed: dead letter) and transient (retry later with backoff).
 */
import { DidError, normalizeDid } from './did.js';
import { sha256Hex } from './token.js';

/** The message can never be handled (malformed, unknown asset, forged token, untrusted issuer): dead letter. */
export class PermanentFailure extends Error {
  override name = 'PermanentFailure';
  /** A short label for metrics and the dead-letter header (bounded set). */
  readonly reason: FailureReason;
  /** The asset the message was about, when known (its claim records the failure). */
  readonly did: string | null;

  constructor(reason: FailureReason, message: string, did: string | null = null) {
    super(message);
    this.reason = reason;
    this.did = did;
  }
}

export const FAILURE_REASONS = ['malformed', 'unknown-asset', 'forged-token', 'untrusted-issuer', 'subject-mismatch', 'max-deliveries', 'chain', 'store', 'issuer', 'nats', 'internal'] as const;
export type FailureReason = (typeof FAILURE_REASONS)[number];

/** Worth another try later (chain, store, issuer or NATS away). */
export class TransientFailure extends Error {
  override name = 'TransientFailure';
  readonly reason: FailureReason;

  constructor(reason: FailureReason, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.reason = reason;
  }
}

/** Largest message body accepted (an issued token is capped at 64 KiB by token.ts). */
export const MAX_MESSAGE_BYTES = 128 * 1024;

export interface PrequalificationRequest {
  did: string;
  /** The requester's id for this request; absent (the reference's `{did}`): one request per asset and day. */
  requestId: string | null;
}

export interface IssuedClaimMessage {
  /** The asset, when the sender names it (it must then be the token's subject). */
  did: string | null;
  issuedToken: string;
}

function parseObject(data: Uint8Array): Record<string, unknown> {
  if (data.length > MAX_MESSAGE_BYTES) throw new PermanentFailure('malformed', `message larger than ${MAX_MESSAGE_BYTES} bytes`);
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(data));
  } catch {
    throw new PermanentFailure('malformed', 'message is not UTF-8 JSON');
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new PermanentFailure('malformed', 'message is not a JSON object');
  return value as Record<string, unknown>;
}

function did(raw: unknown, where: string): string {
  if (typeof raw !== 'string') throw new PermanentFailure('malformed', `${where} must be a did:ethr string`);
  try {
    return normalizeDid(raw);
  } catch (error) {
    throw new PermanentFailure('malformed', `${where}: ${error instanceof DidError ? error.message : 'malformed DID'}`);
  }
}

/** `{"did": "did:ethr:…", "requestId"?: "…"}` (the reference sent `{did}` only). */
export function parseRequest(data: Uint8Array): PrequalificationRequest {
  const body = parseObject(data);
  const requestId = body.requestId ?? null;
  if (requestId !== null && (typeof requestId !== 'string' || requestId.length === 0 || requestId.length > 200)) {
    throw new PermanentFailure('malformed', 'requestId must be a string of 1 to 200 characters');
  }
  return { did: did(body.did, 'did'), requestId };
}

/** `{"issuedToken": "…", "did"?: "did:ethr:…"}` (as the reference's `*.claim.exchange`). */
export function parseIssuedClaim(data: Uint8Array): IssuedClaimMessage {
  const body = parseObject(data);
  if (typeof body.issuedToken !== 'string' || body.issuedToken.length === 0) throw new PermanentFailure('malformed', 'issuedToken must be a non-empty string');
  return { did: body.did === undefined || body.did === null ? null : did(body.did, 'did'), issuedToken: body.issuedToken };
}

/** The UTC day of `at` (YYYY-MM-DD): the implicit request id of a `{did}`-only request. */
export function dayOf(at: number): string {
  return new Date(at).toISOString().slice(0, 10);
}

/** The stable id of the claim a request is about: the same asset, claim type, version and request give the same id. */
export function requestClaimId(did: string, claimType: string, version: number, requestId: string): string {
  return sha256Hex(`${did}\n${claimType}\n${version}\nrequest:${requestId}`);
}

/** The id of a claim that arrived issued without naming a request of ours: by the token's hash. */
export function issuedClaimId(did: string, claimType: string, version: number, tokenHash: string): string {
  return sha256Hex(`${did}\n${claimType}\n${version}\nissued:${tokenHash}`);
}

/** What goes to the issuer: NATS body or HTTP POST body. */
export interface ClaimRequestOut {
  did: string;
  claimId: string;
  requestId: string;
  claimType: string;
  claimTypeVersion: string;
  /** The claim request token, signed by the asset's key. */
  token: string;
}

/** Decodes a token's payload without checking it (to learn which asset a refused claim claimed to be about). */
export function unverifiedSubject(token: string): string | null {
  const payload = token.split('.')[1];
  if (payload === undefined) return null;
  try {
    const value = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
    return typeof value.sub === 'string' ? normalizeDid(value.sub) : null;
  } catch {
    return null;
  }
}
