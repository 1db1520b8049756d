/**
 * The webhook backend against a real HTTP receiver (node:http on 127.0.0.1, port 0) and a real two-shard
 * router: the ocpp-cs contract, auth, CallResult/CallError, invalid replies, timeouts, refused connections,
 * the responder fallback with the spool (receiver restarted, router restarted), batching with out-of-order
 * replies, msgpack, HMAC signatures and events.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { createHmac } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { unpack as mpDecode } from 'msgpackr';
import { WebhookClient } from '../src/backends/webhook/http-client.js';
import { startTestServer, TestStation, waitFor, type TestServer } from './helpers/server.js';

/**
 * MessagePack written from the specification (github.com/msgpack/msgpack/blob/master/spec.md), not by msgpackr:
 * the receiver answers with it, so a reply encoded by another implementation must decode. JSON-like values only;
 * integers in the widest forms (uint64 0xcf, int64 0xd3) where they fit, to test those paths too.
 */
function specEncode(v: unknown): Buffer {
  const u8 = (...b: number[]): Buffer => Buffer.from(b);
  const sized = (n: number, fix: number, fixMax: number, codes: [number, number, number]): Buffer => {
    if (n <= fixMax) return u8(fix | n);
    const b = Buffer.alloc(5);
    if (n < 0x100 && codes[0] !== 0) return u8(codes[0], n);
    if (n < 0x10000) return (b.writeUInt8(codes[1], 0), b.writeUInt16BE(n, 1), b.subarray(0, 3));
    return (b.writeUInt8(codes[2], 0), b.writeUInt32BE(n, 1), b);
  };
  if (v === null || v === undefined) return u8(0xc0);
  if (v === true || v === false) return u8(v ? 0xc3 : 0xc2);
  if (typeof v === 'number') {
    const b = Buffer.alloc(9);
    if (Number.isInteger(v) && v >= 0 && v < 128) return u8(v);
    if (Number.isSafeInteger(v)) return (b.writeUInt8(v >= 0 ? 0xcf : 0xd3, 0), v >= 0 ? b.writeBigUInt64BE(BigInt(v), 1) : b.writeBigInt64BE(BigInt(v), 1), b);
    return (b.writeUInt8(0xcb, 0), b.writeDoubleBE(v, 1), b);
  }
  if (typeof v === 'string') {
    const bytes = Buffer.from(v, 'utf8');
    return Buffer.concat([sized(bytes.length, 0xa0, 31, [0xd9, 0xda, 0xdb]), bytes]);
  }
  if (Array.isArray(v)) return Buffer.concat([sized(v.length, 0x90, 15, [0, 0xdc, 0xdd]), ...v.map(specEncode)]);
  const entries = Object.entries(v as Record<string, unknown>).filter(([, x]) => x !== undefined);
  return Buffer.concat([sized(entries.length, 0x80, 15, [0, 0xde, 0xdf]), ...entries.flatMap(([k, x]) => [specEncode(k), specEncode(x)])]);
}

interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  raw: Buffer;
  body: any;
}

type Handler = (body: any, req: Received) => { status?: number; body?: unknown; raw?: Buffer | string; contentType?: string; delayMs?: number; hang?: boolean } | undefined;

/** A webhook receiver: records every request; `handler` decides the answer (default: echo a CallResult). */
class Receiver {
  server: Server;
  port = 0;
  requests: Received[] = [];
  handler: Handler = () => undefined;
  #sockets = new Set<import('node:net').Socket>();

  constructor() {
    this.server = this.#create();
  }

