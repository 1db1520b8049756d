/**
 * PostgreSQL for tests, real: the machine's server on 127.0.0.1:5432 (started when it is down, as the machine
 * notes say), a database of the test's own (dropped afterwards); and for outage tests a private server the test
 * starts, stops and restarts on a port of its own, so the shared one is never disturbed.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';

const BIN = (() => {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return null;
  const versions = readdirSync(root).filter((v) => existsSync(join(root, v, 'bin', 'pg_ctl'))).sort((a, b) => Number(b) - Number(a));
  return versions.length === 0 ? null : join(root, versions[0]!, 'bin');
})();

function ready(host: string, port: number): boolean {
  return spawnSync('pg_isready', ['-h', host, '-p', String(port), '-t', '2'], { stdio: 'ignore' }).status === 0;
}

/** The machine's server is up (started when it is not); throws with what to install when there is none. */
export async function ensurePostgres(): Promise<string> {
  if (ready('127.0.0.1', 5432)) return 'postgres://postgres@127.0.0.1:5432/postgres';
  if (!existsSync('/etc/postgresql')) throw new Error('PostgreSQL is not installed (Debian package postgresql; .ci/run installs it)');
  for (const version of readdirSync('/etc/postgresql')) {
    spawnSync('pg_ctlcluster', ['--skip-systemctl-redirect', version, 'main', 'start'], { stdio: 'ignore' });
  }
  const deadline = Date.now() + 30_000;
  while (!ready('127.0.0.1', 5432)) {
    if (Date.now() > deadline) throw new Error('PostgreSQL did not start on 127.0.0.1:5432');
    await new Promise((r) => setTimeout(r, 200));
  }
  return 'postgres://postgres@127.0.0.1:5432/postgres';
}

let counter = 0;

/** A database of this test's own on the machine's server; dropped when the test ends. */
export async function testDatabase(t: { after(fn: () => unknown): void }): Promise<string> {
  const admin = await ensurePostgres();
  const name = `ocpp_router_t${process.pid}_${++counter}_${Math.floor(Math.random() * 1e6)}`;
  const sql = postgres(admin, { max: 1, onnotice: () => undefined });
  await sql.unsafe(`CREATE DATABASE ${name}`);
  await sql.end();
  t.after(async () => {
    const drop = postgres(admin, { max: 1, onnotice: () => undefined });
    await drop.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await drop.end();
  });
  return `postgres://postgres@127.0.0.1:5432/${name}`;
}

/** A TCP port free on 127.0.0.1 right now. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise((r) => server.close(r));
  return port;
}

export interface PrivatePostgres {
  url: string;
  port: number;
  stop(): void;
  start(): Promise<void>;
}

/** A PostgreSQL server of the test's own (initdb in a temp folder, run as the postgres user), removed at the end. */
export async function privatePostgres(t: { after(fn: () => unknown): void }): Promise<PrivatePostgres> {
  if (BIN === null) throw new Error('PostgreSQL binaries are missing (Debian package postgresql)');
  const dir = mkdtempSync(join(tmpdir(), 'ocpp-router-pg-'));
  const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
  const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
  chownSync(dir, uid, gid);
  const data = join(dir, 'data');
  const asPostgres = (cmd: string, args: string[]): void => {
    const r = spawnSync('runuser', ['-u', 'postgres', '--', join(BIN, cmd), ...args], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`${cmd} failed: ${r.stderr || r.stdout}`);
  };
  asPostgres('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync']);
  const port = await freePort();
  const start = async (): Promise<void> => {
    asPostgres('pg_ctl', ['-D', data, '-l', join(dir, 'log'), '-o', `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off`, '-w', 'start']);
    const deadline = Date.now() + 30_000;
    while (!ready('127.0.0.1', port)) {
      if (Date.now() > deadline) throw new Error('private PostgreSQL did not start');
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  const stop = (): void => asPostgres('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']);
  await start();
  t.after(() => {
    try {
      stop();
    } catch {
      // already stopped
    }
    rmSync(dir, { recursive: true, force: true });
  });
  return { url: `postgres://postgres@127.0.0.1:${port}/postgres`, port, stop, start };
}
