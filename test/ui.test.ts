/**
 * End-to-end tests of the web UI in a real headless Chromium (Debian's /usr/bin/chromium driven by
 * playwright-core) against a real two-shard router with emulated stations: the dashboard lists them, a
 * station page sends RemoteStartTransaction (1.6) and RequestStartTransaction (2.0.1, nested form) and
 * shows Accepted, the live log shows the frames and exports them, the login prompt for bearer and basic
 * API auth, and the banner while the server is away. With the store (the default embedded SQLite): the
 * transactions page (paging, filters in the hash, CSV), a transaction's chart and meter values, and the
 * station page's open transaction, stored messages, answer labels, offline connectors and unknown identity;
 * with the store off, the pages say so. Screenshots go to test-output/ui/.
 * Without chromium: fails in CI (CI=true), skipped outside CI saying what to install; CHROMIUM_PATH overrides the path.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { startTestServer, TestStation, waitFor, type TestServer } from './helpers/server.js';
import { toolMissing } from './helpers/tools.js';
import { startFleet, templateStations, type FleetHandle } from '../src/emulator/index.js';
import { hashPassword } from '../src/config/password-hash.js';
import { packageRoot } from '../src/config/load.js';

// Evaluated in the page, not in Node.
declare const document: {
  querySelector(s: string): { textContent: string | null; getAttribute(name: string): string | null } | null;
  querySelectorAll(s: string): ArrayLike<{ textContent: string | null }> & Iterable<{ textContent: string | null }>;
};
declare const location: { hash: string };
declare const sessionStorage: { getItem(key: string): string | null };

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
// Without it: fails in CI (CI=true), skipped outside CI with what to install (test/helpers/tools.ts).
const skip = toolMissing(CHROMIUM, 'the Debian package chromium (apt-get install chromium; .ci/run does), or set CHROMIUM_PATH', 'the web UI end-to-end tests') ?? false;
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
    locale: 'en-US',
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
    // The rows left over from the longer list are not drawn.
    assert.equal(await page.locator('.vt-row:visible').count(), 2);
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
    // The answer is labelled as the station's, next to the request.
    assert.equal(await form.locator('section.answer h4').textContent(), "Station's answer");
    assert.deepEqual(JSON.parse((await form.locator('pre.request').textContent()) ?? ''), { connectorId: 1, idTag: '04A2B3C4' });
    // The emulator starts a session: the station's recent messages, its connector and its open transaction follow live.
    await page.locator('tr[data-action="StartTransaction"]').first().waitFor();
    await page.locator('tr[data-connector="1"] .badge', { hasText: 'Charging' }).waitFor({ timeout: 15_000 });
    await page.locator('table.open-tx tbody tr', { hasText: '04A2B3C4' }).waitFor({ timeout: 15_000 });
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
    assert.equal(await reset.locator('section.answer h4').textContent(), "Router's error (nothing was sent to the station)");
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

// --- the store: transactions, a transaction's meter values, the station page's open transaction and messages

const iso = (ms: number): string => new Date(ms).toISOString();

/** A 1.6 station over a plain ws client: booted, its connectors Available; accepts every command. */
async function chargePoint(h: TestServer, identity: string, connectors = 1): Promise<TestStation> {
  const st = await TestStation.connect(h.url(identity), ['ocpp1.6']);
  st.onCall = () => ({ status: 'Accepted' });
  await st.call('BootNotification', { chargePointVendor: 'UiTest', chargePointModel: 'Store' });
  for (let c = 1; c <= connectors; c++) await st.call('StatusNotification', { connectorId: c, errorCode: 'NoError', status: 'Available', timestamp: iso(Date.now()) });
  return st;
}

async function startTx(st: TestStation, connectorId: number, idTag: string, meterStart: number, at: number): Promise<number> {
  const answer = (await st.call('StartTransaction', { connectorId, idTag, meterStart, timestamp: iso(at) }))[2] as { transactionId: number; idTagInfo: { status: string } };
  assert.equal(answer.idTagInfo.status, 'Accepted');
  return answer.transactionId;
}

