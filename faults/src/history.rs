//! What the clients did: one [`Op`] per logical operation (all its attempts, which share one
//! `Idempotency-Key`), with its invoke and complete times and a definite or unknown outcome.
//!
//! Times are microseconds since the run started ([`Clock`]), taken in this process: `invoke`
//! before the first byte of the first attempt was sent, `complete` after the last answer was read,
//! so an operation took effect (if it did) somewhere in between.

use std::collections::BTreeMap;
use std::fmt;
use std::time::{Duration, Instant};

/// Identifies one logical operation: the client in the high 32 bits, its sequence number below.
pub type OpId = u64;

/// Builds an [`OpId`].
pub fn op_id(client: usize, seq: u32) -> OpId {
    ((client as u64) << 32) | u64::from(seq)
}

/// The id of the harness's final read of every node (after every client stopped).
pub const FINAL_READ: OpId = u64::MAX;

/// Shows an [`OpId`] as `c<client>#<seq>` (`final` for [`FINAL_READ`]).
pub fn show_op(id: OpId) -> String {
    if id == FINAL_READ {
        return "final".to_string();
    }
    format!("c{}#{}", id >> 32, id & 0xffff_ffff)
}

/// Microseconds since the start of a run; shared by clients and the nemesis.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    start: Instant,
}

impl Clock {
    /// A clock starting now.
    pub fn start() -> Clock {
        Clock {
            start: Instant::now(),
        }
    }

    /// Microseconds since the start.
    pub fn now(&self) -> u64 {
        u64::try_from(self.start.elapsed().as_micros()).unwrap_or(u64::MAX)
    }

    /// Time since the start.
    pub fn elapsed(&self) -> Duration {
        self.start.elapsed()
    }
}

/// Formats microseconds as seconds with millisecond precision (`12.345`).
pub fn secs(micros: u64) -> String {
    format!("{}.{:03}", micros / 1_000_000, (micros / 1_000) % 1_000)
}

/// What a seat looked like in an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Seen {
    /// `"free"`.
    Free,
    /// `"held"` (by some active hold).
    Held,
    /// `"booked"` (by some confirmed booking).
    Booked,
}

impl Seen {
    /// Parses a seat `state` string of the API.
    pub fn parse(text: &str) -> Option<Seen> {
        match text {
            "free" => Some(Seen::Free),
            "held" => Some(Seen::Held),
            "booked" => Some(Seen::Booked),
            _ => None,
        }
    }
}

impl fmt::Display for Seen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Seen::Free => "free",
            Seen::Held => "held",
            Seen::Booked => "booked",
        })
    }
}

/// The operation a client invoked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OpKind {
    /// `POST /api/showtimes/{id}/bookings`: book these seats directly.
    Book {
        /// Seats asked for.
        seats: Vec<String>,
    },
    /// `POST /api/showtimes/{id}/holds`: hold these seats (long ttl: no hold expires in a run).
    Hold {
        /// Seats asked for.
        seats: Vec<String>,
    },
    /// `POST /api/holds/{token}/confirm` of the hold the operation `hold` created.
    Confirm {
        /// The operation that created the hold.
        hold: OpId,
        /// The hold's seats.
        seats: Vec<String>,
    },
    /// `DELETE /api/holds/{token}` of the hold the operation `hold` created.
    Release {
        /// The operation that created the hold.
        hold: OpId,
        /// The hold's seats.
        seats: Vec<String>,
    },
    /// `DELETE /api/bookings/{id}` of the booking the operation `booking` (a book or a confirm)
    /// created.
    Cancel {
        /// The operation that created the booking.
        booking: OpId,
        /// The booking's seats.
        seats: Vec<String>,
    },
    /// `GET /api/showtimes/{id}/seats` (linearizable): every seat's state.
    Read,
}

impl OpKind {
    /// Short name for tables and history lines.
    pub fn name(&self) -> &'static str {
        match self {
            OpKind::Book { .. } => "book",
            OpKind::Hold { .. } => "hold",
            OpKind::Confirm { .. } => "confirm",
            OpKind::Release { .. } => "release",
            OpKind::Cancel { .. } => "cancel",
            OpKind::Read => "read",
        }
    }

    /// The seats the operation names (none for a read, which sees them all).
    pub fn seats(&self) -> &[String] {
        match self {
            OpKind::Book { seats }
            | OpKind::Hold { seats }
            | OpKind::Confirm { seats, .. }
            | OpKind::Release { seats, .. }
            | OpKind::Cancel { seats, .. } => seats,
            OpKind::Read => &[],
        }
    }

    /// Whether the operation changes state when it succeeds.
    pub fn is_write(&self) -> bool {
        !matches!(self, OpKind::Read)
    }
}

