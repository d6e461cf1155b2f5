//! Seat ids (`a1`, `d6`) and hall layouts (how many seats each lettered row has).
//!
//! These are the smallest domain values; every other module speaks in them. They live apart so
//! that parsing rules (case-insensitive input, lowercase output, no leading zeros) exist once.

use std::fmt;

use serde::{Deserialize, Serialize};

pub use crate::limits::{MAX_ROWS, MAX_SEATS_PER_ROW};

/// One seat: a row letter and a seat number, written `a1`.
///
/// Kept as two small integers rather than a string so that seat maps can be ordered `BTreeMap`
/// keys (row first, then number) and commands stay compact in the replicated log.
///
/// # Format
///
/// ```text
/// seat   = letter number      ; letter a-z or A-Z, shown lowercase
/// number = "0" | [1-9][0-9]*  ; no leading zeros, at most 65535
/// ```
///
/// A syntactically valid id need not exist in a hall: `a0` and `z99` parse, and the state
/// machine then answers "unknown seat".
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct SeatId {
    /// Row index: 0 is row `a`, 25 is row `z`.
    pub row: u8,
    /// Seat number within the row, counted from 1.
    pub number: u16,
}

impl SeatId {
    /// Builds a seat id from a row index (0 = `a`) and a seat number.
    pub fn new(row: u8, number: u16) -> Self {
        SeatId { row, number }
    }

    /// Parses `a1`, `D6` and the like; `None` for anything that is not a seat id at all.
    pub fn parse(text: &str) -> Option<SeatId> {
        let bytes = text.as_bytes();
        let (&letter, digits) = bytes.split_first()?;
        let row = row_index(letter)?;
        if digits.is_empty() || digits.len() > 5 || !digits.iter().all(u8::is_ascii_digit) {
            return None;
        }
        if digits.len() > 1 && digits[0] == b'0' {
            return None;
        }
        // `digits` is ASCII, so it is valid UTF-8 and a plain decimal number.
        let number = std::str::from_utf8(digits).ok()?.parse::<u16>().ok()?;
        Some(SeatId { row, number })
    }

    /// The row letter, lowercase.
    pub fn row_letter(self) -> char {
        row_letter(usize::from(self.row))
    }

    /// Writes the id (`a1`, as `Display` shows it) into `buffer` without the formatting
    /// machinery, for renderings of thousands of seats; returns the text.
    pub fn write_name(self, buffer: &mut [u8; SEAT_NAME_BYTES]) -> &str {
        let mut number = [0u8; 5];
        let mut value = self.number;
        let mut len = 0;
        loop {
            if let Some(slot) = number.get_mut(len) {
                *slot = b'0' + (value % 10) as u8;
            }
            len += 1;
            value /= 10;
            if value == 0 || len == number.len() {
                break;
            }
        }
        // A row index past `z` shows as `?`, like `row_letter`.
        buffer[0] = u8::try_from(self.row_letter()).unwrap_or(b'?');
        for (slot, digit) in buffer[1..].iter_mut().zip(number[..len].iter().rev()) {
            *slot = *digit;
        }
        // Only ASCII bytes were written.
        std::str::from_utf8(&buffer[..=len]).unwrap_or("?")
    }
}

/// Bytes of the longest seat id text: a letter and five digits.
pub const SEAT_NAME_BYTES: usize = 6;

impl fmt::Display for SeatId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.row_letter(), self.number)
    }
}

/// Row index of an ASCII letter (`a`/`A` is 0); `None` for anything else.
pub fn row_index(letter: u8) -> Option<u8> {
    letter
        .is_ascii_alphabetic()
        .then(|| letter.to_ascii_lowercase() - b'a')
}

/// Parses a whole row name such as `a` or `C` into its index.
pub fn parse_row(text: &str) -> Option<u8> {
    match text.as_bytes() {
        [letter] => row_index(*letter),
        _ => None,
    }
}

/// The lowercase letter for a row index; indexes past `z` show as `?` (they never validate).
pub fn row_letter(index: usize) -> char {
    u8::try_from(index)
        .ok()
        .filter(|&i| usize::from(i) < MAX_ROWS)
        .map_or('?', |i| char::from(b'a' + i))
}

/// Joins seat ids for people: `a1, a2`.
pub fn join_seats(seats: &[SeatId], separator: &str) -> String {
    seats
        .iter()
        .map(SeatId::to_string)
        .collect::<Vec<_>>()
        .join(separator)
}

/// How many seats each row of a hall has, row `a` first.
///
/// A layout is only a shape; whether a seat is booked lives in the state. It is validated with
/// [`Layout::check`] wherever one arrives from outside (commands, snapshots), because a decoded
/// value may come from any version of the front.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Layout {
    /// Seats per row; index 0 is row `a`.
    pub rows: Vec<u16>,
}

impl Layout {
    /// A layout where every row has the same number of seats.
    pub fn uniform(rows: usize, seats: u16) -> Self {
        Layout {
            rows: vec![seats; rows],
        }
    }

    /// Checks the limits: 1 to 26 rows, 1 to 100 seats each.
    ///
    /// # Errors
    ///
    /// A sentence saying which limit is broken.
    pub fn check(&self) -> Result<(), String> {
        if self.rows.is_empty() {
            return Err("a showtime needs at least one row".to_string());
        }
        if self.rows.len() > MAX_ROWS {
            return Err(format!(
                "{} rows given, at most {MAX_ROWS} (a to z)",
                self.rows.len()
            ));
        }
        for (index, &seats) in self.rows.iter().enumerate() {
            if seats == 0 || seats > MAX_SEATS_PER_ROW {
                return Err(format!(
                    "row {} has {seats} seats, must have 1 to {MAX_SEATS_PER_ROW}",
                    row_letter(index)
                ));
            }
        }
        Ok(())
    }

