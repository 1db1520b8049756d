#!/usr/bin/env node
// Derives everything OCPP-S (SOAP) needs from the unmodified WSDLs in schemas/wsdl/ (run by `npm run build`
// before tsc). Nothing here runs per message.
//
// Output (gitignored through dist/):
//   dist/src/protocol/soap/generated/soap-tables.js
//     codecs[version][service]  service = 'cs' (CentralSystemService) | 'cp' (ChargePointService):
//                               namespace, every operation (body element and type of input and output, WS-A
//                               actions) and every XSD type reduced to what the XML <-> JSON codec needs:
//                               fields in sequence order with kind, min/max occurs, enum/simple type.
//     schemas15[action]         JSON schemas (draft-07) derived from the OCPP 1.5 XSD types: { request, response }
//     validators15[action]      ajv standalone validators of those schemas: { request, response }
//     initiators15[action]      'station' | 'central' | 'both' from the 1.5 portTypes
//   dist/schemas/ocpp1.5-soap/<Action>.json, <Action>Response.json   the derived 1.5 schemas, for reading
// The types of soap-tables.js are in src/protocol/soap/generated/soap-tables.d.ts (hand written, stable).
//
// XSD → JSON (the same shape an OCPP-J payload has):
//   s:int, s:long, s:short → integer; s:decimal, s:double, s:float → number; s:boolean → boolean;
//   s:dateTime → string (format date-time); s:anyURI → string (format uri); s:string restrictions keep
//   maxLength and enumeration; maxOccurs > 1 or unbounded → array (minItems = minOccurs when > 0);
//   minOccurs >= 1 → required; complex types → objects with additionalProperties false; an element with
//   simpleContent and attributes (1.5 MeterValue/value) → object { value: <text>, <attribute>: … }.
//
// Regeneration is skipped when this script, the WSDLs and the ajv/fast-xml-parser versions are unchanged
// (sha256 in dist/src/protocol/soap/generated/.build-hash) and the outputs exist. `--force` rebuilds.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const Ajv = require('ajv').default;
const addFormats = require('ajv-formats').default;
const standaloneCode = require('ajv/dist/standalone').default;
const { XMLParser } = require('fast-xml-parser');

const root = fileURLToPath(new URL('..', import.meta.url));
const wsdlDir = join(root, 'schemas', 'wsdl');
const outDir = join(root, 'dist', 'src', 'protocol', 'soap', 'generated');
const schemaOutDir = join(root, 'dist', 'schemas', 'ocpp1.5-soap');
const outFile = join(outDir, 'soap-tables.js');
const hashFile = join(outDir, '.build-hash');
const force = process.argv.includes('--force');
const quiet = process.argv.includes('--quiet');

const WSDLS = [
  { version: 'ocpp1.5', service: 'cs', file: 'ocpp_centralsystemservice_1.5_final.wsdl' },
  { version: 'ocpp1.5', service: 'cp', file: 'ocpp_chargepointservice_1.5_final.wsdl' },
  { version: 'ocpp1.6', service: 'cs', file: 'OCPP_CentralSystemService_1.6.wsdl' },
  { version: 'ocpp1.6', service: 'cp', file: 'OCPP_ChargePointService_1.6.wsdl' },
];

const log = (msg) => {
  if (!quiet) console.log(`build-soap-schemas: ${msg}`);
};

function packageVersion(name) {
  return JSON.parse(readFileSync(join(root, 'node_modules', name, 'package.json'), 'utf8')).version;
}

function inputsHash() {
  const h = createHash('sha256');
  h.update(readFileSync(fileURLToPath(import.meta.url)));
  for (const w of WSDLS) h.update(readFileSync(join(wsdlDir, w.file)));
  h.update(packageVersion('ajv') + packageVersion('ajv-formats') + packageVersion('fast-xml-parser'));
  return h.digest('hex');
}