  #create(): Server {
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const raw = Buffer.concat(chunks);
        const type = req.headers['content-type'] ?? '';
        const body = raw.length === 0 ? undefined : type.includes('msgpack') ? mpDecode(raw) : JSON.parse(raw.toString());
        const received: Received = { path: req.url ?? '', headers: req.headers, raw, body };
        this.requests.push(received);
        const answer = this.handler(body, received) ?? { body: defaultReply(body) };
        if (answer.hang) return;
        const send = (): void => {
          const payload = answer.raw ?? (answer.contentType?.includes('msgpack') ? specEncode(answer.body) : JSON.stringify(answer.body ?? {}));
          res.writeHead(answer.status ?? 200, { 'content-type': answer.contentType ?? 'application/json' });
          res.end(payload);
        };
        if (answer.delayMs) setTimeout(send, answer.delayMs);
        else send();
      });
    });
    server.on('connection', (s) => {
      this.#sockets.add(s);
      s.on('close', () => this.#sockets.delete(s));
    });
    return server;
  }

  async start(port = 0): Promise<void> {
    if (!this.server.listening && port !== 0) this.server = this.#create();
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, '127.0.0.1', () => resolve());
    });
    this.port = (this.server.address() as AddressInfo).port;
  }

  url(path = '/ocpp'): string {
    return `http://127.0.0.1:${this.port}${path}`;
  }

  async stop(): Promise<void> {
    for (const s of this.#sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** Requests that are station envelopes (not events), flattened out of batches. */
  envelopes(): any[] {
    return this.requests.flatMap((r) => (Array.isArray(r.body) ? r.body : [r.body])).filter((b) => b !== undefined && b.type !== 'event');
  }

  events(name?: string): any[] {
    return this.requests.map((r) => r.body).filter((b) => b?.type === 'event' && (name === undefined || b.event === name));
  }
}

/** A valid answer for the few actions the tests send. */
function payloadFor(action: string): Record<string, unknown> {
  switch (action) {
    case 'BootNotification':
      return { status: 'Accepted', currentTime: new Date().toISOString(), interval: 60 };
    case 'Heartbeat':
      return { currentTime: '2025-01-02T03:04:05.000Z' };
    case 'Authorize':
      return { idTagInfo: { status: 'Accepted' } };
    case 'StartTransaction':
      return { transactionId: 4242, idTagInfo: { status: 'Accepted' } };
    default:
      return {};
  }
}

function defaultReply(body: any): unknown {
  if (Array.isArray(body)) return body.map((e) => ({ identity: e.identity, uniqueId: e.uniqueId, action: e.action, payload: payloadFor(e.action) }));
  if (body?.type === 'event' || body?.replay === true) return {};
  return { identity: body.identity, uniqueId: body.uniqueId, action: body.action, payload: payloadFor(body.action) };
}

async function setup(t: import('node:test').TestContext, webhook: Record<string, unknown> = {}, options: { dataDir?: string; receiverPath?: string; keepDataDir?: boolean; workers?: number } = {}): Promise<{ h: TestServer; rx: Receiver }> {
  const rx = new Receiver();
  await rx.start();
  t.after(() => rx.stop());
  const server = options.workers === undefined ? {} : { server: { workers: options.workers } };
  const h = await startTestServer({ ...server, webhook: { url: rx.url(options.receiverPath), ...webhook } } as never, options);
  t.after(() => h.stop());
  return { h, rx };
}

async function station(t: import('node:test').TestContext, h: TestServer, identity: string, account?: string, protocol = 'ocpp1.6'): Promise<TestStation> {
  const s = await TestStation.connect(h.url(identity, account), [protocol]);
  t.after(() => s.close());
  return s;
}

const STATUS = { connectorId: 1, errorCode: 'NoError', status: 'Available' };

test('CallResult: the ocpp-cs envelope is POSTed with Basic auth and an idempotency key; the reply becomes the CALLRESULT', async (t) => {
  const { h, rx } = await setup(t, { authorization: 'Basic', username: 'ops', password: 'pa:ss' }, { receiverPath: '/hook?x=1' });
  const s = await station(t, h, 'CP-1', 'acme');
  const answer = await s.call('Heartbeat', {});
  assert.deepEqual(answer, [3, answer[1], { currentTime: '2025-01-02T03:04:05.000Z' }]);
  assert.equal(rx.requests.length, 1);
  const r = rx.requests[0]!;
  assert.equal(r.path, '/hook?x=1');
  assert.equal(r.headers.authorization, `Basic ${Buffer.from('ops:pa:ss').toString('base64')}`);
  assert.equal(r.headers['content-type'], 'application/json');
  assert.equal(r.body.identity, 'CP-1');
  assert.equal(r.body.uniqueId, answer[1]);
  assert.equal(r.body.action, 'Heartbeat');
  assert.deepEqual(r.body.payload, {});
  assert.equal(r.body.account, 'acme');
  assert.equal(r.body.ocppVersion, 'ocpp1.6');
  assert.equal(r.body.transport, 'ws');
  assert.equal(typeof r.body.idempotencyKey, 'string');
  assert.equal(r.headers['idempotency-key'], r.body.idempotencyKey);
  assert.equal(r.headers['x-ocpp-signature'], undefined);
  // A second message: a different key.
  await s.call('StatusNotification', STATUS);
  assert.notEqual(rx.requests[1]!.body.idempotencyKey, r.body.idempotencyKey);
});

test('CallError: Bearer auth; the receiver\'s CallError becomes the CALLERROR; unknown codes and bad shapes become InternalError', async (t) => {
  const { h, rx } = await setup(t, { authorization: 'Bearer', token: 'T0ken' });
  const s = await station(t, h, 'CP-2');
  rx.handler = (b) => ({ body: { identity: b.identity, uniqueId: b.uniqueId, action: b.action, messageTypeId: 'CallError', errorCode: 'FormationViolation', errorDescription: 'no', errorDetails: { why: 'x' } } });
  const e1 = await s.call('Heartbeat', {});
  assert.deepEqual(e1, [4, e1[1], 'FormationViolation', 'no', { why: 'x' }]);
  assert.equal(rx.requests[0]!.headers.authorization, 'Bearer T0ken');
  // 2.x spelling accepted and written in 1.6 spelling on the wire.
  rx.handler = (b) => ({ body: { ...b, messageTypeId: 'CallError', errorCode: 'SecurityError' } });
  const e2 = await s.call('Heartbeat', {});
  assert.deepEqual(e2.slice(2), ['SecurityError', '', {}]);
  // RpcFrameworkError is not a 1.6 code.
  rx.handler = (b) => ({ body: { ...b, messageTypeId: 'CallError', errorCode: 'RpcFrameworkError' } });
  const e3 = await s.call('Heartbeat', {});
  assert.equal(e3[2], 'InternalError');
  // The old v1 bug (messageTypeId Call) is refused, not relayed.
  rx.handler = (b) => ({ body: { ...b, messageTypeId: 'Call', payload: {} } });
  assert.equal((await s.call('Heartbeat', {}))[2], 'InternalError');
  // No payload.
  rx.handler = (b) => ({ body: { identity: b.identity, uniqueId: b.uniqueId } });
  assert.equal((await s.call('Heartbeat', {}))[2], 'InternalError');
  const metrics = await h.server.metricsText();
  assert.match(metrics.body, /ocpp_webhook_failures_total\{path="live",reason="invalid"\} 3/);
  assert.match(metrics.body, /ocpp_webhook_messages_total\{outcome="callError"\} 2/);
});

test('an invalid reply payload: InternalError for the station, counted, never on the wire', async (t) => {
  const { h, rx } = await setup(t);
  const s = await station(t, h, 'CP-3');
  rx.handler = (b) => ({ body: { ...b, payload: { currentTime: 'yesterday' } } });
  const e = await s.call('Heartbeat', {});
  assert.equal(e[0], 4);
  assert.equal(e[2], 'InternalError');
  rx.handler = (b) => ({ body: { ...b, payload: {} } });
  assert.equal((await s.call('Heartbeat', {}))[2], 'InternalError');
  assert.equal(await h.server.counter('invalidBackendReplies'), 2);
  const metrics = await h.server.metricsText();
  assert.match(metrics.body, /ocpp_validation_failures_total\{version="ocpp1.6",action="Heartbeat",direction="reply"\} 2/);
});

test('failures: non-2xx, unparseable body, timeout, refused connection all answer InternalError (onFailure: error)', async (t) => {
  const { h, rx } = await setup(t, { timeoutMs: 300, retry: { initialDelayMs: 10, maxDelayMs: 10 } });
  const s = await station(t, h, 'CP-4');
  rx.handler = () => ({ status: 500, body: { oops: true } });
  assert.equal((await s.call('Heartbeat', {}))[2], 'InternalError');
  await new Promise((r) => setTimeout(r, 20)); // past the circuit breaker's 10 ms
  rx.handler = () => ({ raw: '{not json' });
  assert.equal((await s.call('Heartbeat', {}))[2], 'InternalError');
  rx.handler = () => ({ hang: true });
  const started = Date.now();
  assert.equal((await s.call('Heartbeat', {}))[2], 'InternalError');
  assert.ok(Date.now() - started >= 290, 'waited for the timeout');
  await new Promise((r) => setTimeout(r, 20));
  await rx.stop();
  assert.equal((await s.call('Heartbeat', {}))[2], 'InternalError');
  const metrics = (await h.server.metricsText()).body;
  for (const reason of ['status', 'body', 'timeout', 'connect']) assert.match(metrics, new RegExp(`ocpp_webhook_failures_total\\{path="live",reason="${reason}"\\} [1-9]`), reason);
  // With the receiver down the circuit opens: failures are immediate.
  const t0 = Date.now();
  assert.equal((await s.call('Heartbeat', {}))[2], 'InternalError');
  assert.ok(Date.now() - t0 < 250);
});

test('refused connection from the start: stations get InternalError at once', async (t) => {
  const rx = new Receiver();
  await rx.start();
  const url = rx.url();
  await rx.stop();
  const h = await startTestServer({ webhook: { url } } as never);
  t.after(() => h.stop());
  const s = await station(t, h, 'CP-5');
  const started = Date.now();
  const e = await s.call('BootNotification', { chargePointVendor: 'V', chargePointModel: 'M' });
  assert.equal(e[2], 'InternalError');
  assert.ok(Date.now() - started < 2000);
});

test('HMAC-SHA256 signature over the exact body; msgpack bodies both ways', async (t) => {
  const { h, rx } = await setup(t, { contentType: 'msgpack', signature: { secret: 'sh!' } });
  const s = await station(t, h, 'CP-6');
  rx.handler = (b) => ({ body: { identity: b.identity, uniqueId: b.uniqueId, action: b.action, payload: payloadFor(b.action) }, contentType: 'application/msgpack' });
  const answer = await s.call('Heartbeat', {});
  assert.deepEqual(answer[2], { currentTime: '2025-01-02T03:04:05.000Z' });
  const r = rx.requests[0]!;
  assert.equal(r.headers['content-type'], 'application/msgpack');
  assert.equal(r.body.identity, 'CP-6');
  assert.equal(r.headers['x-ocpp-signature'], `sha256=${createHmac('sha256', 'sh!').update(r.raw).digest('hex')}`);
  // The request is plain MessagePack: maps (not msgpackr records), no key for an undefined value.
  assert.equal(r.raw[0]! & 0xf0, 0x80, 'a fixmap');
  assert.ok(!('reply' in r.body) || r.body.reply !== undefined);
  // A JSON reply to a msgpack request is read by its Content-Type.
  rx.handler = undefined as never;
  rx.handler = () => undefined;
  const a2 = await s.call('StatusNotification', STATUS);
  assert.deepEqual(a2[2], {});
});

test('WebhookClient msgpack: the request has no undefined keys; a reply from another MessagePack encoder (str8, map16, uint64, int64, float64) decodes to plain objects', async (t) => {
  const rx = new Receiver();
  await rx.start();
  t.after(() => rx.stop());
  const client = new WebhookClient({ url: rx.url('/direct'), authorization: 'None', username: '', password: '', token: '', contentType: 'msgpack', timeoutMs: 2000, connections: 1, keepAliveTimeoutMs: 1000, secret: null, maxReplyBytes: 1 << 20 } as never);
  t.after(() => client.close());
  const wide = { status: 'Accepted', parent: 'P'.repeat(40), big: 4_294_967_296, negative: -5_000_000_000, ratio: 0.25, nested: Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`k${i}`, [i, null, true, 'é']])) };
  rx.handler = () => ({ body: wide, contentType: 'application/msgpack' });
  const reply = await client.post({ identity: 'CP', gone: undefined, at: 1.5 });
  assert.deepEqual(reply, wide);
  assert.equal(Object.getPrototypeOf(reply), Object.prototype, 'a plain object, not a Map');
  const raw = rx.requests[0]!.raw;
  assert.deepEqual([...raw], [...specEncode({ identity: 'CP', at: 1.5 })], 'the same bytes as the spec encoder: fixmap, fixstr, float64, no key for undefined');
  // A truncated reply (a two-entry map with one key and no value) is a body failure, not a crash.
  rx.handler = () => ({ raw: Buffer.from([0x82, 0xa1, 0x61]), contentType: 'application/msgpack' });
  await assert.rejects(client.post({ identity: 'CP' }), (e: Error & { reason?: string }) => e.reason === 'body');
});

