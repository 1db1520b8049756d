/**
 * The documentation runs as written. Fenced blocks of README.md and docs/*.md whose info string is
 * `sh runnable` are run, in file and block order, against the setup of the `sh runnable-setup` block (every such
 * block must say the same), started as its own process as a newcomer would: `npx ocpp-router serve --emulate 10`
 * (`npx ocpp-router` is bin/ocpp-router.js of this checkout), with a port and data folder of its own.
 * `localhost:9220` in the examples becomes that port. The convention (what is a command, what is its documented
 * answer, what `…` means) is described in docs/api.md#runnable-examples; in short: each `curl` line is run by
 * bash, the status must be the documented `error.code` or else 2xx, and the real answer must have every key of
 * the documented one with the same JSON type. A doc example that stops working fails here.
 * curl and bash are needed (Debian: apt-get install curl); without curl the test fails in CI and skips with what
 * to install outside it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packageRoot } from '../src/config/load.js';
import { stdoutLines } from './helpers/router-process.js';
import { waitFor } from './helpers/server.js';
import { toolMissing } from './helpers/tools.js';

const ROOT = packageRoot();
const BIN = join(ROOT, 'bin', 'ocpp-router.js');

export interface Example {
  file: string;
  line: number;
  command: string;
  /** The documented answer, as written (empty: none documented). */
  answer: string;
}

interface Block {
  file: string;
  line: number;
  marker: string;
  lines: string[];
}

/** Fenced blocks with their info string's second word as marker (` ```sh runnable ` → `runnable`). */
export function markedBlocks(file: string, text: string): Block[] {
  const out: Block[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\S+)\s+(\S+)\s*$/.exec(lines[i]!);
    if (open === null) {
      if (lines[i]!.startsWith('```')) for (i++; i < lines.length && !lines[i]!.startsWith('```'); i++);
      continue;
    }
    const start = i + 1;
    const body: string[] = [];
    for (i++; i < lines.length && !lines[i]!.startsWith('```'); i++) body.push(lines[i]!);
    out.push({ file, line: start, marker: open[2]!, lines: body });
  }
  return out;
}

/** The commands of a runnable block with the answers written under them. */
export function examplesOf(block: Block): Example[] {
  const out: Example[] = [];
  let current: Example | null = null;
  let continued = false;
  block.lines.forEach((raw, index) => {
    const line = raw.trimEnd();
    if (continued && current !== null) {
      current.command += '\n' + line;
      continued = line.endsWith('\\');
      return;
    }
    if (line.startsWith('curl ')) {
      current = { file: block.file, line: block.line + index + 1, command: line, answer: '' };
      out.push(current);
      continued = line.endsWith('\\');
    } else if (line.trim() === '' || line.trimStart().startsWith('#')) {
      if (line.trim() === '') current = null;
    } else if (current !== null) current.answer += (current.answer === '' ? '' : '\n') + line;
    else throw new Error(`${block.file}:${block.line + index + 1}: a line of a runnable block that is neither a command nor under one: ${line}`);
  });
  return out;
}

/** Marks a documented "any value" (`:…`). */
const ANY = '\u0000any';

/**
 * The documented answer as JSON: `…` outside strings means more keys/elements (`,…`, `{…`, `[…`) or any value
 * (`:…`); inside a string it is text like any other.
 */
export function parseDocumented(text: string): unknown {
  let out = '';
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (inString) {
      out += c;
      if (c === '\\') out += text[++i] ?? '';
      else if (c === '"') inString = false;
      continue;
    }
    if (c === '"') {
      inString = true;
      out += c;
    } else if (c === '…') {
      const before = out.trimEnd();
      const last = before[before.length - 1];
      if (last === ':') out += JSON.stringify(ANY);
      else if (last === ',') out = before.slice(0, -1);
      else if (last === '{' || last === '[') {
        // `{…, "a":1}`: drop a comma that follows.
        const rest = /^\s*,/.exec(text.slice(i + 1));
        if (rest !== null) i += rest[0].length;
      } else throw new Error(`… where it means nothing: ${text.slice(Math.max(0, i - 20), i + 20)}`);
    } else out += c;
  }
  return JSON.parse(out) as unknown;
}

const typeOf = (v: unknown): string => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v);

