import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ErrorCode, RouterError } from '../src/protocol/errors.js';
import {
  describeConfig,
  formatConfigErrors,
  loadConfig,
  packageRoot,
  schemaDefaults,
  type ConfigProblem,
  type ConfigReadDetails,
} from '../src/config/load.js';
import { ENV_TABLE, readEnv } from '../src/config/env.js';
import { configSchema, type SchemaNode } from '../src/config/schema.js';
import { hashPassword, isPasswordHash, parsePasswordFile, verifyPassword } from '../src/config/password-hash.js';

function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    assert.notEqual(parent, dir, 'package.json not found');
    dir = parent;
  }
  return dir;
}

function tempDir(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'ocpp-router-config-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function getPath(object: unknown, path: string): unknown {
  return path.split('.').reduce<unknown>((node, key) => (node as Record<string, unknown>)[key], object);
}

/** Runs `fn`, expects a RouterError with `code`, returns it. */
function expectError(fn: () => unknown, code: string): RouterError {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof RouterError, `expected RouterError, got ${String(error)}`);
    assert.equal(error.code, code);
    return error;
  }
  assert.fail(`expected ${code}`);
}

function problemsOf(fn: () => unknown): ConfigProblem[] {
  const error = expectError(fn, ErrorCode.CONFIG_INVALID);
  assert.ok(Array.isArray(error.details));
  return error.details as ConfigProblem[];
}

function hasProblem(problems: ConfigProblem[], path: string, source?: string): boolean {
  return problems.some((p) => p.path === path && (source === undefined || p.source === source));
}

// ─── defaults ───────────────────────────────────────────────────────────────────────────────────────

test('defaults: no file, no env gives the documented defaults', (t) => {
  const cwd = tempDir(t);
  const config = loadConfig({ env: {}, cwd });
  assert.deepEqual(config.server, { listen: '0.0.0.0', port: 9220, plain: true, workers: 0, shutdownTimeoutMs: 10000 });
  assert.deepEqual(config.ocpp, {
    path: '/ocpp',
    subprotocols: ['ocpp2.1', 'ocpp2.0.1', 'ocpp1.6'],
    defaultVersion: null,
    maxIdentityLength: 48,
    maxFrameBytes: 65536,
    maxPayloadDepth: 32,
    maxBadMessagesInRow: 10,
    inboundQueueMax: 100,
    outboundQueueMax: 100,
    callTimeoutMs: 30000,
    pingIntervalS: 60,
    rejectCallsBeforeAccepted: true,
    quirks: { dateTimeWithoutTimezone: false, ignoreAdditionalProperties: false },
  });
  assert.deepEqual(config.security, { defaultProfile: 1, profiles: {}, basicAuth: { enable: false, passwords: {}, file: null } });
  assert.deepEqual(config.admission, { maxStations: 100000, acceptRatePerS: 0, acceptBurst: 100, retryAfterS: 5 });
  assert.deepEqual(config.responder, {
    bootStatus: 'Accepted',
    heartbeatIntervalS: 300,
    authorize: { policy: 'acceptAll', idTags: [] },
    dataTransfer: { status: 'UnknownVendorId' },
  });
  assert.equal(config.dataDir, resolve(cwd, 'data'));
  assert.deepEqual(config.log, { level: 'info' });
});

test('conf/default.json holds every key with the schema default', () => {
  const file = join(repoRoot(), 'conf', 'default.json');
  assert.deepEqual(JSON.parse(readFileSync(file, 'utf8')), schemaDefaults());
  assert.equal(packageRoot(), repoRoot());
});

test('schema: every key has a default and a description; every fixed object forbids other keys', () => {
  const walk = (node: SchemaNode, path: string): void => {
    assert.ok(node.description, `${path || '(root)'} has a description`);
    if (path !== '') assert.ok('default' in node, `${path} has a default`);
    if (node.properties) {
      assert.equal(node.additionalProperties, false, `${path || '(root)'} forbids unknown keys`);
      for (const [key, child] of Object.entries(node.properties)) walk(child, path === '' ? key : `${path}.${key}`);
    }
  };
  walk(configSchema, '');
});

