/**
 * Generators of OCPP-S request bodies for the fuzz tests (test/fuzz-soap.test.ts, test/fuzz-e2e.test.ts): valid
 * envelopes of every CentralSystemService action (1.5 and 1.6, SOAP 1.1 and 1.2, WS-Addressing 2005/08 and
 * 2004/08), mutated, and XML-ish text.
 */
import fc from 'fast-check';
import { envelope, WSA_NS, WSA_2004_NS, type SoapProtocol } from '../../src/protocol/soap/envelope.js';
import { writeBody, type SoapVersion } from '../../src/protocol/soap/codec.js';
import { codecs, schemas15 } from '../../src/protocol/soap/generated/soap-tables.js';
import { sampleFromSchema, samplePayload, type JsonSchema } from './schema-samples.js';

export const VERSIONS: SoapVersion[] = ['ocpp1.5', 'ocpp1.6'];

function sample(version: SoapVersion, action: string): Record<string, unknown> {
  if (version === 'ocpp1.6') return samplePayload('ocpp1.6', action, 'request', { full: true });
  const schema = schemas15[action]!.request as JsonSchema;
  return sampleFromSchema(schema, schema, { full: true }) as Record<string, unknown>;
}

/** A valid request envelope for `action` (what a conforming charger sends). */
export function validEnvelope(version: SoapVersion, action: string, protocol: SoapProtocol, wsaNs: string): string {
  const svc = codecs[version].cs;
  return envelope(protocol, { wsaNs, action: `/${action}`, messageId: 'urn:uuid:fuzz', identity: 'FUZZ1', identityNs: svc.ns, from: 'http://127.0.0.1:9/cp' }, writeBody(svc, action, 'request', sample(version, action)));
}

export const validArb = fc
  .tuple(fc.constantFrom(...VERSIONS), fc.constantFrom<SoapProtocol>('1.1', '1.2'), fc.constantFrom(WSA_NS, WSA_2004_NS))
  .chain(([version, protocol, wsa]) => fc.constantFrom(...Object.keys(codecs[version].cs.actions)).map((action) => validEnvelope(version, action, protocol, wsa)));

export const nest = (n: number, name = 'a'): string => `<${name}>`.repeat(n) + `</${name}>`.repeat(n);

/** Snippets that XML readers have stumbled over. */
const snippet = fc.oneof(
  fc.string({ maxLength: 20 }),
  fc.constantFrom(
    '<', '>', '&', '"', "'", '</', '/>', '<a', '&amp;', '&lt;', '&gt;', '&quot;', '&apos;', '&#60;', '&#x3C;', '&#0;', '&#x0;', '&#xD800;', '&#x110000;',
    '&#99999999999999999999;', '&#x;', '&nbsp;', '&lol;', '&amp;#60;', '<![CDATA[<x>&amp;]]>', '<!-- c -->', '<!-- -- -->', '<?pi x?>', '<?xml version="1.0"?>',
    '<!DOCTYPE x>', '<!doctype x []>', '<!ENTITY a "b">', '<!DoCtYpE x>', '<!ELEMENT a ANY>', '<__proto__>1</__proto__>', '<__proto__><a>1</a></__proto__>', '<constructor>1</constructor>',
    '<toString/>', '<hasOwnProperty>x</hasOwnProperty>', '<valueOf><a/></valueOf>', ' xmlns="urn:x"', ' xmlns:s="urn:other"', ' xmlns:a=""', ' a="1"', ' a="1" a="2"', ' __proto__="x"',
    '<x:y xmlns:x="urn://Ocpp/Cs/2015/10/">1</x:y>', '<s:Body/>', '<s:Header/>', '<s:Envelope>', '</s:Envelope>', '\u0000', '\uFFFE', '\uD800', '😀', '\r\n', ' ',
  ),
  fc.integer({ min: 1, max: 3000 }).map((n) => nest(n)),
  fc.integer({ min: 1, max: 200 }).map((n) => '<a>'.repeat(n)),
  fc.integer({ min: 1, max: 2000 }).map((n) => 'x'.repeat(n)),
  fc.integer({ min: 1, max: 500 }).map((n) => '&amp;'.repeat(n)),
  fc.integer({ min: 1, max: 300 }).map((n) => ` a${n}="v"`.repeat(1) + ' b="c"'.repeat(n)),
);

type Mutation = { at: number; len: number; how: 'insert' | 'cut' | 'repeat' | 'replace'; text: string };
const mutation = fc.record({ at: fc.nat(), len: fc.nat(60), how: fc.constantFrom<Mutation['how']>('insert', 'cut', 'repeat', 'replace'), text: snippet });

function mutate(xml: string, mutations: Mutation[]): string {
  let out = xml;
  for (const m of mutations) {
    const at = m.at % (out.length + 1);
    const end = Math.min(out.length, at + m.len);
    if (m.how === 'insert') out = out.slice(0, at) + m.text + out.slice(at);
    else if (m.how === 'cut') out = out.slice(0, at) + out.slice(end);
    else if (m.how === 'repeat') out = out.slice(0, end) + out.slice(at, end) + out.slice(end);
    else out = out.slice(0, at) + m.text + out.slice(end);
  }
  return out;
}

const mutatedArb = fc.tuple(validArb, fc.array(mutation, { minLength: 1, maxLength: 4 })).map(([xml, ms]) => mutate(xml, ms));
/** Element names: a well-formed envelope whose body holds odd children (still valid XML). */
const oddChildArb = fc
  .tuple(fc.constantFrom(...VERSIONS), fc.constantFrom('__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf', '#text', 'x', 'idTag', 'meterValue', 'value'), fc.oneof(fc.constant(''), fc.string({ unit: fc.constantFrom(...'abc<>&1 '.split('')), maxLength: 10 })), fc.nat(3))
  .map(([version, name, text, n]) => {
    const svc = codecs[version].cs;
    const safeName = /^[A-Za-z_][\w.-]*$/.test(name) ? name : 'x';
    const inner = Array(n + 1).fill(`<${safeName}>${text.replace(/&/g, '&amp;').replace(/</g, '&lt;')}</${safeName}>`).join('');
    const body = `<authorizeRequest xmlns="${svc.ns}"><idTag>A</idTag>${inner}</authorizeRequest>`;
    return envelope('1.2', { wsaNs: WSA_NS, action: '/Authorize', messageId: 'urn:uuid:1', identity: 'FUZZ2', identityNs: svc.ns }, body);
  });

export const xmlish = fc.oneof(
  { weight: 1, arbitrary: fc.string({ maxLength: 200 }) },
  { weight: 1, arbitrary: fc.array(snippet, { maxLength: 12 }).map((s) => s.join('')) },
  { weight: 4, arbitrary: mutatedArb },
  { weight: 1, arbitrary: oddChildArb },
  { weight: 1, arbitrary: validArb },
);

