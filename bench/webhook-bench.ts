/**
 * Webhook benchmark: forwarded messages per second and added latency, `batch.maxSize` 1 versus 64, against
 * the built-in responder, in one run.
 *
 *   node dist/bench/webhook-bench.js [--stations 400] [--workers 1] [--duration-s 6] [--warmup-s 2]
 *                                    [--rate 2000] [--max-delay-ms 2] [--connections 16] [--no-save]
 *
 * Processes: a fast local sink (node:http, answers every envelope or batch at once) in its own child
 * process; the router (`serve`, real shards) as a child process per configuration; the stations (`ws`
 * clients sending Heartbeat) in this process. For each of responder, webhook maxSize 1, webhook maxSize 64:
 * - throughput: every station sends its next Heartbeat as soon as the previous is answered (closed loop);
 * - latency: a fixed offered rate (`--rate` messages/s over all stations, open loop), p50/p99/max from send
 *   to answer; "added" latency = the webhook's percentile minus the responder's.
 * Appends one JSON line to bench/results/results.jsonl (parameters, git revision, Node, CPU, cores).
 */
import { fork, spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { createServer } from 'node:net';
import { cpus, hostname, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';

const ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '../..');
const RESULTS = join(ROOT, 'bench', 'results', 'results.jsonl');

function flag(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
}

// ───────────── sink child: answers at once ─────────────

const TIME = '2025-01-01T00:00:00.000Z';

function sinkChild(): void {
  const server = createHttpServer({ keepAliveTimeout: 60_000 }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString()) as { identity: string; uniqueId: string; action: string } | Array<{ identity: string; uniqueId: string; action: string }>;
      const reply = (e: { identity: string; uniqueId: string; action: string }): unknown => ({ identity: e.identity, uniqueId: e.uniqueId, action: e.action, payload: { currentTime: TIME } });
      const text = JSON.stringify(Array.isArray(body) ? body.map(reply) : reply(body));
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
      res.end(text);
    });
  });
  server.listen(0, '127.0.0.1', () => {
    const address = server.address() as { port: number };
    process.send!({ t: 'ready', port: address.port });
  });
  process.on('message', (m: { t: string }) => {
    if (m.t === 'stop') process.exit(0);
  });
}

// ───────────── helpers ─────────────

function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const s = createServer();
    s.once('error', fail);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => done(port));
    });
  });
}

function facts(): Record<string, unknown> {
  let rev = 'unknown';
  let dirty = false;
  try {
    rev = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
    dirty = execFileSync('git', ['status', '--porcelain'], { cwd: ROOT, encoding: 'utf8' }).trim() !== '';
  } catch {
    // not a git checkout
  }
  const model = /^model name\s*:\s*(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? cpus()[0]?.model ?? 'unknown';
  return { gitRev: rev, gitDirty: dirty, node: process.version, cpuModel: model, cores: cpus().length, host: hostname(), date: new Date().toISOString() };
}

function pct(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length))) - 1]!;
}

const round = (x: number, d = 3): number => Math.round(x * 10 ** d) / 10 ** d;

interface Router {
  child: ChildProcess;
  port: number;
  dataDir: string;
}

