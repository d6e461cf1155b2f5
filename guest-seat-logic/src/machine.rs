//! The state machine half of the plugin at the byte level: what `machine.*` exports do.
//!
//! It decodes postcard commands and queries, runs them against the [`State`], and encodes the
//! results. Undecodable bytes are refused, never trapped on, since a log may hold entries written
//! by another plugin version.

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::command::Command;
use crate::contract::{LogContext, PluginInfo};
use crate::query::Query;
use crate::rejection::Rejection;
use crate::snapshot::{self, MIN_RESTORE_FORMAT, SNAPSHOT_FORMAT};
use crate::state::State;

/// Plugin name reported by `info`.
pub const NAME: &str = "seat-logic";

/// Rules version reported by `info`.
pub const VERSION: &str = "1.0.0";

/// The replicated state machine: one per replica, fed every committed command in log order.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Machine {
    /// The current state; replaced whole by `restore`.
    state: State,
}

impl Machine {
    /// A machine in the first-start state (the demo showtime).
    pub fn new() -> Self {
        Machine::default()
    }

    /// The current state, read-only.
    pub fn state(&self) -> &State {
        &self.state
    }

    /// What this plugin is.
    pub fn info() -> PluginInfo {
        PluginInfo {
            name: NAME.to_string(),
            version: VERSION.to_string(),
            snapshot_format: SNAPSHOT_FORMAT,
            min_restore_format: MIN_RESTORE_FORMAT,
            description: "Cinema seat reservations: showtimes, seat maps, all-or-none bookings, \
                          owner-only cancellation."
                .to_string(),
        }
    }

    /// Applies one committed command: `Ok` is a postcard [`crate::command::Applied`], `Err` a
    /// postcard [`Rejection`] (and then the state is unchanged).
    pub fn apply(&mut self, ctx: &LogContext, command: &[u8]) -> Result<Vec<u8>, Vec<u8>> {
        let command: Command = decode(command).map_err(|r| encode(&r))?;
        command
            .apply(&mut self.state, ctx)
            .map(|applied| encode(&applied))
            .map_err(|rejection| encode(&rejection))
    }

    /// Answers a query: `Ok` is a postcard [`crate::query::Answer`], `Err` a postcard
    /// [`Rejection`]. `now_ms` (the reading node's clock) is not needed yet; holds with expiry
    /// will use it for display.
    pub fn query(&self, _now_ms: u64, request: &[u8]) -> Result<Vec<u8>, Vec<u8>> {
        let query: Query = decode(request).map_err(|r| encode(&r))?;
        query
            .answer(&self.state)
            .map(|answer| encode(&answer))
            .map_err(|rejection| encode(&rejection))
    }

    /// The whole state as snapshot bytes (see [`crate::snapshot`]).
    pub fn snapshot(&self) -> Vec<u8> {
        snapshot::write(&self.state)
    }

    /// Replaces the whole state from snapshot bytes.
    ///
    /// # Errors
    ///
    /// Why the bytes were refused; the current state is then kept unchanged.
    pub fn restore(&mut self, bytes: &[u8]) -> Result<(), String> {
        self.state = snapshot::read(bytes)?;
        Ok(())
    }
}

/// Encodes a wire value with postcard.
pub fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    // Serialising derived types into a Vec cannot fail; if it ever did, the empty bytes would be
    // reported as undecodable by the reader instead of trapping here.
    postcard::to_allocvec(value).unwrap_or_default()
}

