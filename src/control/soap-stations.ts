/**
 * OCPP-S stations in the control plane: their presence (a SOAP station has no socket; it counts as connected
 * while it talks: within two heartbeat intervals + 60 s, at least 120 s) and the client of their
 * ChargePointServices that the SOAP station channels share (src/control/channels/soap-channel.ts), created on
 * the first command. The shards serve the stations' own requests (src/shard/soap/).
 */
import type { Config } from '../config/types.js';
import { ErrorCode, RouterError } from '../protocol/errors.js';
import { createValidatorLookup, type ValidatorLookup } from '../protocol/validation/registry.js';
import { soapLookup, isSoapVersion, ACTIONS_15 } from '../protocol/soap/validators.js';
import { actionsFor } from '../protocol/actions.js';
import { OCPP_VERSIONS } from '../protocol/versions.js';
import { SoapControlMetrics } from '../metrics/soap-metrics.js';
import type { MetricJson } from '../metrics/metric-json.js';
import { SoapCommandClient } from './channels/soap-channel.js';
import type { StationChannel } from './channels/station-channel.js';
import type { StationRecord, StationRegistry } from './station-registry.js';
import type { LiveLogHub } from './live-log.js';

const SWEEP_MS = 10_000;

export class SoapStations {
  readonly metrics = new SoapControlMetrics(new Set([...OCPP_VERSIONS.flatMap((v) => actionsFor(v)), ...ACTIONS_15]));
  #config: () => Config;
  #registry: StationRegistry;
  #log: LiveLogHub;
  #client: SoapCommandClient | null = null;
  #timer: ReturnType<typeof setInterval>;

  constructor(config: () => Config, registry: StationRegistry, log: LiveLogHub) {
    this.#config = config;
    this.#registry = registry;
    this.#log = log;
    this.#timer = setInterval(() => this.#registry.soapExpire(Date.now(), this.presenceMs()), SWEEP_MS);
    this.#timer.unref();
  }

  /** How long a silent SOAP station still counts as connected. */
  presenceMs(): number {
    return Math.max(120, 2 * this.#config().responder.heartbeatIntervalS + 60) * 1000;
  }

  /** The channel of a SOAP station, or why there is none. */
  channel(record: StationRecord): StationChannel | RouterError {
    if (!record.connected) return new RouterError(ErrorCode.STATION_NOT_CONNECTED, `${record.identity} (OCPP-S) has not been heard from within ${this.presenceMs() / 1000} s`);
    if (!isSoapVersion(record.version)) return new RouterError(ErrorCode.INTERNAL, `${record.identity}: OCPP-S station with version ${record.version}`);
    return (this.#client ??= this.#open()).channel({ identity: record.identity, version: record.version, callbackUrl: record.callbackUrl ?? null });
  }

  #open(): SoapCommandClient {
    let quirks = this.#config().ocpp.quirks;
    let lookup: ValidatorLookup = soapLookup(createValidatorLookup(quirks));
    return new SoapCommandClient({
      lookup: (version, action) => {
        // Quirks follow reloads.
        if (this.#config().ocpp.quirks !== quirks) {
          quirks = this.#config().ocpp.quirks;
          lookup = soapLookup(createValidatorLookup(quirks));
        }
        return lookup(version, action);
      },
      callTimeoutMs: () => this.#config().ocpp.callTimeoutMs,
      outboundQueueMax: () => this.#config().ocpp.outboundQueueMax,
      metrics: this.metrics,
      log: (identity, direction, messageType, uniqueId, action, payload) => this.#log.publish({ ts: Date.now(), identity, direction, messageType, uniqueId, action, payload }),
    });
  }

  metricsJson(): MetricJson[] {
    return this.metrics.toJson(this.#registry.soapConnected());
  }

  async close(): Promise<void> {
    clearInterval(this.#timer);
    await this.#client?.close();
  }
}
