/**
 * The real process: `check-config` exit codes and problem lists, signals (TERM/QUIT graceful, INT fast,
 * HUP reload without dropping the process or its stations).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, writeFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TestStation, waitFor } from './helpers/server.js';
import { MAIN, spawnRouter, type RouterProcess } from './helpers/router-process.js';


function cli(args: string[], env: Record<string, string> = {}): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [MAIN, ...args], { env: { ...process.env, ...env }, encoding: 'utf8', timeout: 20_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('check-config accepts the default configuration', () => {
  const r = cli(['check-config']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /configuration OK/);
});

test('check-config lists every problem at once and exits non-zero', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'ocpp-router-cli-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'bad.json');
  await writeFile(file, JSON.stringify({ server: { port: 70000, bogus: 1 }, ocpp: { maxFrameBytes: 10, subprotocols: [] } }));
  const r = cli(['check-config', '--config', file], { WORKERS: 'many' });
  assert.equal(r.status, 1);
  for (const path of ['server.port', 'server.bogus', 'ocpp.maxFrameBytes', 'ocpp.subprotocols', 'WORKERS']) {
    assert.ok(r.stderr.includes(path), `${path} is reported:\n${r.stderr}`);
  }
});

test('check-config refuses an API auth mode without credentials (the server would answer 401 to everything)', () => {
  const r = cli(['check-config'], { API_AUTH: 'bearer' });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /api\.auth\.tokens: needs at least one token/);
  const basic = cli(['check-config'], { API_AUTH: 'basic' });
  assert.equal(basic.status, 1);
  assert.match(basic.stderr, /api\.auth\.users: needs at least one user/);
});

test('unknown commands and options are usage errors', () => {
  assert.equal(cli(['frobnicate']).status, 2);
  assert.equal(cli(['serve', '--nope']).status, 2);
  assert.equal(cli(['--help']).status, 0);
});

test('hash-password prints a hash that check-config accepts in basicAuth.passwords', async (t) => {
  const r = cli(['hash-password', 's3cret']);
  assert.equal(r.status, 0);
  const hash = r.stdout.trim();
  assert.match(hash, /^scrypt\$/);
  const dir = await mkdtemp(join(tmpdir(), 'ocpp-router-cli-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'auth.json');
  await writeFile(file, JSON.stringify({ security: { basicAuth: { enable: true, passwords: { CP1: hash } } } }));
  assert.equal(cli(['check-config', '-c', file]).status, 0);
});

async function serve(t: { after(fn: () => unknown): void }, configFile: string, dataDir: string): Promise<RouterProcess> {
  return spawnRouter(t, { config: configFile, dataDir });
}

test('TERM stops gracefully: stations closed with 1001, exit code 0', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'ocpp-router-sig-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const config = join(dir, 'c.json');
  await writeFile(config, '{}');
  const s = await serve(t, config, join(dir, 'data'));
  const station = await TestStation.connect(`ws://127.0.0.1:${s.port}/ocpp/SIG-1`, ['ocpp1.6']);
  await station.call('BootNotification', { chargePointVendor: 'A', chargePointModel: 'B' });
  await waitFor(() => s.lines.some((l) => l.includes('"station connected"') && l.includes('SIG-1')), 5000, 'connect log line');
  s.child.kill('SIGTERM');
  assert.equal((await station.closed).code, 1001);
  assert.equal(await s.exited, 0);
  assert.ok(s.lines.some((l) => l.includes('SIGTERM: graceful stop')));
});

test('INT stops fast with exit code 0', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'ocpp-router-sig-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const config = join(dir, 'c.json');
  await writeFile(config, '{}');
  const s = await serve(t, config, join(dir, 'data'));
  const station = await TestStation.connect(`ws://127.0.0.1:${s.port}/ocpp/SIG-2`, ['ocpp1.6']);
  s.child.kill('SIGINT');
  assert.equal((await station.closed).code, 1001);
  assert.equal(await s.exited, 0);
});

test('HUP reloads the configuration without dropping the process or its stations; a bad file is ignored', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'ocpp-router-sig-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const config = join(dir, 'c.json');
  await writeFile(config, JSON.stringify({ responder: { heartbeatIntervalS: 300 } }));
  const s = await serve(t, config, join(dir, 'data'));
  const station = await TestStation.connect(`ws://127.0.0.1:${s.port}/ocpp/SIG-3`, ['ocpp1.6']);
  t.after(() => station.close());
  const boot = { chargePointVendor: 'A', chargePointModel: 'B' };
  assert.equal(((await station.call('BootNotification', boot))[2] as { interval: number }).interval, 300);

  await writeFile(config, JSON.stringify({ responder: { heartbeatIntervalS: 42 } }));
  s.child.kill('SIGHUP');
  await waitFor(() => s.lines.some((l) => l.includes('SIGHUP: configuration reloaded')), 5000, 'reload log line');
  // The shards apply it asynchronously; poll the answer.
  await waitFor(async () => ((await station.call('BootNotification', boot))[2] as { interval: number }).interval === 42, 5000, 'new interval');

  await writeFile(config, JSON.stringify({ responder: { heartbeatIntervalS: -1 } }));
  s.child.kill('SIGHUP');
  await waitFor(() => s.lines.some((l) => l.includes('configuration not reloaded')), 5000, 'rejection log line');
  assert.equal(((await station.call('BootNotification', boot))[2] as { interval: number }).interval, 42);
  assert.equal(s.child.exitCode, null, 'still running');
});

test('HUP with new listener settings restarts the shards: stations closed with 1001 reconnect to the new path; the process stays', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'ocpp-router-sig-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const config = join(dir, 'c.json');
  await writeFile(config, JSON.stringify({ ocpp: { path: '/ocpp' } }));
  const s = await serve(t, config, join(dir, 'data'));
  const station = await TestStation.connect(`ws://127.0.0.1:${s.port}/ocpp/SIG-4`, ['ocpp1.6']);
  const boot = { chargePointVendor: 'A', chargePointModel: 'B' };
  assert.equal((await station.call('BootNotification', boot))[0], 3);

  await writeFile(config, JSON.stringify({ ocpp: { path: '/cs', maxFrameBytes: 4096 } }));
  s.child.kill('SIGHUP');
  assert.equal((await station.closed).code, 1001, 'the old shards close their stations as on TERM');
  await waitFor(() => s.lines.some((l) => l.includes('shards restarted with the new listener settings')), 15_000, 'restart log line');
  const restarted = JSON.parse(s.lines.find((l) => l.includes('shards restarted with the new listener settings'))!) as { port: number; relisten: string[] };
  assert.equal(restarted.port, s.port, 'port 0: the new shards keep the port');
  assert.deepEqual(restarted.relisten, ['ocpp.path', 'ocpp.maxFrameBytes']);

  const again = await TestStation.connect(`ws://127.0.0.1:${s.port}/cs/SIG-4`, ['ocpp1.6']);
  t.after(() => again.close());
  assert.equal((await again.call('BootNotification', boot))[0], 3);
  await assert.rejects(TestStation.connect(`ws://127.0.0.1:${s.port}/ocpp/SIG-5`, ['ocpp1.6']), 'the old path is gone');
  // The new frame limit holds: a frame over 4096 bytes closes the connection with 1009.
  again.ws.send(JSON.stringify([2, 'big', 'DataTransfer', { vendorId: 'v', data: 'x'.repeat(5000) }]));
  assert.equal((await again.closed).code, 1009);
  // The API is served by the new shards too, and the process is still the same.
  const ping = await fetch(`http://127.0.0.1:${s.port}/api/v1/ping`);
  assert.equal(ping.status, 200);
  assert.equal(s.child.exitCode, null);
});
