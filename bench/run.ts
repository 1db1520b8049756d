/**
 * Benchmark runner.  npm run bench -- <scenario> [--flags]
 *
 *   heartbeat  closed-loop Heartbeat against the router and, in the same run, the uWS echo floor
 *              --stations 100  --duration-s 15  --warmup-s 3  --workers 1  --lg-threads 1
 *   heartbeat-tls  the heartbeat over ws:// (router), wss:// on the uWS TLS listener (router-tls) and through the mTLS front (router-front)
 *   idle-rss   RSS per idle connected station, router and floor in the same run
 *              --stations 19000  --workers 1  --lg-procs 2  --ramp-per-s 1000  --settle-max-s 90
 *   emulator-cpu  the charge point emulator against the router it drives: CPU and RSS of both (emulator-cpu.ts)
 *
 * Common: --targets router,floor (order and choice)  --source-addresses N (127.0.0.2 … ; default
 * ceil(stations/2000))  --cpu-prof (router child under `node --cpu-prof`, profiles kept in the printed
 * folder)  --no-save (do not append to bench/results/results.jsonl).
 *
 * Every result is printed as a table and appended as one JSON line to bench/results/results.jsonl with
 * its parameters, git revision, Node version, CPU model, core count and date.
 */
import { spawn, fork, execFileSync, type ChildProcess } from 'node:child_process';
import { appendFileSync, mkdirSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, closeSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { cpus, tmpdir, hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ErrorCounts, HeartbeatResult, LoadConfig, ReadyReport } from './load-generator.js';
import { processMemory, type MemoryStatus } from './proc.js';
import { DIST, TARGETS, fmt, machine, numberFlag, save as saveRecord, sleep, startServer, table, type Target } from './harness.js';
import { runScenario } from './scenario-run.js';
import { emulatorCpu } from './emulator-cpu.js';



// ───────────────────────────── arguments ─────────────────────────────

interface Args {
  scenario: string;
  flags: Map<string, string>;
}

function parseArgs(argv: string[]): Args {
  const flags = new Map<string, string>();
  let scenario = '';
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      if (eq > 0) flags.set(arg.slice(2, eq), arg.slice(eq + 1));
      else if (i + 1 < argv.length && !argv[i + 1]!.startsWith('--')) flags.set(arg.slice(2), argv[++i]!);
      else flags.set(arg.slice(2), 'true');
    } else if (scenario === '') scenario = arg;
    else throw new Error(`unexpected argument ${arg}`);
  }
  return { scenario, flags };
}

function intFlag(args: Args, name: string, dflt: number, min = 0): number {
  return numberFlag(args.flags, name, dflt, min);
}

function targetsFlag(args: Args, defaults = 'router,floor'): Target[] {
  const list = (args.flags.get('targets') ?? defaults).split(',').map((s) => s.trim());
  for (const t of list) if (!(TARGETS as readonly string[]).includes(t)) throw new Error(`--targets: unknown target ${t} (known: ${TARGETS.join(', ')})`);
  return list as Target[];
}

// ───────────────────────────── environment facts ─────────────────────────────

// ───────────────────────────── servers ─────────────────────────────

// ───────────────────────────── load generator processes ─────────────────────────────

interface LoadGen {
  child: ChildProcess;
  next<T>(type: string, timeoutMs: number): Promise<T>;
  send(message: unknown): void;
  exited: Promise<void>;
}

function startLoadGen(config: LoadConfig): LoadGen {
  const child = fork(join(DIST, 'bench', 'load-generator.js'), [], { execArgv: [], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const queue: { t: string }[] = [];
  const waiters: (() => void)[] = [];
  let exitedFlag = false;
  child.on('message', (message: { t: string }) => {
    queue.push(message);
    for (const w of waiters.splice(0)) w();
  });
  const exited = new Promise<void>((r) => child.once('exit', () => {
    exitedFlag = true;
    for (const w of waiters.splice(0)) w();
    r();
  }));
  child.send({ t: 'start', config });
  return {
    child,
    exited,
    send: (message) => child.send(message as object),
    async next<T>(type: string, timeoutMs: number): Promise<T> {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const index = queue.findIndex((m) => m.t === type || m.t === 'error');
        if (index >= 0) {
          const [message] = queue.splice(index, 1) as [{ t: string; message?: string }];
          if (message.t === 'error') throw new Error(message.message);
          return message as T;
        }
        if (exitedFlag) throw new Error(`load generator exited before '${type}'`);
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`load generator: no '${type}' after ${timeoutMs} ms`);
        await new Promise<void>((r) => {
          const timer = setTimeout(r, left);
          waiters.push(() => {
            clearTimeout(timer);
            r();
          });
        });
      }
    },
  };
}

