/**
 * Station configurations: the `conf/cp/<name>/configuration.json` folders of the C++ ocpp-cs emulator, in both
 * of its styles, or a template (`--stations 5000 --prefix EMU-`).
 *
 * Format facts (apostoldevel/ocpp-cs: conf/cp/CP1/configuration.json, conf/cp/CP201/configuration.json,
 * conf/cp/CP205/configuration.json, src/processes/CPEmulator/CPEmulator.cpp `create_station`):
 *  - 1.6 style: `{"connectorId": [{"id": 1, "voltage": "DC", "interface": "CCS2", "meterValue": 0}, …],
 *    "configurationKey": [{"key": "CentralSystemURL", "readonly": false, "value": "ws://localhost:9220/ocpp"}, …]}`.
 *    A connectorId entry may also be a bare integer. The identity is the `StationIdentity` key, else the folder
 *    name; the URL is `CentralSystemURL` + "/" + url-encoded identity; BootNotification is built from the keys
 *    ChargePointVendor, ChargePointModel, ChargePointSerialNumber, ChargePointSoftwareVersion (firmwareVersion),
 *    unless the folder holds a `BootNotification.json`; `<Action>.json` files in the folder are canned replies
 *    (CP1/DataTransfer.json).
 *  - 2.0.1 style: `{"OcppVersion": "2.0.1", "ChargePointVendor", "ChargePointModel", "ChargePointSerialNumber",
 *    "ChargePointSoftwareVersion", "CentralSystemURL", "Evses": [{"evseId": 1, "power": 7400, "connectors":
 *    [{"connectorId": 1, "type": "cCCS2"}]}], "ConfigurationKeys": {"HeartbeatInterval": {"value": "60",
 *    "readonly": false}, …}, "Geo": {…}}`.
 * Extensions (ignored by ocpp-cs): `"OcppVersion": "2.1"`, `StationIdentity` at the top level of the 2.x style,
 * `power` (W) on 1.6 connectorId entries.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { OcppVersion } from '../protocol/versions.js';
import type { ConfigKey, ConnectorSpec, StationSpec } from './types.js';

export class EmulatorConfigError extends Error {
  override name = 'EmulatorConfigError';
  constructor(message: string, readonly file?: string) {
    super(file === undefined ? message : `${file}: ${message}`);
  }
}

/** Versions written as "1.6", "2.0.1", "2.1" or "ocpp1.6" … */
export function parseVersion(value: unknown, where = 'version'): OcppVersion {
  const text = String(value).trim().toLowerCase();
  const v = text.startsWith('ocpp') ? text.slice(4) : text;
  if (v === '1.6') return 'ocpp1.6';
  if (v === '2.0.1') return 'ocpp2.0.1';
  if (v === '2.1') return 'ocpp2.1';
  throw new EmulatorConfigError(`${where}: unsupported OCPP version ${JSON.stringify(value)} (1.6, 2.0.1 or 2.1)`);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Default keys of a station (added where the file does not set them). */
export function defaultKeys(version: OcppVersion, connectors: number): Map<string, ConfigKey> {
  const rw = (value: string): ConfigKey => ({ value, readonly: false });
  const ro = (value: string): ConfigKey => ({ value, readonly: true });
  const keys = new Map<string, ConfigKey>([
    ['HeartbeatInterval', rw('300')],
    ['MeterValueSampleInterval', rw('60')],
    ['ConnectionTimeOut', rw('60')],
    ['AuthorizeRemoteTxRequests', rw('false')],
    ['AuthorizationCacheEnabled', rw('true')],
    ['LocalAuthListEnabled', rw('true')],
    ['MeterValuesSampledData', rw('Energy.Active.Import.Register,Power.Active.Import')],
    ['StopTransactionOnEVSideDisconnect', rw('true')],
  ]);
  if (version === 'ocpp1.6') {
    keys.set('NumberOfConnectors', ro(String(connectors)));
    keys.set('SupportedFeatureProfiles', ro('Core,FirmwareManagement,LocalAuthListManagement,Reservation,SmartCharging,RemoteTrigger'));
    keys.set('GetConfigurationMaxKeys', ro('100'));
    keys.set('SendLocalListMaxLength', ro('100'));
    keys.set('LocalAuthListMaxLength', ro('100'));
    keys.set('ReserveConnectorZeroSupported', ro('false'));
    keys.set('ChargeProfileMaxStackLevel', ro('10'));
  }
  return keys;
}

function readJson(file: string): unknown {
  try {
    return JSON.parse(readFileSync(file, 'utf8').replace(/^\uFEFF/, ''));
  } catch (error) {
    throw new EmulatorConfigError(`cannot read JSON: ${(error as Error).message}`, file);
  }
}

function keyValue(keys: Map<string, ConfigKey>, name: string): string | undefined {
  const v = keys.get(name)?.value;
  return v === undefined || v === '' ? undefined : v;
}

/**
 * Parses one configuration.json (either style) into a StationSpec. `name` is the folder name (the identity
 * unless StationIdentity says otherwise); `urlOverride` replaces CentralSystemURL when given.
 */
export function parseStationConfig(json: unknown, name: string, options: { file?: string; dir?: string; urlOverride?: string; version?: OcppVersion } = {}): StationSpec {
  const file = options.file;
  if (!isObject(json)) throw new EmulatorConfigError('the configuration is not a JSON object', file);
  let spec: StationSpec;
  if (Array.isArray(json.Evses) || isObject(json.ConfigurationKeys) || json.OcppVersion !== undefined) {
    // ocpp-cs 2.0.1 style.
    const version = json.OcppVersion === undefined ? 'ocpp2.0.1' : parseVersion(json.OcppVersion, 'OcppVersion');
    const connectors: ConnectorSpec[] = [];
    const evses = Array.isArray(json.Evses) ? json.Evses : [];
    for (const [i, evse] of evses.entries()) {
      if (!isObject(evse) || !Number.isInteger(evse.evseId) || (evse.evseId as number) < 1) throw new EmulatorConfigError(`Evses[${i}].evseId must be an integer ≥ 1`, file);
      const list = Array.isArray(evse.connectors) && evse.connectors.length > 0 ? evse.connectors : [{ connectorId: 1 }];
      for (const [j, c] of list.entries()) {
        if (!isObject(c) || !Number.isInteger(c.connectorId) || (c.connectorId as number) < 1) throw new EmulatorConfigError(`Evses[${i}].connectors[${j}].connectorId must be an integer ≥ 1`, file);
        const conn: ConnectorSpec = { evseId: evse.evseId as number, connectorId: c.connectorId as number };
        if (typeof c.type === 'string') conn.type = c.type;
        if (typeof evse.power === 'number' && evse.power > 0) conn.powerW = evse.power;
        connectors.push(conn);
      }
    }
    if (connectors.length === 0) connectors.push({ evseId: 1, connectorId: 1 });
    const keys = defaultKeys(version, connectors.length);
    if (isObject(json.ConfigurationKeys)) {
      for (const [key, entry] of Object.entries(json.ConfigurationKeys)) {
        if (isObject(entry)) keys.set(key, { value: String(entry.value ?? ''), readonly: entry.readonly === true });
        else keys.set(key, { value: String(entry), readonly: false });
      }
    }
    const url = options.urlOverride ?? (typeof json.CentralSystemURL === 'string' ? json.CentralSystemURL : keyValue(keys, 'CentralSystemURL'));
    if (url === undefined || url === '') throw new EmulatorConfigError('CentralSystemURL is missing', file);
    spec = {
      identity: typeof json.StationIdentity === 'string' && json.StationIdentity !== '' ? json.StationIdentity : name,
      url,
      version: options.version ?? version,
      vendor: String(json.ChargePointVendor ?? 'ocpp-router'),
      model: String(json.ChargePointModel ?? 'Emulator'),
      connectors,
      keys,
    };
    if (json.ChargePointSerialNumber !== undefined) spec.serialNumber = String(json.ChargePointSerialNumber);
    if (json.ChargePointSoftwareVersion !== undefined) spec.firmwareVersion = String(json.ChargePointSoftwareVersion);
  } else {
    // ocpp-cs 1.6 style.
    const connectors: ConnectorSpec[] = [];
    const ids = Array.isArray(json.connectorId) ? json.connectorId : [];
    for (const [i, c] of ids.entries()) {
      const id = typeof c === 'number' ? c : isObject(c) ? c.id : undefined;
      if (!Number.isInteger(id) || (id as number) < 1) throw new EmulatorConfigError(`connectorId[${i}] must be an integer ≥ 1 or {"id": N}`, file);
      const conn: ConnectorSpec = { evseId: id as number, connectorId: id as number };
      if (isObject(c) && typeof c.interface === 'string') conn.type = c.interface;
      if (isObject(c) && typeof c.power === 'number' && c.power > 0) conn.powerW = c.power;
      connectors.push(conn);
    }
    if (connectors.length === 0) connectors.push({ evseId: 1, connectorId: 1 });
    const keys = defaultKeys('ocpp1.6', connectors.length);
    const list = Array.isArray(json.configurationKey) ? json.configurationKey : [];
    for (const [i, entry] of list.entries()) {
      if (!isObject(entry) || typeof entry.key !== 'string') throw new EmulatorConfigError(`configurationKey[${i}] needs a string "key"`, file);
      keys.set(entry.key, { value: entry.value === undefined ? '' : String(entry.value), readonly: entry.readonly === true });
    }
    const url = options.urlOverride ?? keyValue(keys, 'CentralSystemURL');
    if (url === undefined) throw new EmulatorConfigError('configurationKey CentralSystemURL is missing', file);
    spec = {
      identity: keyValue(keys, 'StationIdentity') ?? name,
      url,
      version: options.version ?? 'ocpp1.6',
      vendor: keyValue(keys, 'ChargePointVendor') ?? 'ocpp-router',
      model: keyValue(keys, 'ChargePointModel') ?? 'Emulator',
      connectors,
      keys,
    };
    const serial = keyValue(keys, 'ChargePointSerialNumber');
    if (serial !== undefined) spec.serialNumber = serial;
    const fw = keyValue(keys, 'ChargePointSoftwareVersion');
    if (fw !== undefined) spec.firmwareVersion = fw;
  }
  if (options.dir !== undefined) spec.dir = options.dir;
  return spec;
}

/** Reads `<Action>.json` reply files next to configuration.json (ocpp-cs `load_response_file`). */
function readReplyFiles(dir: string): Record<string, Record<string, unknown>> | undefined {
  let files: Record<string, Record<string, unknown>> | undefined;
  for (const name of readdirSync(dir)) {
    if (!/^[A-Z][A-Za-z0-9]*\.json$/.test(name) || name === 'configuration.json') continue;
    const json = readJson(join(dir, name));
    if (isObject(json)) (files ??= {})[name.slice(0, -5)] = json;
  }
  return files;
}

/** Loads one station folder (`conf/cp/<name>`). */
export function loadStationDir(dir: string, options: { urlOverride?: string; version?: OcppVersion } = {}): StationSpec {
  const file = join(dir, 'configuration.json');
  if (!existsSync(file)) throw new EmulatorConfigError('configuration.json not found', dir);
  const name = dir.replace(/\/+$/, '').split('/').pop()!;
  const spec = parseStationConfig(readJson(file), name, { file, dir, ...options });
  const files = readReplyFiles(dir);
  if (files !== undefined) spec.files = files;
  return spec;
}

/** Loads every station folder under `root` (conf/cp), sorted by name; errors list every bad folder. */
export function loadStationsDir(root: string, options: { urlOverride?: string; only?: string[] } = {}): StationSpec[] {
  if (!existsSync(root)) throw new EmulatorConfigError(`station folder ${root} not found`);
  const specs: StationSpec[] = [];
  const errors: string[] = [];
  for (const name of readdirSync(root).sort()) {
    const dir = join(root, name);
    if (!statSync(dir).isDirectory()) continue;
    if (options.only !== undefined && !options.only.includes(name)) continue;
    try {
      specs.push(loadStationDir(dir, options.urlOverride === undefined ? {} : { urlOverride: options.urlOverride }));
    } catch (error) {
      errors.push((error as Error).message);
    }
  }
  if (errors.length > 0) throw new EmulatorConfigError(errors.join('\n'));
  return specs;
}

export interface TemplateOptions {
  stations: number;
  url: string;
  prefix?: string;
  version?: OcppVersion;
  /** First number (default 1); identities are prefix + zero-padded number. */
  start?: number;
  connectors?: number;
  powerW?: number;
  vendor?: string;
  model?: string;
  /** Spread over these source addresses, round robin. */
  localAddresses?: string[];
  /** Extra or changed keys for every station. */
  keys?: Record<string, string>;
}

/** Generates `stations` identical stations. They share one key map (copied on a station's first change). */
export function templateStations(options: TemplateOptions): StationSpec[] {
  const version = options.version ?? 'ocpp1.6';
  const count = options.stations;
  if (!Number.isInteger(count) || count < 0) throw new EmulatorConfigError('stations must be an integer ≥ 0');
  const n = options.connectors ?? 1;
  const connectors: ConnectorSpec[] = [];
  for (let i = 1; i <= n; i++) connectors.push(version === 'ocpp1.6' ? { evseId: i, connectorId: i } : { evseId: i, connectorId: 1 });
  if (options.powerW !== undefined) for (const c of connectors) c.powerW = options.powerW;
  const keys = defaultKeys(version, n);
  for (const [k, v] of Object.entries(options.keys ?? {})) keys.set(k, { value: v, readonly: false });
  const prefix = options.prefix ?? 'EMU-';
  const start = options.start ?? 1;
  const width = String(start + count - 1).length;
  const addrs = options.localAddresses ?? [];
  const out: StationSpec[] = new Array(count);
  for (let i = 0; i < count; i++) {
    const spec: StationSpec = { identity: `${prefix}${String(start + i).padStart(width, '0')}`, url: options.url, version, vendor: options.vendor ?? 'ocpp-router', model: options.model ?? 'Emulator', connectors, keys };
    if (addrs.length > 0) spec.localAddress = addrs[i % addrs.length]!;
    out[i] = spec;
  }
  return out;
}

/** `127.0.0.1`..`127.0.0.N` (each gives its own ~28k ephemeral ports). */
export function loopbackAddresses(n: number): string[] {
  return Array.from({ length: n }, (_, i) => `127.0.0.${i + 1}`);
}
