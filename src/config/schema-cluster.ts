/**
 * The configuration of the cluster (`cluster`, src/cluster/, docs/cluster.md): several router nodes acting as one
 * central system over NATS (JetStream and KV), the fleet's events on a JetStream stream, and the NATS backend
 * (`backend: "nats"`, `nats`).
 */
import { MIB, bool, int, object, type SchemaNode } from './schema-nodes.js';

export const NATS_ON_FAILURE = ['error', 'responder'] as const;

const file = (description: string): SchemaNode => ({ type: ['string', 'null'], minLength: 1, maxLength: 4096, default: null, description });

/** How a node reaches NATS: servers, credentials, TLS (the backend and the events share the cluster's connection). */
const natsConnection: SchemaNode = object('The NATS connection (the official client, @nats-io/transport-node).', {
  servers: {
    type: 'array',
    items: { type: 'string', pattern: '^(nats|tls|ws|wss)://', maxLength: 1024 },
    minItems: 1,
    default: ['nats://127.0.0.1:4222'],
    description: 'NATS servers (env `NATS_URL`, comma-separated); the client reconnects to any of them.',
  },
  user: { type: ['string', 'null'], maxLength: 1024, default: null, description: 'User (with `password`).' },
  password: { type: ['string', 'null'], maxLength: 4096, default: null, description: 'Password of `user` (env `NATS_PASSWORD`).' },
  token: { type: ['string', 'null'], maxLength: 4096, default: null, description: 'Token authentication (env `NATS_TOKEN`).' },
  nkeySeedFile: file('File holding an nkey seed (`SU…`) for nkey authentication.'),
  credsFile: file('A `.creds` file (JWT and nkey seed) for decentralized authentication (env `NATS_CREDS`).'),
  tls: object('TLS to the NATS servers.', {
    enable: bool(false, 'Require TLS (also implied by `tls://` servers).'),
    caFile: file('CA certificate(s) to verify the servers.'),
    certFile: file('Client certificate (mutual TLS).'),
    keyFile: file('Key of `certFile`.'),
  }),
  connectTimeoutMs: int(100, 120_000, 5000, 'Time to establish a connection before the attempt counts as failed.', 'ms'),
  reconnectWaitMs: int(10, 60_000, 500, 'First wait before reconnecting; doubled up to `reconnectMaxWaitMs` (with jitter).', 'ms'),
  reconnectMaxWaitMs: int(100, 600_000, 10_000, 'Longest wait between reconnect attempts.', 'ms'),
});

