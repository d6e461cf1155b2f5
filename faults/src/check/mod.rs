//! The checks run on a finished history and the cluster's final state (pure functions).
//!
//! - `linearizable`: every seat's history has an order that fits real time and every outcome
//!   ([`wgl`]); the final read of the healed cluster closes each history.
//! - `double-taken`: no two holds or bookings (other than a hold and the booking confirming it)
//!   were acknowledged as owning one seat over overlapping times.
//! - `lost-booking`: an acknowledged booking (book or confirm) that no cancel touched (neither
//!   an acknowledged nor an unknown one) is confirmed at the end with its seats booked.
//! - `cancel-undone`: an acknowledged cancel left its booking cancelled.
//! - `final-state`: in the final state, no seat belongs to two confirmed bookings, and the seats
//!   shown booked are exactly the seats of confirmed bookings.
//!
//! Replica agreement (same applied index, same state hash, same seat map and booking list on
//! every node) is checked by the runner while it reads the final state.

pub mod wgl;

use std::collections::{BTreeMap, BTreeSet};

use crate::history::{show_op, Op, OpId, OpKind, Outcome, Seen, FINAL_READ};
use wgl::{Effect, Event, SeatState, Verdict};

/// The healed cluster's agreed state, read after every client stopped.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FinalState {
    /// Each seat's state.
    pub seats: BTreeMap<String, Seen>,
    /// Every booking of the showtime the plugin still keeps: id -> (status, seats).
    pub bookings: BTreeMap<u64, FinalBooking>,
    /// When it was read (µs since the run started; after every operation completed).
    pub at: u64,
}

/// A booking in the final state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FinalBooking {
    /// `confirmed` or `cancelled`.
    pub status: String,
    /// Its seats.
    pub seats: Vec<String>,
}

/// A violated check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Anomaly {
    /// Which check (`linearizable`, `double-taken`, ...).
    pub check: &'static str,
    /// What was seen.
    pub detail: String,
    /// Seats whose histories explain it.
    pub seats: Vec<String>,
    /// The time around which the histories matter most (µs), if known.
    pub at: Option<u64>,
}

/// Problems that say a hold is no longer active (or never was).
pub const HOLD_GONE: [&str; 3] = ["hold-finished", "hold-expired", "unknown-hold"];
/// Problems that say a booking is no longer confirmed (or never was).
pub const BOOKING_GONE: [&str; 2] = ["booking-cancelled", "unknown-booking"];

/// What `op` says about `seat`, as a search event (`None`: nothing).
fn event_for(op: &Op, seat: &str) -> Option<Event> {
    let definite = Some(op.complete);
    let (effect, complete) = match (&op.kind, &op.outcome) {
        (OpKind::Read, Outcome::Ok { seen, .. }) => (Effect::Read(*seen.get(seat)?), definite),
        (OpKind::Read, _) | (_, Outcome::NotSent { .. }) => return None,
        (kind, _) if !kind.seats().iter().any(|s| s == seat) => return None,
        (kind, outcome) => {
            let success = match kind {
                OpKind::Book { .. } => Effect::Book { owner: op.id },
                OpKind::Hold { .. } => Effect::Hold { owner: op.id },
                OpKind::Confirm { hold, .. } => Effect::Confirm {
                    hold: *hold,
                    owner: op.id,
                },
                OpKind::Release { hold, .. } => Effect::Release { hold: *hold },
                OpKind::Cancel { booking, .. } => Effect::Cancel { booking: *booking },
                OpKind::Read => return None,
            };
            match outcome {
                Outcome::Ok { .. } => (success, definite),
                Outcome::Unknown { .. } => (success, None),
                Outcome::Refused { problem, seats, .. } => {
                    let refusal = match kind {
                        OpKind::Book { .. } | OpKind::Hold { .. }
                            if problem == "seat-taken" && seats.iter().any(|s| s == seat) =>
                        {
                            Effect::Taken
                        }
                        OpKind::Confirm { hold, .. } | OpKind::Release { hold, .. }
                            if HOLD_GONE.contains(&problem.as_str()) =>
                        {
                            Effect::NotHeldBy(*hold)
                        }
                        OpKind::Cancel { booking, .. }
                            if BOOKING_GONE.contains(&problem.as_str()) =>
                        {
                            Effect::NotBookedBy(*booking)
                        }
                        // customer-limit, stranded-seat, too-many-seats, ...: these depend on
                        // more than this seat, so they say nothing about it.
                        _ => return None,
                    };
                    (refusal, definite)
                }
                Outcome::NotSent { .. } => return None,
            }
        }
    };
    Some(Event {
        op: op.id,
        effect,
        invoke: op.invoke,
        complete,
    })
}

