/**
 * API benchmark (autocannon, in-process API): the router runs as a child process (`serve`, real shards),
 * stations connect from another child process (`ws`, spread over 127.0.0.x), autocannon runs here.
 *
 *   node dist/bench/api-bench.js [--stations 10000] [--workers 2] [--duration-s 10] [--connections 50]
 *                                [--list-connections 10] [--command-stations 1000] [--no-save]
 *
 * Scenarios, in one run: GET /api/v1/ping (answered by the shards), GET /api/v1/ChargePointList with every
 * station connected (control plane, ~stations × 0.4 KB of JSON), and a command round trip
 * POST /api/v1/ChargePoint/{id}/ClearCache rotating over `--command-stations` connected stations (shard →
 * control plane → station's shard → station → back). Prints requests/s and latency; appends one JSON line
 * to bench/results/results.jsonl with the parameters, git revision, Node version, CPU model and cores.
 */
import { fork, spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { cpus, hostname, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';

const ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '../..');
const RESULTS = join(ROOT, 'bench', 'results', 'results.jsonl');

interface AutocannonResult {
  requests: { average: number; total: number };
  latency: { average: number; p50: number; p90: number; p99: number; max: number };
  throughput: { average: number };
  errors: number;
  timeouts: number;
  non2xx: number;
  '2xx': number;
}
type AutocannonRequest = { method?: string; path?: string; headers?: Record<string, string>; body?: string; setupRequest?: (req: Record<string, unknown>) => Record<string, unknown> };
type Autocannon = (options: Record<string, unknown>) => Promise<AutocannonResult>;
const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;

function flag(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
}

// ───────────── station child: `--stations-child <port> <count> <addresses>` ─────────────

async function stationsChild(port: number, count: number, addresses: number): Promise<void> {
  const sockets: WebSocket[] = [];
  let open = 0;
  const connectOne = (i: number): Promise<void> =>
    new Promise((done) => {
      const ws = new WebSocket(`ws://127.0.0.1:${port}/ocpp/BENCH-${String(i).padStart(5, '0')}`, ['ocpp1.6'], {
        localAddress: `127.0.0.${2 + (i % addresses)}`,
        perMessageDeflate: false,
      });
      ws.on('open', () => {
        open++;
        ws.send(JSON.stringify([2, `b${i}`, 'BootNotification', { chargePointVendor: 'Bench', chargePointModel: 'API', chargePointSerialNumber: `SN${i}` }]));
        ws.send(JSON.stringify([2, `s${i}`, 'StatusNotification', { connectorId: 1, status: 'Available', errorCode: 'NoError' }]));
        done();
      });
      ws.on('message', (data) => {
        const text = data.toString();
        if (text.charCodeAt(1) !== 50) return; // only CALLs ("[2,…")
        const frame = JSON.parse(text) as [number, string, string, unknown];
        ws.send(JSON.stringify([3, frame[1], { status: 'Accepted' }]));
      });
      ws.on('error', () => done());
      sockets.push(ws);
    });
  // Bounded parallel ramp.
  let next = 0;
  await Promise.all(Array.from({ length: 200 }, async () => {
    while (next < count) await connectOne(next++);
  }));
  process.send!({ t: 'ready', open });
  process.on('message', (m: { t: string }) => {
    if (m.t === 'stop') {
      for (const ws of sockets) ws.terminate();
      process.exit(0);
    }
  });
}

// ───────────── main ─────────────

function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => (typeof a === 'object' && a !== null ? res(a.port) : rej(new Error('no port'))));
    });
  });
}

function machine(): Record<string, unknown> {
  let rev = process.env.BENCH_GIT_REV ?? 'unknown';
  let dirty = false;
  try {
    rev = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
    dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: ROOT, encoding: 'utf8' }).trim() !== '';
  } catch {
    // not a git checkout
  }
  const model = /^model name\s*:\s*(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? cpus()[0]?.model ?? 'unknown';
  return { gitRev: rev, gitDirty: dirty, node: process.version, cpuModel: model, cores: cpus().length, host: hostname(), date: new Date().toISOString() };
}

