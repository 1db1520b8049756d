/**
 * The scenario file format (bench/scenarios/<name>.json): one JSON Schema, checked with ajv when a scenario is
 * loaded (scenario-run.ts) and by test/bench-scenarios.test.ts for every file, so the data cannot rot.
 *
 * Kinds:
 * - `fleet`: N stations connect (ramp) and boot, then send a weighted mix of Heartbeat / StatusNotification /
 *   MeterValues, either open loop at `ratePerS` CALLs/s in total or closed loop with `inFlight` CALLs outstanding
 *   per station; measured over `durationS` after `warmupS`, against every target in turn.
 * - `boot-storm`: N stations start connecting at once (at most `concurrency` handshakes in flight); time until all
 *   are Accepted, refused upgrades by HTTP status, peak accept rate (100 ms slots), lost stations.
 * - `reconnect-storm`: N stations connected and booted (beside `prefillStations` known from an earlier run); the
 *   server is stopped (SIGTERM) and started again on the same port with the same data folder; every station comes
 *   back after a random delay; time until all are back, then `holdS` seconds connected; control-plane loop delay.
 * - `fanout`: N stations connected; M commands through the REST API (`POST /api/v1/ChargePoint/{id}/{action}`),
 *   `concurrency` requests in flight, stations answer at once.
 * - `external`: runs the standalone benchmarks (webhook-bench, api-bench, soap-bench, store-ingest) with the flags given, one
 *   after the other; they print their tables and append their own records.
 */
import { Ajv, type ErrorObject } from 'ajv';
import type { MixAction } from './fleet-generator.js';

export type ScenarioTarget = 'router' | 'router-bun' | 'router-nometrics' | 'router-nostore' | 'router-events' | 'router-baseline' | 'router-tls' | 'router-front' | 'floor' | 'ocpp-rpc';

interface Common {
  description: string;
  targets: ScenarioTarget[];
  stations: number;
  /** Router shard threads (WORKERS). */
  workers: number;
  /** Load generator processes (each ≤ 15,000 stations: 20,000 open files per process) and threads per process. */
  lgProcs: number;
  lgThreads: number;
  /** New connections per second over all load generators (0: as fast as `concurrency` allows). */
  connectPerS: number;
  /** Handshakes + boots in flight over all load generators. */
  concurrency: number;
  connectTimeoutMs: number;
}

export interface FleetScenario extends Common {
  kind: 'fleet';
  traffic: 'open' | 'closed';
  ratePerS: number;
  inFlight: number;
  mix: Partial<Record<MixAction, number>>;
  warmupS: number;
  durationS: number;
}

export interface StormScenario extends Common {
  kind: 'boot-storm' | 'reconnect-storm';
  /** Longest wait for all stations to be back, after which the missing ones count as lost. */
  timeoutS: number;
  reconnect: { minDelayMs: number; maxDelayMs: number };
  /**
   * Stations already known before the first start (written as an earlier version's `stations.json`, which a router
   * with the store imports): a large registry beside the `stations` that connect. 0: none.
   */
  prefillStations: number;
  /** After all are back, seconds to hold the fleet connected (periodic registry saves) before measuring again. */
  holdS: number;
}

export interface FanoutScenario extends Common {
  kind: 'fanout';
  commands: number;
  /** HTTP requests in flight. */
  httpConcurrency: number;
  action: 'ClearCache' | 'TriggerMessage' | 'Reset' | 'UnlockConnector';
  body: Record<string, unknown>;
}

export interface ExternalScenario {
  kind: 'external';
  description: string;
  runs: { script: 'webhook-bench' | 'api-bench' | 'soap-bench' | 'store-ingest'; flags: Record<string, number | string | boolean> }[];
}

/**
 * `cluster`: `nodes` router nodes on a nats-server of the run's own, the stations spread over them (station n on
 * node n % nodes), steady open-loop traffic for `holdS`; commands through one node's API to stations on the same
 * node and on another; then one node killed (SIGKILL) and the time until every station is back on the others.
 */
export interface ClusterScenario extends Common {
  kind: 'cluster';
  nodes: number;
  ratePerS: number;
  mix: Partial<Record<MixAction, number>>;
  warmupS: number;
  holdS: number;
  /** Commands per path (same node, cross node). */
  commands: number;
  httpConcurrency: number;
  /** Longest wait for all stations to be back after the kill. */
  timeoutS: number;
  reconnect: { minDelayMs: number; maxDelayMs: number };
  /** Directory entry ttl of the nodes. */
  nodeTtlS: number;
}