// --- WSDL reading (fast-xml-parser; the WSDLs are trusted build inputs) ---

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@',
  removeNSPrefix: true,
  isArray: (name, _path, _leaf, isAttribute) => !isAttribute && name !== 'definitions',
  processEntities: false,
  parseTagValue: false,
  parseAttributeValue: false,
  commentPropName: false,
});

const local = (qname) => (qname ?? '').replace(/^.*:/, '');
const arr = (x) => (x === undefined ? [] : Array.isArray(x) ? x : [x]);
const occurs = (v, dflt) => (v === undefined ? dflt : v === 'unbounded' ? -1 : Number(v));

const BUILTIN = {
  string: 's', normalizedString: 's', token: 's', int: 'i', integer: 'i', long: 'i', short: 'i',
  decimal: 'd', double: 'd', float: 'd', boolean: 'b', dateTime: 't', anyURI: 'u',
};

function readWsdl(w) {
  const doc = parser.parse(readFileSync(join(wsdlDir, w.file), 'utf8')).definitions;
  const schema = arr(doc.types)[0].schema[0];
  const ns = schema['@targetNamespace'];
  const simple = new Map();
  for (const st of arr(schema.simpleType)) {
    const r = st.restriction[0];
    simple.set(st['@name'], {
      base: local(r['@base']),
      enum: arr(r.enumeration).map((e) => e['@value']),
      maxLength: r.maxLength ? Number(r.maxLength[0]['@value']) : undefined,
      fractionDigits: r.fractionDigits ? Number(r.fractionDigits[0]['@value']) : undefined,
    });
  }
  const types = {};
  const addComplex = (name, ct) => {
    const sc = arr(ct.simpleContent)[0];
    if (sc !== undefined) {
      const ext = sc.extension[0];
      types[name] = {
        text: fieldKind(local(ext['@base'])),
        attributes: arr(ext.attribute).map((a) => ({ name: a['@name'], ...fieldKind(local(a['@type'])), required: a['@use'] === 'required' })),
      };
      return;
    }
    const fields = [];
    for (const el of arr(arr(ct.sequence)[0]?.element)) {
      const f = { name: el['@name'], min: occurs(el['@minOccurs'], 1), max: occurs(el['@maxOccurs'], 1) };
      if (el.complexType !== undefined) {
        const inner = `${name}.${f.name}`;
        addComplex(inner, el.complexType[0]);
        Object.assign(f, { kind: 'c', ref: inner });
      } else {
        Object.assign(f, fieldKind(local(el['@type'])));
      }
      fields.push(f);
    }
    types[name] = { fields };
  };
  function fieldKind(typeName) {
    if (BUILTIN[typeName] !== undefined) return { kind: BUILTIN[typeName] };
    const st = simple.get(typeName);
    if (st !== undefined) {
      const kind = BUILTIN[st.base];
      if (kind === undefined) throw new Error(`${w.file}: simple type ${typeName} has base ${st.base}`);
      const out = { kind, simple: typeName };
      if (st.enum.length > 0) out.enum = st.enum;
      if (st.maxLength !== undefined) out.maxLength = st.maxLength;
      if (st.fractionDigits !== undefined) out.fractionDigits = st.fractionDigits;
      return out;
    }
    // A complex type (declared anywhere in the schema).
    return { kind: 'c', ref: typeName };
  }
  for (const ct of arr(schema.complexType)) addComplex(ct['@name'], ct);
  const elements = new Map(arr(schema.element).map((e) => [e['@name'], local(e['@type'])]));
  const messages = new Map(arr(doc.message).map((m) => [m['@name'], local(arr(m.part)[0]['@element'])]));
  const actions = {};
  for (const op of arr(arr(doc.portType)[0].operation)) {
    const input = op.input[0];
    const output = op.output[0];
    const reqEl = messages.get(local(input['@message']));
    const resEl = messages.get(local(output['@message']));
    actions[op['@name']] = {
      request: { element: reqEl, type: elements.get(reqEl) },
      response: { element: resEl, type: elements.get(resEl) },
      requestAction: input['@Action'] ?? `/${op['@name']}`,
      responseAction: output['@Action'] ?? `/${op['@name']}Response`,
    };
  }
  for (const [name, t] of Object.entries(types)) {
    for (const f of t.fields ?? []) if (f.kind === 'c' && types[f.ref] === undefined) throw new Error(`${w.file}: ${name}.${f.name} refers to unknown type ${f.ref}`);
  }
  return { ns, actions, types };
}

