/**
 * A small path router for the API: routes are written as in api.yaml (`/api/v1/ChargePoint/{identity}/{Operation}`)
 * so the OpenAPI test can compare the table with the document, each with the access it needs (the one table of
 * roles; test/api-roles.test.ts checks it against the `x-access` of every api.yaml operation). Matching is by segments; parameters are
 * percent-decoded. Built once; a lookup walks the routes of the method (a handful).
 */
import type { WebRequest, WebResponse } from '../http/types.js';
import type { RouteAccess } from '../http/api-auth.js';

export interface RouteContext {
  request: WebRequest;
  params: Record<string, string>;
  query: URLSearchParams;
}

export type RouteHandler = (ctx: RouteContext) => WebResponse | Promise<WebResponse>;

export interface Route {
  method: string;
  /** OpenAPI path template. */
  path: string;
  /**
   * Who may use it (src/http/api-auth.ts): `open` (no credentials, any address), `read` (lists and views,
   * the live log) or `operator` (commands, anything that changes state). Required, so no route is forgotten.
   */
  access: RouteAccess;
  handle: RouteHandler;
}

interface Compiled {
  route: Route;
  segments: Array<{ param: string } | string>;
}

export type RouteMatch = { route: Route; params: Record<string, string> } | { route: null; allowed: string[] };

export class RouteTable {
  readonly routes: readonly Route[];
  #compiled: Compiled[];

  constructor(routes: Route[]) {
    this.routes = Object.freeze([...routes]);
    this.#compiled = routes.map((route) => ({
      route,
      segments: route.path
        .split('/')
        .slice(1)
        .map((s) => (s.startsWith('{') && s.endsWith('}') ? { param: s.slice(1, -1) } : s)),
    }));
  }

  /** The route for (method, path), or the methods the path allows (empty: no such path). */
  match(method: string, path: string): RouteMatch {
    const parts = path.split('/').slice(1);
    if (parts.length > 1 && parts[parts.length - 1] === '') parts.pop();
    const allowed: string[] = [];
    for (const c of this.#compiled) {
      const params = matchSegments(c.segments, parts);
      if (params === null) continue;
      if (c.route.method === method || (method === 'HEAD' && c.route.method === 'GET')) return { route: c.route, params };
      allowed.push(c.route.method);
    }
    return { route: null, allowed };
  }
}

function matchSegments(segments: Compiled['segments'], parts: string[]): Record<string, string> | null {
  if (segments.length !== parts.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < segments.length; i++) {
    const seg = segments[i]!;
    const part = parts[i]!;
    if (typeof seg === 'string') {
      if (seg !== part) return null;
      continue;
    }
    if (part === '') return null;
    try {
      params[seg.param] = decodeURIComponent(part);
    } catch {
      return null;
    }
  }
  return params;
}
