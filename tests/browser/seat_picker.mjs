#!/usr/bin/env node
// Browser check of the seat picker page against two nodes of one cluster.
//
//   node tests/browser/seat_picker.mjs --base http://127.0.0.1:6000 --other http://127.0.0.1:6001 \
//        --showtime 1 --screenshot /tmp/seat-picker.png
//
// A (phone viewport, on --base) holds and confirms two seats; B (on --other, opened first and
// never reloaded) must see them turn booked live; then a seat B selected is booked behind its
// back through the API and B must show the seat-taken problem (or the "selection dropped" notice).
// Prints one line per step; exits 0 on success, 1 on failure (with a -failure.png screenshot).
// Env: CHROMIUM (default /usr/bin/chromium).

import { chromium } from 'playwright-core';
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';

const WAIT_MS = 15_000;     // deadline of every single wait
const LIVE_MS = 10_000;     // deadline for a live update to reach the other node's page
const TOTAL_MS = 60_000;    // deadline of the whole script

const { values: opts } = parseArgs({
  options: {
    base: { type: 'string' },
    other: { type: 'string' },
    showtime: { type: 'string' },
    screenshot: { type: 'string', default: 'seat-picker.png' },
  },
});
for (const name of ['base', 'other', 'showtime']) {
  if (!opts[name]) {
    console.error(`missing --${name}\nusage: node seat_picker.mjs --base URL --other URL --showtime ID --screenshot PATH`);
    process.exit(2);
  }
}
const base = opts.base.replace(/\/+$/, '');
const other = opts.other.replace(/\/+$/, '');
const showtime = opts.showtime;
const failurePath = opts.screenshot.replace(/(\.png)?$/i, '-failure.png');

const started = Date.now();
const step = (msg) => console.log(`[${((Date.now() - started) / 1000).toFixed(1)}s] ${msg}`);
const seat = (page, name) => page.getByTestId(`seat-${name}`);

let browser;
let pageA;
let pageB;
let lastPage; // the page opened last: the default subject of a failure screenshot

/** Fails the run; saves a screenshot of the page most likely to explain why. */
async function fail(reason, page = lastPage) {
  console.error(`FAIL: ${reason}`);
  try {
    if (page) {
      await page.screenshot({ path: failurePath, fullPage: true, timeout: 5000 });
      console.error(`failure screenshot: ${failurePath}`);
    }
  } catch (err) {
    console.error(`(no failure screenshot: ${err.message})`);
  }
  await browser?.close().catch(() => {});
  process.exit(1);
}

const watchdog = setTimeout(() => fail(`the whole run took over ${TOTAL_MS / 1000} s`), TOTAL_MS);

/** Opens a fresh context + page, logging the page's console errors and failed loads. */
async function openPage(label, url, viewport) {
  const context = await browser.newContext({ viewport });
  context.setDefaultTimeout(WAIT_MS);
  const page = await context.newPage();
  lastPage = page;
  page.on('console', (m) => { if (m.type() === 'error') console.log(`  [${label} console] ${m.text()}`); });
  page.on('pageerror', (e) => console.log(`  [${label} page error] ${e.message}`));
  await page.goto(url, { waitUntil: 'domcontentloaded' });
  // Either the seat map fills or the page shows an error (then fail fast with its text).
  const shown = await page.waitForFunction(() => {
    if (document.querySelector('[data-testid="seat-map"] [data-testid^="seat-"]')) return 'seats';
    const error = document.querySelector('[data-testid="error"]');
    return error && !error.hidden ? `error: ${error.querySelector('.alert-text')?.textContent ?? error.textContent}` : false;
  }, null, { timeout: WAIT_MS });
  const what = await shown.jsonValue();
  if (what !== 'seats') throw new Error(`${label}: ${url} shows no seat map (${what})`);
  return page;
}

/** Waits until the page's live-status says "live" (the EventSource is open). */
async function waitLive(page) {
  await page.waitForFunction(
    () => document.querySelector('[data-testid="live-status"]')?.textContent.trim() === 'live',
    null, { timeout: WAIT_MS });
}

/** The names of the free seats of a page, in map order. */
async function freeSeats(page) {
  return page.locator('[data-testid="seat-map"] [data-state="free"]').evaluateAll(
    (els) => els.map((e) => e.dataset.testid.replace(/^seat-/, '')));
}

