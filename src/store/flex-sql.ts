/**
 * The store's side of flexibility prequalification (src/flex/): assets (an EVSE with its sealed key and did) and
 * prequalification claims with their history. Low volume and must be durable before anyone is told: each operation
 * runs in its own transaction straight on the engine (not through the group-commit writer and never spooled), so
 * the API answers and a NATS message is acknowledged only after the commit.
 *
 * Claims move through states by compare-and-set (`claimTransition`): the claim id is stable (a hash of what the
 * claim is about), so a second delivery of the same request, or the same issued token, finds the state it already
 * reached and changes nothing.
 */

type Row = Record<string, unknown>;

/** One transaction of an engine: `all` for reads, `run` for writes (rows changed). */
export interface FlexTx {
  readonly dialect: 'sqlite' | 'postgres';
  all(sql: string, params: unknown[]): Promise<Row[]>;
  run(sql: string, params: unknown[]): Promise<number>;
}

export const CLAIM_STATES = ['requested', 'issued', 'published', 'failed'] as const;
export type ClaimState = (typeof CLAIM_STATES)[number];

export interface FlexAssetRow {
  did: string;
  address: string;
  identity: string;
  evseId: number;
  connectorId: number;
  metadata: Record<string, unknown>;
  createdAt: number;
}

export interface FlexAssetKeyRow extends FlexAssetRow {
  sealedKey: string;
}

export interface FlexClaimRow {
  claimId: string;
  did: string;
  claimType: string;
  state: ClaimState;
  requestId: string | null;
  requestToken: string | null;
  issuedToken: string | null;
  issuedHash: string | null;
  cid: string | null;
  txHash: string | null;
  error: string | null;
  createdAt: number;
  updatedAt: number;
}

export interface FlexClaimEvent {
  state: ClaimState;
  detail: string | null;
  at: number;
}

/** Fields a transition may set (absent: kept). */
export type ClaimFields = Partial<Pick<FlexClaimRow, 'requestId' | 'requestToken' | 'issuedToken' | 'issuedHash' | 'cid' | 'txHash' | 'error'>>;

export interface ClaimTransition {
  claimId: string;
  did: string;
  claimType: string;
  to: ClaimState;
  /** States the claim may be in for the change to apply; `null` in the list: it may not exist yet. */
  from: Array<ClaimState | null>;
  fields: ClaimFields;
  /** History line (why it failed, which transaction …). */
  detail: string | null;
  at: number;
}

export interface MeterSummary {
  from: number;
  to: number;
  transactions: number;
  energyWh: number;
  samples: number;
}

/** Operations: `name → [arguments, answer]`. */
export type FlexOps = {
  assetCreate: [FlexAssetKeyRow, { created: boolean; existing: FlexAssetRow | null }];
  /** Import (backup restore): rows whose did is already present are skipped. */
  assetImport: [FlexAssetKeyRow[], { imported: number; skipped: number }];
  assets: [{ identity?: string }, FlexAssetRow[]];
  asset: [{ did: string }, FlexAssetRow | null];
  /** With the sealed key: only for signing and for export, never for the API. */
  assetKeys: [{ did?: string }, FlexAssetKeyRow[]];
  claimTransition: [ClaimTransition, { applied: boolean; claim: FlexClaimRow | null }];
  claim: [{ claimId: string }, FlexClaimRow | null];
  claimByHash: [{ issuedHash: string }, FlexClaimRow | null];
  claimsOf: [{ did: string }, Array<FlexClaimRow & { history: FlexClaimEvent[] }>];
  claimsInState: [{ state: ClaimState; limit: number }, FlexClaimRow[]];
  meterSummary: [{ identity: string; connectorId: number; from: number; to: number }, MeterSummary];
};

const num = (v: unknown): number => Number(v);
const str = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));
const obj = (v: unknown): Record<string, unknown> => (typeof v === 'string' ? (JSON.parse(v) as Record<string, unknown>) : ((v ?? {}) as Record<string, unknown>));

const ASSET_COLUMNS = 'did, address, identity, evse_id, connector_id, metadata, created_at';
const CLAIM_COLUMNS = 'claim_id, did, claim_type, state, request_id, request_token, issued_token, issued_hash, cid, tx_hash, error, created_at, updated_at';

function asset(r: Row): FlexAssetRow {
  return { did: String(r.did), address: String(r.address), identity: String(r.identity), evseId: num(r.evse_id), connectorId: num(r.connector_id), metadata: obj(r.metadata), createdAt: num(r.created_at) };
}

function claim(r: Row): FlexClaimRow {
  return {
    claimId: String(r.claim_id),
    did: String(r.did),
    claimType: String(r.claim_type),
    state: String(r.state) as ClaimState,
    requestId: str(r.request_id),
    requestToken: str(r.request_token),
    issuedToken: str(r.issued_token),
    issuedHash: str(r.issued_hash),
    cid: str(r.cid),
    txHash: str(r.tx_hash),
    error: str(r.error),
    createdAt: num(r.created_at),
    updatedAt: num(r.updated_at),
  };
}