// ─── files ──────────────────────────────────────────────────────────────────────────────────────────

test('JSON file: values merge over defaults; relative file resolves against cwd', (t) => {
  const cwd = tempDir(t);
  writeFileSync(join(cwd, 'x.json'), JSON.stringify({ server: { port: 1234 }, ocpp: { quirks: { dateTimeWithoutTimezone: true } } }));
  const config = loadConfig({ file: 'x.json', env: {}, cwd });
  assert.equal(config.server.port, 1234);
  assert.equal(config.server.listen, '0.0.0.0');
  assert.equal(config.ocpp.quirks.dateTimeWithoutTimezone, true);
  assert.equal(config.ocpp.quirks.ignoreAdditionalProperties, false);
});

test('YAML file (.yaml and .yml)', (t) => {
  const cwd = tempDir(t);
  const yaml = [
    '# comment',
    'server:',
    '  port: 4321',
    'ocpp:',
    '  subprotocols: [ocpp1.6]',
    '  defaultVersion: ocpp1.6',
    'responder:',
    '  authorize:',
    '    policy: list',
    '    idTags:',
    '      - TAG1',
    '      - TAG2',
    'log: { level: debug }',
    '',
  ].join('\n');
  for (const name of ['c.yaml', 'c.yml']) {
    writeFileSync(join(cwd, name), yaml);
    const config = loadConfig({ file: join(cwd, name), env: {} });
    assert.equal(config.server.port, 4321);
    assert.deepEqual(config.ocpp.subprotocols, ['ocpp1.6']);
    assert.equal(config.ocpp.defaultVersion, 'ocpp1.6');
    assert.deepEqual(config.responder.authorize, { policy: 'list', idTags: ['TAG1', 'TAG2'] });
    assert.equal(config.log.level, 'debug');
  }
  writeFileSync(join(cwd, 'empty.yaml'), '# nothing\n');
  assert.deepEqual(loadConfig({ file: join(cwd, 'empty.yaml'), env: {}, cwd }), loadConfig({ env: {}, cwd }));
});

test('CONFIG_READ: missing file, bad JSON and bad YAML with positions', (t) => {
  const cwd = tempDir(t);
  const missing = expectError(() => loadConfig({ file: 'nope.json', env: {}, cwd }), ErrorCode.CONFIG_READ);
  assert.equal((missing.details as ConfigReadDetails).file, 'nope.json');

  writeFileSync(join(cwd, 'bad.json'), '{\n  "server": {\n    "port": 1,\n  }\n}\n');
  const bad = expectError(() => loadConfig({ file: 'bad.json', env: {}, cwd }), ErrorCode.CONFIG_READ);
  const details = bad.details as ConfigReadDetails;
  assert.equal(details.file, 'bad.json');
  assert.equal(details.line, 4);
  assert.equal(typeof details.column, 'number');

  writeFileSync(join(cwd, 'bad.yaml'), 'server:\n  port: 1\n   listen: [\n');
  const badYaml = expectError(() => loadConfig({ file: 'bad.yaml', env: {}, cwd }), ErrorCode.CONFIG_READ);
  assert.equal(typeof (badYaml.details as ConfigReadDetails).line, 'number');

  writeFileSync(join(cwd, 'dup.yaml'), 'server:\n  port: 1\n  port: 2\n');
  const dup = expectError(() => loadConfig({ file: 'dup.yaml', env: {}, cwd }), ErrorCode.CONFIG_READ);
  assert.equal((dup.details as ConfigReadDetails).line, 3);
});

test('a document that is not an object is CONFIG_INVALID at (root)', (t) => {
  const cwd = tempDir(t);
  writeFileSync(join(cwd, 'a.json'), '[1, 2]');
  const problems = problemsOf(() => loadConfig({ file: 'a.json', env: {}, cwd }));
  assert.ok(hasProblem(problems, '(root)', 'file a.json'));
});

// ─── env ────────────────────────────────────────────────────────────────────────────────────────────

