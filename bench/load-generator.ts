/**
 * Load generator: emulated OCPP 1.6 stations over `ws`, in its own process (forked by run.ts, driven over
 * IPC) and spread over worker threads. Station n connects to `<url>BENCH-<n>` with subprotocol ocpp1.6 from
 * source address 127.0.0.(2 + n mod sourceAddresses), sends one BootNotification, then:
 *
 * - mode `heartbeat`: closed loop `[2,"<seq>","Heartbeat",{}]`, the next one as soon as the answer with the
 *   same id arrives. Phases shared by all threads through a SharedArrayBuffer: connect → warmup → measure →
 *   stop. Only answers received during `measure` count and have their latency (performance.now(), the
 *   monotonic hrtime clock) recorded. At the window edges the main thread reads the server's CPU time from
 *   /proc/<serverPid>/stat and its own from process.cpuUsage(), so the load generator's CPU is known too.
 * - mode `idle`: connects and boots every station at a bounded rate and concurrency, reports `ready`,
 *   keeps the connections open (answers pings, `ws` does that) until told to `close`.
 *
 * Against the echo floor (`echo: true`) the answer is the echoed CALL itself; it is matched by id the same
 * way, so the client does identical work for both servers.
 *
 * IPC protocol (parent → child): {t:'start', config}, {t:'close'}; (child → parent): {t:'ready', ...},
 * {t:'result', ...}, {t:'closed'}, {t:'error', message}.
 */
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { performance } from 'node:perf_hooks';
import WebSocket from 'ws';
import { replyFromEach } from './thread-replies.js';
import { percentile, processCpuSeconds, processCpuSplit, threadCpu, threadCpuDelta, type CpuSplit } from './proc.js';

export interface LoadConfig {
  mode: 'heartbeat' | 'idle';
  /** Base URL ending in '/', the identity is appended. */
  url: string;
  firstStation: number;
  stations: number;
  threads: number;
  /** Source addresses 127.0.0.2 … 127.0.0.(1 + sourceAddresses). */
  sourceAddresses: number;
  echo: boolean;
  /** Server process to account CPU for (heartbeat). */
  serverPid: number;
  warmupS: number;
  durationS: number;
  /** New connections per second (this process), and how many handshakes at once. */
  rampPerS: number;
  rampConcurrency: number;
  connectTimeoutMs: number;
  /** wss://: the CA to trust and an optional client certificate (PEM texts). */
  tls?: { ca: string; cert?: string; key?: string };
}

export interface ErrorCounts {
  connectFailed: number;
  bootFailed: number;
  callError: number;
  unexpectedFrame: number;
  unexpectedClose: number;
  unanswered: number;
}

export interface HeartbeatResult {
  t: 'result';
  connected: number;
  connectS: number;
  measuredS: number;
  messages: number;
  msgsPerS: number;
  latencyMs: { p50: number; p90: number; p99: number; p999: number; max: number; mean: number; samples: number };
  serverCpuS: number;
  /** Server user and system (kernel) CPU over the window, and per thread. */
  serverCpu: CpuSplit;
  serverThreads: Record<string, CpuSplit>;
  loadGenCpuS: number;
  loadGenCores: number;
  errors: ErrorCounts;
}

export interface ReadyReport {
  t: 'ready';
  connected: number;
  connectS: number;
  errors: ErrorCounts;
}

const PHASE_CONNECT = 0;
const PHASE_WARMUP = 1;
const PHASE_MEASURE = 2;
const PHASE_STOP = 3;

const BOOT_ID = 'boot';
const BOOT_FRAME = JSON.stringify([2, BOOT_ID, 'BootNotification', { chargePointVendor: 'ocpp-router-bench', chargePointModel: 'BENCH' }]);
const MAX_SAMPLES = 1 << 25;

function emptyErrors(): ErrorCounts {
  return { connectFailed: 0, bootFailed: 0, callError: 0, unexpectedFrame: 0, unexpectedClose: 0, unanswered: 0 };
}

function addErrors(into: ErrorCounts, from: ErrorCounts): void {
  for (const key of Object.keys(into) as (keyof ErrorCounts)[]) into[key] += from[key];
}