/// What a client learned from an operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// A 2xx answer: it took effect once.
    Ok {
        /// The hold's or booking's id in the answer (holds, bookings, confirmations).
        id: Option<u64>,
        /// The log index in the answer (creations).
        log_index: Option<u64>,
        /// Whether the answer carried the new token (an idempotent replay may not).
        token: bool,
        /// Seat states, for a read.
        seen: BTreeMap<String, Seen>,
    },
    /// A definite refusal: a 4xx problem; nothing changed. `problem` is the type's last path
    /// segment (`seat-taken`), `seats` the seats the problem names.
    Refused {
        /// `seat-taken`, `hold-finished`, ...
        problem: String,
        /// The HTTP status.
        status: u16,
        /// Seats named by the problem (`seat-taken`).
        seats: Vec<String>,
    },
    /// Timeout, broken connection, 5xx: it may or may not have taken effect, at any time after
    /// `invoke` (also after `complete`).
    Unknown {
        /// What happened last.
        reason: String,
    },
    /// No attempt reached a node (connection refused): it did not take effect.
    NotSent {
        /// The last connection error.
        reason: String,
    },
}

impl Outcome {
    /// `ok`, `refused`, `unknown` or `not-sent`.
    pub fn class(&self) -> &'static str {
        match self {
            Outcome::Ok { .. } => "ok",
            Outcome::Refused { .. } => "refused",
            Outcome::Unknown { .. } => "unknown",
            Outcome::NotSent { .. } => "not-sent",
        }
    }

    /// Whether the answer was a success.
    pub fn is_ok(&self) -> bool {
        matches!(self, Outcome::Ok { .. })
    }
}

/// One logical operation of one client.
#[derive(Debug, Clone)]
pub struct Op {
    /// Unique in the run.
    pub id: OpId,
    /// Which client ran it.
    pub client: usize,
    /// What it asked for.
    pub kind: OpKind,
    /// Before the first attempt was sent (µs since the run started).
    pub invoke: u64,
    /// After the last attempt's answer or error (µs).
    pub complete: u64,
    /// When the last attempt was sent (µs): failover times count writes sent after a fault.
    pub last_attempt: u64,
    /// Attempts made (each on the next node after an error).
    pub attempts: u32,
    /// The node that answered (or failed) last.
    pub node: usize,
    /// What came of it.
    pub outcome: Outcome,
}

impl Op {
    /// One history line: times, client, operation, seats and outcome.
    pub fn line(&self) -> String {
        self.line_for(None)
    }

    /// One history line; a read shows only `seat` when given.
    pub fn line_for(&self, seat: Option<&str>) -> String {
        let what = match &self.kind {
            OpKind::Book { seats } | OpKind::Hold { seats } => {
                format!("{} {}", self.kind.name(), seats.join(","))
            }
            OpKind::Confirm { hold, seats } | OpKind::Release { hold, seats } => format!(
                "{} {} (hold of {})",
                self.kind.name(),
                seats.join(","),
                show_op(*hold)
            ),
            OpKind::Cancel { booking, seats } => format!(
                "cancel {} (booking of {})",
                seats.join(","),
                show_op(*booking)
            ),
            OpKind::Read => "read".to_string(),
        };
        let outcome = match &self.outcome {
            Outcome::Ok {
                id,
                log_index,
                token,
                seen,
            } => {
                let mut text = "ok".to_string();
                if let Some(id) = id {
                    text.push_str(&format!(" id={id}"));
                }
                if let Some(index) = log_index {
                    text.push_str(&format!(" index={index}"));
                }
                if self.kind.is_write()
                    && !token
                    && matches!(
                        self.kind,
                        OpKind::Book { .. } | OpKind::Hold { .. } | OpKind::Confirm { .. }
                    )
                {
                    text.push_str(" (replayed, no token)");
                }
                if !seen.is_empty() {
                    let seats: Vec<String> = seen
                        .iter()
                        .filter(|(s, _)| seat.is_none_or(|only| only == s.as_str()))
                        .map(|(s, v)| format!("{s}={v}"))
                        .collect();
                    text.push_str(&format!(" [{}]", seats.join(" ")));
                }
                text
            }
            Outcome::Refused {
                problem,
                status,
                seats,
            } => {
                if seats.is_empty() {
                    format!("refused {status} {problem}")
                } else {
                    format!("refused {status} {problem} [{}]", seats.join(","))
                }
            }
            Outcome::Unknown { reason } => format!("unknown ({reason})"),
            Outcome::NotSent { reason } => format!("not sent ({reason})"),
        };
        format!(
            "{:>8} .. {:>8}  {:<7} {}  -> {} (node {}, {} attempt{})",
            secs(self.invoke),
            secs(self.complete),
            show_op(self.id),
            what,
            outcome,
            self.node,
            self.attempts,
            if self.attempts == 1 { "" } else { "s" }
        )
    }
}
