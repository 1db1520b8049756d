/**
 * `ocpp-router emulate [options]` and `ocpp-router serve --emulate N`: option parsing and the runner. main.ts
 * owns the process (signals, exit); this file only builds and starts fleets.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadStationsDir, loopbackAddresses, parseVersion, templateStations, transportOf } from './config.js';
import { startFleet, type FleetHandle, type StartFleetOptions } from './index.js';
import type { ChargePointServiceOptions, EmulatorVersion, Scenario, StationSpec } from './types.js';

/** Default central system URL of generated OCPP-S stations (the router's CentralSystemService). */
export const DEFAULT_SOAP_URL = 'http://127.0.0.1:9220/Ocpp/CentralSystemService';

export const EMULATE_USAGE = `Usage: ocpp-router emulate [options]

Stations from conf/cp/<name>/configuration.json (ocpp-cs format), or a generated fleet with --stations.

  --conf DIR              station folders (default conf/cp)
  --only A,B              only these folders
  --stations N            generate N stations instead of reading folders
  --prefix P              identity prefix of generated stations (default EMU-)
  --start N               first number of generated identities (default 1)
  --url URL               central system URL: ws:// or wss:// = OCPP-J (without the identity; default
                          ws://127.0.0.1:9220/ocpp), http:// or https:// = OCPP-S, SOAP (the
                          CentralSystemService address, e.g. ${DEFAULT_SOAP_URL},
                          the default for --version 1.5); for folders it replaces CentralSystemURL of the
                          folders of the same transport (give --url twice to replace both kinds); several
                          ws(s):// URLs are the nodes of one central system: stations start spread over
                          them and, after a failed connect or a lost connection, try the next
  --version V             ocpp1.6 | ocpp2.0.1 | ocpp2.1 (OCPP-J), ocpp1.5 | ocpp1.6 (OCPP-S) for generated
                          stations (default ocpp1.6)
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
  --password PW           HTTP Basic password of every station (security profiles 1 and 2)
  --ca FILE               wss://: PEM CA certificate(s) to trust instead of the system's
  --cert FILE             wss://: PEM client certificate (security profile 3); {identity} in FILE is replaced
                          by each station's identity (one certificate per station)
  --key FILE              its private key ({identity} replaced the same way)
  --cp-host H             OCPP-S: listen address of the stations' ChargePointService (default 127.0.0.1)
  --cp-port P             OCPP-S: its port (default 0: ephemeral; thread i listens on P + i)
  --cp-path P             OCPP-S: its path before the identity (default /Ocpp/ChargePointService)
  --cp-public-host H      OCPP-S: host in the stations' WS-A From address (default --cp-host; the hostname
                          when --cp-host is 0.0.0.0 or ::)
  --duration-s S          stop after S seconds (default: run until SIGINT/SIGTERM)
  --summary-s S           summary line every S seconds on stderr (default 5, 0 off)
  --no-validate           do not validate outgoing payloads`;

export interface EmulateCli {
  fleet: StartFleetOptions;
  durationS: number;
  help: boolean;
}

const VALUE_OPTIONS = new Set(['--conf', '--only', '--stations', '--prefix', '--start', '--url', '--version', '--connectors', '--power-w', '--scenario', '--mean-arrival-s', '--mean-duration-s', '--schedule', '--every-s', '--threads', '--rate', '--local-addresses', '--password', '--ca', '--cert', '--key', '--duration-s', '--summary-s', '--cp-host', '--cp-port', '--cp-path', '--cp-public-host']);