test('batching: one POST carries several stations\' requests; replies matched by identity + uniqueId in any order; a missing reply fails only its message', async (t) => {
  // One shard: batches form per shard, from the CALLs that queue behind a POST in flight; with two shards
  // the kernel may split four stations 2+2 and every POST would carry one request.
  const { h, rx } = await setup(t, { batch: { maxSize: 8, maxDelayMs: 30 } }, { workers: 1 });
  const stations = await Promise.all(['B1', 'B2', 'B3', 'B4'].map((id) => station(t, h, id)));
  rx.handler = (body: any[]) => {
    assert.ok(Array.isArray(body));
    const replies = body
      .filter((e) => e.identity !== 'B3')
      .map((e) => ({ identity: e.identity, uniqueId: e.uniqueId, action: e.action, payload: e.identity === 'B2' ? { currentTime: '2020-01-01T00:00:00.000Z' } : payloadFor(e.action) }))
      .reverse();
    // Slow answers: while one POST is in flight the next CALLs gather into a batch.
    return { body: replies, delayMs: 100 };
  };
  const answers = await Promise.all(stations.map((s) => s.call('Heartbeat', {})));
  assert.deepEqual(answers.map((a) => a[0]), [3, 3, 4, 3]);
  assert.deepEqual(answers[1]![2], { currentTime: '2020-01-01T00:00:00.000Z' });
  assert.equal(answers[2]![2], 'InternalError');
  const sizes = rx.requests.map((r) => (r.body as unknown[]).length);
  assert.equal(sizes.reduce((a, b) => a + b, 0), 4);
  assert.ok(sizes.length < 4, `batched (${sizes.join(',')})`);
  assert.equal(rx.requests[0]!.headers['idempotency-key'], undefined);
  for (const e of rx.envelopes()) assert.equal(typeof e.idempotencyKey, 'string');
  const metrics = (await h.server.metricsText()).body;
  assert.match(metrics, /ocpp_webhook_failures_total\{path="live",reason="missing"\} 1/);
  assert.match(metrics, /ocpp_webhook_batch_size_count [1-3]\b/);
});

