/**
 * NATS for tests, real: a `nats-server` with JetStream of the test's own (its port, its storage folder), started
 * and stopped by the test so that outages can be staged without touching the machine's server on 4222. Debian's
 * package `nats-server` (CI installs it).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './postgres.js';

export const NATS_SERVER = process.env.NATS_SERVER_PATH ?? 'nats-server';

export interface PrivateNats {
  url: string;
  port: number;
  /** Stops the server (SIGTERM, or SIGKILL with `hard`); its JetStream data stays for a restart. */
  stop(hard?: boolean): Promise<void>;
  /** Starts it again on the same port with the same data. */
  start(): Promise<void>;
}

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port }, () => {
      socket.destroy();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
  });
}

/** Whether nats-server can run here (the tests that need it fail with what to install when not). */
export function natsServerAvailable(): boolean {
  return spawnSync(NATS_SERVER, ['--version'], { stdio: 'ignore' }).status === 0;
}

export async function privateNats(t: { after(fn: () => unknown): void }): Promise<PrivateNats> {
  if (!natsServerAvailable()) throw new Error('nats-server is not installed (Debian package nats-server; .ci/run installs it)');
  const dir = mkdtempSync(join(tmpdir(), 'ocpp-router-nats-'));
  const port = await freePort();
  let child: ChildProcess | null = null;
  const start = async (): Promise<void> => {
    child = spawn(NATS_SERVER, ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', dir], { stdio: 'ignore' });
    const deadline = Date.now() + 15_000;
    while (!(await listening(port))) {
      if (Date.now() > deadline) throw new Error('nats-server did not start');
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  const stop = async (hard = false): Promise<void> => {
    const c = child;
    child = null;
    if (c === null || c.exitCode !== null) return;
    const exited = new Promise((r) => c.once('exit', r));
    c.kill(hard ? 'SIGKILL' : 'SIGTERM');
    await exited;
  };
  await start();
  t.after(async () => {
    await stop(true);
    rmSync(dir, { recursive: true, force: true });
  });
  return { url: `nats://127.0.0.1:${port}`, port, stop, start };
}
