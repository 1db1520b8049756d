/**
 * Environment overrides: an explicit table, env name → config path + parser + description. Nothing else
 * in the environment is read. An empty (or blank) variable counts as unset, as in libapostol.
 *
 * Names kept from the C++ `ocpp-cs` (github.com/apostoldevel/ocpp-cs) and its framework libapostol:
 * - `PORT`, `LISTEN`, `WORKER_PROCESSES`: libapostol `template/.env.example` (the variables its Docker
 *   template substitutes into `conf/default.json` as `${VAR}`, see libapostol `src/config/config.cpp`
 *   `Config::expand_env`), for the keys `server.port`, `server.listen`, `workers` that ocpp-cs reads
 *   (libapostol `src/core/settings.cpp` `AppSettings::populate`).
 * - `WEBHOOK_URL`, `WEBHOOK_AUTH`, `WEBHOOK_USERNAME`, `WEBHOOK_PASSWORD`, `WEBHOOK_TOKEN`: ocpp-cs
 *   `docker-compose.yaml` and README (`docker run --env WEBHOOK_URL=…`); setting `WEBHOOK_URL` turns the
 *   webhook on as in ocpp-cs, because `webhook.enable` defaults to null (= on when a URL is set).
 * - Booleans accept what libapostol's `parse_bool` accepts: true|false|1|0|yes|no|on|off, any case.
 */
import { OCPP_VERSIONS } from '../protocol/versions.js';
import { API_AUTH_MODES, BACKENDS, NATS_ON_FAILURE, AUTHORIZE_POLICIES, BOOT_STATUSES, DATA_TRANSFER_STATUSES, LOG_LEVELS, SQLITE_SYNCHRONOUS, STORE_ENGINES, STORE_ON_FAILURE, WEBHOOK_AUTH_MODES, WEBHOOK_CONTENT_TYPES, WEBHOOK_ON_FAILURE } from './schema.js';

export type EnvParseResult = { ok: true; value: unknown } | { ok: false; message: string };

export interface EnvEntry {
  /** Variable name. */
  readonly name: string;
  /** Dotted config path it sets. */
  readonly path: string;
  /** Accepted syntax, for the docs. */
  readonly syntax: string;
  readonly description: string;
  /** Turns the (trimmed, non-empty) raw value into the config value, or says why it cannot. */
  readonly parse: (raw: string) => EnvParseResult;
}

const INT_RE = /^[+-]?\d+$/;

export function parseInteger(raw: string): EnvParseResult {
  if (!INT_RE.test(raw)) return { ok: false, message: `must be an integer, got ${show(raw)}` };
  const value = Number(raw);
  if (!Number.isSafeInteger(value)) return { ok: false, message: `is out of range, got ${show(raw)}` };
  return { ok: true, value };
}

const TRUE_WORDS = new Set(['true', '1', 'yes', 'on']);
const FALSE_WORDS = new Set(['false', '0', 'no', 'off']);

export function parseBoolean(raw: string): EnvParseResult {
  const word = raw.toLowerCase();
  if (TRUE_WORDS.has(word)) return { ok: true, value: true };
  if (FALSE_WORDS.has(word)) return { ok: true, value: false };
  return { ok: false, message: `must be a boolean (true|false|1|0|yes|no|on|off), got ${show(raw)}` };
}

export function parseString(raw: string): EnvParseResult {
  return { ok: true, value: raw };
}

/** One of `values`, matched without regard to case, returned in its canonical spelling. */
export function parseEnum(values: readonly string[]): (raw: string) => EnvParseResult {
  return (raw) => {
    const found = values.find((v) => v.toLowerCase() === raw.toLowerCase());
    return found === undefined
      ? { ok: false, message: `must be one of ${values.join(', ')}, got ${show(raw)}` }
      : { ok: true, value: found };
  };
}

/** `null` or `none` → null, otherwise the inner parser. */
export function parseNullable(inner: (raw: string) => EnvParseResult): (raw: string) => EnvParseResult {
  return (raw) => (/^(null|none)$/i.test(raw) ? { ok: true, value: null } : inner(raw));
}

/** Comma-separated list; blanks around items are dropped; `item` checks each one. */
export function parseList(item: (raw: string) => EnvParseResult): (raw: string) => EnvParseResult {
  return (raw) => {
    const out: unknown[] = [];
    for (const part of raw.split(',')) {
      const trimmed = part.trim();
      if (trimmed === '') continue;
      const result = item(trimmed);
      if (!result.ok) return { ok: false, message: `item ${show(trimmed)} ${result.message.replace(/, got .*$/, '')}` };
      out.push(result.value);
    }
    return { ok: true, value: out };
  };
}

