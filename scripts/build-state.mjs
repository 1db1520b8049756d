// Whether the build is current (scripts/build.mjs --if-stale): the first input newer than the stamp of the last
// successful build, or null. Folders count too (a deleted file changes its folder's time). Generated files
// (src/generated) are written by the build before the stamp, so they never make it stale by themselves.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

export const STAMP = join('dist', '.build-stamp');

/** What the build reads: the compiled trees, the schemas it generates from, and what configures it. */
export const INPUTS = ['src', 'test', 'bench', 'schemas', 'scripts', 'tsconfig.json', 'package.json', 'package-lock.json'];

function mtimeMs(path) {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return null;
  }
}

/** The first path under `path` (itself included) modified after `since`, or null. */
function firstNewer(path, since) {
  const time = mtimeMs(path);
  if (time === null) return null;
  if (time > since) return path;
  let entries;
  try {
    entries = readdirSync(path, { withFileTypes: true });
  } catch {
    return null; // a file
  }
  for (const entry of entries) {
    const found = firstNewer(join(path, entry.name), since);
    if (found !== null) return found;
  }
  return null;
}

/** The first input of `root` newer than its stamp (the stamp itself when there is none), or null when current. */
export function newerThanStamp(root) {
  const stamp = mtimeMs(join(root, STAMP));
  if (stamp === null) return STAMP;
  for (const input of INPUTS) {
    const found = firstNewer(join(root, input), stamp);
    if (found !== null) return found.slice(root.length + 1);
  }
  return null;
}
