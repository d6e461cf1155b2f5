// Seat picker: plain ES2020, no dependencies. Talks to the node's /api (docs/http-api.md).
// Loaded as a classic deferred script (no module MIME-type strictness), so the DOM is ready.
//
// Views have real addresses (History API): / and /showtimes (the list), /movies, /movies/ID,
// /movies/ID/seats (the movie's next showtime), /showtimes/ID (its seat map) and /bookings
// ("My bookings"). The plugin serves this same page at each of them, so links can be shared.
//
// The rules' numbers (seats per request and per customer, hold time) come from the plugin
// (GET /api/limits); none is written here. Without that endpoint the page falls back to the
// per-customer limit of GET /api/settings and leaves the rest to the API's answers.
//
// Holds and bookings belong to whoever has their token, which the API shows once, in the answer
// that created them. The page keeps the tokens it received in memory and in localStorage (keys
// below), so that after a reload it can still show "My bookings" (each read with its token) and
// the current hold, and cancel with the booking's token. It needs no admin role.
'use strict';

const USER_KEY = 'seat-picker.user';
const HOLD_KEY = 'seat-picker.hold';          // {token, showtime_id} of the current hold
const BOOKINGS_KEY = 'seat-picker.bookings';  // [{id, token}] of the bookings made here

const $ = (sel, root = document) => root.querySelector(sel);
const byTestId = (id) => $(`[data-testid="${id}"]`);

const ui = {
  list: byTestId('showtime-list'),
  dateFilter: byTestId('date-filter'),
  movieFilter: $('.movie-filter'),
  movieFilterTitle: $('.movie-filter-title'),
  heading: $('#picker-h'),
  placeholder: byTestId('placeholder'),
  movieList: byTestId('movie-list'),
  movie: byTestId('movie-details'),
  seatsArea: byTestId('seats-area'),
  pastNotice: byTestId('past-notice'),
  controls: $('.booking-controls'),
  best: byTestId('best'),
  bestCount: byTestId('best-count'),
  bestButton: byTestId('best-button'),
  map: byTestId('seat-map'),
  scrollHint: byTestId('scroll-hint'),
  user: byTestId('user-name'),
  selection: byTestId('selection'),
  limitHint: byTestId('limit-hint'),
  actions: $('.actions'),
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
  myBookingsEmpty: byTestId('my-bookings-empty'),
  myBookingsList: $('.my-bookings-list'),
  error: byTestId('error'),
  errorText: $('.alert-text'),
  notice: byTestId('notice'),
  live: byTestId('live-status'),
};

