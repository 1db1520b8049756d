/**
 * api.yaml is the source of truth: it is a valid OpenAPI 3.1 document (checked by a real validator), every
 * implemented route is in it, and every route in it is implemented (the control plane's route table, the
 * shard's own routes, the live log and the station endpoint).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { Validator } from '@seriousme/openapi-schema-validator';
import { packageRoot, loadConfig } from '../src/config/load.js';
import { createApi } from '../src/api/index.js';
import { shardRoutes } from '../src/web/static-routes.js';
import { LOG_PATH } from '../src/shard/shard.js';
import type { RouterServer } from '../src/control/router.js';
import { centralActions } from '../src/protocol/actions.js';
import { OCPP_VERSIONS } from '../src/protocol/versions.js';
import { RENAMED_FOR_V2 } from '../src/protocol/commands/translate.js';

const text = readFileSync(join(packageRoot(), 'api.yaml'), 'utf8');
const doc = parse(text) as { openapi: string; paths: Record<string, Record<string, { parameters?: Array<{ name: string; schema?: { enum?: string[] } }> }>> };
const METHODS = new Set(['get', 'post', 'put', 'delete', 'patch', 'options', 'head']);

test('api.yaml is a valid OpenAPI 3.1 document', async () => {
  assert.match(doc.openapi, /^3\.1\./);
  const validator = new Validator();
  const result = await validator.validate(text);
  assert.equal(result.valid, true, JSON.stringify(result.errors, null, 2));
});

test('api.yaml names its server relative to where it is served, so "Try it out" works on any host and port', () => {
  const servers = (parse(text) as { servers: Array<{ url: string }> }).servers;
  assert.ok(servers.length > 0);
  for (const server of servers) assert.ok(server.url.startsWith('/'), `${server.url} is relative`);
});

/** Does the template `/docs/{file}` cover `/docs/x.js`? */
function covers(template: string, path: string): boolean {
  const a = template.split('/');
  const b = path.split('/');
  return a.length === b.length && a.every((seg, i) => (seg.startsWith('{') && seg.endsWith('}') ? b[i] !== '' : seg === b[i]));
}

test('every implemented route is in api.yaml and every route in it is implemented', () => {
  const config = loadConfig({ env: {} });
  // The route table needs no running server to be read.
  const api = createApi({ config } as unknown as RouterServer);
  const implemented = new Set<string>();
  for (const route of api.routes) implemented.add(`${route.method} ${route.path}`);
  // Served by the shards (ping, time, docs): concrete paths, matched against the templates.
  const concrete = shardRoutes(config).map((r) => `${r.method} ${r.path}`);
  // WebSocket endpoints of the transport.
  implemented.add(`GET ${LOG_PATH}`);
  implemented.add(`GET ${config.ocpp.path}/{identity}`);
  implemented.add(`GET ${config.ocpp.path}/{account}/{identity}`);

  const documented = new Set<string>();
  for (const [path, item] of Object.entries(doc.paths)) for (const method of Object.keys(item)) if (METHODS.has(method)) documented.add(`${method.toUpperCase()} ${path}`);

  const missingInDoc = [...implemented].filter((r) => !documented.has(r));
  assert.deepEqual(missingInDoc, [], 'implemented but not in api.yaml');
  for (const route of concrete) {
    const [method, path] = route.split(' ') as [string, string];
    assert.ok([...documented].some((d) => d.startsWith(`${method} `) && covers(d.slice(method.length + 1), path)), `${route} is served by the shards but not in api.yaml`);
  }
  const notImplemented = [...documented].filter((d) => {
    if (implemented.has(d)) return false;
    const [method, template] = d.split(' ') as [string, string];
    return !concrete.some((c) => c.startsWith(`${method} `) && covers(template, c.slice(method.length + 1)));
  });
  assert.deepEqual(notImplemented, [], 'in api.yaml but not implemented');
  // Every /docs/{file} value is served.
  const files = doc.paths['/docs/{file}']!.get!.parameters!.find((p) => p.name === 'file')!.schema!.enum!;
  for (const file of files) assert.ok(concrete.includes(`GET /docs/${file}`), `/docs/${file}`);
});

test('the Operation enum of api.yaml lists every central-system action of every version, and the 1.6 names translated', () => {
  const op = doc.paths['/api/v1/ChargePoint/{identity}/{Operation}']!.post!.parameters!.find((p) => p.name === 'Operation')!;
  const expected = new Set<string>(Object.keys(RENAMED_FOR_V2));
  for (const version of OCPP_VERSIONS) for (const action of centralActions(version)) expected.add(action);
  assert.deepEqual([...op.schema!.enum!].sort(), [...expected].sort());
});
