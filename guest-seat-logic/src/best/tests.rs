//! Best-seat tests: hand-picked halls, then a property check against a brute force over every
//! block of every row.

use proptest::prelude::*;

use super::*;
use crate::seat::Layout;
use crate::state::Taker;
use crate::testing::seats;

/// A showtime with `layout` whose `taken` seats are booked (by booking 1) or held (hold 1).
fn hall(layout: Layout, booked: &[SeatId], held: &[SeatId]) -> Showtime {
    let mut showtime = Showtime::new(1, 1, 1, 0, 100, layout);
    showtime.occupy(booked, Taker::Booking(1), "b");
    showtime.occupy(held, Taker::Hold(1), "h");
    showtime
}

/// Seat names of an answer, for readable assertions.
fn names(block: Option<Vec<SeatId>>) -> Option<Vec<String>> {
    block.map(|b| b.iter().map(SeatId::to_string).collect())
}

#[test]
fn an_empty_hall_answers_the_centre_of_the_row_sixty_percent_back() {
    // 10 rows: the sweet row is 0.6 * 9 = 5.4, nearest row f (index 5).
    let showtime = hall(Layout::uniform(10, 10), &[], &[]);
    assert_eq!(
        names(best_block(&showtime, 2)),
        Some(vec!["f5".into(), "f6".into()])
    );
    // Odd count in an even row: two blocks are equally central; the lower first seat wins.
    assert_eq!(
        names(best_block(&showtime, 3)),
        Some(vec!["f4".into(), "f5".into(), "f6".into()])
    );
    // The demo hall: 4 rows of 6, sweet row 1.8 -> row c.
    let demo = hall(Layout::uniform(4, 6), &[], &[]);
    assert_eq!(
        names(best_block(&demo, 1)),
        Some(vec!["c3".into()]),
        "c3 and c4 tie; the lower seat wins"
    );
}

#[test]
fn taken_and_held_seats_are_avoided_and_nothing_is_stranded() {
    // Row c of the demo hall: c3 booked, c5 held. Free runs c1-c2, c4, c6.
    let showtime = hall(Layout::uniform(4, 6), &seats(&["c3"]), &seats(&["c5"]));
    let best = best_block(&showtime, 2).unwrap_or_default();
    assert!(best.iter().all(|s| showtime.taker(*s).is_none()));
    // c1-c2 is free and strands nothing, but it is 2 seats off centre: b3-b4 (central, 0.8 rows
    // from the sweet row 1.8) beats it and d3-d4 (1.2 rows away).
    assert_eq!(names(Some(best)), Some(vec!["b3".into(), "b4".into()]));
    // A lone seat at the row's end counts as stranded: in a row of 3, a pair cannot be placed.
    let row = hall(Layout::uniform(1, 3), &[], &[]);
    assert_eq!(best_block(&row, 2), None);
    // Between taken seats: free run of 3 (seats 2-4) takes 3 or 1, never 2.
    let gap = hall(Layout::uniform(1, 5), &seats(&["a1", "a5"]), &[]);
    assert_eq!(best_block(&gap, 2), None);
    // a3 would strand a2 and a4; a2 and a4 are equally central and the lower seat wins.
    assert_eq!(names(best_block(&gap, 1)), Some(vec!["a2".into()]));
    assert_eq!(
        names(best_block(&gap, 3)),
        Some(vec!["a2".into(), "a3".into(), "a4".into()])
    );
}

#[test]
fn no_block_answers_none() {
    let full = hall(Layout::uniform(2, 3), &seats(&["a2", "b2"]), &[]);
    assert_eq!(best_block(&full, 2), None);
    assert_eq!(best_block(&full, 0), None);
    let wide = hall(Layout::uniform(2, 3), &[], &[]);
    assert_eq!(best_block(&wide, 4), None);
    assert!(best_block(&wide, 3).is_some());
}

