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
 * `power` (W) on 1.6 connectorId entries, `"OcppVersion": "1.5"` (or "1.6") at the top level of the 1.6 style.
 *
 * The transport follows the URL: ws:// and wss:// are OCPP-J, http:// and https:// are OCPP-S (SOAP, 1.5 and
 * 1.6 only; the URL is then the CentralSystemService address itself, the identity travels in the
 * chargeBoxIdentity header). OCPP 1.5 has no OCPP-J binding and 2.x no OCPP-S binding: both are refused.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { ConfigKey, ConnectorSpec, EmulatorVersion, StationSpec, StationTransport } from './types.js';

export class EmulatorConfigError extends Error {
  override name = 'EmulatorConfigError';
  constructor(message: string, readonly file?: string) {
    super(file === undefined ? message : `${file}: ${message}`);
  }
}

/** Versions written as "1.5", "1.6", "2.0.1", "2.1" or "ocpp1.6" … */
export function parseVersion(value: unknown, where = 'version'): EmulatorVersion {
  const text = String(value).trim().toLowerCase();
  const v = text.startsWith('ocpp') ? text.slice(4) : text;
  if (v === '1.5') return 'ocpp1.5';
  if (v === '1.6') return 'ocpp1.6';
  if (v === '2.0.1') return 'ocpp2.0.1';
  if (v === '2.1') return 'ocpp2.1';
  throw new EmulatorConfigError(`${where}: unsupported OCPP version ${JSON.stringify(value)} (1.5, 1.6, 2.0.1 or 2.1)`);
}