/** Where `actual` does not have the documented shape (empty: it has). */
export function shapeProblems(documented: unknown, actual: unknown, path = ''): string[] {
  if (documented === ANY || documented === null) return [];
  const want = typeOf(documented);
  const got = typeOf(actual);
  if (want !== got) return [`${path || '/'}: documented ${want}, got ${got} (${JSON.stringify(actual)?.slice(0, 120)})`];
  if (want === 'array') {
    const doc = documented as unknown[];
    const act = actual as unknown[];
    if (doc.length === 0) return [];
    if (act.length === 0) return [`${path || '/'}: documented elements, got an empty array`];
    const problems: string[] = [];
    act.forEach((element, i) => {
      const tries = doc.map((d) => shapeProblems(d, element, `${path}/${i}`));
      if (!tries.some((p) => p.length === 0)) problems.push(...tries.reduce((a, b) => (b.length < a.length ? b : a)));
    });
    return problems;
  }
  if (want === 'object') {
    const act = actual as Record<string, unknown>;
    const problems: string[] = [];
    for (const [key, value] of Object.entries(documented as Record<string, unknown>)) {
      if (!(key in act)) problems.push(`${path}/${key}: documented, missing`);
      else problems.push(...shapeProblems(value, act[key], `${path}/${key}`));
    }
    return problems;
  }
  return [];
}

/** Documented strings and the real values at the same place (objects by key, arrays by index). */
export function replacements(documented: unknown, actual: unknown, into = new Map<string, string>()): Map<string, string> {
  if (typeof documented === 'string' && typeof actual === 'string' && documented !== actual && documented !== ANY && documented.length >= 4) into.set(documented, actual);
  else if (Array.isArray(documented) && Array.isArray(actual)) documented.forEach((d, i) => replacements(d, actual[i], into));
  else if (documented !== null && actual !== null && typeof documented === 'object' && typeof actual === 'object') {
    for (const [k, v] of Object.entries(documented)) replacements(v, (actual as Record<string, unknown>)[k], into);
  }
  return into;
}

/** Every marked block of README.md and docs/*.md, in that order. */
function documentation(): Block[] {
  const files = ['README.md', ...readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).sort().map((f) => `docs/${f}`)];
  return files.flatMap((f) => markedBlocks(f, readFileSync(join(ROOT, f), 'utf8')));
}

function run(file: string, args: string[], env?: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    // The router is local: a proxy of the machine must not see the requests.
    execFile(file, args, { cwd: ROOT, env: { ...process.env, no_proxy: '*', NO_PROXY: '*', ...env }, timeout: 60_000, maxBuffer: 64 << 20 }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : 1, stdout, stderr });
    });
  });
}

test('the conventions of runnable blocks: commands, answers, … and shapes', () => {
  const block: Block = { file: 'x.md', line: 10, marker: 'runnable', lines: ['curl -s a \\', "  -d '{}'", '{"a":1,', ' "b":[{"c":"x"},…]}', '', 'curl -s b'] };
  const examples = examplesOf(block);
  assert.deepEqual(examples.map((e) => [e.line, e.command, e.answer]), [
    [11, "curl -s a \\\n  -d '{}'", '{"a":1,\n "b":[{"c":"x"},…]}'],
    [16, 'curl -s b', ''],
  ]);
  const doc = parseDocumented('{"id":"6f1c…","n":…,"list":[{"k":1},…],"o":{…}}');
  assert.deepEqual(shapeProblems(doc, { id: 'abc', n: [1], list: [{ k: 2 }, { k: 3, z: 1 }], o: {}, extra: true }), []);
  assert.deepEqual(shapeProblems(doc, { id: 1, n: 1, list: [{ k: '2' }], o: {} }), ['/id: documented string, got number (1)', '/list/0/k: documented number, got string ("2")']);
  assert.deepEqual(shapeProblems(doc, { n: 1, list: [], o: [] }), ['/id: documented, missing', '/list: documented elements, got an empty array', '/o: documented object, got array ([])']);
  assert.deepEqual([...replacements(doc, { id: 'abc', n: 1, list: [], o: {} })], [['6f1c…', 'abc']]);
  assert.throws(() => parseDocumented('{"a":1 …}'), /… where it means nothing/);
});

