/**
 * emulator-cpu: the charge point emulator against the router it drives, CPU and RSS of both processes over
 * the same window (issue target: the emulator uses less CPU than the server; at most 10 KB RSS per idle
 * booted station).
 *
 *   npm run bench -- emulator-cpu --stations 19000 --heartbeat-s 30 --window-s 60 --settle-s 10
 *                                 --emu-threads 2 --rate 2000 --runs 1
 *                                 [--emu-args="--scenario random --mean-arrival-s 600"] [--cpu-prof]
 *
 * Server: the router as `npm start` runs it (WORKERS 1 by default, HEARTBEAT_INTERVAL_S given to the stations
 * at boot, server ping every PING_INTERVAL_S, 60 by default). Emulator: `ocpp-router emulate --stations N`
 * in its own process (OCPP 1.6 template stations). Once every station is booted and `settle-s` has passed, CPU
 * (utime + stime of every thread, /proc/<pid>/stat) and RSS of both are read, again after `window-s`; the
 * result is the ratio of the two CPU figures over the same window. A baseline run with 1 station gives the
 * emulator's fixed RSS (threads, validators), subtracted for the per-station figure.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { DIST, ROOT, fmt, machine, numberFlag, save, sleep, startServer, table } from './harness.js';
import { processCpuSplit, processMemory, threadCpu } from './proc.js';

interface Options {
  stations: number;
  heartbeatS: number;
  pingS: number;
  windowS: number;
  settleS: number;
  emuThreads: number;
  rate: number;
  runs: number;
  workers: number;
  baseline: boolean;
  /** More `emulate` options (a scenario: `--scenario random --mean-arrival-s 600`). */
  emuArgs: string[];
  /** Node/V8 flags of the emulator process (experiments: GC settings). */
  emuNodeFlags: string[];
  /** Profile the server (node --cpu-prof into this folder). */
  cpuProfDir: string | null;
}

interface Sample {
  cpuS: number;
  systemS: number;
  rssBytes: number;
  threads: Record<string, number>;
}

function sample(pid: number): Sample {
  const threads: Record<string, number> = {};
  // Keyed by "<tid> <name>": Node names most of its threads "node", so the tid tells them apart.
  for (const [key, t] of Object.entries(threadCpu(pid))) threads[key] = t.userS + t.systemS;
  const cpu = processCpuSplit(pid);
  return { cpuS: cpu.userS + cpu.systemS, systemS: cpu.systemS, rssBytes: processMemory(pid).vmRssBytes, threads };
}

function threadDelta(a: Sample, b: Sample): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [name, v] of Object.entries(b.threads)) {
    const d = v - (a.threads[name] ?? 0);
    if (d >= 0.005) out[name] = Math.round(d * 100) / 100;
  }
  return out;
}

interface RunResult {
  stations: number;
  bootS: number;
  emulatorCpuS: number;
  serverCpuS: number;
  /** Of which in the kernel (stime). */
  emulatorSystemS: number;
  serverSystemS: number;
  ratio: number;
  emulatorRssBytes: number;
  serverRssBytes: number;
  emulatorThreads: Record<string, number>;
  serverThreads: Record<string, number>;
}

/** One measured run: a server, an emulator with `stations` stations, the window. */
async function measure(o: Options, stations: number, workDir: string): Promise<RunResult> {
  const server = await startServer('router', {
    workers: o.workers,
    workDir,
    cpuProfDir: o.cpuProfDir,
    env: { HEARTBEAT_INTERVAL_S: String(o.heartbeatS), PING_INTERVAL_S: String(o.pingS) },
  });
  const emulator = spawn(
    process.execPath,
    [...o.emuNodeFlags, join(DIST, 'src', 'main.js'), 'emulate', '--stations', String(stations), '--url', `ws://127.0.0.1:${server.port}/ocpp`, '--threads', String(o.emuThreads), '--rate', String(o.rate), '--summary-s', '1', ...o.emuArgs],
    { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let booted = 0;
  let errors = 0;
  let tail = '';
  emulator.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    tail = (tail + chunk).slice(-4000);
    for (const m of chunk.matchAll(/booted (\d+) .*errors (\d+)/g)) {
      booted = Number(m[1]);
      errors = Number(m[2]);
    }
  });
  let exited = false;
  const exit = new Promise<void>((r) => emulator.once('exit', () => {
    exited = true;
    r();
  }));
  try {
    const started = Date.now();
    const deadline = started + 120_000 + stations * 2;
    while (booted < stations) {
      if (exited) throw new Error(`emulator exited before booting every station:\n${tail}`);
      if (Date.now() > deadline) throw new Error(`only ${booted} of ${stations} stations booted in time:\n${tail}`);
      await sleep(200);
    }
    const bootS = (Date.now() - started) / 1000;
    await sleep(o.settleS * 1000);
    const e0 = sample(emulator.pid!);
    const s0 = sample(server.pid);
    await sleep(o.windowS * 1000);
    const e1 = sample(emulator.pid!);
    const s1 = sample(server.pid);
    if (errors > 0) process.stderr.write(`emulator reported ${errors} errors\n`);
    const emulatorCpuS = e1.cpuS - e0.cpuS;
    const serverCpuS = s1.cpuS - s0.cpuS;
    return {
      stations,
      bootS,
      emulatorCpuS,
      serverCpuS,
      emulatorSystemS: e1.systemS - e0.systemS,
      serverSystemS: s1.systemS - s0.systemS,
      ratio: emulatorCpuS / serverCpuS,
      emulatorRssBytes: e1.rssBytes,
      serverRssBytes: s1.rssBytes,
      emulatorThreads: threadDelta(e0, e1),
      serverThreads: threadDelta(s0, s1),
    };
  } finally {
    emulator.kill('SIGKILL');
    await exit;
    await server.stop();
  }
}

