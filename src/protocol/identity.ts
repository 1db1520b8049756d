/**
 * What a station identity may be, for every transport (the OCPP-J URL segment, the OCPP-S chargeBoxIdentity
 * header): one rule, so a station can never register under a name the API cannot address.
 *
 * Characters: 2.0.1 `identifierString` (a-z A-Z 0-9 * - _ = : + | @ .) without ':', which the Basic-auth
 * user-id and the URL exclude (2.0.1 Part 2 B.01, Part 4 §3.1.1, security profile 1). `.` and `..` are refused
 * although their characters are allowed: they are URL dot segments (RFC 3986 §5.2.4), which every HTTP client
 * resolves away, so `/api/v1/stations/..` can never reach such a station.
 */
const IDENTITY_PATTERN = /^[A-Za-z0-9*\-_=+|@.]+$/;

/** Why `identity` (already percent-decoded) is not acceptable, or null when it is. */
export function identityProblem(identity: string, maxLength: number): string | null {
  if (identity.length === 0) return 'identity is empty';
  if (identity.length > maxLength) return `identity is longer than ${maxLength} characters`;
  if (!IDENTITY_PATTERN.test(identity)) return 'identity has characters outside A-Z a-z 0-9 * - _ = + | @ .';
  if (identity === '.' || identity === '..') return 'identity may not be "." or ".." (URL dot segments)';
  return null;
}