async function main() {
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    timeout: WAIT_MS,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  step(`chromium ${browser.version()} launched`);

  // B first: it must stay open (never reloaded) while A books.
  pageB = await openPage('B', `${other}/#showtime=${showtime}`, { width: 1280, height: 900 });
  await waitLive(pageB);
  step(`B opened ${other}/#showtime=${showtime}; seat map shown, live`);

  pageA = await openPage('A', `${base}/#showtime=${showtime}`, { width: 390, height: 844 });
  await waitLive(pageA);
  step(`A opened ${base}/#showtime=${showtime} at 390x844; seat map shown, live`);

  await pageA.getByTestId('user-name').fill('alice');
  const [s1, s2] = await freeSeats(pageA);
  if (!s2) return fail('fewer than two free seats in the showtime');
  await seat(pageA, s1).click();
  await seat(pageA, s2).click();
  for (const s of [s1, s2]) {
    if (await seat(pageA, s).getAttribute('data-state') !== 'selected') return fail(`A: seat ${s} not selected after click`);
  }
  step(`A: user alice selected ${s1}, ${s2}`);

  await pageA.getByTestId('hold-button').click();
  await pageA.getByTestId('hold-panel').waitFor({ state: 'visible' });
  await pageA.waitForFunction(
    () => /\d+:\d\d/.test(document.querySelector('[data-testid="countdown"]')?.textContent ?? ''),
    null, { timeout: WAIT_MS });
  step(`A: hold shown, countdown ${await pageA.getByTestId('countdown').textContent()}`);

  await pageA.getByTestId('confirm-button').click();
  const bookingPanel = pageA.getByTestId('booking-panel');
  await bookingPanel.waitFor({ state: 'visible' });
  await pageA.waitForFunction(([a, b]) => {
    const text = document.querySelector('[data-testid="booking-panel"]')?.textContent ?? '';
    return text.includes(a) && text.includes(b);
  }, [s1, s2], { timeout: WAIT_MS });
  step(`A: booking panel shows ${s1}, ${s2}: ${(await bookingPanel.innerText()).replace(/\s+/g, ' ').trim()}`);

  // B sees the booking live, without a reload.
  await pageB.waitForFunction(([a, b]) => [a, b].every(
    (s) => document.querySelector(`[data-testid="seat-${s}"]`)?.dataset.state === 'booked'),
  [s1, s2], { timeout: LIVE_MS }).catch(() => fail(`B did not show ${s1}, ${s2} as booked within ${LIVE_MS / 1000} s`, pageB));
  step(`B: ${s1}, ${s2} turned booked live`);

  // B selects a free seat; someone books it through the API; B tries to hold it.
  const [target] = await freeSeats(pageB);
  if (!target) return fail('no free seat left for the conflict step', pageB);
  await seat(pageB, target).click();
  step(`B: selected ${target}`);
  const res = await fetch(`${base}/api/showtimes/${showtime}/bookings`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'idempotency-key': randomUUID() },
    body: JSON.stringify({ seats: [target], user: 'alice' }),
    signal: AbortSignal.timeout(WAIT_MS),
  });
  if (res.status !== 201) return fail(`API booking of ${target} answered ${res.status}: ${await res.text()}`);
  step(`API: alice booked ${target} directly (201)`);

  const holdB = pageB.getByTestId('hold-button');
  if (await holdB.isEnabled()) {
    await holdB.click({ timeout: 2000 }).catch(() => {}); // the live update may disable it meanwhile
  }
  const outcome = await pageB.waitForFunction(() => {
    const visible = (e) => e && !e.hidden && e.offsetParent !== null;
    const error = document.querySelector('[data-testid="error"]');
    if (visible(error) && (/seat-taken$/.test(error.dataset.problem ?? '') || /taken/i.test(error.textContent))) {
      return `error: ${(error.querySelector('.alert-text') ?? error).textContent.trim()}`;
    }
    const notice = document.querySelector('[data-testid="notice"]');
    if (visible(notice) && /taken/i.test(notice.textContent)) return `notice: ${notice.textContent.trim()}`;
    return false;
  }, null, { timeout: WAIT_MS }).catch(() => fail(`B showed neither the seat-taken error nor the dropped-selection notice for ${target}`, pageB));
  step(`B: conflict on ${target} shown (${(await outcome.jsonValue()).replace(/\s+/g, ' ')})`);
  if (await seat(pageB, target).getAttribute('data-state') === 'selected') {
    return fail(`B still shows ${target} as selected`, pageB);
  }

  await pageA.screenshot({ path: opts.screenshot, fullPage: true });
  step(`A: screenshot saved to ${opts.screenshot}`);

  await browser.close();
  clearTimeout(watchdog);
  step('PASS');
}

main().catch((err) => fail(err?.message?.split('\n')[0] ?? String(err)));
