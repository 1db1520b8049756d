/**
 * OCPP-S envelopes: SOAP 1.2 (the binding of every OCPP WSDL) and SOAP 1.1 (some chargers send it), with
 * WS-Addressing (2005/08, and the 2004/08 submission some firmware still uses) and the `chargeBoxIdentity`
 * header of the service's namespace (OCPP 1.5/1.6 WSDL: soap12:header part ChargeBoxIdentity).
 */
import { randomUUID } from 'node:crypto';
import { RpcErrorCode, wireErrorCode } from '../rpc-error-codes.js';
import { child, children, escapeXml, parseXml, scopeOf, textOf, XmlError, type NsScope, type XmlChild, type XmlNode } from './xml.js';

export const SOAP12_NS = 'http://www.w3.org/2003/05/soap-envelope';
export const SOAP11_NS = 'http://schemas.xmlsoap.org/soap/envelope/';
export const WSA_NS = 'http://www.w3.org/2005/08/addressing';
export const WSA_2004_NS = 'http://schemas.xmlsoap.org/ws/2004/08/addressing';
export const WSA_ANONYMOUS = 'http://www.w3.org/2005/08/addressing/anonymous';
export const WSA_FAULT_ACTION = 'http://www.w3.org/2005/08/addressing/soap/fault';

/** Service namespaces (OCPP WSDLs, ../shared/ocpp/README.md §3). */
export const OCPP_NAMESPACES = {
  'ocpp1.2': { cs: 'urn://Ocpp/Cs/2010/08/', cp: 'urn://Ocpp/Cp/2010/08/' },
  'ocpp1.5': { cs: 'urn://Ocpp/Cs/2012/06/', cp: 'urn://Ocpp/Cp/2012/06/' },
  'ocpp1.6': { cs: 'urn://Ocpp/Cs/2015/10/', cp: 'urn://Ocpp/Cp/2015/10/' },
} as const;

export type SoapProtocol = '1.1' | '1.2';

/** Why a request was refused; bounded, used as a metric label. */
export type FaultReason =
  | 'tooLarge'
  | 'method'
  | 'dtd'
  | 'malformedXml'
  | 'notSoap'
  | 'missingHeader'
  | 'badIdentity'
  | 'wrongNamespace'
  | 'unknownAction'
  | 'mismatch'
  | 'body'
  | 'call'
  | 'busy'
  | 'shutdown'
  | 'internal';

/** A SOAP Fault to answer with. `subcode` is the OCPP error code (canonical spelling). */
export class SoapFault extends Error {
  readonly code: 'Sender' | 'Receiver' | 'VersionMismatch';
  readonly subcode: string | null;
  readonly reason: FaultReason;
  readonly httpStatus: number;
  constructor(code: 'Sender' | 'Receiver' | 'VersionMismatch', subcode: string | null, message: string, reason: FaultReason, httpStatus?: number) {
    super(message);
    this.code = code;
    this.subcode = subcode;
    this.reason = reason;
    // SOAP 1.2 Part 2 §7.5.2.2: Sender faults → 400, Receiver and VersionMismatch → 500.
    this.httpStatus = httpStatus ?? (code === 'Sender' ? 400 : 500);
  }
}

export interface WsaHeaders {
  ns: string;
  messageId: string | null;
  action: string | null;
  to: string | null;
  from: string | null;
  replyTo: string | null;
  relatesTo: string | null;
}

export interface ParsedEnvelope {
  protocol: SoapProtocol;
  wsa: WsaHeaders;
  /** Header elements by namespace|local (first one of each). */
  header: XmlChild[];
  /** The first element of the Body. */
  body: XmlChild | null;
  /** The Fault, when the body is one. */
  fault: { code: string; subcode: string | null; reason: string } | null;
}

function addressOf(c: XmlChild | undefined, wsaNs: string): string | null {
  if (c === undefined) return null;
  const address = child(c.node, c.scope, wsaNs, 'Address');
  return address === undefined ? null : (textOf(address.node) ?? '').trim();
}

function text(c: XmlChild | undefined): string | null {
  return c === undefined ? null : (textOf(c.node) ?? '').trim();
}

