//! The first-start showtimes and their dates, relative to the cluster's first log time.
//!
//! Fixed dates would turn the demo showtimes into past ones within days, and the plugin cannot
//! read a clock: time reaches it only as the log time of each entry. So a fresh state holds the
//! showtimes undated (starting at 0, the Unix epoch) with its plugin clock at 0, and reports a
//! next deadline that is already due ([`State::next_deadline`]), so the leader appends a clock
//! tick as soon as the plugin is installed. The first applied entry with a log time `T` (that
//! tick, or any command that comes first) dates them before anything else happens
//! ([`date_first_showtimes`]). Every replica applies that entry with the same `T`, so every
//! replica computes the same dates from the log alone, and no new state field is needed: a
//! plugin clock of 0 means "no entry applied yet", and snapshots of both formats carry the clock.
//!
//! # Schedule
//!
//! All times are UTC, on whole hours or half hours, so the list looks like a real programme:
//!
//! ```text
//! showtime 1 (demo)   the first whole hour at least one hour after T
//! showtime 2          day D at 20:00
//! showtime 3          day D + 1 at 19:30
//! showtime 4          day D + 2 at 20:00
//! showtime 5          day D + 3 at 17:00
//! ```
//!
//! where `D` is the day of `T` when `T` is before 16:00, else the next day. Every showtime thus
//! starts at least an hour after `T`: the console's `a1` books into an upcoming showtime at once.

use crate::state::{State, DEMO_SHOWTIME};

/// One hour in ms.
const HOUR_MS: u64 = 3_600_000;

/// One day in ms.
const DAY_MS: u64 = 24 * HOUR_MS;

/// Log time before which the evening showtimes start on the same day: 16:00 UTC.
const SAME_DAY_BEFORE_MS: u64 = 16 * HOUR_MS;

/// The first-start showtimes: `(id, movie, theater, price_cents)`; showtime 1 is the demo's.
pub const FIRST_SHOWTIMES: [(u32, u32, u32, u32); 5] = [
    (DEMO_SHOWTIME, 4, 5, 900),
    (2, 1, 1, 1200),
    (3, 2, 2, 1100),
    (4, 3, 3, 1300),
    (5, 4, 4, 2500),
];

/// Showtimes 2 to 5: `(id, days after day D, minutes after midnight UTC)`.
const EVENINGS: [(u32, u64, u64); 4] = [
    (2, 0, 20 * 60),
    (3, 1, 19 * 60 + 30),
    (4, 2, 20 * 60),
    (5, 3, 17 * 60),
];

/// The start of each first-start showtime when the first log time is `first_ms`, as
/// `(id, starts_at_ms)` (see the module documentation).
pub fn first_dates(first_ms: u64) -> Vec<(u32, u64)> {
    let demo = first_ms
        .saturating_add(HOUR_MS)
        .div_ceil(HOUR_MS)
        .saturating_mul(HOUR_MS);
    let today = first_ms - first_ms % DAY_MS;
    let day = if first_ms % DAY_MS < SAME_DAY_BEFORE_MS {
        today
    } else {
        today.saturating_add(DAY_MS)
    };
    let mut dates = vec![(DEMO_SHOWTIME, demo)];
    dates.extend(EVENINGS.iter().map(|&(id, days, minutes)| {
        (
            id,
            day.saturating_add(days * DAY_MS)
                .saturating_add(minutes * 60_000),
        )
    }));
    dates
}

/// Dates the first-start showtimes when `state` has applied no entry yet (its clock is 0) and
/// `now_ms`, the log time of the entry being applied, is a time at all. Must run before the
/// clock moves. Answers the ids of the showtimes it dated (their live views changed).
pub fn date_first_showtimes(state: &mut State, now_ms: u64) -> Vec<u32> {
    if state.clock_ms != 0 || now_ms == 0 {
        return Vec::new();
    }
    let mut dated = Vec::new();
    for (id, starts_at_ms) in first_dates(now_ms) {
        if let Some(showtime) = state.showtimes.get_mut(&id) {
            showtime.starts_at_ms = starts_at_ms;
            dated.push(id);
        }
    }
    dated
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::timefmt::{parse_rfc3339, rfc3339};

    /// The dates for a first log time given as RFC 3339, as RFC 3339.
    fn dates(first: &str) -> Vec<(u32, String)> {
        let first = parse_rfc3339(first).unwrap_or_else(|e| panic!("{e}"));
        first_dates(first)
            .into_iter()
            .map(|(id, at)| (id, rfc3339(at)))
            .collect()
    }

    #[test]
    fn a_morning_start_shows_tonight_and_the_next_three_days() {
        assert_eq!(
            dates("2027-03-10T09:12:34.567Z"),
            [
                (1, "2027-03-10T11:00:00Z".to_string()),
                (2, "2027-03-10T20:00:00Z".to_string()),
                (3, "2027-03-11T19:30:00Z".to_string()),
                (4, "2027-03-12T20:00:00Z".to_string()),
                (5, "2027-03-13T17:00:00Z".to_string()),
            ]
        );
    }

    #[test]
    fn an_evening_start_moves_the_programme_to_tomorrow() {
        assert_eq!(
            dates("2026-12-31T23:30:00Z"),
            [
                (1, "2027-01-01T01:00:00Z".to_string()),
                (2, "2027-01-01T20:00:00Z".to_string()),
                (3, "2027-01-02T19:30:00Z".to_string()),
                (4, "2027-01-03T20:00:00Z".to_string()),
                (5, "2027-01-04T17:00:00Z".to_string()),
            ]
        );
        // A whole hour an hour away stays a whole hour: 16:00 sharp gives 17:00.
        assert_eq!(dates("2026-12-01T16:00:00Z")[0].1, "2026-12-01T17:00:00Z");
    }

    #[test]
    fn every_showtime_starts_at_least_an_hour_after_the_first_entry() {
        // Every minute of a day, plus the edges of the u64 range.
        let day = parse_rfc3339("2026-12-01T00:00:00Z").unwrap_or(0);
        for minute in 0..(24 * 60) {
            let first = day + minute * 60_000 + 17;
            for (id, at) in first_dates(first) {
                assert!(at >= first + HOUR_MS, "showtime {id} at {minute}");
                assert_eq!(at % (30 * 60_000), 0, "showtime {id} on a half hour");
            }
        }
        assert_eq!(first_dates(u64::MAX).len(), 5);
    }

    #[test]
    fn only_a_state_that_applied_nothing_is_dated() {
        let mut state = State::default();
        assert!(state.showtimes.values().all(|s| s.starts_at_ms == 0));
        assert!(
            date_first_showtimes(&mut state, 0).is_empty(),
            "no log time"
        );
        let t = parse_rfc3339("2027-03-10T09:00:00Z").unwrap_or(1);
        assert_eq!(date_first_showtimes(&mut state, t), [1, 2, 3, 4, 5]);
        assert_eq!(
            rfc3339(state.showtimes[&1].starts_at_ms),
            "2027-03-10T10:00:00Z"
        );
        state.clock_ms = t;
        assert!(date_first_showtimes(&mut state, t + DAY_MS).is_empty());
        assert_eq!(
            rfc3339(state.showtimes[&2].starts_at_ms),
            "2027-03-10T20:00:00Z"
        );
    }
}
