/**
 * Routes every shard answers itself: `/api/v1/ping` and `/api/v1/time` (ocpp-cs shapes, open without
 * credentials) and the static documentation: `/api.yaml` and Swagger UI at `/docs/` from the
 * `swagger-ui-dist` package (no CDN). Static bytes never cross threads; files are read on first use and kept.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { gzipSync } from 'node:zlib';
import { parse } from 'yaml';
import { dirname, extname, join } from 'node:path';
import type { Config } from '../config/types.js';
import { packageRoot } from '../config/load.js';
import { errorResponse, jsonResponse, type WebHandler, type WebResponse } from '../http/types.js';
import { withCors } from '../http/cors.js';
import { OCPP_VERSIONS } from '../protocol/versions.js';
import { centralOperations, commandSchema } from '../protocol/commands/catalogue.js';

export interface ShardRoute {
  method: string;
  path: string;
  handle: WebHandler;
}

/** Swagger UI files served under /docs/ (the rest of the package: source maps, ES bundles, is not needed). */
const SWAGGER_FILES: Readonly<Record<string, string>> = {
  'swagger-ui.css': 'text/css; charset=utf-8',
  'swagger-ui-bundle.js': 'text/javascript; charset=utf-8',
  'swagger-ui-standalone-preset.js': 'text/javascript; charset=utf-8',
  'index.css': 'text/css; charset=utf-8',
  'favicon-16x16.png': 'image/png',
  'favicon-32x32.png': 'image/png',
  'oauth2-redirect.html': 'text/html; charset=utf-8',
};

const INDEX_HTML = `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>ocpp-router API</title>
  <link rel="stylesheet" href="./swagger-ui.css">
  <link rel="stylesheet" href="./index.css">
  <link rel="icon" type="image/png" href="./favicon-32x32.png" sizes="32x32">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="./swagger-ui-bundle.js"></script>
  <script src="./swagger-initializer.js"></script>
</body>
</html>
`;

/**
 * Starts Swagger UI with the API document inlined (api.yaml as JSON), at once (not on window.onload). The page
 * used to wait for every resource, then fetch /api.yaml, then parse its YAML in the browser and resolve it: a
 * chain that left "Loading" on screen for seconds on a busy machine. Now the document arrives with the script
 * the page loads anyway; BaseLayout needs no standalone preset (no URL bar: the document is at /api.yaml).
 */
function initializerJs(apiYaml: string): string {
  const spec = JSON.stringify(parse(apiYaml)).replace(/</g, '\\u003c');
  return `window.ui = SwaggerUIBundle({
  spec: ${spec},
  dom_id: '#swagger-ui',
  deepLinking: true,
  presets: [SwaggerUIBundle.presets.apis],
  layout: 'BaseLayout',
});
`;
}

function swaggerDir(): string {
  const require = createRequire(import.meta.url);
  return dirname(require.resolve('swagger-ui-dist/package.json'));
}

/** Bodies at least this large, of a text type, go gzip-compressed to clients that accept it. */
const GZIP_MIN_BYTES = 1024;

/**
 * A route serving bytes read once, on first use; text of GZIP_MIN_BYTES or more gzip-compressed (once, on first
 * use) for clients that accept it: Swagger UI's bundle is 1.7 MB as it is, about 0.5 MB compressed.
 */
function fileRoute(path: string, type: string, read: () => string | Buffer): ShardRoute {
  let body: Uint8Array | null = null;
  let gzipped: Uint8Array | null = null;
  const compressible = /^(text\/|application\/(json|yaml|javascript))/.test(type);
  return {
    method: 'GET',
    path,
    handle: (request) => {
      try {
        body ??= (() => {
          const data = read();
          return typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
        })();
      } catch (error) {
        return errorResponse(500, `cannot read ${path}: ${(error as Error).message}`);
      }
      const headers: Record<string, string> = { 'Content-Type': type, 'Cache-Control': 'public, max-age=300' };
      if (!compressible || body.length < GZIP_MIN_BYTES) return { status: 200, headers, body };
      headers.Vary = 'Accept-Encoding';
      if (!/\bgzip\b/.test(request.headers['accept-encoding'] ?? '')) return { status: 200, headers, body };
      gzipped ??= gzipSync(body);
      headers['Content-Encoding'] = 'gzip';
      return { status: 200, headers, body: gzipped };
    },
  };
}

/** Paths of the static documentation routes (for the OpenAPI test). */
export const DOC_PATHS = ['/api.yaml', '/docs', '/docs/'] as const;

