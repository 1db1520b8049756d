/**
 * What is wrong with a configuration, in words an operator can act on: the schema's errors mapped to dotted
 * paths (with "did you mean" for unknown keys), and the rules across keys that the schema cannot say (an auth
 * mode without credentials, a webhook without a URL …). `load.ts` reports all of them at once.
 */
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { isPasswordHash } from './password-hash.js';
import { flexProblems } from './schema-flex.js';
import { configSchema, PASSWORD_HASH_PATTERN, type SchemaNode } from './schema.js';

type JsonObject = { [key: string]: unknown };

export function isPlainObject(value: unknown): value is JsonObject {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

let validator: ValidateFunction | undefined;

export function getValidator(): ValidateFunction {
  validator ??= new Ajv({
    allErrors: true,
    useDefaults: true,
    allowUnionTypes: true,
    verbose: true,
    strict: true,
    keywords: ['x-unit'],
  }).compile(configSchema);
  return validator;
}

const PATTERN_MESSAGES: Record<string, string> = {
  [PASSWORD_HASH_PATTERN]: 'must be a password hash scrypt$N$r$p$salt$hash (made by `ocpp-router hash-password`)',
  '^[^:]+$': 'must not contain ":"',
};

function pointerToPath(pointer: string): string {
  if (pointer === '') return '';
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .join('.');
}

export function join2(base: string, key: string): string {
  return base === '' ? key : `${base}.${key}`;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1]!.toLowerCase() === b[j - 1]!.toLowerCase() ? 0 : 1));
      prev = tmp;
    }
  }
  return row[b.length]!;
}

function suggestion(key: string, known: string[]): string {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const k of known) {
    const d = editDistance(key, k);
    if (d < bestDistance) {
      best = k;
      bestDistance = d;
    }
  }
  return best !== undefined && bestDistance <= Math.max(2, Math.floor(key.length / 3)) ? ` (did you mean "${best}"?)` : '';
}

export function toProblem(error: ErrorObject): { path: string; message: string } | null {
  const base = pointerToPath(error.instancePath);
  const params = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'additionalProperties': {
      const key = String(params['additionalProperty']);
      const known = Object.keys((error.parentSchema as SchemaNode | undefined)?.properties ?? {});
      return { path: join2(base, key), message: `unknown key${suggestion(key, known)}` };
    }
    case 'propertyNames':
      return null; // the nested error (with propertyName) says it better
    case 'enum': {
      const allowed = (params['allowedValues'] as unknown[]).map((v) => JSON.stringify(v)).join(', ');
      return { path: base, message: `must be one of ${allowed}` };
    }
    case 'pattern': {
      const pattern = String(params['pattern']);
      const message = PATTERN_MESSAGES[pattern] ?? (base.endsWith('path') && base.startsWith('ocpp')
        ? 'must start with "/", with no trailing "/" and no "?", "#" or blanks'
        : `must match ${pattern}`);
      const name = (error as ErrorObject & { propertyName?: string }).propertyName;
      return name === undefined ? { path: base, message } : { path: join2(base, name), message: `key ${message}` };
    }
    default: {
      const name = (error as ErrorObject & { propertyName?: string }).propertyName;
      const message = error.message ?? error.keyword;
      return name === undefined ? { path: base, message } : { path: join2(base, name), message: `key ${message}` };
    }
  }
}

