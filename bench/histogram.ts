/**
 * An HDR-style log-bucketed histogram of non-negative values (latencies in microseconds here): constant
 * memory, O(1) record, mergeable across threads and processes (the counts are a plain Float64Array that can
 * be transferred or sent as an array), percentiles within a fixed relative error.
 *
 * Layout (as HdrHistogram with `subBucketBits` significant bits): values below 2^subBucketBits are counted
 * exactly, one bucket each; above, every power-of-two range [2^k, 2^(k+1)) is split into 2^(subBucketBits-1)
 * equal buckets, so a bucket is at most 2^-(subBucketBits-1) of its value wide (8 bits: ≤ 0.78 %). Values are
 * rounded to integers and clamped to 2^31 - 1 (≈ 36 min in µs); clamped values are counted in `clamped`.
 *
 * A percentile is reported as the highest value equivalent to its bucket (HdrHistogram's convention), i.e.
 * never below the true nearest-rank value and at most one bucket width above it.
 */

export const DEFAULT_SUB_BUCKET_BITS = 8;
const MAX_VALUE = 0x7fff_ffff;

export interface HistogramSnapshot {
  subBucketBits: number;
  counts: number[];
  total: number;
  min: number;
  max: number;
  sum: number;
  clamped: number;
}

export interface HistogramSummary {
  samples: number;
  min: number;
  mean: number;
  p50: number;
  p90: number;
  p95: number;
  p99: number;
  p999: number;
  max: number;
}

export class Histogram {
  readonly subBucketBits: number;
  readonly counts: Float64Array;
  total = 0;
  min = Infinity;
  max = 0;
  sum = 0;
  clamped = 0;
  readonly #exact: number;
  readonly #half: number;

  constructor(subBucketBits = DEFAULT_SUB_BUCKET_BITS, counts?: Float64Array) {
    if (!Number.isInteger(subBucketBits) || subBucketBits < 2 || subBucketBits > 16) throw new RangeError('subBucketBits must be an integer in 2..16');
    this.subBucketBits = subBucketBits;
    this.#exact = 1 << subBucketBits;
    this.#half = this.#exact >> 1;
    const size = this.#exact + (31 - subBucketBits) * this.#half;
    if (counts !== undefined && counts.length !== size) throw new RangeError(`counts must have ${size} buckets`);
    this.counts = counts ?? new Float64Array(size);
  }

  /** Bucket index of an integer value 0 … 2^31-1. */
  indexOf(v: number): number {
    if (v < this.#exact) return v;
    const shift = 31 - Math.clz32(v) - (this.subBucketBits - 1); // v >>> shift in [half, exact)
    return this.#exact + (shift - 1) * this.#half + ((v >>> shift) - this.#half);
  }

  /** Highest value that falls into bucket `index`. */
  highestOf(index: number): number {
    if (index < this.#exact) return index;
    const k = index - this.#exact;
    const shift = Math.floor(k / this.#half) + 1;
    const sub = (k % this.#half) + this.#half;
    return (sub + 1) * 2 ** shift - 1;
  }

  record(value: number, count = 1): void {
    let v = Math.round(value);
    if (!(v >= 0)) v = 0; // NaN and negatives
    if (v > MAX_VALUE) {
      v = MAX_VALUE;
      this.clamped += count;
    }
    this.counts[this.indexOf(v)]! += count;
    this.total += count;
    this.sum += value * count;
    if (v < this.min) this.min = v;
    if (v > this.max) this.max = v;
  }

  /** Nearest-rank percentile (0 < p ≤ 100), as the highest value of its bucket, capped at the maximum seen. */
  percentile(p: number): number {
    if (this.total === 0) return NaN;
    const rank = Math.max(1, Math.ceil((p / 100) * this.total));
    let seen = 0;
    const counts = this.counts;
    for (let i = 0; i < counts.length; i++) {
      seen += counts[i]!;
      if (seen >= rank) return Math.min(this.highestOf(i), this.max);
    }
    return this.max;
  }

  merge(other: Histogram | HistogramSnapshot): void {
    if (other.subBucketBits !== this.subBucketBits) throw new RangeError('cannot merge histograms of different precision');
    const counts = other.counts;
    if (counts.length !== this.counts.length) throw new RangeError('bucket count mismatch');
    for (let i = 0; i < counts.length; i++) this.counts[i]! += counts[i]!;
    this.total += other.total;
    this.sum += other.sum;
    this.clamped += other.clamped;
    if (other.total > 0) {
      if (other.min < this.min) this.min = other.min;
      if (other.max > this.max) this.max = other.max;
    }
  }

  reset(): void {
    this.counts.fill(0);
    this.total = 0;
    this.min = Infinity;
    this.max = 0;
    this.sum = 0;
    this.clamped = 0;
  }

  /** Plain data for postMessage / IPC / JSON (counts as an array: JSON has no typed arrays). */
  snapshot(): HistogramSnapshot {
    return { subBucketBits: this.subBucketBits, counts: Array.from(this.counts), total: this.total, min: this.min, max: this.max, sum: this.sum, clamped: this.clamped };
  }

  static from(snapshot: HistogramSnapshot): Histogram {
    const h = new Histogram(snapshot.subBucketBits);
    h.merge(snapshot);
    return h;
  }

  summary(): HistogramSummary {
    return {
      samples: this.total,
      min: this.total > 0 ? this.min : NaN,
      mean: this.total > 0 ? this.sum / this.total : NaN,
      p50: this.percentile(50),
      p90: this.percentile(90),
      p95: this.percentile(95),
      p99: this.percentile(99),
      p999: this.percentile(99.9),
      max: this.total > 0 ? this.max : NaN,
    };
  }
}
