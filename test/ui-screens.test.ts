/**
 * What the operator's screens show, in the real headless Chromium of test/ui.test.ts against a two-shard router
 * with emulated stations: a screenshot of every screen at 1400×900 (test-output/screens/, not committed) and of
 * the station page scrolled; the sticky header never covers a heading scrolled to (bounding boxes); one date
 * format on every page (ISO 8601 `YYYY-MM-DD HH:mm:ss`); the fleet chart's "in" and "out" lines stay
 * distinguishable when equal (one dashed, with a dashed legend swatch); the search placeholder fits its field;
 * checkboxes sit on the line of their labels; Swagger UI renders the operations soon after load; and axe-core
 * (WCAG 2 A/AA: labels, contrast, names, keyboard focusability) finds nothing on any screen, plus a keyboard
 * walk (skip link first, focus moves into main).
 * Without chromium: fails in CI (CI=true), skipped outside CI saying what to install; CHROMIUM_PATH overrides.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { startTestServer, waitFor } from './helpers/server.js';
import { toolMissing } from './helpers/tools.js';
import { startFleet, templateStations } from '../src/emulator/index.js';
import { packageRoot } from '../src/config/load.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const skip = toolMissing(CHROMIUM, 'the Debian package chromium (apt-get install chromium; .ci/run does), or set CHROMIUM_PATH', 'the web UI screen tests') ?? false;
const SHOTS = join(packageRoot(), 'test-output', 'screens');
const AXE = createRequire(import.meta.url).resolve('axe-core/axe.min.js');
const ISO = /\b\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\b/;
const US_DATE = /\b\d{1,2}\/\d{1,2}\/\d{2,4}\b/;

/**
 * axe-core over the page: WCAG 2.0/2.1 A and AA rules (labels, names, contrast, ARIA, focusable controls).
 * No rule is disabled.
 */
async function axe(page: Page, what: string): Promise<void> {
  if ((await page.evaluate('typeof window.axe')) === 'undefined') await page.addScriptTag({ path: AXE });
  const result = (await page.evaluate(`axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] }, resultTypes: ['violations'] })`)) as { violations: { id: string; help: string; nodes: { target: string[]; failureSummary: string }[] }[] };
  const found = result.violations.map((v) => `${v.id} (${v.help}): ${v.nodes.slice(0, 3).map((n) => `${n.target.join(' ')}: ${n.failureSummary.replace(/\s+/g, ' ')}`).join(' | ')}`);
  assert.deepEqual(found, [], `axe-core on ${what}`);
}

/** No US dates; when `expectIso`, at least one ISO 8601 date-time is shown. */
async function oneDateFormat(page: Page, what: string, expectIso: boolean): Promise<void> {
  const text = (await page.evaluate('document.querySelector("main").innerText')) as string;
  assert.doesNotMatch(text, US_DATE, `${what}: a US date`);
  if (expectIso) assert.match(text, ISO, `${what}: dates as YYYY-MM-DD HH:mm:ss`);
}

/** The vertical centre of a checkbox is on its label's text line (within 3 px). */
async function checkboxInLine(page: Page, checkbox: string, what: string): Promise<void> {
  const [box, text] = (await page.evaluate(`(() => {
    const cb = document.querySelector(${JSON.stringify(checkbox)});
    const owner = cb.closest('label, legend');
    const node = [...owner.childNodes].find((n) => n.nodeType === 3 && n.textContent.trim() !== '') ?? [...owner.childNodes].find((n) => n !== cb);
    const range = document.createRange();
    range.selectNodeContents(node);
    const a = cb.getBoundingClientRect();
    const b = range.getBoundingClientRect();
    return [[a.top, a.bottom], [b.top, b.bottom]];
  })()`)) as [[number, number], [number, number]];
  const centre = (r: [number, number]): number => (r[0] + r[1]) / 2;
  assert.ok(Math.abs(centre(box) - centre(text)) <= 3, `${what}: checkbox centre ${centre(box)} vs its label's text ${centre(text)}`);
  assert.ok(box[1] - box[0] <= 20, `${what}: a checkbox ${box[1] - box[0]} px tall`);
}

