/**
 * The REST API of the control plane (api.yaml is its description): installed with
 * `RouterServer.start({ …, http: createApi })`, before the first shard listens. Shards forward every request except ping, time and the static
 * documentation (src/api/shard-routes.ts), so this runs on the main thread next to the station registry.
 *
 * The configuration is read from `server.config` on each request, so a HUP reload applies (auth, CORS,
 * timeouts, limits) without reinstalling the handler.
 */
import type { Config } from '../config/types.js';
import type { RouterServer } from '../control/router.js';
import { errorResponse, jsonResponse, type WebHandler, type WebRequest, type WebResponse } from '../http/types.js';
import { ApiAuth, REFUSAL_REASONS, type AuthRefusal, type RefusalReason } from '../http/api-auth.js';
import { LoginLimiter } from '../http/login-limiter.js';
import { METRIC_BY_NAME } from '../metrics/catalog.js';
import type { MetricJson } from '../metrics/metric-json.js';
import { CommandStore, type CommandRecord } from './command-store.js';
import { fanOut, isOutcome, prepareFor, sendCommand, sendPrepared, type CommandBody, type CommandOutcome } from './commands.js';
import { preflight, withCors } from '../http/cors.js';
import { parseForm } from '../protocol/commands/form-body.js';
import { RouteTable, type Route, type RouteContext } from './route-table.js';
import { storeRoutes } from './store-routes.js';
import { flexRoutes } from './flex-routes.js';
import { byIdentityOrder, chargePointItem, decodeCursor, encodeCursor, matches, mergeCluster, readFilter, sortedByIdentity, stationView, type StationFilter, type StationLike } from './station-views.js';


export const API_PREFIX = '/api/v1';
/** The shard gives the control plane `ocpp.callTimeoutMs` + 5 s; synchronous work must end before that. */
const GATEWAY_MARGIN_MS = 4000;
const MAX_TIMEOUT_MS = 3_600_000;
const LIST_LIMIT_DEFAULT = 100;
const LIST_LIMIT_MAX = 10_000;
/** How stale the cached ChargePointList may be in last-message times only (every other change rebuilds it). */
const LIST_SEEN_STALE_MS = 1000;

export interface ApiHandler extends WebHandler {
  /** The route table (the OpenAPI test compares it with api.yaml). */
  readonly routes: readonly Route[];
  /** Asynchronous commands kept. */
  readonly commands: CommandStore;
  /** This layer's metrics (ocpp_api_refusals_total), for the control plane's scrape. */
  metricsJson(): MetricJson[];
}

/** Path of the live log (a WebSocket on every shard; the shard asks this layer whether a client may connect). */
export const LOG_ROUTE = '/ws/log';

interface State {
  config: Config;
  auth: ApiAuth;
}

function refusalResponse(r: AuthRefusal): WebResponse {
  return errorResponse(r.status, r.message, r.details, r.headers);
}

function outcomeResponse(outcome: CommandOutcome): WebResponse {
  const headers: Record<string, string> = { 'X-OCPP-Action': outcome.action };
  if (outcome.translatedFrom !== undefined) headers['X-OCPP-Translated-From'] = outcome.translatedFrom;
  if ('payload' in outcome) return jsonResponse(200, outcome.payload, headers);
  return errorResponse(outcome.status, outcome.error.message, outcome.error.details, headers);
}

function badRequest(message: string, problems?: string[]): WebResponse {
  return errorResponse(400, message, problems === undefined ? undefined : { problems });
}

