/**
 * A fixed-bucket histogram for the frame path: observe() is a short scan over a typed array, no label
 * hashing, no allocation. Buckets are cumulative only when exported (Prometheus `le` semantics).
 */

/** Seconds; sub-millisecond resolution where station traffic lives, up to the 30 s command timeout. */
export const LATENCY_BUCKETS_S = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30] as const;

export class FastHistogram {
  /** counts[i]: observations in (bounds[i-1], bounds[i]]; the last slot is +Inf. */
  readonly counts: Float64Array;
  sum = 0;
  count = 0;
  readonly #bounds: readonly number[];

  constructor(bounds: readonly number[] = LATENCY_BUCKETS_S) {
    this.#bounds = bounds;
    this.counts = new Float64Array(bounds.length + 1);
  }

  observe(value: number): void {
    const bounds = this.#bounds;
    let i = 0;
    while (i < bounds.length && value > bounds[i]!) i++;
    this.counts[i]!++;
    this.sum += value;
    this.count++;
  }

  get bounds(): readonly number[] {
    return this.#bounds;
  }
}

/** prom-client's `getMetricsAsJSON()` value rows for one histogram series. */
export function histogramRows(name: string, labels: Record<string, string>, h: FastHistogram): Array<{ metricName: string; labels: Record<string, string | number>; value: number }> {
  const rows: Array<{ metricName: string; labels: Record<string, string | number>; value: number }> = [];
  let cumulative = 0;
  h.bounds.forEach((le, i) => {
    cumulative += h.counts[i]!;
    rows.push({ metricName: `${name}_bucket`, labels: { ...labels, le }, value: cumulative });
  });
  cumulative += h.counts[h.bounds.length]!;
  rows.push({ metricName: `${name}_bucket`, labels: { ...labels, le: '+Inf' }, value: cumulative });
  rows.push({ metricName: `${name}_sum`, labels, value: h.sum });
  rows.push({ metricName: `${name}_count`, labels, value: h.count });
  return rows;
}
