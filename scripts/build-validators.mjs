#!/usr/bin/env node
// Compiles the official OCA JSON schemas in schemas/ into standalone ajv validators (run by `npm run build`
// before tsc). Nothing here runs per message: the router imports the generated modules and builds its lookup
// tables once.
//
// Output (both folders are gitignored):
//   dist/src/generated/ajv-<set>.js          raw ajv standalone code of one schema set (ocpp1.6, ocpp1.6-security,
//                                            ocpp2.0.1, ocpp2.1), one export per schema file
//   dist/src/generated/validators-<ver>.js   per OCPP version: `validators[action] = { request, response? }`,
//                                            `actions`, `version` (ocpp1.6 = 1.6 core + 1.6 security extension)
//   src/generated/validators-<ver>.d.ts      the types of the above, so `src/**` can import
//                                            '../../generated/validators-<ver>.js' (tsc resolves the .d.ts here,
//                                            node resolves the .js in dist/src/generated at run time)
//
// ajv settings: allErrors (every issue is reported, the caller ranks them), formats from ajv-formats in full
// mode (date-time needs a time zone, RFC 3339 §5.6), multipleOfPrecision 6 (1.6 chargingRateUnit limits have
// multipleOf 0.1, which plain float division rejects for 10.3), draft-04 through ajv-draft-04 for 1.6 core,
// the draft-06 meta-schema for the other sets. Strict mode stays on: the OCA keywords javaType, comment,
// tsEnumNames are declared as annotation keywords; only two OCA habits that are harmless are tolerated, by an
// allow-list in the logger (anything else stops the build):
//   - `"additionalItems": false` next to a single `items` schema (ignored by JSON schema itself),
//   - `additionalProperties` on string enum types (strictTypes: no effect on a string).
//
// Regeneration is skipped when this script, the schema files and the ajv package versions are unchanged
// (sha256 stored in dist/src/generated/.build-hash) and every output file exists. `--force` rebuilds.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const Ajv = require('ajv').default;
const AjvDraft04 = require('ajv-draft-04').default;
const addFormats = require('ajv-formats').default;
const standaloneCode = require('ajv/dist/standalone').default;
const draft06MetaSchema = require('ajv/dist/refs/json-schema-draft-06.json');

const root = fileURLToPath(new URL('..', import.meta.url));
const schemasDir = join(root, 'schemas');
const jsOutDir = join(root, 'dist', 'src', 'generated');
const dtsOutDir = join(root, 'src', 'generated');
const hashFile = join(jsOutDir, '.build-hash');
const force = process.argv.includes('--force');
const quiet = process.argv.includes('--quiet');

/** Schema sets: folder, JSON-schema draft, file naming. */
const SETS = [
  { name: 'ocpp1.6', draft: 4, naming: 'v16' },
  { name: 'ocpp1.6-security', draft: 6, naming: 'v16' },
  { name: 'ocpp2.0.1', draft: 6, naming: 'v2' },
  { name: 'ocpp2.1', draft: 6, naming: 'v2' },
];
/** OCPP versions (= subprotocol names) and the sets they are made of. */
const VERSIONS = [
  { version: 'ocpp1.6', sets: ['ocpp1.6', 'ocpp1.6-security'] },
  { version: 'ocpp2.0.1', sets: ['ocpp2.0.1'] },
  { version: 'ocpp2.1', sets: ['ocpp2.1'] },
];
/** Non-standard annotation keywords found in the OCA files (declared so strict mode accepts them). */
const OCA_KEYWORDS = ['javaType', 'comment', 'tsEnumNames'];
/** Strict-mode warnings that the OCA files trigger and that change nothing in validation. */
const TOLERATED_WARNINGS = [
  /"additionalItems" is ignored when "items" is not an array of schemas/,
  /missing type "object" for keyword "additionalProperties"/,
];

const HEADER_LINES = (what) => [
  `GENERATED FILE: DO NOT EDIT. Produced by \`npm run build\` (scripts/build-validators.mjs) from the official`,
  `OCA JSON schemas in schemas/ (${what}), which are copied unmodified (CC BY-ND 4.0). Edit the script, not this file.`,
];
const jsHeader = (what) => HEADER_LINES(what).map((l) => `// ${l}`).join('\n') + '\n';

function log(msg) {
  if (!quiet) console.log(`build-validators: ${msg}`);
}

function packageVersion(name) {
  return JSON.parse(readFileSync(require.resolve(`${name}/package.json`), 'utf8')).version;
}

