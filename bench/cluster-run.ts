/**
 * The `cluster` scenario: `nodes` router nodes (child processes, three ports) on a nats-server of the run's own,
 * the stations spread over them by the load generators (station n on node n % nodes, moving on after a loss):
 *  0. the same nodes without the cluster (each on its own, the same stations and traffic), for the price of the
 *     cluster in the same run;
 *  1. all connect and boot; steady open-loop traffic for `holdS`: CPU and RSS of every node and of NATS;
 *  2. commands (ClearCache) through node 1's API to stations held by node 1 (same node) and to stations held by
 *     node 0 (cross node), `httpConcurrency` in flight each, one path after the other: round trip p50/p99;
 *  3. node 0 killed with SIGKILL: time until half, 90 %, 99 % and every one of its stations is booted again on the
 *     others.
 * Prints a table with the conditions and appends one record to results.jsonl.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Pool } from 'undici';
import { fmt, machine, save, sleep, startServer, table, type Server } from './harness.js';
import { startNats } from './nats.js';
import { processMemory } from './proc.js';
import { Histogram } from './histogram.js';
import { PHASE_MEASURE, PHASE_STOP, PHASE_WARMUP } from './fleet-generator.js';
import type { ClusterScenario } from './scenario-schema.js';
import { Fleet, cpuOf, waitBooted } from './scenario-run.js';

interface CommandRun {
  path: string;
  commands: number;
  ok: number;
  perS: number;
  p50Ms: number;
  p99Ms: number;
}

async function commands(node: Server, identities: string[], count: number, concurrency: number, path: string): Promise<CommandRun> {
  const pool = new Pool(`http://127.0.0.1:${node.port}`, { connections: concurrency, pipelining: 1 });
  const hist = new Histogram();
  let next = 0;
  let ok = 0;
  const t0 = performance.now();
  const worker = async (): Promise<void> => {
    while (next < count) {
      const i = next++;
      const started = performance.now();
      try {
        const res = await pool.request({ path: `/api/v1/ChargePoint/${identities[i % identities.length]}/ClearCache`, method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
        await res.body.dump();
        if (res.statusCode === 200) ok++;
        hist.record((performance.now() - started) * 1000);
      } catch {
        /* counted as not ok */
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const seconds = (performance.now() - t0) / 1000;
  await pool.close();
  const summary = hist.summary();
  return { path, commands: count, ok, perS: count / seconds, p50Ms: summary.p50 / 1000, p99Ms: summary.p99 / 1000 };
}

interface Steady {
  bootS: number;
  windowS: number;
  messages: number;
  cpuS: number[];
  natsCpuS: number;
  rss0: number[];
  rss1: number[];
  latency: { p50: number; p99: number };
}

/** The nodes (in the cluster or each on its own) and the fleet spread over them, booted. */
async function startNodes(s: ClusterScenario, workDir: string, natsUrl: string | null, tag: string): Promise<{ nodes: Server[]; fleet: Fleet; bootS: number; rss0: number[] }> {
  const nodes: Server[] = [];
  for (let i = 0; i < s.nodes; i++) {
    const configFile = join(workDir, `${tag}-n${i}.json`);
    const cluster = natsUrl === null ? { enable: false } : { enable: true, nodeId: `n${i}`, nats: { servers: [natsUrl] }, nodeTtlS: s.nodeTtlS };
    writeFileSync(configFile, JSON.stringify({ cluster }));
    nodes.push(await startServer('router', { workers: s.workers, workDir, cpuProfDir: null, configFile }));
  }
  const rss0 = nodes.map((n) => processMemory(n.pid).vmRssBytes);
  const t0 = performance.now();
  const fleet = new Fleet(s, nodes[0]!.url, false, 'open', s.reconnect, performance.timeOrigin + t0, nodes.map((n) => n.url));
  await fleet.started();
  const st = await waitBooted(fleet, nodes[0]!, s.stations, Date.now() + (s.stations / Math.max(1, s.connectPerS)) * 1000 + 120_000, false);
  const bootS = (performance.now() - t0) / 1000;
  process.stdout.write(`  ${tag}: ${st.booted} booted in ${fmt(bootS, 1)} s; steady traffic …\n`);
  return { nodes, fleet, bootS, rss0 };
}

