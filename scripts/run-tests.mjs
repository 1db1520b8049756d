#!/usr/bin/env node
// Runs every compiled test file. On Node 20 `node --test` without arguments finds no .ts file, so the
// files are listed explicitly: dist/test/**/*.test.js (built by `npm run build`).
// Usage: node scripts/run-tests.mjs [name-filter ...]
import { readdirSync, statSync, existsSync } from 'node:fs';
import { join, relative } from 'node:path';
import { spawnSync } from 'node:child_process';

const root = new URL('..', import.meta.url).pathname;
const testDir = join(root, 'dist', 'test');
if (!existsSync(testDir)) {
  console.error('dist/test is missing: run `npm run build` first');
  process.exit(1);
}

function walk(dir) {
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...walk(path));
    else if (name.endsWith('.test.js')) out.push(path);
  }
  return out;
}

const filters = process.argv.slice(2);
const files = walk(testDir).filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)));
if (files.length === 0) {
  console.error('no test files matched');
  process.exit(1);
}
console.log(`running ${files.length} test files: ${files.map((f) => relative(testDir, f)).join(', ')}`);
const result = spawnSync(
  process.execPath,
  ['--test', '--test-reporter=spec', `--test-concurrency=${process.env.TEST_CONCURRENCY ?? 2}`, ...files],
  { stdio: 'inherit', cwd: root },
);
process.exit(result.status ?? 1);