/// Decodes a wire value with postcard, refusing trailing bytes.
///
/// # Errors
///
/// [`Rejection::Undecodable`] with the length of the bytes.
pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Rejection> {
    let undecodable = Rejection::Undecodable {
        bytes: u32::try_from(bytes.len()).unwrap_or(u32::MAX),
    };
    match postcard::take_from_bytes::<T>(bytes) {
        Ok((value, [])) => Ok(value),
        _ => Err(undecodable),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::command::Applied;
    use crate::query::Answer;
    use crate::seat::SeatId;

    fn ctx(index: u64) -> LogContext {
        LogContext {
            index,
            term: 1,
            leader_time_ms: 1000 + index,
        }
    }

    fn book(seats: &[(u8, u16)], user: &str) -> Vec<u8> {
        encode(&Command::Book {
            showtime: 1,
            seats: seats.iter().map(|&(r, n)| SeatId::new(r, n)).collect(),
            user: user.into(),
        })
    }

    #[test]
    fn apply_returns_encoded_booking_or_rejection() {
        let mut machine = Machine::new();
        let ok = machine.apply(&ctx(1), &book(&[(0, 1)], "alice"));
        let Ok(bytes) = ok else {
            panic!("booking refused: {ok:?}")
        };
        assert!(matches!(decode::<Applied>(&bytes), Ok(Applied::Booked(b)) if b.id == 1));
        let err = machine.apply(&ctx(2), &book(&[(0, 1)], "bob"));
        let Err(bytes) = err else {
            panic!("double booking accepted")
        };
        assert!(matches!(
            decode::<Rejection>(&bytes),
            Ok(Rejection::SeatsTaken { .. })
        ));
    }

    #[test]
    fn apply_refuses_garbage_without_changing_state() {
        let mut machine = Machine::new();
        for garbage in [&b""[..], b"\xff\xff\xff", b"\x00", b"hello world"] {
            let result = machine.apply(&ctx(1), garbage);
            let Err(bytes) = result else {
                panic!("garbage {garbage:?} applied")
            };
            assert!(matches!(
                decode::<Rejection>(&bytes),
                Ok(Rejection::Undecodable { .. })
            ));
        }
        let mut trailing = book(&[(0, 1)], "alice");
        trailing.push(0);
        assert!(machine.apply(&ctx(1), &trailing).is_err());
        assert_eq!(machine, Machine::new());
    }

    #[test]
    fn query_answers_and_refuses_unknown_ids() {
        let machine = Machine::new();
        let seats = machine.query(
            0,
            &encode(&Query::Seats {
                showtime: 1,
                filter: None,
            }),
        );
        match seats.map(|b| decode::<Answer>(&b)) {
            Ok(Ok(Answer::Seats(map))) => assert_eq!(map.seats.len(), 24),
            other => panic!("unexpected {other:?}"),
        }
        let missing = machine.query(0, &encode(&Query::Booking { booking: 5 }));
        assert_eq!(
            missing.map_err(|b| decode::<Rejection>(&b)),
            Err(Ok(Rejection::UnknownBooking { booking: 5 }))
        );
    }

    #[test]
    fn restore_of_garbage_keeps_the_current_state() {
        let mut machine = Machine::new();
        assert!(machine.apply(&ctx(1), &book(&[(1, 1)], "alice")).is_ok());
        let before = machine.clone();
        let mut good = machine.snapshot();
        // A snapshot whose tail is damaged decodes partially at best: nothing may be applied.
        let last = good.len() - 1;
        good[last] ^= 0xff;
        for bad in [vec![], vec![9, 0, 0, 0], b"garbage!".to_vec(), good] {
            assert!(machine.restore(&bad).is_err());
            assert_eq!(machine, before);
        }
    }

    #[test]
    fn restore_replaces_the_state_with_the_snapshot() {
        let mut source = Machine::new();
        assert!(source.apply(&ctx(1), &book(&[(1, 1)], "alice")).is_ok());
        let mut target = Machine::new();
        assert!(target.apply(&ctx(1), &book(&[(2, 2)], "bob")).is_ok());
        assert_eq!(target.restore(&source.snapshot()), Ok(()));
        assert_eq!(target, source);
    }

    #[test]
    fn info_reports_name_version_and_formats() {
        let info = Machine::info();
        assert_eq!(info.name, "seat-logic");
        assert_eq!(info.version, "1.0.0");
        assert_eq!((info.snapshot_format, info.min_restore_format), (1, 1));
    }
}
