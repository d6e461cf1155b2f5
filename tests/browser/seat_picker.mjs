#!/usr/bin/env node
// Browser check of the seat picker page against two nodes of one cluster.
//
//   node tests/browser/seat_picker.mjs --base http://localhost:8001 --other http://localhost:8002 \
//        --showtime 1 --screenshot /tmp/seat-picker.png
//
// A (phone viewport, on --base) holds and confirms two seats; B (on --other, opened first and
// never reloaded) must see them turn booked live; then a seat B selected is booked behind its
// back through the API and B must show the seat-taken problem (or the "selection dropped" notice).
// Then A reloads: "My bookings" must still show the booking, read again with the booking token
// the page stored (API 1.1: the token is the only way a customer reads or cancels a booking);
// A cancels it from that list, and B and both nodes' API must show the two seats free again.
// Prints one line per step; exits 0 on success, 1 on failure (with a -failure.png screenshot).
// Saves --screenshot (A after booking) and --reload-screenshot (A after the reload and cancel;
// default: --screenshot with "-reloaded" before ".png").
// Env: CHROMIUM (default /usr/bin/chromium).

import { chromium } from 'playwright-core';
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';

const WAIT_MS = 15_000;     // deadline of every single wait
const LIVE_MS = 10_000;     // deadline for a live update to reach the other node's page
const TOTAL_MS = 90_000;    // deadline of the whole script

const { values: opts } = parseArgs({
  options: {
    base: { type: 'string' },
    other: { type: 'string' },
    showtime: { type: 'string' },
    screenshot: { type: 'string', default: 'seat-picker.png' },
    'reload-screenshot': { type: 'string' },
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
const reloadPath = opts['reload-screenshot'] ?? opts.screenshot.replace(/(\.png)?$/i, '-reloaded.png');

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
  await waitSeatMap(page, label, url);
  return page;
}

/** Waits until the seat map fills or the page shows an error (then fails fast with its text). */
async function waitSeatMap(page, label, url) {
  const shown = await page.waitForFunction(() => {
    if (document.querySelector('[data-testid="seat-map"] [data-testid^="seat-"]')) return 'seats';
    const error = document.querySelector('[data-testid="error"]');
    return error && !error.hidden ? `error: ${error.querySelector('.alert-text')?.textContent ?? error.textContent}` : false;
  }, null, { timeout: WAIT_MS });
  const what = await shown.jsonValue();
  if (what !== 'seats') throw new Error(`${label}: ${url} shows no seat map (${what})`);
}

/** Waits until every seat of `seats` has `state` on the page's map. */
async function waitSeatStates(page, seats, state, timeout = WAIT_MS) {
  await page.waitForFunction(([names, want]) => names.every(
    (s) => document.querySelector(`[data-testid="seat-${s}"]`)?.dataset.state === want),
  [seats, state], { timeout });
}

/** The states of `seats` as a node's API answers them. */
async function apiSeatStates(url, seats) {
  const res = await fetch(`${url}/api/showtimes/${showtime}/seats`, { signal: AbortSignal.timeout(WAIT_MS) });
  if (res.status !== 200) throw new Error(`GET ${url}/api/showtimes/${showtime}/seats answered ${res.status}`);
  const map = new Map((await res.json()).seats.map((s) => [s.seat, s.state]));
  return seats.map((s) => map.get(s));
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

  // A reload keeps "My bookings": the page stored the booking's token and reads it back with it.
  const stored = await pageA.evaluate(() => JSON.parse(localStorage.getItem('seat-picker.bookings') ?? '[]'));
  if (stored.length !== 1 || !Number.isInteger(stored[0]?.id) || !/^b_[A-Za-z0-9_-]{32}$/.test(stored[0]?.token ?? '')) {
    return fail(`A stored ${JSON.stringify(stored)}, expected one booking with its b_ token`, pageA);
  }
  const mine = stored[0];
  const panelText = await bookingPanel.innerText();
  if (!panelText.includes(`#${mine.id}`)) return fail(`the stored booking #${mine.id} is not the one shown: ${panelText}`, pageA);
  const readWithToken = pageA.waitForResponse(async (r) => {
    if (r.request().method() !== 'GET' || new URL(r.url()).pathname !== `/api/bookings/${mine.id}`) return false;
    return (await r.request().headerValue('authorization')) === `Bearer ${mine.token}`;
  }, { timeout: WAIT_MS });
  await pageA.reload({ waitUntil: 'domcontentloaded' });
  const read = await readWithToken.catch(() => fail(`after the reload A did not GET /api/bookings/${mine.id} with its token`, pageA));
  const readBody = await read.text();
  if (read.status() !== 200) return fail(`GET /api/bookings/${mine.id} with its token answered ${read.status()}: ${readBody}`, pageA);
  if (readBody.includes(mine.token.slice(2))) return fail(`GET /api/bookings/${mine.id} shows the token: ${readBody}`, pageA);
  await waitSeatMap(pageA, 'A', `${base} (reloaded)`);
  await waitLive(pageA);
  const item = pageA.getByTestId(`my-booking-${mine.id}`);
  await item.waitFor({ state: 'visible' }).catch(() => fail(`after the reload "My bookings" does not show #${mine.id}`, pageA));
  const itemText = await item.innerText();
  if (await item.getAttribute('data-status') !== 'confirmed' || !itemText.includes(s1) || !itemText.includes(s2)) {
    return fail(`"My bookings" shows ${JSON.stringify(itemText)} (status ${await item.getAttribute('data-status')}), expected #${mine.id} ${s1}, ${s2} confirmed`, pageA);
  }
  step(`A: reloaded; "My bookings" shows ${itemText.replace(/\s+/g, ' ').trim()} (read with its token)`);

  // Cancel it from the list: the seats turn free on both pages and both nodes.
  await item.getByRole('button', { name: 'Cancel', exact: true }).click();
  await pageA.waitForFunction((id) => document.querySelector(`[data-testid="my-booking-${id}"]`)?.dataset.status === 'cancelled',
    mine.id, { timeout: WAIT_MS }).catch(() => fail(`"My bookings" did not show #${mine.id} cancelled`, pageA));
  const error = await pageA.getByTestId('error').isVisible() ? await pageA.getByTestId('error').innerText() : '';
  if (error) return fail(`A shows an error after cancelling: ${error}`, pageA);
  step(`A: cancelled #${mine.id} from "My bookings"`);
  await waitSeatStates(pageA, [s1, s2], 'free').catch(() => fail(`A does not show ${s1}, ${s2} free after the cancel`, pageA));
  await waitSeatStates(pageB, [s1, s2], 'free', LIVE_MS)
    .catch(() => fail(`B did not show ${s1}, ${s2} free within ${LIVE_MS / 1000} s`, pageB));
  step(`B: ${s1}, ${s2} turned free live`);
  for (const url of [base, other]) {
    const states = await apiSeatStates(url, [s1, s2]);
    if (!states.every((s) => s === 'free')) return fail(`${url}: ${s1}, ${s2} are ${states.join(', ')} after the cancel`, pageA);
  }
  step(`API: ${s1}, ${s2} free on ${base} and ${other}`);

  await pageA.screenshot({ path: reloadPath, fullPage: true });
  step(`A: screenshot saved to ${reloadPath}`);

  await browser.close();
  clearTimeout(watchdog);
  step('PASS');
}

main().catch((err) => fail(err?.message?.split('\n')[0] ?? String(err)));
