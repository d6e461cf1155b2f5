//! Linearizability of one seat's history: the Wing-Gong search with Lowe's memoisation (the
//! algorithm of Knossos and Porcupine), over the model `Free | Held(hold) | Booked(booking)`.
//!
//! Pure: events in, verdict out. Each [`Event`] is what one operation did to this seat, with the
//! real-time window in which it must have taken effect:
//! - a definite outcome (`complete: Some(t)`) must be placed between `invoke` and `t`;
//! - an unknown outcome (`complete: None`) may take effect at any point after `invoke`, or never.
//!   It is only ever placed as a success: an unknown operation that failed changed nothing,
//!   which is the same as never placing it.
//!
//! The search places one event at a time, choosing among those whose `invoke` is not after the
//! earliest `complete` of the definite events still unplaced (nothing that finished before an
//! event started may come after it). A configuration (events placed, seat state) seen before is
//! not explored again, so the work is bounded by the number of distinct configurations; a
//! budget bounds that too and turns a search that would take too long into
//! [`Verdict::Inconclusive`]. Events that change nothing (reads, refusals) are placed as soon
//! as they fit the current state: placing such an event earlier never hurts, because nothing
//! still unplaced had to come before it.

use std::collections::HashSet;

use crate::history::{show_op, OpId, Seen};

/// The model's state of one seat. Holds and bookings are named by the operation that made
/// them (a hold by its `hold` operation, a booking by its `book` or `confirm` operation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SeatState {
    /// Nobody holds or booked it.
    Free,
    /// Held by the hold that this operation created.
    Held(OpId),
    /// Booked by the booking that this operation created.
    Booked(OpId),
}

impl SeatState {
    /// What a read would show.
    pub fn seen(self) -> Seen {
        match self {
            SeatState::Free => Seen::Free,
            SeatState::Held(_) => Seen::Held,
            SeatState::Booked(_) => Seen::Booked,
        }
    }

    /// `free`, `held by c1#4`, `booked by c2#9`.
    pub fn describe(self) -> String {
        match self {
            SeatState::Free => "free".to_string(),
            SeatState::Held(op) => format!("held by the hold of {}", show_op(op)),
            SeatState::Booked(op) => format!("booked by the booking of {}", show_op(op)),
        }
    }
}

/// What an operation does to (or says about) the seat.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// A successful hold by operation `owner`: Free -> Held(owner).
    Hold {
        /// The hold's operation.
        owner: OpId,
    },
    /// A successful direct booking by operation `owner`: Free -> Booked(owner).
    Book {
        /// The booking's operation.
        owner: OpId,
    },
    /// Confirming hold `hold` into booking `owner`: Held(hold) -> Booked(owner).
    Confirm {
        /// The hold's operation.
        hold: OpId,
        /// The confirm operation (the new booking).
        owner: OpId,
    },
    /// Releasing hold `hold`: Held(hold) -> Free.
    Release {
        /// The hold's operation.
        hold: OpId,
    },
    /// Cancelling booking `booking`: Booked(booking) -> Free.
    Cancel {
        /// The booking's operation.
        booking: OpId,
    },
    /// A read showed this.
    Read(Seen),
    /// A `seat-taken` refusal naming this seat: it was not free.
    Taken,
    /// A refusal saying hold `0` is finished, expired or unknown: the seat is not held by it.
    NotHeldBy(OpId),
    /// A refusal saying booking `0` is cancelled or unknown: the seat is not booked by it.
    NotBookedBy(OpId),
}

impl Effect {
    /// The state after this effect, or `None` if it cannot happen in `state`.
    pub fn apply(self, state: SeatState) -> Option<SeatState> {
        match (self, state) {
            (Effect::Hold { owner }, SeatState::Free) => Some(SeatState::Held(owner)),
            (Effect::Book { owner }, SeatState::Free) => Some(SeatState::Booked(owner)),
            (Effect::Confirm { hold, owner }, SeatState::Held(h)) if h == hold => {
                Some(SeatState::Booked(owner))
            }
            (Effect::Release { hold }, SeatState::Held(h)) if h == hold => Some(SeatState::Free),
            (Effect::Cancel { booking }, SeatState::Booked(b)) if b == booking => {
                Some(SeatState::Free)
            }
            (Effect::Read(seen), state) if state.seen() == seen => Some(state),
            (Effect::Taken, state) if state != SeatState::Free => Some(state),
            (Effect::NotHeldBy(hold), state) if state != SeatState::Held(hold) => Some(state),
            (Effect::NotBookedBy(booking), state) if state != SeatState::Booked(booking) => {
                Some(state)
            }
            _ => None,
        }
    }

