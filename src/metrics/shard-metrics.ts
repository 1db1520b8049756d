/**
 * Per-shard metrics recorded on the frame path, as cheaply as we know how: one Map lookup per event
 * (keyed by the action string the frame already carries), typed-array increments, fixed-bucket
 * histograms. Nothing is formatted until a scrape asks for `toJson()`.
 */
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import { getHeapStatistics } from 'node:v8';
import { FastHistogram, histogramRows } from './histogram.js';
import { LOOP_RESOLUTION_MS, loopDelaySeconds } from './loop-delay.js';
import type { MetricName } from './catalog.js';
import { catalogMetric, type MetricJson, type MetricValue } from './metric-json.js';
import { MESSAGE_TYPE_NAMES } from '../protocol/versions.js';
import { WebhookMetrics } from './webhook-metrics.js';
import { SoapShardMetrics } from './soap-metrics.js';
import { NatsMetrics } from './nats-metrics.js';

const TYPES = 7;
const OUTCOMES = ['result', 'error', 'timeout', 'invalid', 'aborted'] as const;
export type OutboundOutcome = (typeof OUTCOMES)[number];
export type ValidationDirection = 'request' | 'response' | 'reply';

interface ActionStats {
  /** [direction(0 in, 1 out) * 7 + message type] */
  frames: Float64Array;
  callsOk: number;
  callsError: number;
  handled: FastHistogram | null;
  /** Per outcome, created on first use. */
  commands: Array<FastHistogram | null> | null;
}

/** Counter families kept as plain `family.label` names in ShardCounters (rare events). */
const COUNTER_FAMILIES: ReadonlyArray<readonly [prefix: string, metric: MetricName, label: string | null]> = [
  ['connects', 'ocpp_station_connects_total', null],
  ['disconnects.', 'ocpp_station_disconnects_total', 'reason'],
  ['connectionsReplaced', 'ocpp_station_replaced_total', null],
  ['upgradesRefused.', 'ocpp_upgrades_refused_total', 'reason'],
  ['badFrames.', 'ocpp_bad_frames_total', 'kind'],
  ['callErrorsSent.', 'ocpp_callerrors_sent_total', 'code'],
  ['outbound.', 'ocpp_outbound_calls_total', 'outcome'],
  ['strayResults.', 'ocpp_stray_results_total', 'kind'],
  ['policyCloses.', 'ocpp_policy_closes_total', 'reason'],
  ['rateLimited.', 'ocpp_rate_limited_frames_total', 'kind'],
  ['outboundQueueFull', 'ocpp_outbound_queue_full_total', null],
  ['addressTableFull', 'ocpp_address_table_full_total', null],
  ['liveLogDropped', 'ocpp_live_log_dropped_total', null],
  ['invalidBackendReplies', 'ocpp_invalid_backend_replies_total', null],
  ['threadMessagesDropped.', 'ocpp_thread_messages_dropped_total', 'kind'],
  ['storeRefusals', 'ocpp_store_refusals_total', null],
];


export interface SessionView {
  version: string;
  pendingOutbound: number;
  outboundInFlight: boolean;
}

export class ShardMetrics {
  /** Off: the frame path records nothing (bench: metrics on vs off). Event counters stay. */
  enabled: boolean;
  readonly #known: ReadonlySet<string>;
  readonly #actions = new Map<string, ActionStats>();
  readonly #validation = new Map<string, number>();
  readonly #loop: IntervalHistogram;
  readonly #thread: string;
  /** Webhook backend's live requests (src/backends/webhook/), recorded by the backend; zeros when unused. */
  readonly webhook = new WebhookMetrics('live');
  /** OCPP-S requests and faults of this shard (src/soap/endpoint.ts); zeros when no SOAP station talks. */
  readonly soap = new SoapShardMetrics();
  /** NATS events and backend of this shard (src/cluster/, src/backends/nats/); zeros when NATS is not used. */
  readonly nats = new NatsMetrics();

  constructor(options: { enabled: boolean; knownActions: ReadonlySet<string>; thread: string }) {
    this.enabled = options.enabled;
    this.#known = options.knownActions;
    this.#thread = options.thread;
    this.#loop = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS });
    this.#loop.enable();
  }

