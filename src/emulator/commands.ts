/** Command handlers by version: the answers of an emulated station to the central system's CALLs. */
import type { Payload } from '../protocol/ocpp-j/frames.js';
import type { RpcErrorCode } from '../protocol/rpc-error-codes.js';
import type { EmulatedStation } from './station.js';
import type { EmulatorVersion } from './types.js';
import { V16_HANDLERS } from './commands-v16.js';
import { V15_HANDLERS } from './commands-v15.js';
import { V2_HANDLERS, V21_HANDLERS } from './commands-v2.js';

/** A reply (and what to do once it is on the wire: SOAP runs it after the response is written), or a CALLERROR. */
export type CommandResult = { reply: Payload; after?: () => void } | { error: RpcErrorCode; description: string };
export type CommandHandler = (station: EmulatedStation, payload: Payload) => CommandResult;

/** The handlers of a version (a switch, not a table built at load: the version modules import this one). */
export function handlersFor(version: EmulatorVersion): ReadonlyMap<string, CommandHandler> {
  switch (version) {
    case 'ocpp1.6':
      return V16_HANDLERS;
    case 'ocpp2.0.1':
      return V2_HANDLERS;
    case 'ocpp2.1':
      return V21_HANDLERS;
    case 'ocpp1.5':
      return V15_HANDLERS;
  }
}

/** Shared helpers of both versions. */
export function ok(reply: Payload, after?: () => void): CommandResult {
  return after === undefined ? { reply } : { reply, after };
}

export function isoNow(): string {
  return new Date().toISOString();
}

/** The reply file `<Action>.json` of a station folder (ocpp-cs convention), if any. */
export function fileReply(station: EmulatedStation, action: string): Payload | undefined {
  return station.spec.files?.[action];
}

/**
 * CancelReservation: the same in 1.6 (§5.1) and 2.x (H02), both by `reservationId`. A function declaration
 * (hoisted), because the version tables that use it load while this module is still being evaluated.
 */
export function cancelReservation(st: EmulatedStation, p: Payload): CommandResult {
  const c = st.connectors.find((x) => x.reservation?.id === p.reservationId);
  if (c === undefined) return ok({ status: 'Rejected' });
  c.reservation = null;
  return ok({ status: 'Accepted' }, () => st.setStatus(c, 'Available'));
}
