#!/usr/bin/env node
// Browser check of the seat picker page against two nodes of one cluster (README's quickstart).
//
//   node tests/browser/seat_picker.mjs --base http://localhost:8001/ --other http://localhost:8002/ \
//        --shots target/browser
//
// 1. Deep links (/movies, /movies/1, /movies/1/seats, /showtimes, /showtimes/N, /bookings)
//    answer the page and show their view; /api/nope stays a JSON 404.
// 2. Landing and movie views at 1280x900 and 390x844 (screenshots).
// 3. A (390x844, on --base) taps a showtime of a 10-seat-wide hall: the map scrolls into view
//    with focus in the grid; every seat of a row is inside the viewport; row letters overlap no
//    seat; arrow keys move, Space selects; a wider hall fits or says how to scroll.
// 4. The selection is capped at the rules' limit read from the plugin (/api/limits, else
//    /api/settings) and listed in natural order; "Best available" selects what /best answers.
// 5. A holds (screenshots at both sizes), confirms; B (1280x900, on --other) sees it live; a
//    seat B selected is booked behind its back and B shows the conflict.
// 6. A opens /bookings (a reload): the booking is read with its stored token and listed
//    (screenshots), A cancels it there, and B and both nodes show the seats free.
// 7. With the browser's clock after a showtime's start, that showtime is marked past and not
//    offered; the date filter narrows the list.
// Prints one line per step; exits 0 on success, 1 on failure (with failure.png in --shots).
// Env: CHROMIUM (default /usr/bin/chromium).

import { chromium } from 'playwright-core';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const WAIT_MS = 15_000;     // deadline of every single wait
const LIVE_MS = 10_000;     // deadline for a live update to reach the other node's page
const TOTAL_MS = 150_000;   // deadline of the whole script
const DESKTOP = { width: 1280, height: 900 };
const PHONE = { width: 390, height: 844 };

const { values: opts } = parseArgs({
  options: {
    base: { type: 'string' },
    other: { type: 'string' },
    shots: { type: 'string', default: '.' },
  },
});
for (const name of ['base', 'other']) {
  if (!opts[name]) {
    console.error(`missing --${name}\nusage: node seat_picker.mjs --base URL --other URL --shots DIR`);
    process.exit(2);
  }
}
const baseUrl = opts.base;                      // opened exactly as given (README's address)
const base = opts.base.replace(/\/+$/, '');
const other = opts.other.replace(/\/+$/, '');
const shot = (name) => join(opts.shots, name);

const started = Date.now();
const step = (msg) => console.log(`[${((Date.now() - started) / 1000).toFixed(1)}s] ${msg}`);
const seat = (page, name) => page.getByTestId(`seat-${name}`);

let browser;
let lastPage; // the page opened last: the default subject of a failure screenshot

/** Fails the run; saves a screenshot of the page most likely to explain why. */
async function fail(reason, page = lastPage) {
  console.error(`FAIL: ${reason}`);
  try {
    if (page) {
      await page.screenshot({ path: shot('failure.png'), fullPage: true, timeout: 5000 });
      console.error(`failure screenshot: ${shot('failure.png')}`);
    }
  } catch (err) {
    console.error(`(no failure screenshot: ${err.message})`);
  }
  await browser?.close().catch(() => {});
  process.exit(1);
}

/** Throws (ending the run through `fail`) unless `ok`. */
function check(ok, message) {
  if (!ok) throw new Error(message);
}

const watchdog = setTimeout(() => fail(`the whole run took over ${TOTAL_MS / 1000} s`), TOTAL_MS);

// ---------- API ----------

async function apiGet(url) {
  const res = await fetch(url, { signal: AbortSignal.timeout(WAIT_MS) });
  const text = await res.text();
  let body = null;
  try { body = JSON.parse(text); } catch { body = null; }
  return { status: res.status, type: res.headers.get('content-type') ?? '', text, body };
}

/** The limit the page must cap a selection at, from the plugin's own answers. */
async function rulesCap() {
  const limits = await apiGet(`${base}/api/limits`);
  if (limits.status === 200) {
    const caps = [limits.body.max_seats_per_request, limits.body.max_seats_per_customer]
      .filter(Number.isInteger);
    return { cap: Math.min(...caps), limits: limits.body };
  }
  check(limits.status === 404, `/api/limits answered ${limits.status}: ${limits.text}`);
  const settings = await apiGet(`${base}/api/settings`);
  check(settings.status === 200, `/api/settings answered ${settings.status}`);
  return { cap: settings.body.max_seats_per_customer, limits: null };
}

