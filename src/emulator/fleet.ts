/**
 * A fleet of emulated stations in one thread: one TimerWheel, one stats record, a connect ramp.
 * `startFleet` (./index.ts) spreads bigger fleets over worker threads, each running one of these.
 */
import { EmulatedStation, type StationContext } from './station.js';
import { emptyStats, type FleetStats } from './stats.js';
import { TimerWheel } from './wheel.js';
import { DEFAULT_TIMINGS, type EmulatorTimings, type Scenario, type StationEvent, type StationSpec } from './types.js';

export interface FleetOptions {
  stations: StationSpec[];
  /** What stations do on their own (default idle: boot, status, heartbeat). */
  scenario?: Scenario;
  /** Default connector power in W (default 11000). */
  powerW?: number;
  timings?: Partial<EmulatorTimings>;
  /** Validate every payload sent (default true). */
  validate?: boolean;
  /** New connections per second (ramp, default 1000 per thread; 0 = all at once). */
  connectRatePerS?: number;
  /** Wheel resolution (default 100 ms; the CLI uses 250 ms: heartbeats and samples are in seconds). */
  tickMs?: number;
  onEvent?: (event: StationEvent) => void;
  warn?: (message: string) => void;
}

export function validateFleetOptions(o: FleetOptions): void {
  const errors: string[] = [];
  if (o.powerW !== undefined && !(o.powerW > 0)) errors.push('options.powerW must be > 0');
  if (o.connectRatePerS !== undefined && !(o.connectRatePerS >= 0)) errors.push('options.connectRatePerS must be >= 0');
  if (o.tickMs !== undefined && !(o.tickMs > 0)) errors.push('options.tickMs must be > 0');
  const sc = o.scenario;
  if (sc?.kind === 'random' && (!(sc.meanArrivalS > 0) || !(sc.meanDurationS > 0))) errors.push('options.scenario.meanArrivalS and meanDurationS must be > 0');
  for (const [k, v] of Object.entries(o.timings ?? {})) if (!(typeof v === 'number' && v >= 0)) errors.push(`options.timings.${k} must be >= 0`);
  const seen = new Set<string>();
  for (const s of o.stations) {
    if (seen.has(s.identity)) errors.push(`station identity ${s.identity} is used twice`);
    seen.add(s.identity);
  }
  if (errors.length > 0) throw new Error(errors.join('\n'));
}

export class Fleet {
  readonly stations: EmulatedStation[];
  readonly stats: FleetStats = emptyStats();
  readonly #wheel: TimerWheel;
  readonly #byIdentity = new Map<string, EmulatedStation>();
  readonly #rate: number;
  #stopped = false;

  constructor(options: FleetOptions) {
    validateFleetOptions(options);
    this.#wheel = new TimerWheel({ tickMs: options.tickMs ?? 100 });
    this.#rate = options.connectRatePerS ?? 1000;
    const ctx: StationContext = {
      wheel: this.#wheel,
      stats: this.stats,
      timings: { ...DEFAULT_TIMINGS, ...options.timings },
      scenario: options.scenario ?? { kind: 'idle' },
      powerW: options.powerW ?? 11000,
      validate: options.validate ?? true,
      onEvent: options.onEvent ?? null,
      warn: options.warn ?? ((m) => process.stderr.write(`${m}\n`)),
    };
    this.stations = options.stations.map((spec) => {
      const st = new EmulatedStation(spec, ctx);
      this.#byIdentity.set(spec.identity, st);
      return st;
    });
  }

  /** Connects every station, `connectRatePerS` per second. */
  start(): this {
    const now = Date.now();
    this.stations.forEach((st, i) => st.start(this.#rate > 0 ? now + Math.floor((i * 1000) / this.#rate) : now));
    return this;
  }

  station(identity: string): EmulatedStation | undefined {
    return this.#byIdentity.get(identity);
  }

  /** Closes every station (close 1000) and the wheel. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    for (const st of this.stations) st.stop();
    this.#wheel.stop();
  }
}