async function startRouter(env: Record<string, string>, workers: number): Promise<Router> {
  const port = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), 'ocpp-webhook-bench-'));
  const child = spawn(process.execPath, [join(ROOT, 'dist/src/main.js'), 'serve'], {
    env: { ...process.env, PORT: String(port), LISTEN: '127.0.0.1', WORKERS: String(workers), DATA_DIR: dataDir, LOG_LEVEL: 'warn', PING_INTERVAL_S: '0', METRICS: 'on', ...env },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const deadline = Date.now() + 20_000;
  for (;;) {
    try {
      const r = await fetch(`http://127.0.0.1:${port}/health/ready`);
      if (r.status === 200) break;
    } catch {
      // not yet listening
    }
    if (Date.now() > deadline) throw new Error('router did not become ready');
    await new Promise((r) => setTimeout(r, 100));
  }
  return { child, port, dataDir };
}

async function stopRouter(router: Router): Promise<void> {
  const exited = new Promise((r) => router.child.once('exit', r));
  router.child.kill('SIGTERM');
  await exited;
  rmSync(router.dataDir, { recursive: true, force: true });
}

interface Station {
  ws: WebSocket;
  busy: boolean;
  sentAt: number;
  seq: number;
}

async function connectStations(port: number, count: number, onAnswer: (s: Station, ms: number) => void): Promise<Station[]> {
  const stations: Station[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: 50 }, async () => {
      while (next < count) {
        const i = next++;
        const ws = new WebSocket(`ws://127.0.0.1:${port}/ocpp/WB-${i}`, ['ocpp1.6'], { perMessageDeflate: false });
        const station: Station = { ws, busy: false, sentAt: 0, seq: 0 };
        await new Promise<void>((done, fail) => {
          ws.once('open', () => done());
          ws.once('error', fail);
        });
        ws.on('message', () => {
          const ms = performance.now() - station.sentAt;
          station.busy = false;
          onAnswer(station, ms);
        });
        stations.push(station);
      }
    }),
  );
  return stations;
}

function send(s: Station): void {
  s.busy = true;
  s.sentAt = performance.now();
  s.ws.send(`[2,"h${s.seq++}","Heartbeat",{}]`);
}

interface Measure {
  msgsPerS: number;
  messages: number;
  latencyMs: { p50: number; p90: number; p99: number; max: number };
  offered?: number;
  skipped?: number;
}

async function measure(name: string, env: Record<string, string>, params: Params): Promise<{ throughput: Measure; latency: Measure }> {
  const router = await startRouter(env, params.workers);
  let mode: 'closed' | 'open' | 'idle' = 'idle';
  let recording = false;
  let latencies: number[] = [];
  let count = 0;
  const stations = await connectStations(router.port, params.stations, (s, ms) => {
    if (recording) {
      latencies.push(ms);
      count++;
    }
    if (mode === 'closed') send(s);
  });
  const window = async (): Promise<Measure> => {
    await new Promise((r) => setTimeout(r, params.warmupS * 1000));
    latencies = [];
    count = 0;
    recording = true;
    const t0 = performance.now();
    await new Promise((r) => setTimeout(r, params.durationS * 1000));
    recording = false;
    const s = (performance.now() - t0) / 1000;
    const sorted = latencies.sort((a, b) => a - b);
    return { msgsPerS: round(count / s, 1), messages: count, latencyMs: { p50: round(pct(sorted, 50)), p90: round(pct(sorted, 90)), p99: round(pct(sorted, 99)), max: round(sorted[sorted.length - 1] ?? NaN) } };
  };
  // Closed loop: maximum throughput.
  mode = 'closed';
  for (const s of stations) send(s);
  const throughput = await window();
  mode = 'idle';
  await new Promise((r) => setTimeout(r, 500));
  // Open loop at a fixed rate: added latency without queueing.
  mode = 'open';
  let skipped = 0;
  let cursor = 0;
  const tickMs = 5;
  const perTick = (params.rate * tickMs) / 1000;
  let carry = 0;
  const timer = setInterval(() => {
    carry += perTick;
    while (carry >= 1) {
      carry -= 1;
      const s = stations[cursor++ % stations.length]!;
      if (s.busy) skipped++;
      else send(s);
    }
  }, tickMs);
  const latency = await window();
  clearInterval(timer);
  latency.offered = params.rate;
  latency.skipped = skipped;
  for (const s of stations) s.ws.terminate();
  await stopRouter(router);
  console.log(`${name.padEnd(22)} throughput ${String(throughput.msgsPerS).padStart(9)} msg/s (p99 ${throughput.latencyMs.p99} ms) | at ${params.rate} msg/s: p50 ${latency.latencyMs.p50} ms p99 ${latency.latencyMs.p99} ms max ${latency.latencyMs.max} ms`);
  return { throughput, latency };
}