    /// Whether the seat exists in this layout.
    pub fn contains(&self, seat: SeatId) -> bool {
        self.rows
            .get(usize::from(seat.row))
            .is_some_and(|&seats| seat.number >= 1 && seat.number <= seats)
    }

    /// Total number of seats.
    pub fn capacity(&self) -> u32 {
        self.rows.iter().map(|&seats| u32::from(seats)).sum()
    }

    /// Every seat in map order: row `a` first, seat 1 first.
    pub fn seats(&self) -> impl Iterator<Item = SeatId> + '_ {
        self.rows.iter().enumerate().flat_map(|(row, &seats)| {
            // Row indexes of checked layouts are below 26; an unchecked one only yields odd ids.
            let row = u8::try_from(row).unwrap_or(u8::MAX);
            (1..=seats).map(move |number| SeatId::new(row, number))
        })
    }

    /// The widest row's seat count.
    pub fn widest(&self) -> u16 {
        self.rows.iter().copied().max().unwrap_or(0)
    }

    /// Row letters, `a` first.
    pub fn row_letters(&self) -> Vec<String> {
        (0..self.rows.len())
            .map(|i| row_letter(i).to_string())
            .collect()
    }

    /// Short shape: `4 rows x 6 seats` when uniform, else `4 rows, 50 seats`.
    pub fn shape(&self) -> String {
        let rows = self.rows.len();
        let plural = if rows == 1 { "row" } else { "rows" };
        match self.uniform_width() {
            Some(seats) => format!("{rows} {plural} x {seats} seats"),
            None => format!("{rows} {plural}, {} seats", self.capacity()),
        }
    }

    /// Where seats are, for "there is no seat z9" messages: `rows a-d, seats 1-6`.
    pub fn extent(&self) -> String {
        let rows = match self.rows.len() {
            0 => return "no rows".to_string(),
            1 => "row a".to_string(),
            n => format!("rows a-{}", row_letter(n - 1)),
        };
        match self.uniform_width() {
            Some(seats) => format!("{rows}, seats 1-{seats}"),
            None => format!("{rows}, up to {} seats per row", self.widest()),
        }
    }

    /// The common row width, if every row has the same number of seats.
    fn uniform_width(&self) -> Option<u16> {
        let first = *self.rows.first()?;
        self.rows.iter().all(|&s| s == first).then_some(first)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_seat_ids_case_insensitively_and_prints_lowercase() {
        assert_eq!(SeatId::parse("a1"), Some(SeatId::new(0, 1)));
        assert_eq!(SeatId::parse("D6"), Some(SeatId::new(3, 6)));
        assert_eq!(
            SeatId::parse("z100").map(|s| s.to_string()),
            Some("z100".into())
        );
        assert_eq!(
            SeatId::parse("B12").map(|s| s.to_string()),
            Some("b12".into())
        );
    }

    #[test]
    fn rejects_text_that_is_not_a_seat_id() {
        for bad in [
            "", "a", "1", "1a", "aa1", "a-1", "a+1", "a01", "a 1", "a70000", "a123456", "é1",
            "a1x", "map",
        ] {
            assert_eq!(SeatId::parse(bad), None, "{bad:?} parsed");
        }
    }

    #[test]
    fn write_name_matches_display() {
        let mut buffer = [0u8; SEAT_NAME_BYTES];
        for seat in [
            SeatId::new(0, 1),
            SeatId::new(25, 100),
            SeatId::new(3, 0),
            SeatId::new(2, 65535),
            SeatId::new(200, 7),
        ] {
            assert_eq!(seat.write_name(&mut buffer), seat.to_string());
        }
    }

    #[test]
    fn seat_zero_parses_but_no_layout_contains_it() {
        let seat = SeatId::parse("a0");
        assert_eq!(seat, Some(SeatId::new(0, 0)));
        assert!(!Layout::uniform(4, 6).contains(SeatId::new(0, 0)));
    }

    #[test]
    fn layout_contains_only_seats_inside_its_rows() {
        let layout = Layout { rows: vec![6, 2] };
        assert!(layout.contains(SeatId::new(0, 6)));
        assert!(layout.contains(SeatId::new(1, 2)));
        assert!(!layout.contains(SeatId::new(1, 3)));
        assert!(!layout.contains(SeatId::new(2, 1)));
        assert_eq!(layout.capacity(), 8);
        assert_eq!(layout.seats().count(), 8);
    }

    #[test]
    fn layout_check_enforces_row_and_seat_limits() {
        assert!(Layout::uniform(4, 6).check().is_ok());
        assert!(Layout::uniform(26, 100).check().is_ok());
        assert!(Layout::uniform(0, 6).check().is_err());
        assert!(Layout::uniform(27, 6).check().is_err());
        assert!(Layout::uniform(2, 0).check().is_err());
        assert!(Layout::uniform(2, 101).check().is_err());
    }

    #[test]
    fn layout_describes_its_extent_for_messages() {
        assert_eq!(Layout::uniform(4, 6).extent(), "rows a-d, seats 1-6");
        assert_eq!(Layout::uniform(1, 3).extent(), "row a, seats 1-3");
        assert_eq!(
            Layout { rows: vec![4, 9] }.extent(),
            "rows a-b, up to 9 seats per row"
        );
        assert_eq!(Layout::uniform(4, 6).shape(), "4 rows x 6 seats");
        assert_eq!(Layout { rows: vec![4, 9] }.shape(), "2 rows, 13 seats");
    }
}
