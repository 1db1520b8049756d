/**
 * Every metric the router exports, in one place: name, type, labels and help. Names follow Prometheus
 * conventions (`ocpp_` prefix, `_total` counters, `_seconds`, `_bytes`); no label carries a station
 * identity or any other unbounded value (actions are checked against the schema set, else `unknown`).
 * docs/metrics.md lists the same table (a test keeps them in step).
 */
export interface MetricSpec {
  name: string;
  type: 'counter' | 'gauge' | 'histogram';
  labels: readonly string[];
  help: string;
  /** Where the value is produced. */
  source: 'shard' | 'control';
}

export const METRICS = [
  // Stations
  { name: 'ocpp_stations_connected', type: 'gauge', labels: ['version', 'transport'], source: 'shard', help: 'Stations connected now, by OCPP version and transport.' },
  { name: 'ocpp_stations_known', type: 'gauge', labels: [], source: 'control', help: 'Stations in the registry, connected or not.' },
  { name: 'ocpp_station_connects_total', type: 'counter', labels: [], source: 'shard', help: 'Station connections accepted (WebSocket opened with an OCPP subprotocol).' },
  { name: 'ocpp_station_disconnects_total', type: 'counter', labels: ['reason'], source: 'shard', help: 'Station connections closed, by reason (close code class).' },
  { name: 'ocpp_station_replaced_total', type: 'counter', labels: [], source: 'shard', help: 'Connections closed because the same identity connected again (newest wins).' },
  { name: 'ocpp_upgrades_refused_total', type: 'counter', labels: ['reason'], source: 'shard', help: 'WebSocket upgrades refused: auth, limit, rate, address (limits.maxStationsPerAddress), timeout (limits.upgradeTimeoutMs), badIdentity, badPath, subprotocol, shutdown, profile, certificate.' },
  { name: 'ocpp_shard_connections', type: 'gauge', labels: ['shard'], source: 'shard', help: 'Station connections held by each shard.' },
  // Messages
  { name: 'ocpp_messages_total', type: 'counter', labels: ['direction', 'message_type', 'action'], source: 'shard', help: 'OCPP-J frames received (in) and sent (out), by message type and action.' },
  { name: 'ocpp_station_calls_total', type: 'counter', labels: ['action', 'result'], source: 'shard', help: 'CALLs from stations answered, by action and result (ok: CALLRESULT, error: CALLERROR).' },
  { name: 'ocpp_callerrors_sent_total', type: 'counter', labels: ['code'], source: 'shard', help: 'CALLERRORs sent to stations, by error code as spelled on the wire.' },
  { name: 'ocpp_bad_frames_total', type: 'counter', labels: ['kind'], source: 'shard', help: 'Malformed or refused frames, by kind.' },
  { name: 'ocpp_validation_failures_total', type: 'counter', labels: ['version', 'action', 'direction'], source: 'shard', help: 'Schema validation failures: request (station CALL), response (station CALLRESULT), reply (our backend reply).' },
  { name: 'ocpp_policy_closes_total', type: 'counter', labels: ['reason'], source: 'shard', help: 'Connections closed for breaking the rules: badMessages, inboundQueueFull, rateLimited (limits.maxRateLimited), bootTimeout (limits.bootTimeoutS).' },
  // Limits (docs/limits.md)
  { name: 'ocpp_rate_limited_frames_total', type: 'counter', labels: ['kind'], source: 'shard', help: 'Station frames over the message rate limit (limits.messageRatePerS): call (answered with a CALLERROR), other (dropped).' },
  { name: 'ocpp_outbound_queue_full_total', type: 'counter', labels: [], source: 'shard', help: 'Central-system CALLs refused because ocpp.outboundQueueMax calls already waited for the station (the API answers 429).' },
  { name: 'ocpp_address_table_full_total', type: 'counter', labels: [], source: 'shard', help: 'Upgrades admitted without a per-address count because the shared address table was full (limits.maxStationsPerAddress not enforced for them).' },
  // Latency
  { name: 'ocpp_request_duration_seconds', type: 'histogram', labels: ['action'], source: 'shard', help: 'Handling time of station CALLs, from receipt to reply sent.' },
  { name: 'ocpp_command_duration_seconds', type: 'histogram', labels: ['action', 'outcome'], source: 'shard', help: 'Round trip of central-system CALLs to stations, from send to answer or timeout.' },
  // Outgoing calls
  { name: 'ocpp_outbound_calls_total', type: 'counter', labels: ['outcome'], source: 'shard', help: 'Central-system CALLs finished: result, error, timeout, invalid, aborted.' },
  { name: 'ocpp_outbound_calls_in_flight', type: 'gauge', labels: [], source: 'shard', help: 'Central-system CALLs sent and not yet answered.' },
  { name: 'ocpp_outbound_calls_queued', type: 'gauge', labels: [], source: 'shard', help: 'Central-system CALLs waiting behind the one in flight.' },
  { name: 'ocpp_stray_results_total', type: 'counter', labels: ['kind'], source: 'shard', help: 'CALLRESULT/CALLERROR that matched no call in flight: late (after its timeout) or unknown.' },
  // Live log and backends
  { name: 'ocpp_live_log_dropped_total', type: 'counter', labels: [], source: 'shard', help: 'Live-log frames dropped because a log client was slow.' },
  { name: 'ocpp_invalid_backend_replies_total', type: 'counter', labels: [], source: 'shard', help: 'Backend replies that failed the response schema (the station got InternalError).' },
  // Webhook backend (src/backends/webhook/, src/control/webhook-*.ts): live requests from shards, spool from the control plane
  { name: 'ocpp_webhook_messages_total', type: 'counter', labels: ['outcome'], source: 'shard', help: 'Station CALLs forwarded to the webhook, by outcome: result, callError (receiver answers), failed (no usable answer).' },
  { name: 'ocpp_webhook_failures_total', type: 'counter', labels: ['path', 'reason'], source: 'shard', help: 'Webhook requests or messages that failed, by path (live, spool) and reason: status, body, invalid, missing, connect, timeout, circuitOpen.' },
  { name: 'ocpp_webhook_fallback_answers_total', type: 'counter', labels: [], source: 'shard', help: 'Station CALLs answered by the built-in responder because the webhook failed (onFailure: responder).' },
  { name: 'ocpp_webhook_request_duration_seconds', type: 'histogram', labels: ['path'], source: 'shard', help: 'Webhook HTTP request time, by path: live (station requests) or spool (redeliveries and events).' },
  { name: 'ocpp_webhook_batch_size', type: 'histogram', labels: [], source: 'shard', help: 'Station requests per webhook POST.' },
  { name: 'ocpp_webhook_retries_total', type: 'counter', labels: [], source: 'control', help: 'Spool deliveries attempted again after a failure.' },
  { name: 'ocpp_webhook_deliveries_total', type: 'counter', labels: ['kind'], source: 'control', help: 'Spool entries delivered (2xx), by kind: request (answered by the fallback), event.' },
  { name: 'ocpp_webhook_spool_entries', type: 'gauge', labels: [], source: 'control', help: 'Entries in the spool waiting for delivery.' },
  { name: 'ocpp_webhook_spool_bytes', type: 'gauge', labels: [], source: 'control', help: 'Bytes of spool segment files on disk.' },
  { name: 'ocpp_webhook_spool_oldest_age_seconds', type: 'gauge', labels: [], source: 'control', help: 'Age of the oldest entry waiting in the spool (0 when empty).' },
  { name: 'ocpp_webhook_spool_dropped_total', type: 'counter', labels: ['reason'], source: 'control', help: 'Spool entries dropped: full (spool.maxBytes reached), attempts (retry.maxAttempts reached).' },
  // NATS (src/cluster/events.ts, src/backends/nats/): per shard, each with its own connection
  { name: 'ocpp_nats_connected', type: 'gauge', labels: [], source: 'shard', help: 'Shards whose NATS connection is up (shards use one when cluster.events.enable or backend nats).' },
  { name: 'ocpp_nats_events_published_total', type: 'counter', labels: [], source: 'shard', help: 'Events stored in the JetStream stream (acknowledged), published live or from the spool.' },
  { name: 'ocpp_nats_events_failed_total', type: 'counter', labels: [], source: 'shard', help: 'Event publishes that got no acknowledgement (the event is in the spool and published again).' },
  { name: 'ocpp_nats_events_spooled_total', type: 'counter', labels: [], source: 'shard', help: 'Events written to the spool on disk (NATS away, stream not ready, a publish failed, or maxPending reached).' },
  { name: 'ocpp_nats_events_dropped_total', type: 'counter', labels: [], source: 'shard', help: 'Events lost: the spool was full (cluster.events.spool.maxBytes), or an entry was unreadable.' },
  { name: 'ocpp_nats_events_pending', type: 'gauge', labels: [], source: 'shard', help: 'Event publishes awaiting their acknowledgement (at most cluster.events.maxPending per shard).' },
  { name: 'ocpp_nats_events_spool_entries', type: 'gauge', labels: [], source: 'shard', help: 'Events waiting in the spool to be published.' },
  { name: 'ocpp_nats_events_spool_bytes', type: 'gauge', labels: [], source: 'shard', help: 'Bytes of events spool segment files on disk.' },
  { name: 'ocpp_nats_requests_total', type: 'counter', labels: ['outcome'], source: 'shard', help: 'Station CALLs sent to the NATS backend\'s workers, by outcome: result, callError (the worker answers), failed (no usable answer).' },
  { name: 'ocpp_nats_request_failures_total', type: 'counter', labels: ['reason'], source: 'shard', help: 'NATS backend requests without a usable answer, by reason: down, noResponders, timeout, invalid, error.' },
  { name: 'ocpp_nats_request_duration_seconds', type: 'histogram', labels: [], source: 'shard', help: 'NATS backend request time, from request to reply or failure.' },
  { name: 'ocpp_nats_fallback_answers_total', type: 'counter', labels: [], source: 'shard', help: 'Station CALLs answered by the built-in responder because the NATS backend failed (nats.onFailure: responder).' },
  { name: 'ocpp_nats_fallback_records_total', type: 'counter', labels: ['outcome'], source: 'shard', help: 'Fallback records by outcome: kept (on disk before the answer), published (stored in the fallback stream), refused (not kept: the station got InternalError).' },
  { name: 'ocpp_nats_fallback_spool_entries', type: 'gauge', labels: [], source: 'shard', help: 'Fallback records waiting on disk to be published.' },
  // OCPP-S (SOAP, src/soap/): requests served by the shards; commands to SOAP stations are counted by the control
  // plane in the outbound families above, SOAP stations in ocpp_stations_connected{transport="soap"}
  { name: 'ocpp_soap_requests_total', type: 'counter', labels: ['version', 'outcome'], source: 'shard', help: 'OCPP-S (SOAP) requests from stations, by OCPP version (ocpp1.5, ocpp1.6, unknown) and outcome (response, fault).' },
  { name: 'ocpp_soap_faults_total', type: 'counter', labels: ['reason'], source: 'shard', help: 'SOAP requests refused, by reason: tooLarge, method, dtd, malformedXml, notSoap, missingHeader, badIdentity, wrongNamespace, unknownAction, mismatch, body, call (CALLERROR of validation or backend), busy, shutdown, internal.' },
  // Store (src/store/): read from the store thread at each scrape; refusals are counted by the shards
  { name: 'ocpp_store_commits_total', type: 'counter', labels: ['engine'], source: 'control', help: 'Store transactions committed (one per group commit).' },
  { name: 'ocpp_store_records_total', type: 'counter', labels: ['outcome'], source: 'control', help: 'Store records written, by outcome: committed, spooled (database unavailable, onFailure spool), replayed (from the spool), rejected (refused on replay by a database that answers; set aside in store-spool/rejected.jsonl).' },
  { name: 'ocpp_store_failed_commits_total', type: 'counter', labels: ['engine'], source: 'control', help: 'Store commits that failed (the database was unavailable or refused a record).' },
  { name: 'ocpp_store_available', type: 'gauge', labels: ['engine'], source: 'control', help: '1 while the store writes to its database, 0 while it spools (database unavailable or spool replaying).' },
  { name: 'ocpp_store_spool_entries', type: 'gauge', labels: [], source: 'control', help: 'Write requests waiting in the store spool for the database.' },
  { name: 'ocpp_store_spool_bytes', type: 'gauge', labels: [], source: 'control', help: 'Bytes of store spool segment files on disk.' },
  { name: 'ocpp_store_commit_duration_seconds', type: 'histogram', labels: ['engine'], source: 'control', help: 'Time of one group commit in the store thread.' },
  { name: 'ocpp_store_refusals_total', type: 'counter', labels: [], source: 'shard', help: 'Writes the store refused: the CALLs they belonged to got InternalError (store.onFailure: error).' },
  // Cluster (src/cluster/, control plane): this node's view
  { name: 'ocpp_cluster_nats_connected', type: 'gauge', labels: ['node'], source: 'control', help: '1 while this node reaches NATS, 0 while it serves only its own stations.' },
  { name: 'ocpp_cluster_stations', type: 'gauge', labels: ['node'], source: 'control', help: 'Stations this node holds in the cluster directory.' },
  { name: 'ocpp_cluster_nodes', type: 'gauge', labels: ['node'], source: 'control', help: 'Nodes alive in the cluster (heartbeats within the directory ttl), as this node sees it.' },
  { name: 'ocpp_cluster_directory_writes_total', type: 'counter', labels: ['outcome'], source: 'control', help: 'Directory writes by this node: written, conflict (another write in between: read again), failed.' },
  { name: 'ocpp_cluster_replaced_total', type: 'counter', labels: ['where'], source: 'control', help: 'Connections replaced across nodes: here (a newer one elsewhere closed ours), there (ours closed an older one elsewhere).' },
  { name: 'ocpp_flex_requests_total', type: 'counter', labels: ['outcome'], source: 'control', help: 'Flexibility prequalification requests handled: requested (signed claim request delivered to the issuer), duplicate (already requested: nothing done twice), failed.' },
  { name: 'ocpp_flex_claims_total', type: 'counter', labels: ['outcome'], source: 'control', help: 'Issued prequalification claims handled: published (in the DID document), duplicate (already published), failed.' },
  { name: 'ocpp_flex_failures_total', type: 'counter', labels: ['reason'], source: 'control', help: 'Flexibility messages that failed for good (dead letter, claim recorded failed), by reason: malformed, unknown-asset, forged-token, untrusted-issuer, subject-mismatch, max-deliveries, chain, store, issuer, nats, internal.' },
  { name: 'ocpp_cluster_requests_total', type: 'counter', labels: ['direction', 'outcome'], source: 'control', help: 'Requests between nodes (commands for stations on other nodes, lists): in (served), out (ok, failed).' },
  // API access (src/http/api-auth.ts): refusals made by the control plane, for the API and the live log
  { name: 'ocpp_api_refusals_total', type: 'counter', labels: ['reason'], source: 'control', help: 'API and live-log requests refused: credentials (401, wrong or missing), rateLimited (429, too many failed logins from the address), role (403, read-only credentials on an operator route), loopbackOnly (403, a non-loopback client while api.auth.mode is off).' },
  // Process and threads
  { name: 'ocpp_event_loop_delay_seconds', type: 'gauge', labels: ['thread', 'stat'], source: 'shard', help: 'Event-loop delay per thread since the previous scrape: mean, p99, max.' },
  { name: 'ocpp_heap_used_bytes', type: 'gauge', labels: ['thread'], source: 'shard', help: 'V8 heap in use per thread.' },
  { name: 'ocpp_shards_ready', type: 'gauge', labels: [], source: 'control', help: 'Shards listening.' },
  { name: 'ocpp_shard_restarts_total', type: 'counter', labels: ['shard'], source: 'control', help: 'Shard restarts after a crash.' },
  { name: 'ocpp_thread_messages_dropped_total', type: 'counter', labels: ['kind'], source: 'shard', help: 'Messages a shard could not pass to the control plane (postMessage failed) or live-log entries it could not serialize, by kind; never expected.' },
] as const satisfies readonly MetricSpec[];

export type MetricName = (typeof METRICS)[number]['name'];

export const METRIC_BY_NAME: ReadonlyMap<string, MetricSpec> = new Map(METRICS.map((m) => [m.name, m]));

/** Close code → bounded reason label. */
export function disconnectReason(code: number): string {
  switch (code) {
    case 1000:
      return 'normal';
    case 1001:
      return 'goingAway';
    case 1002:
      return 'protocolError';
    case 1003:
      return 'unsupportedData';
    case 1005:
      return 'noStatus';
    case 1006:
      return 'abnormal';
    case 1007:
      return 'invalidPayload';
    case 1008:
      return 'policy';
    case 1009:
      return 'tooBig';
    case 1011:
      return 'internalError';
    case 4000:
      return 'replaced';
    default:
      return 'other';
  }
}