test('onFailure responder: the receiver restarted mid-run; stations keep charging; every message delivered in order per station, duplicates only with the same key', async (t) => {
  const { h, rx } = await setup(t, { onFailure: 'responder', timeoutMs: 500, retry: { initialDelayMs: 20, maxDelayMs: 100 } });
  const port = rx.port;
  const ids = ['R1', 'R2', 'R3'];
  const stations = await Promise.all(ids.map((id) => station(t, h, id)));
  const sent = new Map<string, string[]>(ids.map((id) => [id, []]));
  let n = 0;
  const round = async (): Promise<void> => {
    await Promise.all(
      stations.map(async (s, i) => {
        const id = `m${++n}`;
        sent.get(ids[i]!)!.push(id);
        const a = await s.call('StatusNotification', STATUS, id);
        assert.equal(a[0], 3, `answered ${id}`);
      }),
    );
  };
  for (let i = 0; i < 3; i++) await round();
  await rx.stop();
  for (let i = 0; i < 5; i++) await round();
  // StartTransaction while down: the responder hands out a transaction id; the receiver will see it.
  const start = await stations[0]!.call('StartTransaction', { connectorId: 1, idTag: 'TAG', meterStart: 0, timestamp: new Date().toISOString() }, 'tx1');
  sent.get('R1')!.push('tx1');
  assert.equal(typeof (start[2] as { transactionId: number }).transactionId, 'number');
  assert.ok((h.server.webhook?.spool.size ?? 0) > 0, 'spooled while down');
  await rx.start(port);
  for (let i = 0; i < 3; i++) await round();
  await waitFor(() => h.server.webhook!.spool.size === 0, 10_000, 'spool drained');
  const envelopes = rx.envelopes();
  for (const id of ids) {
    const mine = envelopes.filter((e) => e.identity === id);
    // Every message reached the receiver; a message seen twice carries the same key (never a new one).
    const byId = new Map<string, Set<string>>();
    for (const e of mine) (byId.get(e.uniqueId) ?? byId.set(e.uniqueId, new Set()).get(e.uniqueId)!).add(e.idempotencyKey);
    assert.deepEqual([...byId.keys()].sort(), [...sent.get(id)!].sort(), `all of ${id}`);
    for (const keys of byId.values()) assert.equal(keys.size, 1);
    // Replays are in the station's order.
    const replayed = mine.filter((e) => e.replay === true).map((e) => e.uniqueId);
    const order = sent.get(id)!;
    assert.deepEqual(replayed, [...replayed].sort((a, b) => order.indexOf(a) - order.indexOf(b)), `order of ${id}`);
  }
  const tx = envelopes.find((e) => e.uniqueId === 'tx1')!;
  assert.equal(tx.replay, true);
  assert.equal(tx.answeredBy, 'responder');
  assert.equal(tx.answer.messageTypeId, 'CallResult');
  assert.equal(tx.answer.payload.transactionId, (start[2] as { transactionId: number }).transactionId);
  const replayReq = rx.requests.find((r) => r.body?.uniqueId === 'tx1')!;
  assert.equal(replayReq.headers['idempotency-key'], tx.idempotencyKey);
  assert.equal(replayReq.headers['x-ocpp-delivery'], 'spool');
  const metrics = (await h.server.metricsText()).body;
  assert.match(metrics, /ocpp_webhook_fallback_answers_total [1-9]/);
  assert.match(metrics, /ocpp_webhook_deliveries_total\{kind="request"\} [1-9]/);
  assert.match(metrics, /ocpp_webhook_spool_entries 0/);
});