/// The search events of one seat, closed by the final read.
pub fn seat_events(ops: &[Op], seat: &str, fin: &FinalState) -> Vec<Event> {
    let mut events: Vec<Event> = ops.iter().filter_map(|op| event_for(op, seat)).collect();
    if let Some(seen) = fin.seats.get(seat) {
        events.push(Event {
            op: FINAL_READ,
            effect: Effect::Read(*seen),
            invoke: fin.at,
            complete: Some(fin.at),
        });
    }
    events
}

/// Whether `op` names `seat` (reads name every seat).
pub fn touches(op: &Op, seat: &str) -> bool {
    match &op.kind {
        OpKind::Read => match &op.outcome {
            Outcome::Ok { seen, .. } => seen.contains_key(seat),
            _ => false,
        },
        kind => kind.seats().iter().any(|s| s == seat),
    }
}

/// Runs every check; `budget` bounds each seat's search (configurations).
pub fn check_all(ops: &[Op], seats: &[String], fin: &FinalState, budget: usize) -> Vec<Anomaly> {
    let mut anomalies = Vec::new();
    for seat in seats {
        let events = seat_events(ops, seat, fin);
        match wgl::check(&events, SeatState::Free, budget) {
            Verdict::Linearizable => {}
            Verdict::Violation(stuck) => anomalies.push(Anomaly {
                check: "linearizable",
                detail: format!("seat {seat}: {}", stuck.describe()),
                seats: vec![seat.clone()],
                at: events
                    .iter()
                    .filter(|e| stuck.blocked.contains(&e.op))
                    .map(|e| e.invoke)
                    .min(),
            }),
            Verdict::Inconclusive(explored) => anomalies.push(Anomaly {
                check: "linearizable",
                detail: format!(
                    "seat {seat}: search gave up after {explored} configurations (inconclusive; shorten the run or raise the budget)"
                ),
                seats: vec![seat.clone()],
                at: None,
            }),
        }
    }
    anomalies.extend(double_taken(ops, fin));
    anomalies.extend(lost_bookings(ops, fin));
    anomalies.extend(final_state(fin));
    anomalies
}

/// When each acknowledged hold or booking certainly owned its seats: from its acknowledgement
/// to the first attempt to end it (a confirm, release or cancel that succeeded or may have).
struct Ownership {
    owner: OpId,
    /// The hold this booking confirmed, if any (the two may touch).
    from_hold: Option<OpId>,
    start: u64,
    end: u64,
    seats: Vec<String>,
}

fn ownerships(ops: &[Op], end_of_run: u64) -> Vec<Ownership> {
    // op id -> earliest invoke of an operation that may have ended what it created
    let mut ended: BTreeMap<OpId, u64> = BTreeMap::new();
    for op in ops {
        if !matches!(op.outcome, Outcome::Ok { .. } | Outcome::Unknown { .. }) {
            continue;
        }
        let target = match &op.kind {
            OpKind::Confirm { hold, .. } | OpKind::Release { hold, .. } => *hold,
            OpKind::Cancel { booking, .. } => *booking,
            _ => continue,
        };
        let at = ended.entry(target).or_insert(op.invoke);
        *at = (*at).min(op.invoke);
    }
    ops.iter()
        .filter(|op| op.outcome.is_ok())
        .filter_map(|op| {
            let from_hold = match &op.kind {
                OpKind::Book { .. } | OpKind::Hold { .. } => None,
                OpKind::Confirm { hold, .. } => Some(*hold),
                _ => return None,
            };
            Some(Ownership {
                owner: op.id,
                from_hold,
                start: op.complete,
                end: ended.get(&op.id).copied().unwrap_or(end_of_run),
                seats: op.kind.seats().to_vec(),
            })
        })
        .collect()
}

