/**
 * `ocpp-router emulate [options]` and `ocpp-router serve --emulate N`: option parsing and the runner. main.ts
 * owns the process (signals, exit); this file only builds and starts fleets.
 */
import { join } from 'node:path';
import { loadStationsDir, loopbackAddresses, parseVersion, templateStations } from './config.js';
import { startFleet, type FleetHandle, type StartFleetOptions } from './index.js';
import type { Scenario, StationSpec } from './types.js';
import type { OcppVersion } from '../protocol/versions.js';

export const EMULATE_USAGE = `Usage: ocpp-router emulate [options]

Stations from conf/cp/<name>/configuration.json (ocpp-cs format), or a generated fleet with --stations.

  --conf DIR              station folders (default conf/cp)
  --only A,B              only these folders
  --stations N            generate N stations instead of reading folders
  --prefix P              identity prefix of generated stations (default EMU-)
  --start N               first number of generated identities (default 1)
  --url URL               central system URL without identity (default ws://127.0.0.1:9220/ocpp);
                          for folders it replaces CentralSystemURL
  --version V             ocpp1.6 | ocpp2.0.1 | ocpp2.1 for generated stations (default ocpp1.6)
  --connectors N          connectors (EVSEs) per generated station (default 1)
  --power-w W             connector power (default 11000)
  --scenario S            idle | random | schedule (default idle)
  --mean-arrival-s S      random: mean time between arrivals per connector (default 3600)
  --mean-duration-s S     random: mean session length (default 1800)
  --schedule JSON         schedule: [{"startS":60,"durationS":600,"connectorId":1,"idTag":"T"}]
  --every-s S             schedule: repeat period
  --threads N             worker threads (default: one per 5000 stations, at most the CPU count)
  --rate N                new connections per second (default 1000 per thread)
  --local-addresses N     spread over source addresses 127.0.0.1..127.0.0.N
  --password PW           HTTP Basic password of every station (security profile 1)
  --duration-s S          stop after S seconds (default: run until SIGINT/SIGTERM)
  --summary-s S           summary line every S seconds on stderr (default 5, 0 off)
  --no-validate           do not validate outgoing payloads`;

export interface EmulateCli {
  fleet: StartFleetOptions;
  durationS: number;
  help: boolean;
}

const VALUE_OPTIONS = new Set(['--conf', '--only', '--stations', '--prefix', '--start', '--url', '--version', '--connectors', '--power-w', '--scenario', '--mean-arrival-s', '--mean-duration-s', '--schedule', '--every-s', '--threads', '--rate', '--local-addresses', '--password', '--duration-s', '--summary-s']);

