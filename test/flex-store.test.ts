/**
 * The flexibility tables on both engines (src/store/flex-sql.ts): assets unique per did and per EVSE, sealed keys only
 * through assetKeys, claim states by compare-and-set (a second transition from the wrong state changes nothing and
 * writes no history), the issued token hash unique, concurrent transitions of one claim applied once, and the
 * metering summary of a connector's transactions.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { StoreEngine } from '../src/store/engine.js';
import { SqliteEngine } from '../src/store/sqlite/engine.js';
import { PostgresEngine } from '../src/store/postgres/engine.js';
import { deriveRecords } from '../src/store/derive.js';
import { testDatabase } from './helpers/postgres.js';

type T = { after(fn: () => unknown): void };

const ENGINES: Array<[string, (t: T) => Promise<StoreEngine>]> = [
  [
    'sqlite',
    async (t) => {
      const dir = mkdtempSync(join(tmpdir(), 'ocpp-router-flex-store-'));
      t.after(() => rmSync(dir, { recursive: true, force: true }));
      return new SqliteEngine({ file: join(dir, 'store.db'), synchronous: 'NORMAL' });
    },
  ],
  ['postgres', async (t) => new PostgresEngine({ url: await testDatabase(t), poolSize: 4, connectTimeoutS: 5 })],
];

const DID = 'did:ethr:volta:0x1111111111111111111111111111111111111111';
const asset = { did: DID, address: '0x1111111111111111111111111111111111111111', identity: 'CP-1', evseId: 1, connectorId: 1, metadata: { vendor: 'Acme' }, createdAt: 1000, sealedKey: '{"v":1,"sealed":"…"}' };

for (const [name, open] of ENGINES) {
  test(`flexibility tables (${name})`, { timeout: 30_000 }, async (t) => {
    const engine = await open(t);
    await engine.open();
    t.after(() => engine.close());

    assert.deepEqual(await engine.flex('assetCreate', asset), { created: true, existing: null });
    const again = await engine.flex('assetCreate', { ...asset, did: 'did:ethr:volta:0x2222222222222222222222222222222222222222', address: '0x2222222222222222222222222222222222222222' });
    assert.equal(again.created, false, 'the same EVSE under another key: refused');
    assert.equal(again.existing?.did, DID);
    const listed = await engine.flex('assets', { identity: 'CP-1' });
    assert.equal(listed.length, 1);
    assert.ok(!('sealedKey' in listed[0]!), 'no sealed key in the listing');
    assert.deepEqual(listed[0]!.metadata, { vendor: 'Acme' });
    assert.equal((await engine.flex('assetKeys', { did: DID }))[0]!.sealedKey, asset.sealedKey);

    const base = { claimId: 'c1', did: DID, claimType: 'type', detail: null };
    const requested = await engine.flex('claimTransition', { ...base, to: 'requested', from: [null, 'failed'], fields: { requestId: 'r1', requestToken: 'tok' }, at: 2000 });
    assert.equal(requested.applied, true);
    assert.equal(requested.claim?.state, 'requested');
    const twice = await engine.flex('claimTransition', { ...base, to: 'requested', from: [null, 'failed'], fields: {}, at: 2001 });
    assert.equal(twice.applied, false, 'the same request again changes nothing');
    // Two deliveries of one issued claim at once: one applies.
    const both = await Promise.all([1, 2].map((i) => engine.flex('claimTransition', { ...base, to: 'issued', from: [null, 'requested', 'failed'], fields: { issuedToken: 'issued', issuedHash: 'h1' }, detail: `delivery ${i}`, at: 3000 + i })));
    assert.equal(both.filter((r) => r.applied).length, 1);
    assert.equal((await engine.flex('claimByHash', { issuedHash: 'h1' }))?.claimId, 'c1');
    await assert.rejects(engine.flex('claimTransition', { ...base, claimId: 'c2', to: 'issued', from: [null], fields: { issuedHash: 'h1' }, at: 3100 }), 'one token hash, one claim');
    assert.equal(await engine.flex('claim', { claimId: 'c2' }), null, 'the refused transaction left nothing');
    assert.deepEqual((await engine.flex('claimsInState', { state: 'issued', limit: 10 })).map((c) => c.claimId), ['c1']);
    const published = await engine.flex('claimTransition', { ...base, to: 'published', from: ['issued'], fields: { cid: 'bafk', txHash: '0xabc', error: null }, detail: 'published', at: 4000 });
    assert.equal(published.claim?.cid, 'bafk');
    const [claim] = await engine.flex('claimsOf', { did: DID });
    assert.deepEqual(claim!.history.map((h) => h.state), ['requested', 'issued', 'published']);
    assert.equal(claim!.requestToken, 'tok', 'fields not given are kept');

    // Metering: a finished 1.6 transaction on connector 1 in the period.
    const t0 = Date.parse('2026-12-01T10:00:00Z');
    await engine.write([
      ...deriveRecords('CP-1', 'a', 'StartTransaction', { connectorId: 1, idTag: 'T', meterStart: 1000, timestamp: new Date(t0).toISOString() }, { transactionId: 7, idTagInfo: { status: 'Accepted' } }, t0, true),
      ...deriveRecords('CP-1', 'b', 'StopTransaction', { transactionId: 7, meterStop: 3500, timestamp: new Date(t0 + 60_000).toISOString() }, {}, t0 + 60_000, true),
    ]);
    const summary = await engine.flex('meterSummary', { identity: 'CP-1', connectorId: 1, from: t0 - 1000, to: t0 + 3_600_000 });
    assert.equal(summary.transactions, 1);
    assert.equal(summary.energyWh, 2500);
    assert.equal((await engine.flex('meterSummary', { identity: 'CP-1', connectorId: 2, from: t0 - 1000, to: t0 + 3_600_000 })).transactions, 0);
  });
}
