/**
 * Webhook metrics. `WebhookMetrics` is kept per thread: each shard records its live requests, the control
 * plane its spool deliveries. Both render every family with zero values when idle (or when the webhook is
 * off), so the exposition always has their HELP lines.
 */
import { FastHistogram, histogramRows } from './histogram.js';
import { catalogMetric, type MetricJson, type MetricValue } from './metric-json.js';

/** Batch sizes: powers of two up to the largest `batch.maxSize`. */
export const BATCH_SIZE_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1000] as const;

export type WebhookPath = 'live' | 'spool';
export type WebhookFailureReason = 'status' | 'body' | 'invalid' | 'missing' | 'connect' | 'timeout' | 'circuitOpen';
export const WEBHOOK_FAILURE_REASONS: readonly WebhookFailureReason[] = ['status', 'body', 'invalid', 'missing', 'connect', 'timeout', 'circuitOpen'];

/** Spool state read at scrape time (control plane only). */
export interface SpoolView {
  entries: number;
  bytes: number;
  oldestAgeS: number;
  dropped: { full: number; attempts: number };
  retries: number;
  delivered: { request: number; event: number };
}

export class WebhookMetrics {
  readonly #path: WebhookPath;
  readonly #failures = new Map<WebhookFailureReason, number>();
  readonly #duration = new FastHistogram();
  readonly #batch = new FastHistogram(BATCH_SIZE_BUCKETS);
  messages = { result: 0, callError: 0, failed: 0 };
  fallbackAnswers = 0;

  constructor(path: WebhookPath) {
    this.#path = path;
  }

  failure(reason: WebhookFailureReason, count = 1): void {
    this.#failures.set(reason, (this.#failures.get(reason) ?? 0) + count);
  }

  failures(reason: WebhookFailureReason): number {
    return this.#failures.get(reason) ?? 0;
  }

  request(ms: number, batchSize: number): void {
    this.#duration.observe(ms / 1000);
    if (this.#path === 'live') this.#batch.observe(batchSize);
  }

  /** Every webhook family this thread produces; `spool` only on the control plane. */
  toJson(spool?: SpoolView): MetricJson[] {
    const path = this.#path;
    const out: MetricJson[] = [];
    const failures: MetricValue[] = WEBHOOK_FAILURE_REASONS.map((reason) => ({ value: this.#failures.get(reason) ?? 0, labels: { path, reason } }));
    out.push(catalogMetric('ocpp_webhook_failures_total', failures));
    out.push(catalogMetric('ocpp_webhook_request_duration_seconds', histogramRows('ocpp_webhook_request_duration_seconds', { path }, this.#duration)));
    if (spool === undefined) {
      out.push(
        catalogMetric('ocpp_webhook_messages_total', Object.entries(this.messages).map(([outcome, value]) => ({ value, labels: { outcome } }))),
        catalogMetric('ocpp_webhook_fallback_answers_total', [{ value: this.fallbackAnswers, labels: {} }]),
        catalogMetric('ocpp_webhook_batch_size', histogramRows('ocpp_webhook_batch_size', {}, this.#batch)),
      );
    } else {
      out.push(
        catalogMetric('ocpp_webhook_retries_total', [{ value: spool.retries, labels: {} }]),
        catalogMetric('ocpp_webhook_deliveries_total', [
          { value: spool.delivered.request, labels: { kind: 'request' } },
          { value: spool.delivered.event, labels: { kind: 'event' } },
        ]),
        catalogMetric('ocpp_webhook_spool_entries', [{ value: spool.entries, labels: {} }]),
        catalogMetric('ocpp_webhook_spool_bytes', [{ value: spool.bytes, labels: {} }]),
        catalogMetric('ocpp_webhook_spool_oldest_age_seconds', [{ value: spool.oldestAgeS, labels: {} }]),
        catalogMetric('ocpp_webhook_spool_dropped_total', [
          { value: spool.dropped.full, labels: { reason: 'full' } },
          { value: spool.dropped.attempts, labels: { reason: 'attempts' } },
        ]),
      );
    }
    return out;
  }
}