// ───────────────────────────── worker thread: a slice of the stations ─────────────────────────────

interface ThreadInit {
  config: LoadConfig;
  first: number;
  count: number;
  phase: Int32Array;
}

type MainToThread = { t: 'go' } | { t: 'stop' } | { t: 'close' };
type ThreadToMain =
  | { t: 'ready'; connected: number; errors: ErrorCounts }
  | { t: 'result'; messages: number; samples: Float64Array; sampleCount: number; errors: ErrorCounts }
  | { t: 'closed' };

class Samples {
  data = new Float64Array(1 << 16);
  length = 0;
  push(value: number): void {
    if (this.length === this.data.length) {
      if (this.length >= MAX_SAMPLES) return;
      const next = new Float64Array(this.data.length * 2);
      next.set(this.data);
      this.data = next;
    }
    this.data[this.length++] = value;
  }
}

class Station {
  ws: WebSocket | null = null;
  seq = 0;
  expected = '';
  sentAt = 0;
  booted = false;
  inFlight = false;
  constructor(readonly n: number) {}
}

function threadMain(init: ThreadInit): void {
  const { config, phase } = init;
  const port = parentPort!;
  const errors = emptyErrors();
  const samples = new Samples();
  const stations: Station[] = [];
  let messages = 0;
  let connected = 0;
  let settled = 0; // booted or failed
  let stopping = false;
  let onDrained: (() => void) | null = null;
  let inFlight = 0;

  const sendHeartbeat = (st: Station): void => {
    const id = String(++st.seq);
    st.expected = id;
    st.inFlight = true;
    inFlight++;
    st.sentAt = performance.now();
    st.ws!.send(`[2,"${id}","Heartbeat",{}]`);
  };

  const answered = (st: Station): void => {
    st.inFlight = false;
    inFlight--;
    if (stopping && inFlight === 0) onDrained?.();
  };

  const onMessage = (st: Station, data: WebSocket.RawData): void => {
    let frame: unknown;
    try {
      frame = JSON.parse(data.toString());
    } catch {
      errors.unexpectedFrame++;
      return;
    }
    if (!Array.isArray(frame) || frame[1] !== st.expected || !st.inFlight) {
      errors.unexpectedFrame++;
      return;
    }
    const now = performance.now();
    const type = frame[0];
    const ok = type === 3 || (config.echo && type === 2);
    if (!st.booted) {
      answered(st);
      settled++;
      if (ok) {
        st.booted = true;
        connected++;
      } else errors.bootFailed++;
      pump();
      return;
    }
    if (ok) {
      if (Atomics.load(phase, 0) === PHASE_MEASURE) {
        messages++;
        samples.push(now - st.sentAt);
      }
    } else errors.callError++;
    answered(st);
    if (!stopping && Atomics.load(phase, 0) < PHASE_STOP) sendHeartbeat(st);
  };

  // Connection ramp: at most rampPerS/s, at most rampConcurrency handshakes in flight.
  let next = 0;
  let handshaking = 0;
  const perTickMs = 10;
  let budget = 0;
  let lastTick = performance.now();
  const connectOne = (): void => {
    const st = new Station(init.first + next++);
    stations.push(st);
    handshaking++;
    const localAddress = `127.0.0.${2 + (st.n % config.sourceAddresses)}`;
    const ws = new WebSocket(`${config.url}BENCH-${st.n}`, 'ocpp1.6', {
      localAddress,
      perMessageDeflate: false,
      handshakeTimeout: config.connectTimeoutMs,
      skipUTF8Validation: true,
      ...(config.tls === undefined ? {} : config.tls),
    });
    st.ws = ws;
    let opened = false;
    ws.on('open', () => {
      opened = true;
      handshaking--;
      st.expected = BOOT_ID;
      st.inFlight = true;
      inFlight++;
      st.sentAt = performance.now();
      ws.send(BOOT_FRAME);
    });
    ws.on('message', (data) => onMessage(st, data));
    ws.on('error', () => {
      if (!opened) {
        // 'close' follows; counted there.
      }
    });
    ws.on('close', () => {
      if (!opened) {
        handshaking--;
        errors.connectFailed++;
        settled++;
        pump();
        return;
      }
      if (st.inFlight) answered(st);
      if (!stopping) {
        errors.unexpectedClose++;
        if (!st.booted) settled++;
      }
      st.ws = null;
    });
  };
  const pump = (): void => {
    if (settled === init.count && readyTimer !== null) {
      clearInterval(readyTimer);
      readyTimer = null;
      port.postMessage({ t: 'ready', connected, errors: { ...errors } } satisfies ThreadToMain);
    }
  };
  let readyTimer: NodeJS.Timeout | null = setInterval(() => {
    const now = performance.now();
    budget = Math.min(budget + ((now - lastTick) / 1000) * (config.rampPerS / config.threads), Math.max(1, config.rampPerS / config.threads / 10));
    lastTick = now;
    while (next < init.count && budget >= 1 && handshaking < config.rampConcurrency) {
      budget -= 1;
      connectOne();
    }
    pump();
  }, perTickMs);
  if (init.count === 0) pump();

  port.on('message', (message: MainToThread) => {
    if (message.t === 'go') {
      for (const st of stations) if (st.booted && st.ws !== null && !st.inFlight) sendHeartbeat(st);
    } else if (message.t === 'stop') {
      stopping = true;
      const finish = (): void => {
        clearTimeout(grace);
        errors.unanswered += inFlight;
        const data = samples.data;
        port.postMessage({ t: 'result', messages, samples: data, sampleCount: samples.length, errors } satisfies ThreadToMain, [data.buffer]);
      };
      // Answers still in flight get up to 5 s.
      const grace = setTimeout(finish, 5000);
      if (inFlight === 0) finish();
      else onDrained = finish;
    } else if (message.t === 'close') {
      stopping = true;
      let open = 0;
      const done = (): void => {
        port.postMessage({ t: 'closed' } satisfies ThreadToMain);
      };
      for (const st of stations) {
        if (st.ws !== null && st.ws.readyState !== WebSocket.CLOSED) {
          open++;
          st.ws.once('close', () => {
            if (--open === 0) {
              clearTimeout(deadline);
              done();
            }
          });
          st.ws.close(1000);
        }
      }
      // Whatever has not finished the closing handshake in 10 s is cut.
      const deadline = setTimeout(() => {
        for (const st of stations) st.ws?.terminate();
        done();
      }, 10_000);
      if (open === 0) {
        clearTimeout(deadline);
        done();
      }
    }
  });
}

