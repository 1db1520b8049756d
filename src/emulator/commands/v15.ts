/**
 * OCPP 1.5 commands answered by an emulated charge point (OCPP-S only): the 15 ChargePointService operations
 * of ocpp_chargepointservice_1.5_final.wsdl, run by the 1.6 handlers (./v16.ts) with the 1.5
 * differences handled here. The station validates requests and replies with the 1.5 validators (derived from
 * the WSDL) around these handlers, so they see and return 1.5 payloads.
 *
 * Differences from 1.6 (1.5 WSDL types): SendLocalList carries `localAuthorisationList` (1.6
 * `localAuthorizationList`) and an optional `hash`; UnlockConnector.conf is Accepted / Rejected (1.6 Unlocked,
 * UnlockFailed, NotSupported); ChangeConfiguration.conf has no RebootRequired; RemoteStartTransaction has no
 * chargingProfile; FirmwareStatusNotification knows only Downloaded, DownloadFailed, InstallationFailed,
 * Installed and DiagnosticsStatusNotification only Uploaded, UploadFailed (no intermediate statuses). 1.6-only
 * operations (smart charging, TriggerMessage) are not in the table: the station answers NotImplemented (their
 * 1.5 validators do not exist either).
 */
import type { Payload } from '../../protocol/ocpp-j/frames.js';
import { centralOperations } from '../../protocol/commands/catalogue.js';
import type { CommandHandler, CommandResult } from './types.js';
import { ok } from './shared.js';
import { V16_HANDLERS } from './v16.js';

/** The 1.6 handler of `action` with its payloads adapted: `input` 1.5 → 1.6, `output` 1.6 → 1.5. */
function adapt(action: string, input: ((p: Payload) => Payload) | null, output: ((reply: Payload) => Payload) | null): CommandHandler {
  const handler = V16_HANDLERS.get(action)!;
  return (st, p) => {
    const r: CommandResult = handler(st, input === null ? p : input(p));
    if (output === null || !('reply' in r)) return r;
    return r.after === undefined ? { reply: output(r.reply) } : { reply: output(r.reply), after: r.after };
  };
}

/**
 * The operations of the 1.5 ChargePointService, from the command catalogue. The catalogue loads the SOAP tables,
 * so this module is loaded with the fleet's SoapHub (../transport/soap-hub.ts), never by an OCPP-J fleet.
 */
export const CP_ACTIONS_15: readonly string[] = centralOperations('ocpp1.5');

const h = new Map<string, CommandHandler>();
for (const action of CP_ACTIONS_15) {
  const handler = V16_HANDLERS.get(action);
  if (handler !== undefined) h.set(action, handler);
}

// OCPP 1.5 §5.15 SendLocalList: the list element is spelled localAuthorisationList.
h.set(
  'SendLocalList',
  adapt(
    'SendLocalList',
    (p) => {
      const { localAuthorisationList, hash: _hash, ...rest } = p;
      return localAuthorisationList === undefined ? rest : { ...rest, localAuthorizationList: localAuthorisationList };
    },
    null,
  ),
);

// §5.18 UnlockConnector.conf: Accepted / Rejected.
h.set('UnlockConnector', adapt('UnlockConnector', null, (r) => ({ status: r.status === 'Unlocked' ? 'Accepted' : 'Rejected' })));

// §5.3 ChangeConfiguration.conf: Accepted, Rejected, NotSupported (a change that needs a reboot is accepted).
h.set('ChangeConfiguration', adapt('ChangeConfiguration', null, (r) => (r.status === 'RebootRequired' ? { status: 'Accepted' } : r)));

// §5.9 GetDiagnostics: the file name, then DiagnosticsStatusNotification Uploaded (simulated).
h.set('GetDiagnostics', (st) => {
  const fileName = `diagnostics-${st.identity}-${Date.now()}.log`.slice(0, 255);
  return ok({ fileName }, () => st.sendSteps([['DiagnosticsStatusNotification', { status: 'Uploaded' }]]));
});

// §5.19 UpdateFirmware: FirmwareStatusNotification Downloaded → Installed (simulated).
h.set('UpdateFirmware', (st) =>
  ok({}, () =>
    st.sendSteps([
      ['FirmwareStatusNotification', { status: 'Downloaded' }],
      ['FirmwareStatusNotification', { status: 'Installed' }],
    ]),
  ),
);

export const V15_HANDLERS: ReadonlyMap<string, CommandHandler> = h;