export type Scenario = FleetScenario | StormScenario | FanoutScenario | ClusterScenario | ExternalScenario;

const targets = { type: 'array', minItems: 1, uniqueItems: true, items: { enum: ['router', 'router-bun', 'router-nometrics', 'router-nostore', 'router-events', 'router-baseline', 'router-tls', 'router-front', 'floor', 'ocpp-rpc'] } };
const common = {
  description: { type: 'string', minLength: 1 },
  targets,
  stations: { type: 'integer', minimum: 1, maximum: 60000 },
  workers: { type: 'integer', minimum: 1, maximum: 64, default: 1 },
  lgProcs: { type: 'integer', minimum: 1, maximum: 8, default: 1 },
  lgThreads: { type: 'integer', minimum: 1, maximum: 8, default: 1 },
  connectPerS: { type: 'integer', minimum: 0, maximum: 1000000, default: 2000 },
  concurrency: { type: 'integer', minimum: 1, maximum: 20000, default: 200 },
  connectTimeoutMs: { type: 'integer', minimum: 100, maximum: 120000, default: 15000 },
};
/** The steady traffic of the fleet and cluster kinds: rate, message mix, warm-up. */
const traffic = {
  ratePerS: { type: 'number', minimum: 1, maximum: 1000000, default: 1000 },
  mix: {
    type: 'object',
    additionalProperties: false,
    minProperties: 1,
    properties: { Heartbeat: { type: 'number', minimum: 0 }, StatusNotification: { type: 'number', minimum: 0 }, MeterValues: { type: 'number', minimum: 0 } },
  },
  warmupS: { type: 'number', minimum: 0, maximum: 120, default: 3 },
};
/** How stations reconnect after a loss (storms, cluster failover). */
const reconnect = {
  type: 'object',
  additionalProperties: false,
  required: ['minDelayMs', 'maxDelayMs'],
  properties: { minDelayMs: { type: 'integer', minimum: 0, maximum: 60000 }, maxDelayMs: { type: 'integer', minimum: 1, maximum: 120000 } },
  default: { minDelayMs: 100, maxDelayMs: 2000 },
};
const commonRequired = ['kind', 'description', 'targets', 'stations'];

export const SCENARIO_SCHEMA = {
  $id: 'https://ocpp-router/bench/scenario.json',
  title: 'ocpp-router benchmark scenario',
  type: 'object',
  required: ['kind'],
  properties: { kind: { enum: ['fleet', 'boot-storm', 'reconnect-storm', 'fanout', 'cluster', 'external'] } },
  oneOf: [
    {
      type: 'object',
      additionalProperties: false,
      required: [...commonRequired, 'traffic', 'mix', 'durationS'],
      properties: {
        $schema: { type: 'string' },
        kind: { const: 'fleet' },
        ...common,
        traffic: { enum: ['open', 'closed'] },
        ...traffic,
        inFlight: { type: 'integer', minimum: 1, maximum: 64, default: 1 },
        durationS: { type: 'number', exclusiveMinimum: 0, maximum: 600 },
      },
    },
    {
      type: 'object',
      additionalProperties: false,
      required: [...commonRequired, 'timeoutS'],
      properties: {
        $schema: { type: 'string' },
        kind: { enum: ['boot-storm', 'reconnect-storm'] },
        ...common,
        timeoutS: { type: 'number', exclusiveMinimum: 0, maximum: 600 },
        prefillStations: { type: 'integer', minimum: 0, maximum: 1000000, default: 0 },
        holdS: { type: 'number', minimum: 0, maximum: 600, default: 0 },
        reconnect,
      },
    },
    {
      type: 'object',
      additionalProperties: false,
      required: [...commonRequired, 'commands'],
      properties: {
        $schema: { type: 'string' },
        kind: { const: 'fanout' },
        ...common,
        targets: { ...targets, items: { enum: ['router', 'router-nometrics'] } },
        commands: { type: 'integer', minimum: 1, maximum: 10000000 },
        httpConcurrency: { type: 'integer', minimum: 1, maximum: 4096, default: 64 },
        action: { enum: ['ClearCache', 'TriggerMessage', 'Reset', 'UnlockConnector'], default: 'ClearCache' },
        body: { type: 'object', default: {} },
      },
    },
    {
      type: 'object',
      additionalProperties: false,
      required: [...commonRequired, 'nodes', 'mix', 'holdS'],
      properties: {
        $schema: { type: 'string' },
        kind: { const: 'cluster' },
        ...common,
        targets: { ...targets, items: { enum: ['router'] } },
        nodes: { type: 'integer', minimum: 2, maximum: 8 },
        ...traffic,
        holdS: { type: 'number', exclusiveMinimum: 0, maximum: 600 },
        commands: { type: 'integer', minimum: 1, maximum: 1000000, default: 2000 },
        httpConcurrency: { type: 'integer', minimum: 1, maximum: 4096, default: 16 },
        timeoutS: { type: 'number', exclusiveMinimum: 0, maximum: 600, default: 120 },
        reconnect,
        nodeTtlS: { type: 'integer', minimum: 3, maximum: 3600, default: 15 },
      },
    },
    {
      type: 'object',
      additionalProperties: false,
      required: ['kind', 'description', 'runs'],
      properties: {
        $schema: { type: 'string' },
        kind: { const: 'external' },
        description: { type: 'string', minLength: 1 },
        runs: {
          type: 'array',
          minItems: 1,
          items: {
            type: 'object',
            additionalProperties: false,
            required: ['script', 'flags'],
            properties: {
              script: { enum: ['webhook-bench', 'api-bench', 'soap-bench', 'store-ingest'] },
              flags: { type: 'object', additionalProperties: { type: ['number', 'string', 'boolean'] } },
            },
          },
        },
      },
    },
  ],
} as const;

