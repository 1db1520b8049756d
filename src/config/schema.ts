/**
 * The one JSON Schema (draft-07, ajv 8) of the configuration: every key with its `default` and
 * `description`, `additionalProperties: false` on every fixed object. `types.ts` mirrors it; `load.ts`
 * validates with it (`useDefaults` fills the defaults); `conf/default.json` and `docs/configuration.md`
 * are checked against it by the tests.
 */
import { OCPP_VERSIONS } from '../protocol/versions.js';
import { MIB, PASSWORD_HASH_PATTERN, bool, int, object, type SchemaNode } from './schema-nodes.js';
import { pgFunctionSchema, storeSchema } from './schema-store.js';
import { clusterSchema, natsBackendSchema } from './schema-cluster.js';
import { flexSchema } from './schema-flex.js';
import { limitsSchema, securitySchema, tlsSchema } from './schema-security.js';

export type { SchemaNode } from './schema-nodes.js';
export { PASSWORD_HASH_PATTERN } from './schema-nodes.js';
export { SQLITE_SYNCHRONOUS, STORE_ENGINES, STORE_ON_FAILURE } from './schema-store.js';
export { NATS_ON_FAILURE } from './schema-cluster.js';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export const BOOT_STATUSES = ['Accepted', 'Pending', 'Rejected'] as const;
export const AUTHORIZE_POLICIES = ['acceptAll', 'list'] as const;
export const DATA_TRANSFER_STATUSES = ['Accepted', 'Rejected', 'UnknownMessageId', 'UnknownVendorId'] as const;
export const API_AUTH_MODES = ['off', 'basic', 'bearer'] as const;
// --- webhook (src/backends/webhook/, src/control/webhook-*.ts) ---
export const WEBHOOK_AUTH_MODES = ['Off', 'Basic', 'Bearer'] as const;
export const WEBHOOK_CONTENT_TYPES = ['json', 'msgpack'] as const;
export const WEBHOOK_ON_FAILURE = ['error', 'responder'] as const;
export const BACKENDS = ['auto', 'responder', 'webhook', 'pgFunction', 'nats'] as const;


