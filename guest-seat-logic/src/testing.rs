//! Helpers shared by the unit tests: seat lists, log contexts, and fresh capability tokens.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::contract::LogContext;
use crate::seat::SeatId;
use crate::token::{self, Digest, Kind, Minted};

/// A seat id from text; the test's own constant, so a typo fails the test.
pub fn seat(text: &str) -> SeatId {
    SeatId::parse(text).unwrap_or_else(|| panic!("test seat {text:?} must parse"))
}

/// Seat ids from texts.
pub fn seats(texts: &[&str]) -> Vec<SeatId> {
    texts.iter().map(|t| seat(t)).collect()
}

/// A log context at `index` and log time `time_ms`.
pub fn ctx(index: u64, time_ms: u64) -> LogContext {
    LogContext {
        index,
        term: 1,
        time_ms,
    }
}

/// 32 bytes of entropy, different for every call in the test run.
pub fn entropy() -> Vec<u8> {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let mut bytes = vec![0x5a; 32];
    bytes[..8].copy_from_slice(&n.to_le_bytes());
    bytes
}

/// A fresh token of `kind`.
pub fn minted(kind: Kind) -> Minted {
    token::mint(kind, &entropy()).unwrap_or_else(|e| panic!("{e}"))
}

/// The digest of a fresh token of `kind`.
pub fn digest(kind: Kind) -> Digest {
    minted(kind).digest
}