// ───────────────────────────── process main: threads, phases, accounting ─────────────────────────────

function send(message: unknown): void {
  process.send?.(message);
}

function waitAll<T extends ThreadToMain['t']>(workers: Worker[], type: T, timeoutMs: number): Promise<Extract<ThreadToMain, { t: T }>[]> {
  return replyFromEach<ThreadToMain, T>(workers, type, timeoutMs, 'load generator');
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function processMain(config: LoadConfig): Promise<void> {
  const phase = new Int32Array(new SharedArrayBuffer(4));
  Atomics.store(phase, 0, PHASE_CONNECT);
  const workers: Worker[] = [];
  const per = Math.ceil(config.stations / config.threads);
  for (let i = 0; i < config.threads; i++) {
    const first = config.firstStation + i * per;
    const count = Math.max(0, Math.min(per, config.stations - i * per));
    const init: ThreadInit = { config, first, count, phase };
    const worker = new Worker(new URL(import.meta.url), { workerData: init });
    worker.on('error', (error) => {
      send({ t: 'error', message: `load generator thread ${i}: ${error.stack ?? error.message}` });
      process.exit(1);
    });
    workers.push(worker);
  }
  const connectStart = performance.now();
  const connectBudgetMs = (config.stations / config.rampPerS) * 1000 + config.connectTimeoutMs + 60_000;
  const readies = await waitAll(workers, 'ready', connectBudgetMs);
  const connectS = (performance.now() - connectStart) / 1000;
  const errors = emptyErrors();
  for (const r of readies) addErrors(errors, r.errors);
  const connected = readies.reduce((sum, r) => sum + r.connected, 0);

  if (config.mode === 'idle') {
    send({ t: 'ready', connected, connectS, errors } satisfies ReadyReport);
    await new Promise<void>((resolve) => {
      process.on('message', (message: { t: string }) => {
        if (message.t === 'close') resolve();
      });
    });
    for (const worker of workers) worker.postMessage({ t: 'close' } satisfies MainToThread);
    await waitAll(workers, 'closed', 30_000);
    send({ t: 'closed' });
    await Promise.all(workers.map((w) => w.terminate()));
    return;
  }

  Atomics.store(phase, 0, PHASE_WARMUP);
  for (const worker of workers) worker.postMessage({ t: 'go' } satisfies MainToThread);
  await sleep(config.warmupS * 1000);

  const cpu0 = process.cpuUsage();
  const split0 = processCpuSplit(config.serverPid);
  const threads0 = threadCpu(config.serverPid);
  const server0 = processCpuSeconds(config.serverPid);
  const t0 = performance.now();
  Atomics.store(phase, 0, PHASE_MEASURE);
  await sleep(config.durationS * 1000);
  Atomics.store(phase, 0, PHASE_STOP);
  const t1 = performance.now();
  const server1 = processCpuSeconds(config.serverPid);
  const split1 = processCpuSplit(config.serverPid);
  const threads1 = threadCpu(config.serverPid);
  const cpu1 = process.cpuUsage(cpu0);
  const measuredS = (t1 - t0) / 1000;

  const resultsPromise = waitAll(workers, 'result', 30_000);
  for (const worker of workers) worker.postMessage({ t: 'stop' } satisfies MainToThread);
  const results = await resultsPromise;
  let total = 0;
  let messages = 0;
  for (const r of results) {
    total += r.sampleCount;
    messages += r.messages;
    addErrors(errors, r.errors);
  }
  const all = new Float64Array(total);
  let offset = 0;
  let sum = 0;
  for (const r of results) {
    const part = r.samples.subarray(0, r.sampleCount);
    all.set(part, offset);
    offset += r.sampleCount;
    for (let i = 0; i < part.length; i++) sum += part[i]!;
  }
  all.sort();
  const loadGenCpuS = (cpu1.user + cpu1.system) / 1e6;
  const result: HeartbeatResult = {
    t: 'result',
    connected,
    connectS,
    measuredS,
    messages,
    msgsPerS: messages / measuredS,
    latencyMs: {
      p50: percentile(all, 50),
      p90: percentile(all, 90),
      p99: percentile(all, 99),
      p999: percentile(all, 99.9),
      max: total > 0 ? all[total - 1]! : NaN,
      mean: total > 0 ? sum / total : NaN,
      samples: total,
    },
    serverCpuS: server1 - server0,
    serverCpu: { userS: +(split1.userS - split0.userS).toFixed(2), systemS: +(split1.systemS - split0.systemS).toFixed(2) },
    serverThreads: threadCpuDelta(threads0, threads1),
    loadGenCpuS,
    loadGenCores: loadGenCpuS / measuredS,
    errors,
  };
  send(result);
  for (const worker of workers) worker.postMessage({ t: 'close' } satisfies MainToThread);
  await waitAll(workers, 'closed', 30_000).catch(() => undefined);
  await Promise.all(workers.map((w) => w.terminate()));
}

if (isMainThread) {
  if (process.send === undefined) {
    process.stderr.write('load-generator: run it through bench/run.ts (it is driven over IPC)\n');
    process.exit(2);
  }
  process.once('message', (message: { t: string; config: LoadConfig }) => {
    if (message.t !== 'start') return;
    processMain(message.config).then(
      () => {
        process.disconnect?.();
      },
      (error: unknown) => {
        send({ t: 'error', message: error instanceof Error ? (error.stack ?? error.message) : String(error) });
        process.exitCode = 1;
        process.disconnect?.();
      },
    );
  });
} else {
  threadMain(workerData as ThreadInit);
}