test('the spool survives a router restart and is delivered when the receiver is back', async (t) => {
  const dataDir = await mkdtemp(join(tmpdir(), 'ocpp-router-spool-'));
  t.after(() => rm(dataDir, { recursive: true, force: true }));
  const rx = new Receiver();
  await rx.start();
  const port = rx.port;
  await rx.stop();
  const webhook = { url: rx.url(), onFailure: 'responder', retry: { initialDelayMs: 20, maxDelayMs: 50 } };
  const h1 = await startTestServer({ webhook } as never, { dataDir });
  const s = await TestStation.connect(h1.url('P1'), ['ocpp1.6']);
  for (let i = 0; i < 5; i++) assert.equal((await s.call('StatusNotification', STATUS, `p${i}`))[0], 3);
  await waitFor(() => h1.server.webhook!.spool.size === 5, 5000, 'spooled');
  await s.close();
  await h1.stop('graceful');
  assert.ok((await readdir(join(dataDir, 'spool'))).some((f) => f.endsWith('.seg')));
  t.after(() => rx.stop());
  await rx.start(port);
  const h2 = await startTestServer({ webhook } as never, { dataDir });
  t.after(() => h2.stop());
  await waitFor(() => rx.envelopes().length >= 5 && h2.server.webhook!.spool.size === 0, 10_000, 'delivered after restart');
  assert.deepEqual(rx.envelopes().map((e) => e.uniqueId), ['p0', 'p1', 'p2', 'p3', 'p4']);
  assert.ok(rx.envelopes().every((e) => e.identity === 'P1' && e.replay === true));
});