/** A valid raw value and the config value it gives, for every table entry. */
const FLEX_REGISTRY = '0xdca7ef03e98e0dc2b855be647c39abe984fcf21b';
const FLEX_ISSUER = 'did:ethr:volta:0x1111111111111111111111111111111111111111';
const ENV_SAMPLES: Record<string, [string, unknown]> = {
  LISTEN: ['127.0.0.1', '127.0.0.1'],
  PORT: ['8080', 8080],
  METRICS: ['off', false],
  WORKER_PROCESSES: ['3', 3],
  WORKERS: ['4', 4],
  SHUTDOWN_TIMEOUT_MS: ['2500', 2500],
  OCPP_PATH: ['/steve/websocket', '/steve/websocket'],
  OCPP_SUBPROTOCOLS: ['ocpp1.6, OCPP2.0.1', ['ocpp1.6', 'ocpp2.0.1']],
  OCPP_DEFAULT_VERSION: ['ocpp2.1', 'ocpp2.1'],
  MAX_IDENTITY_LENGTH: ['20', 20],
  MAX_FRAME_BYTES: ['1048576', 1048576],
  MAX_PAYLOAD_DEPTH: ['64', 64],
  MAX_BAD_MESSAGES_IN_ROW: ['3', 3],
  INBOUND_QUEUE_MAX: ['7', 7],
  OUTBOUND_QUEUE_MAX: ['8', 8],
  CALL_TIMEOUT_MS: ['5000', 5000],
  PING_INTERVAL_S: ['0', 0],
  REJECT_CALLS_BEFORE_ACCEPTED: ['no', false],
  QUIRK_DATETIME_WITHOUT_TIMEZONE: ['on', true],
  QUIRK_IGNORE_ADDITIONAL_PROPERTIES: ['TRUE', true],
  BASIC_AUTH: ['1', true],
  PLAIN: ['off', false],
  TLS: ['yes', true],
  TLS_PORT: ['9443', 9443],
  TLS_CERT_FILE: ['/etc/ocpp/tls.crt', '/etc/ocpp/tls.crt'],
  TLS_KEY_FILE: ['/etc/ocpp/tls.key', '/etc/ocpp/tls.key'],
  TLS_CLIENT_CA_FILE: ['/etc/ocpp/stations-ca.pem', '/etc/ocpp/stations-ca.pem'],
  SECURITY_PROFILE: ['2', 2],
  TLS_FRONT: ['on', true],
  TLS_FRONT_PORT: ['9444', 9444],
  BASIC_AUTH_FILE: ['/etc/ocpp/passwords', '/etc/ocpp/passwords'],
  MAX_STATIONS: ['500', 500],
  ACCEPT_RATE_PER_S: ['250', 250],
  ACCEPT_BURST: ['50', 50],
  RETRY_AFTER_S: ['30', 30],
  // limits (docs/limits.md)
  MESSAGE_RATE_PER_S: ['50', 50],
  MESSAGE_BURST: ['500', 500],
  MAX_RATE_LIMITED: ['200', 200],
  MAX_STATIONS_PER_ADDRESS: ['16', 16],
  UPGRADE_TIMEOUT_MS: ['3000', 3000],
  BOOT_TIMEOUT_S: ['300', 300],
  BOOT_STATUS: ['pending', 'Pending'],
  HEARTBEAT_INTERVAL_S: ['60', 60],
  AUTHORIZE_POLICY: ['list', 'list'],
  AUTHORIZE_ID_TAGS: ['A, B,,C', ['A', 'B', 'C']],
  DATA_TRANSFER_STATUS: ['Accepted', 'Accepted'],
  DATA_DIR: ['/var/lib/ocpp-router', '/var/lib/ocpp-router'],
  LOG_LEVEL: ['DEBUG', 'debug'],
  // api (src/api/)
  API_COMMAND_TIMEOUT_MS: ['15000', 15000],
  API_DOCS: ['off', false],
  API_AUTH: ['Bearer', 'bearer'],
  API_TOKENS: ['0123456789abcdef, fedcba9876543210', ['0123456789abcdef', 'fedcba9876543210']],
  API_READ_TOKENS: ['0123456789abcdef, fedcba9876543210', ['0123456789abcdef', 'fedcba9876543210']],
  API_ALLOW_REMOTE: ['yes', true],
  API_CORS_ORIGINS: ['https://a.example, *', ['https://a.example', '*']],
  // webhook (src/backends/webhook/)
  WEBHOOK_URL: ['http://127.0.0.1:8080/ocpp', 'http://127.0.0.1:8080/ocpp'],
  BACKEND: ['pgFunction', 'pgFunction'],
  PG_FUNCTION_URL: ['postgres://u@db.example/ocpp', 'postgres://u@db.example/ocpp'],
  // store (src/store/)
  STORE_ENGINE: ['postgres', 'postgres'],
  DATABASE_URL: ['postgres://u:p@db.example:5432/ocpp', 'postgres://u:p@db.example:5432/ocpp'],
  SQLITE_SYNCHRONOUS: ['FULL', 'FULL'],
  STORE_ON_FAILURE: ['spool', 'spool'],
  STORE_RETENTION_DAYS: ['30', 30],
  STORE_COMMIT_DELAY_MS: ['20', 20],
  // cluster (src/cluster/)
  CLUSTER: ['yes', true],
  NODE_ID: ['node-a', 'node-a'],
  NATS_URL: ['nats://10.0.0.1:4222, nats://10.0.0.2:4222', ['nats://10.0.0.1:4222', 'nats://10.0.0.2:4222']],
  NATS_USER: ['router', 'router'],
  NATS_PASSWORD: ['s3cret', 's3cret'],
  NATS_TOKEN: ['t0ken', 't0ken'],
  NATS_CREDS: ['/etc/ocpp/router.creds', '/etc/ocpp/router.creds'],
  CLUSTER_EVENTS: ['1', true],
  NATS_ON_FAILURE: ['responder', 'responder'],
  WEBHOOK_ENABLE: ['no', false],
  WEBHOOK_AUTH: ['bearer', 'Bearer'],
  WEBHOOK_USERNAME: ['ops', 'ops'],
  WEBHOOK_PASSWORD: ['s3cret', 's3cret'],
  WEBHOOK_TOKEN: ['tok', 'tok'],
  WEBHOOK_TIMEOUT_MS: ['2500', 2500],
  WEBHOOK_CONTENT_TYPE: ['MsgPack', 'msgpack'],
  WEBHOOK_ON_FAILURE: ['responder', 'responder'],
  WEBHOOK_CONNECTIONS: ['32', 32],
  WEBHOOK_BATCH_MAX_SIZE: ['64', 64],
  WEBHOOK_BATCH_MAX_DELAY_MS: ['3', 3],
  WEBHOOK_SPOOL_MAX_BYTES: ['10485760', 10485760],
  WEBHOOK_EVENTS: ['on', true],
  WEBHOOK_EVENTS_URL: ['https://events.example/hook', 'https://events.example/hook'],
  WEBHOOK_SIGNATURE_SECRET: ['k3y', 'k3y'],
  // flexibility (src/flex/)
  FLEX: ['on', true],
  FLEX_KEK: ['a-key-encryption-key', 'a-key-encryption-key'],
  OCPP_ROUTER_FLEX_KEK: ['another-encryption-key', 'another-encryption-key'],
  FLEX_RPC_URL: ['http://127.0.0.1:8545', 'http://127.0.0.1:8545'],
  FLEX_REGISTRY_ADDRESS: [FLEX_REGISTRY, FLEX_REGISTRY],
  FLEX_TRUSTED_ISSUERS: [FLEX_ISSUER, [FLEX_ISSUER]],
  FLEX_OPERATOR_KEY: [`0x${'ab'.repeat(32)}`, `0x${'ab'.repeat(32)}`],
};