export function shardRoutes(config: Config): ShardRoute[] {
  const cors = config.api.cors;
  const open = (path: string, body: () => unknown): ShardRoute => ({
    method: 'GET',
    path,
    handle: (request) => withCors(cors, request, jsonResponse(200, body())),
  });
  const routes: ShardRoute[] = [
    // ocpp-cs shapes; open without credentials.
    open('/api/v1/ping', () => ({})),
    open('/api/v1/time', () => ({ serverTime: Date.now() })),
  ];
  if (!config.api.docs) return routes;
  const root = packageRoot();
  routes.push(fileRoute('/api.yaml', 'application/yaml; charset=utf-8', () => readFileSync(join(root, 'api.yaml'))));
  routes.push({ method: 'GET', path: '/docs', handle: (): WebResponse => ({ status: 301, headers: { Location: '/docs/' } }) });
  routes.push(fileRoute('/docs/', 'text/html; charset=utf-8', () => INDEX_HTML));
  routes.push(fileRoute('/docs/index.html', 'text/html; charset=utf-8', () => INDEX_HTML));
  routes.push(fileRoute('/docs/swagger-initializer.js', 'text/javascript; charset=utf-8', () => initializerJs(readFileSync(join(root, 'api.yaml'), 'utf8'))));
  let dir: string | null = null;
  for (const [name, type] of Object.entries(SWAGGER_FILES)) {
    routes.push(fileRoute(`/docs/${name}`, type, () => readFileSync(join((dir ??= swaggerDir()), name))));
  }
  return routes;
}

// --- web UI (www/) -------------------------------------------------------------------------------------
//
// The web UI is a set of static files in `www/` served by every shard, like the documentation above: the
// file list is read once when the routes are built, bytes on first use and kept. Only files found under
// `www/` with a known type get a route (exact paths, no pattern), so `..`, encoded slashes or any other path
// can never reach outside the folder: the gateway forwards unknown paths to the control plane (404).
// The UI's request schemas are the official files in `schemas/` (as the API reads them, request-schemas.ts),
// under `/ui/schemas/<version>/<Action>.json`, with `/ui/schemas/index.json` listing the central-system
// operations of each version. See docs/ui.md.

const UI_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
  '.woff2': 'font/woff2',
};

/** The UI loads nothing from elsewhere: scripts, styles and data from this origin, the live log over ws(s). */
const UI_CSP = "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'self'; form-action 'none'";

/** Files under `dir` (relative paths with '/'), skipping dot files and names outside a safe alphabet. */
function listFiles(dir: string, prefix = ''): string[] {
  let entries: import('node:fs').Dirent[];
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const entry of entries) {
    if (!/^[A-Za-z0-9_][A-Za-z0-9._-]*$/.test(entry.name)) continue;
    const rel = `${prefix}${entry.name}`;
    if (entry.isDirectory()) out.push(...listFiles(join(dir, entry.name), `${rel}/`));
    else if (entry.isFile() && UI_TYPES[extname(entry.name)] !== undefined) out.push(rel);
  }
  return out;
}

/**
 * A static UI route: bytes read on first use, a strong ETag, `If-None-Match` → 304. `cacheControl`:
 * the UI's own files are not content-hashed, so browsers revalidate them (`no-cache`: a 304 costs no body).
 */
function uiFileRoute(path: string, type: string, cacheControl: string, read: () => Uint8Array | string): ShardRoute {
  let cached: { body: Uint8Array; etag: string } | null = null;
  return {
    method: 'GET',
    path,
    handle: (request): WebResponse => {
      try {
        cached ??= (() => {
          const data = read();
          const body = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
          return { body, etag: `"${createHash('sha1').update(body).digest('base64url')}"` };
        })();
      } catch (error) {
        return errorResponse(404, `cannot read ${path}: ${(error as Error).message}`);
      }
      const headers: Record<string, string> = { ETag: cached.etag, 'Cache-Control': cacheControl, 'X-Content-Type-Options': 'nosniff' };
      if (type.startsWith('text/html')) {
        headers['Content-Security-Policy'] = UI_CSP;
        headers['Referrer-Policy'] = 'no-referrer';
      }
      const match = request.headers['if-none-match'];
      if (match !== undefined && match.split(',').some((t) => t.trim().replace(/^W\//, '') === cached!.etag)) return { status: 304, headers };
      return { status: 200, headers: { 'Content-Type': type, ...headers }, body: cached.body };
    },
  };
}

/** Routes of the web UI: `/` and every file of `www/`, plus the request schemas the command forms need. */
export function uiRoutes(root: string = packageRoot()): ShardRoute[] {
  const www = join(root, 'www');
  const routes: ShardRoute[] = [];
  for (const rel of listFiles(www)) {
    const file = join(www, ...rel.split('/'));
    routes.push(uiFileRoute(`/${rel}`, UI_TYPES[extname(rel)]!, 'no-cache', () => readFileSync(file)));
    if (rel === 'index.html') routes.push(uiFileRoute('/', UI_TYPES['.html']!, 'no-cache', () => readFileSync(file)));
  }
  const index: Record<string, string[]> = {};
  for (const version of OCPP_VERSIONS) {
    index[version] = [];
    for (const action of centralOperations(version)) {
      if (commandSchema(version, action) === null) continue;
      index[version].push(action);
      // The official files, unmodified (parsed once to drop a BOM); they change only with a new release.
      routes.push(uiFileRoute(`/ui/schemas/${version}/${action}.json`, UI_TYPES['.json']!, 'public, max-age=3600', () => JSON.stringify(commandSchema(version, action))));
    }
  }
  const indexText = JSON.stringify(index);
  routes.push(uiFileRoute('/ui/schemas/index.json', UI_TYPES['.json']!, 'no-cache', () => indexText));
  return routes;
}
