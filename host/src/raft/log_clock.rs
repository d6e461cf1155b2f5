//! The highest leader time in this node's log, so that a new leader never stamps an entry
//! earlier than one already in the log (its clock may be behind the old leader's).
//!
//! Both log stores update it for every entry they append (as leader or follower) and at
//! start-up from their last entry. The state machine also takes a running maximum, so log time
//! never decreases even if a clock jumps back between stamping and appending.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use openraft::EntryPayload;

use super::typ::Entry;

/// Shared by the log store (which raises it) and the write path (which stamps with it).
#[derive(Debug, Clone, Default)]
pub struct LogClock {
    highest: Arc<AtomicU64>,
}

impl LogClock {
    /// A clock that has seen nothing.
    pub fn new() -> Self {
        Self::default()
    }

    /// Raises the clock to the times of these entries.
    pub fn observe<'a>(&self, entries: impl IntoIterator<Item = &'a Entry>) {
        for entry in entries {
            if let EntryPayload::Normal(envelope) = &entry.payload {
                self.highest
                    .fetch_max(envelope.leader_time_ms, Ordering::Relaxed);
            }
        }
    }

    /// The time to stamp a new entry with: `now_ms`, or the highest time in the log if that is
    /// later.
    pub fn stamp(&self, now_ms: u64) -> u64 {
        self.highest.load(Ordering::Relaxed).max(now_ms)
    }
}
