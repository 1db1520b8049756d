/**
 * Shared pieces of the benchmark runners (run.ts, scenario-run.ts): machine facts for every record, free ports,
 * the servers under test as child processes, tables and the results file.
 *
 * Servers: `router` runs with the same command line as `npm start` (package.json: `node
 * --max-semi-space-size=1 dist/src/main.js serve`) and PORT, LISTEN=127.0.0.1, WORKERS, DATA_DIR=<tmp>,
 * LOG_LEVEL=warn, otherwise conf/default.json (validation, metrics and per-station discipline on);
 * `router-nometrics` the same with METRICS=off; `floor` the raw uWS echo (floor-echo-server.ts); `ocpp-rpc` the
 * peer baseline (ocpp-rpc-server.ts, RPCServer in strict mode).
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { appendFileSync, closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { cpus, hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startNats, type BenchNats } from './nats.js';

export const ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '../..');
export const DIST = join(ROOT, 'dist');
export const RESULTS = join(ROOT, 'bench', 'results', 'results.jsonl');

/**
 * router: default config (embedded SQLite store); router-nometrics: METRICS=off; router-nostore: STORE_ENGINE=off
 * (nothing kept: the price of the store in one run); router-events: every station message published to a JetStream
 * stream (cluster.events, a nats-server of the run's own); floor: raw uWS echo; ocpp-rpc: the peer library.
 */
/**
 * `router-bun`: the same build and environment as `router`, run by Bun (scripts/find-bun.mjs: the optional
 * dependency @oven/bun-linux-x64, else `bun` on PATH) instead of Node: Bun.serve as transport (src/transport/).
 */
/**
 * `router-baseline`: another build of the router, for before/after ratios in one run: the checkout or snapshot
 * at `BENCH_BASELINE_DIR` (built: its `dist/src/main.js`), started exactly like `router`. `router-noflag`: started
 * without `--max-semi-space-size=1` (`node dist/src/main.js serve`: the control plane runs in a worker with the
 * limit); `router-noflag-main`: the same with OCPP_ROUTER_CONTROL_THREAD=main (V8's default young generation).
 */
export type Target = 'router' | 'router-bun' | 'router-nometrics' | 'router-nostore' | 'router-events' | 'router-baseline' | 'router-tls' | 'router-front' | 'router-noflag' | 'router-noflag-main' | 'floor' | 'ocpp-rpc';
export const TARGETS: readonly Target[] = ['router', 'router-bun', 'router-nometrics', 'router-nostore', 'router-events', 'router-baseline', 'router-tls', 'router-front', 'router-noflag', 'router-noflag-main', 'floor', 'ocpp-rpc'];

export const isRouter = (target: Target): boolean => target.startsWith('router');

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
export const fmt = (n: number, digits = 2): string => (Number.isFinite(n) ? n.toFixed(digits) : '-');

export function machine(): Record<string, unknown> {
  let rev = 'unknown';
  let dirty = false;
  try {
    rev = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
    dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no', '--', '.', ':!bench/results'], { cwd: ROOT, encoding: 'utf8' }).trim() !== '';
  } catch {
    // Not a git checkout (e.g. a `git archive` snapshot): the caller says which revision it is.
    rev = process.env.BENCH_GIT_REV ?? 'unknown';
  }
  const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
  const model = /^model name\s*:\s*(.*)$/m.exec(cpuinfo)?.[1] ?? cpus()[0]?.model ?? 'unknown';
  return { gitRev: rev, gitDirty: dirty, node: process.version, cpuModel: model, cores: cpus().length, host: hostname(), date: new Date().toISOString() };
}


/** The number given as `--name` (default `dflt`); anything else than a finite number >= `min` is an error. */
export function numberFlag(flags: Map<string, string>, name: string, dflt: number, min = 0): number {
  const raw = flags.get(name);
  if (raw === undefined) return dflt;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < min) throw new Error(`--${name} must be a number >= ${min}, got ${raw}`);
  return value;
}

