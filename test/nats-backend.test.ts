/**
 * The NATS backend (`backend: "nats"`, src/backends/nats/) with a real nats-server and a real router: two worker
 * processes (conf/nats/worker-example.mjs) in a queue group share the CALLs; a worker's CallError reaches the
 * station; unusable replies, timeouts and no workers follow `nats.onFailure` (InternalError saying why, or the
 * built-in responder's answer with a record that reaches the fallback stream, also when NATS comes back only
 * after the router was killed with SIGKILL).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect } from '@nats-io/transport-node';
import { privateNats } from './helpers/nats.js';
import { streamReader } from './helpers/nats-stream.js';
import { startTestServer, TestStation, waitFor } from './helpers/server.js';
import { spawnRouter, stdoutLines } from './helpers/router-process.js';

const WORKER = fileURLToPath(new URL('../../conf/nats/worker-example.mjs', import.meta.url));
const BOOT = { chargePointVendor: 'V', chargePointModel: 'M' };
const FALLBACK = 'OCPP_FALLBACK';

function natsBackend(url: string, onFailure: 'error' | 'responder', timeoutMs = 2000) {
  return { backend: 'nats' as const, nats: { onFailure, timeoutMs }, cluster: { nats: { servers: [url], reconnectWaitMs: 50, reconnectMaxWaitMs: 200 } } };
}

async function scrape(port: number): Promise<string> {
  return fetch(`http://127.0.0.1:${port}/metrics`).then((r) => r.text());
}

/** Both shards of a test server have their NATS connection (until then a CALL is answered as NATS down). */
async function bothShardsConnected(port: number): Promise<void> {
  await waitFor(async () => /^ocpp_nats_connected 2$/m.test(await scrape(port)), 10_000, 'both shards connected to NATS');
}

