//! Commands (`machine.apply`): the only way the state changes.
//!
//! Every command is first checked completely against the current state and only then applied, so
//! a refused command leaves the state exactly as it was (the WIT contract for `err`). Checks that
//! need no state ([`Command::check`]) also run in the fronts, so that obviously bad requests are
//! refused before they cost a log entry.
//!
//! Costs: a booking of k seats is O(k log n) lookups and inserts; nothing clones the state.
//!
//! `Command` and `Applied` are postcard-encoded by variant index: new variants (holds, catalog
//! entries, ...) go at the end, never in between, so old log entries keep their meaning.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::contract::LogContext;
use crate::query::ShowtimeSummary;
use crate::rejection::Rejection;
use crate::seat::{Layout, SeatId};
use crate::state::{Booking, Showtime, State};

/// Most seats one booking may take.
pub const MAX_SEATS_PER_BOOKING: usize = 100;

/// Longest user name, in characters.
pub const MAX_USER_CHARS: usize = 64;

/// A change to the state, replicated through the log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Command {
    /// Book seats of one showtime for a user: all of them or none.
    Book {
        /// Showtime id.
        showtime: u32,
        /// Seats to book, in any order, each once.
        seats: Vec<SeatId>,
        /// Who books.
        user: String,
    },
    /// Cancel a booking; only its owner may.
    Cancel {
        /// Booking id.
        booking: u64,
        /// Who asks; must be the booking's user.
        user: String,
    },
    /// Admin: add a showtime with all seats free.
    CreateShowtime {
        /// New showtime id; must be unused.
        showtime: u32,
        /// Seats per row.
        layout: Layout,
    },
    /// Admin: remove a showtime that has no live bookings.
    RemoveShowtime {
        /// Showtime id.
        showtime: u32,
    },
}

/// What a successful command did: the `ok` bytes of `apply`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Applied {
    /// The new booking.
    Booked(Booking),
    /// The booking that was cancelled; its seats are free again.
    Cancelled(Booking),
    /// The new showtime.
    ShowtimeCreated(ShowtimeSummary),
    /// The showtime as it was when removed.
    ShowtimeRemoved(ShowtimeSummary),
}

impl Command {
    /// Checks what can be checked without the state: seat list shape, user name, layout limits.
    ///
    /// # Errors
    ///
    /// The first broken rule, in this order: no seats, too many seats, duplicate seats, user.
    pub fn check(&self) -> Result<(), Rejection> {
        match self {
            Command::Book { seats, user, .. } => {
                check_seat_list(seats)?;
                check_user(user)
            }
            Command::Cancel { user, .. } => check_user(user),
            Command::CreateShowtime { layout, .. } => layout
                .check()
                .map_err(|reason| Rejection::InvalidRows { reason }),
            Command::RemoveShowtime { .. } => Ok(()),
        }
    }

    /// Applies the command to the state if every rule holds.
    ///
    /// The plugin clock becomes `max(clock, ctx.leader_time_ms)`, and only when the command
    /// succeeds: a refused command changes nothing.
    ///
    /// # Errors
    ///
    /// The reason the command was refused; the state is then untouched.
    pub fn apply(self, state: &mut State, ctx: &LogContext) -> Result<Applied, Rejection> {
        self.check()?;
        let now_ms = state.clock_ms.max(ctx.leader_time_ms);
        let applied = match self {
            Command::Book {
                showtime,
                seats,
                user,
            } => book(state, showtime, seats, user, now_ms, ctx.index)?,
            Command::Cancel { booking, user } => cancel(state, booking, &user)?,
            Command::CreateShowtime { showtime, layout } => {
                create_showtime(state, showtime, layout)?
            }
            Command::RemoveShowtime { showtime } => remove_showtime(state, showtime)?,
        };
        state.clock_ms = now_ms;
        Ok(applied)
    }
}

