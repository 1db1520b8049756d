/**
 * Loads the configuration: file (JSON or YAML) → env overrides (explicit table, env.ts) → `overrides`
 * (CLI) → schema defaults → validation. Every problem is reported at once in one
 * RouterError(CONFIG_INVALID); a file that cannot be read or parsed is RouterError(CONFIG_READ) with the
 * parser's position. The result is deep-frozen and passed in, never kept in a global.
 */
import { readFileSync, existsSync } from 'node:fs';
import { dirname, extname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { parseDocument } from 'yaml';
import { ErrorCode, RouterError } from '../protocol/errors.js';
import { readEnv, ENV_TABLE } from './env.js';
import { isPasswordHash } from './password-hash.js';
import { configSchema, PASSWORD_HASH_PATTERN, type SchemaNode } from './schema.js';
import type { Config } from './types.js';

export interface LoadConfigOptions {
  /** Config file (.json, .yaml, .yml; other names are read as YAML, a superset of JSON). Null/absent: the package's `conf/default.json`. */
  file?: string | null;
  /** Environment to read the overrides from; default `process.env`. */
  env?: Record<string, string | undefined>;
  /** Directory that relative paths (file, dataDir, basicAuth.file) are resolved against; default `process.cwd()`. */
  cwd?: string;
  /** Values applied last (CLI flags), same shape as the file, partial. */
  overrides?: object;
}

/** One problem of a CONFIG_INVALID error (its `details` is a list of these). */
export interface ConfigProblem {
  /** Dotted config path (`ocpp.maxFrameBytes`, `ocpp.subprotocols.1`); `(root)` for the whole document. */
  path: string;
  message: string;
  /** Where the offending value came from: `file conf/x.json`, `env PORT`, `overrides`, `defaults`. */
  source: string;
}

/** `details` of a CONFIG_READ error. */
export interface ConfigReadDetails {
  file: string;
  reason: string;
  line?: number;
  column?: number;
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: unknown };

// ─── package root and default file ──────────────────────────────────────────────────────────────────

const PACKAGE_NAME = 'ocpp-router';

/**
 * The package root: the nearest folder above this module with the router's package.json. Works from the
 * repository (`dist/src/config/` → repo) and from a global install (`…/node_modules/ocpp-router/`).
 */
export function packageRoot(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  let dir = here;
  for (;;) {
    const candidate = join(dir, 'package.json');
    if (existsSync(candidate)) {
      try {
        const pkg = JSON.parse(readFileSync(candidate, 'utf8')) as { name?: unknown };
        if (pkg.name === PACKAGE_NAME) return dir;
      } catch {
        // not ours; keep walking
      }
    }
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  // dist/src/config → package root
  return resolve(here, '..', '..', '..');
}

/** `conf/default.json` of the package. */
export function defaultConfigFile(): string {
  return join(packageRoot(), 'conf', 'default.json');
}

// ─── reading a file ─────────────────────────────────────────────────────────────────────────────────

function displayPath(file: string, cwd: string): string {
  const rel = relative(cwd, file);
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel) ? rel.split(sep).join('/') : file;
}

function lineColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: offset - lineStart + 1 };
}

function readError(shown: string, reason: string, where: { line?: number; column?: number } = {}, cause?: unknown): RouterError {
  const details: ConfigReadDetails = { file: shown, reason, ...where };
  const at = where.line === undefined ? shown : `${shown}:${where.line}:${where.column ?? 1}`;
  return new RouterError(ErrorCode.CONFIG_READ, `cannot read configuration ${at}: ${reason}`, { details, cause });
}

