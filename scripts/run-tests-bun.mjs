#!/usr/bin/env node
// `npm run test:bun`: the protocol, integration and conformance test files run by Bun (`bun test`, which runs
// node:test files), so the router they start in-process (test/helpers/server.ts) runs on Bun with its transport
// (src/transport/bun-server.ts). The clients are then Bun's too (its built-in `ws`).
// Node-only, and why:
//   - browser tests (ui*.test): they test the UI's pages in Chromium over plain HTTP, not the transport (playwright-core
//     under Bun was not tried);
//   - process tests (cli, crash, readiness, signal/reload ones): they spawn `node dist/src/main.js`, which is
//     already Node; bun-runtime.test.ts (in `npm test`) runs the router process on both runtimes instead;
//   - tests that reach into the `ws` client's socket or the internals of uWS (named in each file with a skip).
// Usage: node scripts/run-tests-bun.mjs [name-filter ...]   (default: the list below). A missing Bun fails.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { findBun, MISSING } from './find-bun.mjs';

export const BUN_TESTS = [
  // protocol
  'handshake', 'frames', 'rpc-session', 'validation', 'formats', 'responder',
  // integration on a real router
  'integration-core', 'limits', 'bad-input', 'hostile-input', 'live-log', 'tls',
  // conformance against a peer library
  'conformance-ocpp-rpc',
];

const root = fileURLToPath(new URL('..', import.meta.url));
const bun = findBun();
if (bun === null) {
  console.error(`test:bun: ${MISSING}`);
  process.exit(1);
}
const names = process.argv.length > 2 ? process.argv.slice(2) : BUN_TESTS;
const files = names.map((name) => join(root, 'dist', 'test', `${name.replace(/\.test(\.js)?$/, '')}.test.js`));
const missing = files.filter((f) => !existsSync(f));
if (missing.length > 0) {
  console.error(`test:bun: not built: ${missing.join(', ')} (run npm run build)`);
  process.exit(1);
}
console.log(`bun test: ${names.join(', ')}`);
// node:test has no per-test timeout by default, bun test has 5 s: the longest of these tests take ~40 s here.
const result = spawnSync(bun, ['test', '--timeout', '120000', ...files.map((f) => `./${f.slice(root.length)}`)], { stdio: 'inherit', cwd: root });
process.exit(result.status ?? 1);