/** The transport a URL's scheme means, or undefined for another scheme. */
export function transportOf(url: string): StationTransport | undefined {
  if (/^wss?:\/\//i.test(url)) return 'ocpp-j';
  if (/^https?:\/\//i.test(url)) return 'ocpp-s';
  return undefined;
}

/**
 * The transport of a station at `url` speaking `version`, or a config error: the scheme must be ws(s) or
 * http(s), OCPP 1.5 is spoken over SOAP only and OCPP-S exists for 1.5 and 1.6 only.
 */
export function stationTransport(url: string, version: EmulatorVersion, file?: string): StationTransport {
  const transport = transportOf(url);
  if (transport === undefined) throw new EmulatorConfigError(`central system URL ${JSON.stringify(url)} must start with ws:// or wss:// (OCPP-J) or http:// or https:// (OCPP-S, SOAP)`, file);
  if (transport === 'ocpp-j' && version === 'ocpp1.5') {
    throw new EmulatorConfigError(`OCPP 1.5 has no OCPP-J (WebSocket) binding: give it an http:// CentralSystemService URL (OCPP-S), not ${url}`, file);
  }
  if (transport === 'ocpp-s' && version !== 'ocpp1.5' && version !== 'ocpp1.6') {
    throw new EmulatorConfigError(`OCPP-S (SOAP, ${url}) exists for OCPP 1.5 and 1.6 only, not ${version}: use a ws:// URL`, file);
  }
  return transport;
}

/** 1.5 and 1.6: connectors by connectorId, connector 0 is the station (2.x: EVSEs). */
export function isV1(version: EmulatorVersion): boolean {
  return version === 'ocpp1.6' || version === 'ocpp1.5';
}

/** A URL override (or a list, one per transport) for a station whose file gives `fileUrl`. */
export type UrlOverride = string | readonly string[];

/**
 * The URL a station gets: the override of its own transport (a ws:// override replaces ws:// URLs, an http://
 * one http:// URLs), else the file's URL; a station without a URL takes the first override.
 */
function applyOverride(override: UrlOverride | undefined, fileUrl: string | undefined): string | undefined {
  if (override === undefined) return fileUrl;
  const list = typeof override === 'string' ? [override] : override;
  if (fileUrl === undefined || fileUrl === '') return list[0];
  const kind = transportOf(fileUrl);
  return list.find((u) => transportOf(u) === kind) ?? fileUrl;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Default keys of a station (added where the file does not set them). */
export function defaultKeys(version: EmulatorVersion, connectors: number): Map<string, ConfigKey> {
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
  } else if (version === 'ocpp1.5') {
    // OCPP 1.5 §9.1 (no feature profiles, no smart charging).
    keys.set('NumberOfConnectors', ro(String(connectors)));
    keys.set('GetConfigurationMaxKeys', ro('100'));
    keys.set('SendLocalListMaxLength', ro('100'));
    keys.set('LocalAuthListMaxLength', ro('100'));
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
export function parseStationConfig(json: unknown, name: string, options: { file?: string; dir?: string; urlOverride?: UrlOverride; version?: EmulatorVersion } = {}): StationSpec {
  const file = options.file;
  if (!isObject(json)) throw new EmulatorConfigError('the configuration is not a JSON object', file);
  let spec: StationSpec;
  const style16 = Array.isArray(json.connectorId) || Array.isArray(json.configurationKey);
  if (Array.isArray(json.Evses) || isObject(json.ConfigurationKeys) || (json.OcppVersion !== undefined && !style16)) {
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
    const url = applyOverride(options.urlOverride, typeof json.CentralSystemURL === 'string' ? json.CentralSystemURL : keyValue(keys, 'CentralSystemURL'));
    if (url === undefined || url === '') throw new EmulatorConfigError('CentralSystemURL is missing', file);
    const v = options.version ?? version;
    spec = {
      identity: typeof json.StationIdentity === 'string' && json.StationIdentity !== '' ? json.StationIdentity : name,
      url,
      transport: stationTransport(url, v, file),
      version: v,
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
    const declared = json.OcppVersion === undefined ? 'ocpp1.6' : parseVersion(json.OcppVersion, 'OcppVersion');
    if (!isV1(declared)) throw new EmulatorConfigError(`OcppVersion ${String(json.OcppVersion)} needs the 2.0.1 style (Evses, ConfigurationKeys), not connectorId/configurationKey`, file);
    const keys = defaultKeys(declared, connectors.length);
    const list = Array.isArray(json.configurationKey) ? json.configurationKey : [];
    for (const [i, entry] of list.entries()) {
      if (!isObject(entry) || typeof entry.key !== 'string') throw new EmulatorConfigError(`configurationKey[${i}] needs a string "key"`, file);
      keys.set(entry.key, { value: entry.value === undefined ? '' : String(entry.value), readonly: entry.readonly === true });
    }
    const url = applyOverride(options.urlOverride, keyValue(keys, 'CentralSystemURL'));
    if (url === undefined) throw new EmulatorConfigError('configurationKey CentralSystemURL is missing', file);
    const v = options.version ?? declared;
    spec = {
      identity: keyValue(keys, 'StationIdentity') ?? name,
      url,
      transport: stationTransport(url, v, file),
      version: v,
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
export function loadStationDir(dir: string, options: { urlOverride?: UrlOverride; version?: EmulatorVersion } = {}): StationSpec {
  const file = join(dir, 'configuration.json');
  if (!existsSync(file)) throw new EmulatorConfigError('configuration.json not found', dir);
  const name = dir.replace(/\/+$/, '').split('/').pop()!;
  const spec = parseStationConfig(readJson(file), name, { file, dir, ...options });
  const files = readReplyFiles(dir);
  if (files !== undefined) spec.files = files;
  return spec;
}

/**
 * Loads every station folder under `root` (conf/cp), sorted by name; errors list every bad folder. A
 * `urlOverride` replaces the CentralSystemURL of the stations of its transport (give one ws:// and one http://
 * URL to redirect both kinds).
 */
export function loadStationsDir(root: string, options: { urlOverride?: UrlOverride; only?: string[] } = {}): StationSpec[] {
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
  /** OCPP-J: more nodes of the same central system; the stations start spread over all of them and rotate. */
  moreUrls?: string[];
  prefix?: string;
  /** Default ocpp1.6; ocpp1.5 needs an http:// URL (OCPP-S), 2.x a ws:// one. */
  version?: EmulatorVersion;
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
  const transport = stationTransport(options.url, version);
  const n = options.connectors ?? 1;
  const connectors: ConnectorSpec[] = [];
  for (let i = 1; i <= n; i++) connectors.push(isV1(version) ? { evseId: i, connectorId: i } : { evseId: i, connectorId: 1 });
  if (options.powerW !== undefined) for (const c of connectors) c.powerW = options.powerW;
  const keys = defaultKeys(version, n);
  for (const [k, v] of Object.entries(options.keys ?? {})) keys.set(k, { value: v, readonly: false });
  const prefix = options.prefix ?? 'EMU-';
  const start = options.start ?? 1;
  const width = String(start + count - 1).length;
  const addrs = options.localAddresses ?? [];
  const urls = [options.url, ...(options.moreUrls ?? [])];
  if (urls.length > 1 && transport !== 'ocpp-j') throw new EmulatorConfigError('several URLs are for OCPP-J central systems with several nodes');
  const out: StationSpec[] = new Array(count);
  for (let i = 0; i < count; i++) {
    const spec: StationSpec = { identity: `${prefix}${String(start + i).padStart(width, '0')}`, url: urls[i % urls.length]!, transport, version, vendor: options.vendor ?? 'ocpp-router', model: options.model ?? 'Emulator', connectors, keys };
    if (urls.length > 1) spec.urls = urls;
    if (addrs.length > 0) spec.localAddress = addrs[i % addrs.length]!;
    out[i] = spec;
  }
  return out;
}

/** `127.0.0.1`..`127.0.0.N` (each gives its own ~28k ephemeral ports). */
export function loopbackAddresses(n: number): string[] {
  return Array.from({ length: n }, (_, i) => `127.0.0.${i + 1}`);
}