const ENV_COMPANIONS: Record<string, Record<string, string>> = {
  BASIC_AUTH: { BASIC_AUTH_FILE: 'passwords.txt' },
  // TLS needs a certificate and key that load (written by the test); plain off needs TLS on.
  TLS: { TLS_CERT_FILE: 'tls.crt', TLS_KEY_FILE: 'tls.key' },
  PLAIN: { TLS: '1', TLS_CERT_FILE: 'tls.crt', TLS_KEY_FILE: 'tls.key' },
  TLS_FRONT: { TLS: '1', TLS_CERT_FILE: 'tls.crt', TLS_KEY_FILE: 'tls.key', TLS_CLIENT_CA_FILE: 'tls.crt' },
  API_AUTH: { API_TOKENS: '0123456789abcdef' },
  WEBHOOK_AUTH: { WEBHOOK_TOKEN: 'tok' },
  WEBHOOK_EVENTS: { WEBHOOK_URL: 'http://127.0.0.1:8080/ocpp' },
  FLEX: { FLEX_KEK: 'a-key-encryption-key', FLEX_RPC_URL: 'http://127.0.0.1:8545', FLEX_REGISTRY_ADDRESS: FLEX_REGISTRY, FLEX_TRUSTED_ISSUERS: FLEX_ISSUER, FLEX_OPERATOR_KEY: `0x${'ab'.repeat(32)}` },
};