async function meter(st: TestStation, connectorId: number, transactionId: number, at: number, wh: number, w: number): Promise<void> {
  const sampledValue = [
    { value: String(wh), context: 'Sample.Periodic', measurand: 'Energy.Active.Import.Register', unit: 'Wh' },
    { value: String(w), context: 'Sample.Periodic', measurand: 'Power.Active.Import', unit: 'W' },
  ];
  await st.call('MeterValues', { connectorId, transactionId, meterValue: [{ timestamp: iso(at), sampledValue }] });
}

/** The rows of a virtual table (its aria-rowcount less the header row). */
async function rowCount(page: Page, label: string): Promise<number> {
  return Number(await page.getByRole('table', { name: label }).getAttribute('aria-rowcount')) - 1;
}
async function waitRows(page: Page, label: string, n: number): Promise<void> {
  await page.waitForFunction(([l, c]) => document.querySelector(`[role="table"][aria-label="${l}"]`)?.getAttribute('aria-rowcount') === String(c), [label, n + 1] as const, { timeout: 10_000 });
}

/** A datetime-local input value (local time, minutes) as the browser on this machine shows it. */
function localInput(ms: number): string {
  const d = new Date(ms);
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}

test('transactions, a transaction with its chart, and the station page with the store (SQLite)', { skip, timeout: TIMEOUT * 3 }, async (t) => {
  const h = await startTestServer();
  t.after(() => h.stop());
  const base = `http://127.0.0.1:${h.port}`;
  const now = Date.now();
  const DAY = 86_400_000;
  const TX = 'Transactions, newest first';

  // 205 finished transactions two days ago on five stations (more than one page of 200), id tags TAG-0 … TAG-4.
  const bulk = await Promise.all([1, 2, 3, 4, 5].map((n) => chargePoint(h, `BULK-${n}`)));
  t.after(() => Promise.all(bulk.map((b) => b.close())));
  await Promise.all(
    bulk.map(async (st, s) => {
      for (let i = 0; i < 41; i++) {
        const at = now - 2 * DAY + (s * 41 + i) * 60_000;
        const id = await startTx(st, 1, `TAG-${i % 5}`, i * 100, at);
        await st.call('StopTransaction', { transactionId: id, meterStop: i * 100 + 50, timestamp: iso(at + 30_000), reason: 'Local' });
      }
    }),
  );
  // TXA: one finished transaction with six meter values (7.2 kWh), then one running on connector 2.
  const txa = await chargePoint(h, 'TXA', 2);
  t.after(() => txa.close());
  const t0 = now - 20 * 60_000;
  const done = await startTx(txa, 1, 'TAG-CHART', 1000, t0);
  for (let k = 1; k <= 6; k++) await meter(txa, 1, done, t0 + k * 150_000, 1000 + k * 1200, 7000 + k * 100);
  await txa.call('StopTransaction', { transactionId: done, meterStop: 8200, timestamp: iso(t0 + 19 * 60_000), reason: 'EVDisconnected' });
  const running = await startTx(txa, 2, 'TAG-OPEN', 50_000, now - 5 * 60_000);
  await txa.call('StatusNotification', { connectorId: 2, errorCode: 'NoError', status: 'Charging', timestamp: iso(now) });
  await meter(txa, 2, running, now - 4 * 60_000, 51_500, 11_000);

  await t.test('the transactions page lists them newest first, pages with "more", filters kept in the hash, CSV', async () => {
    const { page, errors } = await newPage();
    await page.goto(`${base}/`);
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Transactions' }).click();
    await page.waitForURL(/#\/transactions$/);
    await waitRows(page, TX, 200);
    const first = page.locator('.vt-row:not([hidden])').first();
    assert.match((await first.textContent()) ?? '', /TXA.*TAG-OPEN.*open/);
    assert.equal(await page.locator('[data-nav="transactions"]').getAttribute('aria-current'), 'page');
    await page.getByRole('button', { name: 'Load 200 more' }).click();
    await waitRows(page, TX, 207);
    await page.getByText('All 207 matching transactions are shown.').waitFor();
    assert.equal(await page.getByRole('button', { name: 'Load 200 more' }).isVisible(), false);
    await shot(page, 'transactions.png');

    // Station and state filters go to the hash and survive a reload.
    await page.getByLabel('Station', { exact: true }).fill('TXA');
    await page.getByLabel('Station', { exact: true }).press('Enter');
    await waitRows(page, TX, 2);
    await page.getByLabel('State').selectOption('true');
    await waitRows(page, TX, 1);
    assert.match(await page.evaluate(() => location.hash), /^#\/transactions\?identity=TXA&open=true$/);
    await page.reload();
    await waitRows(page, TX, 1);
    assert.equal(await page.getByLabel('Station', { exact: true }).inputValue(), 'TXA');
    assert.equal(await page.getByLabel('State').inputValue(), 'true');
    assert.match((await page.locator('.vt-row:not([hidden])').first().textContent()) ?? '', /TAG-OPEN/);

    // Id tag (exact), then the time range: the last 24 h, or started before yesterday.
    await page.getByRole('button', { name: 'Clear filters' }).click();
    await waitRows(page, TX, 200);
    await page.getByLabel('Id tag').fill('TAG-1');
    await page.getByLabel('Id tag').press('Enter');
    await waitRows(page, TX, 40);
    await page.getByRole('button', { name: 'Clear filters' }).click();
    await page.getByRole('button', { name: 'Last 24 h' }).click();
    await waitRows(page, TX, 2);
    assert.match(await page.evaluate(() => location.hash), /^#\/transactions\?from=\d{4}-\d\d-\d\dT[\d:.]+Z$/);
    await page.getByRole('button', { name: 'Any time' }).click();
    await page.getByLabel('Started before').fill(localInput(now - DAY));
    await waitRows(page, TX, 200);
    await page.getByRole('button', { name: 'Load 200 more' }).click();
    await waitRows(page, TX, 205);
    assert.equal(await page.locator('.vt-row:not([hidden])', { hasText: 'TXA' }).count(), 0);

    // The CSV is the server's export of what the filters select (every match, not only the loaded pages).
    await page.getByRole('button', { name: 'Clear filters' }).click();
    await page.getByLabel('Station', { exact: true }).fill('TXA');
    await page.getByLabel('Station', { exact: true }).press('Enter');
    await waitRows(page, TX, 2);
    assert.equal(await page.getByRole('link', { name: 'Export CSV' }).getAttribute('href'), '/api/v1/transactions?identity=TXA&format=csv');
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'Export CSV' }).click()]);
    const lines = readFileSync((await download.path())!, 'utf8').trim().split('\r\n');
    assert.equal(lines[0], 'id,identity,transactionId,connector,idTag,startedAt,stoppedAt,meterStart,meterStop,energyWh,powerW,stopReason,open');
    assert.equal(lines.length, 3);
    assert.ok(lines.some((l) => l.includes(',TXA,') && l.includes(',TAG-CHART,') && l.includes(',1000,8200,7200,,EVDisconnected,false')), lines.join('\n'));
    assert.deepEqual(errors, []);
    await page.close();
  });

  await t.test('a transaction shows its fields, a chart of energy and power, and its meter values', async () => {
    const { page, errors } = await newPage();
    await page.goto(`${base}/#/transactions?identity=TXA`);
    await waitRows(page, TX, 2);
    await page.locator('.vt-row:not([hidden])', { hasText: 'EVDisconnected' }).click();
    await page.waitForURL(/#\/transactions\/\d+$/);
    await page.locator('h1', { hasText: 'finished' }).waitFor();
    assert.equal(await page.locator('dd[data-k="Energy"]').textContent(), '7.2 kWh');
    assert.equal(await page.locator('dd[data-k="Id tag"]').textContent(), 'TAG-CHART');
    assert.equal(await page.locator('dd[data-k="Stop reason"]').textContent(), 'EVDisconnected');
    assert.equal(await page.locator('dd[data-k="Duration"]').textContent(), '19 min 00 s');
    // The chart: energy from the start reading (start, six samples, stop) and six power samples, drawn.
    const energy = page.locator('svg.tc [data-series="energy charged"]');
    const power = page.locator('svg.tc [data-series="power"]');
    await energy.locator('polyline').waitFor();
    assert.equal(((await energy.locator('polyline').getAttribute('points')) ?? '').trim().split(/\s+/).length, 8);
    assert.equal(await energy.locator('circle').count(), 8);
    assert.equal(((await power.locator('polyline').getAttribute('points')) ?? '').trim().split(/\s+/).length, 6);
    assert.equal(await power.locator('circle').count(), 6);
    assert.match((await page.locator('svg.tc').getAttribute('aria-label')) ?? '', /energy charged: 8 samples, last 7\.2 kWh; power: 6 samples, last 7\.6 kW/);
    // Pointing at the chart reads the values at the nearest sample.
    const box = (await page.locator('svg.tc').boundingBox())!;
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    await page.locator('.tc-readout', { hasText: /energy charged .* · power / }).waitFor();
    // The meter values: twelve rows, a measurand filter, the server's CSV.
    await waitRows(page, 'Meter values, oldest first', 12);
    await page.getByLabel('Measurand').selectOption('Power.Active.Import');
    await waitRows(page, 'Meter values, oldest first', 6);
    assert.equal(await page.locator('.vt-row:visible').count(), 6);
    assert.equal(await page.locator('.vt-row:not([hidden])').first().locator('[data-key="value"]').textContent(), '7,100');
    await shot(page, 'transaction.png');
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'Export CSV' }).click()]);
    const lines = readFileSync((await download.path())!, 'utf8').trim().split('\r\n');
    assert.equal(lines[0], 'ts,measurand,phase,unit,context,location,value,text');
    assert.equal(lines.length, 13);
    // Back to the list with its filters.
    await page.getByRole('link', { name: '← Transactions' }).click();
    await page.waitForURL(/#\/transactions\?identity=TXA$/);
    await waitRows(page, TX, 2);

    // The running transaction follows the station's meter values live.
    await page.goto(`${base}/#/transactions/${await runningId(h, 'TXA')}`);
    await page.locator('h1', { hasText: 'open' }).waitFor();
    assert.equal(await page.locator('dd[data-k="Energy so far"]').textContent(), '1.5 kWh');
    assert.match((await page.locator('dd[data-k="Power now"]').textContent()) ?? '', /^11 kW/);
    await page.locator('span[role="status"]', { hasText: /^live$/ }).waitFor();
    await meter(txa, 2, running, Date.now(), 52_500, 10_000);
    await page.locator('dd[data-k="Energy so far"]', { hasText: '2.5 kWh' }).waitFor({ timeout: 10_000 });
    assert.deepEqual(errors, []);
    await page.close();
  });

  await t.test('the station page: open transaction, stored messages, labelled answers, offline connectors', async () => {
    const { page, errors } = await newPage();
    await page.goto(`${base}/#/station/TXA`);
    const open = page.locator('table.open-tx tbody tr');
    await open.waitFor();
    assert.equal(await open.count(), 1);
    const row = (await open.textContent()) ?? '';
    assert.match(row, /TAG-OPEN/);
    assert.match(row, /2\.5 kWh/);
    assert.equal(await open.locator('a').getAttribute('href'), `#/transactions/${await runningId(h, 'TXA')}`);
    assert.equal(await page.getByRole('link', { name: 'All transactions of this station' }).getAttribute('href'), '#/transactions?identity=TXA');
    // The flexibility panel (www/ui/flexibility.js) says the service is off and offers no registration.
    await page.locator('#flexibility', { hasText: 'Flexibility prequalification is off' }).waitFor();
    assert.equal(await page.getByRole('button', { name: 'Register as asset' }).isVisible(), false);
    // Recent messages come from the store at once (nothing was sent since the page opened).
    await page.locator('tr[data-source="store"][data-action="StopTransaction"][data-type="CALL"]').waitFor();
    // MeterValues are not journaled by default (store.journalExcept): their samples are on the transaction's page.
    assert.equal(await page.locator('tr[data-source="store"][data-action="MeterValues"]').count(), 0);
    assert.ok((await page.locator('tr[data-source="store"][data-action="StartTransaction"][data-type="CALLRESULT"]').count()) >= 2);
    assert.equal(await page.locator('tr[data-source="store"][data-action="Heartbeat"]').count(), 0);

    // A command's answer is labelled as the station's; a CALLERROR too.
    const form = page.getByRole('form', { name: 'RemoteStartTransaction command' });
    await form.locator('[data-path="/connectorId"]').fill('1');
    await form.locator('[data-path="/idTag"]').fill('TAG-CMD');
    await form.getByRole('button', { name: 'Send RemoteStartTransaction' }).click();
    await form.locator('.status-line', { hasText: 'HTTP 200' }).waitFor();
    assert.equal(await form.locator('section.request h4').textContent(), 'Request · RemoteStartTransaction');
    assert.equal(await form.locator('section.answer h4').textContent(), "Station's answer");
    assert.deepEqual(JSON.parse((await form.locator('section.answer pre.response').textContent()) ?? ''), { status: 'Accepted' });
    // The live log adds the command on top of the stored messages.
    await page.locator('tr[data-source="live"][data-action="RemoteStartTransaction"][data-type="CALL"]').waitFor();
    txa.onCall = (_action, _payload, id) => {
      txa.ws.send(JSON.stringify([4, id, 'NotSupported', 'not on this station', {}]));
      return null;
    };
    await form.getByRole('button', { name: 'Send RemoteStartTransaction' }).click();
    await form.locator('.status-line', { hasText: 'HTTP 502' }).waitFor();
    assert.equal(await form.locator('section.answer h4').textContent(), "Station's answer: CALLERROR NotSupported");
    assert.equal(await form.locator('section.answer p').textContent(), '"not on this station"');
    await shot(page, 'station-store.png');

    // Offline: the connectors are unknown (the last report only as a hint); the open transaction stays.
    assert.equal(await page.locator('tr[data-connector="2"] .badge').textContent(), 'Charging');
    await txa.close();
    await waitFor(() => h.server.station('TXA')?.connected === false, 5000, 'TXA offline');
    await page.locator('tr[data-connector="2"] .badge', { hasText: 'Unknown (offline)' }).waitFor({ timeout: 10_000 });
    assert.equal(await page.locator('tr[data-connector="2"] .last-status').textContent(), ' last reported Charging');
    assert.equal(await page.locator('tr[data-connector="1"] .badge').textContent(), 'Unknown (offline)');
    await page.getByText('The station is offline: its transactions stay open').waitFor();
    await shot(page, 'station-offline.png');

    // An identity the router does not know: only that.
    await page.goto(`${base}/#/station/NO-SUCH-STATION`);
    await page.getByRole('heading', { name: 'Unknown station', exact: true }).waitFor();
    assert.equal(await page.locator('h1 .badge').textContent(), 'unknown station');
    for (const name of ['Connection', 'Connectors', 'Transactions', 'Recent messages']) assert.equal(await page.getByRole('heading', { name, exact: true }).isVisible(), false, name);
    assert.equal(await page.locator('nav.ops').count(), 0);
    await shot(page, 'station-unknown.png');
    assert.deepEqual(errors, []);
    await page.close();
  });
});

