/**
 * Flexibility prequalification's metrics (src/flex/, control plane): requests and issued claims handled by outcome,
 * and failures by reason (a bounded set). Without the service the same families without series.
 */
import { METRIC_BY_NAME, type MetricName } from '../metrics/catalog.js';
import type { MetricJson, MetricValue } from '../metrics/metric-json.js';
import type { HandlerCounters } from './handlers.js';

const NAMES: MetricName[] = ['ocpp_flex_requests_total', 'ocpp_flex_claims_total', 'ocpp_flex_failures_total'];

function metric(name: MetricName, values: MetricValue[]): MetricJson {
  const spec = METRIC_BY_NAME.get(name)!;
  return { name, help: spec.help, type: spec.type, values, aggregator: 'sum' };
}

export function flexMetrics(counters: HandlerCounters | null): MetricJson[] {
  if (counters === null) return NAMES.map((name) => metric(name, []));
  return [
    metric('ocpp_flex_requests_total', Object.entries(counters.requests).map(([outcome, value]) => ({ value, labels: { outcome } }))),
    metric('ocpp_flex_claims_total', Object.entries(counters.claims).map(([outcome, value]) => ({ value, labels: { outcome } }))),
    metric('ocpp_flex_failures_total', [...counters.failures].map(([reason, value]) => ({ value, labels: { reason } }))),
  ];
}