/** The Bun binary for router-bun (scripts/find-bun.mjs); an error saying what is missing otherwise. */
async function bunBinary(): Promise<string> {
  const finder = (await import(join(ROOT, 'scripts', 'find-bun.mjs'))) as { findBun(): string | null; MISSING: string };
  const bun = finder.findBun();
  if (bun === null) throw new Error(`router-bun: ${finder.MISSING}`);
  return bun;
}

export async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const probe = createServer();
    probe.once('error', rej);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => (typeof address === 'object' && address !== null ? res(address.port) : rej(new Error('no port'))));
    });
  });
}

export function canConnect(port: number): Promise<boolean> {
  return new Promise((res) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      res(true);
    });
    socket.once('error', () => res(false));
  });
}

export interface Server {
  target: Target;
  pid: number;
  port: number;
  url: string;
  /** wss:// targets: what the clients trust and present (PEM texts). */
  tls?: BenchTls;
  logFile: string;
  /** The router's DATA_DIR ('' for the baselines). */
  dataDir: string;
  /** True once the process has exited (a crash when the runner did not stop it). */
  exited(): boolean;
  stop(): Promise<void>;
}

export interface ServerOptions {
  workers: number;
  workDir: string;
  cpuProfDir: string | null;
  /** A fixed port (a restarted server comes back where the stations look for it); default: a free one. */
  port?: number;
  /** A data folder to reuse (restart); default: a new one under workDir. */
  dataDir?: string;
  /** Extra environment of the router (e.g. WEBHOOK_URL). */
  env?: Record<string, string>;
  /** A configuration file for the router (`serve --config`). */
  configFile?: string;
}

/** PEM texts a wss:// client of the bench uses: the CA to trust, and a client certificate (router-front). */
export interface BenchTls {
  ca: string;
  cert?: string;
  key?: string;
}

/**
 * router-tls: the router with only its uWS TLS listener (PLAIN off, TLS_PORT = the port); router-front: the mTLS
 * front (Node TLS in the main thread) on the port, forwarding to the plain listener on loopback; stations present
 * one shared client certificate (their profile stays 1, so its CN is not checked; the TLS work is the same).
 * Self-signed server and client certificates (P-256) are made in workDir with the openssl CLI.
 */
function tlsSetup(target: Target, workDir: string, port: number, plainPort: number): { env: Record<string, string>; configFile?: string; tls: BenchTls } {
  const file = (name: string): string => join(workDir, name);
  const selfSigned = (name: string, cn: string, ext: string): void => {
    execFileSync('/usr/bin/openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', file(`${name}.key`), '-out', file(`${name}.pem`), '-days', '30', '-subj', `/CN=${cn}`, '-addext', ext], { stdio: 'ignore' });
  };
  selfSigned('bench-server', 'localhost', 'subjectAltName=DNS:localhost,IP:127.0.0.1');
  const env: Record<string, string> = { TLS: '1', TLS_CERT_FILE: file('bench-server.pem'), TLS_KEY_FILE: file('bench-server.key') };
  const ca = readFileSync(file('bench-server.pem'), 'utf8');
  if (target === 'router-tls') return { env: { ...env, TLS_PORT: String(port), PLAIN: 'off' }, tls: { ca } };
  selfSigned('bench-client', 'BENCH', 'extendedKeyUsage=clientAuth');
  const configFile = file('router-front.json');
  writeFileSync(configFile, JSON.stringify({ tls: { front: { enable: true, port } } }));
  return {
    env: { ...env, PORT: String(plainPort), TLS_PORT: '0', PLAIN: 'off', TLS_CLIENT_CA_FILE: file('bench-client.pem') },
    configFile,
    tls: { ca, cert: readFileSync(file('bench-client.pem'), 'utf8'), key: readFileSync(file('bench-client.key'), 'utf8') },
  };
}

