/**
 * The station registry in the control plane: every station seen, connected or not, with what operators
 * ask about (identity, account, version, remote address, connected since, last boot, connector statuses,
 * last message time) and which shard holds it. Kept in memory for lookups; what changes is written through to
 * the store one station at a time (./registry-store.ts), so saving never rewrites the others.
 */
import type { ConnectorStatus, RegistryEvent } from '../ipc/messages.js';
import type { OcppVersion, StationVersion } from '../protocol/versions.js';
import type { StationRow } from '../store/records.js';
import type { SoapVersion } from '../protocol/soap/codec.js';

export interface StationRecord {
  identity: string;
  account: string | null;
  version: StationVersion;
  /** 'ws' (OCPP-J) or 'soap' (OCPP-S: no socket; `callbackUrl` is its ChargePointService). */
  transport: 'ws' | 'soap';
  /** OCPP-S only: the station's ChargePointService address (WS-A From, else ReplyTo). */
  callbackUrl?: string | null;
  connected: boolean;
  remoteAddress: string;
  connectedAt: number | null;
  disconnectedAt: number | null;
  lastDisconnect: { code: number; reason: string } | null;
  lastMessageAt: number | null;
  boot: { payload: Record<string, unknown>; status: string; at: number } | null;
  connectors: Record<string, ConnectorStatus>;
  /** Where the live connection is; null when disconnected. */
  shard: number | null;
  connId: number | null;
  /**
   * The newest connection id seen for this identity in this process (connected or not): a connect of an older
   * connection, reported late, never takes the record from a newer one. Not persisted (ids restart with the process).
   */
  newestConnId?: number;
}

/** The legacy file of earlier versions (imported into the store once). */
export const LEGACY_FILE = 'stations.json';
export const LEGACY_FORMAT = 'ocpp-router/stations@1';

/** A station seen for the first time, connected now. */
function newRecord(e: { identity: string; account: string | null; version: StationVersion; transport: StationRecord['transport']; remoteAddress: string; at: number; shard: number | null; connId: number }): StationRecord {
  return {
    identity: e.identity,
    account: e.account,
    version: e.version,
    transport: e.transport,
    connected: true,
    remoteAddress: e.remoteAddress,
    connectedAt: e.at,
    disconnectedAt: null,
    lastDisconnect: null,
    lastMessageAt: e.at,
    boot: null,
    connectors: {},
    shard: e.shard,
    connId: e.connId,
  };
}

export class StationRegistry {
  #stations = new Map<string, StationRecord>();
  /** Stations changed since the last write-through (besides last-message times). */
  #dirty = new Set<string>();
  /** Stations whose connector statuses changed (status_history has every one; the row is a summary). */
  #dirtyStatus = new Set<string>();
  /** Stations whose last-message time changed since the last write-through. */
  #dirtySeen = new Set<string>();
  /** Stations removed since the last write-through. */
  #removed = new Set<string>();
  #revision = 0;
  #seenRevision = 0;

  /**
   * Counts changes: `revision` every change but last-message times, `seenRevision` those (they arrive in
   * batches every second while stations talk). Views built from the whole registry are cached by them.
   */
  get revision(): number {
    return this.#revision;
  }

  get seenRevision(): number {
    return this.#seenRevision;
  }