    /// Whether the effect leaves the state as it is wherever it can happen.
    fn is_query(self) -> bool {
        matches!(
            self,
            Effect::Read(_) | Effect::Taken | Effect::NotHeldBy(_) | Effect::NotBookedBy(_)
        )
    }
}

/// One operation as seen by one seat.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Event {
    /// The operation (for reports).
    pub op: OpId,
    /// What it does here.
    pub effect: Effect,
    /// Start of its window (µs).
    pub invoke: u64,
    /// End of its window; `None` for an unknown outcome (it may take effect later, or never).
    pub complete: Option<u64>,
}

/// Where the search got furthest before every branch failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stuck {
    /// Definite events placed at that point.
    pub placed: usize,
    /// Definite events in the history.
    pub required: usize,
    /// The seat's state there.
    pub state: SeatState,
    /// The definite events that could have come next but none fits `state` (op ids).
    pub blocked: Vec<OpId>,
}

impl Stuck {
    /// One paragraph for the report.
    pub fn describe(&self) -> String {
        let blocked: Vec<String> = self.blocked.iter().map(|op| show_op(*op)).collect();
        format!(
            "no order of the operations fits their times and outcomes; the longest fitting prefix places {} of {} definite operations and leaves the seat {}, where none of [{}] (which must come next) can happen",
            self.placed,
            self.required,
            self.state.describe(),
            blocked.join(", ")
        )
    }
}

/// The result of a search.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// An order exists.
    Linearizable,
    /// No order exists.
    Violation(Stuck),
    /// The budget ran out first (configurations explored).
    Inconclusive(usize),
}

/// A set of event indexes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Bits(Vec<u64>);

impl Bits {
    fn new(n: usize) -> Bits {
        Bits(vec![0; n.div_ceil(64)])
    }

    fn has(&self, i: usize) -> bool {
        self.0.get(i / 64).is_some_and(|w| w & (1 << (i % 64)) != 0)
    }

    fn set(&mut self, i: usize) {
        if let Some(w) = self.0.get_mut(i / 64) {
            *w |= 1 << (i % 64);
        }
    }
}

/// What has been placed, with cursors past the placed prefixes of the sorted lists (all
/// events before `inv` in `Search::definite` and before `done` in `Search::by_complete` are
/// placed; placed sets only grow along a search path, so a child starts from its parent's).
#[derive(Clone)]
struct Placed {
    bits: Bits,
    inv: usize,
    done: usize,
}

/// A search position: what has been placed, the state, and the choices left to try here.
struct Frame {
    placed: Placed,
    count: usize,
    state: SeatState,
    choices: Vec<usize>,
    next: usize,
}

/// The search over one history.
struct Search<'a> {
    events: &'a [Event],
    /// Definite event indexes by `invoke`.
    definite: Vec<usize>,
    /// Unknown-outcome event indexes by `invoke` (few: they are never forced out of the way).
    optional: Vec<usize>,
    /// Definite event indexes by `complete`.
    by_complete: Vec<usize>,
}

impl Search<'_> {
    fn invoke(&self, i: usize) -> u64 {
        self.events.get(i).map_or(u64::MAX, |e| e.invoke)
    }

    /// The earliest `complete` of a definite event not placed yet (`None`: all placed).
    fn horizon(&self, placed: &mut Placed) -> Option<u64> {
        while let Some(&i) = self.by_complete.get(placed.done) {
            if !placed.bits.has(i) {
                return self.events.get(i).and_then(|e| e.complete);
            }
            placed.done += 1;
        }
        None
    }

    /// Events that may be placed next: not placed, invoked no later than the horizon;
    /// definite ones first, earliest deadline first (they are the ones that must fit).
    fn choices(&self, placed: &mut Placed, horizon: u64) -> Vec<usize> {
        while self
            .definite
            .get(placed.inv)
            .is_some_and(|&i| placed.bits.has(i))
        {
            placed.inv += 1;
        }
        let mut out: Vec<usize> = self
            .definite
            .iter()
            .skip(placed.inv)
            .take_while(|&&i| self.invoke(i) <= horizon)
            .filter(|&&i| !placed.bits.has(i))
            .copied()
            .collect();
        out.sort_by_key(|&i| {
            self.events
                .get(i)
                .and_then(|e| e.complete)
                .unwrap_or(u64::MAX)
        });
        out.extend(
            self.optional
                .iter()
                .take_while(|&&i| self.invoke(i) <= horizon)
                .filter(|&&i| !placed.bits.has(i)),
        );
        out
    }

    /// Places every query event that may come next and fits `state`, until none is left;
    /// returns how many were placed (queries are always definite: unknown reads and refusals
    /// are dropped before the search).
    fn place_queries(&self, placed: &mut Placed, state: SeatState) -> usize {
        let mut count = 0;
        // Each round places one event, so this ends within `events.len()` rounds.
        for _ in 0..=self.events.len() {
            let Some(horizon) = self.horizon(placed) else {
                return count;
            };
            let fit = self.choices(placed, horizon).into_iter().find(|&i| {
                self.events
                    .get(i)
                    .is_some_and(|e| e.effect.is_query() && e.effect.apply(state).is_some())
            });
            match fit {
                Some(i) => {
                    placed.bits.set(i);
                    count += 1;
                }
                None => return count,
            }
        }
        count
    }
}