test('every runnable example of README.md and docs/*.md works against the documented setup', { timeout: 180_000 }, async (t) => {
  const missing = toolMissing('curl', 'curl (Debian: apt-get install curl)', 'the runnable documentation examples');
  if (missing !== null) return t.skip(missing);
  const blocks = documentation();
  const setups = blocks.filter((b) => b.marker === 'runnable-setup');
  assert.ok(setups.length > 0, 'a block marked sh runnable-setup');
  const setup = setups[0]!.lines.map((l) => l.replace(/#.*$/, '').trim()).filter((l) => l !== '').join(' ');
  for (const s of setups) assert.equal(s.lines.map((l) => l.replace(/#.*$/, '').trim()).filter((l) => l !== '').join(' '), setup, `${s.file}:${s.line}: every runnable-setup block says the same`);
  const match = /^npx ocpp-router (serve(?: .*)?)$/.exec(setup);
  assert.ok(match !== null, `the setup is an npx ocpp-router serve command: ${setup}`);
  const examples = blocks.filter((b) => b.marker === 'runnable').flatMap(examplesOf);
  assert.ok(examples.length >= 8, `runnable examples found: ${examples.length}`);

  const dataDir = await mkdtemp(join(tmpdir(), 'ocpp-router-docs-'));
  t.after(() => rm(dataDir, { recursive: true, force: true }));
  const child = spawn(process.execPath, [BIN, ...match[1]!.split(/\s+/)], { cwd: ROOT, env: { ...process.env, PORT: '0', LISTEN: '127.0.0.1', WORKERS: '2', DATA_DIR: dataDir, LOG_LEVEL: 'info' }, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines = stdoutLines(child.stdout!);
  child.stderr!.on('data', (chunk: Buffer) => lines.push(chunk.toString()));
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  const listening = await waitFor(() => lines.find((l) => l.includes('ocpp-router listening')) ?? (child.exitCode !== null ? `exit ${child.exitCode}` : null), 30_000, 'the listening log line');
  assert.ok(listening.startsWith('{'), `the setup exited before listening:\n${lines.join('\n')}`);
  const port = (JSON.parse(listening) as { port: number }).port;
  const count = Number(/--emulate[ =](\d+)/.exec(setup)?.[1] ?? '0');
  // The emulated stations are up when every one is connected and booted.
  await waitFor(async () => {
    const response = await fetch(`http://127.0.0.1:${port}/api/v1/stations?connected=true&limit=10000`).catch(() => null);
    if (response === null || response.status !== 200) return false;
    const body = (await response.json()) as { stations: { boot: { status: string } | null }[] };
    return body.stations.filter((s) => s.boot?.status === 'Accepted').length === count;
  }, 30_000, `${count} emulated stations connected and booted`);

  const substitute = new Map<string, string>();
  for (const example of examples) {
    const where = `${example.file}:${example.line}: ${example.command}`;
    let command = example.command.replace(/\b(localhost|127\.0\.0\.1):9220\b/g, `127.0.0.1:${port}`);
    for (const [from, to] of substitute) command = command.split(from).join(to);
    command = command.replace(/^curl /, `curl -w '\\n%{http_code}' `);
    const documented = example.answer === '' ? undefined : parseDocumented(example.answer);
    const error = (documented as { error?: { code?: number } } | undefined)?.error;
    // Retried while the answer is not yet the documented one (a station that an earlier Reset rebooted is not
    // connected for a moment; an asynchronous command is pending until done), within 20 s.
    let problem = '';
    let actual: unknown;
    const ok = await waitFor(async () => {
      const result = await run('bash', ['-c', command]);
      assert.equal(result.code, 0, `${where}\nbash exited ${result.code}: ${result.stderr}`);
      const cut = result.stdout.lastIndexOf('\n');
      const status = Number(result.stdout.slice(cut + 1));
      const body = result.stdout.slice(0, cut);
      if (typeof error?.code === 'number' ? status !== error.code : status < 200 || status >= 300) {
        problem = `status ${status}, documented ${error?.code ?? '2xx'}: ${body.slice(0, 600)}`;
        return false;
      }
      if (documented === undefined) return true;
      try {
        actual = JSON.parse(body);
      } catch {
        problem = `the answer is not JSON: ${body.slice(0, 300)}`;
        return false;
      }
      const problems = shapeProblems(documented, actual);
      problem = `the answer does not have the documented shape (${problems.join('; ')}): ${body.slice(0, 600)}`;
      return problems.length === 0;
    }, 20_000, where).catch(() => false);
    assert.ok(ok, `${where}\n${problem}`);
    if (documented === undefined) continue;
    for (const [from, to] of replacements(documented, actual)) substitute.set(from, to);
  }

  // What the docs promise of the order: ChargePointList and bulk results by identity (not shard order; the
  // stations are spread over two shards).
  const list = (await (await fetch(`http://127.0.0.1:${port}/api/v1/ChargePointList`)).json()) as { ChargePointList: { Identity: string }[] };
  const identities = list.ChargePointList.map((s) => s.Identity);
  assert.deepEqual(identities, [...identities].sort(), 'ChargePointList in identity order');
  assert.equal(identities.length, count);
  const bulk = await fetch(`http://127.0.0.1:${port}/api/v1/commands`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ filter: {}, action: 'ClearCache', payload: {} }) });
  const results = ((await bulk.json()) as { results: { identity: string }[] }).results.map((r) => r.identity);
  assert.ok(results.length > 1);
  assert.deepEqual(results, [...results].sort(), 'bulk results in identity order');
});
