/**
 * OCPP 1.6 security extension ("Improved security for OCPP 1.6-J", edition 2 §5): the four messages a
 * charge point sends. Schemas: schemas/ocpp1.6-security/<Action>Response.json (draft-06). The three
 * notifications have empty confirmations with additionalProperties false, so the answer is exactly `{}`.
 */
import { acknowledge } from './context.js';
import type { ActionHandler, Payload } from './context.js';

// A responder holds no certificate authority, so it cannot honour a CSR: answering Accepted would promise
// a CertificateSigned.req that never comes (the charge point would wait, then retry per its
// CertSigningWaitMinimum / CertSigningRepeatTimes). Rejected ("CSMS will not process the request") is the
// honest answer; the schema has no statusInfo in 1.6.
const SIGN_CERTIFICATE_REJECTED: Payload = Object.freeze({ status: 'Rejected' });

function signCertificate(): Payload {
  return SIGN_CERTIFICATE_REJECTED;
}

export const V16_SECURITY_HANDLERS: ReadonlyArray<readonly [string, ActionHandler]> = [
  ['LogStatusNotification', acknowledge],
  ['SecurityEventNotification', acknowledge],
  ['SignCertificate', signCertificate],
  ['SignedFirmwareStatusNotification', acknowledge],
];
