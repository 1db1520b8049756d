/**
 * OCPP 2.0.1 and 2.1: the 25 station-initiated actions the two versions share (shared/ocpp/README.md §4,
 * from the ocpp-go CSMSHandler interfaces, cross-checked against the spec sentences quoted by rust-ocpp).
 * Response shapes follow schemas/ocpp2.0.1 and schemas/ocpp2.1 `<Action>Response.json`; for these 25
 * actions the required properties are the same in both versions.
 */
import { acknowledge, isoNow, tagStatus, type TagStatus } from './context.js';
import type { ActionHandler, Payload, ResponderContext } from './context.js';

const ACCEPTED: Payload = Object.freeze({ status: 'Accepted' });

// IdTokenInfoType: only `status` is required (2.0.1 Part 2 §2 datatypes; same in 2.1).
const ID_TOKEN_REPLIES: Readonly<Record<TagStatus, Payload>> = Object.freeze({
  Accepted: Object.freeze({ idTokenInfo: Object.freeze({ status: 'Accepted' }) }),
  Blocked: Object.freeze({ idTokenInfo: Object.freeze({ status: 'Blocked' }) }),
  Expired: Object.freeze({ idTokenInfo: Object.freeze({ status: 'Expired' }) }),
  Invalid: Object.freeze({ idTokenInfo: Object.freeze({ status: 'Invalid' }) }),
});
const ID_TOKEN_ACCEPTED = ID_TOKEN_REPLIES.Accepted;

/**
 * Policy for an IdTokenType. `NoAuthorization` tokens (idToken "", 2.0.1 §C "IdTokenEnumType") carry
 * nothing to check: the station started without authorization, so they are Accepted under the `list`
 * policy too (answering Invalid would make a station with StopTxOnInvalidId end a free-vend session).
 */
function idTokenReply(ctx: ResponderContext, idToken: unknown): Payload {
  if (idToken === null || typeof idToken !== 'object') return ID_TOKEN_REPLIES[ctx.acceptAll ? 'Accepted' : 'Invalid'];
  const token = idToken as { idToken?: unknown; type?: unknown };
  if (token.type === 'NoAuthorization') return ID_TOKEN_ACCEPTED;
  return ID_TOKEN_REPLIES[tagStatus(ctx, token.idToken)];
}

/** StatusInfoType.reasonCode is string[20], free text, case-insensitive (2.0.1 Part 2 §2 StatusInfoType). */
export function notSupported(additionalInfo: string): Payload {
  return Object.freeze({ reasonCode: 'NotSupported', additionalInfo });
}

// B01/B02/B03 BootNotificationResponse: currentTime, interval, status.
function bootNotification(ctx: ResponderContext): Payload {
  return { currentTime: isoNow(ctx), interval: ctx.config.heartbeatIntervalS, status: ctx.config.bootStatus };
}

// G02 HeartbeatResponse.
function heartbeat(ctx: ResponderContext): Payload {
  return { currentTime: isoNow(ctx) };
}

// C01 AuthorizeResponse: idTokenInfo by policy. `certificateStatus` is left out: no 15118 certificate
// validation happens here (it is optional and only meaningful when a certificate was sent).
function authorize(ctx: ResponderContext, payload: Payload): Payload {
  return idTokenReply(ctx, payload.idToken);
}

// E01-E15 TransactionEventResponse: every property optional; idTokenInfo is returned when the
// request holds an idToken (the CSMS reports the token's authorization status, 2.0.1 Part 2 §E), else `{}`.
function transactionEvent(ctx: ResponderContext, payload: Payload): Payload {
  return payload.idToken === undefined ? acknowledge() : idTokenReply(ctx, payload.idToken);
}

// P01/P02 DataTransferResponse: configured status.
function dataTransfer(ctx: ResponderContext): Payload {
  return ctx.dataTransferReply;
}

// A02/A03 SignCertificateResponse. Without a certificate authority the CSMS cannot return a
// CertificateSigned later, so Accepted would be a false promise; Rejected + statusInfo says why.
const SIGN_CERTIFICATE_REJECTED: Payload = Object.freeze({
  status: 'Rejected',
  statusInfo: notSupported('The built-in responder has no certificate authority.'),
});
function signCertificate(): Payload {
  return SIGN_CERTIFICATE_REJECTED;
}

// M02/M03 Get15118EVCertificateResponse: status and exiResponse are required. Failed with an empty
// exiResponse (no contract-certificate pool / no link to a Mobility Operator).
const GET_15118_EV_CERTIFICATE_FAILED: Payload = Object.freeze({
  status: 'Failed',
  statusInfo: notSupported('The built-in responder has no link to a contract certificate pool.'),
  exiResponse: '',
});
function get15118EVCertificate(): Payload {
  return GET_15118_EV_CERTIFICATE_FAILED;
}

// M06 GetCertificateStatusResponse: Failed (no OCSP responder is queried), no ocspResult.
const GET_CERTIFICATE_STATUS_FAILED: Payload = Object.freeze({
  status: 'Failed',
  statusInfo: notSupported('The built-in responder does not query OCSP responders.'),
});
function getCertificateStatus(): Payload {
  return GET_CERTIFICATE_STATUS_FAILED;
}

// K15-K17 NotifyEVChargingNeedsResponse. 2.0.1 has Accepted (a schedule follows), Rejected, Processing:
// a responder never sends a charging profile, so Rejected ("service not available").
const EV_CHARGING_NEEDS_REJECTED: Payload = Object.freeze({
  status: 'Rejected',
  statusInfo: notSupported('The built-in responder does not compute charging schedules.'),
});
function notifyEVChargingNeeds(): Payload {
  return EV_CHARGING_NEEDS_REJECTED;
}

// K17 NotifyEVChargingScheduleResponse: the CSMS acknowledges the schedule the EV chose.
function notifyEVChargingSchedule(): Payload {
  return ACCEPTED;
}

export const V2_HANDLERS: ReadonlyArray<readonly [string, ActionHandler]> = [
  ['Authorize', authorize],
  ['BootNotification', bootNotification],
  ['ClearedChargingLimit', acknowledge],
  ['DataTransfer', dataTransfer],
  ['FirmwareStatusNotification', acknowledge],
  ['Get15118EVCertificate', get15118EVCertificate],
  ['GetCertificateStatus', getCertificateStatus],
  ['Heartbeat', heartbeat],
  ['LogStatusNotification', acknowledge],
  ['MeterValues', acknowledge],
  ['NotifyChargingLimit', acknowledge],
  ['NotifyCustomerInformation', acknowledge],
  ['NotifyDisplayMessages', acknowledge],
  ['NotifyEVChargingNeeds', notifyEVChargingNeeds],
  ['NotifyEVChargingSchedule', notifyEVChargingSchedule],
  ['NotifyEvent', acknowledge],
  ['NotifyMonitoringReport', acknowledge],
  ['NotifyReport', acknowledge],
  ['PublishFirmwareStatusNotification', acknowledge],
  ['ReportChargingProfiles', acknowledge],
  ['ReservationStatusUpdate', acknowledge],
  ['SecurityEventNotification', acknowledge],
  ['SignCertificate', signCertificate],
  ['StatusNotification', acknowledge],
  ['TransactionEvent', transactionEvent],
];