/** Upcoming showtimes with their widest row, soonest first. */
async function upcomingShowtimes() {
  const list = await apiGet(`${base}/api/showtimes?limit=500`);
  const out = [];
  for (const s of list.body.showtimes) {
    if (Date.parse(s.starts_at) <= Date.now()) continue;
    const full = (await apiGet(`${base}/api/showtimes/${s.id}`)).body;
    out.push({ ...s, width: Math.max(...full.rows.map((r) => r.seats)) });
  }
  return out.sort((a, b) => Date.parse(a.starts_at) - Date.parse(b.starts_at));
}

/** The states of `seats` of a showtime as a node's API answers them. */
async function apiSeatStates(url, showtime, seats) {
  const res = await apiGet(`${url}/api/showtimes/${showtime}/seats`);
  check(res.status === 200, `GET ${url}/api/showtimes/${showtime}/seats answered ${res.status}`);
  const map = new Map(res.body.seats.map((s) => [s.seat, s.state]));
  return seats.map((s) => map.get(s));
}

// ---------- pages ----------

/** Opens a fresh context + page, logging the page's console errors and failed loads. */
async function openPage(label, url, viewport, contextOptions = {}) {
  const context = await browser.newContext({ viewport, ...contextOptions });
  context.setDefaultTimeout(WAIT_MS);
  const page = await context.newPage();
  lastPage = page;
  page.on('console', (m) => { if (m.type() === 'error') console.log(`  [${label} console] ${m.text()}`); });
  page.on('pageerror', (e) => console.log(`  [${label} page error] ${e.message}`));
  if (url) await page.goto(url, { waitUntil: 'domcontentloaded' });
  return page;
}

/** Waits until the seat map fills or the page shows an error (then fails fast with its text). */
async function waitSeatMap(page, label) {
  const shown = await page.waitForFunction(() => {
    if (document.querySelector('[data-testid="seat-map"] [data-testid^="seat-"]')) return 'seats';
    const error = document.querySelector('[data-testid="error"]');
    return error && !error.hidden ? `error: ${error.querySelector('.alert-text')?.textContent ?? error.textContent}` : false;
  }, null, { timeout: WAIT_MS });
  const what = await shown.jsonValue();
  check(what === 'seats', `${label}: ${page.url()} shows no seat map (${what})`);
}

/** Waits until the page shows `view` (body[data-view]) with its list of showtimes loaded. */
async function waitView(page, view) {
  await page.waitForFunction((v) => document.body.dataset.view === v
    && !document.querySelector('[data-testid="showtime-list"]').hasAttribute('aria-busy'), view);
}

/** Waits until every seat of `seats` has `state` on the page's map. */
async function waitSeatStates(page, seats, state, timeout = WAIT_MS) {
  await page.waitForFunction(([names, want]) => names.every(
    (s) => document.querySelector(`[data-testid="seat-${s}"]`)?.dataset.state === want),
  [seats, state], { timeout });
}

/** Waits until the page's live-status says "live" (the EventSource is open). */
async function waitLive(page) {
  await page.waitForFunction(
    () => document.querySelector('[data-testid="live-status"]')?.textContent.trim() === 'live');
}

/** The names of the free seats of a page, in map order. */
async function freeSeats(page) {
  return page.locator('[data-testid="seat-map"] [data-state="free"]').evaluateAll(
    (els) => els.map((e) => e.dataset.testid.replace(/^seat-/, '')));
}

/** The seat names the page lists as selected, in the order it lists them. */
async function listedSelection(page) {
  const text = await page.getByTestId('selection').innerText();
  const m = /seats?: ([a-z0-9, ]+) ·/i.exec(text);
  return m ? m[1].split(', ') : [];
}

const natural = (seats) => [...seats].sort((a, b) => {
  const [, ra, na] = /^([a-z]+)(\d+)$/.exec(a);
  const [, rb, nb] = /^([a-z]+)(\d+)$/.exec(b);
  return ra === rb ? Number(na) - Number(nb) : (ra < rb ? -1 : 1);
});

