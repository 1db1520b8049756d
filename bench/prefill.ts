/**
 * A large registry for the scale scenarios: `stations.json` in the format of earlier versions
 * (`ocpp-router/stations@1`, what a router before the store kept and what one with the store imports once),
 * with `count` stations `BENCH-0 …` (the load generator's identities come first, so the connecting fleet is part
 * of it). Each record is what a booted station leaves: boot payload, two connectors, last close (~700 B).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

export function writeLegacyStations(dataDir: string, count: number): number {
  const now = Date.now();
  const stations = Array.from({ length: count }, (_, n) => ({
    identity: `BENCH-${n}`,
    account: null,
    version: 'ocpp1.6',
    transport: 'ws',
    connected: false,
    remoteAddress: `127.0.0.${2 + (n % 200)}`,
    connectedAt: now - 86_400_000,
    disconnectedAt: now - 60_000,
    lastDisconnect: { code: 1006, reason: '' },
    lastMessageAt: now - 60_000,
    boot: {
      payload: { chargePointVendor: 'BenchVendor', chargePointModel: 'BenchModel-22kW', chargePointSerialNumber: `SN-${1_000_000 + n}`, chargeBoxSerialNumber: `CB-${n}`, firmwareVersion: '1.8.4-build.2231', iccid: '8944500102198304826', imsi: '234500010239482', meterType: 'DZG DVH4014', meterSerialNumber: `M-${n}` },
      status: 'Accepted',
      at: now - 86_400_000,
    },
    connectors: {
      '0': { connector: '0', status: 'Available', errorCode: 'NoError', at: now - 86_400_000 },
      '1': { connector: '1', status: 'Available', errorCode: 'NoError', at: now - 3_600_000 },
      '2': { connector: '2', status: 'Charging', errorCode: 'NoError', at: now - 600_000 },
    },
    shard: null,
    connId: null,
  }));
  const text = JSON.stringify({ format: 'ocpp-router/stations@1', savedAt: now, stations });
  writeFileSync(join(dataDir, 'stations.json'), text);
  return text.length;
}
