/**
 * OCPP-S (SOAP) metrics. Shards count the SOAP requests they serve and the faults they answer with; the
 * control plane, which sends commands to SOAP stations itself, records them in the existing outbound
 * families (ocpp_outbound_calls_total, ocpp_command_duration_seconds, ocpp_messages_total) and reports SOAP
 * stations in ocpp_stations_connected{transport="soap"}. Every series family is produced, with zeros when idle.
 */
import { FastHistogram, histogramRows } from './histogram.js';
import { catalogMetric, type MetricJson, type MetricValue } from './metric-json.js';

const VERSIONS = ['ocpp1.5', 'ocpp1.6', 'unknown'] as const;
const OUTCOMES = ['response', 'fault'] as const;


export class SoapShardMetrics {
  /** [version][outcome] */
  readonly #requests = new Float64Array(VERSIONS.length * OUTCOMES.length);
  readonly #faults = new Map<string, number>();

  request(version: string, outcome: (typeof OUTCOMES)[number]): void {
    const v = VERSIONS.indexOf(version as (typeof VERSIONS)[number]);
    this.#requests[(v < 0 ? 2 : v) * OUTCOMES.length + OUTCOMES.indexOf(outcome)]!++;
  }

  fault(reason: string): void {
    this.#faults.set(reason, (this.#faults.get(reason) ?? 0) + 1);
  }

  toJson(): MetricJson[] {
    const requests: MetricValue[] = [];
    VERSIONS.forEach((version, v) =>
      OUTCOMES.forEach((outcome, o) => {
        const value = this.#requests[v * OUTCOMES.length + o]!;
        if (value > 0 || (version !== 'unknown' && outcome === 'response')) requests.push({ value, labels: { version, outcome } });
      }),
    );
    const faults: MetricValue[] = [...this.#faults].map(([reason, value]) => ({ value, labels: { reason } }));
    return [catalogMetric('ocpp_soap_requests_total', requests), catalogMetric('ocpp_soap_faults_total', faults)];
  }
}

const CMD_OUTCOMES = ['result', 'error', 'timeout', 'invalid', 'aborted'] as const;
export type SoapCommandOutcome = (typeof CMD_OUTCOMES)[number];

/** Control-plane side: commands sent to SOAP stations, and SOAP stations present. */
export class SoapControlMetrics {
  readonly #outcomes = new Float64Array(CMD_OUTCOMES.length);
  readonly #durations = new Map<string, FastHistogram>();
  readonly #frames = new Map<string, number>();
  readonly #known: ReadonlySet<string>;

  constructor(knownActions: ReadonlySet<string>) {
    this.#known = knownActions;
  }

  command(action: string, outcome: SoapCommandOutcome, ms: number): void {
    const a = this.#known.has(action) ? action : 'unknown';
    this.#outcomes[CMD_OUTCOMES.indexOf(outcome)]!++;
    const key = `${a}|${outcome}`;
    let h = this.#durations.get(key);
    if (h === undefined) this.#durations.set(key, (h = new FastHistogram()));
    h.observe(ms / 1000);
  }

  /** A message on the wire, as ocpp_messages_total counts OCPP-J frames (CALL out, CALLRESULT/CALLERROR in). */
  message(direction: 'in' | 'out', messageType: 'CALL' | 'CALLRESULT' | 'CALLERROR', action: string): void {
    const key = `${direction}|${messageType}|${this.#known.has(action) ? action : 'unknown'}`;
    this.#frames.set(key, (this.#frames.get(key) ?? 0) + 1);
  }

  toJson(stationsByVersion: ReadonlyMap<string, number>): MetricJson[] {
    const outcomes: MetricValue[] = [];
    CMD_OUTCOMES.forEach((outcome, i) => {
      if (this.#outcomes[i]! > 0) outcomes.push({ value: this.#outcomes[i]!, labels: { outcome } });
    });
    const durations: MetricValue[] = [];
    for (const [key, h] of this.#durations) {
      const [action, outcome] = key.split('|') as [string, string];
      durations.push(...histogramRows('ocpp_command_duration_seconds', { action, outcome }, h));
    }
    const messages: MetricValue[] = [...this.#frames].map(([key, value]) => {
      const [direction, message_type, action] = key.split('|') as [string, string, string];
      return { value, labels: { direction, message_type, action } };
    });
    const stations: MetricValue[] = [...stationsByVersion].map(([version, value]) => ({ value, labels: { version, transport: 'soap' } }));
    const out = [catalogMetric('ocpp_stations_connected', stations)];
    if (outcomes.length > 0) out.push(catalogMetric('ocpp_outbound_calls_total', outcomes));
    if (durations.length > 0) out.push(catalogMetric('ocpp_command_duration_seconds', durations));
    if (messages.length > 0) out.push(catalogMetric('ocpp_messages_total', messages));
    return out;
  }
}
