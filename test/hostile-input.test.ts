/**
 * Hostile input against the real router (2 shards, real sockets, a real webhook receiver, real log clients):
 * nothing a station, a webhook receiver or an API client sends may crash a thread. Every test ends by checking
 * that no shard was restarted and the router is still ready.
 *
 * Depth arithmetic: a payload's depth counts its containers (`{}` is 1). With the default
 * `ocpp.maxPayloadDepth` 32, a 2.x DataTransfer `{vendorId, data: <n nested arrays>}` has depth 1 + n.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import WebSocket from 'ws';
import { startTestServer, TestStation, waitFor, type TestServer } from './helpers/server.js';
import type { OcppVersion } from '../src/protocol/versions.js';

const LIMIT = { timeout: 60_000 };
const MAX_DEPTH = 32;

/** `n` nested arrays as JSON text: depth n. */
const nestText = (n: number): string => '['.repeat(n) + ']'.repeat(n);
const nest = (n: number): unknown => JSON.parse(nestText(n));

function formatCode(version: OcppVersion): string {
  return version === 'ocpp1.6' ? 'FormationViolation' : 'FormatViolation';
}

/** No shard restarted, and the router answers /health/ready with 200. */
async function assertUnharmed(h: TestServer): Promise<void> {
  for (let shard = 0; shard < h.server.shards; shard++) assert.equal(h.server.supervisor.restarts(shard), 0, `shard ${shard} was never restarted`);
  const ready = await fetch(`http://127.0.0.1:${h.port}/health/ready`);
  assert.equal(ready.status, 200);
}

async function logClient(h: TestServer): Promise<{ ws: WebSocket; lines: string[] }> {
  const ws = new WebSocket(`ws://127.0.0.1:${h.port}/ws/log`);
  const lines: string[] = [];
  ws.on('message', (data) => lines.push(data.toString()));
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  return { ws, lines };
}

test('the frame of the report: a 30,000-deep BootNotification gets FormatViolation, the shard lives on', LIMIT, async (t) => {
  const h = await startTestServer();
  t.after(() => h.stop());
  const station = await TestStation.connect(h.url('DEEP-REPORT'), ['ocpp2.0.1']);
  t.after(() => station.close());
  const d = 30_000;
  const text = `[2,"1","BootNotification",{"reason":"PowerUp","chargingStation":{"model":"M","vendorName":"V","customData":{"vendorId":"x","deep":${nestText(d)}}}}]`;
  assert.ok(text.length < 65_536, 'under the frame limit');
  const answer = await station.sendRaw(text, '1');
  assert.equal(answer[0], 4);
  assert.equal(answer[2], 'FormatViolation');
  assert.match(answer[3] as string, /nested deeper than 32 levels/);
  // The connection stays (one bad frame is not a policy violation) and the station is served.
  const hb = await station.call('Heartbeat', {});
  assert.equal(hb[0], 3);
  assert.equal(await h.server.counter('badFrames.tooDeep'), 1);
  await assertUnharmed(h);
});

test('every version: a payload at maxPayloadDepth passes, one level deeper is refused with its id', LIMIT, async (t) => {
  const h = await startTestServer();
  t.after(() => h.stop());
  for (const version of ['ocpp1.6', 'ocpp2.0.1', 'ocpp2.1'] as const) {
    const station = await TestStation.connect(h.url(`DEPTH-${version}`), [version]);
    t.after(() => station.close());
    if (version !== 'ocpp1.6') {
      // DataTransfer.data is anyType in 2.x: depth 1 + 31 = 32 is valid and answered.
      const ok = await station.call('DataTransfer', { vendorId: 'v', data: nest(MAX_DEPTH - 1) }, 'at-limit');
      assert.equal(ok[0], 3, `${version}: at the limit → CALLRESULT`);
    }
    const deeper = await station.sendRaw(`[2,"too-deep","DataTransfer",{"vendorId":"v","data":${nestText(MAX_DEPTH)}}]`, 'too-deep');
    assert.deepEqual(deeper.slice(0, 3), [4, 'too-deep', formatCode(version)], `${version}: one level deeper`);
    // Brackets inside strings do not count.
    const inString = await station.call('DataTransfer', { vendorId: 'v', messageId: 'm', data: version === 'ocpp1.6' ? '['.repeat(5000) : { s: '{'.repeat(5000) } }, 'in-string');
    assert.equal(inString[0], 3, `${version}: brackets in strings are text`);
  }
  await assertUnharmed(h);
});

