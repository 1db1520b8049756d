/**
 * OCPP 1.5 (OCPP-S only): the 10 actions a charge point sends (1.5 WSDL CentralSystemService portType).
 * Response shapes follow the JSON schemas derived at build time from the 1.5 WSDL's XSD types
 * (scripts/build-soap-schemas.mjs). They are the 1.6 shapes except BootNotification.conf, whose interval is
 * called `heartbeatInterval` (1.6 renamed it `interval`), so the 1.6 handlers serve with that one replaced.
 */
import { isoNow } from './context.js';
import type { ActionHandler, Payload, ResponderContext } from './context.js';
import { V16_CORE_HANDLERS } from './v16.js';

// OCPP 1.5 §6.5 BootNotification.conf: status, currentTime, heartbeatInterval.
function bootNotification(ctx: ResponderContext): Payload {
  return { status: ctx.config.bootStatus, currentTime: isoNow(ctx), heartbeatInterval: ctx.config.heartbeatIntervalS };
}

export const V15_HANDLERS: ReadonlyArray<readonly [string, ActionHandler]> = V16_CORE_HANDLERS.map(([action, handler]) =>
  action === 'BootNotification' ? ([action, bootNotification] as const) : ([action, handler] as const),
);
