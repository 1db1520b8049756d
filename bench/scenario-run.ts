/**
 * Runs a scenario file (bench/scenarios/<name>.json, format in scenario-schema.ts) against each of its targets in
 * turn, in one run: the router (`npm start` command line), the raw uWS echo floor and the ocpp-rpc peer. Prints a
 * table with the conditions and appends one JSON line to bench/results/results.jsonl (scenario, every parameter,
 * git revision, Node version, CPU model, cores, results per target, ratios to the baselines).
 *
 * Accounting: server CPU = utime + stime of the server process (all threads) from /proc/<pid>/stat at the window
 * edges; load generator CPU the same for each generator process (and this process for HTTP clients); RSS from
 * /proc/<pid>/status; event-loop delay from the router's own /metrics (`ocpp_event_loop_delay_seconds`, reset at
 * every scrape: one scrape opens the window, one closes it); latency in a log-bucketed histogram (histogram.ts).
 */
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, existsSync, mkdtempSync } from 'node:fs';
import { join, basename } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Pool } from 'undici';
import { DIST, ROOT, fmt, isRouter, machine, save, sleep, startServer, table, type Server, type Target } from './harness.js';
import { processCpuSplit, processMemory, threadCpu, threadCpuDelta, type CpuSplit } from './proc.js';
import { Histogram, type HistogramSummary } from './histogram.js';
import { mergeReports, PHASE_MEASURE, PHASE_STOP, PHASE_WARMUP, type FleetConfig, type FleetReport, type FleetStatus } from './fleet-generator.js';
import { parseScenario, type ClusterScenario, type ExternalScenario, type FanoutScenario, type FleetScenario, type Scenario, type StormScenario } from './scenario-schema.js';
import { runCluster } from './cluster-run.js';
import { writeLegacyStations } from './prefill.js';

export const SCENARIO_DIR = join(ROOT, 'bench', 'scenarios');
const MAX_PER_PROC = 15_000;

/** Loads and validates bench/scenarios/<name>.json (or a path ending in .json). */
export function loadScenario(nameOrPath: string): { name: string; scenario: Scenario } {
  const path = nameOrPath.endsWith('.json') ? nameOrPath : join(SCENARIO_DIR, `${nameOrPath}.json`);
  if (!existsSync(path)) throw new Error(`no scenario ${nameOrPath} (looked for ${path})`);
  const name = basename(path, '.json');
  return { name, scenario: parseScenario(JSON.parse(readFileSync(path, 'utf8')), name) };
}

/** Command-line overrides, applied before validation. */
function applyOverrides(raw: Record<string, unknown>, flags: Map<string, string>): Record<string, unknown> {
  const out = { ...raw };
  const num = (flag: string, key: string): void => {
    const v = flags.get(flag);
    if (v !== undefined) out[key] = Number(v);
  };
  num('stations', 'stations');
  num('duration-s', 'durationS');
  num('warmup-s', 'warmupS');
  num('rate', 'ratePerS');
  num('in-flight', 'inFlight');
  num('commands', 'commands');
  num('workers', 'workers');
  num('lg-procs', 'lgProcs');
  num('lg-threads', 'lgThreads');
  num('timeout-s', 'timeoutS');
  num('concurrency', 'concurrency');
  num('connect-per-s', 'connectPerS');
  const t = flags.get('targets');
  if (t !== undefined) out.targets = t.split(',').map((s) => s.trim());
  return out;
}

// ───────────────────────────── load generator processes ─────────────────────────────

class GenProcess {
  readonly child: ChildProcess;
  readonly exited: Promise<void>;
  #queue: { t: string; message?: string }[] = [];
  #waiters: (() => void)[] = [];
  #gone = false;

