/**
 * The router as a real process (`node dist/src/main.js serve`): for signal, reload and crash tests. Output lines
 * are collected; the port comes from the "listening" log line; the process is killed when the test ends.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { waitFor } from './server.js';

export const MAIN = fileURLToPath(new URL('../../src/main.js', import.meta.url));

export interface RouterProcess {
  child: ChildProcess;
  port: number;
  lines: string[];
  exited: Promise<number | null>;
  /** kill -9, and wait for the process to be gone. */
  kill9(): Promise<void>;
}

/** The lines a child writes to `stdout`, as they come (the array grows). */
export function stdoutLines(stdout: NodeJS.ReadableStream): string[] {
  const lines: string[] = [];
  let buffer = '';
  stdout.on('data', (chunk: Buffer) => {
    buffer += chunk.toString();
    const parts = buffer.split('\n');
    buffer = parts.pop()!;
    lines.push(...parts);
  });
  return lines;
}

/** `runtime`: the executable that runs main.js (default: this Node; a Bun binary runs it on Bun). */
export async function spawnRouter(t: { after(fn: () => unknown): void }, options: { config?: string; dataDir: string; env?: Record<string, string>; runtime?: string }): Promise<RouterProcess> {
  const child = spawn(options.runtime ?? process.execPath, [MAIN, 'serve', '--config', options.config ?? '/dev/null'], {
    env: { ...process.env, PORT: '0', LISTEN: '127.0.0.1', WORKERS: '2', DATA_DIR: options.dataDir, LOG_LEVEL: 'info', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines = stdoutLines(child.stdout!);
  child.stderr!.on('data', (chunk: Buffer) => lines.push(chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  const listening = await waitFor(() => lines.find((l) => l.includes('ocpp-router listening')) ?? (child.exitCode !== null ? `exit ${child.exitCode}` : null), 30_000, 'listening log line');
  if (!listening.startsWith('{')) throw new Error(`the router exited before listening:\n${lines.join('\n')}`);
  return {
    child,
    port: (JSON.parse(listening) as { port: number }).port,
    lines,
    exited,
    async kill9() {
      child.kill('SIGKILL');
      await exited;
    },
  };
}
