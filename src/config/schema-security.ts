/**
 * The security part of the configuration schema (src/config/schema.ts): the TLS listener, station authentication
 * and security profiles (docs/security.md), and the limits per station and per source address (docs/limits.md).
 */
import { PASSWORD_HASH_PATTERN, bool, int, object, type SchemaNode } from './schema-nodes.js';

export const tlsSchema: SchemaNode = object('TLS listener (`wss://` for stations, `https://` for the API and UI) beside or instead of the plain one (docs/security.md).', {
  enable: bool(false, 'Serve TLS on `tls.port` (every shard, SO_REUSEPORT as the plain port). Needs `certFile` and `keyFile`.'),
  port: int(0, 65535, 9221, 'TCP port of the TLS listener. 0 picks a free port once, in the main thread.'),
  certFile: {
    type: ['string', 'null'],
    minLength: 1,
    default: null,
    description: 'PEM server certificate, optionally followed by its intermediate chain (leaf first). Read at start and on HUP; relative paths are resolved against the working directory.',
  },
  keyFile: {
    type: ['string', 'null'],
    minLength: 1,
    default: null,
    description: 'PEM private key of `certFile`.',
  },
  passphrase: {
    type: ['string', 'null'],
    minLength: 1,
    default: null,
    description: 'Passphrase of an encrypted `keyFile`.',
  },
  ciphers: {
    type: ['string', 'null'],
    minLength: 1,
    default: null,
    description: 'OpenSSL cipher list for TLS 1.2 (e.g. `ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256`); null keeps OpenSSL\'s defaults. TLS 1.3 suites are not affected. TLS 1.0/1.1 are always refused.',
  },
  dhParamsFile: {
    type: ['string', 'null'],
    minLength: 1,
    default: null,
    description: 'PEM Diffie-Hellman parameters for DHE suites; null: ECDHE only.',
  },
  clientCaFile: {
    type: ['string', 'null'],
    minLength: 1,
    default: null,
    description: 'PEM CA certificate(s) that station client certificates must chain to (security profile 3). Given, the TLS listener asks every client for a certificate and refuses one of another CA at the handshake; a proxy\'s `clientCertHeader` is checked against it too.',
  },
  clientCertHeader: {
    type: ['string', 'null'],
    minLength: 1,
    default: null,
    description: 'Header in which a TLS-terminating proxy passes the verified client certificate (nginx `$ssl_client_escaped_cert`, URL-encoded PEM; or a plain or base64 DER PEM), e.g. `x-ssl-client-cert`. Believed only from `trustedProxies`.',
  },
  trustedProxies: {
    type: 'array',
    items: { type: 'string', minLength: 1, maxLength: 64 },
    uniqueItems: true,
    default: [],
    description: 'Addresses (IPv4 or IPv6 in any text form, e.g. `127.0.0.1`, `::1`; an IPv4 proxy also matches as the IPv4-mapped client of a dual-stack listener) whose `clientCertHeader` is believed. Empty: the header is never believed.',
  },
  front: object('The built-in mTLS front for security profile 3 (src/transport/mtls-front.ts): Node TLS in the main thread, which verifies client certificates and forwards to the plain listener on loopback.', {
    enable: bool(false, 'Serve the mTLS front on `tls.front.port`. Needs `tls.enable` files and `tls.clientCaFile`. Changing it needs a restart.'),
    port: int(0, 65535, 9222, 'TCP port of the mTLS front. 0 picks a free port. Changing it needs a restart.'),
  }),
  subjectField: {
    type: 'string',
    enum: ['CN', 'serialNumber', 'UID', 'O', 'OU'],
    default: 'CN',
    description: 'Field of the client certificate subject that must equal the station identity (security profile 3).',
  },
});

export const securitySchema: SchemaNode = object('Station authentication and OCPP security profiles (docs/security.md).', {
  defaultProfile: int(1, 3, 1, 'Security profile of a station not in `profiles`: 1 Basic auth over any listener, 2 Basic auth over TLS only, 3 TLS with a client certificate whose subject names the station.'),
  profiles: {
    type: 'object',
    default: {},
    propertyNames: { type: 'string', minLength: 1, maxLength: 255 },
    additionalProperties: { type: 'integer', minimum: 1, maximum: 3 },
    description: 'identity → security profile (1, 2 or 3), overriding `defaultProfile`. Read at start and on HUP.',
  },
  basicAuth: object('HTTP Basic auth of stations (OCPP security profile 1).', {
    enable: bool(false, 'Require HTTP Basic auth before the upgrade. Needs `passwords` or `file`.'),
    passwords: {
      type: 'object',
      default: {},
      propertyNames: { type: 'string', minLength: 1, maxLength: 255, pattern: '^[^:]+$' },
      additionalProperties: { type: 'string', pattern: PASSWORD_HASH_PATTERN },
      description: 'identity → password hash (`scrypt$…`, made by `ocpp-router hash-password`). Never plain text.',
    },
    file: {
      type: ['string', 'null'],
      minLength: 1,
      default: null,
      description:
        'Optional file with more `identity:hash` lines (# comments), read at start and on HUP. Relative to the working directory; made absolute.',
    },
  }),
});

export const limitsSchema: SchemaNode = object('Limits per station and per source address against misbehaving stations (docs/limits.md).', {
  messageRatePerS: int(
    0,
    1_000_000,
    2000,
    'Frames a station may send per second (token bucket per connection); over it a CALL gets RpcFrameworkError (1.6: GenericError). A flood breaker, not a shaper: far above any real station. 0 = off.',
    'frames/s',
  ),
  messageBurst: int(1, 10_000_000, 1000, 'Bucket size of the per-station rate limit: frames a station may send at once (a reconnect sends BootNotification, a StatusNotification per connector, MeterValues).', 'frames'),
  maxRateLimited: int(
    0,
    10_000_000,
    1000,
    'Rate-limited frames within `rateLimitWindowS` after which the socket is closed with 1008. 0 = never close.',
    'frames',
  ),
  rateLimitWindowS: int(1, 3600, 10, 'Window over which rate-limited frames are counted toward `maxRateLimited`.', 's'),
  maxStationsPerAddress: int(
    0,
    100_000_000,
    0,
    'Most stations connected at once from one remote address over all shards; over it the upgrade gets 503 with Retry-After. 0 = unlimited (stations behind a carrier NAT or a VPN share one address).',
  ),
  upgradeTimeoutMs: int(
    0,
    600_000,
    10_000,
    'Deadline of an asynchronous upgrade decision (Basic auth); past it the upgrade gets 503 and its slot is freed. 0 = none.',
    'ms',
  ),
  bootTimeoutS: int(
    0,
    86_400,
    0,
    'A connection without an answered BootNotification after this long is closed with 1008. 0 = off (the default: OCPP does not require a BootNotification after a mere reconnect, only after a (re)boot).',
    's',
  ),
});