const state = {
  route: { view: 'home' }, // the parsed address (parseRoute)
  summaries: [],          // ShowtimeSummary[] from GET /api/showtimes
  summariesLoaded: null,  // Promise of the first load of `summaries`
  movieSummaries: null,   // MovieSummary[] from GET /api/movies, once the movie list is opened
  movies: new Map(),      // movie id -> Movie (cache)
  limits: null,           // the rules' limits: GET /api/limits, else a fallback (loadLimits)
  limitsSource: null,     // 'limits' | 'settings' | null (nothing known)
  showtimeId: null,       // the open showtime
  showtime: null,         // its latest Showtime JSON
  selected: new Set(),    // seat names the user picked
  focusSeat: null,        // the seat of the grid's single tab stop (roving tabindex)
  holding: new Set(),     // seats of a hold request in flight (our own, not "taken")
  events: null,           // EventSource of the open showtime
  reconnectTimer: 0,
  hold: null,             // the user's current Hold
  holdDeadline: 0,        // local clock ms when the hold runs out
  countdownTimer: 0,
  booking: null,          // the user's latest Booking (with its token)
  myBookings: [],         // Booking JSON (with token) of every booking made on this browser
  myBookingsLoaded: false,
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

function hideNotice() {
  clearTimeout(noticeTimer);
  ui.notice.hidden = true;
}

/** Shows a short-lived informational notice (role=status). */
function showNotice(text) {
  ui.notice.textContent = text;
  ui.notice.hidden = false;
  clearTimeout(noticeTimer);
  noticeTimer = setTimeout(() => { ui.notice.hidden = true; }, 8000);
}

// ---------- formatting ----------

const dateFmt = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
const dayFmt = new Intl.DateTimeFormat(undefined, { weekday: 'short', day: 'numeric', month: 'short' });

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

/** The local calendar day of an ISO time, as YYYY-MM-DD (the date filter's values). */
function dayKey(iso) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  const pad = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

/** Has the showtime started, by the browser's clock? Started showtimes are not offered. */
function isPast(showtime) {
  const starts = Date.parse(showtime?.starts_at);
  return Number.isFinite(starts) && starts <= Date.now();
}

/** Seat names in natural order: by row letter, then by number (g1, g2, g10). */
function sortSeats(seats) {
  const key = (s) => {
    const m = /^([a-z]+)(\d+)$/i.exec(s);
    return m ? [m[1].toLowerCase(), Number(m[2])] : [String(s), 0];
  };
  return [...seats].sort((a, b) => {
    const [ra, na] = key(a);
    const [rb, nb] = key(b);
    return ra === rb ? na - nb : (ra < rb ? -1 : 1);
  });
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

/** A link the page follows itself (pushState), so the address changes without a reload. */
function link(href, attrs, ...children) {
  return el('a', { href, 'data-link': true, ...attrs }, ...children);
}

// ---------- addresses (History API) ----------

/** The view an address names; unknown addresses show the landing view. */
function parseRoute(pathname) {
  const path = pathname.replace(/\/+$/, '') || '/';
  const patterns = [
    [/^\/$/, () => ({ view: 'home' })],
    [/^\/showtimes$/, () => ({ view: 'showtimes' })],
    [/^\/showtimes\/(\d+)$/, (m) => ({ view: 'showtime', showtime: Number(m[1]) })],
    [/^\/movies$/, () => ({ view: 'movies' })],
    [/^\/movies\/(\d+)$/, (m) => ({ view: 'movie', movie: Number(m[1]) })],
    [/^\/movies\/(\d+)\/seats$/, (m) => ({ view: 'movie-seats', movie: Number(m[1]) })],
    [/^\/bookings$/, () => ({ view: 'bookings' })],
  ];
  for (const [re, make] of patterns) {
    const m = re.exec(path);
    if (m) return make(m);
  }
  return { view: 'home' };
}

/** Goes to an address of the page; `focus`: move focus into the new view (a user's choice). */
function navigate(path, { focus = false } = {}) {
  if (path !== location.pathname) history.pushState(null, '', path);
  showRoute({ focus });
}

/** Follows clicks on the page's own links without a reload (modified clicks open as usual). */
function onLinkClick(event) {
  const a = event.target.closest('a[data-link]');
  if (!a || event.defaultPrevented || event.button !== 0) return;
  if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  event.preventDefault();
  navigate(new URL(a.href).pathname, { focus: true });
}

/** Old addresses (#showtime=N) become /showtimes/N. */
function upgradeHashAddress() {
  const m = /(?:^#|&)showtime=(\d+)/.exec(location.hash);
  if (m) history.replaceState(null, '', `/showtimes/${m[1]}`);
}

/** Shows the view of the current address. */
async function showRoute({ focus = false } = {}) {
  const route = parseRoute(location.pathname);
  state.route = route;
  document.body.dataset.view = route.view;
  renderNav();
  ui.movieList.hidden = !['home', 'showtimes', 'movies'].includes(route.view); // the list views offer movies too
  ui.myBookings.hidden = route.view !== 'bookings';
  ui.placeholder.hidden = !['home', 'showtimes'].includes(route.view);
  renderMovieFilter();
  renderShowtimes();
  renderBookingPanel();
  if (!ui.movieList.hidden) loadMovieList();
  if (route.view === 'bookings') renderMyBookings();
  const movieId = route.movie ?? null;
  const showtimeId = route.view === 'showtime' ? route.showtime
    : route.view === 'movie-seats' ? await nextShowtimeOf(movieId) : null;
  if (state.route !== route) return; // the user moved on meanwhile
  if (showtimeId != null) {
    if (showtimeId !== state.showtimeId) await openShowtime(showtimeId, { focus });
    else if (focus) focusGrid();
  } else {
    closeShowtime();
    if (movieId != null) loadMovie(movieId);
    else ui.movie.hidden = true;
    if (route.view === 'movie-seats') showNotice('This movie has no upcoming showtime.');
  }
  renderHeading();
  if (focus && showtimeId == null) ui.heading.focus({ preventScroll: false });
}

function renderNav() {
  const view = state.route.view;
  const current = {
    'nav-showtimes': ['home', 'showtimes', 'showtime'].includes(view),
    'nav-movies': ['movies', 'movie', 'movie-seats'].includes(view),
    'nav-bookings': view === 'bookings',
  };
  for (const [id, on] of Object.entries(current)) {
    const a = byTestId(id);
    if (on) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
}

/** The main panel's heading and the document title follow the view. */
function renderHeading() {
  const { view } = state.route;
  const st = state.showtime;
  const titles = {
    home: 'Pick your seats',
    showtimes: 'Pick your seats',
    movies: 'Movies',
    movie: 'Movie',
    bookings: 'My bookings',
  };
  const movie = state.movies.get(state.route.movie);
  const what = view === 'movie' ? movie?.title
    : st ? `${st.movie?.title ?? 'Showtime'}, ${formatTime(st.starts_at)}`
      : titles[view];
  ui.heading.textContent = titles[view] ?? 'Pick your seats';
  document.title = view === 'home' || !what ? 'Seat picker' : `${what} · Seat picker`;
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
    all.sort((a, b) => Date.parse(a.starts_at) - Date.parse(b.starts_at) || a.id - b.id);
    state.summaries = all;
    renderDateOptions();
    renderShowtimes();
    renderMyBookings();
    renderHold(); // a hold restored before the list came names its showtime now
  } catch (err) {
    showError(err);
  } finally {
    ui.list.removeAttribute('aria-busy');
  }
}

/** The first upcoming showtime of a movie (for /movies/ID/seats); null if none. */
async function nextShowtimeOf(movieId) {
  await state.summariesLoaded;
  return state.summaries.find((s) => s.movie?.id === movieId && !isPast(s))?.id ?? null;
}

/** One option per day that has showtimes, after "All dates" and "Upcoming only". */
function renderDateOptions() {
  const chosen = ui.dateFilter.value;
  const days = [...new Set(state.summaries.map((s) => dayKey(s.starts_at)).filter(Boolean))];
  const fixed = [...ui.dateFilter.options].slice(0, 2);
  ui.dateFilter.replaceChildren(...fixed, ...days.map((day) => el('option', { value: day },
    dayFmt.format(new Date(`${day}T12:00:00`)))));
  ui.dateFilter.value = [...ui.dateFilter.options].some((o) => o.value === chosen) ? chosen : 'all';
}

/** The showtimes the list shows: the date filter, and the movie of a movie view. */
function visibleShowtimes() {
  const filter = ui.dateFilter.value;
  const movie = state.route.movie;
  return state.summaries.filter((s) => (movie == null || s.movie?.id === movie)
    && (filter === 'all' || (filter === 'upcoming' ? !isPast(s) : dayKey(s.starts_at) === filter)));
}

function renderMovieFilter() {
  const movie = state.route.movie;
  ui.movieFilter.hidden = movie == null;
  if (movie == null) return;
  const title = state.movies.get(movie)?.title
    ?? state.summaries.find((s) => s.movie?.id === movie)?.movie?.title ?? `movie ${movie}`;
  ui.movieFilterTitle.textContent = title;
}

function renderShowtimes() {
  const shown = visibleShowtimes();
  ui.list.replaceChildren(...shown.map(showtimeItem));
  if (!shown.length) {
    ui.list.append(el('li', { class: 'empty' }, state.summaries.length
      ? 'No showtimes match this filter.' : 'No showtimes yet.'));
  }
}

function showtimeItem(s) {
  const past = isPast(s);
  const current = s.id === state.showtimeId;
  return el('li', {},
    link(`/showtimes/${s.id}`, {
      class: `showtime${past ? ' past' : ''}`,
      'data-testid': `showtime-${s.id}`,
      'data-past': past ? 'true' : 'false',
      'aria-current': current ? 'true' : false,
    },
    el('span', { class: 'st-title' }, s.movie?.title ?? `Movie ${s.movie?.id}`),
    el('span', { class: 'st-when' }, el('time', { datetime: s.starts_at }, formatTime(s.starts_at))),
    el('span', { class: 'st-where' }, s.theater?.name ?? ''),
    el('span', { class: 'st-meta' },
      past ? el('span', { class: 'badge past-badge' }, 'Started') : null,
      el('span', { class: 'price' }, formatPrice(s.price_cents, s.currency)),
      past ? null : el('span', { class: 'free' }, `${s.free} of ${s.capacity} free`))));
}

/** Keeps the list item of a showtime in step with a live update. */
function updateSummary(showtime) {
  const i = state.summaries.findIndex((s) => s.id === showtime.id);
  if (i < 0) return;
  const { seats, rows, version, ...summary } = showtime;
  state.summaries[i] = { ...state.summaries[i], ...summary };
  renderShowtimes();
}

// ---------- movies ----------

/** The movie list of /movies (loaded once). */
async function loadMovieList() {
  if (!state.movieSummaries) {
    try {
      const data = await api('GET', '/api/movies?limit=500');
      state.movieSummaries = data.movies || [];
    } catch (err) {
      showError(err);
      return;
    }
  }
  await state.summariesLoaded;
  renderMovieList();
}

function renderMovieList() {
  ui.movieList.replaceChildren(...state.movieSummaries.map((m) => {
    const upcoming = state.summaries.filter((s) => s.movie?.id === m.id && !isPast(s)).length;
    return el('li', {}, link(`/movies/${m.id}`, { class: 'movie-card', 'data-testid': `movie-${m.id}` },
      el('span', { class: 'mc-title' }, m.title),
      el('span', { class: 'mc-meta' }, [m.year, m.duration_minutes ? `${m.duration_minutes} min` : null,
        m.age_rating].filter(Boolean).join(' · ')),
      el('span', { class: 'mc-count' }, upcoming
        ? `${upcoming} upcoming showtime${upcoming > 1 ? 's' : ''}` : 'No upcoming showtime')));
  }));
  if (!state.movieSummaries.length) ui.movieList.append(el('li', { class: 'empty' }, 'No movies yet.'));
}

async function loadMovie(movieId) {
  if (movieId == null) return;
  try {
    let movie = state.movies.get(movieId);
    if (!movie) {
      movie = await api('GET', `/api/movies/${movieId}`);
      state.movies.set(movieId, movie);
    }
    const wanted = state.route.movie ?? state.showtime?.movie?.id;
    if (wanted === movieId) {
      renderMovie(movie);
      renderMovieFilter();
      renderHeading();
    }
  } catch (err) {
    showError(err);
  }
}

function renderMovie(m) {
  const list = (xs) => (Array.isArray(xs) && xs.length ? xs.join(', ') : '—');
  const s = state.showtime?.movie?.id === m.id ? state.showtime : null;
  const next = state.summaries.find((x) => x.movie?.id === m.id && !isPast(x));
  const facts = [
    ['Year', m.year], ['Duration', m.duration_minutes ? `${m.duration_minutes} min` : '—'],
    ['Genres', list(m.genres)], ['Director', m.director || '—'], ['Cast', list(m.cast)],
    ['Languages', list(m.languages)], ['Age rating', m.age_rating || '—'],
  ];
  ui.movie.replaceChildren(...[
    el('h3', {}, link(`/movies/${m.id}`, { class: 'movie-link' }, m.title), ' ',
      el('span', { class: 'year' }, `(${m.year ?? '?'})`)),
    s ? el('p', { class: 'when' }, `${formatTime(s.starts_at)} · ${s.theater?.name ?? ''} · `
      + `${formatPrice(s.price_cents, s.currency)} per seat`) : null,
    !s && next ? el('p', { class: 'when' }, link(`/movies/${m.id}/seats`, { 'data-testid': 'next-showtime-link' },
      `Pick seats for the next showtime (${formatTime(next.starts_at)})`)) : null,
    // On a seat map the facts fold away, so the map stays near the top on a phone.
    el('details', { class: 'facts', open: !s },
      el('summary', {}, 'About the movie'),
      el('dl', {}, ...facts.flatMap(([k, v]) => [el('dt', {}, k), el('dd', {}, String(v ?? '—'))])),
      m.synopsis ? el('p', { class: 'synopsis' }, m.synopsis) : null),
  ].filter(Boolean));
  ui.movie.dataset.movie = String(m.id);
  ui.movie.hidden = false;
}

// ---------- the rules' limits ----------

/**
 * Reads the running rules' limits from the plugin. Plugins without GET /api/limits still
 * publish the per-customer limit in GET /api/settings; anything else stays unknown (the API
 * then refuses what the rules refuse, and the page shows its answer).
 */
async function loadLimits() {
  try {
    state.limits = await api('GET', '/api/limits');
    state.limitsSource = 'limits';
  } catch (err) {
    if (!(err instanceof ApiError && err.status === 404)) console.warn('limits', err);
    try {
      const settings = await api('GET', '/api/settings');
      state.limits = { max_seats_per_customer: settings.max_seats_per_customer };
      state.limitsSource = 'settings';
    } catch (err2) {
      console.warn('settings', err2);
      state.limits = {};
      state.limitsSource = null;
    }
  }
  renderLimits();
}

/** The most seats one selection may have under the known limits (Infinity if none known). */
function seatCap() {
  const l = state.limits || {};
  const caps = [l.max_seats_per_request, l.max_seats_per_customer].filter(
    (n) => Number.isInteger(n) && n > 0);
  return caps.length ? Math.min(...caps) : Infinity;
}

function renderLimits() {
  const l = state.limits || {};
  const cap = seatCap();
  const parts = [];
  if (Number.isFinite(cap)) parts.push(`Up to ${cap} seat${cap > 1 ? 's' : ''} per booking.`);
  if (Number.isInteger(l.hold_ms) && l.hold_ms > 0) {
    parts.push(`A hold keeps your seats for ${Math.round(l.hold_ms / 60000)} min.`);
  }
  if (l.no_stranded_seats) parts.push('Leave no single empty seat between taken ones.');
  if (l.rules_version != null) parts.push(`Rules v${l.rules_version}.`);
  ui.limitHint.textContent = parts.join(' ');
  ui.limitHint.dataset.cap = Number.isFinite(cap) ? String(cap) : '';
  // "Best available" needs the plugin's /best endpoint, which comes with /api/limits.
  ui.best.hidden = state.limitsSource !== 'limits';
  if (Number.isFinite(cap)) {
    ui.bestCount.max = String(cap);
    if (Number(ui.bestCount.value) > cap) ui.bestCount.value = String(cap);
  }
  if (state.showtime) renderSelection();
}

// ---------- opening a showtime ----------

async function openShowtime(id, { focus = false } = {}) {
  closeEvents();
  state.showtimeId = id;
  state.showtime = null;
  state.selected.clear();
  state.focusSeat = null;
  clearError();
  renderShowtimes();
  ui.map.replaceChildren(el('p', { class: 'loading' }, 'Loading seats…'));
  ui.seatsArea.hidden = false;
  try {
    const showtime = await api('GET', `/api/showtimes/${id}`);
    if (state.showtimeId !== id) return; // the user moved on meanwhile
    applyShowtime(showtime);
    connectEvents(id);
    loadMovie(showtime.movie?.id);
    renderHeading();
    renderBookingPanel();
    if (focus) focusGrid();
  } catch (err) {
    if (state.showtimeId !== id) return;
    ui.map.replaceChildren(el('p', { class: 'loading' }, 'Could not load this showtime.'));
    showError(err);
  }
}

function closeShowtime() {
  closeEvents();
  state.showtimeId = null;
  state.showtime = null;
  state.selected.clear();
  ui.seatsArea.hidden = true;
  renderShowtimes();
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
  const lost = sortSeats([...state.selected]
    .filter((seat) => seats.get(seat) !== 'free' && !state.holding.has(seat)));
  if (!lost.length) return;
  lost.forEach((seat) => state.selected.delete(seat));
  showNotice(`Seat${lost.length > 1 ? 's' : ''} ${lost.join(', ')} ${lost.length > 1 ? 'were' : 'was'} `
    + 'just taken by someone else and removed from your selection.');
}

/** The showtime's seats grouped by row, in row and seat order: [[row, Seat[]], ...]. */
function seatRows(st) {
  const rows = new Map((st.rows || []).map((r) => [r.row, []]));
  for (const seat of st.seats) {
    if (!rows.has(seat.row)) rows.set(seat.row, []);
    rows.get(seat.row).push(seat);
  }
  for (const seats of rows.values()) seats.sort((a, b) => a.number - b.number);
  return [...rows];
}

function seatView(seat) {
  if (state.selected.has(seat.seat)) return 'selected';
  return seat.state;
}

/** Can the user book in the open showtime right now? Not once it has started. */
function bookable() {
  return state.showtime != null && !isPast(state.showtime);
}

function seatButton(seat, mine, tabStop) {
  const view = seatView(seat);
  const label = mine.has(seat.seat) ? 'held by you' : view;
  const usable = bookable() && (view === 'free' || view === 'selected');
  return el('button', {
    type: 'button',
    role: 'gridcell',
    class: `seat${mine.has(seat.seat) ? ' mine' : ''}`,
    'data-testid': `seat-${seat.seat}`,
    'data-seat': seat.seat,
    'data-state': view,
    'aria-label': `Seat ${seat.seat.toUpperCase()}, ${label}`,
    'aria-selected': view === 'selected' ? 'true' : 'false',
    'aria-disabled': usable ? false : 'true',
    tabindex: seat.seat === tabStop ? '0' : '-1',
    title: `${seat.seat.toUpperCase()} (${label})`,
  }, String(seat.number));
}

function renderSeatMap() {
  const st = state.showtime;
  const mine = new Set(state.hold?.status === 'active' && state.hold.showtime_id === st.id
    ? state.hold.seats : []);
  const rows = seatRows(st);
  const all = rows.flatMap(([, seats]) => seats.map((s) => s.seat));
  if (!all.includes(state.focusSeat)) state.focusSeat = all[0] ?? null;
  const hadFocus = ui.map.contains(document.activeElement);
  const cols = Math.max(1, ...rows.map(([, seats]) => seats.length));
  ui.map.style.setProperty('--cols', String(cols));
  ui.map.setAttribute('aria-rowcount', String(rows.length));
  ui.map.replaceChildren(...rows.map(([row, seats]) => el('div', { class: 'row', role: 'row' },
    el('span', { class: 'row-label', role: 'rowheader', 'aria-label': `Row ${row.toUpperCase()}` },
      row.toUpperCase()),
    ...seats.map((seat) => seatButton(seat, mine, state.focusSeat)))));
  if (hadFocus) seatElement(state.focusSeat)?.focus({ preventScroll: true });
  const past = !bookable();
  ui.pastNotice.hidden = !past;
  ui.controls.hidden = past;
  ui.actions.hidden = past;
  ui.limitHint.hidden = past;
  updateScrollHint();
  renderSelection();
}

/** Shows the sideways-scroll hint when a row is wider than the map (wide halls on phones). */
function updateScrollHint() {
  ui.scrollHint.hidden = ui.seatsArea.hidden || ui.map.scrollWidth <= ui.map.clientWidth + 1;
}

function seatElement(name) {
  return name ? $(`[data-seat="${name}"]`, ui.map) : null;
}

/** Puts the seat map in view and focus on its tab stop (after the user chose a showtime). */
function focusGrid() {
  const seat = seatElement(state.focusSeat);
  if (!seat) return;
  ui.seatsArea.scrollIntoView({ block: 'start' });
  seat.focus({ preventScroll: true });
}

/** Moves the grid's single tab stop to `name` and focuses it. */
function moveFocus(name) {
  const from = seatElement(state.focusSeat);
  const to = seatElement(name);
  if (!to) return;
  if (from) from.tabIndex = -1;
  to.tabIndex = 0;
  state.focusSeat = name;
  to.focus();
}

/** Arrow keys move across the grid (rows of different lengths clamp), Home/End along a row. */
function onMapKeydown(event) {
  const button = event.target.closest('.seat');
  if (!button) return;
  const rows = [...ui.map.querySelectorAll('.row')].map((r) => [...r.querySelectorAll('.seat')]);
  const r = rows.findIndex((seats) => seats.includes(button));
  const c = rows[r].indexOf(button);
  const at = (row, col) => {
    const seats = rows[Math.max(0, Math.min(rows.length - 1, row))];
    return seats[Math.max(0, Math.min(seats.length - 1, col))];
  };
  const targets = {
    ArrowLeft: () => at(r, c - 1),
    ArrowRight: () => at(r, c + 1),
    ArrowUp: () => at(r - 1, c),
    ArrowDown: () => at(r + 1, c),
    Home: () => (event.ctrlKey ? at(0, 0) : at(r, 0)),
    End: () => (event.ctrlKey ? at(rows.length - 1, Infinity) : at(r, Infinity)),
  };
  if (!targets[event.key]) return;
  event.preventDefault();
  moveFocus(targets[event.key]().dataset.seat);
}

function renderSelection() {
  const seats = sortSeats([...state.selected]);
  const st = state.showtime;
  ui.selection.textContent = seats.length
    ? `${seats.length} seat${seats.length > 1 ? 's' : ''}: ${seats.join(', ')} · `
      + formatPrice(seats.length * st.price_cents, st.currency)
    : 'No seats selected.';
  const holdActive = state.hold?.status === 'active';
  ui.holdButton.disabled = !seats.length || state.busy || holdActive || !bookable();
  ui.holdButton.title = holdActive ? 'Confirm or release your current hold first' : '';
  ui.bestButton.disabled = state.busy || holdActive || !bookable();
}

/** Click (or Space/Enter) on a seat: toggles it in the selection, within the rules' limit. */
function onSeatClick(event) {
  const button = event.target.closest('button.seat');
  if (!button || button.getAttribute('aria-disabled') === 'true') return;
  const seat = button.dataset.seat;
  const cap = seatCap();
  state.focusSeat = seat;
  if (state.selected.has(seat)) {
    state.selected.delete(seat);
  } else if (state.selected.size >= cap) {
    showNotice(`The rules allow at most ${cap} seat${cap > 1 ? 's' : ''} per booking.`);
    return;
  } else {
    state.selected.add(seat);
  }
  renderSeatMap();
  seatElement(seat)?.focus();
}

// ---------- best available ----------

/** Asks the plugin for the best N side-by-side seats and selects them. */
async function bestAvailable() {
  const id = state.showtimeId;
  const count = Number(ui.bestCount.value);
  const cap = seatCap();
  if (!Number.isInteger(count) || count < 1 || count > cap) {
    throw new Error(Number.isFinite(cap) ? `Choose 1 to ${cap} seats.` : 'Choose a number of seats.');
  }
  const best = await api('GET', `/api/showtimes/${id}/best?count=${count}`);
  if (state.showtimeId !== id) return;
  const seats = sortSeats((best.seats || []).map((s) => String(s).toLowerCase()));
  state.selected = new Set(seats);
  state.focusSeat = seats[0] ?? state.focusSeat;
  renderSeatMap();
  showNotice(`Best available: ${seats.join(', ')}.`);
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
  hideNotice(); // a new action makes older notices stale
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
  const seats = sortSeats([...state.selected]);
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
  ui.holdInfo.textContent = `${sortSeats(h.seats).join(', ')} for ${h.user}`
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
  showNotice(`Released ${sortSeats(h.seats).join(', ')}.`);
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
    ['Seats', sortSeats(booking.seats).join(', ')],
    ['Total', formatPrice(booking.price_cents, st?.currency)],
    ['Name', booking.user],
    ['Status', booking.status],
  ];
  ui.bookingInfo.replaceChildren(...rows.flatMap(([k, v]) => [el('dt', {}, k), el('dd', {}, v)]));
  ui.bookingPanel.dataset.status = booking.status;
  renderBookingPanel();
  setButtonsDisabled(state.busy);
}

/** "Your booking" shows on the seat map of the showtime it was made for. */
function renderBookingPanel() {
  ui.bookingPanel.hidden = !state.booking || state.booking.showtime_id !== state.showtimeId
    || !['showtime', 'movie-seats'].includes(state.route.view);
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
  ui.myBookingsEmpty.hidden = !state.myBookingsLoaded || state.myBookings.length > 0;
  ui.myBookingsList.replaceChildren(...state.myBookings.map(myBookingItem));
}

function myBookingItem(b) {
  const summary = state.summaries.find((s) => s.id === b.showtime_id);
  const title = summary?.movie?.title ?? `Showtime ${b.showtime_id}`;
  const cancellable = b.status === 'confirmed' && !(summary && isPast(summary));
  return el('li', { class: 'my-booking', 'data-testid': `my-booking-${b.id}`, 'data-status': b.status },
    el('div', { class: 'mb-text' },
      el('strong', {}, link(`/showtimes/${b.showtime_id}`, {}, title)),
      el('span', {}, summary ? `${formatTime(summary.starts_at)} · ${summary.theater?.name ?? ''}` : ''),
      el('span', {}, `Booking #${b.id} · ${sortSeats(b.seats).join(', ')} · ${b.user}`),
      el('span', { class: `mb-status status-${b.status}` }, b.status)),
    cancellable
      ? el('button', { type: 'button', class: 'danger', onclick: () => busy(() => cancelWithToken(b)) }, 'Cancel')
      : null);
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
  state.myBookingsLoaded = true;
  renderMyBookings();
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
  ui.live.hidden = status === 'offline'; // no showtime open: nothing to be live about
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
  upgradeHashAddress();
  document.addEventListener('click', onLinkClick);
  window.addEventListener('popstate', () => showRoute());
  ui.map.addEventListener('click', onSeatClick);
  ui.map.addEventListener('keydown', onMapKeydown);
  ui.dateFilter.addEventListener('change', renderShowtimes);
  ui.bestButton.addEventListener('click', () => busy(bestAvailable));
  ui.holdButton.addEventListener('click', () => busy(holdSeats));
  ui.confirmButton.addEventListener('click', () => busy(confirmHold));
  ui.releaseButton.addEventListener('click', () => busy(releaseHold));
  ui.cancelButton.addEventListener('click', () => busy(cancelBooking));
  $('.alert-close').addEventListener('click', clearError);
  window.addEventListener('resize', updateScrollHint);
  // A showtime that starts while the page is open stops being offered.
  setInterval(() => {
    renderShowtimes();
    if (state.showtime) renderSeatMap();
  }, 30_000);
  state.summariesLoaded = loadShowtimes();
  loadLimits();
  showRoute();
  loadMyBookings();
  restoreHold();
}

init();
