/**
 * What the prequalification service does with each message (the NATS consumers and the API call these):
 *
 * - a request `{did, requestId?}`: build the claim request (claim type and version, OCPP evidence as claim fields:
 *   boot notification, connector status, metering summary of the period), sign it with the asset's key, deliver it
 *   to the issuer, record `requested`. The claim id is stable (asset, type, version, request id), so a request that
 *   comes twice finds its claim and does nothing twice.
 * - an issued claim `{issuedToken, did?}`: verify the token's signature, that its issuer is trusted and that its
 *   subject is one of our assets; record `issued`; store the token (IPFS CID), add the service entry to the asset's
 *   DID document (unless the chain already has it), record `published`. The token hash makes a second delivery a
 *   no-op.
 *
 * Errors are failures, never crashes: permanent ones (the message can never succeed) and transient ones (store,
 * chain, issuer, NATS away; retried). A permanent failure, or a transient one on the last delivery, is recorded as
 * `failed` with why. Nothing here logs or returns key material.
 */
import type { FlexConfig } from '../config/types.js';
import type { StoreClient } from '../store/client.js';
import type { FlexAssetRow, FlexClaimRow, FlexOps } from '../store/flex-sql.js';
import { normalizeDid } from './did.js';
import { claimTokenPayload, sha256Hex, signClaimToken, verifyClaimToken } from './token.js';
import { bootMetadata, type AssetBook, type StationInfo } from './assets.js';
import { dayOf, issuedClaimId, parseIssuedClaim, parseRequest, PermanentFailure, requestClaimId, TransientFailure, unverifiedSubject, type FailureReason } from './messages.js';
import type { IssuerDelivery } from './issuer.js';

/** The service entry type written to DID documents (shared with registry.ts and the docs). */
export const SERVICE_TYPE = 'PrequalificationClaim';

/** What the handlers need of the chain registry (src/flex/registry.ts DidRegistryClient). */
export interface ChainRegistry {
  setServiceSigned(identityPrivateKey: string, service: { type: string; endpoint: string | Record<string, unknown> }, validityS: number): Promise<{ txHash: string; blockNumber: number }>;
  hasService(did: string, match: (service: Record<string, unknown>) => boolean): Promise<boolean>;
}

/** What the handlers need of the content store (src/flex/content-store.ts ContentStore). */
export interface ContentAddressed {
  add(content: Uint8Array | string): Promise<string>;
}

export interface HandlerCounters {
  requests: Record<'requested' | 'duplicate' | 'failed', number>;
  claims: Record<'published' | 'duplicate' | 'failed', number>;
  failures: Map<FailureReason, number>;
}

export interface HandlerDeps {
  config: FlexConfig;
  store: StoreClient;
  assets: AssetBook;
  station: (identity: string) => StationInfo | undefined;
  registry: ChainRegistry;
  content: ContentAddressed;
  deliver: IssuerDelivery;
  /** Announces a published claim (core NATS, best effort). */
  announce: (event: Record<string, unknown>) => void;
  log: { warn(fields: object, message: string): void; info(fields: object, message: string): void };
}

/** Whether a resolved service entry is the one of the token with this hash (the endpoint as object or JSON text). */
export function serviceMatches(service: Record<string, unknown>, tokenHash: string): boolean {
  const endpoint = service.serviceEndpoint ?? service.endpoint;
  const text = typeof endpoint === 'string' ? endpoint : JSON.stringify(endpoint ?? null);
  return String(service.type ?? '').startsWith(SERVICE_TYPE) && text.includes(tokenHash);
}

export class PrequalificationHandlers {
  readonly counters: HandlerCounters = { requests: { requested: 0, duplicate: 0, failed: 0 }, claims: { published: 0, duplicate: 0, failed: 0 }, failures: new Map() };
  readonly #d: HandlerDeps;
  readonly #trusted: Set<string>;

  constructor(deps: HandlerDeps) {
    this.#d = deps;
    this.#trusted = new Set(deps.config.trustedIssuers.map((d) => normalizeDid(d)));
  }

