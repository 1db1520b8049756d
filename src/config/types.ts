import type { OcppVersion } from '../protocol/versions.js';

/**
 * The validated, frozen configuration. The JSON Schema in `schema.ts` is the source of the defaults and
 * descriptions; this type mirrors it. Units are in the names.
 */
export interface Config {
  server: {
    /** Address to listen on (env LISTEN). */
    listen: string;
    /** TCP port for WebSocket and HTTP (env PORT). 0 picks a free port once, in the main thread. */
    port: number;
    /** Serve plain ws:// and http:// on `port` (false: TLS only). */
    plain: boolean;
    /** Shard threads; 0 means os.availableParallelism() (env WORKERS). */
    workers: number;
    /** Deadline for a graceful stop (QUIT/TERM): in-flight work gets this long before stations are closed. */
    shutdownTimeoutMs: number;
  };
  tls: {
    /** Serve TLS on `port` in every shard. */
    enable: boolean;
    /** TCP port of the TLS listener; 0 picks a free one once. */
    port: number;
    /** PEM server certificate, optionally followed by its chain. */
    certFile: string | null;
    /** PEM private key of certFile. */
    keyFile: string | null;
    /** Passphrase of an encrypted keyFile. */
    passphrase: string | null;
    /** OpenSSL cipher list for TLS 1.2; null: OpenSSL defaults. */
    ciphers: string | null;
    /** PEM DH parameters for DHE suites. */
    dhParamsFile: string | null;
    /** CA(s) station client certificates must chain to (profile 3). */
    clientCaFile: string | null;
    /** Header in which a trusted TLS-terminating proxy passes the client certificate. */
    clientCertHeader: string | null;
    /** Addresses whose clientCertHeader is believed. */
    trustedProxies: string[];
    /** The built-in mTLS front (profile 3). */
    front: { enable: boolean; port: number };
    /** Subject field that must equal the identity. */
    subjectField: 'CN' | 'serialNumber' | 'UID' | 'O' | 'OU';
  };
  ocpp: {
    /** URL path prefix of the WebSocket endpoint: `<path>/[account/]identity`. */
    path: string;
    /** Subprotocols accepted, in server preference order. */
    subprotocols: OcppVersion[];
    /** Version assumed for a client that offers no subprotocol; null refuses such clients. */
    defaultVersion: OcppVersion | null;
    /** Longest accepted identity, in characters, after percent-decoding. */
    maxIdentityLength: number;
    /** Largest accepted text frame in bytes; larger frames close the socket with 1009. */
    maxFrameBytes: number;
    /** Deepest nesting of objects and arrays in any payload a peer sends; deeper ones are refused. */
    maxPayloadDepth: number;
    /** Bad frames in a row after which the socket is closed with 1008. */
    maxBadMessagesInRow: number;
    /** Station CALLs waiting behind the one being handled, per station; overflow closes the socket (1008). */
    inboundQueueMax: number;
    /** Central-system CALLs waiting behind the one in flight, per station. */
    outboundQueueMax: number;
    /** Time a station gets to answer a central-system CALL. */
    callTimeoutMs: number;
    /** Server WebSocket ping interval; a peer that stays silent for twice this is dropped. 0 disables. */
    pingIntervalS: number;
    /** Answer CALLs other than BootNotification with SecurityError while the station's boot is Rejected. */
    rejectCallsBeforeAccepted: boolean;
    /** Named tolerances for known vendor quirks, all off by default. */
    quirks: {
      /** Accept date-time values without a time zone designator (read as UTC). */
      dateTimeWithoutTimezone: boolean;
      /** Accept (and drop) properties the schema does not define, instead of answering FormatViolation. */
      ignoreAdditionalProperties: boolean;
    };
  };
  security: {
    /** Profile of a station not in `profiles` (1, 2 or 3). */
    defaultProfile: number;
    /** identity → security profile. */
    profiles: Record<string, number>;
    basicAuth: {
      /** Require HTTP Basic auth (security profile 1) before the upgrade. */
      enable: boolean;
      /** identity → password hash (`scrypt$…`, made by `ocpp-router hash-password`). */
      passwords: Record<string, string>;
      /** Optional file with more `identity:hash` lines, read at start and on HUP. */
      file: string | null;
    };
  };
  admission: {
    /** Most stations connected at once over all shards; over it the upgrade gets 503. 0 = unlimited. */
    maxStations: number;
    /** Upgrades accepted per second over all shards (split evenly between shards). 0 = unlimited. */
    acceptRatePerS: number;
    /** Burst allowance of the accept-rate limiter, in upgrades. */
    acceptBurst: number;
    /** Retry-After seconds sent with a 503. */
    retryAfterS: number;
  };
  limits: {
    /** Frames a station may send per second (token bucket per connection); 0 = off. */
    messageRatePerS: number;
    /** Bucket size of the per-station rate limit, in frames. */
    messageBurst: number;
    /** Rate-limited frames within `rateLimitWindowS` after which the socket is closed with 1008; 0 = never. */
    maxRateLimited: number;
    /** Window over which rate-limited frames are counted, in seconds. */
    rateLimitWindowS: number;
    /** Most stations connected at once from one remote address over all shards; 0 = unlimited. */
    maxStationsPerAddress: number;
    /** Deadline of an asynchronous upgrade decision, in ms; 0 = none. */
    upgradeTimeoutMs: number;
    /** Seconds a station may stay connected without an answered BootNotification; 0 = off. */
    bootTimeoutS: number;
  };
  responder: {
    /** Status returned to BootNotification. */
    bootStatus: 'Accepted' | 'Pending' | 'Rejected';
    /** Heartbeat interval returned to BootNotification, in seconds. */
    heartbeatIntervalS: number;
    authorize: {
      /** `acceptAll` or `list` (only the id tags in `idTags` are accepted). */
      policy: 'acceptAll' | 'list';
      idTags: string[];
    };
    dataTransfer: {
      /** Status returned to DataTransfer. */
      status: 'Accepted' | 'Rejected' | 'UnknownMessageId' | 'UnknownVendorId';
    };
  };
  /** REST command API, Swagger UI and live-log access (src/api/). */
  api: {
    /** Default time a station gets to answer an API command. */
    commandTimeoutMs: number;
    /** Serve /api.yaml and Swagger UI at /docs/. */
    docs: boolean;
    auth: {
      mode: 'off' | 'basic' | 'bearer';
      /** With mode off: answer non-loopback clients too. */
      allowRemote: boolean;
      /** Operator users: user → scrypt password hash (basic). */
      users: Record<string, string>;
      /** Read-only users: user → scrypt password hash (basic). */
      readUsers: Record<string, string>;
      /** Operator bearer tokens (bearer). */
      tokens: string[];
      /** Read-only bearer tokens (bearer). */
      readTokens: string[];
      failedLogins: {
        burst: number;
        perMinute: number;
        maxAddresses: number;
      };
    };
    cors: {
      /** Allowed origins, or '*'; empty: no CORS headers. */
      origins: string[];
      maxAgeS: number;
    };
    bulk: {
      concurrency: number;
      maxStations: number;
    };
    results: {
      ttlS: number;
      max: number;
    };
  };
  metrics: {
    /** Record per-message metrics and serve `/metrics` (off: only event counters; /metrics answers 404). */
    enable: boolean;
  };
  /** Webhook backend (src/backends/webhook/, docs/webhook.md). */
  webhook: {
    /** null: on when `url` is set (see webhookEnabled()). */
    enable: boolean | null;
    url: string | null;
    authorization: 'Off' | 'Basic' | 'Bearer';
    username: string;
    password: string;
    token: string;
    timeoutMs: number;
    /** Largest reply body read from the receiver. */
    maxReplyBytes: number;
    contentType: 'json' | 'msgpack';
    onFailure: 'error' | 'responder';
    pool: { connections: number; keepAliveTimeoutMs: number };
    batch: { maxSize: number; maxDelayMs: number };
    retry: { initialDelayMs: number; maxDelayMs: number; maxAttempts: number };
    spool: { maxBytes: number; segmentBytes: number; fsync: boolean };
    events: { enable: boolean; url: string | null };
    signature: { secret: string | null };
  };
  /** What answers station CALLs; `auto`: the webhook when it has a URL, else the responder. */
  backend: 'auto' | 'responder' | 'webhook' | 'pgFunction' | 'nats';
  /** The ocpp-cs function mode (src/backends/pg-function/). */
  pgFunction: { url: string | null; schema: string; poolSize: number; timeoutMs: number };
  /** Several nodes as one central system over NATS (src/cluster/). */
  cluster: {
    enable: boolean;
    nodeId: string | null;
    nats: NatsConnectionConfig;
    directory: { bucket: string; ttlS: number; renewConcurrency: number };
    nodeTtlS: number;
    requestTimeoutMs: number;
    transactionIdBlock: number;
    events: { enable: boolean; stream: string; actions: string[]; exclude: string[]; maxAgeS: number; maxBytes: number; replicas: number; maxPending: number; spool: { maxBytes: number } };
    subjectPrefix: string;
    commands: boolean;
  };
  /** The NATS backend (`backend: "nats"`). */
  nats: { timeoutMs: number; onFailure: 'error' | 'responder'; fallback: { stream: string; maxAgeS: number; spoolMaxBytes: number } };
  /** Flexibility prequalification (src/flex/; docs/flexibility.md). */
  flexibility: FlexConfig;
  /** Where what stations send is kept (src/store/). */
  store: {
    engine: 'sqlite' | 'postgres' | 'off';
    sqlite: { file: string; synchronous: 'OFF' | 'NORMAL' | 'FULL'; readPool: { threads: number } };
    postgres: { url: string | null; poolSize: number; connectTimeoutS: number };
    onFailure: 'error' | 'spool';
    spool: { maxBytes: number };
    maxBatchRecords: number;
    commitDelayMs: number;
    retentionDays: number;
    journal: boolean;
    journalExcept: string[];
  };
  /** Folder for state that survives restarts (transaction id sequence, the SQLite store, spools). */
  dataDir: string;
  log: {
    level: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  };
}

export interface NatsConnectionConfig {
  servers: string[];
  user: string | null;
  password: string | null;
  token: string | null;
  nkeySeedFile: string | null;
  credsFile: string | null;
  tls: { enable: boolean; caFile: string | null; certFile: string | null; keyFile: string | null };
  connectTimeoutMs: number;
  reconnectWaitMs: number;
  reconnectMaxWaitMs: number;
}

export interface FlexConfig {
  enable: boolean;
  keyEncryptionKey: string | null;
  chain: { rpcUrl: string | null; chainId: number; network: string; registryAddress: string | null; operatorKeyFile: string | null; operatorPrivateKey: string | null; timeoutMs: number; validityS: number };
  nats: { servers: string[] };
  subjects: { prequalification: string[]; claim: string[]; events: string };
  stream: string;
  maxAgeS: number;
  consumers: { requests: string; claims: string };
  maxDeliver: number;
  ackWaitMs: number;
  backoffMs: number[];
  deadLetterSubject: string;
  claim: { type: string; version: number; evidencePeriodDays: number };
  issuer: { deliver: 'nats' | 'http'; subject: string; url: string | null; did: string | null };
  trustedIssuers: string[];
  contentDir: string | null;
}