/// Seat list rules: 1 to [`MAX_SEATS_PER_BOOKING`] seats, none twice.
fn check_seat_list(seats: &[SeatId]) -> Result<(), Rejection> {
    if seats.is_empty() {
        return Err(Rejection::NoSeats);
    }
    if seats.len() > MAX_SEATS_PER_BOOKING {
        return Err(Rejection::TooManySeats {
            count: u32::try_from(seats.len()).unwrap_or(u32::MAX),
            max: MAX_SEATS_PER_BOOKING as u32,
        });
    }
    let mut seen = BTreeSet::new();
    let mut repeated = BTreeSet::new();
    for &seat in seats {
        if !seen.insert(seat) {
            repeated.insert(seat);
        }
    }
    if repeated.is_empty() {
        Ok(())
    } else {
        Err(Rejection::DuplicateSeats {
            seats: repeated.into_iter().collect(),
        })
    }
}

/// User name rules: 1 to [`MAX_USER_CHARS`] characters, no control characters, no surrounding
/// spaces (so that `alice` and `alice ` cannot be two owners that look the same).
///
/// # Errors
///
/// [`Rejection::InvalidUser`] naming the broken rule.
pub fn check_user(user: &str) -> Result<(), Rejection> {
    let reason = if user.is_empty() {
        "user must not be empty".to_string()
    } else if user.chars().count() > MAX_USER_CHARS {
        format!(
            "user is {} characters long, at most {MAX_USER_CHARS}",
            user.chars().count()
        )
    } else if user.chars().any(char::is_control) {
        "user must not contain control characters".to_string()
    } else if user.trim() != user {
        "user must not start or end with spaces".to_string()
    } else {
        return Ok(());
    };
    Err(Rejection::InvalidUser { reason })
}

/// Books `seats` (already checked by [`check_seat_list`]) if the showtime has them all free.
fn book(
    state: &mut State,
    showtime_id: u32,
    mut seats: Vec<SeatId>,
    user: String,
    now_ms: u64,
    log_index: u64,
) -> Result<Applied, Rejection> {
    let showtime = state
        .showtimes
        .get_mut(&showtime_id)
        .ok_or(Rejection::UnknownShowtime {
            showtime: showtime_id,
        })?;
    seats.sort_unstable();
    let unknown: Vec<SeatId> = seats
        .iter()
        .copied()
        .filter(|&seat| !showtime.layout.contains(seat))
        .collect();
    if !unknown.is_empty() {
        return Err(Rejection::UnknownSeats {
            showtime: showtime_id,
            seats: unknown,
            layout: showtime.layout.clone(),
        });
    }
    let taken: Vec<SeatId> = seats
        .iter()
        .copied()
        .filter(|&seat| showtime.holder(seat).is_some())
        .collect();
    if !taken.is_empty() {
        return Err(Rejection::SeatsTaken {
            showtime: showtime_id,
            seats: taken,
        });
    }

    // Every rule holds: mutate from here on, nothing below can fail.
    let id = state.next_booking;
    // 2^64 bookings cannot happen; saturating keeps the arithmetic panic-free regardless.
    state.next_booking = state.next_booking.saturating_add(1);
    for &seat in &seats {
        showtime.taken.insert(seat, id);
    }
    showtime.bookings.insert(id);
    let booking = Booking {
        id,
        showtime: showtime_id,
        seats,
        user,
        created_at_ms: now_ms,
        log_index,
    };
    state.bookings.insert(id, booking.clone());
    Ok(Applied::Booked(booking))
}

/// Cancels a live booking of `user`, freeing its seats.
fn cancel(state: &mut State, id: u64, user: &str) -> Result<Applied, Rejection> {
    let booking = state
        .bookings
        .get(&id)
        .ok_or(Rejection::UnknownBooking { booking: id })?;
    if booking.user != user {
        return Err(Rejection::NotOwner { booking: id });
    }
    let Some(booking) = state.bookings.remove(&id) else {
        // Looked up just above; unreachable, but refusing is safer than panicking.
        return Err(Rejection::UnknownBooking { booking: id });
    };
    if let Some(showtime) = state.showtimes.get_mut(&booking.showtime) {
        for seat in &booking.seats {
            showtime.taken.remove(seat);
        }
        showtime.bookings.remove(&id);
    }
    Ok(Applied::Cancelled(booking))
}

