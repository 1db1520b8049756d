/**
 * The cluster's metrics (src/cluster/, control plane): whether this node reaches NATS, how many stations it has in
 * the directory and how many nodes are alive, the directory's writes, replacements across nodes, and requests
 * between nodes. Per node, like every other metric: Prometheus adds the instance, the Grafana dashboard's cluster
 * row compares the nodes.
 */
import type { MetricName } from './catalog.js';
import { catalogMetric, type MetricJson } from './metric-json.js';

export interface ClusterView {
  node: string;
  natsUp: boolean;
  stations: number;
  /** Nodes alive at the last heartbeat (null before the first). */
  nodes: number | null;
  directory: { writes: number; conflicts: number; failures: number; replacedHere: number; replacedThere: number };
  requests: { requestsIn: number; requestsOut: number; failuresOut: number };
}

const CLUSTER_METRIC_NAMES: MetricName[] = ['ocpp_cluster_nats_connected', 'ocpp_cluster_stations', 'ocpp_cluster_nodes', 'ocpp_cluster_directory_writes_total', 'ocpp_cluster_replaced_total', 'ocpp_cluster_requests_total'];


/** The cluster's families; outside a cluster (`null`) the same families without series, so the exposition is stable. */
export function clusterMetrics(view: ClusterView | null): MetricJson[] {
  if (view === null) return CLUSTER_METRIC_NAMES.map((name) => catalogMetric(name, []));
  const node = { node: view.node };
  return [
    catalogMetric('ocpp_cluster_nats_connected', [{ value: view.natsUp ? 1 : 0, labels: node }]),
    catalogMetric('ocpp_cluster_stations', [{ value: view.stations, labels: node }]),
    catalogMetric('ocpp_cluster_nodes', view.nodes === null ? [] : [{ value: view.nodes, labels: node }]),
    catalogMetric('ocpp_cluster_directory_writes_total', [
      { value: view.directory.writes, labels: { outcome: 'written' } },
      { value: view.directory.conflicts, labels: { outcome: 'conflict' } },
      { value: view.directory.failures, labels: { outcome: 'failed' } },
    ]),
    catalogMetric('ocpp_cluster_replaced_total', [
      { value: view.directory.replacedHere, labels: { where: 'here' } },
      { value: view.directory.replacedThere, labels: { where: 'there' } },
    ]),
    catalogMetric('ocpp_cluster_requests_total', [
      { value: view.requests.requestsIn, labels: { direction: 'in', outcome: 'served' } },
      { value: view.requests.requestsOut - view.requests.failuresOut, labels: { direction: 'out', outcome: 'ok' } },
      { value: view.requests.failuresOut, labels: { direction: 'out', outcome: 'failed' } },
    ]),
  ];
}
