/**
 * The webhook spool on disk: replay after reopen (pending entries in order, acked ones gone), a torn last
 * line, segment rotation and deletion, the size bound; and the envelope/reply parser.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFile, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { WebhookSpool } from '../src/control/webhook/spool.js';
import { parseReply } from '../src/backends/webhook/envelope.js';
import type { SpoolInput } from '../src/ipc/messages.js';

const logger = pino({ level: 'silent' });

async function dir(t: import('node:test').TestContext): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'ocpp-spool-'));
  t.after(() => rm(d, { recursive: true, force: true }));
  return join(d, 'spool');
}

const input = (queue: string, n: number, pad = 0): SpoolInput => ({ queue, kind: 'request', key: `${queue}-${n}`, at: 1000 + n, body: { n, pad: 'x'.repeat(pad) } });

test('spool: entries survive a reopen in sequence order; acked entries do not come back', async (t) => {
  const d = await dir(t);
  const a = await WebhookSpool.open(d, { maxBytes: 1 << 20, segmentBytes: 1 << 16, fsync: true }, logger);
  const entries = [input('A', 1), input('B', 2), input('A', 3), input('B', 4)].map((i) => a.add(i)!);
  a.ack(entries[1]!);
  a.ack(entries[2]!);
  assert.equal(a.size, 2);
  assert.equal(a.oldestAt, 1001);
  await a.close();
  const b = await WebhookSpool.open(d, { maxBytes: 1 << 20, segmentBytes: 1 << 16, fsync: true }, logger);
  // Bodies are read from disk on demand (memory holds only their place).
  assert.deepEqual(await Promise.all([...b.pending()].map(async (e) => [e.queue, e.key, (await b.read(e)).n])), [['A', 'A-1', 1], ['B', 'B-4', 4]]);
  // New sequence numbers continue after the old ones.
  const c = b.add(input('C', 5))!;
  assert.ok(c.seq > 4);
  await b.close();
});

test('spool: a torn last line (crash mid-write) is skipped', async (t) => {
  const d = await dir(t);
  const a = await WebhookSpool.open(d, { maxBytes: 1 << 20, segmentBytes: 1 << 16, fsync: false }, logger);
  a.add(input('A', 1));
  await a.close();
  const [file] = (await readdir(d)).filter((f) => f.endsWith('.seg'));
  await appendFile(join(d, file!), '{"s":2,"q":"A","n":"requ');
  const b = await WebhookSpool.open(d, { maxBytes: 1 << 20, segmentBytes: 1 << 16, fsync: false }, logger);
  assert.deepEqual([...b.pending()].map((e) => e.key), ['A-1']);
  await b.close();
});

test('spool: segments rotate and are deleted once everything in and before them is acked; the size bound refuses new entries', async (t) => {
  const d = await dir(t);
  const options = { maxBytes: 200_000, segmentBytes: 64 * 1024, fsync: false };
  const s = await WebhookSpool.open(d, options, logger);
  const added = [];
  for (let i = 0; i < 40; i++) added.push(s.add(input('A', i, 2000))!);
  await s.flushed();
  assert.ok((await readdir(d)).length >= 2, 'rotated');
  // Fill to the bound.
  let refused = 0;
  for (let i = 40; i < 200; i++) if (s.add(input('A', i, 2000)) === null) refused++;
  assert.ok(refused > 0, 'bounded');
  assert.ok(s.bytes <= options.maxBytes);
  // Ack everything: all complete segments go.
  for (const e of [...s.pending()]) s.ack(e);
  await s.flushed();
  await s.flushed();
  assert.equal(s.size, 0);
  const left = (await readdir(d)).filter((f) => f.endsWith('.seg'));
  assert.ok(left.length <= 2, `old segments deleted (${left.join(', ')})`);
  await s.close();
  const again = await WebhookSpool.open(d, options, logger);
  assert.equal(again.size, 0);
  await again.close();
});

test('reply parser: CallResult default, CallError codes per version, fields named', () => {
  assert.deepEqual(parseReply({ payload: { a: 1 } }, 'ocpp1.6'), { ok: true, reply: { kind: 'result', payload: { a: 1 } } });
  assert.deepEqual(parseReply({ messageTypeId: 'CallError', errorCode: 'OccurenceConstraintViolation' }, 'ocpp1.6'), {
    ok: true,
    reply: { kind: 'error', code: 'OccurrenceConstraintViolation', description: '', details: {} },
  });
  const bad = parseReply({ messageTypeId: 'CallError', errorCode: 'MessageTypeNotSupported' }, 'ocpp1.6');
  assert.equal(bad.ok, false);
  assert.equal(!bad.ok && bad.problem.field, 'errorCode');
  assert.equal(parseReply({ messageTypeId: 'CallError', errorCode: 'MessageTypeNotSupported' }, 'ocpp2.0.1').ok, true);
  const noPayload = parseReply({ identity: 'x' }, 'ocpp2.1', '[2].');
  assert.equal(!noPayload.ok && noPayload.problem.field, '[2].payload');
  const details = parseReply({ messageTypeId: 'CallError', errorCode: 'GenericError', errorDetails: 'x' }, 'ocpp2.1');
  assert.equal(!details.ok && details.problem.field, 'errorDetails');
});