interface Params {
  stations: number;
  workers: number;
  durationS: number;
  warmupS: number;
  rate: number;
  maxDelayMs: number;
  connections: number;
}

async function main(): Promise<void> {
  const params: Params = {
    stations: flag('stations', 400),
    workers: flag('workers', 1),
    durationS: flag('duration-s', 6),
    warmupS: flag('warmup-s', 2),
    rate: flag('rate', 2000),
    maxDelayMs: flag('max-delay-ms', 2),
    connections: flag('connections', 16),
  };
  const sink = fork(fileURLToPath(import.meta.url), ['--sink'], { stdio: 'inherit' });
  const sinkPort = await new Promise<number>((done) => sink.once('message', (m: { port: number }) => done(m.port)));
  const url = `http://127.0.0.1:${sinkPort}/ocpp`;
  const hook = (maxSize: number): Record<string, string> => ({
    WEBHOOK_URL: url,
    WEBHOOK_BATCH_MAX_SIZE: String(maxSize),
    WEBHOOK_BATCH_MAX_DELAY_MS: String(params.maxDelayMs),
    WEBHOOK_CONNECTIONS: String(params.connections),
  });
  const results: Record<string, { throughput: Measure; latency: Measure }> = {};
  try {
    results.responder = await measure('responder', {}, params);
    results.webhook1 = await measure('webhook maxSize 1', hook(1), params);
    results.webhook64 = await measure('webhook maxSize 64', hook(64), params);
  } finally {
    sink.send({ t: 'stop' });
  }
  const r = results.responder!.latency.latencyMs;
  const added = (m: Measure): { p50: number; p99: number } => ({ p50: round(m.latencyMs.p50 - r.p50), p99: round(m.latencyMs.p99 - r.p99) });
  const summary = {
    batchedOverUnbatched: round(results.webhook64!.throughput.msgsPerS / results.webhook1!.throughput.msgsPerS, 2),
    addedLatencyMs: { maxSize1: added(results.webhook1!.latency), maxSize64: added(results.webhook64!.latency) },
    targets: {
      batchedAtLeast3x: results.webhook64!.throughput.msgsPerS >= 3 * results.webhook1!.throughput.msgsPerS,
      p99AddedWithinMaxDelayPlus2ms: added(results.webhook64!.latency).p99 <= params.maxDelayMs + 2,
    },
  };
  const f = facts();
  console.log(`\nbatched/unbatched throughput: ${summary.batchedOverUnbatched}x; added latency (p50/p99 ms) maxSize 1: ${summary.addedLatencyMs.maxSize1.p50}/${summary.addedLatencyMs.maxSize1.p99}, maxSize 64: ${summary.addedLatencyMs.maxSize64.p50}/${summary.addedLatencyMs.maxSize64.p99}`);
  console.log(`targets: batched >= 3x: ${summary.targets.batchedAtLeast3x}; p99 added <= maxDelayMs + 2 ms: ${summary.targets.p99AddedWithinMaxDelayPlus2ms}`);
  console.log(`conditions: stations=${params.stations} workers=${params.workers} duration=${params.durationS}s warmup=${params.warmupS}s rate=${params.rate}/s maxDelayMs=${params.maxDelayMs} connections=${params.connections} | ${f.cpuModel}, ${f.cores} cores, Node ${f.node}, git ${f.gitRev}${f.gitDirty ? '+dirty' : ''}`);
  if (!process.argv.includes('--no-save')) {
    mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true });
    appendFileSync(RESULTS, `${JSON.stringify({ scenario: 'webhook', params, ...f, results, summary })}\n`);
  }
}

if (process.argv.includes('--sink')) sinkChild();
else await main();