const FIELD_COLUMNS: Record<keyof ClaimFields, string> = { requestId: 'request_id', requestToken: 'request_token', issuedToken: 'issued_token', issuedHash: 'issued_hash', cid: 'cid', txHash: 'tx_hash', error: 'error' };

async function insertAsset(tx: FlexTx, a: FlexAssetKeyRow): Promise<number> {
  return tx.run(
    `INSERT INTO flex_assets (${ASSET_COLUMNS}, sealed_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
    [a.did, a.address, a.identity, a.evseId, a.connectorId, JSON.stringify(a.metadata), a.createdAt, a.sealedKey],
  );
}

async function selectClaim(tx: FlexTx, claimId: string, lock: boolean): Promise<FlexClaimRow | null> {
  const forUpdate = lock && tx.dialect === 'postgres' ? ' FOR UPDATE' : '';
  const rows = await tx.all(`SELECT ${CLAIM_COLUMNS} FROM flex_claims WHERE claim_id = ?${forUpdate}`, [claimId]);
  return rows.length === 0 ? null : claim(rows[0]!);
}

async function transition(tx: FlexTx, t: ClaimTransition): Promise<{ applied: boolean; claim: FlexClaimRow | null }> {
  let current = await selectClaim(tx, t.claimId, true);
  const event = (): Promise<number> => tx.run('INSERT INTO flex_claim_events (claim_id, did, state, detail, at) VALUES (?, ?, ?, ?, ?)', [t.claimId, t.did, t.to, t.detail, t.at]);
  if (current === null) {
    if (!t.from.includes(null)) return { applied: false, claim: null };
    const f = t.fields;
    const inserted = await tx.run(
      `INSERT INTO flex_claims (${CLAIM_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (claim_id) DO NOTHING`,
      [t.claimId, t.did, t.claimType, t.to, f.requestId ?? null, f.requestToken ?? null, f.issuedToken ?? null, f.issuedHash ?? null, f.cid ?? null, f.txHash ?? null, f.error ?? null, t.at, t.at],
    );
    if (inserted === 1) {
      await event();
      return { applied: true, claim: await selectClaim(tx, t.claimId, false) };
    }
    // Another transaction inserted it in between (PostgreSQL, several nodes): decide on its row.
    current = await selectClaim(tx, t.claimId, true);
    if (current === null) return { applied: false, claim: null };
  }
  if (!t.from.includes(current.state)) return { applied: false, claim: current };
  const sets = ['state = ?', 'updated_at = ?'];
  const params: unknown[] = [t.to, t.at];
  for (const [key, column] of Object.entries(FIELD_COLUMNS) as Array<[keyof ClaimFields, string]>) {
    if (t.fields[key] === undefined) continue;
    sets.push(`${column} = ?`);
    params.push(t.fields[key]);
  }
  params.push(t.claimId);
  await tx.run(`UPDATE flex_claims SET ${sets.join(', ')} WHERE claim_id = ?`, params);
  await event();
  return { applied: true, claim: await selectClaim(tx, t.claimId, false) };
}

/** Runs one operation inside the engine's transaction `tx`. */
export async function runFlexOp<K extends keyof FlexOps>(tx: FlexTx, op: K, args: FlexOps[K][0]): Promise<FlexOps[K][1]> {
  const a = args as never;
  switch (op) {
    case 'assetCreate': {
      const row = a as FlexAssetKeyRow;
      if ((await insertAsset(tx, row)) === 1) return { created: true, existing: null } as FlexOps[K][1];
      const rows = await tx.all(`SELECT ${ASSET_COLUMNS} FROM flex_assets WHERE did = ? OR (identity = ? AND evse_id = ? AND connector_id = ?)`, [row.did, row.identity, row.evseId, row.connectorId]);
      return { created: false, existing: rows.length === 0 ? null : asset(rows[0]!) } as FlexOps[K][1];
    }
    case 'assetImport': {
      let imported = 0;
      const rows = a as FlexAssetKeyRow[];
      for (const row of rows) imported += await insertAsset(tx, row);
      return { imported, skipped: rows.length - imported } as FlexOps[K][1];
    }
    case 'assets': {
      const { identity } = a as { identity?: string };
      const rows = identity === undefined
        ? await tx.all(`SELECT ${ASSET_COLUMNS} FROM flex_assets ORDER BY identity, evse_id, connector_id`, [])
        : await tx.all(`SELECT ${ASSET_COLUMNS} FROM flex_assets WHERE identity = ? ORDER BY evse_id, connector_id`, [identity]);
      return rows.map(asset) as FlexOps[K][1];
    }
    case 'asset': {
      const rows = await tx.all(`SELECT ${ASSET_COLUMNS} FROM flex_assets WHERE did = ?`, [(a as { did: string }).did]);
      return (rows.length === 0 ? null : asset(rows[0]!)) as FlexOps[K][1];
    }
    case 'assetKeys': {
      const { did } = a as { did?: string };
      const rows = did === undefined ? await tx.all(`SELECT ${ASSET_COLUMNS}, sealed_key FROM flex_assets ORDER BY did`, []) : await tx.all(`SELECT ${ASSET_COLUMNS}, sealed_key FROM flex_assets WHERE did = ?`, [did]);
      return rows.map((r) => ({ ...asset(r), sealedKey: String(r.sealed_key) })) as FlexOps[K][1];
    }
    case 'claimTransition':
      return (await transition(tx, a as ClaimTransition)) as FlexOps[K][1];
    case 'claim':
      return (await selectClaim(tx, (a as { claimId: string }).claimId, false)) as FlexOps[K][1];
    case 'claimByHash': {
      const rows = await tx.all(`SELECT ${CLAIM_COLUMNS} FROM flex_claims WHERE issued_hash = ?`, [(a as { issuedHash: string }).issuedHash]);
      return (rows.length === 0 ? null : claim(rows[0]!)) as FlexOps[K][1];
    }
    case 'claimsOf': {
      const { did } = a as { did: string };
      const claims = (await tx.all(`SELECT ${CLAIM_COLUMNS} FROM flex_claims WHERE did = ? ORDER BY created_at, claim_id`, [did])).map(claim);
      const events = await tx.all('SELECT claim_id, state, detail, at FROM flex_claim_events WHERE did = ? ORDER BY id', [did]);
      return claims.map((c) => ({ ...c, history: events.filter((e) => e.claim_id === c.claimId).map((e) => ({ state: String(e.state) as ClaimState, detail: str(e.detail), at: num(e.at) })) })) as FlexOps[K][1];
    }
    case 'claimsInState': {
      const { state, limit } = a as { state: ClaimState; limit: number };
      return (await tx.all(`SELECT ${CLAIM_COLUMNS} FROM flex_claims WHERE state = ? ORDER BY updated_at LIMIT ?`, [state, limit])).map(claim) as FlexOps[K][1];
    }
    case 'meterSummary': {
      const { identity, connectorId, from, to } = a as { identity: string; connectorId: number; from: number; to: number };
      // Transactions of the connector in the period (1.6 connector "1", 2.x "evse/connector" starting with the EVSE).
      const tx1 = await tx.all(
        "SELECT count(*) AS n, sum(CASE WHEN meter_stop IS NOT NULL AND meter_start IS NOT NULL THEN meter_stop - meter_start ELSE 0 END) AS wh FROM transactions WHERE identity = ? AND (connector = ? OR connector LIKE ?) AND started_at >= ? AND started_at < ?",
        [identity, String(connectorId), `${connectorId}/%`, from, to],
      );
      const samples = await tx.all('SELECT count(*) AS n FROM meter_values WHERE identity = ? AND ts >= ? AND ts < ?', [identity, from, to]);
      return { from, to, transactions: num(tx1[0]?.n ?? 0), energyWh: num(tx1[0]?.wh ?? 0), samples: num(samples[0]?.n ?? 0) } as FlexOps[K][1];
    }
    default:
      throw new Error(`unknown flexibility store operation ${String(op)}`);
  }
}

/** The tables (migration 2), with the few words that differ per dialect. */
export function flexMigration(d: 'sqlite' | 'postgres'): string {
  const id = d === 'sqlite' ? 'INTEGER PRIMARY KEY' : 'BIGSERIAL PRIMARY KEY';
  const big = d === 'sqlite' ? 'INTEGER' : 'BIGINT';
  return `
CREATE TABLE flex_assets (
  did TEXT PRIMARY KEY,
  address TEXT NOT NULL,
  identity TEXT NOT NULL,
  evse_id INTEGER NOT NULL,
  connector_id INTEGER NOT NULL,
  sealed_key TEXT NOT NULL,
  metadata TEXT NOT NULL,
  created_at ${big} NOT NULL,
  UNIQUE (identity, evse_id, connector_id)
);
CREATE TABLE flex_claims (
  claim_id TEXT PRIMARY KEY,
  did TEXT NOT NULL,
  claim_type TEXT NOT NULL,
  state TEXT NOT NULL,
  request_id TEXT,
  request_token TEXT,
  issued_token TEXT,
  issued_hash TEXT UNIQUE,
  cid TEXT,
  tx_hash TEXT,
  error TEXT,
  created_at ${big} NOT NULL,
  updated_at ${big} NOT NULL
);
CREATE INDEX flex_claims_did ON flex_claims (did);
CREATE INDEX flex_claims_state ON flex_claims (state, updated_at);
CREATE TABLE flex_claim_events (
  id ${id},
  claim_id TEXT NOT NULL,
  did TEXT NOT NULL,
  state TEXT NOT NULL,
  detail TEXT,
  at ${big} NOT NULL
);
CREATE INDEX flex_claim_events_did ON flex_claim_events (did, id);
`;
}