test('env: every table entry sets its path', (t) => {
  const cwd = tempDir(t);
  assert.deepEqual(Object.keys(ENV_SAMPLES).sort(), ENV_TABLE.map((e) => e.name).sort(), 'a sample per table entry');
  execFileSync('/usr/bin/openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', 'tls.key', '-out', 'tls.crt', '-days', '2', '-subj', '/CN=localhost'], { cwd, stdio: 'ignore' });
  for (const entry of ENV_TABLE) {
    const [raw, expected] = ENV_SAMPLES[entry.name]!;
    const env: Record<string, string> = { [entry.name]: raw };
    // Entries that the rules across keys pair with another one (an auth mode needs its credentials).
    Object.assign(env, ENV_COMPANIONS[entry.name] ?? {});
    const config = loadConfig({ env, cwd });
    assert.deepEqual(getPath(config, entry.path), expected, entry.name);
  }
});

test('env: precedence file < env < overrides; WORKERS over WORKER_PROCESSES; empty counts as unset', (t) => {
  const cwd = tempDir(t);
  writeFileSync(join(cwd, 'c.json'), JSON.stringify({ server: { port: 1000, listen: '::' } }));
  const config = loadConfig({
    file: 'c.json',
    cwd,
    env: { PORT: '2000', LISTEN: '  ', WORKER_PROCESSES: '2', WORKERS: '5', CALL_TIMEOUT_MS: '100' },
    overrides: { ocpp: { callTimeoutMs: 200 } },
  });
  assert.equal(config.server.port, 2000);
  assert.equal(config.server.listen, '::');
  assert.equal(config.server.workers, 5);
  assert.equal(config.ocpp.callTimeoutMs, 200);
  assert.equal(config.ocpp.defaultVersion, null);
  assert.equal(loadConfig({ cwd, env: { OCPP_DEFAULT_VERSION: 'none' } }).ocpp.defaultVersion, null);
});

test('env: bad values are reported with the variable as source, all at once', (t) => {
  const cwd = tempDir(t);
  const problems = problemsOf(() =>
    loadConfig({
      cwd,
      env: {
        PORT: '70000',
        WORKERS: 'many',
        LOG_LEVEL: 'loud',
        BASIC_AUTH: 'maybe',
        OCPP_SUBPROTOCOLS: 'ocpp1.6,ocpp1.5',
        MAX_FRAME_BYTES: '12',
        CALL_TIMEOUT_MS: '0',
        OCPP_PATH: 'ocpp/',
      },
    }),
  );
  assert.ok(hasProblem(problems, 'server.port', 'env PORT'));
  assert.ok(hasProblem(problems, 'server.workers', 'env WORKERS'));
  assert.ok(hasProblem(problems, 'log.level', 'env LOG_LEVEL'));
  assert.ok(hasProblem(problems, 'security.basicAuth.enable', 'env BASIC_AUTH'));
  assert.ok(hasProblem(problems, 'ocpp.subprotocols', 'env OCPP_SUBPROTOCOLS'));
  assert.ok(hasProblem(problems, 'ocpp.maxFrameBytes', 'env MAX_FRAME_BYTES'));
  assert.ok(hasProblem(problems, 'ocpp.callTimeoutMs', 'env CALL_TIMEOUT_MS'));
  assert.ok(hasProblem(problems, 'ocpp.path', 'env OCPP_PATH'));
  assert.equal(problems.length, 8);
});