test('a configured maxPayloadDepth is what counts', LIMIT, async (t) => {
  const h = await startTestServer({ ocpp: { maxPayloadDepth: 16 } });
  t.after(() => h.stop());
  const station = await TestStation.connect(h.url('DEPTH-16'), ['ocpp2.1']);
  t.after(() => station.close());
  assert.equal((await station.call('DataTransfer', { vendorId: 'v', data: nest(15) }, 'ok'))[0], 3);
  const refused = await station.call('DataTransfer', { vendorId: 'v', data: nest(16) }, 'deep');
  assert.deepEqual(refused.slice(0, 3), [4, 'deep', 'FormatViolation']);
});

test('deep and huge payloads with live-log clients on both shards: logged once, no crash', LIMIT, async (t) => {
  const h = await startTestServer();
  t.after(() => h.stop());
  const clients = await Promise.all(Array.from({ length: 4 }, () => logClient(h)));
  t.after(() => clients.forEach((c) => c.ws.close()));
  const station = await TestStation.connect(h.url('DEEP-LOG'), ['ocpp2.0.1']);
  t.after(() => station.close());
  await waitFor(async () => {
    await station.call('Heartbeat', {});
    return clients.every((c) => c.lines.length > 0);
  }, 5000, 'log flowing');
  // At the limit, wide (5,000 small objects), long (a 60,000-character string): answered and logged.
  const payloads = {
    deep: { vendorId: 'v', data: nest(MAX_DEPTH - 1) },
    wide: { vendorId: 'v', data: Array.from({ length: 5000 }, (_, i) => ({ i })) },
    long: { vendorId: 'v', data: 'x'.repeat(60_000) },
  };
  for (const [id, payload] of Object.entries(payloads)) assert.equal((await station.call('DataTransfer', payload, id))[0], 3, id);
  // Beyond the limit: refused, and the refusal is logged.
  await station.sendRaw(`[2,"beyond","DataTransfer",{"vendorId":"v","data":${nestText(4000)}}]`, 'beyond');
  for (const client of clients) {
    await waitFor(() => ['deep', 'wide', 'long', 'beyond'].every((id) => client.lines.some((l) => l.includes(`"uniqueId":"${id}"`) && l.includes('"direction":"out"'))), 10_000, 'every answer logged');
    const entry = JSON.parse(client.lines.find((l) => l.includes('"uniqueId":"deep"') && l.includes('"direction":"in"'))!) as { payload: unknown };
    assert.deepEqual(entry.payload, payloads.deep);
  }
  await assertUnharmed(h);
});

