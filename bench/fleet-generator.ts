/**
 * Fleet load generator for the data-driven scenarios (bench/scenarios/*.json, run by scenario-run.ts): emulated
 * OCPP 1.6 stations on the emulator's own WebSocket client (src/emulator/transport/ws-client.ts: one shared read buffer,
 * no per-connection closures, so the generator costs less CPU per frame than a `ws` client), in its own process
 * (forked, driven over IPC), spread over worker threads. Station n connects to `<url>BENCH-<n>` with subprotocol
 * ocpp1.6 from 127.0.0.(2 + n mod sourceAddresses) and sends a BootNotification; then, by `traffic`:
 *
 * - `open`:   `ratePerS` CALLs per second over this process (a 5 ms tick spends a token budget), each to the next
 *             idle booted station in round-robin order, the action drawn from the weighted `mix`;
 * - `closed`: every station keeps `inFlight` CALLs outstanding (K > 1 relies on the server's per-station queue);
 * - `hold`:   no traffic; the stations stay connected and answer the server's CALLs (`[3,id,{"status":"Accepted"}]`).
 *
 * Every station answers server CALLs the same way in every mode (command fan-out). With `reconnect`, a station
 * whose connection fails or closes comes back after a random delay in [minDelayMs, maxDelayMs], doubled on each
 * failure up to maxDelayMs × 8 (boot and reconnect storms). Latency is recorded, in µs, in a log-bucketed
 * histogram (bench/histogram.ts) only during the MEASURE phase; boot acceptances are counted in 100 ms slots since
 * the last `mark` (peak accept rate, time until all stations are back).
 *
 * Against the echo floor (`echo: true`) the answer is the echoed CALL itself, matched by id the same way.
 *
 * IPC (parent → child): {t:'start', config} {t:'phase', phase} {t:'mark'} {t:'status'} {t:'report'} {t:'close'};
 * (child → parent): {t:'started'} {t:'status', status} {t:'report', report} {t:'closed'} {t:'error', message}.
 */
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { WsClient, type WsError, type WsHandler, type WsTlsOptions } from '../src/emulator/transport/index.js';
import { Histogram, type HistogramSnapshot } from './histogram.js';
import { replyFromEach } from './thread-replies.js';

export type Traffic = 'open' | 'closed' | 'hold';
export type MixAction = 'Heartbeat' | 'StatusNotification' | 'MeterValues';

export interface FleetConfig {
  url: string;
  /** Several nodes of one central system: station n starts on urls[n % length] and moves to another (at random) after a loss. */
  urls?: string[];
  /** wss:// targets: the CA to trust and an optional client certificate (PEM texts). */
  tls?: WsTlsOptions;
  firstStation: number;
  stations: number;
  threads: number;
  sourceAddresses: number;
  echo: boolean;
  traffic: Traffic;
  /** open: CALLs per second over this process. */
  ratePerS: number;
  /** closed: CALLs outstanding per station. */
  inFlight: number;
  mix: Partial<Record<MixAction, number>>;
  /** Connections started per second over this process (0: as fast as `concurrency` allows). */
  connectPerS: number;
  /** Handshakes + boots in flight per process. */
  concurrency: number;
  connectTimeoutMs: number;
  reconnect: { minDelayMs: number; maxDelayMs: number } | null;
  /** Epoch of the boot-acceptance slots (performance.timeOrigin + performance.now() of the runner), until a `mark`. */
  markAtMs: number;
}

export const PHASE_IDLE = 0;
export const PHASE_WARMUP = 1;
export const PHASE_MEASURE = 2;
export const PHASE_STOP = 3;

export interface FleetStatus {
  /** Stations whose current connection is open and booted (Accepted). */
  booted: number;
  open: number;
  /** Boot acceptances since the last mark, and the time of the last one (ms since the mark). */
  bootsSinceMark: number;
  lastBootMs: number;
  refused: Record<string, number>;
  connectFailed: number;
  closedByServer: number;
  bootRejected: number;
  serverCalls: number;
}

export interface FleetReport extends FleetStatus {
  messages: number;
  callErrors: Record<string, number>;
  unexpectedFrames: number;
  backlogged: number;
  unanswered: number;
  latencyUs: HistogramSnapshot;
  /** Boot acceptances per 100 ms slot since the last mark. */
  bootSlots: number[];
}

