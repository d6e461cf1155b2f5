//! Best available seats: the block of `count` free seats side by side in one row that a
//! customer would most likely pick, so that clients need not guess (`GET
//! /api/showtimes/{id}/best?count=N`, console `best N`).
//!
//! # Rule
//!
//! A candidate is `count` consecutive seats of one row, all free (held and booked seats are
//! taken), that leaves **no single free seat stranded**: the free seats left on either side of
//! the block, up to the next taken seat *or the row's end*, are never exactly one (a lone seat at
//! the row's end counts as stranded, as seats.io does). Such a block is also accepted by the
//! version 2 stranded-seat rule ([`crate::rules::stranded_seats`]), which is laxer at row ends.
//!
//! Among candidates the one with the lowest [`score`] wins, ties broken by the lower row, then
//! the lower first seat. The score is the squared distance, in seats and rows, from the block's
//! centre to a sweet spot at the horizontal centre of the block's row and 60% of the way from the
//! front row (`a`, nearest the screen) to the back row, scaled by 100 to stay in integers:
//!
//! ```text
//! score = 25 * (2*first + count - 1 - (row_seats + 1))^2 + 4 * (5*row - 3*(rows - 1))^2
//! ```
//!
//! (`row` 0-based, `first` the first seat's number.) Integers keep the answer exact and the same
//! on every replica.
//!
//! # Cost
//!
//! One walk of each row's free runs: O(seats + taken log taken), at most 26 x 100 candidates.

use crate::seat::SeatId;
use crate::state::Showtime;

/// Weight of the horizontal term of [`score`] (a half-seat unit squared, times 100 / 4).
const SEAT_WEIGHT: u64 = 25;

/// Weight of the row term of [`score`] (a fifth-of-a-row unit squared, times 100 / 25).
const ROW_WEIGHT: u64 = 4;

/// The score of the block of `count` seats starting at seat `first` of row `row` (0-based) in a
/// hall of `rows` rows whose row `row` has `row_seats` seats: lower is better (see the module
/// documentation).
pub fn score(rows: usize, row: usize, row_seats: u16, first: u16, count: u16) -> u64 {
    // Doubled block centre vs doubled row centre: both in half seats.
    let centre2 = 2 * i64::from(first) + i64::from(count) - 1;
    let dx = centre2 - (i64::from(row_seats) + 1);
    // Five times the row vs five times 60% of the last row index.
    let rows = i64::try_from(rows).unwrap_or(i64::MAX / 8);
    let row = i64::try_from(row).unwrap_or(i64::MAX / 8);
    let dy = 5 * row - 3 * (rows - 1).max(0);
    let dx = dx.unsigned_abs();
    let dy = dy.unsigned_abs();
    SEAT_WEIGHT
        .saturating_mul(dx.saturating_mul(dx))
        .saturating_add(ROW_WEIGHT.saturating_mul(dy.saturating_mul(dy)))
}

/// The best block of `count` free seats side by side in `showtime` (see the module
/// documentation), seats in order; `None` when no row has one (or `count` is 0).
pub fn best_block(showtime: &Showtime, count: u16) -> Option<Vec<SeatId>> {
    if count == 0 {
        return None;
    }
    let rows = showtime.layout.rows.len();
    // (score, row, first seat) of the best candidate so far.
    let mut best: Option<(u64, usize, u16)> = None;
    for (row, &row_seats) in showtime.layout.rows.iter().enumerate() {
        let Ok(row_id) = u8::try_from(row) else {
            break;
        };
        for (start, end) in free_runs(showtime, row_id, row_seats) {
            // Seats `start..=end` are free, with a taken seat or the row's end on each side.
            let Some(last_first) = end.checked_sub(count - 1) else {
                continue;
            };
            for first in start..=last_first {
                let left_gap = first - start;
                let right_gap = last_first - first;
                if left_gap == 1 || right_gap == 1 {
                    continue;
                }
                let candidate = (score(rows, row, row_seats, first, count), row, first);
                if best.is_none_or(|b| candidate < b) {
                    best = Some(candidate);
                }
            }
        }
    }
    let (_, row, first) = best?;
    let row = u8::try_from(row).ok()?;
    Some(
        (first..first.checked_add(count)?)
            .map(|number| SeatId::new(row, number))
            .collect(),
    )
}

/// The maximal runs `(first, last)` of free seats of row `row` (seat numbers 1 to `row_seats`),
/// left to right.
fn free_runs(showtime: &Showtime, row: u8, row_seats: u16) -> Vec<(u16, u16)> {
    let mut runs = Vec::new();
    let mut next_free = 1u16;
    let taken = showtime
        .seats
        .range(SeatId::new(row, 1)..=SeatId::new(row, row_seats))
        .map(|(seat, _)| seat.number);
    for number in taken {
        if number > next_free {
            runs.push((next_free, number - 1));
        }
        next_free = number.saturating_add(1);
    }
    if next_free <= row_seats {
        runs.push((next_free, row_seats));
    }
    runs
}

#[cfg(test)]
mod tests;