  /** A store operation; any store error is transient (the message comes back later). */
  async #db<K extends keyof FlexOps>(op: K, args: FlexOps[K][0]): Promise<FlexOps[K][1]> {
    try {
      return await this.#d.store.flex(op, args);
    } catch (error) {
      throw new TransientFailure('store', `store: ${(error as Error).message}`, { cause: error });
    }
  }

  async #chain<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (error) {
      throw new TransientFailure('chain', `chain (${what}): ${(error as Error).message.split('\n')[0]!.slice(0, 300)}`, { cause: error });
    }
  }

  #count(reason: FailureReason): void {
    this.#d.log.warn({ reason }, 'flexibility: message failed');
    this.counters.failures.set(reason, (this.counters.failures.get(reason) ?? 0) + 1);
  }

  /** Records `failed` for a claim when the failure is final; returns the error to rethrow. */
  async #failed(error: unknown, final: boolean, claim: { claimId: string; did: string; claimType: string } | null, from: Array<FlexClaimRow['state'] | null>): Promise<unknown> {
    const reason: FailureReason = error instanceof PermanentFailure || error instanceof TransientFailure ? error.reason : 'internal';
    if (!(error instanceof PermanentFailure) && !final) return error;
    this.#count(reason);
    if (claim !== null) {
      const message = error instanceof Error ? error.message : String(error);
      await this.#d.store.flex('claimTransition', { ...claim, to: 'failed', from, fields: { error: `${reason}: ${message}`.slice(0, 1000) }, detail: `${reason}: ${message}`.slice(0, 1000), at: Date.now() }).catch(() => undefined);
    }
    return error;
  }

  /** A prequalification request (NATS message body, or the API's). Resolves with the claim once recorded. */
  async request(data: Uint8Array, source: string, final = true): Promise<{ claim: FlexClaimRow; duplicate: boolean }> {
    const { config } = this.#d;
    const req = parseRequest(data);
    const requestId = req.requestId ?? dayOf(Date.now());
    const claimId = requestClaimId(req.did, config.claim.type, config.claim.version, requestId);
    const ref = { claimId, did: req.did, claimType: config.claim.type };
    try {
      const asset = await this.#db('asset', { did: req.did });
      if (asset === null) throw new PermanentFailure('unknown-asset', `${req.did} is not an asset of this operator`, req.did);
      const existing = await this.#db('claim', { claimId });
      if (existing !== null && existing.state !== 'failed') {
        this.counters.requests.duplicate++;
        return { claim: existing, duplicate: true };
      }
      const token = await this.#claimRequestToken(asset, claimId, requestId);
      await this.#d.deliver({ did: asset.did, claimId, requestId, claimType: config.claim.type, claimTypeVersion: String(config.claim.version), token });
      const result = await this.#db('claimTransition', { ...ref, to: 'requested', from: [null, 'failed'], fields: { requestId, requestToken: token, error: null }, detail: `requested (${source})`, at: Date.now() });
      if (result.applied) this.counters.requests.requested++;
      else this.counters.requests.duplicate++;
      return { claim: result.claim!, duplicate: !result.applied };
    } catch (error) {
      if (error instanceof PermanentFailure || final) this.counters.requests.failed++;
      // An unknown asset has no claim to record against.
      const known = !(error instanceof PermanentFailure && error.reason === 'unknown-asset');
      throw await this.#failed(error, final, known ? ref : null, [null, 'failed']);
    }
  }

  async #claimRequestToken(asset: FlexAssetRow, claimId: string, requestId: string): Promise<string> {
    const { config } = this.#d;
    const to = Date.now();
    const from = to - config.claim.evidencePeriodDays * 86_400_000;
    const meter = await this.#db('meterSummary', { identity: asset.identity, connectorId: asset.connectorId, from, to });
    const record = this.#d.station(asset.identity);
    const connector = record?.connectors[String(asset.connectorId)] ?? null;
    const boot = bootMetadata(record);
    const evidence: Record<string, unknown> = {
      identity: asset.identity,
      evseId: asset.evseId,
      connectorId: asset.connectorId,
      ...boot,
      ocppVersion: record?.version ?? null,
      connected: record?.connected ?? false,
      connectorStatus: connector === null ? null : (connector as { status?: unknown }).status ?? null,
      meteringFrom: new Date(from).toISOString(),
      meteringTo: new Date(to).toISOString(),
      transactions: meter.transactions,
      energyWh: meter.energyWh,
      meterSamples: meter.samples,
    };
    const fields = Object.entries(evidence).map(([key, value]) => ({ key, value: value === null ? '' : String(value) }));
    const extra: Record<string, unknown> = { claimId, requestId, ...(config.issuer.did === null ? {} : { aud: config.issuer.did }) };
    const payload = claimTokenPayload({ issuer: asset.did, subject: asset.did, claimType: config.claim.type, claimTypeVersion: String(config.claim.version), fields, extra });
    let key: string;
    try {
      key = await this.#d.assets.privateKey(asset.did);
    } catch (error) {
      // A wrong key-encryption key or a tampered row: the message names neither the key nor the KEK.
      throw new PermanentFailure('internal', `the key of ${asset.did} cannot be opened: ${(error as Error).message}`, asset.did);
    }
    return signClaimToken(payload, key);
  }

  /** An issued claim (NATS message body). Resolves once published (or found already published). */
  async issued(data: Uint8Array, final = true): Promise<{ claim: FlexClaimRow | null; duplicate: boolean }> {
    const { config } = this.#d;
    let ref: { claimId: string; did: string; claimType: string } | null = null;
    let from: Array<FlexClaimRow['state'] | null> = [null, 'failed'];
    try {
      const message = parseIssuedClaim(data);
      const token = message.issuedToken;
      const hash = sha256Hex(token);
      const claimed = message.did ?? unverifiedSubject(token);
      const failRef = async (): Promise<void> => {
        // Refused claims are recorded against a known asset only: a stranger's junk leaves no rows.
        if (claimed !== null && (await this.#d.store.flex('asset', { did: claimed }).catch(() => null)) !== null) ref = { claimId: issuedClaimId(claimed, config.claim.type, config.claim.version, hash), did: claimed, claimType: config.claim.type };
      };
      let verified;
      try {
        verified = verifyClaimToken(token);
      } catch (error) {
        await failRef();
        throw new PermanentFailure('forged-token', `issued token refused: ${(error as Error).message}`, claimed);
      }
      const payload = verified.payload;
      const issuer = normalizeDid(String(payload.iss));
      if (!this.#trusted.has(issuer)) {
        await failRef();
        throw new PermanentFailure('untrusted-issuer', `issuer ${issuer} is not in flexibility.trustedIssuers`, claimed);
      }
      let subject: string;
      try {
        subject = normalizeDid(String(payload.sub));
      } catch {
        throw new PermanentFailure('malformed', 'the token has no usable sub (the asset DID)');
      }
      if (message.did !== null && message.did !== subject) throw new PermanentFailure('subject-mismatch', `message did ${message.did} is not the token's subject ${subject}`, message.did);
      const asset = await this.#db('asset', { did: subject });
      if (asset === null) throw new PermanentFailure('unknown-asset', `${subject} is not an asset of this operator`, subject);
      const claimData = (payload.claimData ?? {}) as Record<string, unknown>;
      const claimType = typeof claimData.claimType === 'string' ? claimData.claimType : config.claim.type;
      // Which claim: the one this token was seen on, else the request it names (ours, same asset), else its own.
      let claim = await this.#db('claimByHash', { issuedHash: hash });
      if (claim === null && typeof payload.claimId === 'string') {
        const named = await this.#db('claim', { claimId: payload.claimId });
        if (named !== null && named.did === subject) claim = named;
      }
      const claimId = claim?.claimId ?? issuedClaimId(subject, claimType, config.claim.version, hash);
      ref = { claimId, did: subject, claimType };
      if (claim?.state === 'published' && claim.issuedHash === hash) {
        this.counters.claims.duplicate++;
        return { claim, duplicate: true };
      }
      if (!(claim?.state === 'issued' && claim.issuedHash === hash)) {
        const result = await this.#db('claimTransition', { ...ref, to: 'issued', from: [null, 'requested', 'failed'], fields: { issuedToken: token, issuedHash: hash, error: null }, detail: `issued by ${issuer}`, at: Date.now() });
        if (!result.applied) {
          // Published from another token meanwhile: this one changes nothing.
          this.counters.claims.duplicate++;
          return { claim: result.claim, duplicate: true };
        }
      }
      from = ['issued'];
      const published = await this.publish(claimId);
      return { claim: published, duplicate: false };
    } catch (error) {
      if (error instanceof PermanentFailure || final) this.counters.claims.failed++;
      throw await this.#failed(error, final, ref, from);
    }
  }

  /**
   * Publishes an `issued` claim: its token into the content store, the service entry into the DID document (only
   * if the chain does not have it yet: a crash after the transaction and before the commit writes nothing twice),
   * then `published`. Startup reconciliation calls this for every claim left `issued`.
   */
  async publish(claimId: string): Promise<FlexClaimRow> {
    const claim = await this.#db('claim', { claimId });
    if (claim === null || claim.state !== 'issued' || claim.issuedToken === null || claim.issuedHash === null) throw new PermanentFailure('internal', `claim ${claimId} is not waiting to be published`);
    const hash = claim.issuedHash;
    let cid: string;
    try {
      cid = await this.#d.content.add(claim.issuedToken);
    } catch (error) {
      throw new TransientFailure('store', `content store: ${(error as Error).message}`, { cause: error });
    }
    const { did, claimType } = claim;
    let txHash: string | null = null;
    let detail: string;
    if (await this.#chain('hasService', () => this.#d.registry.hasService(did, (s) => serviceMatches(s, hash)))) {
      detail = `already in the DID document (cid ${cid})`;
    } else {
      const key = await this.#d.assets.privateKey(did).catch((error: Error) => {
        throw new PermanentFailure('internal', `the key of ${did} cannot be opened: ${error.message}`, did);
      });
      const endpoint = { cid, hash, hashAlg: 'SHA256', claimType, claimId };
      const tx = await this.#chain('setAttributeSigned', () => this.#d.registry.setServiceSigned(key, { type: SERVICE_TYPE, endpoint }, this.#d.config.chain.validityS));
      txHash = tx.txHash;
      detail = `published: cid ${cid}, transaction ${tx.txHash} (block ${tx.blockNumber})`;
    }
    const result = await this.#db('claimTransition', { claimId, did, claimType, to: 'published', from: ['issued'], fields: { cid, txHash, error: null }, detail, at: Date.now() });
    if (result.applied) {
      this.counters.claims.published++;
      this.#d.log.info({ did, claimId, cid, txHash }, 'flexibility: claim published in the DID document');
      this.#d.announce({ did, claimId, claimType, cid, hash, txHash });
    }
    return result.claim!;
  }

  /** Claims left `issued` (a crash between issue and publish): published once each; errors logged, never thrown. */
  async reconcile(): Promise<{ published: number; failed: number }> {
    let published = 0;
    let failed = 0;
    const pending = await this.#d.store.flex('claimsInState', { state: 'issued', limit: 10_000 });
    for (const claim of pending) {
      try {
        await this.publish(claim.claimId);
        published++;
      } catch (error) {
        failed++;
        this.#d.log.warn({ claimId: claim.claimId, did: claim.did, reason: (error as TransientFailure).reason ?? 'internal', error: (error as Error).message }, 'flexibility: reconciliation could not publish a claim (will retry at the next start)');
      }
    }
    return { published, failed };
  }
}