/// The `double-taken` check.
fn double_taken(ops: &[Op], fin: &FinalState) -> Vec<Anomaly> {
    let owned = ownerships(ops, fin.at);
    let mut by_seat: BTreeMap<&str, Vec<&Ownership>> = BTreeMap::new();
    for o in &owned {
        for seat in &o.seats {
            by_seat.entry(seat.as_str()).or_default().push(o);
        }
    }
    let mut out = Vec::new();
    for (seat, mut list) in by_seat {
        list.sort_by_key(|o| o.start);
        let mut reported = 0;
        for (i, a) in list.iter().enumerate() {
            for b in list.iter().skip(i + 1) {
                if b.start >= a.end || reported >= 3 {
                    continue;
                }
                let related = b.from_hold == Some(a.owner) || a.from_hold == Some(b.owner);
                if related || a.start >= b.end {
                    continue;
                }
                reported += 1;
                out.push(Anomaly {
                    check: "double-taken",
                    detail: format!(
                        "seat {seat} was acknowledged to {} from {} to {} and to {} from {} to {}",
                        show_op(a.owner),
                        crate::history::secs(a.start),
                        crate::history::secs(a.end),
                        show_op(b.owner),
                        crate::history::secs(b.start),
                        crate::history::secs(b.end)
                    ),
                    seats: vec![seat.to_string()],
                    at: Some(b.start),
                });
            }
        }
    }
    out
}

/// The `lost-booking` and `cancel-undone` checks.
fn lost_bookings(ops: &[Op], fin: &FinalState) -> Vec<Anomaly> {
    // booking op -> (booking id, seats) for acknowledged creations that named the id
    let mut created: BTreeMap<OpId, (u64, &[String], u64)> = BTreeMap::new();
    for op in ops {
        if let (OpKind::Book { .. } | OpKind::Confirm { .. }, Outcome::Ok { id: Some(id), .. }) =
            (&op.kind, &op.outcome)
        {
            created.insert(op.id, (*id, op.kind.seats(), op.complete));
        }
    }
    let mut touched: BTreeSet<OpId> = BTreeSet::new();
    let mut out = Vec::new();
    for op in ops {
        let OpKind::Cancel { booking, .. } = &op.kind else {
            continue;
        };
        match &op.outcome {
            Outcome::Unknown { .. } => {
                touched.insert(*booking);
            }
            Outcome::Ok { .. } => {
                touched.insert(*booking);
                if let Some((id, seats, _)) = created.get(booking) {
                    let status = fin.bookings.get(id).map(|b| b.status.as_str());
                    if status != Some("cancelled") {
                        out.push(Anomaly {
                            check: "cancel-undone",
                            detail: format!(
                                "booking {id} (made by {}) was cancelled by {} (acknowledged) but ends {}",
                                show_op(*booking),
                                show_op(op.id),
                                status.unwrap_or("missing")
                            ),
                            seats: seats.to_vec(),
                            at: Some(op.complete),
                        });
                    }
                }
            }
            _ => {}
        }
    }
    for (op, (id, seats, acked)) in &created {
        if touched.contains(op) {
            continue;
        }
        let booking = fin.bookings.get(id);
        let status = booking.map_or("missing", |b| b.status.as_str());
        let same_seats = booking.is_some_and(|b| {
            let mut have = b.seats.clone();
            let mut want = seats.to_vec();
            have.sort();
            want.sort();
            have == want
        });
        let unbooked: Vec<&String> = seats
            .iter()
            .filter(|s| fin.seats.get(s.as_str()) != Some(&Seen::Booked))
            .collect();
        if status != "confirmed" || !same_seats || !unbooked.is_empty() {
            out.push(Anomaly {
                check: "lost-booking",
                detail: format!(
                    "booking {id} acknowledged to {} for {} ends {status}{}{}",
                    show_op(*op),
                    seats.join(","),
                    if same_seats || booking.is_none() {
                        String::new()
                    } else {
                        format!(" with seats {:?}", booking.map(|b| &b.seats))
                    },
                    if unbooked.is_empty() {
                        String::new()
                    } else {
                        format!(
                            "; seats not booked at the end: {}",
                            unbooked
                                .iter()
                                .map(|s| s.as_str())
                                .collect::<Vec<_>>()
                                .join(",")
                        )
                    }
                ),
                seats: seats.to_vec(),
                at: Some(*acked),
            });
        }
    }
    out
}

