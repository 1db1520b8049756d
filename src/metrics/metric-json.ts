/** The plain-data form of a metric that prom-client's AggregatorRegistry merges (getMetricsAsJSON()). */
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
