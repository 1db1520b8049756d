/**
 * The shape of src/ (scripts/check-imports.mjs): layers import only downward, uWebSockets.js only in transport/,
 * protocol/ pure, no import cycles, no file over ~400 lines, a header paragraph in every folder's main file.
 * The checker itself is checked on a small tree made to break every rule.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { packageRoot } from '../src/config/load.js';

interface Checker {
  checkImports(root: string): string[];
  MAIN_FILES: Record<string, string>;
}

async function checker(): Promise<Checker> {
  return (await import(pathToFileURL(join(packageRoot(), 'scripts', 'check-imports.mjs')).href)) as Checker;
}

test('src/ keeps its shape: layers, external modules, no cycles, file sizes, folder headers', async () => {
  const { checkImports } = await checker();
  assert.deepEqual(checkImports(packageRoot()), []);
});

test('the checker finds an upward import, a forbidden module, a cycle, a long file and a missing header', async (t) => {
  const { checkImports, MAIN_FILES } = await checker();
  const root = mkdtempSync(join(tmpdir(), 'ocpp-router-imports-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const header = `/**\n * ${'A folder header paragraph that says what this folder owns, long enough to count. '.repeat(2)}\n */\n`;
  const write = (rel: string, text: string): void => {
    mkdirSync(join(root, 'src', dirname(rel)), { recursive: true });
    writeFileSync(join(root, 'src', rel), text);
  };
  // Every folder main file with a header, so only the planted faults show.
  for (const main of Object.values(MAIN_FILES)) if (['main.ts', 'protocol/index.ts', 'shard/shard.ts', 'control/router.ts'].includes(main)) write(main, header);
  write('protocol/a.ts', `${header}import { b } from './b.js';\nimport { x } from '../shard/shard.js';\nexport const a = 1;\n`);
  write('protocol/b.ts', `import { a } from './a.js';\nexport const b = 2;\n`);
  write('control/uses-uws.ts', `import uWS from 'uWebSockets.js';\nimport { s } from '../shard/shard.js';\n`);
  write('shard/long.ts', 'export const x = 1;\n'.repeat(500));
  write('shard/sub/thing.ts', 'export const y = 1;\n');
  const problems = checkImports(root);
  const has = (pattern: RegExp): boolean => problems.some((p) => pattern.test(p));
  assert.ok(has(/protocol\/a\.ts: protocol may not import shard/), problems.join('\n'));
  assert.ok(has(/control\/uses-uws\.ts: control may not import uWebSockets\.js/), problems.join('\n'));
  assert.ok(has(/control\/uses-uws\.ts: control may not import shard/), problems.join('\n'));
  assert.ok(has(/import cycle: protocol\/a\.ts → protocol\/b\.ts → protocol\/a\.ts/), problems.join('\n'));
  assert.ok(has(/shard\/long\.ts: 501 lines/), problems.join('\n'));
  assert.ok(has(/src\/shard\/sub\/: no main file/), problems.join('\n'));
});
