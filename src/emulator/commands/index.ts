/**
 * The answers of an emulated station to the central system's commands, per OCPP version: one table of handlers
 * per version (./v16.ts with the 1.6 security extension, ./v2.ts and ./v2-device-model.ts for 2.0.1 and 2.1,
 * ./v15.ts for OCPP-S 1.5), typed against `CommandStation` (./types.ts), the little they use of a station, and
 * sharing the helpers of ./shared.ts. The station validates the request and the reply around a handler; a
 * handler returns the reply and what to do once it is on the wire.
 *
 * The 1.5 table is not here: it reads the command catalogue, which loads the SOAP tables, so the fleet's
 * SoapHub loads it (an OCPP-J fleet never does).
 */
import type { OcppVersion } from '../../protocol/versions.js';
import type { CommandHandler } from './types.js';
import { V16_HANDLERS } from './v16.js';
import { V2_HANDLERS, V21_HANDLERS } from './v2.js';

export type { CommandHandler, CommandResult, CommandStation } from './types.js';

const TABLES: Readonly<Record<OcppVersion, ReadonlyMap<string, CommandHandler>>> = {
  'ocpp1.6': V16_HANDLERS,
  'ocpp2.0.1': V2_HANDLERS,
  'ocpp2.1': V21_HANDLERS,
};

/** The handlers of an OCPP-J version (1.6 over SOAP uses the 1.6 table too). */
export function handlersFor(version: OcppVersion): ReadonlyMap<string, CommandHandler> {
  return TABLES[version];
}
