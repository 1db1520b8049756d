/**
 * Shard thread entry. Builds validators, backend and transport, then follows the control plane's orders:
 * notifications (`replace`, `config`, `stop` …) and requests through one RequestPort (`call`, `stats`,
 * `metrics`); the shard asks the control plane the same way (`http`, `txBlock`).
 * An uncaught error closes every uWS socket first (a worker that exits with open uWS sockets aborts the
 * whole process), then exits non-zero so the supervisor restarts the shard.
 */
import { randomBytes } from 'node:crypto';
import { parentPort, workerData } from 'node:worker_threads';
import type { ControlRequests, MainToShard, ShardInit, ShardRequests, ShardToMain } from '../ipc/messages.js';
import { RequestPort } from '../ipc/port.js';
import { createLogger } from '../logger.js';
import { createResponder } from '../backends/responder/index.js';
import { BackendSwitch } from '../backends/backend-switch.js';
import { createValidatorLookup } from '../protocol/validation/registry.js';
import { ErrorCode, RouterError } from '../protocol/errors.js';
import { errorResponse, type WebRequest, type WebResponse } from '../http/types.js';
import { logAuthHeaders } from '../http/api-auth.js';
import { TransactionIdPool } from './transaction-id-pool.js';
import { StoreClient } from '../store/client.js';
import { StoreKeeper } from './store-keeper.js';
import { LOG_PATH, Shard } from './shard.js';
import type { EventTap } from './session-hooks.js';
import { ShardNats } from '../cluster/shard-nats.js';
import { nodeIdOf } from '../cluster/node-id.js';
import { loadTransport } from '../transport/runtime.js';

const init = workerData as ShardInit;
const parent = parentPort!;
const logger = createLogger(init.config.log.level, { shard: init.shardId });
// A message that cannot be cloned (never expected: every payload a peer sends is depth-bounded where it enters)
// is dropped and counted; it must not throw into the frame path and take the shard down.
let dropped: ((kind: string) => void) | null = null;
const post = (message: ShardToMain): boolean => {
  try {
    parent.postMessage(message);
    return true;
  } catch (error) {
    logger.error({ err: error, kind: message.t }, 'a message to the control plane could not be sent; dropped');
    dropped?.(message.t);
    return false;
  }
};

let shardRef: Shard | null = null;
const shardOf = (): Shard => {
  if (shardRef === null) throw new RouterError(ErrorCode.SHARD_UNAVAILABLE, `shard ${init.shardId} is starting`);
  return shardRef;
};
const control = new RequestPort<ControlRequests, ShardRequests>({
  post,
  handlers: {
    call: (request) => shardOf().call(request),
    stats: () => shardOf().stats(),
    metrics: () => shardOf().metricsJson(),
  },
  unavailable: () => new RouterError(ErrorCode.SHARD_UNAVAILABLE, 'the control plane cannot be reached'),
});

const transactionIds = new TransactionIdPool({
  requestBlock: () => control.request('txBlock', null),
  onError: (error) => logger.error({ err: error }, 'transaction id block request failed'),
});

const responder = createResponder({ config: init.config.responder, transactionIds });
// NATS (src/cluster/shard-nats.ts): one connection for the events publisher and the NATS backend, spools on disk.
const eventTap: EventTap = { publisher: null };
let nats: ShardNats | null = null;
// The responder, or the webhook with the responder as fallback (chosen again on every reload).
const backend = new BackendSwitch({
  config: init.config,
  responder,
  metrics: () => shardRef!.metrics.webhook,
  spool: (entries) => control.request('webhookSpool', entries).then(() => undefined),
  logger,
  keyPrefix: `${randomBytes(4).toString('hex')}${init.shardId.toString(36)}-`,
  nats: () => nats,
  natsMetrics: () => shardRef!.metrics.nats,
});
let lookup = createValidatorLookup(init.config.ocpp.quirks);

// The store thread (src/store/): what stations send is kept there before it is acknowledged.
/** Whether a CALL of `action` goes to the journal (store.journal, store.journalExcept); replaced on reload. */
const journalRule = (store: typeof init.config.store) => {
  const except = new Set(store.journalExcept);
  return (action: string): boolean => store.journal && !except.has(action);
};
let journal = journalRule(init.config.store);
let commitDelayMs = init.config.store.commitDelayMs;
const keeper =
  init.storePort === undefined
    ? undefined
    : new StoreKeeper(new StoreClient(init.storePort), {
        journal: (action) => journal(action),
        // Part of the commit delay is spent gathering CALLs here: one message to the store thread for many.
        batchDelayMs: () => Math.min(2, commitDelayMs),
        onFailure: (error, records) => {
          shardRef?.counters.inc('storeRefusals');
          logger.error({ err: error, records }, 'the store did not keep these records: their stations get InternalError');
        },
      });

