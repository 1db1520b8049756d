/**
 * OCPP 2.1 only: station-initiated actions new in 2.1. Of the 26 actions new in 2.1, 11 are sent by the
 * Charging Station (BatterySwap, ClosePeriodicEventStream, GetCertificateChainStatus, NotifyDERAlarm,
 * NotifyDERStartStop, NotifyPriorityCharging, NotifySettlement, OpenPeriodicEventStream,
 * PullDynamicScheduleUpdate, ReportDERControl, VatNumberValidation); the other 15 are CSMS→CS (AFRRSignal,
 * AdjustPeriodicEventStream, ChangeTransactionTariff, ClearDERControl, ClearTariffs, GetDERControl,
 * GetPeriodicEventStream, GetTariffs, NotifyAllowedEnergyTransfer, NotifyWebPaymentStarted, RequestBatterySwap,
 * SetDERControl, SetDefaultTariff, UpdateDynamicSchedule, UsePriorityCharging). NotifyWebPaymentStarted is
 * disputed (ocpp-go's 2.1 CSMSHandler receives it from stations; CitrineOS sends it to stations, and its
 * request carries the web-payment timeout the station must wait for); src/protocol/actions.ts has it
 * CSMS→CS, so the router refuses it from a station and the responder has no handler for it.
 * Sources: the request/response field semantics in schemas/ocpp2.1 (who holds the data, who answers with a
 * status), lorenzodonini/ocpp-go 2.1 CSMSHandler interfaces, rust-ocpp `v2_1` message docs.
 * NotifyPeriodicEventStream is a SEND (message type 6) and gets no reply, so it has no handler here.
 */
import { acknowledge, isoNow } from './context.js';
import type { ActionHandler, Payload, ResponderContext } from './context.js';
import { notSupported } from './v2.js';

// 2.1 adds NoChargingProfile ("Accepted, but no charging profile will follow"): exactly what a responder
// that never sends SetChargingProfile means, so 2.1 gets it instead of the 2.0.1 Rejected.
const EV_CHARGING_NEEDS_NO_PROFILE: Payload = Object.freeze({ status: 'NoChargingProfile' });
function notifyEVChargingNeeds(): Payload {
  return EV_CHARGING_NEEDS_NO_PROFILE;
}

// GetCertificateChainStatusResponse: one CertificateStatusType per requested certificate (1..4), each with
// certificateHashData, source, status and nextUpdate required. No OCSP/CRL is consulted: status Failed,
// request data echoed, nextUpdate = now (nothing cached, ask again any time).
function getCertificateChainStatus(ctx: ResponderContext, payload: Payload): Payload {
  const requests = payload.certificateStatusRequests as ReadonlyArray<Payload>;
  const nextUpdate = isoNow(ctx);
  const certificateStatus: Payload[] = new Array(requests.length);
  for (let i = 0; i < requests.length; i++) {
    const request = requests[i]!;
    certificateStatus[i] = {
      certificateHashData: request.certificateHashData,
      source: request.source,
      status: 'Failed',
      nextUpdate,
    };
  }
  return { certificateStatus };
}

// OpenPeriodicEventStreamResponse: Accepted. The stream's NotifyPeriodicEventStream SENDs need no reply;
// like MeterValues the responder takes the telemetry and keeps nothing.
const OPEN_STREAM_ACCEPTED: Payload = Object.freeze({ status: 'Accepted' });
function openPeriodicEventStream(): Payload {
  return OPEN_STREAM_ACCEPTED;
}

// PullDynamicScheduleUpdateResponse: the responder holds no dynamic charging profiles, so there is no
// update to give: Rejected (Accepted would require a scheduleUpdate).
const PULL_DYNAMIC_SCHEDULE_REJECTED: Payload = Object.freeze({
  status: 'Rejected',
  statusInfo: notSupported('The built-in responder holds no dynamic charging profiles.'),
});
function pullDynamicScheduleUpdate(): Payload {
  return PULL_DYNAMIC_SCHEDULE_REJECTED;
}

// VatNumberValidationResponse: vatNumber (echoed) and status required. No VAT registry is consulted, so
// the number is not confirmed: Rejected with statusInfo; evseId echoed when given.
const VAT_STATUS_INFO = notSupported('The built-in responder does not validate VAT numbers.');
function vatNumberValidation(_ctx: ResponderContext, payload: Payload): Payload {
  const reply: Payload = { vatNumber: payload.vatNumber, status: 'Rejected', statusInfo: VAT_STATUS_INFO };
  if (payload.evseId !== undefined) reply.evseId = payload.evseId;
  return reply;
}

/** Station-initiated actions new in 2.1 (plus the 2.1 override of NotifyEVChargingNeeds). */
export const V21_HANDLERS: ReadonlyArray<readonly [string, ActionHandler]> = [
  ['BatterySwap', acknowledge],
  ['ClosePeriodicEventStream', acknowledge],
  ['GetCertificateChainStatus', getCertificateChainStatus],
  ['NotifyDERAlarm', acknowledge],
  ['NotifyDERStartStop', acknowledge],
  ['NotifyPriorityCharging', acknowledge],
  ['NotifySettlement', acknowledge], // no receipt is generated: receiptUrl/receiptId left out
  ['OpenPeriodicEventStream', openPeriodicEventStream],
  ['PullDynamicScheduleUpdate', pullDynamicScheduleUpdate],
  ['ReportDERControl', acknowledge],
  ['VatNumberValidation', vatNumberValidation],
  ['NotifyEVChargingNeeds', notifyEVChargingNeeds],
];
