/**
 * The documentation and deployment files stay in step with the metric catalog (src/metrics/catalog.ts):
 * docs/metrics.md lists exactly the catalog's metrics with their type and labels; the Grafana dashboard and
 * the doc's PromQL refer only to metrics that exist; the provisioning, scrape config and compose file agree.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { parse as parseYaml } from 'yaml';
import { METRICS, METRIC_BY_NAME, disconnectReason } from '../src/metrics/catalog.js';
import { LATENCY_BUCKETS_S } from '../src/metrics/histogram.js';
import { BATCH_SIZE_BUCKETS, WEBHOOK_FAILURE_REASONS } from '../src/metrics/webhook-metrics.js';
import { BadFrameKind } from '../src/protocol/ocpp-j/frames.js';
import { parseEmulateArgs } from '../src/emulator/cli.js';
import { toolMissing } from './helpers/tools.js';

const root = new URL('../../', import.meta.url);
const read = (path: string): string => readFileSync(new URL(path, root), 'utf8');

/** prom-client's default metrics of the main thread (collectDefaultMetrics), also in the exposition. */
const isDefaultMetric = (name: string): boolean => /^(process|nodejs)_[a-z0-9_]+$/.test(name);

/** A series name that the exposition carries: a catalog metric, or a histogram's _bucket/_sum/_count. */
function isExposed(name: string): boolean {
  if (METRIC_BY_NAME.has(name)) return true;
  const m = /^(.+)_(bucket|sum|count)$/.exec(name);
  return m !== null && METRIC_BY_NAME.get(m[1]!)?.type === 'histogram';
}

const KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'offset', 'and', 'or', 'unless', 'inf', 'nan']);

