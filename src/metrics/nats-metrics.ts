/**
 * NATS metrics of a shard: the events it publishes to JetStream (src/cluster/events.ts), the NATS backend's
 * requests (src/backends/nats/), its fallback records, and the shard's connection. Counters are plain fields the
 * publisher and the backend increment; gauges are read at scrape time through `view`. Every family is rendered
 * with zeros when NATS is not used, so the exposition always has their HELP lines.
 */
import { FastHistogram, histogramRows } from './histogram.js';
import type { MetricName } from './catalog.js';
import { catalogMetric, type MetricJson } from './metric-json.js';

export type NatsFailureReason = 'down' | 'noResponders' | 'timeout' | 'invalid' | 'error';
export const NATS_FAILURE_REASONS: readonly NatsFailureReason[] = ['down', 'noResponders', 'timeout', 'invalid', 'error'];

/** What is read at scrape time. */
export interface NatsView {
  /** 1 while the shard's NATS connection is up, 0 while down; absent (0) when the shard uses no NATS. */
  connected: number;
  eventsPending: number;
  eventsSpoolEntries: number;
  eventsSpoolBytes: number;
  fallbackSpoolEntries: number;
}

const IDLE: NatsView = { connected: 0, eventsPending: 0, eventsSpoolEntries: 0, eventsSpoolBytes: 0, fallbackSpoolEntries: 0 };


const one = (name: MetricName, value: number): MetricJson => catalogMetric(name, [{ value, labels: {} }]);

export class NatsMetrics {
  /** Events: stored in the stream (live or from the spool), publishes that failed, written to the spool, lost. */
  readonly events = { published: 0, failed: 0, spooled: 0, dropped: 0 };
  /** NATS backend requests by outcome. */
  readonly requests = { result: 0, callError: 0, failed: 0 };
  /** Fallback records: kept on disk before the answer, published to JetStream, refused (the station got InternalError). */
  readonly fallback = { kept: 0, published: 0, refused: 0 };
  fallbackAnswers = 0;
  readonly #failures = new Map<NatsFailureReason, number>();
  readonly #duration = new FastHistogram();
  /** Gauges, set by the shard's NATS holder (src/cluster/shard-nats.ts). */
  view: () => NatsView = () => IDLE;

  failure(reason: NatsFailureReason): void {
    this.#failures.set(reason, (this.#failures.get(reason) ?? 0) + 1);
  }

  failures(reason: NatsFailureReason): number {
    return this.#failures.get(reason) ?? 0;
  }

  request(ms: number): void {
    this.#duration.observe(ms / 1000);
  }

  toJson(): MetricJson[] {
    const v = this.view();
    return [
      one('ocpp_nats_connected', v.connected),
      one('ocpp_nats_events_published_total', this.events.published),
      one('ocpp_nats_events_failed_total', this.events.failed),
      one('ocpp_nats_events_spooled_total', this.events.spooled),
      one('ocpp_nats_events_dropped_total', this.events.dropped),
      one('ocpp_nats_events_pending', v.eventsPending),
      one('ocpp_nats_events_spool_entries', v.eventsSpoolEntries),
      one('ocpp_nats_events_spool_bytes', v.eventsSpoolBytes),
      catalogMetric('ocpp_nats_requests_total', Object.entries(this.requests).map(([outcome, value]) => ({ value, labels: { outcome } }))),
      catalogMetric('ocpp_nats_request_failures_total', NATS_FAILURE_REASONS.map((reason) => ({ value: this.#failures.get(reason) ?? 0, labels: { reason } }))),
      catalogMetric('ocpp_nats_request_duration_seconds', histogramRows('ocpp_nats_request_duration_seconds', {}, this.#duration)),
      one('ocpp_nats_fallback_answers_total', this.fallbackAnswers),
      catalogMetric('ocpp_nats_fallback_records_total', Object.entries(this.fallback).map(([outcome, value]) => ({ value, labels: { outcome } }))),
      one('ocpp_nats_fallback_spool_entries', v.fallbackSpoolEntries),
    ];
  }
}
