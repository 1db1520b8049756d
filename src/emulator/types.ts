/**
 * Shared types of the charge point emulator. The emulator speaks only the OCPP-J wire protocol (it imports
 * nothing from src/control or src/shard), so it can drive any central system.
 */
import type { OcppVersion } from '../protocol/versions.js';

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
  /** Central system URL without the identity (…/ocpp); the identity is appended, URL-encoded. */
  url: string;
  version: OcppVersion;
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
