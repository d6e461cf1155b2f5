//! Every bound the plugin enforces on its state and on the cost of one call, in one place.
//!
//! The state lives in one WebAssembly instance with a memory cap, and every call runs on a fuel
//! budget (the host's default: 50,000,000 units per call), so nothing a client or an admin sends
//! may make the state grow without bound or one answer cost more than a small fraction of that
//! budget. Each constant says what it bounds; `docs/http-api.md` lists them for clients.

/// Most movies the catalog holds (409 `/problems/catalog-full` beyond).
pub const MAX_MOVIES: usize = 1_000;

/// Most theaters the catalog holds.
pub const MAX_THEATERS: usize = 500;

/// Most showtimes the state holds (a multiplex's season needs about 10,000).
pub const MAX_SHOWTIMES: usize = 20_000;

/// Most rows a hall may have: one per letter `a` to `z`.
pub const MAX_ROWS: usize = 26;

/// Most seats a single row may have.
pub const MAX_SEATS_PER_ROW: u16 = 100;

/// Most seats a hall may have ([`MAX_ROWS`] full rows).
pub const MAX_SEATS_PER_HALL: u32 = MAX_ROWS as u32 * MAX_SEATS_PER_ROW as u32;

/// Highest movie, theater or showtime id: a chosen id above it is refused (400), and an
/// automatic id (one past the highest in use) above it is refused as exhausted (409), so id
/// arithmetic never overflows.
pub const MAX_ID: u32 = 2_000_000_000;

/// Items in a page of a list when the request names no `limit`.
pub const DEFAULT_PAGE_ITEMS: u32 = 100;

/// Most items one page of a list may hold (`?limit=` above it is refused).
pub const MAX_PAGE_ITEMS: u32 = 500;

/// Most candidates one page of a filtered list examines. A filter that matches rarely then
/// answers a short page whose `next` cursor resumes the scan, instead of walking the whole state
/// in one call.
pub const MAX_PAGE_SCAN: usize = 10_000;

/// Seats one customer (by `user` name) may hold or book in one showtime when no admin changed
/// the setting.
pub const DEFAULT_SEATS_PER_CUSTOMER: u32 = 10;

/// Finished holds kept readable at once: beyond it the oldest are forgotten before their day of
/// retention is over, so hold/release churn cannot grow the state without bound.
pub const MAX_RETAINED_HOLDS: usize = 100_000;

/// Cancelled bookings kept readable at once (as [`MAX_RETAINED_HOLDS`]).
pub const MAX_RETAINED_BOOKINGS: usize = 100_000;

/// Changes kept per showtime in its activity list; older ones are dropped.
pub const MAX_ACTIVITY: usize = 100;

/// How long finished holds and cancelled bookings stay readable: 24 hours of log time.
pub const RETENTION_MS: u64 = 24 * 3600 * 1000;

/// Most holds one entry expires. A sweep that finds more due holds leaves the rest for the next
/// entries (their deadline has passed, so the leader appends a tick at once), so that one entry
/// never runs out of fuel however many holds were made to expire at the same millisecond.
pub const MAX_EXPIRIES_PER_ENTRY: usize = 500;

/// Most retained records (finished holds, cancelled bookings) one entry forgets, for the same
/// reason.
pub const MAX_PRUNES_PER_ENTRY: usize = 2_000;