/// Searches for an order of `events` starting from `initial`, exploring at most `budget`
/// configurations.
pub fn check(events: &[Event], initial: SeatState, budget: usize) -> Verdict {
    let known = |i: &usize| events.get(*i).is_some_and(|e| e.complete.is_some());
    let mut by_invoke: Vec<usize> = (0..events.len()).collect();
    by_invoke.sort_by_key(|&i| events.get(i).map_or(0, |e| e.invoke));
    let (definite, optional): (Vec<usize>, Vec<usize>) = by_invoke.into_iter().partition(known);
    let mut by_complete = definite.clone();
    by_complete.sort_by_key(|&i| events.get(i).and_then(|e| e.complete).unwrap_or(u64::MAX));
    let required = by_complete.len();
    let search = Search {
        events,
        definite,
        optional,
        by_complete,
    };

    let mut placed = Placed {
        bits: Bits::new(events.len()),
        inv: 0,
        done: 0,
    };
    let first = search.place_queries(&mut placed, initial);
    let Some(horizon) = search.horizon(&mut placed) else {
        return Verdict::Linearizable;
    };
    let mut stack = vec![Frame {
        choices: search.choices(&mut placed, horizon),
        placed,
        count: first,
        state: initial,
        next: 0,
    }];
    let mut seen: HashSet<(Bits, SeatState)> = HashSet::new();
    let mut best: Option<Stuck> = None;
    let mut explored = 0usize;

    while let Some(frame) = stack.last_mut() {
        let Some(&i) = frame.choices.get(frame.next) else {
            // Every choice here failed: remember the deepest dead end, then backtrack.
            if best.as_ref().is_none_or(|b| frame.count > b.placed) {
                let blocked = frame
                    .choices
                    .iter()
                    .filter(|i| known(i))
                    .filter_map(|&i| events.get(i).map(|e| e.op))
                    .collect();
                best = Some(Stuck {
                    placed: frame.count,
                    required,
                    state: frame.state,
                    blocked,
                });
            }
            stack.pop();
            continue;
        };
        frame.next += 1;
        let Some(event) = events.get(i) else {
            continue;
        };
        let Some(state) = event.effect.apply(frame.state) else {
            continue;
        };
        let mut placed = frame.placed.clone();
        placed.bits.set(i);
        let count = frame.count
            + usize::from(event.complete.is_some())
            + search.place_queries(&mut placed, state);
        let Some(horizon) = search.horizon(&mut placed) else {
            return Verdict::Linearizable;
        };
        if !seen.insert((placed.bits.clone(), state)) {
            continue;
        }
        explored += 1;
        if explored > budget {
            return Verdict::Inconclusive(explored);
        }
        let choices = search.choices(&mut placed, horizon);
        stack.push(Frame {
            placed,
            count,
            state,
            choices,
            next: 0,
        });
    }
    Verdict::Violation(best.unwrap_or(Stuck {
        placed: 0,
        required,
        state: initial,
        blocked: Vec::new(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::op_id;

    const BUDGET: usize = 100_000;

    fn ev(op: OpId, effect: Effect, invoke: u64, complete: u64) -> Event {
        Event {
            op,
            effect,
            invoke,
            complete: Some(complete),
        }
    }

    fn unknown(op: OpId, effect: Effect, invoke: u64) -> Event {
        Event {
            op,
            effect,
            invoke,
            complete: None,
        }
    }

    fn ok(events: &[Event]) -> bool {
        check(events, SeatState::Free, BUDGET) == Verdict::Linearizable
    }

    fn violation(events: &[Event]) -> bool {
        matches!(
            check(events, SeatState::Free, BUDGET),
            Verdict::Violation(_)
        )
    }

    #[test]
    fn accepts_an_empty_history() {
        assert!(ok(&[]));
    }

    #[test]
    fn accepts_book_then_read_booked_then_cancel_then_read_free() {
        let (a, b, c) = (op_id(0, 1), op_id(1, 1), op_id(0, 2));
        assert!(ok(&[
            ev(a, Effect::Book { owner: a }, 0, 10),
            ev(b, Effect::Read(Seen::Booked), 20, 30),
            ev(c, Effect::Cancel { booking: a }, 40, 50),
            ev(b, Effect::Read(Seen::Free), 60, 70),
        ]));
    }

    #[test]
    fn rejects_two_ok_bookings_of_one_seat_with_no_cancel_between() {
        let (a, b) = (op_id(0, 1), op_id(1, 1));
        assert!(violation(&[
            ev(a, Effect::Book { owner: a }, 0, 10),
            ev(b, Effect::Book { owner: b }, 20, 30),
        ]));
    }

    #[test]
    fn rejects_two_concurrent_ok_bookings_of_one_seat() {
        let (a, b) = (op_id(0, 1), op_id(1, 1));
        assert!(violation(&[
            ev(a, Effect::Book { owner: a }, 0, 100),
            ev(b, Effect::Book { owner: b }, 10, 90),
        ]));
    }

    #[test]
    fn rejects_a_read_showing_free_after_an_acknowledged_booking() {
        let (a, r) = (op_id(0, 1), op_id(1, 1));
        let verdict = check(
            &[
                ev(a, Effect::Book { owner: a }, 0, 10),
                ev(r, Effect::Read(Seen::Free), 20, 30),
            ],
            SeatState::Free,
            BUDGET,
        );
        let Verdict::Violation(stuck) = verdict else {
            panic!("expected a violation, got {verdict:?}");
        };
        assert_eq!(stuck.placed, 1);
        assert_eq!(stuck.state, SeatState::Booked(a));
        assert_eq!(stuck.blocked, vec![r]);
    }

    #[test]
    fn accepts_a_read_showing_free_concurrent_with_a_booking() {
        let (a, r) = (op_id(0, 1), op_id(1, 1));
        assert!(ok(&[
            ev(a, Effect::Book { owner: a }, 0, 100),
            ev(r, Effect::Read(Seen::Free), 50, 150),
        ]));
    }

    #[test]
    fn rejects_reads_that_go_back_in_time() {
        // booked is observed, then free, then booked again, with one booking and no cancel
        let (a, r1, r2, r3) = (op_id(0, 1), op_id(1, 1), op_id(1, 2), op_id(1, 3));
        assert!(violation(&[
            ev(a, Effect::Book { owner: a }, 0, 100),
            ev(r1, Effect::Read(Seen::Booked), 10, 20),
            ev(r2, Effect::Read(Seen::Free), 30, 40),
            ev(r3, Effect::Read(Seen::Booked), 50, 60),
        ]));
    }

    #[test]
    fn accepts_an_unknown_cancel_that_took_effect() {
        let (a, c, r) = (op_id(0, 1), op_id(0, 2), op_id(1, 1));
        assert!(ok(&[
            ev(a, Effect::Book { owner: a }, 0, 10),
            unknown(c, Effect::Cancel { booking: a }, 20),
            ev(r, Effect::Read(Seen::Free), 1_000, 1_010),
        ]));
    }

    #[test]
    fn accepts_an_unknown_booking_that_lands_after_its_client_gave_up() {
        let (a, r1, r2) = (op_id(0, 1), op_id(1, 1), op_id(1, 2));
        assert!(ok(&[
            unknown(a, Effect::Book { owner: a }, 0),
            ev(r1, Effect::Read(Seen::Free), 500, 510),
            ev(r2, Effect::Read(Seen::Booked), 600, 610),
        ]));
    }

    #[test]
    fn rejects_an_unknown_booking_undone_without_a_cancel() {
        let (a, r1, r2) = (op_id(0, 1), op_id(1, 1), op_id(1, 2));
        assert!(violation(&[
            unknown(a, Effect::Book { owner: a }, 0),
            ev(r1, Effect::Read(Seen::Booked), 500, 510),
            ev(r2, Effect::Read(Seen::Free), 600, 610),
        ]));
    }

    #[test]
    fn rejects_an_unknown_operation_placed_before_its_invoke() {
        // the read completes before the unknown booking was even sent
        let (a, r) = (op_id(0, 1), op_id(1, 1));
        assert!(violation(&[
            ev(r, Effect::Read(Seen::Booked), 0, 10),
            unknown(a, Effect::Book { owner: a }, 20),
        ]));
    }

    #[test]
    fn accepts_hold_confirm_cancel() {
        let (h, c, x, r) = (op_id(0, 1), op_id(0, 2), op_id(0, 3), op_id(1, 1));
        assert!(ok(&[
            ev(h, Effect::Hold { owner: h }, 0, 10),
            ev(r, Effect::Read(Seen::Held), 11, 12),
            ev(c, Effect::Confirm { hold: h, owner: c }, 20, 30),
            ev(x, Effect::Cancel { booking: c }, 40, 50),
            ev(r, Effect::Read(Seen::Free), 60, 70),
        ]));
    }

    #[test]
    fn rejects_a_seat_taken_refusal_while_the_seat_was_free() {
        let (a, b) = (op_id(0, 1), op_id(1, 1));
        assert!(violation(&[
            ev(a, Effect::Taken, 0, 10),
            ev(b, Effect::Book { owner: b }, 20, 30),
        ]));
    }

    #[test]
    fn accepts_a_seat_taken_refusal_concurrent_with_a_booking() {
        let (a, b) = (op_id(0, 1), op_id(1, 1));
        assert!(ok(&[
            ev(b, Effect::Book { owner: b }, 0, 30),
            ev(a, Effect::Taken, 10, 20),
        ]));
    }

    #[test]
    fn rejects_hold_finished_while_the_hold_is_active() {
        let (h, c) = (op_id(0, 1), op_id(0, 2));
        assert!(violation(&[
            ev(h, Effect::Hold { owner: h }, 0, 10),
            ev(c, Effect::NotHeldBy(h), 20, 30),
        ]));
    }

    #[test]
    fn accepts_hold_finished_after_an_unknown_release() {
        let (h, rel, c) = (op_id(0, 1), op_id(0, 2), op_id(0, 3));
        assert!(ok(&[
            ev(h, Effect::Hold { owner: h }, 0, 10),
            unknown(rel, Effect::Release { hold: h }, 20),
            ev(c, Effect::NotHeldBy(h), 5_000, 5_010),
        ]));
    }

    #[test]
    fn rejects_booking_cancelled_while_the_booking_stands() {
        let (b, x) = (op_id(0, 1), op_id(0, 2));
        assert!(violation(&[
            ev(b, Effect::Book { owner: b }, 0, 10),
            ev(x, Effect::NotBookedBy(b), 20, 30),
            ev(x, Effect::Read(Seen::Booked), 40, 50),
        ]));
    }

    #[test]
    fn rejects_confirming_a_hold_that_was_released() {
        let (h, rel, c) = (op_id(0, 1), op_id(0, 2), op_id(0, 3));
        assert!(violation(&[
            ev(h, Effect::Hold { owner: h }, 0, 10),
            ev(rel, Effect::Release { hold: h }, 20, 30),
            ev(c, Effect::Confirm { hold: h, owner: c }, 40, 50),
        ]));
    }

    #[test]
    fn rejects_a_lost_acknowledged_booking_at_the_final_read() {
        let (b, other, fin) = (op_id(0, 1), op_id(1, 1), op_id(99, 0));
        assert!(violation(&[
            ev(b, Effect::Book { owner: b }, 0, 10),
            unknown(
                other,
                Effect::Cancel {
                    booking: op_id(7, 7)
                },
                20
            ),
            ev(fin, Effect::Read(Seen::Free), 1_000, 1_000),
        ]));
    }

    #[test]
    fn finds_an_order_among_many_concurrent_operations() {
        // 6 clients each book and cancel, all overlapping; one valid order exists.
        let mut events = Vec::new();
        for c in 0..6 {
            let b = op_id(c, 1);
            let x = op_id(c, 2);
            let start = c as u64 * 10;
            if c == 5 {
                events.push(ev(b, Effect::Book { owner: b }, start, 1_000));
                events.push(ev(x, Effect::Cancel { booking: b }, 1_100, 1_200));
            } else {
                events.push(ev(b, Effect::Taken, start, 1_000));
                events.push(unknown(x, Effect::Cancel { booking: b }, 1_100));
            }
        }
        events.push(ev(op_id(9, 0), Effect::Read(Seen::Free), 2_000, 2_000));
        assert!(ok(&events));
    }

    #[test]
    fn gives_up_when_the_budget_runs_out() {
        // Unknown holds that could each land anywhere, and a final read saying free: no order
        // exists, and proving it takes more than a tiny budget.
        let mut events = Vec::new();
        for c in 0..12 {
            let h = op_id(c, 1);
            events.push(ev(
                h,
                Effect::Hold { owner: h },
                c as u64 * 100,
                c as u64 * 100 + 50,
            ));
            events.push(unknown(
                op_id(c, 2),
                Effect::Release { hold: h },
                c as u64 * 100 + 60,
            ));
        }
        events.push(ev(op_id(99, 0), Effect::Read(Seen::Held), 5_000, 5_000));
        assert!(matches!(
            check(&events, SeatState::Free, 3),
            Verdict::Inconclusive(_)
        ));
        assert_eq!(
            check(&events, SeatState::Free, BUDGET),
            Verdict::Linearizable
        );
    }

    /// A simulated seat: 6 clients with overlapping operations against an atomic seat, each
    /// taking effect at a random point of its window; some outcomes lost (unknown).
    fn simulate(seed: u64, ops: usize) -> Vec<Event> {
        use rand::rngs::SmallRng;
        use rand::{Rng, SeedableRng};
        let mut rng = SmallRng::seed_from_u64(seed);
        let mut state = SeatState::Free;
        // (effect time, client, seq, invoke, complete, kind)
        let mut clock = 0u64;
        let mut events = Vec::new();
        let mut owned: Vec<Option<OpId>> = vec![None; 6];
        for n in 0..ops {
            clock += rng.gen_range(1..20);
            let c = n % 6;
            let op = op_id(c, n as u32);
            let invoke = clock;
            let complete = clock + rng.gen_range(1..120);
            let effect = match (rng.gen_range(0..4), owned[c]) {
                (0, Some(b)) => Effect::Cancel { booking: b },
                (1, _) => Effect::Read(state.seen()),
                _ => Effect::Book { owner: op },
            };
            // Apply at invoke (atomic, in invoke order): a valid linearization point.
            let (effect, lost) = match effect.apply(state) {
                Some(next) => {
                    state = next;
                    match effect {
                        Effect::Book { owner } => owned[c] = Some(owner),
                        Effect::Cancel { .. } => owned[c] = None,
                        _ => {}
                    }
                    (effect, rng.gen_bool(0.02) && !effect.is_query())
                }
                None => match effect {
                    Effect::Book { .. } => (Effect::Taken, false),
                    Effect::Cancel { booking } => (Effect::NotBookedBy(booking), false),
                    other => (other, false),
                },
            };
            events.push(Event {
                op,
                effect,
                invoke,
                complete: if lost { None } else { Some(complete) },
            });
        }
        events.push(Event {
            op: op_id(99, 0),
            effect: Effect::Read(state.seen()),
            invoke: clock + 1_000,
            complete: Some(clock + 1_000),
        });
        events
    }

    #[test]
    fn long_simulated_histories_check_fast() {
        for seed in 0..5 {
            let events = simulate(seed, 3_000);
            let started = std::time::Instant::now();
            assert_eq!(
                check(&events, SeatState::Free, BUDGET),
                Verdict::Linearizable,
                "seed {seed}"
            );
            assert!(started.elapsed() < std::time::Duration::from_secs(20));
        }
    }

    #[test]
    fn a_corrupted_read_in_a_long_history_is_found() {
        let mut found = 0;
        for seed in 0..20 {
            let mut events = simulate(seed, 600);
            // Flip the last client read that saw "booked" into "free" when nothing around it
            // could explain it: only count seeds where the search rejects it.
            if let Some(e) = events
                .iter_mut()
                .rev()
                .skip(1)
                .find(|e| e.effect == Effect::Read(Seen::Booked))
            {
                e.effect = Effect::Read(Seen::Held);
            }
            if matches!(
                check(&events, SeatState::Free, BUDGET),
                Verdict::Violation(_)
            ) {
                found += 1;
            }
        }
        // a seat never shows "held" without a hold: every corrupted history is wrong
        assert_eq!(found, 20);
    }
}
