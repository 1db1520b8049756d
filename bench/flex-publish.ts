/**
 * Time from an issued claim (the token in hand) to a resolvable entry in the asset's DID document, on a local
 * chain: verify the token (EIP-191 recovery) → add it to the content store (CID) → operator-relayed
 * setAttributeSigned (until its receipt) → resolve the DID with ethr-did-resolver until the service shows.
 *
 *   node dist/bench/flex-publish.js [--claims 50] [--concurrency 1] [--block-time-s 0] [--no-save]
 *
 * The chain is ganache in this process (test/helpers/chain.ts: loopback JSON-RPC, instant mining unless
 * `--block-time-s`), the registry the published EthereumDIDRegistry; every asset is fresh (zero balance) and its
 * key is opened from its sealed envelope first (one scrypt, reported apart: the service caches it afterwards).
 * With `--concurrency` > 1 that many claims are in flight (different assets), which gives claims per second.
 * The floor, in the same run: plain 1-wei transfers from the operator, one at a time, each waited for by polling
 * its receipt the same way (what the chain itself costs per transaction).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { clearDerivedKeyCache, generateAssetKey, openPrivateKey, sealPrivateKey } from '../src/flex/keys.js';
import { didFor } from '../src/flex/did.js';
import { claimTokenPayload, sha256Hex, signClaimToken, tokenSignerMatches, verifyClaimToken } from '../src/flex/token.js';
import { ContentStore } from '../src/flex/content-store.js';
import { DidRegistryClient } from '../src/flex/registry.js';
import { startTestChain } from '../test/helpers/chain.js';
import { JsonRpcProvider, Wallet } from 'ethers';
import { fmt, machine, save, table } from './harness.js';

function flag(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && i + 1 < process.argv.length ? process.argv[i + 1]! : fallback;
}

const claims = Math.max(1, Number(flag('claims', '50')));
const concurrency = Math.max(1, Number(flag('concurrency', '1')));
const blockTimeS = Math.max(0, Number(flag('block-time-s', '0')));
const noSave = process.argv.includes('--no-save');
const KEK = 'bench-key-encryption-key-0123456789';
const STAGES = ['openKey', 'verify', 'contentAdd', 'setAttribute', 'resolve', 'total'] as const;
type Stage = (typeof STAGES)[number];

function pct(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}

const chain = await startTestChain(blockTimeS > 0 ? { blockTimeS } : {});
const dir = mkdtempSync(join(tmpdir(), 'ocpp-router-flex-bench-'));
const content = await ContentStore.open(join(dir, 'content'));
const registry = new DidRegistryClient({ ...chain, timeoutMs: 30_000 });
try {
  const issuer = generateAssetKey();
  const issuerDid = didFor(issuer.address, chain.network);
  // Prepared before the clock: sealed asset keys and the issued tokens (what arrives on *.claim.exchange).
  const prepared: Array<{ did: string; address: string; sealed: string; token: string; claimId: string }> = [];
  for (let i = 0; i < claims; i++) {
    const asset = generateAssetKey();
    const did = didFor(asset.address, chain.network);
    const payload = claimTokenPayload({
      issuer: issuerDid,
      subject: did,
      claimType: 'ev.prequalification.tso',
      claimTypeVersion: '1',
      fields: [{ key: 'maxPowerW', value: '22000' }],
      extra: { claimId: `bench-${i}` },
    });
    prepared.push({ did, address: asset.address, sealed: await sealPrivateKey(asset.privateKey, KEK, asset.address), token: await signClaimToken(payload, issuer.privateKey), claimId: `bench-${i}` });
  }
  clearDerivedKeyCache(); // sealing cached each derived key: the open below is a cold one, as after a restart
  const samples: Record<Stage, number[]> = { openKey: [], verify: [], contentAdd: [], setAttribute: [], resolve: [], total: [] };
  const publishOne = async (c: (typeof prepared)[number]): Promise<void> => {
    const t0 = performance.now();
    const privateKey = await openPrivateKey(c.sealed, KEK, c.address);
    const t1 = performance.now();
    const verified = verifyClaimToken(c.token);
    if (!tokenSignerMatches(verified, issuerDid)) throw new Error('untrusted issuer');
    const t2 = performance.now();
    const cid = await content.add(c.token);
    const t3 = performance.now();
    const endpoint = { cid, hash: sha256Hex(c.token), hashAlg: 'SHA256', claimType: 'ev.prequalification.tso', claimId: c.claimId };
    await registry.setServiceSigned(privateKey, { type: 'PrequalificationClaim', endpoint }, 365 * 24 * 3600);
    const t4 = performance.now();
    const deadline = Date.now() + 30_000;
    while (!(await registry.hasService(c.did, (s) => (s.serviceEndpoint as { claimId?: string } | undefined)?.claimId === c.claimId))) {
      if (Date.now() > deadline) throw new Error(`${c.did}: entry not visible after 30 s`);
      await new Promise((r) => setTimeout(r, 20));
    }
    const t5 = performance.now();
    samples.openKey.push(t1 - t0);
    samples.verify.push(t2 - t1);
    samples.contentAdd.push(t3 - t2);
    samples.setAttribute.push(t4 - t3);
    samples.resolve.push(t5 - t4);
    samples.total.push(t5 - t1);
  };
  const started = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, claims) }, async () => {
      while (next < claims) await publishOne(prepared[next++]!);
    }),
  );
  const elapsedS = (performance.now() - started) / 1000;
  // The floor: the cheapest transaction on this chain, sent and confirmed the same way.
  const floorMs: number[] = [];
  const provider = new JsonRpcProvider(chain.rpcUrl, chain.chainId, { staticNetwork: true, cacheTimeout: -1 });
  try {
    const operator = new Wallet(chain.operatorPrivateKey, provider);
    for (let i = 0; i < Math.min(claims, 50); i++) {
      const t0 = performance.now();
      const tx = await operator.sendTransaction({ to: generateAssetKey().address, value: 1n });
      while ((await provider.getTransactionReceipt(tx.hash)) === null) await new Promise((r) => setTimeout(r, 20));
      floorMs.push(performance.now() - t0);
    }
  } finally {
    provider.destroy();
  }
  const rows = STAGES.map((s) => [s, fmt(pct(samples[s], 50)), fmt(pct(samples[s], 95)), fmt(Math.max(...samples[s]))]);
  process.stdout.write(`flex-publish: ${claims} claims, concurrency ${concurrency}, ${blockTimeS > 0 ? `${blockTimeS} s blocks` : 'instamine'}; total = verify → resolvable (openKey apart)\n`);
  process.stdout.write(`${table(['stage', 'p50 ms', 'p95 ms', 'max ms'], rows)}\n`);
  process.stdout.write(`throughput: ${fmt(claims / elapsedS)} claims/s (${fmt(elapsedS)} s wall, openKey included)\n`);
  const floorP50 = pct(floorMs, 50);
  process.stdout.write(`floor (1-wei transfer, sent → receipt): p50 ${fmt(floorP50)} ms, p95 ${fmt(pct(floorMs, 95))} ms; total p50 / floor p50 = ${fmt(pct(samples.total, 50) / floorP50)}\n`);
  const summary = Object.fromEntries(STAGES.map((s) => [s, { p50: pct(samples[s], 50), p95: pct(samples[s], 95), max: Math.max(...samples[s]) }]));
  save(noSave, { bench: 'flex-publish', ...machine(), claims, concurrency, blockTimeS, claimsPerS: claims / elapsedS, ms: summary, floorMs: { p50: floorP50, p95: pct(floorMs, 95) } });
} finally {
  registry.close();
  await content.close();
  await chain.stop();
  rmSync(dir, { recursive: true, force: true });
}