/** Reads and parses one config file; throws CONFIG_READ. An empty YAML document is `{}`. */
export function readConfigFile(file: string, shown = file): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : (error as Error).message;
    throw readError(shown, reason, {}, error);
  }
  text = text.replace(/^\uFEFF/, '');
  const ext = extname(file).toLowerCase();
  if (ext === '.json') {
    try {
      return JSON.parse(text) as unknown;
    } catch (error) {
      const message = (error as Error).message;
      const pos = /at position (\d+)/.exec(message);
      const lc = /\(line (\d+) column (\d+)\)/.exec(message);
      const where = lc ? { line: Number(lc[1]), column: Number(lc[2]) } : pos ? lineColumn(text, Number(pos[1])) : {};
      const reason = message.replace(/\s*in JSON at position \d+.*$/s, '').replace(/\s*\(line \d+ column \d+\)/, '');
      throw readError(shown, text.trim() === '' ? 'empty file' : reason, where, error);
    }
  }
  const doc = parseDocument(text, { prettyErrors: false, uniqueKeys: true });
  const first = doc.errors[0];
  if (first !== undefined) {
    const more = doc.errors.length > 1 ? ` (and ${doc.errors.length - 1} more)` : '';
    throw readError(shown, `${first.message}${more}`, lineColumn(text, first.pos[0]), first);
  }
  const value = doc.toJS({ maxAliasCount: 100 }) as unknown;
  return value === null || value === undefined ? {} : value;
}

// ─── merging with source tracking ───────────────────────────────────────────────────────────────────

