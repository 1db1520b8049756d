/**
 * Shard thread entry. Builds validators, backend and transport, then follows the control plane's orders.
 * An uncaught error closes every uWS socket first (a worker that exits with open uWS sockets aborts the
 * whole process), then exits non-zero so the supervisor restarts the shard.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { MainToShard, ShardInit, ShardToMain } from '../control/messages.js';
import { createLogger } from '../logger.js';
import { createResponder } from '../backends/responder/index.js';
import { TransactionIdPool, type IdBlock } from './transaction-id-pool.js';
import { createValidatorLookup } from '../protocol/validation/registry.js';
import { RouterError } from '../protocol/errors.js';
import { Shard } from './shard.js';
import { ApiAuth, logAuthHeaders } from '../api/auth.js';
// --- webhook backend selection (src/backends/webhook/) ---
import { randomBytes } from 'node:crypto';
import { BackendSwitch } from '../backends/webhook/index.js';

const init = workerData as ShardInit;
const parent = parentPort!;
const logger = createLogger(init.config.log.level, { shard: init.shardId });
// A message that cannot be cloned (never expected: every payload a peer sends is depth-bounded where it enters)
// is dropped and counted; it must not throw into the frame path and take the shard down.
let dropped: ((kind: string) => void) | null = null;
const post = (message: ShardToMain): void => {
  try {
    parent.postMessage(message);
  } catch (error) {
    logger.error({ err: error, kind: message.t }, 'a message to the control plane could not be sent; dropped');
    dropped?.(message.t);
  }
};

let nextReq = 1;
const blockRequests = new Map<number, { resolve(block: IdBlock): void; reject(error: Error): void }>();
const transactionIds = new TransactionIdPool({
  requestBlock: () =>
    new Promise<IdBlock>((resolve, reject) => {
      const reqId = nextReq++;
      blockRequests.set(reqId, { resolve, reject });
      post({ t: 'txBlockRequest', reqId });
    }),
  onError: (error) => logger.error({ err: error }, 'transaction id block request failed'),
});

const responder = createResponder({ config: init.config.responder, transactionIds });
// The responder, or the webhook with the responder as fallback (chosen again on every reload).
let shardRef: Shard | null = null;
const backend = new BackendSwitch({
  config: init.config,
  responder,
  metrics: () => shardRef!.metrics.webhook,
  spool: (entries) => post({ t: 'webhookSpool', entries }),
  logger,
  keyPrefix: `${randomBytes(4).toString('hex')}${init.shardId.toString(36)}-`,
});
let lookup = createValidatorLookup(init.config.ocpp.quirks);
// The live log (/ws/log) takes the API's credentials (api.auth); replaced on reload.
let logAuth = new ApiAuth(init.config.api.auth);

const shard = new Shard({
  shardId: init.shardId,
  shards: init.shards,
  config: init.config,
  counters: init.counters,
  logger,
  post,
  backend,
  lookup: (version, action) => lookup(version, action),
  reconfigureBackend: (config) => {
    responder.updateConfig(config.responder);
    backend.configure(config);
    lookup = createValidatorLookup(config.ocpp.quirks);
    logAuth = new ApiAuth(config.api.auth);
  },
  authorizeLog: (headers) => logAuth.check(logAuthHeaders(headers)),
});

shardRef = shard;
dropped = (kind) => shard.counters.inc(`threadMessagesDropped.${kind}`);

process.on('uncaughtException', (error) => {
  logger.fatal({ err: error }, 'shard crashed');
  try {
    shard.emergencyClose();
  } finally {
    logger.flush();
    process.exit(1);
  }
});

parent.on('message', (message: MainToShard) => {
  switch (message.t) {
    case 'txBlock': {
      const pending = blockRequests.get(message.reqId);
      blockRequests.delete(message.reqId);
      if (message.error !== undefined) pending?.reject(RouterError.fromJSON(message.error));
      else pending?.resolve({ start: message.start!, end: message.end! });
      return;
    }
    case 'stop':
      shard.stop(message.mode, message.deadlineMs).then(() => {
        post({ t: 'stopped' });
        logger.flush();
        parent.close();
      });
      return;
    case 'crash':
      if (init.testHooks) setImmediate(() => { throw new Error('crash requested by the control plane (test hook)'); });
      return;
    default:
      shard.handle(message);
  }
});

try {
  await transactionIds.start();
} catch (error) {
  logger.error({ err: error }, 'no transaction id block at start; StartTransaction will fail until one arrives');
}
let bound: number | null = null;
for (const candidate of init.ports) {
  bound = await shard.listen(candidate);
  if (bound !== null) break;
}
post(bound !== null ? { t: 'listening', ok: true, port: bound } : { t: 'listening', ok: false, error: `cannot listen on ${init.config.server.listen}:${init.ports.join('|')}` });