test('readEnv ignores variables outside the table', () => {
  const { overrides, problems } = readEnv({ HOME: '/root', PATH: '/bin', PORT: '1' });
  assert.deepEqual(overrides, [{ name: 'PORT', path: 'server.port', value: 1 }]);
  assert.deepEqual(problems, []);
});

// ─── validation ─────────────────────────────────────────────────────────────────────────────────────

test('unknown keys are errors naming the key, at any depth', (t) => {
  const cwd = tempDir(t);
  writeFileSync(
    join(cwd, 'u.json'),
    JSON.stringify({ sever: {}, ocpp: { callTimeoutMS: 1, quirks: { x: true } }, responder: { authorize: { idtags: [] } } }),
  );
  const problems = problemsOf(() => loadConfig({ file: 'u.json', env: {}, cwd }));
  for (const path of ['sever', 'ocpp.callTimeoutMS', 'ocpp.quirks.x', 'responder.authorize.idtags']) {
    assert.ok(hasProblem(problems, path, 'file u.json'), path);
  }
  assert.equal(problems.length, 4);
});

test('several errors in file, env and overrides are reported at once', (t) => {
  const cwd = tempDir(t);
  writeFileSync(
    join(cwd, 'm.json'),
    JSON.stringify({
      server: { port: -1, workers: 65 },
      ocpp: { maxFrameBytes: 100, subprotocols: [], defaultVersion: 'ocpp3' },
      admission: { acceptBurst: 0 },
      responder: { bootStatus: 'Maybe' },
      dataDir: '',
    }),
  );
  const error = expectError(
    () => loadConfig({ file: 'm.json', cwd, env: { PING_INTERVAL_S: 'x' }, overrides: { log: { level: 'verbose' } } }),
    ErrorCode.CONFIG_INVALID,
  );
  const problems = error.details as ConfigProblem[];
  const expected: [string, string][] = [
    ['server.port', 'file m.json'],
    ['server.workers', 'file m.json'],
    ['ocpp.maxFrameBytes', 'file m.json'],
    ['ocpp.subprotocols', 'file m.json'],
    ['ocpp.defaultVersion', 'file m.json'],
    ['admission.acceptBurst', 'file m.json'],
    ['responder.bootStatus', 'file m.json'],
    ['dataDir', 'file m.json'],
    ['ocpp.pingIntervalS', 'env PING_INTERVAL_S'],
    ['log.level', 'overrides'],
  ];
  for (const [path, source] of expected) assert.ok(hasProblem(problems, path, source), `${path} from ${source}`);
  // The message has one line per problem (after the heading).
  assert.equal(error.message.split('\n').length, problems.length + 1);
  // formatConfigErrors works on the error and on its serialized form (as after postMessage).
  const text = formatConfigErrors(error);
  for (const [path] of expected) assert.ok(text.includes(path));
  assert.equal(formatConfigErrors(JSON.parse(JSON.stringify(error.toJSON()))), text);
});

test('wrong types are reported once per value', (t) => {
  const cwd = tempDir(t);
  const problems = problemsOf(() =>
    loadConfig({ cwd, env: {}, overrides: { server: { port: '80' }, ocpp: { defaultVersion: 5, quirks: 'no' } } }),
  );
  assert.deepEqual(problems.map((p) => p.path).sort(), ['ocpp.defaultVersion', 'ocpp.quirks', 'server.port']);
});

test('rules across keys: defaultVersion within subprotocols; basic auth needs passwords', (t) => {
  const cwd = tempDir(t);
  const problems = problemsOf(() =>
    loadConfig({
      cwd,
      env: { BASIC_AUTH: 'true' },
      overrides: { ocpp: { subprotocols: ['ocpp1.6'], defaultVersion: 'ocpp2.0.1' } },
    }),
  );
  assert.ok(hasProblem(problems, 'ocpp.defaultVersion', 'overrides'));
  assert.ok(hasProblem(problems, 'security.basicAuth.enable', 'env BASIC_AUTH'));
});