  #changed(identity: string): void {
    this.#dirty.add(identity);
    this.#revision++;
  }

  get size(): number {
    return this.#stations.size;
  }

  get(identity: string): StationRecord | undefined {
    return this.#stations.get(identity);
  }

  all(): IterableIterator<StationRecord> {
    return this.#stations.values();
  }

  connectedCount(): number {
    let n = 0;
    for (const s of this.#stations.values()) if (s.connected) n++;
    return n;
  }

  /**
   * A station connected on `shard`. Newest wins by connection id (taken at the upgrade, increasing over every
   * shard), never by the order reports arrive in:
   *  - `replaced`: the older connection this one takes over from (when the identity was connected elsewhere);
   *  - `stale`: this connection is older than one already seen for the identity (its report came late); the
   *    record is not touched and the caller closes the connection as replaced.
   */
  connected(e: { identity: string; account: string | null; version: OcppVersion; remoteAddress: string; connId: number; at: number }, shard: number): { replaced: { shard: number; connId: number } | null; stale: boolean } {
    const record = this.#stations.get(e.identity);
    let replaced: { shard: number; connId: number } | null = null;
    if (record === undefined) {
      this.#stations.set(e.identity, { ...newRecord({ identity: e.identity, account: e.account, version: e.version, transport: 'ws', remoteAddress: e.remoteAddress, at: e.at, shard, connId: e.connId }), newestConnId: e.connId });
    } else {
      if ((record.newestConnId ?? 0) > e.connId) return { replaced: null, stale: true };
      if (record.connected && record.shard !== null && record.connId !== null && record.connId !== e.connId) {
        replaced = { shard: record.shard, connId: record.connId };
      }
      Object.assign(record, { account: e.account, version: e.version, transport: 'ws', remoteAddress: e.remoteAddress, connected: true, connectedAt: e.at, lastMessageAt: e.at, shard, connId: e.connId, newestConnId: e.connId });
    }
    this.#changed(e.identity);
    return { replaced, stale: false };
  }

  /** Returns false when the event is about a connection that was already replaced. */
  disconnected(e: { identity: string; connId: number; code: number; reason: string; at: number }): boolean {
    const record = this.#stations.get(e.identity);
    if (record === undefined || record.connId !== e.connId) return false;
    Object.assign(record, { connected: false, disconnectedAt: e.at, lastDisconnect: { code: e.code, reason: e.reason }, shard: null, connId: null });
    this.#changed(e.identity);
    return true;
  }

  /** Every station of a shard that died. */
  shardLost(shard: number, at: number, reason = 'shard restarted'): StationRecord[] {
    const lost: StationRecord[] = [];
    for (const record of this.#stations.values()) {
      if (record.shard === shard && record.connected) {
        Object.assign(record, { connected: false, disconnectedAt: at, lastDisconnect: { code: 1006, reason }, shard: null, connId: null });
        lost.push(record);
        this.#changed(record.identity);
      }
    }
    return lost;
  }

  /** Boot and status events a shard batched. */
  apply(events: readonly RegistryEvent[]): void {
    for (const e of events) {
      if (e.t === 'boot') this.boot(e.identity, e.connId, e.payload, e.status, e.at);
      else this.status(e.identity, e.connId, e.status);
    }
  }

  boot(identity: string, connId: number, payload: Record<string, unknown>, status: string, at: number): void {
    const record = this.#stations.get(identity);
    if (record === undefined || record.connId !== connId) return;
    record.boot = { payload, status, at };
    this.#changed(identity);
  }

  status(identity: string, connId: number, status: ConnectorStatus): void {
    const record = this.#stations.get(identity);
    if (record === undefined || record.connId !== connId) return;
    // OCPP-S requests of one station may be served by two shards whose reports arrive in either order: an older
    // status never overwrites a newer one.
    const current = record.connectors[status.connector];
    if (current !== undefined && current.at > status.at) return;
    record.connectors[status.connector] = status;
    this.#dirtyStatus.add(identity);
    this.#revision++;
  }

  seen(entries: Array<[string, number]>): void {
    for (const [identity, at] of entries) {
      const record = this.#stations.get(identity);
      if (record !== undefined && (record.lastMessageAt === null || at > record.lastMessageAt)) {
        record.lastMessageAt = at;
        this.#dirtySeen.add(identity);
      }
    }
    this.#seenRevision++;
  }

  // --- OCPP-S (SOAP) stations: no socket, so no shard; "connected" while they talk (see soapExpire) ---

  /** A SOAP station talked to a shard (first request there, or a new version or address). */
  soapStation(e: { identity: string; version: SoapVersion; callbackUrl: string | null; remoteAddress: string; at: number }): void {
    const record = this.#stations.get(e.identity);
    const version = e.version;
    if (record === undefined) {
      this.#stations.set(e.identity, { ...newRecord({ identity: e.identity, account: null, version, transport: 'soap', remoteAddress: e.remoteAddress, at: e.at, shard: null, connId: 0 }), callbackUrl: e.callbackUrl });
    } else {
      const wasConnected = record.connected && record.transport === 'soap';
      Object.assign(record, {
        version,
        transport: 'soap',
        callbackUrl: e.callbackUrl ?? record.callbackUrl ?? null,
        remoteAddress: e.remoteAddress,
        connected: true,
        connectedAt: wasConnected ? record.connectedAt : e.at,
        lastMessageAt: e.at,
        shard: null,
        connId: 0,
      });
    }
    this.#changed(e.identity);
  }

  /** Last-request times of SOAP stations; a station that had gone quiet is present again. */
  soapSeen(entries: Array<[string, number]>): void {
    for (const [identity, at] of entries) {
      const record = this.#stations.get(identity);
      if (record === undefined || record.transport !== 'soap') continue;
      if (record.lastMessageAt === null || at > record.lastMessageAt) record.lastMessageAt = at;
      this.#seenRevision++;
      if (!record.connected) {
        Object.assign(record, { connected: true, connectedAt: at, connId: 0 });
        this.#changed(identity);
      } else this.#dirtySeen.add(identity);
    }
  }

  /** SOAP stations silent for longer than `maxSilenceMs` are no longer counted as connected. */
  soapExpire(now: number, maxSilenceMs: number): number {
    let n = 0;
    for (const record of this.#stations.values()) {
      if (record.transport !== 'soap' || !record.connected) continue;
      if ((record.lastMessageAt ?? 0) < now - maxSilenceMs) {
        Object.assign(record, { connected: false, disconnectedAt: now, lastDisconnect: { code: 0, reason: 'OCPP-S station silent' } });
        n++;
        this.#changed(record.identity);
      }
    }
    return n;
  }

  /** Connected SOAP stations by version (metrics). */
  soapConnected(): Map<string, number> {
    const out = new Map<string, number>([['ocpp1.5', 0], ['ocpp1.6', 0]]);
    for (const r of this.#stations.values()) if (r.transport === 'soap' && r.connected) out.set(r.version, (out.get(r.version) ?? 0) + 1);
    return out;
  }

  // --- persistence (write-through to the store: ./registry-store.ts) ---

  /** Loads stations kept by the store (at start: whatever was connected then is not connected now). */
  loadRows(rows: readonly StationRow[]): void {
    for (const row of rows) {
      const record: StationRecord = {
        identity: row.identity,
        account: row.account,
        version: row.version as StationVersion,
        transport: row.transport === 'soap' ? 'soap' : 'ws',
        connected: false,
        remoteAddress: row.remoteAddress,
        connectedAt: row.connectedAt,
        disconnectedAt: row.disconnectedAt,
        lastDisconnect: row.lastDisconnect,
        lastMessageAt: row.lastMessageAt,
        boot: row.boot,
        connectors: row.connectors as Record<string, ConnectorStatus>,
        shard: null,
        connId: row.transport === 'soap' ? 0 : null,
        newestConnId: 0,
      };
      if (row.callbackUrl !== null) record.callbackUrl = row.callbackUrl;
      this.#stations.set(row.identity, record);
    }
    this.#revision++;
  }

  /** Removes a station (the API refuses this while it is connected). */
  remove(identity: string): boolean {
    if (!this.#stations.delete(identity)) return false;
    this.#dirty.delete(identity);
    this.#dirtySeen.delete(identity);
    this.#removed.add(identity);
    this.#revision++;
    return true;
  }

  /**
   * What changed since the last call, as store rows: the stations changed (and, with `withStatus`, those whose
   * connector statuses alone changed; with `withSeen`, also those whose last-message time alone changed), and the
   * identities removed.
   */
  takeChanges(withSeen: boolean, withStatus = true): { rows: StationRow[]; removed: string[] } {
    const identities = new Set(this.#dirty);
    if (withStatus || withSeen) for (const identity of this.#dirtyStatus) identities.add(identity);
    if (withSeen) for (const identity of this.#dirtySeen) identities.add(identity);
    const rows: StationRow[] = [];
    for (const identity of identities) {
      const record = this.#stations.get(identity);
      if (record !== undefined) rows.push(toRow(record));
    }
    this.#dirty = new Set();
    if (withStatus || withSeen) this.#dirtyStatus = new Set();
    if (withSeen) this.#dirtySeen = new Set();
    const removed = [...this.#removed];
    this.#removed = new Set();
    return { rows, removed };
  }

  /** Writes that failed: written again with the next flush. */
  markChanged(identities: readonly string[]): void {
    for (const identity of identities) if (this.#stations.has(identity)) this.#dirty.add(identity);
  }

  /** Every station as a store row (the legacy file's import). */
  allRows(): StationRow[] {
    return [...this.#stations.values()].map(toRow);
  }
}

/** A registry record as the store keeps it (without the live connection). */
export function toRow(r: StationRecord): StationRow {
  return {
    identity: r.identity,
    account: r.account,
    version: r.version,
    transport: r.transport,
    callbackUrl: r.callbackUrl ?? null,
    connected: r.connected,
    remoteAddress: r.remoteAddress,
    connectedAt: r.connectedAt,
    disconnectedAt: r.disconnectedAt,
    lastDisconnect: r.lastDisconnect,
    lastMessageAt: r.lastMessageAt,
    boot: r.boot,
    connectors: r.connectors,
  };
}