// ───────────────────────────── output ─────────────────────────────

function save(args: Args, record: Record<string, unknown>): void {
  saveRecord(args.flags.get('no-save') === 'true', record);
}

function errorTotal(errors: ErrorCounts): number {
  return Object.values(errors).reduce((a, b) => a + b, 0);
}


// ───────────────────────────── scenario: heartbeat ─────────────────────────────

/**
 * heartbeat-tls: the heartbeat scenario over plain ws:// (router), wss:// on the shards' uWS TLS listener
 * (router-tls) and wss:// through the mTLS front (router-front), in one run: CPU per message and latency of each.
 */
async function heartbeatTls(args: Args, workDir: string): Promise<void> {
  await heartbeat(args, workDir, 'router,router-tls,router-front', 'heartbeat-tls');
}

async function heartbeat(args: Args, workDir: string, defaultTargets = 'router,router-nometrics,floor', scenario = 'heartbeat'): Promise<void> {
  const params = {
    stations: intFlag(args, 'stations', 100, 1),
    durationS: intFlag(args, 'duration-s', 15, 1),
    warmupS: intFlag(args, 'warmup-s', 3, 0),
    workers: intFlag(args, 'workers', 1, 1),
    lgThreads: intFlag(args, 'lg-threads', 1, 1),
    rampPerS: intFlag(args, 'ramp-per-s', 2000, 1),
    sourceAddresses: 0,
    targets: targetsFlag(args, defaultTargets),
    cpuProf: args.flags.get('cpu-prof') === 'true',
  };
  if (params.durationS > 600 || params.warmupS > 120) throw new Error('--duration-s at most 600, --warmup-s at most 120');
  if (params.stations > 15_000) throw new Error('--stations at most 15000 for heartbeat (one load generator process, 20k open files)');
  params.sourceAddresses = intFlag(args, 'source-addresses', Math.max(1, Math.ceil(params.stations / 2000)), 1);
  const facts = machine();
  const results: Partial<Record<Target, HeartbeatResult & { serverCpuUsPerMsg: number; serverCores: number }>> = {};
  const cpuProfDir = params.cpuProf ? mkdtempSync(join(workDir, 'cpuprof-')) : null;
  for (const target of params.targets) {
    process.stdout.write(`heartbeat: ${target}, ${params.stations} stations, warmup ${params.warmupS} s, measure ${params.durationS} s …\n`);
    const server = await startServer(target, { workers: params.workers, workDir, cpuProfDir: target === 'router' ? cpuProfDir : null });
    try {
      const lg = startLoadGen({
        mode: 'heartbeat',
        url: server.url,
        ...(server.tls === undefined ? {} : { tls: server.tls }),
        firstStation: 1,
        stations: params.stations,
        threads: params.lgThreads,
        sourceAddresses: params.sourceAddresses,
        echo: target === 'floor',
        serverPid: server.pid,
        warmupS: params.warmupS,
        durationS: params.durationS,
        rampPerS: params.rampPerS,
        rampConcurrency: 200,
        connectTimeoutMs: 10_000,
      });
      const budget = (params.stations / params.rampPerS + params.warmupS + params.durationS + 90) * 1000;
      const r = await lg.next<HeartbeatResult>('result', budget);
      await Promise.race([lg.exited, sleep(40_000)]);
      results[target] = { ...r, serverCpuUsPerMsg: (r.serverCpuS / r.messages) * 1e6, serverCores: r.serverCpuS / r.measuredS };
    } finally {
      await server.stop();
    }
  }
  const rows = params.targets.map((t) => {
    const r = results[t]!;
    return [t, r.connected, fmt(r.msgsPerS, 0), fmt(r.latencyMs.p50 * 1000, 0), fmt(r.latencyMs.p99 * 1000, 0), fmt(r.latencyMs.p999 * 1000, 0), fmt(r.serverCores), fmt(r.serverCpuUsPerMsg), fmt((r.serverCpu.userS / r.messages) * 1e6), fmt((r.serverCpu.systemS / r.messages) * 1e6), fmt(r.loadGenCores), errorTotal(r.errors)];
  });
  const ratio = results.router !== undefined && results.floor !== undefined ? results.router.serverCpuUsPerMsg / results.floor.serverCpuUsPerMsg : NaN;
  const conditions = `stations=${params.stations} warmup=${params.warmupS}s measure=${params.durationS}s server workers=${params.workers} lg threads=${params.lgThreads} | ${facts.cpuModel}, ${facts.cores} cores, Node ${facts.node}, git ${facts.gitRev}${facts.gitDirty ? '+dirty' : ''}`;
  process.stdout.write(`\n${conditions}\n`);
  process.stdout.write(`${table(['server', 'stations', 'msgs/s', 'p50 µs', 'p99 µs', 'p99.9 µs', 'server cores', 'server CPU µs/msg', 'user µs/msg', 'sys µs/msg', 'LG cores', 'errors'], rows)}\n`);
  const userRatio = results.router !== undefined && results.floor !== undefined ? (results.router.serverCpu.userS / results.router.messages) / (results.floor.serverCpu.userS / results.floor.messages) : NaN;
  process.stdout.write(`CPU per message router/floor: ${fmt(ratio)}× (target ≤ 1.3×); user CPU only: ${fmt(userRatio)}×\n`);
  const metricsRatio = results.router !== undefined && results['router-nometrics'] !== undefined ? results.router.serverCpuUsPerMsg / results['router-nometrics'].serverCpuUsPerMsg : NaN;
  if (!Number.isNaN(metricsRatio)) process.stdout.write(`CPU per message metrics on/off: ${fmt(metricsRatio)}×\n`);
  const overPlain = (t: Target): number => (results.router !== undefined && results[t] !== undefined ? results[t].serverCpuUsPerMsg / results.router.serverCpuUsPerMsg : NaN);
  const tlsRatio = overPlain('router-tls');
  const frontRatio = overPlain('router-front');
  if (!Number.isNaN(tlsRatio)) process.stdout.write(`CPU per message wss:// (uWS TLS) / ws://: ${fmt(tlsRatio)}×\n`);
  if (!Number.isNaN(frontRatio)) process.stdout.write(`CPU per message wss:// (mTLS front) / ws://: ${fmt(frontRatio)}×\n`);
  const baselineRatio = results.router !== undefined && results['router-baseline'] !== undefined ? results.router.serverCpuUsPerMsg / results['router-baseline'].serverCpuUsPerMsg : NaN;
  if (!Number.isNaN(baselineRatio)) process.stdout.write(`CPU per message router/router-baseline (${process.env.BENCH_BASELINE_DIR}): ${fmt(baselineRatio)}×\n`);
  for (const t of params.targets) {
    const r = results[t]!;
    const threads = Object.entries(r.serverThreads).map(([k, v]) => `${k} ${v.userS}u+${v.systemS}s`).join(', ');
    process.stdout.write(`${t} CPU: user ${r.serverCpu.userS} s, system ${r.serverCpu.systemS} s; by thread: ${threads}\n`);
    if (errorTotal(r.errors) > 0) process.stdout.write(`${t} errors: ${JSON.stringify(r.errors)}\n`);
  }
  if (cpuProfDir !== null) process.stdout.write(`router CPU profiles: ${cpuProfDir}\n  ${readdirSync(cpuProfDir).join('\n  ')}\n`);
  save(args, { scenario, params, ...facts, results, cpuPerMsgRatioTlsOverPlain: tlsRatio, cpuPerMsgRatioFrontOverPlain: frontRatio, cpuPerMsgRatioRouterOverFloor: ratio, userCpuPerMsgRatioRouterOverFloor: userRatio, cpuPerMsgRatioMetricsOnOverOff: metricsRatio, cpuPerMsgRatioRouterOverBaseline: baselineRatio, baselineDir: process.env.BENCH_BASELINE_DIR ?? null, note: 'message = one Heartbeat round trip; server CPU = utime+stime of the server process from /proc over the measured window' });
}

