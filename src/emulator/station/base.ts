/**
 * The bottom layer of an emulated station: what it is (spec, version, connectors), its state and the fleet it
 * belongs to, its configuration keys (./keys.ts), its delayed jobs, and the one question every layer above
 * asks: when it next needs to run (`reschedule`, answered by the station class in ./index.ts).
 */
import { getActionValidators } from '../../protocol/validation/registry.js';
import type { ActionValidators } from '../../protocol/validation/types.js';
import type { OcppVersion } from '../../protocol/versions.js';
import type { SoapVersion } from '../../protocol/soap/codec.js';
import type { ConfigKey, StationSpec, StationState } from '../types.js';
import type { StationContext } from './context.js';
import { Connector } from './connector.js';
import { readKey, sampleIntervalMs, writeKey } from './keys.js';

interface Job {
  at: number;
  run: () => void;
}

export abstract class StationBase {
  readonly spec: StationSpec;
  readonly ctx: StationContext;
  readonly connectors: Connector[];
  /** The TimerWheel's slot of this station (WheelClient). */
  wheelSlot = -1;
  state: StationState = 'idle';
  #keysOwned = false;
  #jobs: Job[] | null = null;

  constructor(spec: StationSpec, ctx: StationContext) {
    this.spec = spec;
    this.ctx = ctx;
    this.connectors = spec.connectors.map((c) => new Connector(c.evseId, c.connectorId, c.powerW ?? ctx.powerW));
    ctx.stats.stations++;
  }

  get identity(): string {
    return this.spec.identity;
  }

  get version(): StationSpec['version'] {
    return this.spec.version;
  }

  /** 1.6 or 1.5 (OCPP-S): connectors by connectorId, connector 0 is the station, the 1.6 message set. */
  get v16(): boolean {
    const v = this.spec.version;
    return v === 'ocpp1.6' || v === 'ocpp1.5';
  }

  /** Tells the wheel when the station next needs to run. */
  protected abstract reschedule(): void;

  /** The OCPP-J version (never 1.5 on a WebSocket: the configuration and the fleet refuse it). */
  protected jsonVersion(): OcppVersion {
    const v = this.spec.version;
    if (v === 'ocpp1.5') throw new Error(`${this.identity}: OCPP 1.5 has no OCPP-J binding`);
    return v;
  }

  /** The OCPP-S version (an OCPP-S station is 1.5 or 1.6: the configuration and the fleet refuse 2.x). */
  protected soapVersion(): SoapVersion {
    const v = this.spec.version;
    if (v !== 'ocpp1.5' && v !== 'ocpp1.6') throw new Error(`${this.identity}: OCPP-S exists for 1.5 and 1.6 only, not ${v}`);
    return v;
  }

  /** Validators of `action` in the station's version (1.5: derived from the WSDL, loaded with the SOAP hub). */
  protected validators(action: string): ActionValidators | undefined {
    const v = this.spec.version;
    if (v !== 'ocpp1.5') return getActionValidators(v, action);
    return this.ctx.soap?.validators15(action);
  }

  protected emitState(): void {
    if (this.ctx.onEvent !== null) this.ctx.onEvent({ type: 'state', identity: this.identity, state: this.state });
  }

  // --- configuration keys ---

  key(name: string): string | undefined {
    return readKey(this.spec, name);
  }

  keyEntries(): IterableIterator<[string, ConfigKey]> {
    return this.spec.keys.entries();
  }

  /** Sets a key (copy-on-write for keys shared by a template). */
  setKey(name: string, value: string): void {
    writeKey(this.spec, this.#keysOwned, name, value);
    this.#keysOwned = true;
  }

  sampleIntervalMs(): number {
    return sampleIntervalMs(this.spec);
  }

  // --- delayed jobs ---

  addJob(at: number, run: () => void): void {
    (this.#jobs ??= []).push({ at, run });
    this.reschedule();
  }

  /** Runs the jobs due at `now`. */
  protected runJobs(now: number): void {
    if (this.#jobs === null) return;
    const due = this.#jobs.filter((j) => now >= j.at);
    if (due.length > 0) {
      this.#jobs = this.#jobs.filter((j) => now < j.at);
      if (this.#jobs.length === 0) this.#jobs = null;
      for (const j of due) j.run();
    }
  }

  /** When the next job is due (Infinity: none). */
  protected get jobsDue(): number {
    let due = Infinity;
    if (this.#jobs !== null) for (const j of this.#jobs) due = Math.min(due, j.at);
    return due;
  }
}
