/**
 * A nats-server with JetStream of the benchmark's own (a free port, a storage folder under the run's work folder),
 * for the cluster scenario and the router-events target. Debian's package nats-server.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { canConnect, freePort, sleep } from './harness.js';

export interface BenchNats {
  url: string;
  pid: number;
  stop(): Promise<void>;
}

export async function startNats(workDir: string): Promise<BenchNats> {
  const port = await freePort();
  const dir = mkdtempSync(join(workDir, 'nats-'));
  const child = spawn('nats-server', ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', dir], { stdio: 'ignore' });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const deadline = Date.now() + 15_000;
  while (!(await canConnect(port))) {
    if (child.exitCode !== null) throw new Error('nats-server exited at start (is the Debian package nats-server installed?)');
    if (Date.now() > deadline) throw new Error('nats-server did not listen within 15 s');
    await sleep(50);
  }
  return {
    url: `nats://127.0.0.1:${port}`,
    pid: child.pid!,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}
