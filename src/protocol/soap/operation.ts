/**
 * The operation a SOAP request asks for, read the same way by both services this project serves: the router's
 * CentralSystemService (src/soap/endpoint.ts) and the emulator's ChargePointService (src/emulator/soap-hub.ts).
 */
import type { ServiceSpec } from './generated/soap-tables.js';
import { CodecError, readType, type Payload } from './codec.js';
import { SoapFault, type ParsedEnvelope } from './envelope.js';

/**
 * The action of a request without a WS-Addressing Action header: the `action` parameter of a SOAP 1.2
 * Content-Type, else the SOAP 1.1 SOAPAction header.
 */
export function actionFromHttp(contentType: string | undefined, soapAction: string | string[] | undefined): string | null {
  const m = /;\s*action\s*=\s*"?([^";]+)"?/i.exec(contentType ?? '');
  if (m !== null) return m[1]!;
  const text = (Array.isArray(soapAction) ? soapAction[0] : soapAction)?.replace(/"/g, '') ?? '';
  return text === '' ? null : text;
}

export interface SoapOperation {
  /** The operation name (the last segment of the action URI). */
  action: string;
  actionUri: string;
  /** Its WSDL description (request and response elements, response Action). */
  op: ServiceSpec['actions'][string];
  /** The body read into the JSON payload an OCPP-J peer would send. */
  payload: Payload;
}

/**
 * Checks the WS-Addressing Action and MessageID (`httpAction` stands in for a missing Action), finds the
 * operation in `svc` (`serviceName` for the Fault text) and reads the body element it declares.
 * Throws SoapFault: ProtocolError, NotImplemented, FormatViolation.
 */
export function readOperation(env: ParsedEnvelope, svc: ServiceSpec, serviceName: string, version: string, httpAction: string | null): SoapOperation {
  const body = env.body!;
  const actionUri = env.wsa.action ?? httpAction;
  if (actionUri === null || actionUri === '') throw new SoapFault('Sender', 'ProtocolError', 'the WS-Addressing Action header is missing', 'missingHeader');
  if (env.wsa.messageId === null || env.wsa.messageId === '') throw new SoapFault('Sender', 'ProtocolError', 'the WS-Addressing MessageID header is missing', 'missingHeader');
  const action = actionUri.slice(actionUri.lastIndexOf('/') + 1);
  const op = Object.hasOwn(svc.actions, action) ? svc.actions[action]! : undefined;
  if (op === undefined) throw new SoapFault('Sender', 'NotImplemented', `action ${actionUri} is not a ${serviceName} operation of OCPP ${version.slice(4)}`, 'unknownAction');
  if (body.local !== op.request.element) throw new SoapFault('Sender', 'ProtocolError', `action ${actionUri} needs body element ${op.request.element}, got ${body.local}`, 'mismatch');
  try {
    return { action, actionUri, op, payload: readType(svc, op.request.type, body.node, body.scope) };
  } catch (error) {
    if (error instanceof CodecError) throw new SoapFault('Sender', 'FormatViolation', `${error.path}: ${error.message}`, 'body');
    throw error;
  }
}