export const configSchema: SchemaNode = {
  type: 'object',
  description: 'ocpp-router configuration',
  additionalProperties: false,
  properties: {
    server: object('Network listener and process layout.', {
      listen: {
        type: 'string',
        minLength: 1,
        maxLength: 255,
        default: '0.0.0.0',
        description: 'Address to listen on (IPv4, IPv6 or host name); `0.0.0.0` listens on every IPv4 interface.',
      },
      port: int(0, 65535, 9220, 'TCP port for WebSocket and HTTP. 0 picks a free port once, in the main thread.'),
      plain: bool(
        true,
        'Serve plain `ws://` and `http://` on `port`. Turn it off once every station uses TLS (`tls`); while both run, stations can move one by one.',
      ),
      workers: int(0, 64, 0, 'Shard threads; 0 means `os.availableParallelism()`.'),
      shutdownTimeoutMs: int(
        0,
        3_600_000,
        10_000,
        'Deadline for a graceful stop (QUIT/TERM): in-flight work gets this long before stations are closed.',
        'ms',
      ),
    }),
    tls: tlsSchema,
    ocpp: object('OCPP-J endpoint and per-station protocol discipline.', {
      path: {
        type: 'string',
        // "/" or "/seg[/seg...]" without a trailing slash, query or fragment.
        pattern: '^/([^/?#\\s]+(/[^/?#\\s]+)*)?$',
        maxLength: 200,
        default: '/ocpp',
        description: 'URL path prefix of the WebSocket endpoint: `<path>/[account/]identity`. Starts with `/`, no trailing `/`.',
      },
      subprotocols: {
        type: 'array',
        items: { type: 'string', enum: OCPP_VERSIONS },
        minItems: 1,
        uniqueItems: true,
        default: ['ocpp2.1', 'ocpp2.0.1', 'ocpp1.6'],
        description: `WebSocket subprotocols accepted, in server preference order (${OCPP_VERSIONS.join(', ')}).`,
      },
      defaultVersion: {
        type: ['string', 'null'],
        enum: [...OCPP_VERSIONS, null],
        default: null,
        description: 'Version assumed for a client that offers no subprotocol; null refuses such clients. Must be one of `subprotocols`.',
      },
      maxIdentityLength: int(1, 255, 48, 'Longest accepted identity, in characters, after percent-decoding.', 'characters'),
      maxFrameBytes: int(1024, 16 * MIB, 65536, 'Largest accepted text frame; larger frames close the socket with 1009.', 'bytes'),
      maxPayloadDepth: int(
        16,
        1000,
        32,
        'Deepest nesting of objects and arrays in a payload, from any peer (station frames, webhook replies, API bodies); deeper ones get FormatViolation (1.6: FormationViolation) or 400. The OCPP schemas need at most 13.',
        'levels',
      ),
      maxBadMessagesInRow: int(1, 1_000_000, 10, 'Bad frames in a row after which the socket is closed with 1008.'),
      inboundQueueMax: int(
        0,
        100_000,
        100,
        'Station CALLs waiting behind the one being handled, per station; overflow closes the socket (1008).',
      ),
      outboundQueueMax: int(0, 100_000, 100, 'Central-system CALLs waiting behind the one in flight, per station.'),
      callTimeoutMs: int(1, 3_600_000, 30_000, 'Time a station gets to answer a central-system CALL.', 'ms'),
      pingIntervalS: int(
        0,
        3600,
        60,
        'Server WebSocket ping interval; a peer that stays silent for twice this is dropped. 0 disables.',
        's',
      ),
      rejectCallsBeforeAccepted: bool(
        true,
        "Answer CALLs other than BootNotification with SecurityError while the station's boot is Rejected.",
      ),
      quirks: object('Named tolerances for known vendor quirks, all off by default.', {
        dateTimeWithoutTimezone: bool(false, 'Accept date-time values without a time zone designator (read as UTC).'),
        ignoreAdditionalProperties: bool(
          false,
          'Accept (and drop) properties the schema does not define, instead of answering FormatViolation (1.6: FormationViolation).',
        ),
      }),
    }),
    security: securitySchema,
    admission: object('Limits on accepting new station connections.', {
      maxStations: int(0, 100_000_000, 100_000, 'Most stations connected at once over all shards; over it the upgrade gets 503. 0 = unlimited.'),
      acceptRatePerS: int(
        0,
        10_000_000,
        0,
        'Upgrades accepted per second over all shards (split evenly between shards). 0 = unlimited.',
        'upgrades/s',
      ),
      acceptBurst: int(1, 10_000_000, 100, 'Burst allowance of the accept-rate limiter.', 'upgrades'),
      retryAfterS: int(0, 86_400, 5, 'Retry-After seconds sent with a 503.', 's'),
    }),
    // --- limits (docs/limits.md): what one station or one source address may cost ---
    limits: limitsSchema,
    responder: object('Answers of the built-in responder backend.', {
      bootStatus: {
        type: 'string',
        enum: BOOT_STATUSES,
        default: 'Accepted',
        description: 'Status returned to BootNotification.',
      },
      heartbeatIntervalS: int(1, 86_400, 300, 'Heartbeat interval returned to BootNotification.', 's'),
      authorize: object('Authorize (and id tags in transactions).', {
        policy: {
          type: 'string',
          enum: AUTHORIZE_POLICIES,
          default: 'acceptAll',
          description: '`acceptAll` or `list` (only the id tags in `idTags` are accepted).',
        },
        idTags: {
          type: 'array',
          items: { type: 'string', minLength: 1, maxLength: 36 },
          uniqueItems: true,
          default: [],
          description: 'Id tags accepted by the `list` policy (OCPP 1.6 idTag ≤ 20, 2.x idToken ≤ 36 characters).',
        },
      }),
      dataTransfer: object('DataTransfer.', {
        status: {
          type: 'string',
          enum: DATA_TRANSFER_STATUSES,
          default: 'UnknownVendorId',
          description: 'Status returned to DataTransfer.',
        },
      }),
    }),
    // --- api (REST command API, src/api/) ---
    api: object('REST command API (`/api/v1/…`, api.yaml), Swagger UI and live-log access.', {
      commandTimeoutMs: int(
        1,
        3_600_000,
        30_000,
        'Default time a station gets to answer a command sent through the API (override per request with `timeoutMs`). A synchronous request is capped at `ocpp.callTimeoutMs` + 4 s (the shard gives the control plane 5 s more than that); use `async=true` for longer.',
        'ms',
      ),
      docs: bool(true, 'Serve `/api.yaml` and Swagger UI at `/docs/` (from each shard, without authentication: the document holds no secrets).'),
      auth: object('Who may use the API and the live log (docs/api.md, "Access and roles"; `/api/v1/ping`, `/api/v1/time`, `/health/*`, `/metrics`, `/docs/` stay open).', {
        mode: {
          type: 'string',
          enum: API_AUTH_MODES,
          default: 'off',
          description: '`off` (no credentials: loopback clients only, unless `allowRemote`), `basic` (users with scrypt hashes) or `bearer` (static tokens).',
        },
        allowRemote: bool(
          false,
          'With `mode` `off`: also answer clients that are not on loopback, without credentials (anyone who reaches the port may send commands; `serve` warns). Ignored when `mode` is `basic` or `bearer`.',
        ),
        users: {
          type: 'object',
          default: {},
          propertyNames: { type: 'string', minLength: 1, maxLength: 255, pattern: '^[^:]+$' },
          additionalProperties: { type: 'string', pattern: PASSWORD_HASH_PATTERN },
          description: 'Operator users for `basic`: user → password hash (`scrypt$…`, made by `ocpp-router hash-password`).',
        },
        readUsers: {
          type: 'object',
          default: {},
          propertyNames: { type: 'string', minLength: 1, maxLength: 255, pattern: '^[^:]+$' },
          additionalProperties: { type: 'string', pattern: PASSWORD_HASH_PATTERN },
          description: 'Read-only users for `basic` (lists, stations, transactions, live log; no commands): user → password hash.',
        },
        tokens: {
          type: 'array',
          items: { type: 'string', minLength: 16, maxLength: 4096, pattern: '^[\\x21-\\x7e]+$' },
          uniqueItems: true,
          default: [],
          description: 'Operator `Authorization: Bearer` tokens for `bearer` (at least 16 printable ASCII characters each).',
        },
        readTokens: {
          type: 'array',
          items: { type: 'string', minLength: 16, maxLength: 4096, pattern: '^[\\x21-\\x7e]+$' },
          uniqueItems: true,
          default: [],
          description: 'Read-only bearer tokens for `bearer` (lists, stations, transactions, live log; no commands).',
        },
        failedLogins: object('Failed logins per client address (an IPv6 client counts by its /64): beyond the limit 429 with `Retry-After`.', {
          burst: int(1, 1_000_000, 10, 'Failed logins a client may make in a row.'),
          perMinute: int(1, 1_000_000, 10, 'Failed logins a client gets back per minute.'),
          maxAddresses: int(1, 10_000_000, 10_000, 'Client addresses remembered at most (least recently used forgotten first).'),
        }),
      }),
      cors: object('Cross-origin requests from browsers.', {
        origins: {
          type: 'array',
          items: { type: 'string', minLength: 1, maxLength: 2048 },
          uniqueItems: true,
          default: [],
          description: 'Allowed origins (`https://ops.example.com`), or `*` for any; empty disables CORS headers.',
        },
        maxAgeS: int(0, 86_400, 600, 'How long a browser may cache a preflight answer (`Access-Control-Max-Age`).', 's'),
      }),
      bulk: object('Bulk commands (`POST /api/v1/commands`).', {
        concurrency: int(1, 100_000, 200, 'Commands of one bulk request in flight at once.'),
        maxStations: int(1, 10_000_000, 100_000, 'Most stations one bulk request may address.'),
      }),
      results: object('Results of asynchronous commands (`async=true`).', {
        ttlS: int(1, 604_800, 600, 'How long a finished result is kept for `GET /api/v1/commands/{id}`.', 's'),
        max: int(1, 10_000_000, 10_000, 'Most commands (pending or finished) kept; the oldest finished ones go first.'),
      }),
    }),
    metrics: object('Prometheus metrics (`GET /metrics`) and health endpoints.', {
      enable: bool(
        true,
        'Record per-message metrics on the frame path and serve `/metrics`. Off: only event counters are kept and `/metrics` answers 404.',
      ),
    }),
    // --- webhook (src/backends/webhook/, src/control/webhook-*.ts; contract in docs/webhook.md) ---
    webhook: object('Webhook backend: every station CALL is POSTed to `url` and the answer relayed (the ocpp-cs contract, docs/webhook.md).', {
      enable: {
        type: ['boolean', 'null'],
        default: null,
        description: 'Use the webhook instead of the built-in responder: `true`, `false`, or `null` = on when `url` is set (ocpp-cs: setting `WEBHOOK_URL` turns it on).',
      },
      url: {
        type: ['string', 'null'],
        pattern: '^https?://[^\\s]+$',
        maxLength: 2048,
        default: null,
        description: 'Receiver of station requests (`http://` or `https://`).',
      },
      authorization: {
        type: 'string',
        enum: WEBHOOK_AUTH_MODES,
        default: 'Off',
        description: '`Off`, `Basic` (`username`/`password`) or `Bearer` (`token`), as in ocpp-cs.',
      },
      username: { type: 'string', maxLength: 255, default: '', description: 'User of `Basic` authorization.' },
      password: { type: 'string', maxLength: 4096, default: '', description: 'Password of `Basic` authorization.' },
      token: { type: 'string', maxLength: 4096, default: '', description: 'Token of `Bearer` authorization.' },
      timeoutMs: int(1, 600_000, 10_000, 'Time the receiver gets to answer a request (keep it below the stations\' own 30 s).', 'ms'),
      maxReplyBytes: int(1024, 1024 * MIB, 16 * MIB, 'Largest reply body read from the receiver; a larger reply is a failure (`body`), like an unparseable one.', 'bytes'),
      contentType: {
        type: 'string',
        enum: WEBHOOK_CONTENT_TYPES,
        default: 'json',
        description: 'Request body: `json` (`application/json`) or `msgpack` (`application/msgpack`). Replies may be either (by their Content-Type).',
      },
      onFailure: {
        type: 'string',
        enum: WEBHOOK_ON_FAILURE,
        default: 'error',
        description: 'When the receiver fails: `error` (station gets CALLERROR InternalError, as ocpp-cs) or `responder` (the built-in responder answers; the request is spooled for later delivery).',
      },
      pool: object('HTTP connections (undici Pool, keep-alive), per shard and for the control plane\'s deliveries.', {
        connections: int(1, 4096, 16, 'Keep-alive connections to the receiver per thread.'),
        keepAliveTimeoutMs: int(1000, 3_600_000, 30_000, 'Idle keep-alive connections are closed after this long.', 'ms'),
      }),
      batch: object('Batching of requests (a JSON array of envelopes, answered by an array of replies).', {
        maxSize: int(1, 1000, 1, 'Most requests per POST; 1 = one request per message (the ocpp-cs format, no arrays).'),
        maxDelayMs: int(0, 1000, 2, 'Longest a request waits for others to join its batch (only when `maxSize` > 1).', 'ms'),
      }),
      retry: object('Redelivery of spooled entries and the shard\'s circuit breaker.', {
        initialDelayMs: int(10, 3_600_000, 500, 'First delay after a failed delivery (doubles each failure in a row).', 'ms'),
        maxDelayMs: int(10, 3_600_000, 30_000, 'Longest delay between delivery attempts.', 'ms'),
        maxAttempts: int(0, 100_000_000, 0, 'Attempts per spooled entry before it is dropped (logged, counted); 0 = never give up.'),
      }),
      spool: object('Durable spool on disk (`<dataDir>/spool/`): fallback-answered requests and events, delivered in order per station.', {
        maxBytes: int(1024 * 1024, 2 ** 40, 1024 * MIB, 'Most bytes of spool files; beyond it new entries are dropped (counted, logged).', 'bytes'),
        segmentBytes: int(64 * 1024, 1024 * MIB, 16 * MIB, 'Size at which a new segment file is started; a segment is deleted once every entry in it and before it is delivered.', 'bytes'),
        fsync: bool(true, 'fdatasync each group of appended records (one per event-loop turn) before counting them as stored.'),
      }),
      events: object('Events posted off the response path: station connected/disconnected, command answers, async command results.', {
        enable: bool(false, 'Post events (through the spool: same delivery guarantees).'),
        url: {
          type: ['string', 'null'],
          pattern: '^https?://[^\\s]+$',
          maxLength: 2048,
          default: null,
          description: 'Receiver of events; null = `webhook.url`.',
        },
      }),
      signature: object('HMAC-SHA256 signature of every body.', {
        secret: {
          type: ['string', 'null'],
          minLength: 1,
          maxLength: 4096,
          default: null,
          description: 'Secret key; when set every POST carries `X-OCPP-Signature: sha256=<hex HMAC of the body>`.',
        },
      }),
    }),
    backend: {
      type: 'string',
      enum: BACKENDS,
      default: 'auto',
      description: 'What answers station CALLs: `responder` (built in), `webhook` (`webhook.url`), `pgFunction` (the operator\'s `ocpp.Parse` in PostgreSQL, docs/postgres.md), `nats` (a NATS request per CALL to the operator\'s workers, docs/cluster.md), or `auto`: the webhook when `webhook.url` is set (ocpp-cs: setting `WEBHOOK_URL` turns it on), else the responder.',
    },
    pgFunction: pgFunctionSchema,
    // --- store (src/store/; docs/store.md) ---
    store: storeSchema,
    // --- cluster and NATS (src/cluster/; docs/cluster.md) ---
    cluster: clusterSchema,
    nats: natsBackendSchema,
    // --- flexibility prequalification (src/flex/; docs/flexibility.md) ---
    flexibility: flexSchema,
    dataDir: {
      type: 'string',
      minLength: 1,
      default: './data',
      description:
        'Folder for state that survives restarts (transaction id sequence, station registry). Relative to the working directory; made absolute.',
    },
    log: object('Logging.', {
      level: {
        type: 'string',
        enum: LOG_LEVELS,
        default: 'info',
        description: `Log level (${LOG_LEVELS.join(', ')}).`,
      },
    }),
  },
};