/** Metric names a PromQL expression selects: identifiers outside strings, label matchers, ranges and grouping clauses that are not function calls. */
export function metricNames(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  const names: string[] = [];
  for (const m of stripped.matchAll(/(?<![\w.$:])([a-zA-Z_:][\w:]*)(?![\w:])(?!\s*\()/g)) {
    if (!KEYWORDS.has(m[1]!.toLowerCase())) names.push(m[1]!);
  }
  return names;
}

test('metricNames() finds selectors and skips functions, labels and grouping', () => {
  assert.deepEqual(metricNames('histogram_quantile(0.95, sum by (action, le) (rate(ocpp_request_duration_seconds_bucket{instance=~"$instance"}[$__rate_interval])))'), ['ocpp_request_duration_seconds_bucket']);
  assert.deepEqual(metricNames('sum(rate(a_total{x="y"}[1m])) / sum(rate(b_count[5m] offset 1h)) > 0.5'), ['a_total', 'b_count']);
  assert.deepEqual(metricNames('up{job="ocpp-router"} == 0 and on (instance) ocpp_shards_ready < 1e3'), ['up', 'ocpp_shards_ready']);
});

const doc = read('docs/metrics.md');

test('docs/metrics.md lists every metric of the catalog, with its type, labels, thread and help, and nothing else', () => {
  const rows = new Map<string, { type: string; labels: string[]; thread: string; help: string }>();
  for (const line of doc.split('\n')) {
    const m = /^\| `(ocpp_[a-z0-9_]+)` \| (\w+) \| ([^|]+) \| ([^|]+) \| (.+) \|$/.exec(line);
    if (m === null) continue;
    assert.ok(!rows.has(m[1]!), `${m[1]} is listed twice`);
    const labels = [...m[3]!.matchAll(/`([a-z_]+)`/g)].map((x) => x[1]!);
    rows.set(m[1]!, { type: m[2]!, labels, thread: m[4]!.trim(), help: m[5]!.trim() });
  }
  for (const spec of METRICS) {
    const row = rows.get(spec.name);
    assert.ok(row, `${spec.name} is missing from docs/metrics.md`);
    assert.equal(row.type, spec.type, `${spec.name}: type`);
    assert.deepEqual(row.labels, [...spec.labels], `${spec.name}: labels`);
    assert.ok(row.thread.split(/,\s*/).includes(spec.source), `${spec.name}: thread column names ${spec.source}`);
    assert.equal(row.help, spec.help, `${spec.name}: help text`);
  }
  for (const name of rows.keys()) assert.ok(METRIC_BY_NAME.has(name), `docs/metrics.md lists ${name}, which is not in the catalog`);
  // Any other mention of an ocpp_ series (prose, PromQL) names something the exposition has.
  for (const m of doc.matchAll(/\bocpp_[a-z0-9_]+/g)) assert.ok(isExposed(m[0]), `docs/metrics.md mentions ${m[0]}, which is not exported`);
});

test('docs/metrics.md: bucket bounds and bounded label values match the code', () => {
  assert.ok(doc.includes(`\n${LATENCY_BUCKETS_S.join(' ')} +Inf\n`), 'the bucket list equals LATENCY_BUCKETS_S');
  assert.ok(doc.includes(`\n${BATCH_SIZE_BUCKETS.join(' ')} +Inf\n`), 'the batch size bucket list equals BATCH_SIZE_BUCKETS');
  for (const reason of WEBHOOK_FAILURE_REASONS) assert.ok(doc.includes(`\`${reason}\``), `webhook failure reason ${reason}`);
  const kinds = [...Object.values(BadFrameKind), 'binary', 'oversize'];
  for (const kind of kinds) assert.ok(doc.includes(`\`${kind}\``), `bad frame kind ${kind} is documented`);
  const codes = [1000, 1001, 1002, 1003, 1005, 1006, 1008, 1009, 1011, 4000, 1234];
  for (const code of codes) assert.ok(doc.includes(`\`${disconnectReason(code)}\``), `disconnect reason ${disconnectReason(code)} (${code}) is documented`);
  for (const reason of ['auth', 'limit', 'rate', 'badIdentity', 'badPath', 'subprotocol', 'shutdown']) assert.ok(doc.includes(`\`${reason}\``), `refusal reason ${reason}`);
});

test('docs/metrics.md: the PromQL examples use only exported metrics', () => {
  const blocks = [...doc.matchAll(/```promql\n([\s\S]*?)```/g)].map((m) => m[1]!);
  assert.ok(blocks.length > 0, 'a promql block');
  let n = 0;
  for (const line of blocks.join('\n').split('\n')) {
    if (line.trim() === '' || line.startsWith('#')) continue;
    for (const name of metricNames(line)) {
      n++;
      assert.ok(isExposed(name) || isDefaultMetric(name) || name === 'up', `${name} in "${line}"`);
    }
  }
  assert.ok(n > 10);
});

interface Panel {
  type: string;
  title: string;
  datasource?: { type: string; uid: string };
  targets?: Array<{ expr: string; datasource?: { uid: string } }>;
  panels?: Panel[];
}

test('the Grafana dashboard is valid, uses the provisioned datasource and only exported metrics', () => {
  const dashboard = JSON.parse(read('conf/grafana/dashboards/ocpp-router.json')) as { uid: string; schemaVersion: number; panels: Panel[]; templating: { list: Array<{ query: unknown; datasource?: { uid: string } }> } };
  assert.equal(dashboard.uid, 'ocpp-router');
  assert.ok(dashboard.schemaVersion >= 36 && dashboard.schemaVersion <= 41, `schemaVersion ${dashboard.schemaVersion}`);
  const datasources = parseYaml(read('conf/grafana/provisioning/datasources/prometheus.yml')) as { datasources: Array<{ uid: string; type: string }> };
  const uid = datasources.datasources.find((d) => d.type === 'prometheus')!.uid;
  const provider = parseYaml(read('conf/grafana/provisioning/dashboards/ocpp-router.yml')) as { providers: Array<{ options: { path: string } }> };
  const compose = parseYaml(read('docker-compose.yml')) as { services: Record<string, { volumes?: string[] }> };
  assert.ok(compose.services.grafana!.volumes!.includes(`./conf/grafana/dashboards:${provider.providers[0]!.options.path}:ro`), 'compose mounts the dashboards where the provider reads them');

  const panels = dashboard.panels.flatMap((p) => [p, ...(p.panels ?? [])]);
  const ids = new Set<number>();
  const used = new Set<string>();
  let exprs = 0;
  for (const panel of panels) {
    const id = (panel as unknown as { id: number }).id;
    assert.ok(!ids.has(id), `panel id ${id} is unique`);
    ids.add(id);
    if (panel.type === 'row') continue;
    assert.equal(panel.datasource?.uid, uid, `${panel.title}: datasource uid`);
    assert.ok((panel.targets ?? []).length > 0, `${panel.title} has queries`);
    for (const target of panel.targets ?? []) {
      assert.equal(target.datasource?.uid ?? uid, uid, `${panel.title}: target datasource uid`);
      const names = metricNames(target.expr);
      assert.ok(names.length > 0, `${panel.title}: ${target.expr} selects a metric`);
      for (const name of names) {
        assert.ok(isExposed(name) || isDefaultMetric(name), `${panel.title}: ${name} is neither in the catalog nor a process_/nodejs_ default metric`);
        used.add(name.replace(/_(bucket|sum|count)$/, ''));
      }
      exprs++;
    }
  }
  for (const v of dashboard.templating.list) assert.equal(v.datasource?.uid, uid, 'template variable datasource');
  assert.ok(exprs >= 20, `${exprs} queries`);
  // The panels the dashboard promises.
  for (const name of ['ocpp_stations_connected', 'ocpp_station_disconnects_total', 'ocpp_upgrades_refused_total', 'ocpp_messages_total', 'ocpp_request_duration_seconds', 'ocpp_command_duration_seconds', 'ocpp_outbound_calls_total', 'ocpp_callerrors_sent_total', 'ocpp_bad_frames_total', 'ocpp_validation_failures_total', 'ocpp_outbound_calls_in_flight', 'ocpp_outbound_calls_queued', 'ocpp_shard_connections', 'ocpp_event_loop_delay_seconds', 'ocpp_heap_used_bytes', 'process_resident_memory_bytes', 'process_cpu_seconds_total', 'ocpp_webhook_messages_total', 'ocpp_webhook_failures_total', 'ocpp_webhook_request_duration_seconds', 'ocpp_webhook_batch_size', 'ocpp_webhook_spool_entries', 'ocpp_webhook_spool_oldest_age_seconds']) {
    assert.ok(used.has(name), `a panel shows ${name}`);
  }
});

test('scrape config and compose file agree with the router', () => {
  const prometheus = parseYaml(read('conf/prometheus/prometheus.yml')) as { scrape_configs: Array<{ job_name: string; metrics_path: string; scrape_interval: string; static_configs: Array<{ targets: string[] }> }> };
  const job = prometheus.scrape_configs.find((j) => j.job_name === 'ocpp-router');
  assert.ok(job, 'job ocpp-router');
  assert.equal(job.metrics_path, '/metrics');
  assert.equal(job.scrape_interval, '5s');
  assert.deepEqual(job.static_configs[0]!.targets, ['ocpp-router:9220']);

  const compose = parseYaml(read('docker-compose.yml')) as { services: Record<string, { build?: string; image?: string; command?: string[]; ports?: string[]; volumes?: string[]; environment?: Record<string, string> }> };
  const router = compose.services['ocpp-router']!;
  assert.equal(router.build, '.');
  assert.ok(router.ports!.includes('127.0.0.1:9220:9220'), 'published on the host loopback only (the API is open to whoever reaches it)');
  assert.equal(router.environment!.API_ALLOW_REMOTE, 'true', 'requests through the published port come from the bridge gateway');
  assert.ok(router.command === undefined, 'the router runs the Dockerfile CMD (the command of npm start)');
  const dockerfile = read('Dockerfile');
  const pkg = JSON.parse(read('package.json')) as { scripts: { start: string } };
  const cmd = /^CMD (\[.*\])$/m.exec(dockerfile);
  assert.ok(cmd, 'Dockerfile has an exec-form CMD');
  assert.ok(pkg.scripts.start.endsWith((JSON.parse(cmd[1]!) as string[]).join(' ')), 'Dockerfile CMD is the command of npm start');
  assert.ok(router.volumes!.some((v) => v.endsWith(':/app/conf/default.json:ro')), 'a mounted config');
  assert.ok(router.volumes!.some((v) => v.endsWith(':/app/data')), 'a data volume');
  assert.ok(dockerfile.includes('/app/data'));
  const emulator = compose.services.emulator!;
  assert.equal(emulator.image, router.image, 'the emulator runs the same image');
  const [node, main, sub, ...args] = emulator.command!;
  assert.deepEqual([node, main, sub], ['node', 'dist/src/main.js', 'emulate']);
  const cli = parseEmulateArgs(args, '.');
  assert.equal(cli.fleet.stations.length, 100);
  assert.ok(cli.fleet.stations.every((st) => st.url === 'ws://ocpp-router:9220/ocpp'), 'the emulator connects to the router service');
  assert.ok(compose.services.prometheus!.volumes!.includes('./conf/prometheus:/etc/prometheus:ro'));
  assert.equal(compose.services.grafana!.environment!.GF_AUTH_ANONYMOUS_ENABLED, 'true');

  const promtool = spawnSync('promtool', ['check', 'config', 'conf/prometheus/prometheus.yml'], { cwd: new URL('.', root).pathname, encoding: 'utf8' });
  if (promtool.error === undefined) assert.equal(promtool.status, 0, `${promtool.stdout}${promtool.stderr}`);
  else toolMissing('promtool', 'the Debian package prometheus (apt-get install prometheus; .ci/run does)', 'the check of conf/prometheus/prometheus.yml'); // fails in CI
});
