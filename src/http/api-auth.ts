/**
 * Who may use the API and the live log (docs/api.md, "Access and roles"). Every route has an access level in
 * the route table (src/api/index.ts): `open`, `read` or `operator`.
 *
 * - `api.auth.mode: off`: no credentials; only loopback clients (127.0.0.0/8, ::1, their IPv4-mapped forms)
 *   are answered, with the operator role, unless `api.auth.allowRemote`. Others get 403 saying how to turn
 *   authentication on.
 * - `basic`: users with scrypt hashes (src/config/password-hash.ts), `users` operators, `readUsers` read-only.
 * - `bearer`: static tokens, `tokens` operators, `readTokens` read-only.
 *
 * A read-only credential on an operator route gets 403. Failed logins are limited per client address
 * (src/http/login-limiter.ts): beyond the limit 429 with Retry-After, before any password is checked.
 *
 * A verified (user, sha256(password)) pair is remembered, so a client that sends the same credentials on
 * every request costs one scrypt, not one per request. Tokens are compared as SHA-256 digests with
 * timingSafeEqual (no early exit on the first differing byte). No credential is ever put in a message,
 * a detail or a log line.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Config } from '../config/types.js';
import { verifyPassword } from '../config/password-hash.js';
import { parseBasicAuth } from '../protocol/ocpp-j/handshake.js';
import { clientKey, isLoopback } from './ip-address.js';
import { LoginLimiter } from './login-limiter.js';

export type ApiRole = 'read' | 'operator';
/** What a route needs: nothing (`open`), or a credential of at least this role. */
export type RouteAccess = 'open' | ApiRole;
export const ROUTE_ACCESS: readonly RouteAccess[] = ['open', 'read', 'operator'];

/** Why a request was refused (the `reason` label of ocpp_api_refusals_total). */
export type RefusalReason = 'credentials' | 'rateLimited' | 'role' | 'loopbackOnly';
export const REFUSAL_REASONS: readonly RefusalReason[] = ['credentials', 'rateLimited', 'role', 'loopbackOnly'];

export interface AuthRefusal {
  status: 401 | 403 | 429;
  reason: RefusalReason;
  message: string;
  headers: Record<string, string>;
  details?: Record<string, unknown>;
}

type AuthConfig = Config['api']['auth'];
type Decision = AuthRefusal | null;

const REALM = 'ocpp-router API';

