// Seat picker: plain ES2020, no dependencies. Talks to the node's /api (docs/http-api.md).
// Loaded as a classic deferred script (no module MIME-type strictness), so the DOM is ready.
//
// Holds and bookings belong to whoever has their token, which the API shows once, in the answer
// that created them. The page keeps the tokens it received in memory and in localStorage (keys
// below), so that after a reload it can still show "my bookings" (each read with its token) and
// the current hold, and cancel with the booking's token. It needs no admin role.
'use strict';

const MAX_SEATS = 10;
const USER_KEY = 'seat-picker.user';
const HOLD_KEY = 'seat-picker.hold';          // {token, showtime_id} of the current hold
const BOOKINGS_KEY = 'seat-picker.bookings';  // [{id, token}] of the bookings made here

const $ = (sel, root = document) => root.querySelector(sel);
const byTestId = (id) => $(`[data-testid="${id}"]`);

const ui = {
  list: byTestId('showtime-list'),
  movie: byTestId('movie-details'),
  placeholder: $('.picker .placeholder'),
  seatsArea: $('.seats-area'),
  map: byTestId('seat-map'),
  user: byTestId('user-name'),
  selection: $('.selection'),
  holdButton: byTestId('hold-button'),
  holdPanel: byTestId('hold-panel'),
  holdInfo: $('.hold-info'),
  countdown: byTestId('countdown'),
  confirmButton: byTestId('confirm-button'),
  releaseButton: byTestId('release-button'),
  bookingPanel: byTestId('booking-panel'),
  bookingInfo: $('.booking-info'),
  cancelButton: byTestId('cancel-booking-button'),
  myBookings: byTestId('my-bookings'),
  myBookingsList: $('.my-bookings-list'),
  error: byTestId('error'),
  errorText: $('.alert-text'),
  notice: byTestId('notice'),
  live: byTestId('live-status'),
};

const state = {
  summaries: [],          // ShowtimeSummary[] from GET /api/showtimes
  movies: new Map(),      // movie id -> Movie (cache)
  showtimeId: null,       // the open showtime
  showtime: null,         // its latest Showtime JSON
  selected: new Set(),    // seat names the user picked
  holding: new Set(),     // seats of a hold request in flight (our own, not "taken")
  events: null,           // EventSource of the open showtime
  reconnectTimer: 0,
  hold: null,             // the user's current Hold
  holdDeadline: 0,        // local clock ms when the hold runs out
  countdownTimer: 0,
  booking: null,          // the user's latest Booking (with its token)
  myBookings: [],         // Booking JSON (with token) of every booking made on this browser
  busy: false,            // a write request is in flight
};

// ---------- HTTP helpers ----------

/** An API answer that was not 2xx; `problem` is the parsed problem+json (or a stand-in). */
class ApiError extends Error {
  constructor(status, problem) {
    super(problem.detail || problem.title || `HTTP ${status}`);
    this.status = status;
    this.problem = problem;
  }
}

/**
 * Calls the API; POSTs carry a fresh Idempotency-Key; `token` (a booking token) goes in
 * Authorization. Resolves to the parsed JSON body.
 */
async function api(method, path, body, token) {
  const headers = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (method === 'POST') headers['idempotency-key'] = crypto.randomUUID();
  if (token) headers.authorization = `Bearer ${token}`;
  let res;
  try {
    res = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (err) {
    throw new ApiError(0, { title: 'Network error', detail: `${method} ${path} failed: ${err.message}` });
  }
  const text = await res.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = null; }
  if (!res.ok) {
    const problem = data && typeof data === 'object' ? data
      : { title: `${res.status} ${res.statusText}`.trim(), detail: text.slice(0, 200) };
    throw new ApiError(res.status, problem);
  }
  return data;
}

// ---------- messages ----------

/** Shows an error (ApiError, Error or string) in the role=alert region. */
function showError(err) {
  const p = err instanceof ApiError ? err.problem : { title: 'Error', detail: String(err?.message || err) };
  const parts = [p.title || 'Request failed'];
  if (p.detail && p.detail !== p.title) parts.push(p.detail);
  if (Array.isArray(p.seats) && p.seats.length) parts.push(`Seats: ${p.seats.join(', ')}`);
  ui.errorText.textContent = parts.join(' — ');
  ui.error.dataset.problem = p.type || '';
  ui.error.hidden = false;
  console.warn('API error', err);
}

