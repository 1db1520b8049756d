/**
 * OCPP-S body ↔ the JSON payload an OCPP-J station would send, driven by the tables generated from the WSDLs
 * (scripts/build-soap-schemas.mjs). Reading is lenient about types so that the schema validator, not the
 * codec, reports violations with the OCPP code the JSON path would give (a non-numeric connectorId stays a
 * string → TypeConstraintViolation). Writing follows the WSDL sequence order exactly (XSD sequences are
 * ordered) and drops nothing the type declares.
 */
import { codecs } from './generated/soap-tables.js';
import type { ServiceSpec, SimpleFacets, TypeSpec } from './generated/soap-tables.js';
import { attribute, children, escapeXml, textOf, type NsScope, type XmlNode } from './xml.js';

export type SoapVersion = 'ocpp1.5' | 'ocpp1.6';
export type ServiceKind = 'cs' | 'cp';
export type Payload = Record<string, unknown>;

export const SOAP_VERSIONS: readonly SoapVersion[] = ['ocpp1.5', 'ocpp1.6'];

export function service(version: SoapVersion, kind: ServiceKind): ServiceSpec {
  return codecs[version][kind];
}

/** A body that cannot be read into a payload (element in a foreign namespace, text where a structure belongs). */
export class CodecError extends Error {
  readonly path: string;
  constructor(path: string, message: string) {
    super(message);
    this.path = path;
  }
}

const INT = /^[+-]?\d+$/;
const DECIMAL = /^[+-]?(\d+(\.\d*)?|\.\d+)$/;

function scalar(facets: SimpleFacets, text: string): unknown {
  switch (facets.kind) {
    case 'i':
      return INT.test(text) ? Number(text) : text;
    case 'd':
      return DECIMAL.test(text) ? Number(text) : text;
    case 'b':
      return text === 'true' || text === '1' ? true : text === 'false' || text === '0' ? false : text;
    default:
      return text;
  }
}

/** Reads a complex element of type `typeName` of `svc` into a JSON object. */
export function readType(svc: ServiceSpec, typeName: string, node: XmlNode, scope: NsScope, path = ''): Payload {
  const type = svc.types[typeName]!;
  if (type.text !== undefined) return readSimpleContent(type, node);
  const out: Payload = {};
  const fields = type.fields!;
  for (const c of children(node, scope)) {
    const at = `${path}/${c.local}`;
    if (c.ns !== svc.ns) throw new CodecError(at, `element ${c.local} is in namespace '${c.ns}', expected '${svc.ns}'`);
    const field = fields.find((f) => f.name === c.local);
    let value: unknown;
    if (field === undefined) {
      // Unknown element: kept, so the schema reports it (additionalProperties → PropertyConstraintViolation).
      value = textOf(c.node) ?? {};
    } else if (field.kind === 'c') {
      value = readType(svc, field.ref!, c.node, c.scope, at);
    } else {
      const text = textOf(c.node);
      value = text === null ? {} : scalar(field, text);
    }
    const many = field !== undefined && (field.max === -1 || field.max > 1);
    const prev = out[c.local];
    if (many) {
      if (prev === undefined) out[c.local] = [value];
      else (prev as unknown[]).push(value);
    } else if (prev === undefined) out[c.local] = value;
    else out[c.local] = Array.isArray(prev) ? [...prev, value] : [prev, value];
  }
  return out;
}

function readSimpleContent(type: TypeSpec, node: XmlNode): Payload {
  const out: Payload = { value: scalar(type.text!, textOf(node) ?? '') };
  for (const a of type.attributes!) {
    const v = attribute(node, a.name);
    if (v !== undefined) out[a.name] = scalar(a, v);
  }
  return out;
}

function formatScalar(value: unknown): string {
  if (typeof value === 'string') return escapeXml(value);
  if (typeof value === 'number') return Number.isInteger(value) ? value.toFixed(0) : String(value);
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  return escapeXml(String(value));
}

/** Writes `payload` as the content of a `typeName` element (children in sequence order, unprefixed). */
export function writeType(svc: ServiceSpec, typeName: string, payload: Payload): string {
  const type = svc.types[typeName]!;
  let out = '';
  for (const f of type.fields ?? []) {
    const value = payload[f.name];
    if (value === undefined || value === null) continue;
    const items = Array.isArray(value) ? value : [value];
    for (const item of items) {
      if (f.kind === 'c') {
        const inner = svc.types[f.ref!]!;
        if (inner.text !== undefined) {
          const obj = item as Payload;
          let attrs = '';
          for (const a of inner.attributes!) if (obj[a.name] !== undefined) attrs += ` ${a.name}="${formatScalar(obj[a.name])}"`;
          out += `<${f.name}${attrs}>${formatScalar(obj.value)}</${f.name}>`;
        } else {
          out += `<${f.name}>${writeType(svc, f.ref!, item as Payload)}</${f.name}>`;
        }
      } else {
        out += `<${f.name}>${formatScalar(item)}</${f.name}>`;
      }
    }
  }
  return out;
}

/** `<element xmlns="ns">…</element>` for the request or response of `action`. */
export function writeBody(svc: ServiceSpec, action: string, kind: 'request' | 'response', payload: Payload): string {
  const op = svc.actions[action]!;
  const { element, type } = op[kind];
  const content = writeType(svc, type, payload);
  return content === '' ? `<${element} xmlns="${svc.ns}"/>` : `<${element} xmlns="${svc.ns}">${content}</${element}>`;
}