async function waitHttp(port: number, deadlineMs: number): Promise<void> {
  const end = Date.now() + deadlineMs;
  for (;;) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/api/v1/ping`)).ok) return;
    } catch {
      // not up yet
    }
    if (Date.now() > end) throw new Error('router did not start');
    await new Promise((r) => setTimeout(r, 100));
  }
}

function summary(r: AutocannonResult): Record<string, number> {
  return {
    reqPerS: Math.round(r.requests.average),
    total: r.requests.total,
    latencyAvgMs: r.latency.average,
    p50Ms: r.latency.p50,
    p90Ms: r.latency.p90,
    p99Ms: r.latency.p99,
    maxMs: r.latency.max,
    bytesPerS: Math.round(r.throughput.average),
    ok2xx: r['2xx'],
    non2xx: r.non2xx,
    errors: r.errors,
    timeouts: r.timeouts,
  };
}

async function main(): Promise<void> {
  const params = {
    stations: flag('stations', 10_000),
    workers: flag('workers', 2),
    durationS: flag('duration-s', 10),
    connections: flag('connections', 50),
    listConnections: flag('list-connections', 10),
    commandStations: flag('command-stations', 1000),
    sourceAddresses: Math.max(1, Math.ceil(flag('stations', 10_000) / 5000)),
  };
  const port = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), 'api-bench-'));
  const router: ChildProcess = spawn(process.execPath, [join(ROOT, 'dist', 'src', 'main.js'), 'serve'], {
    env: { ...process.env, PORT: String(port), LISTEN: '0.0.0.0', WORKERS: String(params.workers), DATA_DIR: dataDir, LOG_LEVEL: 'warn', PING_INTERVAL_S: '0', MAX_STATIONS: '0' },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  let stations: ChildProcess | null = null;
  const cleanup = async (): Promise<void> => {
    stations?.send({ t: 'stop' });
    const exited = new Promise((r) => router.once('exit', r));
    router.kill('SIGINT');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
    rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    await waitHttp(port, 20_000);
    const t0 = Date.now();
    stations = fork(fileURLToPath(import.meta.url), ['--stations-child', String(port), String(params.stations), String(params.sourceAddresses)], { stdio: 'inherit' });
    const ready = await new Promise<{ open: number }>((res, rej) => {
      const timer = setTimeout(() => rej(new Error('stations did not connect within 120 s')), 120_000);
      stations!.once('message', (m: { t: string; open: number }) => {
        clearTimeout(timer);
        res(m);
      });
    });
    // The registry learns of boots and statuses by message; wait until the list shows them all.
    for (let i = 0; i < 300; i++) {
      const body = (await (await fetch(`http://127.0.0.1:${port}/api/v1/stations?connected=true&status=Available&limit=1`)).json()) as { total: number };
      if (body.total >= ready.open) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const connectS = (Date.now() - t0) / 1000;
    console.log(`${ready.open}/${params.stations} stations connected and booted in ${connectS.toFixed(1)} s`);
    const listBytes = (await (await fetch(`http://127.0.0.1:${port}/api/v1/ChargePointList`)).text()).length;

    const base = { url: `http://127.0.0.1:${port}`, duration: params.durationS };
    const ping = await autocannon({ ...base, connections: params.connections, requests: [{ method: 'GET', path: '/api/v1/ping' }] });
    const list = await autocannon({ ...base, connections: params.listConnections, timeout: 30, requests: [{ method: 'GET', path: '/api/v1/ChargePointList' }] });
    let n = 0;
    const commandStations = Math.min(params.commandStations, ready.open);
    const command = await autocannon({
      ...base,
      connections: params.connections,
      requests: [
        {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: '{}',
          setupRequest: (req: Record<string, unknown>) => ({ ...req, path: `/api/v1/ChargePoint/BENCH-${String(n++ % commandStations).padStart(5, '0')}/ClearCache` }),
        } satisfies AutocannonRequest,
      ],
    });
    const results: Record<string, Record<string, number>> = { ping: summary(ping), chargePointList: { ...summary(list), responseBytes: listBytes }, command: summary(command) };
    const facts = machine();
    console.log(`\nconditions: stations=${ready.open} workers=${params.workers} duration=${params.durationS}s connections=${params.connections} (list ${params.listConnections}) command stations=${commandStations} | ${facts.cpuModel}, ${facts.cores} cores, Node ${facts.node}, git ${facts.gitRev}${facts.gitDirty ? '+dirty' : ''}`);
    console.log('scenario             req/s     p50 ms   p90 ms   p99 ms   max ms   non-2xx  errors');
    for (const [name, r] of Object.entries(results)) {
      const f = (k: string): string => r[k]!.toFixed(1).padStart(7);
      console.log(`${name.padEnd(18)} ${String(r.reqPerS).padStart(7)}  ${f('p50Ms')}  ${f('p90Ms')}  ${f('p99Ms')}  ${f('maxMs')}  ${String(r.non2xx).padStart(7)}  ${String(r.errors! + r.timeouts!).padStart(6)}`);
    }
    console.log(`ChargePointList response: ${(listBytes / 1024 / 1024).toFixed(2)} MiB`);
    if (!process.argv.includes('--no-save')) {
      mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true });
      appendFileSync(RESULTS, JSON.stringify({ scenario: 'api', params: { ...params, connectedStations: ready.open, connectS }, ...facts, results }) + '\n');
      console.log(`appended to ${RESULTS}`);
    }
  } finally {
    await cleanup();
  }
}

if (process.argv[2] === '--stations-child') {
  await stationsChild(Number(process.argv[3]), Number(process.argv[4]), Number(process.argv[5]));
} else {
  main().then(
    () => process.exit(0),
    (error) => {
      console.error(error);
      process.exit(1);
    },
  );
}