function clearError() {
  ui.error.hidden = true;
  ui.errorText.textContent = '';
  ui.error.dataset.problem = '';
}

let noticeTimer = 0;
/** Shows a short-lived informational notice (role=status). */
function showNotice(text) {
  ui.notice.textContent = text;
  ui.notice.hidden = false;
  clearTimeout(noticeTimer);
  noticeTimer = setTimeout(() => { ui.notice.hidden = true; }, 8000);
}

// ---------- formatting ----------

const dateFmt = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });

function formatTime(iso) {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : dateFmt.format(d);
}

function formatPrice(cents, currency = 'EUR') {
  try {
    return new Intl.NumberFormat(undefined, { style: 'currency', currency }).format(cents / 100);
  } catch {
    return `${(cents / 100).toFixed(2)} ${currency}`;
  }
}

function formatCountdown(ms) {
  const total = Math.max(0, Math.ceil(ms / 1000));
  const m = Math.floor(total / 60);
  const s = String(total % 60).padStart(2, '0');
  return `${String(m).padStart(2, '0')}:${s}`;
}

/** Creates an element with attributes and children (strings become text). */
function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === false || v == null) continue;
    if (k === 'class') node.className = v;
    else if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? '' : v);
  }
  node.append(...children.filter((c) => c != null));
  return node;
}

// ---------- showtimes list ----------

/** Loads every showtime, a page of 500 at a time (the list is paged; `next` is the cursor). */
async function loadShowtimes() {
  try {
    const all = [];
    let after = null;
    for (let pages = 0; pages < 40; pages += 1) {
      const query = after == null ? '?limit=500' : `?limit=500&after=${after}`;
      const data = await api('GET', `/api/showtimes${query}`);
      all.push(...(data.showtimes || []));
      if (data.next == null) break;
      after = data.next;
    }
    state.summaries = all;
    renderShowtimes();
    renderMyBookings();
  } catch (err) {
    showError(err);
  } finally {
    ui.list.removeAttribute('aria-busy');
  }
}

function renderShowtimes() {
  ui.list.replaceChildren(...state.summaries.map((s) => {
    const current = s.id === state.showtimeId;
    return el('li', {},
      el('button', {
        type: 'button',
        class: 'showtime',
        'data-testid': `showtime-${s.id}`,
        'aria-current': current ? 'true' : false,
        onclick: () => { location.hash = `showtime=${s.id}`; },
      },
      el('span', { class: 'st-title' }, s.movie?.title ?? `Movie ${s.movie?.id}`),
      el('span', { class: 'st-when' }, formatTime(s.starts_at)),
      el('span', { class: 'st-where' }, s.theater?.name ?? ''),
      el('span', { class: 'st-meta' },
        el('span', { class: 'price' }, formatPrice(s.price_cents, s.currency)),
        el('span', { class: 'free' }, `${s.free} of ${s.capacity} free`))));
  }));
  if (!state.summaries.length) ui.list.append(el('li', { class: 'empty' }, 'No showtimes yet.'));
}

/** Keeps the list item of a showtime in step with a live update. */
function updateSummary(showtime) {
  const i = state.summaries.findIndex((s) => s.id === showtime.id);
  if (i < 0) return;
  const { seats, rows, version, ...summary } = showtime;
  state.summaries[i] = { ...state.summaries[i], ...summary };
  renderShowtimes();
}

// ---------- opening a showtime ----------

