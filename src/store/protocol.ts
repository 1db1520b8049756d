/**
 * The messages of the store thread: requests (through a RequestPort, src/ipc/port.ts) from the control plane and
 * from every shard, each over its own MessagePort; and the two notifications the control plane sends it (a new
 * shard's port, stop).
 */
import type { MessagePort } from 'node:worker_threads';
import type { StoreQueries, StoreWrite } from './engine.js';
import type { WriteOutcome } from './writer.js';
import type { FlexOps } from './flex-sql.js';
import type { StoreView } from '../metrics/store-metrics.js';

/** What the store thread reports (its metrics: src/metrics/store-metrics.ts). */
export type StoreStatus = StoreView & { engine: 'sqlite' | 'postgres' };

export type StoreRequests = {
  write: [StoreWrite[], WriteOutcome];
  query: [{ kind: keyof StoreQueries; args: unknown }, unknown];
  status: [null, StoreStatus];
  flex: [{ op: keyof FlexOps; args: unknown }, unknown];
};

/** The store thread asks nothing. */
export type NoRequests = Record<never, [unknown, unknown]>;

export type ToStoreThread = { t: 'attach'; port: MessagePort } | { t: 'stop' };
export type FromStoreThread = { t: 'ready' } | { t: 'failed'; error: string } | { t: 'stopped' };