// ───────────────────────────── scenario: idle-rss ─────────────────────────────

async function settleRss(pid: number, minS: number, maxS: number, toleranceBytes: number): Promise<{ mem: MemoryStatus; waitedS: number }> {
  const window = 5;
  const samples: number[] = [];
  const start = Date.now();
  let mem = processMemory(pid);
  for (let i = 0; i < maxS; i++) {
    await sleep(1000);
    mem = processMemory(pid);
    samples.push(mem.vmRssBytes);
    if (samples.length >= Math.max(window, minS)) {
      const last = samples.slice(-window);
      if (Math.max(...last) - Math.min(...last) <= toleranceBytes) break;
    }
  }
  return { mem, waitedS: (Date.now() - start) / 1000 };
}

interface IdleResult {
  stations: number;
  connected: number;
  connectS: number;
  before: MemoryStatus;
  /** After the first half of the load generators connected. */
  half: MemoryStatus;
  connectedHalf: number;
  after: MemoryStatus;
  settleS: number;
  bytesPerStation: number;
  anonBytesPerStation: number;
  /** (RSS full − RSS half) / stations added in the second phase. */
  marginalBytesPerStation: number;
  errors: ErrorCounts;
}

async function idleRss(args: Args, workDir: string): Promise<void> {
  const params = {
    stations: intFlag(args, 'stations', 19_000, 1),
    workers: intFlag(args, 'workers', 1, 1),
    lgProcs: intFlag(args, 'lg-procs', 2, 1),
    rampPerS: intFlag(args, 'ramp-per-s', 1000, 1),
    settleMaxS: intFlag(args, 'settle-max-s', 90, 5),
    sourceAddresses: 0,
    targets: targetsFlag(args),
  };
  if (params.stations > 60_000) throw new Error('--stations at most 60000');
  if (params.settleMaxS > 600) throw new Error('--settle-max-s at most 600');
  params.lgProcs = Math.max(params.lgProcs, Math.ceil(params.stations / 15_000));
  params.sourceAddresses = intFlag(args, 'source-addresses', Math.max(1, Math.ceil(params.stations / 2000)), 1);
  const facts = machine();
  const results: Partial<Record<Target, IdleResult>> = {};
  for (const target of params.targets) {
    process.stdout.write(`idle-rss: ${target}, ${params.stations} stations over ${params.lgProcs} load generator processes at ${params.rampPerS}/s …\n`);
    const server = await startServer(target, { workers: params.workers, workDir, cpuProfDir: null });
    const lgs: LoadGen[] = [];
    try {
      const { mem: before } = await settleRss(server.pid, 3, 30, 256 * 1024);
      const per = Math.ceil(params.stations / params.lgProcs);
      const startGen = (p: number): LoadGen =>
        startLoadGen({
          mode: 'idle',
          url: server.url,
          ...(server.tls === undefined ? {} : { tls: server.tls }),
          firstStation: 1 + p * per,
          stations: Math.max(0, Math.min(per, params.stations - p * per)),
          threads: 1,
          sourceAddresses: params.sourceAddresses,
          echo: target === 'floor',
          serverPid: server.pid,
          warmupS: 0,
          durationS: 0,
          rampPerS: params.rampPerS / params.lgProcs,
          rampConcurrency: 100,
          connectTimeoutMs: 15_000,
        });
      const budget = (per / (params.rampPerS / params.lgProcs) + 120) * 1000;
      const errors: ErrorCounts = { connectFailed: 0, bootFailed: 0, callError: 0, unexpectedFrame: 0, unexpectedClose: 0, unanswered: 0 };
      let connected = 0;
      let connectS = 0;
      // Two phases: the first half of the load generators, then the rest. The marginal cost between them is
      // immune to what the baseline holds (startup garbage in the old space that stations later fill without
      // RSS growing), which can make the average look smaller than the real cost.
      const phase = async (from: number, to: number): Promise<void> => {
        const started = [];
        for (let p = from; p < to; p++) {
          const lg = startGen(p);
          lgs.push(lg);
          started.push(lg);
        }
        const readies = await Promise.all(started.map((lg) => lg.next<ReadyReport>('ready', budget)));
        connected += readies.reduce((sum, r) => sum + r.connected, 0);
        for (const r of readies) for (const k of Object.keys(errors) as (keyof ErrorCounts)[]) errors[k] += r.errors[k];
        connectS += Math.max(...readies.map((r) => r.connectS));
      };
      const firstPhase = Math.max(1, Math.floor(params.lgProcs / 2));
      await phase(0, firstPhase);
      process.stdout.write(`  ${connected} connected; waiting for RSS to settle …\n`);
      const { mem: half } = await settleRss(server.pid, 10, params.settleMaxS, 1024 * 1024);
      const connectedHalf = connected;
      await phase(firstPhase, params.lgProcs);
      process.stdout.write(`  ${connected} connected; waiting for RSS to settle …\n`);
      const { mem: after, waitedS } = await settleRss(server.pid, 10, params.settleMaxS, 1024 * 1024);
      results[target] = {
        stations: params.stations,
        connected,
        connectS,
        before,
        half,
        connectedHalf,
        after,
        settleS: waitedS,
        bytesPerStation: (after.vmRssBytes - before.vmRssBytes) / connected,
        anonBytesPerStation: (after.rssAnonBytes - before.rssAnonBytes) / connected,
        marginalBytesPerStation: connected > connectedHalf ? (after.vmRssBytes - half.vmRssBytes) / (connected - connectedHalf) : NaN,
        errors,
      };
    } finally {
      for (const lg of lgs) lg.send({ t: 'close' });
      await Promise.race([Promise.all(lgs.map((lg) => lg.exited)), sleep(60_000)]);
      for (const lg of lgs) lg.child.kill('SIGKILL');
      await server.stop();
    }
  }
  const mib = (b: number): string => fmt(b / 1048576, 1);
  const rows = params.targets.map((t) => {
    const r = results[t]!;
    return [t, r.connected, fmt(r.connectS, 1), mib(r.before.vmRssBytes), mib(r.half.vmRssBytes), mib(r.after.vmRssBytes), fmt(r.settleS, 0), fmt(r.bytesPerStation, 0), fmt(r.marginalBytesPerStation, 0), fmt(r.anonBytesPerStation, 0), errorTotal(r.errors)];
  });
  const ratio = results.router !== undefined && results.floor !== undefined ? results.router.bytesPerStation / results.floor.bytesPerStation : NaN;
  const conditions = `stations=${params.stations} server workers=${params.workers} lg processes=${params.lgProcs} ramp=${params.rampPerS}/s | ${facts.cpuModel}, ${facts.cores} cores, Node ${facts.node}, git ${facts.gitRev}${facts.gitDirty ? '+dirty' : ''}`;
  process.stdout.write(`\n${conditions}\n`);
  process.stdout.write(`${table(['server', 'connected', 'connect s', 'RSS before MiB', 'RSS half MiB', 'RSS after MiB', 'settle s', 'RSS B/station (average)', 'RSS B/station (marginal, 2nd half)', 'RssAnon B/station', 'errors'], rows)}\n`);
  const marginalRatio = results.router !== undefined && results.floor !== undefined ? results.router.marginalBytesPerStation / results.floor.marginalBytesPerStation : NaN;
  process.stdout.write(`RSS per station router/floor: average ${fmt(ratio)}×, marginal ${fmt(marginalRatio)}× (target: router ≤ 3072 B/station)\n`);
  for (const t of params.targets) if (errorTotal(results[t]!.errors) > 0) process.stdout.write(`${t} errors: ${JSON.stringify(results[t]!.errors)}\n`);
  save(args, { scenario: 'idle-rss', params, ...facts, results, rssPerStationRatioRouterOverFloor: ratio, marginalRssPerStationRatioRouterOverFloor: marginalRatio, note: 'average = (VmRSS after settle - VmRSS before) / connected; marginal = (VmRSS after - VmRSS after the first half) / stations of the second half; /proc/<pid>/status of the server process' });
}