function hashShowtimeId() {
  const m = /(?:^#|&)showtime=(\d+)/.exec(location.hash);
  return m ? Number(m[1]) : null;
}

/** Opens the showtime named in the URL hash (if any). */
async function openFromHash() {
  const id = hashShowtimeId();
  if (id == null || id === state.showtimeId) return;
  await openShowtime(id);
}

async function openShowtime(id) {
  closeEvents();
  state.showtimeId = id;
  state.showtime = null;
  state.selected.clear();
  clearError();
  renderShowtimes();
  ui.placeholder.hidden = true;
  ui.map.replaceChildren(el('p', { class: 'loading' }, 'Loading seats…'));
  ui.seatsArea.hidden = false;
  try {
    const showtime = await api('GET', `/api/showtimes/${id}`);
    if (state.showtimeId !== id) return; // the user moved on meanwhile
    applyShowtime(showtime);
    connectEvents(id);
    loadMovie(showtime.movie?.id);
  } catch (err) {
    if (state.showtimeId !== id) return;
    ui.map.replaceChildren(el('p', { class: 'loading' }, 'Could not load this showtime.'));
    showError(err);
  }
}

/** Re-reads the showtime (e.g. after a conflict); errors are only logged. */
async function refreshShowtime(id) {
  try {
    const showtime = await api('GET', `/api/showtimes/${id}`);
    applyShowtime(showtime);
  } catch (err) {
    console.warn('refresh failed', err);
  }
}

async function loadMovie(movieId) {
  if (movieId == null) return;
  try {
    let movie = state.movies.get(movieId);
    if (!movie) {
      movie = await api('GET', `/api/movies/${movieId}`);
      state.movies.set(movieId, movie);
    }
    if (state.showtime?.movie?.id === movieId) renderMovie(movie);
  } catch (err) {
    showError(err);
  }
}

function renderMovie(m) {
  const list = (xs) => (Array.isArray(xs) && xs.length ? xs.join(', ') : '—');
  const s = state.showtime;
  const facts = [
    ['Year', m.year], ['Duration', m.duration_minutes ? `${m.duration_minutes} min` : '—'],
    ['Genres', list(m.genres)], ['Director', m.director || '—'], ['Cast', list(m.cast)],
    ['Languages', list(m.languages)], ['Age rating', m.age_rating || '—'],
  ];
  ui.movie.replaceChildren(
    el('h3', {}, m.title, ' ', el('span', { class: 'year' }, `(${m.year ?? '?'})`)),
    s ? el('p', { class: 'when' }, `${formatTime(s.starts_at)} · ${s.theater?.name ?? ''} · `
      + `${formatPrice(s.price_cents, s.currency)} per seat`) : null,
    el('dl', {}, ...facts.flatMap(([k, v]) => [el('dt', {}, k), el('dd', {}, String(v ?? '—'))])),
    m.synopsis ? el('p', { class: 'synopsis' }, m.synopsis) : null,
  );
  ui.movie.hidden = false;
}

// ---------- seat map ----------

/** Takes a Showtime (from GET or an event), drops stale ones, re-renders. */
function applyShowtime(showtime) {
  if (showtime.id !== state.showtimeId) return;
  const old = state.showtime;
  if (old && typeof old.version === 'number' && showtime.version < old.version) return;
  state.showtime = showtime;
  dropTakenSelections();
  renderSeatMap();
  updateSummary(showtime);
}

/** Removes selected seats that are no longer free, telling the user. */
function dropTakenSelections() {
  const seats = new Map(state.showtime.seats.map((s) => [s.seat, s.state]));
  const lost = [...state.selected]
    .filter((seat) => seats.get(seat) !== 'free' && !state.holding.has(seat));
  if (!lost.length) return;
  lost.forEach((seat) => state.selected.delete(seat));
  showNotice(`Seat${lost.length > 1 ? 's' : ''} ${lost.join(', ')} ${lost.length > 1 ? 'were' : 'was'} `
    + 'just taken by someone else and removed from your selection.');
}

function seatView(seat) {
  if (state.selected.has(seat.seat)) return 'selected';
  return seat.state;
}

function renderSeatMap() {
  const st = state.showtime;
  const mine = new Set(state.hold?.status === 'active' && state.hold.showtime_id === st.id
    ? state.hold.seats : []);
  const rows = new Map((st.rows || []).map((r) => [r.row, []]));
  for (const seat of st.seats) {
    if (!rows.has(seat.row)) rows.set(seat.row, []);
    rows.get(seat.row).push(seat);
  }
  const rowEls = [...rows].map(([row, seats]) => {
    seats.sort((a, b) => a.number - b.number);
    return el('div', { class: 'row', role: 'group', 'aria-label': `Row ${row.toUpperCase()}` },
      el('span', { class: 'row-label', 'aria-hidden': 'true' }, row.toUpperCase()),
      ...seats.map((seat) => {
        const view = seatView(seat);
        const label = mine.has(seat.seat) ? 'held by you' : view;
        return el('button', {
          type: 'button',
          class: `seat${mine.has(seat.seat) ? ' mine' : ''}`,
          'data-testid': `seat-${seat.seat}`,
          'data-seat': seat.seat,
          'data-state': view,
          'aria-label': `Seat ${seat.seat}, ${label}`,
          'aria-pressed': view === 'selected' ? 'true' : 'false',
          disabled: view !== 'free' && view !== 'selected',
          title: `${seat.seat.toUpperCase()} (${label})`,
        }, String(seat.number));
      }),
      el('span', { class: 'row-label', 'aria-hidden': 'true' }, row.toUpperCase()));
  });
  ui.map.replaceChildren(...rowEls);
  renderSelection();
}

function renderSelection() {
  const seats = [...state.selected].sort();
  const st = state.showtime;
  ui.selection.textContent = seats.length
    ? `${seats.length} seat${seats.length > 1 ? 's' : ''}: ${seats.join(', ')} · `
      + formatPrice(seats.length * st.price_cents, st.currency)
    : 'No seats selected.';
  const holdActive = state.hold?.status === 'active';
  ui.holdButton.disabled = !seats.length || state.busy || holdActive;
  ui.holdButton.title = holdActive ? 'Confirm or release your current hold first' : '';
}

/** Click on a seat button: toggles it in the selection. */
function onSeatClick(event) {
  const button = event.target.closest('button.seat');
  if (!button || button.disabled) return;
  const seat = button.dataset.seat;
  if (state.selected.has(seat)) {
    state.selected.delete(seat);
  } else if (state.selected.size >= MAX_SEATS) {
    showNotice(`You can pick at most ${MAX_SEATS} seats at once.`);
    return;
  } else {
    state.selected.add(seat);
  }
  renderSeatMap();
  $(`[data-seat="${seat}"]`, ui.map)?.focus();
}

// ---------- stored tokens ----------

/** Reads a JSON value from localStorage; `fallback` when absent or unreadable. */
function loadStored(key, fallback) {
  try {
    const value = JSON.parse(localStorage.getItem(key) ?? 'null');
    return value ?? fallback;
  } catch {
    return fallback;
  }
}

function saveStored(key, value) {
  try {
    if (value == null) localStorage.removeItem(key);
    else localStorage.setItem(key, JSON.stringify(value));
  } catch (err) {
    console.warn('could not store', key, err);
  }
}

/** Remembers a booking's token (answered once, at creation). */
function rememberBooking(booking) {
  if (!booking?.token) return;
  const stored = loadStored(BOOKINGS_KEY, []).filter((b) => b && b.id !== booking.id);
  stored.push({ id: booking.id, token: booking.token });
  saveStored(BOOKINGS_KEY, stored.slice(-50));
}

/** Forgets a booking the API no longer knows (cancelled more than a day ago). */
function forgetBooking(id) {
  saveStored(BOOKINGS_KEY, loadStored(BOOKINGS_KEY, []).filter((b) => b && b.id !== id));
}

// ---------- user name ----------

function initUser() {
  let name = localStorage.getItem(USER_KEY);
  if (!name) {
    name = `guest-${Math.floor(Math.random() * 0x10000).toString(16).padStart(4, '0')}`;
    localStorage.setItem(USER_KEY, name);
  }
  ui.user.value = name;
  ui.user.addEventListener('input', () => localStorage.setItem(USER_KEY, ui.user.value.trim()));
}

function userName() {
  const name = ui.user.value.trim();
  if (!name) {
    ui.user.focus();
    throw new Error('Please enter your name first.');
  }
  return name;
}

// ---------- holds ----------

/** Runs a write action with the buttons locked; errors go to the alert region. */
async function busy(action) {
  if (state.busy) return;
  state.busy = true;
  clearError();
  setButtonsDisabled(true);
  try {
    await action();
  } catch (err) {
    showError(err);
  } finally {
    state.busy = false;
    setButtonsDisabled(false);
  }
}

function setButtonsDisabled(disabled) {
  const holdActive = state.hold?.status === 'active' && state.holdDeadline > Date.now();
  ui.confirmButton.disabled = disabled || !holdActive;
  ui.releaseButton.disabled = disabled || !holdActive;
  ui.cancelButton.disabled = disabled || state.booking?.status !== 'confirmed';
  if (state.showtime) renderSelection();
}

async function holdSeats() {
  if (state.hold?.status === 'active') throw new Error('Confirm or release your current hold first.');
  const seats = [...state.selected].sort();
  const id = state.showtimeId;
  const user = userName();
  state.holding = new Set(seats);
  try {
    const hold = await api('POST', `/api/showtimes/${id}/holds`, { seats, user });
    state.selected.clear();
    if (hold.token) saveStored(HOLD_KEY, { token: hold.token, showtime_id: hold.showtime_id });
    setHold(hold);
  } catch (err) {
    // Seats taken meanwhile: drop them and refresh the map (the live update may lag).
    const taken = err instanceof ApiError && Array.isArray(err.problem.seats) ? err.problem.seats : [];
    taken.forEach((seat) => state.selected.delete(String(seat).toLowerCase()));
    if (taken.length) refreshShowtime(id);
    throw err;
  } finally {
    state.holding.clear();
    if (state.showtime?.id === id) {
      dropTakenSelections(); // after a failure: seats others took meanwhile
      renderSeatMap();
    }
  }
}

/**
 * Stores a hold (with its token, kept from the answer that created it) and starts its
 * countdown. `fresh`: just created, so count its lifetime from now (immune to clock skew with
 * the leader); a hold restored after a reload counts down to expires_at on the local clock.
 */
function setHold(hold, fresh = true) {
  state.hold = hold;
  const expires = Date.parse(hold.expires_at);
  const created = Date.parse(hold.created_at);
  state.holdDeadline = fresh && Number.isFinite(created) && expires > created
    ? Date.now() + (expires - created) : expires;
  renderHold();
  clearInterval(state.countdownTimer);
  state.countdownTimer = setInterval(tickCountdown, 250);
  tickCountdown();
  if (state.showtime) renderSeatMap();
}

function renderHold() {
  const h = state.hold;
  ui.holdPanel.hidden = !h;
  if (!h) return;
  const summary = state.summaries.find((s) => s.id === h.showtime_id);
  ui.holdInfo.textContent = `${h.seats.join(', ')} for ${h.user}`
    + (summary ? ` · ${summary.movie?.title ?? ''}, ${formatTime(summary.starts_at)}` : '');
  ui.holdPanel.dataset.status = h.status;
}

function tickCountdown() {
  const left = state.holdDeadline - Date.now();
  ui.countdown.textContent = formatCountdown(left);
  if (left <= 0) {
    clearInterval(state.countdownTimer);
    if (state.hold) state.hold.status = 'expired';
    ui.holdPanel.dataset.status = 'expired';
    ui.countdown.textContent = '00:00 — hold expired';
    showNotice('Your hold expired; the seats were released.');
    if (state.showtime) renderSeatMap();
  }
  setButtonsDisabled(state.busy);
}

async function confirmHold() {
  const h = state.hold;
  const booking = await api('POST', `/api/holds/${encodeURIComponent(h.token)}/confirm`);
  endHold();
  rememberBooking(booking);
  setBooking(booking);
  addMyBooking(booking);
}

async function releaseHold() {
  const h = state.hold;
  await api('DELETE', `/api/holds/${encodeURIComponent(h.token)}`);
  endHold();
  showNotice(`Released ${h.seats.join(', ')}.`);
}

function endHold() {
  clearInterval(state.countdownTimer);
  state.hold = null;
  saveStored(HOLD_KEY, null);
  renderHold();
  if (state.showtime) renderSeatMap();
}

// ---------- bookings ----------

function setBooking(booking) {
  // Keep the token: answers after the creating one (a cancellation) carry none.
  state.booking = { ...booking, token: booking.token ?? state.booking?.token };
  const st = state.summaries.find((s) => s.id === booking.showtime_id) || state.showtime;
  const rows = [
    ['Booking', `#${booking.id}`],
    ['Seats', booking.seats.join(', ')],
    ['Total', formatPrice(booking.price_cents, st?.currency)],
    ['Name', booking.user],
    ['Status', booking.status],
  ];
  ui.bookingInfo.replaceChildren(...rows.flatMap(([k, v]) => [el('dt', {}, k), el('dd', {}, v)]));
  ui.bookingPanel.dataset.status = booking.status;
  ui.bookingPanel.hidden = false;
  setButtonsDisabled(state.busy);
}

/** Cancels a booking with its token. */
async function cancelWithToken(b) {
  const cancelled = await api('DELETE', `/api/bookings/${b.id}`, undefined, b.token);
  const kept = { ...cancelled, token: b.token };
  if (state.booking?.id === b.id) setBooking(kept);
  addMyBooking(kept);
  showNotice(`Booking #${b.id} cancelled.`);
}

async function cancelBooking() {
  await cancelWithToken(state.booking);
}

// ---------- my bookings ----------

/** Adds or replaces a booking in "my bookings". */
function addMyBooking(booking) {
  state.myBookings = state.myBookings.filter((b) => b.id !== booking.id);
  state.myBookings.push(booking);
  state.myBookings.sort((a, b) => a.id - b.id);
  renderMyBookings();
}

function renderMyBookings() {
  ui.myBookings.hidden = !state.myBookings.length;
  ui.myBookingsList.replaceChildren(...state.myBookings.map((b) => {
    const summary = state.summaries.find((s) => s.id === b.showtime_id);
    const what = summary ? `${summary.movie?.title ?? ''}, ${formatTime(summary.starts_at)}` : `showtime ${b.showtime_id}`;
    return el('li', { 'data-testid': `my-booking-${b.id}`, 'data-status': b.status },
      el('span', { class: 'mb-text' }, `#${b.id} · ${b.seats.join(', ')} · ${what} · ${b.status}`),
      b.status === 'confirmed'
        ? el('button', { type: 'button', class: 'danger', onclick: () => busy(() => cancelWithToken(b)) }, 'Cancel')
        : null);
  }));
}

/** Reads every stored booking with its token; forgets those the API no longer knows. */
async function loadMyBookings() {
  const stored = loadStored(BOOKINGS_KEY, []).filter((b) => b && Number.isInteger(b.id) && typeof b.token === 'string');
  for (const { id, token } of stored) {
    try {
      const booking = await api('GET', `/api/bookings/${id}`, undefined, token);
      addMyBooking({ ...booking, token });
    } catch (err) {
      if (err instanceof ApiError && (err.status === 404 || err.status === 401)) forgetBooking(id);
      else console.warn('could not load booking', id, err);
    }
  }
}

/** Shows the hold stored before a reload, if it is still active. */
async function restoreHold() {
  const stored = loadStored(HOLD_KEY, null);
  if (!stored || typeof stored.token !== 'string') return;
  try {
    const hold = await api('GET', `/api/holds/${encodeURIComponent(stored.token)}`);
    if (hold.status === 'active') {
      setHold({ ...hold, token: stored.token }, false);
      return;
    }
  } catch (err) {
    console.warn('stored hold not found', err);
  }
  saveStored(HOLD_KEY, null);
}

// ---------- live updates ----------

function setLive(status) {
  ui.live.dataset.state = status;
  ui.live.textContent = status;
}

/** Subscribes to the showtime's event stream; the browser resumes with Last-Event-ID. */
function connectEvents(id) {
  closeEvents();
  const es = new EventSource(`/api/showtimes/${id}/events`);
  state.events = es;
  setLive('connecting');
  es.onopen = () => setLive('live');
  es.addEventListener('showtime', (ev) => {
    try {
      applyShowtime(JSON.parse(ev.data));
      setLive('live');
    } catch (err) {
      console.warn('bad showtime event', err);
    }
  });
  es.onerror = () => {
    if (es.readyState === EventSource.CLOSED) {
      // The browser gave up (e.g. a non-200 answer): retry ourselves a bit later.
      setLive('reconnecting');
      clearTimeout(state.reconnectTimer);
      state.reconnectTimer = setTimeout(() => {
        if (state.events === es && state.showtimeId === id) connectEvents(id);
      }, 3000);
    } else {
      setLive('reconnecting');
    }
  };
}

function closeEvents() {
  clearTimeout(state.reconnectTimer);
  if (state.events) state.events.close();
  state.events = null;
  setLive('offline');
}

// ---------- start ----------

function init() {
  initUser();
  ui.map.addEventListener('click', onSeatClick);
  ui.holdButton.addEventListener('click', () => busy(holdSeats));
  ui.confirmButton.addEventListener('click', () => busy(confirmHold));
  ui.releaseButton.addEventListener('click', () => busy(releaseHold));
  ui.cancelButton.addEventListener('click', () => busy(cancelBooking));
  $('.alert-close').addEventListener('click', clearError);
  window.addEventListener('hashchange', openFromHash);
  loadShowtimes();
  openFromHash();
  loadMyBookings();
  restoreHold();
}

init();