const forwardHttp = (request: WebRequest): Promise<WebResponse> =>
  control.request('http', request).catch((error: unknown) => errorResponse(503, error instanceof Error ? error.message : String(error), undefined, { 'Retry-After': '1' }));

// uWebSockets.js under Node, Bun.serve under Bun: the other one is never loaded.
const createServer = await loadTransport();

const shard = new Shard({
  createServer,
  shardId: init.shardId,
  shards: init.shards,
  config: init.config,
  counters: init.counters,
  logger,
  post,
  forwardHttp,
  backend,
  lookup: (version, action) => lookup(version, action),
  reconfigureBackend: (config) => {
    responder.updateConfig(config.responder);
    backend.configure(config);
    lookup = createValidatorLookup(config.ocpp.quirks);
    journal = journalRule(config.store);
    commitDelayMs = config.store.commitDelayMs;
    nats?.configure(config);
  },
  // The live log (/ws/log) follows the API's access rules (read role; loopback only while api.auth.mode is off),
  // decided by the control plane (one failed-login limiter, one metric): 200 lets the client in.
  authorizeLog: (headers, query, remoteAddress) =>
    forwardHttp({ method: 'GET', path: LOG_PATH, query, headers: logAuthHeaders(headers), body: '', remoteAddress, upgrade: true }).then((response) => (response.status === 200 ? null : response)),
  ...(keeper === undefined ? {} : { keeper }),
  setIdTags: (tags) => responder.setListedTags(tags),
  events: eventTap,
  frontSecret: init.frontSecret,
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
  if (control.receive(message)) return;
  switch (message.t) {
    case 'stop':
      shard
        .stop(message.mode, message.deadlineMs)
        // Last events (the disconnects of the stop) out or into the spool, then the connection closed.
        .then(() => nats?.close(message.mode === 'graceful' ? 500 : 100))
        .catch((error: unknown) => logger.error({ err: error }, 'closing NATS failed'))
        .then(() => {
          post({ t: 'stopped' });
          logger.flush();
          parent.close();
        });
      return;
    case 'crash':
      if (init.testHooks) setImmediate(() => { throw new Error('crash requested by the control plane (test hook)'); });
      return;
    default:
      shard.handle(message as Exclude<MainToShard, { t: 'req' } | { t: 'res' }>);
  }
});

try {
  await transactionIds.start();
} catch (error) {
  logger.error({ err: error }, 'no transaction id block at start; StartTransaction will fail until one arrives');
}
nats = new ShardNats({ shardId: init.shardId, shards: init.shards, config: init.config, logger, metrics: shard.metrics.nats, onPublisher: (p) => (eventTap.publisher = p) });
try {
  await nats.open();
} catch (error) {
  logger.error({ err: error }, 'the NATS spools cannot be opened: no events, and the NATS backend cannot keep fallback answers');
}
let bound: number | null = null;
for (const candidate of init.ports) {
  bound = await shard.listen(candidate);
  if (bound !== null) break;
}
// The TLS listener (tls.enable): its port is picked the same way (shard 0 tries candidates, the others join).
let tlsBound: number | null = 0;
if (bound !== null) {
  for (const candidate of init.tlsPorts) {
    tlsBound = await shard.listenTls(candidate);
    if (tlsBound !== null) break;
  }
}
// Before anything else can run: the first stations' events are captured.
if (bound !== null && tlsBound !== null) nats.begin(nodeIdOf(init.config, bound !== 0 ? bound : tlsBound));
post(
  bound === null
    ? { t: 'listening', ok: false, error: `cannot listen on ${init.config.server.listen}:${init.ports.join('|')}` }
    : tlsBound === null
      ? { t: 'listening', ok: false, error: `cannot listen with TLS on ${init.config.server.listen}:${init.tlsPorts.join('|')} (a port in use, or tls.certFile/keyFile/passphrase/clientCaFile unreadable or not matching)` }
      : { t: 'listening', ok: true, port: bound, tlsPort: tlsBound },
);