function sha256(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

/** The body of the 403 a non-loopback client gets while authentication is off. */
export function loopbackOnlyRefusal(remoteAddress: string): AuthRefusal {
  return {
    status: 403,
    reason: 'loopbackOnly',
    message:
      `API authentication is off (api.auth.mode "off"), so the API and the live log answer loopback clients only, and this request came from ${remoteAddress || 'an unknown address'}. ` +
      'Turn authentication on: api.auth.mode "bearer" with api.auth.tokens (env API_AUTH=bearer, API_TOKENS=<tokens of 16+ characters>), ' +
      'or "basic" with api.auth.users (hashes made by `ocpp-router hash-password`); read-only credentials go in api.auth.readTokens / api.auth.readUsers (env API_READ_TOKENS). ' +
      'Or open it to the network without credentials: api.auth.allowRemote true (env API_ALLOW_REMOTE=true).',
    headers: {},
    details: {
      reason: 'LOOPBACK_ONLY',
      remoteAddress,
      config: { 'api.auth.mode': ['bearer', 'basic'], credentials: ['api.auth.tokens', 'api.auth.readTokens', 'api.auth.users', 'api.auth.readUsers'], openWithoutAuth: 'api.auth.allowRemote' },
      env: ['API_AUTH', 'API_TOKENS', 'API_READ_TOKENS', 'API_ALLOW_REMOTE'],
    },
  };
}

/**
 * What `serve` logs about API access at start and on each reload: a warning when the API is open to the
 * network without credentials, a note when it answers loopback only.
 */
export function apiAccessNotice(auth: AuthConfig): { level: 'warn' | 'info'; message: string } | null {
  if (auth.mode !== 'off') return null;
  if (auth.allowRemote) {
    return {
      level: 'warn',
      message:
        'api.auth.allowRemote is true and api.auth.mode is "off": the REST API (commands that reset or reflash stations) and the live log (id tags) are open to anyone who can reach the port; set api.auth.mode to "bearer" or "basic"',
    };
  }
  return { level: 'info', message: 'API authentication is off (api.auth.mode "off"): the API and the live log answer loopback clients only' };
}

export class ApiAuth {
  readonly mode: AuthConfig['mode'];
  readonly #allowRemote: boolean;
  #users: Map<string, { hash: string; role: ApiRole }>;
  #tokens: Array<{ digest: Buffer; role: ApiRole }>;
  /** user → sha256(password) that verified against the current hash. */
  #verified = new Map<string, string>();
  #limiter: LoginLimiter;

  /** `limiter` may be shared across reloads (it outlives this object). */
  constructor(config: AuthConfig, limiter: LoginLimiter = new LoginLimiter(config.failedLogins)) {
    this.mode = config.mode;
    this.#allowRemote = config.allowRemote;
    // One role per credential (config/problems.ts refuses a user or token in both lists); operator wins if not.
    this.#users = new Map<string, { hash: string; role: ApiRole }>();
    for (const [user, hash] of Object.entries(config.readUsers)) this.#users.set(user, { hash, role: 'read' });
    for (const [user, hash] of Object.entries(config.users)) this.#users.set(user, { hash, role: 'operator' });
    this.#tokens = [...config.tokens.map((t) => ({ digest: sha256(t), role: 'operator' as const })), ...config.readTokens.map((t) => ({ digest: sha256(t), role: 'read' as const }))];
    this.#limiter = limiter;
  }

  /** The 401 for missing or wrong credentials. */
  refusal(message: string, invalidToken = false): AuthRefusal {
    const challenge = this.mode === 'bearer' ? `Bearer realm="${REALM}"${invalidToken ? ', error="invalid_token"' : ''}` : `Basic realm="${REALM}", charset="UTF-8"`;
    return { status: 401, reason: 'credentials', message, headers: { 'WWW-Authenticate': challenge } };
  }

  /** null when a request from `remoteAddress` with `headers` may use a route that needs `access`. */
  authorize(access: RouteAccess, headers: Record<string, string>, remoteAddress: string): Decision | Promise<Decision> {
    if (access === 'open') return null;
    if (this.mode === 'off') return this.#allowRemote || isLoopback(remoteAddress) ? null : loopbackOnlyRefusal(remoteAddress);
    const key = clientKey(remoteAddress);
    const waitS = this.#limiter.retryAfterS(key);
    if (waitS > 0) {
      return {
        status: 429,
        reason: 'rateLimited',
        message: `too many failed logins from this address: retry in ${waitS} s`,
        headers: { 'Retry-After': String(waitS) },
        details: { reason: 'LOGIN_RATE_LIMITED', retryAfterS: waitS },
      };
    }
    const role = this.#authenticate(headers, key);
    return role instanceof Promise ? role.then((r) => this.#allowed(access, r)) : this.#allowed(access, role);
  }

  #allowed(access: ApiRole, role: ApiRole | AuthRefusal): Decision {
    if (typeof role !== 'string') return role;
    if (access === 'operator' && role !== 'operator') {
      return {
        status: 403,
        reason: 'role',
        message: 'this route changes state and needs the operator role; these credentials are read-only (api.auth.readUsers / api.auth.readTokens)',
        headers: {},
        details: { reason: 'ROLE_REQUIRED', required: 'operator', role },
      };
    }
    return null;
  }

  #failed(key: string, refusal: AuthRefusal): AuthRefusal {
    this.#limiter.failed(key);
    return refusal;
  }

  #authenticate(headers: Record<string, string>, key: string): ApiRole | AuthRefusal | Promise<ApiRole | AuthRefusal> {
    const header = headers['authorization'];
    switch (this.mode) {
      case 'bearer': {
        // No credentials at all is not a failed login (a browser asks first, then signs in).
        if (header === undefined || header === '') return this.refusal('Bearer token required');
        const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
        if (match === null) return this.#failed(key, this.refusal('Authorization must be "Bearer <token>"', true));
        const digest = sha256(match[1]!);
        let role: ApiRole | null = null;
        for (const known of this.#tokens) if (timingSafeEqual(known.digest, digest) && role !== 'operator') role = known.role;
        return role ?? this.#failed(key, this.refusal('unknown token', true));
      }
      case 'basic': {
        if (header === undefined || header === '') return this.refusal('HTTP Basic authorization required');
        const credentials = parseBasicAuth(header);
        if (credentials === null) return this.#failed(key, this.refusal('Authorization must be "Basic <base64 user:password>"'));
        const entry = this.#users.get(credentials.user);
        if (entry === undefined) return this.#failed(key, this.refusal('unknown user or wrong password'));
        const digest = sha256(credentials.password).toString('base64');
        if (this.#verified.get(credentials.user) === digest) return entry.role;
        return verifyPassword(credentials.password, entry.hash).then((ok) => {
          if (!ok) return this.#failed(key, this.refusal('unknown user or wrong password'));
          if (this.#users.get(credentials.user) === entry) this.#verified.set(credentials.user, digest);
          return entry.role;
        });
      }
      default:
        return this.refusal('API authentication is misconfigured');
    }
  }
}

/** Subprotocol a live-log client offers; the server answers with it. */
export const LOG_SUBPROTOCOL = 'log';
const BEARER_SUBPROTOCOL_PREFIX = 'bearer.';

/**
 * Browsers cannot set `Authorization` on a WebSocket. A live-log client may instead offer the subprotocol
 * `bearer.<base64url(token)>` next to `log` (the server answers `log`, never echoing the token; the scheme
 * Kubernetes uses for its WebSocket API). An explicit Authorization header wins. The subprotocol header is
 * dropped from what is returned, so the token travels on only as `authorization`.
 */
export function logAuthHeaders(headers: Record<string, string>): Record<string, string> {
  const { 'sec-websocket-protocol': offeredRaw, ...rest } = headers;
  if (headers['authorization'] !== undefined && headers['authorization'] !== '') return rest;
  const offered = (offeredRaw ?? '').split(',').map((p) => p.trim());
  const bearer = offered.find((p) => p.startsWith(BEARER_SUBPROTOCOL_PREFIX));
  if (bearer === undefined) return rest;
  const token = Buffer.from(bearer.slice(BEARER_SUBPROTOCOL_PREFIX.length), 'base64url').toString('utf8');
  return { ...rest, authorization: `Bearer ${token}` };
}
