/**
 * CORS (Fetch standard §3.2): `api.cors.origins` lists the origins allowed (or `*`). Simple requests get
 * `Access-Control-Allow-Origin` for an allowed Origin; a preflight (OPTIONS with
 * Access-Control-Request-Method) gets 204 with the methods and headers the API uses, without credentials
 * being checked (browsers never send them on a preflight).
 */
import type { Config } from '../config/types.js';
import type { WebRequest, WebResponse } from './types.js';

const ALLOW_METHODS = 'GET, POST, OPTIONS';
const ALLOW_HEADERS = 'Authorization, Content-Type';
const EXPOSE_HEADERS = 'WWW-Authenticate, Location, X-OCPP-Action, X-OCPP-Translated-From';

/** The CORS headers for `request`'s Origin, or none. */
export function corsHeaders(cors: Config['api']['cors'], request: WebRequest): Record<string, string> | null {
  if (cors.origins.length === 0) return null;
  const origin = request.headers['origin'];
  if (origin === undefined) return null;
  const any = cors.origins.includes('*');
  if (!any && !cors.origins.includes(origin)) return null;
  const headers: Record<string, string> = { 'Access-Control-Allow-Origin': any ? '*' : origin, 'Access-Control-Expose-Headers': EXPOSE_HEADERS };
  if (!any) {
    headers['Vary'] = 'Origin';
    headers['Access-Control-Allow-Credentials'] = 'true';
  }
  return headers;
}

/** The answer to a preflight, or null when `request` is not one. */
export function preflight(cors: Config['api']['cors'], request: WebRequest): WebResponse | null {
  if (request.method !== 'OPTIONS') return null;
  const base = corsHeaders(cors, request);
  if (base === null || request.headers['access-control-request-method'] === undefined) {
    return { status: 204, headers: { Allow: ALLOW_METHODS } };
  }
  return {
    status: 204,
    headers: {
      ...base,
      'Access-Control-Allow-Methods': ALLOW_METHODS,
      'Access-Control-Allow-Headers': ALLOW_HEADERS,
      'Access-Control-Max-Age': String(cors.maxAgeS),
    },
  };
}

/** `response` with the CORS headers for `request` added (same object when there are none). */
export function withCors(cors: Config['api']['cors'], request: WebRequest, response: WebResponse): WebResponse {
  const headers = corsHeaders(cors, request);
  return headers === null ? response : { ...response, headers: { ...response.headers, ...headers } };
}
