/**
 * Flexibility prequalification requests handled per second, end to end: a request published on JetStream (the
 * reference subject `*.prequalification.exchange`) → the durable consumer → the asset's evidence (registry record,
 * metering summary from the store) → the claim request token signed by the asset's key → published on the issuer
 * subject → `requested` committed in the store → acked. The issuer is this process, counting what arrives.
 *
 * Real parts: a nats-server with JetStream of its own, the SQLite store thread, the service as the router runs it
 * (src/flex/service.ts). The chain is not touched on this path (the registry client is built but not called).
 *
 * Two rounds over N assets (`first`, `second`), each with new request ids. The scrypt derivation of each asset's key
 * is cached per process by src/flex/keys.ts from the moment the bench creates the asset, so both rounds measure the
 * path with the key already derivable; a router that just started pays one scrypt (N=2^15) per asset at its first use,
 * which `assetSetupS / assets` bounds from above (it also includes generating and storing the key).
 *
 *   node dist/bench/flex-requests.js [--assets 200] [--requests-per-asset 1]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir, cpus } from 'node:os';
import { join } from 'node:path';
import { execSync } from 'node:child_process';
import { pino } from 'pino';
import { connect } from '@nats-io/transport-node';
import { jetstream } from '@nats-io/jetstream';
import { loadConfig } from '../src/config/load.js';
import { StoreHost } from '../src/store/host.js';
import { FlexService } from '../src/flex/service.js';
import { startNats } from './nats.js';

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : def;
}

const ASSETS = arg('assets', 200);
const PER_ASSET = arg('requests-per-asset', 1);

async function main(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'ocpp-router-bench-flex-'));
  const nats = await startNats(work);
  const config = loadConfig({
    env: {},
    overrides: {
      dataDir: work,
      log: { level: 'silent' },
      flexibility: {
        enable: true,
        keyEncryptionKey: 'bench-key-encryption-key-0123',
        chain: { rpcUrl: 'http://127.0.0.1:9', chainId: 1337, network: '0x539', registryAddress: `0x${'11'.repeat(20)}`, operatorPrivateKey: `0x${'22'.repeat(32)}` },
        nats: { servers: [nats.url] },
        trustedIssuers: [`did:ethr:0x539:0x${'33'.repeat(20)}`],
      },
    },
  });
  const store = (await StoreHost.start(config))!;
  const stations = new Map<string, { account: null; version: string; connected: boolean; boot: { payload: Record<string, unknown> }; connectors: Record<string, unknown> }>();
  const service = await FlexService.start({ config, store: store.client, station: (identity) => stations.get(identity) as never, logger: pino({ level: 'silent' }) });
  const nc = await connect({ servers: nats.url });
  const js = jetstream(nc);
  try {
    const setupStart = performance.now();
    const dids: string[] = [];
    for (let i = 0; i < ASSETS; i++) {
      const identity = `BENCH-${i}`;
      stations.set(identity, { account: null, version: 'ocpp1.6', connected: true, boot: { payload: { chargePointVendor: 'Acme', chargePointModel: 'B', firmwareVersion: '1' } }, connectors: { '1': { status: 'Available' } } });
      dids.push((await service.assets.create({ identity, evseId: 1, connectorId: 1 }, stations.get(identity))).asset.did);
    }
    const setupS = (performance.now() - setupStart) / 1000;
    const deadline = Date.now() + 30_000;
    while (!service.ready) {
      if (Date.now() > deadline) throw new Error('the service did not start consuming');
      await new Promise((r) => setTimeout(r, 20));
    }
    let received = 0;
    nc.subscribe(config.flexibility.issuer.subject, { callback: () => void received++ });
    await nc.flush();
    const round = async (name: string): Promise<{ round: string; requests: number; seconds: number; perS: number }> => {
      const before = received;
      const total = ASSETS * PER_ASSET;
      const start = performance.now();
      const publishes: Array<Promise<unknown>> = [];
      for (let r = 0; r < PER_ASSET; r++) for (const did of dids) publishes.push(js.publish('bench.prequalification.exchange', JSON.stringify({ did, requestId: `${name}-${r}` })));
      await Promise.all(publishes);
      const limit = Date.now() + 600_000;
      while (received - before < total) {
        if (Date.now() > limit) throw new Error(`${name}: ${received - before} of ${total} after 600 s`);
        await new Promise((r) => setTimeout(r, 5));
      }
      const seconds = (performance.now() - start) / 1000;
      return { round: name, requests: total, seconds: Number(seconds.toFixed(3)), perS: Number((total / seconds).toFixed(1)) };
    };
    const first = await round('first');
    const second = await round('second');
    const rev = (() => {
      try {
        return execSync('git rev-parse --short HEAD', { encoding: 'utf8' }).trim();
      } catch {
        return 'unknown';
      }
    })();
    const counters = service.handlers.counters;
    console.log(JSON.stringify({ bench: 'flex-requests', assets: ASSETS, requestsPerAsset: PER_ASSET, assetSetupS: Number(setupS.toFixed(2)), rounds: [first, second], secondOverFirst: Number((second.perS / first.perS).toFixed(2)), handled: counters.requests, node: process.version, cpus: `${cpus().length}× ${cpus()[0]?.model ?? '?'}`, loadavg1: Number((await import('node:os')).loadavg()[0]!.toFixed(2)), rev }, null, 1));
  } finally {
    await nc.close();
    await service.close();
    await store.stop();
    await nats.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