const SLOT_MS = 100;
const MAX_SLOTS = 6000; // 10 min
const BOOT_ID = 'boot';
const BOOT_FRAME = JSON.stringify([2, BOOT_ID, 'BootNotification', { chargePointVendor: 'ocpp-router-bench', chargePointModel: 'BENCH' }]);

function emptyStatus(): FleetStatus {
  return { booted: 0, open: 0, bootsSinceMark: 0, lastBootMs: 0, refused: {}, connectFailed: 0, closedByServer: 0, bootRejected: 0, serverCalls: 0 };
}

// ───────────────────────────── worker thread ─────────────────────────────

interface ThreadInit {
  config: FleetConfig;
  first: number;
  count: number;
  /** [phase, markEpochLow] shared with the process main thread. */
  shared: Int32Array;
  timeOrigin: number;
}

type ToThread = { t: 'status' } | { t: 'report' } | { t: 'close' } | { t: 'mark'; atMs: number } | { t: 'go' };
type FromThread = { t: 'status'; status: FleetStatus } | { t: 'report'; report: FleetReport } | { t: 'closed' };

function threadMain(init: ThreadInit): void {
  const { config, shared } = init;
  const port = parentPort!;
  const status = emptyStatus();
  const hist = new Histogram();
  const callErrors: Record<string, number> = {};
  let messages = 0;
  let unexpectedFrames = 0;
  let backlogged = 0;
  let closing = false;
  let markAt = config.markAtMs;
  let slots = new Uint32Array(MAX_SLOTS);
  const K = Math.max(1, config.inFlight);

  // Weighted mix → a table of 100 frame suffixes, drawn with a counter (deterministic, no RNG per call).
  let meterTs = new Date().toISOString();
  const suffix = (action: MixAction): string => {
    switch (action) {
      case 'Heartbeat':
        return '","Heartbeat",{}]';
      case 'StatusNotification':
        return '","StatusNotification",{"connectorId":1,"errorCode":"NoError","status":"Available"}]';
      case 'MeterValues':
        return `","MeterValues",{"connectorId":1,"meterValue":[{"timestamp":"${meterTs}","sampledValue":[{"value":"12345","measurand":"Energy.Active.Import.Register","unit":"Wh"}]}]}]`;
    }
  };
  const weights = Object.entries(config.mix).filter(([, w]) => (w ?? 0) > 0) as [MixAction, number][];
  if (weights.length === 0) weights.push(['Heartbeat', 1]);
  const wsum = weights.reduce((s, [, w]) => s + w, 0);
  const table: MixAction[] = [];
  for (const [a, w] of weights) for (let i = 0; i < Math.round((w / wsum) * 100); i++) table.push(a);
  if (table.length === 0) table.push(weights[0]![0]);
  const suffixes = new Map<MixAction, string>();
  const refreshSuffixes = (): void => {
    meterTs = new Date().toISOString();
    for (const [a] of weights) suffixes.set(a, suffix(a));
  };
  refreshSuffixes();
  const tsTimer = setInterval(refreshSuffixes, 1000);
  let draw = 0;

  const stations: Station[] = [];
  const idle: Station[] = []; // open loop: booted stations with nothing in flight (round robin through a queue)
  let handshaking = 0;
  let nextToConnect = 0;

  class Station implements WsHandler {
    ws: WsClient | null = null;
    seq = 0;
    inFlight = 0;
    booted = false;
    failures = 0;
    retry: NodeJS.Timeout | null = null;
    handshaking = false;
    opened = false;
    readonly sentAt = new Float64Array(K);
    /** Which of `config.urls` it connects to (moves on after a failed connect or a lost connection). */
    node: number;
    constructor(readonly n: number) {
      this.node = n;
    }

    connect(): void {
      this.handshaking = true;
      handshaking++;
      const base = config.urls === undefined ? config.url : config.urls[this.node % config.urls.length]!;
      this.ws = new WsClient(`${base}BENCH-${this.n}`, ['ocpp1.6'], this, {
        localAddress: `127.0.0.${2 + (this.n % config.sourceAddresses)}`,
        handshakeTimeoutMs: config.connectTimeoutMs,
        skipUtf8Validation: true,
        closeTimeoutMs: 5000,
        ...(config.tls === undefined ? {} : { tls: config.tls }),
      });
    }

    send(): void {
      const id = ++this.seq;
      this.inFlight++;
      this.sentAt[id % K] = performance.now();
      this.ws!.send(`[2,"${id}${suffixes.get(table[draw++ % table.length]!)!}`);
    }

    wsOpen(ws: WsClient): void {
      status.open++;
      this.opened = true;
      this.inFlight = 1;
      this.sentAt[0] = performance.now();
      ws.send(BOOT_FRAME);
    }

    wsMessage(ws: WsClient, text: string): void {
      const type = text.charCodeAt(1) - 48; // '[2,"' … : the digit after '['
      const idEnd = text.indexOf('"', 4);
      if (text.charCodeAt(0) !== 91 || text.charCodeAt(3) !== 34 || idEnd < 0) {
        unexpectedFrames++;
        return;
      }
      const id = text.slice(4, idEnd);
      if (type === 2 && !config.echo) {
        // A CALL from the server (a command): answer at once.
        status.serverCalls++;
        ws.send(`[3,"${id}",{"status":"Accepted"}]`);
        return;
      }
      const now = performance.now();
      if (!this.booted) {
        if (id !== BOOT_ID) {
          unexpectedFrames++;
          return;
        }
        this.inFlight = 0;
        handshaking--;
        this.handshaking = false;
        if (config.echo ? type === 2 : type === 3 && text.includes('"Accepted"')) {
          this.booted = true;
          this.failures = 0;
          status.booted++;
          status.bootsSinceMark++;
          const at = performance.timeOrigin + now - markAt;
          status.lastBootMs = at;
          const slot = Math.floor(at / SLOT_MS);
          if (slot >= 0 && slot < MAX_SLOTS) slots[slot]!++;
          if (config.traffic === 'closed' && Atomics.load(shared, 0) !== PHASE_IDLE && Atomics.load(shared, 0) !== PHASE_STOP) for (let i = 0; i < K; i++) this.send();
          else if (config.traffic === 'open') idle.push(this);
        } else {
          status.bootRejected++;
          ws.close(1000);
        }
        return;
      }
      if (type !== 3 && !(config.echo && type === 2)) {
        const code = type === 4 ? (/^\[4,"[^"]*","([^"]*)"/.exec(text)?.[1] ?? 'CALLERROR') : `type${type}`;
        callErrors[code] = (callErrors[code] ?? 0) + 1;
      }
      if (this.inFlight === 0) {
        unexpectedFrames++;
        return;
      }
      this.inFlight--;
      const phase = Atomics.load(shared, 0);
      if (phase === PHASE_MEASURE) {
        messages++;
        hist.record((now - this.sentAt[Number(id) % K]!) * 1000);
      }
      if (phase === PHASE_WARMUP || phase === PHASE_MEASURE) {
        if (config.traffic === 'closed') this.send();
        else if (config.traffic === 'open' && this.inFlight === 0) idle.push(this);
      }
    }

    wsError(_ws: WsClient, error: WsError): void {
      if (error.code === 'HANDSHAKE_STATUS') {
        const key = String(error.status ?? 0);
        status.refused[key] = (status.refused[key] ?? 0) + 1;
      } else if (!this.booted) status.connectFailed++;
    }

    wsClose(ws: WsClient): void {
      if (this.ws !== ws) return;
      if (this.handshaking) {
        handshaking--;
        this.handshaking = false;
      }
      if (this.opened) status.open--;
      this.opened = false;
      if (this.booted) {
        status.booted--;
        this.booted = false;
        if (!closing) status.closedByServer++;
      }
      this.inFlight = 0;
      this.ws = null;
      if (!closing && config.reconnect !== null) {
        // Another node, at random: a dead node's stations spread over the rest (all on its neighbour would put
        // more on it than a process may hold here).
        this.node += 1 + Math.floor(Math.random() * Math.max(1, (config.urls?.length ?? 1) - 1));
        const { minDelayMs, maxDelayMs } = config.reconnect;
        const span = Math.min(maxDelayMs * 8, Math.max(minDelayMs, maxDelayMs) * 2 ** Math.min(this.failures, 3));
        this.failures++;
        this.retry = setTimeout(() => {
          this.retry = null;
          if (!closing) pending.push(this);
        }, minDelayMs + Math.random() * (span - minDelayMs));
      }
    }
  }

  // Stations waiting to (re)connect, started at the configured rate and concurrency.
  const pending: Station[] = [];
  let budget = 0;
  let lastTick = performance.now();
  const perThreadRate = config.connectPerS / config.threads;
  const perThreadConcurrency = Math.max(1, Math.floor(config.concurrency / config.threads));
  const perThreadOpenRate = config.ratePerS / config.threads;
  let sendBudget = 0;
  const tick = (): void => {
    const now = performance.now();
    const dt = (now - lastTick) / 1000;
    lastTick = now;
    budget = perThreadRate > 0 ? Math.min(budget + dt * perThreadRate, Math.max(1, perThreadRate / 20)) : Infinity;
    while (budget >= 1 && handshaking < perThreadConcurrency && !closing) {
      let st: Station | undefined;
      if (nextToConnect < init.count) {
        st = new Station(init.first + nextToConnect++);
        stations.push(st);
      } else st = pending.shift();
      if (st === undefined) break;
      budget -= 1;
      st.connect();
    }
    if (budget === Infinity) budget = 0;
    if (config.traffic === 'open') {
      const phase = Atomics.load(shared, 0);
      if (phase === PHASE_WARMUP || phase === PHASE_MEASURE) {
        sendBudget = Math.min(sendBudget + dt * perThreadOpenRate, perThreadOpenRate); // at most 1 s of backlog
        let sent = 0;
        while (sendBudget >= 1 && sent < 100_000) {
          const st = idle.shift();
          if (st === undefined) {
            backlogged += Math.floor(sendBudget);
            sendBudget -= Math.floor(sendBudget);
            break;
          }
          if (!st.booted || st.ws === null || st.inFlight > 0) continue;
          sendBudget -= 1;
          sent++;
          st.send();
        }
      } else sendBudget = 0;
    }
  };
  const timer = setInterval(tick, 5);

  port.on('message', (message: ToThread) => {
    if (message.t === 'go') {
      if (config.traffic === 'closed') for (const st of stations) if (st.booted && st.inFlight === 0) for (let i = 0; i < K; i++) st.send();
    } else if (message.t === 'mark') {
      markAt = message.atMs;
      slots = new Uint32Array(MAX_SLOTS);
      status.bootsSinceMark = 0;
      status.lastBootMs = 0;
    } else if (message.t === 'status') {
      port.postMessage({ t: 'status', status: { ...status, refused: { ...status.refused } } } satisfies FromThread);
    } else if (message.t === 'report') {
      let last = slots.length;
      while (last > 0 && slots[last - 1] === 0) last--;
      let inFlight = 0;
      for (const st of stations) if (st.booted) inFlight += st.inFlight;
      port.postMessage({
        t: 'report',
        report: { ...status, messages, callErrors, unexpectedFrames, backlogged, unanswered: inFlight, latencyUs: hist.snapshot(), bootSlots: Array.from(slots.subarray(0, last)) },
      } satisfies FromThread);
    } else if (message.t === 'close') {
      closing = true;
      clearInterval(timer);
      clearInterval(tsTimer);
      // Cut every connection (TCP reset / FIN without a closing handshake): the scenario is over.
      for (const st of stations) {
        if (st.retry !== null) clearTimeout(st.retry);
        st.ws?.terminate();
      }
      setImmediate(() => port.postMessage({ t: 'closed' } satisfies FromThread));
    }
  });
}

// ───────────────────────────── process main ─────────────────────────────

function sendToParent(message: unknown): void {
  process.send?.(message);
}

function ask<T extends FromThread['t']>(workers: Worker[], message: ToThread, reply: T, timeoutMs: number): Promise<Extract<FromThread, { t: T }>[]> {
  return replyFromEach<FromThread, T>(workers, reply, timeoutMs, 'fleet generator', message);
}

function addCounts(into: Record<string, number>, from: Record<string, number>): void {
  for (const [k, v] of Object.entries(from)) into[k] = (into[k] ?? 0) + v;
}

function mergeStatus(list: FleetStatus[]): FleetStatus {
  const s = emptyStatus();
  for (const x of list) {
    s.booted += x.booted;
    s.open += x.open;
    s.bootsSinceMark += x.bootsSinceMark;
    s.lastBootMs = Math.max(s.lastBootMs, x.lastBootMs);
    addCounts(s.refused, x.refused);
    s.connectFailed += x.connectFailed;
    s.closedByServer += x.closedByServer;
    s.bootRejected += x.bootRejected;
    s.serverCalls += x.serverCalls;
  }
  return s;
}

/** Merges the reports of several threads (or processes). */
export function mergeReports(list: FleetReport[]): FleetReport {
  const hist = new Histogram();
  const callErrors: Record<string, number> = {};
  const slots: number[] = [];
  let messages = 0;
  let unexpectedFrames = 0;
  let backlogged = 0;
  let unanswered = 0;
  for (const r of list) {
    hist.merge(r.latencyUs);
    addCounts(callErrors, r.callErrors);
    messages += r.messages;
    unexpectedFrames += r.unexpectedFrames;
    backlogged += r.backlogged;
    unanswered += r.unanswered;
    for (let i = 0; i < r.bootSlots.length; i++) slots[i] = (slots[i] ?? 0) + r.bootSlots[i]!;
  }
  return { ...mergeStatus(list), messages, callErrors, unexpectedFrames, backlogged, unanswered, latencyUs: hist.snapshot(), bootSlots: slots };
}

async function processMain(config: FleetConfig): Promise<void> {
  const shared = new Int32Array(new SharedArrayBuffer(8));
  const workers: Worker[] = [];
  const per = Math.ceil(config.stations / config.threads);
  for (let i = 0; i < config.threads; i++) {
    const init: ThreadInit & { fleetGenerator: true } = { fleetGenerator: true, config, first: config.firstStation + i * per, count: Math.max(0, Math.min(per, config.stations - i * per)), shared, timeOrigin: performance.timeOrigin };
    const worker = new Worker(new URL(import.meta.url), { workerData: init });
    worker.on('error', (error) => {
      sendToParent({ t: 'error', message: `fleet generator thread ${i}: ${error.stack ?? error.message}` });
      process.exit(1);
    });
    workers.push(worker);
  }
  sendToParent({ t: 'started' });
  process.on('message', (message: { t: string; phase?: number; atMs?: number }) => {
    const run = async (): Promise<void> => {
      switch (message.t) {
        case 'phase': {
          const before = Atomics.load(shared, 0);
          Atomics.store(shared, 0, message.phase!);
          if (before === PHASE_IDLE && message.phase === PHASE_WARMUP) for (const w of workers) w.postMessage({ t: 'go' } satisfies ToThread);
          sendToParent({ t: 'phase' });
          break;
        }
        case 'mark':
          for (const w of workers) w.postMessage({ t: 'mark', atMs: message.atMs! } satisfies ToThread);
          sendToParent({ t: 'marked' });
          break;
        case 'status': {
          const replies = await ask(workers, { t: 'status' }, 'status', 10_000);
          sendToParent({ t: 'status', status: mergeStatus(replies.map((r) => r.status)) });
          break;
        }
        case 'report': {
          const replies = await ask(workers, { t: 'report' }, 'report', 10_000);
          sendToParent({ t: 'report', report: mergeReports(replies.map((r) => r.report)) });
          break;
        }
        case 'close':
          await ask(workers, { t: 'close' }, 'closed', 15_000).catch(() => undefined);
          await Promise.all(workers.map((w) => w.terminate()));
          sendToParent({ t: 'closed' });
          process.disconnect?.();
          break;
      }
    };
    run().catch((error: unknown) => sendToParent({ t: 'error', message: error instanceof Error ? (error.stack ?? error.message) : String(error) }));
  });
}

// Imported by scenario-run.ts for its types and mergeReports: only the forked process and its threads run.
const isEntry = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (isMainThread && isEntry) {
  if (process.send === undefined) {
    process.stderr.write('fleet-generator: run it through bench/run.ts (it is driven over IPC)\n');
    process.exit(2);
  }
  process.once('message', (message: { t: string; config: FleetConfig }) => {
    if (message.t !== 'start') return;
    processMain(message.config).catch((error: unknown) => {
      sendToParent({ t: 'error', message: error instanceof Error ? (error.stack ?? error.message) : String(error) });
      process.exitCode = 1;
      process.disconnect?.();
    });
  });
} else if (!isMainThread && (workerData as { fleetGenerator?: boolean } | null)?.fleetGenerator === true) {
  threadMain(workerData as ThreadInit);
}
