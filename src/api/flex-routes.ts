/**
 * The API of flexibility prequalification (docs/flexibility.md): register an EVSE as an asset (a key and a did:ethr,
 * the private key never leaves the router), list assets, one asset with its claims and their history, and ask for
 * prequalification from the API (the same path as a request over NATS). With `flexibility.enable` false these
 * routes answer 503 `FLEX_OFF`. No answer ever carries key material: rows come from the store without their sealed
 * key, and claim tokens are public by design (they are what the issuer signs and what goes to IPFS).
 */
import type { RouterServer } from '../control/router.js';
import type { FlexService } from '../flex/service.js';
import { AssetInputError, checkAssetInput } from '../flex/asset-input.js';
import { errorResponse, jsonResponse, type WebResponse } from '../http/types.js';
import type { Route, RouteContext } from './route-table.js';

function flexOff(): WebResponse {
  return errorResponse(503, 'flexibility prequalification is off (flexibility.enable: false)', { reason: 'FLEX_OFF' });
}

type Body = { ok: true; value: Record<string, unknown> } | { ok: false; response: WebResponse };

function jsonBody(ctx: RouteContext): Body {
  if (ctx.request.body.trim() === '') return { ok: true, value: {} };
  try {
    const value = JSON.parse(ctx.request.body) as unknown;
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return { ok: false, response: errorResponse(400, 'body must be a JSON object') };
    return { ok: true, value: value as Record<string, unknown> };
  } catch (error) {
    return { ok: false, response: errorResponse(400, `body is not JSON: ${(error as Error).message}`) };
  }
}

function didParam(flex: FlexService, raw: string): string | WebResponse {
  try {
    return flex.normalizeDid(raw);
  } catch (error) {
    return errorResponse(400, `bad DID: ${(error as Error).message}`);
  }
}

/** The service's failures by name: this module does not load src/flex/ (ethers …) unless the service runs. */
function failureResponse(error: unknown): WebResponse | null {
  const e = error as { name?: unknown; reason?: unknown; message?: unknown };
  if (e?.name === 'TransientFailure') return errorResponse(503, String(e.message), { reason: e.reason }, { 'Retry-After': '5' });
  if (e?.name === 'PermanentFailure') return errorResponse(e.reason === 'unknown-asset' ? 404 : 422, String(e.message), { reason: e.reason });
  return null;
}

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

export function flexRoutes(server: RouterServer, prefix: string): Route[] {
  const withFlex = (fn: (flex: FlexService, ctx: RouteContext) => Promise<WebResponse>) => (ctx: RouteContext): Promise<WebResponse> | WebResponse => {
    const flex = server.flex;
    const store = server.store;
    if (flex === null || store === null) return flexOff();
    return fn(flex, ctx).catch((error: unknown) => {
      const response = failureResponse(error);
      if (response === null) throw error;
      return response;
    });
  };

  const createAsset = withFlex(async (flex, ctx) => {
    const body = jsonBody(ctx);
    if (!body.ok) return body.response;
    let input;
    try {
      input = checkAssetInput(body.value);
    } catch (error) {
      if (error instanceof AssetInputError) return errorResponse(400, error.message);
      throw error;
    }
    const record = server.station(input.identity);
    if (record === undefined) return errorResponse(404, `unknown station ${input.identity}: it must have connected once`, { reason: 'STATION_NOT_FOUND' });
    const { created, asset } = await flex.assets.create(input, record);
    if (!created && (asset.identity !== input.identity || asset.evseId !== input.evseId || asset.connectorId !== input.connectorId)) {
      return errorResponse(409, 'conflict with an existing asset', { did: asset.did });
    }
    return jsonResponse(created ? 201 : 200, { ...view(asset), created });
  });

  const listAssets = withFlex(async (_flex, ctx) => {
    const identity = ctx.query.get('identity');
    const assets = await server.store!.flex('assets', identity === null || identity === '' ? {} : { identity });
    // The latest claim of each asset, for a list that shows the state at a glance.
    const items = await Promise.all(
      assets.map(async (a) => {
        const claims = await server.store!.flex('claimsOf', { did: a.did });
        const last = claims.length === 0 ? null : claims.reduce((x, y) => (y.updatedAt >= x.updatedAt ? y : x));
        return { ...view(a), state: last?.state ?? null, updatedAt: iso(last?.updatedAt ?? null), claims: claims.length };
      }),
    );
    return jsonResponse(200, { assets: items, service: _flex.status() });
  });

  const getAsset = withFlex(async (_flex, ctx) => {
    const did = didParam(_flex, ctx.params.did!);
    if (typeof did !== 'string') return did;
    const asset = await server.store!.flex('asset', { did });
    if (asset === null) return errorResponse(404, `no asset ${did}`);
    const claims = await server.store!.flex('claimsOf', { did });
    return jsonResponse(200, {
      ...view(asset),
      claims: claims.map((c) => ({
        claimId: c.claimId,
        claimType: c.claimType,
        state: c.state,
        requestId: c.requestId,
        cid: c.cid,
        txHash: c.txHash,
        tokenHash: c.issuedHash,
        error: c.error,
        createdAt: iso(c.createdAt),
        updatedAt: iso(c.updatedAt),
        history: c.history.map((h) => ({ state: h.state, detail: h.detail, at: iso(h.at) })),
      })),
    });
  });

  const requestPrequalification = withFlex(async (flex, ctx) => {
    const did = didParam(flex, ctx.params.did!);
    if (typeof did !== 'string') return did;
    const body = jsonBody(ctx);
    if (!body.ok) return body.response;
    const requestId = body.value.requestId ?? null;
    if (requestId !== null && (typeof requestId !== 'string' || requestId.length === 0 || requestId.length > 200)) return errorResponse(400, 'requestId must be a string of 1 to 200 characters');
    const { claim, duplicate } = await flex.requestFromApi(did, requestId as string | null);
    return jsonResponse(duplicate ? 200 : 202, { claimId: claim.claimId, state: claim.state, requestId: claim.requestId, duplicate });
  });

  return [
    { method: 'GET', path: `${prefix}/flexibility/assets`, access: 'read', handle: listAssets },
    { method: 'POST', path: `${prefix}/flexibility/assets`, access: 'operator', handle: createAsset },
    { method: 'GET', path: `${prefix}/flexibility/assets/{did}`, access: 'read', handle: getAsset },
    { method: 'POST', path: `${prefix}/flexibility/assets/{did}/prequalification`, access: 'operator', handle: requestPrequalification },
  ];
}

function view(a: { did: string; address: string; identity: string; evseId: number; connectorId: number; metadata: Record<string, unknown>; createdAt: number }): Record<string, unknown> {
  return { did: a.did, address: a.address, identity: a.identity, evseId: a.evseId, connectorId: a.connectorId, metadata: a.metadata, createdAt: iso(a.createdAt) };
}