/// The `final-state` check.
fn final_state(fin: &FinalState) -> Vec<Anomaly> {
    let mut owner: BTreeMap<&str, Vec<u64>> = BTreeMap::new();
    for (id, booking) in &fin.bookings {
        if booking.status == "confirmed" {
            for seat in &booking.seats {
                owner.entry(seat.as_str()).or_default().push(*id);
            }
        }
    }
    let mut out = Vec::new();
    for (seat, ids) in &owner {
        if ids.len() > 1 {
            out.push(Anomaly {
                check: "final-state",
                detail: format!("seat {seat} belongs to confirmed bookings {ids:?}"),
                seats: vec![seat.to_string()],
                at: Some(fin.at),
            });
        }
    }
    for (seat, seen) in &fin.seats {
        let booked = owner.contains_key(seat.as_str());
        if booked != (*seen == Seen::Booked) {
            out.push(Anomaly {
                check: "final-state",
                detail: format!(
                    "seat {seat} is {seen} but {} confirmed booking names it",
                    if booked { "a" } else { "no" }
                ),
                seats: vec![seat.clone()],
                at: Some(fin.at),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::op_id;

    fn op(client: usize, seq: u32, kind: OpKind, t: (u64, u64), outcome: Outcome) -> Op {
        Op {
            id: op_id(client, seq),
            client,
            kind,
            invoke: t.0,
            complete: t.1,
            last_attempt: t.0,
            attempts: 1,
            node: 0,
            outcome,
        }
    }

    fn ok_id(id: u64) -> Outcome {
        Outcome::Ok {
            id: Some(id),
            log_index: None,
            token: true,
            seen: BTreeMap::new(),
        }
    }

    fn seats(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    fn fin(seen: &[(&str, Seen)], bookings: &[(u64, &str, &[&str])]) -> FinalState {
        FinalState {
            seats: seen.iter().map(|(s, v)| (s.to_string(), *v)).collect(),
            bookings: bookings
                .iter()
                .map(|(id, status, s)| {
                    (
                        *id,
                        FinalBooking {
                            status: status.to_string(),
                            seats: seats(s),
                        },
                    )
                })
                .collect(),
            at: 10_000,
        }
    }

    #[test]
    fn a_clean_history_passes_every_check() {
        let ops = vec![
            op(
                0,
                1,
                OpKind::Book {
                    seats: seats(&["a1"]),
                },
                (0, 10),
                ok_id(1),
            ),
            op(
                1,
                1,
                OpKind::Book {
                    seats: seats(&["a1"]),
                },
                (20, 30),
                Outcome::Refused {
                    problem: "seat-taken".into(),
                    status: 409,
                    seats: seats(&["a1"]),
                },
            ),
        ];
        let f = fin(
            &[("a1", Seen::Booked), ("a2", Seen::Free)],
            &[(1, "confirmed", &["a1"])],
        );
        assert_eq!(check_all(&ops, &seats(&["a1", "a2"]), &f, 10_000), vec![]);
    }

    #[test]
    fn two_acknowledged_bookings_of_one_seat_are_reported() {
        let ops = vec![
            op(
                0,
                1,
                OpKind::Book {
                    seats: seats(&["a1"]),
                },
                (0, 10),
                ok_id(1),
            ),
            op(
                1,
                1,
                OpKind::Book {
                    seats: seats(&["a1"]),
                },
                (20, 30),
                ok_id(2),
            ),
        ];
        let f = fin(
            &[("a1", Seen::Booked)],
            &[(1, "confirmed", &["a1"]), (2, "confirmed", &["a1"])],
        );
        let found: BTreeSet<&str> = check_all(&ops, &seats(&["a1"]), &f, 10_000)
            .iter()
            .map(|a| a.check)
            .collect();
        assert_eq!(
            found,
            BTreeSet::from(["linearizable", "double-taken", "final-state"])
        );
    }

    #[test]
    fn a_lost_booking_is_reported() {
        let ops = vec![op(
            0,
            1,
            OpKind::Book {
                seats: seats(&["a1"]),
            },
            (0, 10),
            ok_id(1),
        )];
        let f = fin(&[("a1", Seen::Free)], &[]);
        let found: BTreeSet<&str> = check_all(&ops, &seats(&["a1"]), &f, 10_000)
            .iter()
            .map(|a| a.check)
            .collect();
        assert_eq!(found, BTreeSet::from(["linearizable", "lost-booking"]));
    }

    #[test]
    fn a_booking_with_an_unknown_cancel_may_be_gone() {
        let ops = vec![
            op(
                0,
                1,
                OpKind::Book {
                    seats: seats(&["a1"]),
                },
                (0, 10),
                ok_id(1),
            ),
            op(
                0,
                2,
                OpKind::Cancel {
                    booking: op_id(0, 1),
                    seats: seats(&["a1"]),
                },
                (20, 3_020),
                Outcome::Unknown {
                    reason: "timeout".into(),
                },
            ),
        ];
        let f = fin(&[("a1", Seen::Free)], &[(1, "cancelled", &["a1"])]);
        assert_eq!(check_all(&ops, &seats(&["a1"]), &f, 10_000), vec![]);
    }

    #[test]
    fn an_undone_cancel_is_reported() {
        let ops = vec![
            op(
                0,
                1,
                OpKind::Book {
                    seats: seats(&["a1"]),
                },
                (0, 10),
                ok_id(1),
            ),
            op(
                0,
                2,
                OpKind::Cancel {
                    booking: op_id(0, 1),
                    seats: seats(&["a1"]),
                },
                (20, 30),
                ok_id(1),
            ),
        ];
        let f = fin(&[("a1", Seen::Booked)], &[(1, "confirmed", &["a1"])]);
        let found: BTreeSet<&str> = check_all(&ops, &seats(&["a1"]), &f, 10_000)
            .iter()
            .map(|a| a.check)
            .collect();
        assert_eq!(found, BTreeSet::from(["linearizable", "cancel-undone"]));
    }

    #[test]
    fn a_hold_and_the_booking_confirming_it_are_one_owner() {
        let h = op_id(0, 1);
        let ops = vec![
            op(
                0,
                1,
                OpKind::Hold {
                    seats: seats(&["a1", "a2"]),
                },
                (0, 10),
                ok_id(5),
            ),
            op(
                0,
                2,
                OpKind::Confirm {
                    hold: h,
                    seats: seats(&["a1", "a2"]),
                },
                (20, 30),
                ok_id(9),
            ),
        ];
        let f = fin(
            &[("a1", Seen::Booked), ("a2", Seen::Booked)],
            &[(9, "confirmed", &["a1", "a2"])],
        );
        assert_eq!(check_all(&ops, &seats(&["a1", "a2"]), &f, 10_000), vec![]);
    }

    #[test]
    fn refusals_that_depend_on_other_seats_constrain_nothing() {
        let ops = [op(
            0,
            1,
            OpKind::Book {
                seats: seats(&["a2"]),
            },
            (0, 10),
            Outcome::Refused {
                problem: "stranded-seat".into(),
                status: 409,
                seats: seats(&["a1"]),
            },
        )];
        assert!(event_for(&ops[0], "a2").is_none());
        assert!(event_for(&ops[0], "a1").is_none());
    }
}