/** Parses a SOAP envelope. Throws SoapFault for anything that is not one. */
export function parseEnvelope(xml: string): ParsedEnvelope {
  let doc;
  try {
    doc = parseXml(xml);
  } catch (error) {
    const e = error as XmlError;
    throw new SoapFault('Sender', RpcErrorCode.FormatViolation, e.message, e instanceof XmlError && e.kind === 'dtd' ? 'dtd' : 'malformedXml');
  }
  const roots = [...children(doc as XmlNode, scopeOf(doc as XmlNode))];
  if (roots.length !== 1) throw new SoapFault('Sender', RpcErrorCode.FormatViolation, 'the document must have exactly one root element', 'malformedXml');
  const root = roots[0]!;
  if (root.local !== 'Envelope' || (root.ns !== SOAP12_NS && root.ns !== SOAP11_NS)) {
    // SOAP 1.2 Part 1 §5.4.7: an envelope in another namespace (or none) is a VersionMismatch.
    throw new SoapFault('VersionMismatch', null, `root element {${root.ns}}${root.local} is not a SOAP 1.2 or 1.1 Envelope`, 'notSoap');
  }
  const protocol: SoapProtocol = root.ns === SOAP12_NS ? '1.2' : '1.1';
  const headerEl = child(root.node, root.scope, root.ns, 'Header');
  const bodyEl = child(root.node, root.scope, root.ns, 'Body');
  if (bodyEl === undefined) throw new SoapFault('Sender', RpcErrorCode.FormatViolation, 'the envelope has no Body', 'notSoap');
  const header = headerEl === undefined ? [] : [...children(headerEl.node, headerEl.scope)];
  let wsaNs = WSA_NS;
  if (!header.some((h) => h.ns === WSA_NS) && header.some((h) => h.ns === WSA_2004_NS)) wsaNs = WSA_2004_NS;
  const find = (local: string): XmlChild | undefined => header.find((h) => h.ns === wsaNs && h.local === local);
  const wsa: WsaHeaders = {
    ns: wsaNs,
    messageId: text(find('MessageID')),
    action: text(find('Action')),
    to: text(find('To')),
    from: addressOf(find('From'), wsaNs),
    replyTo: addressOf(find('ReplyTo'), wsaNs),
    relatesTo: text(find('RelatesTo')),
  };
  let body: XmlChild | null = null;
  for (const c of children(bodyEl.node, bodyEl.scope)) {
    body = c;
    break;
  }
  let fault: ParsedEnvelope['fault'] = null;
  if (body !== null && body.local === 'Fault' && body.ns === root.ns) fault = readFault(body, protocol);
  return { protocol, wsa, header, body, fault };
}

function localOfQName(qname: string): string {
  const i = qname.indexOf(':');
  return i < 0 ? qname : qname.slice(i + 1);
}

function readFault(f: XmlChild, protocol: SoapProtocol): { code: string; subcode: string | null; reason: string } {
  if (protocol === '1.1') {
    const code = localOfQName(text(child(f.node, f.scope, '', 'faultcode')) ?? 'Server');
    const reason = text(child(f.node, f.scope, '', 'faultstring')) ?? '';
    return { code, subcode: null, reason };
  }
  const ns = SOAP12_NS;
  const codeEl = child(f.node, f.scope, ns, 'Code');
  const code = codeEl === undefined ? 'Receiver' : localOfQName(text(child(codeEl.node, codeEl.scope, ns, 'Value')) ?? 'Receiver');
  const sub = codeEl === undefined ? undefined : child(codeEl.node, codeEl.scope, ns, 'Subcode');
  const subcode = sub === undefined ? null : localOfQName(text(child(sub.node, sub.scope, ns, 'Value')) ?? '');
  const reasonEl = child(f.node, f.scope, ns, 'Reason');
  const reason = reasonEl === undefined ? '' : text(child(reasonEl.node, reasonEl.scope, ns, 'Text')) ?? '';
  return { code, subcode, reason };
}

/** The header element `{ns}local` as text, or null. */
export function headerText(env: ParsedEnvelope, ns: string, local: string): string | null {
  const h = env.header.find((c) => c.ns === ns && c.local === local);
  return h === undefined ? null : (textOf(h.node) ?? '').trim();
}

/** Any header element with this local name (whatever its namespace), for diagnostics. */
export function headerNamespaces(env: ParsedEnvelope, local: string): string[] {
  return env.header.filter((c) => c.local === local).map((c) => c.ns);
}

