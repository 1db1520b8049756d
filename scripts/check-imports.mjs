#!/usr/bin/env node
// The shape of src/, checked (docs/architecture.md, "Layers"): which folder may import which, which external
// modules a folder may use, no import cycles, files of at most about 400 lines, and a header paragraph in the
// main file of every folder. `npm test` runs it (test/imports.test.ts); run it alone with
//   node scripts/check-imports.mjs [root]
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Layers, lowest first: a folder may import itself and the folders listed. `protocol` is pure (frames, RPC
 * session, validation, SOAP codec, command catalogue) and imports nothing else of src/. The control plane
 * reaches shards only through `ipc`, shards reach the control plane the same way; nothing imports upward.
 */
export const LAYERS = {
  protocol: [],
  config: ['protocol'],
  http: ['config', 'protocol'],
  metrics: ['protocol'],
  ipc: ['protocol', 'config', 'http', 'metrics'],
  transport: ['http'],
  web: ['http', 'config', 'protocol'],
  store: ['protocol', 'config', 'ipc', 'metrics', 'logger.ts'],
  // NATS: the connection, subjects, directory, node requests, events publisher (used by control, shards, backends).
  cluster: ['protocol', 'config', 'ipc', 'metrics', 'store', 'http'],
  backends: ['protocol', 'config', 'metrics', 'ipc', 'http', 'cluster'],
  shard: ['transport', 'backends', 'store', 'cluster', 'web', 'ipc', 'protocol', 'config', 'http', 'metrics', 'logger.ts'],
  // transport: the mTLS front (transport/mtls-front.ts) runs on the control plane's thread.
  control: ['ipc', 'protocol', 'config', 'http', 'metrics', 'backends', 'store', 'cluster', 'transport', 'flex'],
  api: ['control', 'store', 'cluster', 'ipc', 'protocol', 'config', 'http', 'metrics', 'flex'],
  emulator: ['protocol', 'http'],
  // Flexibility prequalification (issue 18): asset keys, tokens, content store, DID registry, the NATS service.
  flex: ['protocol', 'config', 'http', 'metrics', 'ipc', 'store', 'cluster', 'logger.ts'],
  // The process entry and its helpers sit on top.
  'main.ts': ['*'],
  'commands.ts': ['*'],
  'cli.ts': ['*'],
  'logger.ts': ['config'],
  // Built from the schemas by scripts/build-validators.mjs; never edited by hand.
  generated: [],
};

/** External modules only these folders may import (everything else may not). */
export const EXTERNAL = {
  'uWebSockets.js': ['transport'],
  undici: ['backends', 'control', 'emulator', 'flex'],
  'prom-client': ['metrics'],
  ws: ['emulator'],
  // transport: the mTLS front (transport/mtls-front.ts, Node TLS for security profile 3, docs/security.md).
  'node:net': ['emulator', 'transport'],
  'node:http': ['emulator'],
  'node:https': ['emulator'],
  // config: the TLS files are loaded once with createSecureContext when the configuration is (config/tls-files.ts).
  'node:tls': ['emulator', 'transport', 'config'],
  // flex: the prequalification service's JetStream consumers (flex/consumer.ts) and issuer delivery.
  '@nats-io/transport-node': ['cluster', 'flex'],
  '@nats-io/jetstream': ['cluster', 'flex'],
  '@nats-io/kv': ['cluster'],
};

/** The file of each folder that opens with a paragraph saying what the folder owns. */
export const MAIN_FILES = {
  '': 'main.ts',
  api: 'api/index.ts',
  backends: 'backends/backend-switch.ts',
  cluster: 'cluster/connection.ts',
  'backends/pg-function': 'backends/pg-function/backend.ts',
  'backends/nats': 'backends/nats/backend.ts',
  'backends/responder': 'backends/responder/index.ts',
  'backends/webhook': 'backends/webhook/index.ts',
  config: 'config/load.ts',
  control: 'control/router.ts',
  'control/channels': 'control/channels/station-channel.ts',
  'control/webhook': 'control/webhook/events.ts',
  emulator: 'emulator/index.ts',
  flex: 'flex/service.ts',
  'emulator/commands': 'emulator/commands/index.ts',
  'emulator/station': 'emulator/station/index.ts',
  'emulator/transport': 'emulator/transport/index.ts',
  http: 'http/types.ts',
  ipc: 'ipc/messages.ts',
  metrics: 'metrics/catalog.ts',
  protocol: 'protocol/index.ts',
  'protocol/commands': 'protocol/commands/catalogue.ts',
  'protocol/ocpp-j': 'protocol/ocpp-j/index.ts',
  'protocol/soap': 'protocol/soap/codec.ts',
  'protocol/validation': 'protocol/validation/registry.ts',
  shard: 'shard/shard.ts',
  store: 'store/engine.ts',
  'store/sqlite': 'store/sqlite/engine.ts',
  'store/postgres': 'store/postgres/engine.ts',
  transport: 'transport/types.ts',
  web: 'web/static-routes.ts',
};