test('rules across keys: an auth mode or a webhook without the credentials or URL it needs, all at once', async (t) => {
  const cwd = tempDir(t);
  const problems = problemsOf(() =>
    loadConfig({
      cwd,
      env: {},
      overrides: { api: { auth: { mode: 'bearer' } }, webhook: { enable: true, authorization: 'Basic', events: { enable: true } } },
    }),
  );
  assert.deepEqual(problems.map((p) => p.path).sort(), ['api.auth.tokens', 'webhook.events.url', 'webhook.url', 'webhook.username']);
  assert.match(problems.find((p) => p.path === 'api.auth.tokens')!.message, /every request would get 401/);
  const basic = problemsOf(() => loadConfig({ cwd, env: {}, overrides: { api: { auth: { mode: 'basic' } }, webhook: { url: 'http://127.0.0.1:1/x', authorization: 'Bearer' } } }));
  assert.deepEqual(basic.map((p) => p.path).sort(), ['api.auth.users', 'webhook.token']);
  // With what they need, both load; the check-config subcommand says the same (tested in cli.test.ts).
  const hash = await hashPassword('s3cret-pass');
  loadConfig({ cwd, env: {}, overrides: { api: { auth: { mode: 'bearer', tokens: ['t'.repeat(16)] } } } });
  loadConfig({ cwd, env: {}, overrides: { api: { auth: { mode: 'basic', users: { ops: hash } } }, webhook: { url: 'http://127.0.0.1:1/x', authorization: 'Basic', username: 'u' } } });
});

test('passwords must be scrypt hashes; identities without ":"', async (t) => {
  const cwd = tempDir(t);
  const hash = await hashPassword('secret');
  const config = loadConfig({ cwd, env: {}, overrides: { security: { basicAuth: { enable: true, passwords: { CP1: hash } } } } });
  assert.equal(config.security.basicAuth.passwords['CP1'], hash);
  const problems = problemsOf(() =>
    loadConfig({
      cwd,
      env: {},
      overrides: { security: { basicAuth: { passwords: { CP1: 'secret', 'a:b': hash, CP2: hash.replace('$16384$', '$16383$') } } } },
    }),
  );
  assert.ok(hasProblem(problems, 'security.basicAuth.passwords.CP2', 'overrides'));
  assert.ok(hasProblem(problems, 'security.basicAuth.passwords.CP1', 'overrides'));
  assert.ok(hasProblem(problems, 'security.basicAuth.passwords.a:b', 'overrides'));
});

test('the result is deep-frozen', (t) => {
  const cwd = tempDir(t);
  const config = loadConfig({ env: {}, cwd });
  const check = (value: unknown, path: string): void => {
    if (value === null || typeof value !== 'object') return;
    assert.ok(Object.isFrozen(value), `${path} frozen`);
    for (const [k, v] of Object.entries(value)) check(v, `${path}.${k}`);
  };
  check(config, 'config');
  assert.throws(() => {
    (config.server as { port: number }).port = 1;
  }, TypeError);
  assert.throws(() => {
    (config.ocpp.subprotocols as string[]).push('ocpp1.6');
  }, TypeError);
});

test('the defaults are not shared between loads', (t) => {
  const cwd = tempDir(t);
  const a = loadConfig({ env: {}, cwd });
  const b = loadConfig({ env: { AUTHORIZE_ID_TAGS: 'X' }, cwd });
  assert.deepEqual(a.responder.authorize.idTags, []);
  assert.deepEqual(b.responder.authorize.idTags, ['X']);
  assert.notEqual(a.ocpp.subprotocols, b.ocpp.subprotocols);
});

// ─── docs ───────────────────────────────────────────────────────────────────────────────────────────

test('docs/configuration.md lists every key and every env variable', () => {
  const doc = readFileSync(join(repoRoot(), 'docs', 'configuration.md'), 'utf8');
  for (const key of describeConfig()) assert.ok(doc.includes(`\`${key.path}\``), key.path);
  for (const entry of ENV_TABLE) assert.ok(doc.includes(`\`${entry.name}\``), entry.name);
});

