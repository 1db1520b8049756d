/** The live log: every message in and out, from every shard, to log clients on any shard, with a filter; the read role with auth on. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { startTestServer, TestStation, waitFor } from './helpers/server.js';
import type { LogEntry } from '../src/ipc/messages.js';
import { hashPassword } from '../src/config/password-hash.js';

async function logClient(url: string): Promise<{ ws: WebSocket; entries: LogEntry[] }> {
  const ws = new WebSocket(url);
  const entries: LogEntry[] = [];
  ws.on('message', (data) => entries.push(JSON.parse(data.toString()) as LogEntry));
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  return { ws, entries };
}

test('log clients on any shard see the frames of stations on every shard; the identity filter works', async (t) => {
  const h = await startTestServer({ server: { workers: 2 } });
  t.after(() => h.stop());
  const base = `ws://127.0.0.1:${h.port}/ws/log`;
  // Several clients so that both shards hold some (the kernel spreads connections).
  const clients = await Promise.all(Array.from({ length: 6 }, () => logClient(base)));
  const filtered = await logClient(`${base}?identity=LOG-1`);
  t.after(() => [...clients, filtered].forEach((c) => c.ws.close()));
  // Wait until the shards know a log client exists.
  // Stations until both shards hold some (6 at least, 64 at most): the kernel decides where each lands.
  const stations: TestStation[] = [];
  const shardsUsed = (): number => new Set(h.server.stations().filter((r) => r.connected).map((r) => r.shard)).size;
  while (stations.length < 6 || (shardsUsed() < 2 && stations.length < 64)) {
    stations.push(await TestStation.connect(h.url(`LOG-${stations.length}`), ['ocpp1.6']));
    await waitFor(() => h.server.stations().filter((r) => r.connected).length === stations.length, 5000, 'registered');
  }
  t.after(() => Promise.all(stations.map((s) => s.close())));
  await waitFor(async () => {
    await stations[0]!.call('Heartbeat', {});
    return clients.every((c) => c.entries.length > 0);
  }, 5000, 'log flowing');
  for (const [i, s] of stations.entries()) await s.call('BootNotification', { chargePointVendor: 'V', chargePointModel: `M${i}` }, `boot-${i}`);
  const shards = new Set(h.server.stations().map((r) => r.shard));
  assert.equal(shards.size, 2, 'stations on both shards');
  for (const client of clients) {
    await waitFor(() => stations.every((_, i) => client.entries.some((e) => e.uniqueId === `boot-${i}` && e.direction === 'out')), 5000, 'every boot answer');
    const call = client.entries.find((e) => e.uniqueId === 'boot-3' && e.direction === 'in')!;
    assert.equal(call.identity, 'LOG-3');
    assert.equal(call.messageType, 'CALL');
    assert.equal(call.action, 'BootNotification');
    assert.deepEqual(call.payload, { chargePointVendor: 'V', chargePointModel: 'M3' });
    const result = client.entries.find((e) => e.uniqueId === 'boot-3' && e.direction === 'out')!;
    assert.equal(result.messageType, 'CALLRESULT');
    assert.equal(result.action, 'BootNotification');
    assert.equal((result.payload as { status: string }).status, 'Accepted');
  }
  await waitFor(() => filtered.entries.some((e) => e.uniqueId === 'boot-1'), 5000, 'filtered client sees its station');
  assert.ok(filtered.entries.every((e) => e.identity === 'LOG-1'));
  // CALLERRORs are logged with their code.
  await stations[2]!.call('Heartbeat', { bogus: true }, 'bad-2');
  await waitFor(() => clients[0]!.entries.some((e) => e.uniqueId === 'bad-2' && e.messageType === 'CALLERROR'), 5000, 'error entry');
  const error = clients[0]!.entries.find((e) => e.uniqueId === 'bad-2' && e.messageType === 'CALLERROR')!;
  // As on the wire: the 1.6 spelling.
  assert.equal((error.payload as { code: string }).code, 'FormationViolation');
});

test('with auth on, the live log (id tags inside) needs the read role: a read-only user watches, no or wrong credentials get 401', async (t) => {
  const h = await startTestServer({ api: { auth: { mode: 'basic', users: { ops: await hashPassword('op-pw') }, readUsers: { viewer: await hashPassword('view-pw') } } } });
  t.after(() => h.stop());
  const refused = (url: string): Promise<number> =>
    new Promise((resolve, reject) => {
      const ws = new WebSocket(url);
      ws.once('open', () => (ws.close(), reject(new Error(`${url} was let in`))));
      ws.once('unexpected-response', (_req, res) => resolve(res.statusCode!));
      ws.once('error', reject);
    });
  assert.equal(await refused(`ws://127.0.0.1:${h.port}/ws/log`), 401);
  assert.equal(await refused(`ws://viewer:wrong@127.0.0.1:${h.port}/ws/log`), 401);
  // Browsers put Basic credentials in the URL.
  const viewer = await logClient(`ws://viewer:view-pw@127.0.0.1:${h.port}/ws/log?identity=LOG-TAG`);
  t.after(() => viewer.ws.close());
  const s = await TestStation.connect(h.url('LOG-TAG'), ['ocpp1.6']);
  t.after(() => s.close());
  await waitFor(async () => {
    await s.call('Authorize', { idTag: 'TAG-PRIVATE' });
    return viewer.entries.some((e) => e.action === 'Authorize' && e.direction === 'in');
  }, 10_000, 'the read-only user sees the Authorize');
  const entry = viewer.entries.find((e) => e.action === 'Authorize' && e.direction === 'in')!;
  assert.deepEqual(entry.payload, { idTag: 'TAG-PRIVATE' });
});