  #stats(action: string | null): ActionStats {
    const key = action !== null && this.#known.has(action) ? action : 'unknown';
    let stats = this.#actions.get(key);
    if (stats === undefined) {
      stats = { frames: new Float64Array(2 * TYPES), callsOk: 0, callsError: 0, handled: null, commands: null };
      this.#actions.set(key, stats);
    }
    return stats;
  }

  frame(direction: 'in' | 'out', type: number, action: string | null): void {
    if (!this.enabled) return;
    this.#stats(action).frames[(direction === 'in' ? 0 : TYPES) + type]!++;
  }

  callHandled(action: string, ok: boolean, ms: number): void {
    if (!this.enabled) return;
    const stats = this.#stats(action);
    if (ok) stats.callsOk++;
    else stats.callsError++;
    (stats.handled ??= new FastHistogram()).observe(ms / 1000);
  }

  outbound(action: string, outcome: OutboundOutcome, ms: number): void {
    if (!this.enabled) return;
    const stats = this.#stats(action);
    const commands = (stats.commands ??= OUTCOMES.map(() => null));
    const i = OUTCOMES.indexOf(outcome);
    (commands[i] ??= new FastHistogram()).observe(ms / 1000);
  }

  validationFailure(version: string, action: string, direction: ValidationDirection): void {
    const key = `${version}|${this.#known.has(action) ? action : 'unknown'}|${direction}`;
    this.#validation.set(key, (this.#validation.get(key) ?? 0) + 1);
  }

  /** Totals the tests and `RouterServer.counter()` read by name (framesIn.N, callsAnswered …). */
  derivedCounters(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const stats of this.#actions.values()) {
      for (let i = 0; i < 2 * TYPES; i++) {
        const n = stats.frames[i]!;
        if (n === 0) continue;
        const name = i < TYPES ? `framesIn.${i}` : `framesOut.${i - TYPES}`;
        out[name] = (out[name] ?? 0) + n;
      }
      if (stats.callsOk > 0) out.callsAnswered = (out.callsAnswered ?? 0) + stats.callsOk;
      if (stats.callsError > 0) out.callsFailed = (out.callsFailed ?? 0) + stats.callsError;
    }
    return out;
  }

  /** Every shard-sourced metric as prom-client JSON, ready for AggregatorRegistry.aggregate. */
  toJson(shardId: number, counters: Record<string, number>, sessions: Iterable<SessionView>): MetricJson[] {
    const out: MetricJson[] = [];
    // Counter families from the event counters.
    for (const [prefix, name, label] of COUNTER_FAMILIES) {
      const values: MetricValue[] = [];
      for (const [key, value] of Object.entries(counters)) {
        if (label === null ? key === prefix : key.startsWith(prefix)) values.push({ value, labels: label === null ? {} : { [label]: key.slice(prefix.length) } });
      }
      if (label === null && values.length === 0) values.push({ value: 0, labels: {} });
      out.push(catalogMetric(name, values));
    }
    // Frame-path families.
    const messages: MetricValue[] = [];
    const calls: MetricValue[] = [];
    const handled: MetricValue[] = [];
    const commands: MetricValue[] = [];
    for (const [action, stats] of this.#actions) {
      for (let i = 0; i < 2 * TYPES; i++) {
        const n = stats.frames[i]!;
        if (n === 0) continue;
        const type = i % TYPES;
        messages.push({ value: n, labels: { direction: i < TYPES ? 'in' : 'out', message_type: MESSAGE_TYPE_NAMES[type] ?? String(type), action } });
      }
      if (stats.callsOk > 0) calls.push({ value: stats.callsOk, labels: { action, result: 'ok' } });
      if (stats.callsError > 0) calls.push({ value: stats.callsError, labels: { action, result: 'error' } });
      if (stats.handled !== null) handled.push(...histogramRows('ocpp_request_duration_seconds', { action }, stats.handled));
      stats.commands?.forEach((h, i) => {
        if (h !== null) commands.push(...histogramRows('ocpp_command_duration_seconds', { action, outcome: OUTCOMES[i]! }, h));
      });
    }
    out.push(catalogMetric('ocpp_messages_total', messages), catalogMetric('ocpp_station_calls_total', calls));
    out.push(catalogMetric('ocpp_request_duration_seconds', handled), catalogMetric('ocpp_command_duration_seconds', commands));
    out.push(
      catalogMetric(
        'ocpp_validation_failures_total',
        [...this.#validation].map(([key, value]) => {
          const [version, action, direction] = key.split('|') as [string, string, string];
          return { value, labels: { version, action, direction } };
        }),
      ),
    );
    // Gauges read now.
    const byVersion = new Map<string, number>();
    let inFlight = 0;
    let queued = 0;
    let connections = 0;
    for (const s of sessions) {
      connections++;
      byVersion.set(s.version, (byVersion.get(s.version) ?? 0) + 1);
      if (s.outboundInFlight) inFlight++;
      queued += s.pendingOutbound - (s.outboundInFlight ? 1 : 0);
    }
    out.push(catalogMetric('ocpp_stations_connected', [...byVersion].map(([version, value]) => ({ value, labels: { version, transport: 'ws' } }))));
    out.push(catalogMetric('ocpp_shard_connections', [{ value: connections, labels: { shard: String(shardId) } }]));
    out.push(catalogMetric('ocpp_outbound_calls_in_flight', [{ value: inFlight, labels: {} }]), catalogMetric('ocpp_outbound_calls_queued', [{ value: queued, labels: {} }]));
    const loop = this.#loop;
    const delay = loop.count > 0 ? [
      { value: loopDelaySeconds(loop.mean), labels: { thread: this.#thread, stat: 'mean' } },
      { value: loopDelaySeconds(loop.percentile(99)), labels: { thread: this.#thread, stat: 'p99' } },
      { value: loopDelaySeconds(loop.max), labels: { thread: this.#thread, stat: 'max' } },
    ] : [];
    loop.reset();
    out.push(catalogMetric('ocpp_event_loop_delay_seconds', delay));
    out.push(catalogMetric('ocpp_heap_used_bytes', [{ value: getHeapStatistics().used_heap_size, labels: { thread: this.#thread } }]));
    out.push(...this.webhook.toJson());
    out.push(...this.soap.toJson());
    out.push(...this.nats.toJson());
    return out;
  }
}
