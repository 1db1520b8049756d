/**
 * Newest wins, decided by the connection sequence taken at the upgrade (shared by every shard), never by the
 * order in which two shards' reports reach the control plane. One identity reconnects thousands of times from a
 * client thread while the control plane is kept busy (as a large station list or a heavy API request would), so
 * the shards' reports queue up and are read in an order of the runtime's choosing. The kernel spreads the
 * connections over both shards. A connection closed with 4000 "replaced" while it was still the newest one is a
 * failure, and at the end the registry agrees with the last connection.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import { createRequire } from 'node:module';
import { startTestServer, waitFor, type TestServer } from './helpers/server.js';

const CYCLES = 1500;

interface ClientReport {
  /** Connections closed with 4000 while no newer one had been started. */
  wronglyReplaced: number[];
  /** Older connections and how they were closed. */
  closeCodes: Record<string, number>;
  cycles: number;
}

/**
 * The client, as a worker thread: `mode` close = close cleanly, wait, reconnect; overlap = open the next while
 * the previous is still open. Leaves the last connection open and reports when its older ones are all closed.
 */
const CLIENT = `
const { parentPort, workerData } = require('node:worker_threads');
const WebSocket = require(workerData.ws);
const { url, cycles, mode } = workerData;
const all = [];
function open() {
  const prev = all[all.length - 1];
  if (prev) prev.superseded = true;
  const c = { superseded: false, code: null };
  c.ws = new WebSocket(url, ['ocpp1.6']);
  c.closed = new Promise((resolve) => c.ws.on('close', (code) => { c.code = code; c.wrong = code === 4000 && !c.superseded; resolve(code); }));
  all.push(c);
  return new Promise((resolve, reject) => { c.ws.once('open', () => resolve(c)); c.ws.once('error', reject); });
}
(async () => {
  for (let i = 0; i < cycles; i++) {
    const c = await open();
    if (mode === 'close') { c.ws.close(1000); await c.closed; }
  }
  const last = mode === 'close' ? await open() : all[all.length - 1];
  await Promise.all(all.filter((c) => c !== last).map((c) => c.closed));
  const codes = {};
  for (const c of all) if (c !== last) codes[c.code] = (codes[c.code] || 0) + 1;
  parentPort.postMessage({ wronglyReplaced: all.flatMap((c, i) => (c.wrong ? [i] : [])), closeCodes: codes, cycles });
  parentPort.once('message', () => { last.ws.on('close', () => parentPort.postMessage('closed')); last.ws.close(1000); });
  last.ws.on('message', (data) => {
    const frame = JSON.parse(data.toString());
    if (frame[0] === 2) last.ws.send(JSON.stringify([3, frame[1], { status: 'Accepted' }]));
  });
})().catch((error) => parentPort.postMessage({ error: String(error) }));
`;

/** Blocks the control plane's thread for `busyMs` out of every `periodMs` while the client runs. */
function keepBusy(busyMs: number, periodMs: number): () => void {
  const timer = setInterval(() => {
    const until = performance.now() + busyMs;
    while (performance.now() < until) {
      // busy: the shards' reports wait in their ports
    }
  }, periodMs);
  return () => clearInterval(timer);
}

async function race(h: TestServer, identity: string, mode: 'close' | 'overlap'): Promise<{ report: ClientReport; worker: Worker }> {
  const worker = new Worker(CLIENT, { eval: true, workerData: { url: h.url(identity), cycles: CYCLES, mode, ws: createRequire(import.meta.url).resolve('ws') } });
  const stopBusy = keepBusy(8, 10);
  try {
    const report = await new Promise<ClientReport & { error?: string }>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
    if (report.error !== undefined) throw new Error(report.error);
    return { report, worker };
  } finally {
    stopBusy();
  }
}

for (const mode of ['close', 'overlap'] as const) {
  const what = mode === 'close' ? 'reconnect right after a clean close' : 'reconnect while the old connection is still open';
  test(`${what}: ${CYCLES} cycles over two shards with a busy control plane; the newest always wins`, { timeout: 180_000 }, async (t) => {
    const h = await startTestServer({ server: { workers: 2 } });
    t.after(() => h.stop());
    const identity = `RACE-${mode}`;
    const { report, worker } = await race(h, identity, mode);
    t.after(() => worker.terminate());
    assert.deepEqual(report.wronglyReplaced, [], 'no connection was replaced while it was the newest');
    if (mode === 'overlap') assert.deepEqual(report.closeCodes, { 4000: CYCLES - 1 }, 'every older connection was replaced');
    else assert.deepEqual(report.closeCodes, { 1000: CYCLES }, 'every older connection closed cleanly');
    // Late reports of older connections have all arrived once every shard answered a round trip.
    await h.server.shardStats();
    await waitFor(() => h.server.station(identity)?.connected, 5000, 'registry shows the station connected');
    assert.equal(h.server.station(identity)!.connected, true, 'the registry agrees with the open connection');
    // The registry's connection is the open one: a command reaches it and is answered.
    assert.deepEqual(await h.server.call(identity, 'ClearCache', {}), { status: 'Accepted' });
    worker.postMessage('close');
    await new Promise((resolve) => worker.once('message', resolve));
    await waitFor(() => h.server.station(identity)?.connected === false, 5000, 'registry shows the last disconnect');
  });
}