function spawnWorker(t: { after(fn: () => unknown): void }, url: string, name: string): { lines: string[]; ready: Promise<void> } {
  const child = spawn(process.execPath, [WORKER], { env: { ...process.env, NATS_URL: url, WORKER_NAME: name, LOG_REQUESTS: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
  t.after(() => child.kill('SIGKILL'));
  const lines = stdoutLines(child.stdout!);
  const ready = new Promise<void>((resolve, reject) => {
    child.stderr!.on('data', (chunk: Buffer) => (chunk.toString().includes('answering') ? resolve() : undefined));
    child.once('exit', (code) => reject(new Error(`worker ${name} exited with ${code}`)));
  });
  return { lines, ready };
}

test('two worker processes in a queue group share the CALLs; answers are relayed and validated', async (t) => {
  const nats = await privateNats(t);
  const workers = [spawnWorker(t, nats.url, 'w1'), spawnWorker(t, nats.url, 'w2')];
  await Promise.all(workers.map((w) => w.ready));
  const h = await startTestServer(natsBackend(nats.url, 'error'));
  t.after(() => h.stop());
  await bothShardsConnected(h.port);
  const stations = await Promise.all(['Q-1', 'Q-2', 'Q.3'].map((id) => TestStation.connect(h.url(id))));
  for (const s of stations) {
    const boot = await s.call('BootNotification', BOOT);
    assert.equal(boot[0], 3);
    assert.equal((boot[2] as { status: string }).status, 'Accepted');
  }
  await Promise.all(stations.map(async (s) => {
    for (let i = 0; i < 20; i++) {
      const reply = await s.call('Heartbeat', {});
      assert.equal(reply[0], 3);
      assert.equal(typeof (reply[2] as { currentTime: unknown }).currentTime, 'string');
    }
    const start = await s.call('StartTransaction', { connectorId: 1, idTag: 'T', meterStart: 0, timestamp: new Date().toISOString() });
    assert.equal(start[0], 3);
    assert.equal(typeof (start[2] as { transactionId: unknown }).transactionId, 'number');
  }));
  // A 2.0.1 station: its own subject token and answers.
  const v2 = await TestStation.connect(h.url('Q-201'), ['ocpp2.0.1']);
  const boot2 = await v2.call('BootNotification', { reason: 'PowerUp', chargingStation: { model: 'M', vendorName: 'V' } });
  assert.equal(boot2[0], 3);
  const requests = await waitFor(() => {
    const all = workers.flatMap((w) => w.lines.map((l) => JSON.parse(l) as Record<string, string>));
    return all.length >= 3 * 22 + 1 ? all : null;
  }, 5000, 'every request seen by a worker');
  assert.equal(requests.length, 3 * 22 + 1, 'each CALL went to exactly one worker');
  for (const w of workers) assert.ok(w.lines.length > 0, 'both workers got work');
  const boots = requests.filter((r) => r.action === 'BootNotification');
  assert.deepEqual(boots.map((r) => r.subject).sort(), ['ocpp.in.ocpp1_6.BootNotification', 'ocpp.in.ocpp1_6.BootNotification', 'ocpp.in.ocpp1_6.BootNotification', 'ocpp.in.ocpp2_0_1.BootNotification']);
  assert.deepEqual(boots.map((r) => r.identity).sort(), ['Q-1', 'Q-2', 'Q-201', 'Q.3']);
  assert.equal(new Set(requests.map((r) => r.idempotencyKey)).size, requests.length, 'idempotency keys are unique');
  const metrics = await scrape(h.port);
  assert.match(metrics, /^ocpp_nats_requests_total\{outcome="result"\} 67$/m);
  assert.match(metrics, /^ocpp_nats_requests_total\{outcome="failed"\} 0$/m);
  for (const s of [...stations, v2]) await s.close();
});

test('onFailure error: CallError relayed, bad replies and timeouts and no workers answer InternalError saying why', async (t) => {
  const nats = await privateNats(t);
  const nc = await connect({ servers: nats.url });
  t.after(() => nc.close());
  // An operator's worker with opinions, in a queue group like any.
  const sub = nc.subscribe('ocpp.in.>', { queue: 'ocpp-workers' });
  void (async () => {
    for await (const m of sub) {
      const r = m.json<{ identity: string; uniqueId: string; action: string }>();
      const head = { identity: r.identity, uniqueId: r.uniqueId, action: r.action };
      switch (r.action) {
        case 'BootNotification':
          m.respond(JSON.stringify({ ...head, payload: { status: 'Accepted', currentTime: new Date().toISOString(), interval: 60 } }));
          break;
        case 'DataTransfer':
          m.respond(JSON.stringify({ ...head, messageTypeId: 'CallError', errorCode: 'NotSupported', errorDescription: 'no vendor data here', errorDetails: { hint: 'x' } }));
          break;
        case 'Authorize':
          m.respond(JSON.stringify({ ...head, payload: 'accepted' }));
          break;
        case 'StatusNotification':
          m.respond('not json at all');
          break;
        case 'Heartbeat':
          m.respond(JSON.stringify({ ...head, payload: { currentTime: 5 } }));
          break;
        default:
          // MeterValues: never answered (timeout).
          break;
      }
    }
  })();
  await nc.flush();
  const h = await startTestServer(natsBackend(nats.url, 'error', 300));
  t.after(() => h.stop());
  await bothShardsConnected(h.port);
  const s = await TestStation.connect(h.url('E-1'));
  assert.equal((await s.call('BootNotification', BOOT))[0], 3);
  const dt = await s.call('DataTransfer', { vendorId: 'acme' });
  assert.deepEqual(dt.slice(0, 3), [4, dt[1], 'NotSupported']);
  assert.equal(dt[3], 'no vendor data here');
  assert.deepEqual(dt[4], { hint: 'x' });
  const bad = await s.call('Authorize', { idTag: 'T' });
  assert.equal(bad[2], 'InternalError');
  assert.match(bad[3] as string, /^NATS backend: worker reply field payload/);
  const notJson = await s.call('StatusNotification', { connectorId: 1, errorCode: 'NoError', status: 'Available' });
  assert.equal(notJson[2], 'InternalError');
  assert.match(notJson[3] as string, /not JSON/);
  const invalid = await s.call('Heartbeat', {});
  assert.equal(invalid[2], 'InternalError', 'a reply that fails the response schema never reaches the station');
  const slow = await s.call('MeterValues', { connectorId: 1, meterValue: [{ timestamp: new Date().toISOString(), sampledValue: [{ value: '1' }] }] });
  assert.equal(slow[2], 'InternalError');
  assert.match(slow[3] as string, /no reply within 300 ms/);
  sub.unsubscribe();
  await nc.flush();
  const none = await s.call('Heartbeat', {});
  assert.equal(none[2], 'InternalError');
  assert.match(none[3] as string, /no worker subscribes to ocpp\.in\.ocpp1_6\.Heartbeat/);
  const metrics = await scrape(h.port);
  assert.match(metrics, /^ocpp_nats_requests_total\{outcome="callError"\} 1$/m);
  assert.match(metrics, /^ocpp_nats_request_failures_total\{reason="invalid"\} 2$/m);
  assert.match(metrics, /^ocpp_nats_request_failures_total\{reason="timeout"\} 1$/m);
  assert.match(metrics, /^ocpp_nats_request_failures_total\{reason="noResponders"\} 1$/m);
  assert.match(metrics, /^ocpp_invalid_backend_replies_total 1$/m);
  await nats.stop();
  const down = await waitFor(async () => {
    const r = await s.call('Heartbeat', {});
    return /not connected/.test(r[3] as string) ? r : null;
  }, 10_000, 'NATS seen as down');
  assert.equal(down[2], 'InternalError');
  await s.close();
});

test('onFailure responder: the station is answered, the record reaches the fallback stream when NATS is back', async (t) => {
  const nats = await privateNats(t);
  const reader = await streamReader(t, nats.url);
  const h = await startTestServer(natsBackend(nats.url, 'responder', 500));
  t.after(() => h.stop());
  // Connected first: a CALL before that is answered as 'down', not 'noResponders' (both by the responder).
  await bothShardsConnected(h.port);
  const s = await TestStation.connect(h.url('F.1'));
  // No worker: the responder answers, the record goes to disk, then to JetStream.
  const boot = await s.call('BootNotification', BOOT, 'boot-1');
  assert.equal(boot[0], 3);
  assert.equal((boot[2] as { status: string }).status, 'Accepted');
  const [record] = await reader.waitFor(FALLBACK, 1);
  assert.equal(record!.subject, 'ocpp.fallback.ocpp1_6.BootNotification');
  assert.equal(record!.body.identity, 'F.1');
  assert.equal(record!.body.uniqueId, 'boot-1');
  assert.equal(record!.body.failure, 'noResponders');
  assert.equal(record!.body.answeredBy, 'responder');
  assert.deepEqual((record!.body.answer as { payload: unknown }).payload, boot[2]);
  assert.equal(record!.msgId, record!.body.idempotencyKey);
  // NATS away: still answered at once; the records wait on disk and follow when NATS is back.
  await nats.stop();
  await waitFor(async () => /^ocpp_nats_connected 0$/m.test(await scrape(h.port)), 10_000, 'NATS down');
  for (let i = 0; i < 5; i++) assert.equal((await s.call('Heartbeat', {}, `hb-${i}`))[0], 3);
  assert.match(await scrape(h.port), /^ocpp_nats_fallback_spool_entries 5$/m);
  await nats.start();
  const records = await reader.waitFor(FALLBACK, 6, undefined, 20_000);
  assert.deepEqual(records.map((r) => r.body.uniqueId), ['boot-1', 'hb-0', 'hb-1', 'hb-2', 'hb-3', 'hb-4']);
  assert.ok(records.slice(1).every((r) => r.body.failure === 'down' && r.subject === 'ocpp.fallback.ocpp1_6.Heartbeat'));
  const metrics = await waitFor(async () => {
    const text = await scrape(h.port);
    return /^ocpp_nats_fallback_spool_entries 0$/m.test(text) ? text : null;
  }, 10_000, 'fallback spool empty');
  assert.match(metrics, /^ocpp_nats_fallback_records_total\{outcome="kept"\} 6$/m);
  assert.match(metrics, /^ocpp_nats_fallback_records_total\{outcome="published"\} 6$/m);
  assert.match(metrics, /^ocpp_nats_fallback_answers_total 6$/m);
  await s.close();
});

/** Fallback records in the spool segment files of one shard folder (adds minus acks). */
function spooledRecords(dir: string): number {
  if (!existsSync(dir)) return 0;
  const added = new Set<number>();
  for (const name of readdirSync(dir)) {
    for (const line of readFileSync(join(dir, name), 'utf8').split('\n')) {
      if (line === '') continue;
      let r: { s?: number; a?: number };
      try {
        r = JSON.parse(line) as { s?: number; a?: number };
      } catch {
        continue; // a line being written
      }
      if (r.s !== undefined) added.add(r.s);
      if (r.a !== undefined) added.delete(r.a);
    }
  }
  return added.size;
}

test('kill -9 between the answer and the publish: the records on disk reach JetStream after the restart', async (t) => {
  const nats = await privateNats(t);
  const reader = await streamReader(t, nats.url);
  const dataDir = mkdtempSync(join(tmpdir(), 'ocpp-router-nats-crash-'));
  t.after(() => rmSync(dataDir, { recursive: true, force: true }));
  const env = { BACKEND: 'nats', NATS_ON_FAILURE: 'responder', NATS_URL: nats.url, STORE_ENGINE: 'off' };
  const first = await spawnRouter(t, { dataDir, env });
  // NATS goes away: every CALL is answered by the responder and kept on disk, nothing can be published.
  await nats.stop();
  await waitFor(async () => /^ocpp_nats_connected 0$/m.test(await scrape(first.port)), 10_000, 'NATS down');
  // Stations until both shards hold some (the kernel spreads connections; each answered CALL is on disk by then).
  const expected: string[] = [];
  const onDisk = (): number[] => [0, 1].map((shard) => spooledRecords(join(dataDir, 'nats', 'fallback', `shard-${shard}`)));
  for (let i = 0; i < 8 || onDisk().includes(0); i++) {
    assert.ok(i < 64, 'stations landed on both shards');
    const id = `K-${i}`;
    const s = await TestStation.connect(`ws://127.0.0.1:${first.port}/ocpp/${id}`);
    assert.equal((await s.call('BootNotification', BOOT, `${id}-boot`))[0], 3);
    assert.equal((await s.call('Heartbeat', {}, `${id}-hb`))[0], 3);
    expected.push(`${id}-boot`, `${id}-hb`);
  }
  await first.kill9();
  const kept = onDisk();
  assert.equal(kept[0]! + kept[1]!, expected.length, 'every answered CALL is on disk');
  // NATS back, the router restarted with ONE shard: shard 0 also publishes what shard 1 left.
  await nats.start();
  const second = await spawnRouter(t, { dataDir, env: { ...env, WORKERS: '1' } });
  const records = await reader.waitFor(FALLBACK, expected.length, undefined, 30_000);
  assert.deepEqual(records.map((r) => r.body.uniqueId).sort(), [...expected].sort());
  assert.equal(new Set(records.map((r) => r.msgId)).size, expected.length);
  await waitFor(() => !existsSync(join(dataDir, 'nats', 'fallback', 'shard-1')) || spooledRecords(join(dataDir, 'nats', 'fallback', 'shard-1')) === 0, 10_000, 'the spool of shard 1 published');
  second.child.kill('SIGTERM');
  await second.exited;
});