function isPlainObject(value: unknown): value is JsonObject {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

/** Sets `path` (dotted) in `target`, creating objects on the way; false if a non-object is in the way. */
function setPath(target: JsonObject, path: string, value: unknown): boolean {
  const keys = path.split('.');
  let node: JsonObject = target;
  for (const key of keys.slice(0, -1)) {
    const next = node[key];
    if (next === undefined) node[key] = {};
    else if (!isPlainObject(next)) return false;
    node = node[key] as JsonObject;
  }
  node[keys[keys.length - 1]!] = value;
  return true;
}

/** Deep-merges `source` into `target` (objects merge, everything else replaces); records leaf paths. */
function mergeInto(target: JsonObject, source: JsonObject, prefix: string, record: (path: string) => void): void {
  for (const [key, value] of Object.entries(source)) {
    const path = prefix === '' ? key : `${prefix}.${key}`;
    const current = target[key];
    if (isPlainObject(value) && isPlainObject(current)) {
      mergeInto(current, value, path, record);
    } else {
      target[key] = isPlainObject(value) || Array.isArray(value) ? structuredClone(value) : value;
      record(path);
    }
  }
}

class Sources {
  readonly #byPath = new Map<string, string>();
  readonly #fallback: string;

  constructor(fallback: string) {
    this.#fallback = fallback;
  }

  set(path: string, source: string): void {
    // A whole object replaced drops what was recorded under it.
    for (const key of this.#byPath.keys()) if (key.startsWith(`${path}.`)) this.#byPath.delete(key);
    this.#byPath.set(path, source);
  }

  /** Source of the value at `path`: the nearest recorded path at or above it. */
  of(path: string): string {
    let p = path;
    for (;;) {
      const found = this.#byPath.get(p);
      if (found !== undefined) return found;
      const dot = p.lastIndexOf('.');
      if (dot < 0) return this.#fallback;
      p = p.slice(0, dot);
    }
  }
}

// ─── validation ─────────────────────────────────────────────────────────────────────────────────────

let validator: ValidateFunction | undefined;

function getValidator(): ValidateFunction {
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

function join2(base: string, key: string): string {
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

function toProblem(error: ErrorObject): { path: string; message: string } | null {
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
function semanticProblems(data: JsonObject): { path: string; message: string }[] {
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
  const api = isPlainObject(data['api']) ? data['api'] : {};
  const apiAuth = isPlainObject(api['auth']) ? api['auth'] : {};
  // An authentication mode without credentials locks everyone out (every request 401) instead of failing early.
  if (apiAuth['mode'] === 'bearer' && Array.isArray(apiAuth['tokens']) && apiAuth['tokens'].length === 0) {
    out.push({ path: 'api.auth.tokens', message: 'needs at least one token when api.auth.mode is bearer (every request would get 401)' });
  }
  if (apiAuth['mode'] === 'basic' && isPlainObject(apiAuth['users']) && Object.keys(apiAuth['users']).length === 0) {
    out.push({ path: 'api.auth.users', message: 'needs at least one user when api.auth.mode is basic (every request would get 401)' });
  }
  const pattern = new RegExp(PASSWORD_HASH_PATTERN);
  for (const [path, hashes] of [['security.basicAuth.passwords', auth['passwords']], ['api.auth.users', apiAuth['users']]] as const) {
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
  return out;
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

function problemLines(problems: readonly ConfigProblem[]): string {
  return problems.map((p) => `  ${p.path}: ${p.message} [${p.source}]`).join('\n');
}

// ─── loadConfig ─────────────────────────────────────────────────────────────────────────────────────

/**
 * Loads, merges, fills and validates the configuration. Throws RouterError CONFIG_READ (file missing,
 * unreadable or unparseable; `details: ConfigReadDetails`) or CONFIG_INVALID (`details: ConfigProblem[]`,
 * every problem at once, the message one line per problem). Returns a deep-frozen Config.
 */
export function loadConfig(options: LoadConfigOptions = {}): Config {
  const cwd = resolve(options.cwd ?? process.cwd());
  const env = options.env ?? process.env;

  // 1. file
  let data: JsonObject = {};
  let fallbackSource = 'defaults';
  const explicit = options.file !== undefined && options.file !== null;
  const file = explicit ? resolve(cwd, options.file as string) : defaultConfigFile();
  if (explicit || existsSync(file)) {
    const shown = displayPath(file, cwd);
    const parsed = readConfigFile(file, shown);
    fallbackSource = `file ${shown}`;
    if (isPlainObject(parsed)) data = parsed;
    else {
      const problem: ConfigProblem = { path: '(root)', message: 'must be an object', source: fallbackSource };
      throw new RouterError(ErrorCode.CONFIG_INVALID, `invalid configuration (1 problem):\n${problemLines([problem])}`, {
        details: [problem],
      });
    }
  }
  const sources = new Sources(fallbackSource);
  const problems: ConfigProblem[] = [];

  // 2. environment
  const fromEnv = readEnv(env);
  for (const p of fromEnv.problems) problems.push({ path: p.path, message: p.message, source: `env ${p.name}` });
  for (const o of fromEnv.overrides) {
    if (setPath(data, o.path, o.value)) sources.set(o.path, `env ${o.name}`);
  }

  // 3. overrides
  if (options.overrides !== undefined && options.overrides !== null) {
    if (!isPlainObject(options.overrides)) {
      problems.push({ path: '(root)', message: 'overrides must be a plain object', source: 'overrides' });
    } else {
      mergeInto(data, options.overrides, '', (path) => sources.set(path, 'overrides'));
    }
  }

  // 4. defaults + schema
  const validate = getValidator();
  validate(data);
  const errors = validate.errors ?? [];
  // A wrong type makes the other complaints about the same value (enum, bounds) noise.
  const typeErrorPaths = new Set(errors.filter((e) => e.keyword === 'type').map((e) => e.instancePath));
  for (const error of errors) {
    if (error.keyword !== 'type' && typeErrorPaths.has(error.instancePath) && error.keyword !== 'additionalProperties') continue;
    const problem = toProblem(error);
    if (problem === null) continue;
    problems.push({ path: problem.path === '' ? '(root)' : problem.path, message: problem.message, source: sources.of(problem.path) });
  }
  for (const p of semanticProblems(data)) problems.push({ ...p, source: sources.of(p.path) });

  if (problems.length > 0) {
    const seen = new Set<string>();
    const unique = problems.filter((p) => {
      const key = `${p.path}\0${p.message}\0${p.source}`;
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    });
    const n = unique.length;
    throw new RouterError(
      ErrorCode.CONFIG_INVALID,
      `invalid configuration (${n} problem${n === 1 ? '' : 's'}):\n${problemLines(unique)}`,
      { details: unique },
    );
  }

  // 5. paths made absolute, freeze
  const config = data as unknown as Config;
  config.dataDir = resolve(cwd, config.dataDir);
  if (config.security.basicAuth.file !== null) config.security.basicAuth.file = resolve(cwd, config.security.basicAuth.file);
  return deepFreeze(config);
}

// ─── helpers for the CLI and the docs ───────────────────────────────────────────────────────────────

/** The configuration made of schema defaults only (not frozen, paths not resolved): what conf/default.json holds. */
export function schemaDefaults(): Config {
  const data: JsonObject = {};
  getValidator()(data);
  return data as unknown as Config;
}

/** Text for the CLI: one problem per line for CONFIG_INVALID, the position for CONFIG_READ. */
export function formatConfigErrors(error: unknown): string {
  if (error === null || typeof error !== 'object') return String(error);
  const { code, message, details } = error as { code?: unknown; message?: unknown; details?: unknown };
  if (code === ErrorCode.CONFIG_INVALID && Array.isArray(details)) {
    const problems = details as ConfigProblem[];
    const n = problems.length;
    return `invalid configuration (${n} problem${n === 1 ? '' : 's'}):\n${problemLines(problems)}`;
  }
  return typeof message === 'string' ? message : String(error);
}

export interface ConfigKeyDoc {
  /** `section` for an object with fixed keys, `key` for everything else. */
  kind: 'section' | 'key';
  path: string;
  /** `integer`, `string`, `string | null`, `boolean`, `array of …`, `map of …`. */
  type: string;
  default: Json | undefined;
  description: string;
  /** Bounds, allowed values, unit, as text. */
  constraints: string;
  /** Env variables that set it (env.ts). */
  env: string[];
}

function typeText(node: SchemaNode): string {
  if (node.type === 'array' && node.items) return `array of ${typeText(node.items)}`;
  if (node.type === 'object' && !node.properties && typeof node.additionalProperties === 'object') {
    return `map of ${typeText(node.propertyNames ?? { type: 'string' })} → ${typeText(node.additionalProperties)}`;
  }
  if (Array.isArray(node.type)) return node.type.join(' | ');
  return node.type ?? 'any';
}

function constraintsText(node: SchemaNode): string {
  const parts: string[] = [];
  if (node.enum) parts.push(`one of ${node.enum.map((v) => `\`${JSON.stringify(v)}\``).join(', ')}`);
  if (node.minimum !== undefined && node.maximum !== undefined) parts.push(`${node.minimum} … ${node.maximum}`);
  else if (node.minimum !== undefined) parts.push(`≥ ${node.minimum}`);
  else if (node.maximum !== undefined) parts.push(`≤ ${node.maximum}`);
  if (node['x-unit']) parts.push(node['x-unit']);
  if (node.minLength !== undefined && node.minLength > 0) parts.push(`non-empty`);
  if (node.type === 'array') {
    if (node.minItems) parts.push(`at least ${node.minItems} item${node.minItems === 1 ? '' : 's'}`);
    if (node.uniqueItems) parts.push('unique items');
    if (node.items) {
      const inner = constraintsText(node.items);
      if (inner) parts.push(`items: ${inner}`);
    }
  }
  return parts.join('; ');
}

/** Every section and key of the schema, depth first, with type, default, constraints and env names. */
export function describeConfig(): ConfigKeyDoc[] {
  const out: ConfigKeyDoc[] = [];
  const walk = (node: SchemaNode, path: string): void => {
    for (const [key, child] of Object.entries(node.properties ?? {})) {
      const childPath = join2(path, key);
      const isSection = child.type === 'object' && child.properties !== undefined;
      out.push({
        kind: isSection ? 'section' : 'key',
        path: childPath,
        type: typeText(child),
        default: child.default as Json | undefined,
        description: child.description ?? '',
        constraints: isSection ? '' : constraintsText(child),
        env: ENV_TABLE.filter((e) => e.path === childPath).map((e) => e.name),
      });
      if (isSection) walk(child, childPath);
    }
  };
  walk(configSchema, '');
  return out;
}
