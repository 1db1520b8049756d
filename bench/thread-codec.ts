/**
 * Round trips per second across a MessagePort between two worker threads, for the messages that cross threads
 * most often (issue 17): a shard's batch of registry events, a live-log batch, and a command with its reply.
 * Codecs: structured clone of the plain objects (what the router uses), a JSON string, msgpackr Buffers
 * (plain maps; copied, or transferred as their own ArrayBuffer), and msgpackr with its record extension (copied).
 * Each side encodes what it sends and decodes what it receives, so a round trip is two encodes, two decodes and
 * two postMessages; `--window N` keeps N messages in flight (1: latency-bound ping-pong).
 *
 *   node dist/bench/thread-codec.js [--seconds 1.5] [--windows 1,32]
 */
import { isMainThread, MessageChannel, parentPort, Worker, workerData, type MessagePort } from 'node:worker_threads';
import { Packr } from 'msgpackr';
import { isNativeAccelerationEnabled } from 'msgpackr';

type Codec = 'clone' | 'json' | 'msgpackr-copy' | 'msgpackr-transfer' | 'msgpackr-records-copy';
const CODECS: Codec[] = ['clone', 'json', 'msgpackr-copy', 'msgpackr-transfer', 'msgpackr-records-copy'];
type Kind = 'registryEvents' | 'logBatch' | 'command';
const KINDS: Kind[] = ['registryEvents', 'logBatch', 'command'];

/** A shard's 50 ms batch: 10 StatusNotifications and one BootNotification. */
function registryEvents(i: number): unknown {
  const events: unknown[] = Array.from({ length: 10 }, (_, k) => ({ t: 'status', identity: `CP-${(i * 10 + k) % 100000}`, connId: 1000 + k, status: { connector: String(1 + (k % 2)), status: k % 3 === 0 ? 'Charging' : 'Available', errorCode: 'NoError', at: 1_765_000_000_000 + i } }));
  events.push({ t: 'boot', identity: `CP-${i % 100000}`, connId: 7, payload: { chargePointVendor: 'Vendor', chargePointModel: 'Model X', chargePointSerialNumber: `SN${i}`, firmwareVersion: '1.2.3' }, status: 'Accepted', at: 1_765_000_000_000 + i });
  return { t: 'registryEvents', events };
}

/** 20 live-log lines (MeterValues in, their replies out), each already a JSON text as the shards send them. */
function logBatch(i: number): unknown {
  const entries = Array.from({ length: 20 }, (_, k) => {
    const inbound = k % 2 === 0;
    const entry = { ts: 1_765_000_000_000 + i, identity: `CP-${k}`, direction: inbound ? 'in' : 'out', messageType: inbound ? 'CALL' : 'CALLRESULT', uniqueId: `${i}-${k}`, action: inbound ? 'MeterValues' : null, payload: inbound ? { connectorId: 1, transactionId: 42, meterValue: [{ timestamp: '2026-12-06T20:00:00.000Z', sampledValue: [{ value: String(12345 + i), measurand: 'Energy.Active.Import.Register', unit: 'Wh' }, { value: '7200', measurand: 'Power.Active.Import', unit: 'W' }] }] } : {} };
    return { identity: entry.identity, text: JSON.stringify(entry) };
  });
  return { t: 'log', entries };
}

/** The API's RemoteStartTransaction to a shard (a RequestPort envelope). */
function command(i: number): unknown {
  return { t: 'req', id: i, kind: 'call', body: { identity: `CP-${i % 100000}`, action: 'RemoteStartTransaction', payload: { connectorId: 1, idTag: 'TAG-0001', chargingProfile: { chargingProfileId: 1, stackLevel: 0, chargingProfilePurpose: 'TxProfile', chargingProfileKind: 'Absolute', chargingSchedule: { chargingRateUnit: 'A', chargingSchedulePeriod: [{ startPeriod: 0, limit: 16 }] } } }, validated: true, timeoutMs: 30000 } };
}

const MAKE: Record<Kind, (i: number) => unknown> = { registryEvents, logBatch, command };
/** What the far side answers: the command's CALLRESULT; an ack with the count for the batches. */
function reply(kind: Kind, message: any): unknown {
  if (kind === 'command') return { t: 'res', id: message.id, ok: true, value: { status: 'Accepted', at: 1_765_000_000_000 } };
  return { t: 'ack', n: (message.events ?? message.entries).length };
}

