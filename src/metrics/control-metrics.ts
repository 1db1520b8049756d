/**
 * The control plane's metrics and the scrape: prom-client's default process metrics for the main thread
 * (CPU, RSS, heap, handles), the registry and supervisor gauges, merged with every shard's metrics
 * through AggregatorRegistry (counters and histograms add up; per-thread gauges keep their thread label).
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { getHeapStatistics } from 'node:v8';
import { AggregatorRegistry, Registry, collectDefaultMetrics } from 'prom-client';
import { LOOP_RESOLUTION_MS, loopDelaySeconds } from './loop-delay.js';
import { catalogMetric, type MetricJson } from './metric-json.js';

export interface ControlView {
  stationsKnown(): number;
  shardsReady(): number;
  shardRestarts(): number[];
  /** Webhook spool and delivery metrics (src/control/webhook-control.ts); zeros when the webhook is off. */
  webhook?(): MetricJson[];
  /** OCPP-S stations and commands (src/soap/command-client.ts). */
  soap?(): MetricJson[];
  /** The cluster's metrics (src/metrics/cluster-metrics.ts), when this node is in one. */
  cluster?(): MetricJson[];
  /** Flexibility prequalification (src/metrics/flex-metrics.ts). */
  flex?(): MetricJson[];
  /** The API layer's metrics (src/api/index.ts: refusals by reason). */
  api?(): MetricJson[];
  /** The store thread's metrics (src/metrics/store-metrics.ts), asked for at each scrape. */
  store?(): Promise<MetricJson[]>;
}

export class ControlMetrics {
  readonly #registry = new Registry();
  readonly #loop = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS });
  readonly #view: ControlView;

  constructor(view: ControlView) {
    this.#view = view;
    collectDefaultMetrics({ register: this.#registry, eventLoopMonitoringPrecision: LOOP_RESOLUTION_MS });
    // prom-client names these gauges `_total`, which Prometheus reserves for counters (promtool rejects them).
    for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) this.#registry.removeSingleMetric(name);
    this.#loop.enable();
  }

  get contentType(): string {
    return this.#registry.contentType;
  }

  #own(): MetricJson[] {
    const loop = this.#loop;
    const delay = loop.count > 0 ? [
      { value: loopDelaySeconds(loop.mean), labels: { thread: 'control', stat: 'mean' } },
      { value: loopDelaySeconds(loop.percentile(99)), labels: { thread: 'control', stat: 'p99' } },
      { value: loopDelaySeconds(loop.max), labels: { thread: 'control', stat: 'max' } },
    ] : [];
    loop.reset();
    return [
      catalogMetric('ocpp_stations_known', [{ value: this.#view.stationsKnown(), labels: {} }]),
      catalogMetric('ocpp_shards_ready', [{ value: this.#view.shardsReady(), labels: {} }]),
      catalogMetric('ocpp_shard_restarts_total', this.#view.shardRestarts().map((value, shard) => ({ value, labels: { shard: String(shard) } }))),
      catalogMetric('ocpp_event_loop_delay_seconds', delay),
      catalogMetric('ocpp_heap_used_bytes', [{ value: getHeapStatistics().used_heap_size, labels: { thread: 'control' } }]),
      ...(this.#view.webhook?.() ?? []),
      ...(this.#view.soap?.() ?? []),
      ...(this.#view.cluster?.() ?? []),
      ...(this.#view.flex?.() ?? []),
      ...(this.#view.api?.() ?? []),
    ];
  }

  /** The text exposition of everything: this thread's metrics plus each shard's. */
  async render(shards: MetricJson[][]): Promise<string> {
    const process = (await this.#registry.getMetricsAsJSON()) as unknown as MetricJson[];
    const store = (await this.#view.store?.()) ?? [];
    const aggregated = AggregatorRegistry.aggregate([process, this.#own(), store, ...shards] as unknown as Parameters<typeof AggregatorRegistry.aggregate>[0]);
    return aggregated.metrics();
  }
}