/** Parses `emulate` arguments; throws an Error listing every problem. `root` is the package root. */
export function parseEmulateArgs(args: readonly string[], root: string): EmulateCli {
  const v = new Map<string, string>();
  const urls: string[] = [];
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
      else {
        v.set(arg, value);
        if (arg === '--url') urls.push(value);
      }
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
  for (const u of urls) if (transportOf(u) === undefined) errors.push(`--url ${u} must start with ws://, wss://, http:// or https://`);
  const httpUrls = urls.filter((u) => transportOf(u) === 'ocpp-s');
  if (httpUrls.length > 1) errors.push('--url: at most one http(s):// URL (several ws(s):// URLs are the nodes of one central system)');
  let version: EmulatorVersion = 'ocpp1.6';
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
    if (httpUrls.length > 0 && httpUrls.length < urls.length) errors.push('--stations takes URLs of one transport (ws(s):// nodes, or one http(s)://)');
    const url = urls[0] ?? (version === 'ocpp1.5' ? DEFAULT_SOAP_URL : 'ws://127.0.0.1:9220/ocpp');
    const options: Parameters<typeof templateStations>[0] = { stations: num('--stations', 0, 0), url, ...(urls.length > 1 ? { moreUrls: urls.slice(1) } : {}), prefix: v.get('--prefix') ?? 'EMU-', version, start: num('--start', 1, 0), connectors: num('--connectors', 1, 1), powerW };
    if (addrs > 0) options.localAddresses = loopbackAddresses(addrs);
    if (errors.length === 0) {
      try {
        stations = templateStations(options);
      } catch (error) {
        errors.push((error as Error).message);
      }
    }
  } else if (errors.length === 0) {
    const dir = v.get('--conf') ?? join(root, 'conf', 'cp');
    const only = v.get('--only')?.split(',');
    try {
      stations = loadStationsDir(dir, { ...(urls.length === 0 ? {} : { urlOverride: urls }), ...(only === undefined ? {} : { only }) });
      // Several ws(s):// URLs: the nodes of one central system; OCPP-J stations start spread over them and rotate.
      const nodes = urls.filter((u) => transportOf(u) === 'ocpp-j');
      if (nodes.length > 1) stations.filter((s) => s.transport === 'ocpp-j').forEach((s, i) => Object.assign(s, { url: nodes[i % nodes.length]!, urls: nodes }));
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
  tlsFiles(stations, v.get('--ca'), v.get('--cert'), v.get('--key'), errors);
  const cp: ChargePointServiceOptions = {};
  if (v.has('--cp-host')) cp.host = v.get('--cp-host')!;
  if (v.has('--cp-port')) {
    const port = num('--cp-port', 0, 0);
    if (!Number.isInteger(port) || port > 65535) errors.push('--cp-port must be an integer 0..65535');
    cp.port = port;
  }
  if (v.has('--cp-path')) {
    const path = v.get('--cp-path')!;
    if (!path.startsWith('/')) errors.push('--cp-path must start with /');
    cp.path = path;
  }
  if (v.has('--cp-public-host')) cp.publicHost = v.get('--cp-public-host')!;
  if (errors.length > 0) throw new Error(errors.join('\n'));
  const fleet: StartFleetOptions = { stations, scenario, powerW, validate, tickMs: 250, summaryIntervalMs: num('--summary-s', 5, 0) * 1000 };
  if (Object.keys(cp).length > 0) fleet.chargePointService = cp;
  if (v.has('--threads')) fleet.threads = num('--threads', 0, 0);
  if (v.has('--rate')) fleet.connectRatePerS = num('--rate', 1000, 0);
  return { fleet, durationS: num('--duration-s', 0, 0), help };
}

/** --ca, --cert, --key: the PEM texts each station's wss:// connection uses (read once per distinct file). */
function tlsFiles(stations: StationSpec[], ca: string | undefined, cert: string | undefined, key: string | undefined, errors: string[]): void {
  if (ca === undefined && cert === undefined && key === undefined) return;
  if ((cert === undefined) !== (key === undefined)) {
    errors.push('--cert and --key go together');
    return;
  }
  const texts = new Map<string, string | null>();
  const read = (file: string, option: string): string | undefined => {
    if (!texts.has(file)) {
      try {
        texts.set(file, readFileSync(file, 'utf8'));
      } catch (error) {
        texts.set(file, null);
        errors.push(`${option} ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
      }
    }
    return texts.get(file) ?? undefined;
  };
  for (const s of stations) {
    const tls: NonNullable<StationSpec['tls']> = {};
    if (ca !== undefined) tls.ca = read(ca, '--ca');
    if (cert !== undefined && key !== undefined) {
      tls.cert = read(cert.replaceAll('{identity}', s.identity), '--cert');
      tls.key = read(key.replaceAll('{identity}', s.identity), '--key');
    }
    s.tls = tls;
  }
}

/** `serve --emulate N [--emulate-version V]`: N generated stations against the server that just started. */
export function serveEmulateCount(args: readonly string[]): { count: number; version: EmulatorVersion } | { error: string } | null {
  let count: number | null = null;
  let version: EmulatorVersion = 'ocpp1.6';
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

/**
 * Starts N emulated stations (EMU-0001 …) against a local server listening on `host:port` + `path` (OCPP-J);
 * version ocpp1.5 exists only over SOAP: those post to the server's /Ocpp/CentralSystemService.
 */
export function startLocalFleet(options: { count: number; version?: EmulatorVersion; host: string; port: number; path: string; log: (line: string) => void; summaryIntervalMs?: number }): Promise<FleetHandle> {
  const host = options.host === '0.0.0.0' || options.host === '::' || options.host === '' ? '127.0.0.1' : options.host.includes(':') ? `[${options.host}]` : options.host;
  const version = options.version ?? 'ocpp1.6';
  const url = version === 'ocpp1.5' ? `http://${host}:${options.port}/Ocpp/CentralSystemService` : `ws://${host}:${options.port}${options.path}`;
  return startFleet({
    stations: templateStations({ stations: options.count, url, prefix: 'EMU-', version }),
    log: options.log,
    tickMs: 250,
    summaryIntervalMs: options.summaryIntervalMs ?? 30_000,
  });
}
