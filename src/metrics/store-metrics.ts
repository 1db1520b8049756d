/**
 * The store's metrics (src/store/): what its writer committed, spooled and replayed, how long commits took,
 * and how far it is behind. Read from the store thread at each scrape (its status request); the shards count the
 * CALLs the store refused (ocpp_store_refusals_total).
 */
import { histogramRows, type FastHistogram } from './histogram.js';
import { catalogMetric, type MetricJson } from './metric-json.js';

export interface StoreView {
  engine: string;
  /** 'spooling' while the database is unavailable or its spool is being replayed. */
  mode: 'ok' | 'spooling';
  spool: { entries: number; bytes: number };
  stats: { commits: number; records: number; spooled: number; replayed: number; failedCommits: number; rejected: number };
  /** Commit durations (a FastHistogram's plain fields, as they cross the thread boundary). */
  commitSeconds: Pick<FastHistogram, 'counts' | 'sum' | 'count' | 'bounds'>;
}


/** The store's families; `null` (the store thread did not answer) gives none rather than wrong zeros. */
export function storeMetrics(view: StoreView | null): MetricJson[] {
  if (view === null) return [];
  const engine = { engine: view.engine };
  return [
    catalogMetric('ocpp_store_commits_total', [{ value: view.stats.commits, labels: engine }]),
    catalogMetric('ocpp_store_records_total', [
      { value: view.stats.records, labels: { outcome: 'committed' } },
      { value: view.stats.spooled, labels: { outcome: 'spooled' } },
      { value: view.stats.replayed, labels: { outcome: 'replayed' } },
      { value: view.stats.rejected, labels: { outcome: 'rejected' } },
    ]),
    catalogMetric('ocpp_store_failed_commits_total', [{ value: view.stats.failedCommits, labels: engine }]),
    catalogMetric('ocpp_store_available', [{ value: view.mode === 'ok' ? 1 : 0, labels: engine }]),
    catalogMetric('ocpp_store_spool_entries', [{ value: view.spool.entries, labels: {} }]),
    catalogMetric('ocpp_store_spool_bytes', [{ value: view.spool.bytes, labels: {} }]),
    catalogMetric('ocpp_store_commit_duration_seconds', histogramRows('ocpp_store_commit_duration_seconds', engine, view.commitSeconds as FastHistogram)),
  ];
}
