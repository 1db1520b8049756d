#!/usr/bin/env node
// Finds the Bun binary: the optional dependency @oven/bun-linux-x64 (installed by `npm install`/`npm ci`), else
// `bun` on PATH. As a command it prints the path, or explains what is missing and exits 1.
// Usage: node scripts/find-bun.mjs   (prints the path: `npm run start:bun` runs it)
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

/** The path of a runnable Bun, or null. */
export function findBun() {
  const candidates = [join(root, 'node_modules', '@oven', 'bun-linux-x64', 'bin', 'bun'), ...(process.env.PATH ?? '').split(delimiter).filter(Boolean).map((dir) => join(dir, 'bun'))];
  for (const path of candidates) {
    try {
      accessSync(path, constants.X_OK);
      return path;
    } catch {
      // next candidate
    }
  }
  return null;
}

export const MISSING =
  'Bun not found: neither node_modules/@oven/bun-linux-x64/bin/bun (an optional dependency, installed by `npm install` on linux-x64) nor `bun` on PATH';

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const bun = findBun();
  if (bun === null) {
    console.error(MISSING);
    process.exit(1);
  }
  console.log(bun);
}