test('webhook: replies nested too deep or too large are unusable (InternalError), deep-but-valid ones pass', LIMIT, async (t) => {
  let next: (body: { action: string; payload: Record<string, unknown> }) => string = () => '{}';
  const receiver: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(next(JSON.parse(Buffer.concat(chunks).toString()) as { action: string; payload: Record<string, unknown> }));
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise((resolve) => receiver.close(resolve)));
  const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/ocpp`;
  const h = await startTestServer({ webhook: { url, maxReplyBytes: 64 * 1024 } });
  t.after(() => h.stop());
  const station = await TestStation.connect(h.url('DEEP-HOOK'), ['ocpp2.0.1']);
  t.after(() => station.close());
  const reply = (data: string): string => `{"payload":{"status":"Accepted","data":${data}}}`;
  // A deep request at the limit reaches the receiver intact; its deep answer (payload depth 1 + 31) comes back.
  next = (body) => reply(JSON.stringify(body.payload.data));
  const ok = await station.call('DataTransfer', { vendorId: 'v', data: nest(MAX_DEPTH - 1) }, 'ok');
  assert.deepEqual(ok, [3, 'ok', { status: 'Accepted', data: nest(MAX_DEPTH - 1) }]);
  // A reply 20,000 levels deep (JSON.stringify or postMessage of it would throw): InternalError.
  next = () => reply(nestText(20_000));
  const deep = await station.call('DataTransfer', { vendorId: 'v' }, 'deep');
  assert.deepEqual(deep.slice(0, 3), [4, 'deep', 'InternalError']);
  // A deep errorDetails in a CallError reply: InternalError too.
  next = () => `{"messageTypeId":"CallError","errorCode":"GenericError","errorDescription":"x","errorDetails":{"d":${nestText(20_000)}}}`;
  const details = await station.call('DataTransfer', { vendorId: 'v' }, 'details');
  assert.deepEqual(details.slice(0, 3), [4, 'details', 'InternalError']);
  // A reply over webhook.maxReplyBytes is not read to the end.
  next = () => reply(JSON.stringify('y'.repeat(200_000)));
  const huge = await station.call('DataTransfer', { vendorId: 'v' }, 'huge');
  assert.deepEqual(huge.slice(0, 3), [4, 'huge', 'InternalError']);
  assert.equal(await h.server.counter('callErrorsSent.InternalError'), 3);
  await assertUnharmed(h);
});

test('API: a command payload nested too deep is a 400; a station answering too deep fails the command at once', LIMIT, async (t) => {
  const h = await startTestServer();
  t.after(() => h.stop());
  const station = await TestStation.connect(h.url('DEEP-API'), ['ocpp2.0.1']);
  t.after(() => station.close());
  await waitFor(() => h.server.station('DEEP-API')?.connected, 5000, 'registered');
  const api = `http://127.0.0.1:${h.port}/api/v1/ChargePoint/DEEP-API/DataTransfer`;
  const post = (body: string): Promise<Response> => fetch(api, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  const refused = await post(`{"vendorId":"v","data":${nestText(50_000)}}`);
  assert.equal(refused.status, 400);
  const problem = (await refused.json()) as { error: { details: { reason: string; issues: Array<{ keyword: string }> } } };
  assert.equal(problem.error.details.reason, 'PAYLOAD_INVALID');
  assert.equal(problem.error.details.issues[0]!.keyword, 'maxDepth');
  // The same in a form body (JSON text in a field whose schema is an object).
  const form = await fetch(api, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `vendorId=v&customData=${encodeURIComponent(`{"vendorId":"x","d":${nestText(50_000)}}`)}` });
  assert.equal(form.status, 400);
  // At the limit: delivered. The station answers with a CALLRESULT 20,000 levels deep: 400 at once, not a timeout.
  station.onCall = () => null;
  station.ws.on('message', (data) => {
    const frame = JSON.parse(data.toString()) as unknown[];
    if (frame[0] === 2) station.ws.send(`[3,${JSON.stringify(frame[1])},{"status":"Accepted","data":${nestText(20_000)}}]`);
  });
  const started = Date.now();
  const answered = await post(`{"vendorId":"v","data":${nestText(MAX_DEPTH - 1)}}`);
  assert.equal(answered.status, 400);
  assert.match(((await answered.json()) as { error: { message: string } }).error.message, /broken frame: payload is nested deeper than 32 levels/);
  assert.ok(Date.now() - started < 10_000, 'settled by the broken answer, not by the 30 s timeout');
  await assertUnharmed(h);
});

test('registry and station list keep a deep-but-valid boot payload', LIMIT, async (t) => {
  const h = await startTestServer();
  t.after(() => h.stop());
  const station = await TestStation.connect(h.url('DEEP-BOOT'), ['ocpp2.1']);
  t.after(() => station.close());
  // reason + chargingStation + customData = 3 levels, then 29 nested arrays: depth 32.
  const payload = { reason: 'PowerUp', chargingStation: { model: 'M', vendorName: 'V', customData: { vendorId: 'x', deep: nest(MAX_DEPTH - 3) } } };
  assert.equal((await station.call('BootNotification', payload))[0], 3);
  await waitFor(() => h.server.station('DEEP-BOOT')?.boot !== null, 5000, 'boot recorded');
  const list = await fetch(`http://127.0.0.1:${h.port}/api/v1/ChargePointList`);
  assert.equal(list.status, 200);
  const item = ((await list.json()) as { ChargePointList: Array<{ Identity: string; BootNotification: unknown }> }).ChargePointList.find((i) => i.Identity === 'DEEP-BOOT')!;
  assert.deepEqual(item.BootNotification, payload);
  await assertUnharmed(h);
});