/** Files of a set, sorted, with the action and kind each one validates. */
function listSet(set) {
  const dir = join(schemasDir, set.name);
  const entries = [];
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.json')).sort()) {
    const base = file.slice(0, -'.json'.length);
    let action;
    let kind;
    if (set.naming === 'v16') {
      // OCA 1.6 naming: <Action>.json is the .req, <Action>Response.json the .conf.
      if (base.endsWith('Response')) [action, kind] = [base.slice(0, -'Response'.length), 'response'];
      else [action, kind] = [base, 'request'];
    } else if (base.endsWith('Request')) [action, kind] = [base.slice(0, -'Request'.length), 'request'];
    else if (base.endsWith('Response')) [action, kind] = [base.slice(0, -'Response'.length), 'response'];
    // 2.1 NotifyPeriodicEventStream.json: a SEND message (type 6), request schema only.
    else [action, kind] = [base, 'request'];
    if (!/^[A-Za-z][A-Za-z0-9]*$/.test(action)) throw new Error(`unexpected schema file name ${set.name}/${file}`);
    const text = readFileSync(join(dir, file), 'utf8');
    entries.push({ file, action, kind, text, exportName: `${kind}_${action}` });
  }
  return entries;
}

function computeHash(sets) {
  const hash = createHash('sha256');
  hash.update(readFileSync(fileURLToPath(import.meta.url)));
  for (const name of ['ajv', 'ajv-formats', 'ajv-draft-04']) hash.update(`${name}@${packageVersion(name)}\n`);
  for (const [name, entries] of sets) for (const e of entries) hash.update(`${name}/${e.file}\n`).update(e.text);
  return hash.digest('hex');
}

function newAjv(set, warnings) {
  const logger = {
    log() {},
    warn(msg) {
      const text = String(msg);
      if (!TOLERATED_WARNINGS.some((re) => re.test(text))) throw new Error(`${set.name}: ${text}`);
      const key = text.replace(/ at ".*$/, '');
      warnings.set(key, (warnings.get(key) ?? 0) + 1);
    },
    error(msg) {
      throw new Error(`${set.name}: ${String(msg)}`);
    },
  };
  const options = {
    allErrors: true,
    code: { source: true, esm: true, lines: false },
    multipleOfPrecision: 6,
    // Strict, except the two checks that OCA files trip harmlessly: they go to the allow-listing logger.
    strict: true,
    strictSchema: 'log',
    strictTypes: 'log',
    strictTuples: 'log',
    logger,
  };
  const ajv = set.draft === 4 ? new AjvDraft04(options) : new Ajv(options);
  if (set.draft === 6) ajv.addMetaSchema(draft06MetaSchema);
  addFormats(ajv, { mode: 'full' });
  for (const keyword of OCA_KEYWORDS) ajv.addKeyword({ keyword, schemaType: ['string', 'object', 'array'] });
  return ajv;
}

/**
 * ajv's ESM standalone output still contains `require("…")` for its runtime helpers and the formats. Rewrite
 * each distinct one as an ESM import (CJS default import = module.exports) so the module is plain ESM.
 */
/**
 * The generated modules take their formats from src/protocol/validation/formats.ts (compiled next to them
 * in dist/): ajv-formats' full formats with a fast path for the common UTC date-time, equivalent by
 * construction (see that file).
 */
const FORMATS_MODULE = 'ajv-formats/dist/formats';
const FAST_FORMATS_MODULE = '../protocol/validation/formats.js';

function toPureEsm(code) {
  const imports = new Map();
  const body = code.replace(/require\("([^"]+)"\)/g, (_, spec) => {
    let local = imports.get(spec);
    if (local === undefined) {
      local = `__dep${imports.size}`;
      imports.set(spec, local);
    }
    return local;
  });
  const target = (spec) => (spec.replace(/\.js$/, '') === FORMATS_MODULE ? FAST_FORMATS_MODULE : spec.endsWith('.js') ? spec : `${spec}.js`);
  // ajv's runtime helpers are CommonJS with `exports.default` and __esModule: Node's default import gives the
  // exports object, Bun's gives `exports.default` itself; both are brought to the exports-object shape.
  const lines = [...imports].map(([spec, local]) =>
    target(spec).startsWith('.')
      ? `import ${local} from ${JSON.stringify(target(spec))};`
      : `import ${local}$m from ${JSON.stringify(target(spec))};\nconst ${local} = typeof ${local}$m === 'function' ? { default: ${local}$m } : ${local}$m;`,
  );
  return `${lines.join('\n')}\n${body.replace(/^"use strict";/, '')}\n`;
}

function compileSet(set, entries, warnings) {
  const ajv = newAjv(set, warnings);
  const mapping = {};
  for (const e of entries) {
    const schema = JSON.parse(e.text.replace(/^\uFEFF/, ''));
    const key = `${set.name}/${e.file}`;
    ajv.addSchema(schema, key);
    mapping[e.exportName] = key;
  }
  return toPureEsm(standaloneCode(ajv, mapping));
}

function writeAtomic(file, text) {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, file);
}

