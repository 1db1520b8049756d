/**
 * Loads the configuration: file (JSON or YAML) → env overrides (explicit table, env.ts) → `overrides`
 * (CLI) → schema defaults → validation. Every problem is reported at once in one
 * RouterError(CONFIG_INVALID); a file that cannot be read or parsed is RouterError(CONFIG_READ) with the
 * parser's position. The result is deep-frozen and passed in, never kept in a global.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { ErrorCode, RouterError } from '../protocol/errors.js';
import { readEnv } from './env.js';
import { defaultConfigFile, displayPath, readConfigFile } from './files.js';
import { getValidator, isPlainObject, semanticProblems, toProblem } from './problems.js';
import type { Config } from './types.js';
import { tlsFileProblems } from './tls-files.js';

export { packageRoot, defaultConfigFile, readConfigFile, type ConfigReadDetails } from './files.js';
export { describeConfig, type ConfigKeyDoc } from './describe.js';

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

type JsonObject = { [key: string]: unknown };

// ─── merging with source tracking ───────────────────────────────────────────────────────────────────

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
    // Own keys only, and defined rather than assigned: a `__proto__` key (JSON.parse makes one) stays a plain key
    // that the schema reports as unknown, instead of reaching (and polluting) Object.prototype.
    const current = Object.hasOwn(target, key) ? target[key] : undefined;
    if (isPlainObject(value) && isPlainObject(current)) {
      mergeInto(current, value, path, record);
    } else {
      const copy = isPlainObject(value) || Array.isArray(value) ? structuredClone(value) : value;
      Object.defineProperty(target, key, { value: copy, writable: true, enumerable: true, configurable: true });
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
  config.store.sqlite.file = resolve(config.dataDir, config.store.sqlite.file);
  if (config.security.basicAuth.file !== null) config.security.basicAuth.file = resolve(cwd, config.security.basicAuth.file);
  for (const key of ['certFile', 'keyFile', 'dhParamsFile', 'clientCaFile'] as const) {
    const file = config.tls[key];
    if (file !== null) config.tls[key] = resolve(cwd, file);
  }
  config.flexibility.contentDir = resolve(config.dataDir, config.flexibility.contentDir ?? 'ipfs');
  if (config.flexibility.chain.operatorKeyFile !== null) config.flexibility.chain.operatorKeyFile = resolve(cwd, config.flexibility.chain.operatorKeyFile);
  if (config.tls.clientCertHeader !== null) config.tls.clientCertHeader = config.tls.clientCertHeader.toLowerCase();
  const tlsProblems = tlsFileProblems(config.tls).map((p) => ({ ...p, source: sources.of(p.path) }));
  if (tlsProblems.length > 0) {
    const n = tlsProblems.length;
    throw new RouterError(ErrorCode.CONFIG_INVALID, `invalid configuration (${n} problem${n === 1 ? '' : 's'}):\n${problemLines(tlsProblems)}`, { details: tlsProblems });
  }
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