/// Adds a showtime with a checked layout under an unused id.
fn create_showtime(state: &mut State, id: u32, layout: Layout) -> Result<Applied, Rejection> {
    if state.showtimes.contains_key(&id) {
        return Err(Rejection::ShowtimeExists { showtime: id });
    }
    let showtime = Showtime::new(id, layout);
    let summary = ShowtimeSummary::of(&showtime);
    state.showtimes.insert(id, showtime);
    Ok(Applied::ShowtimeCreated(summary))
}

/// Removes a showtime that has no live bookings.
fn remove_showtime(state: &mut State, id: u32) -> Result<Applied, Rejection> {
    let showtime = state
        .showtimes
        .get(&id)
        .ok_or(Rejection::UnknownShowtime { showtime: id })?;
    if !showtime.bookings.is_empty() {
        return Err(Rejection::ShowtimeHasBookings {
            showtime: id,
            bookings: u32::try_from(showtime.bookings.len()).unwrap_or(u32::MAX),
        });
    }
    let summary = ShowtimeSummary::of(showtime);
    state.showtimes.remove(&id);
    Ok(Applied::ShowtimeRemoved(summary))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seat(text: &str) -> SeatId {
        SeatId::parse(text).unwrap_or_else(|| panic!("test seat {text:?} must parse"))
    }

    fn seats(texts: &[&str]) -> Vec<SeatId> {
        texts.iter().map(|t| seat(t)).collect()
    }

    fn ctx(index: u64, leader_time_ms: u64) -> LogContext {
        LogContext {
            index,
            term: 1,
            leader_time_ms,
        }
    }

    fn book_cmd(showtime: u32, list: &[&str], user: &str) -> Command {
        Command::Book {
            showtime,
            seats: seats(list),
            user: user.to_string(),
        }
    }

    fn booked(applied: Result<Applied, Rejection>) -> Booking {
        match applied {
            Ok(Applied::Booked(booking)) => booking,
            other => panic!("expected a booking, got {other:?}"),
        }
    }

    #[test]
    fn booking_takes_all_seats_and_records_who_and_when() {
        let mut state = State::default();
        let booking = booked(book_cmd(1, &["a2", "A1"], "alice").apply(&mut state, &ctx(7, 1000)));
        assert_eq!(booking.id, 1);
        assert_eq!(booking.seats, seats(&["a1", "a2"]));
        assert_eq!(booking.user, "alice");
        assert_eq!(booking.created_at_ms, 1000);
        assert_eq!(booking.log_index, 7);
        let showtime = &state.showtimes[&1];
        assert_eq!(showtime.holder(seat("a1")), Some(1));
        assert_eq!(showtime.holder(seat("a2")), Some(1));
        assert_eq!(showtime.free(), 22);
        assert_eq!(state.next_booking, 2);
    }

    #[test]
    fn booking_is_all_or_none_when_one_seat_is_taken() {
        let mut state = State::default();
        booked(book_cmd(1, &["a3"], "alice").apply(&mut state, &ctx(1, 1)));
        let before = state.clone();
        let refused = book_cmd(1, &["a1", "a2", "a3"], "bob").apply(&mut state, &ctx(2, 2));
        assert_eq!(
            refused,
            Err(Rejection::SeatsTaken {
                showtime: 1,
                seats: seats(&["a3"])
            })
        );
        assert_eq!(state, before, "a refused booking must change nothing");
    }

    #[test]
    fn booking_lists_every_taken_seat() {
        let mut state = State::default();
        booked(book_cmd(1, &["a1", "b2"], "alice").apply(&mut state, &ctx(1, 1)));
        let refused = book_cmd(1, &["b2", "c1", "a1"], "bob").apply(&mut state, &ctx(2, 2));
        assert_eq!(
            refused,
            Err(Rejection::SeatsTaken {
                showtime: 1,
                seats: seats(&["a1", "b2"])
            })
        );
    }

    #[test]
    fn booking_refuses_duplicate_seats() {
        let mut state = State::default();
        let refused = book_cmd(1, &["a1", "a2", "a1"], "alice").apply(&mut state, &ctx(1, 1));
        assert_eq!(
            refused,
            Err(Rejection::DuplicateSeats {
                seats: seats(&["a1"])
            })
        );
        assert_eq!(state, State::default());
    }

    #[test]
    fn booking_refuses_unknown_seat_without_booking_the_others() {
        let mut state = State::default();
        let refused = book_cmd(1, &["a1", "z9", "a7"], "alice").apply(&mut state, &ctx(1, 1));
        match refused {
            Err(Rejection::UnknownSeats {
                showtime: 1,
                seats: unknown,
                ..
            }) => assert_eq!(unknown, seats(&["a7", "z9"])),
            other => panic!("expected unknown seats, got {other:?}"),
        }
        assert_eq!(state, State::default());
    }

    #[test]
    fn booking_refuses_unknown_showtime() {
        let mut state = State::default();
        let refused = book_cmd(9, &["a1"], "alice").apply(&mut state, &ctx(1, 1));
        assert_eq!(refused, Err(Rejection::UnknownShowtime { showtime: 9 }));
    }

    #[test]
    fn booking_refuses_empty_or_oversized_seat_lists() {
        let mut state = State::default();
        assert_eq!(
            book_cmd(1, &[], "alice").apply(&mut state, &ctx(1, 1)),
            Err(Rejection::NoSeats)
        );
        let many: Vec<SeatId> = (1..=101).map(|n| SeatId::new(0, n)).collect();
        let refused = Command::Book {
            showtime: 1,
            seats: many,
            user: "alice".into(),
        }
        .apply(&mut state, &ctx(1, 1));
        assert_eq!(
            refused,
            Err(Rejection::TooManySeats {
                count: 101,
                max: 100
            })
        );
    }

    #[test]
    fn booking_refuses_bad_user_names() {
        let long = "x".repeat(MAX_USER_CHARS + 1);
        for user in ["", " alice", "alice ", "al\nice", long.as_str()] {
            let mut state = State::default();
            let refused = book_cmd(1, &["a1"], user).apply(&mut state, &ctx(1, 1));
            assert!(
                matches!(refused, Err(Rejection::InvalidUser { .. })),
                "user {user:?} accepted: {refused:?}"
            );
        }
        let exact = "é".repeat(MAX_USER_CHARS);
        let mut state = State::default();
        booked(book_cmd(1, &["a1"], &exact).apply(&mut state, &ctx(1, 1)));
    }

    #[test]
    fn booking_ids_are_sequential_and_never_reused() {
        let mut state = State::default();
        let first = booked(book_cmd(1, &["a1"], "alice").apply(&mut state, &ctx(1, 1)));
        let cancel = Command::Cancel {
            booking: first.id,
            user: "alice".into(),
        };
        assert!(cancel.apply(&mut state, &ctx(2, 2)).is_ok());
        let second = booked(book_cmd(1, &["a1"], "bob").apply(&mut state, &ctx(3, 3)));
        assert_eq!((first.id, second.id), (1, 2));
    }

    #[test]
    fn cancel_by_owner_frees_the_seats() {
        let mut state = State::default();
        let booking = booked(book_cmd(1, &["c3", "c4"], "alice").apply(&mut state, &ctx(1, 1)));
        let cancelled = Command::Cancel {
            booking: booking.id,
            user: "alice".into(),
        }
        .apply(&mut state, &ctx(2, 2));
        assert_eq!(cancelled, Ok(Applied::Cancelled(booking)));
        assert!(state.bookings.is_empty());
        assert!(state.showtimes[&1].taken.is_empty());
        assert!(state.showtimes[&1].bookings.is_empty());
    }

    #[test]
    fn cancel_by_someone_else_is_refused() {
        let mut state = State::default();
        let booking = booked(book_cmd(1, &["a1"], "alice").apply(&mut state, &ctx(1, 1)));
        let before = state.clone();
        let refused = Command::Cancel {
            booking: booking.id,
            user: "mallory".into(),
        }
        .apply(&mut state, &ctx(2, 2));
        assert_eq!(refused, Err(Rejection::NotOwner { booking: 1 }));
        assert_eq!(state, before);
    }

    #[test]
    fn cancel_of_unknown_booking_is_refused() {
        let mut state = State::default();
        let refused = Command::Cancel {
            booking: 42,
            user: "alice".into(),
        }
        .apply(&mut state, &ctx(1, 1));
        assert_eq!(refused, Err(Rejection::UnknownBooking { booking: 42 }));
    }

    #[test]
    fn clock_never_runs_backwards_and_ignores_refused_commands() {
        let mut state = State::default();
        booked(book_cmd(1, &["a1"], "alice").apply(&mut state, &ctx(1, 5000)));
        // A new leader with a slow clock.
        let late = booked(book_cmd(1, &["a2"], "alice").apply(&mut state, &ctx(2, 3000)));
        assert_eq!(late.created_at_ms, 5000);
        // A refused command from a fast clock does not move time.
        assert!(book_cmd(1, &["a1"], "bob")
            .apply(&mut state, &ctx(3, 9000))
            .is_err());
        assert_eq!(state.clock_ms, 5000);
    }

    #[test]
    fn create_showtime_refuses_existing_id_and_bad_layouts() {
        let mut state = State::default();
        let create = |id, rows: Vec<u16>| Command::CreateShowtime {
            showtime: id,
            layout: Layout { rows },
        };
        assert_eq!(
            create(1, vec![5]).apply(&mut state, &ctx(1, 1)),
            Err(Rejection::ShowtimeExists { showtime: 1 })
        );
        for rows in [vec![], vec![0], vec![101], vec![1; 27]] {
            assert!(matches!(
                create(7, rows).apply(&mut state, &ctx(1, 1)),
                Err(Rejection::InvalidRows { .. })
            ));
        }
        assert_eq!(state, State::default());
        let created = create(7, vec![20; 12]).apply(&mut state, &ctx(2, 2));
        match created {
            Ok(Applied::ShowtimeCreated(summary)) => {
                assert_eq!((summary.id, summary.free, summary.booked), (7, 240, 0))
            }
            other => panic!("expected a new showtime, got {other:?}"),
        }
        assert!(state.showtimes.contains_key(&7));
    }

    #[test]
    fn remove_showtime_refuses_while_it_has_bookings() {
        let mut state = State::default();
        let booking = booked(book_cmd(1, &["a1"], "alice").apply(&mut state, &ctx(1, 1)));
        assert_eq!(
            Command::RemoveShowtime { showtime: 1 }.apply(&mut state, &ctx(2, 2)),
            Err(Rejection::ShowtimeHasBookings {
                showtime: 1,
                bookings: 1
            })
        );
        let cancel = Command::Cancel {
            booking: booking.id,
            user: "alice".into(),
        };
        assert!(cancel.apply(&mut state, &ctx(3, 3)).is_ok());
        assert!(matches!(
            Command::RemoveShowtime { showtime: 1 }.apply(&mut state, &ctx(4, 4)),
            Ok(Applied::ShowtimeRemoved(_))
        ));
        assert!(state.showtimes.is_empty());
        assert_eq!(
            Command::RemoveShowtime { showtime: 1 }.apply(&mut state, &ctx(5, 5)),
            Err(Rejection::UnknownShowtime { showtime: 1 })
        );
    }
}