export const clusterSchema: SchemaNode = object('Several router nodes as one central system over NATS (docs/cluster.md).', {
  enable: bool(false, 'Join the cluster: a directory of which node holds each station, commands to stations on any node, cluster-wide station lists, transaction ids unique across nodes.'),
  nodeId: {
    type: ['string', 'null'],
    pattern: '^[A-Za-z0-9_-]{1,64}$',
    default: null,
    description: 'This node\'s name in the cluster (letters, digits, `_`, `-`); null: the host name and the port (env `NODE_ID`).',
  },
  nats: natsConnection,
  directory: object('The station directory: a JetStream KV bucket of identity → node.', {
    bucket: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,64}$', default: 'ocpp_directory', description: 'KV bucket of the directory (created when missing).' },
    ttlS: int(10, 7 * 86_400, 3600, 'Entries expire this long after their last write (the bucket\'s max age); each node writes its own again every third of it, so the entries of stations that were on a dead node and never came back are gone within `ttlS`. Lookups ignore a dead node\'s entries sooner (`nodeTtlS`).', 's'),
    renewConcurrency: int(1, 10_000, 64, 'Directory writes in flight when a node renews its entries.'),
  }),
  nodeTtlS: int(3, 3600, 15, 'A node writes its heartbeat (KV `<prefix>_nodes`) every third of this; a node not heard from for `nodeTtlS` is dead: it leaves the node list and lookups ignore its directory entries.', 's'),
  requestTimeoutMs: int(100, 600_000, 5000, 'Time another node gets to answer a request that is not a station command (lists, id blocks).', 'ms'),
  transactionIdBlock: int(1, 1_000_000, 256, 'Transaction ids a node takes from the cluster at a time (a KV counter, compare-and-set).'),
  events: object('Station messages, connects, disconnects and command results published to a JetStream stream.', {
    enable: bool(false, 'Publish the fleet\'s events (needs `cluster.enable` or a reachable `cluster.nats`).'),
    stream: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,64}$', default: 'OCPP_EVENTS', description: 'Stream name (created when missing, subjects `<subjectPrefix>.events.>`).' },
    actions: {
      type: 'array',
      items: { type: 'string', minLength: 1, maxLength: 64 },
      uniqueItems: true,
      default: [],
      description: 'Actions whose messages are published; [] publishes every action.',
    },
    exclude: {
      type: 'array',
      items: { type: 'string', minLength: 1, maxLength: 64 },
      uniqueItems: true,
      default: ['Heartbeat'],
      description: 'Actions never published.',
    },
    maxAgeS: int(0, 10 * 365 * 86_400, 7 * 86_400, 'Events older than this leave the stream; 0 keeps them.', 's'),
    maxBytes: int(0, 2 ** 50, 0, 'Most bytes the stream keeps (the oldest go first); 0: no limit.', 'bytes'),
    replicas: int(1, 5, 1, 'Stream replicas (a clustered NATS).'),
    maxPending: int(1, 100_000, 10_000, 'Publishes awaiting their acknowledgement per shard; beyond it events go to the spool.'),
    spool: object('Events that could not be published (NATS away, too many pending): kept on disk, published later in order.', {
      maxBytes: int(MIB, 2 ** 40, 1024 * MIB, 'Most bytes of the node\'s events spool files (`<dataDir>/nats/events/`, shared out over the shards); beyond it events are dropped and counted.', 'bytes'),
    }),
  }),
  subjectPrefix: { type: 'string', pattern: '^[A-Za-z0-9_-]+(\\.[A-Za-z0-9_-]+)*$', maxLength: 128, default: 'ocpp', description: 'First tokens of every subject the router uses (`ocpp.events.…`, `ocpp.in.…`, `ocpp.cmd.…`, `ocpp.node.…`).' },
  commands: bool(true, 'Serve commands published as NATS requests to `<subjectPrefix>.cmd.<identity>.<action>` (payload: the CALL payload; reply: the answer, or an error), for stations on any node.'),
});

export const natsBackendSchema: SchemaNode = object('The NATS backend (`backend: "nats"`): every station CALL is a NATS request on `<subjectPrefix>.in.<version>.<action>`.', {
  timeoutMs: int(100, 600_000, 10_000, 'Time a worker gets to answer a request.', 'ms'),
  onFailure: {
    type: 'string',
    enum: NATS_ON_FAILURE,
    default: 'error',
    description: 'No worker, a timeout or an unusable answer: `error` (the station gets InternalError) or `responder` (the built-in responder answers and the request is spooled on disk, then published to `<subjectPrefix>.fallback.<version>.<action>` on JetStream).',
  },
  fallback: object('Where the requests the built-in responder answered (`onFailure: "responder"`) go: a spool on disk per shard (`<dataDir>/nats/fallback/`), then a JetStream stream.', {
    stream: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,64}$', default: 'OCPP_FALLBACK', description: 'Stream of the fallback records (created or updated at connect, subjects `<subjectPrefix>.fallback.>`, replicas `cluster.events.replicas`).' },
    maxAgeS: int(0, 10 * 365 * 86_400, 30 * 86_400, 'Records older than this leave the stream; 0 keeps them.', 's'),
    spoolMaxBytes: int(MIB, 2 ** 40, 1024 * MIB, 'Most bytes of the fallback spool files of the node (shared out over the shards); beyond it the station gets InternalError instead of the fallback answer.', 'bytes'),
  }),
});