/** Open-loop traffic for `holdS` after `warmupS`: CPU of every node (and NATS), RSS, latency. */
async function steady(s: ClusterScenario, nodes: Server[], fleet: Fleet, natsPid: number | null, bootS: number, rss0: number[]): Promise<Steady> {
  await fleet.all({ t: 'phase', phase: PHASE_WARMUP }, 'phase');
  await sleep(s.warmupS * 1000);
  const cpu0 = nodes.map((n) => cpuOf([n.pid]));
  const nats0 = natsPid === null ? null : cpuOf([natsPid]);
  const w0 = performance.now();
  await fleet.all({ t: 'phase', phase: PHASE_MEASURE }, 'phase');
  await sleep(s.holdS * 1000);
  await fleet.all({ t: 'phase', phase: PHASE_STOP }, 'phase');
  const windowS = (performance.now() - w0) / 1000;
  const cpu1 = nodes.map((n) => cpuOf([n.pid]));
  const nats1 = natsPid === null ? null : cpuOf([natsPid]);
  const report = await fleet.report();
  const latency = Histogram.from(report.latencyUs).summary();
  return {
    bootS,
    windowS,
    messages: report.messages,
    cpuS: nodes.map((_, i) => cpu1[i]!.userS + cpu1[i]!.systemS - cpu0[i]!.userS - cpu0[i]!.systemS),
    natsCpuS: nats0 === null || nats1 === null ? 0 : nats1.userS + nats1.systemS - nats0.userS - nats0.systemS,
    rss0,
    rss1: nodes.map((n) => processMemory(n.pid).vmRssBytes),
    latency: { p50: latency.p50, p99: latency.p99 },
  };
}

const usPerMsg = (cpuS: number, messages: number): number => (cpuS * 1e6) / Math.max(1, messages);
const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0);