const ajv = new Ajv({ allErrors: true, useDefaults: true, strict: false });
/** One validator per kind (the branches of `oneOf`), so errors name the fields of the kind in the file. */
const byKind = new Map(SCENARIO_SCHEMA.oneOf.map((branch) => {
  const kind = branch.properties.kind;
  const kinds: readonly string[] = 'const' in kind ? [kind.const] : kind.enum;
  return [kinds, ajv.compile(branch)] as const;
}).flatMap(([kinds, v]) => kinds.map((k) => [k, v] as const)));

export class ScenarioError extends Error {
  readonly code = 'BENCH_SCENARIO_INVALID';
  constructor(
    message: string,
    readonly details: readonly string[],
  ) {
    super(message);
    this.name = 'ScenarioError';
  }
}

function describe(errors: readonly ErrorObject[] | null | undefined): string[] {
  return (errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? e.keyword}${e.keyword === 'additionalProperties' ? ` (${String(e.params.additionalProperty)})` : ''}`);
}

/** Validates a parsed scenario (defaults filled in, in place) and checks what the schema cannot say. */
export function parseScenario(value: unknown, name = 'scenario'): Scenario {
  const copy = structuredClone(value);
  const kind = typeof copy === 'object' && copy !== null ? (copy as { kind?: unknown }).kind : undefined;
  const validate = typeof kind === 'string' ? byKind.get(kind) : undefined;
  if (validate === undefined) throw new ScenarioError(`${name}: invalid scenario`, [`/kind must be one of ${[...byKind.keys()].join(', ')}`]);
  if (!validate(copy)) throw new ScenarioError(`${name}: invalid scenario`, describe(validate.errors));
  const s = copy as Scenario;
  const problems: string[] = [];
  if (s.kind !== 'external') {
    const perProc = Math.ceil(s.stations / s.lgProcs);
    if (perProc > 15000) problems.push(`/stations ${s.stations} over ${s.lgProcs} load generator processes is ${perProc} each: at most 15000 (20,000 open files per process)`);
    if (s.lgThreads > 2 * s.lgProcs * 4) problems.push('/lgThreads too many threads');
    if (s.kind === 'fleet' && s.traffic === 'closed' && s.inFlight * s.stations > 1_000_000) problems.push('/inFlight × stations at most 1,000,000');
    if ((s.kind === 'boot-storm' || s.kind === 'reconnect-storm') && s.reconnect.minDelayMs > s.reconnect.maxDelayMs) problems.push('/reconnect minDelayMs must be ≤ maxDelayMs');
  }
  if (problems.length > 0) throw new ScenarioError(`${name}: invalid scenario`, problems);
  return s;
}