  constructor(config: FleetConfig) {
    this.child = fork(join(DIST, 'bench', 'fleet-generator.js'), [], { execArgv: [], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.child.on('message', (m: { t: string }) => {
      this.#queue.push(m);
      for (const w of this.#waiters.splice(0)) w();
    });
    this.exited = new Promise((r) => this.child.once('exit', () => {
      this.#gone = true;
      for (const w of this.#waiters.splice(0)) w();
      r();
    }));
    this.child.send({ t: 'start', config });
  }

  async request<T>(message: object | null, reply: string, timeoutMs = 20_000): Promise<T> {
    if (message !== null) this.child.send(message);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = this.#queue.findIndex((m) => m.t === reply || m.t === 'error');
      if (i >= 0) {
        const [m] = this.#queue.splice(i, 1);
        if (m!.t === 'error') throw new Error(m!.message);
        return m as T;
      }
      if (this.#gone) throw new Error(`fleet generator exited before '${reply}'`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`fleet generator: no '${reply}' after ${timeoutMs} ms`);
      await new Promise<void>((r) => {
        const timer = setTimeout(r, left);
        this.#waiters.push(() => {
          clearTimeout(timer);
          r();
        });
      });
    }
  }
}

export class Fleet {
  readonly procs: GenProcess[] = [];
  constructor(
    s: FleetScenario | StormScenario | FanoutScenario | ClusterScenario,
    url: string,
    echo: boolean,
    traffic: FleetConfig['traffic'],
    reconnect: FleetConfig['reconnect'],
    markAtMs: number,
    /** Several nodes of one central system: station n starts on urls[n % length]. */
    urls?: string[],
    /** wss:// targets (router-tls, router-front): what the stations trust and present. */
    tls?: FleetConfig['tls'],
  ) {
    const procs = Math.max(s.lgProcs, Math.ceil(s.stations / MAX_PER_PROC));
    const per = Math.ceil(s.stations / procs);
    const sourceAddresses = Math.min(250, Math.max(1, Math.ceil(s.stations / 2000)));
    for (let p = 0; p < procs; p++) {
      const count = Math.max(0, Math.min(per, s.stations - p * per));
      this.procs.push(
        new GenProcess({
          url,
          ...(urls !== undefined ? { urls } : {}),
          ...(tls !== undefined ? { tls } : {}),
          firstStation: 1 + p * per,
          stations: count,
          threads: s.lgThreads,
          sourceAddresses,
          echo,
          traffic,
          ratePerS: s.kind === 'fleet' || s.kind === 'cluster' ? s.ratePerS / procs : 0,
          inFlight: s.kind === 'fleet' ? s.inFlight : 1,
          mix: s.kind === 'fleet' || s.kind === 'cluster' ? s.mix : { Heartbeat: 1 },
          connectPerS: s.connectPerS / procs,
          concurrency: Math.max(1, Math.floor(s.concurrency / procs)),
          connectTimeoutMs: s.connectTimeoutMs,
          reconnect,
          markAtMs,
        }),
      );
    }
  }

  pids(): number[] {
    return this.procs.map((p) => p.child.pid!);
  }

  async started(): Promise<void> {
    await Promise.all(this.procs.map((p) => p.request(null, 'started')));
  }

  async all(message: object, reply: string): Promise<void> {
    await Promise.all(this.procs.map((p) => p.request(message, reply)));
  }

  async status(): Promise<FleetStatus> {
    const list = await Promise.all(this.procs.map((p) => p.request<{ status: FleetStatus }>({ t: 'status' }, 'status')));
    return mergeReports(list.map((l) => ({ ...l.status, messages: 0, callErrors: {}, unexpectedFrames: 0, backlogged: 0, unanswered: 0, latencyUs: new Histogram().snapshot(), bootSlots: [] })));
  }

  async report(): Promise<FleetReport> {
    const list = await Promise.all(this.procs.map((p) => p.request<{ report: FleetReport }>({ t: 'report' }, 'report')));
    return mergeReports(list.map((l) => l.report));
  }

  async close(): Promise<void> {
    await Promise.race([Promise.all(this.procs.map((p) => p.request({ t: 'close' }, 'closed', 30_000).catch(() => undefined))), sleep(35_000)]);
    await Promise.race([Promise.all(this.procs.map((p) => p.exited)), sleep(5000)]);
    for (const p of this.procs) if (p.child.exitCode === null) p.child.kill('SIGKILL');
  }
}

/** Polls until every station is booted (or settled as failed), the deadline passes, or the server dies. */
export async function waitBooted(fleet: Fleet, server: Server, stations: number, deadlineMs: number, countFailures: boolean): Promise<FleetStatus> {
  let st = await fleet.status();
  while (Date.now() < deadlineMs && !server.exited()) {
    const failed = countFailures ? st.connectFailed + st.bootRejected + Object.values(st.refused).reduce((a, b) => a + b, 0) : 0;
    if (st.booted + failed >= stations) break;
    await sleep(100);
    st = await fleet.status();
  }
  return st;
}

// ───────────────────────────── accounting ─────────────────────────────

export function cpuOf(pids: number[]): CpuSplit {
  const out = { userS: 0, systemS: 0 };
  for (const pid of pids) {
    try {
      const c = processCpuSplit(pid);
      out.userS += c.userS;
      out.systemS += c.systemS;
    } catch {
      /* gone */
    }
  }
  return out;
}

const cpuDelta = (a: CpuSplit, b: CpuSplit): CpuSplit => ({ userS: +(b.userS - a.userS).toFixed(2), systemS: +(b.systemS - a.systemS).toFixed(2) });

type LoopDelay = Record<string, Record<string, number>>;

/** Scrapes the router's /metrics; returns ocpp_event_loop_delay_seconds by thread and stat (mean, p99, max). */
async function scrapeLoopDelay(server: Server): Promise<LoopDelay | null> {
  if (!isRouter(server.target)) return null;
  try {
    const res = await fetch(`http://127.0.0.1:${server.port}/metrics`, { signal: AbortSignal.timeout(10_000) });
    const text = await res.text();
    const out: LoopDelay = {};
    for (const m of text.matchAll(/^ocpp_event_loop_delay_seconds\{([^}]*)\}\s+(\S+)$/gm)) {
      const labels = Object.fromEntries([...m[1]!.matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
      (out[labels.thread ?? '?'] ??= {})[labels.stat ?? '?'] = Number(m[2]);
    }
    return out;
  } catch {
    return null;
  }
}

/** The control plane's loop delay p99/max in ms (what a registry save or load blocks). */
function controlLoop(d: LoopDelay | null): string {
  const c = d?.control;
  return c === undefined ? '-' : `${fmt((c.p99 ?? NaN) * 1000, 0)}/${fmt((c.max ?? NaN) * 1000, 0)}`;
}

/** The store's commits and committed records so far (null without a store). */
async function scrapeStore(server: Server): Promise<{ commits: number; records: number; events: number } | null> {
  if (!isRouter(server.target)) return null;
  try {
    const text = await (await fetch(`http://127.0.0.1:${server.port}/metrics`, { signal: AbortSignal.timeout(10_000) })).text();
    const commits = /^ocpp_store_commits_total\{[^}]*\} (\S+)$/m.exec(text);
    const records = /^ocpp_store_records_total\{outcome="committed"\} (\S+)$/m.exec(text);
    const events = /^ocpp_nats_events_published_total (\S+)$/m.exec(text);
    return commits === null || records === null ? null : { commits: Number(commits[1]), records: Number(records[1]), events: events === null ? 0 : Number(events[1]) };
  } catch {
    return null;
  }
}

/** Largest p99 (ms) over the shard threads. */
function worstLoopP99Ms(d: LoopDelay | null): number {
  if (d === null) return NaN;
  let worst = NaN;
  for (const [thread, stats] of Object.entries(d)) if (thread !== 'control' && stats.p99 !== undefined) worst = Number.isNaN(worst) ? stats.p99 * 1000 : Math.max(worst, stats.p99 * 1000);
  return worst;
}

function us(summary: HistogramSummary): Record<string, number> {
  return { p50: summary.p50, p95: summary.p95, p99: summary.p99, p999: summary.p999, max: summary.max, mean: +summary.mean.toFixed(1), samples: summary.samples };
}

const sumValues = (o: Record<string, number>): number => Object.values(o).reduce((a, b) => a + b, 0);

async function settleRss(pid: number, maxS: number): Promise<number> {
  const samples: number[] = [];
  for (let i = 0; i < maxS * 2; i++) {
    samples.push(processMemory(pid).vmRssBytes);
    if (samples.length >= 4) {
      const last = samples.slice(-4);
      if (Math.max(...last) - Math.min(...last) <= 512 * 1024) break;
    }
    await sleep(500);
  }
  return samples.at(-1)!;
}

// ───────────────────────────── fleet ─────────────────────────────

interface FleetTargetResult {
  target: Target;
  connected: number;
  connectS: number;
  measuredS: number;
  messages: number;
  msgsPerS: number;
  latencyUs: Record<string, number>;
  serverCpu: CpuSplit;
  /** Per thread (`<tid> <name>`), threads without CPU in the window left out. */
  serverThreads: Record<string, CpuSplit>;
  serverCpuUsPerMsg: number;
  serverUserUsPerMsg: number;
  serverCores: number;
  loadGenCpu: CpuSplit;
  loadGenCores: number;
  rssBeforeBytes: number;
  rssAfterBytes: number;
  rssPerStationBytes: number;
  eventLoopDelayS: LoopDelay | null;
  /** Store commits and committed records in the window (router with a store). */
  store?: { commits: number; records: number; recordsPerCommit: number };
  /** Events stored in the JetStream stream in the window (router-events). */
  eventsPublished?: number;
  errors: Record<string, number>;
}

async function runFleet(name: string, s: FleetScenario, workDir: string, noSave: boolean, cpuProfDir: string | null): Promise<void> {
  const facts = machine();
  const results: FleetTargetResult[] = [];
  for (const target of s.targets) {
    process.stdout.write(`${name}: ${target}, ${s.stations} stations, ${s.traffic === 'open' ? `${s.ratePerS} msgs/s open loop` : `${s.inFlight} in flight per station`}, warmup ${s.warmupS} s, measure ${s.durationS} s …\n`);
    const server = await startServer(target, { workers: s.workers, workDir, cpuProfDir: isRouter(target) ? cpuProfDir : null });
    let fleet: Fleet | null = null;
    try {
      const rssBefore = await settleRss(server.pid, 5);
      const t0 = performance.now();
      fleet = new Fleet(s, server.url, target === 'floor', s.traffic, null, performance.timeOrigin + t0, undefined, server.tls);
      await fleet.started();
      const connectBudget = (s.connectPerS > 0 ? s.stations / s.connectPerS : 0) * 1000 + s.connectTimeoutMs + 60_000;
      const st = await waitBooted(fleet, server, s.stations, Date.now() + connectBudget, true);
      const connectS = (performance.now() - t0) / 1000;
      process.stdout.write(`  ${st.booted} booted in ${fmt(connectS, 1)} s\n`);
      await fleet.all({ t: 'phase', phase: PHASE_WARMUP }, 'phase');
      await sleep(s.warmupS * 1000);
      await scrapeLoopDelay(server); // resets the router's loop-delay window
      const store0 = await scrapeStore(server);
      const lgPids = fleet.pids();
      const srv0 = cpuOf([server.pid]);
      const threads0 = threadCpu(server.pid);
      const lg0 = cpuOf(lgPids);
      const w0 = performance.now();
      await fleet.all({ t: 'phase', phase: PHASE_MEASURE }, 'phase');
      await sleep(s.durationS * 1000);
      await fleet.all({ t: 'phase', phase: PHASE_STOP }, 'phase');
      const w1 = performance.now();
      const srv1 = cpuOf([server.pid]);
      const serverThreads = threadCpuDelta(threads0, threadCpu(server.pid));
      const lg1 = cpuOf(lgPids);
      const loop = await scrapeLoopDelay(server);
      const store1 = await scrapeStore(server);
      const rssAfter = processMemory(server.pid).vmRssBytes;
      await sleep(200); // answers in flight at STOP are not counted, and not sent again
      const r = await fleet.report();
      const measuredS = (w1 - w0) / 1000;
      const serverCpu = cpuDelta(srv0, srv1);
      const loadGenCpu = cpuDelta(lg0, lg1);
      const hist = Histogram.from(r.latencyUs);
      const errors: Record<string, number> = { ...r.callErrors, unexpectedFrames: r.unexpectedFrames, connectFailed: r.connectFailed, bootRejected: r.bootRejected, closedByServer: r.closedByServer, ...Object.fromEntries(Object.entries(r.refused).map(([k, v]) => [`refused${k}`, v])) };
      for (const k of Object.keys(errors)) if (errors[k] === 0) delete errors[k];
      const cpuS = serverCpu.userS + serverCpu.systemS;
      results.push({
        target,
        connected: st.booted,
        connectS,
        measuredS,
        messages: r.messages,
        msgsPerS: r.messages / measuredS,
        latencyUs: us(hist.summary()),
        serverCpu,
        serverThreads,
        serverCpuUsPerMsg: (cpuS / r.messages) * 1e6,
        serverUserUsPerMsg: (serverCpu.userS / r.messages) * 1e6,
        serverCores: cpuS / measuredS,
        loadGenCpu,
        loadGenCores: (loadGenCpu.userS + loadGenCpu.systemS) / measuredS,
        rssBeforeBytes: rssBefore,
        rssAfterBytes: rssAfter,
        rssPerStationBytes: (rssAfter - rssBefore) / Math.max(1, st.booted),
        eventLoopDelayS: loop,
        ...(store0 !== null && store1 !== null ? { store: { commits: store1.commits - store0.commits, records: store1.records - store0.records, recordsPerCommit: +((store1.records - store0.records) / Math.max(1, store1.commits - store0.commits)).toFixed(1) }, eventsPublished: store1.events - store0.events } : {}),
        errors: { ...errors, ...(r.backlogged > 0 ? { backlogged: r.backlogged } : {}) },
      });
      if (server.exited()) results.at(-1)!.errors.serverCrashed = 1;
    } finally {
      await fleet?.close();
      await server.stop();
    }
  }
  const by = (t: Target): FleetTargetResult | undefined => results.find((r) => r.target === t);
  const ratio = (t: Target, f: (r: FleetTargetResult) => number): number => {
    const a = by('router');
    const b = by(t);
    return a !== undefined && b !== undefined ? f(a) / f(b) : NaN;
  };
  const ratios = {
    cpuPerMsgRouterOverFloor: ratio('floor', (r) => r.serverCpuUsPerMsg),
    cpuPerMsgRouterOverOcppRpc: ratio('ocpp-rpc', (r) => r.serverCpuUsPerMsg),
    userCpuPerMsgRouterOverFloor: ratio('floor', (r) => r.serverUserUsPerMsg),
    rssPerStationRouterOverFloor: ratio('floor', (r) => r.rssPerStationBytes),
    rssPerStationRouterOverOcppRpc: ratio('ocpp-rpc', (r) => r.rssPerStationBytes),
    p99RouterOverFloor: ratio('floor', (r) => r.latencyUs.p99!),
    cpuPerMsgRouterOverBaseline: ratio('router-baseline', (r) => r.serverCpuUsPerMsg),
    p99RouterOverBaseline: ratio('router-baseline', (r) => r.latencyUs.p99!),
    cpuPerMsgStoreOnOverOff: ratio('router-nostore', (r) => r.serverCpuUsPerMsg),
    cpuPerMsgEventsOnOverOff: by('router-events') !== undefined && by('router') !== undefined ? by('router-events')!.serverCpuUsPerMsg / by('router')!.serverCpuUsPerMsg : NaN,
    p99StoreOnOverOff: ratio('router-nostore', (r) => r.latencyUs.p99!),
  };
  const conditions = `${name}: ${s.stations} stations, ${s.traffic === 'open' ? `open loop ${s.ratePerS} msgs/s` : `closed loop, ${s.inFlight} in flight per station`}, mix ${JSON.stringify(s.mix)}, warmup ${s.warmupS} s, window ${s.durationS} s, router WORKERS=${s.workers}, load generators ${Math.max(s.lgProcs, Math.ceil(s.stations / MAX_PER_PROC))} proc × ${s.lgThreads} thread | ${String(facts.cpuModel)}, ${String(facts.cores)} cores, Node ${String(facts.node)}, git ${String(facts.gitRev)}${facts.gitDirty === true ? '+dirty' : ''}`;
  process.stdout.write(`\n${conditions}\n`);
  process.stdout.write(
    `${table(
      ['server', 'stations', 'msgs/s', 'p50 µs', 'p95 µs', 'p99 µs', 'p99.9 µs', 'CPU µs/msg', 'user µs/msg', 'server cores', 'RSS B/station', 'loop p99 ms', 'LG cores', 'errors'],
      results.map((r) => [r.target, r.connected, fmt(r.msgsPerS, 0), fmt(r.latencyUs.p50!, 0), fmt(r.latencyUs.p95!, 0), fmt(r.latencyUs.p99!, 0), fmt(r.latencyUs.p999!, 0), fmt(r.serverCpuUsPerMsg), fmt(r.serverUserUsPerMsg), fmt(r.serverCores), fmt(r.rssPerStationBytes, 0), fmt(worstLoopP99Ms(r.eventLoopDelayS), 2), fmt(r.loadGenCores), sumValues(r.errors)]),
    )}\n`,
  );
  process.stdout.write(`CPU per message: router/floor ${fmt(ratios.cpuPerMsgRouterOverFloor)}× (target ≤ 1.3×), router/ocpp-rpc ${fmt(ratios.cpuPerMsgRouterOverOcppRpc)}× (target ≤ 0.5×); user CPU router/floor ${fmt(ratios.userCpuPerMsgRouterOverFloor)}×\n`);
  if (!Number.isNaN(ratios.cpuPerMsgRouterOverBaseline)) process.stdout.write(`router/router-baseline (${process.env.BENCH_BASELINE_DIR}): CPU per message ${fmt(ratios.cpuPerMsgRouterOverBaseline)}×, p99 ${fmt(ratios.p99RouterOverBaseline)}×\n`);
  if (!Number.isNaN(ratios.cpuPerMsgEventsOnOverOff)) process.stdout.write(`events on/off (router-events/router): CPU per message ${fmt(ratios.cpuPerMsgEventsOnOverOff)}×\n`);
  if (!Number.isNaN(ratios.cpuPerMsgStoreOnOverOff)) process.stdout.write(`store on/off (router/router-nostore): CPU per message ${fmt(ratios.cpuPerMsgStoreOnOverOff)}× (target ≤ 1.3×), p99 ${fmt(ratios.p99StoreOnOverOff)}×\n`);
  for (const r of results) {
    const threads = Object.entries(r.serverThreads).map(([k, v]) => `${k} ${v.userS}u+${v.systemS}s`).join(', ');
    process.stdout.write(`${r.target} CPU by thread: ${threads}\n`);
    if (r.store !== undefined) process.stdout.write(`${r.target} store: ${r.store.commits} commits, ${r.store.records} records (${r.store.recordsPerCommit} per commit) in the window\n`);
    if (r.eventsPublished !== undefined && r.eventsPublished > 0) process.stdout.write(`${r.target} events published to JetStream: ${r.eventsPublished} (${fmt(r.eventsPublished / r.measuredS, 0)}/s)\n`);
    if (sumValues(r.errors) > 0) process.stdout.write(`${r.target} errors: ${JSON.stringify(r.errors)}\n`);
  }
  if (cpuProfDir !== null) process.stdout.write(`router CPU profiles (whole run, connect and warmup included): ${cpuProfDir}\n  node dist/bench/cpuprofile-top.js ${cpuProfDir}/<file> --top 30\n`);
  save(noSave || cpuProfDir !== null, { scenario: name, kind: s.kind, params: s, ...facts, results, ratios, note: 'message = one CALL round trip; server CPU = utime+stime of the server process (/proc) over the window; RSS per station = (VmRSS after the window - VmRSS before connecting) / booted, not settled (see idle-rss for the settled figure); latency in µs from a log-bucketed histogram (≤ 0.8 % bucket width)' });
}

// ───────────────────────────── boot and reconnect storms ─────────────────────────────

interface StormTargetResult {
  target: Target;
  stations: number;
  admitted: number;
  lost: number;
  timeToAllS: number;
  peakAcceptPerS: number;
  refused: Record<string, number>;
  connectFailed: number;
  bootRejected: number;
  serverCrashed: boolean;
  serverCpuS: number;
  loadGenCpuS: number;
  rssPerStationBytes: number;
  /** reconnect-storm: time to stop the server (SIGTERM → exit) and to start it again (spawn → listening). */
  stopS?: number;
  restartS?: number;
  eventLoopDelayS: LoopDelay | null;
  /** reconnect-storm with holdS: the loop delay over the hold (all stations connected, periodic registry saves). */
  holdLoopDelayS?: LoopDelay | null;
}

async function runStorm(name: string, s: StormScenario, workDir: string, noSave: boolean): Promise<void> {
  const facts = machine();
  const results: StormTargetResult[] = [];
  for (const target of s.targets) {
    process.stdout.write(`${name}: ${target}, ${s.stations} stations, ${s.concurrency} handshakes in flight at most${s.connectPerS > 0 ? `, ${s.connectPerS}/s` : ''} …\n`);
    let prefillDir: string | undefined;
    if (s.prefillStations > 0) {
      prefillDir = mkdtempSync(join(workDir, 'data-'));
      const bytes = writeLegacyStations(prefillDir, s.prefillStations);
      process.stdout.write(`  ${s.prefillStations} stations known beforehand (stations.json, ${fmt(bytes / 1e6, 1)} MB)\n`);
    }
    let server = await startServer(target, { workers: s.workers, workDir, cpuProfDir: null, ...(prefillDir !== undefined ? { dataDir: prefillDir } : {}) });
    let fleet: Fleet | null = null;
    try {
      const rssBefore = await settleRss(server.pid, 5);
      let t0 = performance.now();
      const boot = s.kind === 'boot-storm';
      await scrapeLoopDelay(server);
      let srv0 = cpuOf([server.pid]);
      fleet = new Fleet(s, server.url, target === 'floor', 'hold', s.reconnect, performance.timeOrigin + t0, undefined, server.tls);
      await fleet.started();
      let lg0 = cpuOf(fleet.pids());
      let st = await waitBooted(fleet, server, s.stations, Date.now() + s.timeoutS * 1000, false);
      let stopS: number | undefined;
      let restartS: number | undefined;
      if (!boot) {
        process.stdout.write(`  ${st.booted} booted in ${fmt((performance.now() - t0) / 1000, 1)} s; restarting the server …\n`);
        const port = server.port;
        const dataDir = server.dataDir;
        t0 = performance.now();
        await fleet.all({ t: 'mark', atMs: performance.timeOrigin + t0 }, 'marked');
        await server.stop();
        stopS = (performance.now() - t0) / 1000;
        const r0 = performance.now();
        server = await startServer(target, { workers: s.workers, workDir, cpuProfDir: null, port, ...(dataDir !== '' ? { dataDir } : {}) });
        restartS = (performance.now() - r0) / 1000;
        // The router's metrics (and its loop-delay monitors) start with the first scrape: start them now, so the
        // scrape after the storm covers it.
        await scrapeLoopDelay(server);
        srv0 = cpuOf([server.pid]);
        lg0 = cpuOf(fleet.pids());
        st = await waitBooted(fleet, server, s.stations, Date.now() + s.timeoutS * 1000, false);
      }
      const srv1 = cpuOf([server.pid]);
      const lg1 = cpuOf(fleet.pids());
      const loop = await scrapeLoopDelay(server);
      let holdLoop: LoopDelay | null | undefined;
      if (!boot && s.holdS > 0) {
        process.stdout.write(`  all back; holding ${s.holdS} s …\n`);
        await sleep(s.holdS * 1000);
        holdLoop = await scrapeLoopDelay(server);
      }
      const rssAfter = processMemory(server.pid).vmRssBytes;
      const r = await fleet.report();
      const peakSlot = r.bootSlots.reduce((a, b) => Math.max(a, b), 0);
      const d = (a: CpuSplit, b: CpuSplit): number => b.userS + b.systemS - a.userS - a.systemS;
      results.push({
        target,
        stations: s.stations,
        admitted: r.booted,
        lost: s.stations - r.booted,
        timeToAllS: r.booted === s.stations ? r.lastBootMs / 1000 : NaN,
        peakAcceptPerS: peakSlot * 10,
        refused: r.refused,
        connectFailed: r.connectFailed,
        bootRejected: r.bootRejected,
        serverCrashed: server.exited(),
        serverCpuS: +d(srv0, srv1).toFixed(2),
        loadGenCpuS: +d(lg0, lg1).toFixed(2),
        rssPerStationBytes: boot ? (rssAfter - rssBefore) / Math.max(1, r.booted) : NaN,
        ...(stopS !== undefined ? { stopS, restartS } : {}),
        eventLoopDelayS: loop,
        ...(holdLoop !== undefined ? { holdLoopDelayS: holdLoop } : {}),
      });
    } finally {
      await fleet?.close();
      await server.stop();
    }
  }
  const conditions = `${name}: ${s.stations} stations${s.prefillStations > 0 ? ` (${s.prefillStations} known)` : ''}, ${s.concurrency} handshakes in flight at most${s.connectPerS > 0 ? `, ${s.connectPerS} connections/s` : ', no rate limit'}, retry after ${s.reconnect.minDelayMs}–${s.reconnect.maxDelayMs} ms (doubling), router WORKERS=${s.workers}, load generators ${Math.max(s.lgProcs, Math.ceil(s.stations / MAX_PER_PROC))} proc × ${s.lgThreads} thread | ${String(facts.cpuModel)}, ${String(facts.cores)} cores, Node ${String(facts.node)}, git ${String(facts.gitRev)}${facts.gitDirty === true ? '+dirty' : ''}`;
  process.stdout.write(`\n${conditions}\n`);
  const headers = ['server', 'stations', 'admitted', 'lost', s.kind === 'boot-storm' ? 'all in s' : 'all back s', 'peak accepts/s', 'refused', 'connect failures', 'server CPU s', 'LG CPU s', 'loop p99 ms', 'control p99/max ms', ...(s.holdS > 0 ? ['hold: control p99/max ms'] : []), 'crashed'];
  if (s.kind === 'boot-storm') headers.splice(10, 0, 'RSS B/station');
  else headers.splice(10, 0, 'stop s', 'restart s');
  process.stdout.write(
    `${table(
      headers,
      results.map((r) => {
        const row: (string | number)[] = [r.target, r.stations, r.admitted, r.lost, fmt(r.timeToAllS, 2), r.peakAcceptPerS, sumValues(r.refused), r.connectFailed, fmt(r.serverCpuS), fmt(r.loadGenCpuS)];
        if (s.kind === 'boot-storm') row.push(fmt(r.rssPerStationBytes, 0));
        else row.push(fmt(r.stopS ?? NaN), fmt(r.restartS ?? NaN));
        row.push(fmt(worstLoopP99Ms(r.eventLoopDelayS)), controlLoop(r.eventLoopDelayS));
        if (s.holdS > 0) row.push(controlLoop(r.holdLoopDelayS ?? null));
        row.push(r.serverCrashed ? 'YES' : 'no');
        return row;
      }),
    )}\n`,
  );
  const router = results.find((r) => r.target === 'router');
  if (router !== undefined && s.kind === 'boot-storm') process.stdout.write(`router: ${router.admitted}/${router.stations} admitted in ${fmt(router.timeToAllS, 2)} s (target < 10 s, no crash, no lost station)\n`);
  save(noSave, { scenario: name, kind: s.kind, params: s, ...facts, results, note: s.kind === 'boot-storm' ? 'time from the first connection attempt to the last BootNotification Accepted; refused = upgrades answered with an HTTP status (retried with backoff); lost = not booted at the timeout' : 'time from SIGTERM to the server to the last station booted again; stations retry after a random delay, doubled on each failure' });
}

// ───────────────────────────── command fan-out ─────────────────────────────

async function runFanout(name: string, s: FanoutScenario, workDir: string, noSave: boolean): Promise<void> {
  const facts = machine();
  const results: Record<string, unknown>[] = [];
  const rows: (string | number)[][] = [];
  for (const target of s.targets) {
    process.stdout.write(`${name}: ${target}, ${s.stations} stations, ${s.commands} × ${s.action}, ${s.httpConcurrency} requests in flight …\n`);
    const server = await startServer(target, { workers: s.workers, workDir, cpuProfDir: null });
    let fleet: Fleet | null = null;
    const pool = new Pool(`http://127.0.0.1:${server.port}`, { connections: s.httpConcurrency, pipelining: 1 });
    try {
      fleet = new Fleet(s, server.url, false, 'hold', null, performance.timeOrigin + performance.now());
      await fleet.started();
      const st = await waitBooted(fleet, server, s.stations, Date.now() + (s.connectPerS > 0 ? s.stations / s.connectPerS : 0) * 1000 + 60_000, true);
      process.stdout.write(`  ${st.booted} booted\n`);
      const body = JSON.stringify(s.body);
      const hist = new Histogram();
      const statuses: Record<string, number> = {};
      let next = 0;
      let failures = 0;
      await scrapeLoopDelay(server);
      const srv0 = cpuOf([server.pid]);
      const self0 = process.cpuUsage();
      const t0 = performance.now();
      const deadline = Date.now() + 600_000;
      const worker = async (): Promise<void> => {
        while (next < s.commands && Date.now() < deadline) {
          const i = next++;
          const started = performance.now();
          try {
            const res = await pool.request({ path: `/api/v1/ChargePoint/BENCH-${1 + (i % s.stations)}/${s.action}`, method: 'POST', headers: { 'content-type': 'application/json' }, body });
            await res.body.dump();
            statuses[res.statusCode] = (statuses[res.statusCode] ?? 0) + 1;
            hist.record((performance.now() - started) * 1000);
          } catch {
            failures++;
          }
        }
      };
      await Promise.all(Array.from({ length: s.httpConcurrency }, worker));
      const elapsedS = (performance.now() - t0) / 1000;
      const srv1 = cpuOf([server.pid]);
      const self1 = process.cpuUsage(self0);
      const loop = await scrapeLoopDelay(server);
      const r = await fleet.report();
      const cpuS = srv1.userS + srv1.systemS - srv0.userS - srv0.systemS;
      const ok = statuses['200'] ?? 0;
      const summary = hist.summary();
      results.push({ target, connected: st.booted, commands: s.commands, ok, statuses, failures, stationAnswers: r.serverCalls, elapsedS, commandsPerS: ok / elapsedS, latencyUs: us(summary), serverCpuS: +cpuS.toFixed(2), serverCpuUsPerCommand: (cpuS / Math.max(1, ok)) * 1e6, clientCpuS: (self1.user + self1.system) / 1e6, eventLoopDelayS: loop });
      rows.push([target, st.booted, s.commands, ok, fmt(ok / elapsedS, 0), fmt(summary.p50 / 1000), fmt(summary.p99 / 1000), fmt(summary.p999 / 1000), fmt((cpuS / Math.max(1, ok)) * 1e6, 1), fmt(worstLoopP99Ms(loop)), s.commands - ok]);
    } finally {
      await pool.close();
      await fleet?.close();
      await server.stop();
    }
  }
  process.stdout.write(`\n${name}: ${s.stations} stations, ${s.commands} × POST /api/v1/ChargePoint/{id}/${s.action} (round robin), ${s.httpConcurrency} in flight over ${s.httpConcurrency} keep-alive connections, router WORKERS=${s.workers} | ${String(facts.cpuModel)}, ${String(facts.cores)} cores, Node ${String(facts.node)}, git ${String(facts.gitRev)}${facts.gitDirty === true ? '+dirty' : ''}\n`);
  process.stdout.write(`${table(['server', 'stations', 'commands', 'ok', 'commands/s', 'p50 ms', 'p99 ms', 'p99.9 ms', 'server CPU µs/command', 'loop p99 ms', 'errors'], rows)}\n`);
  save(noSave, { scenario: name, kind: s.kind, params: s, ...facts, results, note: 'a command = one REST request → station CALL → CALLRESULT → HTTP 200; server CPU over the whole fan-out' });
}

// ───────────────────────────── external ─────────────────────────────

async function runExternal(name: string, s: ExternalScenario, noSave: boolean): Promise<void> {
  for (const run of s.runs) {
    const argv = [join(DIST, 'bench', `${run.script}.js`)];
    for (const [k, v] of Object.entries(run.flags)) {
      if (v === false) continue;
      argv.push(`--${k}`);
      if (v !== true) argv.push(String(v));
    }
    if (noSave) argv.push('--no-save');
    process.stdout.write(`${name}: node ${argv.map((a) => a.replace(`${ROOT}/`, '')).join(' ')}\n`);
    const child = spawn(process.execPath, argv, { cwd: ROOT, stdio: 'inherit' });
    const code = await new Promise<number>((r) => child.once('exit', (c) => r(c ?? 1)));
    if (code !== 0) throw new Error(`${run.script} exited with ${code}`);
  }
}

// ───────────────────────────── entry ─────────────────────────────

export async function runScenario(nameOrPath: string, flags: Map<string, string>, workDir: string): Promise<number> {
  const loaded = loadScenario(nameOrPath);
  const path = nameOrPath.endsWith('.json') ? nameOrPath : join(SCENARIO_DIR, `${nameOrPath}.json`);
  const scenario = parseScenario(applyOverrides(JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>, flags), loaded.name);
  const noSave = flags.get('no-save') === 'true';
  switch (scenario.kind) {
    case 'fleet': {
      // --cpu-prof: the router under `node --cpu-prof` (one profile per thread, folder kept; result not saved).
      const cpuProfDir = flags.get('cpu-prof') === 'true' ? mkdtempSync(join(workDir, 'cpuprof-')) : null;
      await runFleet(loaded.name, scenario, workDir, noSave, cpuProfDir);
      break;
    }
    case 'boot-storm':
    case 'reconnect-storm':
      await runStorm(loaded.name, scenario, workDir, noSave);
      break;
    case 'fanout':
      await runFanout(loaded.name, scenario, workDir, noSave);
      break;
    case 'cluster':
      await runCluster(loaded.name, scenario, workDir, noSave);
      break;
    case 'external':
      await runExternal(loaded.name, scenario, noSave);
      break;
  }
  return 0;
}