test('events: connected, disconnected, command answers and async results go to events.url with keys', async (t) => {
  const ev = new Receiver();
  await ev.start();
  t.after(() => ev.stop());
  const { h, rx } = await setup(t, { events: { enable: true, url: ev.url('/events') } });
  const s = await station(t, h, 'EV1', 'acme');
  s.onCall = (action) => (action === 'Reset' ? { status: 'Accepted' } : null);
  await waitFor(() => ev.events('StationConnected').length === 1, 5000, 'connected event');
  const c = ev.events('StationConnected')[0]!;
  assert.equal(c.identity, 'EV1');
  assert.equal(c.account, 'acme');
  assert.equal(c.ocppVersion, 'ocpp1.6');
  assert.equal(typeof c.idempotencyKey, 'string');
  assert.equal(ev.requests[0]!.headers['idempotency-key'], c.idempotencyKey);
  // A command through the API: synchronous and async.
  const base = `http://127.0.0.1:${h.port}/api/v1`;
  const r1 = await fetch(`${base}/ChargePoint/EV1/Reset`, { method: 'POST', body: JSON.stringify({ type: 'Soft' }), headers: { 'content-type': 'application/json' } });
  assert.equal(r1.status, 200);
  const r2 = await fetch(`${base}/ChargePoint/EV1/Reset?async=true`, { method: 'POST', body: JSON.stringify({ type: 'Hard' }), headers: { 'content-type': 'application/json' } });
  assert.equal(r2.status, 202);
  const { id } = (await r2.json()) as { id: string };
  await waitFor(() => ev.events('CommandResult').length === 2 && ev.events('AsyncCommandResult').length === 1, 5000, 'command events');
  const cr = ev.events('CommandResult')[0]!;
  assert.equal(cr.identity, 'EV1');
  assert.equal(cr.data.action, 'Reset');
  assert.equal(cr.data.outcome, 'result');
  assert.deepEqual(cr.data.payload, { status: 'Accepted' });
  const ar = ev.events('AsyncCommandResult')[0]!;
  assert.equal(ar.data.id, id);
  assert.equal(ar.data.status, 'done');
  await s.close();
  await waitFor(() => ev.events('StationDisconnected').length === 1, 5000, 'disconnected event');
  assert.equal(ev.events('StationDisconnected')[0]!.data.code, 1005);
  // Per-station order: connected first, disconnected last.
  const names = ev.events().filter((e) => e.identity === 'EV1').map((e) => e.event);
  assert.equal(names[0], 'StationConnected');
  assert.equal(names.at(-1), 'StationDisconnected');
  // Nothing of it went to the request URL.
  assert.equal(rx.events().length, 0);
});

test('metrics: every webhook family is exported with zeros when the webhook is off', async (t) => {
  const h = await startTestServer();
  t.after(() => h.stop());
  const text = (await h.server.metricsText()).body;
  for (const name of ['ocpp_webhook_failures_total', 'ocpp_webhook_spool_entries', 'ocpp_webhook_spool_oldest_age_seconds', 'ocpp_webhook_batch_size', 'ocpp_webhook_retries_total']) {
    assert.match(text, new RegExp(`# HELP ${name} `), name);
  }
  assert.match(text, /ocpp_webhook_spool_entries 0/);
});