function versionModule(v, setEntries) {
  const actions = new Map(); // action → { request: [setIndex, exportName], response? }
  const importLines = [];
  v.sets.forEach((setName, i) => {
    importLines.push(`import * as set${i} from './ajv-${setName}.js';`);
    for (const e of setEntries.get(setName)) {
      const slot = actions.get(e.action) ?? {};
      if (slot[e.kind] !== undefined) throw new Error(`${v.version}: ${e.action} ${e.kind} defined twice`);
      slot[e.kind] = `set${i}.${e.exportName}`;
      actions.set(e.action, slot);
    }
  });
  const names = [...actions.keys()].sort();
  for (const name of names) if (actions.get(name).request === undefined) throw new Error(`${v.version}: ${name} has no request schema`);
  const what = v.sets.map((s) => `${s}/`).join(' + ');
  const rows = names.map((name) => {
    const slot = actions.get(name);
    const response = slot.response === undefined ? '' : `, response: ${slot.response}`;
    return `  ${name}: Object.freeze({ request: ${slot.request}${response} }),`;
  });
  const js =
    jsHeader(what) +
    `${importLines.join('\n')}\n\n` +
    `export const version = ${JSON.stringify(v.version)};\n\n` +
    `/** Actions with a schema, sorted. */\n` +
    `export const actions = Object.freeze(${JSON.stringify(names)});\n\n` +
    `/** action → { request, response? } (no response: SEND-only message). */\n` +
    `export const validators = Object.freeze({\n${rows.join('\n')}\n});\n`;
  const withResponse = names.filter((n) => actions.get(n).response !== undefined);
  const sendOnly = names.filter((n) => actions.get(n).response === undefined);
  const dts =
    jsHeader(what) +
    `\n/** One ajv error object (the subset the router reads). */\n` +
    `export interface GeneratedValidationError {\n  instancePath: string;\n  schemaPath: string;\n  keyword: string;\n  params: Record<string, unknown>;\n  message?: string;\n}\n\n` +
    `/** An ajv standalone validate function: returns true or sets \`errors\`. */\n` +
    `export interface GeneratedValidateFunction {\n  (data: unknown): boolean;\n  errors?: GeneratedValidationError[] | null;\n}\n\n` +
    `export interface GeneratedActionValidators {\n  readonly request: GeneratedValidateFunction;\n  readonly response?: GeneratedValidateFunction;\n}\n\n` +
    `export type Action =\n${names.map((n) => `  | '${n}'`).join('\n')};\n\n` +
    (sendOnly.length > 0 ? `/** SEND-only messages: no response schema. */\nexport type SendOnlyAction = ${sendOnly.map((n) => `'${n}'`).join(' | ')};\n\n` : '') +
    `export declare const version: '${v.version}';\n` +
    `export declare const actions: readonly Action[];\n` +
    `export declare const validators: {\n` +
    withResponse.map((n) => `  readonly ${n}: { readonly request: GeneratedValidateFunction; readonly response: GeneratedValidateFunction };`).join('\n') +
    '\n' +
    sendOnly.map((n) => `  readonly ${n}: { readonly request: GeneratedValidateFunction; readonly response?: undefined };`).join('\n') +
    `\n};\n`;
  return { js, dts, count: names.length };
}

function outputsExist() {
  for (const set of SETS) if (!existsSync(join(jsOutDir, `ajv-${set.name}.js`))) return false;
  for (const v of VERSIONS) {
    if (!existsSync(join(jsOutDir, `validators-${v.version}.js`))) return false;
    if (!existsSync(join(dtsOutDir, `validators-${v.version}.d.ts`))) return false;
  }
  return true;
}

function main() {
  const started = process.hrtime.bigint();
  const setEntries = new Map(SETS.map((set) => [set.name, listSet(set)]));
  const hash = computeHash(setEntries);
  if (!force && outputsExist() && existsSync(hashFile) && readFileSync(hashFile, 'utf8').trim() === hash) {
    log('schemas unchanged, validators up to date');
    return;
  }
  mkdirSync(jsOutDir, { recursive: true });
  mkdirSync(dtsOutDir, { recursive: true });
  const warnings = new Map();
  for (const set of SETS) {
    const code = compileSet(set, setEntries.get(set.name), warnings);
    writeAtomic(join(jsOutDir, `ajv-${set.name}.js`), jsHeader(`${set.name}/`) + code);
  }
  const counts = [];
  for (const v of VERSIONS) {
    const { js, dts, count } = versionModule(v, setEntries);
    writeAtomic(join(jsOutDir, `validators-${v.version}.js`), js);
    writeAtomic(join(dtsOutDir, `validators-${v.version}.d.ts`), dts);
    counts.push(`${v.version}: ${count} actions`);
  }
  writeAtomic(hashFile, `${hash}\n`);
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  const tolerated = [...warnings].map(([k, n]) => `${n}× ${k}`).join('; ');
  log(`generated (${counts.join(', ')}) in ${ms.toFixed(0)} ms; tolerated OCA schema habits: ${tolerated || 'none'}`);
}

try {
  main();
} catch (err) {
  console.error(`build-validators: ${err instanceof Error ? err.stack : String(err)}`);
  process.exitCode = 1;
}
