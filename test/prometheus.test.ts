/**
 * A real Prometheus (Debian's `prometheus` package, installed by .ci/run with promtool) scrapes a running
 * two-shard router every second; the test queries it over its HTTP API until the scraped values match the
 * traffic sent. Without the `prometheus` binary: fails in CI (CI=true), skipped outside CI, saying what to install.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestServer, TestStation, waitFor } from './helpers/server.js';
import { toolMissing } from './helpers/tools.js';

const JOB = 'ocpp-router';

/** A free TCP port on 127.0.0.1 for Prometheus's own web listener (released before Prometheus binds it). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

/** One instant query; null while Prometheus is not up yet or the result is empty. */
async function query(base: string, expr: string): Promise<number | null> {
  try {
    const res = await fetch(`${base}/api/v1/query?query=${encodeURIComponent(expr)}`, { signal: AbortSignal.timeout(1000) });
    if (!res.ok) return null;
    const body = (await res.json()) as { status: string; data: { resultType: string; result: Array<{ value: [number, string] }> } };
    if (body.status !== 'success' || body.data.result.length === 0) return null;
    return Number(body.data.result[0]!.value[1]);
  } catch {
    return null;
  }
}

function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const kill = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.once('exit', () => {
      clearTimeout(kill);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

test('a real Prometheus scrapes the two-shard router and sees the traffic sent', { timeout: 30_000 }, async (t) => {
  // In CI a missing prometheus fails here; outside CI the test is skipped saying what to install.
  const missing = toolMissing('prometheus', 'the Debian package prometheus (apt-get install prometheus; .ci/run does)', 'a real Prometheus scrape of the router');
  if (missing !== null) return t.skip(missing);
  // One cleanup hook, run last-in first-out: stations, Prometheus (SIGTERM, wait for exit), its folder, the router.
  const cleanup: Array<() => Promise<unknown>> = [];
  t.after(async () => {
    for (const step of cleanup.reverse()) await step();
  });
  const h = await startTestServer({ server: { workers: 2 } });
  cleanup.push(() => h.stop());
  const dir = await mkdtemp(join(tmpdir(), 'ocpp-router-prometheus-'));
  cleanup.push(() => rm(dir, { recursive: true, force: true }));
  const configFile = join(dir, 'prometheus.yml');
  // Same job as conf/prometheus/prometheus.yml, pointed at the test server and scraped every second.
  await writeFile(
    configFile,
    [
      'global:',
      '  scrape_interval: 1s',
      '  evaluation_interval: 1s',
      'scrape_configs:',
      `  - job_name: ${JOB}`,
      '    metrics_path: /metrics',
      '    scrape_interval: 1s',
      '    scrape_timeout: 1s',
      '    static_configs:',
      `      - targets: ['127.0.0.1:${h.port}']`,
      '',
    ].join('\n'),
  );
  const check = spawnSync('promtool', ['check', 'config', configFile], { encoding: 'utf8' });
  assert.equal(check.error, undefined, 'promtool (package prometheus) runs');
  assert.equal(check.status, 0, `promtool check config:\n${check.stdout}${check.stderr}`);

  const webPort = await freePort();
  const base = `http://127.0.0.1:${webPort}`;
  const prometheus = spawn(
    'prometheus',
    [`--config.file=${configFile}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${webPort}`, '--log.level=warn'],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let log = '';
  prometheus.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    if (log.length < 20_000) log += chunk;
  });
  cleanup.push(() => stopProcess(prometheus));
  const exited = new Promise<never>((_, reject) => prometheus.once('exit', (code, signal) => reject(new Error(`prometheus exited early (${code ?? signal}):\n${log}`))));
  exited.catch(() => {});

  // Traffic over both shards: the kernel spreads connections (SO_REUSEPORT), so stations are added until both
  // shards hold some (8 at least; 64 at most, by which point one shard alone is a 2^-63 chance).
  const HEARTBEATS = 2;
  const stations: TestStation[] = [];
  cleanup.push(() => Promise.all(stations.map((s) => s.close())));
  const shardsUsed = (): number => new Set(h.server.stations().filter((r) => r.connected).map((r) => r.shard)).size;
  while (stations.length < 8 || (shardsUsed() < 2 && stations.length < 64)) {
    const s = await TestStation.connect(h.url(`PROM-${stations.length}`), ['ocpp1.6']);
    stations.push(s);
    await s.call('BootNotification', { chargePointVendor: 'V', chargePointModel: 'M' });
    for (let k = 0; k < HEARTBEATS; k++) await s.call('Heartbeat', {});
  }
  const N = stations.length;
  await waitFor(() => shardsUsed() === 2, 5000, 'both shards used');

  const polled = async (expr: string, expected: number): Promise<void> => {
    let last: number | null = null;
    await Promise.race([
      exited,
      waitFor(
        async () => {
          last = await query(base, expr);
          if (last !== expected) await new Promise((r) => setTimeout(r, 200));
          return last === expected;
        },
        15_000,
        `${expr} == ${expected} in Prometheus`,
      ),
    ]).catch((err: Error) => {
      throw new Error(`${err.message} (last value ${String(last)})\n${log}`);
    });
  };
  await polled(`up{job="${JOB}"}`, 1);
  await polled(`sum(ocpp_station_connects_total{job="${JOB}"})`, N);
  await polled(`sum(ocpp_stations_connected{job="${JOB}",version="ocpp1.6"})`, N);
  await polled(`sum(ocpp_messages_total{job="${JOB}",direction="in",message_type="CALL",action="Heartbeat"})`, N * HEARTBEATS);
  await polled(`count(ocpp_shard_connections{job="${JOB}"} > 0)`, 2);
  // A dashboard query shape: a quantile over the aggregated histogram is a number, not empty.
  const p99 = await query(base, `histogram_quantile(0.99, sum by (le) (ocpp_request_duration_seconds_bucket{job="${JOB}"}))`);
  assert.ok(p99 !== null && p99 > 0 && p99 <= 30, `request p99 from Prometheus: ${String(p99)}`);

  // Every query of the Grafana dashboard parses and runs (Grafana's variables filled in).
  const dashboard = JSON.parse(await readFile(new URL('../../conf/grafana/dashboards/ocpp-router.json', import.meta.url), 'utf8')) as { panels: Array<{ title: string; targets?: Array<{ expr: string }> }> };
  for (const panel of dashboard.panels) {
    for (const { expr } of panel.targets ?? []) {
      const promql = expr.replaceAll('$__rate_interval', '5s').replaceAll('$instance', '.*');
      const res = await fetch(`${base}/api/v1/query?query=${encodeURIComponent(promql)}`);
      const body = (await res.json()) as { status: string; error?: string };
      assert.equal(body.status, 'success', `${panel.title}: ${promql}: ${body.error ?? ''}`);
    }
  }
});