test('every screen: screenshots at 1400×900, one date format, readable charts and forms, axe-core clean, keyboard', { skip, timeout: 180_000 }, async (t) => {
  mkdirSync(SHOTS, { recursive: true });
  const h = await startTestServer({ server: { workers: 2 } });
  t.after(() => h.stop());
  const fleet = await startFleet({ stations: templateStations({ stations: 8, prefix: 'SCR-', url: `ws://127.0.0.1:${h.port}/ocpp`, version: 'ocpp1.6', connectors: 2 }), threads: 0 });
  t.after(() => fleet.stop());
  const base = `http://127.0.0.1:${h.port}`;
  await waitFor(() => h.server.stations().filter((s) => s.connected && s.boot?.status === 'Accepted').length === 8, 20_000, '8 stations booted');
  // A transaction for the transaction pages.
  const started = await fetch(`${base}/api/v1/ChargePoint/SCR-1/RemoteStartTransaction`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ connectorId: 1, idTag: '04A2B3C4' }) });
  assert.equal(started.status, 200);
  const txId = await waitFor(async () => ((await (await fetch(`${base}/api/v1/transactions?identity=SCR-1`)).json()) as { items: { id: number }[] }).items[0]?.id, 15_000, 'the transaction stored');

  const profile = await mkdtemp(join(tmpdir(), 'ocpp-router-screens-'));
  t.after(() => rm(profile, { recursive: true, force: true }));
  const context: BrowserContext = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1400, height: 900 },
    locale: 'en-US',
    timezoneId: 'America/New_York',
    // The router's Content-Security-Policy (default-src 'self') would refuse the injected axe-core script.
    bypassCSP: true,
  });
  t.after(() => context.close());
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));

  await t.test('fleet: in/out lines distinguishable, placeholder fits, identity order, ISO dates', async () => {
    await page.goto(`${base}/#/`);
    await page.locator('.vt-row:not([hidden])', { hasText: 'SCR-8' }).waitFor();
    // The message-rate chart: "out" is dashed (drawn over the solid "in"), its legend swatch says so.
    const swatches = (await page.evaluate(`[...document.querySelectorAll('.legend span')].filter((s) => /^(in|out) /.test(s.textContent)).map((s) => [s.textContent.split(' ')[0], s.classList.contains('dashed'), getComputedStyle(s, '::before').borderTopStyle])`)) as [string, boolean, string][];
    assert.deepEqual(swatches, [['in', false, 'none'], ['out', true, 'dashed']]);
    // The search placeholder is not cut off: its text fits the field's content box.
    const fit = (await page.evaluate(`(() => {
      const input = document.querySelector('#f-q');
      const style = getComputedStyle(input);
      const ctx = document.createElement('canvas').getContext('2d');
      ctx.font = style.font;
      const inner = input.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight) - 24; // the search field's clear button
      return [ctx.measureText(input.placeholder).width, inner];
    })()`)) as [number, number];
    assert.ok(fit[0] <= fit[1], `placeholder ${fit[0]} px in a ${fit[1]} px field`);
    // Identity order by default.
    const ids = await page.locator('.vt-row:not([hidden]) a').allTextContents();
    assert.deepEqual(ids, [...ids].sort());
    await oneDateFormat(page, 'fleet', false);
    // The charts have data before the screenshot (the metrics are read every few seconds).
    await page.waitForFunction(`[...document.querySelectorAll('.legend span')].some((s) => /^in /.test(s.textContent) && !s.textContent.includes('—'))`, null, { timeout: 15_000 });
    assert.match((await page.locator('main').innerText()), /updated \d{2}:\d{2}:\d{2}/);
    await page.screenshot({ path: join(SHOTS, 'fleet.png') });
    await axe(page, 'the fleet page');
  });

  await t.test('station: ISO dates, checkboxes in line, the sticky header never covers a heading scrolled to', async () => {
    await page.goto(`${base}/#/station/SCR-1`);
    await page.locator('h1', { hasText: 'SCR-1' }).waitFor();
    await page.locator('dd', { hasText: 'ocpp-router' }).first().waitFor();
    await page.getByRole('form', { name: 'RemoteStartTransaction command' }).waitFor();
    await oneDateFormat(page, 'station', true);
    await page.screenshot({ path: join(SHOTS, 'station.png') });
    // The optional object chargingProfile has a switch in its legend; "Edit as JSON" is a labelled checkbox.
    await checkboxInLine(page, 'form.command-form legend.check input[type=checkbox]', 'optional-object switch');
    await checkboxInLine(page, '#json-mode', 'Edit as JSON');
    await axe(page, 'the station page');
    // Scrolled: to the bottom, then every h1/h2 scrolled into view sits below the sticky header.
    await page.evaluate('window.scrollTo(0, document.body.scrollHeight)');
    await page.screenshot({ path: join(SHOTS, 'station-scrolled.png') });
    const covered = (await page.evaluate(`(() => {
      const header = document.querySelector('header.top').getBoundingClientRect();
      const out = [];
      for (const heading of document.querySelectorAll('main h1, main h2')) {
        heading.scrollIntoView();
        const r = heading.getBoundingClientRect();
        if (r.top < header.bottom) out.push(heading.textContent + ': top ' + r.top + ' < header bottom ' + header.bottom);
      }
      return out;
    })()`)) as string[];
    assert.deepEqual(covered, []);
    const title = (await page.evaluate(`(() => { const h = document.querySelector('main h1'); h.scrollIntoView(); return [h.getBoundingClientRect().top, document.querySelector('header.top').getBoundingClientRect().bottom, window.scrollY]; })()`)) as [number, number, number];
    assert.ok(title[0] >= title[1], `title top ${title[0]} below the header ${title[1]}`);
    // The station page scrolled to its title (as a link to it does): a screenshot of what the operator sees.
    await page.evaluate(`document.querySelector('main h2:last-of-type')?.scrollIntoView()`);
    await page.screenshot({ path: join(SHOTS, 'station-scrolled-heading.png') });
  });

  await t.test('transactions and a transaction: ISO dates', async () => {
    await page.goto(`${base}/#/transactions`);
    await page.locator('.vt-row:not([hidden])', { hasText: 'SCR-1' }).first().waitFor();
    // Today's times as HH:mm:ss, older ones as YYYY-MM-DD HH:mm (24-hour, never a US date).
    await oneDateFormat(page, 'transactions', false);
    assert.match(await page.locator('.vt-row:not([hidden])').first().innerText(), /\b\d{2}:\d{2}:\d{2}\b/);
    await page.screenshot({ path: join(SHOTS, 'transactions.png') });
    await axe(page, 'the transactions page');
    await page.goto(`${base}/#/transactions/${txId}`);
    await page.locator('h1', { hasText: String(txId) }).waitFor();
    await page.locator('dd', { hasText: '04A2B3C4' }).first().waitFor();
    await oneDateFormat(page, 'transaction', true);
    await page.screenshot({ path: join(SHOTS, 'transaction.png') });
    await axe(page, 'the transaction page');
  });

  await t.test('live log', async () => {
    await page.goto(`${base}/#/log`);
    await page.locator('#log-state', { hasText: /^connected$/ }).waitFor();
    await fetch(`${base}/api/v1/ChargePoint/SCR-2/TriggerMessage`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ requestedMessage: 'Heartbeat' }) });
    await page.locator('.vt-row:not([hidden])', { hasText: 'TriggerMessage' }).first().waitFor();
    await oneDateFormat(page, 'live log', false);
    await page.screenshot({ path: join(SHOTS, 'log.png') });
    await axe(page, 'the live log');
  });

  await t.test('keyboard: the skip link comes first and moves focus into main', async () => {
    await page.goto(`${base}/#/`);
    await page.locator('.vt-row:not([hidden])', { hasText: 'SCR-8' }).waitFor();
    // Start the Tab order at the top of the document.
    await page.evaluate(`document.body.tabIndex = -1; document.body.focus(); document.body.removeAttribute('tabindex')`);
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate('document.activeElement.textContent'), 'Skip to content');
    await page.keyboard.press('Enter');
    await waitFor(async () => (await page.evaluate('document.activeElement.id')) === 'main', 2000, 'focus in main');
    // Every control reached by Tab shows a focus outline.
    for (let i = 0; i < 6; i++) {
      await page.keyboard.press('Tab');
      const outline = (await page.evaluate(`getComputedStyle(document.activeElement).outlineStyle + ' ' + document.activeElement.tagName`)) as string;
      assert.doesNotMatch(outline, /^none /, `focus visible on Tab ${i + 1}: ${outline}`);
    }
  });

  await t.test('Swagger UI: the operations are on screen within 1.5 s of the load event, no "Loading"', async () => {
    const docs = await context.newPage();
    await docs.goto(`${base}/docs/`, { waitUntil: 'load' });
    const loaded = Date.now();
    await docs.locator('.opblock').first().waitFor({ timeout: 10_000 });
    const after = Date.now() - loaded;
    assert.ok(after <= 1500, `operations shown ${after} ms after load`);
    assert.equal(await docs.locator('.loading-container').count(), 0);
    await docs.screenshot({ path: join(SHOTS, 'docs.png') });
    // The bundle went compressed (1.7 MB as it is).
    const bundle = await fetch(`${base}/docs/swagger-ui-bundle.js`, { headers: { 'Accept-Encoding': 'gzip' } });
    assert.equal(bundle.headers.get('content-encoding'), 'gzip');
    assert.ok((await bundle.arrayBuffer()).byteLength > 1_000_000, 'decoded by fetch');
    await docs.close();
  });

  assert.deepEqual(errors, []);
});