export function contentType(protocol: SoapProtocol, action?: string): string {
  if (protocol === '1.1') return 'text/xml; charset=utf-8';
  return action === undefined ? 'application/soap+xml; charset=utf-8' : `application/soap+xml; charset=utf-8; action="${action}"`;
}

function envNs(protocol: SoapProtocol): string {
  return protocol === '1.2' ? SOAP12_NS : SOAP11_NS;
}

export interface OutHeaders {
  wsaNs: string;
  action: string;
  messageId?: string;
  relatesTo?: string | null;
  to?: string | null;
  from?: string | null;
  /** chargeBoxIdentity header in `identityNs`. */
  identity?: string;
  identityNs?: string;
}

function headerXml(h: OutHeaders): string {
  let out = '';
  if (h.identity !== undefined) out += `<chargeBoxIdentity xmlns="${h.identityNs}">${escapeXml(h.identity)}</chargeBoxIdentity>`;
  out += `<a:Action>${escapeXml(h.action)}</a:Action>`;
  out += `<a:MessageID>${escapeXml(h.messageId ?? `urn:uuid:${randomUUID()}`)}</a:MessageID>`;
  if (h.relatesTo) out += `<a:RelatesTo>${escapeXml(h.relatesTo)}</a:RelatesTo>`;
  if (h.from) out += `<a:From><a:Address>${escapeXml(h.from)}</a:Address></a:From>`;
  if (h.to) out += `<a:To>${escapeXml(h.to)}</a:To>`;
  return out;
}

/** A complete envelope around `bodyXml`. */
export function envelope(protocol: SoapProtocol, headers: OutHeaders, bodyXml: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?><s:Envelope xmlns:s="${envNs(protocol)}" xmlns:a="${headers.wsaNs}"><s:Header>${headerXml(headers)}</s:Header><s:Body>${bodyXml}</s:Body></s:Envelope>`;
}

/** The Fault element: SOAP 1.2 Code/Subcode/Reason, or SOAP 1.1 faultcode/faultstring. */
export function faultXml(protocol: SoapProtocol, fault: SoapFault, wireSubcode: string | null, ocppNs: string): string {
  const message = escapeXml(fault.message);
  if (protocol === '1.1') {
    const code = fault.code === 'Sender' ? 'Client' : fault.code === 'Receiver' ? 'Server' : 'VersionMismatch';
    const detail = wireSubcode === null ? '' : `<detail><o:errorCode xmlns:o="${ocppNs}">${wireSubcode}</o:errorCode></detail>`;
    return `<s:Fault><faultcode>s:${code}</faultcode><faultstring xml:lang="en">${message}</faultstring>${detail}</s:Fault>`;
  }
  const sub = wireSubcode === null ? '' : `<s:Subcode><s:Value xmlns:o="${ocppNs}">o:${wireSubcode}</s:Value></s:Subcode>`;
  return `<s:Fault><s:Code><s:Value>s:${fault.code}</s:Value>${sub}</s:Code><s:Reason><s:Text xml:lang="en">${message}</s:Text></s:Reason></s:Fault>`;
}

/**
 * A whole Fault envelope answering `request` (RelatesTo its MessageID, in its WS-Addressing namespace; a request
 * that could not be read gets the 2005/08 one), the OCPP code as Subcode in the 1.6 spellings (FormationViolation
 * …, shared by 1.5 and 1.6) in `ocppNs`, and the chargeBoxIdentity header when the identity is known.
 */
export function faultEnvelope(protocol: SoapProtocol, fault: SoapFault, ocppNs: string, request: ParsedEnvelope | null, identity: string | null): string {
  const subcode = fault.subcode === null ? null : wireErrorCode('ocpp1.6', fault.subcode as RpcErrorCode);
  const headers: OutHeaders = { wsaNs: request?.wsa.ns ?? WSA_NS, action: WSA_FAULT_ACTION, relatesTo: request?.wsa.messageId ?? null };
  if (identity !== null) {
    headers.identity = identity;
    headers.identityNs = ocppNs;
  }
  return envelope(protocol, headers, faultXml(protocol, fault, subcode, ocppNs));
}

export type { NsScope, XmlChild };