export async function emulatorCpu(flags: Map<string, string>, workDir: string): Promise<void> {
  const o: Options = {
    stations: numberFlag(flags, 'stations', 19000, 1),
    heartbeatS: numberFlag(flags, 'heartbeat-s', 30, 1),
    pingS: numberFlag(flags, 'ping-s', 60, 0),
    windowS: numberFlag(flags, 'window-s', 60, 1),
    settleS: numberFlag(flags, 'settle-s', 10, 0),
    emuThreads: numberFlag(flags, 'emu-threads', 2, 0),
    rate: numberFlag(flags, 'rate', 2000, 1),
    runs: numberFlag(flags, 'runs', 1, 1),
    workers: numberFlag(flags, 'workers', 1, 1),
    baseline: flags.get('baseline') !== 'false',
    emuNodeFlags: (flags.get('emu-node-flags') ?? '').split(' ').filter((f) => f !== ''),
    emuArgs: (flags.get('emu-args') ?? '').split(' ').filter((f) => f !== ''),
    cpuProfDir: flags.get('cpu-prof') === 'true' ? join(workDir, 'cpuprof') : null,
  };
  const noSave = flags.get('no-save') === 'true';
  const base = o.baseline ? await measure({ ...o, settleS: 2, windowS: Math.min(o.windowS, 10) }, 1, workDir) : null;
  const rows: (string | number)[][] = [];
  for (let i = 0; i < o.runs; i++) {
    const r = await measure(o, o.stations, workDir);
    const perStation = base === null ? NaN : (r.emulatorRssBytes - base.emulatorRssBytes) / r.stations;
    rows.push([i + 1, r.stations, fmt(r.bootS, 1), `${fmt(r.emulatorCpuS)} (${fmt(r.emulatorSystemS)})`, `${fmt(r.serverCpuS)} (${fmt(r.serverSystemS)})`, fmt(r.ratio), fmt(r.emulatorRssBytes / 2 ** 20, 0), fmt(r.serverRssBytes / 2 ** 20, 0), fmt(perStation / 1024, 1)]);
    process.stderr.write(`run ${i + 1}: emulator threads ${JSON.stringify(r.emulatorThreads)}; server threads ${JSON.stringify(r.serverThreads)}\n`);
    save(noSave, {
      scenario: 'emulator-cpu',
      ...machine(),
      params: { ...o, run: i + 1 },
      result: { ...r, emulatorRssPerStationBytes: perStation, baselineEmulatorRssBytes: base?.emulatorRssBytes ?? null },
    });
  }
  process.stdout.write(
    `emulator-cpu: ${o.stations} OCPP 1.6 stations, heartbeat ${o.heartbeatS} s, server ping ${o.pingS} s, window ${o.windowS} s after ${o.settleS} s settle; ` +
      `router WORKERS=${o.workers}, emulator --threads ${o.emuThreads}${o.emuArgs.length > 0 ? ` ${o.emuArgs.join(' ')}` : ''}${o.emuNodeFlags.length > 0 ? ` (node ${o.emuNodeFlags.join(' ')})` : ''}\n` +
      `${table(['run', 'stations', 'boot s', 'emulator CPU s (sys)', 'server CPU s (sys)', 'emu/server', 'emulator RSS MB', 'server RSS MB', 'emu KB/station'], rows)}\n`,
  );
}
