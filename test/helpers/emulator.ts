/**
 * A real router and one in-thread emulated station whose events are recorded: the setup of the emulator tests
 * over either transport (test/emulator.test.ts for OCPP-J, test/emulator-soap.test.ts for OCPP-S).
 */
import type { TestContext } from 'node:test';
import { startTestServer, waitFor, type TestServer } from './server.js';
import { startFleet, templateStations, type FleetHandle, type StationEvent, type StartFleetOptions } from '../../src/emulator/index.js';
import type { EmulatedStation } from '../../src/emulator/station/index.js';
import type { StationVersion } from '../../src/protocol/versions.js';

/** Short delays so that firmware steps, reboots, reconnects and replays fit in a test. */
export const FAST_TIMINGS = { statusStepMs: 20, rebootDelayMs: 100, reconnectMinMs: 100, reconnectMaxMs: 500, replayIntervalMs: 20 };

export type Sent = Extract<StationEvent, { type: 'sent' }>;

export interface EmuSetup {
  h: TestServer;
  fleet: FleetHandle;
  events: StationEvent[];
  station: EmulatedStation;
  id: string;
  /** Station → central CALLs sent so far, optionally of one action. */
  sent(action?: string): Sent[];
  /** Waits for a CALL of `action` whose payload satisfies `predicate`. */
  waitSent(action: string, predicate?: (p: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Sent>;
  /** The server's view of a connector ('1' for 1.5/1.6, '1/1' for 2.x). */
  connectorStatus(connector: string): string | undefined;
}

export interface EmuSetupOptions {
  version: StationVersion;
  /** The central system URL for the router's port (ws://…/ocpp or http://…/Ocpp/CentralSystemService). */
  url(port: number): string;
  prefix: string;
  /** The connector whose status says the boot is complete (the last one: '2' or '2/1'). */
  bootedConnector: string;
  extra?: Partial<StartFleetOptions>;
  serverOverrides?: Parameters<typeof startTestServer>[0];
  serverOptions?: Parameters<typeof startTestServer>[1];
}

export async function startEmulatorSetup(t: TestContext, o: EmuSetupOptions): Promise<EmuSetup> {
  const h = await startTestServer({ responder: { heartbeatIntervalS: 60 }, ...o.serverOverrides }, o.serverOptions);
  const events: StationEvent[] = [];
  const fleet = await startFleet({
    stations: templateStations({ stations: 1, url: o.url(h.port), version: o.version, prefix: o.prefix, connectors: 2 }),
    threads: 0,
    summaryIntervalMs: 0,
    connectRatePerS: 0,
    timings: FAST_TIMINGS,
    onEvent: (e) => events.push(e),
    ...o.extra,
  });
  t.after(async () => {
    const stats = await fleet.stop();
    await h.stop();
    // Every payload the station built was schema-valid.
    if (stats.invalidOutgoing !== 0) throw new Error(`${stats.invalidOutgoing} invalid payloads built by the emulator`);
  });
  const station = fleet.local!.stations[0]!;
  const id = station.identity;
  // Every connector up to the last one reported: OCPP-S requests may reach the control plane through different
  // shards, whose reports need not arrive in the order the station sent them.
  const connectors = /^\d+$/.test(o.bootedConnector) ? Array.from({ length: Number(o.bootedConnector) + 1 }, (_, i) => String(i)) : [o.bootedConnector];
  await waitFor(() => connectors.every((c) => h.server.station(id)?.connectors[c] !== undefined), 5000, `${id} booted with statuses`);
  const sent = (action?: string): Sent[] => events.filter((e): e is Sent => e.type === 'sent' && (action === undefined || e.action === action));
  return {
    h,
    fleet,
    events,
    station,
    id,
    sent,
    waitSent: (action, predicate = () => true, timeoutMs = 5000) => waitFor(() => sent(action).find((e) => predicate(e.payload)), timeoutMs, `${action} sent`),
    connectorStatus: (connector) => h.server.station(id)?.connectors[connector]?.status,
  };
}