#[test]
fn a_full_size_hall_is_answered() {
    let showtime = hall(Layout::uniform(26, 100), &[], &[]);
    // Sweet row 0.6 * 25 = 15 (row p); seats 46-55 centred on 50.5.
    let best = best_block(&showtime, 10).unwrap_or_default();
    assert_eq!(best.first().map(SeatId::to_string).as_deref(), Some("p46"));
    assert_eq!(best.last().map(SeatId::to_string).as_deref(), Some("p55"));
}

/// Whether the seat exists and is free.
fn free(showtime: &Showtime, row: u8, number: u16) -> bool {
    let seat = SeatId::new(row, number);
    showtime.layout.contains(seat) && showtime.taker(seat).is_none()
}

/// Whether a block `first..first+count` of `row` leaves a lone free seat on either side (the
/// row's end counting as taken), looking only at the seats around it.
fn strands(showtime: &Showtime, row: u8, first: u16, count: u16) -> bool {
    let last = first + count - 1;
    let lone = |seat: u16, beyond: Option<u16>| {
        free(showtime, row, seat) && beyond.is_none_or(|b| !free(showtime, row, b))
    };
    let left = first > 1 && lone(first - 1, first.checked_sub(2));
    let right = lone(last + 1, Some(last + 2));
    left || right
}

/// The best block by trying every start of every row.
fn brute_force(showtime: &Showtime, count: u16) -> Option<Vec<SeatId>> {
    let rows = showtime.layout.rows.len();
    let mut best: Option<(u64, usize, u16)> = None;
    for (row, &row_seats) in showtime.layout.rows.iter().enumerate() {
        let row_id = u8::try_from(row).unwrap_or(u8::MAX);
        for first in 1..=row_seats {
            let fits = (first..first + count).all(|n| free(showtime, row_id, n));
            if !fits || strands(showtime, row_id, first, count) {
                continue;
            }
            let candidate = (score(rows, row, row_seats, first, count), row, first);
            if best.is_none_or(|b| candidate < b) {
                best = Some(candidate);
            }
        }
    }
    best.map(|(_, row, first)| {
        let row = u8::try_from(row).unwrap_or(u8::MAX);
        (first..first + count)
            .map(|n| SeatId::new(row, n))
            .collect()
    })
}

/// A hall of up to 8 rows of up to 14 seats, some seats booked and some held.
fn arbitrary_hall() -> impl Strategy<Value = Showtime> {
    prop::collection::vec(1u16..=14, 1..=8).prop_flat_map(|rows| {
        let layout = Layout { rows };
        let all: Vec<SeatId> = layout.seats().collect();
        let n = all.len();
        (
            Just(layout),
            Just(all),
            prop::collection::vec(0u8..4, n..=n),
        )
            .prop_map(|(layout, all, states)| {
                let booked: Vec<SeatId> = all
                    .iter()
                    .zip(&states)
                    .filter(|(_, &s)| s == 1)
                    .map(|(&seat, _)| seat)
                    .collect();
                let held: Vec<SeatId> = all
                    .iter()
                    .zip(&states)
                    .filter(|(_, &s)| s == 2)
                    .map(|(&seat, _)| seat)
                    .collect();
                hall(layout, &booked, &held)
            })
    })
}

proptest! {
    #[test]
    fn any_answer_is_free_contiguous_unstranding_and_optimal(
        showtime in arbitrary_hall(),
        count in 1u16..=10,
    ) {
        let answer = best_block(&showtime, count);
        prop_assert_eq!(&answer, &brute_force(&showtime, count));
        if let Some(block) = answer {
            prop_assert_eq!(block.len(), usize::from(count));
            let row = block[0].row;
            for (i, seat) in block.iter().enumerate() {
                prop_assert_eq!(seat.row, row);
                prop_assert_eq!(seat.number, block[0].number + u16::try_from(i).unwrap_or(0));
                prop_assert!(showtime.layout.contains(*seat));
                prop_assert!(showtime.taker(*seat).is_none());
            }
            prop_assert!(!strands(&showtime, row, block[0].number, count));
            // The v2 rule (laxer at row ends) accepts every suggestion.
            prop_assert!(crate::rules::stranded_seats(&showtime, &block).is_empty());
        }
    }
}
