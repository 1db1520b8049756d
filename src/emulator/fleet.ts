/**
 * A fleet of emulated stations in one thread: one TimerWheel, one stats record, a connect ramp, and for OCPP-S
 * stations one SoapHub (HTTP client and ChargePointService server, loaded on demand).
 * `startFleet` (./index.ts) spreads bigger fleets over worker threads, each running one of these.
 */
import { EmulatedStation, type StationContext } from './station/index.js';
import { emptyStats, type FleetStats } from './stats.js';
import { TimerWheel } from './wheel.js';
import { stationTransport } from './config.js';
import type { SoapHub } from './transport/soap-hub.js';
import { DEFAULT_TIMINGS, type ChargePointServiceOptions, type EmulatorTimings, type Scenario, type StationEvent, type StationSpec } from './types.js';

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
  /** ChargePointService endpoint of the OCPP-S stations (one per thread; default 127.0.0.1, an ephemeral port). */
  chargePointService?: ChargePointServiceOptions;
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
  const cp = o.chargePointService;
  if (cp?.port !== undefined && !(Number.isInteger(cp.port) && cp.port >= 0 && cp.port <= 65535)) errors.push('options.chargePointService.port must be an integer 0..65535');
  if (cp?.path !== undefined && !cp.path.startsWith('/')) errors.push('options.chargePointService.path must start with /');
  const seen = new Set<string>();
  for (const s of o.stations) {
    if (seen.has(s.identity)) errors.push(`station identity ${s.identity} is used twice`);
    seen.add(s.identity);
    try {
      const transport = stationTransport(s.url, s.version);
      if (transport !== s.transport) errors.push(`station ${s.identity}: transport ${s.transport} does not match its URL ${s.url} (${transport})`);
    } catch (error) {
      errors.push(`station ${s.identity}: ${(error as Error).message}`);
    }
  }
  if (errors.length > 0) throw new Error(errors.join('\n'));
}

export class Fleet {
  readonly stations: EmulatedStation[];
  readonly stats: FleetStats = emptyStats();
  readonly #wheel: TimerWheel;
  readonly #byIdentity = new Map<string, EmulatedStation>();
  readonly #rate: number;
  readonly #ctx: StationContext;
  readonly #options: FleetOptions;
  #hub: SoapHub | null = null;
  #ready: Promise<void> | null = null;
  #stopped = false;

  constructor(options: FleetOptions) {
    validateFleetOptions(options);
    this.#options = options;
    this.#wheel = new TimerWheel({ tickMs: options.tickMs ?? 100 });
    this.#rate = options.connectRatePerS ?? 1000;
    const ctx: StationContext = (this.#ctx = {
      wheel: this.#wheel,
      stats: this.stats,
      timings: { ...DEFAULT_TIMINGS, ...options.timings },
      scenario: options.scenario ?? { kind: 'idle' },
      powerW: options.powerW ?? 11000,
      validate: options.validate ?? true,
      onEvent: options.onEvent ?? null,
      warn: options.warn ?? ((m) => process.stderr.write(`${m}\n`)),
      soap: null,
    });
    this.stations = options.stations.map((spec) => {
      const st = new EmulatedStation(spec, ctx);
      this.#byIdentity.set(spec.identity, st);
      return st;
    });
  }

  /**
   * Connects every station, `connectRatePerS` per second. With OCPP-S stations, the SOAP hub is loaded and its
   * ChargePointService listens first (a station's WS-A From address needs the port): await `ready()`.
   */
  start(): this {
    if (this.#ready !== null) return this;
    if (!this.stations.some((st) => st.spec.transport === 'ocpp-s')) {
      this.#ready = Promise.resolve();
      this.#connectAll();
      return this;
    }
    this.#ready = this.#startSoap().then(() => {
      if (!this.#stopped) this.#connectAll();
    });
    // Observed by ready(); an unobserved listen failure must not be an unhandled rejection.
    this.#ready.catch(() => undefined);
    return this;
  }

  /** Resolves once the stations are starting (OCPP-S: the ChargePointService listens); rejects if it cannot listen. */
  ready(): Promise<void> {
    return this.#ready ?? Promise.reject(new Error('the fleet was not started'));
  }

  /** The ChargePointService base address of this thread (`http://host:port/path`), null without OCPP-S stations. */
  get chargePointService(): string | null {
    return this.#hub?.url ?? null;
  }

  async #startSoap(): Promise<void> {
    const { SoapHub } = await import('./transport/soap-hub.js');
    const hub = new SoapHub({
      ...this.#options.chargePointService,
      station: (identity) => this.#byIdentity.get(identity),
      callTimeoutMs: this.#ctx.timings.callTimeoutMs,
      warn: this.#ctx.warn,
    });
    this.#hub = hub;
    this.#ctx.soap = hub;
    await hub.listen();
  }

  #connectAll(): void {
    const now = Date.now();
    this.stations.forEach((st, i) => st.start(this.#rate > 0 ? now + Math.floor((i * 1000) / this.#rate) : now));
  }

  station(identity: string): EmulatedStation | undefined {
    return this.#byIdentity.get(identity);
  }

  /** Closes every station (close 1000), the wheel and the SOAP hub. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    for (const st of this.stations) st.stop();
    this.#wheel.stop();
    if (this.#ready !== null) await this.#ready.catch(() => undefined);
    await this.#hub?.close();
  }
}