// --- XSD types → JSON schema (1.5) ---

function jsonOfKind(f) {
  let s;
  switch (f.kind) {
    case 'i': s = { type: 'integer' }; break;
    case 'd': s = f.fractionDigits === 1 ? { type: 'number', multipleOf: 0.1 } : { type: 'number' }; break;
    case 'b': s = { type: 'boolean' }; break;
    case 't': s = { type: 'string', format: 'date-time' }; break;
    case 'u': s = { type: 'string', format: 'uri' }; break;
    default: s = { type: 'string' };
  }
  if (f.enum !== undefined) s.enum = f.enum;
  if (f.maxLength !== undefined) s.maxLength = f.maxLength;
  return s;
}

function jsonOfType(types, name, depth = 0) {
  if (depth > 16) throw new Error(`type ${name} nests too deep`);
  const t = types[name];
  if (t.text !== undefined) {
    const properties = { value: jsonOfKind(t.text) };
    const required = ['value'];
    for (const a of t.attributes) {
      properties[a.name] = jsonOfKind(a);
      if (a.required) required.push(a.name);
    }
    return { type: 'object', properties, required, additionalProperties: false };
  }
  const properties = {};
  const required = [];
  for (const f of t.fields) {
    const item = f.kind === 'c' ? jsonOfType(types, f.ref, depth + 1) : jsonOfKind(f);
    properties[f.name] = f.max === -1 || f.max > 1 ? { type: 'array', items: item, ...(f.min > 0 ? { minItems: f.min } : {}), ...(f.max > 1 ? { maxItems: f.max } : {}) } : item;
    if (f.min >= 1) required.push(f.name);
  }
  const schema = { type: 'object', properties, additionalProperties: false };
  if (required.length > 0) schema.required = required;
  return schema;
}

function toPureEsm(code) {
  const imports = new Map();
  const body = code.replace(/require\("([^"]+)"\)/g, (_, spec) => {
    let name = imports.get(spec);
    if (name === undefined) {
      name = `__dep${imports.size}`;
      imports.set(spec, name);
    }
    return name;
  });
  // Same formats as the OCPP-J validators (fast date-time path, src/protocol/validation/formats.ts).
  const target = (spec) => (spec.replace(/\.js$/, '') === 'ajv-formats/dist/formats' ? '../../validation/formats.js' : spec.endsWith('.js') ? spec : `${spec}.js`);
  const lines = [...imports].map(([spec, name]) => `import ${name} from ${JSON.stringify(target(spec))};`);
  return `${lines.join('\n')}\n${body.replace(/^"use strict";/, '')}\n`;
}

function writeAtomic(file, text) {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, file);
}

// --- main ---

const hash = inputsHash();
if (!force && existsSync(outFile) && existsSync(hashFile) && readFileSync(hashFile, 'utf8') === hash) {
  log('up to date');
  process.exit(0);
}

const codecs = {};
for (const w of WSDLS) (codecs[w.version] ??= {})[w.service] = readWsdl(w);

// OCPP 1.5 JSON schemas and who sends what.
const schemas15 = {};
const initiators15 = {};
for (const service of ['cs', 'cp']) {
  const s = codecs['ocpp1.5'][service];
  for (const [action, op] of Object.entries(s.actions)) {
    const pair = { request: jsonOfType(s.types, op.request.type), response: jsonOfType(s.types, op.response.type) };
    if (schemas15[action] !== undefined && JSON.stringify(schemas15[action]) !== JSON.stringify(pair)) {
      throw new Error(`ocpp1.5 ${action}: the two services define different messages`);
    }
    schemas15[action] = pair;
    const who = service === 'cs' ? 'station' : 'central';
    initiators15[action] = initiators15[action] === undefined || initiators15[action] === who ? who : 'both';
  }
}