/** The value as an error message shows it: one line, at most 64 characters. */
function show(raw: string): string {
  const oneLine = raw.replace(/[\r\n\t]/g, ' ');
  return JSON.stringify(oneLine.length > 64 ? `${oneLine.slice(0, 64)}...` : oneLine);
}

const INT = 'integer';
const BOOL = 'true|false|1|0|yes|no|on|off';

function entry(name: string, path: string, syntax: string, parse: EnvEntry['parse'], description: string): EnvEntry {
  return Object.freeze({ name, path, syntax, parse, description });
}

/**
 * The table, applied in this order (so for two names of one key, the later one wins: `WORKERS` over the
 * libapostol name `WORKER_PROCESSES`).
 */
export const ENV_TABLE: readonly EnvEntry[] = Object.freeze([
  entry('LISTEN', 'server.listen', 'address', parseString, 'Address to listen on (name used by ocpp-cs/libapostol).'),
  entry('PORT', 'server.port', INT, parseInteger, 'TCP port (name used by ocpp-cs/libapostol).'),
  entry('PLAIN', 'server.plain', BOOL, parseBoolean, 'Serve plain ws:// and http:// on PORT.'),
  entry('TLS', 'tls.enable', BOOL, parseBoolean, 'Serve TLS (wss://, https://) on TLS_PORT.'),
  entry('TLS_PORT', 'tls.port', INT, parseInteger, 'TCP port of the TLS listener.'),
  entry('TLS_CERT_FILE', 'tls.certFile', 'path|null', parseNullable(parseString), 'PEM server certificate (and chain).'),
  entry('TLS_KEY_FILE', 'tls.keyFile', 'path|null', parseNullable(parseString), 'PEM private key.'),
  entry('TLS_CLIENT_CA_FILE', 'tls.clientCaFile', 'path|null', parseNullable(parseString), 'CA of station client certificates (profile 3).'),
  entry('TLS_FRONT', 'tls.front.enable', BOOL, parseBoolean, 'Serve the mTLS front (profile 3) on TLS_FRONT_PORT.'),
  entry('TLS_FRONT_PORT', 'tls.front.port', INT, parseInteger, 'TCP port of the mTLS front.'),
  entry('WORKER_PROCESSES', 'server.workers', INT, parseInteger, 'Shard threads (libapostol name; `WORKERS` wins if both are set).'),
  entry('WORKERS', 'server.workers', INT, parseInteger, 'Shard threads; 0 = one per CPU.'),
  entry('SHUTDOWN_TIMEOUT_MS', 'server.shutdownTimeoutMs', INT, parseInteger, 'Graceful stop deadline.'),
  entry('OCPP_PATH', 'ocpp.path', 'path', parseString, 'WebSocket path prefix.'),
  entry(
    'OCPP_SUBPROTOCOLS',
    'ocpp.subprotocols',
    `comma list of ${OCPP_VERSIONS.join(', ')}`,
    parseList(parseEnum(OCPP_VERSIONS)),
    'Accepted subprotocols in preference order.',
  ),
  entry(
    'OCPP_DEFAULT_VERSION',
    'ocpp.defaultVersion',
    `${OCPP_VERSIONS.join('|')}|null`,
    parseNullable(parseEnum(OCPP_VERSIONS)),
    'Version for clients that offer no subprotocol; `null` refuses them.',
  ),
  entry('MAX_IDENTITY_LENGTH', 'ocpp.maxIdentityLength', INT, parseInteger, 'Longest identity.'),
  entry('MAX_FRAME_BYTES', 'ocpp.maxFrameBytes', INT, parseInteger, 'Largest text frame.'),
  entry('MAX_PAYLOAD_DEPTH', 'ocpp.maxPayloadDepth', INT, parseInteger, 'Deepest payload nesting.'),
  entry('MAX_BAD_MESSAGES_IN_ROW', 'ocpp.maxBadMessagesInRow', INT, parseInteger, 'Bad frames in a row before close.'),
  entry('INBOUND_QUEUE_MAX', 'ocpp.inboundQueueMax', INT, parseInteger, 'Per-station inbound CALL queue.'),
  entry('OUTBOUND_QUEUE_MAX', 'ocpp.outboundQueueMax', INT, parseInteger, 'Per-station outbound CALL queue.'),
  entry('CALL_TIMEOUT_MS', 'ocpp.callTimeoutMs', INT, parseInteger, 'Timeout of central-system CALLs.'),
  entry('PING_INTERVAL_S', 'ocpp.pingIntervalS', INT, parseInteger, 'Server ping interval; 0 disables.'),
  entry(
    'REJECT_CALLS_BEFORE_ACCEPTED',
    'ocpp.rejectCallsBeforeAccepted',
    BOOL,
    parseBoolean,
    'SecurityError for CALLs while boot is Rejected.',
  ),
  entry(
    'QUIRK_DATETIME_WITHOUT_TIMEZONE',
    'ocpp.quirks.dateTimeWithoutTimezone',
    BOOL,
    parseBoolean,
    'Accept date-times without zone.',
  ),
  entry(
    'QUIRK_IGNORE_ADDITIONAL_PROPERTIES',
    'ocpp.quirks.ignoreAdditionalProperties',
    BOOL,
    parseBoolean,
    'Drop unknown payload properties.',
  ),
  entry('SECURITY_PROFILE', 'security.defaultProfile', INT, parseInteger, 'Default station security profile (1, 2, 3).'),
  entry('BASIC_AUTH', 'security.basicAuth.enable', BOOL, parseBoolean, 'Require HTTP Basic auth.'),
  entry('BASIC_AUTH_FILE', 'security.basicAuth.file', 'path|null', parseNullable(parseString), 'File of `identity:hash` lines.'),
  entry('MAX_STATIONS', 'admission.maxStations', INT, parseInteger, 'Most stations at once; 0 = unlimited.'),
  entry('ACCEPT_RATE_PER_S', 'admission.acceptRatePerS', INT, parseInteger, 'Upgrades per second; 0 = unlimited.'),
  entry('ACCEPT_BURST', 'admission.acceptBurst', INT, parseInteger, 'Accept-rate burst.'),
  entry('RETRY_AFTER_S', 'admission.retryAfterS', INT, parseInteger, 'Retry-After of a 503.'),
  entry('MESSAGE_RATE_PER_S', 'limits.messageRatePerS', INT, parseInteger, 'Frames per second per station; 0 = off.'),
  entry('MESSAGE_BURST', 'limits.messageBurst', INT, parseInteger, 'Per-station rate burst.'),
  entry('MAX_RATE_LIMITED', 'limits.maxRateLimited', INT, parseInteger, 'Rate-limited frames before 1008; 0 = never.'),
  entry('MAX_STATIONS_PER_ADDRESS', 'limits.maxStationsPerAddress', INT, parseInteger, 'Stations per remote address; 0 = unlimited.'),
  entry('UPGRADE_TIMEOUT_MS', 'limits.upgradeTimeoutMs', INT, parseInteger, 'Deadline of an async upgrade decision; 0 = none.'),
  entry('BOOT_TIMEOUT_S', 'limits.bootTimeoutS', INT, parseInteger, 'Close a station without BootNotification after; 0 = off.'),
  entry('BOOT_STATUS', 'responder.bootStatus', BOOT_STATUSES.join('|'), parseEnum(BOOT_STATUSES), 'BootNotification status.'),
  entry('HEARTBEAT_INTERVAL_S', 'responder.heartbeatIntervalS', INT, parseInteger, 'Heartbeat interval returned at boot.'),
  entry(
    'AUTHORIZE_POLICY',
    'responder.authorize.policy',
    AUTHORIZE_POLICIES.join('|'),
    parseEnum(AUTHORIZE_POLICIES),
    'Authorize policy.',
  ),
  entry('AUTHORIZE_ID_TAGS', 'responder.authorize.idTags', 'comma list', parseList(parseString), 'Id tags of the `list` policy.'),
  entry(
    'DATA_TRANSFER_STATUS',
    'responder.dataTransfer.status',
    DATA_TRANSFER_STATUSES.join('|'),
    parseEnum(DATA_TRANSFER_STATUSES),
    'DataTransfer status.',
  ),
  // api (src/api/)
  entry('API_COMMAND_TIMEOUT_MS', 'api.commandTimeoutMs', INT, parseInteger, 'Default timeout of API commands.'),
  entry('API_DOCS', 'api.docs', BOOL, parseBoolean, 'Serve /api.yaml and Swagger UI.'),
  entry('API_AUTH', 'api.auth.mode', API_AUTH_MODES.join('|'), parseEnum(API_AUTH_MODES), 'API authentication mode.'),
  entry('API_TOKENS', 'api.auth.tokens', 'comma list', parseList(parseString), 'Operator bearer tokens of the API.'),
  entry('API_READ_TOKENS', 'api.auth.readTokens', 'comma list', parseList(parseString), 'Read-only bearer tokens of the API.'),
  entry('API_ALLOW_REMOTE', 'api.auth.allowRemote', BOOL, parseBoolean, 'With API_AUTH=off: answer non-loopback clients too (no credentials).'),
  entry('API_CORS_ORIGINS', 'api.cors.origins', 'comma list', parseList(parseString), 'Allowed CORS origins (`*` for any).'),
  // webhook (src/backends/webhook/; ocpp-cs names first)
  entry('WEBHOOK_URL', 'webhook.url', 'URL', parseString, 'Webhook receiver (ocpp-cs name); turns the webhook on unless `webhook.enable` is false.'),
  entry('WEBHOOK_ENABLE', 'webhook.enable', `${BOOL}|null`, parseNullable(parseBoolean), 'Webhook on, off, or `null` = on when a URL is set.'),
  entry('WEBHOOK_AUTH', 'webhook.authorization', WEBHOOK_AUTH_MODES.join('|'), parseEnum(WEBHOOK_AUTH_MODES), 'Webhook authorization (ocpp-cs name).'),
  entry('WEBHOOK_USERNAME', 'webhook.username', 'string', parseString, 'Webhook Basic user (ocpp-cs name).'),
  entry('WEBHOOK_PASSWORD', 'webhook.password', 'string', parseString, 'Webhook Basic password (ocpp-cs name).'),
  entry('WEBHOOK_TOKEN', 'webhook.token', 'string', parseString, 'Webhook Bearer token (ocpp-cs name).'),
  entry('WEBHOOK_TIMEOUT_MS', 'webhook.timeoutMs', INT, parseInteger, 'Webhook request timeout.'),
  entry('WEBHOOK_CONTENT_TYPE', 'webhook.contentType', WEBHOOK_CONTENT_TYPES.join('|'), parseEnum(WEBHOOK_CONTENT_TYPES), 'Webhook body format.'),
  entry('WEBHOOK_ON_FAILURE', 'webhook.onFailure', WEBHOOK_ON_FAILURE.join('|'), parseEnum(WEBHOOK_ON_FAILURE), 'What stations get when the webhook fails.'),
  entry('WEBHOOK_CONNECTIONS', 'webhook.pool.connections', INT, parseInteger, 'Keep-alive connections per thread.'),
  entry('WEBHOOK_BATCH_MAX_SIZE', 'webhook.batch.maxSize', INT, parseInteger, 'Requests per POST (1 = ocpp-cs format).'),
  entry('WEBHOOK_BATCH_MAX_DELAY_MS', 'webhook.batch.maxDelayMs', INT, parseInteger, 'Longest wait for a batch to fill.'),
  entry('WEBHOOK_SPOOL_MAX_BYTES', 'webhook.spool.maxBytes', INT, parseInteger, 'Spool size bound.'),
  entry('WEBHOOK_EVENTS', 'webhook.events.enable', BOOL, parseBoolean, 'Post events.'),
  entry('WEBHOOK_EVENTS_URL', 'webhook.events.url', 'URL|null', parseNullable(parseString), 'Events receiver (null = webhook.url).'),
  entry('WEBHOOK_SIGNATURE_SECRET', 'webhook.signature.secret', 'string|null', parseNullable(parseString), 'HMAC-SHA256 signing secret.'),
  entry('METRICS', 'metrics.enable', BOOL, parseBoolean, 'Per-message metrics and /metrics.'),
  entry('DATA_DIR', 'dataDir', 'path', parseString, 'State folder.'),
  entry('BACKEND', 'backend', BACKENDS.join('|'), parseEnum(BACKENDS), 'What answers station CALLs.'),
  entry('PG_FUNCTION_URL', 'pgFunction.url', 'URL', parseString, 'Database of the ocpp.Parse function.'),
  // cluster (src/cluster/)
  entry('CLUSTER', 'cluster.enable', BOOL, parseBoolean, 'Join the cluster over NATS.'),
  entry('NODE_ID', 'cluster.nodeId', 'string', parseString, 'This node\'s name in the cluster.'),
  entry('NATS_URL', 'cluster.nats.servers', 'comma list', parseList(parseString), 'NATS servers.'),
  entry('NATS_USER', 'cluster.nats.user', 'string', parseString, 'NATS user.'),
  entry('NATS_PASSWORD', 'cluster.nats.password', 'string', parseString, 'NATS password.'),
  entry('NATS_TOKEN', 'cluster.nats.token', 'string', parseString, 'NATS token.'),
  entry('NATS_CREDS', 'cluster.nats.credsFile', 'path', parseString, 'NATS credentials file.'),
  entry('CLUSTER_EVENTS', 'cluster.events.enable', BOOL, parseBoolean, 'Publish the fleet\'s events to JetStream.'),
  entry('NATS_ON_FAILURE', 'nats.onFailure', NATS_ON_FAILURE.join('|'), parseEnum(NATS_ON_FAILURE), 'NATS backend failure mode.'),
  // flexibility (src/flex/): the key-encryption key and the operator key are secrets, best given by env
  entry('FLEX', 'flexibility.enable', BOOL, parseBoolean, 'Run flexibility prequalification.'),
  entry('OCPP_ROUTER_FLEX_KEK', 'flexibility.keyEncryptionKey', 'string', parseString, 'Key-encryption key of the asset keys (`FLEX_KEK` wins if both are set).'),
  entry('FLEX_KEK', 'flexibility.keyEncryptionKey', 'string', parseString, 'Key-encryption key of the asset keys.'),
  entry('FLEX_RPC_URL', 'flexibility.chain.rpcUrl', 'URL', parseString, 'JSON-RPC endpoint of the DID registry\'s chain.'),
  entry('FLEX_REGISTRY_ADDRESS', 'flexibility.chain.registryAddress', '0x address', parseString, 'Address of the ERC-1056 DID registry.'),
  entry('FLEX_TRUSTED_ISSUERS', 'flexibility.trustedIssuers', 'comma list', parseList(parseString), 'DIDs of the issuers whose claims are accepted.'),
  entry('FLEX_OPERATOR_KEY', 'flexibility.chain.operatorPrivateKey', 'hex', parseString, 'Private key of the operator that relays DID registry writes.'),
  // store (src/store/)
  entry('STORE_ENGINE', 'store.engine', STORE_ENGINES.join('|'), parseEnum(STORE_ENGINES), 'Store engine.'),
  entry('DATABASE_URL', 'store.postgres.url', 'URL', parseString, 'PostgreSQL of the store (the usual name).'),
  entry('SQLITE_SYNCHRONOUS', 'store.sqlite.synchronous', SQLITE_SYNCHRONOUS.join('|'), parseEnum(SQLITE_SYNCHRONOUS), 'SQLite durability.'),
  entry('STORE_ON_FAILURE', 'store.onFailure', STORE_ON_FAILURE.join('|'), parseEnum(STORE_ON_FAILURE), 'When the database fails: error or spool.'),
  entry('STORE_RETENTION_DAYS', 'store.retentionDays', INT, parseInteger, 'Days of meter values and history kept.'),
  entry('STORE_COMMIT_DELAY_MS', 'store.commitDelayMs', INT, parseInteger, 'Longest wait of a write for others before its commit starts.'),
  entry('LOG_LEVEL', 'log.level', LOG_LEVELS.join('|'), parseEnum(LOG_LEVELS), 'Log level.'),
]);

export interface EnvOverride {
  readonly name: string;
  readonly path: string;
  readonly value: unknown;
}

export interface EnvProblem {
  readonly name: string;
  readonly path: string;
  readonly message: string;
}

/** Reads every table entry from `env`; returns the values to apply (in table order) and every bad value. */
export function readEnv(env: Record<string, string | undefined>): { overrides: EnvOverride[]; problems: EnvProblem[] } {
  const overrides: EnvOverride[] = [];
  const problems: EnvProblem[] = [];
  for (const e of ENV_TABLE) {
    const raw = env[e.name];
    if (raw === undefined) continue;
    const trimmed = raw.trim();
    if (trimmed === '') continue;
    const result = e.parse(trimmed);
    if (result.ok) overrides.push({ name: e.name, path: e.path, value: result.value });
    else problems.push({ name: e.name, path: e.path, message: result.message });
  }
  return { overrides, problems };
}

/** Env names that set a config path (for the docs). */
export function envNamesFor(path: string): string[] {
  return ENV_TABLE.filter((e) => e.path === path).map((e) => e.name);
}
