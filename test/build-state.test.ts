/**
 * `npm start` builds only when something changed (scripts/build.mjs --if-stale, scripts/build-state.mjs): the first
 * input newer than the stamp of the last build, or null when the build is current.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const SCRIPT = new URL('../../scripts/build-state.mjs', import.meta.url);
const { newerThanStamp, STAMP } = (await import(pathToFileURL(SCRIPT.pathname).href)) as { newerThanStamp(root: string): string | null; STAMP: string };

function at(path: string, secondsAgo: number): void {
  const t = Date.now() / 1000 - secondsAgo;
  utimesSync(path, t, t);
}

test('the build is stale without a stamp, current after it, stale again when an input, a nested file or a folder changes', (t) => {
  const root = mkdtempSync(join(tmpdir(), 'ocpp-router-build-state-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  mkdirSync(join(root, 'src', 'deep'), { recursive: true });
  mkdirSync(join(root, 'dist'));
  writeFileSync(join(root, 'src', 'deep', 'a.ts'), 'export {};\n');
  writeFileSync(join(root, 'src', 'b.ts'), 'export {};\n');
  writeFileSync(join(root, 'tsconfig.json'), '{}\n');
  assert.equal(newerThanStamp(root), STAMP, 'no build yet');
  for (const p of ['src/deep/a.ts', 'src/b.ts', 'src/deep', 'src', 'tsconfig.json']) at(join(root, p), 60);
  writeFileSync(join(root, STAMP), 'x\n');
  at(join(root, STAMP), 30);
  assert.equal(newerThanStamp(root), null, 'every input older than the stamp');
  at(join(root, 'src', 'deep', 'a.ts'), 10);
  assert.equal(newerThanStamp(root), join('src', 'deep', 'a.ts'));
  at(join(root, 'src', 'deep', 'a.ts'), 60);
  rmSync(join(root, 'src', 'b.ts'));
  assert.equal(newerThanStamp(root), 'src', 'a deleted file changes its folder');
  at(join(root, 'src'), 60);
  at(join(root, 'tsconfig.json'), 5);
  assert.equal(newerThanStamp(root), 'tsconfig.json');
});