const ajv = new Ajv({ allErrors: true, code: { source: true, esm: true, lines: false }, multipleOfPrecision: 6, strict: true });
addFormats(ajv, { mode: 'full' });
const mapping = {};
const actions = Object.keys(schemas15).sort();
actions.forEach((action, i) => {
  ajv.addSchema({ $schema: 'http://json-schema.org/draft-07/schema#', $id: `urn:ocpp-router:ocpp1.5-soap:${action}.req`, ...schemas15[action].request });
  ajv.addSchema({ $schema: 'http://json-schema.org/draft-07/schema#', $id: `urn:ocpp-router:ocpp1.5-soap:${action}.conf`, ...schemas15[action].response });
  mapping[`req${i}`] = `urn:ocpp-router:ocpp1.5-soap:${action}.req`;
  mapping[`res${i}`] = `urn:ocpp-router:ocpp1.5-soap:${action}.conf`;
});
const validatorCode = toPureEsm(standaloneCode(ajv, mapping)).replace(/export const (req|res)(\d+) =/g, 'const $1$2 =');

// 1.6 check: the WSDL's field names must be the JSON schema's property names (the codec relies on it).
for (const service of ['cs', 'cp']) {
  const s = codecs['ocpp1.6'][service];
  for (const [action, op] of Object.entries(s.actions)) {
    for (const [kind, file] of [['request', `${action}.json`], ['response', `${action}Response.json`]]) {
      const json = JSON.parse(readFileSync(join(root, 'schemas', 'ocpp1.6', file), 'utf8').replace(/^\uFEFF/, ''));
      const wsdlNames = s.types[op[kind].type].fields.map((f) => f.name).sort().join(',');
      const jsonNames = Object.keys(json.properties ?? {}).sort().join(',');
      if (wsdlNames !== jsonNames) throw new Error(`ocpp1.6 ${action} ${kind}: WSDL fields [${wsdlNames}] differ from the JSON schema [${jsonNames}]`);
    }
  }
}

const header =
  '// GENERATED FILE: DO NOT EDIT. Produced by `npm run build` (scripts/build-soap-schemas.mjs) from the unmodified\n' +
  '// OCPP 1.5 (e-laad.nl, "free to use without modifications") and 1.6 (OCA, CC BY-ND 4.0) WSDLs in schemas/wsdl/.\n';
const table = (name, value) => `export const ${name} = ${JSON.stringify(value)};\n`;
const text =
  header +
  validatorCode +
  table('codecs', codecs) +
  table('schemas15', schemas15) +
  table('initiators15', initiators15) +
  `export const validators15 = {${actions.map((a, i) => `${JSON.stringify(a)}: { request: req${i}, response: res${i} }`).join(', ')}};\n`;

mkdirSync(outDir, { recursive: true });
mkdirSync(schemaOutDir, { recursive: true });
for (const [action, pair] of Object.entries(schemas15)) {
  writeAtomic(join(schemaOutDir, `${action}.json`), JSON.stringify({ $schema: 'http://json-schema.org/draft-07/schema#', title: `${action}Request (derived from the OCPP 1.5 WSDL)`, ...pair.request }, null, 2) + '\n');
  writeAtomic(join(schemaOutDir, `${action}Response.json`), JSON.stringify({ $schema: 'http://json-schema.org/draft-07/schema#', title: `${action}Response (derived from the OCPP 1.5 WSDL)`, ...pair.response }, null, 2) + '\n');
}
writeAtomic(outFile, text);
writeAtomic(hashFile, hash);
log(`wrote ${outFile} (${actions.length} OCPP 1.5 actions, codecs for 1.5 and 1.6)`);
