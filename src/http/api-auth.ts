/**
 * API authentication: `off`, `basic` (users with scrypt hashes, src/config/password-hash.ts) or `bearer`
 * (static tokens). Used by the control plane for forwarded API requests (asynchronous: scrypt runs on
 * libuv's pool) and by every shard for `/ws/log` upgrades (the same asynchronous check).
 *
 * A verified (user, sha256(password)) pair is remembered, so a client that sends the same credentials on
 * every request costs one scrypt, not one per request. Tokens are compared as SHA-256 digests with
 * timingSafeEqual (no early exit on the first differing byte).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Config } from '../config/types.js';
import { isPasswordHash, verifyPassword } from '../config/password-hash.js';
import { parseBasicAuth } from '../protocol/ocpp-j/handshake.js';

export interface AuthRefusal {
  status: 401;
  message: string;
  headers: Record<string, string>;
}

const REALM = 'ocpp-router API';

function sha256(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

export class ApiAuth {
  readonly mode: Config['api']['auth']['mode'];
  #users: Map<string, string>;
  #tokenDigests: Buffer[];
  /** user → sha256(password) that verified against the current hash. */
  #verified = new Map<string, string>();

  constructor(config: Config['api']['auth']) {
    this.mode = config.mode;
    this.#users = new Map(Object.entries(config.users));
    this.#tokenDigests = config.tokens.map(sha256);
  }

  /** The refusal for missing or wrong credentials. */
  refusal(message: string, invalidToken = false): AuthRefusal {
    const challenge = this.mode === 'bearer' ? `Bearer realm="${REALM}"${invalidToken ? ', error="invalid_token"' : ''}` : `Basic realm="${REALM}", charset="UTF-8"`;
    return { status: 401, message, headers: { 'WWW-Authenticate': challenge } };
  }

  /** null when the request may proceed. */
  check(headers: Record<string, string>): AuthRefusal | null | Promise<AuthRefusal | null> {
    switch (this.mode) {
      case 'off':
        return null;
      case 'bearer':
        return this.#bearer(headers['authorization']);
      case 'basic': {
        const pre = this.#basicPrecheck(headers['authorization']);
        if (pre.kind !== 'verify') return pre.kind === 'ok' ? null : pre.refusal;
        const { user, password, stored, digest } = pre;
        return verifyPassword(password, stored).then((ok) => {
          if (!ok) return this.refusal('unknown user or wrong password');
          if (this.#users.get(user) === stored) this.#verified.set(user, digest);
          return null;
        });
      }
      default:
        return this.refusal('API authentication is misconfigured');
    }
  }

  #bearer(header: string | undefined): AuthRefusal | null {
    if (header === undefined || header === '') return this.refusal('Bearer token required');
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (match === null) return this.refusal('Authorization must be "Bearer <token>"', true);
    const digest = sha256(match[1]!);
    let ok = false;
    for (const known of this.#tokenDigests) ok = timingSafeEqual(known, digest) || ok;
    return ok ? null : this.refusal('unknown token', true);
  }

  #basicPrecheck(
    header: string | undefined,
  ): { kind: 'ok' } | { kind: 'refused'; refusal: AuthRefusal } | { kind: 'verify'; user: string; password: string; stored: string; digest: string } {
    if (header === undefined || header === '') return { kind: 'refused', refusal: this.refusal('HTTP Basic authorization required') };
    const credentials = parseBasicAuth(header);
    if (credentials === null) return { kind: 'refused', refusal: this.refusal('Authorization must be "Basic <base64 user:password>"') };
    const stored = this.#users.get(credentials.user);
    if (stored === undefined) return { kind: 'refused', refusal: this.refusal('unknown user or wrong password') };
    const digest = sha256(credentials.password).toString('base64');
    if (this.#verified.get(credentials.user) === digest) return { kind: 'ok' };
    return { kind: 'verify', user: credentials.user, password: credentials.password, stored, digest };
  }
}

/** Subprotocol a live-log client offers; the server answers with it. */
export const LOG_SUBPROTOCOL = 'log';
const BEARER_SUBPROTOCOL_PREFIX = 'bearer.';

/**
 * Browsers cannot set `Authorization` on a WebSocket. A live-log client may instead offer the subprotocol
 * `bearer.<base64url(token)>` next to `log` (the server answers `log`, never echoing the token; the scheme
 * Kubernetes uses for its WebSocket API). An explicit Authorization header wins.
 */
export function logAuthHeaders(headers: Record<string, string>): Record<string, string> {
  if (headers['authorization'] !== undefined && headers['authorization'] !== '') return headers;
  const offered = (headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim());
  const bearer = offered.find((p) => p.startsWith(BEARER_SUBPROTOCOL_PREFIX));
  if (bearer === undefined) return headers;
  const token = Buffer.from(bearer.slice(BEARER_SUBPROTOCOL_PREFIX.length), 'base64url').toString('utf8');
  return { ...headers, authorization: `Bearer ${token}` };
}
