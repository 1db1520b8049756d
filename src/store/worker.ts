/**
 * The store thread: owns the engine (SQLite's driver is synchronous, PostgreSQL's pool lives here too), runs group
 * commit for every thread's writes, answers queries, prunes old rows. Writes never run on a shard's loop or the
 * control plane's; each of those threads talks to this one over its own MessagePort.
 */
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { join } from 'node:path';
import type { Config } from '../config/types.js';
import { createLogger } from '../logger.js';
import { RequestPort } from '../ipc/port.js';
import { ErrorCode, RouterError } from '../protocol/errors.js';
import type { StoreEngine, StoreQueries } from './engine.js';
import { DurableLog } from './durable-log.js';
import { StoreWriter } from './writer.js';
import type { FromStoreThread, NoRequests, StoreRequests, ToStoreThread } from './protocol.js';
import { openEngine } from './engines.js';

const config = (workerData as { config: Config }).config;
const parent = parentPort!;
const logger = createLogger(config.log.level, { thread: 'store' });
const post = (message: FromStoreThread): void => parent.postMessage(message);

const PRUNE_EVERY_MS = 60 * 60 * 1000;
const PRUNE_STEP_ROWS = 5000;

let engine: StoreEngine;
let writer: StoreWriter;
const ports = new Set<MessagePort>();

function serve(port: MessagePort): void {
  const rp = new RequestPort<NoRequests, StoreRequests>({
    post: (message) => port.postMessage(message),
    handlers: {
      write: (writes) => writer.submit(writes),
      query: ({ kind, args }) => engine.query(kind as keyof StoreQueries, args as never),
      flex: ({ op, args }) => engine.flex(op, args as never),
      status: () => {
        const h = writer.commitSeconds;
        return { engine: engine.name, mode: writer.mode, spool: { entries: spool?.size ?? 0, bytes: spool?.bytes ?? 0 }, stats: { ...writer.stats }, commitSeconds: { counts: h.counts, sum: h.sum, count: h.count, bounds: h.bounds } };
      },
    },
    unavailable: () => new RouterError(ErrorCode.SHUTTING_DOWN, 'the requester is gone'),
  });
  port.on('message', (message) => rp.receive(message));
  port.on('close', () => ports.delete(port));
  ports.add(port);
}

let spool: DurableLog | null = null;
let pruneTimer: ReturnType<typeof setTimeout> | null = null;

/** Deletes rows older than `store.retentionDays` in small steps, yielding between them. */
async function prune(): Promise<void> {
  pruneTimer = null;
  const days = config.store.retentionDays;
  if (days > 0) {
    const before = Date.now() - days * 86_400_000;
    try {
      for (;;) {
        const removed = await engine.prune(before, PRUNE_STEP_ROWS);
        if (removed < PRUNE_STEP_ROWS) break;
        await new Promise((r) => setImmediate(r));
      }
    } catch (error) {
      logger.warn({ err: error }, 'store: pruning old rows failed (will retry)');
    }
  }
  pruneTimer = setTimeout(() => void prune(), PRUNE_EVERY_MS);
  pruneTimer.unref();
}

async function start(): Promise<void> {
  engine = await openEngine(config);
  if (config.store.onFailure === 'spool') {
    spool = await DurableLog.open(join(config.dataDir, 'store-spool'), { maxBytes: config.store.spool.maxBytes, segmentBytes: 16 * 1024 * 1024, fsync: true }, logger);
  }
  writer = new StoreWriter(engine, { maxBatch: config.store.maxBatchRecords, commitDelayMs: config.store.commitDelayMs, onFailure: config.store.onFailure, spool, log: logger });
  serve(parent as unknown as MessagePort);
  pruneTimer = setTimeout(() => void prune(), 1000);
  pruneTimer.unref();
}

parent.on('message', (message: ToStoreThread | unknown) => {
  const m = message as ToStoreThread;
  if (m.t === 'attach') {
    serve(m.port);
    return;
  }
  if (m.t === 'stop') {
    void (async () => {
      if (pruneTimer !== null) clearTimeout(pruneTimer);
      await writer?.close();
      await spool?.close();
      await engine?.close();
      for (const port of ports) if (port !== (parent as unknown as MessagePort)) port.close();
      post({ t: 'stopped' });
      logger.flush();
      parent.close();
    })();
  }
});

start().then(
  () => post({ t: 'ready' }),
  (error: unknown) => {
    logger.error({ err: error }, 'store: cannot open');
    post({ t: 'failed', error: error instanceof Error ? error.message : String(error) });
  },
);