export async function runCluster(name: string, s: ClusterScenario, workDir: string, noSave: boolean): Promise<void> {
  const facts = machine();
  process.stdout.write(`${name}: ${s.nodes} nodes, ${s.stations} stations; first each node on its own, then as a cluster …\n`);
  // 0. The same nodes, fleet and traffic without the cluster.
  let alone: Steady;
  {
    const run = await startNodes(s, workDir, null, 'alone');
    try {
      alone = await steady(s, run.nodes, run.fleet, null, run.bootS, run.rss0);
    } finally {
      await run.fleet.close();
      for (const n of run.nodes) await n.stop().catch(() => undefined);
    }
  }

  const nats = await startNats(workDir);
  let nodes: Server[] = [];
  let fleet: Fleet | null = null;
  try {
    const run = await startNodes(s, workDir, nats.url, 'cluster');
    nodes = run.nodes;
    fleet = run.fleet;
    // 1. Steady traffic.
    const on = await steady(s, nodes, fleet, nats.pid, run.bootS, run.rss0);
    const { bootS, windowS, rss0, rss1, latency, natsCpuS } = on;
    const cpuS = (i: number): number => on.cpuS[i]!;
    const clusterCpuS = sum(on.cpuS);
    const report = { messages: on.messages };
    const held = await Promise.all(nodes.map(async (n) => ((await (await fetch(`http://127.0.0.1:${n.port}/api/v1/cluster`)).json()) as { stations: number }).stations));

    // 2. Commands from node 1: to its own stations, then to node 0's.
    const onNode = (node: number): string[] => Array.from({ length: Math.floor(s.stations / s.nodes) }, (_, k) => k * s.nodes + node).filter((n) => n >= 1 && n <= s.stations).slice(0, 1000).map((n) => `BENCH-${n}`);
    const same = await commands(nodes[1]!, onNode(1), s.commands, s.httpConcurrency, 'same node');
    const cross = await commands(nodes[1]!, onNode(0), s.commands, s.httpConcurrency, 'cross node');

    // 3. Node 0 killed: every station back on the others.
    const k0 = performance.now();
    await fleet.all({ t: 'mark', atMs: performance.timeOrigin + k0 }, 'marked');
    process.kill(nodes[0]!.pid, 'SIGKILL');
    // Back = every station n0 held has booted again (on n1 or n2), and the whole fleet is booted.
    const deadline = Date.now() + s.timeoutS * 1000;
    let back = await fleet.status();
    const marks: Array<[number, number | null]> = [[0.5, null], [0.9, null], [0.99, null]];
    while (Date.now() < deadline && (back.bootsSinceMark < held[0]! || back.booted < s.stations)) {
      await sleep(100);
      back = await fleet.status();
      for (const m of marks) if (m[1] === null && back.bootsSinceMark >= m[0] * held[0]!) m[1] = (performance.now() - k0) / 1000;
    }
    const after = await fleet.report();
    const failoverS = back.booted === s.stations && back.bootsSinceMark >= held[0]! ? after.lastBootMs / 1000 : NaN;

    const conditions = `${name}: ${s.nodes} nodes × WORKERS=${s.workers} on one machine, NATS ${facts.cores} cores shared, ${s.stations} stations from ${fleet.procs.length} load generator processes, open loop ${s.ratePerS} CALLs/s, mix ${JSON.stringify(s.mix)}, window ${s.holdS} s, node ttl ${s.nodeTtlS} s, directory ttl default | ${String(facts.cpuModel)}, ${String(facts.cores)} cores, Node ${String(facts.node)}, git ${String(facts.gitRev)}${facts.gitDirty === true ? '+dirty' : ''}`;
    process.stdout.write(`\n${conditions}\n`);
    process.stdout.write(
      `${table(
        ['node', 'stations held', 'CPU s in window', 'RSS MB', 'RSS B/station (from start)'],
        [...nodes.map((n, i) => [`n${i} (:${n.port})`, held[i]!, fmt(cpuS(i)), fmt(rss1[i]! / 1e6, 0), fmt((rss1[i]! - rss0[i]!) / Math.max(1, held[i]!), 0)]), ['nats-server', '-', fmt(natsCpuS), '-', '-']],
      )}\n`,
    );
    const msgs = report.messages;
    const aloneUs = usPerMsg(sum(alone.cpuS), alone.messages);
    const onUs = usPerMsg(clusterCpuS, msgs);
    process.stdout.write(`each node on its own: ${alone.messages} CALLs in ${fmt(alone.windowS, 1)} s, nodes' CPU ${fmt(aloneUs)} µs/msg, p50/p99 ${fmt(alone.latency.p50 / 1000)}/${fmt(alone.latency.p99 / 1000)} ms (boot ${fmt(alone.bootS, 1)} s)\n`);
    process.stdout.write(`steady: ${msgs} CALLs answered in ${fmt(windowS, 1)} s (${fmt(msgs / windowS, 0)}/s), cluster CPU ${fmt((clusterCpuS * 1e6) / Math.max(1, msgs))} µs/msg (+ NATS ${fmt((natsCpuS * 1e6) / Math.max(1, msgs))} µs/msg), p50/p99 ${fmt(latency.p50 / 1000)}/${fmt(latency.p99 / 1000)} ms\n`);
    process.stdout.write(`${table(['commands from n1', 'sent', 'ok', 'per s', 'p50 ms', 'p99 ms'], [same, cross].map((c) => [c.path, c.commands, c.ok, fmt(c.perS, 0), fmt(c.p50Ms), fmt(c.p99Ms)]))}\n`);
    process.stdout.write(`cluster on / each on its own: ${fmt(onUs / aloneUs)}× nodes' CPU per message, ${fmt((onUs + usPerMsg(natsCpuS, msgs)) / aloneUs)}× with NATS\n`);
    process.stdout.write(`cross/same node round trip: p50 ${fmt(cross.p50Ms / same.p50Ms)}×, p99 ${fmt(cross.p99Ms / same.p99Ms)}×\n`);
    process.stdout.write(`node n0 killed: ${back.booted}/${s.stations} stations booted again after ${fmt(failoverS, 2)} s; half of n0's ${held[0]} after ${fmt(marks[0]![1] ?? NaN, 2)} s, 90 % ${fmt(marks[1]![1] ?? NaN, 2)} s, 99 % ${fmt(marks[2]![1] ?? NaN, 2)} s (boot of the whole fleet took ${fmt(bootS, 1)} s)\n`);
    save(noSave, {
      scenario: name,
      kind: s.kind,
      params: s,
      ...facts,
      results: { bootS, windowS, messages: msgs, clusterCpuUsPerMsg: (clusterCpuS * 1e6) / Math.max(1, msgs), natsCpuUsPerMsg: (natsCpuS * 1e6) / Math.max(1, msgs), alone: { cpuUsPerMsg: aloneUs, messages: alone.messages, cpuS: alone.cpuS, latencyUs: alone.latency, bootS: alone.bootS }, clusterOverAlone: onUs / aloneUs, nodes: nodes.map((n, i) => ({ node: `n${i}`, held: held[i], cpuS: cpuS(i), rssBytes: rss1[i] })), latencyUs: { p50: latency.p50, p99: latency.p99 }, commands: [same, cross], failoverS, failoverMarksS: Object.fromEntries(marks.map(([f, at]) => [String(f), at])), backAfterKill: back.booted },
      note: 'three router processes and the load generators on the same machine; CPU = utime+stime per process over the window; commands = POST ClearCache through node 1 to stations on node 1 (same) or node 0 (cross); failover = from SIGKILL of n0 to the last station booted again on n1/n2',
    });
  } finally {
    await fleet?.close();
    for (const n of nodes) await n.stop().catch(() => undefined);
    await nats.stop();
  }
}