// ───────────────────────────── main ─────────────────────────────

const USAGE = `usage: npm run bench -- <scenario> [--flags]
  heartbeat  --stations 100 --duration-s 15 --warmup-s 3 --workers 1 --lg-threads 1 [--cpu-prof]
  heartbeat-tls  the same over ws:// (router), wss:// (router-tls) and wss:// through the mTLS front (router-front)
  idle-rss   --stations 19000 --workers 1 --lg-procs 2 --ramp-per-s 1000 --settle-max-s 90
  emulator-cpu  --stations 19000 --heartbeat-s 30 --ping-s 60 --window-s 60 --settle-s 10 --emu-threads 2 --emu-args="…"
             --rate 2000 --runs 1 --workers 1 --baseline false (emulator vs the router it drives, CPU and RSS)
  common     --targets router,floor --source-addresses N --no-save
  <name>     a scenario file bench/scenarios/<name>.json (see bench/README.md), e.g. steady-1k, closed-loop,
             boot-storm-19k, reconnect-storm, fanout, webhook, http; overrides: --stations N --duration-s S
             --targets a,b --no-save`;

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  const workDir = mkdtempSync(join(tmpdir(), 'ocpp-router-bench-'));
  const keep = args.flags.get('cpu-prof') === 'true' || args.flags.get('keep') === 'true';
  try {
    switch (args.scenario) {
      case 'heartbeat':
        await heartbeat(args, workDir);
        return 0;
      case 'heartbeat-tls':
        await heartbeatTls(args, workDir);
        return 0;
      case 'idle-rss':
        await idleRss(args, workDir);
        return 0;
      case 'emulator-cpu':
        await emulatorCpu(args.flags, workDir);
        return 0;
      case '':
      case 'help':
        process.stderr.write(`${USAGE}\n`);
        return 2;
      default:
        // A scenario file: bench/scenarios/<name>.json (or a path to one).
        return await runScenario(args.scenario, args.flags, workDir);
    }
  } finally {
    if (!keep) rmSync(workDir, { recursive: true, force: true });
    else process.stdout.write(`work folder kept: ${workDir}\n`);
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`bench: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
