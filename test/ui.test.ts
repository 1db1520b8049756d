/**
 * End-to-end tests of the web UI in a real headless Chromium (Debian's /usr/bin/chromium driven by
 * playwright-core) against a real two-shard router with emulated stations: the dashboard lists them, a
 * station page sends RemoteStartTransaction (1.6) and RequestStartTransaction (2.0.1, nested form) and
 * shows Accepted, the live log shows the frames and exports them, the login prompt for bearer and basic
 * API auth, and the banner while the server is away. Screenshots go to test-output/ui/.
 * Skipped (with the reason) when chromium is not installed: CHROMIUM_PATH overrides the path.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { startTestServer, type TestServer } from './helpers/server.js';
import { startFleet, templateStations, type FleetHandle } from '../src/emulator/index.js';
import { hashPassword } from '../src/config/password-hash.js';
import { packageRoot } from '../src/config/load.js';

// Evaluated in the page, not in Node.
declare const document: { querySelector(s: string): { textContent: string | null } | null; querySelectorAll(s: string): ArrayLike<{ textContent: string | null }> & Iterable<{ textContent: string | null }> };
declare const sessionStorage: { getItem(key: string): string | null };

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const skip = existsSync(CHROMIUM) ? false : `chromium not found at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH): web UI end-to-end tests skipped`;
if (skip) console.log(`# ${skip}`);
const SHOTS = join(packageRoot(), 'test-output', 'ui');
const TIMEOUT = 60_000;

let context: BrowserContext;
let profile: string;

async function openBrowser(): Promise<void> {
  mkdirSync(SHOTS, { recursive: true });
  profile = await mkdtemp(join(tmpdir(), 'ocpp-router-chromium-'));
  context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1400, height: 900 },
    acceptDownloads: true,
  });
}

/** A full-page screenshot from the top (the header is sticky). */
async function shot(page: Page, name: string, fullPage = true): Promise<void> {
  await page.evaluate('window.scrollTo(0, 0)');
  await page.screenshot({ path: join(SHOTS, name), fullPage });
}

/** A new page whose script errors fail the test. */
async function newPage(): Promise<{ page: Page; errors: string[] }> {
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  return { page, errors };
}

async function fleetFor(h: TestServer, count: number, version: 'ocpp1.6' | 'ocpp2.0.1', prefix: string, connectors = 1): Promise<FleetHandle> {
  return startFleet({ stations: templateStations({ stations: count, prefix, url: `ws://127.0.0.1:${h.port}/ocpp`, version, connectors }), threads: 0 });
}

before(async () => {
  if (!skip) await openBrowser();
});
after(async () => {
  if (skip) return;
  await context?.close();
  await rm(profile, { recursive: true, force: true });
});

