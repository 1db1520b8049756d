/**
 * OCPP 1.6 core: the 10 actions a charge point sends (1.6 WSDL CentralSystemService portType; DataTransfer
 * exists in both directions). Response shapes follow schemas/ocpp1.6/<Action>Response.json (draft-04).
 */
import { acknowledge, isoNow, tagStatus, type TagStatus } from './context.js';
import type { ActionHandler, HandlerTable, Payload, ResponderContext } from './context.js';

// IdTagInfo (OCPP 1.6 §7.25): only `status` is required. Shared, frozen: built once.
const ID_TAG_REPLIES: Readonly<Record<TagStatus, Payload>> = Object.freeze({
  Accepted: Object.freeze({ idTagInfo: Object.freeze({ status: 'Accepted' }) }),
  Blocked: Object.freeze({ idTagInfo: Object.freeze({ status: 'Blocked' }) }),
  Expired: Object.freeze({ idTagInfo: Object.freeze({ status: 'Expired' }) }),
  Invalid: Object.freeze({ idTagInfo: Object.freeze({ status: 'Invalid' }) }),
});

function idTagReply(ctx: ResponderContext, idTag: unknown): Payload {
  return ID_TAG_REPLIES[tagStatus(ctx, idTag)];
}

// OCPP 1.6 §6.5 BootNotification.conf: status, currentTime, interval (heartbeat interval when Accepted,
// retry interval when Pending/Rejected).
function bootNotification(ctx: ResponderContext): Payload {
  return { status: ctx.config.bootStatus, currentTime: isoNow(ctx), interval: ctx.config.heartbeatIntervalS };
}

// OCPP 1.6 §6.31 Heartbeat.conf.
function heartbeat(ctx: ResponderContext): Payload {
  return { currentTime: isoNow(ctx) };
}

// OCPP 1.6 §6.1 Authorize.conf.
function authorize(ctx: ResponderContext, payload: Payload): Payload {
  return idTagReply(ctx, payload.idTag);
}

// OCPP 1.6 §6.45 StartTransaction.conf: transactionId (integer) + idTagInfo. The id comes from the
// TransactionIdSource, unique across restarts; a dry pool throws and the call gets InternalError.
function startTransaction(ctx: ResponderContext, payload: Payload): Payload {
  const transactionId = ctx.transactionIds.next();
  return { transactionId, idTagInfo: idTagReply(ctx, payload.idTag).idTagInfo };
}

// OCPP 1.6 §6.49 StopTransaction.conf: idTagInfo only "when idTag was present in the request".
function stopTransaction(ctx: ResponderContext, payload: Payload): Payload {
  return payload.idTag === undefined ? {} : idTagReply(ctx, payload.idTag);
}

// OCPP 1.6 §6.17 DataTransfer.conf: configured status, no data.
function dataTransfer(ctx: ResponderContext): Payload {
  return ctx.dataTransferReply;
}

export const V16_CORE_HANDLERS: ReadonlyArray<readonly [string, ActionHandler]> = [
  ['Authorize', authorize],
  ['BootNotification', bootNotification],
  ['DataTransfer', dataTransfer],
  ['DiagnosticsStatusNotification', acknowledge], // §6.19: empty conf
  ['FirmwareStatusNotification', acknowledge], // §6.27: empty conf
  ['Heartbeat', heartbeat],
  ['MeterValues', acknowledge], // §6.33: empty conf
  ['StartTransaction', startTransaction],
  ['StatusNotification', acknowledge], // §6.47: empty conf
  ['StopTransaction', stopTransaction],
];

export function v16CoreTable(): HandlerTable {
  return new Map(V16_CORE_HANDLERS);
}