/** Parses `emulate` arguments; throws an Error listing every problem. `root` is the package root. */
export function parseEmulateArgs(args: readonly string[], root: string): EmulateCli {
  const v = new Map<string, string>();
  const errors: string[] = [];
  let validate = true;
  let help = false;
  for (let i = 0; i < args.length; i++) {
    let arg = args[i]!;
    let value: string | undefined;
    const eq = arg.indexOf('=');
    if (arg.startsWith('--') && eq > 0) {
      value = arg.slice(eq + 1);
      arg = arg.slice(0, eq);
    }
    if (arg === '--no-validate') validate = false;
    else if (arg === '--help' || arg === '-h') help = true;
    else if (VALUE_OPTIONS.has(arg)) {
      value ??= args[++i];
      if (value === undefined) errors.push(`${arg} needs a value`);
      else v.set(arg, value);
    } else errors.push(`unknown emulate option ${arg}`);
  }
  const num = (name: string, def: number, min = 0): number => {
    const text = v.get(name);
    if (text === undefined) return def;
    const n = Number(text);
    if (!Number.isFinite(n) || n < min) {
      errors.push(`${name} must be a number >= ${min}`);
      return def;
    }
    return n;
  };
  const url = v.get('--url');
  let version: OcppVersion = 'ocpp1.6';
  try {
    if (v.has('--version')) version = parseVersion(v.get('--version'), '--version');
  } catch (error) {
    errors.push((error as Error).message);
  }
  const powerW = num('--power-w', 11000, 1);
  let scenario: Scenario = { kind: 'idle' };
  const sc = v.get('--scenario') ?? 'idle';
  if (sc === 'random') scenario = { kind: 'random', meanArrivalS: num('--mean-arrival-s', 3600, 0.001), meanDurationS: num('--mean-duration-s', 1800, 0.001) };
  else if (sc === 'schedule') {
    try {
      const sessions = JSON.parse(v.get('--schedule') ?? '[]') as Array<{ startS: number; durationS: number }>;
      if (!Array.isArray(sessions) || sessions.some((s) => typeof s.startS !== 'number' || typeof s.durationS !== 'number')) throw new Error('each session needs startS and durationS');
      scenario = v.has('--every-s') ? { kind: 'schedule', sessions, everyS: num('--every-s', 0, 1) } : { kind: 'schedule', sessions };
    } catch (error) {
      errors.push(`--schedule: ${(error as Error).message}`);
    }
  } else if (sc !== 'idle') errors.push('--scenario must be idle, random or schedule');
  const addrs = num('--local-addresses', 0, 0);
  let stations: StationSpec[] = [];
  if (v.has('--stations')) {
    const options: Parameters<typeof templateStations>[0] = { stations: num('--stations', 0, 0), url: url ?? 'ws://127.0.0.1:9220/ocpp', prefix: v.get('--prefix') ?? 'EMU-', version, start: num('--start', 1, 0), connectors: num('--connectors', 1, 1), powerW };
    if (addrs > 0) options.localAddresses = loopbackAddresses(addrs);
    if (errors.length === 0) stations = templateStations(options);
  } else if (errors.length === 0) {
    const dir = v.get('--conf') ?? join(root, 'conf', 'cp');
    const only = v.get('--only')?.split(',');
    try {
      stations = loadStationsDir(dir, { ...(url === undefined ? {} : { urlOverride: url }), ...(only === undefined ? {} : { only }) });
      if (addrs > 0) {
        const list = loopbackAddresses(addrs);
        stations.forEach((s, i) => (s.localAddress = list[i % list.length]!));
      }
    } catch (error) {
      errors.push((error as Error).message);
    }
  }
  const password = v.get('--password');
  if (password !== undefined) for (const s of stations) s.password = password;
  if (errors.length > 0) throw new Error(errors.join('\n'));
  const fleet: StartFleetOptions = { stations, scenario, powerW, validate, tickMs: 250, summaryIntervalMs: num('--summary-s', 5, 0) * 1000 };
  if (v.has('--threads')) fleet.threads = num('--threads', 0, 0);
  if (v.has('--rate')) fleet.connectRatePerS = num('--rate', 1000, 0);
  return { fleet, durationS: num('--duration-s', 0, 0), help };
}

/** `serve --emulate N [--emulate-version V]`: N generated stations against the server that just started. */
export function serveEmulateCount(args: readonly string[]): { count: number; version: OcppVersion } | { error: string } | null {
  let count: number | null = null;
  let version: OcppVersion = 'ocpp1.6';
  for (let i = 0; i < args.length; i++) {
    const [name, inline] = args[i]!.split('=', 2) as [string, string | undefined];
    if (name !== '--emulate' && name !== '--emulate-version') continue;
    const value = inline ?? args[++i];
    if (name === '--emulate') {
      count = Number(value);
      if (!Number.isInteger(count) || count < 0) return { error: '--emulate needs a station count' };
    } else {
      try {
        version = parseVersion(value, '--emulate-version');
      } catch (error) {
        return { error: (error as Error).message };
      }
    }
  }
  return count === null || count === 0 ? null : { count, version };
}

/** Starts N emulated stations (EMU-0001 …) against a local server listening on `host:port` + `path`. */
export function startLocalFleet(options: { count: number; version?: OcppVersion; host: string; port: number; path: string; log: (line: string) => void; summaryIntervalMs?: number }): Promise<FleetHandle> {
  const host = options.host === '0.0.0.0' || options.host === '::' || options.host === '' ? '127.0.0.1' : options.host.includes(':') ? `[${options.host}]` : options.host;
  return startFleet({
    stations: templateStations({ stations: options.count, url: `ws://${host}:${options.port}${options.path}`, prefix: 'EMU-', version: options.version ?? 'ocpp1.6' }),
    log: options.log,
    tickMs: 250,
    summaryIntervalMs: options.summaryIntervalMs ?? 30_000,
  });
}
