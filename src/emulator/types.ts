/**
 * Shared types of the charge point emulator. The emulator speaks only the wire protocols, OCPP-J (WebSocket)
 * and OCPP-S (SOAP over HTTP); it imports nothing from src/control or src/shard, so it can drive any central
 * system.
 */
import type { StationVersion } from '../protocol/versions.js';

/**
 * The OCPP version of an emulated station: an OCPP-J subprotocol (1.6, 2.0.1, 2.1), or 1.5, which exists only
 * over SOAP (OCPP-S speaks 1.5 and 1.6). The same type as the router's StationVersion.
 */
export type EmulatorVersion = StationVersion;

/** `ocpp-j`: WebSocket (ws:// or wss:// URL); `ocpp-s`: SOAP 1.2 over HTTP (http:// or https:// URL). */
export type StationTransport = 'ocpp-j' | 'ocpp-s';

/** One configuration key (1.6 configurationKey / 2.x ConfigurationKeys entry). */
export interface ConfigKey {
  value: string;
  readonly: boolean;
}

/** One connector (1.6: connectorId; 2.x: connector `connectorId` of EVSE `evseId`). */
export interface ConnectorSpec {
  /** 1.6 connectorId; 2.x: the EVSE id (1.6 stations: same as connectorId). */
  evseId: number;
  /** 2.x connector id inside the EVSE; 1.6: the connectorId. */
  connectorId: number;
  /** Plug type as written in the file ("CCS2", "cCCS2", "sType2" …), informative. */
  type?: string;
  /** Maximum charging power in W (default: the fleet's powerW). */
  powerW?: number;
}

/** A charging scenario: what the station does on its own. */
export type Scenario =
  | { kind: 'idle' }
  /** Random arrivals per connector: exponential inter-arrival times with the given mean. */
  | { kind: 'random'; meanArrivalS: number; meanDurationS: number; idTags?: string[] }
  /** Fixed schedule, offsets from the station's first boot; repeated every `everyS` when given. */
  | { kind: 'schedule'; sessions: Array<{ startS: number; durationS: number; connectorId?: number; idTag?: string }>; everyS?: number };

/** Everything one emulated station needs, normalized from either configuration style or a template. */
export interface StationSpec {
  identity: string;
  /**
   * OCPP-J: the central system URL without the identity (ws://…/ocpp); the identity is appended, URL-encoded.
   * OCPP-S: the CentralSystemService address itself (http://…/Ocpp/CentralSystemService); the identity goes in
   * the chargeBoxIdentity header.
   */
  url: string;
  /**
   * OCPP-J: every node of a central system that runs several (`url` among them). After a failed connect or a lost
   * connection the station tries the next one, so a fleet moves to the nodes that are up.
   */
  urls?: string[];
  /** Follows the URL scheme (see `transportOf` in ./config.ts). */
  transport: StationTransport;
  /** 1.5 only with transport ocpp-s; 2.x only with ocpp-j. */
  version: EmulatorVersion;
  vendor: string;
  model: string;
  serialNumber?: string;
  firmwareVersion?: string;
  connectors: ConnectorSpec[];
  /** Configuration keys. Template stations share one map (copied on the first change). */
  keys: Map<string, ConfigKey>;
  /** Folder of a station loaded from conf/cp/<name>/ (per-action reply files such as DataTransfer.json). */
  dir?: string;
  /** Canned payloads read from `dir` (`<Action>.json`), by action. */
  files?: Record<string, Record<string, unknown>>;
  /** Source address of the TCP connection (fleets over 127.0.0.x). */
  localAddress?: string;
  /** wss://: PEM texts of the CA to trust and of the station's client certificate and key (security profile 3). */
  tls?: { ca?: string; cert?: string; key?: string };
  /** HTTP Basic password (security profile 1), if the central system wants one. */
  password?: string;
}

export interface EmulatorTimings {
  /** Time the central system gets to answer a CALL. */
  callTimeoutMs: number;
  /** First reconnect delay; doubled per failed attempt up to reconnectMaxMs, with ±50 % jitter. */
  reconnectMinMs: number;
  reconnectMaxMs: number;
  /** Delay between the close of a simulated reboot (Reset) and the reconnect. */
  rebootDelayMs: number;
  /** Smallest gap between two replayed offline transaction messages (throttle). */
  replayIntervalMs: number;
  /** Boot retry interval when the central system gives interval 0 with Pending/Rejected. */
  bootRetryDefaultS: number;
  /** Delay between the steps of simulated firmware / diagnostics / log uploads. */
  statusStepMs: number;
}

/**
 * The ChargePointService HTTP endpoint of a fleet thread (OCPP-S stations only): the central system's commands
 * are POSTed to `http://<publicHost>:<port><path>/<identity>` (also routed by the chargeBoxIdentity header).
 */
export interface ChargePointServiceOptions {
  /** Listen address (default 127.0.0.1). */
  host?: string;
  /** Listen port (default 0: an ephemeral port). With several threads, thread i listens on port + i. */
  port?: number;
  /** Path before the identity (default /Ocpp/ChargePointService). */
  path?: string;
  /** Host written in the station's WS-A From address (default: host; the machine's hostname when host is a wildcard). */
  publicHost?: string;
}

export const DEFAULT_TIMINGS: EmulatorTimings = Object.freeze({
  callTimeoutMs: 30_000,
  reconnectMinMs: 1000,
  reconnectMaxMs: 60_000,
  rebootDelayMs: 1000,
  replayIntervalMs: 100,
  bootRetryDefaultS: 30,
  statusStepMs: 500,
});

/** Something that happened on a station; delivered to `onEvent` when a listener is set (tests, debugging). */
export type StationEvent =
  | { type: 'state'; identity: string; state: StationState }
  | { type: 'sent'; identity: string; id: string; action: string; payload: Record<string, unknown>; replay: boolean }
  | { type: 'result'; identity: string; id: string; action: string; payload: Record<string, unknown> }
  | { type: 'callError'; identity: string; id: string; action: string; code: string; description: string }
  | { type: 'command'; identity: string; action: string; payload: Record<string, unknown>; reply: Record<string, unknown> | { error: string } };

export type StationState = 'idle' | 'connecting' | 'booting' | 'pending' | 'accepted' | 'resetting' | 'offline' | 'stopped';
