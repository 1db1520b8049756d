/**
 * The emulator's module graph: no import cycle (type-only and dynamic imports count), and nothing imported from
 * outside src/emulator but src/protocol/** and src/http/read-limited.ts (it drives any central system, so it
 * knows only the wire protocols).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));
const emulator = join(root, 'src', 'emulator');

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...sources(path));
    else if (name.endsWith('.ts')) out.push(path);
  }
  return out;
}

/** Relative module specifiers of `import … from`, `export … from`, `import '…'` and `import('…')`, as .ts paths. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specs = new Set<string>();
  for (const m of text.matchAll(/(?:^|\n)\s*(?:import|export)\b[^;'"]*?from\s*['"]([^'"]+)['"]|(?:^|\n)\s*import\s*['"]([^'"]+)['"]|\bimport\(\s*['"]([^'"]+)['"]\s*\)/g)) {
    const spec = m[1] ?? m[2] ?? m[3]!;
    if (spec.startsWith('.')) specs.add(resolve(dirname(file), spec).replace(/\.js$/, '.ts'));
  }
  return [...specs];
}

const files = sources(emulator);
const graph = new Map(files.map((f) => [f, importsOf(f)]));
const rel = (f: string): string => relative(root, f);

test('src/emulator imports only src/protocol/** and src/http/read-limited.ts from outside', () => {
  const outside: string[] = [];
  for (const [file, deps] of graph) {
    for (const dep of deps) {
      if (dep.startsWith(emulator + '/')) continue;
      const r = rel(dep);
      if (!r.startsWith('src/protocol/') && r !== 'src/http/read-limited.ts') outside.push(`${rel(file)} → ${r}`);
    }
  }
  assert.deepEqual(outside, []);
});

test('src/emulator has no import cycle', () => {
  const cycles: string[] = [];
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (file: string): void => {
    state.set(file, 'open');
    stack.push(file);
    for (const dep of graph.get(file) ?? []) {
      if (!graph.has(dep)) continue;
      if (state.get(dep) === 'open') cycles.push([...stack.slice(stack.indexOf(dep)), dep].map(rel).join(' → '));
      else if (state.get(dep) === undefined) visit(dep);
    }
    stack.pop();
    state.set(file, 'done');
  };
  for (const file of files) if (state.get(file) === undefined) visit(file);
  assert.deepEqual(cycles, []);
  // The graph was read: the station imports its layers and the command tables.
  assert.ok(graph.get(join(emulator, 'station', 'index.ts'))!.includes(join(emulator, 'commands', 'index.ts')));
});
