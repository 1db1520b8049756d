/**
 * The control plane's young-generation limit however the server is started (src/control/control-thread.ts):
 * `node dist/src/main.js serve` without --max-semi-space-size runs it in a worker with resourceLimits, and signals,
 * reload and exit codes behave as on the main thread.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { controlPlaneHome, CONTROL_THREAD_ENV, youngGenerationLimited } from '../src/control/control-thread.js';
import { MAIN, spawnRouter, stdoutLines } from './helpers/router-process.js';
import { waitFor } from './helpers/server.js';

const WORKER_LINE = '"controlThread":"worker"';

test('the flag is recognised on the command line and in NODE_OPTIONS, in both spellings', () => {
  assert.equal(youngGenerationLimited(['--max-semi-space-size=1'], ''), true);
  assert.equal(youngGenerationLimited(['--max_semi_space_size=2'], ''), true);
  assert.equal(youngGenerationLimited([], '--max-old-space-size=4096 --max-semi-space-size=1'), true);
  assert.equal(youngGenerationLimited(['--max-old-space-size=4096'], '--enable-source-maps'), false);
  assert.equal(youngGenerationLimited(['--max-semi-space-sizes=1'], ''), false);
});

test('where serve runs its control plane: worker without the flag, main with it, and the override', () => {
  assert.equal(controlPlaneHome({}, []), 'worker');
  assert.equal(controlPlaneHome({}, ['--max-semi-space-size=1']), 'main');
  assert.equal(controlPlaneHome({ NODE_OPTIONS: '--max-semi-space-size=1' }, []), 'main');
  assert.equal(controlPlaneHome({ [CONTROL_THREAD_ENV]: 'main' }, []), 'main');
  assert.equal(controlPlaneHome({ [CONTROL_THREAD_ENV]: 'worker' }, ['--max-semi-space-size=1']), 'worker');
});

test('started without the flag: the control plane runs in the worker, serves, reloads on HUP, stops on TERM with 0', async (t) => {
  const dataDir = await mkdtemp(join(tmpdir(), 'ocpp-router-control-'));
  t.after(() => rm(dataDir, { recursive: true, force: true }));
  const router = await spawnRouter(t, { dataDir });
  await waitFor(() => router.lines.some((l) => l.includes(WORKER_LINE)), 5000, 'the control-thread log line');
  const metrics = await (await fetch(`http://127.0.0.1:${router.port}/metrics`)).text();
  // The heap figures are the control thread's own: its young generation is the 3 MB of the limit at most.
  const newSpace = /nodejs_heap_space_size_total_bytes\{space="new"\} (\d+)/.exec(metrics);
  assert.ok(newSpace !== null, 'the new-space gauge is exported');
  assert.ok(Number(newSpace[1]) <= 3 * 1024 * 1024, `new space ${newSpace[1]} bytes`);
  router.child.kill('SIGHUP');
  await waitFor(() => router.lines.some((l) => l.includes('SIGHUP: configuration reloaded')), 5000, 'the reload log line');
  router.child.kill('SIGTERM');
  assert.equal(await router.exited, 0);
  assert.ok(router.lines.some((l) => l.includes('SIGTERM: graceful stop')));
});

test('with the flag, or told to, the control plane stays on the main thread', async (t) => {
  for (const [args, env] of [
    [['--max-semi-space-size=1'], {}],
    [[], { [CONTROL_THREAD_ENV]: 'main' }],
  ] as const) {
    const dataDir = await mkdtemp(join(tmpdir(), 'ocpp-router-control-'));
    t.after(() => rm(dataDir, { recursive: true, force: true }));
    const child = spawn(process.execPath, [...args, MAIN, 'serve', '--config', '/dev/null'], {
      env: { ...process.env, PORT: '0', LISTEN: '127.0.0.1', WORKERS: '1', DATA_DIR: dataDir, LOG_LEVEL: 'info', ...env },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const lines = stdoutLines(child.stdout!);
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    t.after(() => void child.kill('SIGKILL'));
    await waitFor(() => lines.some((l) => l.includes('ocpp-router listening')), 30_000, 'listening');
    assert.ok(!lines.some((l) => l.includes(WORKER_LINE)), `no worker with ${JSON.stringify({ args, env })}`);
    // Only the main thread without the flag is told that V8's default young generation applies.
    const warned = lines.some((l) => l.includes('without --max-semi-space-size=1') && l.includes('"level":40'));
    assert.equal(warned, args.length === 0, `the warning with ${JSON.stringify({ args, env })}`);
    child.kill('SIGTERM');
    assert.equal(await exited, 0);
  }
});

test('a configuration error ends the process with exit code 1 and the problem, from the control worker too', async () => {
  const child = spawn(process.execPath, [MAIN, 'serve', '--config', '/dev/null'], { env: { ...process.env, PORT: 'not-a-port' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  assert.equal(code, 1);
  assert.match(stderr, /PORT|port/);
});
