/** What a station shares with its fleet (one per thread): the timer wheel, the counters, the settings. */
import type { TimerWheel } from '../wheel.js';
import type { FleetStats } from '../stats.js';
import type { SoapHub } from '../transport/soap-hub.js';
import type { EmulatorTimings, Scenario, StationEvent } from '../types.js';

export interface StationContext {
  wheel: TimerWheel;
  stats: FleetStats;
  timings: EmulatorTimings;
  scenario: Scenario;
  /** Default connector power (W). */
  powerW: number;
  /** Validate every payload the station sends (default true). */
  validate: boolean;
  onEvent: ((event: StationEvent) => void) | null;
  warn(message: string): void;
  /** OCPP-S client and ChargePointService of this thread; set by the fleet before its SOAP stations start. */
  soap: SoapHub | null;
}
