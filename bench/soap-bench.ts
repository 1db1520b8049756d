/**
 * OCPP-S benchmark (standalone): the router runs as a child process (`serve`, real shards, built-in
 * responder); autocannon (here) POSTs SOAP 1.2 Heartbeat and BootNotification envelopes to /Ocpp over
 * keep-alive connections, each with its own chargeBoxIdentity and MessageID. Server CPU per request comes
 * from /proc/<pid>/stat (every thread of the router process) over the measured window.
 *
 *   node dist/bench/soap-bench.js [--workers 2] [--duration-s 10] [--connections 50] [--stations 1000] [--no-save]
 *
 * Prints requests/s, latency and CPU µs per request per scenario; appends one JSON line to
 * bench/results/results.jsonl with the parameters, git revision, Node version, CPU model and cores.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { appendFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { processCpuSeconds } from './proc.js';

const ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '../..');
const RESULTS = join(ROOT, 'bench', 'results', 'results.jsonl');

interface AutocannonResult {
  requests: { average: number; total: number };
  latency: { average: number; p50: number; p99: number; max: number };
  errors: number;
  timeouts: number;
  non2xx: number;
  '2xx': number;
}
type Autocannon = (options: Record<string, unknown>) => Promise<AutocannonResult>;
const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;

function flag(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => res(port));
    });
  });
}

async function waitHttp(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/health/ready`)).ok) return;
    } catch {
      // not yet
    }
    if (Date.now() > deadline) throw new Error('router did not become ready');
    await new Promise((r) => setTimeout(r, 100));
  }
}

const NS = 'urn://Ocpp/Cs/2015/10/';
function envelope(identity: string, n: number, action: 'Heartbeat' | 'BootNotification'): string {
  const body =
    action === 'Heartbeat'
      ? `<heartbeatRequest xmlns="${NS}"/>`
      : `<bootNotificationRequest xmlns="${NS}"><chargePointVendor>Bench</chargePointVendor><chargePointModel>SOAP-1</chargePointModel><chargePointSerialNumber>SN-${identity}</chargePointSerialNumber><firmwareVersion>1.0.0</firmwareVersion></bootNotificationRequest>`;
  return (
    `<?xml version="1.0" encoding="UTF-8"?><s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://www.w3.org/2005/08/addressing">` +
    `<s:Header><chargeBoxIdentity xmlns="${NS}">${identity}</chargeBoxIdentity><a:MessageID>urn:uuid:bench-${n}</a:MessageID><a:Action>/${action}</a:Action>` +
    `<a:From><a:Address>http://127.0.0.1:1/ChargePointService</a:Address></a:From><a:To>http://127.0.0.1/Ocpp/CentralSystemService</a:To></s:Header>` +
    `<s:Body>${body}</s:Body></s:Envelope>`
  );
}

async function scenario(port: number, pid: number, action: 'Heartbeat' | 'BootNotification', params: { durationS: number; connections: number; stations: number }): Promise<Record<string, number>> {
  let n = 0;
  const cpu0 = processCpuSeconds(pid);
  const t0 = performance.now();
  const result = await autocannon({
    url: `http://127.0.0.1:${port}`,
    duration: params.durationS,
    connections: params.connections,
    requests: [
      {
        method: 'POST',
        path: '/Ocpp/CentralSystemService',
        headers: { 'content-type': `application/soap+xml; charset=utf-8; action="/${action}"` },
        setupRequest: (req: Record<string, unknown>) => {
          n++;
          return { ...req, body: envelope(`SOAP-${n % params.stations}`, n, action) };
        },
      },
    ],
  });
  const wallS = (performance.now() - t0) / 1000;
  const cpuS = processCpuSeconds(pid) - cpu0;
  const ok = result['2xx'];
  return {
    requestsPerS: Math.round(result.requests.average),
    total2xx: ok,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
    latencyAvgMs: result.latency.average,
    latencyP50Ms: result.latency.p50,
    latencyP99Ms: result.latency.p99,
    serverCpuS: Number(cpuS.toFixed(2)),
    serverCpuUsPerRequest: ok > 0 ? Number(((cpuS / ok) * 1e6).toFixed(1)) : NaN,
    serverCoresBusy: Number((cpuS / wallS).toFixed(2)),
  };
}

async function main(): Promise<void> {
  const params = { workers: flag('workers', 2), durationS: flag('duration-s', 10), connections: flag('connections', 50), stations: flag('stations', 1000) };
  const port = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), 'soap-bench-'));
  const router: ChildProcess = spawn(process.execPath, [join(ROOT, 'dist', 'src', 'main.js'), 'serve'], {
    env: { ...process.env, PORT: String(port), LISTEN: '127.0.0.1', WORKERS: String(params.workers), DATA_DIR: dataDir, LOG_LEVEL: 'warn', MAX_STATIONS: '0' },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  try {
    await waitHttp(port, 20_000);
    // Warm-up: every identity once (registers the stations, JIT warms up).
    await scenario(port, router.pid!, 'BootNotification', { ...params, durationS: 2 });
    const results = {
      Heartbeat: await scenario(port, router.pid!, 'Heartbeat', params),
      BootNotification: await scenario(port, router.pid!, 'BootNotification', params),
    };
    console.table(results);
    let rev = 'unknown';
    try {
      rev = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
    } catch {
      // not a git checkout
    }
    const line = { bench: 'soap', at: new Date().toISOString(), rev, node: process.version, cpu: cpus()[0]?.model, cores: cpus().length, params, results };
    if (!process.argv.includes('--no-save')) {
      mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true });
      appendFileSync(RESULTS, JSON.stringify(line) + '\n');
    }
    console.log(JSON.stringify(line));
  } finally {
    const exited = new Promise((r) => router.once('exit', r));
    router.kill('SIGINT');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
    rmSync(dataDir, { recursive: true, force: true });
  }
}

await main();