// ─── password hashes ────────────────────────────────────────────────────────────────────────────────

test('password hash round-trip', async () => {
  const stored = await hashPassword('p@ss wörd');
  assert.match(stored, /^scrypt\$16384\$8\$1\$[A-Za-z0-9+/]+={0,2}\$[A-Za-z0-9+/]+={0,2}$/);
  assert.ok(isPasswordHash(stored));
  assert.equal(await verifyPassword('p@ss wörd', stored), true);
  assert.equal(await verifyPassword('p@ss word', stored), false);
  assert.equal(await verifyPassword('', stored), false);
  assert.notEqual(await hashPassword('p@ss wörd'), stored, 'fresh salt each time');
});

test('malformed hashes verify as false and never throw', async () => {
  const good = await hashPassword('x');
  const [, , , , salt, key] = good.split('$');
  const malformed: unknown[] = [
    undefined,
    null,
    42,
    {},
    '',
    'x',
    'scrypt',
    'bcrypt$16384$8$1$' + salt + '$' + key,
    `scrypt$16384$8$1$${salt}`,
    `scrypt$16384$8$1$${salt}$${key}$extra`,
    `scrypt$16383$8$1$${salt}$${key}`, // N not a power of two
    `scrypt$1$8$1$${salt}$${key}`,
    `scrypt$2097152$8$1$${salt}$${key}`, // N too large
    `scrypt$16384$0$1$${salt}$${key}`,
    `scrypt$16384$8$0$${salt}$${key}`,
    `scrypt$16384$999$1$${salt}$${key}`,
    `scrypt$16384$8$1$!!!$${key}`,
    `scrypt$16384$8$1$${salt}$`,
    `scrypt$16384$8$1$${salt}$AAAA`, // key too short
    `scrypt$-16384$8$1$${salt}$${key}`,
    `scrypt$1e4$8$1$${salt}$${key}`,
    'scrypt$' + 'A'.repeat(2000),
  ];
  for (const stored of malformed) {
    assert.equal(isPasswordHash(stored), false, String(stored));
    assert.equal(await verifyPassword('x', stored), false, String(stored));
  }
  assert.equal(await verifyPassword(undefined, good), false);
  assert.equal(await verifyPassword(123, good), false);
});

test('parsePasswordFile: entries, comments, blanks and problems', async () => {
  const h1 = await hashPassword('one');
  const h2 = await hashPassword('two');
  const text = [
    '# stations',
    '',
    `CP1:${h1}`,
    `  CP2 : ${h2}  `,
    'no colon here',
    ':' + h1,
    'CP3:plain',
    `CP1:${h2}`,
    '\r',
  ].join('\n');
  const { entries, problems } = parsePasswordFile(text);
  assert.deepEqual(entries, { CP1: h2, CP2: h2 });
  assert.equal(problems.length, 4);
  assert.ok(problems[0]!.startsWith('line 5:'));
  assert.ok(problems[1]!.startsWith('line 6:'));
  assert.ok(problems[2]!.startsWith('line 7:'));
  assert.ok(problems[3]!.startsWith('line 8:'));
  assert.equal(await verifyPassword('two', entries['CP2']), true);
  assert.deepEqual(parsePasswordFile(''), { entries: {}, problems: [] });
});

test('flexibility.enable without its settings: every missing one listed at once', () => {
  assert.throws(
    () => loadConfig({ env: {}, overrides: { flexibility: { enable: true, issuer: { deliver: 'http' } } } }),
    (error: RouterError) => {
      const paths = (error.details as ConfigProblem[]).map((p) => p.path).sort();
      assert.deepEqual(paths, ['flexibility.chain.operatorPrivateKey', 'flexibility.chain.registryAddress', 'flexibility.chain.rpcUrl', 'flexibility.issuer.url', 'flexibility.keyEncryptionKey', 'flexibility.trustedIssuers']);
      return true;
    },
  );
  assert.throws(() => loadConfig({ env: { FLEX_KEK: 'short' } }), /flexibility\.keyEncryptionKey/);
});
