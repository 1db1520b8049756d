/** The plain-data form of a metric that prom-client's AggregatorRegistry merges (getMetricsAsJSON()). */
import { METRIC_BY_NAME, type MetricName } from './catalog.js';

export interface MetricValue {
  value: number;
  labels: Record<string, string | number>;
  metricName?: string;
}

export interface MetricJson {
  name: string;
  help: string;
  type: 'counter' | 'gauge' | 'histogram';
  values: MetricValue[];
  /** How shards' values with the same labels combine: counters and most gauges add up. */
  aggregator: 'sum' | 'max' | 'first';
}

/** A metric of the catalogue (its help and type from catalog.ts) with these values. */
export function catalogMetric(name: MetricName, values: MetricValue[], aggregator: MetricJson['aggregator'] = 'sum'): MetricJson {
  const spec = METRIC_BY_NAME.get(name)!;
  return { name, help: spec.help, type: spec.type, values, aggregator };
}