export const MAX_LINES = 420;
const IMPORT_RE = /(?:^|\n)\s*(?:import|export)\s+(?:type\s+)?(?:[^'";]*?\s+from\s+)?['"]([^'"]+)['"]/g;

function walk(dir) {
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...walk(path));
    else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) out.push(path);
  }
  return out;
}

/** The layer of a file path relative to src/ ('protocol', 'main.ts' …). */
function layerOf(rel) {
  const first = rel.split('/')[0];
  return rel.includes('/') ? first : rel;
}

function allowed(fromLayer, toLayer) {
  if (fromLayer === toLayer) return true;
  const list = LAYERS[fromLayer];
  return list !== undefined && (list.includes('*') || list.includes(toLayer));
}

/** Every problem with the tree under `root/src`, as text; empty when the shape holds. */
export function checkImports(root) {
  const src = join(root, 'src');
  const problems = [];
  const files = walk(src).map((f) => relative(src, f).split(sep).join('/')).filter((f) => !f.startsWith('generated/') && !f.includes('/generated/'));
  const graph = new Map();
  const folders = new Set();
  for (const rel of files) {
    if (rel.includes('/')) folders.add(dirname(rel));
    const layer = layerOf(rel);
    if (!(layer in LAYERS)) problems.push(`${rel}: folder ${layer}/ is not in the layer table of scripts/check-imports.mjs`);
    const text = readFileSync(join(src, rel), 'utf8');
    const lines = text.split('\n').length;
    if (lines > MAX_LINES) problems.push(`${rel}: ${lines} lines (at most ${MAX_LINES}: split it by concern)`);
    const deps = [];
    for (const m of text.matchAll(IMPORT_RE)) {
      const spec = m[1];
      if (spec.startsWith('.')) {
        const target = normalize(join(dirname(rel), spec)).split(sep).join('/').replace(/\.js$/, '.ts');
        if (target.startsWith('..')) {
          problems.push(`${rel}: imports ${spec}, outside src/`);
          continue;
        }
        const toLayer = layerOf(target);
        if (target.startsWith('generated/') || target.includes('/generated/')) {
          // Generated validators and SOAP tables belong to the protocol layer.
          if (layer !== 'protocol') problems.push(`${rel}: imports generated code (${spec}); go through src/protocol/`);
          continue;
        }
        if (!allowed(layer, toLayer)) problems.push(`${rel}: ${layer} may not import ${toLayer} (${spec})`);
        deps.push(target);
      } else {
        const name = spec.startsWith('node:') ? spec : spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0];
        const only = EXTERNAL[name];
        if (only !== undefined && !only.includes(layer)) problems.push(`${rel}: ${layer} may not import ${name}`);
      }
    }
    graph.set(rel, deps);
  }
  for (const folder of folders) {
    if (folder.split('/').includes('generated')) continue;
    if (!(folder in MAIN_FILES)) problems.push(`src/${folder}/: no main file in MAIN_FILES of scripts/check-imports.mjs`);
  }
  for (const [folder, main] of Object.entries(MAIN_FILES)) {
    if (folder !== '' && !folders.has(folder)) continue;
    let text;
    try {
      text = readFileSync(join(src, main), 'utf8');
    } catch {
      problems.push(`src/${main}: missing (main file of ${folder || 'src'}/)`);
      continue;
    }
    const header = /^(?:#![^\n]*\n)?\s*\/\*\*([\s\S]*?)\*\//.exec(text);
    if (header === null || header[1].replace(/[\s*]+/g, ' ').trim().length < 80) problems.push(`src/${main}: starts with no paragraph saying what ${folder || 'src'}/ owns`);
  }
  for (const cycle of cycles(graph)) problems.push(`import cycle: ${cycle.join(' → ')}`);
  return problems;
}

/** Strongly connected components of more than one file (or a file importing itself): Tarjan. */
function cycles(graph) {
  let index = 0;
  const stack = [];
  const meta = new Map();
  const out = [];
  const strong = (v) => {
    meta.set(v, { index, low: index, on: true });
    index++;
    stack.push(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!meta.has(w)) {
        strong(w);
        meta.get(v).low = Math.min(meta.get(v).low, meta.get(w).low);
      } else if (meta.get(w).on) meta.get(v).low = Math.min(meta.get(v).low, meta.get(w).index);
    }
    if (meta.get(v).low === meta.get(v).index) {
      const component = [];
      let w;
      do {
        w = stack.pop();
        meta.get(w).on = false;
        component.push(w);
      } while (w !== v);
      if (component.length > 1 || (graph.get(v) ?? []).includes(v)) out.push([...component.reverse(), component[0]]);
    }
  };
  for (const v of graph.keys()) if (!meta.has(v)) strong(v);
  return out;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const root = process.argv[2] ?? fileURLToPath(new URL('..', import.meta.url));
  const problems = checkImports(root);
  if (problems.length > 0) {
    process.stderr.write(`${problems.length} problem${problems.length === 1 ? '' : 's'} with the shape of src/:\n${problems.map((p) => `  ${p}`).join('\n')}\n`);
    process.exit(1);
  }
  process.stdout.write('src/: layers, external modules, cycles, file sizes and folder headers OK\n');
}