test('dashboard, station commands and live log with emulated stations', { skip, timeout: TIMEOUT * 2 }, async (t) => {
  const h = await startTestServer();
  t.after(() => h.stop());
  const v16 = await fleetFor(h, 6, 'ocpp1.6', 'EMU-', 2);
  t.after(() => v16.stop());
  const v2 = await fleetFor(h, 2, 'ocpp2.0.1', 'V2-');
  t.after(() => v2.stop());
  const base = `http://127.0.0.1:${h.port}`;

  await t.test('the dashboard lists the stations with counts, search and filters', async () => {
    const { page, errors } = await newPage();
    await page.goto(`${base}/`);
    await page.locator('.vt-row:not([hidden])', { hasText: 'V2-2' }).waitFor();
    await page.waitForFunction(() => document.querySelector('[data-count="connected"] .n')?.textContent === '8');
    // Live: the statuses arrive after the boots, the counts follow without a reload.
    await page.waitForFunction(() => document.querySelector('[data-count="available"] .n')?.textContent === '8', null, { timeout: 10_000 });
    assert.equal(await page.locator('[data-count="offline"] .n').textContent(), '0');
    assert.equal(await page.locator('.vt-row:not([hidden])').count(), 8);
    // Wait for two metric scrapes so the charts have a line.
    await page.waitForFunction(() => !document.querySelector('.legend b')?.textContent?.includes('—'), null, { timeout: 10_000 });
    await shot(page, 'dashboard.png');
    await page.getByLabel('Search').fill('v2-');
    await page.waitForFunction(() => document.querySelectorAll('.vt-row:not([hidden])').length === 2);
    await page.getByLabel('Search').fill('');
    await page.getByLabel('Version').selectOption('ocpp1.6');
    await page.waitForFunction(() => document.querySelectorAll('.vt-row:not([hidden])').length === 6);
    // Sort by identity, descending: EMU-6 first.
    await page.getByRole('button', { name: 'Identity' }).click();
    assert.equal(await page.locator('.vt-row:not([hidden])').first().locator('a').textContent(), 'EMU-6');
    assert.equal(await page.locator('[role="columnheader"][aria-sort="descending"]').textContent(), 'Identity');
    // A click on a card filters by its status; a row opens the station.
    await page.locator('.vt-row:not([hidden]) a', { hasText: 'EMU-3' }).click();
    await page.waitForURL(/#\/station\/EMU-3$/);
    await page.locator('h1', { hasText: 'EMU-3' }).waitFor();
    assert.deepEqual(errors, []);
    await page.close();
  });

  await t.test('a station page sends RemoteStartTransaction and shows Accepted; the live log shows the frames', async () => {
    const log = await newPage();
    await log.page.goto(`${base}/#/log`);
    await log.page.locator('#log-state', { hasText: /^connected$/ }).waitFor();

    const { page, errors } = await newPage();
    await page.goto(`${base}/#/station/EMU-1`);
    await page.locator('h1', { hasText: 'EMU-1' }).waitFor();
    await page.locator('dd', { hasText: 'ocpp-router' }).first().waitFor();
    const form = page.getByRole('form', { name: 'RemoteStartTransaction command' });
    await form.waitFor();
    // The whole 1.6 operation list (26 with the security extension).
    assert.equal(await page.locator('nav.ops button').count(), 26);
    await form.locator('[data-path="/connectorId"]').fill('1');
    await form.locator('[data-path="/idTag"]').fill('04A2B3C4');
    await form.getByRole('button', { name: 'Send RemoteStartTransaction' }).click();
    const status = form.locator('.status-line');
    await status.filter({ hasText: 'HTTP 200' }).waitFor();
    assert.match((await status.textContent()) ?? '', /HTTP 200 · \d+ ms · sent RemoteStartTransaction/);
    assert.deepEqual(JSON.parse((await form.locator('pre.response').textContent()) ?? ''), { status: 'Accepted' });
    // The emulator starts a session: the station's recent messages and its connector follow live.
    await page.locator('tr[data-action="StartTransaction"]').first().waitFor();
    await page.locator('tr[data-connector="1"] .badge', { hasText: 'Charging' }).waitFor({ timeout: 15_000 });
    await shot(page, 'station.png');
    assert.deepEqual(errors, []);

    // The live log has the command (out CALL), the answer (in CALLRESULT) and what followed.
    const lp = log.page;
    await lp.getByLabel('Action').fill('RemoteStartTransaction');
    await lp.waitForFunction(() => document.querySelectorAll('.vt-row:not([hidden])').length === 2);
    const rows = await lp.locator('.vt-row:not([hidden])').allTextContents();
    assert.ok(rows.some((r) => r.includes('EMU-1') && r.includes('out →') && r.includes('CALL') && r.includes('"idTag":"04A2B3C4"')), rows.join('\n'));
    assert.ok(rows.some((r) => r.includes('EMU-1') && r.includes('in ←') && r.includes('CALLRESULT') && r.includes('"status":"Accepted"')), rows.join('\n'));
    await lp.getByLabel('Action').fill('');
    await lp.getByLabel('Station').fill('EMU-1');
    await lp.locator('.vt-row:not([hidden])', { hasText: 'StartTransaction' }).first().waitFor();
    await lp.getByLabel('Direction').selectOption('in');
    await lp.getByLabel('Type').selectOption('CALLRESULT');
    await lp.waitForFunction(() => [...document.querySelectorAll('.vt-row:not([hidden])')].every((r) => r.textContent!.includes('in ←') && r.textContent!.includes('CALLRESULT')));
    await lp.getByLabel('Type').selectOption('');
    await lp.getByLabel('Direction').selectOption('');
    await lp.locator('.vt-row:not([hidden])').first().click();
    await lp.locator('pre.json', { hasText: '"uniqueId"' }).waitFor();
    await shot(lp, 'live-log.png');
    // CSV export of what the filters show.
    const [download] = await Promise.all([lp.waitForEvent('download'), lp.getByRole('button', { name: 'Export CSV' }).click()]);
    const csv = readFileSync((await download.path())!, 'utf8');
    const lines = csv.trim().split('\r\n');
    assert.equal(lines[0], 'time,ts,identity,direction,messageType,uniqueId,action,payload');
    assert.ok(lines.some((l) => l.includes(',EMU-1,out,CALL,') && l.includes(',RemoteStartTransaction,"{""connectorId"":1,""idTag"":""04A2B3C4""}"')), csv);
    // Pause freezes the view, Clear empties it.
    await lp.getByRole('button', { name: 'Pause' }).click();
    assert.equal(await lp.getByRole('button', { name: 'Resume' }).getAttribute('aria-pressed'), 'true');
    await lp.getByRole('button', { name: 'Clear' }).click();
    assert.equal(await lp.locator('.vt-row:not([hidden])').count(), 0);
    assert.deepEqual(log.errors, []);
    await lp.close();
    await page.close();
  });

  await t.test('a 2.0.1 station gets RequestStartTransaction from the nested form', async () => {
    const { page, errors } = await newPage();
    await page.goto(`${base}/#/station/V2-1`);
    const form = page.getByRole('form', { name: 'RequestStartTransaction command' });
    await form.waitFor();
    await form.locator('[data-path="/evseId"]').fill('1');
    await form.locator('[data-path="/remoteStartId"]').fill('42');
    await form.locator('[data-path="/idToken/idToken"]').fill('TOKEN1');
    await form.locator('select[data-path="/idToken/type"]').selectOption('ISO14443');
    await form.getByRole('button', { name: 'Send RequestStartTransaction' }).click();
    await form.locator('.status-line', { hasText: 'HTTP 200' }).waitFor();
    assert.equal((JSON.parse((await form.locator('pre.response').textContent()) ?? '') as { status: string }).status, 'Accepted');
    // A required field left empty is stopped by the browser; the JSON editor reaches the server's validator.
    await page.locator('nav.ops button', { hasText: /^Reset$/ }).click();
    const reset = page.getByRole('form', { name: 'Reset command' });
    await reset.getByRole('button', { name: 'Send Reset' }).click();
    assert.equal(await reset.locator('.status-line').count(), 0);
    await reset.getByLabel('Edit as JSON').check();
    await reset.getByLabel('Payload (JSON)').fill('{"type":"Sometimes"}');
    await reset.getByRole('button', { name: 'Send Reset' }).click();
    await reset.locator('.status-line', { hasText: 'HTTP 400' }).waitFor();
    assert.match((await reset.locator('pre.response').textContent()) ?? '', /PAYLOAD_INVALID/);
    await shot(page, 'station-v2.png');
    assert.deepEqual(errors, []);
    await page.close();
  });
});

test('API auth bearer: a token prompt, then the dashboard and the live log; kept for the tab', { skip, timeout: TIMEOUT }, async (t) => {
  const token = 'ui-test-token-0123456789abcdef';
  const h = await startTestServer({ api: { auth: { mode: 'bearer', tokens: [token] } } });
  t.after(() => h.stop());
  const fleet = await fleetFor(h, 2, 'ocpp1.6', 'AUTH-');
  t.after(() => fleet.stop());
  const { page, errors } = await newPage();
  await page.goto(`http://127.0.0.1:${h.port}/`);
  const dialog = page.getByRole('dialog', { name: 'API token required' });
  await dialog.waitFor();
  assert.equal(await page.locator('#login-user').isVisible(), false);
  await shot(page, 'login-bearer.png', false);
  await page.locator('#login-token').fill('wrong-token-0000000000000');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('#login-why', { hasText: 'Not accepted' }).waitFor();
  await page.locator('#login-token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('.vt-row:not([hidden])', { hasText: 'AUTH-2' }).waitFor();
  assert.equal(await dialog.isVisible(), false);
  await page.reload();
  await page.locator('.vt-row:not([hidden])', { hasText: 'AUTH-1' }).waitFor();
  assert.equal(await dialog.isVisible(), false);
  assert.equal(await page.getByRole('button', { name: 'Sign out' }).isVisible(), true);
  // The live log signs in with the token too (offered as a WebSocket subprotocol).
  await page.goto(`http://127.0.0.1:${h.port}/#/log`);
  await page.locator('#log-state', { hasText: /^connected$/ }).waitFor({ timeout: 15_000 });
  assert.deepEqual(errors, []);
  await page.close();
});

test('API auth basic: a user/password prompt; the live log signs in too', { skip, timeout: TIMEOUT }, async (t) => {
  const h = await startTestServer({ api: { auth: { mode: 'basic', users: { operator: await hashPassword('s3cret-pass') } } } });
  t.after(() => h.stop());
  const fleet = await fleetFor(h, 1, 'ocpp1.6', 'BASIC-');
  t.after(() => fleet.stop());
  const { page, errors } = await newPage();
  await page.goto(`http://127.0.0.1:${h.port}/#/log`);
  await page.getByRole('dialog', { name: 'Sign in' }).waitFor();
  await page.getByLabel('User').fill('operator');
  await page.getByLabel('Password').fill('s3cret-pass');
  await shot(page, 'login-basic.png', false);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('#log-state', { hasText: /^connected$/ }).waitFor({ timeout: 15_000 });
  // Traffic shows up: trigger a heartbeat through the API from the page's own credentials.
  await page.evaluate(async () => {
    const c = JSON.parse(sessionStorage.getItem('ocpp-router.auth')!) as { user: string; password: string };
    await fetch('/api/v1/ChargePoint/BASIC-1/TriggerMessage', { method: 'POST', headers: { 'Content-Type': 'application/json', Authorization: `Basic ${btoa(`${c.user}:${c.password}`)}` }, body: '{"requestedMessage":"Heartbeat"}' });
  });
  await page.locator('.vt-row:not([hidden])', { hasText: 'TriggerMessage' }).first().waitFor();
  assert.deepEqual(errors, []);
  await page.close();
});

test('a disconnected server shows a banner; the UI reconnects when it is back', { skip, timeout: TIMEOUT }, async (t) => {
  let h = await startTestServer();
  const port = h.port;
  t.after(() => h.stop());
  const fleet = await fleetFor(h, 1, 'ocpp1.6', 'DOWN-');
  t.after(() => fleet.stop());
  const { page, errors } = await newPage();
  await page.goto(`http://127.0.0.1:${port}/`);
  await page.locator('.vt-row:not([hidden])', { hasText: 'DOWN-1' }).waitFor();
  const banner = page.locator('#banner');
  assert.equal(await banner.isVisible(), false);
  await h.stop();
  await banner.waitFor({ state: 'visible', timeout: 15_000 });
  assert.match((await banner.textContent()) ?? '', /cannot be reached/);
  assert.equal(await page.locator('#conn-state').textContent(), 'server unreachable');
  await shot(page, 'disconnected.png', false);
  h = await startTestServer({ server: { port } });
  await banner.waitFor({ state: 'hidden', timeout: 20_000 });
  // The emulated station reconnects by itself; the dashboard follows without a reload.
  await page.waitForFunction(() => document.querySelector('[data-count="connected"] .n')?.textContent === '1', null, { timeout: 20_000 });
  assert.deepEqual(errors, []);
  await page.close();
});
