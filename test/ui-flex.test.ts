/**
 * The flexibility panel of the station page (www/ui/flexibility.js) in chromium with the service on: a private
 * nats-server with JetStream, a ganache chain with the ERC-1056 registry, a router with flexibility enabled and a
 * booted station. Registering an EVSE from the page shows its did; a prequalification request shows up as a claim
 * with its state and history; the private key never reaches the page.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { privateNats } from './helpers/nats.js';
import { startTestChain } from './helpers/chain.js';
import { startTestServer, TestStation, waitFor } from './helpers/server.js';
import { toolMissing } from './helpers/tools.js';
import { generateAssetKey } from '../src/flex/keys.js';
import { didFor } from '../src/flex/did.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const skip = toolMissing(CHROMIUM, 'the Debian package chromium (apt-get install chromium; .ci/run does), or set CHROMIUM_PATH', 'the web UI end-to-end tests') ?? false;

test('the station page registers an EVSE as an asset and shows its prequalification state and history', { skip, timeout: 120_000 }, async (t) => {
  const nats = await privateNats(t);
  const chain = await startTestChain();
  t.after(() => chain.stop());
  const issuer = generateAssetKey();
  const h = await startTestServer({
    server: { workers: 1 },
    flexibility: {
      enable: true,
      keyEncryptionKey: 'ui-test-key-encryption-key-0123',
      chain: { rpcUrl: chain.rpcUrl, chainId: chain.chainId, network: chain.network, registryAddress: chain.registryAddress, operatorPrivateKey: chain.operatorPrivateKey, timeoutMs: 10_000 },
      nats: { servers: [nats.url] },
      trustedIssuers: [didFor(issuer.address, chain.network)],
    },
  });
  t.after(() => h.stop());
  await waitFor(() => h.server.flex?.ready === true, 15_000, 'the flexibility service consuming');
  const station = await TestStation.connect(h.url('UI-FLEX'), 'ocpp1.6');
  t.after(() => station.close());
  await station.call('BootNotification', { chargePointVendor: 'Vendor', chargePointModel: 'Model', chargePointSerialNumber: 'SN-1' });

  const profile = await mkdtemp(join(tmpdir(), 'ocpp-router-chromium-'));
  t.after(() => rm(profile, { recursive: true, force: true }));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  t.after(() => context.close());
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  const bodies: string[] = [];
  page.on('response', (response) => {
    if (response.url().includes('/flexibility/')) void response.text().then((text) => bodies.push(text), () => undefined);
  });

  await page.goto(`http://127.0.0.1:${h.port}/#/station/UI-FLEX`);
  const panel = page.locator('#flexibility');
  await panel.locator('p', { hasText: 'No EVSE of this station is an asset yet.' }).waitFor({ timeout: 20_000 });
  await page.locator('#flex-evse').fill('1');
  await page.locator('#flex-connector').fill('1');
  await page.getByRole('button', { name: 'Register as asset' }).click();
  const registered = panel.locator('[role="status"]', { hasText: /^Registered: did:ethr:/ });
  await registered.waitFor({ timeout: 20_000 });
  const did = ((await registered.textContent()) ?? '').replace('Registered: ', '');
  const asset = panel.locator(`.flex-asset[data-did="${did}"]`);
  await asset.locator('text=not requested').waitFor();
  await asset.locator('text=No prequalification requested yet.').waitFor();

  // A request (from the API, as an operator's tool would) appears on the page with its state and history.
  const requested = await fetch(`http://127.0.0.1:${h.port}/api/v1/flexibility/assets/${encodeURIComponent(did)}/prequalification`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
  assert.ok(requested.status < 300, `prequalification request: ${requested.status} ${await requested.text()}`);
  await page.reload();
  const claim = page.locator(`.flex-asset[data-did="${did}"] tr[data-state="requested"]`);
  await claim.waitFor({ timeout: 20_000 });
  assert.match((await claim.textContent()) ?? '', /requested/);

  // What the page received never holds key material.
  const sealedOrPrivate = /privateKey|sealed|"0x[0-9a-f]{64}"/i;
  for (const body of bodies) assert.doesNotMatch(body, sealedOrPrivate);
  assert.ok(bodies.length >= 3, `flexibility answers seen: ${bodies.length}`);
  assert.deepEqual(errors, []);
});
