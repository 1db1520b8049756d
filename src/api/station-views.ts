/**
 * What the API shows of the station registry: the ocpp-cs ChargePointList shape (with extra fields), and
 * the station list with filters and paging.
 */
import { toRow, type StationRecord } from '../control/station-registry.js';
import type { ClusterStation } from '../control/cluster-member.js';
import type { StationRow } from '../store/records.js';

/** A station as the lists see it: this node's registry record, or (in a cluster) a row from any node. */
export type StationLike = Omit<StationRow, 'callbackUrl'> & { callbackUrl?: string | null; shard: number | null; connId?: number | null; node?: string };

/** A registry record as a list entry; in a cluster, with this node's name. */
export function likeOf(r: StationRecord, node?: string): StationLike {
  return { ...toRow(r), shard: r.shard, connId: r.connId, ...(node !== undefined ? { node } : {}) };
}

/**
 * The whole cluster's stations, one entry per identity, in identity order: where a station is known on several
 * nodes (it moved), the connected entry wins, else the one heard from last.
 */
export function mergeCluster(local: Iterable<StationRecord>, node: string, remote: readonly ClusterStation[]): StationLike[] {
  const byIdentity = new Map<string, StationLike>();
  const offer = (s: StationLike): void => {
    const seen = byIdentity.get(s.identity);
    if (seen === undefined || (s.connected && !seen.connected) || (s.connected === seen.connected && (s.lastMessageAt ?? 0) > (seen.lastMessageAt ?? 0))) byIdentity.set(s.identity, s);
  };
  for (const r of local) offer(likeOf(r, node));
  for (const s of remote) offer(s);
  return sortedByIdentity(byIdentity.values());
}

/** Identity order (UTF-16 code units, as `/api/v1/stations` pages), what a person expects of a list, not shard order. */
export function byIdentityOrder(a: { identity: string }, b: { identity: string }): number {
  return a.identity < b.identity ? -1 : a.identity > b.identity ? 1 : 0;
}

/** The stations as a new array in identity order. */
export function sortedByIdentity<T extends { identity: string }>(stations: Iterable<T>): T[] {
  return [...stations].sort(byIdentityOrder);
}

/**
 * ocpp-cs `ChargePointList` item `{Identity, Address, Connection:{Socket, IP, Port}}` plus what ocpp-router
 * knows. `Connection` is null for a disconnected station; `Socket` is the connection id; `Port` is null
 * (the transport does not report the peer port).
 */
export function chargePointItem(r: StationLike): Record<string, unknown> {
  return {
    Identity: r.identity,
    Address: r.remoteAddress,
    Connection: r.connected ? { Socket: r.connId ?? null, IP: r.remoteAddress, Port: null } : null,
    Account: r.account,
    Version: r.version,
    Transport: r.transport,
    Connected: r.connected,
    ConnectedAt: r.connectedAt,
    DisconnectedAt: r.disconnectedAt,
    LastMessageAt: r.lastMessageAt,
    BootNotification: r.boot?.payload ?? null,
    BootStatus: r.boot?.status ?? null,
    BootAt: r.boot?.at ?? null,
    Connectors: r.connectors,
    ...(r.node !== undefined ? { Node: r.node } : {}),
  };
}

/** A station as `/api/v1/stations` shows it (times in epoch ms, as `serverTime`). */
export function stationView(r: StationLike): Record<string, unknown> {
  const { callbackUrl: _soapOnly, connId: _socket, newestConnId: _internal, ...view } = r as StationLike & { newestConnId?: number };
  return view;
}

export interface StationFilter {
  connected?: boolean;
  /** Some connector has this status (Available, Charging, Faulted …). */
  status?: string;
  version?: string;
  transport?: string;
  account?: string;
}

export function matches(r: StationLike, f: StationFilter): boolean {
  if (f.connected !== undefined && r.connected !== f.connected) return false;
  if (f.version !== undefined && r.version !== f.version) return false;
  if (f.transport !== undefined && r.transport !== f.transport) return false;
  if (f.account !== undefined && r.account !== f.account) return false;
  if (f.status !== undefined) {
    let found = false;
    for (const key in r.connectors) if (r.connectors[key]!.status === f.status) found = true;
    if (!found) return false;
  }
  return true;
}

/** Reads a filter from query parameters or a JSON object; returns the problems instead when there are any. */
export function readFilter(get: (name: string) => unknown): StationFilter | string[] {
  const problems: string[] = [];
  const filter: StationFilter = {};
  const connected = get('connected');
  if (connected !== undefined && connected !== null) {
    if (connected === true || connected === 'true' || connected === '1') filter.connected = true;
    else if (connected === false || connected === 'false' || connected === '0') filter.connected = false;
    else problems.push('connected must be true or false');
  }
  for (const name of ['status', 'version', 'transport', 'account'] as const) {
    const value = get(name);
    if (value === undefined || value === null) continue;
    if (typeof value !== 'string' || value === '') problems.push(`${name} must be a non-empty string`);
    else filter[name] = value;
  }
  return problems.length > 0 ? problems : filter;
}

export function encodeCursor(identity: string): string {
  return Buffer.from(identity, 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string): string | null {
  if (!/^[A-Za-z0-9_-]{1,400}$/.test(cursor)) return null;
  return Buffer.from(cursor, 'base64url').toString('utf8');
}
