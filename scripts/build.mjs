#!/usr/bin/env node
// The build (`npm run build`): validators from schemas/, the OCPP-S schemas from the WSDLs, then tsc. With
// `--if-stale` (what `npm start` runs) nothing is done when the last build is newer than every input: tsc alone
// takes ~5 s on 2 cores even with nothing to do, which every start paid. The stamp `dist/.build-stamp` is written
// after a build that succeeded; an input newer than it (an edit, a checkout, `npm ci`) means build.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { newerThanStamp, STAMP } from './build-state.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const ifStale = process.argv.includes('--if-stale');

if (ifStale) {
  const newer = newerThanStamp(root);
  if (newer === null) process.exit(0);
  process.stderr.write(`build: ${newer} changed since the last build\n`);
}

const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const steps = [
  [process.execPath, [join(root, 'scripts', 'build-validators.mjs')]],
  [process.execPath, [join(root, 'scripts', 'build-soap-schemas.mjs')]],
  [process.execPath, [tsc, '-p', join(root, 'tsconfig.json')]],
];
for (const [command, args] of steps) {
  const run = spawnSync(command, args, { cwd: root, stdio: 'inherit' });
  if (run.status !== 0) process.exit(run.status ?? 1);
}
mkdirSync(join(root, 'dist'), { recursive: true });
writeFileSync(join(root, STAMP), `${new Date().toISOString()}\n`);
