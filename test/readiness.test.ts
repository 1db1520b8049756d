/**
 * A client that talks as soon as the port opens (a script, an orchestrator, the UI) never gets a wrong answer:
 * until the router is ready, every API route answers 503 with Retry-After (or the port is not open yet), never
 * 404 for a route that exists, and /health/ready always answers. The same holds while a reload swaps the shard set.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer, request } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AddressInfo } from 'node:net';
import { loadConfig } from '../src/config/load.js';
import { startTestServer } from './helpers/server.js';

const MAIN = fileURLToPath(new URL('../src/main.js', import.meta.url));

/** One GET; the status and Retry-After, or null when nothing listens (or the connection was cut). */
function get(port: number, path: string): Promise<{ status: number; retryAfter: string | undefined } | null> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path, agent: false, timeout: 5000 }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode!, retryAfter: res.headers['retry-after'] as string | undefined }));
    });
    req.on('error', () => resolve(null));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Polls `paths` until each answered 200; every answer on the way must be 200, or 503 with Retry-After. */
async function pollUntilReady(port: number, paths: string[], deadlineMs: number): Promise<{ answers: Map<string, number[]> }> {
  const answers = new Map<string, number[]>(paths.map((p) => [p, []]));
  const deadline = Date.now() + deadlineMs;
  const done = new Set<string>();
  while (done.size < paths.length) {
    assert.ok(Date.now() < deadline, `ready within ${deadlineMs} ms (answers so far: ${JSON.stringify([...answers])})`);
    const results = await Promise.all(paths.map((path) => get(port, path)));
    results.forEach((r, i) => {
      if (r === null) return;
      const path = paths[i]!;
      answers.get(path)!.push(r.status);
      assert.ok(r.status === 200 || r.status === 503, `${path} answered ${r.status} before the router was ready`);
      if (r.status === 503) assert.equal(r.retryAfter, '1', `${path}: 503 carries Retry-After`);
      if (r.status === 200) done.add(path);
    });
  }
  return { answers };
}

const PATHS = ['/health/ready', '/api/v1/stations', '/api/v1/ChargePointList', '/metrics'];

test('from the first open port to ready: 503 with Retry-After, never 404; /health/ready always answers', { timeout: 60_000 }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'ocpp-router-ready-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const port = await freePort();
  const child = spawn(process.execPath, [MAIN, 'serve', '--config', '/dev/null'], {
    env: { ...process.env, PORT: String(port), LISTEN: '127.0.0.1', WORKERS: '2', DATA_DIR: join(dir, 'data'), LOG_LEVEL: 'silent' },
    stdio: 'ignore',
  });
  const exited = new Promise((resolve) => child.on('exit', resolve));
  t.after(async () => {
    if (child.exitCode === null) {
      child.kill('SIGKILL');
      await exited;
    }
  });
  const { answers } = await pollUntilReady(port, PATHS, 30_000);
  // Every path ended at 200 (the loop asserts each answer on the way).
  for (const path of PATHS) assert.equal(answers.get(path)!.at(-1), 200, path);
});

test('while a reload swaps the shard set: 503 with Retry-After or no listener, never a wrong answer', { timeout: 60_000 }, async (t) => {
  const h = await startTestServer({ server: { workers: 1 } });
  t.after(() => h.stop());
  const next = loadConfig({ env: {}, overrides: { ...h.config, server: { ...h.config.server, workers: 2, port: h.port } } });
  const { done } = h.server.reload(next);
  assert.equal(h.server.phase, 'swapping');
  let swapped = false;
  void done.then(() => {
    swapped = true;
  });
  const seen: number[] = [];
  while (!swapped) {
    const r = await get(h.port, '/api/v1/stations');
    if (r !== null) {
      seen.push(r.status);
      assert.ok(r.status === 200 || r.status === 503, `answered ${r.status} during the swap`);
      if (r.status === 503) assert.equal(r.retryAfter, '1');
    }
  }
  await done;
  assert.equal(h.server.phase, 'running');
  assert.equal(h.server.shards, 2);
  await pollUntilReady(h.port, PATHS, 10_000);
});