export async function startServer(target: Target, options: ServerOptions): Promise<Server> {
  const port = options.port ?? (await freePort());
  const secure = target === 'router-tls' || target === 'router-front' ? tlsSetup(target, options.workDir, port, await freePort()) : null;
  if (secure !== null) options = { ...options, env: { ...options.env, ...secure.env }, ...(secure.configFile === undefined ? {} : { configFile: secure.configFile }) };
  const logFile = join(options.workDir, `${target}-${port}.log`);
  const log = openSync(logFile, 'a');
  let child: ChildProcess;
  let dataDir = '';
  let nats: BenchNats | null = null;
  if (isRouter(target)) {
    dataDir = options.dataDir ?? mkdtempSync(join(options.workDir, 'data-'));
    if (target === 'router-events') nats = await startNats(options.workDir);
    const execArgs = options.cpuProfDir === null ? [] : ['--cpu-prof', '--cpu-prof-dir', options.cpuProfDir];
    const baseline = process.env.BENCH_BASELINE_DIR;
    if (target === 'router-baseline' && (baseline === undefined || baseline === '')) throw new Error('router-baseline needs BENCH_BASELINE_DIR (a built checkout to compare with)');
    const root = target === 'router-baseline' ? baseline! : ROOT;
    // The same command line as `npm start` (package.json), flags included; router-bun: as `npm run start:bun`.
    const configArgs = options.configFile === undefined ? [] : ['--config', options.configFile];
    // router-noflag: started as `node dist/src/main.js serve` (the control plane moves to a worker for its limit);
    // router-noflag-main: the same, kept on the main thread with V8's default young generation (before issue 17).
    const youngFlag = target === 'router-noflag' || target === 'router-noflag-main' ? [] : ['--max-semi-space-size=1'];
    const [command, runtimeArgs] = target === 'router-bun' ? [await bunBinary(), []] : [process.execPath, [...execArgs, ...youngFlag]];
    child = spawn(command, [...runtimeArgs, join(root, 'dist', 'src', 'main.js'), 'serve', ...configArgs], {
      cwd: root,
      env: { ...process.env, PORT: String(port), LISTEN: '127.0.0.1', WORKERS: String(options.workers), DATA_DIR: dataDir, LOG_LEVEL: 'warn', METRICS: target === 'router-nometrics' ? 'off' : 'on', ...(target === 'router-nostore' ? { STORE_ENGINE: 'off' } : {}), ...(nats !== null ? { CLUSTER_EVENTS: '1', NATS_URL: nats.url } : {}), ...(target === 'router-noflag-main' ? { OCPP_ROUTER_CONTROL_THREAD: 'main' } : {}), ...options.env },
      stdio: ['ignore', log, log],
    });
  } else {
    const file = target === 'floor' ? 'floor-echo-server.js' : 'ocpp-rpc-server.js';
    child = spawn(process.execPath, [join(DIST, 'bench', file)], {
      cwd: ROOT,
      env: { ...process.env, PORT: String(port), LISTEN: '127.0.0.1' },
      stdio: ['ignore', log, log],
    });
  }
  closeSync(log);
  let exited = false;
  const exitPromise = new Promise<void>((r) => child.once('exit', () => {
    exited = true;
    r();
  }));
  const deadline = Date.now() + 30_000;
  while (!(await canConnect(port))) {
    if (exited) throw new Error(`${target} exited before listening; log: ${logFile}\n${readFileSync(logFile, 'utf8').slice(-2000)}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${target} not listening after 30 s; log: ${logFile}`);
    }
    await sleep(100);
  }
  return {
    target,
    dataDir,
    exited: () => exited,
    pid: child.pid!,
    port,
    url: `${secure === null ? 'ws' : 'wss'}://127.0.0.1:${port}/ocpp/`,
    ...(secure === null ? {} : { tls: secure.tls }),
    logFile,
    async stop() {
      if (!exited) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
        await exitPromise;
        clearTimeout(timer);
      }
      await nats?.stop();
    },
  };
}


export function table(headers: string[], rows: (string | number)[][]): string {
  const cells = [headers, ...rows.map((r) => r.map(String))];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => r[i]!.length)));
  const line = (r: string[]): string => `| ${r.map((c, i) => c.padStart(widths[i]!)).join(' | ')} |`;
  return [line(cells[0]!), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...cells.slice(1).map(line)].join('\n');
}


/** Appends one record to bench/results/results.jsonl (unless `noSave`). */
export function save(noSave: boolean, record: Record<string, unknown>): void {
  if (noSave) return;
  mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true });
  appendFileSync(RESULTS, `${JSON.stringify(record)}\n`);
  process.stdout.write(`appended to ${RESULTS}\n`);
}
