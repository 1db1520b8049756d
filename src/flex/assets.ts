/**
 * Assets: an EVSE (station identity, EVSE id, connector id) registered for flexibility, with a secp256k1 key of its
 * own and the did:ethr made from it. The private key is sealed with the key-encryption key before it reaches the
 * store and opened only in memory, when the asset signs; it is never logged, never returned by the API. Opened keys
 * are kept in a small bounded cache (scrypt makes each opening cost ~0.1 s of CPU): memory only, dropped at close.
 *
 * Metadata and evidence come from what the router knows: the last BootNotification (vendor, model, serial,
 * firmware), the connectors' statuses, and a metering summary from the store.
 */
import type { StoreClient } from '../store/client.js';
import type { FlexAssetRow } from '../store/flex-sql.js';
import { didFor } from './did.js';
import type { AssetInput } from './asset-input.js';
import { generateAssetKey, openPrivateKey, sealPrivateKey, exportKeyBundle, importKeyBundle, assetKeyFromPrivate, KeyError } from './keys.js';

/** What the router knows of a station (src/control/station-registry.ts StationRecord, the fields used here). */
export interface StationInfo {
  account: string | null;
  version: string | null;
  connected: boolean;
  boot: { payload: Record<string, unknown> } | null;
  connectors: Record<string, unknown>;
}

const KEY_CACHE_MAX = 1024;
const EXPORT_FORMAT = 'ocpp-router-flex-assets/v1';
const KEY_CACHE_TTL_MS = 10 * 60_000;

/** Boot notification fields of 1.6 and 2.x in one shape. */
export function bootMetadata(record: StationInfo | undefined): Record<string, unknown> {
  const boot = record?.boot?.payload ?? null;
  if (boot === null) return { vendor: null, model: null, serialNumber: null, firmwareVersion: null };
  const station = (boot.chargingStation ?? {}) as Record<string, unknown>;
  const pick = (...values: unknown[]): unknown => values.find((v) => typeof v === 'string') ?? null;
  return {
    vendor: pick(boot.chargePointVendor, station.vendorName),
    model: pick(boot.chargePointModel, station.model),
    serialNumber: pick(boot.chargePointSerialNumber, boot.chargeBoxSerialNumber, station.serialNumber),
    firmwareVersion: pick(boot.firmwareVersion, station.firmwareVersion),
  };
}

export class AssetBook {
  readonly #store: StoreClient;
  readonly #kek: string;
  readonly #network: string;
  readonly #keys = new Map<string, { key: string; until: number }>();

  constructor(store: StoreClient, kek: string, network: string) {
    this.#store = store;
    this.#kek = kek;
    this.#network = network;
  }

  /** Creates the key and did of an EVSE; an EVSE that is already an asset gives the existing one (`created: false`). */
  async create(input: AssetInput, record: StationInfo | undefined): Promise<{ created: boolean; asset: FlexAssetRow }> {
    const key = generateAssetKey();
    const did = didFor(key.address, this.#network);
    const sealedKey = await sealPrivateKey(key.privateKey, this.#kek, key.address);
    const metadata = { ...bootMetadata(record), account: record?.account ?? null, ocppVersion: record?.version ?? null };
    const row = { did, address: key.address, identity: input.identity, evseId: input.evseId, connectorId: input.connectorId, metadata, createdAt: Date.now(), sealedKey };
    const result = await this.#store.flex('assetCreate', row);
    if (result.created) {
      const { sealedKey: _sealed, ...asset } = row;
      return { created: true, asset };
    }
    return { created: false, asset: result.existing! };
  }

  /** The asset's private key, opened in memory (cached for a while); throws KeyError on a wrong KEK or a tampered row. */
  async privateKey(did: string): Promise<string> {
    const now = Date.now();
    const cached = this.#keys.get(did);
    if (cached !== undefined && cached.until > now) return cached.key;
    const [row] = await this.#store.flex('assetKeys', { did });
    if (row === undefined) throw new KeyError('no such asset');
    const key = await openPrivateKey(row.sealedKey, this.#kek, row.address);
    if (this.#keys.size >= KEY_CACHE_MAX) this.#keys.delete(this.#keys.keys().next().value!);
    this.#keys.set(did, { key, until: now + KEY_CACHE_TTL_MS });
    return key;
  }

  /**
   * A backup of every asset: the keys re-encrypted under `passphrase` (restoring needs the passphrase, not this KEK)
   * and, in clear, which EVSE each did belongs to (not secret).
   */
  async exportKeys(passphrase: string): Promise<{ text: string; count: number }> {
    const rows = await this.#store.flex('assetKeys', {});
    const keys = await exportKeyBundle(rows.map((r) => ({ did: r.did, address: r.address, sealed: r.sealedKey })), this.#kek, passphrase);
    const assets = rows.map(({ sealedKey: _sealed, ...asset }) => asset);
    return { text: JSON.stringify({ format: EXPORT_FORMAT, assets, keys }, null, 1), count: rows.length };
  }

  /** Restores an export: each key sealed again under this KEK; assets already present are skipped. */
  async importKeys(text: string, passphrase: string): Promise<{ imported: number; skipped: number }> {
    let parsed: { format?: unknown; assets?: unknown; keys?: unknown };
    try {
      parsed = JSON.parse(text) as typeof parsed;
    } catch {
      throw new KeyError('not an asset export (not JSON)');
    }
    if (parsed.format !== EXPORT_FORMAT || typeof parsed.keys !== 'string' || !Array.isArray(parsed.assets)) throw new KeyError(`not an asset export (format ${EXPORT_FORMAT} expected)`);
    const metadata = new Map((parsed.assets as FlexAssetRow[]).map((a) => [a.did, a]));
    const entries = await importKeyBundle(parsed.keys, passphrase, this.#kek);
    const rows = [];
    for (const e of entries) {
      // Opening proves the entry is sound before it is stored.
      assetKeyFromPrivate(await openPrivateKey(e.sealed, this.#kek, e.address));
      const known = metadata.get(e.did);
      rows.push({ did: e.did, address: e.address, identity: known?.identity ?? `imported:${e.address}`, evseId: known?.evseId ?? 0, connectorId: known?.connectorId ?? 0, metadata: known?.metadata ?? { imported: true }, createdAt: known?.createdAt ?? Date.now(), sealedKey: e.sealed });
    }
    return this.#store.flex('assetImport', rows);
  }

  /** Drops the opened keys from memory. */
  forget(): void {
    this.#keys.clear();
  }
}