function codec(name: Codec): { send(port: MessagePort, value: unknown): void; read(data: unknown): any } {
  if (name === 'clone') return { send: (p, v) => p.postMessage(v), read: (d) => d };
  if (name === 'json') return { send: (p, v) => p.postMessage(JSON.stringify(v)), read: (d) => JSON.parse(d as string) };
  const packr = new Packr(name === 'msgpackr-records-copy' ? { useRecords: true } : { useRecords: false, mapsAsObjects: true });
  const read = (d: unknown): unknown => packr.unpack(d as Uint8Array);
  if (name === 'msgpackr-transfer') {
    return {
      // A transfer needs an ArrayBuffer of its own (pack returns a view into msgpackr's shared buffer).
      send: (p, v) => {
        const owned = Uint8Array.prototype.slice.call(packr.pack(v));
        p.postMessage(owned, [owned.buffer]);
      },
      read,
    };
  }
  // Copied: a view's whole ArrayBuffer would be cloned, so post a copy of just the message.
  return { send: (p, v) => p.postMessage(Uint8Array.prototype.slice.call(packr.pack(v))), read };
}

interface Job { kind: Kind; codec: Codec; seconds: number; window: number }

if (!isMainThread) {
  const { role, port } = workerData as { role: 'echo' | 'drive'; port: MessagePort };
  if (role === 'echo') {
    let current: { kind: Kind; c: ReturnType<typeof codec> } | null = null;
    port.on('message', (data: unknown) => {
      if (current === null || (typeof data === 'object' && data !== null && (data as { setup?: Job }).setup !== undefined)) {
        const job = (data as { setup: Job }).setup;
        current = { kind: job.kind, c: codec(job.codec) };
        port.postMessage({ ready: true });
        return;
      }
      current.c.send(port, reply(current.kind, current.c.read(data)));
    });
  } else {
    parentPort!.on('message', (job: Job) => {
      const c = codec(job.codec);
      const make = MAKE[job.kind];
      let sent = 0;
      let done = 0;
      let stopAt = 0;
      const onReady = (): void => {
        port.off('message', onReady);
        port.on('message', onReply);
        stopAt = performance.now() + job.seconds * 1000;
        const started = performance.now();
        for (let k = 0; k < job.window; k++) c.send(port, make(sent++));
        function onReply(data: unknown): void {
          c.read(data);
          done++;
          if (performance.now() < stopAt) c.send(port, make(sent++));
          else if (done === sent) {
            port.off('message', onReply);
            parentPort!.postMessage({ roundTrips: done, seconds: (performance.now() - started) / 1000 });
          }
        }
      };
      port.on('message', onReady);
      port.postMessage({ setup: job });
    });
  }
} else {
  const args = process.argv.slice(2);
  const flag = (name: string, fallback: string): string => {
    const i = args.indexOf(`--${name}`);
    return i >= 0 && args[i + 1] !== undefined ? args[i + 1]! : fallback;
  };
  const seconds = Number(flag('seconds', '1.5'));
  const windows = flag('windows', '1,32').split(',').map(Number);
  const { port1, port2 } = new MessageChannel();
  const echo = new Worker(new URL(import.meta.url), { workerData: { role: 'echo', port: port2 }, transferList: [port2] });
  const drive = new Worker(new URL(import.meta.url), { workerData: { role: 'drive', port: port1 }, transferList: [port1] });
  const run = (job: Job): Promise<{ roundTrips: number; seconds: number }> => new Promise((resolve) => {
    drive.once('message', resolve);
    drive.postMessage(job);
  });
  const sizes = Object.fromEntries(KINDS.map((k) => [k, { json: JSON.stringify(MAKE[k](1)).length, msgpackr: new Packr({ useRecords: false }).pack(MAKE[k](1)).length }]));
  console.log(`node ${process.version}, msgpackr native acceleration: ${isNativeAccelerationEnabled}, ${seconds} s per case`);
  console.log(`message bytes: ${KINDS.map((k) => `${k} JSON ${sizes[k]!.json} / msgpack ${sizes[k]!.msgpackr}`).join('; ')}`);
  const results: Array<Record<string, unknown>> = [];
  for (const window of windows) {
    for (const kind of KINDS) {
      // Warm every codec once (JIT), then measure.
      for (const c of CODECS) await run({ kind, codec: c, seconds: 0.2, window });
      const row: Record<string, unknown> = { kind, window };
      for (const c of CODECS) {
        const r = await run({ kind, codec: c, seconds, window });
        row[c] = Math.round(r.roundTrips / r.seconds);
      }
      results.push(row);
      console.log(JSON.stringify(row));
    }
  }
  console.log('\n| message | in flight | ' + CODECS.join(' | ') + ' |');
  console.log('|---|---|' + CODECS.map(() => '---:').join('|') + '|');
  for (const r of results) {
    const base = r.clone as number;
    console.log(`| ${r.kind} | ${r.window} | ${CODECS.map((c) => `${(r[c] as number).toLocaleString('en')}${c === 'clone' ? '' : ` (${((r[c] as number) / base).toFixed(2)}×)`}`).join(' | ')} |`);
  }
  await Promise.all([echo.terminate(), drive.terminate()]);
}
