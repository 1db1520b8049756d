/**
 * XML reading and writing for OCPP-S, on fast-xml-parser with every expansion off:
 *  - documents with a DTD (`<!DOCTYPE`, `<!ENTITY`) are refused before parsing: SOAP 1.2 Part 1 §5 says a
 *    SOAP message MUST NOT contain a Document Type Declaration, and refusing it removes XXE and entity
 *    expansion ("billion laughs") at the root;
 *  - the parser does not process entities (`processEntities: false`); the five predefined entities and
 *    character references are decoded here, one character each, so nothing can grow;
 *  - well-formedness is checked by XMLValidator first (mismatched tags, bad attributes …).
 * Namespaces are resolved here (fast-xml-parser keeps prefixes): `children()` yields every child element with
 * its namespace URI and local name.
 */
import { XMLParser, XMLValidator } from 'fast-xml-parser';

/** A parsed element: text (a leaf without attributes) or an object of child arrays, `@attr`s and `#text`. */
export type XmlNode = string | XmlObject;
export interface XmlObject {
  [key: string]: XmlNode[] | string | undefined;
}

/** Prefix → namespace URI in scope ('' = default namespace). */
export type NsScope = ReadonlyMap<string, string>;

export interface XmlChild {
  ns: string;
  local: string;
  node: XmlNode;
  scope: NsScope;
}

export class XmlError extends Error {
  readonly kind: 'dtd' | 'malformed';
  constructor(kind: 'dtd' | 'malformed', message: string) {
    super(message);
    this.kind = kind;
  }
}

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@',
  textNodeName: '#text',
  removeNSPrefix: false,
  isArray: (_name: string, _path: unknown, _leaf: boolean, isAttribute: boolean) => !isAttribute,
  processEntities: false,
  htmlEntities: false,
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: true,
  ignoreDeclaration: true,
  ignorePiTags: true,
  commentPropName: false,
  cdataPropName: false,
  allowBooleanAttributes: false,
});

/** Parses a document into its root elements (one for a well-formed document). Throws XmlError. */
export function parseXml(text: string): XmlObject {
  if (text.includes('<!DOCTYPE') || text.includes('<!ENTITY') || text.includes('<!doctype')) {
    throw new XmlError('dtd', 'a SOAP message must not contain a Document Type Declaration (SOAP 1.2 Part 1 §5); DTDs and entities are refused');
  }
  const valid = XMLValidator.validate(text, { allowBooleanAttributes: false });
  if (valid !== true) {
    const e = valid.err;
    throw new XmlError('malformed', `malformed XML at line ${e.line}, column ${e.col}: ${e.msg}`);
  }
  try {
    return parser.parse(text) as XmlObject;
  } catch (error) {
    throw new XmlError('malformed', `malformed XML: ${(error as Error).message}`);
  }
}

const EMPTY_SCOPE: NsScope = new Map([['xml', 'http://www.w3.org/XML/1998/namespace']]);

/** The scope inside `node`: the parent's plus the node's own xmlns declarations. */
export function scopeOf(node: XmlNode, parent: NsScope = EMPTY_SCOPE): NsScope {
  if (typeof node === 'string') return parent;
  let scope: Map<string, string> | null = null;
  for (const key in node) {
    if (key === '@xmlns' || key.startsWith('@xmlns:')) {
      scope ??= new Map(parent);
      scope.set(key === '@xmlns' ? '' : key.slice(7), node[key] as string);
    }
  }
  return scope ?? parent;
}

/** Every child element of `node` (document order within one name), namespaces resolved. */
export function* children(node: XmlNode, scope: NsScope): Generator<XmlChild> {
  if (typeof node === 'string') return;
  for (const key in node) {
    const c = key.charCodeAt(0);
    if (c === 64 /* @ */ || c === 35 /* # */) continue;
    const list = node[key] as XmlNode[];
    const colon = key.indexOf(':');
    const prefix = colon < 0 ? '' : key.slice(0, colon);
    const local = colon < 0 ? key : key.slice(colon + 1);
    for (const child of list) {
      const childScope = scopeOf(child, scope);
      yield { ns: childScope.get(prefix) ?? '', local, node: child, scope: childScope };
    }
  }
}

/** The first child with this namespace and local name. */
export function child(node: XmlNode, scope: NsScope, ns: string, local: string): XmlChild | undefined {
  for (const c of children(node, scope)) if (c.local === local && c.ns === ns) return c;
  return undefined;
}

/** An attribute by local name (prefix ignored), decoded. */
export function attribute(node: XmlNode, local: string): string | undefined {
  if (typeof node === 'string') return undefined;
  for (const key in node) {
    if (key.charCodeAt(0) !== 64) continue;
    const colon = key.indexOf(':');
    const name = colon < 0 ? key.slice(1) : key.slice(colon + 1);
    if (name === local && key !== '@xmlns' && !key.startsWith('@xmlns:')) return decodeText(node[key] as string);
  }
  return undefined;
}

/** Text content of a simple element, decoded; null when the element has child elements. */
export function textOf(node: XmlNode): string | null {
  if (typeof node === 'string') return decodeText(node);
  for (const key in node) {
    const c = key.charCodeAt(0);
    if (c !== 64 && c !== 35) return null;
  }
  const text = node['#text'];
  return typeof text === 'string' ? decodeText(text) : '';
}

const PREDEFINED: Readonly<Record<string, string>> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

/** Decodes the five predefined entities and character references; anything else stays as written. */
export function decodeText(text: string): string {
  if (!text.includes('&')) return text;
  return text.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[a-z]+);/g, (whole, ref: string) => {
    if (ref.charCodeAt(0) === 35) {
      const code = ref.charCodeAt(1) === 120 ? parseInt(ref.slice(2), 16) : parseInt(ref.slice(1), 10);
      return code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : whole;
    }
    return PREDEFINED[ref] ?? whole;
  });
}

/** Escapes text for element content and attribute values. */
export function escapeXml(text: string): string {
  if (!/[<>&"']/.test(text)) return text;
  return text.replace(/[<>&"']/g, (c) => (c === '<' ? '&lt;' : c === '>' ? '&gt;' : c === '&' ? '&amp;' : c === '"' ? '&quot;' : '&apos;'));
}