/** Reads a command body: JSON object, form-urlencoded, or empty (= {}). */
function readBody(request: WebRequest): CommandBody | WebResponse {
  const type = (request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  const text = request.body;
  if (type === 'application/x-www-form-urlencoded') {
    try {
      return { kind: 'form', tree: parseForm(text) };
    } catch (error) {
      return badRequest(`form body: ${(error as Error).message}`);
    }
  }
  if (text.trim() === '') return { kind: 'json', value: {} };
  if (type !== '' && type !== 'application/json' && !type.endsWith('+json')) {
    return errorResponse(415, `content type ${type} is not supported: use application/json or application/x-www-form-urlencoded`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return badRequest(`body is not JSON: ${(error as Error).message}`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return badRequest('body must be a JSON object');
  return { kind: 'json', value: value as Record<string, unknown> };
}

function readTimeout(raw: unknown, fallback: number): number | string {
  if (raw === undefined || raw === null || raw === '') return fallback;
  const n = typeof raw === 'number' ? raw : typeof raw === 'string' && /^\d{1,10}$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isInteger(n) || n < 1 || n > MAX_TIMEOUT_MS) return `timeoutMs must be an integer from 1 to ${MAX_TIMEOUT_MS}`;
  return n;
}

function readBool(raw: string | null): boolean | null {
  if (raw === null || raw === '' || /^(false|0|no)$/i.test(raw)) return raw === null || raw === '' ? null : false;
  return /^(true|1|yes)$/i.test(raw) ? true : null;
}

export function createApi(server: RouterServer): ApiHandler {
  let state: State | null = null;
  // Failed logins are remembered across reloads unless their limits change.
  let limiter: { key: string; limiter: LoginLimiter } | null = null;
  const current = (): State => {
    const config = server.config;
    if (state === null || state.config !== config) {
      const key = JSON.stringify(config.api.auth.failedLogins);
      if (limiter === null || limiter.key !== key) limiter = { key, limiter: new LoginLimiter(config.api.auth.failedLogins) };
      state = { config, auth: new ApiAuth(config.api.auth, limiter.limiter) };
      store.configure(config.api.results);
    }
    return state;
  };
  const refusals = new Map<RefusalReason, number>(REFUSAL_REASONS.map((r) => [r, 0]));
  const refused = (r: AuthRefusal): WebResponse => {
    refusals.set(r.reason, refusals.get(r.reason)! + 1);
    return refusalResponse(r);
  };
  const store = new CommandStore(server.config.api.results);
  /** Longest a synchronous request may take before the shard's gateway answers 504 itself. */
  const syncCapMs = (): number => Math.max(server.config.ocpp.callTimeoutMs, server.config.api.commandTimeoutMs) + 5000 - GATEWAY_MARGIN_MS;

  const recordView = (r: CommandRecord): Record<string, unknown> => ({ id: r.id, kind: r.kind, action: r.action, status: r.status, createdAt: r.createdAt, finishedAt: r.finishedAt, result: r.result });

  // Webhook: every async result is also posted as an AsyncCommandResult event (docs/webhook.md).
  const postAsyncResult = (record: CommandRecord, identity: string | null): void => {
    server.webhookEvent?.('AsyncCommandResult', identity, recordView(record));
  };

  const startAsync = (kind: CommandRecord['kind'], action: string, work: () => Promise<unknown>, identity: string | null = null): WebResponse => {
    const record = store.create(kind, action);
    if (record === null) return errorResponse(503, 'too many asynchronous commands pending; retry later', { pending: store.pending }, { 'Retry-After': '1' });
    void work().then(
      (result) => store.finish(record, result),
      (error) => store.finish(record, { status: 500, error: { code: 500, message: error instanceof Error ? error.message : String(error) } }),
    ).then(() => postAsyncResult(record, identity));
    return jsonResponse(202, recordView(record), { Location: `${API_PREFIX}/commands/${record.id}` });
  };

  // --- handlers ---

  // The whole list is built on this thread: with 10,000 stations that is megabytes per request. It is kept
  // until the registry changes; a change of last-message times alone (batched every second while stations
  // talk) reuses it for up to LIST_SEEN_STALE_MS.
  let listCache: { revision: number; seenRevision: number; builtAt: number; body: string } | null = null;
  const chargePointList = (): WebResponse | Promise<WebResponse> => {
    const cluster = server.cluster;
    if (cluster !== null) {
      // The whole cluster: this node's stations and the others' (each entry names its node).
      return cluster.remoteStations().then(({ stations, partial }) => jsonResponse(200, { ChargePointList: mergeCluster(server.registry.all(), cluster.node, stations).map(chargePointItem), ...(partial.length > 0 ? { partial } : {}) }));
    }
    const registry = server.registry;
    const now = Date.now();
    const c = listCache;
    if (c === null || c.revision !== registry.revision || (c.seenRevision !== registry.seenRevision && now - c.builtAt >= LIST_SEEN_STALE_MS)) {
      const list: Record<string, unknown>[] = [];
      for (const record of sortedByIdentity(registry.all())) list.push(chargePointItem(record));
      listCache = { revision: registry.revision, seenRevision: registry.seenRevision, builtAt: now, body: JSON.stringify({ ChargePointList: list }) };
    }
    return { status: 200, headers: { 'Content-Type': 'application/json' }, body: listCache!.body };
  };

  const stations = async ({ query }: RouteContext): Promise<WebResponse> => {
    const filter = readFilter((name) => query.get(name) ?? undefined);
    const problems = Array.isArray(filter) ? filter : [];
    const limitRaw = query.get('limit');
    const offsetRaw = query.get('offset');
    const cursorRaw = query.get('cursor');
    const limit = limitRaw === null ? LIST_LIMIT_DEFAULT : /^\d{1,6}$/.test(limitRaw) ? Number(limitRaw) : NaN;
    const offset = offsetRaw === null ? 0 : /^\d{1,9}$/.test(offsetRaw) ? Number(offsetRaw) : NaN;
    if (!(limit >= 1 && limit <= LIST_LIMIT_MAX)) problems.push(`limit must be an integer from 1 to ${LIST_LIMIT_MAX}`);
    if (Number.isNaN(offset)) problems.push('offset must be a non-negative integer');
    const after = cursorRaw === null ? null : decodeCursor(cursorRaw);
    if (cursorRaw !== null && after === null) problems.push('cursor is malformed');
    if (cursorRaw !== null && offsetRaw !== null) problems.push('use either offset or cursor');
    if (problems.length > 0 || Array.isArray(filter)) return badRequest('bad query', problems);
    const cluster = server.cluster;
    const remote = cluster === null ? null : await cluster.remoteStations();
    const all: StationLike[] = [];
    for (const record of remote === null ? server.registry.all() : mergeCluster(server.registry.all(), cluster!.node, remote.stations)) if (matches(record, filter)) all.push(record);
    all.sort(byIdentityOrder);
    let start = offset;
    if (after !== null) {
      // First identity greater than the cursor (binary search over the sorted list).
      let lo = 0;
      let hi = all.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (all[mid]!.identity <= after) lo = mid + 1;
        else hi = mid;
      }
      start = lo;
    }
    const page = all.slice(start, start + limit);
    const more = start + page.length < all.length;
    return jsonResponse(200, {
      total: all.length,
      offset: start,
      limit,
      count: page.length,
      nextCursor: more && page.length > 0 ? encodeCursor(page[page.length - 1]!.identity) : null,
      stations: page.map(stationView),
      ...(remote !== null && remote.partial.length > 0 ? { partial: remote.partial } : {}),
    });
  };

  const station = async ({ params }: RouteContext): Promise<WebResponse> => {
    const cluster = server.cluster;
    const local = server.station(params.identity!);
    // In a cluster, a station not connected here may be connected (or known) on another node.
    const record: StationLike | undefined = cluster === null || local?.connected === true ? local : mergeCluster(local === undefined ? [] : [local], cluster.node, (await cluster.remoteStations()).stations.filter((s) => s.identity === params.identity)).find((s) => s.identity === params.identity);
    return record === undefined ? errorResponse(404, `unknown station ${params.identity}`, { reason: 'STATION_NOT_FOUND' }) : jsonResponse(200, stationView(record));
  };

  const chargePointCommand = ({ request, params, query }: RouteContext): WebResponse | Promise<WebResponse> => {
    const { config } = current();
    const body = readBody(request);
    if ('status' in body) return body;
    const timeout = readTimeout(query.get('timeoutMs'), config.api.commandTimeoutMs);
    if (typeof timeout === 'string') return badRequest(timeout);
    const identity = params.identity!;
    const operation = params.Operation!;
    if (readBool(query.get('async')) === true) {
      // Prepared (and validated) once, now: errors are reported in this answer, not in the result.
      return prepareFor(server, identity, operation, body).then((prepared) => {
        if (isOutcome(prepared)) return outcomeResponse(prepared);
        return startAsync('single', prepared.action, () => sendPrepared(server, identity, prepared, { timeoutMs: timeout }), identity);
      });
    }
    return sendCommand(server, identity, operation, body, { timeoutMs: Math.min(timeout, syncCapMs()) }).then(outcomeResponse);
  };

  const bulkCommand = ({ request, query }: RouteContext): WebResponse | Promise<WebResponse> => {
    const { config } = current();
    const type = (request.headers['content-type'] ?? 'application/json').split(';')[0]!.trim().toLowerCase();
    if (type !== 'application/json') return errorResponse(415, 'bulk commands take an application/json body');
    let spec: Record<string, unknown>;
    try {
      spec = JSON.parse(request.body) as Record<string, unknown>;
    } catch (error) {
      return badRequest(`body is not JSON: ${(error as Error).message}`);
    }
    const problems: string[] = [];
    if (spec === null || typeof spec !== 'object' || Array.isArray(spec)) return badRequest('body must be a JSON object');
    const action = spec.action;
    if (typeof action !== 'string' || action === '') problems.push('action must be a non-empty string');
    const payload = spec.payload ?? {};
    if (payload === null || typeof payload !== 'object' || Array.isArray(payload)) problems.push('payload must be an object');
    const timeout = readTimeout(spec.timeoutMs, config.api.commandTimeoutMs);
    if (typeof timeout === 'string') problems.push(timeout);
    const hasIds = spec.identities !== undefined;
    const hasFilter = spec.filter !== undefined;
    if (hasIds === hasFilter) problems.push('give either identities or filter');
    let targets: string[] = [];
    if (hasIds) {
      if (!Array.isArray(spec.identities) || spec.identities.length === 0 || !spec.identities.every((x) => typeof x === 'string' && x !== '')) {
        problems.push('identities must be a non-empty array of identities');
      } else targets = [...new Set(spec.identities as string[])];
    } else if (hasFilter) {
      const raw = spec.filter;
      if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) problems.push('filter must be an object');
      else {
        const known = new Set(['connected', 'status', 'version', 'transport', 'account']);
        for (const key of Object.keys(raw)) if (!known.has(key)) problems.push(`filter.${key} is not a filter (connected, status, version, transport, account)`);
        const f = readFilter((name) => (raw as Record<string, unknown>)[name]);
        if (Array.isArray(f)) problems.push(...f.map((p) => `filter.${p}`));
        else {
          const filter: StationFilter = { connected: true, ...f };
          for (const record of server.registry.all()) if (matches(record, filter)) targets.push(record.identity);
          targets.sort(); // identity order, as the lists
        }
      }
    }
    if (targets.length > config.api.bulk.maxStations) problems.push(`a bulk command may address at most ${config.api.bulk.maxStations} stations (api.bulk.maxStations), got ${targets.length}`);
    if (problems.length > 0 || typeof timeout === 'string') return badRequest('bad bulk command', problems);
    const body: CommandBody = { kind: 'json', value: payload as Record<string, unknown> };
    const isAsync = readBool(query.get('async')) === true || spec.async === true;
    const run = async (deadline: number): Promise<Record<string, unknown>> => {
      const results = await fanOut<string, CommandOutcome>(
        targets,
        config.api.bulk.concurrency,
        (identity) => sendCommand(server, identity, action as string, body, { timeoutMs: Math.max(1, Math.min(timeout, deadline - Date.now())) }),
        deadline,
        (identity) => ({ identity, action: action as string, status: 504, error: { code: 504, message: 'not sent: the request deadline passed first (use async=true for large fan-outs)', details: { reason: 'NOT_SENT' } } }),
      );
      let succeeded = 0;
      for (const r of results) if (r.status === 200) succeeded++;
      return { action, total: results.length, succeeded, failed: results.length - succeeded, results };
    };
    if (isAsync) return startAsync('bulk', action as string, () => run(Number.POSITIVE_INFINITY));
    return run(Date.now() + syncCapMs()).then((summary) => jsonResponse(200, summary));
  };

  const commandStatus = ({ params }: RouteContext): WebResponse => {
    const record = store.get(params.id!);
    return record === undefined ? errorResponse(404, `no command ${params.id} (unknown, or its result expired)`, { reason: 'COMMAND_NOT_FOUND' }) : jsonResponse(200, recordView(record));
  };

  // Prometheus and orchestrators: open like ping (no identity or secret in them), answered by the control plane.
  const metrics = async (): Promise<WebResponse> => {
    if (!server.config.metrics.enable) return errorResponse(404, 'metrics are off (metrics.enable)');
    const { contentType, body } = await server.metricsText();
    return { status: 200, headers: { 'Content-Type': contentType }, body };
  };
  // In a cluster, NATS being away does not make a node unready: it serves its own stations; the body says so.
  const ready = (): WebResponse => {
    const cluster = server.cluster === null ? {} : { cluster: server.cluster.health() };
    return server.ready ? jsonResponse(200, { status: 'ready', ...cluster }) : jsonResponse(503, { status: 'not ready', ...cluster }, { 'Retry-After': '1' });
  };

  const clusterStatus = async (): Promise<WebResponse> =>
    server.cluster === null ? errorResponse(404, 'this node is not in a cluster (cluster.enable is false)', { reason: 'NOT_CLUSTERED' }) : jsonResponse(200, await server.cluster.status());

  // The shard asks here at each live-log upgrade (request.upgrade, set by the shard only): 200 lets the client
  // in. A plain HTTP GET of the path is told to use a WebSocket.
  const liveLog = ({ request }: RouteContext): WebResponse =>
    request.upgrade === true ? { status: 200 } : errorResponse(426, `the live log is a WebSocket: connect with ws://<host>:<port>${LOG_ROUTE}`, undefined, { Upgrade: 'websocket' });

  const table = new RouteTable([
    // Open: Prometheus and orchestrators (no identity or secret in them), reachability and time (ocpp-cs).
    { method: 'GET', path: '/metrics', access: 'open', handle: metrics },
    { method: 'GET', path: '/health/live', access: 'open', handle: () => jsonResponse(200, { status: 'live' }) },
    { method: 'GET', path: '/health/ready', access: 'open', handle: ready },
    { method: 'GET', path: `${API_PREFIX}/ping`, access: 'open', handle: () => jsonResponse(200, {}) },
    { method: 'GET', path: `${API_PREFIX}/time`, access: 'open', handle: () => jsonResponse(200, { serverTime: Date.now() }) },
    // Read: lists and views; the live log (id tags and every payload).
    { method: 'GET', path: `${API_PREFIX}/cluster`, access: 'read', handle: clusterStatus },
    { method: 'GET', path: `${API_PREFIX}/ChargePointList`, access: 'read', handle: chargePointList },
    { method: 'GET', path: `${API_PREFIX}/CentralSystem/ChargePointList`, access: 'read', handle: chargePointList },
    { method: 'GET', path: `${API_PREFIX}/stations`, access: 'read', handle: stations },
    { method: 'GET', path: `${API_PREFIX}/stations/{identity}`, access: 'read', handle: station },
    { method: 'GET', path: `${API_PREFIX}/commands/{id}`, access: 'read', handle: commandStatus },
    { method: 'GET', path: LOG_ROUTE, access: 'read', handle: liveLog },
    // Operator: commands to stations.
    { method: 'POST', path: `${API_PREFIX}/ChargePoint/{identity}/{Operation}`, access: 'operator', handle: chargePointCommand },
    { method: 'POST', path: `${API_PREFIX}/commands`, access: 'operator', handle: bulkCommand },
    // The store: transactions, reservations, id tags, journal, removing stations (src/api/store-routes.ts).
    ...storeRoutes(server, API_PREFIX),
    // Flexibility prequalification: assets, claims (src/api/flex-routes.ts).
    ...flexRoutes(server, API_PREFIX),
  ]);

  const dispatch = (request: WebRequest): WebResponse | Promise<WebResponse> => {
    const { config, auth } = current();
    const pre = preflight(config.api.cors, request);
    if (pre !== null) return pre;
    const found = table.match(request.method, request.path);
    if (found.route === null) {
      if (found.allowed.length > 0) return errorResponse(405, `${request.method} is not allowed on ${request.path}`, { allowed: found.allowed }, { Allow: found.allowed.join(', ') });
      return errorResponse(404, `no route for ${request.method} ${request.path}`);
    }
    const route = found.route;
    const ctx: RouteContext = { request, params: found.params, query: new URLSearchParams(request.query) };
    const refusal = auth.authorize(route.access, request.headers, request.remoteAddress);
    if (refusal === null) return route.handle(ctx);
    if (!(refusal instanceof Promise)) return refused(refusal);
    return refusal.then((r) => (r === null ? route.handle(ctx) : refused(r)));
  };

  const handler = ((request: WebRequest) => {
    const cors = current().config.api.cors;
    const result = dispatch(request);
    return result instanceof Promise ? result.then((response) => withCors(cors, request, response)) : withCors(cors, request, result);
  }) as ApiHandler;
  Object.defineProperty(handler, 'routes', { value: table.routes });
  Object.defineProperty(handler, 'commands', { value: store });
  const spec = METRIC_BY_NAME.get('ocpp_api_refusals_total')!;
  Object.defineProperty(handler, 'metricsJson', {
    value: (): MetricJson[] => [{ name: spec.name, help: spec.help, type: spec.type, aggregator: 'sum', values: REFUSAL_REASONS.map((reason) => ({ value: refusals.get(reason)!, labels: { reason } })) }],
  });
  return handler;
}