/** The store id of a station's running transaction (as the API lists it). */
async function runningId(h: TestServer, identity: string): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${h.port}/api/v1/transactions?identity=${encodeURIComponent(identity)}&open=true`);
  const body = (await res.json()) as { items: Array<{ id: number }> };
  assert.equal(body.items.length, 1);
  return body.items[0]!.id;
}

test('with the store off, the transactions page and the station page say so', { skip, timeout: TIMEOUT }, async (t) => {
  const h = await startTestServer({ store: { engine: 'off' } });
  t.after(() => h.stop());
  const st = await chargePoint(h, 'NOSTORE-1');
  t.after(() => st.close());
  const { page, errors } = await newPage();
  await page.goto(`http://127.0.0.1:${h.port}/#/transactions`);
  await page.getByRole('heading', { name: 'The store is off' }).waitFor();
  assert.equal(await page.getByRole('table', { name: 'Transactions, newest first' }).isVisible(), false);
  await shot(page, 'transactions-store-off.png', false);
  await page.goto(`http://127.0.0.1:${h.port}/#/station/NOSTORE-1`);
  await page.getByText('The store is off (store.engine: "off"): the router keeps no transactions.').waitFor();
  await page.getByText('The store is off: only the messages from now on are shown (live).').waitFor();
  // The live part still works.
  await page.locator('span[role="status"]', { hasText: /^live$/ }).waitFor();
  await st.call('Heartbeat', {});
  await page.locator('tr[data-source="live"][data-action="Heartbeat"]').first().waitFor();
  await page.goto(`http://127.0.0.1:${h.port}/#/transactions/1`);
  await page.getByText('The store is off (store.engine: "off"): the router keeps no transactions.').waitFor();
  assert.deepEqual(errors, []);
  await page.close();
});
