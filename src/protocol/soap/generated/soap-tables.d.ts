// Types of dist/src/protocol/soap/generated/soap-tables.js, which `npm run build` generates
// (scripts/build-soap-schemas.mjs) from the unmodified WSDLs in schemas/wsdl/. Hand written: the shape is
// stable, the content comes from the WSDLs.
import type { GeneratedValidateFunction } from '../../../generated/validators-ocpp1.6.js';

/** s string, i integer, d decimal, b boolean, t dateTime, u anyURI, c complex (see `ref`). */
export type FieldKind = 's' | 'i' | 'd' | 'b' | 't' | 'u' | 'c';

export interface SimpleFacets {
  kind: FieldKind;
  /** Name of the XSD simple type, when the field has one. */
  simple?: string;
  enum?: string[];
  maxLength?: number;
  fractionDigits?: number;
}

export interface FieldSpec extends SimpleFacets {
  name: string;
  /** minOccurs. */
  min: number;
  /** maxOccurs; -1 = unbounded. */
  max: number;
  /** Complex type name when kind is 'c'. */
  ref?: string;
}

/** A complex type: a sequence of fields, or simple content with attributes (1.5 MeterValue/value). */
export interface TypeSpec {
  fields?: FieldSpec[];
  text?: SimpleFacets;
  attributes?: Array<SimpleFacets & { name: string; required: boolean }>;
}

export interface OperationSpec {
  request: { element: string; type: string };
  response: { element: string; type: string };
  /** WS-Addressing actions (wsaw:Action), e.g. '/BootNotification' and '/BootNotificationResponse'. */
  requestAction: string;
  responseAction: string;
}

export interface ServiceSpec {
  /** targetNamespace of the service, e.g. 'urn://Ocpp/Cs/2015/10/'. */
  ns: string;
  actions: Record<string, OperationSpec>;
  types: Record<string, TypeSpec>;
}

export declare const codecs: {
  readonly 'ocpp1.5': { readonly cs: ServiceSpec; readonly cp: ServiceSpec };
  readonly 'ocpp1.6': { readonly cs: ServiceSpec; readonly cp: ServiceSpec };
};

export declare const schemas15: Record<string, { request: Record<string, unknown>; response: Record<string, unknown> }>;
export declare const initiators15: Record<string, 'station' | 'central' | 'both'>;
export declare const validators15: Record<string, { request: GeneratedValidateFunction; response: GeneratedValidateFunction }>;
