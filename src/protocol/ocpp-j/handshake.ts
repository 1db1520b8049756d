import type { OcppVersion } from '../versions.js';
import { identityProblem } from '../identity.js';

export type HandshakeRefusal = { status: number; reason: string; message: string };

export interface StationPath {
  identity: string;
  account: string | null;
}

function decodeSegment(segment: string): string | null {
  try {
    return decodeURIComponent(segment);
  } catch {
    return null;
  }
}

/**
 * `<prefix>/[account/]identity` → identity (last segment, percent-decoded, validated) and optional account.
 * Refusals carry the HTTP status to answer before the upgrade.
 */
export function parseStationPath(url: string, prefix: string, maxIdentityLength: number): StationPath | HandshakeRefusal {
  const base = prefix.endsWith('/') ? prefix : prefix + '/';
  if (!url.startsWith(base)) return { status: 404, reason: 'badPath', message: `station URLs are ${base}[account/]identity` };
  let rest = url.slice(base.length);
  if (rest.endsWith('/')) rest = rest.slice(0, -1);
  // `<prefix>/` names the endpoint but no station: an empty identity (400), not an unknown path.
  if (rest.length === 0) return { status: 400, reason: 'badIdentity', message: 'identity is empty' };
  const segments = rest.split('/');
  if (segments.length > 2) {
    return { status: 404, reason: 'badPath', message: `station URLs are ${base}[account/]identity` };
  }
  const identity = decodeSegment(segments[segments.length - 1]!);
  if (identity === null) return { status: 400, reason: 'badIdentity', message: 'identity is not valid percent-encoding' };
  const problem = identityProblem(identity, maxIdentityLength);
  if (problem !== null) return { status: 400, reason: 'badIdentity', message: problem };
  let account: string | null = null;
  if (segments.length === 2) {
    account = decodeSegment(segments[0]!);
    // The account segment is ours, not OCPP's: as strict as an identity.
    if (account === null || identityProblem(account, 64) !== null) {
      return { status: 400, reason: 'badIdentity', message: 'account segment is empty, too long, a dot segment or has invalid characters' };
    }
  }
  return { identity, account };
}

export function isRefusal(value: object): value is HandshakeRefusal {
  return 'status' in value;
}

/**
 * Picks the subprotocol by server preference among those the client offered (OCPP-J 1.6 §3.1.2).
 * Returns the version and the header value to answer with ('' when the client offered none and a
 * default version applies), or null when nothing acceptable was offered.
 */
export function selectSubprotocol(
  offeredHeader: string,
  preference: readonly OcppVersion[],
  defaultVersion: OcppVersion | null,
): { version: OcppVersion; header: string } | null {
  const offered = offeredHeader
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  if (offered.length === 0) return defaultVersion === null ? null : { version: defaultVersion, header: '' };
  for (const version of preference) {
    if (offered.includes(version)) return { version, header: version };
  }
  return null;
}

/** Reads `Authorization: Basic base64(user:password)`; null when absent or malformed. */
export function parseBasicAuth(header: string): { user: string; password: string } | null {
  const match = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
  if (match === null) return null;
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return null;
  return { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}