/** Rules across keys; `data` may be invalid elsewhere, so every access is checked. */
export function semanticProblems(data: JsonObject): { path: string; message: string }[] {
  const out: { path: string; message: string }[] = [];
  const ocpp = isPlainObject(data['ocpp']) ? data['ocpp'] : {};
  const security = isPlainObject(data['security']) ? data['security'] : {};
  const auth = isPlainObject(security['basicAuth']) ? security['basicAuth'] : {};
  const defaultVersion = ocpp['defaultVersion'];
  const subprotocols = ocpp['subprotocols'];
  if (typeof defaultVersion === 'string' && Array.isArray(subprotocols) && !subprotocols.includes(defaultVersion)) {
    out.push({ path: 'ocpp.defaultVersion', message: 'must be one of ocpp.subprotocols' });
  }
  if (auth['enable'] === true && auth['file'] === null && isPlainObject(auth['passwords']) && Object.keys(auth['passwords']).length === 0) {
    out.push({
      path: 'security.basicAuth.enable',
      message: 'needs security.basicAuth.passwords or security.basicAuth.file (no station could log in)',
    });
  }
  const server = isPlainObject(data['server']) ? data['server'] : {};
  const tls = isPlainObject(data['tls']) ? data['tls'] : {};
  if (tls['enable'] === true) {
    for (const key of ['certFile', 'keyFile']) if (tls[key] === null) out.push({ path: `tls.${key}`, message: 'is required when tls.enable is true' });
    if (server['plain'] !== false && typeof tls['port'] === 'number' && tls['port'] !== 0 && tls['port'] === server['port']) {
      out.push({ path: 'tls.port', message: 'must differ from server.port while server.plain is true' });
    }
  } else if (server['plain'] === false) {
    out.push({ path: 'server.plain', message: 'cannot be false while tls.enable is false (nothing would listen)' });
  }
  const front = isPlainObject(tls['front']) ? tls['front'] : {};
  if (front['enable'] === true) {
    if (tls['enable'] !== true) out.push({ path: 'tls.front.enable', message: 'needs tls.enable (its certificate and key)' });
    if (tls['clientCaFile'] === null) out.push({ path: 'tls.clientCaFile', message: 'is required when tls.front.enable is true (the CA of station certificates)' });
  }
  if (tls['clientCertHeader'] !== null && tls['clientCertHeader'] !== undefined && Array.isArray(tls['trustedProxies']) && tls['trustedProxies'].length === 0) {
    out.push({ path: 'tls.trustedProxies', message: 'needs at least one address when tls.clientCertHeader is set (the header would never be believed)' });
  }
  const api = isPlainObject(data['api']) ? data['api'] : {};
  const apiAuth = isPlainObject(api['auth']) ? api['auth'] : {};
  // An authentication mode without credentials locks everyone out (every request 401) instead of failing early.
  const count = (v: unknown): number => (Array.isArray(v) ? v.length : isPlainObject(v) ? Object.keys(v).length : 0);
  if (apiAuth['mode'] === 'bearer' && count(apiAuth['tokens']) + count(apiAuth['readTokens']) === 0) {
    out.push({ path: 'api.auth.tokens', message: 'needs at least one token (or api.auth.readTokens) when api.auth.mode is bearer (every request would get 401)' });
  }
  if (apiAuth['mode'] === 'basic' && count(apiAuth['users']) + count(apiAuth['readUsers']) === 0) {
    out.push({ path: 'api.auth.users', message: 'needs at least one user (or api.auth.readUsers) when api.auth.mode is basic (every request would get 401)' });
  }
  // One credential, one role: a user or token in both lists would be ambiguous.
  if (isPlainObject(apiAuth['users']) && isPlainObject(apiAuth['readUsers'])) {
    for (const name of Object.keys(apiAuth['readUsers'])) {
      if (name in apiAuth['users']) out.push({ path: `api.auth.readUsers.${name}`, message: 'is also in api.auth.users (an operator): give each user one role' });
    }
  }
  if (Array.isArray(apiAuth['tokens']) && Array.isArray(apiAuth['readTokens'])) {
    const operator = new Set(apiAuth['tokens']);
    apiAuth['readTokens'].forEach((token, i) => {
      if (operator.has(token)) out.push({ path: `api.auth.readTokens.${i}`, message: 'is also in api.auth.tokens (an operator token): give each token one role' });
    });
  }
  const pattern = new RegExp(PASSWORD_HASH_PATTERN);
  for (const [path, hashes] of [['security.basicAuth.passwords', auth['passwords']], ['api.auth.users', apiAuth['users']], ['api.auth.readUsers', apiAuth['readUsers']]] as const) {
    if (!isPlainObject(hashes)) continue;
    for (const [name, hash] of Object.entries(hashes)) {
      // Well-formed (the schema checked the shape) but with numbers out of the supported range.
      if (typeof hash === 'string' && pattern.test(hash) && !isPasswordHash(hash)) {
        out.push({ path: `${path}.${name}`, message: 'has unsupported scrypt parameters or lengths' });
      }
    }
  }
  const webhook = isPlainObject(data['webhook']) ? data['webhook'] : {};
  const events = isPlainObject(webhook['events']) ? webhook['events'] : {};
  if (webhook['enable'] === true && webhook['url'] === null) {
    out.push({ path: 'webhook.url', message: 'must be set when webhook.enable is true (WEBHOOK_URL)' });
  }
  if (webhook['authorization'] === 'Basic' && webhook['username'] === '') {
    out.push({ path: 'webhook.username', message: 'must be set when webhook.authorization is Basic' });
  }
  if (webhook['authorization'] === 'Bearer' && webhook['token'] === '') {
    out.push({ path: 'webhook.token', message: 'must be set when webhook.authorization is Bearer' });
  }
  if (events['enable'] === true && events['url'] === null && webhook['url'] === null) {
    out.push({ path: 'webhook.events.url', message: 'webhook.events.enable needs webhook.events.url or webhook.url (events would go nowhere)' });
  }
  const store = isPlainObject(data['store']) ? data['store'] : {};
  if (isPlainObject(data['flexibility'])) out.push(...flexProblems(data['flexibility'], store['engine']));
  return out;
}

