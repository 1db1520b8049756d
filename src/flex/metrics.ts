/**
 * Flexibility prequalification's metrics (src/flex/, control plane): requests and issued claims handled by outcome,
 * and failures by reason (a bounded set). Without the service the same families without series.
 */
import type { MetricName } from '../metrics/catalog.js';
import { catalogMetric, type MetricJson } from '../metrics/metric-json.js';
import type { HandlerCounters } from './handlers.js';

const NAMES: MetricName[] = ['ocpp_flex_requests_total', 'ocpp_flex_claims_total', 'ocpp_flex_failures_total'];


export function flexMetrics(counters: HandlerCounters | null): MetricJson[] {
  if (counters === null) return NAMES.map((name) => catalogMetric(name, []));
  return [
    catalogMetric('ocpp_flex_requests_total', Object.entries(counters.requests).map(([outcome, value]) => ({ value, labels: { outcome } }))),
    catalogMetric('ocpp_flex_claims_total', Object.entries(counters.claims).map(([outcome, value]) => ({ value, labels: { outcome } }))),
    catalogMetric('ocpp_flex_failures_total', [...counters.failures].map(([reason, value]) => ({ value, labels: { reason } }))),
  ];
}