/** Boxes of each row's label and seats, and the viewport width, after scrolling the map by `dx`. */
async function rowGeometry(page, dx = 0) {
  return page.evaluate((scroll) => {
    const map = document.querySelector('[data-testid="seat-map"]');
    map.scrollLeft = scroll;
    const box = (e) => { const r = e.getBoundingClientRect(); return { left: r.left, right: r.right, top: r.top, bottom: r.bottom }; };
    return {
      width: document.documentElement.clientWidth,
      hint: !document.querySelector('[data-testid="scroll-hint"]').hidden,
      rows: [...map.querySelectorAll('[role="row"]')].map((row) => ({
        label: box(row.querySelector('[role="rowheader"]')),
        seats: [...row.querySelectorAll('.seat')].map((s) => ({ name: s.dataset.seat, ...box(s) })),
      })),
    };
  }, dx);
}

/** No row letter overlaps a seat of its row (at the map's current scroll). */
function checkLabels(geometry, what) {
  for (const row of geometry.rows) {
    for (const s of row.seats) {
      const overlap = row.label.right > s.left + 0.5 && row.label.left < s.right - 0.5;
      check(!overlap, `${what}: the row letter (${row.label.left}-${row.label.right}) covers seat ${s.name} (${s.left}-${s.right})`);
    }
  }
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

  const upcoming = await upcomingShowtimes();
  const narrow = upcoming.find((s) => s.width === 10);
  const wide = upcoming.find((s) => s.width > 10);
  check(narrow, `no upcoming showtime in a 10-seat-wide hall: ${JSON.stringify(upcoming)}`);
  const showtime = narrow.id;
  const movie = narrow.movie.id;

  // 1. Deep links serve the page; the API keeps its JSON 404.
  const links = {
    '/movies': 'movies', [`/movies/${movie}`]: 'movie', [`/movies/${movie}/seats`]: 'movie-seats',
    '/showtimes': 'showtimes', [`/showtimes/${showtime}`]: 'showtime', '/bookings': 'bookings',
  };
  for (const path of Object.keys(links)) {
    const res = await apiGet(`${base}${path}`);
    check(res.status === 200 && res.type.startsWith('text/html') && res.text.includes('src="/app.js"'),
      `GET ${path} answered ${res.status} ${res.type}`);
  }
  const nope = await apiGet(`${base}/api/nope`);
  check(nope.status === 404 && /json/.test(nope.type) && nope.body?.type === '/problems/not-found',
    `GET /api/nope answered ${nope.status} ${nope.type}: ${nope.text.slice(0, 200)}`);
  step(`deep links ${Object.keys(links).join(' ')} answer the page; /api/nope is a JSON 404`);

  const deep = await openPage('deep', null, DESKTOP);
  for (const [path, view] of Object.entries(links)) {
    await deep.goto(`${base}${path}`, { waitUntil: 'domcontentloaded' });
    await waitView(deep, view);
    const styled = await deep.evaluate(() => getComputedStyle(document.querySelector('.top')).display === 'flex');
    check(styled, `${path}: app.css did not load`);
    if (view === 'movies') await deep.getByTestId(`movie-${movie}`).waitFor();
    if (view === 'movie' || view === 'movie-seats') {
      await deep.waitForFunction((id) => document.querySelector('[data-testid="movie-details"]')?.dataset.movie === String(id), movie);
      const others = await deep.locator('[data-testid="showtime-list"] .showtime').evaluateAll(
        (els, title) => els.filter((e) => !e.textContent.includes(title)).length, narrow.movie.title);
      check(others === 0, `${path}: the list shows ${others} showtimes of other movies`);
    }
    if (view === 'movie-seats' || view === 'showtime') {
      await waitSeatMap(deep, path);
      if (view === 'showtime') {
        await deep.waitForFunction((id) => document.querySelector(`[data-testid="showtime-${id}"]`)?.getAttribute('aria-current') === 'true', showtime);
      }
    }
    if (view === 'bookings') await deep.getByTestId('my-bookings').waitFor();
  }
  step('each deep link shows its view, with its styles and script');

  // 2. Landing and movie views.
  const landing = await openPage('landing', baseUrl, DESKTOP);
  check(landing.url() === baseUrl, `opened ${landing.url()}, not ${baseUrl}`);
  await waitView(landing, 'home');
  await landing.screenshot({ path: shot('landing-1280.png'), fullPage: true });
  await landing.setViewportSize(PHONE);
  await landing.screenshot({ path: shot('landing-390.png'), fullPage: true });
  await landing.setViewportSize(DESKTOP);
  await landing.getByTestId('nav-movies').click();
  await landing.getByTestId(`movie-${movie}`).click();
  await landing.waitForURL(`${base}/movies/${movie}`);
  await landing.waitForFunction((id) => document.querySelector('[data-testid="movie-details"]')?.dataset.movie === String(id), movie);
  await landing.screenshot({ path: shot('movie-1280.png'), fullPage: true });
  await landing.setViewportSize(PHONE);
  await landing.screenshot({ path: shot('movie-390.png'), fullPage: true });
  step(`landing and /movies/${movie} (reached by clicking) screenshotted at 1280 and 390`);

  // 3. B first: it must stay open (never reloaded) while A books.
  const pageB = await openPage('B', `${other}/showtimes/${showtime}`, DESKTOP);
  await waitSeatMap(pageB, 'B');
  await waitLive(pageB);
  step(`B opened ${other}/showtimes/${showtime}; seat map shown, live`);

  const pageA = await openPage('A', baseUrl, PHONE);
  await waitView(pageA, 'home');
  await pageA.getByTestId(`showtime-${showtime}`).click();
  await pageA.waitForURL(`${base}/showtimes/${showtime}`);
  await waitSeatMap(pageA, 'A');
  await pageA.waitForFunction(() => document.activeElement?.closest('[data-testid="seat-map"]') != null)
    .catch(() => fail('after choosing a showtime the focus is not in the seat map', pageA));
  const focusBox = await pageA.evaluate(() => { const r = document.activeElement.getBoundingClientRect(); return [r.top, r.bottom]; });
  check(focusBox[0] >= 0 && focusBox[1] <= PHONE.height, `the focused seat is out of view (${focusBox})`);
  await waitLive(pageA);
  step(`A tapped showtime ${showtime} at 390x844: address /showtimes/${showtime}, map in view, focus in the grid`);

  const geometry = await rowGeometry(pageA);
  for (const row of geometry.rows) {
    check(row.seats.length === 10, `a row has ${row.seats.length} seats`);
    for (const s of row.seats) {
      check(s.left >= 0 && s.right <= geometry.width, `seat ${s.name} (${s.left}-${s.right}) is outside the ${geometry.width} px viewport`);
    }
  }
  check(!geometry.hint, 'the scroll hint shows although every seat fits');
  checkLabels(geometry, 'A');
  step(`A: all ${geometry.rows.length} rows of 10 seats inside the 390 px viewport; row letters overlap no seat`);

  // Keyboard: one tab stop, arrows move, Space selects.
  const tabStops = await pageA.locator('[data-testid="seat-map"] [tabindex="0"]').count();
  check(tabStops === 1, `the seat grid has ${tabStops} tab stops`);
  const roles = await pageA.evaluate(() => {
    const map = document.querySelector('[data-testid="seat-map"]');
    return [map.getAttribute('role'), map.querySelector('[role="row"] [role="gridcell"]') != null];
  });
  check(roles[0] === 'grid' && roles[1], `ARIA roles: ${roles}`);
  const focused = () => pageA.evaluate(() => document.activeElement?.dataset.seat);
  const first = await focused();
  await pageA.keyboard.press('ArrowRight');
  const right = await focused();
  await pageA.keyboard.press('ArrowDown');
  const down = await focused();
  check(first === 'a1' && right === 'a2' && down === 'b2', `arrows moved ${first} -> ${right} -> ${down}, expected a1 -> a2 -> b2`);
  await pageA.keyboard.press(' ');
  await pageA.waitForFunction(() => document.querySelector('[data-testid="seat-b2"]')?.dataset.state === 'selected');
  check(await focused() === 'b2', 'focus left the seat after Space');
  await pageA.keyboard.press(' ');
  await pageA.waitForFunction(() => document.querySelector('[data-testid="seat-b2"]')?.dataset.state === 'free');
  step('A: the grid is one tab stop; ArrowRight, ArrowDown moved a1 -> a2 -> b2; Space selected and unselected b2');

  // 4. The rules' cap, natural order.
  const { cap, limits } = await rulesCap();
  check(Number.isInteger(cap) && cap > 0, `the rules' cap is ${cap}`);
  await pageA.getByTestId('user-name').fill('alice');
  const free = await freeSeats(pageA);
  const row = free.filter((s) => s.startsWith('h'));
  const order = [row[9], row[0], row[1], ...free.filter((s) => !s.startsWith('h'))].filter(Boolean);
  check(order.length > cap, `only ${order.length} free seats to test a cap of ${cap}`);
  for (const s of order.slice(0, cap + 1)) await seat(pageA, s).click();
  const picked = await pageA.locator('[data-testid="seat-map"] [data-state="selected"]').count();
  check(picked === cap, `A selected ${picked} seats, the rules allow ${cap}`);
  check(await seat(pageA, order[cap]).getAttribute('data-state') === 'free', `seat ${order[cap]} beyond the cap was selected`);
  await pageA.getByTestId('notice').filter({ hasText: String(cap) }).waitFor();
  const listed = await listedSelection(pageA);
  const expected = natural(order.slice(0, cap));
  check(JSON.stringify(listed) === JSON.stringify(expected), `selection listed as ${listed}, expected ${expected}`);
  step(`A: selection capped at ${cap} (${limits ? '/api/limits' : '/api/settings; /api/limits answers 404'}), listed ${listed.join(', ')}`);
  for (const s of order.slice(0, cap)) await seat(pageA, s).click();
  check(await pageA.locator('[data-testid="seat-map"] [data-state="selected"]').count() === 0, 'selection not cleared');

  // Best available: the seats /best answered, selected.
  if (limits) {
    const want = Math.min(3, cap);
    await pageA.getByTestId('best-count').fill(String(want));
    const answered = pageA.waitForResponse((r) => new URL(r.url()).pathname === `/api/showtimes/${showtime}/best`);
    await pageA.getByTestId('best-button').click();
    const bestRes = await answered;
    check(bestRes.status() === 200, `/best answered ${bestRes.status()}: ${await bestRes.text()}`);
    const best = (await bestRes.json()).seats.map((s) => s.toLowerCase());
    check(best.length === want, `/best answered ${best.length} seats for ${want}`);
    await waitSeatStates(pageA, best, 'selected');
    check(await pageA.locator('[data-testid="seat-map"] [data-state="selected"]').count() === want, 'best selected other seats too');
    step(`A: "Best available" ${want} selected ${best.join(', ')}, as /best answered`);
    for (const s of best) await seat(pageA, s).click();
  } else {
    check(await pageA.getByTestId('best').isHidden(), '"Best available" is offered without /api/limits');
    step('A: /api/limits answers 404 (plugin without it): "Best available" is not offered');
  }

  // 5. Hold and confirm two seats.
  const [s1, s2] = natural((await freeSeats(pageA)).filter((s) => s.startsWith('c')).slice(0, 2));
  check(s2, 'fewer than two free seats in row c');
  await seat(pageA, s1).click();
  await seat(pageA, s2).click();
  await pageA.getByTestId('hold-button').click();
  await pageA.getByTestId('hold-panel').waitFor({ state: 'visible' });
  await pageA.waitForFunction(
    () => /\d+:\d\d/.test(document.querySelector('[data-testid="countdown"]')?.textContent ?? ''));
  await waitSeatStates(pageA, [s1, s2], 'held');
  step(`A: holds ${s1}, ${s2}, countdown ${await pageA.getByTestId('countdown').textContent()}`);
  await pageA.screenshot({ path: shot('seats-hold-390.png'), fullPage: true });
  const wideA = await openPage('A-desktop', `${base}/showtimes/${showtime}`, DESKTOP,
    { storageState: await pageA.context().storageState() });
  await waitSeatMap(wideA, 'A-desktop');
  await wideA.getByTestId('hold-panel').waitFor({ state: 'visible' });
  await wideA.waitForFunction(([a, b]) => [a, b].every((s) => document.querySelector(`[data-testid="seat-${s}"]`)?.classList.contains('mine')), [s1, s2]);
  await wideA.screenshot({ path: shot('seats-hold-1280.png'), fullPage: true });
  await wideA.context().close();
  step('A: hold screenshotted at 390 and (same browser storage) at 1280');

  await pageA.getByTestId('confirm-button').click();
  await pageA.getByTestId('booking-panel').waitFor({ state: 'visible' });
  await pageA.waitForFunction(([a, b]) => {
    const text = document.querySelector('[data-testid="booking-panel"]')?.textContent ?? '';
    return text.includes(`${a}, ${b}`);
  }, [s1, s2]);
  step(`A: booked ${s1}, ${s2}`);

  await waitSeatStates(pageB, [s1, s2], 'booked', LIVE_MS)
    .catch(() => fail(`B did not show ${s1}, ${s2} as booked within ${LIVE_MS / 1000} s`, pageB));
  step(`B: ${s1}, ${s2} turned booked live`);

  // B selects a free seat; someone books it through the API; B tries to hold it.
  const [target] = await freeSeats(pageB);
  check(target, 'no free seat left for the conflict step');
  await seat(pageB, target).click();
  const res = await fetch(`${base}/api/showtimes/${showtime}/bookings`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'idempotency-key': randomUUID() },
    body: JSON.stringify({ seats: [target], user: 'alice' }),
    signal: AbortSignal.timeout(WAIT_MS),
  });
  check(res.status === 201, `API booking of ${target} answered ${res.status}: ${await res.text()}`);
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
  }).catch(() => fail(`B showed neither the seat-taken error nor the dropped-selection notice for ${target}`, pageB));
  step(`B: conflict on ${target} (booked via the API) shown: ${(await outcome.jsonValue()).replace(/\s+/g, ' ')}`);
  check(await seat(pageB, target).getAttribute('data-state') !== 'selected', `B still shows ${target} as selected`);

  // 6. "My bookings" after a reload at /bookings, read with the stored token; cancel there.
  const stored = await pageA.evaluate(() => JSON.parse(localStorage.getItem('seat-picker.bookings') ?? '[]'));
  check(stored.length === 1 && Number.isInteger(stored[0]?.id) && /^b_[A-Za-z0-9_-]{32}$/.test(stored[0]?.token ?? ''),
    `A stored ${JSON.stringify(stored)}, expected one booking with its b_ token`);
  const mine = stored[0];
  const readWithToken = pageA.waitForResponse(async (r) => r.request().method() === 'GET'
    && new URL(r.url()).pathname === `/api/bookings/${mine.id}`
    && (await r.request().headerValue('authorization')) === `Bearer ${mine.token}`);
  await pageA.goto(`${base}/bookings`, { waitUntil: 'domcontentloaded' });
  const read = await readWithToken;
  check(read.status() === 200, `GET /api/bookings/${mine.id} with its token answered ${read.status()}`);
  await waitView(pageA, 'bookings');
  const item = pageA.getByTestId(`my-booking-${mine.id}`);
  await item.waitFor({ state: 'visible' });
  const itemText = await item.innerText();
  check(await item.getAttribute('data-status') === 'confirmed' && itemText.includes(`${s1}, ${s2}`) && itemText.includes(narrow.movie.title),
    `"My bookings" shows ${JSON.stringify(itemText)}, expected #${mine.id} ${s1}, ${s2} confirmed`);
  step(`A: /bookings lists ${itemText.replace(/\s+/g, ' ').trim()}`);
  await pageA.screenshot({ path: shot('bookings-390.png'), fullPage: true });
  await pageA.setViewportSize(DESKTOP);
  await pageA.screenshot({ path: shot('bookings-1280.png'), fullPage: true });
  await pageA.setViewportSize(PHONE);

  await item.getByRole('button', { name: 'Cancel', exact: true }).click();
  await pageA.waitForFunction((id) => document.querySelector(`[data-testid="my-booking-${id}"]`)?.dataset.status === 'cancelled', mine.id)
    .catch(() => fail(`"My bookings" did not show #${mine.id} cancelled`, pageA));
  check(!(await pageA.getByTestId('error').isVisible()), `A shows an error after cancelling: ${await pageA.getByTestId('error').innerText()}`);
  step(`A: cancelled #${mine.id} from "My bookings"`);
  await waitSeatStates(pageB, [s1, s2], 'free', LIVE_MS)
    .catch(() => fail(`B did not show ${s1}, ${s2} free within ${LIVE_MS / 1000} s`, pageB));
  for (const url of [base, other]) {
    const states = await apiSeatStates(url, showtime, [s1, s2]);
    check(states.every((s) => s === 'free'), `${url}: ${s1}, ${s2} are ${states.join(', ')} after the cancel`);
  }
  step(`B and the API of both nodes: ${s1}, ${s2} free again`);

  // A wider hall on the phone: it fits, or the map says how to scroll; letters still clear.
  if (wide) {
    await pageA.goto(`${base}/showtimes/${wide.id}`, { waitUntil: 'domcontentloaded' });
    await waitSeatMap(pageA, 'A');
    const g = await rowGeometry(pageA);
    const fits = g.rows.every((r) => r.seats.every((s) => s.left >= 0 && s.right <= g.width));
    check(fits || g.hint, `showtime ${wide.id} (${wide.width} seats a row): seats cut off and no scroll hint`);
    checkLabels(g, `showtime ${wide.id}`);
    checkLabels(await rowGeometry(pageA, 200), `showtime ${wide.id} scrolled`);
    step(`A: a ${wide.width}-seat row ${fits ? 'fits' : 'scrolls, with the hint shown'}; letters overlap no seat, also scrolled`);
  }

  // 7. Past showtimes by the browser's clock; the date filter.
  const all = (await apiGet(`${base}/api/showtimes?limit=500`)).body.showtimes
    .sort((a, b) => Date.parse(a.starts_at) - Date.parse(b.starts_at));
  const gone = all[0];
  const later = all.filter((s) => Date.parse(s.starts_at) > Date.parse(gone.starts_at) + 60_000);
  check(later.length, 'all showtimes start at once');
  const pastPage = await openPage('past', null, DESKTOP);
  await pastPage.clock.setFixedTime(new Date(Date.parse(gone.starts_at) + 60_000));
  await pastPage.goto(`${base}/showtimes`, { waitUntil: 'domcontentloaded' });
  await waitView(pastPage, 'showtimes');
  const pastFlags = await pastPage.locator('[data-testid="showtime-list"] .showtime').evaluateAll(
    (els) => Object.fromEntries(els.map((e) => [e.dataset.testid, e.dataset.past])));
  check(pastFlags[`showtime-${gone.id}`] === 'true', `showtime ${gone.id} is not marked past: ${JSON.stringify(pastFlags)}`);
  for (const s of later) check(pastFlags[`showtime-${s.id}`] === 'false', `showtime ${s.id} is marked past: ${JSON.stringify(pastFlags)}`);
  check(await pastPage.getByTestId(`showtime-${gone.id}`).innerText().then((t) => /started/i.test(t)), 'no "Started" mark');
  await pastPage.getByTestId('date-filter').selectOption('upcoming');
  check(await pastPage.getByTestId(`showtime-${gone.id}`).count() === 0, '"Upcoming only" lists the started showtime');
  const day = await pastPage.evaluate((iso) => { const d = new Date(iso); return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`; }, later.at(-1).starts_at);
  await pastPage.getByTestId('date-filter').selectOption(day);
  const dayIds = await pastPage.locator('[data-testid="showtime-list"] .showtime').evaluateAll((els) => els.map((e) => e.dataset.testid));
  const wantDay = await pastPage.evaluate(([list, d]) => list.filter((s) => { const t = new Date(s.starts_at); return `${t.getFullYear()}-${String(t.getMonth() + 1).padStart(2, '0')}-${String(t.getDate()).padStart(2, '0')}` === d; }).map((s) => `showtime-${s.id}`), [all, day]);
  check(JSON.stringify(dayIds) === JSON.stringify(wantDay), `date ${day} lists ${dayIds}, expected ${wantDay}`);
  await pastPage.goto(`${base}/showtimes/${gone.id}`, { waitUntil: 'domcontentloaded' });
  await waitSeatMap(pastPage, 'past');
  await pastPage.getByTestId('past-notice').waitFor({ state: 'visible' });
  check(await pastPage.getByTestId('hold-button').isHidden(), 'a started showtime offers "Hold seats"');
  const [anyFree] = await freeSeats(pastPage);
  if (anyFree) {
    await seat(pastPage, anyFree).click({ force: true }); // a user can still tap it
    check(await seat(pastPage, anyFree).getAttribute('data-state') === 'free', 'a seat of a started showtime could be selected');
  }
  step(`clock after showtime ${gone.id}'s start: marked "Started", not bookable; "Upcoming only" and date ${day} filter the list`);

  await browser.close();
  clearTimeout(watchdog);
  step('PASS');
}

main().catch((err) => fail(err?.message?.split('\n')[0] ?? String(err)));
