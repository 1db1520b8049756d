/**
 * Where the configuration comes from on disk: the package root (for `conf/default.json`) and reading one file
 * (JSON or YAML) with the parser's line and column in the error.
 */
import { readFileSync, existsSync } from 'node:fs';
import { dirname, extname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseDocument } from 'yaml';
import { ErrorCode, RouterError } from '../protocol/errors.js';

/** `details` of a CONFIG_READ error. */
export interface ConfigReadDetails {
  file: string;
  reason: string;
  line?: number;
  column?: number;
}

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

export function displayPath(file: string, cwd: string): string {
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
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: 100 }) as unknown;
  } catch (error) {
    // A document that parses but cannot be built: aliases expanding past maxAliasCount (the YAML "billion
    // laughs"), a `<<` merge of something that is not a map …: a CONFIG_READ like any other unreadable file.
    throw readError(shown, (error as Error).message, {}, error);
  }
  return value === null || value === undefined ? {} : value;
}

