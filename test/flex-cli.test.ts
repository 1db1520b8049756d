/**
 * `ocpp-router flex …` on a real SQLite store: create-asset for a station the store knows (as a real process, the
 * wiring of main.ts), then the commands in this process through flexCommand (each one a store thread of its own, as
 * the process has): list, export-keys to a passphrase-encrypted file (mode 0600, no key in clear), import-keys into
 * another router's store under another key-encryption key; bad input and a missing KEK or passphrase are clear
 * errors, never a key.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestServer, TestStation } from './helpers/server.js';
import { MAIN } from './helpers/router-process.js';
import { loadConfig } from '../src/config/load.js';
import { flexCommand } from '../src/flex/cli.js';

function flexProcess(args: string[], env: Record<string, string>, input = ''): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [MAIN, 'flex', ...args], { env: { ...process.env, ...env }, input, encoding: 'utf8', timeout: 30_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

async function flexRun(args: string[], env: Record<string, string>, input = ''): Promise<{ status: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const status = await flexCommand(args, loadConfig({ env }), { out: (s) => (stdout += s), err: (s) => (stderr += s), env, readLine: async () => input.split('\n')[0] ?? '' });
  return { status, stdout, stderr };
}

test('flex create-asset, list, export-keys and import-keys on the store', { timeout: 90_000 }, async (t) => {
  const dataDir = await mkdtemp(join(tmpdir(), 'ocpp-router-flex-cli-'));
  const otherDir = await mkdtemp(join(tmpdir(), 'ocpp-router-flex-cli2-'));
  t.after(() => Promise.all([rm(dataDir, { recursive: true, force: true }), rm(otherDir, { recursive: true, force: true })]));
  const h = await startTestServer({ server: { workers: 1 } }, { dataDir });
  const station = await TestStation.connect(h.url('CLI-1'));
  await station.call('BootNotification', { chargePointVendor: 'Acme', chargePointModel: 'M1' });
  await station.close();
  await h.stop();

  const env = { DATA_DIR: dataDir, FLEX_KEK: 'cli-key-encryption-key-1', LOG_LEVEL: 'silent' };
  assert.equal((await flexRun(['create-asset', 'CLI-1', '1', '1'], { DATA_DIR: dataDir })).status, 1, 'no KEK: refused');
  const badInput = await flexRun(['create-asset', 'CLI-1', 'x', '1'], env);
  assert.equal(badInput.status, 2);
  assert.match(badInput.stderr, /evseId must be an integer/);
  assert.match((await flexRun(['create-asset', 'NOPE', '1', '1'], env)).stderr, /unknown station NOPE/);
  const created = flexProcess(['create-asset', 'CLI-1', '1', '1'], env);
  assert.equal(created.status, 0, created.stderr);
  const did = created.stdout.trim();
  assert.match(did, /^did:ethr:volta:0x[0-9a-fA-F]{40}$/);
  assert.match((await flexRun(['list'], env)).stdout, new RegExp(`^${did}\\tCLI-1\\t1\\t1$`, 'm'));

  const file = join(dataDir, 'keys.json');
  assert.equal((await flexRun(['export-keys', '--out', file], env, 'short\n')).status, 2, 'a short passphrase is refused');
  const exported = await flexRun(['export-keys', '--out', file], env, 'a long enough passphrase\n');
  assert.equal(exported.status, 0, exported.stderr);
  assert.equal((await stat(file)).mode & 0o777, 0o600);
  assert.ok((await readFile(file, 'utf8')).includes(did));

  const other = { DATA_DIR: otherDir, FLEX_KEK: 'another-key-encryption-key', LOG_LEVEL: 'silent' };
  const wrong = await flexRun(['import-keys', file], { ...other, FLEX_EXPORT_PASSPHRASE: 'not the passphrase at all' });
  assert.equal(wrong.status, 1);
  const imported = await flexRun(['import-keys', file], { ...other, FLEX_EXPORT_PASSPHRASE: 'a long enough passphrase' });
  assert.equal(imported.status, 0, imported.stderr);
  assert.match(imported.stdout, /^1 asset key imported, 0 already present/);
  assert.match((await flexRun(['list'], other)).stdout, new RegExp(`^${did}\\tCLI-1\\t1\\t1$`, 'm'), 'the EVSE binding travels with the key');
  assert.match((await flexRun(['import-keys', file], { ...other, FLEX_EXPORT_PASSPHRASE: 'a long enough passphrase' })).stdout, /0 asset keys imported, 1 already present/);
});
