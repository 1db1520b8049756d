/**
 * The web UI's static files (www/ and the request schemas of its forms) are served by the shards: right
 * content types, ETag revalidation, a CSP on the page, and nothing outside the folder.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'node:http';
import { startTestServer } from './helpers/server.js';
import { packageRoot } from '../src/config/load.js';
import { uiRoutes } from '../src/web/static-routes.js';
import { centralActions } from '../src/protocol/actions.js';
import { OCPP_VERSIONS } from '../src/protocol/versions.js';

/** A raw GET (the path is sent as given: fetch would normalize '..'). */
function get(port: number, path: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('every www/ file has a route with its content type; / is index.html', () => {
  const routes = uiRoutes();
  const paths = new Set(routes.map((r) => r.path));
  for (const p of ['/', '/index.html', '/ui/app.js', '/ui/app.css', '/ui/api.js', '/ui/favicon.svg', '/ui/schemas/index.json']) assert.ok(paths.has(p), p);
  for (const version of OCPP_VERSIONS) assert.ok(paths.has(`/ui/schemas/${version}/${centralActions(version)[0]}.json`), version);
  for (const r of routes) assert.equal(r.method, 'GET');
  assert.ok(![...paths].some((p) => p.includes('..') || p.includes('//')));
});

test('the shards serve the UI: types, caching, ETag 304, CSP, schemas, no traversal', async (t) => {
  const h = await startTestServer();
  t.after(() => h.stop());
  const index = await get(h.port, '/');
  assert.equal(index.status, 200);
  assert.equal(index.headers['content-type'], 'text/html; charset=utf-8');
  assert.equal(index.headers['cache-control'], 'no-cache');
  assert.match(String(index.headers['content-security-policy']), /default-src 'self'/);
  assert.equal(index.body, readFileSync(join(packageRoot(), 'www', 'index.html'), 'utf8'));
  const etag = String(index.headers.etag);
  assert.match(etag, /^"[\w-]+"$/);
  const again = await get(h.port, '/', { 'If-None-Match': etag });
  assert.equal(again.status, 304);
  assert.equal(again.body, '');

  const js = await get(h.port, '/ui/app.js');
  assert.equal(js.status, 200);
  assert.equal(js.headers['content-type'], 'text/javascript; charset=utf-8');
  assert.equal(js.headers['x-content-type-options'], 'nosniff');
  assert.equal((await get(h.port, '/ui/app.css')).headers['content-type'], 'text/css; charset=utf-8');
  assert.equal((await get(h.port, '/ui/favicon.svg')).headers['content-type'], 'image/svg+xml');

  const schemaIndex = JSON.parse((await get(h.port, '/ui/schemas/index.json')).body) as Record<string, string[]>;
  for (const version of OCPP_VERSIONS) assert.deepEqual(schemaIndex[version], [...centralActions(version)]);
  const remoteStart = await get(h.port, '/ui/schemas/ocpp1.6/RemoteStartTransaction.json');
  assert.equal(remoteStart.status, 200);
  assert.equal(remoteStart.headers['content-type'], 'application/json; charset=utf-8');
  assert.deepEqual((JSON.parse(remoteStart.body) as { required: string[] }).required, ['idTag']);
  assert.equal((await get(h.port, '/ui/schemas/ocpp2.0.1/RequestStartTransaction.json')).status, 200);

  // Nothing outside www/: traversal in every spelling ends at the control plane's 404.
  for (const path of ['/ui/../package.json', '/../package.json', '/ui/%2e%2e/package.json', '/%2e%2e/%2e%2e/etc/passwd', '/ui/..%2fpackage.json', '/ui/schemas/../../api.yaml', '/ui/schemas/ocpp1.6/../../../package.json', '/ui', '/ui/', '/www/index.html', '/ui/schemas/ocpp1.6/BootNotification.json']) {
    const res = await get(h.port, path);
    assert.equal(res.status, 404, path);
    assert.doesNotMatch(res.body, /"name": "ocpp-router"|root:/, path);
  }
});
