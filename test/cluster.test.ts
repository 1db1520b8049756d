/**
 * Three router nodes as separate processes on one NATS server of the test's own (JetStream, KV), stations spread
 * over them: commands through any node's API reach a station on any node (identities with subject-special
 * characters included), the lists show the whole cluster, a station that moves to another node has its old
 * socket closed as "replaced", transaction ids never collide across nodes, the operator's `ocpp.cmd.<identity>.
 * <action>` works, a node killed with SIGKILL and NATS restarted mid-run disturb nothing else.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from '@nats-io/transport-node';
import { TestStation, waitFor } from './helpers/server.js';
import { spawnRouter, type RouterProcess } from './helpers/router-process.js';
import { privateNats, type PrivateNats } from './helpers/nats.js';
import { Subjects } from '../src/cluster/subjects.js';
import { startFleet, templateStations } from '../src/emulator/index.js';

const LIMIT = { timeout: 180_000 };

interface Cluster {
  nats: PrivateNats;
  nodes: RouterProcess[];
  dir: string;
  start(i: number): Promise<RouterProcess>;
}

async function cluster(t: { after(fn: () => unknown): void }, count: number, directoryTtlS = 30): Promise<Cluster> {
  const nats = await privateNats(t);
  const dir = await mkdtemp(join(tmpdir(), 'ocpp-router-cluster-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const start = async (i: number): Promise<RouterProcess> => {
    const config = join(dir, `n${i}.json`);
    await writeFile(config, JSON.stringify({ cluster: { enable: true, nodeId: `n${i}`, nats: { servers: [nats.url], reconnectWaitMs: 100, reconnectMaxWaitMs: 1000 }, directory: { ttlS: directoryTtlS }, nodeTtlS: 3, requestTimeoutMs: 2000 }, ocpp: { callTimeoutMs: 5000 } }));
    return spawnRouter(t, { config, dataDir: join(dir, `data-${i}`) });
  };
  const nodes: RouterProcess[] = [];
  for (let i = 0; i < count; i++) nodes.push(await start(i));
  return { nats, nodes, dir, start };
}

const url = (node: RouterProcess, identity: string): string => `ws://127.0.0.1:${node.port}/ocpp/${encodeURIComponent(identity)}`;

async function station(node: RouterProcess, identity: string): Promise<TestStation> {
  const s = await TestStation.connect(url(node, identity), ['ocpp1.6']);
  await s.call('BootNotification', { chargePointVendor: 'V', chargePointModel: 'M' });
  s.onCall = (action) => (action === 'Reset' ? { status: 'Accepted' } : action === 'ClearCache' ? { status: 'Rejected' } : null);
  return s;
}

async function command(node: RouterProcess, identity: string, operation: string, body: Record<string, unknown>): Promise<{ status: number; body: Record<string, unknown> }> {
  const r = await fetch(`http://127.0.0.1:${node.port}/api/v1/ChargePoint/${encodeURIComponent(identity)}/${operation}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: r.status, body: (await r.json()) as Record<string, unknown> };
}

async function list(node: RouterProcess): Promise<Array<{ Identity: string; Node: string; Connected: boolean }>> {
  const r = await fetch(`http://127.0.0.1:${node.port}/api/v1/ChargePointList`);
  return ((await r.json()) as { ChargePointList: Array<{ Identity: string; Node: string; Connected: boolean }> }).ChargePointList;
}

test('three nodes as one central system: commands from any node, whole-cluster lists, hostile identities, replacement across nodes, unique transaction ids', LIMIT, async (t) => {
  const c = await cluster(t, 3);
  const [n0, n1, n2] = c.nodes as [RouterProcess, RouterProcess, RouterProcess];
  // Identities with characters that are special in subjects and KV keys.
  const ids = ['CL-1', 'a.b', '*', 'x=3D|y@z+1', 'CP.>'.replace('>', '-')];
  const stations = new Map<string, TestStation>();
  for (const [i, identity] of ids.entries()) stations.set(identity, await station(c.nodes[i % 3]!, identity));
  t.after(() => Promise.all([...stations.values()].map((s) => s.close())));

  // Every node reaches every station.
  for (const node of c.nodes) {
    for (const identity of ids) {
      const answer = await waitFor(async () => {
        const r = await command(node, identity, 'Reset', { type: 'Soft' });
        return r.status === 200 ? r : null;
      }, 10_000, `Reset of ${identity} through node ${c.nodes.indexOf(node)}`);
      assert.deepEqual(answer.body, { status: 'Accepted' });
    }
  }
  // The station's own answer and errors come back as on its node: a CALLERROR is 502 with its code.
  const ccs = stations.get('a.b')!;
  ccs.onCall = (action, _payload, id) => {
    if (action === 'ClearCache') ccs.ws.send(JSON.stringify([4, id, 'InternalError', 'broken', {}]));
    return null;
  };
  const failed = await command(n0, 'a.b', 'ClearCache', {});
  assert.equal(failed.status, 502);
  assert.equal((failed.body.error as { details: { errorCode: string } }).details.errorCode, 'InternalError');
  // An unknown station is 404 everywhere; bad input is 400 before anything crosses NATS.
  assert.equal((await command(n2, 'NOPE', 'Reset', { type: 'Soft' })).status, 404);
  assert.equal((await command(n2, 'CL-1', 'Reset', { type: 'Sideways' })).status, 400);

  // The lists show the whole cluster, each station with its node.
  const seen = await waitFor(async () => {
    const l = await list(n1);
    return ids.every((id) => l.some((s) => s.Identity === id && s.Connected)) ? l : null;
  }, 10_000, 'every station in node 1\'s list');
  for (const [i, identity] of ids.entries()) assert.equal(seen.find((s) => s.Identity === identity)!.Node, `n${i % 3}`);
  const page = (await (await fetch(`http://127.0.0.1:${n2.port}/api/v1/stations?connected=true`)).json()) as { total: number; stations: Array<{ identity: string; node: string }> };
  assert.equal(page.total, ids.length);
  assert.deepEqual((await (await fetch(`http://127.0.0.1:${n0.port}/api/v1/stations/${encodeURIComponent('*')}`)).json() as { node: string }).node, 'n2');

  // Newest wins across nodes: CL-1 (on n0) connects to n2; its socket on n0 is closed with 4000 within a second.
  const old = stations.get('CL-1')!;
  const started = Date.now();
  const moved = await station(n2, 'CL-1');
  t.after(() => moved.close());
  const closed = await old.closed;
  assert.equal(closed.code, 4000);
  assert.ok(Date.now() - started < 2000, `replaced after ${Date.now() - started} ms`);
  const again = await waitFor(async () => {
    const r = await command(n1, 'CL-1', 'Reset', { type: 'Hard' });
    return r.status === 200 ? r : null;
  }, 10_000, 'CL-1 reached on its new node');
  assert.deepEqual(again.body, { status: 'Accepted' });

  // Transaction ids from every node, never the same twice.
  const txIds: number[] = [];
  for (const [i, identity] of ['TX-0', 'TX-1', 'TX-2'].entries()) {
    const s = await station(c.nodes[i]!, identity);
    t.after(() => s.close());
    for (let k = 0; k < 5; k++) {
      const answer = await s.call('StartTransaction', { connectorId: 1, idTag: 'T', meterStart: 0, timestamp: new Date().toISOString() });
      txIds.push((answer[2] as { transactionId: number }).transactionId);
    }
  }
  assert.equal(new Set(txIds).size, txIds.length, `unique across nodes: ${txIds.join(', ')}`);

  // The operator's command subject, on any node of the queue group.
  const nc = await connect({ servers: c.nats.url });
  t.after(() => nc.close());
  const subjects = new Subjects('ocpp');
  const reply = await nc.request(subjects.command('x=3D|y@z+1', 'Reset'), JSON.stringify({ type: 'Soft' }), { timeout: 10_000 });
  assert.deepEqual(reply.json(), { ok: true, value: { status: 'Accepted' } });
  const unknown = await nc.request(subjects.command('NOPE', 'Reset'), JSON.stringify({ type: 'Soft' }), { timeout: 10_000 });
  assert.equal((unknown.json() as { ok: boolean; error: { code: string } }).error.code, 'STATION_NOT_CONNECTED');
});

test('a node killed with SIGKILL and NATS restarted mid-run: the others keep serving, cross-node commands say 503 meanwhile', LIMIT, async (t) => {
  const c = await cluster(t, 3);
  const [n0, n1] = c.nodes as [RouterProcess, RouterProcess, RouterProcess];
  const s0 = await station(n0, 'K-0');
  const s1 = await station(n1, 'K-1');
  const s2 = await station(c.nodes[2]!, 'K-2');
  const s3 = await station(c.nodes[2]!, 'K-3');
  t.after(() => Promise.all([s0.close(), s1.close(), s2.close(), s3.close()]));
  await waitFor(async () => (await command(n0, 'K-2', 'Reset', { type: 'Soft' })).status === 200, 10_000, 'K-2 reachable from n0');

  // Node 2 dies: its station reconnects to node 1; until then commands for it answer 503 (or 409 once expired).
  await c.nodes[2]!.kill9();
  await s2.closed;
  const during = await command(n0, 'K-2', 'Reset', { type: 'Soft' });
  assert.ok([409, 503].includes(during.status), `while its node is gone: ${during.status} ${JSON.stringify(during.body)}`);
  const back = await station(n1, 'K-2');
  t.after(() => back.close());
  await waitFor(async () => (await command(n0, 'K-2', 'Reset', { type: 'Soft' })).status === 200, 10_000, 'K-2 reachable again on n1');
  // The others were not disturbed.
  assert.equal((await command(n1, 'K-0', 'Reset', { type: 'Soft' })).status, 200);
  // K-3 does not come back: once n2's heartbeat is older than nodeTtlS (3 s), its entry no longer counts, long
  // before the directory's own ttl (30 s) removes it.
  const killedAt = Date.now();
  const gone = await waitFor(async () => {
    const r = await command(n0, 'K-3', 'Reset', { type: 'Soft' });
    return r.status === 404 || r.status === 409 ? r : null;
  }, 15_000, 'K-3 free once its node is dead');
  // 404: n0 never saw K-3 itself, and no live node holds it (409 where the node knows the station).
  assert.match(JSON.stringify(gone.body), /STATION_NOT_FOUND|STATION_NOT_CONNECTED/);
  assert.ok(Date.now() - killedAt < 10_000, `dead node noticed after ${Date.now() - killedAt} ms`);

  // NATS goes away: every node keeps answering its own stations; cross-node commands say 503 with a reason.
  await c.nats.stop();
  const heartbeat = await s0.call('Heartbeat', {});
  assert.equal(heartbeat[0], 3, 'stations are answered while NATS is away');
  assert.equal((await command(n0, 'K-0', 'Reset', { type: 'Soft' })).status, 200, 'a local command needs no NATS');
  const cross = await command(n0, 'K-1', 'Reset', { type: 'Soft' });
  assert.equal(cross.status, 503);
  assert.match(JSON.stringify(cross.body), /CLUSTER_UNAVAILABLE|NATS/);
  const health = (await (await fetch(`http://127.0.0.1:${n0.port}/health/ready`)).json()) as { status: string; cluster: { nats: string } };
  assert.deepEqual([health.status, health.cluster.nats], ['ready', 'down']);
  // NATS back: the nodes reconnect, write their stations again, and reach each other.
  await c.nats.start();
  await waitFor(async () => (await command(n0, 'K-1', 'Reset', { type: 'Soft' })).status === 200, 20_000, 'cross-node commands after NATS is back');
  // The killed node's heartbeat is older than nodeTtlS: the cluster lists the two alive.
  const status = await waitFor(async () => {
    const st = (await (await fetch(`http://127.0.0.1:${n1.port}/api/v1/cluster`)).json()) as { nats: string; nodes: Array<{ node: string }> };
    return st.nodes?.length === 2 ? st : null;
  }, 20_000, 'the dead node gone from the cluster');
  assert.equal(status.nats, 'up');
  assert.deepEqual(status.nodes.map((n) => n.node), ['n0', 'n1']);
});

test('a node renews its directory entries before they expire: a station connected longer than the ttl stays reachable', LIMIT, async (t) => {
  const c = await cluster(t, 2, 10);
  const [n0, n1] = c.nodes as [RouterProcess, RouterProcess];
  const s1 = await station(n1, 'LONG-1');
  t.after(() => s1.close());
  await waitFor(async () => (await command(n0, 'LONG-1', 'Reset', { type: 'Soft' })).status === 200, 10_000, 'LONG-1 reachable from n0');
  // Past the bucket's max age (10 s): without renewal the entry would be gone.
  await new Promise((resolve) => setTimeout(resolve, 12_000));
  assert.equal((await command(n0, 'LONG-1', 'Reset', { type: 'Soft' })).status, 200);
  const writes = await (await fetch(`http://127.0.0.1:${n1.port}/metrics`)).text();
  const renewed = /ocpp_cluster_directory_writes_total\{[^}]*outcome="written"[^}]*\} (\d+)/.exec(writes);
  assert.ok(renewed !== null && Number(renewed[1]) >= 3, `the entry was written again (${renewed?.[1]} writes)`);
});

test('the emulator spread over two nodes moves to the one left when the other is killed', LIMIT, async (t) => {
  const c = await cluster(t, 2);
  const [n0, n1] = c.nodes as [RouterProcess, RouterProcess];
  const urls = c.nodes.map((n) => `ws://127.0.0.1:${n.port}/ocpp`);
  const fleet = await startFleet({ stations: templateStations({ stations: 40, url: urls[0]!, moreUrls: urls.slice(1), prefix: 'MV-' }), threads: 0, summaryIntervalMs: 0, timings: { reconnectMinMs: 100, reconnectMaxMs: 1000 } });
  t.after(() => fleet.stop());
  await waitFor(() => fleet.stats().booted === 40, 20_000, 'all booted');
  const before = await list(n1);
  assert.deepEqual([...new Set(before.filter((s) => s.Connected).map((s) => s.Node))].sort(), ['n0', 'n1'], 'spread over both nodes');
  const killedAt = Date.now();
  await n0.kill9();
  await waitFor(async () => {
    const l = await list(n1);
    return l.filter((s) => s.Connected && s.Node === 'n1' && s.Identity.startsWith('MV-')).length === 40;
  }, 30_000, 'every station back on n1');
  assert.ok(Date.now() - killedAt < 30_000);
});
